/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Element changes of named sets, applied to the model from the
 * notifications themselves (netlink/nft.h struct nfo_nft_elem), or from the
 * set read again: the model's keys (exact sets) or bounds and elems
 * (interval sets) change, and the result says what the fast path's maps must
 * gain and lose. Pure: no kernel, no BPF (encode.c turns a change into map
 * entries, loader.c writes them).
 */
#ifndef NFO_SETDELTA_H
#define NFO_SETDELTA_H

#include <stddef.h>
#include <stdint.h>

#include "ruleset.h"

struct nfo_nft_elem;

/* What the elements of one set gained and lost. */
struct nfo_set_change {
	/* exact sets: keys of key_len bytes, sorted by memcmp */
	uint8_t *add_keys;
	size_t nadd_keys;
	uint8_t *del_keys;
	size_t ndel_keys;
	/* interval sets: maximal ranges of elems that appeared and that
	 * disappeared (ranges present, unchanged, in both are in neither) */
	struct nfo_ival *add_iv;
	size_t nadd_iv;
	struct nfo_ival *del_iv;
	size_t ndel_iv;
};

void nfo_set_change_clear(struct nfo_set_change *c);
static inline size_t nfo_set_change_size(const struct nfo_set_change *c)
{
	return c->nadd_keys + c->ndel_keys + c->nadd_iv + c->ndel_iv;
}

/*
 * Applies element operations, in the order nftables notified them (one
 * transaction or several in a row), to usable set s: per key the last
 * operation wins, and only keys whose presence changes are in ret.
 * -EINVAL: an operation does not fit the set (key length, expiry, a set the
 * model cannot follow this way): read the set again instead. -ENOMEM.
 * On failure s is unchanged.
 */
int nfo_set_apply_ops(struct nfo_set *s, const struct nfo_nft_elem *ops, size_t nops,
		      struct nfo_set_change *ret);

/*
 * s takes the elements of fresh (the same set read again, e.g. with
 * nfo_set_reload); ret says what changed. fresh is left empty.
 */
int nfo_set_replace(struct nfo_set *s, struct nfo_set *fresh, struct nfo_set_change *ret);

/* Brings s->elems up to date with s->keys after nfo_set_apply_ops(). */
int nfo_set_refresh_elems(struct nfo_set *s);

#endif
