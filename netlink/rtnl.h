/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Links, addresses, local-table routes and policy rules of the current
 * network namespace, kept up to date from rtnetlink notifications (libnl-route
 * cache manager). Does not print.
 */
#ifndef NFO_NETLINK_RTNL_H
#define NFO_NETLINK_RTNL_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nfo_link {
	int ifindex;
	char name[IF_NAMESIZE];
	uint8_t mac[6];
	uint8_t bcast[6];   /* its broadcast address (IFLA_BROADCAST) */
	bool has_mac;       /* a 6-byte hardware address */
	unsigned arptype;   /* ARPHRD_* */
	bool up;            /* IFF_UP */
	int master;         /* IFLA_MASTER, 0 if none */
	int lower;          /* IFLA_LINK in this namespace, 0 if none */
	char kind[16];      /* IFLA_INFO_KIND, "" if none */
	bool has_uppers;    /* another link here names this one as its lower */
	bool tc_ingress;    /* has an ingress or clsact qdisc (tc filters run
			     * before nftables and may redirect packets) */
};

struct nfo_addr {
	int family;         /* AF_INET or AF_INET6 */
	int ifindex;
	uint8_t addr[16];
	unsigned prefixlen;
	unsigned flags;     /* IFA_F_* */
	unsigned scope;     /* RT_SCOPE_* */
};

/* A route of the local table (RT_TABLE_LOCAL), which `fib ... type`
 * consults for IPv4 (inet_dev_addr_type). */
struct nfo_route {
	int family;         /* AF_INET or AF_INET6 */
	uint8_t dst[16];
	unsigned prefixlen;
	unsigned type;      /* RTN_* */
	unsigned tos;
	unsigned priority;
	unsigned nh_flags;  /* RTNH_F_* of its nexthops, or'ed */
	unsigned hoplimit;  /* RTAX_HOPLIMIT, 0: none (the TTL of a TCP reset) */
	int ifindex;        /* its one nexthop's device; 0: none or several */
	unsigned src_len;   /* prefix length of its source (IPv6 "from"), 0: none */
	unsigned protocol;  /* RTPROT_*: RTPROT_KERNEL for the ones the kernel adds */
};

struct nfo_rtnl;

int nfo_rtnl_new(struct nfo_rtnl **ret);
void nfo_rtnl_free(struct nfo_rtnl **r);
int nfo_rtnl_fd(const struct nfo_rtnl *r);
/* Reads pending notifications; sets *ret_changed when links, addresses or
 * local-table routes changed, *ret_removed when a link was deleted (it may be back under the
 * same ifindex, with nothing attached). After lost notifications it
 * rebuilds its caches (changed and removed). */
int nfo_rtnl_process(struct nfo_rtnl *r, bool *ret_changed, bool *ret_removed);

/* Snapshots, sorted (links by ifindex, addresses by ifindex then bytes) and
 * zero-filled (comparable with memcmp); the caller frees *ret. */
int nfo_rtnl_links(struct nfo_rtnl *r, struct nfo_link **ret, size_t *ret_n);
int nfo_rtnl_addrs(struct nfo_rtnl *r, struct nfo_addr **ret, size_t *ret_n);
/* 1 when no IPv4 policy routing rule selects on iif or oif (an input
 * lookup from the interface then finds the route an output lookup finds),
 * 0 when one does, -errno. */
int nfo_rtnl_rules4_plain(struct nfo_rtnl *r);
/* 1 when IPv6 routing is the kernel's default as far as `fib ... type`
 * can tell: the policy rules are the two the kernel installs (priority 0
 * lookup local, 32766 lookup main, nothing to select on), no VRF device, and
 * no table but local holds an IPv6 route of type local or anycast; 0 when
 * not, -errno. */
int nfo_rtnl_fib6_plain(struct nfo_rtnl *r);
/* 1 when an IPv6 input lookup from an interface finds the route of an
 * IPv6 packet the host sends (TCP resets: docs/SEMANTICS.md section 4.1)
 * and that route sets no hop limit: no IPv6 fib rule selects on iif or
 * oif, no unicast IPv6 route of any table (link-local prefixes aside) has
 * several nexthops or a hoplimit metric, no two share table, prefix and
 * metric (rt6_select prefers the lookup's oif among those); 0 when one
 * does, -errno. */
int nfo_rtnl_rst6_plain(struct nfo_rtnl *r);
/* The routes of the local table, sorted bytewise. */
int nfo_rtnl_local_routes(struct nfo_rtnl *r, struct nfo_route **ret, size_t *ret_n);

const struct nfo_link *nfo_link_by_name(const struct nfo_link *links, size_t n, const char *name);
const struct nfo_link *nfo_link_by_index(const struct nfo_link *links, size_t n, int ifindex);

#endif
