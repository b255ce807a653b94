// SPDX-License-Identifier: GPL-2.0-only
/*
 * The expiry questions of sets whose elements expire, asked off the event
 * loop (docs/SEMANTICS.md, "Sets whose elements expire"). A notified add
 * carries an upper bound of the kernel's expiry only, so the daemon asks
 * the kernel (GETSETELEM) after a jiffies64 reading. The kernel answers
 * inside sendmsg(), and while `nft -f` holds the nftables mutex that takes
 * as long as the batch does: tens to hundreds of milliseconds in which the
 * event loop would neither apply the next transaction's deletes nor answer
 * status. So the event loop writes a transaction's deletes at once, and a
 * thread of its own asks for the added keys and hands each answer back
 * through an eventfd; the event loop then makes those keys live.
 *
 * Which answer counts is decided on the event loop alone (expq.h): each
 * key waits for the ticket of its latest question; a later delete or add,
 * a set read whole, a full resync make an answer on its way count for
 * nothing. The thread only talks to the kernel.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "netlink/nft.h"
#include "daemon-internal.h"
#include "expq.h"
#include "ruleset.h"

/* One transaction's question on one set, and its answer. */
struct question {
	struct question *next;
	const struct nfo_set *set; /* an identity until an answer is taken */
	uint32_t family;
	char *table, *name;
	uint32_t key_len;
	uint32_t genid;
	size_t n;
	uint8_t *keys; /* sorted, as nfo_set_net_ops() left them */
	uint64_t *tickets;
	struct timespec t_note; /* the transaction's first notification read */
	/* filled by the thread */
	struct nfo_nft_elem_state *st;
	struct nfo_nft_jiffies at;
	int r;
	double wait_ms, get_ms;
};

struct daemon_expiry {
	struct nfo_expq *q; /* the event loop's alone */
	pthread_t thread;
	bool thread_on;
	int wakefd; /* eventfd: answers wait in done */
	/* under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct question *todo, **todo_tail;
	struct question *done, **done_tail;
	bool stop;
};

static void question_free(struct question *a)
{
	if (!a)
		return;
	free(a->table);
	free(a->name);
	free(a->keys);
	free(a->tickets);
	free(a->st);
	free(a);
}

static void list_free(struct question *a)
{
	while (a) {
		struct question *next = a->next;

		question_free(a);
		a = next;
	}
}

static void *expiry_main(void *arg)
{
	struct daemon_expiry *x = arg;

	pthread_mutex_lock(&x->mu);
	for (;;) {
		struct question *a;
		struct timespec t;

		while (!x->todo && !x->stop)
			pthread_cond_wait(&x->cv, &x->mu);
		if (x->stop)
			break;
		a = x->todo;
		x->todo = a->next;
		if (!x->todo)
			x->todo_tail = &x->todo;
		pthread_mutex_unlock(&x->mu);

		clock_gettime(CLOCK_MONOTONIC, &t);
		a->wait_ms = daemon_ms_since(&a->t_note);
		/* the clock is read inside, before the first request */
		a->r = nfo_nft_get_elems(a->family, a->table, a->name, a->keys, a->n, a->key_len,
					 a->st, &a->at);
		a->get_ms = daemon_ms_since(&t);

		pthread_mutex_lock(&x->mu);
		a->next = NULL;
		*x->done_tail = a;
		x->done_tail = &a->next;
		(void)!write(x->wakefd, &(uint64_t){ 1 }, sizeof(uint64_t));
	}
	pthread_mutex_unlock(&x->mu);
	return NULL;
}

int daemon_expiry_start(struct daemon *d)
{
	struct daemon_expiry *x = calloc(1, sizeof(*x));
	sigset_t all, old;
	int r;

	if (!x)
		return -ENOMEM;
	x->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r = x->wakefd < 0 ? -errno : nfo_expq_new(&x->q);
	if (r < 0) {
		if (x->wakefd >= 0)
			close(x->wakefd);
		free(x);
		return r;
	}
	pthread_mutex_init(&x->mu, NULL);
	pthread_cond_init(&x->cv, NULL);
	x->todo_tail = &x->todo;
	x->done_tail = &x->done;
	/* signals stay the event loop's (its signalfd) */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = -pthread_create(&x->thread, NULL, expiry_main, x);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	x->thread_on = r == 0;
	d->expiry = x;
	if (r < 0) {
		daemon_expiry_stop(d);
		return r;
	}
	return x->wakefd;
}

void daemon_expiry_stop(struct daemon *d)
{
	struct daemon_expiry *x = d->expiry;

	if (!x)
		return;
	if (x->thread_on) {
		pthread_mutex_lock(&x->mu);
		x->stop = true;
		pthread_cond_signal(&x->cv);
		pthread_mutex_unlock(&x->mu);
		pthread_join(x->thread, NULL);
	}
	list_free(x->todo);
	list_free(x->done);
	pthread_mutex_destroy(&x->mu);
	pthread_cond_destroy(&x->cv);
	nfo_expq_free(&x->q);
	close(x->wakefd);
	free(x);
	d->expiry = NULL;
}

static void publish_count(struct daemon *d)
{
	daemon_lock(d);
	d->st.set_expiry_pending = nfo_expq_count(d->expiry->q);
	daemon_unlock(d);
}

bool daemon_expiry_on(const struct daemon *d)
{
	return d->expiry != NULL;
}

void daemon_expiry_cancel(struct daemon *d, const struct nfo_set *set, const uint8_t *key)
{
	if (d->expiry)
		nfo_expq_cancel(d->expiry->q, set, key, set->key_len);
}

void daemon_expiry_forget(struct daemon *d, const struct nfo_set *set)
{
	if (!d->expiry || !nfo_expq_count(d->expiry->q))
		return;
	nfo_expq_forget(d->expiry->q, set);
	publish_count(d);
}

int daemon_expiry_ask(struct daemon *d, const struct nfo_set *set, const uint8_t *keys, size_t n,
		      uint32_t genid)
{
	struct daemon_expiry *x = d->expiry;
	struct question *a;
	size_t len = set->key_len;
	int r = 0;

	if (!n)
		return 0;
	if (!x)
		return -EOPNOTSUPP;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	*a = (struct question){ .set = set, .family = (uint32_t)set->family,
				.key_len = (uint32_t)len, .genid = genid, .n = n,
				.t_note = d->txq_t0 };
	a->table = strdup(set->table);
	a->name = strdup(set->name);
	a->keys = malloc(n * len);
	a->tickets = calloc(n, sizeof(*a->tickets));
	a->st = calloc(n, sizeof(*a->st));
	if (!a->table || !a->name || !a->keys || !a->tickets || !a->st) {
		question_free(a);
		return -ENOMEM;
	}
	memcpy(a->keys, keys, n * len);
	for (size_t i = 0; i < n && r == 0; i++)
		r = nfo_expq_ask(x->q, set, keys + i * len, len, &a->tickets[i]);
	if (r < 0) {
		/* the questions registered so far are answered by nobody:
		 * those keys stay out until the resync the caller starts */
		for (size_t i = 0; i < n; i++)
			nfo_expq_cancel(x->q, set, keys + i * len, len);
		question_free(a);
		return r;
	}
	pthread_mutex_lock(&x->mu);
	*x->todo_tail = a;
	x->todo_tail = &a->next;
	pthread_cond_signal(&x->cv);
	pthread_mutex_unlock(&x->mu);
	publish_count(d);
	return 0;
}

/* One answer: the keys whose question it still is, applied. */
static void answered(struct daemon *d, struct question *a)
{
	struct daemon_expiry *x = d->expiry;
	size_t len = a->key_len, m = 0;
	_cleanup_free_ uint8_t *keys = malloc(a->n * len);
	_cleanup_free_ bool *present = calloc(a->n, sizeof(*present));
	_cleanup_free_ uint64_t *exp = calloc(a->n, sizeof(*exp));
	bool failed = a->r < 0 || !a->at.hz;

	if (!keys || !present || !exp) {
		/* the keys stay out of the fast path (it drops less) until
		 * the model is read again */
		daemon_disable(d, "out of memory");
		daemon_set_update_disabled(d, "out of memory applying expiries: full resync");
		d->need_resync = true;
		return;
	}
	for (size_t i = 0; i < a->n; i++) {
		struct nfo_elem life;

		if (!nfo_expq_take(x->q, a->set, a->keys + i * len, len, a->tickets[i]))
			continue; /* a later operation, a read or a resync decided it */
		memcpy(keys + m * len, a->keys + i * len, len);
		life = (struct nfo_elem){ .has_timeout = a->st[i].has_timeout,
					  .has_expiration = a->st[i].has_expiration,
					  .timeout_ms = a->st[i].timeout_ms,
					  .expiration_ms = a->st[i].expiration_ms };
		present[m] = a->st[i].present;
		exp[m] = present[m] && !failed ? nfo_elem_expiry(&life, a->at.jiffies, a->at.hz) : 0;
		m++;
	}
	publish_count(d);
	if (!m) {
		log_debug("set %s %s: the expiries of %zu key(s) asked at generation %u came after "
			  "later changes: not used", a->table, a->name, a->n, a->genid);
		return;
	}
	/* the set pointer is the model's: a question taken was not forgotten,
	 * and every change of the model forgets its questions */
	if (failed) {
		log_warn("set %s %s: asking for %zu element(s) failed (%s): full resync", a->table,
			 a->name, a->n, a->r < 0 ? strerror(-a->r) : "no clock");
		daemon_disable(d, "expiry questions failed");
		daemon_set_update_disabled(d, "asking for the expiries of added elements failed: "
					      "full resync");
		d->need_resync = true;
		return;
	}
	if (daemon_update_answered(d, (struct nfo_set *)a->set, keys, present, exp, m, a->n,
				   a->genid, &a->t_note, a->wait_ms, a->get_ms) == -EAGAIN) {
		daemon_disable(d, "element change not applicable in place");
		d->need_resync = true;
	}
}

void daemon_expiry_wake(struct daemon *d)
{
	struct daemon_expiry *x = d->expiry;
	struct question *list;
	uint64_t v;

	(void)!read(x->wakefd, &v, sizeof(v));
	pthread_mutex_lock(&x->mu);
	list = x->done;
	x->done = NULL;
	x->done_tail = &x->done;
	pthread_mutex_unlock(&x->mu);
	/* in the order asked: a later question's answer on a key wins anyway
	 * (tickets), the order only keeps the log readable */
	for (struct question *a = list; a; a = a->next)
		if (!d->need_resync)
			answered(d, a);
	list_free(list);
}
