// SPDX-License-Identifier: GPL-2.0-only
/*
 * Compiling the ruleset into a decision diagram: the entry points and the
 * life of a plan.
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
 *
 * The pieces, in the order a plan is built:
 *   plan-rules.c     the rules in the planner's form, the field order
 *   plan-pipeline.c  the groups and gates per interface and packet class
 *   plan-expand.c    the Shannon expansion, one diagram root per interface
 *   plan-state.c     simplification and memo of the alive list
 *   plan-eval.c      three-valued evaluation of chains and groups
 *   plan-diagram.c   nodes (stored once when equal), walking, freeing
 *   plan-fib.c       `fib ... type` as a set of addresses (IPv6: per interface)
 *   plan-rst.c       whether a TCP reset the host sends could be stopped
 * and plan-internal.h for what they share.
 *
 * Service mode (nfo_plan_input.service_chain) builds one root for one chain
 * with exact semantics: plan-rules.c compiles the chain and what it jumps
 * to, plan-pipeline.c gives it one group, and the expansion makes missing
 * fields FALSE and ends in accept or drop leaves.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "plan-internal.h"

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

static void ctx_clear(struct ctx *x)
{
	for (size_t i = 0; i < x->ncr; i++) {
		for (size_t k = 0; k < x->cr[i].ncp; k++) {
			struct cpred *cp = &x->cr[i].cp[k];

			nfo_vset_free(&cp->mset);
			nfo_vset_free(&cp->eset);
			for (size_t f = 0; f < cp->nif; f++) {
				nfo_vset_free(&cp->if_mset[f]);
				nfo_vset_free(&cp->if_eset[f]);
			}
			free(cp->if_mset);
			free(cp->if_eset);
		}
		free(x->cr[i].cp);
		free(x->cr[i].ifp);
		free(x->cr[i].ctsp);
	}
	free(x->cr);
	free(x->cc);
	for (size_t i = 0; i < x->npl; i++)
		plan_pipeline_clear(&x->pl[i]);
	free(x->pl);
	plan_memo_clear(x);
	free(x->nodetab);
}

int nfo_plan_build(const struct nfo_plan_input *in, struct nfo_plan **ret)
{
	struct ctx x = { .in = in };
	struct nfo_plan *p;
	bool rst4, rst6;
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
		r = plan_compile_service(&x);
		if (r < 0)
			goto out;
		x.pl = calloc(_CLS_MAX, sizeof(*x.pl));
		if (!x.pl) {
			r = -ENOMEM;
			goto out;
		}
		for (int cls = 0; cls < _CLS_MAX && r == 0; cls++) {
			r = plan_build_service_pipeline(&x, cls, &x.pl[x.npl]);
			x.npl++;
			if (r == 0)
				r = plan_finish_pipeline(&x, &none, &x.pl[x.npl - 1]);
		}
		if (r == 0)
			r = plan_build_root(&x, &none, 0, &p->roots[0].ref);
		if (r < 0)
			goto out;
		p->nroots = 1;
		p->inexact = x.inexact;
		goto done;
	}
	p->fib6_plain = in->fib6_plain;
	r = plan_compile_ruleset(&x);
	if (r < 0)
		goto out;
	rst4 = plan_rst4_path_clear(in);
	rst6 = plan_rst6_path_clear(in);
	for (size_t i = 0; i < in->nifaces; i++) {
		const struct nfo_plan_iface *f = &in->ifaces[i];

		p->resets4 |= rst4 && !f->no_xmit && !f->no_fwd4;
		p->resets6 |= rst6 && !f->no_xmit && !f->no_fwd6;
		p->rst_fwd_off4 |= rst4 && !f->no_xmit && f->no_fwd4;
		p->rst_fwd_off6 |= rst6 && !f->no_xmit && f->no_fwd6;
	}
	p->rst_fwd_off4 = p->rst_fwd_off4 && !p->resets4;
	p->rst_fwd_off6 = p->rst_fwd_off6 && !p->resets6;
	x.pl = calloc(in->nifaces * _CLS_MAX + 1, sizeof(*x.pl));
	if (!x.pl) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < in->nifaces; i++) {
		for (int cls = 0; cls < _CLS_MAX; cls++) {
			r = plan_build_pipeline(&x, &in->ifaces[i], cls, &x.pl[x.npl]);
			if (r < 0)
				goto out;
			x.npl++;
		}
	}
	for (size_t i = 0; i < x.npl; i++) {
		r = plan_finish_pipeline(&x, &in->ifaces[i / _CLS_MAX], &x.pl[i]);
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < in->nifaces; i++) {
		struct nfo_plan_root *root = &p->roots[p->nroots++];

		root->ifindex = in->ifaces[i].ifindex;
		memcpy(root->mac, in->ifaces[i].mac, 6);
		memcpy(root->bcast, in->ifaces[i].bcast, 6);
		x.rst4_ok = rst4 && !in->ifaces[i].no_xmit && !in->ifaces[i].no_fwd4;
		x.rst6_ok = rst6 && !in->ifaces[i].no_xmit && !in->ifaces[i].no_fwd6;
		r = plan_build_root(&x, &in->ifaces[i], (int)(i * _CLS_MAX), &root->ref);
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

void nfo_plan_keys_free(char **keys, size_t n)
{
	if (!keys)
		return;
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

int nfo_plan_keys(const struct nfo_plan *p, char ***ret_keys)
{
	char **keys = calloc(p->ntargets ? p->ntargets : 1, sizeof(*keys));

	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < p->ntargets; i++) {
		const struct nfo_plan_target *t = &p->targets[i];
		char buf[1024];

		if (t->rule)
			nfo_rule_key(t->rule, buf, sizeof(buf));
		else
			snprintf(buf, sizeof(buf), "%s %s %s policy", nfo_family_name(t->chain->family),
				 t->chain->table, t->chain->name);
		keys[i] = strdup(buf);
		if (!keys[i]) {
			nfo_plan_keys_free(keys, i);
			return -ENOMEM;
		}
	}
	*ret_keys = keys;
	return 0;
}
