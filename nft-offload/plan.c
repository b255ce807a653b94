// SPDX-License-Identifier: GPL-2.0-only
/*
 * Compiling the ruleset into a decision diagram.
 *
 * For one interface and one packet class (IPv4, IPv6, other EtherTypes) the
 * packet meets a pipeline of "groups": base chains of equal priority, in
 * hook order (ingress, then prerouting, then input), with gates between the
 * hooks (the frame is for this host's MAC; the destination is a local
 * address). The diagram is built by Shannon expansion over the packet fields
 * in a fixed order: at each node the field's domain is cut into regions where
 * every remaining predicate is constant, and each region continues with the
 * predicates on that field resolved to TRUE or FALSE (UNKNOWN when the packet
 * has no value for the field). The state carried down is the list of rules
 * still alive with their partial three-valued truth; it is simplified
 * (rules that cannot match dropped, rules after a certain verdict cut, fully
 * decided groups consumed) and memoised, so equal sub-problems share one
 * sub-diagram.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/netfilter.h>

#include "netlink/rtnl.h"
#include "plan.h"
#include "common/util.h"

/*
 * Three-valued truth. UNKNOWN may carry a nominal value: what is by far the
 * likely case (a packet with no conntrack entry is NEW, rarely INVALID). The
 * nominal value never decides a verdict; it only says which rule to credit
 * when the packet is certainly dropped by one of several.
 */
enum { TV_F = 0, TV_T = 1, TV_U = 2, TV_UT = 3, TV_UF = 4 };

/* Nominal truth: 1, 0, or -1 when nothing is likely. */
static int tv_nominal(uint8_t a)
{
	return a == TV_T || a == TV_UT ? 1 : a == TV_F || a == TV_UF ? 0 : -1;
}

static uint8_t tv_and(uint8_t a, uint8_t b)
{
	int na, nb;

	if (a == TV_F || b == TV_F)
		return TV_F;
	if (a == TV_T)
		return b;
	if (b == TV_T)
		return a;
	na = tv_nominal(a);
	nb = tv_nominal(b);
	if (na < 0 || nb < 0)
		return TV_U;
	return na && nb ? TV_UT : TV_UF;
}

/* Outcome bits of evaluating a chain (SEMANTICS.md section 4). */
enum {
	O_ACCEPT = 1,
	O_DROP = 2,
	O_STOP = 4,
	O_RET = 8, /* falls off the end / returns */
};

#define NFO_JUMP_DEPTH 16 /* NFT_JUMP_STACK_SIZE */
#define NFO_PRI_NAT_DST (-100) /* NF_IP_PRI_NAT_DST */

struct cpred {
	int dim;
	struct nfo_vset mset; /* intersection of all predicates on dim */
	struct nfo_vset eset; /* of those before the first effect */
	bool has_eset;
};

/* CR_SYNTH: per chain, a rule that certainly accepts and one that certainly
 * returns; they stand for any rule that certainly ends the chain that way,
 * so that states differing only in which rule did it are shared. */
enum { CR_RULE, CR_GATE, CR_SYNTH };
#define SYNTH_ACCEPT 0
#define SYNTH_RETURN 1
#define NSYNTH 2

struct crule {
	const struct nfo_rule *rule;
	int kind;
	int chain;
	uint8_t st_m, st_e;     /* from UNKNOWN and FALSE predicates */
	const struct nfo_pred **ifp; /* iif / iifname, resolved per interface */
	size_t nifp;
	struct cpred *cp;
	size_t ncp;
	uint32_t levels;        /* bit per level with a predicate */
	int last_level;         /* -1: no packet predicate */
	bool effect;
	int verdict;
	int target;             /* cchain of jump/goto, -1 if none */
	const struct nfo_chain *target_chain;
	int32_t drop_target;
	int primary;            /* verdict map alternatives: the first one's
				 * index (they credit one counter), else -1 */
};

struct cchain {
	const struct nfo_chain *chain; /* NULL for gates */
	uint32_t first;
	uint32_t n;
	int32_t policy_target;
};

enum { G_CHAINS, G_GATE, G_STOP };

struct cgroup {
	int kind;
	int *chains;
	size_t n;
	uint8_t *reach; /* bitmap over cchains reachable from this group */
};

struct aentry {
	uint32_t id;
	uint8_t ms;
	uint8_t es;
	uint16_t pad;
};

struct pipeline {
	struct cgroup *groups;
	size_t ngroups;
	int *last_group; /* per cchain: last group that reaches it, -1 none */
	struct aentry *init;
	size_t ninit;
};

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

struct ctx {
	const struct nfo_plan_input *in;
	struct nfo_plan *plan;
	struct crule *cr;
	size_t ncr;
	size_t cr_cap;
	struct cchain *cc;
	size_t ncc;
	size_t cc_cap;
	int dims[_NFO_DIM_MAX];
	int ndims;
	int level_of[_NFO_DIM_MAX];
	struct pipeline *pl;
	size_t npl;
	struct memo_ent *memo;
	size_t memo_cap;
	size_t memo_n;
	size_t work;
	bool too_big;
	uint32_t *nodetab; /* hash-consing: equal nodes are stored once */
	size_t nodetab_cap;
	bool ct_related;   /* some rule may create expectations (helpers) */
	bool inexact;      /* exact mode: some leaf is not one certain verdict */
	/* Service mode (in->service_chain): every leaf must be a certain
	 * verdict, a missing field makes its predicates FALSE, and accepting
	 * leaves credit their rule. */
	bool exact;
};

/* ---- compiled rules ---------------------------------------------------- */

static struct cpred *cpred_for(struct crule *c, int dim)
{
	for (size_t i = 0; i < c->ncp; i++)
		if (c->cp[i].dim == dim)
			return &c->cp[i];
	return NULL;
}

static int crule_add_packet_pred(struct crule *c, const struct nfo_pred *p)
{
	struct cpred *cp = cpred_for(c, p->dim);
	int r;

	if (!cp) {
		struct cpred *n = realloc(c->cp, (c->ncp + 1) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->cp = n;
		cp = &c->cp[c->ncp++];
		memset(cp, 0, sizeof(*cp));
		cp->dim = p->dim;
		r = nfo_vset_copy(&cp->mset, &p->set);
		if (r < 0)
			return r;
	} else {
		r = nfo_vset_intersect(&cp->mset, &p->set);
		if (r < 0)
			return r;
	}
	if (p->before_effect) {
		if (!cp->has_eset) {
			cp->has_eset = true;
			return nfo_vset_copy(&cp->eset, &p->set);
		}
		return nfo_vset_intersect(&cp->eset, &p->set);
	}
	return 0;
}

static int new_crule(struct ctx *x, struct crule **ret)
{
	int r = nfo_grow(&x->cr, &x->cr_cap, x->ncr + 1, sizeof(*x->cr));

	if (r < 0)
		return r;
	*ret = &x->cr[x->ncr++];
	memset(*ret, 0, sizeof(**ret));
	(*ret)->st_m = TV_T;
	(*ret)->st_e = TV_T;
	(*ret)->target = -1;
	(*ret)->drop_target = -1;
	(*ret)->last_level = -1;
	(*ret)->primary = -1;
	return 0;
}

/* The dimension testing membership of a set reference: its slot's, given
 * one (there are NFO_MAX_SETS per plan), or -1. */
static int setref_dim(struct ctx *x, const struct nfo_setref *ref)
{
	struct nfo_plan *p = x->plan;

	for (size_t k = 0; k < p->nsets; k++)
		if (p->sets[k].set == ref->set && p->sets[k].ndims == ref->ndims &&
		    !memcmp(p->sets[k].dims, ref->dims, ref->ndims))
			return NFO_DIM_SET0 + (int)k;
	if (p->nsets == NFO_MAX_SETS)
		return -1;
	p->sets[p->nsets] = (struct nfo_plan_set){ .set = ref->set, .ndims = ref->ndims };
	memcpy(p->sets[p->nsets].dims, ref->dims, ref->ndims);
	return NFO_DIM_SET0 + (int)p->nsets++;
}

static int note_dag_set(struct ctx *x, const struct nfo_set *set)
{
	struct nfo_plan *p = x->plan;
	const struct nfo_set **n;

	for (size_t i = 0; i < p->ndag_sets; i++)
		if (p->dag_sets[i] == set)
			return 0;
	n = realloc(p->dag_sets, (p->ndag_sets + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->dag_sets = n;
	p->dag_sets[p->ndag_sets++] = set;
	return 0;
}

bool nfo_plan_set_used(const struct nfo_plan *p, const struct nfo_set *s)
{
	for (size_t i = 0; i < p->ndag_sets; i++)
		if (p->dag_sets[i] == s)
			return true;
	for (size_t k = 0; k < p->nsets; k++)
		if (p->sets[k].set == s)
			return true;
	return false;
}

bool nfo_plan_set_updatable(const struct nfo_plan *p, const struct nfo_set *s)
{
	bool slot = false;

	for (size_t i = 0; i < p->ndag_sets; i++)
		if (p->dag_sets[i] == s)
			return false;
	for (size_t k = 0; k < p->nsets; k++)
		slot |= p->sets[k].set == s;
	return slot;
}

/* One compiled rule; alt < 0: the rule itself, else one verdict of its map. */
static int compile_one(struct ctx *x, int chain, const struct nfo_rule *rule, int alt, int primary)
{
	struct crule *c;
	int r = new_crule(x, &c);

	if (r < 0)
		return r;
	c->rule = rule;
	c->kind = CR_RULE;
	c->chain = chain;
	c->effect = rule->effect;
	c->verdict = rule->verdict;
	c->target_chain = rule->target_chain;
	c->primary = primary;
	for (size_t i = 0; i < rule->npreds; i++) {
		const struct nfo_pred *p = &rule->preds[i];

		switch (p->dim) {
		case NFO_PDIM_UNKNOWN:
			c->st_m = tv_and(c->st_m, TV_U);
			if (p->before_effect)
				c->st_e = tv_and(c->st_e, TV_U);
			break;
		case NFO_PDIM_FALSE:
			c->st_m = TV_F;
			if (p->before_effect)
				c->st_e = TV_F;
			break;
		case NFO_PDIM_SETREF: {
			struct nfo_pred q = { .dim = setref_dim(x, &p->ref),
					      .before_effect = p->before_effect };
			const struct nfo_set *set = p->ref.set;

			if (q.dim < 0 && p->ref.ndims == 1 && set->key_len <= 16) {
				/* out of slots: the elements go into the diagram */
				r = note_dag_set(x, set);
				if (r < 0)
					return r;
				q.dim = p->ref.dims[0];
				r = nfo_vset_copy(&q.set, &set->elems);
				if (r == 0 && p->ref.invert)
					r = nfo_vset_complement(&q.set, nfo_u128_max(set->key_len * 8));
			} else if (q.dim >= 0) {
				r = nfo_vset_push(&q.set, !p->ref.invert, !p->ref.invert);
			} else {
				c->st_m = tv_and(c->st_m, TV_U);
				if (p->before_effect)
					c->st_e = tv_and(c->st_e, TV_U);
				break;
			}
			if (r == 0)
				r = crule_add_packet_pred(c, &q);
			nfo_vset_free(&q.set);
			if (r < 0)
				return r;
			break;
		}
		case NFO_PDIM_IIF:
		case NFO_PDIM_IIFNAME: {
			const struct nfo_pred **n = realloc(c->ifp, (c->nifp + 1) * sizeof(*n));

			if (!n)
				return -ENOMEM;
			c->ifp = n;
			c->ifp[c->nifp++] = p;
			break;
		}
		default:
			if (p->dim < 0 || p->dim >= _NFO_DIM_MAX) {
				c->st_m = tv_and(c->st_m, TV_U);
				if (p->before_effect)
					c->st_e = tv_and(c->st_e, TV_U);
				break;
			}
			if (p->from_set && (r = note_dag_set(x, p->from_set)) < 0)
				return r;
			r = crule_add_packet_pred(c, p);
			if (r < 0)
				return r;
		}
	}
	if (alt >= 0) {
		const struct nfo_alt *a = &rule->alts[alt];
		/* A verdict map is the rule's last statement: any effect in the
		 * rule comes before its lookup and happens whatever the key. */
		struct nfo_pred key = { .dim = a->dim, .before_effect = !rule->effect, .set = a->set };

		c->verdict = a->verdict;
		c->target_chain = a->target_chain;
		r = crule_add_packet_pred(c, &key);
		if (r < 0)
			return r;
	}
	return 0;
}

static int compile_rule(struct ctx *x, int chain, const struct nfo_rule *rule)
{
	int primary = (int)x->ncr, r;

	if (rule->vmap_set) {
		r = note_dag_set(x, rule->vmap_set);
		if (r < 0)
			return r;
	}
	if (!rule->nalts)
		return compile_one(x, chain, rule, -1, -1);
	/* A verdict map: its alternatives in a row; their keys are disjoint,
	 * so at most one holds, as nft_lookup finds at most one element. */
	for (size_t a = 0; a < rule->nalts; a++) {
		r = compile_one(x, chain, rule, (int)a, primary);
		if (r < 0)
			return r;
	}
	return 0;
}

static int new_cchain(struct ctx *x, const struct nfo_chain *chain, int *ret)
{
	int r = nfo_grow(&x->cc, &x->cc_cap, x->ncc + 1, sizeof(*x->cc));

	if (r < 0)
		return r;
	x->cc[x->ncc] = (struct cchain){
		.chain = chain,
		.first = (uint32_t)x->ncr,
		.policy_target = -1,
	};
	*ret = (int)x->ncc++;
	return 0;
}

static int chain_index(const struct ctx *x, const struct nfo_chain *c)
{
	for (size_t i = 0; i < x->ncc; i++)
		if (x->cc[i].chain == c)
			return (int)i;
	return -1;
}

/* Ingress, prerouting and input base chains first, so the field order
 * follows the order in which packets meet predicates. */
static int chain_rank(const struct nfo_chain *c)
{
	if (!c->base)
		return 4;
	switch (c->hook) {
	case NFO_HOOK_INGRESS:
		return 0;
	case NFO_HOOK_PREROUTING:
		return 1;
	case NFO_HOOK_INPUT:
		return 2;
	}
	return 3;
}

static void note_dim(struct ctx *x, int dim)
{
	if (x->level_of[dim] >= 0)
		return;
	x->level_of[dim] = x->ndims;
	x->dims[x->ndims++] = dim;
}

/* Compiles chain c's rules into a new cchain; notes their fields. */
static int compile_chain(struct ctx *x, const struct nfo_chain *c)
{
	int ci, r;

	r = new_cchain(x, c, &ci);
	if (r < 0)
		return r;
	for (int k = 0; k < NSYNTH; k++) {
		struct crule *sy;

		r = new_crule(x, &sy);
		if (r < 0)
			return r;
		sy->kind = CR_SYNTH;
		sy->chain = ci;
		sy->verdict = k == SYNTH_ACCEPT ? NFO_VERDICT_ACCEPT : NFO_VERDICT_RETURN;
	}
	for (size_t k = 0; k < c->nrules; k++) {
		const struct nfo_rule *rule = &c->rules[k];

		/* conntrack last: the lookup is the costly step,
		 * made only where nothing cheaper decides */
		for (size_t p = 0; p < rule->npreds; p++) {
			int d = rule->preds[p].dim;

			if (d == NFO_PDIM_SETREF) {
				d = setref_dim(x, &rule->preds[p].ref);
				if (d < 0)
					d = rule->preds[p].ref.dims[0];
			}
			if (d >= 0 && d < _NFO_DIM_MAX && d != NFO_DIM_CTSTATE)
				note_dim(x, d);
		}
		x->ct_related |= rule->expectations;
		for (size_t a = 0; a < rule->nalts; a++)
			note_dim(x, rule->alts[a].dim);
		r = compile_rule(x, ci, rule);
		if (r < 0)
			return r;
	}
	x->cc[ci].n = (uint32_t)(x->ncr - x->cc[ci].first);
	return 0;
}

/* Jump and goto targets, resolved to cchains; levels of each rule. */
static void link_rules(struct ctx *x)
{
	for (size_t i = 0; i < x->ncr; i++) {
		struct crule *c = &x->cr[i];

		if (c->rule && (c->verdict == NFO_VERDICT_JUMP || c->verdict == NFO_VERDICT_GOTO)) {
			c->target = c->target_chain ? chain_index(x, c->target_chain) : -1;
			if (c->target < 0)
				c->verdict = NFO_VERDICT_STOP;
		}
		for (size_t p = 0; p < c->ncp; p++) {
			int lv = x->level_of[c->cp[p].dim];

			c->levels |= 1u << lv;
			if (lv > c->last_level)
				c->last_level = lv;
		}
	}
}

/* Service mode: the service chain and every chain it can jump or goto to,
 * and nothing else (sets of other chains must not take slots). */
static int compile_service(struct ctx *x)
{
	const struct nfo_chain **todo;
	size_t n = 0, cap = 16;
	int r = 0;

	for (int d = 0; d < _NFO_DIM_MAX; d++)
		x->level_of[d] = -1;
	note_dim(x, NFO_DIM_ETHTYPE);
	todo = malloc(cap * sizeof(*todo));
	if (!todo)
		return -ENOMEM;
	todo[n++] = x->in->service_chain;
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct nfo_chain *c = todo[i];

		for (size_t k = 0; k < c->nrules && r == 0; k++) {
			const struct nfo_rule *rule = &c->rules[k];

			for (size_t a = 0; a <= rule->nalts && r == 0; a++) {
				const struct nfo_chain *t = a < rule->nalts ? rule->alts[a].target_chain :
									      rule->target_chain;
				bool seen = !t;

				for (size_t j = 0; j < n && !seen; j++)
					seen = todo[j] == t;
				if (seen)
					continue;
				r = nfo_grow(&todo, &cap, n + 1, sizeof(*todo));
				if (r == 0)
					todo[n++] = t;
			}
		}
	}
	for (size_t i = 0; i < n && r == 0; i++)
		r = compile_chain(x, todo[i]);
	free(todo);
	if (r < 0)
		return r;
	for (int d = 0; d < _NFO_DIM_MAX; d++)
		if (d != NFO_DIM_CTSTATE)
			note_dim(x, d);
	note_dim(x, NFO_DIM_CTSTATE);
	link_rules(x);
	return 0;
}

static int compile_ruleset(struct ctx *x)
{
	const struct nfo_ruleset *rs = x->in->rs;
	int r;

	for (int d = 0; d < _NFO_DIM_MAX; d++)
		x->level_of[d] = -1;
	note_dim(x, NFO_DIM_ETHTYPE);

	for (int rank = 0; rank <= 4; rank++) {
		/* base chains of hooks not decided on receive: never reached */
		if (rank == 3)
			continue;
		if (rank == 1)
			note_dim(x, NFO_DIM_L2HOST);
		for (size_t i = 0; i < rs->nchains; i++) {
			const struct nfo_chain *c = &rs->chains[i];

			if (chain_rank(c) != rank)
				continue;
			r = compile_chain(x, c);
			if (r < 0)
				return r;
		}
		if (rank == 1) {
			note_dim(x, NFO_DIM_DADDR4);
			note_dim(x, NFO_DIM_DADDR6);
		}
	}
	for (int d = 0; d < _NFO_DIM_MAX; d++)
		if (d != NFO_DIM_CTSTATE)
			note_dim(x, d);
	note_dim(x, NFO_DIM_CTSTATE);
	link_rules(x);
	return 0;
}

/* A gate: one pseudo rule on one field. The pipeline continues past it only
 * if it is TRUE; FALSE or UNKNOWN pass the packet to the kernel. */
static int new_gate(struct ctx *x, int dim, struct nfo_vset *set, int *ret_chain)
{
	struct nfo_pred p = { .dim = dim, .before_effect = true };
	struct crule *c;
	int ci, r;

	r = new_cchain(x, NULL, &ci);
	if (r < 0)
		return r;
	r = new_crule(x, &c);
	if (r < 0)
		return r;
	c->kind = CR_GATE;
	c->chain = ci;
	c->verdict = NFO_VERDICT_CONTINUE;
	p.set = *set;
	r = crule_add_packet_pred(c, &p);
	if (r < 0)
		return r;
	c->levels = 1u << x->level_of[dim];
	c->last_level = x->level_of[dim];
	x->cc[ci].n = 1;
	*ret_chain = ci;
	return 0;
}

/* ---- pipelines --------------------------------------------------------- */

enum { CLS_IPV4, CLS_IPV6, CLS_OTHER, _CLS_MAX };

static bool chain_on_dev(const struct nfo_chain *c, const char *dev)
{
	for (size_t i = 0; i < c->ndevs; i++)
		if (!strcmp(c->devs[i], dev))
			return true;
	return false;
}

static bool family_applies(int family, int cls)
{
	if (family == NFPROTO_INET)
		return cls == CLS_IPV4 || cls == CLS_IPV6;
	if (family == NFPROTO_IPV4)
		return cls == CLS_IPV4;
	if (family == NFPROTO_IPV6)
		return cls == CLS_IPV6;
	return false;
}

/* nf_nat registers its hooks for a family as soon as one nat chain exists,
 * and then rewrites packets of existing NAT bindings whatever the rules say:
 * later chains and the routing decision see other addresses and ports. */
static bool nat_present(const struct nfo_ruleset *rs, int cls)
{
	for (size_t i = 0; i < rs->nchains; i++) {
		const struct nfo_chain *c = &rs->chains[i];

		if (c->base && c->type && !strcmp(c->type, "nat") && family_applies(c->family, cls))
			return true;
	}
	return false;
}

static int add_group(struct pipeline *p, int kind, const int *chains, size_t n)
{
	struct cgroup *g = realloc(p->groups, (p->ngroups + 1) * sizeof(*g));

	if (!g)
		return -ENOMEM;
	p->groups = g;
	g = &p->groups[p->ngroups++];
	memset(g, 0, sizeof(*g));
	g->kind = kind;
	if (n) {
		g->chains = malloc(n * sizeof(*g->chains));
		if (!g->chains)
			return -ENOMEM;
		memcpy(g->chains, chains, n * sizeof(*chains));
		g->n = n;
	}
	return 0;
}

struct hooked {
	int chain; /* cchain index, -1: STOP marker */
	int32_t prio;
};

static int cmp_hooked(const void *a, const void *b)
{
	const struct hooked *x = a, *y = b;

	if (x->prio != y->prio)
		return x->prio < y->prio ? -1 : 1;
	return x->chain - y->chain;
}

/* Base chains of one hook, ordered by priority; equal priorities form one
 * group (their relative order is not defined), a STOP marker its own. */
static int add_hook_groups(struct pipeline *p, struct hooked *h, size_t n)
{
	int *buf;
	int r = 0;

	if (!n)
		return 0;
	qsort(h, n, sizeof(*h), cmp_hooked);
	buf = malloc(n * sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n && r == 0;) {
		size_t k = i, m = 0;
		bool stop = false;

		while (k < n && h[k].prio == h[i].prio) {
			if (h[k].chain < 0)
				stop = true;
			else
				buf[m++] = h[k].chain;
			k++;
		}
		/* A group containing STOP passes whatever its chains say. */
		r = stop ? add_group(p, G_STOP, NULL, 0) : add_group(p, G_CHAINS, buf, m);
		i = k;
	}
	free(buf);
	return r;
}

static bool addr_is_up(const struct nfo_plan_input *in, int ifindex)
{
	for (size_t i = 0; i < in->nup; i++)
		if (in->up_ifindexes[i] == ifindex)
			return true;
	return false;
}

/* Unicast addresses delivered locally when received on iface. IPv6
 * link-local addresses only count on the interface they belong to; tentative
 * and failed addresses do not receive. */
static int local_set(const struct nfo_plan_input *in, const struct nfo_plan_iface *iface,
		     int cls, struct nfo_vset *out)
{
	for (size_t i = 0; i < in->naddrs; i++) {
		const struct nfo_addr *a = &in->addrs[i];
		nfo_u128 v;
		int r;

		if (!addr_is_up(in, a->ifindex))
			continue;
		if (cls == CLS_IPV4 && a->family == AF_INET) {
			v = nfo_u128_from_be(a->addr, 4);
		} else if (cls == CLS_IPV6 && a->family == AF_INET6) {
			if (a->flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED))
				continue;
			if (a->addr[0] == 0xfe && (a->addr[1] & 0xc0) == 0x80 &&
			    a->ifindex != iface->ifindex)
				continue;
			if (a->addr[0] == 0xff)
				continue;
			v = nfo_u128_from_be(a->addr, 16);
		} else {
			continue;
		}
		r = nfo_vset_push(out, v, v);
		if (r < 0)
			return r;
	}
	nfo_vset_normalize(out);
	return 0;
}

/* Every chain a jump or goto can reach, however deep: eval_chain applies
 * the depth bound itself. (A cut here would hide a chain first met too deep
 * and met again shallower.) The visited bits stop loops. */
static void reach_from(struct ctx *x, uint8_t *bits, int ci)
{
	const struct cchain *cc = &x->cc[ci];

	if (bits[ci])
		return;
	bits[ci] = 1;
	for (uint32_t k = 0; k < cc->n; k++) {
		const struct crule *c = &x->cr[cc->first + k];

		if (c->target >= 0)
			reach_from(x, bits, c->target);
	}
}

static uint8_t iface_pred_holds(const struct nfo_pred *p, const struct nfo_plan_iface *iface)
{
	uint8_t b[16] = {};
	nfo_u128 v;

	if (p->dim == NFO_PDIM_IIF) {
		uint32_t idx = (uint32_t)iface->ifindex;

		memcpy(b, &idx, 4); /* meta iif is host byte order */
		v = nfo_u128_from_be(b, 4);
	} else {
		memcpy(b, iface->name, strnlen(iface->name, sizeof(b)));
		v = nfo_u128_from_be(b, 16);
	}
	return nfo_vset_contains(&p->set, v) ? TV_T : TV_F;
}

static int build_pipeline(struct ctx *x, const struct nfo_plan_iface *iface, int cls,
			  struct pipeline *p)
{
	const struct nfo_ruleset *rs = x->in->rs;
	struct hooked *h = NULL;
	size_t nh = 0, nin = 0;
	bool nat = cls != CLS_OTHER && nat_present(rs, cls);
	int r = 0, ci;

	h = malloc((x->ncc + rs->nflowtables + 2) * sizeof(*h));
	if (!h)
		return -ENOMEM;

	/* A flowtable on the device may forward IP packets of known flows at
	 * its priority, past every later chain: from there on, STOP. */
	for (size_t i = 0; i < rs->nflowtables && cls != CLS_OTHER; i++) {
		const struct nfo_flowtable *f = &rs->flowtables[i];

		for (size_t k = 0; k < f->ndevs; k++) {
			if (!strcmp(f->devs[k], iface->name)) {
				h[nh++] = (struct hooked){ -1, f->prio };
				break;
			}
		}
	}

	/* Ingress: netdev chains see every frame, inet ingress only IP. */
	for (size_t i = 0; i < x->ncc; i++) {
		const struct nfo_chain *c = x->cc[i].chain;

		if (!c || !c->base || c->hook != NFO_HOOK_INGRESS || !chain_on_dev(c, iface->name))
			continue;
		if (c->family == NFPROTO_NETDEV || (c->family == NFPROTO_INET && cls != CLS_OTHER))
			h[nh++] = (struct hooked){ (int)i, c->prio };
	}
	r = add_hook_groups(p, h, nh);
	if (r < 0 || cls == CLS_OTHER || !iface->l3)
		goto out;

	/* Prerouting and input. */
	nh = 0;
	for (size_t i = 0; i < x->ncc; i++) {
		const struct nfo_chain *c = x->cc[i].chain;

		if (!c || !c->base || !family_applies(c->family, cls))
			continue;
		if (c->hook == NFO_HOOK_INPUT)
			nin++;
		if (c->hook != NFO_HOOK_PREROUTING)
			continue;
		/* nat chains are represented by the NAT marker below; other
		 * types at this hook are not known to be harmless. */
		if (!strcmp(c->type, "filter"))
			h[nh++] = (struct hooked){ (int)i, c->prio };
		else if (strcmp(c->type, "nat"))
			h[nh++] = (struct hooked){ -1, c->prio };
	}
	if (!nh && !nin)
		goto out; /* nothing at the IP layer can drop */
	{
		struct nfo_vset one = {};

		r = nfo_vset_push(&one, 1, 1);
		if (r == 0)
			r = new_gate(x, NFO_DIM_L2HOST, &one, &ci);
		nfo_vset_free(&one);
		if (r == 0)
			r = add_group(p, G_GATE, &ci, 1);
		if (r < 0)
			goto out;
	}
	if (nat)
		h[nh++] = (struct hooked){ -1, NFO_PRI_NAT_DST };
	r = add_hook_groups(p, h, nh);
	if (r < 0 || !nin)
		goto out;
	if (nat) {
		/* Which packets are delivered locally depends on NAT. */
		r = add_group(p, G_STOP, NULL, 0);
		goto out;
	}
	{
		struct nfo_vset local = {};

		r = local_set(x->in, iface, cls, &local);
		if (r == 0)
			r = new_gate(x, cls == CLS_IPV4 ? NFO_DIM_DADDR4 : NFO_DIM_DADDR6, &local, &ci);
		nfo_vset_free(&local);
		if (r == 0)
			r = add_group(p, G_GATE, &ci, 1);
		if (r < 0)
			goto out;
	}
	nh = 0;
	for (size_t i = 0; i < x->ncc; i++) {
		const struct nfo_chain *c = x->cc[i].chain;

		if (!c || !c->base || c->hook != NFO_HOOK_INPUT || !family_applies(c->family, cls))
			continue;
		h[nh++] = (struct hooked){ strcmp(c->type, "filter") ? -1 : (int)i, c->prio };
	}
	r = add_hook_groups(p, h, nh);
out:
	free(h);
	return r;
}

/* Service mode: the service chain alone, as if a base chain of its family
 * with policy accept jumped to it (for a regular chain, a return or its end
 * then means that policy: accept). Packets of other families: accepted. */
static int build_service_pipeline(struct ctx *x, int cls, struct pipeline *p)
{
	const struct nfo_chain *c = x->in->service_chain;
	int ci = chain_index(x, c);

	if (ci < 0 || !family_applies(c->family, cls))
		return 0;
	return add_group(p, G_CHAINS, &ci, 1);
}

static int finish_pipeline(struct ctx *x, const struct nfo_plan_iface *iface, struct pipeline *p)
{
	uint8_t *all;
	size_t n = 0;

	p->last_group = malloc(x->ncc * sizeof(*p->last_group));
	all = calloc(x->ncc, 1);
	if (!p->last_group || !all) {
		free(all);
		return -ENOMEM;
	}
	for (size_t i = 0; i < x->ncc; i++)
		p->last_group[i] = -1;
	for (size_t g = 0; g < p->ngroups; g++) {
		struct cgroup *grp = &p->groups[g];

		grp->reach = calloc(x->ncc, 1);
		if (!grp->reach) {
			free(all);
			return -ENOMEM;
		}
		for (size_t k = 0; k < grp->n; k++)
			reach_from(x, grp->reach, grp->chains[k]);
		for (size_t i = 0; i < x->ncc; i++) {
			if (!grp->reach[i])
				continue;
			p->last_group[i] = (int)g;
			all[i] = 1;
		}
	}
	for (size_t i = 0; i < x->ncc; i++)
		if (all[i])
			n += x->cc[i].n;
	p->init = malloc((n ? n : 1) * sizeof(*p->init));
	if (!p->init) {
		free(all);
		return -ENOMEM;
	}
	for (size_t i = 0; i < x->ncc; i++) {
		const struct cchain *cc = &x->cc[i];

		if (!all[i])
			continue;
		for (uint32_t k = 0; k < cc->n; k++) {
			const struct crule *c = &x->cr[cc->first + k];
			struct aentry *e;

			if (c->kind == CR_SYNTH)
				continue;
			e = &p->init[p->ninit++];

			e->id = cc->first + k;
			e->ms = c->st_m;
			e->es = c->st_e;
			e->pad = 0;
			for (size_t f = 0; f < c->nifp; f++) {
				uint8_t v = iface_pred_holds(c->ifp[f], iface);

				e->ms = tv_and(e->ms, v);
				if (c->ifp[f]->before_effect)
					e->es = tv_and(e->es, v);
			}
		}
	}
	free(all);
	return 0;
}

static void pipeline_clear(struct pipeline *p)
{
	for (size_t g = 0; g < p->ngroups; g++) {
		free(p->groups[g].chains);
		free(p->groups[g].reach);
	}
	free(p->groups);
	free(p->last_group);
	free(p->init);
}

/* ---- leaf evaluation ---------------------------------------------------- */

static int32_t add_target(struct ctx *x, const struct nfo_rule *rule, const struct nfo_chain *chain)
{
	struct nfo_plan *pl = x->plan;

	if (nfo_grow(&pl->targets, &pl->targets_cap, pl->ntargets + 1, sizeof(*pl->targets)) < 0)
		return -1;
	pl->targets[pl->ntargets] = (struct nfo_plan_target){ .rule = rule, .chain = chain };
	return (int32_t)pl->ntargets++;
}

static int32_t rule_target(struct ctx *x, struct crule *c)
{
	if (c->primary >= 0 && &x->cr[c->primary] != c)
		return rule_target(x, &x->cr[c->primary]);
	if (c->drop_target < 0)
		c->drop_target = add_target(x, c->rule, c->rule->chain);
	return c->drop_target;
}

static int32_t policy_target(struct ctx *x, struct cchain *cc)
{
	if (cc->policy_target < 0)
		cc->policy_target = add_target(x, NULL, cc->chain);
	return cc->policy_target;
}

/* Entries of chain ci in the sorted alive list: [*ret_lo, *ret_hi). */
static void chain_span(const struct ctx *x, int ci, const struct aentry *a, size_t n,
		       size_t *ret_lo, size_t *ret_hi)
{
	uint32_t first = x->cc[ci].first, end = first + x->cc[ci].n;
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (a[mid].id < first)
			lo = mid + 1;
		else
			hi = mid;
	}
	*ret_lo = lo;
	while (lo < n && a[lo].id < end)
		lo++;
	*ret_hi = lo;
}

/* The nominal path through a chain (see tv_nominal). */
/* NOM_ON: within a rule, the nominal path goes on to the next rule */
enum { NOM_UNKNOWN, NOM_RET, NOM_DONE, NOM_ON };

struct outcome {
	unsigned bits;
	int32_t drop;     /* first rule that may drop, in evaluation order */
	int32_t accept;   /* exact mode: the same for accept */
	int nom;          /* how the nominal path left the chain */
	int32_t nom_drop; /* NOM_DONE: the drop it ended in, or -1 */
};

static void eval_chain(struct ctx *x, int ci, const struct aentry *a, size_t n, int depth,
		       struct outcome *o)
{
	bool nom_live = true;
	size_t lo, hi;

	o->bits = 0;
	o->drop = -1;
	o->accept = -1;
	o->nom = NOM_UNKNOWN;
	o->nom_drop = -1;
	if (depth > NFO_JUMP_DEPTH) {
		o->bits = O_STOP;
		return;
	}
	chain_span(x, ci, a, n, &lo, &hi);
	for (size_t i = lo; i < hi; i++) {
		struct crule *c = &x->cr[a[i].id];
		struct outcome v = { 0, -1, -1, NOM_RET, -1 };
		bool cont = false;
		int nt;

		if (c->effect && a[i].es != TV_F) {
			o->bits |= O_STOP;
			return;
		}
		if (a[i].ms == TV_F)
			continue;
		switch (c->verdict) {
		case NFO_VERDICT_CONTINUE:
			cont = true;
			break;
		case NFO_VERDICT_ACCEPT:
			v.bits = O_ACCEPT;
			if (x->exact)
				v.accept = rule_target(x, c);
			v.nom = NOM_DONE;
			break;
		case NFO_VERDICT_DROP:
			v.bits = O_DROP;
			v.drop = rule_target(x, c);
			v.nom = NOM_DONE;
			v.nom_drop = v.drop;
			break;
		case NFO_VERDICT_RETURN:
			v.bits = O_RET;
			break;
		case NFO_VERDICT_JUMP:
			eval_chain(x, c->target, a, n, depth + 1, &v);
			cont = v.bits & O_RET;
			v.bits &= ~O_RET;
			if (v.nom == NOM_RET)
				v.nom = NOM_ON; /* back from the jump: go on */
			break;
		case NFO_VERDICT_GOTO:
			eval_chain(x, c->target, a, n, depth + 1, &v);
			break;
		default:
			v.bits = O_STOP;
			v.nom = NOM_UNKNOWN;
			break;
		}
		if ((v.bits & O_DROP) && o->drop < 0)
			o->drop = v.drop;
		if ((v.bits & O_ACCEPT) && o->accept < 0)
			o->accept = v.accept;
		o->bits |= v.bits;
		/* follow the nominal path: it takes the rules nominally true */
		nt = tv_nominal(a[i].ms);
		if (nom_live && nt < 0) {
			nom_live = false;
			o->nom = NOM_UNKNOWN;
		} else if (nom_live && nt > 0 && c->verdict != NFO_VERDICT_CONTINUE &&
			   v.nom != NOM_ON) {
			nom_live = false;
			o->nom = v.nom;
			o->nom_drop = v.nom_drop;
		}
		if (o->bits & O_STOP)
			return;
		if (a[i].ms == TV_T && !cont)
			return;
	}
	o->bits |= O_RET;
	if (nom_live)
		o->nom = NOM_RET;
}

enum { RES_CONTINUE, RES_PASS, RES_DROP, RES_ACCEPT };

static int eval_group(struct ctx *x, const struct cgroup *g, const struct aentry *a, size_t n,
		      int32_t *ret_drop)
{
	int32_t drop = -1;

	if (g->kind == G_STOP)
		return RES_PASS;
	if (g->kind == G_GATE) {
		size_t lo, hi;

		chain_span(x, g->chains[0], a, n, &lo, &hi);
		return hi > lo && a[lo].ms == TV_T ? RES_CONTINUE : RES_PASS;
	}
	for (size_t k = 0; k < g->n; k++) {
		struct cchain *cc = &x->cc[g->chains[k]];
		struct outcome o;

		eval_chain(x, g->chains[k], a, n, 0, &o);
		if (o.bits & O_RET) {
			/* End of a base chain (or return from it): its policy. */
			o.bits &= ~O_RET;
			if (cc->chain->policy_drop) {
				if (o.drop < 0)
					o.drop = policy_target(x, cc);
				o.bits |= O_DROP;
			} else {
				if (x->exact && o.accept < 0)
					o.accept = policy_target(x, cc);
				o.bits |= O_ACCEPT;
			}
		}
		if (x->exact) {
			/* One chain, evaluated completely: its outcome must be
			 * one verdict, anything else is not exact. */
			if (o.bits == O_DROP) {
				*ret_drop = o.drop;
				return RES_DROP;
			}
			if (o.bits == O_ACCEPT) {
				*ret_drop = o.accept;
				return RES_ACCEPT;
			}
			x->inexact = true;
			return RES_PASS;
		}
		if (o.nom == NOM_RET) {
			o.nom = NOM_DONE;
			o.nom_drop = cc->chain->policy_drop ? policy_target(x, cc) : -1;
		}
		if (o.bits & O_STOP)
			return RES_PASS;
		/* Certainly dropped: credit the likely rule if there is one. */
		if (o.bits == O_DROP && drop < 0)
			drop = o.nom == NOM_DONE && o.nom_drop >= 0 ? o.nom_drop : o.drop;
	}
	if (drop >= 0) {
		*ret_drop = drop;
		return RES_DROP;
	}
	return RES_CONTINUE;
}

/* ---- simplification ------------------------------------------------------ */

static bool entry_dead(const struct crule *c, const struct aentry *e)
{
	if (c->kind == CR_GATE)
		return false;
	return e->ms == TV_F && (!c->effect || e->es == TV_F);
}

static bool verdict_ends_chain(int v)
{
	return v == NFO_VERDICT_ACCEPT || v == NFO_VERDICT_DROP || v == NFO_VERDICT_RETURN ||
	       v == NFO_VERDICT_GOTO || v == NFO_VERDICT_STOP;
}

/* Nothing after this rule in its chain can be reached. */
static bool entry_final(const struct crule *c, const struct aentry *e, int level)
{
	if (c->kind == CR_GATE || c->last_level >= level)
		return false;
	if (c->effect && e->es == TV_T)
		return true;
	return e->ms == TV_T && verdict_ends_chain(c->verdict) && !(c->effect && e->es != TV_F);
}

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
				if (a[i].ms == TV_U && c->verdict == NFO_VERDICT_DROP) {
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
static int simplify(struct ctx *x, const struct pipeline *p, int level, int *gpos,
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
		res = eval_group(x, g, a, *n, &drop);
		if (res == RES_PASS) {
			*ret = NFO_REF_PASS;
			return 1;
		}
		if (res == RES_DROP) {
			*ret = drop >= 0 ? NFO_REF_DROP((uint32_t)drop) : NFO_REF_PASS;
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

/* ---- memo ----------------------------------------------------------------- */

static uint64_t memo_hash(int pl, int level, int gpos, uint32_t present, uint32_t absent,
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

static struct memo_ent *memo_find(struct ctx *x, uint64_t h, int pl, int level, int gpos,
				  uint32_t present, uint32_t absent, const struct aentry *a, size_t n)
{
	size_t mask, i;

	if (!x->memo_cap)
		return NULL;
	mask = x->memo_cap - 1;
	for (i = h & mask; x->memo[i].used; i = (i + 1) & mask)
		if (memo_match(&x->memo[i], h, pl, level, gpos, present, absent, a, n))
			return &x->memo[i];
	return NULL;
}

static int memo_insert(struct ctx *x, uint64_t h, int pl, int level, int gpos,
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

/* ---- diagram construction ------------------------------------------------ */

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

static int push_edge(struct nfo_plan_node *nd, nfo_u128 lo, nfo_u128 hi, uint32_t ref)
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

enum { REGION_OPEN, REGION_DECIDED, REGION_CONSUMED };

/* Decides the region from the current group alone when its own rules are
 * enough (the common case: a rule on this field drops or accepts). If the
 * group lets the packet continue, only later groups matter: CONSUMED. */
static int region_decided(struct ctx *x, const struct pipeline *p, int level, int gpos,
			  struct aentry *a, size_t n, uint32_t *ret)
{
	const struct cgroup *g = &p->groups[gpos];
	size_t o = compact(x, level, a, n);
	int32_t drop = -1;
	int res;
	if (!group_resolved(x, g, a, o, level))
		return REGION_OPEN;
	res = eval_group(x, g, a, o, &drop);
	if (res == RES_CONTINUE) {
		if ((size_t)gpos + 1 >= p->ngroups) {
			*ret = NFO_REF_PASS;
			return REGION_DECIDED;
		}
		return REGION_CONSUMED;
	}
	*ret = res == RES_DROP && drop >= 0	? NFO_REF_DROP((uint32_t)drop) :
	       res == RES_ACCEPT && drop >= 0 ? NFO_REF_ACCEPT((uint32_t)drop) :
						NFO_REF_PASS;
	return REGION_DECIDED;
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
static int intern_node(struct ctx *x, struct nfo_plan_node *nd, uint32_t *ret)
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

/*
 * The ct states the kernel may give a packet of conntrack class code
 * (NFO_CT_*), and the likely one. What can make the kernel differ from the
 * lookup made just before it (resolve_normal_ct() and the trackers):
 *  - INVALID, always: the TCP tracker rejects out-of-window packets, any
 *    tracker malformed ones;
 *  - NEW, always: an entry can expire, or a TCP one be reopened by a SYN,
 *    between the lookup and conntrack;
 *  - RELATED for a flow without entry only if an expectation may exist,
 *    i.e. the ruleset assigns helpers or expectations.
 * UNTRACKED needs notrack, whose rule stops the reasoning anyway.
 */
static unsigned ct_possible(const struct ctx *x, unsigned code, int *ret_nominal)
{
	unsigned m = 1u << NFO_CT_NEW | 1u << NFO_CT_INVALID;

	*ret_nominal = NFO_CT_NEW;
	if (!(code & NFO_CT_FOUND)) {
		if (x->ct_related)
			m |= 1u << NFO_CT_RELATED;
	} else if (code & NFO_CT_REPLY_OR_SEEN) {
		m |= 1u << NFO_CT_ESTABLISHED;
		*ret_nominal = NFO_CT_ESTABLISHED;
	} else if (code & NFO_CT_EXPECTED) {
		m |= 1u << NFO_CT_RELATED;
		*ret_nominal = NFO_CT_RELATED;
	}
	return m;
}

static uint8_t ct_truth(const struct nfo_vset *set, unsigned possible, int nominal)
{
	bool any = false, all = true;

	for (int st = 0; st < _NFO_CT_STATES; st++) {
		bool in;

		if (!(possible & (1u << st)))
			continue;
		in = nfo_vset_contains(set, nfo_ct_state_value(st));
		any |= in;
		all &= in;
	}
	if (all)
		return TV_T;
	if (!any)
		return TV_F;
	return nfo_vset_contains(set, nfo_ct_state_value(nominal)) ? TV_UT : TV_UF;
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
			possible = ct_possible(x, (unsigned)code, &nominal);
		for (size_t i = 0; i < n; i++) {
			struct crule *c = &x->cr[a[i].id];
			struct cpred *cp = (c->levels & (1u << level)) ? cpred_for(c, NFO_DIM_CTSTATE) : NULL;
			struct aentry ne = a[i];

			if (cp) {
				ne.ms = tv_and(ne.ms, possible ? ct_truth(&cp->mset, possible, nominal) : TV_U);
				if (cp->has_eset)
					ne.es = tv_and(ne.es, possible ? ct_truth(&cp->eset, possible, nominal) :
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
			r = push_edge(&node, (nfo_u128)code, (nfo_u128)code, child);
	}
	if (r == 0 && !x->too_big)
		r = push_edge(&node, NFO_CT_CLASSES, 0xff, uref);
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
	r = intern_node(x, &node, ret);
out:
	free(node.edges);
	free(out);
	return r;
}

static int expand(struct ctx *x, int pl, int level, int gpos, struct fk fk,
		  const struct aentry *a, size_t n, uint32_t *ret)
{
	int d0 = x->dims[level];
	struct fk kfk = { fk.present | (x->exact ? implied_present_exact(d0) : implied_present(d0)),
			  fk.absent };
	struct fk ufk = { fk.present, fk.absent | DIMBIT(d0) |
					      (x->exact ? implied_absent_exact(d0) : implied_absent(d0)) };
	/* nftables breaks the rule when a field it loads is missing: with
	 * exact semantics its predicates are FALSE, not UNKNOWN. */
	uint8_t missing = x->exact ? TV_F : TV_U;
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
			st = region_decided(x, p, level + 1, gpos, out, o, &child);
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
		r = push_edge(&node, pos, last ? max : next - 1, child);
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
			ne.ms = tv_and(e->ms, missing);
			if (cp->has_eset)
				ne.es = tv_and(e->es, missing);
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
	r = intern_node(x, &node, ret);
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
	struct memo_ent *m;
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

		if (simplify(x, p, level, &gpos, a, &n, ret)) {
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
			a[i].ms = tv_and(a[i].ms, x->exact ? TV_F : TV_U);
			if (cp->has_eset)
				a[i].es = tv_and(a[i].es, x->exact ? TV_F : TV_U);
		}
		level++;
	}
	h = memo_hash(pl, level, gpos, fk.present, fk.absent, a, n);
	m = memo_find(x, h, pl, level, gpos, fk.present, fk.absent, a, n);
	if (m) {
		*ret = m->ref;
		free(a);
		return 0;
	}
	r = expand(x, pl, level, gpos, fk, a, n, ret);
	if (r == 0 && !x->too_big)
		r = memo_insert(x, h, pl, level, gpos, fk.present, fk.absent, a, n, *ret);
	free(a);
	return r;
}

/* The root of one interface: the EtherType picks the pipeline. */
static int build_root(struct ctx *x, const struct nfo_plan_iface *iface, int pl_base, uint32_t *ret)
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
				r = push_edge(&node, lo, hi, child);
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
	r = intern_node(x, &node, ret);
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

static void ctx_clear(struct ctx *x)
{
	for (size_t i = 0; i < x->ncr; i++) {
		for (size_t k = 0; k < x->cr[i].ncp; k++) {
			nfo_vset_free(&x->cr[i].cp[k].mset);
			nfo_vset_free(&x->cr[i].cp[k].eset);
		}
		free(x->cr[i].cp);
		free(x->cr[i].ifp);
	}
	free(x->cr);
	free(x->cc);
	for (size_t i = 0; i < x->npl; i++)
		pipeline_clear(&x->pl[i]);
	free(x->pl);
	for (size_t i = 0; i < x->memo_cap; i++)
		if (x->memo[i].used)
			free(x->memo[i].a);
	free(x->memo);
	free(x->nodetab);
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

static int plan_fail(struct nfo_plan *p, const char *why)
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

int nfo_plan_build(const struct nfo_plan_input *in, struct nfo_plan **ret)
{
	struct ctx x = { .in = in };
	struct nfo_plan *p;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	x.plan = p;
	/* Node 0 is never referenced: ref 0 would be ambiguous with "none". */
	r = nfo_grow(&p->nodes, &p->nodes_cap, 1, sizeof(*p->nodes));
	if (r < 0)
		goto out;
	memset(&p->nodes[0], 0, sizeof(p->nodes[0]));
	p->nnodes = 1;
	p->roots = calloc(in->nifaces ? in->nifaces : 1, sizeof(*p->roots));
	if (!p->roots) {
		r = -ENOMEM;
		goto out;
	}

	if (in->service_chain) {
		static const struct nfo_plan_iface none = { .ifindex = 0 };

		x.exact = true;
		r = compile_service(&x);
		if (r < 0)
			goto out;
		x.pl = calloc(_CLS_MAX, sizeof(*x.pl));
		if (!x.pl) {
			r = -ENOMEM;
			goto out;
		}
		for (int cls = 0; cls < _CLS_MAX && r == 0; cls++) {
			r = build_service_pipeline(&x, cls, &x.pl[x.npl]);
			x.npl++;
			if (r == 0)
				r = finish_pipeline(&x, &none, &x.pl[x.npl - 1]);
		}
		if (r == 0)
			r = build_root(&x, &none, 0, &p->roots[0].ref);
		if (r < 0)
			goto out;
		p->nroots = 1;
		p->inexact = x.inexact;
		goto done;
	}
	r = compile_ruleset(&x);
	if (r < 0)
		goto out;
	x.pl = calloc(in->nifaces * _CLS_MAX + 1, sizeof(*x.pl));
	if (!x.pl) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < in->nifaces; i++) {
		for (int cls = 0; cls < _CLS_MAX; cls++) {
			r = build_pipeline(&x, &in->ifaces[i], cls, &x.pl[x.npl]);
			if (r < 0)
				goto out;
			x.npl++;
		}
	}
	for (size_t i = 0; i < x.npl; i++) {
		r = finish_pipeline(&x, &in->ifaces[i / _CLS_MAX], &x.pl[i]);
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < in->nifaces; i++) {
		struct nfo_plan_root *root = &p->roots[p->nroots++];

		root->ifindex = in->ifaces[i].ifindex;
		memcpy(root->mac, in->ifaces[i].mac, 6);
		r = build_root(&x, &in->ifaces[i], (int)(i * _CLS_MAX), &root->ref);
		if (r < 0)
			goto out;
		if (x.too_big)
			break;
	}
done:
	if (x.too_big) {
		char why[128];

		snprintf(why, sizeof(why),
			 "decision diagram too large (over %zu edges): the ruleset mixes too many fields",
			 in->max_edges);
		r = plan_fail(p, why);
		if (r < 0)
			goto out;
	}
	*ret = TAKE_PTR(p);
out:
	ctx_clear(&x);
	nfo_plan_free(&p);
	return r;
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
