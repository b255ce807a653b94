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
