/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the pieces of the planner share (plan.c and plan-*.c); not an API.
 * The planner's own form of the rules (compiled rules in chains), the
 * pipeline of groups a packet class meets on one interface, and the state
 * carried down the expansion: the alive list, one entry per rule still
 * alive with its partial three-valued truth, sorted by rule index.
 */
#ifndef NFO_PLAN_INTERNAL_H
#define NFO_PLAN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan.h"

/*
 * Three-valued truth. UNKNOWN may carry a nominal value: what is by far the
 * likely case (a packet with no conntrack entry is NEW, rarely INVALID). The
 * nominal value never decides a verdict; it only says which rule to credit
 * when the packet is certainly dropped by one of several.
 */
enum { TV_F = 0, TV_T = 1, TV_U = 2, TV_UT = 3, TV_UF = 4 };

/* Nominal truth: 1, 0, or -1 when nothing is likely. */
static inline int tv_nominal(uint8_t a)
{
	return a == TV_T || a == TV_UT ? 1 : a == TV_F || a == TV_UF ? 0 : -1;
}

static inline uint8_t tv_and(uint8_t a, uint8_t b)
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

/* Packet classes: one pipeline each per interface (pipeline
 * iface * _CLS_MAX + cls). */
enum { CLS_IPV4, CLS_IPV6, CLS_OTHER, _CLS_MAX };

struct cpred {
	int dim;
	struct nfo_vset mset; /* intersection of all predicates on dim */
	struct nfo_vset eset; /* of those before the first effect */
	bool has_eset;
	/* Per interface (in->ifaces order), in place of mset and eset:
	 * IPv6 `fib ... type` of a link-scope address depends on the device
	 * the packet came in on. NULL: the same on every interface. */
	struct nfo_vset *if_mset;
	struct nfo_vset *if_eset;
	size_t nif;
	/* A packet without dim but with one of these fields makes the
	 * predicate TRUE (`fib ... type` reads the address of the packet's
	 * own family: its IPv4 predicate holds for IPv6 packets). */
	uint32_t true_without;
};

/* The sets of cp on the interface of pipeline pl. */
static inline const struct nfo_vset *cpred_mset(const struct cpred *cp, int pl)
{
	return cp->if_mset ? &cp->if_mset[pl / _CLS_MAX] : &cp->mset;
}

static inline const struct nfo_vset *cpred_eset(const struct cpred *cp, int pl)
{
	return cp->if_eset ? &cp->if_eset[pl / _CLS_MAX] : &cp->eset;
}

/* CR_SYNTH: per chain, a rule that certainly accepts and one that certainly
 * returns; they stand for any rule that certainly ends the chain that way,
 * so that states differing only in which rule did it are shared. */
enum { CR_RULE, CR_GATE, CR_SYNTH };

/* A condition on the conntrack class besides the rule's own predicates:
 * CTC_NAT_GATE, the gate before the NAT hook (the packet goes on only if
 * NAT cannot change it there); CTC_NAT_CHAIN, a rule of a nat base chain,
 * which the kernel runs only for the first packet of a connection. */
enum { CTC_NONE, CTC_NAT_GATE, CTC_NAT_CHAIN };
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
	const struct nfo_pred **ctsp; /* ct status, decided per conntrack class */
	size_t nctsp;
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
	int ct_cond;            /* CTC_* */
};

struct cchain {
	const struct nfo_chain *chain; /* NULL for gates */
	uint32_t first;
	uint32_t n;
	int32_t policy_target;
	/* reached from a chain that may run before conntrack (ingress, or
	 * prerouting at NF_IP_PRI_CONNTRACK or earlier): its ct state is not
	 * the one conntrack gives the packet */
	bool ct_early;
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

struct memo_ent;

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
	bool reject_ok;    /* the chain evaluated is at a hook rejects are followed at */
	bool reset_ok;     /* ... and TCP resets (input, with rst4_ok) */
	bool rst4_ok;      /* an IPv4 RST the host sends meets nothing that may drop or
			    * change it, and takes the default TTL (plan-rst.c) */
	bool rst6_ok;      /* the same for an IPv6 one */
	bool rst_cls_ok;   /* the class being built is IPv4 with rst4_ok or IPv6
			    * with rst6_ok (plan_build_root) */
	/* Service mode (in->service_chain): every leaf must be a certain
	 * verdict, a missing field makes its predicates FALSE, and accepting
	 * leaves credit their rule. */
	bool exact;
};

static inline struct cpred *cpred_for(struct crule *c, int dim)
{
	for (size_t i = 0; i < c->ncp; i++)
		if (c->cp[i].dim == dim)
			return &c->cp[i];
	return NULL;
}

static inline bool entry_dead(const struct crule *c, const struct aentry *e)
{
	if (c->kind == CR_GATE)
		return false;
	return e->ms == TV_F && (!c->effect || e->es == TV_F);
}

static inline bool verdict_ends_chain(int v)
{
	return v == NFO_VERDICT_ACCEPT || v == NFO_VERDICT_DROP || v == NFO_VERDICT_RETURN ||
	       v == NFO_VERDICT_GOTO || v == NFO_VERDICT_STOP;
}

/* Nothing after this rule in its chain can be reached. */
static inline bool entry_final(const struct crule *c, const struct aentry *e, int level)
{
	if (c->kind == CR_GATE || c->last_level >= level)
		return false;
	if (c->effect && e->es == TV_T)
		return true;
	return e->ms == TV_T && verdict_ends_chain(c->verdict) && !(c->effect && e->es != TV_F);
}

/* plan-rules.c: the rules in the planner's form, the field order. */
int plan_compile_ruleset(struct ctx *x);
/* Service mode: the service chain and the chains it reaches, nothing else. */
int plan_compile_service(struct ctx *x);
int plan_new_gate(struct ctx *x, int dim, struct nfo_vset *set, int *ret_chain);
int plan_new_nat_gate(struct ctx *x, int *ret_chain);
bool plan_chain_is_nat(const struct nfo_chain *c);

/* plan-fib.c: the IPv4 addresses whose `fib ... type` is in types (1), or
 * 0 when that cannot be exact. */
int plan_fib4_set(const struct nfo_plan_input *in, const struct nfo_vset *types,
		  struct nfo_vset *out);
/* The IPv6 addresses whose `fib ... type` is in types for packets that come
 * in on ifindex (1), or 0 when that is not exact. */
int plan_fib6_set(const struct nfo_plan_input *in, const struct nfo_vset *types, int ifindex,
		  struct nfo_vset *out);

/* plan-rst.c: whether an IPv4 TCP reset the kernel sends in answer to a
 * packet received meets no chain that may drop or change it, and takes
 * net.ipv4.ip_default_ttl as its TTL (no local route with a hoplimit). */
bool plan_rst4_path_clear(const struct nfo_plan_input *in);
/* The same for an IPv6 RST (nf_send_reset6), hop limit the interface's. */
bool plan_rst6_path_clear(const struct nfo_plan_input *in);

/* plan-pipeline.c: the groups a packet class meets on one interface. */
int plan_build_pipeline(struct ctx *x, const struct nfo_plan_iface *iface, int cls,
			struct pipeline *p);
/* Service mode: one group, the service chain (none for other families). */
int plan_build_service_pipeline(struct ctx *x, int cls, struct pipeline *p);
int plan_finish_pipeline(struct ctx *x, const struct nfo_plan_iface *iface, struct pipeline *p);
void plan_pipeline_clear(struct pipeline *p);

/* plan-eval.c: three-valued evaluation of a group on an alive list. */
enum { RES_CONTINUE, RES_PASS, RES_DROP, RES_ACCEPT, RES_REJECT, RES_RESET };
int plan_eval_group(struct ctx *x, const struct cgroup *g, const struct aentry *a, size_t n,
		    int32_t *ret_drop);
unsigned plan_ct_possible(const struct ctx *x, unsigned code, int *ret_nominal);
uint8_t plan_ct_truth(const struct nfo_vset *set, unsigned possible, int nominal);
uint8_t plan_ct_cond_truth(const struct ctx *x, int cond, unsigned code);
uint8_t plan_ct_status_truth(const struct ctx *x, const struct nfo_vset *set, unsigned code);

/* plan-state.c: simplification and memo of alive lists. */
int plan_simplify(struct ctx *x, const struct pipeline *p, int level, int *gpos,
		  struct aentry *a, size_t *n, uint32_t *ret);
enum { REGION_OPEN, REGION_DECIDED, REGION_CONSUMED };
int plan_region_decided(struct ctx *x, const struct pipeline *p, int level, int gpos,
			struct aentry *a, size_t n, uint32_t *ret);
uint64_t plan_memo_hash(int pl, int level, int gpos, uint32_t present, uint32_t absent,
			const struct aentry *a, size_t n);
bool plan_memo_find(const struct ctx *x, uint64_t h, int pl, int level, int gpos,
		    uint32_t present, uint32_t absent, const struct aentry *a, size_t n,
		    uint32_t *ret_ref);
int plan_memo_insert(struct ctx *x, uint64_t h, int pl, int level, int gpos,
		     uint32_t present, uint32_t absent, const struct aentry *a, size_t n,
		     uint32_t ref);
void plan_memo_clear(struct ctx *x);

/* plan-expand.c: the diagram of one interface, by Shannon expansion. */
int plan_build_root(struct ctx *x, const struct nfo_plan_iface *iface, int pl_base,
		    uint32_t *ret);

/* plan-diagram.c: nodes, stored once when equal. */
int plan_push_edge(struct nfo_plan_node *nd, nfo_u128 lo, nfo_u128 hi, uint32_t ref);
int plan_intern_node(struct ctx *x, struct nfo_plan_node *nd, uint32_t *ret);
int plan_finish_node(struct ctx *x, struct nfo_plan_node *nd, uint32_t all_ref,
		     uint32_t unknown, uint32_t *ret);
int plan_fail(struct nfo_plan *p, const char *why);

#endif
