// SPDX-License-Identifier: GPL-2.0-only
/*
 * Writes to a bucket table that the fast path reads at the same time. The
 * order is what makes a concurrent lookup sound (docs/ARCHITECTURE.md, "Set
 * stores"): a key and its expiry are written before the occupancy bit that
 * publishes them (a release store), a delete only clears the bit, and a
 * slot freed by a delete is not given another key before a grace period
 * (nfo_table_release), so a reader never compares a half-written key.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "setstore.h"

#define MIN_BUCKETS 32

static struct nfo_table_hdr *hdr(const struct nfo_table *t)
{
	return (struct nfo_table_hdr *)&t->b[0];
}

uint32_t nfo_table_buckets_for(size_t n, uint32_t kw, bool has_exp)
{
	size_t slots = nfo_table_nslots(kw, has_exp), nb = MIN_BUCKETS, want;

	/* Two choices among buckets of few slots fill up sooner: three
	 * quarters full at most with many slots a bucket, half with three
	 * or four (IPv6, IPv4 with expiries), a third with two. */
	want = slots >= 5 ? n + n / 3 + 1 : slots >= 3 ? 2 * n + 1 : 3 * n + 1;
	while (nb * slots < want && nb < (1u << 30))
		nb *= 2;
	return (uint32_t)nb;
}

int nfo_table_init(struct nfo_table *t, void *mem, uint32_t nbuckets, uint32_t kw, bool has_exp,
		   uint32_t seed)
{
	struct nfo_table_hdr *h;

	if (!nbuckets || (nbuckets & (nbuckets - 1)) || !kw || kw > NFO_TABLE_MAX_KW)
		return -EINVAL;
	*t = (struct nfo_table){ .b = mem, .nbuckets = nbuckets, .kw = kw,
				 .nslots = nfo_table_nslots(kw, has_exp), .has_exp = has_exp };
	t->quar = calloc(nbuckets, sizeof(*t->quar));
	if (!t->quar)
		return -ENOMEM;
	h = hdr(t);
	h->mask = nbuckets - 1;
	h->seed = seed;
	h->kw = kw;
	h->nslots = t->nslots;
	h->has_exp = has_exp;
	return 0;
}

void nfo_table_fini(struct nfo_table *t)
{
	free(t->quar);
	*t = (struct nfo_table){};
}

void nfo_table_key(const uint8_t *bytes, uint32_t len, uint32_t *ret)
{
	memset(ret, 0, NFO_TABLE_MAX_KEY);
	memcpy(ret, bytes, len < NFO_TABLE_MAX_KEY ? len : NFO_TABLE_MAX_KEY);
}

static uint32_t *slot_key(const struct nfo_table *t, uint32_t bi, uint32_t i)
{
	return &t->b[bi].w[nfo_table_key_word(hdr(t), i, 0)];
}

static __u64 *slot_until(const struct nfo_table *t, uint32_t bi, uint32_t i)
{
	return &t->b[bi].until[i];
}

static bool key_is(const struct nfo_table *t, uint32_t bi, uint32_t i, const uint32_t *key)
{
	return !memcmp(slot_key(t, bi, i), key, t->kw * 4);
}

/* Entry and slot of key, false: absent. */
static bool locate(const struct nfo_table *t, const uint32_t *key, uint32_t *ret_b, int *ret_i)
{
	uint32_t h = nfo_table_hash(key, t->kw, hdr(t)->seed);
	uint32_t cand[2] = { nfo_table_b1(h, hdr(t)->mask), nfo_table_b2(h, hdr(t)->mask) };

	for (int c = 0; c < 2; c++) {
		int i = nfo_bucket_find(&t->b[cand[c]], hdr(t), key);

		if (i >= 0) {
			*ret_b = cand[c];
			*ret_i = i;
			return true;
		}
	}
	return false;
}

bool nfo_table_find(const struct nfo_table *t, const uint32_t *key, uint64_t *ret_until)
{
	uint32_t bi;
	int i;

	if (!locate(t, key, &bi, &i))
		return false;
	if (ret_until)
		*ret_until = nfo_bucket_until(&t->b[bi], hdr(t), i);
	return true;
}

static int popcount(uint32_t x)
{
	return __builtin_popcount(x);
}

/* Makes slot i of entry bi (holding key already) present until until. */
static void publish(struct nfo_table *t, uint32_t bi, uint32_t i, uint64_t until)
{
	if (t->has_exp)
		__atomic_store_n(slot_until(t, bi, i), until, __ATOMIC_RELAXED);
	/* the key and its expiry before the bit that makes them visible */
	__atomic_store_n(&t->b[bi].occ, t->b[bi].occ | (1u << i), __ATOMIC_RELEASE);
	t->count++;
}

int nfo_table_insert(struct nfo_table *t, const uint32_t *key, uint64_t until)
{
	uint32_t h, cand[2], full = (t->nslots >= 32 ? ~0u : (1u << t->nslots) - 1);
	uint32_t bi, used;
	int i, best = -1;

	if (locate(t, key, &bi, &i)) {
		if (t->has_exp)
			__atomic_store_n(slot_until(t, bi, (uint32_t)i), until, __ATOMIC_RELEASE);
		return 0;
	}
	h = nfo_table_hash(key, t->kw, hdr(t)->seed);
	cand[0] = nfo_table_b1(h, hdr(t)->mask);
	cand[1] = nfo_table_b2(h, hdr(t)->mask);
	/* A quarantined slot that still holds this very key can take it
	 * back at once: a reader comparing it sees the same bytes. */
	for (int c = 0; c < 2; c++) {
		uint32_t q = t->quar[cand[c] - 1];

		for (uint32_t s = 0; q && s < t->nslots; s++) {
			if (!(q & (1u << s)) || !key_is(t, cand[c], s, key))
				continue;
			t->quar[cand[c] - 1] &= ~(1u << s);
			t->nquar--;
			publish(t, cand[c], s, until);
			return 1;
		}
	}
	/* the emptier of the two buckets (slots free and not quarantined) */
	for (int c = 0; c < 2; c++) {
		used = (t->b[cand[c]].occ | t->quar[cand[c] - 1]) & full;
		if (used == full)
			continue;
		if (best < 0 || popcount(used) <
				       popcount((t->b[cand[best]].occ | t->quar[cand[best] - 1]) & full))
			best = c;
	}
	if (best < 0)
		return -ENOSPC;
	bi = cand[best];
	used = t->b[bi].occ | t->quar[bi - 1];
	for (i = 0; used & (1u << i); i++)
		;
	memcpy(slot_key(t, bi, (uint32_t)i), key, t->kw * 4);
	publish(t, bi, (uint32_t)i, until);
	return 1;
}

/* A slot of entry bi that is neither held nor quarantined, -1: none. */
static int free_slot(const struct nfo_table *t, uint32_t bi)
{
	uint32_t used = t->b[bi].occ | t->quar[bi - 1];

	for (uint32_t i = 0; i < t->nslots; i++)
		if (!(used & (1u << i)))
			return (int)i;
	return -1;
}

int nfo_table_make_room(struct nfo_table *t, const uint32_t *key)
{
	uint32_t h = nfo_table_hash(key, t->kw, hdr(t)->seed);
	uint32_t cand[2] = { nfo_table_b1(h, hdr(t)->mask), nfo_table_b2(h, hdr(t)->mask) };

	for (int c = 0; c < 2; c++) {
		uint32_t bi = cand[c], occ = t->b[bi].occ;

		for (uint32_t s = 0; s < t->nslots; s++) {
			uint32_t other[NFO_TABLE_MAX_KW] = {}, h2, alt;
			int f;

			if (!(occ & (1u << s)))
				continue;
			memcpy(other, slot_key(t, bi, s), t->kw * 4);
			h2 = nfo_table_hash(other, t->kw, hdr(t)->seed);
			alt = nfo_table_b1(h2, hdr(t)->mask);
			if (alt == bi)
				alt = nfo_table_b2(h2, hdr(t)->mask);
			if (alt == bi || (f = free_slot(t, alt)) < 0)
				continue;
			/* the copy is published before the original goes: a
			 * reader finds the key in one place or the other,
			 * unless it looks at the new place before the copy
			 * and at the old one after (the caller's to allow) */
			memcpy(slot_key(t, alt, (uint32_t)f), other, t->kw * 4);
			publish(t, alt, (uint32_t)f, nfo_bucket_until(&t->b[bi], hdr(t), (int)s));
			__atomic_store_n(&t->b[bi].occ, t->b[bi].occ & ~(1u << s), __ATOMIC_RELEASE);
			t->quar[bi - 1] |= 1u << s;
			t->nquar++;
			t->count--;
			return 1;
		}
	}
	return 0;
}

int nfo_table_delete(struct nfo_table *t, const uint32_t *key)
{
	uint32_t bi;
	int i;

	if (!locate(t, key, &bi, &i))
		return 0;
	__atomic_store_n(&t->b[bi].occ, t->b[bi].occ & ~(1u << i), __ATOMIC_RELEASE);
	t->quar[bi - 1] |= 1u << i;
	t->nquar++;
	t->count--;
	return 1;
}

void nfo_table_release(struct nfo_table *t)
{
	if (!t->nquar)
		return;
	memset(t->quar, 0, t->nbuckets * sizeof(*t->quar));
	t->nquar = 0;
}

bool nfo_table_crowded(const struct nfo_table *t, size_t n)
{
	/* past seven eighths, two-choice inserts start to fail */
	return (t->count + t->nquar + n) * 8 > (size_t)t->nbuckets * t->nslots * 7;
}

int nfo_table_foreach(const struct nfo_table *t,
		      int (*fn)(const uint32_t *key, uint64_t until, void *data), void *data)
{
	for (uint32_t bi = 1; bi <= t->nbuckets; bi++) {
		uint32_t occ = t->b[bi].occ;

		for (uint32_t s = 0; occ && s < t->nslots; s++) {
			uint32_t key[NFO_TABLE_MAX_KW] = {};
			int r;

			if (!(occ & (1u << s)))
				continue;
			memcpy(key, slot_key(t, bi, s), t->kw * 4);
			r = fn(key, nfo_bucket_until(&t->b[bi], hdr(t), (int)s), data);
			if (r)
				return r;
		}
	}
	return 0;
}
