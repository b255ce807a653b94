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

/* old minus del plus add, all sorted (add disjoint from old, del within). */
static int merge_keys(const uint8_t *old, size_t nold, const uint8_t *add, size_t nadd,
		      const uint8_t *del, size_t ndel, size_t len, uint8_t **ret, size_t *ret_n)
{
	size_t n = nold + nadd - ndel, i = 0, a = 0, d = 0, o = 0;
	uint8_t *out = malloc((n ? n : 1) * len);

	if (!out)
		return -ENOMEM;
	while (i < nold || a < nadd) {
		if (i < nold && d < ndel && !memcmp(old + i * len, del + d * len, len)) {
			i++;
			d++;
		} else if (a < nadd && (i >= nold || memcmp(add + a * len, old + i * len, len) < 0)) {
			memcpy(out + o++ * len, add + a++ * len, len);
		} else {
			memcpy(out + o++ * len, old + i++ * len, len);
		}
	}
	*ret = out;
	*ret_n = o;
	return 0;
}

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
		held = nfo_sorted_has(s->keys, s->nkeys, &s->kpend, len, x[i].key);
		if (x[i].present && !held)
			memcpy(c->add_keys + c->nadd_keys++ * len, x[i].key, len);
		else if (!x[i].present && held)
			memcpy(c->del_keys + c->ndel_keys++ * len, x[i].key, len);
	}
	if (!c->nadd_keys && !c->ndel_keys)
		return 0;
	/* the keys array is folded later, amortized: O(change) here */
	r = nfo_sorted_pending_update(&s->kpend, len, c->add_keys, c->nadd_keys, c->del_keys,
				      c->ndel_keys);
	if (r == 0)
		r = nfo_sorted_pending_fold(&s->keys, &s->nkeys, &s->kpend, len, false);
	if (r < 0)
		return r;
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

/* Index of key in sorted keys[0..n), or -1. */
static ssize_t sorted_index(const uint8_t *keys, size_t n, size_t len, const uint8_t *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(keys + mid * len, key, len);

		if (!c)
			return (ssize_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int nfo_set_apply_expiring(struct nfo_set *s, const uint8_t *keys, const bool *present,
			   const uint64_t *expires, size_t n, struct nfo_set_change *ret)
{
	struct nfo_set_change c = {};
	size_t *upd_at = NULL;
	size_t len = s->key_len;
	bool expiring = s->expires != NULL;
	uint8_t *nk = NULL;
	uint64_t *ne = NULL;
	bool fresh_expires = false;
	int r;

	if (!s->usable || s->is_map || s->interval || (s->flags & NFT_SET_EVAL) || !len)
		return -EINVAL;
	/* the keys and their expiries change together: nothing pending */
	if (s->expires && (s->kpend.nadd || s->kpend.ndel))
		return -EINVAL;
	r = nfo_sorted_pending_fold(&s->keys, &s->nkeys, &s->kpend, len, true);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		expiring |= present[i] && expires[i];
	c.add_keys = malloc((n ? n : 1) * len);
	c.del_keys = malloc((n ? n : 1) * len);
	c.upd_keys = malloc((n ? n : 1) * len);
	c.add_expires = malloc((n ? n : 1) * sizeof(*c.add_expires));
	c.upd_expires = malloc((n ? n : 1) * sizeof(*c.upd_expires));
	c.upd_old = malloc((n ? n : 1) * sizeof(*c.upd_old));
	upd_at = malloc((n ? n : 1) * sizeof(*upd_at));
	if (!c.add_keys || !c.del_keys || !c.upd_keys || !c.add_expires || !c.upd_expires ||
	    !c.upd_old || !upd_at) {
		r = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		const uint8_t *k = keys + i * len;
		ssize_t at = sorted_index(s->keys, s->nkeys, len, k);
		uint64_t want = present[i] ? expires[i] : 0;

		if (present[i] && at < 0) {
			memcpy(c.add_keys + c.nadd_keys * len, k, len);
			c.add_expires[c.nadd_keys++] = want;
		} else if (!present[i] && at >= 0) {
			memcpy(c.del_keys + c.ndel_keys++ * len, k, len);
		} else if (present[i] && (s->expires ? s->expires[at] : 0) != want) {
			memcpy(c.upd_keys + c.nupd_keys * len, k, len);
			c.upd_expires[c.nupd_keys] = want;
			c.upd_old[c.nupd_keys] = s->expires ? s->expires[at] : 0;
			upd_at[c.nupd_keys++] = (size_t)at;
		}
	}
	if (expiring && !s->expires) {
		/* the first element that expires: the others never do */
		s->expires = calloc(s->nkeys ? s->nkeys : 1, sizeof(*s->expires));
		if (!s->expires) {
			r = -ENOMEM;
			goto fail;
		}
		fresh_expires = true;
	}
	if (c.nadd_keys || c.ndel_keys) {
		size_t nn = s->nkeys + c.nadd_keys - c.ndel_keys;

		nk = malloc((nn ? nn : 1) * len);
		ne = s->expires ? malloc((nn ? nn : 1) * sizeof(*ne)) : NULL;
		if (!nk || (s->expires && !ne)) {
			r = -ENOMEM;
			goto fail;
		}
	}
	/* nothing fails from here on; the keys stay where they are: O(change) */
	for (size_t i = 0; i < c.nupd_keys; i++)
		s->expires[upd_at[i]] = c.upd_expires[i];
	if (nk) {
		size_t i = 0, a = 0, d = 0, o = 0;

		while (i < s->nkeys || a < c.nadd_keys) {
			if (i < s->nkeys && d < c.ndel_keys &&
			    !memcmp(s->keys + i * len, c.del_keys + d * len, len)) {
				i++;
				d++;
			} else if (a < c.nadd_keys &&
				   (i >= s->nkeys ||
				    memcmp(c.add_keys + a * len, s->keys + i * len, len) < 0)) {
				memcpy(nk + o * len, c.add_keys + a * len, len);
				if (ne)
					ne[o] = c.add_expires[a];
				o++, a++;
			} else {
				memcpy(nk + o * len, s->keys + i * len, len);
				if (ne)
					ne[o] = s->expires[i];
				o++, i++;
			}
		}
		free(s->keys);
		s->keys = nk;
		s->nkeys = o;
		if (ne) {
			free(s->expires);
			s->expires = ne;
		}
		/* single fields also have elems; rebuilt when a plan needs them */
		s->elems_stale = s->key_len <= 16;
	}
	if (!expiring) {
		/* nothing expires: entries carry no expiry, as from a dump */
		free(c.add_expires);
		c.add_expires = NULL;
	}
	free(upd_at);
	*ret = c;
	return 0;
fail:
	if (fresh_expires) {
		free(s->expires);
		s->expires = NULL;
	}
	free(upd_at);
	free(nk);
	free(ne);
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
	uint8_t *nk = NULL;
	uint64_t *ne = NULL;
	size_t len = s->key_len, nadd = 0, n, i = 0, j = 0, o = 0;
	bool expiring = s->expires != NULL;
	int r;

	if (!s->usable || s->is_map || s->interval || (s->flags & NFT_SET_EVAL) || !len)
		return -EINVAL;
	*ret = c;
	if (!nkeys)
		return 0;
	/* the keys and their expiries change together: nothing pending */
	if (s->expires && (s->kpend.nadd || s->kpend.ndel))
		return -EINVAL;
	r = nfo_sorted_pending_fold(&s->keys, &s->nkeys, &s->kpend, len, true);
	if (r < 0)
		return r;
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
	n = s->nkeys + nkeys;
	nk = malloc(n * len);
	ne = expiring ? malloc(n * sizeof(*ne)) : NULL;
	if (!c.add_keys || !nk || (expiring && (!c.add_expires || !ne))) {
		r = -ENOMEM;
		goto fail;
	}
	while (i < s->nkeys || j < nkeys) {
		int cmp;

		if (j < nkeys && o && !memcmp(nk + (o - 1) * len, x[j].key, len)) {
			j++; /* read twice, or held: keeps the expiry it has */
			continue;
		}
		cmp = i >= s->nkeys ? 1 : j >= nkeys ? -1 : memcmp(s->keys + i * len, x[j].key, len);
		if (cmp <= 0) {
			memcpy(nk + o * len, s->keys + i * len, len);
			if (ne)
				ne[o] = s->expires ? s->expires[i] : 0;
			o++, i++;
			continue;
		}
		memcpy(nk + o * len, x[j].key, len);
		memcpy(c.add_keys + nadd * len, x[j].key, len);
		if (ne) {
			ne[o] = x[j].expires;
			c.add_expires[nadd] = x[j].expires;
		}
		o++, j++, nadd++;
	}
	c.nadd_keys = nadd;
	free(s->keys);
	s->keys = nk;
	s->nkeys = o;
	if (ne) {
		free(s->expires);
		s->expires = ne;
	}
	/* single fields also have elems; rebuilt when a plan needs them */
	s->elems_stale = nadd && s->key_len <= 16;
	*ret = c;
	return 0;
fail:
	free(nk);
	free(ne);
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
	*ret = c;
	return 0;
}

int nfo_set_refresh_elems(struct nfo_set *s)
{
	struct nfo_vset v = {};
	int r;

	r = nfo_sorted_pending_fold(&s->keys, &s->nkeys, &s->kpend, s->key_len, true);
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
	free(p->del);
	*p = (struct nfo_sorted_pending){};
}

static bool sorted_find(const uint8_t *a, size_t n, size_t esz, const uint8_t *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(a + mid * esz, key, esz);

		if (!c)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

bool nfo_sorted_has(const uint8_t *base, size_t n, const struct nfo_sorted_pending *p, size_t esz,
		    const uint8_t *key)
{
	if (sorted_find(p->add, p->nadd, esz, key))
		return true;
	return sorted_find(base, n, esz, key) && !sorted_find(p->del, p->ndel, esz, key);
}

/* out := a minus b (sorted); out has room for na. Returns its count. */
static size_t sorted_minus(const uint8_t *a, size_t na, const uint8_t *b, size_t nb, size_t esz,
			   uint8_t *out)
{
	size_t i = 0, j = 0, o = 0;

	while (i < na) {
		int c = j >= nb ? -1 : memcmp(a + i * esz, b + j * esz, esz);

		if (c < 0)
			memcpy(out + o++ * esz, a + i++ * esz, esz);
		else if (c > 0)
			j++;
		else
			i++, j++;
	}
	return o;
}

/* out := a union b (sorted, disjoint); out has room for na + nb. */
static size_t sorted_union(const uint8_t *a, size_t na, const uint8_t *b, size_t nb, size_t esz,
			   uint8_t *out)
{
	size_t i = 0, j = 0, o = 0;

	while (i < na || j < nb) {
		if (j >= nb || (i < na && memcmp(a + i * esz, b + j * esz, esz) < 0))
			memcpy(out + o++ * esz, a + i++ * esz, esz);
		else
			memcpy(out + o++ * esz, b + j++ * esz, esz);
	}
	return o;
}

int nfo_sorted_pending_update(struct nfo_sorted_pending *p, size_t esz, const uint8_t *add,
			      size_t nadd, const uint8_t *del, size_t ndel)
{
	/* a re-added key of the base leaves del; a deleted pending add
	 * leaves add; the others join add and del */
	size_t cap = p->nadd + p->ndel + nadd + ndel + 1;
	_cleanup_free_ uint8_t *t1 = malloc(cap * esz), *t2 = malloc(cap * esz);
	uint8_t *na = malloc((p->nadd + nadd + 1) * esz), *nd = malloc((p->ndel + ndel + 1) * esz);
	size_t n1, n2;

	if (!t1 || !t2 || !na || !nd) {
		free(na);
		free(nd);
		return -ENOMEM;
	}
	n1 = sorted_minus(p->add, p->nadd, del, ndel, esz, t1); /* pending adds still there */
	n2 = sorted_minus(add, nadd, p->del, p->ndel, esz, t2); /* new adds not re-adds */
	n1 = sorted_union(t1, n1, t2, n2, esz, na);
	n2 = sorted_minus(p->del, p->ndel, add, nadd, esz, t1); /* pending dels not re-added */
	{
		size_t n3 = sorted_minus(del, ndel, p->add, p->nadd, esz, t2); /* dels of the base */

		n2 = sorted_union(t1, n2, t2, n3, esz, nd);
	}
	free(p->add);
	free(p->del);
	p->add = na;
	p->nadd = n1;
	p->del = nd;
	p->ndel = n2;
	return 0;
}

int nfo_sorted_pending_fold(uint8_t **base, size_t *n, struct nfo_sorted_pending *p, size_t esz,
			    bool force)
{
	uint8_t *out = NULL;
	size_t nout = 0;
	int r;

	if (!p->nadd && !p->ndel)
		return 0;
	if (!force && (p->nadd + p->ndel) * 16 < *n + 4096)
		return 0;
	r = merge_keys(*base, *n, p->add, p->nadd, p->del, p->ndel, esz, &out, &nout);
	if (r < 0)
		return r;
	free(*base);
	*base = out;
	*n = nout;
	nfo_sorted_pending_free(p);
	return 0;
}
