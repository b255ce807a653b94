// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "encode.h"
#include "plan.h"
#include "common/util.h"

void nfo_encoded_reset(struct nfo_encoded *e)
{
	e->nradix = e->n4 = e->n6 = 0;
}

void nfo_encoded_clear(struct nfo_encoded *e)
{
	free(e->nodes);
	free(e->radix);
	free(e->k4);
	free(e->v4);
	free(e->k6);
	free(e->v6);
	free(e->slots);
}

uint32_t nfo_encode_ref(const struct nfo_encoded *e, uint32_t ref)
{
	if ((ref & NFO_REF_KIND_MASK) == NFO_REF_NODE)
		return NFO_REF_NODE | (e->node_base + ref);
	if (ref & NFO_REF_DROP_BIT)
		return NFO_REF_DROP(e->slots[ref & NFO_REF_VALUE_MASK]);
	if (ref & NFO_REF_ACCEPT_BIT)
		return NFO_REF_ACCEPT(e->slots[ref & NFO_REF_SLOT_MASK]);
	return NFO_REF_PASS;
}

static bool is_lpm_dim(int dim)
{
	return dim == NFO_DIM_SADDR4 || dim == NFO_DIM_DADDR4 || dim == NFO_DIM_SADDR6 ||
	       dim == NFO_DIM_DADDR6;
}

static unsigned dim_bits(int dim)
{
	switch (dim) {
	case NFO_DIM_ETHTYPE:
	case NFO_DIM_TH0:
	case NFO_DIM_TH2:
		return 16;
	case NFO_DIM_SADDR4:
	case NFO_DIM_DADDR4:
		return 32;
	case NFO_DIM_SADDR6:
	case NFO_DIM_DADDR6:
		return 128;
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
	return NFO_REF_PASS; /* the plan covers every value; be safe anyway */
}

/* Returns the table's index within the encoding (not absolute). */
static int new_table(struct nfo_encoded *e, uint32_t *ret)
{
	int r = nfo_grow(&e->radix, &e->radix_cap, e->nradix + NFO_RADIX_FANOUT, sizeof(*e->radix));

	if (r < 0)
		return r;
	*ret = (uint32_t)(e->nradix / NFO_RADIX_FANOUT);
	e->nradix += NFO_RADIX_FANOUT;
	return 0;
}

static int encode_radix(struct nfo_encoded *e, const struct nfo_plan_node *nd, uint32_t *ret_table)
{
	unsigned bits = dim_bits(nd->dim);
	uint32_t top;
	int r = new_table(e, &top);

	if (r < 0)
		return r;
	*ret_table = e->table_base + top;
	if (bits == 8) {
		for (uint32_t v = 0; v < NFO_RADIX_FANOUT; v++)
			e->radix[top * NFO_RADIX_FANOUT + v] = nfo_encode_ref(e, ref_at(nd, v));
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
			e->radix[top * NFO_RADIX_FANOUT + h] = nfo_encode_ref(e, first);
			continue;
		}
		r = new_table(e, &sub);
		if (r < 0)
			return r;
		for (uint32_t l = 0; l < NFO_RADIX_FANOUT; l++)
			e->radix[sub * NFO_RADIX_FANOUT + l] = nfo_encode_ref(e, ref_at(nd, lo | l));
		e->radix[top * NFO_RADIX_FANOUT + h] = NFO_REF_TABLE | (e->table_base + sub);
	}
	return 0;
}

/* Calls cb for each prefix (value, length) exactly covering [lo, hi]. */
static int for_each_prefix(nfo_u128 lo, nfo_u128 hi, unsigned width,
			   int (*cb)(nfo_u128 v, unsigned plen, void *data), void *data)
{
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
	struct nfo_encoded *e;
	uint32_t node; /* absolute */
	uint32_t ref;
	bool v6;
	size_t count;
	bool counting;
};

static int lpm_emit(nfo_u128 v, unsigned plen, void *data)
{
	struct lpm_ctx *c = data;
	struct nfo_encoded *e = c->e;
	uint8_t node[4] = { c->node >> 24, c->node >> 16, c->node >> 8, c->node };

	if (c->counting) {
		c->count++;
		return 0;
	}
	if (!c->v6) {
		struct nfo_lpm4_key *k;

		if (nfo_grow(&e->k4, &e->cap4, e->n4 + 1, sizeof(*e->k4)) < 0 ||
		    nfo_grow(&e->v4, &e->cap4v, e->n4 + 1, sizeof(*e->v4)) < 0)
			return -ENOMEM;
		k = &e->k4[e->n4];
		memset(k, 0, sizeof(*k));
		k->prefixlen = 32 + plen;
		memcpy(k->node, node, 4);
		nfo_u128_to_be(v, k->addr, 4);
		e->v4[e->n4++] = c->ref;
	} else {
		struct nfo_lpm6_key *k;

		if (nfo_grow(&e->k6, &e->cap6, e->n6 + 1, sizeof(*e->k6)) < 0 ||
		    nfo_grow(&e->v6, &e->cap6v, e->n6 + 1, sizeof(*e->v6)) < 0)
			return -ENOMEM;
		k = &e->k6[e->n6];
		memset(k, 0, sizeof(*k));
		k->prefixlen = 32 + plen;
		memcpy(k->node, node, 4);
		nfo_u128_to_be(v, k->addr, 16);
		e->v6[e->n6++] = c->ref;
	}
	return 0;
}

static int encode_lpm(struct nfo_encoded *e, const struct nfo_plan_node *nd, uint32_t id)
{
	bool v6 = nd->dim == NFO_DIM_SADDR6 || nd->dim == NFO_DIM_DADDR6;
	unsigned width = v6 ? 128 : 32;
	struct lpm_ctx c = { .e = e, .node = id, .v6 = v6 };
	size_t best = 0, best_count = 0;
	int r;

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
	c.ref = nfo_encode_ref(e, nd->nedges ? nd->edges[best].ref : NFO_REF_PASS);
	r = lpm_emit(0, 0, &c);
	if (r < 0)
		return r;
	for (size_t k = 0; k < nd->nedges; k++) {
		if (nd->edges[k].ref == nd->edges[best].ref)
			continue;
		c.ref = nfo_encode_ref(e, nd->edges[k].ref);
		r = for_each_prefix(nd->edges[k].lo, nd->edges[k].hi, width, lpm_emit, &c);
		if (r < 0)
			return r;
	}
	return 0;
}

int nfo_encode(const struct nfo_plan *plan, uint32_t node_base, uint32_t table_base,
		  struct nfo_encoded *e)
{
	int r;

	nfo_encoded_reset(e);
	e->node_base = node_base;
	e->table_base = table_base;
	for (size_t i = 1; i < plan->nnodes; i++) {
		const struct nfo_plan_node *nd = &plan->nodes[i];
		struct nfo_node *n = &e->nodes[i];

		memset(n, 0, sizeof(*n));
		n->dim = (uint8_t)nd->dim;
		n->unknown = nfo_encode_ref(e, nd->unknown);
		if (is_lpm_dim(nd->dim))
			r = encode_lpm(e, nd, node_base + (uint32_t)i);
		else
			r = encode_radix(e, nd, &n->table);
		if (r < 0)
			return r;
	}
	return 0;
}




static int setbuild_push(struct nfo_setbuild *b, const void *entry)
{
	int r = nfo_grow(&b->e, &b->cap, b->n + 1, b->esz);

	if (r < 0)
		return r;
	memcpy(b->e + b->n * b->esz, entry, b->esz);
	b->n++;
	return 0;
}

struct lpm_set_ctx {
	struct nfo_setbuild *b;
	uint32_t slot_half;
	unsigned width;
};

static int set_prefix_emit(nfo_u128 v, unsigned plen, void *data)
{
	struct lpm_set_ctx *c = data;
	struct nfo_setlpm_key k = { .prefixlen = 32 + plen };

	k.slot_half[3] = (uint8_t)c->slot_half;
	nfo_u128_to_be(v << (128 - c->width), k.key, 16);
	return setbuild_push(c->b, &k);
}

static int cmp_setkey(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct nfo_setkey));
}

static int cmp_setlpm(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct nfo_setlpm_key));
}

int nfo_set_entries(const struct nfo_plan_set *ps, int h, int k, struct nfo_setbuild *b,
		       bool *ret_lpm)
{
	const struct nfo_set *set = ps->set;
	uint32_t slot_half = (uint32_t)(h * NFO_MAX_SETS + k);
	int r = 0;

	*ret_lpm = set->interval;
	if (set->interval) {
		struct lpm_set_ctx c = { .b = b, .slot_half = slot_half,
					 .width = set->key_len * 8 };

		b->esz = sizeof(struct nfo_setlpm_key);
		for (size_t i = 0; i < set->elems.n && r == 0; i++)
			r = for_each_prefix(set->elems.iv[i].lo, set->elems.iv[i].hi, c.width,
					    set_prefix_emit, &c);
		if (r == 0 && b->n)
			qsort(b->e, b->n, b->esz, cmp_setlpm);
		return r;
	}
	b->esz = sizeof(struct nfo_setkey);
	for (size_t i = 0; i < set->nkeys && r == 0; i++) {
		struct nfo_setkey key = { .slot_half = slot_half };

		/* nft's key bytes are already in the concatenation layout; a
		 * single field shorter than 4 bytes is zero-padded, as the fast
		 * path builds it */
		memcpy(key.key, set->keys + i * set->key_len, set->key_len);
		r = setbuild_push(b, &key);
	}
	if (r == 0 && b->n)
		qsort(b->e, b->n, b->esz, cmp_setkey);
	return r;
}

/* Makes slot k of half h hold exactly the wanted entries (a diff). */

int nfo_write_array(int fd, uint32_t first, const void *values, size_t n, size_t vsz)
{
	uint32_t *keys = malloc((n ? n : 1) * sizeof(*keys));
	uint32_t count = (uint32_t)n;
	int r = 0;

	if (!keys)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		keys[i] = first + i;
	if (n && bpf_map_update_batch(fd, keys, values, &count, NULL) < 0) {
		/* Kernels without batch operations on arrays: one by one. */
		for (uint32_t i = 0; i < n; i++) {
			if (bpf_map_update_elem(fd, &keys[i], (const uint8_t *)values + i * vsz,
						BPF_ANY) < 0) {
				r = -errno;
				break;
			}
		}
	}
	free(keys);
	return r;
}
