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

/* Service mode (bpf/cgroup): each transport field is there as far as the
 * packet reaches, as nft_payload_eval() reads each one on its own. */
static uint32_t implied_present_exact(int dim)
{
	switch (dim) {
	case NFO_DIM_TH2:
		return DIMBIT(NFO_DIM_TH0);
	case NFO_DIM_TCPFLAGS:
		return DIMBIT(NFO_DIM_TH0) | DIMBIT(NFO_DIM_TH2);
	}
	return 0;
}

static uint32_t implied_absent_exact(int dim)
{
	switch (dim) {
	case NFO_DIM_L4PROTO:
		return DIMBIT(NFO_DIM_TH0) | DIMBIT(NFO_DIM_TH2) | DIMBIT(NFO_DIM_TCPFLAGS);
	case NFO_DIM_TH0:
		return DIMBIT(NFO_DIM_TH2) | DIMBIT(NFO_DIM_TCPFLAGS);
	case NFO_DIM_TH2:
		return DIMBIT(NFO_DIM_TCPFLAGS);
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


/* A rule without a ct state predicate at the conntrack level: whether its
 * other conditions there (NAT, ct status) come before its effects. */
static bool ct_before_effect(const struct crule *c)
{
	if (c->ct_cond)
		return true;
	for (size_t k = 0; k < c->nctsp; k++)
		if (c->ctsp[k]->before_effect)
			return true;
	return false;
}

/* The alive list of one conntrack class: each ct state test resolved for
 * the states in possible (a single state when split: TRUE or FALSE, except
 * in chains that may run before conntrack, which see every state in all,
 * and invalid: a packet conntrack has not seen yet has no entry attached,
 * which nft_ct_get_eval() calls invalid). */
static size_t ct_entries(struct ctx *x, int level, unsigned code, unsigned possible,
			 unsigned all, int nominal, const struct aentry *a, size_t n,
			 struct aentry *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		struct crule *c = &x->cr[a[i].id];
		struct cpred *cp = (c->levels & (1u << level)) ? cpred_for(c, NFO_DIM_CTSTATE) : NULL;
		unsigned m = x->cc[c->chain].ct_early && all ? all | 1u << NFO_CT_INVALID : possible;
		struct aentry ne = a[i];

		if (cp) {
			ne.ms = tv_and(ne.ms, plan_ct_truth(&cp->mset, m, nominal));
			if (cp->has_eset)
				ne.es = tv_and(ne.es, plan_ct_truth(&cp->eset, m, nominal));
		}
		if (c->ct_cond && (c->levels & (1u << level))) {
			uint8_t v = plan_ct_cond_truth(x, c->ct_cond, code);

			/* the condition holds before any of the rule's effects */
			ne.ms = tv_and(ne.ms, v);
			ne.es = tv_and(ne.es, v);
		}
		for (size_t k = 0; k < c->nctsp && (c->levels & (1u << level)); k++) {
			const struct nfo_pred *p = c->ctsp[k];
			uint8_t v = plan_ct_status_truth(x, &p->set, code);

			ne.ms = tv_and(ne.ms, v);
			if (p->before_effect)
				ne.es = tv_and(ne.es, v);
		}
		if ((cp || c->ct_cond || c->nctsp) && entry_dead(c, &ne))
			continue;
		out[o++] = ne;
	}
	return o;
}

/* Some rule of the alive list tests the ct state conntrack gives the
 * packet (not only an early chain's). */
static bool ct_tested(const struct ctx *x, int level, const struct aentry *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct crule *c = &x->cr[a[i].id];

		if ((c->levels & (1u << level)) && !x->cc[c->chain].ct_early &&
		    cpred_for(c, NFO_DIM_CTSTATE))
			return true;
	}
	return false;
}

/*
 * One conntrack class whose lookup leaves several states possible. The
 * packet has exactly one of them at every chain after conntrack
 * (nf_conntrack_in sets skb->_nfct once; only effects, which stop the
 * reasoning, change it), so the rules are evaluated once per state, each
 * ct test TRUE or FALSE, and the packet is certainly dropped if it is for
 * every state: `ct state invalid drop` then `ct state new tcp flags != syn
 * drop` drops a non-SYN without entry, whichever of the two it gets.
 * conntrack is the last level: every child is a verdict. The drop is
 * credited to the nominal state's rule.
 */
static int ct_split(struct ctx *x, int pl, int level, int gpos, struct fk fk, unsigned code,
		    unsigned possible, int nominal, const struct aentry *a, size_t n,
		    struct aentry *out, uint32_t *ret)
{
	uint32_t ref = NFO_REF_PASS, nom = NFO_REF_PASS;
	bool first = true, same = true, drops = true;

	for (int st = 0; st < _NFO_CT_STATES; st++) {
		uint32_t child;
		size_t o;
		int r;

		if (!(possible & (1u << st)))
			continue;
		o = ct_entries(x, level, code, 1u << st, possible, st, a, n, out);
		x->work += o + 1;
		r = build(x, pl, level + 1, gpos, fk, out, o, &child);
		if (r < 0 || x->too_big)
			return r;
		if ((child & NFO_REF_KIND_MASK) != NFO_REF_VERDICT)
			return 1; /* not expected; the caller plans it jointly */
		same &= first || child == ref;
		drops &= !!(child & NFO_REF_DROP_BIT);
		if (st == nominal)
			nom = child;
		ref = child;
		first = false;
	}
	*ret = drops ? nom : same ? ref : NFO_REF_PASS;
	return 0;
}

/* A conntrack node: one edge per class code the fast path reports. */
static int expand_ct(struct ctx *x, int pl, int level, int gpos, struct fk fk,
		     const struct aentry *a, size_t n, uint32_t *ret)
{
	struct nfo_plan_node node = { .dim = NFO_DIM_CTSTATE };
	struct aentry *out = malloc((n + 1) * sizeof(*out));
	uint32_t child, uref = NFO_REF_PASS;
	bool split = !x->exact && ct_tested(x, level, a, n);
	int r = 0;

	if (!out)
		return -ENOMEM;
	for (int code = 0; code <= NFO_CT_CLASSES && r == 0 && !x->too_big; code++) {
		unsigned possible = 0;
		int nominal = NFO_CT_NEW;
		size_t o;

		/* code NFO_CT_CLASSES: no lookup was possible (not TCP/UDP) */
		if (code < NFO_CT_CLASSES)
			possible = plan_ct_possible(x, (unsigned)code, &nominal);
		r = 1;
		if (split && possible)
			r = ct_split(x, pl, level, gpos, fk, (unsigned)code, possible, nominal, a, n,
				     out, &child);
		if (r > 0) {
			o = ct_entries(x, level, (unsigned)code, possible, possible, nominal, a, n,
				       out);
			x->work += o + 1;
			r = build(x, pl, level + 1, gpos, fk, out, o, &child);
		}
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
	r = plan_finish_node(x, &node, uref, uref, ret);
out:
	free(node.edges);
	free(out);
	return r;
}

/*
 * One expansion step over field dim. The entries split by whether they
 * test dim: nl those that do not (unaffected), L those that do (lidx:
 * their indexes into the alive list), lx those of L kept alive outside
 * their predicate by an effect it does not guard. ev marks where each L
 * entry's sets start and stop holding. The sweep walks the events in
 * order: inm/ine count the intervals of each L entry's match and
 * before-effect sets that contain the position, act lists the L entries
 * inside one of them (apos: their places in act).
 */
struct step {
	int dim;
	int level;
	nfo_u128 max;
	struct aentry *nl;
	size_t nn;
	uint32_t *lidx;
	size_t nlc;
	uint32_t *lx;
	size_t nlx;
	struct event *ev;
	size_t nev;
	size_t evcap;
	size_t ei;
	int *inm;
	int *ine;
	uint32_t *act;
	size_t nact;
	size_t *apos;
	struct aentry *out; /* the alive list of the region at hand */
};

static int step_alloc(struct step *s, size_t n)
{
	s->nl = malloc((n + 1) * sizeof(*s->nl));
	s->out = malloc((n + 1) * sizeof(*s->out));
	s->lidx = malloc((n + 1) * sizeof(*s->lidx));
	s->act = malloc((n + 1) * sizeof(*s->act));
	s->lx = malloc((n + 1) * sizeof(*s->lx));
	s->inm = calloc(n + 1, sizeof(*s->inm));
	s->ine = calloc(n + 1, sizeof(*s->ine));
	s->apos = malloc((n + 1) * sizeof(*s->apos));
	if (!s->nl || !s->out || !s->lidx || !s->act || !s->lx || !s->inm || !s->ine || !s->apos)
		return -ENOMEM;
	return 0;
}

static void step_free(struct step *s)
{
	free(s->nl);
	free(s->out);
	free(s->lidx);
	free(s->act);
	free(s->lx);
	free(s->inm);
	free(s->ine);
	free(s->apos);
	free(s->ev);
}

/* Where set starts (+dm, +de) and stops (-dm, -de) holding for L entry j. */
static int add_set_events(struct step *s, const struct nfo_vset *set, uint32_t j, int dm, int de)
{
	for (size_t k = 0; k < set->n; k++) {
		int r = add_event(&s->ev, &s->nev, &s->evcap, set->iv[k].lo, j, dm, de);

		if (r == 0 && set->iv[k].hi < s->max)
			r = add_event(&s->ev, &s->nev, &s->evcap, set->iv[k].hi + 1, j, -dm, -de);
		if (r < 0)
			return r;
	}
	return 0;
}

static int step_split(struct ctx *x, int pl, struct step *s, const struct aentry *a, size_t n)
{
	int r;

	for (size_t i = 0; i < n; i++) {
		struct crule *c = &x->cr[a[i].id];
		struct cpred *cp = (c->levels & (1u << s->level)) ? cpred_for(c, s->dim) : NULL;
		uint32_t j = (uint32_t)s->nlc;

		if (!cp) {
			s->nl[s->nn++] = a[i];
			continue;
		}
		s->lidx[s->nlc] = (uint32_t)i;
		if (c->effect && !cp->has_eset && a[i].es != TV_F)
			s->lx[s->nlx++] = j;
		r = add_set_events(s, cpred_mset(cp, pl), j, 1, 0);
		if (r == 0 && cp->has_eset)
			r = add_set_events(s, cpred_eset(cp, pl), j, 0, 1);
		if (r < 0)
			return r;
		s->nlc++;
	}
	if (s->nev)
		qsort(s->ev, s->nev, sizeof(*s->ev), cmp_event);
	return 0;
}

/* Moves the sweep to pos. act ends sorted, as region_merge needs. */
static void step_advance(struct step *s, nfo_u128 pos)
{
	while (s->ei < s->nev && s->ev[s->ei].pos == pos) {
		uint32_t j = s->ev[s->ei].j;
		bool was = s->inm[j] > 0 || s->ine[j] > 0, is;

		s->inm[j] += s->ev[s->ei].dm;
		s->ine[j] += s->ev[s->ei].de;
		is = s->inm[j] > 0 || s->ine[j] > 0;
		if (is && !was) {
			s->apos[j] = s->nact;
			s->act[s->nact++] = j;
		} else if (!is && was) {
			uint32_t moved = s->act[--s->nact];

			s->act[s->apos[j]] = moved;
			s->apos[moved] = s->apos[j];
		}
		s->ei++;
	}
	qsort(s->act, s->nact, sizeof(*s->act), cmp_u32);
	for (size_t k = 0; k < s->nact; k++)
		s->apos[s->act[k]] = k;
}

/* The child of one region: decided by the current group alone when it can
 * be, else the expansion of what is left (past the group if the group let
 * the packet continue). */
static int region_child(struct ctx *x, int pl, int level, int gpos, struct fk fk,
			struct region_src *src, struct aentry *out, uint32_t *ret)
{
	const struct pipeline *p = &x->pl[pl];
	int cgpos = gpos;
	size_t o;

	src->reach = NULL;
	src->last_group = NULL;
	if (gpos < (int)p->ngroups) {
		int st;

		src->reach = p->groups[gpos].reach;
		o = region_merge(x, src, out);
		x->work += o + 1;
		st = plan_region_decided(x, p, level + 1, gpos, out, o, ret);
		if (st == REGION_DECIDED)
			return 0;
		src->reach = NULL;
		if (st == REGION_CONSUMED) {
			cgpos = gpos + 1;
			src->last_group = p->last_group;
			src->min_group = cgpos;
		}
	}
	o = region_merge(x, src, out);
	x->work += o + 1;
	return build(x, pl, level + 1, cgpos, fk, out, o, ret);
}

/* A predicate on a field the packet lacks: nftables breaks the rule when a
 * field it loads is missing, so with exact semantics FALSE; else UNKNOWN,
 * but TRUE where the predicate says so for such packets (true_without). */
static uint8_t absent_truth(const struct ctx *x, const struct cpred *cp, struct fk fk)
{
	if (cp && (cp->true_without & fk.present))
		return TV_T;
	return x->exact ? TV_F : TV_U;
}

/* The packet has no value for dim: its predicates are UNKNOWN. */
static int unknown_child(struct ctx *x, int pl, int gpos, struct fk fk, struct step *s,
			 const struct aentry *a, uint32_t *ret)
{
	size_t o = 0, i1 = 0, li = 0;

	while (i1 < s->nn || li < s->nlc) {
		const struct aentry *e;
		struct crule *c;
		struct cpred *cp;
		struct aentry ne;

		if (li >= s->nlc || (i1 < s->nn && s->nl[i1].id < a[s->lidx[li]].id)) {
			s->out[o++] = s->nl[i1++];
			continue;
		}
		e = &a[s->lidx[li++]];
		c = &x->cr[e->id];
		cp = cpred_for(c, s->dim);
		ne = *e;
		ne.ms = tv_and(e->ms, absent_truth(x, cp, fk));
		if (cp->has_eset)
			ne.es = tv_and(e->es, absent_truth(x, cp, fk));
		s->out[o++] = ne;
	}
	return build(x, pl, s->level + 1, gpos, fk, s->out, o, ret);
}

static int expand(struct ctx *x, int pl, int level, int gpos, struct fk fk,
		  const struct aentry *a, size_t n, uint32_t *ret)
{
	int dim = x->dims[level];
	struct fk kfk = { fk.present | (x->exact ? implied_present_exact(dim) : implied_present(dim)),
			  fk.absent };
	struct fk ufk = { fk.present, fk.absent | DIMBIT(dim) |
					      (x->exact ? implied_absent_exact(dim) : implied_absent(dim)) };
	struct step s = { .dim = dim, .level = level, .max = nfo_u128_max(nfo_dim_width(dim)) };
	struct nfo_plan_node node = { .dim = dim };
	struct region_src src;
	uint32_t child, uref;
	nfo_u128 pos = 0;
	int r;

	if (dim == NFO_DIM_CTSTATE)
		return expand_ct(x, pl, level, gpos, fk, a, n, ret);
	r = step_alloc(&s, n);
	if (r == 0)
		r = step_split(x, pl, &s, a, n);
	if (r < 0)
		goto out;
	/* Entries with a predicate on dim are FALSE outside it: only the
	 * active ones, and those kept alive by an effect the predicate does
	 * not guard (lx), can be in a region's alive list. */
	src = (struct region_src){
		.a = a, .lidx = s.lidx, .nl = s.nl, .nn = s.nn, .act = s.act, .lx = s.lx,
		.nlx = s.nlx, .inm = s.inm, .ine = s.ine, .dim = dim, .level = level,
	};
	for (;;) {
		nfo_u128 next;
		bool last;

		step_advance(&s, pos);
		last = s.ei >= s.nev;
		next = last ? 0 : s.ev[s.ei].pos;
		src.nact = s.nact;
		r = region_child(x, pl, level, gpos, kfk, &src, s.out, &child);
		if (r < 0 || x->too_big)
			goto out;
		r = plan_push_edge(&node, pos, last ? s.max : next - 1, child);
		if (r < 0)
			goto out;
		if (last)
			break;
		pos = next;
	}

	if (fk.present & DIMBIT(dim)) {
		uref = node.nedges ? node.edges[0].ref : NFO_REF_PASS;
	} else {
		r = unknown_child(x, pl, gpos, ufk, &s, a, &uref);
		if (r < 0 || x->too_big)
			goto out;
	}
	/* A field always present never takes the unknown branch. */
	r = plan_finish_node(x, &node, uref, (fk.present & DIMBIT(dim)) ? NFO_REF_PASS : uref, ret);
out:
	free(node.edges);
	step_free(&s);
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
			x->inexact |= x->exact;
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
			a[i].ms = tv_and(a[i].ms, absent_truth(x, cp, fk));
			if (cp ? cp->has_eset : ct_before_effect(c))
				a[i].es = tv_and(a[i].es, absent_truth(x, cp, fk));
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

static int push_cuts(nfo_u128 **cuts, size_t *n, size_t *cap, const struct nfo_vset *set)
{
	for (size_t k = 0; k < set->n; k++) {
		if (nfo_grow(cuts, cap, *n + 2, sizeof(**cuts)) < 0)
			return -ENOMEM;
		(*cuts)[(*n)++] = set->iv[k].lo;
		(*cuts)[(*n)++] = set->iv[k].hi + 1;
	}
	return 0;
}

/* Where the root's regions start, in order: every bound of an EtherType
 * predicate, and the two IP EtherTypes which select their own pipelines. */
static int root_cuts(struct ctx *x, int pl_base, nfo_u128 **ret_pts, size_t *ret_n)
{
	static const nfo_u128 fixed[] = { 0, 0x0800, 0x0801, 0x86dd, 0x86de };
	struct nfo_vset bounds = {};
	nfo_u128 *cuts = NULL, *pts = NULL;
	size_t ncuts = 0, cutcap = 0, np = 0, pcap = 0;
	int r = 0;

	for (int cls = 0; cls < _CLS_MAX && r == 0; cls++) {
		const struct pipeline *p = &x->pl[pl_base + cls];

		for (size_t i = 0; i < p->ninit && r == 0; i++) {
			struct cpred *cp = cpred_for(&x->cr[p->init[i].id], NFO_DIM_ETHTYPE);

			if (!cp)
				continue;
			r = push_cuts(&cuts, &ncuts, &cutcap, &cp->mset);
			if (r == 0 && cp->has_eset)
				r = push_cuts(&cuts, &ncuts, &cutcap, &cp->eset);
		}
	}
	if (r == 0 && nfo_grow(&cuts, &cutcap, ncuts + 5, sizeof(*cuts)) < 0)
		r = -ENOMEM;
	for (size_t i = 0; i < 5 && r == 0; i++)
		cuts[ncuts++] = fixed[i];
	for (size_t i = 0; i < ncuts && r == 0; i++)
		if (cuts[i] <= 0xffff && nfo_vset_push(&bounds, cuts[i], cuts[i]) < 0)
			r = -ENOMEM;
	nfo_vset_normalize(&bounds);

	/* bounds holds the distinct cut points as intervals; list them. */
	for (size_t i = 0; i < bounds.n && r == 0; i++) {
		for (nfo_u128 v = bounds.iv[i].lo;; v++) {
			if (nfo_grow(&pts, &pcap, np + 1, sizeof(*pts)) < 0) {
				r = -ENOMEM;
				break;
			}
			pts[np++] = v;
			if (v == bounds.iv[i].hi)
				break;
		}
	}
	free(cuts);
	nfo_vset_free(&bounds);
	if (r < 0) {
		free(pts);
		return r;
	}
	*ret_pts = pts;
	*ret_n = np;
	return 0;
}

/* The pipeline's first alive list, for EtherType v. */
static struct aentry *root_entries(struct ctx *x, const struct pipeline *p, nfo_u128 v)
{
	size_t n = p->ninit;
	struct aentry *a = malloc((n ? n : 1) * sizeof(*a));

	if (!a)
		return NULL;
	memcpy(a, p->init, n * sizeof(*a));
	for (size_t k = 0; k < n; k++) {
		struct crule *c = &x->cr[a[k].id];
		struct cpred *cp = cpred_for(c, NFO_DIM_ETHTYPE);

		if (!cp)
			continue;
		a[k].ms = tv_and(a[k].ms, nfo_vset_contains(&cp->mset, v) ? TV_T : TV_F);
		if (cp->has_eset)
			a[k].es = tv_and(a[k].es, nfo_vset_contains(&cp->eset, v) ? TV_T : TV_F);
	}
	return a;
}

/* The root of one interface: the EtherType picks the pipeline. */
int plan_build_root(struct ctx *x, const struct nfo_plan_iface *iface, int pl_base, uint32_t *ret)
{
	struct nfo_plan_node node = { .dim = NFO_DIM_ETHTYPE };
	struct aentry *a = NULL;
	nfo_u128 *pts = NULL;
	size_t np = 0;
	int r;

	r = root_cuts(x, pl_base, &pts, &np);
	for (size_t i = 0; i < np && r == 0 && !x->too_big; i++) {
		nfo_u128 lo = pts[i], hi = i + 1 < np ? pts[i + 1] - 1 : 0xffff;
		int cls = lo == 0x0800 ? CLS_IPV4 : lo == 0x86dd ? CLS_IPV6 : CLS_OTHER;
		const struct pipeline *p = &x->pl[pl_base + cls];
		uint32_t child;

		/* (a subtree stays in its class: the memo keys on pl) */
		x->rst_cls_ok = cls == CLS_IPV4 ? x->rst4_ok : cls == CLS_IPV6 && x->rst6_ok;
		free(a);
		a = root_entries(x, p, lo);
		if (!a) {
			r = -ENOMEM;
			break;
		}
		r = build(x, pl_base + cls, x->level_of[NFO_DIM_ETHTYPE] + 1, 0, class_fk[cls], a,
			  p->ninit, &child);
		if (r == 0)
			r = plan_push_edge(&node, lo, hi, child);
	}
	/* (there is always an edge: 0 is a cut point) */
	if (r == 0 && !x->too_big)
		r = plan_finish_node(x, &node, node.nedges ? node.edges[0].ref : NFO_REF_PASS,
				     NFO_REF_PASS, ret);
	free(node.edges);
	free(a);
	free(pts);
	return r;
}
