/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The userspace side of a set's bucket table (bpf/nfo_store.h): inserts,
 * deletes and lookups on its memory (the loader's mmap of the map, or any
 * buffer: pure, unit-tested), in the order that keeps every reader sound.
 */
#ifndef NFO_SETSTORE_H
#define NFO_SETSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/nfo_store.h"

struct nfo_table {
	struct nfo_bucket *b; /* b[0] is the header, bucket i at b[1 + i] */
	uint32_t nbuckets;
	uint32_t kw, nslots;
	bool has_exp;
	size_t count;  /* keys held */
	/* Per bucket, slots deleted since the last grace period: their bit is
	 * clear but a reader that loaded the bitmap before may still compare
	 * their key, so they take no other key until nfo_table_release(). */
	uint32_t *quar;
	size_t nquar;
};

/* Words of a key_len-byte key. */
static inline uint32_t nfo_table_kw(uint32_t key_len)
{
	return (key_len + 3) / 4;
}

/* Buckets (a power of two, at least 32) for n keys at a load that leaves
 * two-choice inserts room. */
uint32_t nfo_table_buckets_for(size_t n, uint32_t kw, bool has_exp);

/* Bytes of the map's memory: the header and the buckets. */
static inline size_t nfo_table_bytes(uint32_t nbuckets)
{
	return (size_t)(nbuckets + 1) * NFO_BUCKET_SIZE;
}

/* Sets t up on mem (nfo_table_bytes(nbuckets), zeroed): writes the header. */
int nfo_table_init(struct nfo_table *t, void *mem, uint32_t nbuckets, uint32_t kw, bool has_exp,
		   uint32_t seed);
void nfo_table_fini(struct nfo_table *t);

/* Whether key (kw words) is held; its expiry in *ret_until (may be NULL). */
bool nfo_table_find(const struct nfo_table *t, const uint32_t *key, uint64_t *ret_until);

/*
 * Makes key present until until (nfo_set_until; 0 in a table without
 * expiries). 1: added, 0: was present (its expiry updated with one store),
 * -ENOSPC: both buckets full (grow, or release the quarantine first).
 */
int nfo_table_insert(struct nfo_table *t, const uint32_t *key, uint64_t until);

/*
 * Both buckets of key are full: moves one key of them to its other bucket
 * (1), 0: none can move. The slot it leaves is quarantined like a deleted
 * one, so key goes in only after nfo_table_release(). A concurrent reader
 * may miss the moved key for the moment (it may look at the new place
 * before the move and at the old one after): for a set where a missing
 * key only makes the fast path drop less, or one no packet reads.
 */
int nfo_table_make_room(struct nfo_table *t, const uint32_t *key);

/* 1: removed, 0: was absent. */
int nfo_table_delete(struct nfo_table *t, const uint32_t *key);

/* A grace period has passed since every delete so far: their slots are free. */
void nfo_table_release(struct nfo_table *t);

/* Whether t should grow before taking n more keys. */
bool nfo_table_crowded(const struct nfo_table *t, size_t n);

/* Calls fn for every key held, in bucket order; stops at fn's first
 * nonzero return and returns it. */
int nfo_table_foreach(const struct nfo_table *t,
		      int (*fn)(const uint32_t *key, uint64_t until, void *data), void *data);

/* A key's words from nft's key bytes (len <= NFO_TABLE_MAX_KEY). */
void nfo_table_key(const uint8_t *bytes, uint32_t len, uint32_t *ret /* [NFO_TABLE_MAX_KW] */);

#endif
