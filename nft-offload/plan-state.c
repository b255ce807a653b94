// SPDX-License-Identifier: GPL-2.0-only
/*
 * The state carried down the expansion, the alive list: simplified (rules
 * that cannot match dropped, rules after a certain verdict cut, fully
 * decided groups consumed, chains that end one way whatever the rest says
 * replaced by a synthetic rule) and memoised, so equal sub-problems share
 * one sub-diagram.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plan-internal.h"

static bool group_resolved(const struct ctx *x, const struct cgroup *g, const struct aentry *a,
			   size_t n, int level)
{
	for (size_t i = 0; i < n; i++) {
		const struct crule *c = &x->cr[a[i].id];

		if (g->reach[c->chain] && c->last_level >= level)
			return false;
	}
	return true;
}


/*
 * A chain whose live rules up to one that certainly ends it all have that
 * same verdict (accept, or return) and no effect ends that way whatever the
 * fields still unresolved say: it is represented by its synthetic rule.
 */
static bool uniform_prefix(const struct ctx *x, int level, const struct aentry *a, size_t i,
			   size_t end, int *ret_verdict)
{
	int v = -1;

	for (; i < end; i++) {
		const struct crule *c = &x->cr[a[i].id];

		if (entry_dead(c, &a[i]))
			continue;
		if (c->kind == CR_GATE || c->effect)
			return false;
		if (c->verdict != NFO_VERDICT_ACCEPT && c->verdict != NFO_VERDICT_RETURN)
			return false;
		if (v >= 0 && c->verdict != v)
			return false;
		v = c->verdict;
		if (entry_final(c, &a[i], level)) {
			*ret_verdict = v;
			return true;
		}
	}
	return false;
}

/*
 * Drops what cannot matter any more: rules that cannot match; rules after
 * one that certainly ends its chain; resolved rules without effect and
 * verdict; resolved UNKNOWN rules whose verdict is already possible earlier
 * in the chain. a is sorted by id, so each chain is one run.
 */
static size_t compact(const struct ctx *x, int level, struct aentry *a, size_t n)
{
	size_t o = 0, i = 0;

	while (i < n) {
		int chain = x->cr[a[i].id].chain, v;
		size_t end = i;
		bool cut = false, u_accept = false, u_drop = false;

		while (end < n && x->cr[a[end].id].chain == chain)
			end++;
		if (!x->exact && x->cr[a[i].id].kind != CR_GATE &&
		    uniform_prefix(x, level, a, i, end, &v)) {
			a[o].id = x->cc[chain].first +
				  (v == NFO_VERDICT_ACCEPT ? SYNTH_ACCEPT : SYNTH_RETURN);
			a[o].ms = TV_T;
			a[o].es = TV_T;
			a[o].pad = 0;
			o++;
			i = end;
			continue;
		}
		for (; i < end; i++) {
			const struct crule *c = &x->cr[a[i].id];
			bool resolved = c->last_level < level;

			if (cut || entry_dead(c, &a[i]))
				continue;
			if (c->kind != CR_GATE && resolved && !(c->effect && a[i].es != TV_F)) {
				if (c->verdict == NFO_VERDICT_CONTINUE)
					continue;
				/* (only plain UNKNOWNs: nominal ones say whom to credit) */
				if (a[i].ms == TV_U && c->verdict == NFO_VERDICT_ACCEPT) {
					if (u_accept)
						continue;
					u_accept = true;
				}
				/* (a reject and a drop differ: an ICMP error) */
				if (a[i].ms == TV_U && c->verdict == NFO_VERDICT_DROP &&
				    !(c->rule && c->rule->reject)) {
					if (u_drop)
						continue;
					u_drop = true;
				}
			}
			a[o++] = a[i];
			if (entry_final(c, &a[i], level))
				cut = true;
		}
	}
	return o;
}

/* Returns 1 and a verdict reference when the outcome is decided. */
int plan_simplify(struct ctx *x, const struct pipeline *p, int level, int *gpos,
		  struct aentry *a, size_t *n, uint32_t *ret)
{
	size_t o;

	*n = compact(x, level, a, *n);

	while ((size_t)*gpos < p->ngroups) {
		const struct cgroup *g = &p->groups[*gpos];
		int32_t drop = -1;
		int res;

		if (!group_resolved(x, g, a, *n, level))
			return 0;
		res = plan_eval_group(x, g, a, *n, &drop);
		if (res == RES_PASS) {
			*ret = NFO_REF_PASS;
			return 1;
		}
		if (res == RES_DROP || res == RES_REJECT || res == RES_RESET) {
			x->plan->rejects |= res != RES_DROP && drop >= 0;
			*ret = drop < 0		    ? NFO_REF_PASS :
			       res == RES_RESET	    ? NFO_REF_RESET((uint32_t)drop) :
			       res == RES_REJECT ? NFO_REF_REJECT((uint32_t)drop) :
						   NFO_REF_DROP((uint32_t)drop);
			return 1;
		}
		if (res == RES_ACCEPT) {
			*ret = drop >= 0 ? NFO_REF_ACCEPT((uint32_t)drop) : NFO_REF_PASS;
			return 1;
		}
		(*gpos)++;
		o = 0;
		for (size_t i = 0; i < *n; i++)
			if (p->last_group[x->cr[a[i].id].chain] >= *gpos)
				a[o++] = a[i];
		*n = o;
	}
	*ret = NFO_REF_PASS;
	return 1;
}

/* Decides the region from the current group alone when its own rules are
 * enough (the common case: a rule on this field drops or accepts). If the
 * group lets the packet continue, only later groups matter: CONSUMED. */
int plan_region_decided(struct ctx *x, const struct pipeline *p, int level, int gpos,
			struct aentry *a, size_t n, uint32_t *ret)
{
	const struct cgroup *g = &p->groups[gpos];
	size_t o = compact(x, level, a, n);
	int32_t drop = -1;
	int res;

	if (!group_resolved(x, g, a, o, level))
		return REGION_OPEN;
	res = plan_eval_group(x, g, a, o, &drop);
	x->plan->rejects |= (res == RES_REJECT || res == RES_RESET) && drop >= 0;
	if (res == RES_CONTINUE) {
		if ((size_t)gpos + 1 >= p->ngroups) {
			*ret = NFO_REF_PASS;
			return REGION_DECIDED;
		}
		return REGION_CONSUMED;
	}
	*ret = res == RES_DROP && drop >= 0	? NFO_REF_DROP((uint32_t)drop) :
	       res == RES_REJECT && drop >= 0 ? NFO_REF_REJECT((uint32_t)drop) :
	       res == RES_RESET && drop >= 0  ? NFO_REF_RESET((uint32_t)drop) :
	       res == RES_ACCEPT && drop >= 0 ? NFO_REF_ACCEPT((uint32_t)drop) :
						NFO_REF_PASS;
	return REGION_DECIDED;
}

/* The memo: the states expanded so far (pipeline, level, group, what the
 * parser guarantees, alive list) with their sub-diagram, open addressing. */
struct memo_ent {
	uint64_t hash;
	int pl;
	int level;
	int gpos;
	uint32_t present;
	uint32_t absent;
	struct aentry *a;
	size_t n;
	uint32_t ref;
	bool used;
};

uint64_t plan_memo_hash(int pl, int level, int gpos, uint32_t present, uint32_t absent,
			const struct aentry *a, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	h = (h ^ present) * 1099511628211ull;
	h = (h ^ absent) * 1099511628211ull;
	h = (h ^ (uint64_t)pl) * 1099511628211ull;
	h = (h ^ (uint64_t)level) * 1099511628211ull;
	h = (h ^ (uint64_t)gpos) * 1099511628211ull;
	for (size_t i = 0; i < n; i++) {
		h = (h ^ a[i].id) * 1099511628211ull;
		h = (h ^ (uint64_t)(a[i].ms | a[i].es << 4)) * 1099511628211ull;
	}
	return h;
}

static bool memo_match(const struct memo_ent *m, uint64_t h, int pl, int level, int gpos,
		       uint32_t present, uint32_t absent, const struct aentry *a, size_t n)
{
	if (m->hash != h || m->pl != pl || m->level != level || m->gpos != gpos || m->n != n ||
	    m->present != present || m->absent != absent)
		return false;
	for (size_t i = 0; i < n; i++)
		if (m->a[i].id != a[i].id || m->a[i].ms != a[i].ms || m->a[i].es != a[i].es)
			return false;
	return true;
}

bool plan_memo_find(const struct ctx *x, uint64_t h, int pl, int level, int gpos,
		    uint32_t present, uint32_t absent, const struct aentry *a, size_t n,
		    uint32_t *ret_ref)
{
	size_t mask, i;

	if (!x->memo_cap)
		return false;
	mask = x->memo_cap - 1;
	for (i = h & mask; x->memo[i].used; i = (i + 1) & mask) {
		if (memo_match(&x->memo[i], h, pl, level, gpos, present, absent, a, n)) {
			*ret_ref = x->memo[i].ref;
			return true;
		}
	}
	return false;
}

int plan_memo_insert(struct ctx *x, uint64_t h, int pl, int level, int gpos,
		     uint32_t present, uint32_t absent, const struct aentry *a, size_t n,
		     uint32_t ref)
{
	struct memo_ent *m;
	size_t mask, i;

	if ((x->memo_n + 1) * 2 > x->memo_cap) {
		size_t cap = x->memo_cap ? x->memo_cap * 2 : 1024;
		struct memo_ent *nm = calloc(cap, sizeof(*nm));

		if (!nm)
			return -ENOMEM;
		for (size_t k = 0; k < x->memo_cap; k++) {
			if (!x->memo[k].used)
				continue;
			for (i = x->memo[k].hash & (cap - 1); nm[i].used; i = (i + 1) & (cap - 1))
				;
			nm[i] = x->memo[k];
		}
		free(x->memo);
		x->memo = nm;
		x->memo_cap = cap;
	}
	mask = x->memo_cap - 1;
	for (i = h & mask; x->memo[i].used; i = (i + 1) & mask)
		;
	m = &x->memo[i];
	m->a = malloc((n ? n : 1) * sizeof(*a));
	if (!m->a)
		return -ENOMEM;
	memcpy(m->a, a, n * sizeof(*a));
	m->hash = h;
	m->pl = pl;
	m->level = level;
	m->gpos = gpos;
	m->present = present;
	m->absent = absent;
	m->n = n;
	m->ref = ref;
	m->used = true;
	x->memo_n++;
	return 0;
}

void plan_memo_clear(struct ctx *x)
{
	for (size_t i = 0; i < x->memo_cap; i++)
		if (x->memo[i].used)
			free(x->memo[i].a);
	free(x->memo);
	x->memo = NULL;
	x->memo_cap = x->memo_n = 0;
}
