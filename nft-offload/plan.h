/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The planner: compiles the translated ruleset, for each attached interface,
 * into one decision diagram that the fast path walks (bpf/nfo_abi.h).
 *
 * Soundness contract (docs/SEMANTICS.md): a leaf is DROP only if every
 * packet reaching it is dropped by nftables with the same ruleset. Chains are
 * evaluated three-valued: predicates the fast path cannot see are UNKNOWN,
 * rules with effects it cannot reproduce STOP the reasoning.
 */
#ifndef NFO_PLAN_H
#define NFO_PLAN_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ruleset.h"

struct nfo_addr;

struct nfo_plan_iface {
	int ifindex;
	char name[IF_NAMESIZE];
	uint8_t mac[6];
	uint8_t bcast[6]; /* its broadcast address: ff:ff:ff:ff:ff:ff on Ethernet */
	/* Received packets reach the IP-layer hooks as coming in on this
	 * device: no master (bridge, bond, VRF) and no upper devices (VLAN,
	 * macvlan...) that could take them over. Otherwise only its ingress
	 * chains are decided. */
	bool l3;
	const char *why_not_l3;
	/* The fast path cannot send a frame back out of it: native XDP on a
	 * veth (XDP_TX reaches the peer only when the peer runs NAPI, which
	 * this side cannot see). TCP resets are then left to nftables. */
	bool no_xmit;
	/* IPv4 / IPv6 forwarding is off on it (or unreadable): bpf_fib_lookup
	 * answers BPF_FIB_LKUP_RET_FWD_DISABLED there whatever it is asked, so
	 * every RST of that family would pass: left to nftables, and said. */
	bool no_fwd4, no_fwd6;
};

struct nfo_plan_input {
	const struct nfo_ruleset *rs;
	const struct nfo_plan_iface *ifaces;
	size_t nifaces;
	/* Local unicast addresses of the namespace (from rtnetlink). */
	const struct nfo_addr *addrs;
	size_t naddrs;
	/* Interfaces that are up (addresses on down links are not local). */
	const int *up_ifindexes;
	size_t nup;
	/* The local routing table (`fib ... type`); without it (have_routes
	 * false) fib type predicates are UNKNOWN. */
	const struct nfo_route *routes;
	size_t nroutes;
	bool have_routes;
	/* IPv4 subnet broadcasts (the local table's broadcast routes) are
	 * delivered locally: net.ipv4.conf.all.bc_forwarding is known to be
	 * 0 (ip_route_input_slow forwards them only when the input device's
	 * and all's are both set). 255.255.255.255 always is. */
	bool bcast_input;
	/* Broadcast and multicast frames are decided at prerouting and input
	 * too, not only frames for the interface's MAC: the user says no
	 * upper device the daemon cannot see (macvlan, ipvlan in another
	 * namespace) takes copies of them after the ingress chains. */
	bool l2_group;
	/* No IPv4 fib rule selects on iif or oif (nfo_rtnl_rules4_plain):
	 * bpf_fib_lookup from the interface then finds the route of a packet
	 * the host sends (TCP resets, plan-rst.c). */
	bool rules4_plain;
	/* IPv6 routing as the kernel sets it up (nfo_rtnl_fib6_plain): the
	 * policy rules look up local then main, no VRF, and no route of type
	 * local or anycast outside the local table. Then IPv6 `fib ... type`
	 * is decided from the local table (plan-fib.c). */
	bool fib6_plain;
	/* No IPv6 fib rule on iif or oif either, and no IPv6 route sets a
	 * hop limit or is ambiguous (nfo_rtnl_rst6_plain): IPv6 resets. */
	bool rst6_plain;
	/* Bound on the diagram's size: past it the plan fails (all PASS). */
	size_t max_edges;
	/*
	 * Service mode: no interfaces; one root (ifindex 0) deciding every IP
	 * packet exactly as nftables would if a base chain of the chain's
	 * family with policy accept jumped to service_chain. A field the
	 * packet lacks makes its predicates FALSE (nftables breaks the rule);
	 * leaves are NFO_REF_DROP or NFO_REF_ACCEPT of the deciding rule or
	 * policy, or NFO_REF_PASS (accepted, another family). The caller
	 * refuses chains with UNKNOWN predicates or effects first; a leaf that
	 * still is not one certain verdict sets plan->inexact.
	 */
	const struct nfo_chain *service_chain;
};

struct nfo_plan_edge {
	nfo_u128 lo;
	nfo_u128 hi;
	uint32_t ref;
};

struct nfo_plan_node {
	int dim;
	uint32_t unknown;
	struct nfo_plan_edge *edges;
	size_t nedges;
	size_t cap;
};

/* What a DROP leaf credits: a rule, or (rule == NULL) a chain's policy. */
struct nfo_plan_target {
	const struct nfo_rule *rule;
	const struct nfo_chain *chain;
};

struct nfo_plan_root {
	int ifindex;
	uint32_t ref;
	uint8_t mac[6];
	uint8_t bcast[6];
};

/* A named set slot: the diagram tests membership, the loader fills it. */
struct nfo_plan_set {
	const struct nfo_set *set;
	uint8_t ndims;
	uint8_t dims[NFO_SET_MAX_FIELDS];
};

struct nfo_plan {
	/* nodes[0] is unused: node references are indexes into this array. */
	struct nfo_plan_node *nodes;
	size_t nnodes;
	size_t nodes_cap;
	struct nfo_plan_root *roots;
	size_t nroots;
	struct nfo_plan_target *targets;
	size_t ntargets;
	bool rejects; /* some leaf is a reject leaf (NFO_REF_REJECT) */
	/* TCP resets of input chains are followed on some interface
	 * (plan-rst.c): an IPv4 RST the host sends meets nothing that may
	 * drop or change it */
	bool resets4;
	/* Built with nfo_plan_input.fib6_plain: IPv6 `fib ... type` could be
	 * decided (explain says why not) */
	bool fib6_plain;
	bool resets6; /* the same for IPv6 */
	/* Their way is clear, but forwarding is off on every interface
	 * that could send them (nfo_plan_iface.no_fwd4/no_fwd6). */
	bool rst_fwd_off4, rst_fwd_off6;
	struct nfo_plan_set sets[NFO_MAX_SETS]; /* slot k: dimension NFO_DIM_SET0 + k */
	size_t nsets;
	/* Sets whose elements are in the diagram (no slot left, or a lookup a
	 * slot cannot serve): changing them needs a new plan. */
	const struct nfo_set **dag_sets;
	size_t ndag_sets;
	size_t targets_cap;
	size_t nedges;
	/* Set when no diagram could be built; every root is then PASS. */
	char *error;
	/* Service mode: some packet cannot be decided exactly. */
	bool inexact;
};

int nfo_plan_build(const struct nfo_plan_input *in, struct nfo_plan **ret);
void nfo_plan_free(struct nfo_plan **p);

/* Whether set s's elements can change without a new plan (slots only),
 * and whether the fast path uses them at all. */
bool nfo_plan_set_updatable(const struct nfo_plan *p, const struct nfo_set *s);
bool nfo_plan_set_used(const struct nfo_plan *p, const struct nfo_set *s);

/*
 * How membership in set slot k can change the diagram's verdicts (see
 * docs/SEMANTICS.md, "Named sets whose elements change"): NFO_POL_DROP if
 * adding an element can only make the diagram drop more (at every node
 * testing the slot, whatever the absent branch drops the present branch
 * drops too), NFO_POL_ACCEPT if it can only make it drop less, NFO_POL_BOTH
 * otherwise (or past the work budget), NFO_POL_NONE if no node tests it.
 * -ENOMEM.
 */
enum { NFO_POL_NONE = 0, NFO_POL_DROP = 1, NFO_POL_ACCEPT = 2, NFO_POL_BOTH = 3 };
int nfo_plan_slot_polarity(const struct nfo_plan *p, int k);

/* Follows the diagram for a packet given as values per dimension (have: bit
 * per dimension present). Returns the verdict reference. For tests and for
 * `explain`. */

uint32_t nfo_plan_eval(const struct nfo_plan *p, uint32_t ref, const nfo_u128 *values,
		       uint32_t have);

/* One counter key per plan target ("family table chain handle" or "...
 * policy"): what the loader names counter slots by and status looks them up
 * by; freed with nfo_plan_keys_free(keys, plan->ntargets). */
int nfo_plan_keys(const struct nfo_plan *p, char ***ret_keys);
void nfo_plan_keys_free(char **keys, size_t n);

#endif
