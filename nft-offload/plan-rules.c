// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rules in the planner's form. Each rule (each verdict of a verdict map)
 * becomes a compiled rule: its predicates intersected per field, its
 * UNKNOWN/FALSE markers folded into a starting truth, iif/iifname kept to be
 * resolved per interface. The field order of the expansion is chosen here:
 * the fields as the pipeline meets them, conntrack last.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "plan-internal.h"

/* The cpred of c on dim, new (zeroed) if c has none. */
static int crule_cpred(struct crule *c, int dim, struct cpred **ret, bool *ret_new)
{
	struct cpred *cp = cpred_for(c, dim);

	*ret_new = !cp;
	if (!cp) {
		struct cpred *n = realloc(c->cp, (c->ncp + 1) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->cp = n;
		cp = &c->cp[c->ncp++];
		memset(cp, 0, sizeof(*cp));
		cp->dim = dim;
	}
	*ret = cp;
	return 0;
}

/* Intersects a (a copy of set when fresh) with set. */
static int vset_and(struct nfo_vset *a, bool fresh, const struct nfo_vset *set)
{
	return fresh ? nfo_vset_copy(a, set) : nfo_vset_intersect(a, set);
}

/* Adds a predicate whose set is sets[i] on interface i (nif of them), or
 * set on every interface (sets NULL). */
static int cpred_add(struct cpred *cp, bool fresh, const struct nfo_vset *set,
		     const struct nfo_vset *sets, size_t nif, bool before_effect)
{
	bool fresh_e = !cp->has_eset;
	int r;

	if (!fresh)
		cp->true_without = 0; /* another test of the field: absent stays UNKNOWN */
	if (sets && !cp->if_mset) {
		cp->if_mset = calloc(nif, sizeof(*cp->if_mset));
		cp->if_eset = calloc(nif, sizeof(*cp->if_eset));
		if (!cp->if_mset || !cp->if_eset)
			return -ENOMEM;
		cp->nif = nif;
		for (size_t i = 0; i < nif && !fresh; i++) {
			r = nfo_vset_copy(&cp->if_mset[i], &cp->mset);
			if (r == 0 && cp->has_eset)
				r = nfo_vset_copy(&cp->if_eset[i], &cp->eset);
			if (r < 0)
				return r;
		}
	}
	r = sets ? 0 : vset_and(&cp->mset, fresh, set);
	for (size_t i = 0; i < cp->nif && r == 0; i++)
		r = vset_and(&cp->if_mset[i], fresh, sets ? &sets[i] : set);
	if (r < 0 || !before_effect)
		return r;
	cp->has_eset = true;
	r = sets ? 0 : vset_and(&cp->eset, fresh_e, set);
	for (size_t i = 0; i < cp->nif && r == 0; i++)
		r = vset_and(&cp->if_eset[i], fresh_e, sets ? &sets[i] : set);
	return r;
}

static int crule_add_packet_pred(struct crule *c, const struct nfo_pred *p)
{
	struct cpred *cp;
	bool fresh;
	int r = crule_cpred(c, p->dim, &cp, &fresh);

	if (r < 0)
		return r;
	return cpred_add(cp, fresh, &p->set, NULL, 0, p->before_effect);
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

/* A predicate the fast path cannot evaluate. */
static void crule_unknown(struct crule *c, bool before_effect)
{
	c->st_m = tv_and(c->st_m, TV_U);
	if (before_effect)
		c->st_e = tv_and(c->st_e, TV_U);
}

/* Set membership: tested through the set's slot, or, out of slots, with
 * the elements in the diagram; else UNKNOWN. */
static int compile_setref(struct ctx *x, struct crule *c, const struct nfo_pred *p)
{
	struct nfo_pred q = { .dim = setref_dim(x, &p->ref), .before_effect = p->before_effect };
	const struct nfo_set *set = p->ref.set;
	int r;

	if (q.dim < 0 && p->ref.ndims == 1 && set->key_len <= 16 && !nfo_set_changes_alone(set)) {
		/* out of slots: the elements go into the diagram (not those
		 * that expire or change alone: a diagram cannot drop them) */
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
		crule_unknown(c, p->before_effect);
		return 0;
	}
	if (r == 0)
		r = crule_add_packet_pred(c, &q);
	nfo_vset_free(&q.set);
	return r;
}

/*
 * `fib saddr/daddr type`: a predicate on the packet's address, IPv4
 * (plan-fib.c, the same on every interface) and IPv6 (per interface: a
 * link-scope address is looked up on the input device). Each holds for
 * packets of the other family when both are exact; a family that is not
 * exact leaves its packets UNKNOWN (they have no value for the other's
 * field). Other protocols (netdev chains) have neither: UNKNOWN.
 */
static int compile_fib(struct ctx *x, struct crule *c, const struct nfo_pred *p)
{
	bool s = p->dim == NFO_PDIM_FIB_SADDR;
	int d4 = s ? NFO_DIM_SADDR4 : NFO_DIM_DADDR4, d6 = s ? NFO_DIM_SADDR6 : NFO_DIM_DADDR6;
	size_t nif = x->in->nifaces;
	struct nfo_vset set4 = {}, *sets6 = NULL;
	struct cpred *cp = NULL;
	uint32_t prev;
	bool fresh;
	int r4 = 0, r6 = 0, r = 0;

	if (x->exact) {
		crule_unknown(c, p->before_effect);
		return 0;
	}
	r4 = plan_fib4_set(x->in, &p->set, &set4);
	if (r4 < 0)
		return r4;
	sets6 = calloc(nif + 1, sizeof(*sets6));
	if (!sets6) {
		r = -ENOMEM;
		goto out;
	}
	r6 = nif > 0;
	for (size_t i = 0; i < nif && r6 > 0; i++)
		r6 = plan_fib6_set(x->in, &p->set, x->in->ifaces[i].ifindex, &sets6[i]);
	if (r6 < 0) {
		r = r6;
		goto out;
	}
	if (r4 <= 0 && r6 <= 0) {
		crule_unknown(c, p->before_effect);
		goto out;
	}
	/* The other family's packets pass this test when it is exact for
	 * them, and pass the field's earlier tests (other fib tests only). */
	if (r4 > 0) {
		r = crule_cpred(c, d4, &cp, &fresh);
		prev = cp ? cp->true_without : 0;
		if (r == 0)
			r = cpred_add(cp, fresh, &set4, NULL, 0, p->before_effect);
		if (r == 0 && (fresh || prev) && r6 > 0)
			cp->true_without = 1u << NFO_DIM_SADDR6 | 1u << NFO_DIM_DADDR6;
	}
	if (r == 0 && r6 > 0) {
		r = crule_cpred(c, d6, &cp, &fresh);
		prev = cp ? cp->true_without : 0;
		if (r == 0)
			r = cpred_add(cp, fresh, NULL, sets6, nif, p->before_effect);
		if (r == 0 && (fresh || prev) && r4 > 0)
			cp->true_without = 1u << NFO_DIM_SADDR4 | 1u << NFO_DIM_DADDR4;
	}
out:
	nfo_vset_free(&set4);
	for (size_t i = 0; sets6 && i < nif; i++)
		nfo_vset_free(&sets6[i]);
	free(sets6);
	return r;
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
	/* A nat base chain runs only for a connection's first packet
	 * (nf_nat_inet_fn): its rules hold only where the lookup found no entry.
	 * Chains it jumps to are reached through such a rule. */
	if (plan_chain_is_nat(rule->chain))
		c->ct_cond = CTC_NAT_CHAIN;
	for (size_t i = 0; i < rule->npreds; i++) {
		const struct nfo_pred *p = &rule->preds[i];

		switch (p->dim) {
		case NFO_PDIM_UNKNOWN:
			crule_unknown(c, p->before_effect);
			break;
		case NFO_PDIM_FALSE:
			c->st_m = TV_F;
			if (p->before_effect)
				c->st_e = TV_F;
			break;
		case NFO_PDIM_SETREF:
			r = compile_setref(x, c, p);
			if (r < 0)
				return r;
			break;
		case NFO_PDIM_FIB_SADDR:
		case NFO_PDIM_FIB_DADDR:
			r = compile_fib(x, c, p);
			if (r < 0)
				return r;
			break;
		case NFO_PDIM_IIF:
		case NFO_PDIM_IIFNAME: {
			const struct nfo_pred **n = realloc(c->ifp, (c->nifp + 1) * sizeof(*n));

			if (!n)
				return -ENOMEM;
			c->ifp = n;
			c->ifp[c->nifp++] = p;
			break;
		}
		case NFO_PDIM_CTSTATUS: {
			const struct nfo_pred **n = realloc(c->ctsp, (c->nctsp + 1) * sizeof(*n));

			if (!n)
				return -ENOMEM;
			c->ctsp = n;
			c->ctsp[c->nctsp++] = p;
			break;
		}
		default:
			if (p->dim < 0 || p->dim >= _NFO_DIM_MAX) {
				crule_unknown(c, p->before_effect);
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

		c->verdict = a->verdict;
		c->target_chain = a->target_chain;
		for (size_t k = 0; k < a->nkeys; k++) {
			/* A verdict map is the rule's last statement: any effect
			 * in the rule comes before its lookup and happens
			 * whatever the key. */
			struct nfo_pred key = { .dim = a->keys[k].dim, .before_effect = !rule->effect,
						.set = a->keys[k].set };

			r = crule_add_packet_pred(c, &key);
			if (r < 0)
				return r;
		}
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

/* The fields in the order packets meet their predicates; conntrack last:
 * the lookup is the costly step, made only where nothing cheaper decides. */
static void note_rule_dims(struct ctx *x, const struct nfo_rule *rule)
{
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
	for (size_t a = 0; a < rule->nalts; a++)
		for (size_t k = 0; k < rule->alts[a].nkeys; k++)
			if (rule->alts[a].keys[k].dim != NFO_DIM_CTSTATE) /* `ct state vmap {...}` */
				note_dim(x, rule->alts[a].keys[k].dim);
}

static int compile_chain(struct ctx *x, const struct nfo_chain *c)
{
	int ci, r = new_cchain(x, c, &ci);

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

		note_rule_dims(x, rule);
		x->ct_related |= rule->expectations;
		r = compile_rule(x, ci, rule);
		if (r < 0)
			return r;
	}
	x->cc[ci].n = (uint32_t)(x->ncr - x->cc[ci].first);
	return 0;
}

/* Jump targets as chain indexes (unknown chains STOP), levels per rule. */
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
		if (c->ct_cond || c->nctsp) {
			int lv = x->level_of[NFO_DIM_CTSTATE];

			c->levels |= 1u << lv;
			if (lv > c->last_level)
				c->last_level = lv;
		}
	}
}

/* Service mode: the service chain and every chain it can jump or goto to,
 * and nothing else (sets of other chains must not take slots). */
int plan_compile_service(struct ctx *x)
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

#define NFO_PRI_CONNTRACK (-200) /* NF_IP_PRI_CONNTRACK, NF_IP6_PRI_CONNTRACK */

static void mark_ct_early(struct ctx *x, int ci)
{
	struct cchain *cc = &x->cc[ci];

	if (cc->ct_early)
		return;
	cc->ct_early = true;
	for (uint32_t k = 0; k < cc->n; k++) {
		const struct crule *c = &x->cr[cc->first + k];

		if (c->target >= 0)
			mark_ct_early(x, c->target);
	}
}

/*
 * Chains whose ct state can differ from the state conntrack gives the
 * packet: before nf_conntrack_in() (prerouting, NF_IP_PRI_CONNTRACK) the
 * packet normally has no entry and nft_ct_get_eval() says invalid, but a
 * packet looped within the namespace may carry one. A chain of the same
 * priority may run before or after conntrack (nf_register_net_hook keeps
 * registration order among equals). The split on the ct state
 * (plan-expand.c expand_ct) leaves these chains' ct tests three-valued,
 * over every state the lookup leaves possible, as before the split.
 */
static void mark_ct_early_chains(struct ctx *x)
{
	for (size_t i = 0; i < x->ncc; i++) {
		const struct nfo_chain *c = x->cc[i].chain;

		if (!c || !c->base)
			continue;
		if (c->hook == NFO_HOOK_INGRESS ||
		    (c->hook == NFO_HOOK_PREROUTING && c->prio <= NFO_PRI_CONNTRACK))
			mark_ct_early(x, (int)i);
	}
}

int plan_compile_ruleset(struct ctx *x)
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
			if (chain_rank(&rs->chains[i]) != rank)
				continue;
			r = compile_chain(x, &rs->chains[i]);
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
	mark_ct_early_chains(x);
	return 0;
}

/* A nat base chain on the receive path (prerouting or input). */
bool plan_chain_is_nat(const struct nfo_chain *c)
{
	return c && c->base && c->type && !strcmp(c->type, "nat") &&
	       (c->hook == NFO_HOOK_PREROUTING || c->hook == NFO_HOOK_INPUT);
}

/* The NAT gate: a pseudo rule on the conntrack class alone (see
 * plan_ct_cond_truth). */
int plan_new_nat_gate(struct ctx *x, int *ret_chain)
{
	struct crule *c;
	int ci, r, lv = x->level_of[NFO_DIM_CTSTATE];

	r = new_cchain(x, NULL, &ci);
	if (r < 0)
		return r;
	r = new_crule(x, &c);
	if (r < 0)
		return r;
	c->kind = CR_GATE;
	c->chain = ci;
	c->verdict = NFO_VERDICT_CONTINUE;
	c->ct_cond = CTC_NAT_GATE;
	c->levels = 1u << lv;
	c->last_level = lv;
	x->cc[ci].n = 1;
	*ret_chain = ci;
	return 0;
}

/* A gate: one pseudo rule on one field. The pipeline continues past it only
 * if it is TRUE; FALSE or UNKNOWN pass the packet to the kernel. */
int plan_new_gate(struct ctx *x, int dim, struct nfo_vset *set, int *ret_chain)
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
