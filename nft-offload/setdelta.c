// SPDX-License-Identifier: GPL-2.0-only
/*
 * Element notifications applied to the model. nf_tables notifies every
 * element a transaction adds or deletes, one message each, in command order
 * and without netting (a flush is one DELSETELEM per element, an interval a
 * start and an end element). So the last operation on a key decides, and
 * what the maps must change is the difference between that and what the
 * model held: O(operations log operations) for exact sets, plus one pass
 * over the set's bounds for interval sets (their ranges are derived from
 * neighbouring elements).
 */
#include <errno.h>
#include <stdint.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter/nf_tables.h>

#include "netlink/nft.h"
#include "setdelta.h"
#include "common/util.h"

void nfo_set_change_clear(struct nfo_set_change *c)
{
	free(c->add_keys);
	free(c->del_keys);
	free(c->add_expires);
	free(c->upd_keys);
	free(c->upd_expires);
	free(c->upd_old);
	free(c->add_iv);
	free(c->del_iv);
	free(c->add_tiv);
	free(c->del_tiv);
	free(c->upd_tiv);
	free(c->upd_tiv_old);
	*c = (struct nfo_set_change){};
}

/* ---- exact sets ------------------------------------------------------------ */

struct xop {
	const uint8_t *key;
	size_t idx; /* arrival order */
	bool present;
};

static int cmp_xop(const void *x, const void *y, void *len)
{
	const struct xop *a = x, *b = y;
	int c = memcmp(a->key, b->key, *(const uint32_t *)len);

	if (c)
		return c;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Pending changes of s's keys, and their lookups (below). */
static int pending_update(struct nfo_set *s, const uint8_t *add, const uint64_t *add_exp,
			  size_t nadd, const uint8_t *del, size_t ndel);
static int pending_fold(struct nfo_set *s, bool force, size_t change);
static int expiring_begin(struct nfo_set *s, bool expiring, bool *ret_fresh);
static void expiring_undo(struct nfo_set *s, bool fresh);
static void set_key_expiry(struct nfo_set *s, const uint8_t *key, uint64_t expires);
static void set_content_expiry(struct nfo_set *s, const uint8_t *key, uint64_t expires);
static void fold_step(struct nfo_set *s, size_t budget);

static int apply_exact(struct nfo_set *s, const struct nfo_nft_elem *ops, size_t nops,
		       struct nfo_set_change *c)
{
	_cleanup_free_ struct xop *x = malloc((nops ? nops : 1) * sizeof(*x));
	uint32_t len = s->key_len;
	int r;

	if (!x)
		return -ENOMEM;
	for (size_t i = 0; i < nops; i++) {
		if (ops[i].klen != len || ops[i].kelen || ops[i].end)
			return -EINVAL;
		x[i] = (struct xop){ .key = ops[i].key, .idx = i, .present = !ops[i].del };
	}
	qsort_r(x, nops, sizeof(*x), cmp_xop, &len);
	c->add_keys = malloc((nops ? nops : 1) * len);
	c->del_keys = malloc((nops ? nops : 1) * len);
	if (!c->add_keys || !c->del_keys)
		return -ENOMEM;
	for (size_t i = 0; i < nops; i++) {
		bool held;

		if (i + 1 < nops && !memcmp(x[i].key, x[i + 1].key, len))
			continue; /* a later operation on the same key decides */
		held = nfo_set_has_key(s, x[i].key, NULL);
		if (x[i].present && !held)
			memcpy(c->add_keys + c->nadd_keys++ * len, x[i].key, len);
		else if (!x[i].present && held)
			memcpy(c->del_keys + c->ndel_keys++ * len, x[i].key, len);
	}
	if (!c->nadd_keys && !c->ndel_keys)
		return 0;
	/* (a set holding expiries from a dump: the added keys never expire) */
	r = expiring_begin(s, false, &(bool){ false });
	/* the keys array is folded later, amortized: O(change) here */
	if (r == 0)
		r = pending_update(s, c->add_keys, NULL, c->nadd_keys, c->del_keys, c->ndel_keys);
	if (r < 0)
		return r;
	/* a fold that fails is tried again with the next change */
	(void)pending_fold(s, false, nfo_set_change_size(c));
	/* single fields also have elems; rebuilt when a plan needs them */
	s->elems_stale = s->key_len <= 16;
	return 0;
}

/* ---- interval sets ---------------------------------------------------------- */

struct bop {
	struct nfo_bound b;
	size_t idx;
	bool present;
};

static int cmp_bound(const struct nfo_bound *a, const struct nfo_bound *b)
{
	if (a->v != b->v)
		return a->v < b->v ? -1 : 1;
	/* at equal values, an interval's end comes before the next start */
	return (int)b->end - (int)a->end;
}

static int cmp_bop(const void *x, const void *y)
{
	const struct bop *a = x, *b = y;
	int c = cmp_bound(&a->b, &b->b);

	if (c)
		return c;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static bool bounds_has(const struct nfo_set *s, const struct nfo_bound *b)
{
	size_t lo = 0, hi = s->nbounds;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_bound(&s->bounds[mid], b);

		if (!c)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/*
 * Ranges of a set's bounds, as import.c reads a dump: a lookup takes the
 * greatest element not above the key and matches if it is a start, so a
 * start covers up to the next element of either kind and the last start runs
 * to the maximum.
 */
static int bounds_to_elems(const struct nfo_bound *b, size_t n, nfo_u128 max, struct nfo_vset *ret)
{
	struct nfo_vset v = {};

	for (size_t i = 0; i < n; i++) {
		nfo_u128 hi;

		if (b[i].end)
			continue;
		hi = i + 1 < n ? b[i + 1].v - 1 : max;
		if (nfo_vset_push(&v, b[i].v, hi) < 0) {
			nfo_vset_free(&v);
			return -ENOMEM;
		}
	}
	nfo_vset_normalize(&v);
	*ret = v;
	return 0;
}

/* Ranges of old not in new (exactly), and of new not in old. */
static int diff_ranges(const struct nfo_vset *old, const struct nfo_vset *new,
		       struct nfo_set_change *c)
{
	size_t i = 0, j = 0;

	c->del_iv = malloc((old->n ? old->n : 1) * sizeof(*c->del_iv));
	c->add_iv = malloc((new->n ? new->n : 1) * sizeof(*c->add_iv));
	if (!c->del_iv || !c->add_iv)
		return -ENOMEM;
	while (i < old->n || j < new->n) {
		if (j >= new->n || (i < old->n && old->iv[i].lo < new->iv[j].lo)) {
			c->del_iv[c->ndel_iv++] = old->iv[i++];
		} else if (i >= old->n || new->iv[j].lo < old->iv[i].lo) {
			c->add_iv[c->nadd_iv++] = new->iv[j++];
		} else {
			if (old->iv[i].hi != new->iv[j].hi) {
				c->del_iv[c->ndel_iv++] = old->iv[i];
				c->add_iv[c->nadd_iv++] = new->iv[j];
			}
			i++;
			j++;
		}
	}
	return 0;
}

/*
 * Ranges of an interval set whose elements expire (never merged: each is one
 * start element's) of old not in new and of new not in old, by bounds, and
 * those in both whose expiries differ: the reading now is a lower bound of
 * the expiry a re-add gave the start, and the start key's own expiry
 * (lo_expires) follows the end element of the range before it, which an
 * add or delete next to it changes (import.c, collect_timed).
 */
static int diff_tivals(const struct nfo_tival *old, size_t nold, const struct nfo_tival *new,
		       size_t nnew, struct nfo_set_change *c)
{
	size_t i = 0, j = 0, m = nold < nnew ? nold : nnew;

	c->del_tiv = malloc((nold ? nold : 1) * sizeof(*c->del_tiv));
	c->add_tiv = malloc((nnew ? nnew : 1) * sizeof(*c->add_tiv));
	c->upd_tiv = malloc((m ? m : 1) * sizeof(*c->upd_tiv));
	c->upd_tiv_old = malloc((m ? m : 1) * sizeof(*c->upd_tiv_old));
	if (!c->del_tiv || !c->add_tiv || !c->upd_tiv || !c->upd_tiv_old)
		return -ENOMEM;
	while (i < nold || j < nnew) {
		if (j >= nnew || (i < nold && old[i].lo < new[j].lo)) {
			c->del_tiv[c->ndel_tiv++] = old[i++];
		} else if (i >= nold || new[j].lo < old[i].lo) {
			c->add_tiv[c->nadd_tiv++] = new[j++];
		} else {
			if (old[i].hi != new[j].hi) {
				c->del_tiv[c->ndel_tiv++] = old[i];
				c->add_tiv[c->nadd_tiv++] = new[j];
			} else if (old[i].expires != new[j].expires ||
				   old[i].lo_expires != new[j].lo_expires) {
				c->upd_tiv_old[c->nupd_tiv] = old[i];
				c->upd_tiv[c->nupd_tiv++] = new[j];
			}
			i++;
			j++;
		}
	}
	return 0;
}

static int apply_interval(struct nfo_set *s, const struct nfo_nft_elem *ops, size_t nops,
			  struct nfo_set_change *c)
{
	_cleanup_free_ struct bop *x = malloc((nops ? nops : 1) * sizeof(*x));
	_cleanup_free_ struct nfo_bound *add = NULL, *del = NULL;
	struct nfo_bound *nb = NULL;
	struct nfo_vset elems = {};
	size_t nadd = 0, ndel = 0, n = 0, i = 0, a = 0, d = 0;
	int r;

	if (!x)
		return -ENOMEM;
	for (size_t k = 0; k < nops; k++) {
		if (ops[k].klen != s->key_len || ops[k].kelen)
			return -EINVAL;
		x[k] = (struct bop){ .b = { .v = nfo_u128_from_be(ops[k].key, ops[k].klen),
					    .end = ops[k].end },
				     .idx = k, .present = !ops[k].del };
	}
	qsort(x, nops, sizeof(*x), cmp_bop);
	add = malloc((nops ? nops : 1) * sizeof(*add));
	del = malloc((nops ? nops : 1) * sizeof(*del));
	if (!add || !del)
		return -ENOMEM;
	for (size_t k = 0; k < nops; k++) {
		bool held;

		if (k + 1 < nops && !cmp_bound(&x[k].b, &x[k + 1].b))
			continue;
		held = bounds_has(s, &x[k].b);
		if (x[k].present && !held)
			add[nadd++] = x[k].b;
		else if (!x[k].present && held)
			del[ndel++] = x[k].b;
	}
	if (!nadd && !ndel)
		return 0;
	nb = malloc((s->nbounds + nadd) * sizeof(*nb) + 1);
	if (!nb)
		return -ENOMEM;
	while (i < s->nbounds || a < nadd) {
		if (i < s->nbounds && d < ndel && !cmp_bound(&s->bounds[i], &del[d])) {
			i++;
			d++;
		} else if (a < nadd && (i >= s->nbounds || cmp_bound(&add[a], &s->bounds[i]) < 0)) {
			nb[n++] = add[a++];
		} else {
			nb[n++] = s->bounds[i++];
		}
	}
	r = bounds_to_elems(nb, n, nfo_u128_max(s->key_len * 8), &elems);
	if (r == 0)
		r = diff_ranges(&s->elems, &elems, c);
	if (r < 0) {
		free(nb);
		nfo_vset_free(&elems);
		return r;
	}
	free(s->bounds);
	s->bounds = nb;
	s->nbounds = n;
	nfo_vset_free(&s->elems);
	s->elems = elems;
	return 0;
}

/* ---- entry points ------------------------------------------------------------- */

int nfo_set_apply_ops(struct nfo_set *s, const struct nfo_nft_elem *ops, size_t nops,
		      struct nfo_set_change *ret)
{
	struct nfo_set_change c = {};
	int r;

	/* elements with expiry, maps (data), sets the model holds no keys of */
	if (!s->usable || s->is_map || (s->flags & (NFT_SET_TIMEOUT | NFT_SET_EVAL)))
		return -EINVAL;
	for (size_t i = 0; i < nops; i++)
		if (ops[i].has_timeout || ops[i].has_expiration)
			return -EINVAL;
	if (s->interval)
		r = s->key_len <= 16 ? apply_interval(s, ops, nops, &c) : -EINVAL;
	else
		r = apply_exact(s, ops, nops, &c);
	if (r < 0) {
		nfo_set_change_clear(&c);
		return r;
	}
	*ret = c;
	return 0;
}

/* ---- exact sets whose elements expire ------------------------------------------ */

int nfo_set_net_ops(const struct nfo_set *s, const struct nfo_nft_elem *ops, size_t nops,
		    uint8_t **ret_keys, bool **ret_add, size_t *ret_n)
{
	_cleanup_free_ struct xop *x = malloc((nops ? nops : 1) * sizeof(*x));
	uint32_t len = s->key_len;
	uint8_t *keys;
	bool *add;
	size_t n = 0;

	if (!x)
		return -ENOMEM;
	if (!s->usable || s->is_map || s->interval || (s->flags & NFT_SET_EVAL) || !len)
		return -EINVAL;
	for (size_t i = 0; i < nops; i++) {
		if (ops[i].klen != len || ops[i].kelen || ops[i].end)
			return -EINVAL;
		x[i] = (struct xop){ .key = ops[i].key, .idx = i, .present = !ops[i].del };
	}
	qsort_r(x, nops, sizeof(*x), cmp_xop, &len);
	keys = malloc((nops ? nops : 1) * len);
	add = malloc((nops ? nops : 1) * sizeof(*add));
	if (!keys || !add) {
		free(keys);
		free(add);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nops; i++) {
		if (i + 1 < nops && !memcmp(x[i].key, x[i + 1].key, len))
			continue; /* a later operation on the same key decides */
		memcpy(keys + n * len, x[i].key, len);
		add[n++] = x[i].present;
	}
	*ret_keys = keys;
	*ret_add = add;
	*ret_n = n;
	return 0;
}

int nfo_set_apply_expiring(struct nfo_set *s, const uint8_t *keys, const bool *present,
			   const uint64_t *expires, size_t n, struct nfo_set_change *ret)
{
	struct nfo_set_change c = {};
	size_t len = s->key_len;
	bool expiring = s->expires != NULL, fresh = false;
	int r;

	if (!s->usable || s->is_map || s->interval || (s->flags & NFT_SET_EVAL) || !len)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		expiring |= present[i] && expires[i];
	c.add_keys = malloc((n ? n : 1) * len);
	c.del_keys = malloc((n ? n : 1) * len);
	c.upd_keys = malloc((n ? n : 1) * len);
	c.add_expires = malloc((n ? n : 1) * sizeof(*c.add_expires));
	c.upd_expires = malloc((n ? n : 1) * sizeof(*c.upd_expires));
	c.upd_old = malloc((n ? n : 1) * sizeof(*c.upd_old));
	if (!c.add_keys || !c.del_keys || !c.upd_keys || !c.add_expires || !c.upd_expires ||
	    !c.upd_old) {
		r = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		const uint8_t *k = keys + i * len;
		uint64_t had = 0, want = present[i] ? expires[i] : 0;
		bool held = nfo_set_has_key(s, k, &had);

		if (present[i] && !held) {
			memcpy(c.add_keys + c.nadd_keys * len, k, len);
			c.add_expires[c.nadd_keys++] = want;
		} else if (!present[i] && held) {
			memcpy(c.del_keys + c.ndel_keys++ * len, k, len);
		} else if (present[i] && had != want) {
			memcpy(c.upd_keys + c.nupd_keys * len, k, len);
			c.upd_expires[c.nupd_keys] = want;
			c.upd_old[c.nupd_keys++] = had;
		}
	}
	/* the first element that expires: the others never do */
	r = expiring_begin(s, expiring, &fresh);
	/* the keys and their expiries go to the pending changes, folded
	 * later, amortized: O(change log set) here */
	if (r == 0 && (c.nadd_keys || c.ndel_keys))
		r = pending_update(s, c.add_keys, s->expires ? c.add_expires : NULL, c.nadd_keys,
				   c.del_keys, c.ndel_keys);
	if (r < 0) {
		expiring_undo(s, fresh);
		goto fail;
	}
	/* nothing fails from here on: a held key's expiry changes in place */
	for (size_t i = 0; i < c.nupd_keys; i++)
		set_key_expiry(s, c.upd_keys + i * len, c.upd_expires[i]);
	if (c.nadd_keys || c.ndel_keys) {
		/* a fold that fails is tried again with the next change */
		(void)pending_fold(s, false, c.nadd_keys + c.ndel_keys);
		/* single fields also have elems; rebuilt when a plan needs them */
		if (s->key_len <= 16)
			s->elems_stale = true;
	}
	if (!expiring) {
		/* nothing expires: entries carry no expiry, as from a dump */
		free(c.add_expires);
		c.add_expires = NULL;
	}
	*ret = c;
	return 0;
fail:
	nfo_set_change_clear(&c);
	return r;
}

struct rop {
	const uint8_t *key;
	uint64_t expires;
};

static int cmp_rop(const void *a, const void *b, void *len)
{
	return memcmp(((const struct rop *)a)->key, ((const struct rop *)b)->key, *(size_t *)len);
}

int nfo_set_add_read(struct nfo_set *s, const uint8_t *keys, const uint64_t *expires,
		     size_t nkeys, struct nfo_set_change *ret)
{
	struct nfo_set_change c = {};
	_cleanup_free_ struct rop *x = NULL;
	size_t len = s->key_len, nadd = 0;
	bool expiring = s->expires != NULL, fresh = false;
	int r;

	if (!s->usable || s->is_map || s->interval || (s->flags & NFT_SET_EVAL) || !len)
		return -EINVAL;
	*ret = c;
	if (!nkeys)
		return 0;
	x = malloc(nkeys * sizeof(*x));
	if (!x)
		return -ENOMEM;
	for (size_t k = 0; k < nkeys; k++) {
		x[k] = (struct rop){ .key = keys + k * len, .expires = expires ? expires[k] : 0 };
		expiring |= x[k].expires != 0;
	}
	qsort_r(x, nkeys, sizeof(*x), cmp_rop, &len);
	c.add_keys = malloc(nkeys * len);
	c.add_expires = expiring ? malloc(nkeys * sizeof(*c.add_expires)) : NULL;
	if (!c.add_keys || (expiring && !c.add_expires)) {
		r = -ENOMEM;
		goto fail;
	}
	for (size_t k = 0; k < nkeys; k++) {
		/* read twice, or held: keeps the expiry it has */
		if ((k && !memcmp(x[k - 1].key, x[k].key, len)) || nfo_set_has_key(s, x[k].key, NULL))
			continue;
		memcpy(c.add_keys + nadd * len, x[k].key, len);
		if (c.add_expires)
			c.add_expires[nadd] = x[k].expires;
		nadd++;
	}
	c.nadd_keys = nadd;
	r = expiring_begin(s, expiring, &fresh);
	/* folded later, amortized: O(read log set) here */
	if (r == 0 && nadd)
		r = pending_update(s, c.add_keys, c.add_expires, nadd, NULL, 0);
	if (r < 0) {
		expiring_undo(s, fresh);
		goto fail;
	}
	if (nadd) {
		/* a fold that fails is tried again with the next change */
		(void)pending_fold(s, false, nadd);
		/* single fields also have elems; rebuilt when a plan needs them */
		if (s->key_len <= 16)
			s->elems_stale = true;
	}
	*ret = c;
	return 0;
fail:
	nfo_set_change_clear(&c);
	return r;
}

static int diff_keys(const struct nfo_set *old, const struct nfo_set *new, struct nfo_set_change *c)
{
	size_t len = old->key_len, i = 0, j = 0;
	bool expiring = old->expires || new->expires;

	c->del_keys = malloc((old->nkeys ? old->nkeys : 1) * len);
	c->add_keys = malloc((new->nkeys ? new->nkeys : 1) * len);
	if (!c->del_keys || !c->add_keys)
		return -ENOMEM;
	if (expiring) {
		size_t m = old->nkeys < new->nkeys ? old->nkeys : new->nkeys;

		c->add_expires = malloc((new->nkeys ? new->nkeys : 1) * sizeof(*c->add_expires));
		c->upd_keys = malloc((m ? m : 1) * len);
		c->upd_expires = malloc((m ? m : 1) * sizeof(*c->upd_expires));
		c->upd_old = malloc((m ? m : 1) * sizeof(*c->upd_old));
		if (!c->add_expires || !c->upd_keys || !c->upd_expires || !c->upd_old)
			return -ENOMEM;
	}
	while (i < old->nkeys || j < new->nkeys) {
		int cmp = i >= old->nkeys ? 1 : j >= new->nkeys ? -1 :
			  memcmp(old->keys + i * len, new->keys + j * len, len);
		uint64_t oe = old->expires && cmp <= 0 ? old->expires[i] : 0;
		uint64_t ne = new->expires && cmp >= 0 ? new->expires[j] : 0;

		if (cmp < 0) {
			memcpy(c->del_keys + c->ndel_keys++ * len, old->keys + i++ * len, len);
		} else if (cmp > 0) {
			if (expiring)
				c->add_expires[c->nadd_keys] = ne;
			memcpy(c->add_keys + c->nadd_keys++ * len, new->keys + j++ * len, len);
		} else {
			/* the reading now is a lower bound of the expiry a
			 * re-add (another timeout) gave it */
			if (expiring && oe != ne) {
				memcpy(c->upd_keys + c->nupd_keys * len, new->keys + j * len, len);
				c->upd_expires[c->nupd_keys] = ne;
				c->upd_old[c->nupd_keys++] = oe;
			}
			i++, j++;
		}
	}
	return 0;
}

int nfo_set_replace(struct nfo_set *s, struct nfo_set *fresh, struct nfo_set_change *ret)
{
	struct nfo_set_change c = {};
	int r;

	if (s->key_len != fresh->key_len || s->interval != fresh->interval)
		return -EINVAL;
	r = nfo_set_refresh_elems(s);
	if (r == 0 && s->interval && (s->flags & NFT_SET_TIMEOUT))
		r = diff_tivals(s->tivals, s->ntivals, fresh->tivals, fresh->ntivals, &c);
	else if (r == 0)
		r = s->interval ? diff_ranges(&s->elems, &fresh->elems, &c) : diff_keys(s, fresh, &c);
	if (r < 0) {
		nfo_set_change_clear(&c);
		return r;
	}
	/* folded by nfo_set_refresh_elems(): the allocations go too (the
	 * pending expiries follow fresh's) */
	nfo_set_pending_free(s);
	free(s->keys);
	s->keys = TAKE_PTR(fresh->keys);
	s->nkeys = fresh->nkeys;
	fresh->nkeys = 0;
	free(s->expires);
	s->expires = TAKE_PTR(fresh->expires);
	free(s->bounds);
	s->bounds = TAKE_PTR(fresh->bounds);
	s->nbounds = fresh->nbounds;
	fresh->nbounds = 0;
	free(s->tivals);
	s->tivals = TAKE_PTR(fresh->tivals);
	s->ntivals = fresh->ntivals;
	fresh->ntivals = 0;
	nfo_vset_free(&s->elems);
	s->elems = fresh->elems;
	fresh->elems = (struct nfo_vset){};
	s->elems_stale = false;
	s->usable = fresh->usable;
	s->read_short = false; /* read whole */
	*ret = c;
	return 0;
}

int nfo_set_refresh_elems(struct nfo_set *s)
{
	struct nfo_vset v = {};
	int r;

	r = pending_fold(s, true, 0);
	if (r < 0)
		return r;
	if (!s->elems_stale)
		return 0;
	for (size_t i = 0; i < s->nkeys; i++) {
		nfo_u128 x = nfo_u128_from_be(s->keys + i * s->key_len, s->key_len);

		if (nfo_vset_push(&v, x, x) < 0) {
			nfo_vset_free(&v);
			return -ENOMEM;
		}
	}
	nfo_vset_normalize(&v);
	nfo_vset_free(&s->elems);
	s->elems = v;
	s->elems_stale = false;
	return 0;
}

/* ---- sorted arrays with pending changes ------------------------------------ */

void nfo_sorted_pending_free(struct nfo_sorted_pending *p)
{
	free(p->add);
	free(p->add_exp);
	free(p->del);
	*p = (struct nfo_sorted_pending){};
}

/* Where key is, or would go, in sorted a[from..n); ret_found whether it is. */
static size_t lower_bound_from(const uint8_t *a, size_t from, size_t n, size_t esz,
			       const uint8_t *key, bool *ret_found)
{
	size_t lo = from, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(a + mid * esz, key, esz);

		if (!c) {
			*ret_found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*ret_found = false;
	return lo;
}

static size_t lower_bound(const uint8_t *a, size_t n, size_t esz, const uint8_t *key,
			  bool *ret_found)
{
	return lower_bound_from(a, 0, n, esz, key, ret_found);
}

static bool sorted_find(const uint8_t *a, size_t n, size_t esz, const uint8_t *key)
{
	bool found;

	(void)lower_bound(a, n, esz, key, &found);
	return found;
}

bool nfo_sorted_has(const uint8_t *base, size_t n, const struct nfo_sorted_pending *p, size_t esz,
		    const uint8_t *key)
{
	if (sorted_find(p->add, p->nadd, esz, key))
		return true;
	return sorted_find(base, n, esz, key) && !sorted_find(p->del, p->ndel, esz, key);
}

/*
 * Whether key is among s's elements but for its own pending changes (kpend):
 * in its keys, or in a fold under way (kfold); ret_slot: where its expiry is
 * then (NULL: s's elements do not expire).
 */
static bool content_find(const struct nfo_set *s, const uint8_t *key, uint64_t **ret_slot)
{
	const struct nfo_sorted_fold *f = &s->kfold;
	const struct nfo_sorted_pending *z = &f->frozen;
	size_t len = s->key_len, at;
	bool found;

	*ret_slot = NULL;
	if (!f->active) {
		at = lower_bound(s->keys, s->nkeys, len, key, &found);
		if (found && s->expires)
			*ret_slot = &s->expires[at];
		return found;
	}
	/* folded already: in out; else still to merge */
	if (f->nout && memcmp(key, f->out + (f->nout - 1) * len, len) <= 0) {
		at = lower_bound(f->out, f->nout, len, key, &found);
		if (found && f->out_exp)
			*ret_slot = &f->out_exp[at];
		return found;
	}
	at = lower_bound_from(z->add, f->a, z->nadd, len, key, &found);
	if (found) {
		if (z->add_exp)
			*ret_slot = &z->add_exp[at];
		return true;
	}
	at = lower_bound_from(s->keys, f->i, s->nkeys, len, key, &found);
	if (!found)
		return false;
	(void)lower_bound_from(z->del, f->d, z->ndel, len, key, &found);
	if (found)
		return false;
	if (s->expires)
		*ret_slot = &s->expires[at];
	return true;
}

bool nfo_set_has_key(const struct nfo_set *s, const uint8_t *key, uint64_t *ret_expires)
{
	const struct nfo_sorted_pending *p = &s->kpend;
	uint64_t *slot;
	size_t at;
	bool found;

	/* the pending adds first: they hold the newest expiries */
	at = lower_bound(p->add, p->nadd, s->key_len, key, &found);
	if (found) {
		if (ret_expires)
			*ret_expires = p->add_exp ? p->add_exp[at] : 0;
		return true;
	}
	if (sorted_find(p->del, p->ndel, s->key_len, key) || !content_find(s, key, &slot))
		return false;
	if (ret_expires)
		*ret_expires = slot ? *slot : 0;
	return true;
}

/* The expiry of key, which s holds (with expiries), becomes expires. */
static void set_key_expiry(struct nfo_set *s, const uint8_t *key, uint64_t expires)
{
	struct nfo_sorted_pending *p = &s->kpend;
	size_t at;
	bool found;

	at = lower_bound(p->add, p->nadd, s->key_len, key, &found);
	if (found)
		p->add_exp[at] = expires;
	else
		set_content_expiry(s, key, expires);
}

/* The expiry of key, among s's elements but for kpend, becomes expires. */
static void set_content_expiry(struct nfo_set *s, const uint8_t *key, uint64_t expires)
{
	uint64_t *slot;

	if (content_find(s, key, &slot) && slot)
		*slot = expires;
}

/*
 * s->expires and s->kpend.add_exp go together (both or neither): a set
 * whose first element that expires comes (expiring) gets both, every key
 * held so far never expiring. ret_fresh: they were made here
 * (expiring_undo() takes them back).
 */
static int expiring_begin(struct nfo_set *s, bool expiring, bool *ret_fresh)
{
	struct nfo_sorted_pending *p = &s->kpend;

	*ret_fresh = false;
	/* (a fold under way carries no expiries: finished first, once) */
	if (expiring && !s->expires && s->kfold.active)
		fold_step(s, SIZE_MAX);
	if (expiring && !s->expires) {
		s->expires = calloc(s->nkeys ? s->nkeys : 1, sizeof(*s->expires));
		if (!s->expires)
			return -ENOMEM;
		*ret_fresh = true;
	}
	if (s->expires && !p->add_exp) {
		p->add_exp = calloc(p->cap_add ? p->cap_add : 1, sizeof(*p->add_exp));
		if (!p->add_exp) {
			expiring_undo(s, *ret_fresh);
			*ret_fresh = false;
			return -ENOMEM;
		}
	}
	return 0;
}

static void expiring_undo(struct nfo_set *s, bool fresh)
{
	if (!fresh)
		return;
	free(s->expires);
	s->expires = NULL;
	free(s->kpend.add_exp);
	s->kpend.add_exp = NULL;
}

/* Room for nadd more adds (and their expiries) and ndel more deletes. */
static int pending_reserve(struct nfo_sorted_pending *p, size_t esz, size_t nadd, size_t ndel)
{
	size_t want = p->nadd + nadd + 1, c = p->cap_add ? p->cap_add : 16;

	if (want > p->cap_add) {
		uint8_t *a;

		while (c < want)
			c *= 2;
		a = realloc(p->add, c * esz);
		if (!a)
			return -ENOMEM;
		p->add = a;
		if (p->add_exp) {
			uint64_t *e = realloc(p->add_exp, c * sizeof(*e));

			if (!e)
				return -ENOMEM; /* add is larger than cap_add says: harmless */
			p->add_exp = e;
		}
		p->cap_add = c;
	}
	want = p->ndel + ndel + 1;
	c = p->cap_del ? p->cap_del : 16;
	if (want > p->cap_del) {
		uint8_t *d;

		while (c < want)
			c *= 2;
		d = realloc(p->del, c * esz);
		if (!d)
			return -ENOMEM;
		p->del = d;
		p->cap_del = c;
	}
	return 0;
}

/*
 * The content (base with p) gains add (with add_exp when p carries
 * expiries; NULL: they never expire) and loses del: sorted, esz bytes each,
 * add not in the content, del in it, disjoint. A re-added key of the base
 * (s's elements, NULL: none expire) leaves del and takes its new expiry; a deleted pending add
 * leaves add; the others join add and del. A few keys are inserted in place
 * (one memmove of p each: O(change log p) comparisons), many merged
 * (O(p + change)). Fails (-ENOMEM) with p unchanged.
 */
static int pending_apply(struct nfo_sorted_pending *p, size_t esz, const uint8_t *add,
			 const uint64_t *add_exp, size_t nadd, const uint8_t *del, size_t ndel,
			 struct nfo_set *s)
{
	bool exp = p->add_exp != NULL;
	int r;

	r = pending_reserve(p, esz, nadd, ndel);
	if (r < 0)
		return r;
	if ((nadd + ndel) * 16 < p->nadd + p->ndel + 256) {
		for (size_t i = 0; i < ndel; i++) {
			const uint8_t *k = del + i * esz;
			bool found;
			size_t at = lower_bound(p->add, p->nadd, esz, k, &found);

			if (found) {
				memmove(p->add + at * esz, p->add + (at + 1) * esz,
					(p->nadd - at - 1) * esz);
				if (exp)
					memmove(p->add_exp + at, p->add_exp + at + 1,
						(p->nadd - at - 1) * sizeof(*p->add_exp));
				p->nadd--;
				continue;
			}
			at = lower_bound(p->del, p->ndel, esz, k, &found);
			memmove(p->del + (at + 1) * esz, p->del + at * esz, (p->ndel - at) * esz);
			memcpy(p->del + at * esz, k, esz);
			p->ndel++;
		}
		for (size_t i = 0; i < nadd; i++) {
			const uint8_t *k = add + i * esz;
			uint64_t e = add_exp ? add_exp[i] : 0;
			bool found;
			size_t at = lower_bound(p->del, p->ndel, esz, k, &found);

			if (found) {
				memmove(p->del + at * esz, p->del + (at + 1) * esz,
					(p->ndel - at - 1) * esz);
				p->ndel--;
				if (exp && s)
					set_content_expiry(s, k, e);
				continue;
			}
			at = lower_bound(p->add, p->nadd, esz, k, &found);
			memmove(p->add + (at + 1) * esz, p->add + at * esz, (p->nadd - at) * esz);
			memcpy(p->add + at * esz, k, esz);
			if (exp) {
				memmove(p->add_exp + at + 1, p->add_exp + at,
					(p->nadd - at) * sizeof(*p->add_exp));
				p->add_exp[at] = e;
			}
			p->nadd++;
		}
		return 0;
	}
	{
		size_t ca = p->nadd + nadd + 1, cd = p->ndel + ndel + 1, na, i = 0, j = 0, o = 0;
		uint8_t *oa = malloc(ca * esz), *od = malloc(cd * esz);
		uint64_t *oe = exp ? malloc(ca * sizeof(*oe)) : NULL;

		if (!oa || !od || (exp && !oe)) {
			free(oa);
			free(od);
			free(oe);
			return -ENOMEM;
		}
		/* adds: p->add not deleted, then merged with add not re-added */
		while (i < p->nadd || j < nadd) {
			const uint8_t *pk = i < p->nadd ? p->add + i * esz : NULL;
			const uint8_t *ak = j < nadd ? add + j * esz : NULL;

			if (pk && (!ak || memcmp(pk, ak, esz) < 0)) {
				if (!sorted_find(del, ndel, esz, pk)) {
					memcpy(oa + o * esz, pk, esz);
					if (exp)
						oe[o] = p->add_exp[i];
					o++;
				}
				i++;
			} else {
				uint64_t e = add_exp ? add_exp[j] : 0;

				if (!sorted_find(p->del, p->ndel, esz, ak)) {
					memcpy(oa + o * esz, ak, esz);
					if (exp)
						oe[o] = e;
					o++;
				} else if (exp && s) {
					set_content_expiry(s, ak, e);
				}
				j++;
			}
		}
		na = o;
		/* deletes: p->del not re-added, merged with del not pending adds */
		i = j = o = 0;
		while (i < p->ndel || j < ndel) {
			const uint8_t *pk = i < p->ndel ? p->del + i * esz : NULL;
			const uint8_t *dk = j < ndel ? del + j * esz : NULL;

			if (pk && (!dk || memcmp(pk, dk, esz) < 0)) {
				if (!sorted_find(add, nadd, esz, pk))
					memcpy(od + o++ * esz, pk, esz);
				i++;
			} else {
				if (!sorted_find(p->add, p->nadd, esz, dk))
					memcpy(od + o++ * esz, dk, esz);
				j++;
			}
		}
		free(p->add);
		free(p->add_exp);
		free(p->del);
		p->add = oa;
		p->add_exp = oe;
		p->nadd = na;
		p->cap_add = ca;
		p->del = od;
		p->ndel = o;
		p->cap_del = cd;
	}
	return 0;
}

int nfo_sorted_pending_update(struct nfo_sorted_pending *p, size_t esz, const uint8_t *add,
			      size_t nadd, const uint8_t *del, size_t ndel)
{
	return pending_apply(p, esz, add, NULL, nadd, del, ndel, NULL);
}

static int pending_update(struct nfo_set *s, const uint8_t *add, const uint64_t *add_exp,
			  size_t nadd, const uint8_t *del, size_t ndel)
{
	return pending_apply(&s->kpend, s->key_len, add, add_exp, nadd, del, ndel, s);
}

/* Whether p is worth folding into a base of n entries: once it is larger
 * than a sixteenth of it, O(n) then, so O(change) amortized per update. */
static bool fold_due(const struct nfo_sorted_pending *p, size_t n, bool force)
{
	if (!p->nadd && !p->ndel)
		return false;
	return force || (p->nadd + p->ndel) * 16 >= n + 4096;
}

/* *base minus p's deletes plus its adds: one merge into a new array (sets
 * fold a slice at a time instead: fold_step()). */
static int fold(uint8_t **base, size_t *n, struct nfo_sorted_pending *p, size_t esz)
{
	size_t nn = *n + p->nadd - p->ndel, i = 0, a = 0, d = 0, o = 0;
	const uint8_t *old = *base;
	uint8_t *out = malloc((nn ? nn : 1) * esz);

	if (!out)
		return -ENOMEM;
	while (i < *n || a < p->nadd) {
		if (i < *n && d < p->ndel && !memcmp(old + i * esz, p->del + d * esz, esz)) {
			i++;
			d++;
		} else if (a < p->nadd &&
			   (i >= *n || memcmp(p->add + a * esz, old + i * esz, esz) < 0)) {
			memcpy(out + o++ * esz, p->add + a++ * esz, esz);
		} else {
			memcpy(out + o++ * esz, old + i++ * esz, esz);
		}
	}
	free(*base);
	*base = out;
	*n = o;
	p->nadd = 0;
	p->ndel = 0;
	return 0;
}

/* Advances s's fold by up to budget entries (SIZE_MAX: to its end); at its
 * end the folded arrays replace s's keys and expiries. Never fails: out has
 * room for every entry. */
static void fold_step(struct nfo_set *s, size_t budget)
{
	struct nfo_sorted_fold *f = &s->kfold;
	struct nfo_sorted_pending *z = &f->frozen;
	size_t len = s->key_len;

	for (; budget && (f->i < s->nkeys || f->a < z->nadd); budget--) {
		if (f->i < s->nkeys && f->d < z->ndel &&
		    !memcmp(s->keys + f->i * len, z->del + f->d * len, len)) {
			f->i++;
			f->d++;
		} else if (f->a < z->nadd &&
			   (f->i >= s->nkeys ||
			    memcmp(z->add + f->a * len, s->keys + f->i * len, len) < 0)) {
			memcpy(f->out + f->nout * len, z->add + f->a * len, len);
			if (f->out_exp)
				f->out_exp[f->nout] = z->add_exp ? z->add_exp[f->a] : 0;
			f->nout++, f->a++;
		} else {
			memcpy(f->out + f->nout * len, s->keys + f->i * len, len);
			if (f->out_exp)
				f->out_exp[f->nout] = s->expires[f->i];
			f->nout++, f->i++;
		}
	}
	if (f->i < s->nkeys || f->a < z->nadd)
		return;
	free(s->keys);
	s->keys = f->out;
	s->nkeys = f->nout;
	if (f->out_exp) {
		free(s->expires);
		s->expires = f->out_exp;
	}
	free(z->add);
	free(z->add_exp);
	free(z->del);
	s->kfold = (struct nfo_sorted_fold){};
}

/*
 * Folds s's pending changes into its keys once they are larger than a
 * sixteenth of them (or with force: all, now). Not at once: a fold takes
 * what is pending aside (kfold.frozen) and merges a slice per change,
 * about 1/64 of the set plus 32 entries per key changed, so a fold ends
 * well before the next is due and no transaction stalls for the whole set.
 */
static int pending_fold(struct nfo_set *s, bool force, size_t change)
{
	size_t budget = force ? SIZE_MAX : s->nkeys / 64 + 32 * change + 64;

	for (;;) {
		size_t cap;
		uint8_t *out;
		uint64_t *oute;

		if (s->kfold.active) {
			fold_step(s, budget);
			if (s->kfold.active || !force)
				return 0;
		}
		if (!fold_due(&s->kpend, s->nkeys, force))
			return 0;
		cap = s->nkeys + s->kpend.nadd + 1;
		out = malloc(cap * s->key_len);
		oute = s->expires ? malloc(cap * sizeof(*oute)) : NULL;
		if (!out || (s->expires && !oute)) {
			free(out);
			free(oute);
			return -ENOMEM;
		}
		s->kfold = (struct nfo_sorted_fold){ .active = true, .out = out, .out_exp = oute,
						     .frozen = s->kpend };
		s->kpend = (struct nfo_sorted_pending){};
	}
}

int nfo_sorted_pending_fold(uint8_t **base, size_t *n, struct nfo_sorted_pending *p, size_t esz,
			    bool force)
{
	int r;

	if (!fold_due(p, *n, force))
		return 0;
	r = fold(base, n, p, esz);
	/* (callers used to getting the memory back) */
	if (r == 0)
		nfo_sorted_pending_free(p);
	return r;
}
