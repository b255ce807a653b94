/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Sets of values of one packet field, as sorted, disjoint, non-adjacent
 * inclusive intervals of unsigned 128-bit numbers. Field bytes are read as a
 * big-endian number, so "lower" means what nftables' memcmp-based cmp and
 * range expressions mean by it.
 */
#ifndef NFO_VSET_H
#define NFO_VSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef unsigned __int128 nfo_u128;

struct nfo_ival {
	nfo_u128 lo;
	nfo_u128 hi;
};

struct nfo_vset {
	struct nfo_ival *iv;
	size_t n;
	size_t cap;
};

/* The largest value of a field of width bits (1..128). */
nfo_u128 nfo_u128_max(unsigned width);
/* Big-endian bytes to number, and back. */
nfo_u128 nfo_u128_from_be(const uint8_t *b, size_t len);
void nfo_u128_to_be(nfo_u128 v, uint8_t *b, size_t len);

void nfo_vset_free(struct nfo_vset *s);
void nfo_vset_clear(struct nfo_vset *s);
/* Adds [lo, hi] without normalising; call nfo_vset_normalize after. */
int nfo_vset_push(struct nfo_vset *s, nfo_u128 lo, nfo_u128 hi);
void nfo_vset_normalize(struct nfo_vset *s);
int nfo_vset_add(struct nfo_vset *s, nfo_u128 lo, nfo_u128 hi);
int nfo_vset_copy(struct nfo_vset *dst, const struct nfo_vset *src);
/* s := [0, max] \ s */
int nfo_vset_complement(struct nfo_vset *s, nfo_u128 max);
/* a := a intersected with b */
int nfo_vset_intersect(struct nfo_vset *a, const struct nfo_vset *b);
bool nfo_vset_contains(const struct nfo_vset *s, nfo_u128 v);
bool nfo_vset_equal(const struct nfo_vset *a, const struct nfo_vset *b);
bool nfo_vset_is_full(const struct nfo_vset *s, nfo_u128 max);

#endif
