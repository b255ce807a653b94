// SPDX-License-Identifier: GPL-2.0-only
/*
 * The expiry questions still unanswered (expq.h): open addressing with
 * linear probing and backward-shift deletion, so no tombstone ever fills
 * the table however long the churn runs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "expq.h"

struct entry {
	const void *set;
	uint64_t ticket; /* 0: empty */
	uint8_t len;
	uint8_t key[NFO_EXPQ_KEY_MAX];
};

struct nfo_expq {
	struct entry *e;
	size_t cap; /* a power of two, or 0 */
	size_t n;
	uint64_t last_ticket;
};

int nfo_expq_new(struct nfo_expq **ret)
{
	struct nfo_expq *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	*ret = q;
	return 0;
}

void nfo_expq_free(struct nfo_expq **q)
{
	if (!*q)
		return;
	free((*q)->e);
	free(*q);
	*q = NULL;
}

static size_t hash(const void *set, const uint8_t *key, size_t len)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)set; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ key[i]) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29));
}

static bool same(const struct entry *e, const void *set, const uint8_t *key, size_t len)
{
	return e->ticket && e->set == set && e->len == len && !memcmp(e->key, key, len);
}

/* The slot holding key, or the empty one where it would go. */
static size_t find(const struct nfo_expq *q, const void *set, const uint8_t *key, size_t len)
{
	size_t mask = q->cap - 1, i = hash(set, key, len) & mask;

	while (q->e[i].ticket && !same(&q->e[i], set, key, len))
		i = (i + 1) & mask;
	return i;
}

static int grow(struct nfo_expq *q)
{
	size_t ocap = q->cap, cap = ocap ? ocap * 2 : 64;
	struct entry *old = q->e, *e = calloc(cap, sizeof(*e));

	if (!e)
		return -ENOMEM;
	q->e = e;
	q->cap = cap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].ticket)
			q->e[find(q, old[i].set, old[i].key, old[i].len)] = old[i];
	free(old);
	return 0;
}

/* Empties slot i and moves back the entries of its cluster that probed past
 * it (Knuth's algorithm R), so that every key stays reachable. */
static void remove_at(struct nfo_expq *q, size_t i)
{
	size_t mask = q->cap - 1, j = i;

	q->e[i].ticket = 0;
	q->n--;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!q->e[j].ticket)
			return;
		home = hash(q->e[j].set, q->e[j].key, q->e[j].len) & mask;
		/* j stays if its home lies cyclically in (i, j] */
		if (i <= j ? i < home && home <= j : i < home || home <= j)
			continue;
		q->e[i] = q->e[j];
		q->e[j].ticket = 0;
		i = j;
	}
}

int nfo_expq_ask(struct nfo_expq *q, const void *set, const uint8_t *key, size_t len,
		 uint64_t *ret_ticket)
{
	size_t i;

	if (len > NFO_EXPQ_KEY_MAX)
		return -EINVAL;
	/* at most half full: probes stay short */
	if ((q->n + 1) * 2 > q->cap) {
		int r = grow(q);

		if (r < 0)
			return r;
	}
	i = find(q, set, key, len);
	if (!q->e[i].ticket) {
		q->e[i] = (struct entry){ .set = set, .len = (uint8_t)len };
		memcpy(q->e[i].key, key, len);
		q->n++;
	}
	q->e[i].ticket = ++q->last_ticket;
	*ret_ticket = q->e[i].ticket;
	return 0;
}

void nfo_expq_cancel(struct nfo_expq *q, const void *set, const uint8_t *key, size_t len)
{
	size_t i;

	if (!q->n || len > NFO_EXPQ_KEY_MAX)
		return;
	i = find(q, set, key, len);
	if (q->e[i].ticket)
		remove_at(q, i);
}

bool nfo_expq_take(struct nfo_expq *q, const void *set, const uint8_t *key, size_t len,
		   uint64_t ticket)
{
	size_t i;

	if (!q->n || len > NFO_EXPQ_KEY_MAX || !ticket)
		return false;
	i = find(q, set, key, len);
	if (q->e[i].ticket != ticket)
		return false;
	remove_at(q, i);
	return true;
}

bool nfo_expq_pending(const struct nfo_expq *q, const void *set, const uint8_t *key, size_t len)
{
	if (!q->n || len > NFO_EXPQ_KEY_MAX)
		return false;
	return q->e[find(q, set, key, len)].ticket != 0;
}

void nfo_expq_forget(struct nfo_expq *q, const void *set)
{
	if (!set) {
		if (q->cap)
			memset(q->e, 0, q->cap * sizeof(*q->e));
		q->n = 0;
		return;
	}
	/* a removal may move a later entry into slot i: look at it again */
	for (size_t i = 0; i < q->cap && q->n;) {
		if (q->e[i].ticket && q->e[i].set == set)
			remove_at(q, i);
		else
			i++;
	}
}

size_t nfo_expq_count(const struct nfo_expq *q)
{
	return q->n;
}
