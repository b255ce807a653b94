// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where the fast path may send a TCP reset itself (docs/SEMANTICS.md
 * section 4.1). nf_send_reset() sends its RST with ip_local_out(): it meets
 * the output and postrouting chains of the ip and inet families (nat ones
 * included), then the device's egress (netdev egress chains). The fast path
 * transmits it straight out of the interface, so it may do so only where
 * none of those chains could drop or change it: none exists, or each one
 * certainly lets every packet through unchanged (policy accept; rules that
 * only match, count and accept, continue, return or jump to such chains).
 * Nothing about the RST is evaluated: what could be proven for it alone
 * (its ct state, addresses, oifname) is left for later.
 *
 * The RST's TTL is ip4_dst_hoplimit() of the rejected packet's route (at
 * input: its local-table route), net.ipv4.ip_default_ttl unless that route
 * carries a hoplimit metric: then no reset is sent here.
 */
#include <stdbool.h>
#include <string.h>

#include <linux/netfilter.h>
#include <sys/socket.h>

#include "netlink/rtnl.h"
#include "plan-internal.h"

#define RST_JUMP_DEPTH 16 /* NFT_JUMP_STACK_SIZE */

static bool verdict_passes(int verdict, const struct nfo_chain *target, int depth);

static bool chain_passes(const struct nfo_chain *c, int depth)
{
	if (!c || depth > RST_JUMP_DEPTH)
		return false;
	if (c->base && c->policy_drop)
		return false;
	for (size_t i = 0; i < c->nrules; i++) {
		const struct nfo_rule *r = &c->rules[i];

		/* (counters are no effect: `effect` leaves them out) */
		if (r->effect || r->reject)
			return false;
		if (!verdict_passes(r->verdict, r->target_chain, depth))
			return false;
		for (size_t a = 0; a < r->nalts; a++)
			if (!verdict_passes(r->alts[a].verdict, r->alts[a].target_chain, depth))
				return false;
	}
	return true;
}

static bool verdict_passes(int verdict, const struct nfo_chain *target, int depth)
{
	switch (verdict) {
	case NFO_VERDICT_CONTINUE:
	case NFO_VERDICT_ACCEPT:
	case NFO_VERDICT_RETURN:
		return true;
	case NFO_VERDICT_JUMP:
	case NFO_VERDICT_GOTO:
		return chain_passes(target, depth + 1);
	default:
		return false;
	}
}

/* No base chain of family (and inet) at output or postrouting, nor a
 * netdev egress chain, could drop or change the RST. */
static bool out_path_clear(const struct nfo_ruleset *rs, int family)
{
	for (size_t i = 0; i < rs->nchains; i++) {
		const struct nfo_chain *c = &rs->chains[i];

		if (!c->base)
			continue;
		if (c->family == NFPROTO_NETDEV && c->hook == NFO_HOOK_EGRESS)
			return false;
		if (c->family != family && c->family != NFPROTO_INET)
			continue;
		if (c->hook != NFO_HOOK_OUTPUT && c->hook != NFO_HOOK_POSTROUTING)
			continue;
		if (plan_chain_is_nat(c) || !chain_passes(c, 0))
			return false;
	}
	return true;
}

bool plan_rst4_path_clear(const struct nfo_plan_input *in)
{
	if (!in->have_routes || !in->rules4_plain || !in->rs)
		return false;
	for (size_t i = 0; i < in->nroutes; i++)
		if (in->routes[i].family == AF_INET && in->routes[i].hoplimit)
			return false;
	return out_path_clear(in->rs, NFPROTO_IPV4);
}

/*
 * nf_send_reset6() sends with ip6_local_out(): the output and postrouting
 * chains of the ip6 and inet families, then the device's egress. Its hop
 * limit is ip6_dst_hoplimit() of its output route: the route's hoplimit
 * metric, else the output device's hop_limit (the daemon reads it);
 * rst6_plain says no IPv6 route has such a metric and the fast path's
 * lookup finds the kernel's route (netlink/rtnl.h).
 */
bool plan_rst6_path_clear(const struct nfo_plan_input *in)
{
	if (!in->rst6_plain || !in->rs)
		return false;
	return out_path_clear(in->rs, NFPROTO_IPV6);
}
