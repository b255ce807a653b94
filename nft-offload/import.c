// SPDX-License-Identifier: GPL-2.0-only
/*
 * From a dump of libnftnl objects to the model: tables (only to skip dormant
 * ones), chains, sets with their elements, flowtables, and every rule through
 * the translator. Like nftables' netlink_delinearize.c and cache.c, this is
 * where kernel objects meet the model; the model itself never calls the
 * translator.
 */
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/flowtable.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "netlink/nft.h"
#include "import.h"
#include "translate.h"
#include "common/util.h"

/* A rule that changes a set from the packet path (dynset). */
struct dynset_ref {
	int family;
	const char *table;
	const char *set;
	const char *chain;
	uint64_t handle;
	uint32_t op;         /* NFT_DYNSET_OP_* */
	uint64_t timeout_ms; /* 0: the element's (or set's) own */
};

struct build {
	struct nfo_ruleset *rs;
	const struct nfo_nft_dump *dump;
	struct dynset_ref *dynsets;
	size_t ndynsets;
	size_t dynset_cap;
	struct dynset_ref cur; /* the rule dynset_cb looks at */
	/* dormant tables: their hooks are not registered, their chains never run */
	char **dormant;
	int *dormant_family;
	size_t ndormant;
	size_t dormant_cap;
	size_t dormant_cap2;
	size_t chain_cap;
	size_t set_cap;
	size_t ft_cap;
	int error;
};

static bool is_dormant(const struct build *b, int family, const char *table)
{
	for (size_t i = 0; i < b->ndormant; i++)
		if (b->dormant_family[i] == family && !strcmp(b->dormant[i], table))
			return true;
	return false;
}

static int table_cb(struct nftnl_table *t, void *data)
{
	struct build *b = data;
	uint32_t flags = nftnl_table_is_set(t, NFTNL_TABLE_FLAGS) ?
				 nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS) : 0;

	if (!(flags & NFT_TABLE_F_DORMANT))
		return 0;
	if (nfo_grow(&b->dormant, &b->dormant_cap, b->ndormant + 1, sizeof(*b->dormant)) < 0 ||
	    nfo_grow(&b->dormant_family, &b->dormant_cap2, b->ndormant + 1,
		     sizeof(*b->dormant_family)) < 0)
		goto oom;
	b->dormant[b->ndormant] = strdup(nftnl_table_get_str(t, NFTNL_TABLE_NAME));
	if (!b->dormant[b->ndormant])
		goto oom;
	b->dormant_family[b->ndormant++] = (int)nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY);
	return 0;
oom:
	b->error = -ENOMEM;
	return -1;
}

static int hook_of(int family, uint32_t hooknum)
{
	if (family == NFPROTO_NETDEV)
		return hooknum == NF_NETDEV_INGRESS ? NFO_HOOK_INGRESS : NFO_HOOK_EGRESS;
	if (family != NFPROTO_INET && family != NFPROTO_IPV4 && family != NFPROTO_IPV6)
		return NFO_HOOK_NONE;
	switch (hooknum) {
	case NF_INET_PRE_ROUTING:
		return NFO_HOOK_PREROUTING;
	case NF_INET_LOCAL_IN:
		return NFO_HOOK_INPUT;
	case NF_INET_FORWARD:
		return NFO_HOOK_FORWARD;
	case NF_INET_LOCAL_OUT:
		return NFO_HOOK_OUTPUT;
	case NF_INET_POST_ROUTING:
		return NFO_HOOK_POSTROUTING;
	case NF_INET_INGRESS:
		return NFO_HOOK_INGRESS;
	}
	return NFO_HOOK_NONE;
}

static int add_dev(struct nfo_chain *c, const char *dev)
{
	char **p = realloc(c->devs, (c->ndevs + 1) * sizeof(*c->devs));

	if (!p)
		return -ENOMEM;
	c->devs = p;
	c->devs[c->ndevs] = strdup(dev);
	if (!c->devs[c->ndevs])
		return -ENOMEM;
	c->ndevs++;
	return 0;
}

static int chain_cb(struct nftnl_chain *nc, void *data)
{
	struct build *b = data;
	struct nfo_ruleset *rs = b->rs;
	int family = (int)nftnl_chain_get_u32(nc, NFTNL_CHAIN_FAMILY);
	const char *table = nftnl_chain_get_str(nc, NFTNL_CHAIN_TABLE);
	struct nfo_chain *c;

	if (!table || is_dormant(b, family, table))
		return 0;
	if (nfo_grow(&rs->chains, &b->chain_cap, rs->nchains + 1, sizeof(*rs->chains)) < 0)
		goto oom;
	c = &rs->chains[rs->nchains++];
	*c = (struct nfo_chain){ .family = family, .hook = NFO_HOOK_NONE };
	c->table = strdup(table);
	c->name = strdup(nftnl_chain_get_str(nc, NFTNL_CHAIN_NAME));
	if (!c->table || !c->name)
		goto oom;
	c->handle = nftnl_chain_get_u64(nc, NFTNL_CHAIN_HANDLE);
	if (nftnl_chain_is_set(nc, NFTNL_CHAIN_HOOKNUM)) {
		c->base = true;
		c->hook = hook_of(family, nftnl_chain_get_u32(nc, NFTNL_CHAIN_HOOKNUM));
		c->prio = (int32_t)nftnl_chain_get_s32(nc, NFTNL_CHAIN_PRIO);
		c->type = strdup(nftnl_chain_is_set(nc, NFTNL_CHAIN_TYPE) ?
					 nftnl_chain_get_str(nc, NFTNL_CHAIN_TYPE) : "filter");
		if (!c->type)
			goto oom;
		c->policy_drop = nftnl_chain_is_set(nc, NFTNL_CHAIN_POLICY) &&
				 nftnl_chain_get_u32(nc, NFTNL_CHAIN_POLICY) == NF_DROP;
		if (nftnl_chain_is_set(nc, NFTNL_CHAIN_DEVICES)) {
			const char *const *devs = nftnl_chain_get_array(nc, NFTNL_CHAIN_DEVICES);

			for (size_t i = 0; devs && devs[i]; i++)
				if (add_dev(c, devs[i]) < 0)
					goto oom;
		} else if (nftnl_chain_is_set(nc, NFTNL_CHAIN_DEV)) {
			if (add_dev(c, nftnl_chain_get_str(nc, NFTNL_CHAIN_DEV)) < 0)
				goto oom;
		}
	}
	return 0;
oom:
	b->error = -ENOMEM;
	return -1;
}

/* The elements of the set being read: the columns netlink/nft.c filled
 * (no object per element), with the kernel's expiry of each. */
struct elem_acc {
	struct nfo_set *set;
	const struct nfo_nft_jiffies *at;
	const struct nfo_nft_elems *es;
	size_t n;
	uint64_t *expires; /* per element (nfo_elem.expires), NULL: none expires */
	bool expiring;     /* some element expires */
	const char *why;
	char whybuf[160];
};

/* Element i's timeout and expiration, as nfo_elem carries them. */
static void elem_life(const struct nfo_nft_elems *es, size_t i, struct nfo_elem *ret)
{
	ret->has_timeout = es->flags[i] & NFO_NFT_ELEM_TIMEOUT;
	ret->has_expiration = es->flags[i] & NFO_NFT_ELEM_EXPIRATION;
	ret->timeout_ms = ret->has_timeout ? es->timeouts[i] : 0;
	ret->expiration_ms = ret->has_expiration ? es->expirations[i] : 0;
}

/* Checks the elements' keys against the set's type and places each
 * expiry in time; a = { set, at, es } on entry. */
static int read_elems(struct elem_acc *a)
{
	const struct nfo_nft_elems *es = a->es;
	const struct nfo_set *s = a->set;

	if (!es || !es->n)
		return 0;
	if (es->bad || es->key_len != s->key_len || es->key_len > NFO_SET_KEY_LEN ||
	    (es->key_len > 16 && (es->key_ends || s->interval))) {
		a->why = "element key";
		return 0;
	}
	a->n = es->n;
	if (!es->timeouts && !es->expirations)
		return 0;
	for (size_t i = 0; i < es->n; i++) {
		struct nfo_elem life = {};
		uint64_t exp;

		if (!(es->flags[i] & (NFO_NFT_ELEM_TIMEOUT | NFO_NFT_ELEM_EXPIRATION)))
			continue;
		elem_life(es, i, &life);
		exp = nfo_elem_expiry(&life, a->at ? a->at->jiffies : 0, a->at ? a->at->hz : 0);
		if (!exp)
			continue;
		if (!a->expires) {
			a->expires = calloc(es->n, sizeof(*a->expires));
			if (!a->expires)
				return -ENOMEM;
		}
		a->expires[i] = exp;
		a->expiring = true;
	}
	return 0;
}

static int cmp_key(const void *a, const void *b, void *len)
{
	return memcmp(a, b, *(const uint32_t *)len);
}

/* Elements by key (big-endian bytes: by value), an interval's end before
 * the next start at equal values. */
static int cmp_order(const void *x, const void *y, void *data)
{
	const struct nfo_nft_elems *es = data;
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	int c = memcmp(es->keys + (size_t)a * es->key_len, es->keys + (size_t)b * es->key_len,
		       es->key_len);

	if (c)
		return c;
	return (int)(es->flags[b] & NFO_NFT_ELEM_END) - (int)(es->flags[a] & NFO_NFT_ELEM_END);
}

/* The element indexes of es sorted with cmp_order. */
static uint32_t *sorted_order(const struct nfo_nft_elems *es)
{
	uint32_t *order = malloc(es->n * sizeof(*order));

	if (!order)
		return NULL;
	for (size_t i = 0; i < es->n; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, es->n, sizeof(*order), cmp_order, (void *)es);
	return order;
}

/* A verdict map's element i, keys [key, key_end] (key_end NULL: key). */
static int add_vmap_elem(struct nfo_set *s, size_t *vcap, nfo_u128 lo, nfo_u128 hi,
			 const struct nfo_nft_elems *es, size_t i, const uint8_t *key_end)
{
	size_t kl = s->key_len;
	struct nfo_vmap_elem *m;

	if (nfo_grow(&s->vmap, vcap, s->nvmap + 1, sizeof(*s->vmap)) < 0)
		return -ENOMEM;
	m = &s->vmap[s->nvmap++];
	*m = (struct nfo_vmap_elem){ .lo = lo, .hi = hi, .verdict = NFO_VERDICT_STOP };
	memcpy(m->key, es->keys + i * kl, kl);
	memcpy(m->key_end, key_end ? key_end : m->key, kl);
	if (!(es->flags[i] & NFO_NFT_ELEM_VERDICT))
		return 0;
	m->verdict = nfo_translate_verdict(es->verdicts[i]);
	if (es->chains && es->chains[i]) {
		m->chain = strdup(es->chains[i]);
		if (!m->chain)
			return -ENOMEM;
	}
	return 0;
}

static int add_elem(struct nfo_set *s, size_t *vcap, nfo_u128 lo, nfo_u128 hi,
		    const struct nfo_nft_elems *es, size_t i)
{
	uint8_t end[16];

	if (nfo_vset_push(&s->elems, lo, hi) < 0)
		return -ENOMEM;
	if (!s->verdict_map)
		return 0;
	nfo_u128_to_be(hi, end, s->key_len);
	return add_vmap_elem(s, vcap, lo, hi, es, i, end);
}

/* A verdict map whose key is longer than 16 bytes (a concatenation; never
 * of ranges, load_elems() refuses those): its elements by their bytes. */
static int collect_long_vmap(struct elem_acc *a)
{
	size_t vcap = 0;

	for (size_t i = 0; i < a->n; i++)
		if (add_vmap_elem(a->set, &vcap, 0, 0, a->es, i, NULL) < 0)
			return -ENOMEM;
	return 0;
}

/* The earlier of two expiries, 0 being never. */
static uint64_t expiry_min(uint64_t a, uint64_t b)
{
	return !a ? b : !b ? a : a < b ? a : b;
}

/*
 * Exact sets: the keys, sorted and distinct, with their expiries in the
 * same order. A dump may send an element twice: nf_tables walks a set from
 * its start for every message and skips the elements sent before
 * (nf_tables_dump_set, iter.skip), so an element inserted ahead of the
 * walk's position between two messages shifts the rest by one, and the
 * element at the boundary comes again. That happens in the part of a
 * streamed set read after the generation check (netlink/nft.c
 * fill_streams). The model holds each key once (setdelta.c: a delete takes
 * one copy away, a fold or a diff would keep the other, and the fast path
 * would miss the key or get it back after nftables deleted it). Both
 * readings of a key's expiry are lower bounds of the kernel's at the time
 * each was taken (the clock was read before the request), and a re-add in
 * between may have made it sooner: the earlier of the two is a lower bound
 * of the kernel's expiry now, whichever reading came first.
 */
static int collect_keys(struct elem_acc *a)
{
	const struct nfo_nft_elems *es = a->es;
	struct nfo_set *s = a->set;
	size_t kl = s->key_len, n = 0;
	uint32_t *order;

	s->keys = malloc(a->n * kl);
	if (!s->keys)
		return -ENOMEM;
	if (!a->expiring) {
		memcpy(s->keys, es->keys, a->n * kl);
		qsort_r(s->keys, a->n, kl, cmp_key, &s->key_len);
		for (size_t i = 0; i < a->n; i++)
			if (!n || memcmp(s->keys + (n - 1) * kl, s->keys + i * kl, kl))
				memmove(s->keys + n++ * kl, s->keys + i * kl, kl);
		s->nkeys = n;
		return 0;
	}
	s->expires = malloc(a->n * sizeof(*s->expires));
	order = sorted_order(es);
	if (!s->expires || !order) {
		free(order);
		return -ENOMEM;
	}
	for (size_t i = 0; i < a->n; i++) {
		const uint8_t *k = es->keys + (size_t)order[i] * kl;

		if (n && !memcmp(s->keys + (n - 1) * kl, k, kl)) {
			s->expires[n - 1] = expiry_min(s->expires[n - 1], a->expires[order[i]]);
			continue;
		}
		memcpy(s->keys + n * kl, k, kl);
		s->expires[n++] = a->expires[order[i]];
	}
	s->nkeys = n;
	free(order);
	return 0;
}

/*
 * The ranges of an interval set whose elements expire, each with the
 * expiry of its start element (order: the elements sorted, cmp_order).
 * nft_rbtree_lookup matches a key when the greatest element below it on
 * the search path is a live start, so a range's start element decides its
 * keys after the start: nothing else sits inside a range (an insert
 * garbage-collects the expired elements its overlap walk meets, and live
 * ones would overlap). At the start key itself the lookup fails on any
 * expired element of exactly that key, and an end element of the range
 * before may sit there: end elements take no timeout of their own
 * (nft_add_set_elem) but the set's default one. So when the set has a
 * default timeout, the start key counts until the earlier of the start's
 * and that end's expiry, and not at all when no live end was read there:
 * an expired one, which a dump leaves out (nft_rbtree_walk), may still
 * be in the tree until garbage collection.
 */
static int collect_timed(struct elem_acc *a, const uint32_t *order)
{
	const struct nfo_nft_elems *es = a->es;
	struct nfo_set *s = a->set;
	nfo_u128 max = nfo_u128_max(s->key_len * 8);
	size_t kl = s->key_len;

	s->tivals = malloc(a->n * sizeof(*s->tivals));
	if (!s->tivals)
		return -ENOMEM;
	for (size_t i = 0; i < a->n; i++) {
		size_t k = order[i];
		nfo_u128 v = nfo_u128_from_be(es->keys + k * kl, kl), hi = max;
		uint64_t exp = a->expires ? a->expires[k] : 0, lo_exp = exp;

		if (es->flags[k] & NFO_NFT_ELEM_END)
			continue;
		if (es->flags[k] & NFO_NFT_ELEM_KEY_END) {
			hi = nfo_u128_from_be(es->key_ends + k * kl, kl);
			if (hi < v)
				continue;
		} else if (i + 1 < a->n) {
			nfo_u128 next = nfo_u128_from_be(es->keys + (size_t)order[i + 1] * kl, kl);

			if (next == v)
				continue; /* cannot happen: two starts at one key */
			hi = next - 1;
		}
		if (s->timeout_ms) {
			size_t p = i ? order[i - 1] : 0;

			if (i && (es->flags[p] & NFO_NFT_ELEM_END) &&
			    nfo_u128_from_be(es->keys + p * kl, kl) == v)
				lo_exp = expiry_min(exp, a->expires ? a->expires[p] : 0);
			else
				lo_exp = 1; /* gone at jiffies64 1: never counts */
		}
		s->tivals[s->ntivals++] = (struct nfo_tival){ .lo = v, .hi = hi, .expires = exp,
							      .lo_expires = lo_exp };
		if (nfo_vset_push(&s->elems, v, hi) < 0)
			return -ENOMEM;
	}
	nfo_vset_normalize(&s->elems);
	return 0;
}

/*
 * Elements to value intervals. Interval sets (nft_set_rbtree) hold start
 * elements (carrying the map data) and end elements; a lookup takes the
 * greatest element not above the key and matches if it is a start. So a
 * start covers everything up to the next element of either kind (nft omits
 * the end between adjacent intervals), and the last start runs to the
 * maximum. Sets with KEY_END send [key, key_end].
 */
static int collect_elems(struct elem_acc *a, bool interval)
{
	const struct nfo_nft_elems *es = a->es;
	struct nfo_set *s = a->set;
	nfo_u128 max = nfo_u128_max(s->key_len * 8);
	size_t vcap = 0, kl = s->key_len;
	uint32_t *order;
	int r = -ENOMEM;

	if (!interval && a->n && collect_keys(a) < 0)
		return -ENOMEM;
	if (kl > 16 && a->n && s->verdict_map)
		return collect_long_vmap(a);
	if (kl > 16 || !a->n)
		return 0; /* a concatenation: no values of one field; or empty */
	if (!interval && !es->key_ends && !s->verdict_map) {
		/* an exact set: its values are its sorted keys */
		for (size_t i = 0; i < s->nkeys; i++) {
			nfo_u128 v = nfo_u128_from_be(s->keys + i * kl, kl);

			if (nfo_vset_push(&s->elems, v, v) < 0)
				return -ENOMEM;
		}
		nfo_vset_normalize(&s->elems);
		return 0;
	}
	order = sorted_order(es);
	if (!order)
		return -ENOMEM;
	if (interval && (s->flags & NFT_SET_TIMEOUT)) {
		/* ranges that expire change by reading the set again
		 * (daemon-update.c): no bounds to apply notifications to */
		r = collect_timed(a, order);
		goto out;
	}
	if (interval && !(es->flags[order[0]] & NFO_NFT_ELEM_KEY_END)) {
		/* what element notifications change (setdelta.c) */
		s->bounds = malloc(a->n * sizeof(*s->bounds));
		if (!s->bounds)
			goto out;
		for (size_t i = 0; i < a->n; i++)
			s->bounds[i] = (struct nfo_bound){
				.v = nfo_u128_from_be(es->keys + (size_t)order[i] * kl, kl),
				.end = es->flags[order[i]] & NFO_NFT_ELEM_END,
			};
		s->nbounds = a->n;
	}
	for (size_t i = 0; i < a->n; i++) {
		size_t k = order[i];
		nfo_u128 v = nfo_u128_from_be(es->keys + k * kl, kl), hi;

		if (es->flags[k] & NFO_NFT_ELEM_KEY_END) {
			hi = nfo_u128_from_be(es->key_ends + k * kl, kl);
			if (hi >= v && add_elem(s, &vcap, v, hi, es, k) < 0)
				goto out;
			continue;
		}
		if (!interval) {
			if (add_elem(s, &vcap, v, v, es, k) < 0)
				goto out;
			continue;
		}
		if (es->flags[k] & NFO_NFT_ELEM_END)
			continue;
		hi = max;
		if (i + 1 < a->n) {
			nfo_u128 next = nfo_u128_from_be(es->keys + (size_t)order[i + 1] * kl, kl);

			if (next == v)
				continue; /* cannot happen: two starts at one key */
			hi = next - 1;
		}
		if (add_elem(s, &vcap, v, hi, es, k) < 0)
			goto out;
	}
	nfo_vset_normalize(&s->elems);
	r = 0;
out:
	free(order);
	return r;
}

/*
 * An `update @s` from the packet path sets an existing element's expiry to
 * now + the update's timeout (nft_dynset_eval: the dynset's, else the
 * element's own since Linux 6.13, the set's before). The fast path keeps
 * the expiry it read, so that must not move it earlier: each update's
 * timeout must cover what the element had left when it was read.
 */
static bool refresh_extends(const struct nfo_set *s, const struct nfo_elem *e)
{
	uint64_t own;

	if (!e->has_expiration)
		return true; /* nothing to refresh, or already counted as gone */
	if (s->pp_update_ms != UINT64_MAX && s->pp_update_ms < e->expiration_ms)
		return false;
	if (!s->pp_update_own)
		return true;
	own = e->has_timeout ? e->timeout_ms : s->timeout_ms;
	return own >= e->expiration_ms && s->timeout_ms >= e->expiration_ms;
}

/* Why the elements of s, which change alone, cannot be followed (NULL:
 * they can, for lookups in rules that only drop on membership). */
static const char *why_not_followed(struct elem_acc *a)
{
	const struct nfo_set *s = a->set;

	if (s->pp_delete) {
		snprintf(a->whybuf, sizeof(a->whybuf), "the packet path deletes elements (%s)",
			 s->pp_rule ? s->pp_rule : "a rule");
		return a->whybuf;
	}
	for (size_t i = 0; s->pp_add && i < a->n; i++) {
		struct nfo_elem life = {};

		elem_life(a->es, i, &life);
		if (!refresh_extends(s, &life)) {
			snprintf(a->whybuf, sizeof(a->whybuf),
				 "the packet path may shorten an element's timeout (%s)",
				 s->pp_rule ? s->pp_rule : "a rule");
			return a->whybuf;
		}
	}
	if (a->expiring && (!a->at || !a->at->hz))
		return "elements expire and the kernel clock cannot be read";
	return NULL;
}

void nfo_set_copy_type(const struct nfo_set *s, struct nfo_set *ret)
{
	*ret = *s;
	ret->elems = (struct nfo_vset){};
	ret->keys = NULL;
	ret->nkeys = 0;
	ret->vmap = NULL;
	ret->nvmap = 0;
	ret->expires = NULL;
	ret->why = NULL;
	ret->bounds = NULL;
	ret->nbounds = 0;
	ret->tivals = NULL;
	ret->ntivals = 0;
	ret->kpend = (struct nfo_sorted_pending){};
	ret->kfold = (struct nfo_sorted_fold){};
	ret->elems_stale = false;
	/* kept: nfo_set_reload() tells a set that stopped being usable */
}

void nfo_set_clear_elems(struct nfo_set *s)
{
	nfo_vset_free(&s->elems);
	free(s->keys);
	s->keys = NULL;
	s->nkeys = 0;
	free(s->expires);
	s->expires = NULL;
	free(s->bounds);
	s->bounds = NULL;
	s->nbounds = 0;
	free(s->tivals);
	s->tivals = NULL;
	s->ntivals = 0;
	nfo_set_pending_free(s);
	s->elems_stale = false;
	for (size_t i = 0; i < s->nvmap; i++)
		free(s->vmap[i].chain);
	free(s->vmap);
	s->vmap = NULL;
	s->nvmap = 0;
	free(s->why);
	s->why = NULL;
	s->usable = false;
}

/* (Re)reads the elements of s from ns (at: the clock before they were
 * requested); -ENOMEM, else 0 (s->usable says whether they could be
 * understood). */
static int load_elems(struct nfo_set *s, const struct nfo_nft_elems *es,
		      const struct nfo_nft_jiffies *at)
{
	struct elem_acc acc = { .at = at, .es = es };
	int r = -ENOMEM;

	nfo_set_clear_elems(s);

	if (nfo_set_changes_alone(s) && s->is_map)
		acc.why = "a map whose elements expire or the packet path changes";
	else if ((s->flags & NFT_SET_INTERVAL) && (s->pp_add || s->pp_delete))
		acc.why = "ranges the packet path changes";
	else if ((s->flags & NFT_SET_CONCAT) && (s->flags & NFT_SET_INTERVAL))
		acc.why = "concatenation of ranges";
	else if (s->key_len == 0 || s->key_len > NFO_SET_KEY_LEN ||
		 (s->key_len > 16 && (s->flags & NFT_SET_INTERVAL)))
		acc.why = "key type"; /* (NFT_SET_CONCAT marks only concatenated ranges) */
	if (!acc.why) {
		acc.set = s;
		if (read_elems(&acc) < 0)
			goto out;
		if (!acc.why && nfo_set_changes_alone(s))
			acc.why = why_not_followed(&acc);
		else if (!acc.why && acc.expiring)
			acc.why = "elements expire"; /* in a set without the flag? */
		if (!acc.why && collect_elems(&acc, s->flags & NFT_SET_INTERVAL) < 0)
			goto out;
	}
	if (acc.why) {
		nfo_vset_free(&s->elems);
		free(s->keys);
		s->keys = NULL;
		s->nkeys = 0;
		free(s->expires);
		s->expires = NULL;
		free(s->bounds);
		s->bounds = NULL;
		s->nbounds = 0;
		free(s->tivals);
		s->tivals = NULL;
		s->ntivals = 0;
		s->why = strdup(acc.why);
		if (!s->why)
			goto out;
	} else {
		s->usable = true;
	}
	r = 0;
out:
	free(acc.expires);
	return r;
}

int nfo_set_reload_elems(struct nfo_set *s, struct nftnl_set *ns, const struct nfo_nft_elems *es,
			 const struct nfo_nft_jiffies *at)
{
	uint32_t flags = nftnl_set_is_set(ns, NFTNL_SET_FLAGS) ? nftnl_set_get_u32(ns, NFTNL_SET_FLAGS) : 0;
	bool usable = s->usable;
	int r;

	/* a set redefined with another type is a structural change */
	if (flags != s->flags || nftnl_set_get_u32(ns, NFTNL_SET_KEY_LEN) != s->key_len)
		return -EINVAL;
	/* elements may be missing (see set_cb) */
	if (es->repeated && !nfo_set_changes_alone(s))
		return -EAGAIN;
	r = load_elems(s, es, at);
	/* the rules were translated for a usable set (an element the packet
	 * path could now shorten, a clock that failed): translate again */
	if (r == 0 && usable && !s->usable)
		return -ESTALE;
	return r;
}

int nfo_set_reload(struct nfo_set *s, struct nftnl_set *ns, const struct nfo_nft_jiffies *at)
{
	struct nfo_nft_elems *es = NULL;
	int r;

	r = nfo_nft_elems_from_nftnl(ns, &es);
	if (r < 0)
		return r;
	r = nfo_set_reload_elems(s, ns, es, at);
	nfo_nft_elems_free(&es);
	return r;
}

/* ---- sets the packet path changes ------------------------------------------------ */

static int dynset_cb(struct nftnl_expr *e, void *data)
{
	struct build *b = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	struct dynset_ref *d;

	if (!name || strcmp(name, "dynset"))
		return 0;
	if (nfo_grow(&b->dynsets, &b->dynset_cap, b->ndynsets + 1, sizeof(*b->dynsets)) < 0) {
		b->error = -ENOMEM;
		return -1;
	}
	d = &b->dynsets[b->ndynsets];
	*d = b->cur;
	d->set = nftnl_expr_is_set(e, NFTNL_EXPR_DYNSET_SET_NAME) ?
			 nftnl_expr_get_str(e, NFTNL_EXPR_DYNSET_SET_NAME) : NULL;
	d->op = nftnl_expr_is_set(e, NFTNL_EXPR_DYNSET_OP) ?
			nftnl_expr_get_u32(e, NFTNL_EXPR_DYNSET_OP) : NFT_DYNSET_OP_ADD;
	d->timeout_ms = nftnl_expr_is_set(e, NFTNL_EXPR_DYNSET_TIMEOUT) ?
				nftnl_expr_get_u64(e, NFTNL_EXPR_DYNSET_TIMEOUT) : 0;
	if (d->set)
		b->ndynsets++;
	return 0;
}

static int dynset_rule_cb(struct nftnl_rule *nr, void *data)
{
	struct build *b = data;

	b->cur = (struct dynset_ref){
		.family = (int)nftnl_rule_get_u32(nr, NFTNL_RULE_FAMILY),
		.table = nftnl_rule_get_str(nr, NFTNL_RULE_TABLE),
		.chain = nftnl_rule_get_str(nr, NFTNL_RULE_CHAIN),
		.handle = nftnl_rule_get_u64(nr, NFTNL_RULE_HANDLE),
	};
	if (!b->cur.table || !b->cur.chain)
		return 0;
	nftnl_expr_foreach(nr, dynset_cb, b);
	return b->error ? -1 : 0;
}

/* What the rules' dynsets (collected before the sets are read) do to s
 * from the packet path; dormant tables count too (waking one up is a
 * structural change anyway). */
static int note_packet_path(const struct build *b, struct nfo_set *s)
{
	s->pp_update_ms = UINT64_MAX;
	for (size_t i = 0; i < b->ndynsets; i++) {
		const struct dynset_ref *d = &b->dynsets[i];
		char buf[160];

		if (d->family != s->family || strcmp(d->table, s->table) || strcmp(d->set, s->name))
			continue;
		switch (d->op) {
		case NFT_DYNSET_OP_DELETE:
			s->pp_delete = true;
			break;
		case NFT_DYNSET_OP_UPDATE:
			/* an update also adds a missing element */
			if (d->timeout_ms)
				s->pp_update_ms = d->timeout_ms < s->pp_update_ms ? d->timeout_ms :
										    s->pp_update_ms;
			else
				s->pp_update_own = true;
			s->pp_add = true;
			break;
		default:
			s->pp_add = true; /* an existing element keeps its expiry */
			break;
		}
		if (s->pp_rule && d->op != NFT_DYNSET_OP_DELETE)
			continue;
		snprintf(buf, sizeof(buf), "chain %s handle %llu", d->chain,
			 (unsigned long long)d->handle);
		free(s->pp_rule);
		s->pp_rule = strdup(buf);
		if (!s->pp_rule)
			return -ENOMEM;
	}
	return 0;
}

static int set_cb(struct nftnl_set *ns, void *data)
{
	struct build *b = data;
	struct nfo_ruleset *rs = b->rs;
	int family = (int)nftnl_set_get_u32(ns, NFTNL_SET_FAMILY);
	const char *table = nftnl_set_get_str(ns, NFTNL_SET_TABLE);
	const struct nfo_nft_elems *es;
	struct nfo_nft_elems *own = NULL;
	struct nfo_set *s;

	if (!table || is_dormant(b, family, table))
		return 0;
	if (nfo_grow(&rs->sets, &b->set_cap, rs->nsets + 1, sizeof(*rs->sets)) < 0)
		goto oom;
	s = &rs->sets[rs->nsets++];
	*s = (struct nfo_set){ .family = family };
	s->table = strdup(table);
	s->name = strdup(nftnl_set_get_str(ns, NFTNL_SET_NAME));
	if (!s->table || !s->name)
		goto oom;
	s->flags = nftnl_set_is_set(ns, NFTNL_SET_FLAGS) ? nftnl_set_get_u32(ns, NFTNL_SET_FLAGS) : 0;
	s->key_len = nftnl_set_get_u32(ns, NFTNL_SET_KEY_LEN);
	s->is_map = s->flags & NFT_SET_MAP;
	s->named = !(s->flags & NFT_SET_ANONYMOUS);
	s->interval = s->flags & NFT_SET_INTERVAL;
	s->verdict_map = s->is_map && nftnl_set_is_set(ns, NFTNL_SET_DATA_TYPE) &&
			 nftnl_set_get_u32(ns, NFTNL_SET_DATA_TYPE) == NFT_DATA_VERDICT;
	s->timeout_ms = nftnl_set_is_set(ns, NFTNL_SET_TIMEOUT) ?
				nftnl_set_get_u64(ns, NFTNL_SET_TIMEOUT) : 0;
	s->loading = nfo_nft_dump_stream(b->dump, (uint32_t)family, table, s->name) != NULL;
	s->streamed = s->loading;

	es = nfo_nft_dump_elems(b->dump, (uint32_t)family, table, s->name);
	/* a dump made of libnftnl objects (tests): the set's own elements */
	if (!es && nfo_nft_elems_from_nftnl(ns, &own) < 0)
		goto oom;
	if (note_packet_path(b, s) < 0 || load_elems(s, es ? es : own, &b->dump->at) < 0)
		goto oom;
	nfo_nft_elems_free(&own);
	/* read while the kernel reorganized it (netlink/nft.c
	 * nfo_nft_elems_repeat): elements may be missing, which only a set
	 * whose elements change alone anyway can take (its lookups lead to
	 * drop only, or are UNKNOWN: restrict_sets_changing_alone) */
	if (es && es->repeated && !nfo_set_changes_alone(s)) {
		b->error = -EAGAIN;
		return -1;
	}
	return 0;
oom:
	nfo_nft_elems_free(&own);
	b->error = -ENOMEM;
	return -1;
}

static int flowtable_cb(struct nftnl_flowtable *nf, void *data)
{
	struct build *b = data;
	struct nfo_ruleset *rs = b->rs;
	int family = (int)nftnl_flowtable_get_u32(nf, NFTNL_FLOWTABLE_FAMILY);
	const char *table = nftnl_flowtable_get_str(nf, NFTNL_FLOWTABLE_TABLE);
	const char *const *devs;
	struct nfo_flowtable *f;

	if (!table || is_dormant(b, family, table))
		return 0;
	if (nfo_grow(&rs->flowtables, &b->ft_cap, rs->nflowtables + 1, sizeof(*rs->flowtables)) < 0)
		goto oom;
	f = &rs->flowtables[rs->nflowtables++];
	*f = (struct nfo_flowtable){ .family = family };
	f->table = strdup(table);
	f->name = strdup(nftnl_flowtable_get_str(nf, NFTNL_FLOWTABLE_NAME));
	if (!f->table || !f->name)
		goto oom;
	f->prio = nftnl_flowtable_is_set(nf, NFTNL_FLOWTABLE_PRIO) ?
			  (int32_t)nftnl_flowtable_get_s32(nf, NFTNL_FLOWTABLE_PRIO) : 0;
	devs = nftnl_flowtable_is_set(nf, NFTNL_FLOWTABLE_DEVICES) ?
		       nftnl_flowtable_get_array(nf, NFTNL_FLOWTABLE_DEVICES) : NULL;
	for (size_t i = 0; devs && devs[i]; i++) {
		char **p = realloc(f->devs, (f->ndevs + 1) * sizeof(*p));

		if (!p)
			goto oom;
		f->devs = p;
		f->devs[f->ndevs] = strdup(devs[i]);
		if (!f->devs[f->ndevs])
			goto oom;
		f->ndevs++;
	}
	return 0;
oom:
	b->error = -ENOMEM;
	return -1;
}

struct comment_ctx {
	char *s;
	bool oom;
};

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	const char *v = nftnl_udata_get(attr);
	uint8_t len = nftnl_udata_len(attr);
	struct comment_ctx *c = data;

	/* nft stores the comment NUL-terminated (nftnl_udata_put_strz) */
	if (nftnl_udata_type(attr) != NFTNL_UDATA_RULE_COMMENT || !len || v[len - 1] != '\0' ||
	    c->s)
		return 0;
	c->s = strdup(v);
	c->oom = !c->s;
	return c->oom ? -1 : 0;
}

/* The rule's comment (user data written by nft), for status and metrics;
 * malformed user data is not ours to judge: then no comment. */
static int rule_comment(struct nftnl_rule *nr, char **ret)
{
	struct comment_ctx c = {};
	uint32_t len = 0;
	const void *ud;

	if (!nftnl_rule_is_set(nr, NFTNL_RULE_USERDATA))
		return 0;
	ud = nftnl_rule_get_data(nr, NFTNL_RULE_USERDATA, &len);
	if (!ud || !len)
		return 0;
	(void)nftnl_udata_parse(ud, len, comment_cb, &c);
	if (c.oom)
		return -ENOMEM;
	*ret = c.s;
	return 0;
}

struct rule_ctx {
	struct build *b;
	struct nfo_chain *last;
	size_t *caps; /* per chain rules capacity */
};

static int rule_cb(struct nftnl_rule *nr, void *data)
{
	struct rule_ctx *rc = data;
	struct nfo_ruleset *rs = rc->b->rs;
	int family = (int)nftnl_rule_get_u32(nr, NFTNL_RULE_FAMILY);
	const char *table = nftnl_rule_get_str(nr, NFTNL_RULE_TABLE);
	const char *chain = nftnl_rule_get_str(nr, NFTNL_RULE_CHAIN);
	struct nfo_chain *c = rc->last;
	struct nfo_rule *r;
	size_t ci;
	int e;

	if (!table || !chain)
		return 0;
	if (!c || c->family != family || strcmp(c->table, table) || strcmp(c->name, chain))
		c = nfo_ruleset_find_chain(rs, family, table, chain);
	if (!c)
		return 0; /* dormant table, or a chain we did not see */
	rc->last = c;
	ci = (size_t)(c - rs->chains);
	if (nfo_grow(&c->rules, &rc->caps[ci], c->nrules + 1, sizeof(*c->rules)) < 0)
		goto oom;
	r = &c->rules[c->nrules];
	*r = (struct nfo_rule){
		.chain = c,
		.handle = nftnl_rule_get_u64(nr, NFTNL_RULE_HANDLE),
		.position = (unsigned)c->nrules,
	};
	c->nrules++;
	if (rule_comment(nr, &r->comment) < 0)
		goto oom;
	e = nfo_translate_rule(rs, nr, r);
	if (e < 0)
		goto oom;
	return 0;
oom:
	rc->b->error = -ENOMEM;
	return -1;
}

/* Jumps, gotos and verdict map entries name chains of their own table. */
static void link_targets(struct nfo_ruleset *rs)
{
	for (size_t i = 0; i < rs->nchains; i++) {
		struct nfo_chain *c = &rs->chains[i];

		for (size_t k = 0; k < c->nrules; k++) {
			struct nfo_rule *rule = &c->rules[k];

			for (size_t a = 0; a < rule->nalts; a++)
				rule->alts[a].target_chain = rule->alts[a].target ?
					nfo_ruleset_find_chain(rs, c->family, c->table,
							       rule->alts[a].target) : NULL;
			if (rule->verdict != NFO_VERDICT_JUMP && rule->verdict != NFO_VERDICT_GOTO)
				continue;
			rule->target_chain = rule->target ?
				nfo_ruleset_find_chain(rs, c->family, c->table, rule->target) : NULL;
		}
	}
}

/* ---- lookups into sets whose elements change alone ------------------------------------ */

/*
 * Whether rule r reads set membership only toward DROP: a lookup that is
 * not inverted, in a rule that drops and has no effect the membership could
 * decide. Membership then only turns "go on" into a final drop at r, so
 * nftables with more elements drops a superset of the packets, whatever the
 * jumps and returns around r; a drop in the fast path made with a subset of
 * the kernel's elements is one nftables makes too (docs/SEMANTICS.md,
 * traps: sets whose elements change alone).
 */
static bool reads_toward_drop(const struct nfo_rule *r, const struct nfo_pred *p)
{
	/* Not a reject: where the fast path lacks an element, a later drop
	 * would be silent where nftables answers. */
	return !p->ref.invert && r->verdict == NFO_VERDICT_DROP && !r->effect && !r->nalts &&
	       !r->reject;
}

static int set_reason(char **dst, const char *text)
{
	char *t = strdup(text);

	if (!t)
		return -ENOMEM;
	free(*dst);
	*dst = t;
	return 0;
}

/* Turns the lookups of s into UNKNOWN predicates saying why. */
static int refuse_lookups(struct nfo_ruleset *rs, struct nfo_set *s, const char *why)
{
	char what[256];
	int r;

	snprintf(what, sizeof(what), "set %s: %s", s->name, why);
	for (size_t ci = 0; ci < rs->nchains; ci++)
		for (size_t k = 0; k < rs->chains[ci].nrules; k++) {
			struct nfo_rule *rule = &rs->chains[ci].rules[k];

			for (size_t i = 0; i < rule->npreds; i++) {
				struct nfo_pred *p = &rule->preds[i];

				if (p->dim != NFO_PDIM_SETREF || p->ref.set != s)
					continue;
				nfo_vset_free(&p->set);
				p->dim = NFO_PDIM_UNKNOWN;
				p->ref = (struct nfo_setref){};
				if ((r = set_reason(&p->reason, what)) < 0)
					return r;
				if (rule->offload == NFO_OFFLOAD_FULL) {
					rule->offload = NFO_OFFLOAD_PARTIAL;
					if ((r = set_reason(&rule->reason, what)) < 0)
						return r;
				}
			}
		}
	free(s->why);
	s->why = strdup(why);
	s->usable = false;
	return s->why ? 0 : -ENOMEM;
}

/* Notes on the rules that read s (toward drop) what the fast path makes of it. */
static int note_lookups(struct nfo_ruleset *rs, const struct nfo_set *s)
{
	char note[320];
	int r;

	if (s->pp_add)
		snprintf(note, sizeof(note),
			 "set %s is also filled by the packet path (%s): the fast path drops on the "
			 "elements nft added%s; it may pass packets nftables drops",
			 s->name, s->pp_rule ? s->pp_rule : "a rule",
			 (s->flags & NFT_SET_TIMEOUT) ? ", each until shortly before it expires" : "");
	else if ((s->flags & NFT_SET_TIMEOUT) && s->interval)
		snprintf(note, sizeof(note),
			 "ranges of set %s expire: the fast path drops on each until shortly "
			 "before nftables expires it%s", s->name,
			 s->timeout_ms ? " (the first address of a range after no other: "
					 "nftables decides)" : "");
	else if (s->flags & NFT_SET_TIMEOUT)
		snprintf(note, sizeof(note),
			 "elements of set %s expire: the fast path drops on each until shortly "
			 "before nftables expires it", s->name);
	else
		snprintf(note, sizeof(note),
			 "set %s was large: the fast path went live while its elements were read, "
			 "dropping on those read so far", s->name);
	for (size_t ci = 0; ci < rs->nchains; ci++)
		for (size_t k = 0; k < rs->chains[ci].nrules; k++) {
			struct nfo_rule *rule = &rs->chains[ci].rules[k];

			for (size_t i = 0; i < rule->npreds; i++)
				if (rule->preds[i].dim == NFO_PDIM_SETREF &&
				    rule->preds[i].ref.set == s) {
					if ((r = set_reason(&rule->note, note)) < 0)
						return r;
					break;
				}
		}
	return 0;
}

/* The first rule of rs that looks s up otherwise than toward drop, or NULL. */
static const struct nfo_rule *read_otherwise(const struct nfo_ruleset *rs, const struct nfo_set *s)
{
	for (size_t ci = 0; ci < rs->nchains; ci++)
		for (size_t k = 0; k < rs->chains[ci].nrules; k++) {
			const struct nfo_rule *rule = &rs->chains[ci].rules[k];

			for (size_t p = 0; p < rule->npreds; p++)
				if (rule->preds[p].dim == NFO_PDIM_SETREF &&
				    rule->preds[p].ref.set == s &&
				    !reads_toward_drop(rule, &rule->preds[p]))
					return rule;
		}
	return NULL;
}

bool nfo_ruleset_set_read_toward_drop(const struct nfo_ruleset *rs, const struct nfo_set *s)
{
	return !read_otherwise(rs, s);
}

/*
 * Sets whose elements go or come without a notification (timeouts, the
 * packet path) are held in the fast path with fewer elements than the
 * kernel has at any moment: sound only where membership leads toward DROP
 * (reads_toward_drop). The translator made their lookups set references;
 * where any rule reads such a set otherwise, all its lookups become
 * UNKNOWN.
 */
static int restrict_sets_changing_alone(struct nfo_ruleset *rs)
{
	int r;

	for (size_t i = 0; i < rs->nsets; i++) {
		struct nfo_set *s = &rs->sets[i];
		const struct nfo_rule *bad;

		if (!s->usable || !nfo_set_changes_alone(s))
			continue;
		bad = read_otherwise(rs, s);
		if (bad) {
			char why[200];

			snprintf(why, sizeof(why),
				 "elements %s, and a rule does not only drop "
				 "on membership (chain %s handle %llu)",
				 s->pp_add ? "are added by the packet path without notification" :
				 s->loading ? "are still being read" : "expire without notification",
				 bad->chain->name, (unsigned long long)bad->handle);
			r = refuse_lookups(rs, s, why);
		} else {
			s->drop_only = true;
			r = note_lookups(rs, s);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- limit statements ------------------------------------------------------------------ */

/*
 * Whether every packet that reaches rule k of c is blocked whether its
 * limit holds or not: the rule drops or rejects (an ICMP reject; a TCP
 * reset is an effect), and so does the rest of the chain, a base chain
 * with a drop policy (nothing jumps to a base chain, so its end is its
 * policy), through rules without effects, jumps or verdict maps. The
 * limit then only decides which blocked packets nftables answers, which
 * is what a reject leaf bounds (SEMANTICS.md section 4.1).
 */
static bool blocked_either_way(const struct nfo_chain *c, size_t k)
{
	const struct nfo_rule *r = &c->rules[k];

	if (!c->base || !c->policy_drop || r->effect || r->nalts || r->verdict != NFO_VERDICT_DROP)
		return false;
	for (size_t i = k + 1; i < c->nrules; i++) {
		const struct nfo_rule *n = &c->rules[i];

		if (n->effect || n->nalts ||
		    (n->verdict != NFO_VERDICT_CONTINUE && n->verdict != NFO_VERDICT_DROP))
			return false;
	}
	return true;
}

/* The translator made each limit an UNKNOWN predicate; where it may
 * decide more than an answer it is the effect it is, from that statement
 * on. Last rules first: a limit settled as an effect disqualifies the
 * limits before it. */
static int settle_limits(struct nfo_ruleset *rs)
{
	for (size_t ci = 0; ci < rs->nchains; ci++) {
		struct nfo_chain *c = &rs->chains[ci];

		for (size_t k = c->nrules; k-- > 0;) {
			struct nfo_rule *r = &c->rules[k];
			size_t at;
			int e;

			if (!r->limit_at || blocked_either_way(c, k))
				continue;
			/* as the translator makes any effect: the statement
			 * leaves no predicate, the ones after it follow it */
			at = r->limit_at - 1;
			nfo_vset_free(&r->preds[at].set);
			free(r->preds[at].reason);
			memmove(&r->preds[at], &r->preds[at + 1],
				(r->npreds - at - 1) * sizeof(*r->preds));
			r->npreds--;
			for (size_t i = at; i < r->npreds; i++)
				r->preds[i].before_effect = false;
			r->limit_at = 0;
			r->effect = true;
			r->offload = NFO_OFFLOAD_NONE;
			e = set_reason(&r->reason, "limit statement");
			if (e < 0)
				return e;
		}
	}
	return 0;
}

int nfo_ruleset_new(struct nfo_ruleset **ret, const struct nfo_nft_dump *dump)
{
	struct build b = { .dump = dump };
	struct rule_ctx rc = { .b = &b };
	int r = 0;

	b.rs = calloc(1, sizeof(*b.rs));
	if (!b.rs)
		return -ENOMEM;
	b.rs->genid = dump->genid;

	nftnl_table_list_foreach(dump->tables, table_cb, &b);
	if (!b.error)
		nftnl_chain_list_foreach(dump->chains, chain_cb, &b);
	if (!b.error)
		nftnl_rule_list_foreach(dump->rules, dynset_rule_cb, &b);
	if (!b.error)
		nftnl_set_list_foreach(dump->sets, set_cb, &b);
	if (!b.error && dump->flowtables)
		nftnl_flowtable_list_foreach(dump->flowtables, flowtable_cb, &b);
	if (!b.error) {
		rc.caps = calloc(b.rs->nchains ? b.rs->nchains : 1, sizeof(*rc.caps));
		if (!rc.caps)
			b.error = -ENOMEM;
		else
			nftnl_rule_list_foreach(dump->rules, rule_cb, &rc);
		free(rc.caps);
	}
	if (b.error) {
		r = b.error;
		goto out;
	}
	link_targets(b.rs);
	r = settle_limits(b.rs);
	if (r >= 0)
		r = restrict_sets_changing_alone(b.rs);
	if (r < 0)
		goto out;
	*ret = TAKE_PTR(b.rs);
out:
	free(b.dynsets);
	for (size_t i = 0; i < b.ndormant; i++)
		free(b.dormant[i]);
	free(b.dormant);
	free(b.dormant_family);
	nfo_ruleset_free(&b.rs);
	return r;
}
