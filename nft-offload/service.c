// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "ruleset.h"
#include "service.h"

const char *nfo_verdict_name(int verdict)
{
	switch (verdict) {
	case NFO_VERDICT_CONTINUE:
		return "continue";
	case NFO_VERDICT_ACCEPT:
		return "accept";
	case NFO_VERDICT_DROP:
		return "drop";
	case NFO_VERDICT_JUMP:
		return "jump";
	case NFO_VERDICT_GOTO:
		return "goto";
	case NFO_VERDICT_RETURN:
		return "return";
	}
	return "other";
}

/* Why a predicate keeps a rule from being decided exactly, or NULL. */
static const char *pred_problem(const struct nfo_pred *p)
{
	switch (p->dim) {
	case NFO_PDIM_UNKNOWN:
		return p->reason ? p->reason : "a match the program cannot evaluate";
	case NFO_PDIM_IIF:
	case NFO_PDIM_IIFNAME:
		return "interface matches (iif, iifname) are not supported in service chains";
	case NFO_DIM_CTSTATE:
		return "ct state: a service filter runs without conntrack";
	case NFO_PDIM_CTSTATUS:
		return "ct status: a service filter runs without conntrack";
	case NFO_DIM_L2HOST:
		return "link-layer matches are not supported in service chains";
	case NFO_PDIM_FIB_SADDR:
	case NFO_PDIM_FIB_DADDR:
		return "fib ... type is not supported in service chains";
	case NFO_DIM_TCPMSS:
	case NFO_DIM_MSSOPT:
		return "tcp options are not supported in service chains";
	}
	return NULL;
}

/*
 * Sets whose elements come or go without a notification (timeouts, packet
 * path updates): the fast path holds fewer elements than the kernel, sound
 * only toward drop. A service program must decide both ways exactly, so
 * it does not read them at all.
 */
static const char *set_problem(const struct nfo_set *s)
{
	if (!s || !nfo_set_changes_alone(s))
		return NULL;
	if (s->flags & NFT_SET_TIMEOUT)
		return "a set with timeouts: its elements expire without notification, a service "
		       "filter would not be exact";
	return "a set the packet path updates (add/update/delete @set): its elements change "
	       "without notification, a service filter would not be exact";
}

static const char *rule_problem(const struct nfo_rule *r)
{
	const char *why;

	if ((why = set_problem(r->vmap_set)))
		return why;
	for (size_t i = 0; i < r->npreds; i++) {
		const struct nfo_pred *p = &r->preds[i];

		if ((why = set_problem(p->dim == NFO_PDIM_SETREF ? p->ref.set : NULL)) ||
		    (why = set_problem(p->from_set)))
			return why;
	}
	if (r->effect || r->verdict == NFO_VERDICT_STOP || r->offload == NFO_OFFLOAD_NONE)
		return r->reason ? r->reason : "a statement the program cannot carry out";
	if (r->reject)
		return "reject: a service filter cannot answer";
	for (size_t i = 0; i < r->npreds; i++)
		if ((why = pred_problem(&r->preds[i])))
			return why;
	if ((r->verdict == NFO_VERDICT_JUMP || r->verdict == NFO_VERDICT_GOTO) && !r->target_chain)
		return "jump to a chain that does not exist";
	for (size_t a = 0; a < r->nalts; a++) {
		const struct nfo_alt *alt = &r->alts[a];

		for (size_t k = 0; k < alt->nkeys; k++)
			if (alt->keys[k].dim == NFO_DIM_CTSTATE)
				return "ct state: a service filter runs without conntrack";
		if (alt->verdict == NFO_VERDICT_STOP)
			return "a verdict map with verdicts the program cannot follow";
		if ((alt->verdict == NFO_VERDICT_JUMP || alt->verdict == NFO_VERDICT_GOTO) &&
		    !alt->target_chain)
			return "a verdict map jumping to a chain that does not exist";
	}
	if (r->offload != NFO_OFFLOAD_FULL)
		return r->reason ? r->reason : "a match the program cannot evaluate";
	return NULL;
}

/* Checks c and the chains it reaches (visited: chains seen, n of cap). */
static int check_chains(const struct nfo_chain *c, const struct nfo_chain ***seen, size_t *n,
			char *reason, size_t len)
{
	const struct nfo_chain **s;

	for (size_t i = 0; i < *n; i++)
		if ((*seen)[i] == c)
			return 0;
	s = realloc(*seen, (*n + 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	*seen = s;
	s[(*n)++] = c;
	for (size_t k = 0; k < c->nrules; k++) {
		const struct nfo_rule *r = &c->rules[k];
		const char *why = rule_problem(r);
		int ret;

		if (why) {
			snprintf(reason, len, "rule %s %s %s handle %llu: %s: not decided exactly by a "
				 "service filter", nfo_family_name(c->family), c->table, c->name,
				 (unsigned long long)r->handle, why);
			return 1;
		}
		if (r->target_chain) {
			ret = check_chains(r->target_chain, seen, n, reason, len);
			if (ret)
				return ret;
		}
		for (size_t a = 0; a < r->nalts; a++) {
			if (!r->alts[a].target_chain)
				continue;
			ret = check_chains(r->alts[a].target_chain, seen, n, reason, len);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int nfo_service_compile(const struct nfo_ruleset *rs, const struct nfo_config_chainref *ref,
			size_t max_edges, struct nfo_plan **ret_plan, char *reason, size_t len)
{
	const struct nfo_chain *c = nfo_ruleset_find_chain(rs, ref->family, ref->table, ref->chain);
	const struct nfo_chain **seen = NULL;
	struct nfo_plan_input in = { .rs = rs, .max_edges = max_edges };
	struct nfo_plan *plan = NULL;
	size_t n = 0;
	int r;

	if (!c) {
		snprintf(reason, len, "chain %s %s %s does not exist", nfo_family_name(ref->family),
			 ref->table, ref->chain);
		return 1;
	}
	if (c->base) {
		snprintf(reason, len, "chain %s %s %s is a base chain (hook %s): service chains "
			 "must be regular chains", nfo_family_name(c->family), c->table, c->name,
			 nfo_hook_name(c->hook));
		return 1;
	}
	r = check_chains(c, &seen, &n, reason, len);
	free(seen);
	if (r)
		return r;
	in.service_chain = c;
	r = nfo_plan_build(&in, &plan);
	if (r < 0)
		return r;
	if (plan->error || plan->inexact) {
		snprintf(reason, len, "chain %s %s %s: %s", nfo_family_name(c->family), c->table,
			 c->name, plan->error ? plan->error :
			 "some packets cannot be decided exactly (jumps nested too deep?)");
		nfo_plan_free(&plan);
		return 1;
	}
	*ret_plan = plan;
	return 0;
}

