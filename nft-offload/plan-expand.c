// SPDX-License-Identifier: GPL-2.0-only
/*
 * The diagram by Shannon expansion over the packet fields in a fixed order:
 * at each node the field's domain is cut into regions where every remaining
 * predicate is constant, and each region continues with the predicates on
 * that field resolved to TRUE or FALSE (UNKNOWN when the packet has no value
 * for the field). The root of an interface cuts on the EtherType, which
 * picks the pipeline; conntrack is expanded over the lookup's classes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "plan-internal.h"

/* What the parser guarantees about fields on the current path (bit per dim):
 * a field in present always has a value, one in absent never does. */
struct fk {
	uint32_t present;
	uint32_t absent;
};

#define DIMBIT(d) (1u << (d))

/* bpf/parser.h reads transport bytes 0-3 in one go, the flags byte only
 * after them, and the transport header only once l4proto is known. */
static uint32_t implied_present(int dim)
{
	switch (dim) {
	case NFO_DIM_TH0:
		return DIMBIT(NFO_DIM_TH2);
	case NFO_DIM_TH2:
		return DIMBIT(NFO_DIM_TH0);
	case NFO_DIM_TCPFLAGS:
		return DIMBIT(NFO_DIM_TH0) | DIMBIT(NFO_DIM_TH2);
	}
	return 0;
}

static uint32_t implied_absent(int dim)
{
	switch (dim) {
	case NFO_DIM_L4PROTO:
		return DIMBIT(NFO_DIM_TH0) | DIMBIT(NFO_DIM_TH2) | DIMBIT(NFO_DIM_TCPFLAGS);
	case NFO_DIM_TH0:
		return DIMBIT(NFO_DIM_TH2) | DIMBIT(NFO_DIM_TCPFLAGS);
	case NFO_DIM_TH2:
		return DIMBIT(NFO_DIM_TH0) | DIMBIT(NFO_DIM_TCPFLAGS);
	}
	return 0;
}

static const struct fk class_fk[] = {
	[0] = { /* CLS_IPV4: a validated IPv4 header */
		DIMBIT(NFO_DIM_ETHTYPE) | DIMBIT(NFO_DIM_L2HOST) | DIMBIT(NFO_DIM_L4PROTO) |
			DIMBIT(NFO_DIM_SADDR4) | DIMBIT(NFO_DIM_DADDR4),
		DIMBIT(NFO_DIM_NEXTHDR) | DIMBIT(NFO_DIM_SADDR6) | DIMBIT(NFO_DIM_DADDR6),
	},
	[1] = { /* CLS_IPV6 */
		DIMBIT(NFO_DIM_ETHTYPE) | DIMBIT(NFO_DIM_L2HOST) | DIMBIT(NFO_DIM_NEXTHDR) |
			DIMBIT(NFO_DIM_SADDR6) | DIMBIT(NFO_DIM_DADDR6),
		DIMBIT(NFO_DIM_SADDR4) | DIMBIT(NFO_DIM_DADDR4),
	},
	[2] = { /* CLS_OTHER: only the Ethernet header is parsed */
		DIMBIT(NFO_DIM_ETHTYPE) | DIMBIT(NFO_DIM_L2HOST),
		~(DIMBIT(NFO_DIM_ETHTYPE) | DIMBIT(NFO_DIM_L2HOST)),
	},
};

struct event {
	nfo_u128 pos;
	uint32_t j;   /* index into the L list */
	int8_t dm;    /* +1 / -1 on the match set */
	int8_t de;    /* +1 / -1 on the before-effect set */
};

static int cmp_event(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int build(struct ctx *x, int pl, int level, int gpos, struct fk fk,
		 const struct aentry *ain, size_t nin, uint32_t *ret);

static int add_event(struct event **ev, size_t *n, size_t *cap, nfo_u128 pos, uint32_t j,
		     int dm, int de)
{
	int r = nfo_grow(ev, cap, *n + 1, sizeof(**ev));

	if (r < 0)
		return r;
	(*ev)[(*n)++] = (struct event){ pos, j, (int8_t)dm, (int8_t)de };
	return 0;
}


/* Sources of one region's alive list: unaffected entries (nl), entries
 * whose predicate on the field holds here (act, indexes into lidx) and
 * entries kept alive by an unguarded effect (lx). */
struct region_src {
	const struct aentry *a;
	const uint32_t *lidx;
	const struct aentry *nl;
	size_t nn;
	const uint32_t *act;
	size_t nact;
	const uint32_t *lx;
	size_t nlx;
	const int *inm;
	const int *ine;
	int dim;
	int level;
	const uint8_t *reach; /* only chains reachable from one group, or NULL */
	const int *last_group; /* with min_group: only chains still reachable */
	int min_group;
};

static size_t skip_nl(const struct region_src *s, size_t i, uint32_t end)
{
	size_t lo = i, hi = s->nn;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->nl[mid].id < end)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Merges the sources in id order. A rule that becomes certainly final cuts
 * the rest of its chain right away (simplify would drop it anyway). */
static size_t region_merge(struct ctx *x, const struct region_src *s, struct aentry *out)
{
	size_t o = 0, i1 = 0, ai = 0, xi = 0;

	while (i1 < s->nn || ai < s->nact || xi < s->nlx) {
		uint32_t li = UINT32_MAX, end;
		const struct aentry *e;
		struct crule *c;
		struct cpred *cp;
		struct aentry ne;

		if (ai < s->nact)
			li = s->act[ai];
		if (xi < s->nlx && s->lx[xi] <= li)
			li = s->lx[xi];
		if (li == UINT32_MAX || (i1 < s->nn && s->nl[i1].id < s->a[s->lidx[li]].id)) {
			c = &x->cr[s->nl[i1].id];
			if ((!s->reach || s->reach[c->chain]) &&
			    (!s->last_group || s->last_group[c->chain] >= s->min_group)) {
				out[o++] = s->nl[i1++];
			} else {
				/* the whole chain is filtered out: jump past it */
				i1 = skip_nl(s, i1, x->cc[c->chain].first + x->cc[c->chain].n);
			}
			continue;
		}
		if (ai < s->nact && s->act[ai] == li)
			ai++;
		if (xi < s->nlx && s->lx[xi] == li)
			xi++;
		e = &s->a[s->lidx[li]];
		c = &x->cr[e->id];
		if (s->reach && !s->reach[c->chain])
			continue;
		if (s->last_group && s->last_group[c->chain] < s->min_group)
			continue;
		cp = cpred_for(c, s->dim);
		ne = *e;
		ne.ms = tv_and(e->ms, s->inm[li] > 0 ? TV_T : TV_F);
		if (cp->has_eset)
			ne.es = tv_and(e->es, s->ine[li] > 0 ? TV_T : TV_F);
		if (entry_dead(c, &ne))
			continue;
		out[o++] = ne;
		if (!entry_final(c, &ne, s->level + 1))
			continue;
		end = x->cc[c->chain].first + x->cc[c->chain].n;
		i1 = skip_nl(s, i1, end);
		while (ai < s->nact && s->a[s->lidx[s->act[ai]]].id < end)
			ai++;
		while (xi < s->nlx && s->a[s->lidx[s->lx[xi]]].id < end)
			xi++;
	}
	return o;
}


/* A conntrack node: one edge per class code the fast path reports. */
static int expand_ct(struct ctx *x, int pl, int level, int gpos, struct fk fk,
		     const struct aentry *a, size_t n, uint32_t *ret)
{
	struct nfo_plan_node node = { .dim = NFO_DIM_CTSTATE };
	struct aentry *out = malloc((n + 1) * sizeof(*out));
	uint32_t child, uref = NFO_REF_PASS;
	bool same = true;
	int r = 0;

	if (!out)
		return -ENOMEM;
	for (int code = 0; code <= NFO_CT_CLASSES && r == 0 && !x->too_big; code++) {
		unsigned possible = 0;
		int nominal = NFO_CT_NEW;
		size_t o = 0;

		/* code NFO_CT_CLASSES: no lookup was possible (not TCP/UDP) */
		if (code < NFO_CT_CLASSES)
			possible = plan_ct_possible(x, (unsigned)code, &nominal);
		for (size_t i = 0; i < n; i++) {
			struct crule *c = &x->cr[a[i].id];
			struct cpred *cp = (c->levels & (1u << level)) ? cpred_for(c, NFO_DIM_CTSTATE) : NULL;
			struct aentry ne = a[i];

			if (cp) {
				ne.ms = tv_and(ne.ms, possible ? plan_ct_truth(&cp->mset, possible, nominal) : TV_U);
				if (cp->has_eset)
					ne.es = tv_and(ne.es, possible ? plan_ct_truth(&cp->eset, possible, nominal) :
									TV_U);
				if (entry_dead(c, &ne))
					continue;
			}
			out[o++] = ne;
		}
		x->work += o + 1;
		r = build(x, pl, level + 1, gpos, fk, out, o, &child);
		if (r < 0 || x->too_big)
			break;
		if (code == NFO_CT_CLASSES)
			uref = child;
		else
			r = plan_push_edge(&node, (nfo_u128)code, (nfo_u128)code, child);
	}
	if (r == 0 && !x->too_big)
		r = plan_push_edge(&node, NFO_CT_CLASSES, 0xff, uref);
	if (r < 0 || x->too_big)
		goto out;
	for (size_t k = 0; k < node.nedges; k++)
		if (node.edges[k].ref != uref)
			same = false;
	if (same) {
		*ret = uref;
		goto out;
	}
	node.unknown = uref;
	r = plan_intern_node(x, &node, ret);
out:
	free(node.edges);
	free(out);
	return r;
}

static int expand(struct ctx *x, int pl, int level, int gpos, struct fk fk,
		  const struct aentry *a, size_t n, uint32_t *ret)
{
	struct fk kfk = { fk.present | implied_present(x->dims[level]), fk.absent };
	struct fk ufk = { fk.present,
			  fk.absent | implied_absent(x->dims[level]) | DIMBIT(x->dims[level]) };
	const struct pipeline *p = &x->pl[pl];
	int dim = x->dims[level];
	nfo_u128 max = nfo_u128_max(nfo_dim_width(dim));
	struct region_src src;
	struct aentry *nl = NULL, *out = NULL;   /* entries unaffected, result */
	uint32_t *lidx = NULL, *act = NULL;       /* L: entries with a predicate */
	uint32_t *lx = NULL;                      /* L entries alive outside it */
	size_t nlx = 0;
	int *inm = NULL, *ine = NULL;
	size_t *apos = NULL;
	struct event *ev = NULL;
	size_t nn = 0, nlc = 0, nev = 0, evcap = 0, nact = 0, ei = 0;
	struct nfo_plan_node node = { .dim = dim };
	uint32_t child, uref = 0;
	nfo_u128 pos = 0;
	bool same = true;
	int r = -ENOMEM, cgpos;

	if (dim == NFO_DIM_CTSTATE)
		return expand_ct(x, pl, level, gpos, fk, a, n, ret);
	nl = malloc((n + 1) * sizeof(*nl));
	out = malloc((n + 1) * sizeof(*out));
	lidx = malloc((n + 1) * sizeof(*lidx));
	act = malloc((n + 1) * sizeof(*act));
	lx = malloc((n + 1) * sizeof(*lx));
	inm = calloc(n + 1, sizeof(*inm));
	ine = calloc(n + 1, sizeof(*ine));
	apos = malloc((n + 1) * sizeof(*apos));
	if (!nl || !out || !lidx || !act || !lx || !inm || !ine || !apos)
		goto out;

	for (size_t i = 0; i < n; i++) {
		struct crule *c = &x->cr[a[i].id];
		struct cpred *cp = (c->levels & (1u << level)) ? cpred_for(c, dim) : NULL;

		if (!cp) {
			nl[nn++] = a[i];
			continue;
		}
		lidx[nlc] = (uint32_t)i;
		if (c->effect && !cp->has_eset && a[i].es != TV_F)
			lx[nlx++] = (uint32_t)nlc;
		for (size_t k = 0; k < cp->mset.n; k++) {
			r = add_event(&ev, &nev, &evcap, cp->mset.iv[k].lo, (uint32_t)nlc, 1, 0);
			if (r == 0 && cp->mset.iv[k].hi < max)
				r = add_event(&ev, &nev, &evcap, cp->mset.iv[k].hi + 1, (uint32_t)nlc, -1, 0);
			if (r < 0)
				goto out;
		}
		for (size_t k = 0; cp->has_eset && k < cp->eset.n; k++) {
			r = add_event(&ev, &nev, &evcap, cp->eset.iv[k].lo, (uint32_t)nlc, 0, 1);
			if (r == 0 && cp->eset.iv[k].hi < max)
				r = add_event(&ev, &nev, &evcap, cp->eset.iv[k].hi + 1, (uint32_t)nlc, 0, -1);
			if (r < 0)
				goto out;
		}
		nlc++;
	}
	if (nev)
		qsort(ev, nev, sizeof(*ev), cmp_event);
	src = (struct region_src){
		.a = a, .lidx = lidx, .nl = nl, .nn = nn, .act = act, .lx = lx, .nlx = nlx,
		.inm = inm, .ine = ine, .dim = dim, .level = level,
	};

	for (;;) {
		nfo_u128 next;
		bool last;
		size_t o = 0;

		while (ei < nev && ev[ei].pos == pos) {
			uint32_t j = ev[ei].j;
			bool was = inm[j] > 0 || ine[j] > 0, is;

			inm[j] += ev[ei].dm;
			ine[j] += ev[ei].de;
			is = inm[j] > 0 || ine[j] > 0;
			if (is && !was) {
				apos[j] = nact;
				act[nact++] = j;
			} else if (!is && was) {
				uint32_t moved = act[--nact];

				act[apos[j]] = moved;
				apos[moved] = apos[j];
			}
			ei++;
		}
		last = ei >= nev;
		next = last ? 0 : ev[ei].pos;

		/* Entries with a predicate on dim are FALSE outside it: only
		 * the active ones, and those kept alive by an effect the
		 * predicate does not guard (lx), can be in the result. */
		qsort(act, nact, sizeof(*act), cmp_u32);
		for (size_t k = 0; k < nact; k++)
			apos[act[k]] = k;
		src.nact = nact;
		cgpos = gpos;
		src.reach = NULL;
		src.last_group = NULL;
		if (gpos < (int)p->ngroups) {
			int st;

			src.reach = p->groups[gpos].reach;
			o = region_merge(x, &src, out);
			x->work += o + 1;
			st = plan_region_decided(x, p, level + 1, gpos, out, o, &child);
			if (st == REGION_DECIDED)
				goto have_child;
			src.reach = NULL;
			if (st == REGION_CONSUMED) {
				cgpos = gpos + 1;
				src.last_group = p->last_group;
				src.min_group = cgpos;
			}
		}
		o = region_merge(x, &src, out);
		x->work += o + 1;

		r = build(x, pl, level + 1, cgpos, kfk, out, o, &child);
		if (r < 0)
			goto out;
		if (x->too_big) {
			r = 0;
			goto out;
		}
have_child:
		r = plan_push_edge(&node, pos, last ? max : next - 1, child);
		if (r < 0)
			goto out;
		if (last)
			break;
		pos = next;
	}

	/* The packet has no value for dim: its predicates are UNKNOWN. */
	if (fk.present & DIMBIT(dim)) {
		uref = node.nedges ? node.edges[0].ref : NFO_REF_PASS;
	} else {
		size_t o = 0, i1 = 0, li = 0;

		while (i1 < nn || li < nlc) {
			const struct aentry *e;
			struct crule *c;
			struct cpred *cp;
			struct aentry ne;

			if (li >= nlc || (i1 < nn && nl[i1].id < a[lidx[li]].id)) {
				out[o++] = nl[i1++];
				continue;
			}
			e = &a[lidx[li++]];
			c = &x->cr[e->id];
			cp = cpred_for(c, dim);
			ne = *e;
			ne.ms = tv_and(e->ms, TV_U);
			if (cp->has_eset)
				ne.es = tv_and(e->es, TV_U);
			out[o++] = ne;
		}
		r = build(x, pl, level + 1, gpos, ufk, out, o, &uref);
		if (r < 0 || x->too_big)
			goto out;
	}

	for (size_t k = 0; k < node.nedges; k++)
		if (node.edges[k].ref != uref)
			same = false;
	if (same) {
		*ret = uref;
		r = 0;
		goto out;
	}
	/* A field always present never takes the unknown branch. */
	node.unknown = (fk.present & DIMBIT(dim)) ? NFO_REF_PASS : uref;
	r = plan_intern_node(x, &node, ret);
out:
	free(node.edges);
	free(nl);
	free(out);
	free(lidx);
	free(act);
	free(lx);
	free(inm);
	free(ine);
	free(apos);
	free(ev);
	return r;
}

static int build(struct ctx *x, int pl, int level, int gpos, struct fk fk,
		 const struct aentry *ain, size_t nin, uint32_t *ret)
{
	const struct pipeline *p = &x->pl[pl];
	struct aentry *a;
	size_t n = nin;
	uint64_t h;
	int r;

	if (x->too_big)
		return 0;
	if (x->work > x->in->max_edges * 64) {
		x->too_big = true;
		return 0;
	}
	a = malloc((nin ? nin : 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	memcpy(a, ain, nin * sizeof(*a));

	for (;;) {
		uint32_t pending = 0;
		int dim;

		if (plan_simplify(x, p, level, &gpos, a, &n, ret)) {
			free(a);
			return 0;
		}
		for (size_t i = 0; i < n; i++)
			pending |= x->cr[a[i].id].levels;
		while (level < x->ndims && !(pending & (1u << level)))
			level++;
		if (level >= x->ndims) {
			/* Cannot happen: with every field resolved, simplify decides. */
			free(a);
			*ret = NFO_REF_PASS;
			return 0;
		}
		dim = x->dims[level];
		if (!(fk.absent & (1u << dim)))
			break;
		/* No packet here has the field: its predicates are UNKNOWN. */
		for (size_t i = 0; i < n; i++) {
			struct crule *c = &x->cr[a[i].id];
			struct cpred *cp;

			if (!(c->levels & (1u << level)))
				continue;
			cp = cpred_for(c, dim);
			a[i].ms = tv_and(a[i].ms, TV_U);
			if (cp->has_eset)
				a[i].es = tv_and(a[i].es, TV_U);
		}
		level++;
	}
	h = plan_memo_hash(pl, level, gpos, fk.present, fk.absent, a, n);
	if (plan_memo_find(x, h, pl, level, gpos, fk.present, fk.absent, a, n, ret)) {
		free(a);
		return 0;
	}
	r = expand(x, pl, level, gpos, fk, a, n, ret);
	if (r == 0 && !x->too_big)
		r = plan_memo_insert(x, h, pl, level, gpos, fk.present, fk.absent, a, n, *ret);
	free(a);
	return r;
}

/* The root of one interface: the EtherType picks the pipeline. */
int plan_build_root(struct ctx *x, const struct nfo_plan_iface *iface, int pl_base, uint32_t *ret)
{
	struct nfo_vset bounds = {};
	struct nfo_plan_node node = { .dim = NFO_DIM_ETHTYPE };
	struct aentry *a = NULL;
	nfo_u128 max = 0xffff;
	nfo_u128 *cuts = NULL;
	size_t ncuts = 0, cutcap = 0;
	bool same = true;
	int r = 0;

	/* Cut points: every bound of an EtherType predicate, and the two IP
	 * EtherTypes which select their own pipelines. */
	for (int cls = 0; cls < _CLS_MAX; cls++) {
		const struct pipeline *p = &x->pl[pl_base + cls];

		for (size_t i = 0; i < p->ninit; i++) {
			struct cpred *cp = cpred_for(&x->cr[p->init[i].id], NFO_DIM_ETHTYPE);

			for (size_t k = 0; cp && k < cp->mset.n; k++) {
				if (nfo_grow(&cuts, &cutcap, ncuts + 2, sizeof(*cuts)) < 0)
					goto oom;
				cuts[ncuts++] = cp->mset.iv[k].lo;
				cuts[ncuts++] = cp->mset.iv[k].hi + 1;
			}
			for (size_t k = 0; cp && cp->has_eset && k < cp->eset.n; k++) {
				if (nfo_grow(&cuts, &cutcap, ncuts + 2, sizeof(*cuts)) < 0)
					goto oom;
				cuts[ncuts++] = cp->eset.iv[k].lo;
				cuts[ncuts++] = cp->eset.iv[k].hi + 1;
			}
		}
	}
	if (nfo_grow(&cuts, &cutcap, ncuts + 5, sizeof(*cuts)) < 0)
		goto oom;
	cuts[ncuts++] = 0;
	cuts[ncuts++] = 0x0800;
	cuts[ncuts++] = 0x0801;
	cuts[ncuts++] = 0x86dd;
	cuts[ncuts++] = 0x86de;
	for (size_t i = 0; i < ncuts; i++)
		if (cuts[i] <= max && nfo_vset_push(&bounds, cuts[i], cuts[i]) < 0)
			goto oom;
	nfo_vset_normalize(&bounds);

	/* bounds holds the distinct cut points as intervals; walk them. */
	{
		nfo_u128 *pts = NULL;
		size_t np = 0, pcap = 0;

		for (size_t i = 0; i < bounds.n; i++)
			for (nfo_u128 v = bounds.iv[i].lo;; v++) {
				if (nfo_grow(&pts, &pcap, np + 1, sizeof(*pts)) < 0) {
					free(pts);
					goto oom;
				}
				pts[np++] = v;
				if (v == bounds.iv[i].hi)
					break;
			}
		for (size_t i = 0; i < np && r == 0 && !x->too_big; i++) {
			nfo_u128 lo = pts[i], hi = i + 1 < np ? pts[i + 1] - 1 : max;
			int cls = lo == 0x0800 ? CLS_IPV4 : lo == 0x86dd ? CLS_IPV6 : CLS_OTHER;
			const struct pipeline *p = &x->pl[pl_base + cls];
			uint32_t child;
			size_t n = p->ninit;

			free(a);
			a = malloc((n ? n : 1) * sizeof(*a));
			if (!a) {
				free(pts);
				goto oom;
			}
			memcpy(a, p->init, n * sizeof(*a));
			for (size_t k = 0; k < n; k++) {
				struct crule *c = &x->cr[a[k].id];
				struct cpred *cp = cpred_for(c, NFO_DIM_ETHTYPE);

				if (!cp)
					continue;
				a[k].ms = tv_and(a[k].ms, nfo_vset_contains(&cp->mset, lo) ? TV_T : TV_F);
				if (cp->has_eset)
					a[k].es = tv_and(a[k].es,
							 nfo_vset_contains(&cp->eset, lo) ? TV_T : TV_F);
			}
			r = build(x, pl_base + cls, x->level_of[NFO_DIM_ETHTYPE] + 1, 0, class_fk[cls], a, n,
				  &child);
			if (r == 0)
				r = plan_push_edge(&node, lo, hi, child);
		}
		free(pts);
	}
	if (r < 0 || x->too_big)
		goto out;
	for (size_t k = 1; k < node.nedges; k++)
		if (node.edges[k].ref != node.edges[0].ref)
			same = false;
	if (same && node.nedges) {
		*ret = node.edges[0].ref;
		goto out;
	}
	node.unknown = NFO_REF_PASS;
	r = plan_intern_node(x, &node, ret);
out:
	free(node.edges);
	free(a);
	free(cuts);
	nfo_vset_free(&bounds);
	return r;
oom:
	r = -ENOMEM;
	goto out;
}
