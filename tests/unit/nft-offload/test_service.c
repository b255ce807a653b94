// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-service filters (nft-offload/service.c and the planner's service
 * mode): which chains are refused and why, and what the compiled plan
 * decides for packets given as field values (nfo_plan_eval), checked
 * against what nftables does with the same chain jumped to from a base chain
 * with policy accept. A field the packet lacks makes every rule loading it
 * not match (nft_payload_eval() breaks the rule). Which fields a packet has
 * is the BPF program's business (bpf/cgroup/nfo_cgroup.bpf.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <linux/netfilter.h>

#include "nft-offload/plan.h"
#include "nft-offload/service.h"

#define DBIT(d) (1u << (d))

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	assert_non_null(p);
	return p;
}

static int chain_new(struct nfo_ruleset *rs, int family, const char *name, bool base)
{
	struct nfo_chain *c;

	rs->chains = realloc(rs->chains, (rs->nchains + 1) * sizeof(*rs->chains));
	assert_non_null(rs->chains);
	c = &rs->chains[rs->nchains];
	*c = (struct nfo_chain){ .family = family, .table = xstrdup("svc"), .name = xstrdup(name),
				 .base = base, .hook = base ? NFO_HOOK_INPUT : NFO_HOOK_NONE,
				 .type = base ? xstrdup("filter") : NULL };
	return (int)rs->nchains++;
}

static struct nfo_rule *rule_new(struct nfo_ruleset *rs, int chain, int verdict, const char *target)
{
	struct nfo_chain *c = &rs->chains[chain];
	struct nfo_rule *r;

	c->rules = realloc(c->rules, (c->nrules + 1) * sizeof(*c->rules));
	assert_non_null(c->rules);
	r = &c->rules[c->nrules++];
	*r = (struct nfo_rule){ .verdict = verdict, .target = target ? xstrdup(target) : NULL };
	return r;
}

static void pred(struct nfo_rule *r, int dim, nfo_u128 lo, nfo_u128 hi)
{
	struct nfo_vset s = {};

	assert_int_equal(nfo_vset_add(&s, lo, hi), 0);
	assert_int_equal(nfo_rule_add_pred(r, dim, true, &s, NULL), 0);
}

static void pred_unknown(struct nfo_rule *r, const char *why)
{
	struct nfo_vset s = {};

	assert_int_equal(nfo_rule_add_pred(r, NFO_PDIM_UNKNOWN, true, &s, xstrdup(why)), 0);
	r->offload = NFO_OFFLOAD_PARTIAL;
}

static void finish(struct nfo_ruleset *rs)
{
	uint64_t handle = 1;

	for (size_t i = 0; i < rs->nchains; i++) {
		struct nfo_chain *c = &rs->chains[i];

		for (size_t k = 0; k < c->nrules; k++) {
			struct nfo_rule *r = &c->rules[k];

			r->chain = c;
			r->position = (unsigned)k;
			r->handle = handle++;
			for (size_t t = 0; r->target && t < rs->nchains; t++)
				if (!strcmp(rs->chains[t].name, r->target))
					r->target_chain = &rs->chains[t];
		}
	}
}

static void rs_clear(struct nfo_ruleset *rs)
{
	for (size_t i = 0; i < rs->nchains; i++) {
		for (size_t k = 0; k < rs->chains[i].nrules; k++)
			nfo_rule_clear(&rs->chains[i].rules[k]);
		free(rs->chains[i].rules);
		free(rs->chains[i].table);
		free(rs->chains[i].name);
		free(rs->chains[i].type);
	}
	free(rs->chains);
}

static nfo_u128 ip4(const char *s)
{
	uint8_t b[4];

	assert_int_equal(inet_pton(AF_INET, s, b), 1);
	return nfo_u128_from_be(b, 4);
}

/* A packet: the fields it has. */
struct pkt {
	nfo_u128 v[_NFO_DIM_MAX];
	uint32_t have;
};

static struct pkt udp4(const char *src, unsigned dport)
{
	struct pkt p = {};

	p.v[NFO_DIM_ETHTYPE] = 0x0800;
	p.v[NFO_DIM_L4PROTO] = 17;
	p.v[NFO_DIM_SADDR4] = ip4(src);
	p.v[NFO_DIM_DADDR4] = ip4("192.0.2.1");
	p.v[NFO_DIM_TH0] = 40000;
	p.v[NFO_DIM_TH2] = dport;
	p.have = DBIT(NFO_DIM_ETHTYPE) | DBIT(NFO_DIM_L4PROTO) | DBIT(NFO_DIM_SADDR4) |
		 DBIT(NFO_DIM_DADDR4) | DBIT(NFO_DIM_TH0) | DBIT(NFO_DIM_TH2);
	return p;
}

/* "accept H", "drop H", "accept policy" or "accept" (another family). */
static void expect(const struct nfo_plan *plan, struct pkt p, const char *want)
{
	uint32_t ref = nfo_plan_eval(plan, plan->roots[0].ref, p.v, p.have);
	char got[64];

	if (ref == NFO_REF_PASS) {
		snprintf(got, sizeof(got), "accept");
	} else {
		const struct nfo_plan_target *t = &plan->targets[ref & NFO_REF_SLOT_MASK];
		bool drop = ref & NFO_REF_DROP_BIT;

		assert_true(drop || (ref & NFO_REF_ACCEPT_BIT));
		if (t->rule)
			snprintf(got, sizeof(got), "%s %llu", drop ? "drop" : "accept",
				 (unsigned long long)t->rule->handle);
		else
			snprintf(got, sizeof(got), "%s policy", drop ? "drop" : "accept");
	}
	assert_string_equal(got, want);
}

static struct nfo_plan *compile_ok(const struct nfo_ruleset *rs, int family, const char *chain)
{
	struct nfo_config_chainref ref = { .set = true, .family = family };
	struct nfo_plan *plan = NULL;
	char reason[512] = "";

	snprintf(ref.table, sizeof(ref.table), "svc");
	snprintf(ref.chain, sizeof(ref.chain), "%s", chain);
	assert_int_equal(nfo_service_compile(rs, &ref, 100000, &plan, reason, sizeof(reason)), 0);
	assert_non_null(plan);
	assert_false(plan->inexact);
	return plan;
}

static void compile_refused(const struct nfo_ruleset *rs, int family, const char *chain,
			    const char *want)
{
	struct nfo_config_chainref ref = { .set = true, .family = family };
	struct nfo_plan *plan = NULL;
	char reason[512] = "";

	snprintf(ref.table, sizeof(ref.table), "svc");
	snprintf(ref.chain, sizeof(ref.chain), "%s", chain);
	assert_int_equal(nfo_service_compile(rs, &ref, 100000, &plan, reason, sizeof(reason)), 1);
	assert_null(plan);
	assert_string_equal(reason, want);
}

/* udp dport { 53, 80 } accept (1); ip saddr 10.0.0.0/8 jump j (2);
 * udp dport != 53 drop (3);  j: udp dport 443 return (4); drop (5). */
static void test_verdicts(void **state)
{
	struct nfo_ruleset rs = {};
	struct nfo_plan *plan;
	struct nfo_rule *r;
	struct pkt later;
	int c, j;

	(void)state;
	c = chain_new(&rs, NFPROTO_INET, "web_in", false);
	j = chain_new(&rs, NFPROTO_INET, "j", false);
	r = rule_new(&rs, c, NFO_VERDICT_ACCEPT, NULL);
	pred(r, NFO_DIM_L4PROTO, 17, 17);
	pred(r, NFO_DIM_TH2, 53, 53);
	r->counter = true;
	assert_int_equal(nfo_vset_add(&rs.chains[c].rules[0].preds[1].set, 80, 80), 0);
	r = rule_new(&rs, c, NFO_VERDICT_JUMP, "j");
	pred(r, NFO_DIM_ETHTYPE, 0x0800, 0x0800);
	pred(r, NFO_DIM_SADDR4, ip4("10.0.0.0"), ip4("10.255.255.255"));
	r = rule_new(&rs, c, NFO_VERDICT_DROP, NULL);
	pred(r, NFO_DIM_L4PROTO, 17, 17);
	pred(r, NFO_DIM_TH2, 0, 52);
	assert_int_equal(nfo_vset_add(&r->preds[1].set, 54, 65535), 0);
	r = rule_new(&rs, j, NFO_VERDICT_RETURN, NULL);
	pred(r, NFO_DIM_L4PROTO, 17, 17);
	pred(r, NFO_DIM_TH2, 443, 443);
	rule_new(&rs, j, NFO_VERDICT_DROP, NULL);
	finish(&rs);

	plan = compile_ok(&rs, NFPROTO_INET, "web_in");
	expect(plan, udp4("192.0.2.9", 53), "accept 1");
	expect(plan, udp4("192.0.2.9", 80), "accept 1");
	expect(plan, udp4("192.0.2.9", 8080), "drop 3");
	expect(plan, udp4("10.1.2.3", 8080), "drop 5");
	/* returned from j, on to rule 3: 443 != 53 */
	expect(plan, udp4("10.1.2.3", 443), "drop 3");
	/* no ports (a truncated header, no l4proto): rule 1 and 3 do not
	 * match, the end of the chain accepts (the policy of the base chain
	 * jumping to it) */
	later = udp4("192.0.2.9", 53);
	later.have &= ~(DBIT(NFO_DIM_TH0) | DBIT(NFO_DIM_TH2));
	expect(plan, later, "accept policy");
	/* from 10/8 it goes through j, whose drop needs no port */
	later.v[NFO_DIM_SADDR4] = ip4("10.0.0.1");
	expect(plan, later, "drop 5");
	/* IPv6: no rule of the chain matches */
	{
		struct pkt p6 = {};

		p6.v[NFO_DIM_ETHTYPE] = 0x86dd;
		p6.v[NFO_DIM_L4PROTO] = 17;
		p6.v[NFO_DIM_TH2] = 53;
		p6.have = DBIT(NFO_DIM_ETHTYPE) | DBIT(NFO_DIM_L4PROTO) | DBIT(NFO_DIM_TH2) |
			  DBIT(NFO_DIM_TH0);
		expect(plan, p6, "accept 1");
		p6.v[NFO_DIM_TH2] = 54;
		expect(plan, p6, "drop 3");
	}
	nfo_plan_free(&plan);
	rs_clear(&rs);
}

/* An ip chain decides IPv4 only: IPv6 packets are accepted. */
static void test_family(void **state)
{
	struct nfo_ruleset rs = {};
	struct nfo_plan *plan;
	struct pkt p6 = {};
	int c;

	(void)state;
	c = chain_new(&rs, NFPROTO_IPV4, "v4only", false);
	rule_new(&rs, c, NFO_VERDICT_DROP, NULL);
	finish(&rs);
	plan = compile_ok(&rs, NFPROTO_IPV4, "v4only");
	expect(plan, udp4("192.0.2.9", 53), "drop 1");
	p6.v[NFO_DIM_ETHTYPE] = 0x86dd;
	p6.have = DBIT(NFO_DIM_ETHTYPE);
	expect(plan, p6, "accept");
	nfo_plan_free(&plan);
	rs_clear(&rs);
}

static void test_refused(void **state)
{
	struct nfo_ruleset rs = {};
	struct nfo_rule *r;
	int c;

	(void)state;
	c = chain_new(&rs, NFPROTO_INET, "mark", false);
	r = rule_new(&rs, c, NFO_VERDICT_ACCEPT, NULL);
	pred_unknown(r, "meta mark");
	c = chain_new(&rs, NFPROTO_INET, "log", false);
	r = rule_new(&rs, c, NFO_VERDICT_DROP, NULL);
	r->effect = true;
	r->offload = NFO_OFFLOAD_NONE;
	r->reason = xstrdup("log statement");
	c = chain_new(&rs, NFPROTO_INET, "iif", false);
	r = rule_new(&rs, c, NFO_VERDICT_DROP, NULL);
	pred(r, NFO_PDIM_IIF, 1, 1);
	c = chain_new(&rs, NFPROTO_INET, "ct", false);
	r = rule_new(&rs, c, NFO_VERDICT_ACCEPT, NULL);
	pred(r, NFO_DIM_CTSTATE, 2, 2);
	c = chain_new(&rs, NFPROTO_INET, "jumps", false);
	rule_new(&rs, c, NFO_VERDICT_JUMP, "mark");
	c = chain_new(&rs, NFPROTO_INET, "input", true);
	rule_new(&rs, c, NFO_VERDICT_DROP, NULL);
	finish(&rs);

	compile_refused(&rs, NFPROTO_INET, "mark",
			"rule inet svc mark handle 1: meta mark: not decided exactly by a service filter");
	compile_refused(&rs, NFPROTO_INET, "log",
			"rule inet svc log handle 2: log statement: not decided exactly by a service filter");
	compile_refused(&rs, NFPROTO_INET, "iif",
			"rule inet svc iif handle 3: interface matches (iif, iifname) are not supported "
			"in service chains: not decided exactly by a service filter");
	compile_refused(&rs, NFPROTO_INET, "ct",
			"rule inet svc ct handle 4: ct state: a service filter runs without conntrack: "
			"not decided exactly by a service filter");
	/* the problem is in the chain jumped to: that rule is named */
	compile_refused(&rs, NFPROTO_INET, "jumps",
			"rule inet svc mark handle 1: meta mark: not decided exactly by a service filter");
	compile_refused(&rs, NFPROTO_INET, "input",
			"chain inet svc input is a base chain (hook input): service chains must be "
			"regular chains");
	compile_refused(&rs, NFPROTO_INET, "missing", "chain inet svc missing does not exist");
	compile_refused(&rs, NFPROTO_IPV4, "mark", "chain ip svc mark does not exist");
	rs_clear(&rs);
}

/* A drop rule looking the source address up in set s. */
static void pred_setref(struct nfo_rule *r, const struct nfo_set *s)
{
	struct nfo_vset none = {};
	struct nfo_pred *p;

	assert_int_equal(nfo_rule_add_pred(r, NFO_PDIM_SETREF, true, &none, NULL), 0);
	p = &r->preds[r->npreds - 1];
	p->ref.set = s;
	p->ref.ndims = 1;
	p->ref.dims[0] = NFO_DIM_SADDR4;
}

/*
 * Sets whose elements change without notification are held by the fast
 * path only toward drop (import.c keeps such lookups in drop rules, fully
 * offloaded): a service filter must decide both ways, so it refuses them
 * even there.
 */
static void test_refused_sets(void **state)
{
	struct nfo_set timeout = { .family = NFPROTO_INET, .name = (char *)"ban",
				   .flags = NFT_SET_TIMEOUT, .named = true, .usable = true,
				   .drop_only = true, .timeout_ms = 60000 };
	struct nfo_set dynamic = { .family = NFPROTO_INET, .name = (char *)"seen",
				   .named = true, .usable = true, .drop_only = true,
				   .pp_add = true };
	struct nfo_ruleset rs = {};
	struct nfo_rule *r;
	int c;

	(void)state;
	c = chain_new(&rs, NFPROTO_INET, "ban", false);
	r = rule_new(&rs, c, NFO_VERDICT_DROP, NULL);
	pred_setref(r, &timeout);
	r->offload = NFO_OFFLOAD_FULL;
	c = chain_new(&rs, NFPROTO_INET, "seen", false);
	r = rule_new(&rs, c, NFO_VERDICT_DROP, NULL);
	pred_setref(r, &dynamic);
	r->offload = NFO_OFFLOAD_FULL;
	finish(&rs);

	compile_refused(&rs, NFPROTO_INET, "ban",
			"rule inet svc ban handle 1: a set with timeouts: its elements expire without "
			"notification, a service filter would not be exact: not decided exactly by a "
			"service filter");
	compile_refused(&rs, NFPROTO_INET, "seen",
			"rule inet svc seen handle 2: a set the packet path updates (add/update/delete "
			"@set): its elements change without notification, a service filter would not "
			"be exact: not decided exactly by a service filter");
	rs_clear(&rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_family),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_refused_sets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
