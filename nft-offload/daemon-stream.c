// SPDX-License-Identifier: GPL-2.0-only
/*
 * Large sets read while the fast path runs. The kernel's element dump is
 * quadratic (each message walks the set from its start and skips what was
 * sent): a million elements take tens of seconds. A plain set whose lookups
 * only ever lead to drop can be offloaded with part of its elements (a
 * missing one only makes the fast path drop less), so the resync reads the
 * rest of the ruleset and the first part of such a set, goes live, and the
 * event loop reads on, a few messages per turn between notifications,
 * applying each batch like a notified transaction (nfo_set_apply_ops(),
 * nfo_loader_update_sets()).
 *
 * Order with the notifications: a batch may have been built by the kernel
 * before a delete whose notification was applied already (the kernel
 * builds the next message as the previous one is received). So the keys
 * notifications delete while a set loads are remembered (tombstones) and
 * left out of later batches, until a notification adds them again. Adds
 * and deletes applied after a batch are in order anyway.
 *
 * A dump that spans generations can also skip elements (a delete ahead of
 * the walk's position shifts the rest); so a pass during which the set
 * changed is followed by another, up to STREAM_PASSES: re-adding what is
 * there is a no-op.
 *
 * The kernel builds each dump message inside the recvmsg() that takes the
 * one before, walking the set from its start: late in a large set that is
 * tens of milliseconds per message, during which the event loop would not
 * see a notification. So a thread of the stream's own receives the
 * messages, a few ahead, and hands the batches to the event loop through
 * d->streamfd; it stops at the end of each pass, and the event loop, which
 * alone parses, applies and decides on another pass, joins it first.
 *
 * A set with timeouts streams too: each element read carries its expiry,
 * a lower bound of the kernel's from the clock read before the pass's
 * request (nfo_nft_stream.at), merged with the keys (nfo_set_add_read()).
 * A notification on it is applied in place like on any set with timeouts
 * (daemon-expiry.c: the added keys' expiries asked for again), and the
 * stream goes on: later batches skip the keys notified since (added or
 * deleted: their expiries come from their questions) and leave held keys
 * with the expiry they have. Only lost
 * operations make the daemon read it whole (update_expiring()), which
 * ends its stream.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "netlink/nft.h"
#include "daemon-internal.h"
#include "setdelta.h"

/* Messages read per turn of the event loop: about 2,000 IPv4 elements each
 * (32 KiB), so a turn stays in the milliseconds, well inside the watchdog's
 * second even on a loaded machine. */
#define STREAM_MSGS_PER_TURN 2
/* Passes over a set that keeps changing while it is read. */
#define STREAM_PASSES 3

/* Batches the reader thread holds at most before the event loop takes them. */
#define STREAM_AHEAD 4

struct daemon_stream {
	/* owned by the reader thread while it runs (reader_on) */
	struct nfo_nft_stream *st;
	pthread_t reader;
	bool reader_on;
	/* under mu: batches read (oldest first), and how the pass ended (0:
	 * still reading, 1: read to its end, -errno) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct nfo_nft_elems *ahead[STREAM_AHEAD];
	size_t nahead;
	int end;
	bool stop;
	int wakefd;
	struct nfo_set *set;
	/* tombstones: open addressing, slots of 1 state byte + key_len */
	uint8_t *tomb;
	size_t tcap;   /* slots, a power of two */
	size_t tused;  /* slots full or deleted */
	size_t changes; /* notified operations on the set during this pass */
};

enum { SLOT_EMPTY, SLOT_FULL, SLOT_GONE };

static uint64_t key_hash(const uint8_t *k, size_t len)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ k[i]) * 1099511628211ull;
	return h;
}

/* The slot of key, or the first free one on its probe path (ret_found). */
static uint8_t *tomb_find(struct daemon_stream *s, const uint8_t *key, bool *ret_found)
{
	size_t kl = s->set->key_len, sz = 1 + kl, mask = s->tcap - 1;
	uint8_t *free_slot = NULL;

	*ret_found = false;
	if (!s->tcap)
		return NULL;
	for (size_t i = key_hash(key, kl) & mask, n = 0; n < s->tcap; i = (i + 1) & mask, n++) {
		uint8_t *p = s->tomb + i * sz;

		if (p[0] == SLOT_EMPTY)
			return free_slot ? free_slot : p;
		if (p[0] == SLOT_GONE) {
			if (!free_slot)
				free_slot = p;
			continue;
		}
		if (!memcmp(p + 1, key, kl)) {
			*ret_found = true;
			return p;
		}
	}
	return free_slot;
}

static int tomb_grow(struct daemon_stream *s)
{
	size_t sz = 1 + s->set->key_len, ocap = s->tcap;
	uint8_t *old = s->tomb;

	s->tcap = ocap ? ocap * 2 : 1024;
	s->tomb = calloc(s->tcap, sz);
	s->tused = 0;
	if (!s->tomb) {
		s->tomb = old;
		s->tcap = ocap;
		return -ENOMEM;
	}
	for (size_t i = 0; i < ocap; i++) {
		uint8_t *p = old + i * sz, *q;
		bool found;

		if (p[0] != SLOT_FULL)
			continue;
		q = tomb_find(s, p + 1, &found);
		memcpy(q, p, sz);
		s->tused++;
	}
	free(old);
	return 0;
}

static int tomb_set(struct daemon_stream *s, const uint8_t *key, bool deleted)
{
	bool found;
	uint8_t *p;

	if (deleted && (s->tused + 1) * 2 > s->tcap && tomb_grow(s) < 0)
		return -ENOMEM;
	p = tomb_find(s, key, &found);
	if (deleted && !found) {
		if (p[0] == SLOT_EMPTY)
			s->tused++;
		p[0] = SLOT_FULL;
		memcpy(p + 1, key, s->set->key_len);
	} else if (!deleted && found) {
		p[0] = SLOT_GONE;
	}
	return 0;
}

static bool tomb_has(struct daemon_stream *s, const uint8_t *key)
{
	bool found;

	tomb_find(s, key, &found);
	return found;
}

static void *reader_main(void *data)
{
	struct daemon_stream *s = data;
	const uint64_t one = 1;

	for (;;) {
		struct nfo_nft_elems *chunk = NULL;
		int r;

		pthread_mutex_lock(&s->mu);
		while (s->nahead == STREAM_AHEAD && !s->stop)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->stop) {
			pthread_mutex_unlock(&s->mu);
			return NULL;
		}
		pthread_mutex_unlock(&s->mu);
		r = nfo_nft_stream_read(s->st, 1, &chunk);
		pthread_mutex_lock(&s->mu);
		if (chunk)
			s->ahead[s->nahead++] = chunk;
		if (r != 0)
			s->end = r;
		pthread_mutex_unlock(&s->mu);
		(void)!write(s->wakefd, &one, sizeof(one));
		if (r != 0)
			return NULL;
	}
}

/* Starts the reader of the pass; false: no thread (the event loop reads). */
static bool reader_start(struct daemon_stream *s, int wakefd)
{
	if (s->reader_on)
		return true;
	s->nahead = 0;
	s->end = 0;
	s->stop = false;
	s->wakefd = wakefd;
	s->reader_on = pthread_create(&s->reader, NULL, reader_main, s) == 0;
	return s->reader_on;
}

/* Stops and joins the reader (at most one message it is receiving). */
static void reader_stop(struct daemon_stream *s)
{
	if (!s->reader_on)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->reader, NULL);
	s->reader_on = false;
	for (size_t i = 0; i < s->nahead; i++)
		nfo_nft_elems_free(&s->ahead[i]);
	s->nahead = 0;
}

static void stream_free(struct daemon_stream *s)
{
	if (!s)
		return;
	reader_stop(s);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	nfo_nft_stream_free(&s->st);
	free(s->tomb);
	free(s);
}

/* A stream of st on set (NULL: none known), not running yet. */
static struct daemon_stream *stream_new(struct nfo_set *set, struct nfo_nft_stream *st)
{
	struct daemon_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->set = set;
	s->st = st;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	return s;
}

void daemon_streams_clear(struct daemon *d)
{
	daemon_lock(d);
	for (size_t i = 0; i < d->nstreams; i++)
		stream_free(d->streams[i]);
	free(d->streams);
	d->streams = NULL;
	d->nstreams = 0;
	daemon_unlock(d);
}

size_t daemon_stream_after(const struct daemon *d)
{
	/* a service's program holds a set's elements as its filter: whole */
	return d->opts->nservices ? 0 : DAEMON_STREAM_AFTER;
}

int daemon_streams_prepare(struct daemon *d, struct nfo_nft_dump *dump,
			   const struct nfo_ruleset *rs)
{
	bool drained = false;

	for (size_t i = 0; i < dump->nstreams;) {
		const struct nfo_nft_stream *st = dump->streams[i];
		const struct nfo_set *set = nfo_ruleset_find_set(rs, (int)st->family, st->table,
								 st->name);
		int r;

		/* elements that expire: only with the clock their expiry
		 * is placed by */
		if (set && set->usable && set->drop_only &&
		    (!(set->flags & NFT_SET_TIMEOUT) || dump->at.hz)) {
			i++;
			continue;
		}
		/* a lookup leads toward accept (or the set cannot be
		 * followed): the fast path needs all of it */
		log_debug("set %s %s: read whole before going live", st->table, st->name);
		r = nfo_nft_dump_finish_stream(dump, i, &d->st.busy_elements);
		if (r < 0)
			return r;
		drained = true;
	}
	return drained;
}

int daemon_streams_take(struct daemon *d, struct nfo_nft_dump *dump)
{
	size_t n = dump->nstreams;
	struct daemon_stream **v;

	if (!n)
		return 0;
	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct nfo_nft_stream *st = dump->streams[i];

		v[i] = stream_new(nfo_ruleset_find_set(d->st.rs, (int)st->family, st->table,
						       st->name), st);
		if (!v[i]) {
			while (i-- > 0) {
				v[i]->st = NULL; /* still the dump's */
				stream_free(v[i]);
			}
			free(v);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct nfo_nft_stream *st = dump->streams[i];

		dump->streams[i] = NULL;
		log_info("set %s %s: %" PRIu64 " elements read, the rest is read while the fast "
			 "path runs", st->table, st->name, st->read);
	}
	dump->nstreams = 0;
	daemon_lock(d);
	d->streams = v;
	d->nstreams = n;
	daemon_unlock(d);
	return 0;
}

int daemon_streams_add(struct daemon *d, struct nfo_set *set, struct nfo_nft_stream *st)
{
	struct daemon_stream *s, **v;

	daemon_streams_drop_set(d, set);
	s = stream_new(set, st);
	v = s ? realloc(d->streams, (d->nstreams + 1) * sizeof(*v)) : NULL;
	if (!v) {
		if (s)
			s->st = NULL; /* the caller's */
		stream_free(s);
		return -ENOMEM;
	}
	daemon_lock(d);
	d->streams = v;
	d->streams[d->nstreams++] = s;
	daemon_unlock(d);
	return 0;
}

void daemon_streams_drop_set(struct daemon *d, const struct nfo_set *set)
{
	for (size_t i = 0; i < d->nstreams; i++)
		if (d->streams[i]->set == set) {
			daemon_lock(d);
			stream_free(d->streams[i]);
			d->streams[i] = d->streams[--d->nstreams];
			daemon_unlock(d);
			return;
		}
}

void daemon_streams_note_ops(struct daemon *d, const struct nfo_set *set,
			     const struct nfo_nft_elem *ops, size_t nops)
{
	for (size_t i = 0; i < d->nstreams; i++) {
		struct daemon_stream *s = d->streams[i];

		if (s->set != set)
			continue;
		s->changes += nops;
		/* In a set whose elements expire an added key stays a
		 * tombstone too: its expiry comes from its question
		 * (daemon-expiry.c), never from a batch, which may predate
		 * a delete and re-add with a shorter timeout (or carry an
		 * element whose question answered "gone"). */
		bool sticky = set->flags & NFT_SET_TIMEOUT;

		for (size_t k = 0; k < nops; k++)
			if (ops[k].klen == set->key_len &&
			    tomb_set(s, ops[k].key, ops[k].del || sticky) < 0) {
				/* cannot remember it: read the whole ruleset again */
				d->need_resync = true;
				return;
			}
	}
}

/*
 * Whether the pass that ended read the whole set, when no notification
 * touched it meanwhile. A dump sends every element at least once (a walk
 * that a resize reorders sends some twice and leaves as many out:
 * netlink/nft.c nfo_nft_elems_repeat), and the model holds only keys the kernel
 * holds (reads and notified changes, in order): so when the model holds as
 * many keys as the pass sent, it holds them all. Fewer: something was sent
 * twice, and maybe something left out. Two things can hide a left-out
 * element from the count (the fast path then drops less, never more): in
 * a set whose elements expire, keys the kernel has expired since; and a
 * delete committed before the pass ended whose notification the loop has
 * not read yet (the model still holds that key).
 */
static bool pass_whole(const struct daemon *d, const struct daemon_stream *s)
{
	/* keys of a set with timeouts that notifications added enter the
	 * model when their expiry is answered: counted while asked (all
	 * sets' questions: an upper bound, which can only call a short pass
	 * whole, as keys expired since can) */
	size_t asked = (s->set->flags & NFT_SET_TIMEOUT) ?
			       __atomic_load_n(&d->st.set_expiry_pending, __ATOMIC_RELAXED) : 0;

	return nfo_set_nkeys_held(s->set) + asked >= s->st->pass_read;
}

/* The set is read: it is whole, or as whole as passes over a set that kept
 * changing (or being reorganized under the walk) could read it. */
static void stream_done(struct daemon *d, size_t i, bool short_read)
{
	struct daemon_stream *s = d->streams[i];

	daemon_lock(d);
	if (s->set) {
		s->set->loading = false;
		s->set->read_short = short_read;
		if (short_read)
			log_warn("set %s %s: %zu elements read in %u passes, but it changed (or "
				    "was reorganized) during each: an element may be missing from "
				    "the fast path until added again", s->set->table,
				    s->set->name, nfo_set_nkeys_held(s->set), s->st->pass);
		else
			log_info("set %s %s: all %zu elements read (%u pass%s)", s->set->table,
				 s->set->name, nfo_set_nkeys_held(s->set), s->st->pass,
				 s->st->pass > 1 ? "es" : "");
	}
	stream_free(s);
	d->streams[i] = d->streams[--d->nstreams];
	daemon_unlock(d);
}

void daemon_streams_end_set(struct daemon *d, const struct nfo_set *set)
{
	for (size_t i = 0; i < d->nstreams; i++)
		if (d->streams[i]->set == set) {
			stream_done(d, i, false);
			return;
		}
}

/* A lower bound of the kernel's expiry of element k of es, read by a dump
 * whose request was sent at at (nfo_elem_expiry). 0: never expires. */
static uint64_t chunk_expiry(const struct nfo_nft_elems *es, size_t k,
			     const struct nfo_nft_jiffies *at)
{
	struct nfo_elem life = {};

	if (!(es->flags[k] & (NFO_NFT_ELEM_TIMEOUT | NFO_NFT_ELEM_EXPIRATION)))
		return 0;
	life.has_timeout = es->timeouts && (es->flags[k] & NFO_NFT_ELEM_TIMEOUT);
	life.timeout_ms = life.has_timeout ? es->timeouts[k] : 0;
	life.has_expiration = es->expirations && (es->flags[k] & NFO_NFT_ELEM_EXPIRATION);
	life.expiration_ms = life.has_expiration ? es->expirations[k] : 0;
	return nfo_elem_expiry(&life, at->jiffies, at->hz);
}

bool daemon_streams_ready(struct daemon *d)
{
	struct daemon_stream *s = d->nstreams ? d->streams[0] : NULL;
	bool ready;

	/* not while disabled (a resync replaces the streams) or while
	 * notified changes wait: those are applied first */
	if (!d->nstreams || !d->st.enabled || d->need_resync || d->ntxq)
		return false;
	if (!s->reader_on)
		return true;
	/* the reader wakes the loop through streamfd when it has more */
	pthread_mutex_lock(&s->mu);
	ready = s->nahead || s->end;
	pthread_mutex_unlock(&s->mu);
	return ready;
}

void daemon_streams_wake(struct daemon *d)
{
	uint64_t x;

	(void)!read(d->streamfd, &x, sizeof(x));
}

/* The next batch of stream s: from its reader (*ret NULL: none yet), or read
 * here when there is no thread. 1: the pass has ended (and its batches are
 * all taken), -errno. */
static int next_batch(struct daemon *d, struct daemon_stream *s, struct nfo_nft_elems **ret)
{
	int r = 0;

	*ret = NULL;
	if (!reader_start(s, d->streamfd))
		return nfo_nft_stream_read(s->st, STREAM_MSGS_PER_TURN, ret);
	pthread_mutex_lock(&s->mu);
	if (s->nahead) {
		*ret = s->ahead[0];
		memmove(s->ahead, s->ahead + 1, --s->nahead * sizeof(*s->ahead));
		pthread_cond_signal(&s->cv);
	}
	if (!s->nahead && s->end)
		r = s->end;
	pthread_mutex_unlock(&s->mu);
	if (r != 0) {
		/* the reader has returned: the stream is the loop's again */
		pthread_join(s->reader, NULL);
		s->reader_on = false;
	}
	return r;
}

bool daemon_streams_step(struct daemon *d)
{
	_cleanup_free_ struct nfo_nft_elem *ops = NULL;
	_cleanup_free_ uint64_t *expires = NULL;
	struct nfo_nft_elems *chunk = NULL;
	struct daemon_stream *s;
	struct timespec t0;
	double read_ms;
	size_t nops = 0;
	int r;

	if (!daemon_streams_ready(d))
		return false;
	s = d->streams[0];
	if (!s->set) {
		stream_done(d, 0, false);
		return d->nstreams > 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = next_batch(d, s, &chunk);
	read_ms = daemon_ms_since(&t0);
	if (r < 0) {
		log_error_errno(r, "reading set %s %s: %m; reading the ruleset again",
				s->set->table, s->set->name);
		nfo_nft_elems_free(&chunk);
		d->need_resync = true;
		return false;
	}
	if (chunk && chunk->n) {
		if (chunk->bad || chunk->key_len != s->set->key_len) {
			nfo_nft_elems_free(&chunk);
			d->need_resync = true;
			return false;
		}
		ops = calloc(chunk->n, sizeof(*ops));
		if (s->set->flags & NFT_SET_TIMEOUT)
			expires = calloc(chunk->n, sizeof(*expires));
		if (!ops || ((s->set->flags & NFT_SET_TIMEOUT) && !expires)) {
			nfo_nft_elems_free(&chunk);
			d->need_resync = true;
			return false;
		}
		for (size_t k = 0; k < chunk->n; k++) {
			const uint8_t *key = chunk->keys + k * chunk->key_len;

			if (tomb_has(s, key))
				continue; /* deleted since the kernel built the message */
			memcpy(ops[nops].key, key, chunk->key_len);
			ops[nops].klen = (uint8_t)chunk->key_len;
			if (expires)
				expires[nops] = chunk_expiry(chunk, k, &s->st->at);
			nops++;
		}
		nfo_nft_elems_free(&chunk);
		if (d->st.loader)
			(void)nfo_loader_beat(d->st.loader);
		r = daemon_apply_stream_ops(d, s->set, ops, nops, expires);
		if (r < 0) {
			log_error_errno(r, "set %s %s: applying the elements read: %m; reading the "
					   "ruleset again", s->set->table, s->set->name);
			d->need_resync = true;
			return false;
		}
	}
	log_debug("set %s %s: %zu elements read in %.1f ms, applied in %.1f ms", s->set->table,
		  s->set->name, nops, read_ms, daemon_ms_since(&t0) - read_ms);
	/* this loop runs: a heartbeat per batch, whatever the timer says */
	if (d->st.loader && nfo_loader_beat(d->st.loader) < 0)
		log_debug("watchdog heartbeat failed");
	if (r == 1) {
		/* a pass under changes may have skipped elements, and so
		 * may one that sent an element twice: another */
		bool whole = !s->changes && pass_whole(d, s);

		if (!s->changes && !whole)
			nfo_nft_note_dump_repeated();

		if (!whole && s->st->pass < STREAM_PASSES) {
			log_debug("set %s %s: %zu operations while read, %" PRIu64 " elements "
				  "sent, %zu held: pass %u", s->set->table, s->set->name,
				  s->changes, s->st->pass_read, nfo_set_nkeys_held(s->set),
				  s->st->pass + 1);
			s->changes = 0;
			if (nfo_nft_stream_restart(s->st) < 0) {
				d->need_resync = true;
				return false;
			}
		} else {
			stream_done(d, 0, !whole);
		}
	}
	return d->nstreams > 0;
}

uint64_t daemon_stream_read(const struct daemon *d, const struct nfo_set *set)
{
	for (size_t i = 0; i < d->nstreams; i++)
		if (d->streams[i]->set == set)
			return __atomic_load_n(&d->streams[i]->st->read, __ATOMIC_RELAXED);
	return 0;
}
