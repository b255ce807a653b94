// SPDX-License-Identifier: GPL-2.0-only
/*
 * `fib saddr type` / `fib daddr type` as a predicate on the address, for
 * IPv4 (docs/SEMANTICS.md, "fib"). nft_fib4_eval_type() stores
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
