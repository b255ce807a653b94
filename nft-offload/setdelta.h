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

#include <stdbool.h>
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
	/* per add_keys, the kernel's expiry (nfo_elem.expires; 0: never), a
	 * lower bound; NULL: none expires (nfo_set_add_read()) */
	uint64_t *add_expires;
	/* keys held before and after whose expiry changed (a re-add with
	 * another timeout), sorted: the expiry now and before; with
	 * nfo_set_apply_expiring() and nfo_set_replace() only */
	uint8_t *upd_keys;
	uint64_t *upd_expires;
	uint64_t *upd_old;
	size_t nupd_keys;
	/* interval sets: maximal ranges of elems that appeared and that
	 * disappeared (ranges present, unchanged, in both are in neither) */
	struct nfo_ival *add_iv;
	size_t nadd_iv;
	struct nfo_ival *del_iv;
	size_t ndel_iv;
	/* interval sets whose elements expire (struct nfo_tival), from
	 * nfo_set_replace(): ranges that appeared, that disappeared (one whose
	 * bounds changed is both), and ranges held before and after with the
	 * same bounds whose expiries changed (a re-add with another timeout, a
	 * range before it added or deleted: its start key's expiry): now and
	 * before, sorted by lo. add_iv and del_iv stay empty for these sets. */
	struct nfo_tival *add_tiv;
	size_t nadd_tiv;
	struct nfo_tival *del_tiv;
	size_t ndel_tiv;
	struct nfo_tival *upd_tiv;
	struct nfo_tival *upd_tiv_old;
	size_t nupd_tiv;
};

void nfo_set_change_clear(struct nfo_set_change *c);
static inline size_t nfo_set_change_size(const struct nfo_set_change *c)
{
	return c->nadd_keys + c->ndel_keys + c->nupd_keys + c->nadd_iv + c->ndel_iv +
	       c->nadd_tiv + c->ndel_tiv + c->nupd_tiv;
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
 * The element operations of a set whose elements expire, netted: per key
 * the last operation decides. ret_keys (key_len bytes each, sorted) and
 * ret_add (whether that last operation adds): the keys an add leaves
 * present must be asked for (nfo_nft_get_elems()) before
 * nfo_set_apply_expiring(). -EINVAL: an operation does not fit (key length,
 * an interval end). nops 0: *ret_n 0.
 */
int nfo_set_net_ops(const struct nfo_set *s, const struct nfo_nft_elem *ops, size_t nops,
		    uint8_t **ret_keys, bool **ret_add, size_t *ret_n);

/*
 * Applies to exact set s (elements that expire) the state of n keys
 * (sorted, distinct) as the kernel holds them now: present[i] with expiry
 * expires[i] (a lower bound, nfo_elem_expiry; 0: never), or absent. ret:
 * the keys that appeared (with add_expires), disappeared, and those held
 * whose expiry changed (upd_*). O(n log s): keys added and deleted go to
 * s's pending changes with their expiries (folded a slice at a time), an
 * expiry changes in place.
 */
int nfo_set_apply_expiring(struct nfo_set *s, const uint8_t *keys, const bool *present,
			   const uint64_t *expires, size_t n, struct nfo_set_change *ret);

/*
 * Adds keys a dump of exact set s read (nkeys of s->key_len bytes, any
 * order), each with its expiry (a lower bound of the kernel's, 0: never;
 * expires NULL: none expires), to s: for a set whose elements expire,
 * which nfo_set_apply_ops() refuses. Keys s holds already keep theirs (the
 * caller reads them again only while no notification changed the set, so
 * either reading is a lower bound). ret: the keys added, with add_expires.
 * O(nkeys log(nkeys + s's elements)): the keys added go to s's pending
 * changes with their expiries, as with nfo_set_apply_expiring().
 */
int nfo_set_add_read(struct nfo_set *s, const uint8_t *keys, const uint64_t *expires,
		     size_t nkeys, struct nfo_set_change *ret);

/*
 * s takes the elements of fresh (the same set read again, e.g. with
 * nfo_set_reload); ret says what changed (for exact sets whose elements
 * expire, also the keys whose expiry changed: upd_*; for interval sets
 * whose elements expire, the ranges with their expiries: *_tiv). fresh is
 * left empty.
 */
int nfo_set_replace(struct nfo_set *s, struct nfo_set *fresh, struct nfo_set_change *ret);

/* Whether exact set s holds key (with what nfo_set_apply_ops() and the
 * others left pending), and then its expiry (0: never) in ret_expires
 * (may be NULL). O(log s). */
bool nfo_set_has_key(const struct nfo_set *s, const uint8_t *key, uint64_t *ret_expires);

/* Folds what nfo_set_apply_ops() and the others left pending into s->keys
 * (and s->expires), all at once, and brings s->elems up to date: before
 * anything reads them (planning, encoding). */
int nfo_set_refresh_elems(struct nfo_set *s);

/* ---- sorted arrays with pending changes (struct nfo_sorted_pending) ---- */

void nfo_sorted_pending_free(struct nfo_sorted_pending *p);
/* The content (base with p) gained add and lost del: sorted, esz bytes
 * each, add not in the content, del in it. */
int nfo_sorted_pending_update(struct nfo_sorted_pending *p, size_t esz, const uint8_t *add,
			      size_t nadd, const uint8_t *del, size_t ndel);
/* Whether key is in the content of (base, n) with p. */
bool nfo_sorted_has(const uint8_t *base, size_t n, const struct nfo_sorted_pending *p, size_t esz,
		    const uint8_t *key);
/* Folds p into *base once it is larger than a sixteenth of it (or with
 * force): O(n) then, so O(change) amortized per update. */
int nfo_sorted_pending_fold(uint8_t **base, size_t *n, struct nfo_sorted_pending *p, size_t esz,
			    bool force);

#endif
