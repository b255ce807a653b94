// SPDX-License-Identifier: GPL-2.0-only
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter/nf_tables.h>

#include "encode.h"
#include "plan.h"
#include "setdelta.h"
#include "common/util.h"

/* What the encoding of one image needs besides the image. */
struct enc {
	struct nfo_image *img;
	const struct nfo_plan *plan;
	const uint32_t *slots;
};

/* A plan reference as the fast path reads it: absolute node ids, drops
 * crediting counter slots. */
static uint32_t conv(const struct enc *x, uint32_t ref)
{
	if ((ref & NFO_REF_KIND_MASK) == NFO_REF_NODE) {
		assert(ref < x->plan->nnodes);
		return NFO_REF_NODE | (x->img->node_base + ref);
	}
	if (ref & NFO_REF_DROP_BIT) {
		uint32_t t = ref & NFO_REF_SLOT_MASK;

		assert(t < x->plan->ntargets);
		assert(x->slots[t] <= NFO_REF_SLOT_MASK);
		return NFO_REF_DROP(x->slots[t]) | (ref & (NFO_REF_REJECT_BIT | NFO_REF_RESET_BIT));
	}
	/* Only service plans (bpf/cgroup) accept with a rule to credit; their
	 * slots are few (service-loader.c), well within the accept's mask. */
	if (ref & NFO_REF_ACCEPT_BIT) {
		assert((ref & NFO_REF_SLOT_MASK) < x->plan->ntargets);
		assert(x->slots[ref & NFO_REF_SLOT_MASK] <= NFO_REF_SLOT_MASK);
		return NFO_REF_ACCEPT(x->slots[ref & NFO_REF_SLOT_MASK]);
	}
	return NFO_REF_PASS;
}

static bool is_lpm_dim(int dim)
{
	return dim == NFO_DIM_SADDR4 || dim == NFO_DIM_DADDR4 || dim == NFO_DIM_SADDR6 ||
	       dim == NFO_DIM_DADDR6;
}

/* Bits the fast path reads through radix tables: one table for 8, two
 * levels for 16. 1-bit dimensions (L2HOST, set membership) use 8. */
static unsigned dim_bits(int dim)
{
	switch (dim) {
	case NFO_DIM_ETHTYPE:
	case NFO_DIM_TH0:
	case NFO_DIM_TH2:
	case NFO_DIM_TCPMSS:
		return 16;
	}
	return 8;
}

static uint32_t ref_at(const struct nfo_plan_node *nd, nfo_u128 v)
{
	size_t lo = 0, hi = nd->nedges;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (v < nd->edges[mid].lo)
			hi = mid;
		else if (v > nd->edges[mid].hi)
			lo = mid + 1;
		else
			return nd->edges[mid].ref;
	}
	/* Values past the dimension's width (2..255 of a 1-bit dimension)
	 * never occur in packets. */
	return NFO_REF_PASS;
}

/* EtherTypes as the fast path compares them (bpf/parser.h NFO_ETH_P_*). */
#define ETH_IP 0x0800
#define ETH_IPV6 0x86dd

/* Where the walk from ref goes for EtherType t when ref's node tests the
 * EtherType, else ref: the fast path starts IP frames there (every packet it
 * parses has an EtherType), one node and two radix levels later. */
static uint32_t ref_by_ethtype(const struct nfo_plan *plan, uint32_t ref, uint32_t t)
{
	const struct nfo_plan_node *nd;

	if ((ref & NFO_REF_KIND_MASK) != NFO_REF_NODE || ref == 0 || ref >= plan->nnodes)
		return ref;
	nd = &plan->nodes[ref];
	return nd->dim == NFO_DIM_ETHTYPE ? ref_at(nd, t) : ref;
}

/* Returns the table's index within the image (not absolute). */
static int new_table(struct nfo_image *img, uint32_t *ret)
{
	int r = nfo_grow(&img->radix, &img->radix_cap, img->nradix + NFO_RADIX_FANOUT,
			 sizeof(*img->radix));

	if (r < 0)
		return r;
	*ret = (uint32_t)(img->nradix / NFO_RADIX_FANOUT);
	img->nradix += NFO_RADIX_FANOUT;
	return 0;
}

static int encode_radix(struct enc *x, const struct nfo_plan_node *nd, uint32_t *ret_table)
{
	struct nfo_image *img = x->img;
	unsigned bits = dim_bits(nd->dim);
	uint32_t top;
	int r = new_table(img, &top);

	if (r < 0)
		return r;
	*ret_table = img->table_base + top;
	if (bits == 8) {
		for (uint32_t v = 0; v < NFO_RADIX_FANOUT; v++)
			img->radix[top * NFO_RADIX_FANOUT + v] = conv(x, ref_at(nd, v));
		return 0;
	}
	for (uint32_t h = 0; h < NFO_RADIX_FANOUT; h++) {
		nfo_u128 lo = (nfo_u128)h << 8, hi = lo | 0xff;
		uint32_t first = ref_at(nd, lo), sub;
		bool uniform = true;

		/* Uniform iff one edge covers the whole block. */
		for (size_t k = 0; k < nd->nedges; k++) {
			if (nd->edges[k].hi < lo || nd->edges[k].lo > hi)
				continue;
			if (nd->edges[k].lo > lo || nd->edges[k].hi < hi)
				uniform = false;
			break;
		}
		if (uniform) {
			img->radix[top * NFO_RADIX_FANOUT + h] = conv(x, first);
			continue;
		}
		r = new_table(img, &sub);
		if (r < 0)
			return r;
		for (uint32_t l = 0; l < NFO_RADIX_FANOUT; l++)
			img->radix[sub * NFO_RADIX_FANOUT + l] = conv(x, ref_at(nd, lo | l));
		img->radix[top * NFO_RADIX_FANOUT + h] = NFO_REF_TABLE | (img->table_base + sub);
	}
	return 0;
}

/* Calls cb for each prefix (value, length) exactly covering [lo, hi]. */
static int for_each_prefix(nfo_u128 lo, nfo_u128 hi, unsigned width,
			   int (*cb)(nfo_u128 v, unsigned plen, void *data), void *data)
{
	assert(lo <= hi && width >= 1 && width <= 128);
	for (;;) {
		nfo_u128 last;
		unsigned k = 0;
		int r;

		/* the largest aligned block starting at lo that ends by hi */
		while (k < width) {
			nfo_u128 mask = nfo_u128_max(k + 1);

			if ((lo & mask) || (lo | mask) > hi)
				break;
			k++;
		}
		r = cb(lo, width - k, data);
		if (r < 0)
			return r;
		last = lo | (k ? nfo_u128_max(k) : 0);
		if (last >= hi)
			return 0;
		lo = last + 1;
	}
}

struct lpm_ctx {
	struct nfo_image *img;
	uint32_t node; /* absolute */
	uint32_t ref;
	bool v6;
	size_t count;
	bool counting;
};

static int lpm_emit(nfo_u128 v, unsigned plen, void *data)
{
	struct lpm_ctx *c = data;
	struct nfo_image *img = c->img;
	uint8_t node[4] = { c->node >> 24, c->node >> 16, c->node >> 8, c->node };

	if (c->counting) {
		c->count++;
		return 0;
	}
	if (!c->v6) {
		struct nfo_image_lpm4 *e;

		if (nfo_grow(&img->lpm4, &img->lpm4_cap, img->nlpm4 + 1, sizeof(*img->lpm4)) < 0)
			return -ENOMEM;
		e = &img->lpm4[img->nlpm4++];
		memset(e, 0, sizeof(*e));
		e->key.prefixlen = 32 + plen;
		memcpy(e->key.node, node, 4);
		nfo_u128_to_be(v, e->key.addr, 4);
		e->ref = c->ref;
	} else {
		struct nfo_image_lpm6 *e;

		if (nfo_grow(&img->lpm6, &img->lpm6_cap, img->nlpm6 + 1, sizeof(*img->lpm6)) < 0)
			return -ENOMEM;
		e = &img->lpm6[img->nlpm6++];
		memset(e, 0, sizeof(*e));
		e->key.prefixlen = 32 + plen;
		memcpy(e->key.node, node, 4);
		nfo_u128_to_be(v, e->key.addr, 16);
		e->ref = c->ref;
	}
	return 0;
}

/*
 * Dimensions whose nodes bpf/classify.h walks with nfo_node_walk() or
 * nfo_addr4_walk(), so may be small (NFO_NODE_SMALL), and those
 * nfo_guard_value() reads, so may be guards. A dimension added later stays
 * a radix node and no guard until the walk reads it so.
 */
static bool small_dim(int dim, bool guard)
{
	switch (dim) {
	case NFO_DIM_ETHTYPE:
	case NFO_DIM_L2HOST:
	case NFO_DIM_L4PROTO:
	case NFO_DIM_NEXTHDR:
	case NFO_DIM_TH0:
	case NFO_DIM_TH2:
	case NFO_DIM_TCPFLAGS:
	case NFO_DIM_SADDR4:
	case NFO_DIM_DADDR4:
		return true;
	case NFO_DIM_CTSTATE:
		return !guard; /* its value needs a lookup first */
	}
	return !guard && dim >= NFO_DIM_SET0 && dim <= NFO_DIM_SET_LAST;
}

/* Makes ref the default of a small node; false if it has another. */
static bool small_dflt(uint32_t *dflt, bool *have, uint32_t ref)
{
	if (*have && *dflt != ref)
		return false;
	*dflt = ref;
	*have = true;
	return true;
}

/*
 * Whether every value of nd's dimension (width bits) but at most
 * NFO_SMALL_MAX single ones leads to one reference; if so fills n's in-line
 * table (NFO_NODE_SMALL). Values no edge covers pass, as ref_at() has them.
 * be: the values are IPv4 addresses, held as network order words.
 */
static bool encode_small(const struct enc *x, const struct nfo_plan_node *nd, unsigned width,
			 bool be, struct nfo_node *n)
{
	nfo_u128 max = nfo_u128_max(width), next = 0;
	uint32_t dflt = NFO_REF_PASS, cnt = 0, val[NFO_SMALL_MAX] = {}, ref[NFO_SMALL_MAX] = {};
	bool have = false, covered = false;

	if (!small_dim(nd->dim, false))
		return false;
	/* edges: sorted and disjoint (ref_at()) */
	for (size_t k = 0; k < nd->nedges && !covered; k++) {
		const struct nfo_plan_edge *e = &nd->edges[k];

		if (e->hi > max)
			return false;
		if (e->lo > next && !small_dflt(&dflt, &have, NFO_REF_PASS))
			return false;
		if (e->lo != e->hi && !small_dflt(&dflt, &have, e->ref))
			return false;
		covered = e->hi == max;
		next = e->hi + 1;
	}
	if (!covered && !small_dflt(&dflt, &have, NFO_REF_PASS))
		return false;
	if (!have)
		return false; /* every value a single one: never at 8 bits or more */
	for (size_t k = 0; k < nd->nedges; k++) {
		const struct nfo_plan_edge *e = &nd->edges[k];

		if (e->lo != e->hi || e->ref == dflt)
			continue;
		if (cnt == NFO_SMALL_MAX)
			return false;
		if (be)
			nfo_u128_to_be(e->lo, (uint8_t *)&val[cnt], 4);
		else
			val[cnt] = (uint32_t)e->lo;
		ref[cnt++] = conv(x, e->ref);
	}
	n->dflt = conv(x, dflt);
	for (uint32_t i = 0; i < NFO_SMALL_MAX; i++) {
		n->val[i] = i < cnt ? val[i] : cnt ? val[0] : 0;
		n->ref[i] = i < cnt ? ref[i] : cnt ? ref[0] : n->dflt;
	}
	n->flags |= NFO_NODE_SMALL;
	return true;
}

/* Whether nd fits an nfo_exact4 whose default reference is dflt (the plan's:
 * every address no other edge names goes there); fills xe. An edge of a few
 * addresses takes one entry each: a host's adjacent addresses (10.0.0.1 and
 * 10.0.0.2) make one edge of the local-address gate, which would otherwise
 * cost every packet a trie lookup. */
static bool encode_exact4(const struct enc *x, const struct nfo_plan_node *nd, uint32_t dflt,
			  struct nfo_exact4 *xe)
{
	memset(xe, 0, sizeof(*xe));
	xe->dflt = conv(x, dflt);
	for (size_t k = 0; k < nd->nedges; k++) {
		const struct nfo_plan_edge *e = &nd->edges[k];

		if (e->ref == dflt)
			continue;
		if (e->hi < e->lo || e->hi - e->lo >= NFO_EXACT_MAX - xe->n)
			return false;
		for (nfo_u128 a = e->lo;; a++) {
			nfo_u128_to_be(a, (uint8_t *)&xe->addr[xe->n], 4);
			xe->ref[xe->n++] = conv(x, e->ref);
			if (a == e->hi)
				break;
		}
	}
	return true;
}

/* An address node: LPM entries keyed by id, or for a small IPv4 node of
 * single addresses, n flagged NFO_NODE_EXACT and xe filled. */
static int encode_lpm(struct enc *x, const struct nfo_plan_node *nd, uint32_t id,
		      struct nfo_node *n, struct nfo_exact4 *xe)
{
	bool v6 = nd->dim == NFO_DIM_SADDR6 || nd->dim == NFO_DIM_DADDR6;
	unsigned width = v6 ? 128 : 32;
	struct lpm_ctx c = { .img = x->img, .node = id, .v6 = v6 };
	size_t best = 0, best_count = 0;
	int r;

	memset(xe, 0, sizeof(*xe));
	if (!v6 && encode_small(x, nd, width, true, n))
		return 0;
	/* The reference needing the most prefixes becomes the node's default
	 * entry (prefix length 32: the node id alone); the others override
	 * it with longer prefixes. */
	for (size_t i = 0; i < nd->nedges; i++) {
		size_t total = 0;

		for (size_t k = 0; k < nd->nedges; k++) {
			if (nd->edges[k].ref != nd->edges[i].ref)
				continue;
			c.counting = true;
			c.count = 0;
			for_each_prefix(nd->edges[k].lo, nd->edges[k].hi, width, lpm_emit, &c);
			total += c.count;
		}
		if (total > best_count) {
			best_count = total;
			best = i;
		}
		if (nd->nedges > 64)
			break; /* good enough for big nodes: first edge's reference */
	}
	c.counting = false;
	if (!v6 && encode_exact4(x, nd, nd->nedges ? nd->edges[best].ref : NFO_REF_PASS, xe)) {
		n->flags |= NFO_NODE_EXACT;
		return 0;
	}
	memset(xe, 0, sizeof(*xe));
	c.ref = conv(x, nd->nedges ? nd->edges[best].ref : NFO_REF_PASS);
	r = lpm_emit(0, 0, &c);
	if (r < 0)
		return r;
	for (size_t k = 0; k < nd->nedges; k++) {
		if (nd->edges[k].ref == nd->edges[best].ref)
			continue;
		c.ref = conv(x, nd->edges[k].ref);
		r = for_each_prefix(nd->edges[k].lo, nd->edges[k].hi, width, lpm_emit, &c);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- named sets ------------------------------------------------------------- */

static int set_push(struct nfo_image_set *s, const void *entry)
{
	size_t esz = nfo_image_set_entry_size(s);
	int r = nfo_grow(&s->entries, &s->cap, s->n + 1, esz);

	if (r < 0)
		return r;
	memcpy(s->entries + s->n * esz, entry, esz);
	s->n++;
	return 0;
}

struct lpm_set_ctx {
	struct nfo_image_set *s;
	unsigned width;
};

static int set_prefix_emit(nfo_u128 v, unsigned plen, void *data)
{
	struct lpm_set_ctx *c = data;
	struct nfo_image_setlpm e = { .key.prefixlen = 32 + plen };

	/* the store (key.store) is the loader's to fill in */
	/* the fast path puts the field's bytes first in key[] */
	nfo_u128_to_be(v << (128 - c->width), e.key.key, 16);
	return set_push(c->s, &e);
}

struct timed_ctx {
	struct nfo_image_set *s;
	unsigned width;
	uint64_t expires;
	nfo_u128 lo;
	uint64_t lo_expires;
};

static int timed_prefix_emit(nfo_u128 v, unsigned plen, void *data)
{
	struct timed_ctx *c = data;
	struct nfo_image_setlpm e = { .key.prefixlen = 32 + plen, .expires = c->expires };

	/* a range's first prefix that is its start key alone carries the
	 * start key's expiry itself */
	if (plen == c->width && v == c->lo)
		e.expires = c->lo_expires;
	nfo_u128_to_be(v << (128 - c->width), e.key.key, 16);
	return set_push(c->s, &e);
}

static int cmp_setlpm(const void *a, const void *b);

int nfo_image_timed_ranges(const struct nfo_tival *iv, size_t n, unsigned width,
			   struct nfo_image_set *s)
{
	int r = 0;

	s->lpm = true;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct timed_ctx c = { .s = s, .width = width, .expires = iv[i].expires,
				       .lo = iv[i].lo, .lo_expires = iv[i].lo_expires };

		/* The ranges are disjoint, so are their prefixes: a longest
		 * match finds the one range holding the key. The start key
		 * alone may expire earlier (import.c, collect_timed): one
		 * longer prefix, nested in the range's first, says so; the
		 * lookup finds it for that key only. */
		r = for_each_prefix(iv[i].lo, iv[i].hi, width, timed_prefix_emit, &c);
		if (r == 0 && iv[i].lo_expires != iv[i].expires && (iv[i].lo & 1) == 0 &&
		    iv[i].hi != iv[i].lo) {
			struct nfo_image_setlpm e = { .key.prefixlen = 32 + width,
						      .expires = iv[i].lo_expires };

			nfo_u128_to_be(iv[i].lo << (128 - width), e.key.key, 16);
			r = set_push(s, &e);
		}
	}
	if (r == 0 && s->n)
		qsort(s->entries, s->n, sizeof(struct nfo_image_setlpm), cmp_setlpm);
	return r;
}

static int cmp_setkey(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct nfo_setkey));
}

static int cmp_setlpm(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct nfo_setlpm_key));
}

/* Slot k of the image: the spec and the sorted entries for plan set ps. */
static int encode_set(struct nfo_image *img, const struct nfo_plan_set *ps, int k)
{
	static const struct nfo_sorted_pending none;
	const struct nfo_set *set = ps->set;
	struct nfo_image_set *s = &img->sets[k];
	int r = 0;

	/* ruleset.c keeps no keys of a set whose key does not fit */
	assert(ps->ndims >= 1 && ps->ndims <= NFO_SET_MAX_FIELDS);
	assert(set->key_len <= (set->interval ? 16 : NFO_SET_KEY_LEN) || set->nkeys == 0);
	/* ranges that expire come as tivals, never as expires */
	assert(!set->expires || !set->interval);
	s->spec.nfields = ps->ndims;
	s->spec.kind = nfo_image_store_kind(set->interval, set->key_len);
	s->spec.key_len = (uint8_t)set->key_len;
	s->spec.has_exp = set->expires || (set->flags & NFT_SET_TIMEOUT);
	memcpy(s->spec.dims, ps->dims, ps->ndims);
	s->lpm = set->interval;
	if (set->interval && (set->flags & NFT_SET_TIMEOUT))
		return nfo_image_timed_ranges(set->tivals, set->ntivals, set->key_len * 8, s);
	if (set->interval) {
		struct lpm_set_ctx c = { .s = s, .width = set->key_len * 8 };

		for (size_t i = 0; i < set->elems.n && r == 0; i++)
			r = for_each_prefix(set->elems.iv[i].lo, set->elems.iv[i].hi, c.width,
					    set_prefix_emit, &c);
		if (r == 0 && s->n)
			qsort(s->entries, s->n, sizeof(struct nfo_image_setlpm), cmp_setlpm);
		return r;
	}
	/* Operations applied in place are kept aside (kpend) and folded into
	 * keys later: the model's keys are keys minus kpend.del plus
	 * kpend.add. A generation written whole with the same plan (an
	 * element update that reads a set, or outgrew the maps) must write
	 * those, or a key deleted in place comes back into the shared store.
	 * Keys and their expiries change together, and a fold under way has
	 * keys set aside: the daemon folds those first (nothing pending). */
	if (set->kfold.active || (set->expires && (set->kpend.nadd || set->kpend.ndel)))
		return -EINVAL;
	for (size_t i = 0; i < set->nkeys && r == 0; i++) {
		struct nfo_image_setkey e = {};
		const uint8_t *key = set->keys + i * set->key_len;

		if (set->kpend.ndel && nfo_sorted_has(set->kpend.del, set->kpend.ndel, &none,
						      set->key_len, key))
			continue;
		/* nft's key bytes are already in the concatenation layout; a
		 * single field shorter than 4 bytes is zero-padded, as the fast
		 * path builds it */
		memcpy(e.key.key, key, set->key_len);
		e.expires = set->expires ? set->expires[i] : 0;
		r = set_push(s, &e);
	}
	for (size_t i = 0; i < set->kpend.nadd && r == 0; i++) {
		struct nfo_image_setkey e = {};

		memcpy(e.key.key, set->kpend.add + i * set->key_len, set->key_len);
		r = set_push(s, &e);
	}
	if (r == 0 && s->n)
		qsort(s->entries, s->n, sizeof(struct nfo_image_setkey), cmp_setkey);
	return r;
}

/* ---- changes of a set's elements ------------------------------------------------- */

/* Entries in both a and b (sorted) are removed from both. */
static void cancel_common(struct nfo_image_set *a, struct nfo_image_set *b)
{
	size_t esz = nfo_image_set_entry_size(a), i = 0, j = 0, na = 0, nb = 0;

	while (i < a->n || j < b->n) {
		int c = i >= a->n ? 1 : j >= b->n ? -1 :
			memcmp(a->entries + i * esz, b->entries + j * esz, esz);

		if (c == 0) {
			i++;
			j++;
		} else if (c < 0) {
			memmove(a->entries + na++ * esz, a->entries + i++ * esz, esz);
		} else {
			memmove(b->entries + nb++ * esz, b->entries + j++ * esz, esz);
		}
	}
	a->n = na;
	b->n = nb;
}

static int ranges_entries(const struct nfo_set *set, const struct nfo_ival *iv, size_t n,
			  struct nfo_image_set *s)
{
	struct lpm_set_ctx c = { .s = s, .width = set->key_len * 8 };
	int r = 0;

	s->lpm = true;
	for (size_t i = 0; i < n && r == 0; i++)
		r = for_each_prefix(iv[i].lo, iv[i].hi, c.width, set_prefix_emit, &c);
	if (r == 0 && s->n)
		qsort(s->entries, s->n, sizeof(struct nfo_image_setlpm), cmp_setlpm);
	return r;
}

static int keys_entries(const struct nfo_set *set, const uint8_t *keys, const uint64_t *expires,
			size_t n, struct nfo_image_set *s)
{
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++) {
		/* expires NULL: never (deletes, and sets whose elements do
		 * not expire) */
		struct nfo_image_setkey e = { .expires = expires ? expires[i] : 0 };

		memcpy(e.key.key, keys + i * set->key_len, set->key_len);
		r = set_push(s, &e);
	}
	/* keys are sorted by memcmp and the store is 0 in every entry: the
	 * entries are sorted too */
	return r;
}

/* An expiry as a time: 0 is never, later than any. */
static bool sooner(uint64_t a, uint64_t b)
{
	return a && (!b || a < b);
}

/*
 * A change of an interval set whose elements expire (c->*_tiv), as LPM
 * entries: those of the ranges before (deleted, updated) and after (added,
 * updated), compared by key. A key only before is deleted, only after
 * added; a key on both sides with another expiry is rewritten in place (one
 * update of the trie node, which a concurrent lookup sees whole), sooner
 * (present for less time, like a removal) or later (like an addition):
 * never deleted and added again, which would leave the key absent in
 * between, or, in update_in_place()'s order (adds first), absent after.
 * Any of the results may be NULL.
 */
static int timed_delta(const struct nfo_set *set, const struct nfo_set_change *c,
		       struct nfo_image_set *ret_add, struct nfo_image_set *ret_del,
		       struct nfo_image_set *ret_sooner, struct nfo_image_set *ret_later)
{
	struct nfo_image_set o = {}, n = {}, add = { .lpm = true }, del = { .lpm = true },
			     sn = { .lpm = true }, lt = { .lpm = true };
	const size_t esz = sizeof(struct nfo_image_setlpm), ksz = sizeof(struct nfo_setlpm_key);
	unsigned width = set->key_len * 8;
	size_t i = 0, j = 0;
	int r;

	r = nfo_image_timed_ranges(c->del_tiv, c->ndel_tiv, width, &o);
	if (r == 0)
		r = nfo_image_timed_ranges(c->upd_tiv_old, c->nupd_tiv, width, &o);
	if (r == 0)
		r = nfo_image_timed_ranges(c->add_tiv, c->nadd_tiv, width, &n);
	if (r == 0)
		r = nfo_image_timed_ranges(c->upd_tiv, c->nupd_tiv, width, &n);
	/* the ranges of each side are disjoint, so are their keys */
	while (r == 0 && (i < o.n || j < n.n)) {
		const struct nfo_image_setlpm *a = (const void *)(o.entries + i * esz),
					      *b = (const void *)(n.entries + j * esz);
		int cmp = i >= o.n ? 1 : j >= n.n ? -1 : memcmp(&a->key, &b->key, ksz);

		if (cmp < 0) {
			r = set_push(&del, a);
			i++;
		} else if (cmp > 0) {
			r = set_push(&add, b);
			j++;
		} else {
			if (a->expires != b->expires)
				r = set_push(sooner(b->expires, a->expires) ? &sn : &lt, b);
			i++;
			j++;
		}
	}
	free(o.entries);
	free(n.entries);
	if (r < 0 || !ret_add)
		free(add.entries);
	if (r < 0 || !ret_del)
		free(del.entries);
	if (r < 0 || !ret_sooner)
		free(sn.entries);
	if (r < 0 || !ret_later)
		free(lt.entries);
	if (r < 0)
		return r;
	if (ret_add)
		*ret_add = add;
	if (ret_del)
		*ret_del = del;
	if (ret_sooner)
		*ret_sooner = sn;
	if (ret_later)
		*ret_later = lt;
	return 0;
}

int nfo_image_set_delta(const struct nfo_plan_set *ps, const struct nfo_set_change *c,
			struct nfo_image_set *ret_add, struct nfo_image_set *ret_del)
{
	const struct nfo_set *set = ps->set;
	struct nfo_image_set add = { .lpm = set->interval }, del = { .lpm = set->interval };
	int r;

	/* an added key of a set whose elements expire needs its expiry
	 * (nfo_set_add_read(), nfo_set_apply_expiring(), nfo_set_replace());
	 * a deleted one none */
	if (set->expires && (set->interval || (c->nadd_keys && !c->add_expires)))
		return -EINVAL;
	if (set->interval && (set->flags & NFT_SET_TIMEOUT))
		return c->nadd_iv + c->ndel_iv ? -EINVAL : timed_delta(set, c, ret_add, ret_del, NULL, NULL);
	if (c->nadd_tiv + c->ndel_tiv + c->nupd_tiv)
		return -EINVAL;

	if (set->interval) {
		r = ranges_entries(set, c->add_iv, c->nadd_iv, &add);
		if (r == 0)
			r = ranges_entries(set, c->del_iv, c->ndel_iv, &del);
		/* a prefix of a range that only grew or shrank stays */
		if (r == 0)
			cancel_common(&add, &del);
	} else {
		r = keys_entries(set, c->add_keys, c->add_expires, c->nadd_keys, &add);
		if (r == 0)
			r = keys_entries(set, c->del_keys, NULL, c->ndel_keys, &del);
	}
	if (r < 0) {
		free(add.entries);
		free(del.entries);
		return r;
	}
	*ret_add = add;
	*ret_del = del;
	return 0;
}

int nfo_image_set_updates(const struct nfo_plan_set *ps, const struct nfo_set_change *c,
			  struct nfo_image_set *ret_sooner, struct nfo_image_set *ret_later)
{
	const struct nfo_set *set = ps->set;
	struct nfo_image_set a = {}, b = {};
	int r = 0;

	if (c->nupd_keys && set->interval)
		return -EINVAL;
	if (set->interval && (set->flags & NFT_SET_TIMEOUT))
		return timed_delta(set, c, NULL, NULL, ret_sooner, ret_later);
	if (c->nupd_tiv)
		return -EINVAL;
	for (size_t i = 0; i < c->nupd_keys && r == 0; i++)
		r = keys_entries(set, c->upd_keys + i * set->key_len, c->upd_expires + i, 1,
				 sooner(c->upd_expires[i], c->upd_old[i]) ? &a : &b);
	if (r < 0) {
		free(a.entries);
		free(b.entries);
		return r;
	}
	*ret_sooner = a;
	*ret_later = b;
	return 0;
}

int nfo_image_entries_merge(uint8_t **entries, size_t *n, size_t esz, const uint8_t *add,
			    size_t nadd, const uint8_t *del, size_t ndel)
{
	size_t i = 0, a = 0, d = 0, o = 0, nold = *n;
	const uint8_t *old = *entries;
	uint8_t *out = malloc((nold + nadd ? nold + nadd : 1) * esz);

	if (!out)
		return -ENOMEM;
	while (i < nold || a < nadd) {
		int c;

		if (i < nold) {
			/* entries to delete that are not held are ignored */
			while (d < ndel && memcmp(del + d * esz, old + i * esz, esz) < 0)
				d++;
			if (d < ndel && !memcmp(del + d * esz, old + i * esz, esz)) {
				i++;
				d++;
				continue;
			}
		}
		c = i >= nold ? 1 : a >= nadd ? -1 : memcmp(old + i * esz, add + a * esz, esz);
		if (c <= 0) {
			memcpy(out + o++ * esz, old + i++ * esz, esz);
			a += c == 0; /* already held */
		} else {
			memcpy(out + o++ * esz, add + a++ * esz, esz);
		}
	}
	free(*entries);
	*entries = out;
	*n = o;
	return 0;
}

/* ---- images -------------------------------------------------------------------- */

void nfo_image_clear(struct nfo_image *img)
{
	free(img->nodes);
	free(img->exact4);
	free(img->radix);
	free(img->lpm4);
	free(img->lpm6);
	free(img->roots);
	for (int k = 0; k < NFO_MAX_SETS; k++)
		free(img->sets[k].entries);
	*img = (struct nfo_image){};
}

/* Whether node i of img is a small test all of whose values lead to one
 * node (returned), a guard for that node's test (nfo_abi.h NFO_GUARD_MAX). */
static bool guard_of(const struct nfo_image *img, size_t i, size_t *ret_next)
{
	const struct nfo_node *n = &img->nodes[i];
	uint32_t to = n->ref[0];

	if (!(n->flags & NFO_NODE_SMALL) || !small_dim(n->dim, true))
		return false;
	if ((to & NFO_REF_KIND_MASK) != NFO_REF_NODE || to <= img->node_base ||
	    to - img->node_base >= img->nnodes)
		return false;
	for (int k = 1; k < NFO_SMALL_MAX; k++)
		if (n->ref[k] != to)
			return false;
	*ret_next = to - img->node_base;
	return true;
}

/*
 * Node i takes the test of the node its values lead to, with its own test as
 * that one's first guard, as far as NFO_GUARD_MAX allows: a chain of tests
 * in one node. The next node's test must not depend on its own id (the
 * trie and nfo_exact4 are keyed by node id). Nodes reached otherwise keep
 * their own record.
 */
static void fuse_guards(struct nfo_image *img, size_t i, uint8_t *state)
{
	struct nfo_node *n = &img->nodes[i], *m, fused;
	size_t next;

	if (state[i])
		return;
	state[i] = 1; /* a diagram has no cycles; this bounds a bad one */
	if (!guard_of(img, i, &next) || next == i)
		goto out;
	fuse_guards(img, next, state);
	m = &img->nodes[next];
	if (m->nguards == NFO_GUARD_MAX || (m->flags & NFO_NODE_EXACT) ||
	    ((m->dim == NFO_DIM_SADDR4 || m->dim == NFO_DIM_DADDR4) && !(m->flags & NFO_NODE_SMALL)) ||
	    m->dim == NFO_DIM_SADDR6 || m->dim == NFO_DIM_DADDR6)
		goto out;
	fused = *m;
	memmove(&fused.guards[1], &m->guards[0], m->nguards * sizeof(m->guards[0]));
	fused.guards[0] = (struct nfo_guard){ .dim = n->dim, .miss = n->dflt, .unknown = n->unknown };
	memcpy(fused.guards[0].val, n->val, sizeof(n->val));
	fused.nguards = m->nguards + 1;
	*n = fused;
out:
	state[i] = 2;
}

static int encode(struct enc *x)
{
	const struct nfo_plan *plan = x->plan;
	struct nfo_image *img = x->img;
	int r;

	img->nodes = calloc(plan->nnodes ? plan->nnodes : 1, sizeof(*img->nodes));
	img->exact4 = calloc(plan->nnodes ? plan->nnodes : 1, sizeof(*img->exact4));
	img->roots = calloc(plan->nroots ? plan->nroots : 1, sizeof(*img->roots));
	if (!img->nodes || !img->exact4 || !img->roots)
		return -ENOMEM;
	img->nnodes = plan->nnodes;
	for (size_t i = 1; i < plan->nnodes; i++) {
		const struct nfo_plan_node *nd = &plan->nodes[i];
		struct nfo_node *n = &img->nodes[i];

		assert(nd->dim >= 0 && nd->dim < _NFO_DIM_MAX);
		n->dim = (uint8_t)nd->dim;
		n->unknown = conv(x, nd->unknown);
		if (is_lpm_dim(nd->dim))
			r = encode_lpm(x, nd, img->node_base + (uint32_t)i, n, &img->exact4[i]);
		else if (encode_small(x, nd, dim_bits(nd->dim), false, n))
			r = 0;
		else
			r = encode_radix(x, nd, &n->table);
		if (r < 0)
			return r;
	}
	if (nfo_image_ntables(img) && img->table_base + nfo_image_ntables(img) - 1 > NFO_REF_VALUE_MASK)
		return -E2BIG;
	if (plan->nnodes) {
		_cleanup_free_ uint8_t *state = calloc(plan->nnodes, 1);

		if (!state)
			return -ENOMEM;
		for (size_t i = 1; i < plan->nnodes; i++)
			fuse_guards(img, i, state);
	}
	img->nroots = plan->nroots;
	for (size_t i = 0; i < plan->nroots; i++) {
		img->roots[i].ifindex = (uint32_t)plan->roots[i].ifindex;
		img->roots[i].ref = conv(x, plan->roots[i].ref);
		img->roots[i].ref_ip = conv(x, ref_by_ethtype(plan, plan->roots[i].ref, ETH_IP));
		img->roots[i].ref_ip6 = conv(x, ref_by_ethtype(plan, plan->roots[i].ref, ETH_IPV6));
		memcpy(img->roots[i].mac, plan->roots[i].mac, sizeof(img->roots[i].mac));
		memcpy(img->roots[i].bcast, plan->roots[i].bcast, sizeof(img->roots[i].bcast));
	}
	assert(plan->nsets <= NFO_MAX_SETS);
	img->nsets = plan->nsets;
	for (size_t k = 0; k < plan->nsets; k++) {
		r = encode_set(img, &plan->sets[k], (int)k);
		if (r < 0)
			return r;
	}
	return 0;
}

int nfo_image_encode(const struct nfo_plan *plan, const uint32_t *slots, int half,
		     uint32_t node_base, uint32_t table_base, struct nfo_image *ret)
{
	struct nfo_image img = { .half = half, .node_base = node_base, .table_base = table_base };
	struct enc x = { .img = &img, .plan = plan, .slots = slots };
	int r;

	assert(half >= 0 && half < NFO_HALVES);
	if (plan->nnodes && (uint64_t)node_base + plan->nnodes - 1 > NFO_REF_VALUE_MASK)
		return -E2BIG;
	/* (a reject's reference carries its slot beside the reject and reset bits) */
	for (size_t t = 0; t < plan->ntargets; t++)
		if (slots[t] > NFO_REF_SLOT_MASK)
			return -E2BIG;
	r = encode(&x);
	if (r < 0) {
		nfo_image_clear(&img);
		return r;
	}
	*ret = img;
	return 0;
}

/* ---- capacities ---------------------------------------------------------------- */

size_t nfo_image_set_entries(const struct nfo_image *img, bool lpm)
{
	size_t n = 0;

	for (size_t k = 0; k < img->nsets; k++)
		if (img->sets[k].lpm == lpm &&
		    (lpm || img->sets[k].spec.kind == NFO_STORE_HASH))
			n += img->sets[k].n;
	return n;
}

bool nfo_image_fits(const struct nfo_image *img, const struct nfo_caps *caps,
		    const struct nfo_held *held)
{
	static const struct nfo_held none;

	if (!held)
		held = &none;
	return img->nnodes <= caps->nodes && nfo_image_ntables(img) <= caps->tables &&
	       img->nlpm4 + held->lpm4 <= caps->lpm4 && img->nlpm6 + held->lpm6 <= caps->lpm6 &&
	       img->nroots <= caps->roots &&
	       nfo_image_set_entries(img, false) + held->setkeys <= caps->setkeys &&
	       nfo_image_set_entries(img, true) + held->setlpm <= caps->setlpm;
}

/* min doubled until it holds need, or -E2BIG past max (a power of two). */
static int grow(size_t need, uint32_t min, uint32_t max, uint32_t *ret)
{
	uint32_t c = min;

	if (need > max)
		return -E2BIG;
	while (c < need)
		c *= 2;
	*ret = c;
	return 0;
}

int nfo_image_caps(const struct nfo_image *img, struct nfo_caps *ret)
{
	struct nfo_caps c;

	size_t nodes = img->nnodes, tables = nfo_image_ntables(img);

	/* the largest nodes and tables (powers of two) may be less than twice
	 * a need that fits them */
	if (nodes > NFO_CAP_MAX_NODES || tables > NFO_CAP_MAX_TABLES ||
	    grow(nodes * 2 < NFO_CAP_MAX_NODES ? nodes * 2 : NFO_CAP_MAX_NODES, NFO_CAP_NODES,
		 NFO_CAP_MAX_NODES, &c.nodes) < 0 ||
	    grow(tables * 2 < NFO_CAP_MAX_TABLES ? tables * 2 : NFO_CAP_MAX_TABLES, NFO_CAP_TABLES,
		 NFO_CAP_MAX_TABLES, &c.tables) < 0 ||
	    grow(img->nlpm4 * 2, NFO_CAP_LPM, NFO_CAP_MAX, &c.lpm4) < 0 ||
	    grow(img->nlpm6 * 2, NFO_CAP_LPM, NFO_CAP_MAX, &c.lpm6) < 0 ||
	    grow(img->nroots * 2, NFO_CAP_ROOTS, NFO_CAP_MAX, &c.roots) < 0 ||
	    grow(nfo_image_set_entries(img, false) * 4, NFO_CAP_SET_KEYS, NFO_CAP_MAX,
		 &c.setkeys) < 0 ||
	    grow(nfo_image_set_entries(img, true) * 4, NFO_CAP_SET_LPM, NFO_CAP_MAX,
		 &c.setlpm) < 0)
		return -E2BIG;
	*ret = c;
	return 0;
}
