/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef NFO_REJECT_H
#define NFO_REJECT_H

#include <stdbool.h>
#include <stdint.h>

#include "bpf/nfo_abi.h"

/*
 * The sysctls that decide how many ICMP errors the kernel sends for the
 * packets nftables rejects (docs/SEMANTICS.md section 4.1), as read from
 * /proc/sys of the daemon's network namespace (all are per namespace).
 */
struct nfo_icmp_limits {
	int64_t msgs_per_sec;  /* net.ipv4.icmp_msgs_per_sec (IPv4 and IPv6) */
	int64_t msgs_burst;    /* net.ipv4.icmp_msgs_burst */
	int64_t ratelimit4_ms; /* net.ipv4.icmp_ratelimit, per destination */
	int64_t ratemask4;     /* net.ipv4.icmp_ratemask */
	int64_t ratelimit6_ms; /* net.ipv6.icmp.ratelimit */
	bool limited6;         /* net.ipv6.icmp.ratemask has type 1 (dest unreach) */
	/* For `reject with tcp reset` (nf_send_reset): the RST's TTL
	 * (ip4_dst_hoplimit without a route hoplimit) and whether its mark
	 * is the rejected packet's; 0 / -1 when they could not be read. */
	int64_t default_ttl;   /* net.ipv4.ip_default_ttl */
	int64_t fwmark_reflect; /* net.ipv4.fwmark_reflect */
	/* The same for IPv6 (nf_send_reset6): the hop limit of every
	 * interface the fast path runs on, when they all agree (ip6_dst_hoplimit
	 * without a route hoplimit: the output device's hop_limit), and
	 * net.ipv6.fwmark_reflect; 0 / -1 when unknown (the caller fills
	 * hop_limit6: nfo_hop_limit6_read). */
	int64_t hop_limit6;
	int64_t fwmark_reflect6;
};

/* How much more the fast path lets through than the kernel answers. */
#define NFO_REJECT_SLACK 4

/* Reads the limits under root ("/proc/sys" but for tests); 0 or -errno. */
int nfo_icmp_limits_read(const char *root, struct nfo_icmp_limits *ret);
/* The hop limit shared by the interfaces named (net.ipv6.conf.<name>.hop_limit),
 * 0 when they differ, none is given or one cannot be read. */
int64_t nfo_hop_limit6_read(const char *root, const char *const *names, size_t n);
/* One integer sysctl, root/name ("/proc/sys", "net/ipv4/..."); 0 or -errno. */
int nfo_sysctl_int(const char *root, const char *name, int64_t *ret);

/* Whether a ratemask list (proc_do_large_bitmap: "0-1,3-127") has bit;
 * -EINVAL if it does not parse. */
int nfo_ratemask_list_has(const char *list, unsigned bit);

/* The buckets for lim (struct nfo_reject_cfg), NFO_REJECT_ON set. */
void nfo_reject_cfg_from_limits(const struct nfo_icmp_limits *lim, struct nfo_reject_cfg *ret);

#endif
