/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The bucket table that holds the elements of one exact named set (keys of
 * at most NFO_TABLE_MAX_KEY bytes: every single field, ipv4 . port, ipv4 .
 * ipv4, ...): one BPF_MAP_TYPE_ARRAY per set, BPF_F_MMAPABLE, one 64-byte
 * bucket per entry. Userspace writes it with plain stores through mmap (no
 * system call per element), the fast path reads it with the functions
 * below. Both include this header, so they agree on the layout and the hash.
 *
 * Entry 0 is the header; bucket b (0 <= b <= mask) is entry 1 + b. A key
 * lives in one of two buckets chosen by its hash (two-choice hashing: at
 * the load factors the loader keeps, a lookup reads two cache lines and an
 * insert never needs to move another key). A bucket has an occupancy bitmap
 * and nslots slots: with expiries, nslots 64-bit expiries ("until",
 * nfo_set_until) first, then the keys, each kw 32-bit words (key bytes as
 * nft holds them in registers, zero-padded to a multiple of 4).
 *
 * Concurrency (docs/ARCHITECTURE.md, "Set stores"): userspace writes a key
 * and its expiry before setting its occupancy bit (a release store), clears
 * the bit to delete, and gives a freed slot another key only after an RCU
 * grace period; readers load the bitmap before the key.
 */
#ifndef NFO_STORE_H
#define NFO_STORE_H

#ifndef __BPF__
#include <linux/types.h>
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define NFO_BUCKET_SIZE 64
#define NFO_BUCKET_DATA 56 /* after occ and pad */
#define NFO_BUCKET_MAX_SLOTS 14
#define NFO_TABLE_MAX_KEY 16 /* bytes; longer keys go into nfo_setkeys */
#define NFO_TABLE_MAX_KW (NFO_TABLE_MAX_KEY / 4)

struct nfo_bucket {
	__u32 occ; /* bit i: slot i holds a key */
	__u32 pad;
	union {
		__u8 data[NFO_BUCKET_DATA];
		__u32 w[NFO_BUCKET_DATA / 4];
		__u64 until[NFO_BUCKET_DATA / 8];
	};
} __attribute__((aligned(8)));

/* Entry 0 of a table. */
struct nfo_table_hdr {
	__u32 mask;    /* buckets - 1, a power of two less one */
	__u32 seed;
	__u32 kw;      /* 32-bit words of a key */
	__u32 nslots;  /* slots per bucket */
	__u32 has_exp; /* slots carry an expiry */
	__u32 pad[11];
};

/* clang unrolls (the BPF programs); gcc builds the loader's copy as it is */
#ifdef __clang__
#define NFO_STORE_UNROLL _Pragma("unroll")
#else
#define NFO_STORE_UNROLL
#endif

#define NFO_STORE_BARRIER() __asm__ __volatile__("" ::: "memory")
/* The compiler forgets what it knew of x: a bounds check on x is then the
 * one the verifier sees on the access (no copy made before the check). */
#define NFO_STORE_OPAQUE(x) __asm__ __volatile__("" : "+r"(x))

/* Slots per bucket for keys of kw words. */
static __always_inline __u32 nfo_table_nslots(__u32 kw, __u32 has_exp)
{
	__u32 n = NFO_BUCKET_DATA / ((has_exp ? 8 : 0) + 4 * kw);

	return n > NFO_BUCKET_MAX_SLOTS ? NFO_BUCKET_MAX_SLOTS : n;
}

static __always_inline __u32 nfo_table_mix(__u32 h)
{
	h ^= h >> 16;
	h *= 0x7feb352dU;
	h ^= h >> 15;
	h *= 0x846ca68bU;
	h ^= h >> 16;
	return h;
}

static __always_inline __u32 nfo_table_hash(const __u32 *key, __u32 kw, __u32 seed)
{
	__u32 h = seed, i;

	for (i = 0; i < NFO_TABLE_MAX_KW; i++) {
		if (i >= kw)
			break;
		h = nfo_table_mix(h ^ key[i]) + i;
	}
	return h;
}

/* The two candidate entries (1 + bucket) of a key's hash. */
static __always_inline __u32 nfo_table_b1(__u32 h, __u32 mask)
{
	return 1 + (h & mask);
}

static __always_inline __u32 nfo_table_b2(__u32 h, __u32 mask)
{
	return 1 + (nfo_table_mix(h ^ 0x9e3779b9U) & mask);
}

/* Index in w of word j of slot i's key. */
static __always_inline __u32 nfo_table_key_word(const struct nfo_table_hdr *h, __u32 i, __u32 j)
{
	return (h->has_exp ? h->nslots * 2 : 0) + i * h->kw + j;
}

/* The index of the lowest bit set in x (x != 0): no loop, no table. */
static __always_inline int nfo_lowest_bit(__u32 x)
{
	int i = 0;

	if (!(x & 0xffff)) {
		i += 16;
		x >>= 16;
	}
	if (!(x & 0xff)) {
		i += 8;
		x >>= 8;
	}
	if (!(x & 0xf)) {
		i += 4;
		x >>= 4;
	}
	if (!(x & 3)) {
		i += 2;
		x >>= 2;
	}
	return x & 1 ? i : i + 1;
}

/*
 * nfo_bucket_find() for one-word keys (ports, IPv4 addresses: most sets):
 * every slot's word compared in an unrolled sequence without branches, then
 * masked with the bitmap read before them. A loop over the slots, with its
 * bound and bitmap tests, cost more than the rest of the lookup.
 */
static __always_inline int nfo_bucket_find1(const struct nfo_bucket *b, __u32 occ, __u32 nslots,
					    __u32 base, __u32 k0)
{
	__u32 hit = 0;
	__u64 t;
	int i;

	if (!occ)
		return -1;
	/* Without a branch (14 of them would make 2^14 paths for the
	 * verifier): bit 63 of d - 1 is set only for d == 0. Without expiries
	 * the keys start at word 0: constant offsets, no bounds check. */
	if (!base) {
		NFO_STORE_UNROLL
		for (i = 0; i < NFO_BUCKET_MAX_SLOTS; i++) {
			t = (__u64)(b->w[i] ^ k0) - 1;
			NFO_STORE_OPAQUE(t);
			hit |= (__u32)(t >> 63) << i;
		}
	} else {
		NFO_STORE_UNROLL
		for (i = 0; i < NFO_BUCKET_MAX_SLOTS; i++) {
			__u32 x = base + i;

			NFO_STORE_OPAQUE(x);
			if (x >= NFO_BUCKET_DATA / 4)
				break;
			t = (__u64)(b->w[x] ^ k0) - 1;
			NFO_STORE_OPAQUE(t);
			hit |= (__u32)(t >> 63) << i;
		}
	}
	hit &= occ & (nslots < NFO_BUCKET_MAX_SLOTS ? (1U << nslots) - 1 :
						      (1U << NFO_BUCKET_MAX_SLOTS) - 1);
	return hit ? nfo_lowest_bit(hit) : -1;
}

/*
 * The slot of b that holds key (kw words), -1: none. The bitmap is read once,
 * before the keys: a slot whose bit is set holds a whole key (see above).
 */
static __always_inline int nfo_bucket_find(const struct nfo_bucket *b, const struct nfo_table_hdr *h,
					   const __u32 *key)
{
	__u32 occ = *(volatile const __u32 *)&b->occ;
	__u32 kw = h->kw, nslots = h->nslots, base = h->has_exp ? h->nslots * 2 : 0, i, j;

	NFO_STORE_BARRIER();
	if (kw == 1)
		return nfo_bucket_find1(b, occ, nslots, base, key[0]);
	for (i = 0; i < NFO_BUCKET_MAX_SLOTS; i++) {
		int match = 1;

		if (i >= nslots)
			break;
		if (!(occ & (1U << i)))
			continue;
		for (j = 0; j < NFO_TABLE_MAX_KW; j++) {
			__u32 x = base + i * kw + j;

			if (j >= kw)
				break;
			NFO_STORE_OPAQUE(x);
			if (x >= NFO_BUCKET_DATA / 4)
				return -1;
			if (b->w[x] != key[j]) {
				match = 0;
				break;
			}
		}
		if (match)
			return (int)i;
	}
	return -1;
}

/* The expiry of slot i (nfo_set_until), 0 in a table without expiries. */
static __always_inline __u64 nfo_bucket_until(const struct nfo_bucket *b, const struct nfo_table_hdr *h,
					      int i)
{
	__u32 x = (__u32)i;

	NFO_STORE_OPAQUE(x);
	if (!h->has_exp || x >= NFO_BUCKET_DATA / 8)
		return 0;
	/* one aligned load: the loader updates an expiry with one store */
	return *(volatile const __u64 *)&b->until[x];
}

#endif
