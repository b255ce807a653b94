// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel's ICMP error rate limits, read from the sysctls and turned
 * into the token buckets the fast path drops excess rejected packets with
 * (bpf/classify.h nfo_reject_drop, docs/SEMANTICS.md section 4.1).
 *
 * What the kernel does for an ICMP destination unreachable (net/ipv4/icmp.c
 * __icmp_send, net/ipv6/icmp.c icmp6_send, Linux 6.12 and later), when the
 * type is in the ratemask:
 *  - icmp_global_allow(net): allowed while the namespace's credit is above
 *    0; else the credit is refilled by icmp_msgs_per_sec per second of the
 *    time since the last refill (at least 20 ms, at most 1 s), capped at
 *    icmp_msgs_burst;
 *  - inet_peer_xrlim_allow(peer, timeout), the peer being the destination
 *    of the error: tokens are jiffies since the last check, capped at
 *    6 * timeout (XRLIM_BURST_FACTOR), an error costs timeout; a new peer is
 *    full. timeout is icmp_ratelimit (IPv4; 0: no per-peer limit) or
 *    icmp/ratelimit (IPv6, shifted right by up to 4 for routes shorter than
 *    /128 in kernels before the 6.18.y fix that removed the shift);
 *  - icmp_global_consume(net), only when the peer allowed: 0, 1 or 2
 *    credits at random (1 on average).
 * The fast path's buckets have NFO_REJECT_SLACK times the kernel's refill
 * rate and depth (IPv6: the shortest timeout any route gives).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reject.h"

#define NS_PER_SEC 1000000000ull
#define NS_PER_MS 1000000ull
#define XRLIM_BURST_FACTOR 6
#define ICMP_DEST_UNREACH 3
#define ICMPV6_DEST_UNREACH 1

static int read_line(const char *root, const char *name, char *buf, size_t len)
{
	char path[512];
	FILE *f;
	int r = 0;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		r = ferror(f) ? -EIO : -ENODATA;
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return r;
}

int nfo_sysctl_int(const char *root, const char *name, int64_t *ret)
{
	char buf[64], *end;
	long long v;
	int r = read_line(root, name, buf, sizeof(buf));

	if (r < 0)
		return r;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno || end == buf || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int nfo_ratemask_list_has(const char *list, unsigned bit)
{
	const char *s = list;

	while (*s) {
		unsigned long lo, hi;
		char *end;

		lo = strtoul(s, &end, 10);
		if (end == s)
			return -EINVAL;
		hi = lo;
		s = end;
		if (*s == '-') {
			hi = strtoul(s + 1, &end, 10);
			if (end == s + 1 || hi < lo)
				return -EINVAL;
			s = end;
		}
		if (bit >= lo && bit <= hi)
			return 1;
		if (*s == ',')
			s++;
		else if (*s)
			return -EINVAL;
	}
	return 0;
}

int64_t nfo_hop_limit6_read(const char *root, const char *const *names, size_t n)
{
	int64_t hl = 0;

	for (size_t i = 0; i < n; i++) {
		char name[64 + IF_NAMESIZE];
		int64_t v;

		snprintf(name, sizeof(name), "net/ipv6/conf/%s/hop_limit", names[i]);
		if (nfo_sysctl_int(root, name, &v) < 0 || v < 1 || v > 255 || (hl && v != hl))
			return 0;
		hl = v;
	}
	return hl;
}

int nfo_icmp_limits_read(const char *root, struct nfo_icmp_limits *ret)
{
	struct nfo_icmp_limits lim = {};
	char buf[1024];
	int r;

	if ((r = nfo_sysctl_int(root, "net/ipv4/icmp_msgs_per_sec", &lim.msgs_per_sec)) < 0 ||
	    (r = nfo_sysctl_int(root, "net/ipv4/icmp_msgs_burst", &lim.msgs_burst)) < 0 ||
	    (r = nfo_sysctl_int(root, "net/ipv4/icmp_ratelimit", &lim.ratelimit4_ms)) < 0 ||
	    (r = nfo_sysctl_int(root, "net/ipv4/icmp_ratemask", &lim.ratemask4)) < 0)
		return r;
	if (nfo_sysctl_int(root, "net/ipv4/ip_default_ttl", &lim.default_ttl) < 0)
		lim.default_ttl = 0;
	if (nfo_sysctl_int(root, "net/ipv4/fwmark_reflect", &lim.fwmark_reflect) < 0)
		lim.fwmark_reflect = -1;
	if (nfo_sysctl_int(root, "net/ipv6/fwmark_reflect", &lim.fwmark_reflect6) < 0)
		lim.fwmark_reflect6 = -1;
	/* Without IPv6 there is nothing to answer IPv6 packets with. */
	r = nfo_sysctl_int(root, "net/ipv6/icmp/ratelimit", &lim.ratelimit6_ms);
	if (r == -ENOENT) {
		lim.ratelimit6_ms = 0;
		lim.limited6 = false;
	} else if (r < 0) {
		return r;
	} else {
		r = read_line(root, "net/ipv6/icmp/ratemask", buf, sizeof(buf));
		/* Kernels before 6.0 have no ratemask: errors are limited. */
		if (r == -ENOENT)
			r = 1;
		else if (r >= 0)
			r = nfo_ratemask_list_has(buf, ICMPV6_DEST_UNREACH);
		if (r < 0)
			return r;
		lim.limited6 = r;
	}
	*ret = lim;
	return 0;
}

void nfo_reject_cfg_from_limits(const struct nfo_icmp_limits *lim, struct nfo_reject_cfg *ret)
{
	struct nfo_reject_cfg c = { .flags = NFO_REJECT_ON };
	uint64_t rate = lim->msgs_per_sec > 0 ? (uint64_t)lim->msgs_per_sec : 0;
	uint64_t burst = lim->msgs_burst > 0 ? (uint64_t)lim->msgs_burst : 0;

	if (!(lim->ratemask4 & (1 << ICMP_DEST_UNREACH)))
		c.flags |= NFO_REJECT_UNLIMITED4;
	if (!lim->limited6)
		c.flags |= NFO_REJECT_UNLIMITED6;
	/* nf_send_reset: ttl ip4_dst_hoplimit() (ip_default_ttl unless the
	 * route has a hoplimit, which the fast path's lookup cannot see: the
	 * planner looks for one), mark IP4_REPLY_MARK() (0 unless
	 * fwmark_reflect, which would make the RST's route depend on it). */
	if (lim->default_ttl >= 1 && lim->default_ttl <= 255 && lim->fwmark_reflect == 0) {
		c.flags |= NFO_REJECT_RST4;
		c.rst_ttl = (uint8_t)lim->default_ttl;
	}
	/* nf_send_reset6: hop limit ip6_dst_hoplimit() (the output device's
	 * hop_limit unless the route has a hoplimit metric: the planner
	 * looks for one), mark IP6_REPLY_MARK(). */
	if (lim->hop_limit6 >= 1 && lim->hop_limit6 <= 255 && lim->fwmark_reflect6 == 0) {
		c.flags |= NFO_REJECT_RST6;
		c.rst_hl6 = (uint8_t)lim->hop_limit6;
	}
	/* A refill of icmp_msgs_per_sec per second; at 0 the kernel never
	 * refills (only the burst is ever sent), at least one a second here. */
	if (rate < 1)
		rate = 1;
	c.global_cost_ns = NS_PER_SEC / (rate * NFO_REJECT_SLACK);
	if (!c.global_cost_ns)
		c.global_cost_ns = 1;
	/* The credit never exceeds icmp_msgs_burst; one more for the race
	 * icmp_global_allow accepts (several CPUs see the last credit). */
	c.global_burst_ns = (burst + 1) * NFO_REJECT_SLACK * c.global_cost_ns;
	for (int v6 = 0; v6 < 2; v6++) {
		int64_t ms = v6 ? lim->ratelimit6_ms : lim->ratelimit4_ms;
		uint64_t tmo;

		if (ms <= 0)
			continue; /* no per-peer limit */
		tmo = (uint64_t)ms * NS_PER_MS;
		if (v6)
			tmo >>= 4;
		c.peer_cost_ns[v6] = tmo / NFO_REJECT_SLACK;
		if (!c.peer_cost_ns[v6])
			c.peer_cost_ns[v6] = 1;
		/* depth: 6 timeouts, plus one for the jiffy the kernel may
		 * count more than the time that passed */
		c.peer_burst_ns[v6] = (XRLIM_BURST_FACTOR + 1) * tmo;
	}
	*ret = c;
}
