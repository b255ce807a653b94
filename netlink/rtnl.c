// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <net/if.h>
#include <sys/socket.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <netlink/route/tc.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "rtnl.h"
#include "common/util.h"

#define NFO_RTNL_RCVBUF (4 * 1024 * 1024)

struct nfo_rtnl {
	struct nl_sock *sock;
	struct nl_cache_mngr *mngr;
	struct nl_cache *links;
	struct nl_cache *addrs;
	struct nl_cache *qdiscs;
	struct nl_cache *routes;
	struct nl_cache *rules;
	bool changed;
	bool removed;   /* a link went away, or notifications were lost */
};

/* An IPv6 route outside the local table that `fib ... type` could meet
 * as the answer's source: ip6_route_output() then finds RTF_LOCAL or
 * RTF_ANYCAST in the main table (nfo_rtnl_fib6_plain). */
static bool route6_typed(struct rtnl_route *rt)
{
	return rtnl_route_get_family(rt) == AF_INET6 &&
	       (rtnl_route_get_type(rt) == RTN_LOCAL || rtnl_route_get_type(rt) == RTN_ANYCAST);
}

static void change_cb(struct nl_cache *cache, struct nl_object *obj, int action, void *data)
{
	struct nfo_rtnl *r = data;

	/* only the local table matters (fib ... type), and IPv6 routes of
	 * every table (nfo_rtnl_rst6_plain; nfo_rtnl_fib6_plain looks at the
	 * local and anycast ones): other routes change often on
	 * routers and mean nothing to the fast path */
	if (cache == r->routes && rtnl_route_get_table((struct rtnl_route *)obj) != RT_TABLE_LOCAL &&
	    rtnl_route_get_family((struct rtnl_route *)obj) != AF_INET6)
		return;
	r->changed = true;
	if (cache == r->links && action == NL_ACT_DEL)
		r->removed = true;
}

static void teardown(struct nfo_rtnl *r)
{
	if (r->mngr)
		nl_cache_mngr_free(r->mngr); /* frees the caches it manages */
	if (r->sock)
		nl_socket_free(r->sock);
	r->mngr = NULL;
	r->sock = NULL;
	r->links = r->addrs = r->qdiscs = r->routes = r->rules = NULL;
}

static int setup(struct nfo_rtnl *r)
{
	int e;

	r->sock = nl_socket_alloc();
	if (!r->sock)
		return -ENOMEM;
	e = nl_cache_mngr_alloc(r->sock, NETLINK_ROUTE, NL_AUTO_PROVIDE, &r->mngr);
	if (e < 0)
		goto fail;
	(void)nl_socket_set_buffer_size(r->sock, NFO_RTNL_RCVBUF, 0);
	e = nl_cache_mngr_add(r->mngr, "route/link", change_cb, r, &r->links);
	if (e < 0)
		goto fail;
	e = nl_cache_mngr_add(r->mngr, "route/addr", change_cb, r, &r->addrs);
	if (e < 0)
		goto fail;
	e = nl_cache_mngr_add(r->mngr, "route/qdisc", change_cb, r, &r->qdiscs);
	if (e < 0)
		goto fail;
	e = nl_cache_mngr_add(r->mngr, "route/route", change_cb, r, &r->routes);
	if (e < 0)
		goto fail;
	e = nl_cache_mngr_add(r->mngr, "route/rule", change_cb, r, &r->rules);
	if (e < 0)
		goto fail;
	return 0;
fail:
	teardown(r);
	return -EIO;
}

int nfo_rtnl_new(struct nfo_rtnl **ret)
{
	struct nfo_rtnl *r = calloc(1, sizeof(*r));
	int e;

	if (!r)
		return -ENOMEM;
	e = setup(r);
	if (e < 0) {
		free(r);
		return e;
	}
	*ret = r;
	return 0;
}

void nfo_rtnl_free(struct nfo_rtnl **rp)
{
	if (!*rp)
		return;
	teardown(*rp);
	free(*rp);
	*rp = NULL;
}

int nfo_rtnl_fd(const struct nfo_rtnl *r)
{
	return nl_cache_mngr_get_fd(r->mngr);
}

int nfo_rtnl_process(struct nfo_rtnl *r, bool *ret_changed, bool *ret_removed)
{
	int e = nl_cache_mngr_data_ready(r->mngr);

	if (e < 0) {
		/* Most likely ENOBUFS: notifications were lost. Start over
		 * from fresh dumps rather than trust the caches. */
		teardown(r);
		e = setup(r);
		if (e < 0)
			return e;
		r->changed = true;
		r->removed = true;
	}
	*ret_changed = r->changed;
	*ret_removed = r->removed;
	r->changed = false;
	r->removed = false;
	return 0;
}

struct link_acc {
	struct nfo_link *v;
	size_t n;
	size_t cap;
	int error;
};

static void link_cb(struct nl_object *obj, void *data)
{
	struct link_acc *a = data;
	struct rtnl_link *l = (struct rtnl_link *)obj;
	struct nl_addr *hw = rtnl_link_get_addr(l);
	struct nl_addr *brd = rtnl_link_get_broadcast(l);
	const char *kind = rtnl_link_get_type(l);
	struct nfo_link *x;
	int32_t nsid;

	if (a->error)
		return;
	/* The kernel also announces links per address family (an
	 * RTM_NEWLINK with ifi_family AF_INET6 when IPv6 comes up); libnl keys
	 * its cache by (ifindex, family) and RTM_DELLINK removes only the
	 * AF_UNSPEC object. The AF_UNSPEC one is the link. */
	if (rtnl_link_get_family(l) != AF_UNSPEC)
		return;
	if (nfo_grow(&a->v, &a->cap, a->n + 1, sizeof(*a->v)) < 0) {
		a->error = -ENOMEM;
		return;
	}
	x = &a->v[a->n++];
	memset(x, 0, sizeof(*x));
	x->ifindex = rtnl_link_get_ifindex(l);
	snprintf(x->name, sizeof(x->name), "%s", rtnl_link_get_name(l) ? rtnl_link_get_name(l) : "");
	if (hw && nl_addr_get_len(hw) == 6) {
		memcpy(x->mac, nl_addr_get_binary_addr(hw), 6);
		x->has_mac = true;
	}
	if (brd && nl_addr_get_len(brd) == 6)
		memcpy(x->bcast, nl_addr_get_binary_addr(brd), 6);
	x->arptype = rtnl_link_get_arptype(l);
	x->up = rtnl_link_get_flags(l) & IFF_UP;
	x->master = rtnl_link_get_master(l);
	/* IFLA_LINK of a device whose lower lives in another namespace
	 * (IFLA_LINK_NETNSID set) is an ifindex there, not here. */
	if (rtnl_link_get_link_netnsid(l, &nsid) != 0)
		x->lower = rtnl_link_get_link(l);
	if (x->lower == x->ifindex)
		x->lower = 0;
	snprintf(x->kind, sizeof(x->kind), "%s", kind ? kind : "");
}

static void qdisc_cb(struct nl_object *obj, void *data)
{
	struct link_acc *a = data;
	struct rtnl_tc *tc = (struct rtnl_tc *)obj;
	const char *kind = rtnl_tc_get_kind(tc);

	if (rtnl_tc_get_parent(tc) != TC_H_INGRESS && !(kind && (!strcmp(kind, "ingress") ||
								  !strcmp(kind, "clsact"))))
		return;
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].ifindex == rtnl_tc_get_ifindex(tc))
			a->v[i].tc_ingress = true;
}

static int cmp_link(const void *x, const void *y)
{
	const struct nfo_link *a = x, *b = y;

	return (a->ifindex > b->ifindex) - (a->ifindex < b->ifindex);
}

static int cmp_addr(const void *x, const void *y)
{
	const struct nfo_addr *a = x, *b = y;

	if (a->ifindex != b->ifindex)
		return (a->ifindex > b->ifindex) - (a->ifindex < b->ifindex);
	return memcmp(a, b, sizeof(*a));
}

int nfo_rtnl_links(struct nfo_rtnl *r, struct nfo_link **ret, size_t *ret_n)
{
	struct link_acc a = {};

	nl_cache_foreach(r->links, link_cb, &a);
	if (!a.error)
		nl_cache_foreach(r->qdiscs, qdisc_cb, &a);
	if (a.error) {
		free(a.v);
		return a.error;
	}
	/* veth peers name each other in IFLA_LINK: not an upper device. */
	for (size_t i = 0; i < a.n; i++) {
		if (!a.v[i].lower || !strcmp(a.v[i].kind, "veth"))
			continue;
		for (size_t k = 0; k < a.n; k++)
			if (a.v[k].ifindex == a.v[i].lower)
				a.v[k].has_uppers = true;
	}
	if (a.n)
		qsort(a.v, a.n, sizeof(*a.v), cmp_link);
	*ret = a.v;
	*ret_n = a.n;
	return 0;
}

struct addr_acc {
	struct nfo_addr *v;
	size_t n;
	size_t cap;
	int error;
};

static void addr_cb(struct nl_object *obj, void *data)
{
	struct addr_acc *a = data;
	struct rtnl_addr *ad = (struct rtnl_addr *)obj;
	struct nl_addr *local = rtnl_addr_get_local(ad);
	struct nfo_addr *x;
	unsigned len;

	if (a->error || !local)
		return;
	len = nl_addr_get_len(local);
	if (len != 4 && len != 16)
		return;
	if (nfo_grow(&a->v, &a->cap, a->n + 1, sizeof(*a->v)) < 0) {
		a->error = -ENOMEM;
		return;
	}
	x = &a->v[a->n++];
	memset(x, 0, sizeof(*x));
	x->family = rtnl_addr_get_family(ad);
	x->ifindex = rtnl_addr_get_ifindex(ad);
	memcpy(x->addr, nl_addr_get_binary_addr(local), len);
	x->prefixlen = rtnl_addr_get_prefixlen(ad);
	x->flags = rtnl_addr_get_flags(ad);
	x->scope = rtnl_addr_get_scope(ad);
}

int nfo_rtnl_addrs(struct nfo_rtnl *r, struct nfo_addr **ret, size_t *ret_n)
{
	struct addr_acc a = {};

	nl_cache_foreach(r->addrs, addr_cb, &a);
	if (a.error) {
		free(a.v);
		return a.error;
	}
	if (a.n)
		qsort(a.v, a.n, sizeof(*a.v), cmp_addr);
	*ret = a.v;
	*ret_n = a.n;
	return 0;
}

struct route_acc {
	struct nfo_route *v;
	size_t n;
	size_t cap;
	int error;
};

static void route_cb(struct nl_object *obj, void *data)
{
	struct route_acc *a = data;
	struct rtnl_route *rt = (struct rtnl_route *)obj;
	struct nl_addr *dst = rtnl_route_get_dst(rt);
	struct nfo_route *x;
	uint32_t hop = 0;
	unsigned len;

	if (a->error || rtnl_route_get_table(rt) != RT_TABLE_LOCAL || !dst)
		return;
	len = nl_addr_get_len(dst);
	if (len > 16)
		return;
	if (nfo_grow(&a->v, &a->cap, a->n + 1, sizeof(*a->v)) < 0) {
		a->error = -ENOMEM;
		return;
	}
	x = &a->v[a->n++];
	memset(x, 0, sizeof(*x));
	x->family = rtnl_route_get_family(rt);
	memcpy(x->dst, nl_addr_get_binary_addr(dst), len);
	x->prefixlen = nl_addr_get_prefixlen(dst);
	x->type = rtnl_route_get_type(rt);
	x->tos = rtnl_route_get_tos(rt);
	x->priority = rtnl_route_get_priority(rt);
	if (rtnl_route_get_metric(rt, RTAX_HOPLIMIT, &hop) == 0)
		x->hoplimit = hop;
	for (int i = 0; i < rtnl_route_get_nnexthops(rt); i++)
		x->nh_flags |= rtnl_route_nh_get_flags(rtnl_route_nexthop_n(rt, i));
	if (rtnl_route_get_nnexthops(rt) == 1)
		x->ifindex = rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(rt, 0));
	if (rtnl_route_get_src(rt))
		x->src_len = nl_addr_get_prefixlen(rtnl_route_get_src(rt));
	x->protocol = rtnl_route_get_protocol(rt);
}

static int cmp_route(const void *x, const void *y)
{
	return memcmp(x, y, sizeof(struct nfo_route));
}

int nfo_rtnl_local_routes(struct nfo_rtnl *r, struct nfo_route **ret, size_t *ret_n)
{
	struct route_acc a = {};

	nl_cache_foreach(r->routes, route_cb, &a);
	if (a.error) {
		free(a.v);
		return a.error;
	}
	if (a.n)
		qsort(a.v, a.n, sizeof(*a.v), cmp_route);
	*ret = a.v;
	*ret_n = a.n;
	return 0;
}

const struct nfo_link *nfo_link_by_name(const struct nfo_link *links, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(links[i].name, name))
			return &links[i];
	return NULL;
}

const struct nfo_link *nfo_link_by_index(const struct nfo_link *links, size_t n, int ifindex)
{
	for (size_t i = 0; i < n; i++)
		if (links[i].ifindex == ifindex)
			return &links[i];
	return NULL;
}

struct rules_acc {
	bool plain;
};

static void rule_cb(struct nl_object *obj, void *data)
{
	struct rules_acc *a = data;
	struct rtnl_rule *rule = (struct rtnl_rule *)obj;

	if (rtnl_rule_get_family(rule) != AF_INET)
		return;
	if (rtnl_rule_get_iif(rule) || rtnl_rule_get_oif(rule))
		a->plain = false;
}

int nfo_rtnl_rules4_plain(struct nfo_rtnl *r)
{
	struct rules_acc a = { .plain = true };

	if (!r->rules)
		return -ENOENT;
	nl_cache_foreach(r->rules, rule_cb, &a);
	return a.plain;
}

struct fib6_acc {
	bool plain;
	bool seen_local;
	bool seen_main;
};

/* fib6_rule_lookup() with only these two rules (pref 0 local, 32766 main)
 * looks up local, then main, whether or not fib6_has_custom_rules is set
 * (fib6_rule_action: a rule with no selector always matches). */
static void rule6_cb(struct nl_object *obj, void *data)
{
	struct fib6_acc *a = data;
	struct rtnl_rule *rule = (struct rtnl_rule *)obj;
	uint8_t u8;
	uint16_t lo, hi;
	uint32_t prio, table;
	bool bare;

	if (rtnl_rule_get_family(rule) != AF_INET6)
		return;
	prio = rtnl_rule_get_prio(rule);
	table = rtnl_rule_get_table(rule);
	bare = rtnl_rule_get_action(rule) == FR_ACT_TO_TBL && !rtnl_rule_get_iif(rule) &&
	       !rtnl_rule_get_oif(rule) && !rtnl_rule_get_mark(rule) && !rtnl_rule_get_dsfield(rule) &&
	       (!rtnl_rule_get_src(rule) || !nl_addr_get_prefixlen(rtnl_rule_get_src(rule))) &&
	       (!rtnl_rule_get_dst(rule) || !nl_addr_get_prefixlen(rtnl_rule_get_dst(rule))) &&
	       rtnl_rule_get_l3mdev(rule) <= 0 && rtnl_rule_get_ipproto(rule, &u8) != 0 &&
	       rtnl_rule_get_sport(rule, &lo, &hi) != 0 && rtnl_rule_get_dport(rule, &lo, &hi) != 0;
	if (bare && prio == 0 && table == RT_TABLE_LOCAL && !a->seen_local)
		a->seen_local = true;
	else if (bare && prio == 32766 && table == RT_TABLE_MAIN && !a->seen_main)
		a->seen_main = true;
	else
		a->plain = false;
}

static void link6_cb(struct nl_object *obj, void *data)
{
	const char *kind = rtnl_link_get_type((struct rtnl_link *)obj);

	if (kind && !strcmp(kind, "vrf"))
		((struct fib6_acc *)data)->plain = false;
}

static void route6_cb(struct nl_object *obj, void *data)
{
	struct rtnl_route *rt = (struct rtnl_route *)obj;

	if (rtnl_route_get_table(rt) != RT_TABLE_LOCAL && route6_typed(rt))
		((struct fib6_acc *)data)->plain = false;
}

int nfo_rtnl_fib6_plain(struct nfo_rtnl *r)
{
	struct fib6_acc a = { .plain = true };

	if (!r->rules || !r->links || !r->routes)
		return -ENOENT;
	nl_cache_foreach(r->rules, rule6_cb, &a);
	nl_cache_foreach(r->links, link6_cb, &a);
	nl_cache_foreach(r->routes, route6_cb, &a);
	return a.plain && a.seen_local && a.seen_main;
}

struct rst6_acc {
	struct {
		uint32_t table, prio;
		uint8_t dst[16];
		unsigned len;
	} *v;
	size_t n, cap;
	bool plain;
};

static void rule6_rst_cb(struct nl_object *obj, void *data)
{
	struct rst6_acc *a = data;
	struct rtnl_rule *rule = (struct rtnl_rule *)obj;

	if (rtnl_rule_get_family(rule) == AF_INET6 &&
	    (rtnl_rule_get_iif(rule) || rtnl_rule_get_oif(rule)))
		a->plain = false;
}

static void route6_check(struct rst6_acc *a, struct rtnl_route *rt)
{
	struct nl_addr *dst = rtnl_route_get_dst(rt);
	unsigned type = rtnl_route_get_type(rt), len;
	const uint8_t *b;
	uint32_t hop = 0;

	if (!a->plain || rtnl_route_get_family(rt) != AF_INET6 || !dst)
		return;
	/* Local, anycast and multicast routes never lead a unicast RST out. */
	if (type == RTN_LOCAL || type == RTN_ANYCAST || type == RTN_MULTICAST)
		return;
	len = nl_addr_get_prefixlen(dst);
	b = nl_addr_get_binary_addr(dst);
	if (nl_addr_get_len(dst) != 16 || len > 128)
		return;
	/* Link-local prefixes (fe80::/64 on every interface) match no address
	 * bpf_fib_lookup answers for (rt6_need_strict: NOT_FWDED). */
	if (len >= 10 && b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return;
	if (rtnl_route_get_nnexthops(rt) > 1 ||
	    (rtnl_route_get_metric(rt, RTAX_HOPLIMIT, &hop) == 0 && hop)) {
		a->plain = false;
		return;
	}
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].table == rtnl_route_get_table(rt) &&
		    a->v[i].prio == rtnl_route_get_priority(rt) && a->v[i].len == len &&
		    !memcmp(a->v[i].dst, b, 16)) {
			a->plain = false;
			return;
		}
	if (nfo_grow(&a->v, &a->cap, a->n + 1, sizeof(*a->v)) < 0) {
		a->plain = false;
		return;
	}
	a->v[a->n].table = rtnl_route_get_table(rt);
	a->v[a->n].prio = rtnl_route_get_priority(rt);
	a->v[a->n].len = len;
	memcpy(a->v[a->n].dst, b, 16);
	a->n++;
}

static int route6_msg(struct nl_msg *msg, void *data)
{
	struct rst6_acc *a = data;
	struct rtnl_route *rt = NULL;

	if (rtnl_route_parse(nlmsg_hdr(msg), &rt) < 0) {
		a->plain = false;
		return NL_STOP;
	}
	route6_check(a, rt);
	rtnl_route_put(rt);
	return NL_OK;
}

/*
 * The IPv6 routes are dumped here rather than read from the route cache:
 * libnl keys a cached route by family, table, tos, metric and prefix, so
 * two routes of one prefix and metric out of two devices (the case looked
 * for) are one object there.
 */
int nfo_rtnl_rst6_plain(struct nfo_rtnl *r)
{
	struct rst6_acc a = { .plain = true };
	struct rtmsg rtm = { .rtm_family = AF_INET6 };
	struct nl_sock *sk;
	int e;

	if (!r->rules)
		return -ENOENT;
	nl_cache_foreach(r->rules, rule6_rst_cb, &a);
	if (!a.plain)
		return 0;
	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	e = nl_connect(sk, NETLINK_ROUTE);
	if (e == 0)
		e = nl_send_simple(sk, RTM_GETROUTE, NLM_F_DUMP, &rtm, sizeof(rtm));
	if (e >= 0)
		e = nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, route6_msg, &a);
	if (e >= 0)
		e = nl_recvmsgs_default(sk);
	nl_socket_free(sk);
	free(a.v);
	if (e < 0)
		return -EIO;
	return a.plain;
}
