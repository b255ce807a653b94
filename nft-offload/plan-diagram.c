// SPDX-License-Identifier: GPL-2.0-only
/*
 * The decision diagram itself: nodes with edges over value intervals,
 * stored once when equal (hash-consing), the size bound, the failed plan,
 * freeing, and the walk the fast path makes (nfo_plan_eval).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "plan-internal.h"

int plan_push_edge(struct nfo_plan_node *nd, nfo_u128 lo, nfo_u128 hi, uint32_t ref)
{
	int r;

	if (nd->nedges && nd->edges[nd->nedges - 1].ref == ref &&
	    nd->edges[nd->nedges - 1].hi + 1 == lo) {
		nd->edges[nd->nedges - 1].hi = hi;
		return 0;
	}
	r = nfo_grow(&nd->edges, &nd->cap, nd->nedges + 1, sizeof(*nd->edges));
	if (r < 0)
		return r;
	nd->edges[nd->nedges++] = (struct nfo_plan_edge){ lo, hi, ref };
	return 0;
}

static uint64_t node_hash(const struct nfo_plan_node *nd)
{
	uint64_t h = 1469598103934665603ull;

	h = (h ^ (uint64_t)nd->dim) * 1099511628211ull;
	h = (h ^ nd->unknown) * 1099511628211ull;
	for (size_t i = 0; i < nd->nedges; i++) {
		h = (h ^ (uint64_t)nd->edges[i].lo) * 1099511628211ull;
		h = (h ^ (uint64_t)(nd->edges[i].lo >> 64)) * 1099511628211ull;
		h = (h ^ nd->edges[i].ref) * 1099511628211ull;
	}
	return h;
}

static bool node_equal(const struct nfo_plan_node *a, const struct nfo_plan_node *b)
{
	if (a->dim != b->dim || a->unknown != b->unknown || a->nedges != b->nedges)
		return false;
	for (size_t i = 0; i < a->nedges; i++)
		if (a->edges[i].lo != b->edges[i].lo || a->edges[i].hi != b->edges[i].hi ||
		    a->edges[i].ref != b->edges[i].ref)
			return false;
	return true;
}

/* Stores nd (taking its edges) unless an equal node exists; returns its ref. */
int plan_intern_node(struct ctx *x, struct nfo_plan_node *nd, uint32_t *ret)
{
	struct nfo_plan *p = x->plan;
	uint64_t h = node_hash(nd);
	size_t mask, i;
	int r;

	if ((p->nnodes + 1) * 2 > x->nodetab_cap) {
		size_t cap = x->nodetab_cap ? x->nodetab_cap * 2 : 1024;
		uint32_t *t = calloc(cap, sizeof(*t));

		if (!t)
			return -ENOMEM;
		for (size_t n = 1; n < p->nnodes; n++) {
			for (i = node_hash(&p->nodes[n]) & (cap - 1); t[i]; i = (i + 1) & (cap - 1))
				;
			t[i] = (uint32_t)n;
		}
		free(x->nodetab);
		x->nodetab = t;
		x->nodetab_cap = cap;
	}
	mask = x->nodetab_cap - 1;
	for (i = h & mask; x->nodetab[i]; i = (i + 1) & mask) {
		if (node_equal(&p->nodes[x->nodetab[i]], nd)) {
			free(nd->edges);
			nd->edges = NULL;
			*ret = NFO_REF_NODE | x->nodetab[i];
			return 0;
		}
	}
	if (p->nedges + nd->nedges > x->in->max_edges) {
		x->too_big = true;
		*ret = NFO_REF_PASS;
		return 0;
	}
	r = nfo_grow(&p->nodes, &p->nodes_cap, p->nnodes + 1, sizeof(*p->nodes));
	if (r < 0)
		return r;
	p->nedges += nd->nedges;
	p->nodes[p->nnodes] = *nd;
	nd->edges = NULL;
	x->nodetab[i] = (uint32_t)p->nnodes;
	*ret = NFO_REF_NODE | (uint32_t)p->nnodes++;
	return 0;
}

/* The node for a field, unless every edge leads to all_ref: the field does
 * not matter there, all_ref stands for the node. */
int plan_finish_node(struct ctx *x, struct nfo_plan_node *nd, uint32_t all_ref,
		     uint32_t unknown, uint32_t *ret)
{
	for (size_t k = 0; k < nd->nedges; k++) {
		if (nd->edges[k].ref != all_ref) {
			nd->unknown = unknown;
			return plan_intern_node(x, nd, ret);
		}
	}
	*ret = all_ref;
	return 0;
}

void nfo_plan_free(struct nfo_plan **pp)
{
	struct nfo_plan *p = *pp;

	if (!p)
		return;
	for (size_t i = 0; i < p->nnodes; i++)
		free(p->nodes[i].edges);
	free(p->nodes);
	free(p->roots);
	free(p->targets);
	free(p->dag_sets);
	free(p->error);
	free(p);
	*pp = NULL;
}

int plan_fail(struct nfo_plan *p, const char *why)
{
	for (size_t i = 0; i < p->nnodes; i++)
		free(p->nodes[i].edges);
	p->nnodes = 1;
	p->nedges = 0;
	p->ntargets = 0;
	for (size_t i = 0; i < p->nroots; i++)
		p->roots[i].ref = NFO_REF_PASS;
	free(p->error);
	p->error = strdup(why);
	return p->error ? 0 : -ENOMEM;
}

uint32_t nfo_plan_eval(const struct nfo_plan *p, uint32_t ref, const nfo_u128 *values,
		       uint32_t have)
{
	for (int depth = 0; depth <= _NFO_DIM_MAX; depth++) {
		const struct nfo_plan_node *nd;
		bool found = false;

		if ((ref & NFO_REF_KIND_MASK) != NFO_REF_NODE)
			return ref;
		if (ref == 0 || ref >= p->nnodes)
			return NFO_REF_PASS;
		nd = &p->nodes[ref];
		if (!(have & (1u << nd->dim))) {
			ref = nd->unknown;
			continue;
		}
		for (size_t i = 0; i < nd->nedges; i++) {
			if (values[nd->dim] >= nd->edges[i].lo && values[nd->dim] <= nd->edges[i].hi) {
				ref = nd->edges[i].ref;
				found = true;
				break;
			}
		}
		if (!found)
			return NFO_REF_PASS;
	}
	return NFO_REF_PASS;
}

/* ---- polarity of a set slot -------------------------------------------------- */

/*
 * contained(a, b): every packet the sub-diagram a drops, b drops too. Exact
 * when a and b test their fields in the same order; when one side is split
 * on a field the other tests later, the two tests are taken as independent,
 * which can only answer "no" more often. Memoised; past the budget the
 * answer is "no".
 */
#define POL_BUDGET (1u << 20)

struct pol {
	const struct nfo_plan *p;
	uint64_t *keys; /* (a << 32 | b) + 1, 0: empty */
	uint8_t *vals;
	size_t cap;
	size_t n;
	bool over;
};

static bool is_node(const struct nfo_plan *p, uint32_t ref)
{
	return (ref & NFO_REF_KIND_MASK) == NFO_REF_NODE && ref > 0 && ref < p->nnodes;
}

static bool is_drop(uint32_t ref)
{
	return (ref & NFO_REF_KIND_MASK) == NFO_REF_VERDICT && (ref & NFO_REF_DROP_BIT);
}

/* The kind of a drop leaf: silent, ICMP error, TCP reset. */
static uint32_t drop_kind(uint32_t ref)
{
	return ref & (NFO_REF_REJECT_BIT | NFO_REF_RESET_BIT);
}

static uint8_t *pol_slot(struct pol *m, uint64_t key)
{
	size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 20) & (m->cap - 1);

	while (m->keys[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	if (!m->keys[i]) {
		if (m->n * 2 >= m->cap || m->n >= POL_BUDGET)
			return NULL;
		m->keys[i] = key;
		m->vals[i] = 2; /* in progress */
		m->n++;
	}
	return &m->vals[i];
}

/* The children of node nd as segments covering the whole domain (values
 * no edge covers pass, as in nfo_plan_eval), then the unknown edge. */
static bool contained(struct pol *m, uint32_t a, uint32_t b);

static bool all_children(struct pol *m, const struct nfo_plan_node *nd, uint32_t other,
			 bool node_left)
{
	nfo_u128 next = 0, max = nfo_u128_max(nfo_dim_width(nd->dim));

	for (size_t i = 0; i < nd->nedges; i++) {
		const struct nfo_plan_edge *e = &nd->edges[i];

		if (e->lo > next && !(node_left ? contained(m, NFO_REF_PASS, other) :
						  contained(m, other, NFO_REF_PASS)))
			return false;
		if (!(node_left ? contained(m, e->ref, other) : contained(m, other, e->ref)))
			return false;
		next = e->hi + 1;
		if (e->hi == max)
			break;
	}
	if ((nd->nedges == 0 || nd->edges[nd->nedges - 1].hi < max) &&
	    !(node_left ? contained(m, NFO_REF_PASS, other) : contained(m, other, NFO_REF_PASS)))
		return false;
	return node_left ? contained(m, nd->unknown, other) : contained(m, other, nd->unknown);
}

static uint32_t child_at(const struct nfo_plan_node *nd, nfo_u128 v)
{
	for (size_t i = 0; i < nd->nedges; i++)
		if (v >= nd->edges[i].lo && v <= nd->edges[i].hi)
			return nd->edges[i].ref;
	return NFO_REF_PASS;
}

/* Both nodes test one field: split them together. */
static bool same_field(struct pol *m, const struct nfo_plan_node *x, const struct nfo_plan_node *y)
{
	nfo_u128 max = nfo_u128_max(nfo_dim_width(x->dim)), v = 0;

	/* cut points of both: each region has one child on each side */
	for (;;) {
		nfo_u128 end = max;

		for (size_t i = 0; i < x->nedges; i++) {
			if (x->edges[i].lo > v && x->edges[i].lo - 1 < end)
				end = x->edges[i].lo - 1;
			if (x->edges[i].hi >= v && x->edges[i].hi < end)
				end = x->edges[i].hi;
		}
		for (size_t i = 0; i < y->nedges; i++) {
			if (y->edges[i].lo > v && y->edges[i].lo - 1 < end)
				end = y->edges[i].lo - 1;
			if (y->edges[i].hi >= v && y->edges[i].hi < end)
				end = y->edges[i].hi;
		}
		if (!contained(m, child_at(x, v), child_at(y, v)))
			return false;
		if (end == max)
			break;
		v = end + 1;
	}
	return contained(m, x->unknown, y->unknown);
}

static bool contained(struct pol *m, uint32_t a, uint32_t b)
{
	const struct nfo_plan *p = m->p;
	uint8_t *memo;
	bool r;

	if (m->over)
		return false;
	if (!is_node(p, a) && !is_drop(a))
		return true; /* a passes everything */
	/* With reject leaves, a drop leaf contains a leaf of its own kind
	 * only: either side may be the one the kernel is at, and a silent
	 * drop must not stand for an answered one (SEMANTICS.md section 4.1). */
	if (is_drop(b) && (!p->rejects || !is_node(p, a)))
		return is_node(p, a) || drop_kind(a) == drop_kind(b);
	if (a == b)
		return true;
	memo = pol_slot(m, ((uint64_t)a << 32 | b) + 1);
	if (!memo) {
		m->over = true;
		return false;
	}
	if (*memo != 2)
		return *memo;
	if (is_drop(a))
		r = is_node(p, b) && all_children(m, &p->nodes[b], a, false);
	else if (!is_node(p, b))
		r = all_children(m, &p->nodes[a], b, true);
	else if (p->nodes[a].dim == p->nodes[b].dim)
		r = same_field(m, &p->nodes[a], &p->nodes[b]);
	else
		r = all_children(m, &p->nodes[a], b, true);
	/* the table never rehashes within a pass: memo still points at it */
	*memo = r;
	return r;
}

int nfo_plan_slot_polarity(const struct nfo_plan *p, int k)
{
	struct pol m = { .p = p, .cap = 1 << 12 };
	int dim = NFO_DIM_SET0 + k, pol = NFO_POL_DROP | NFO_POL_ACCEPT;
	bool tested = false;

	for (;;) {
		m.keys = calloc(m.cap, sizeof(*m.keys));
		m.vals = calloc(m.cap, 1);
		if (!m.keys || !m.vals) {
			pol = -ENOMEM;
			break;
		}
		for (size_t i = 1; i < p->nnodes && pol > 0; i++) {
			const struct nfo_plan_node *nd = &p->nodes[i];
			uint32_t c0, c1;

			if (nd->dim != dim)
				continue;
			tested = true;
			c0 = child_at(nd, 0);
			c1 = child_at(nd, 1);
			/* + : absent drops no more than present; - : the reverse */
			if ((pol & NFO_POL_DROP) && !contained(&m, c0, c1))
				pol &= ~NFO_POL_DROP;
			if ((pol & NFO_POL_ACCEPT) && !contained(&m, c1, c0))
				pol &= ~NFO_POL_ACCEPT;
		}
		if (!m.over || m.cap >= 4 * POL_BUDGET)
			break;
		/* the table filled up before the budget: again, larger */
		free(m.keys);
		free(m.vals);
		m = (struct pol){ .p = p, .cap = m.cap * 8 };
		pol = NFO_POL_DROP | NFO_POL_ACCEPT;
		tested = false;
	}
	free(m.keys);
	free(m.vals);
	if (pol < 0)
		return pol;
	if (m.over)
		return NFO_POL_BOTH;
	if (!tested)
		return NFO_POL_NONE;
	if (pol == (NFO_POL_DROP | NFO_POL_ACCEPT))
		return NFO_POL_DROP; /* membership changes no verdict: either order */
	return pol ? pol : NFO_POL_BOTH;
}
