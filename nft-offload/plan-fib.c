// SPDX-License-Identifier: GPL-2.0-only
/*
 * `fib saddr type` / `fib daddr type` as a predicate on the address, for
 * IPv4 and, further down, IPv6 (docs/SEMANTICS.md, "fib"). nft_fib4_eval_type() stores
 * inet_dev_addr_type(net, NULL, addr), which is __inet_dev_addr_type() on
 * the local table (RT_TABLE_LOCAL; without a device there is no l3mdev
 * table): 0.0.0.0/8 and 255.255.255.255 are RTN_BROADCAST, 224.0.0.0/4
 * RTN_MULTICAST, anything else the type of the route fib_table_lookup()
 * finds in the local table, RTN_UNICAST when it finds none or a route
 * whose type is an error (blackhole, unreachable, prohibit, throw, nat,
 * xresolve: fib_props[].error). The planner has the local table from
 * rtnetlink, so the answer is a set of addresses, exact wherever the
 * lookup cannot depend on more than the table holds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "common/util.h"
#include "netlink/rtnl.h"
#include "plan-internal.h"

/* Past these the predicate stays UNKNOWN (the computation is quadratic in
 * the routes and exponential in the uncertain ones). */
#define FIB_MAX_ROUTES 4096
#define FIB_MAX_UNCERTAIN 6

struct r4 {
	uint32_t lo, hi;
	unsigned plen;
	unsigned type;
	bool uncertain;
};

/* The register value nft compares for type t: u32 in host byte order. */
static nfo_u128 type_value(unsigned t)
{
	uint32_t v = t;
	uint8_t b[4];

	memcpy(b, &v, 4);
	return nfo_u128_from_be(b, 4);
}

/* fib_props[type].error < 0: fib_table_lookup() fails, the caller keeps
 * RTN_UNICAST. */
static bool type_is_error(unsigned t)
{
	return t == RTN_BLACKHOLE || t == RTN_UNREACHABLE || t == RTN_PROHIBIT ||
	       t == RTN_THROW || t == RTN_NAT || t == RTN_XRESOLVE;
}

static unsigned type_at(const struct r4 *rt, size_t n, unsigned present, uint32_t a)
{
	int best = -1;
	unsigned k = 0;

	if ((a >> 24) == 0 || a == 0xffffffffu)
		return RTN_BROADCAST; /* ipv4_is_zeronet, ipv4_is_lbcast */
	if ((a >> 28) == 0xe)
		return RTN_MULTICAST;
	for (size_t i = 0; i < n; i++) {
		if (rt[i].uncertain && !(present & (1u << k++)))
			continue;
		if (a < rt[i].lo || a > rt[i].hi)
			continue;
		if (best < 0 || rt[i].plen > rt[best].plen)
			best = (int)i;
	}
	if (best < 0 || type_is_error(rt[best].type))
		return RTN_UNICAST;
	return rt[best].type;
}

static int cut_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return (a > b) - (a < b);
}

/* The addresses whose type is in types, with the uncertain routes of
 * present there. */
static int type_set(const struct r4 *rt, size_t n, unsigned present, const uint64_t *cuts,
		    size_t ncuts, const struct nfo_vset *types, struct nfo_vset *out)
{
	for (size_t k = 0; k + 1 < ncuts; k++) {
		uint32_t lo = (uint32_t)cuts[k], hi = (uint32_t)(cuts[k + 1] - 1);
		int r;

		if (cuts[k] == cuts[k + 1])
			continue;
		if (!nfo_vset_contains(types, type_value(type_at(rt, n, present, lo))))
			continue;
		r = nfo_vset_push(out, lo, hi);
		if (r < 0)
			return r;
	}
	nfo_vset_normalize(out);
	return 0;
}

/*
 * The IPv4 addresses for which `fib ... type` is in types: 1 with the set
 * in *out, 0 when it cannot be exact. Routes the lookup may skip (a dead
 * nexthop, or one whose link is down: fib_table_lookup skips those when
 * the device's ignore_routes_with_linkdown is set) are tried both ways;
 * if the answer depends on them it is UNKNOWN. So is a prefix held twice
 * with different types (which alias the lookup meets first depends on more
 * than the dump says).
 * Routes with a TOS never match: the lookup's flow has none.
 */
int plan_fib4_set(const struct nfo_plan_input *in, const struct nfo_vset *types,
		  struct nfo_vset *out)
{
	static const uint64_t fixed[] = { 0, 0x01000000u, 0xe0000000u, 0xf0000000u, 0xffffffffu,
					  0x100000000ull };
	struct r4 *rt = NULL;
	uint64_t *cuts = NULL;
	size_t n = 0, ncuts = 0;
	unsigned nu = 0;
	int r = 0;

	if (!in->have_routes || in->nroutes > FIB_MAX_ROUTES)
		return 0;
	rt = calloc(in->nroutes + 1, sizeof(*rt));
	cuts = calloc(2 * in->nroutes + ARRAY_SIZE(fixed), sizeof(*cuts));
	if (!rt || !cuts) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < in->nroutes; i++) {
		const struct nfo_route *x = &in->routes[i];
		uint32_t a, mask;

		if (x->family != AF_INET || x->tos || x->prefixlen > 32)
			continue;
		a = (uint32_t)x->dst[0] << 24 | (uint32_t)x->dst[1] << 16 | (uint32_t)x->dst[2] << 8 |
		    x->dst[3];
		mask = x->prefixlen ? ~0u << (32 - x->prefixlen) : 0;
		rt[n] = (struct r4){ a & mask, (a & mask) | ~mask, x->prefixlen, x->type,
				     (x->nh_flags & (RTNH_F_DEAD | RTNH_F_LINKDOWN)) != 0 };
		/* One address on two devices: two aliases of one type, either
		 * answers the same. Anything else held twice: UNKNOWN. */
		for (size_t k = 0; k < n && r == 0; k++)
			if (rt[k].lo == rt[n].lo && rt[k].plen == rt[n].plen)
				r = rt[k].type == rt[n].type && !rt[k].uncertain && !rt[n].uncertain ? 1 : -1;
		if (r < 0) {
			r = 0;
			goto out; /* UNKNOWN */
		}
		if (r > 0) {
			r = 0;
			continue;
		}
		nu += rt[n].uncertain;
		cuts[ncuts++] = rt[n].lo;
		cuts[ncuts++] = (uint64_t)rt[n].hi + 1;
		n++;
	}
	if (nu > FIB_MAX_UNCERTAIN)
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		cuts[ncuts++] = fixed[i];
	qsort(cuts, ncuts, sizeof(*cuts), cut_cmp);

	r = type_set(rt, n, (1u << nu) - 1, cuts, ncuts, types, out);
	for (unsigned present = 0; r == 0 && present + 1 < (1u << nu); present++) {
		struct nfo_vset alt = {};

		r = type_set(rt, n, present, cuts, ncuts, types, &alt);
		if (r == 0 && !nfo_vset_equal(&alt, out)) {
			nfo_vset_free(&alt);
			nfo_vset_free(out);
			goto out; /* r == 0: UNKNOWN */
		}
		nfo_vset_free(&alt);
	}
	if (r == 0)
		r = 1;
out:
	if (r <= 0)
		nfo_vset_free(out);
	free(rt);
	free(cuts);
	return r;
}

/*
 * IPv6. nft_fib6_eval_type() without iif, oif or mark asks
 * nf_ip6_route() -> ip6_route_output() for the address as destination
 * (the other address as source, the flow label, the transport protocol;
 * for a link-scope destination, the input device as oif, strict), and
 * answers: the route's error (blackhole: -EINVAL, prohibit: -EACCES,
 * throw: -EAGAIN, anything else unreachable, also when there is no route);
 * RTN_ANYCAST when ipv6_anycast_destination() (an RTF_ANYCAST route, or the
 * address equal to the prefix of a route shorter than /127 without
 * gateway); RTN_LOCAL for an RTF_LOCAL route; else by ipv6_addr_type():
 * multicast, unicast, or RTN_UNSPEC (::, v4-mapped).
 * With the default policy rules (fib6_plain) the lookup tries the local
 * table, then main: the local table decides every address it holds a route
 * for; for the others the main table's answer is one of the errors,
 * anycast, or the address's class (no route of type local or anycast
 * outside the local table). The predicate is exact where the possible
 * answers at an address are all in types or all outside.
 */
#define T(t) (1u << (t))
#define MAIN6_TYPES (T(RTN_UNREACHABLE) | T(RTN_BLACKHOLE) | T(RTN_PROHIBIT) | T(RTN_THROW) | \
		     T(RTN_ANYCAST))

struct r6 {
	nfo_u128 lo, hi;
	unsigned plen;
	unsigned type;
	int ifindex;
	int ubit; /* its bit in present if the lookup may skip it, else -1 */
	/* Added by the kernel: the local table's ff00::/8 (addrconf_add_mroute,
	 * RTF_UP alone); other routes may carry RTF_GATEWAY or RTF_NONEXTHOP
	 * (the ioctl sets it), which the dump does not show in full. */
	bool kernel;
};

static nfo_u128 u128_of(const uint8_t *a)
{
	return nfo_u128_from_be(a, 16);
}

static nfo_u128 top16(unsigned v)
{
	return (nfo_u128)v << 112;
}

/* ipv6_addr_type(): the class the answer falls back to. */
static unsigned class6(nfo_u128 a)
{
	if (a == 0)
		return RTN_UNSPEC; /* IPV6_ADDR_ANY */
	if ((a >> 32) == 0xffff)
		return RTN_UNSPEC; /* IPV6_ADDR_MAPPED, not unicast */
	if ((a >> 120) == 0xff)
		return RTN_MULTICAST;
	return RTN_UNICAST;
}

/* IPV6_ADDR_LINKLOCAL: fe80::/10 and link-scope multicast. The lookup then
 * takes the packet's device as oif, strictly (rt6_score_route). */
static bool linkscope6(nfo_u128 a)
{
	unsigned h = (unsigned)(a >> 112);

	return (h & 0xffc0) == 0xfe80 || ((h & 0xff00) == 0xff00 && (h & 0xf) == 2);
}

static uint32_t route6_mask(const struct r6 *r, nfo_u128 a)
{
	/* ipv6_anycast_destination(): the first address of a prefix shorter
	 * than /127 without RTF_GATEWAY or RTF_NONEXTHOP is anycast, before
	 * RTF_LOCAL is looked at */
	uint32_t any = (r->plen < 127 && a == r->lo) ? T(RTN_ANYCAST) : 0;

	switch (r->type) {
	case RTN_LOCAL:
		return T(RTN_LOCAL) | any;
	case RTN_ANYCAST:
		return T(RTN_ANYCAST);
	case RTN_UNICAST:
	case RTN_MULTICAST:
		if (any && r->kernel)
			return any;
		return T(class6(a)) | any;
	case RTN_BLACKHOLE:
	case RTN_PROHIBIT:
	case RTN_UNREACHABLE:
		return T(r->type);
	case RTN_THROW: /* -EAGAIN: on to the main table */
		return MAIN6_TYPES | T(class6(a));
	}
	return ~0u; /* nat, xresolve, broadcast...: not followed */
}

/* The answers possible at a with the uncertain routes of present there. */
static uint32_t mask6_at(const struct r6 *rt, size_t n, unsigned present, int ifindex, nfo_u128 a)
{
	bool strict_dev = linkscope6(a);
	int best = -1;
	uint32_t m = 0;

#define USABLE(i)                                                        \
	((rt[i].ubit < 0 || (present & (1u << rt[i].ubit))) && a >= rt[i].lo && \
	 a <= rt[i].hi && (!strict_dev || rt[i].ifindex == ifindex))
	for (size_t i = 0; i < n; i++)
		if (USABLE(i) && (best < 0 || rt[i].plen > rt[best].plen))
			best = (int)i;
	if (best < 0)
		return MAIN6_TYPES | T(class6(a));
	/* Routes of one prefix on several devices: fib6 picks by metric and
	 * device; any of them may answer. */
	for (size_t i = 0; i < n; i++)
		if (USABLE(i) && rt[i].plen == rt[best].plen)
			m |= route6_mask(&rt[i], a);
#undef USABLE
	return m;
}

static int cut_cmp6(const void *x, const void *y)
{
	nfo_u128 a = *(const nfo_u128 *)x, b = *(const nfo_u128 *)y;

	return (a > b) - (a < b);
}

/*
 * The IPv6 addresses for which `fib ... type` is in types on packets that
 * come in on ifindex: 1 with the set in *out, 0 when it cannot be exact.
 */
int plan_fib6_set(const struct nfo_plan_input *in, const struct nfo_vset *types, int ifindex,
		  struct nfo_vset *out)
{
	const nfo_u128 max = nfo_u128_max(128);
	struct r6 *rt = NULL;
	nfo_u128 *cuts = NULL;
	uint32_t tmask = 0;
	size_t n = 0, ncuts = 0;
	unsigned nu = 0;
	int r = 0;

	if (!in->have_routes || !in->fib6_plain || in->nroutes > FIB_MAX_ROUTES)
		return 0;
	for (unsigned t = 0; t < 32; t++)
		if (nfo_vset_contains(types, type_value(t)))
			tmask |= T(t);
	rt = calloc(in->nroutes + 1, sizeof(*rt));
	cuts = calloc(3 * in->nroutes + 64, sizeof(*cuts));
	if (!rt || !cuts) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < in->nroutes; i++) {
		const struct nfo_route *x = &in->routes[i];
		nfo_u128 a, mask;

		if (x->family != AF_INET6)
			continue;
		/* A source prefix (subtrees), a route without one device, or
		 * one with a TOS: more than the address decides. */
		if (x->src_len || x->ifindex <= 0 || x->tos || x->prefixlen > 128)
			goto out; /* UNKNOWN */
		a = u128_of(x->dst);
		mask = x->prefixlen ? max << (128 - x->prefixlen) : 0;
		rt[n] = (struct r6){ a & mask, (a & mask) | ~mask, x->prefixlen, x->type, x->ifindex,
				     -1, x->protocol == RTPROT_KERNEL };
		/* fib6 find_match() skips dead nexthops, and link-down ones
		 * where ignore_routes_with_linkdown is set */
		if (x->nh_flags & (RTNH_F_DEAD | RTNH_F_LINKDOWN))
			rt[n].ubit = (int)nu++;
		if (nu > FIB_MAX_UNCERTAIN)
			goto out;
		cuts[ncuts++] = rt[n].lo;
		if (rt[n].lo < max)
			cuts[ncuts++] = rt[n].lo + 1;
		if (rt[n].hi < max)
			cuts[ncuts++] = rt[n].hi + 1;
		n++;
	}
	/* Where the class and the link scope change. */
	cuts[ncuts++] = 0;
	cuts[ncuts++] = 1;
	cuts[ncuts++] = (nfo_u128)0xffff << 32;
	cuts[ncuts++] = (nfo_u128)0x10000 << 32;
	cuts[ncuts++] = top16(0xfe80);
	cuts[ncuts++] = top16(0xfec0);
	cuts[ncuts++] = top16(0xff00);
	for (unsigned f = 0; f < 16; f++) {
		cuts[ncuts++] = top16(0xff02 | f << 4);
		cuts[ncuts++] = top16(0xff03 | f << 4);
	}
	qsort(cuts, ncuts, sizeof(*cuts), cut_cmp6);

	for (size_t k = 0; k < ncuts; k++) {
		nfo_u128 lo = cuts[k], hi;
		uint32_t m = 0;

		if (k + 1 < ncuts && cuts[k + 1] == lo)
			continue;
		hi = k + 1 < ncuts ? cuts[k + 1] - 1 : max;
		for (unsigned present = 0; present < (1u << nu); present++)
			m |= mask6_at(rt, n, present, ifindex, lo);
		if ((m & tmask) == 0)
			continue;
		if ((m & tmask) != m) {
			nfo_vset_free(out);
			r = 0;
			goto out; /* some answer here is in types, another not */
		}
		r = nfo_vset_push(out, lo, hi);
		if (r < 0)
			goto out;
	}
	nfo_vset_normalize(out);
	r = 1;
out:
	if (r <= 0)
		nfo_vset_free(out);
	free(rt);
	free(cuts);
	return r;
}
