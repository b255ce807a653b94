// SPDX-License-Identifier: GPL-2.0-only
/*
 * Translation of nftables rules into predicates (ruleset.c, translate.c), fed
 * with what the kernel really sends: tests/data/NAME.nlmsg is the netlink dump
 * of tests/data/rulesets/NAME.nft loaded by nft (tests/data/regenerate.sh).
 *
 * Values are the bytes nftables compares, read as big-endian numbers: tcp
 * dport 22 is TH2 == 22, ip saddr 10.0.0.0/8 is SADDR4 in
 * [0x0a000000, 0x0affffff], meta iif is the ifindex in host byte order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "netlink/nft.h"
#include "nft-offload/import.h"
#include "nft-offload/ruleset.h"
#include "nft-offload/vset.h"
#include "tests/unit/capture.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

static const char *const captures[] = {
	"addrs", "family", "fib", "icmp", "iface", "l4proto", "ports", "sets", "tcpflags",
	"tcpopt", "unsupported", "verdicts", "limits",
};

struct fixture {
	struct nfo_nft_dump *dump;
	struct nfo_ruleset *rs;
};

/* A fixture (in *state, for teardown) of the ruleset dump buf holds. */
static int parse_fixture(void **state, const void *buf, size_t len, const char *what)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int r;

	if (!f)
		return -1;
	*state = f;
	r = nfo_nft_dump_new(&f->dump);
	if (r == 0)
		r = nfo_nft_dump_parse(f->dump, buf, len);
	if (r == 0)
		r = nfo_ruleset_new(&f->rs, f->dump);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", what, strerror(-r));
		return -1;
	}
	return 0;
}

static int load(void **state, const char *name)
{
	char what[64];
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	*state = NULL;
	if (nfo_test_read_capture(name, &buf, &len) < 0)
		return -1;
	snprintf(what, sizeof(what), "%s.nlmsg", name);
	r = parse_fixture(state, buf, len, what);
	free(buf);
	return r;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f) {
		nfo_ruleset_free(&f->rs);
		nfo_nft_dump_free(&f->dump);
		free(f);
	}
	return 0;
}

#define CAPTURE(name) \
	static int setup_##name(void **state) { return load(state, #name); }
CAPTURE(addrs)
CAPTURE(family)
CAPTURE(fib)
CAPTURE(icmp)
CAPTURE(iface)
CAPTURE(l4proto)
CAPTURE(limits)
CAPTURE(ports)
CAPTURE(merged)
CAPTURE(sets)
CAPTURE(tcpflags)
CAPTURE(tcpopt)
CAPTURE(unsupported)
CAPTURE(verdicts)
CAPTURE(vmaps)
CAPTURE(concat)

/* Values. */

static struct nfo_ival iv(nfo_u128 lo, nfo_u128 hi)
{
	return (struct nfo_ival){ .lo = lo, .hi = hi };
}

static struct nfo_ival pt(nfo_u128 v)
{
	return iv(v, v);
}

static nfo_u128 v4(const char *s)
{
	uint8_t b[4];

	assert_int_equal(inet_pton(AF_INET, s, b), 1);
	return nfo_u128_from_be(b, sizeof(b));
}

static nfo_u128 v6(const char *s)
{
	uint8_t b[16];

	assert_int_equal(inet_pton(AF_INET6, s, b), 1);
	return nfo_u128_from_be(b, sizeof(b));
}

static struct nfo_ival pfx(nfo_u128 addr, unsigned width, unsigned len)
{
	nfo_u128 host = len == width ? 0 : nfo_u128_max(width - len);

	return iv(addr & ~host, addr | host);
}

static struct nfo_ival pfx4(const char *s, unsigned len)
{
	return pfx(v4(s), 32, len);
}

static struct nfo_ival pfx6(const char *s, unsigned len)
{
	return pfx(v6(s), 128, len);
}

/* Interface names are compared as IFNAMSIZ bytes, zero padded. */
static nfo_u128 ifname(const char *s)
{
	uint8_t b[16] = {};

	memcpy(b, s, strlen(s));
	return nfo_u128_from_be(b, sizeof(b));
}

/* "eth*": nft compares only the bytes before the star. */
static struct nfo_ival ifprefix(const char *s)
{
	return pfx(ifname(s), 128, (unsigned)strlen(s) * 8);
}

/* meta iif loads dev->ifindex as a host-order u32 (nft_meta_get_eval). */
static nfo_u128 ifindex(uint32_t i)
{
	uint8_t b[4];

	memcpy(b, &i, sizeof(b));
	return nfo_u128_from_be(b, sizeof(b));
}

static const char *u128_str(nfo_u128 v, char *buf, size_t len)
{
	unsigned long long hi = (unsigned long long)(v >> 64), lo = (unsigned long long)v;

	if (hi)
		snprintf(buf, len, "0x%llx%016llx", hi, lo);
	else
		snprintf(buf, len, "0x%llx", lo);
	return buf;
}

static void print_set(const char *what, const struct nfo_ival *ivs, size_t n)
{
	char a[40], b[40];

	print_error("%s (%zu intervals):", what, n);
	for (size_t i = 0; i < n && i < 16; i++)
		print_error(" [%s, %s]", u128_str(ivs[i].lo, a, sizeof(a)),
			    u128_str(ivs[i].hi, b, sizeof(b)));
	print_error("%s\n", n > 16 ? " ..." : "");
}

/* Model lookups. */

static const struct nfo_chain *chain(void **state, int family, const char *table,
				     const char *name, size_t nrules)
{
	const struct fixture *f = *state;
	const struct nfo_chain *c = nfo_ruleset_find_chain(f->rs, family, table, name);

	if (!c)
		fail_msg("chain %s %s %s is not in the model", nfo_family_name(family), table,
			 name);
	assert_int_equal(c->nrules, nrules);
	for (size_t i = 0; i < c->nrules; i++) {
		assert_int_equal(c->rules[i].position, i);
		assert_ptr_equal(c->rules[i].chain, c);
		assert_true(c->rules[i].handle > 0);
	}
	return c;
}

static const struct nfo_set *set(void **state, int family, const char *table, const char *name)
{
	const struct fixture *f = *state;
	const struct nfo_set *s = nfo_ruleset_find_set(f->rs, family, table, name);

	if (!s)
		fail_msg("set %s %s %s is not in the model", nfo_family_name(family), table, name);
	return s;
}

static void expect_base(const struct nfo_chain *c, int hook, int32_t prio, const char *type,
			bool policy_drop)
{
	assert_true(c->base);
	assert_int_equal(c->hook, hook);
	assert_int_equal(c->prio, prio);
	assert_string_equal(c->type, type);
	assert_int_equal(c->policy_drop, policy_drop);
}

static void expect_vset(const struct nfo_vset *got, const struct nfo_ival *want, size_t n,
			const char *what)
{
	bool same = got->n == n;

	for (size_t i = 0; same && i < n; i++)
		same = got->iv[i].lo == want[i].lo && got->iv[i].hi == want[i].hi;
	if (!same) {
		print_error("%s:\n", what);
		print_set("  want", want, n);
		print_set("  got ", got->iv, got->n);
		fail_msg("%s: value set differs", what);
	}
}

/*
 * Rule r: its verdict, effect flag, offload status, number of predicates, and
 * a reason that contains reason (NULL: no reason, the rule is fully offloaded).
 */
static void expect_rule(const struct nfo_rule *r, int verdict, bool effect, int offload,
			const char *reason, size_t npreds)
{
	if (r->verdict != verdict)
		fail_msg("rule %llu: verdict %d, want %d", (unsigned long long)r->handle,
			 r->verdict, verdict);
	assert_int_equal(r->effect, effect);
	if (r->offload != offload)
		fail_msg("rule %llu: offload %d, want %d (reason: %s)",
			 (unsigned long long)r->handle, r->offload, offload,
			 r->reason ? r->reason : "none");
	if (!reason) {
		assert_null(r->reason);
	} else if (!r->reason || !strstr(r->reason, reason)) {
		fail_msg("rule %llu: reason \"%s\" does not name \"%s\"",
			 (unsigned long long)r->handle, r->reason ? r->reason : "(none)", reason);
	}
	if (r->npreds != npreds)
		fail_msg("rule %llu: %zu predicates, want %zu", (unsigned long long)r->handle,
			 r->npreds, npreds);
}

static const struct nfo_pred *pred_at(const struct nfo_rule *r, size_t i, int dim, bool before)
{
	const struct nfo_pred *p;

	if (i >= r->npreds)
		fail_msg("rule %llu has no predicate %zu", (unsigned long long)r->handle, i);
	p = &r->preds[i];
	if (p->dim != dim)
		fail_msg("rule %llu predicate %zu: dimension %s, want %s (reason: %s)",
			 (unsigned long long)r->handle, i, nfo_dim_name(p->dim), nfo_dim_name(dim),
			 p->reason ? p->reason : "none");
	if (p->before_effect != before)
		fail_msg("rule %llu predicate %zu (%s): before_effect %d, want %d",
			 (unsigned long long)r->handle, i, nfo_dim_name(dim), p->before_effect,
			 before);
	return p;
}

static void expect_pred(const struct nfo_rule *r, size_t i, int dim, bool before,
			const struct nfo_ival *want, size_t n)
{
	const struct nfo_pred *p = pred_at(r, i, dim, before);
	char what[64];

	snprintf(what, sizeof(what), "rule %llu predicate %zu (%s)",
		 (unsigned long long)r->handle, i, nfo_dim_name(dim));
	expect_vset(&p->set, want, n, what);
}

#define IVS(...) (const struct nfo_ival[]){ __VA_ARGS__ }
#define NIVS(...) (sizeof(IVS(__VA_ARGS__)) / sizeof(struct nfo_ival))
#define EXPECT_VSET(got, what, ...) expect_vset(got, IVS(__VA_ARGS__), NIVS(__VA_ARGS__), what)
/* PRED(rule, index, dimension, before_effect, intervals...) */
#define PRED(r, i, dim, before, ...) \
	expect_pred(r, i, dim, before, IVS(__VA_ARGS__), NIVS(__VA_ARGS__))

/* For fields of 16 bits or less: checks every value against holds(). */
static void expect_pred_fn(const struct nfo_rule *r, size_t i, int dim, bool before,
			   bool (*holds)(unsigned v))
{
	const struct nfo_pred *p = pred_at(r, i, dim, before);
	unsigned max = (unsigned)nfo_u128_max(nfo_dim_width(dim));

	assert_true(nfo_dim_width(dim) <= 16);
	for (unsigned v = 0; v <= max; v++) {
		if (nfo_vset_contains(&p->set, v) != holds(v))
			fail_msg("rule %llu predicate %zu (%s): value 0x%x %s",
				 (unsigned long long)r->handle, i, nfo_dim_name(dim), v,
				 holds(v) ? "missing" : "included but does not match");
	}
}

static void expect_unknown(const struct nfo_rule *r, size_t i, bool before, const char *what)
{
	const struct nfo_pred *p = pred_at(r, i, NFO_PDIM_UNKNOWN, before);

	if (!p->reason || !strstr(p->reason, what))
		fail_msg("rule %llu predicate %zu: reason \"%s\" does not name \"%s\"",
			 (unsigned long long)r->handle, i, p->reason ? p->reason : "(none)", what);
}

static void expect_tcp_dport(const struct nfo_rule *r, uint16_t port)
{
	PRED(r, 0, NFO_DIM_L4PROTO, true, pt(IPPROTO_TCP));
	PRED(r, 1, NFO_DIM_TH2, true, pt(port));
}

static const nfo_u128 MAX16 = 0xffff;
static const nfo_u128 MAX32 = 0xffffffff;

/* Family matches. */

static void test_family_inet(void **state)
{
	const struct fixture *f = *state;
	const struct nfo_chain *c = chain(state, NFPROTO_INET, "fam", "in", 5);
	const struct nfo_rule *r = c->rules;

	/* a new namespace is at generation 1 (nf_tables_init_net); nft -f
	 * commits one transaction */
	assert_int_equal(f->rs->genid, 2);
	expect_base(c, NFO_HOOK_INPUT, 0, "filter", false);

	/* meta nfproto ipv4 drop: inet chains see IPv4 and IPv6 only */
	expect_rule(&r[0], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[0], 0, NFO_DIM_ETHTYPE, true, pt(0x0800));
	/* meta nfproto ipv6 accept */
	expect_rule(&r[1], NFO_VERDICT_ACCEPT, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[1], 0, NFO_DIM_ETHTYPE, true, pt(0x86dd));
	/* ip saddr 192.0.2.1 drop: nft adds meta nfproto ipv4 */
	expect_rule(&r[2], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 2);
	PRED(&r[2], 0, NFO_DIM_ETHTYPE, true, pt(0x0800));
	PRED(&r[2], 1, NFO_DIM_SADDR4, true, pt(v4("192.0.2.1")));
	/* ip6 saddr 2001:db8::1 drop */
	expect_rule(&r[3], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 2);
	PRED(&r[3], 0, NFO_DIM_ETHTYPE, true, pt(0x86dd));
	PRED(&r[3], 1, NFO_DIM_SADDR6, true, pt(v6("2001:db8::1")));
	/* meta nfproto != ipv4 drop: in inet that is IPv6 */
	expect_rule(&r[4], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[4], 0, NFO_DIM_ETHTYPE, true, pt(0x86dd));
}

static void test_family_ip(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_IPV4, "fam4", "in", 1);

	expect_base(c, NFO_HOOK_INPUT, 0, "filter", false);
	/* the ip family implies IPv4: no EtherType predicate */
	expect_rule(&c->rules[0], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&c->rules[0], 0, NFO_DIM_SADDR4, true, pt(v4("192.0.2.3")));
}

static void test_family_netdev(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_NETDEV, "famdev", "ing", 4);
	const struct nfo_rule *r = c->rules;

	expect_base(c, NFO_HOOK_INGRESS, 0, "filter", false);
	assert_int_equal(c->ndevs, 1);
	assert_string_equal(c->devs[0], "lo");
	/* meta protocol ip drop */
	expect_rule(&r[0], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[0], 0, NFO_DIM_ETHTYPE, true, pt(0x0800));
	/* meta protocol ip6 accept */
	expect_rule(&r[1], NFO_VERDICT_ACCEPT, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[1], 0, NFO_DIM_ETHTYPE, true, pt(0x86dd));
	/* meta protocol arp accept */
	expect_rule(&r[2], NFO_VERDICT_ACCEPT, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[2], 0, NFO_DIM_ETHTYPE, true, pt(0x0806));
	/* ip daddr 192.0.2.2 drop: nft adds meta protocol ip */
	expect_rule(&r[3], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 2);
	PRED(&r[3], 0, NFO_DIM_ETHTYPE, true, pt(0x0800));
	PRED(&r[3], 1, NFO_DIM_DADDR4, true, pt(v4("192.0.2.2")));
}

/* Transport protocol. */

static void test_l4proto(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_INET, "l4", "in", 8);
	const struct nfo_rule *r = c->rules;
	static const uint8_t single[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6 };

	/* meta l4proto tcp/udp/icmp/ipv6-icmp drop */
	for (size_t i = 0; i < NELEMS(single); i++) {
		expect_rule(&r[i], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
		PRED(&r[i], 0, NFO_DIM_L4PROTO, true, pt(single[i]));
	}
	/* ip protocol udp: for IPv4, meta l4proto is the header's protocol
	 * field (nft_set_pktinfo_ipv4), so both share one dimension */
	expect_rule(&r[4], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 2);
	PRED(&r[4], 0, NFO_DIM_ETHTYPE, true, pt(0x0800));
	PRED(&r[4], 1, NFO_DIM_L4PROTO, true, pt(IPPROTO_UDP));
	/* ip6 nexthdr ipv6-icmp: the fixed header field, not meta l4proto */
	expect_rule(&r[5], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 2);
	PRED(&r[5], 0, NFO_DIM_ETHTYPE, true, pt(0x86dd));
	PRED(&r[5], 1, NFO_DIM_NEXTHDR, true, pt(IPPROTO_ICMPV6));
	/* meta l4proto != tcp accept */
	expect_rule(&r[6], NFO_VERDICT_ACCEPT, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[6], 0, NFO_DIM_L4PROTO, true, iv(0, 5), iv(7, 255));
	/* meta l4proto { tcp, udp } drop */
	expect_rule(&r[7], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[7], 0, NFO_DIM_L4PROTO, true, pt(IPPROTO_TCP), pt(IPPROTO_UDP));
}

static void test_l4proto_ip6(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_IPV6, "l46", "in", 2);

	/* ip6 nexthdr tcp drop */
	expect_rule(&c->rules[0], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&c->rules[0], 0, NFO_DIM_NEXTHDR, true, pt(IPPROTO_TCP));
	/* meta l4proto udp drop */
	expect_rule(&c->rules[1], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&c->rules[1], 0, NFO_DIM_L4PROTO, true, pt(IPPROTO_UDP));
}

/* Ports. */

static void test_ports(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_INET, "ports", "in", 15);
	const struct nfo_rule *r = c->rules;

	for (size_t i = 0; i < c->nrules; i++) {
		size_t npreds = i == 6 || i == 11 ? 3 : i == 13 ? 1 : 2;

		expect_rule(&r[i], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, npreds);
	}
	/* tcp dport 22 */
	expect_tcp_dport(&r[0], 22);
	/* tcp dport != 22 */
	PRED(&r[1], 0, NFO_DIM_L4PROTO, true, pt(IPPROTO_TCP));
	PRED(&r[1], 1, NFO_DIM_TH2, true, iv(0, 21), iv(23, MAX16));
	/* tcp dport < 1024, > 1024, <= 1024, >= 1024 */
	PRED(&r[2], 1, NFO_DIM_TH2, true, iv(0, 1023));
	PRED(&r[3], 1, NFO_DIM_TH2, true, iv(1025, MAX16));
	PRED(&r[4], 1, NFO_DIM_TH2, true, iv(0, 1024));
	PRED(&r[5], 1, NFO_DIM_TH2, true, iv(1024, MAX16));
	/* tcp dport 1000-2000: nft emits a gte/lte cmp pair */
	PRED(&r[6], 0, NFO_DIM_L4PROTO, true, pt(IPPROTO_TCP));
	PRED(&r[6], 1, NFO_DIM_TH2, true, iv(1000, MAX16));
	PRED(&r[6], 2, NFO_DIM_TH2, true, iv(0, 2000));
	/* tcp dport != 1000-2000: a range expression with NFT_RANGE_NEQ */
	PRED(&r[7], 1, NFO_DIM_TH2, true, iv(0, 999), iv(2001, MAX16));
	/* tcp dport { 22, 80, 1000-1100 }: an anonymous interval set */
	PRED(&r[8], 1, NFO_DIM_TH2, true, pt(22), pt(80), iv(1000, 1100));
	/* tcp dport != { 1, 2 }: lookup with NFT_LOOKUP_F_INV */
	PRED(&r[9], 1, NFO_DIM_TH2, true, pt(0), iv(3, MAX16));
	/* udp sport 53, udp sport 1-1023, tcp sport 0 */
	PRED(&r[10], 0, NFO_DIM_L4PROTO, true, pt(IPPROTO_UDP));
	PRED(&r[10], 1, NFO_DIM_TH0, true, pt(53));
	PRED(&r[11], 0, NFO_DIM_L4PROTO, true, pt(IPPROTO_UDP));
	PRED(&r[11], 1, NFO_DIM_TH0, true, iv(1, MAX16));
	PRED(&r[11], 2, NFO_DIM_TH0, true, iv(0, 1023));
	PRED(&r[12], 0, NFO_DIM_L4PROTO, true, pt(IPPROTO_TCP));
	PRED(&r[12], 1, NFO_DIM_TH0, true, pt(0));
	/* th dport 53: no protocol dependency */
	PRED(&r[13], 0, NFO_DIM_TH2, true, pt(53));
	/* meta l4proto { tcp, udp } th dport 443 */
	PRED(&r[14], 0, NFO_DIM_L4PROTO, true, pt(IPPROTO_TCP), pt(IPPROTO_UDP));
	PRED(&r[14], 1, NFO_DIM_TH2, true, pt(443));
}

/* Named sets. */

static void test_sets_model(void **state)
{
	const struct nfo_set *s;

	s = set(state, NFPROTO_INET, "sets", "ports");
	assert_true(s->usable);
	assert_int_equal(s->key_len, 2);
	EXPECT_VSET(&s->elems, "set ports", pt(22), pt(80), pt(443));

	s = set(state, NFPROTO_INET, "sets", "nets");
	assert_true(s->usable);
	assert_true(s->flags & NFT_SET_INTERVAL);
	EXPECT_VSET(&s->elems, "set nets", pfx4("10.0.0.0", 8), pfx4("192.168.1.0", 24),
		    pt(v4("203.0.113.7")));

	/* intervals at both ends of the key space: the kernel sends no end
	 * element for the last one */
	s = set(state, NFPROTO_INET, "sets", "edges");
	assert_true(s->usable);
	EXPECT_VSET(&s->elems, "set edges", pfx4("0.0.0.0", 8), pfx4("240.0.0.0", 4));

	s = set(state, NFPROTO_INET, "sets", "portrange");
	assert_true(s->usable);
	EXPECT_VSET(&s->elems, "set portrange", iv(1, 1023), iv(65000, MAX16));

	s = set(state, NFPROTO_INET, "sets", "empty");
	assert_true(s->usable);
	assert_int_equal(s->elems.n, 0);
}

/* A lookup into a named set is a reference: its elements stay out of the
 * diagram (they can change without the rules). */
static void expect_setref(void **state, const struct nfo_rule *r, size_t i, const char *setname,
			  int dim, bool invert)
{
	const struct nfo_pred *p;

	assert_true(i < r->npreds);
	p = &r->preds[i];
	if (p->dim != NFO_PDIM_SETREF)
		fail_msg("rule %llu predicate %zu: dimension %s, want a set reference",
			 (unsigned long long)r->handle, i, nfo_dim_name(p->dim));
	assert_ptr_equal(p->ref.set, set(state, NFPROTO_INET, "sets", setname));
	assert_int_equal(p->ref.ndims, 1);
	assert_int_equal(p->ref.dims[0], dim);
	assert_int_equal(p->ref.invert, invert);
	assert_true(p->before_effect);
}

/* A concatenation of two fields looked up in an anonymous set. */
static void expect_concat_ref(const struct nfo_rule *r, size_t i, int dim0, int dim1)
{
	const struct nfo_pred *p;

	assert_true(i < r->npreds);
	p = &r->preds[i];
	if (p->dim != NFO_PDIM_SETREF)
		fail_msg("rule %llu predicate %zu: dimension %s, want a set reference",
			 (unsigned long long)r->handle, i, nfo_dim_name(p->dim));
	assert_false(p->ref.set->named);
	assert_true(p->ref.set->usable);
	assert_int_equal(p->ref.ndims, 2);
	assert_int_equal(p->ref.dims[0], dim0);
	assert_int_equal(p->ref.dims[1], dim1);
	assert_false(p->ref.invert);
	assert_true(p->before_effect);
}

static void test_sets_lookup(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_INET, "sets", "in", 8);
	const struct nfo_rule *r = c->rules;

	for (size_t i = 0; i < c->nrules; i++)
		expect_rule(&r[i], i == 1 || i == 3 ? NFO_VERDICT_ACCEPT : NFO_VERDICT_DROP, false,
			    NFO_OFFLOAD_FULL, NULL, 2);
	/* tcp dport @ports drop, tcp dport != @ports accept */
	PRED(&r[0], 0, NFO_DIM_L4PROTO, true, pt(IPPROTO_TCP));
	expect_setref(state, &r[0], 1, "ports", NFO_DIM_TH2, false);
	expect_setref(state, &r[1], 1, "ports", NFO_DIM_TH2, true);
	/* ip saddr @nets drop, ip saddr != @nets accept */
	PRED(&r[2], 0, NFO_DIM_ETHTYPE, true, pt(0x0800));
	expect_setref(state, &r[2], 1, "nets", NFO_DIM_SADDR4, false);
	expect_setref(state, &r[3], 1, "nets", NFO_DIM_SADDR4, true);
	/* ip6 saddr @nets6 drop */
	PRED(&r[4], 0, NFO_DIM_ETHTYPE, true, pt(0x86dd));
	expect_setref(state, &r[4], 1, "nets6", NFO_DIM_SADDR6, false);
	/* ip daddr @edges drop */
	expect_setref(state, &r[5], 1, "edges", NFO_DIM_DADDR4, false);
	/* udp sport @portrange drop */
	PRED(&r[6], 0, NFO_DIM_L4PROTO, true, pt(IPPROTO_UDP));
	expect_setref(state, &r[6], 1, "portrange", NFO_DIM_TH0, false);
	/* udp dport @empty drop: never true */
	PRED(&r[7], 0, NFO_DIM_L4PROTO, true, pt(IPPROTO_UDP));
	expect_setref(state, &r[7], 1, "empty", NFO_DIM_TH2, false);
}

/* Port pairs nft merges into one 4-byte load and compare. */
static void test_merged(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_INET, "merged", "in", 7);
	const struct nfo_rule *r = c->rules;

	/* udp sport 40 udp dport 9: one cmp eq on transport bytes 0-3 */
	expect_rule(&r[0], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 3);
	PRED(&r[0], 0, NFO_DIM_L4PROTO, true, pt(IPPROTO_UDP));
	PRED(&r[0], 1, NFO_DIM_TH0, true, pt(40));
	PRED(&r[0], 2, NFO_DIM_TH2, true, pt(9));
	/* tcp sport 1 tcp dport 2 */
	expect_rule(&r[1], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 3);
	PRED(&r[1], 0, NFO_DIM_L4PROTO, true, pt(IPPROTO_TCP));
	PRED(&r[1], 1, NFO_DIM_TH0, true, pt(1));
	PRED(&r[1], 2, NFO_DIM_TH2, true, pt(2));
	/* ip saddr 192.0.2.1 ip daddr 192.0.2.2 (not merged by nft 1.0.6) */
	expect_rule(&r[2], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 3);
	PRED(&r[2], 1, NFO_DIM_SADDR4, true, pt(v4("192.0.2.1")));
	PRED(&r[2], 2, NFO_DIM_DADDR4, true, pt(v4("192.0.2.2")));
	/* th sport 5 th dport 6: no protocol dependency */
	expect_rule(&r[3], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 2);
	PRED(&r[3], 0, NFO_DIM_TH0, true, pt(5));
	PRED(&r[3], 1, NFO_DIM_TH2, true, pt(6));
	/* udp sport 40 udp dport != 9: not merged (only == is) */
	expect_rule(&r[4], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 3);
	PRED(&r[4], 2, NFO_DIM_TH2, true, iv(0, 8), iv(10, MAX16));
	/* the IPv6 pair is 32 bytes: two loads */
	expect_rule(&r[5], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 3);
	PRED(&r[5], 1, NFO_DIM_SADDR6, true, pt(v6("2001:db8::1")));
	PRED(&r[5], 2, NFO_DIM_DADDR6, true, pt(v6("2001:db8::2")));
	/* ip daddr 10.0.0.0/8 after ip saddr: a 1-byte compare */
	expect_rule(&r[6], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 3);
	PRED(&r[6], 2, NFO_DIM_DADDR4, true, pfx4("10.0.0.0", 8));
}

/* Rules of the dumps built here (table inet hand, chain in), one
 * expression at a time, register 1 throughout. */
static struct nftnl_rule *hand_rule(uint32_t seq)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	assert_non_null(r);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, "hand");
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "in");
	nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, seq);
	return r;
}

static void add_meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
}

static void add_cmp(struct nftnl_rule *r, enum nft_cmp_ops op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	nftnl_rule_add_expr(r, e);
}

static void add_verdict(struct nftnl_rule *r, int verdict)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	nftnl_rule_add_expr(r, e);
}

/* r as a NEWRULE message at buf (its length); frees r. */
static size_t put_hand_rule(char *buf, uint32_t seq, struct nftnl_rule *r)
{
	struct nlmsghdr *nlh =
		nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, NFPROTO_INET, NLM_F_MULTI, seq);

	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	return NLMSG_ALIGN(nlh->nlmsg_len);
}

/*
 * `ip saddr A ip daddr B` as newer nft merges it: one 8-byte load at network
 * offset 12 and one compare. nft 1.0.6 does not emit it, so the dump is
 * built here with libnftnl: table inet hand, chain in (input), rules
 *   0: meta nfproto ipv4, load 8 @ nh+12, cmp eq 192.0.2.1 . 192.0.2.2, drop
 *   1: the same with cmp neq (not a conjunction of per-field tests)
 *   2: load 6 @ nh+12 (the address and half of the next): cmp eq, drop
 */
static size_t put_rule(char *buf, uint32_t seq, enum nft_cmp_ops op, uint32_t len)
{
	static const uint8_t pair[8] = { 192, 0, 2, 1, 192, 0, 2, 2 };
	uint8_t v4 = NFPROTO_IPV4;
	struct nftnl_rule *r = hand_rule(seq);
	struct nftnl_expr *e;

	add_meta(r, NFT_META_NFPROTO);
	add_cmp(r, NFT_CMP_EQ, &v4, 1);
	e = nftnl_expr_alloc("payload");
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, 12);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
	add_cmp(r, op, pair, len);
	add_verdict(r, NF_DROP);
	return put_hand_rule(buf, seq, r);
}

/* A built dump: table inet hand, chain in (filter input), then rules. */
static size_t put_hand_chain(char *buf)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;
	size_t off = 0;

	assert_non_null(t);
	assert_non_null(c);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, "hand");
	nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, 0);
	nlh = nftnl_nlmsg_build_hdr(buf + off, NFT_MSG_NEWTABLE, NFPROTO_INET, NLM_F_MULTI, 1);
	nftnl_table_nlmsg_build_payload(nlh, t);
	off += NLMSG_ALIGN(nlh->nlmsg_len);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, "hand");
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, "in");
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_LOCAL_IN);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nftnl_chain_set_u64(c, NFTNL_CHAIN_HANDLE, 1);
	nlh = nftnl_nlmsg_build_hdr(buf + off, NFT_MSG_NEWCHAIN, NFPROTO_INET, NLM_F_MULTI, 2);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	off += NLMSG_ALIGN(nlh->nlmsg_len);
	nftnl_table_free(t);
	nftnl_chain_free(c);
	return off;
}

static int hand_fixture(void **state, const char *buf, size_t len)
{
	return parse_fixture(state, buf, len, "built dump");
}

static int setup_merged_addrs(void **state)
{
	static char buf[16384];
	size_t off = put_hand_chain(buf);

	off += put_rule(buf + off, 3, NFT_CMP_EQ, 8);
	off += put_rule(buf + off, 4, NFT_CMP_NEQ, 8);
	off += put_rule(buf + off, 5, NFT_CMP_EQ, 6);
	return hand_fixture(state, buf, off);
}

static void test_merged_addrs(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_INET, "hand", "in", 3);
	const struct nfo_rule *r = c->rules;

	/* == on the pair: saddr == A and daddr == B */
	expect_rule(&r[0], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 3);
	PRED(&r[0], 1, NFO_DIM_SADDR4, true, pt(v4("192.0.2.1")));
	PRED(&r[0], 2, NFO_DIM_DADDR4, true, pt(v4("192.0.2.2")));
	/* != on the pair is "saddr != A or daddr != B": not a conjunction of
	 * per-field predicates, so not decided */
	assert_int_not_equal(r[1].offload, NFO_OFFLOAD_FULL);
	assert_non_null(r[1].reason);
	/* 6 bytes: saddr and half of daddr, the half a prefix: daddr in B/16 */
	expect_rule(&r[2], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 3);
	PRED(&r[2], 1, NFO_DIM_SADDR4, true, pt(v4("192.0.2.1")));
	PRED(&r[2], 2, NFO_DIM_DADDR4, true, pfx4("192.0.0.0", 16));
}

/*
 * ct status as nft emits it (`ct load status`, a host-order u32): rules
 *   0: ct status dnat accept                  (& IPS_DST_NAT != 0)
 *   1: ct status & (snat|dnat) == 0 drop
 *   2: ct status != dnat drop                 (no mask: every bit compared)
 *   3: ct status confirmed accept             (a bit the planner does not model)
 */
static size_t put_ct_status_rule(char *buf, uint32_t seq, uint32_t mask, enum nft_cmp_ops op,
				 uint32_t value, int verdict)
{
	static const uint32_t zero;
	struct nftnl_rule *r = hand_rule(seq);
	struct nftnl_expr *e;

	e = nftnl_expr_alloc("ct");
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATUS);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
	if (mask) {
		e = nftnl_expr_alloc("bitwise");
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, 4);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, 4);
		nftnl_rule_add_expr(r, e);
	}
	add_cmp(r, op, &value, 4);
	add_verdict(r, verdict);
	return put_hand_rule(buf, seq, r);
}

/* meta pkttype OP value drop (nft: an 8-bit type, a 1-byte compare) */
static size_t put_pkttype_rule(char *buf, uint32_t seq, enum nft_cmp_ops op, uint8_t value)
{
	struct nftnl_rule *r = hand_rule(seq);

	add_meta(r, NFT_META_PKTTYPE);
	add_cmp(r, op, &value, 1);
	add_verdict(r, NF_DROP);
	return put_hand_rule(buf, seq, r);
}

/*
 * reject type 0 (NFT_REJECT_ICMP_UNREACH) code 4 in an inet chain, after
 * meta nfproto ipv6 (nfproto 0: no such test): what nft 1.0.6 writes for
 * `tcp dport 22 ip6 saddr @s reject` in inet (icmpv6 port-unreachable);
 * for IPv4 packets the same code is frag-needed.
 */
static size_t put_reject_rule(char *buf, uint32_t seq, uint8_t nfproto)
{
	struct nftnl_rule *r = hand_rule(seq);
	struct nftnl_expr *e;

	if (nfproto) {
		add_meta(r, NFT_META_NFPROTO);
		add_cmp(r, NFT_CMP_EQ, &nfproto, 1);
	}
	e = nftnl_expr_alloc("reject");
	nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_ICMP_UNREACH);
	nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, 4);
	nftnl_rule_add_expr(r, e);
	return put_hand_rule(buf, seq, r);
}

static int setup_reject_code(void **state)
{
	static char buf[8192];
	size_t off = put_hand_chain(buf);

	off += put_reject_rule(buf + off, 3, NFPROTO_IPV6);
	off += put_reject_rule(buf + off, 4, NFPROTO_IPV4);
	off += put_reject_rule(buf + off, 5, 0);
	return hand_fixture(state, buf, off);
}

static void test_reject_code(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_INET, "hand", "in", 3);
	const struct nfo_rule *r = c->rules;

	/* IPv6 only: an ICMPv6 port unreachable, rate-limited by the kernel */
	expect_rule(&r[0], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[0], 0, NFO_DIM_ETHTYPE, true, pt(0x86dd));
	assert_int_equal(r[0].reject, NFO_REJECT_ICMP);
	/* IPv4, or either family: frag-needed for IPv4, never rate-limited */
	for (int i = 1; i < 3; i++) {
		expect_rule(&r[i], NFO_VERDICT_CONTINUE, true, NFO_OFFLOAD_NONE, "reject", i == 1);
		assert_int_equal(r[i].reject, NFO_REJECT_NONE);
	}
}

static int setup_ct_status(void **state)
{
	static char buf[16384];
	size_t off = put_hand_chain(buf);

	off += put_ct_status_rule(buf + off, 3, 0x20, NFT_CMP_NEQ, 0, NF_ACCEPT);
	off += put_ct_status_rule(buf + off, 4, 0x30, NFT_CMP_EQ, 0, NF_DROP);
	off += put_ct_status_rule(buf + off, 5, 0, NFT_CMP_NEQ, 0x20, NF_DROP);
	off += put_ct_status_rule(buf + off, 6, 0x08, NFT_CMP_NEQ, 0, NF_ACCEPT);
	off += put_pkttype_rule(buf + off, 7, NFT_CMP_NEQ, 0 /* PACKET_HOST */);
	off += put_pkttype_rule(buf + off, 8, NFT_CMP_GTE, 2 /* PACKET_MULTICAST */);
	return hand_fixture(state, buf, off);
}

static void test_ct_status(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_INET, "hand", "in", 6);
	const struct nfo_rule *r = c->rules;

	/* the combinations of the modelled bits (NFO_CTS_*) that hold */
	expect_rule(&r[0], NFO_VERDICT_ACCEPT, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[0], 0, NFO_PDIM_CTSTATUS, true, iv(NFO_CTS_DST_NAT, NFO_CTS_ALL));
	assert_int_equal(nfo_ct_status_bits(NFO_CTS_DST_NAT), 0x20);
	expect_rule(&r[1], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[1], 0, NFO_PDIM_CTSTATUS, true, iv(0, NFO_CTS_SRC_NAT - 1));
	assert_int_equal(nfo_ct_status_bits(NFO_CTS_SRC_NAT | NFO_CTS_DST_NAT), 0x30);
	/* every bit compared, or a bit the lookup cannot say: UNKNOWN */
	expect_rule(&r[2], NFO_VERDICT_DROP, false, NFO_OFFLOAD_PARTIAL, "ct status", 1);
	expect_unknown(&r[2], 0, true, "ct status");
	expect_rule(&r[3], NFO_VERDICT_ACCEPT, false, NFO_OFFLOAD_PARTIAL, "ct status", 1);
	expect_unknown(&r[3], 0, true, "ct status");
	/* meta pkttype != host, >= multicast: on pkt_type + 1 */
	expect_rule(&r[4], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[4], 0, NFO_DIM_L2HOST, true, iv(NFO_L2_BROADCAST, 255));
	expect_rule(&r[5], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[5], 0, NFO_DIM_L2HOST, true, iv(NFO_L2_MULTICAST, 255));
}

/* Addresses. */

static void test_addrs_ip(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_IPV4, "addrs", "in", 10);
	const struct nfo_rule *r = c->rules;

	for (size_t i = 0; i < c->nrules; i++)
		expect_rule(&r[i], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, i == 7 ? 2 : 1);
	/* ip saddr 10.0.0.0/8: a 1-byte payload load and cmp */
	PRED(&r[0], 0, NFO_DIM_SADDR4, true, iv(0x0a000000, 0x0affffff));
	/* ip saddr 172.16.0.0/12, 192.168.2.0/23: bitwise + cmp */
	PRED(&r[1], 0, NFO_DIM_SADDR4, true, pfx4("172.16.0.0", 12));
	PRED(&r[2], 0, NFO_DIM_SADDR4, true, pfx4("192.168.2.0", 23));
	/* ip saddr 198.51.100.7/32, ip daddr 203.0.113.9 */
	PRED(&r[3], 0, NFO_DIM_SADDR4, true, pt(v4("198.51.100.7")));
	PRED(&r[4], 0, NFO_DIM_DADDR4, true, pt(v4("203.0.113.9")));
	/* ip daddr != 192.168.0.0/16: a 2-byte cmp neq */
	PRED(&r[5], 0, NFO_DIM_DADDR4, true, iv(0, v4("192.167.255.255")),
	     iv(v4("192.169.0.0"), MAX32));
	/* ip saddr != 10.1.2.0/23: bitwise + cmp neq */
	PRED(&r[6], 0, NFO_DIM_SADDR4, true, iv(0, v4("10.1.1.255")), iv(v4("10.1.4.0"), MAX32));
	/* ip saddr 10.0.0.0-10.0.0.255: gte/lte pair */
	PRED(&r[7], 0, NFO_DIM_SADDR4, true, iv(v4("10.0.0.0"), MAX32));
	PRED(&r[7], 1, NFO_DIM_SADDR4, true, iv(0, v4("10.0.0.255")));
	/* ip daddr { 192.0.2.1, 198.51.100.0/24 } */
	PRED(&r[8], 0, NFO_DIM_DADDR4, true, pt(v4("192.0.2.1")), pfx4("198.51.100.0", 24));
	/* ip saddr 0.0.0.0/0: mask 0, every address */
	PRED(&r[9], 0, NFO_DIM_SADDR4, true, iv(0, MAX32));
}

static void test_addrs_inet(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_INET, "addrsi", "pre", 4);
	const struct nfo_rule *r = c->rules;

	for (size_t i = 0; i < c->nrules; i++)
		expect_rule(&r[i], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 2);
	PRED(&r[0], 0, NFO_DIM_ETHTYPE, true, pt(0x0800));
	PRED(&r[0], 1, NFO_DIM_SADDR4, true, pfx4("10.0.0.0", 8));
	PRED(&r[1], 0, NFO_DIM_ETHTYPE, true, pt(0x0800));
	PRED(&r[1], 1, NFO_DIM_DADDR4, true, pfx4("192.168.2.0", 23));
	/* ip6 daddr 2001:db8:0:1::/64: an 8-byte cmp */
	PRED(&r[2], 0, NFO_DIM_ETHTYPE, true, pt(0x86dd));
	PRED(&r[2], 1, NFO_DIM_DADDR6, true, pfx6("2001:db8:0:1::", 64));
	/* ip saddr != { 10.0.0.0/8, 172.16.0.0/12 } */
	PRED(&r[3], 0, NFO_DIM_ETHTYPE, true, pt(0x0800));
	PRED(&r[3], 1, NFO_DIM_SADDR4, true, iv(0, v4("9.255.255.255")),
	     iv(v4("11.0.0.0"), v4("172.15.255.255")), iv(v4("172.32.0.0"), MAX32));
}

static void test_addrs_ip6(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_IPV6, "addrs6", "in", 6);
	const struct nfo_rule *r = c->rules;

	for (size_t i = 0; i < c->nrules; i++)
		expect_rule(&r[i], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
	/* /32 and /48: short cmps; /47 and /10: bitwise + cmp */
	PRED(&r[0], 0, NFO_DIM_SADDR6, true, pfx6("2001:db8::", 32));
	PRED(&r[1], 0, NFO_DIM_SADDR6, true, pfx6("2001:db8:1::", 48));
	PRED(&r[2], 0, NFO_DIM_SADDR6, true, pfx6("2001:db8:2::", 47));
	PRED(&r[3], 0, NFO_DIM_DADDR6, true, pt(v6("::1")));
	PRED(&r[4], 0, NFO_DIM_SADDR6, true, pfx6("fe80::", 10));
	PRED(&r[5], 0, NFO_DIM_DADDR6, true, iv(0, v6("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff")),
	     iv(v6("2001:db9::"), nfo_u128_max(128)));
}

/* Interfaces. */

static void test_iface(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_INET, "iface", "pre", 8);
	const struct nfo_rule *r = c->rules;

	expect_base(c, NFO_HOOK_PREROUTING, 0, "filter", false);
	/* iif "lo" accept: lo is ifindex 1 in every namespace */
	expect_rule(&r[0], NFO_VERDICT_ACCEPT, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[0], 0, NFO_PDIM_IIF, true, pt(ifindex(1)));
	/* iif != "lo" drop */
	expect_rule(&r[1], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[1], 0, NFO_PDIM_IIF, true, iv(0, ifindex(1) - 1), iv(ifindex(1) + 1, MAX32));
	/* iifname "lo" accept */
	expect_rule(&r[2], NFO_VERDICT_ACCEPT, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[2], 0, NFO_PDIM_IIFNAME, true, pt(ifname("lo")));
	/* iifname { "lo", "dummy0" } accept */
	expect_rule(&r[5], NFO_VERDICT_ACCEPT, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[5], 0, NFO_PDIM_IIFNAME, true, pt(ifname("dummy0")), pt(ifname("lo")));
	/* iifname "lo" tcp dport 22 drop */
	expect_rule(&r[6], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 3);
	PRED(&r[6], 0, NFO_PDIM_IIFNAME, true, pt(ifname("lo")));
	PRED(&r[6], 1, NFO_DIM_L4PROTO, true, pt(IPPROTO_TCP));
	PRED(&r[6], 2, NFO_DIM_TH2, true, pt(22));
	/* iifname { "eth*", "lo" } drop: the wildcard is an interval element */
	expect_rule(&r[7], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[7], 0, NFO_PDIM_IIFNAME, true, ifprefix("eth"), pt(ifname("lo")));
}

/*
 * iifname "eth*" is a cmp of 3 bytes on the 16-byte register meta iifname
 * loaded; nft_cmp_eval compares only priv->len bytes, so it is the prefix.
 */
static void test_iifname_wildcard(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_INET, "iface", "pre", 8);
	const struct nfo_rule *r = c->rules;
	struct nfo_ival veth = ifprefix("veth");

	/* iifname "eth*" drop */
	expect_rule(&r[3], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[3], 0, NFO_PDIM_IIFNAME, true, ifprefix("eth"));
	/* iifname != "veth*" drop */
	expect_rule(&r[4], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[4], 0, NFO_PDIM_IIFNAME, true, iv(0, veth.lo - 1),
	     iv(veth.hi + 1, nfo_u128_max(128)));
}

/* fib ... type: RTN_* in host byte order, compared bytewise. */
static nfo_u128 rtn(uint32_t type)
{
	uint8_t b[4];

	memcpy(b, &type, 4);
	return nfo_u128_from_be(b, 4);
}

static void test_fib(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_INET, "fibt", "pre", 6);
	const struct nfo_rule *r = c->rules;

	/* fib saddr type != local drop */
	expect_rule(&r[0], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[0], 0, NFO_PDIM_FIB_SADDR, true, iv(0, rtn(2) - 1), iv(rtn(2) + 1, MAX32));
	assert_non_null(r[0].note);
	assert_non_null(strstr(r[0].note, "for IPv6 while the policy rules are the kernel's two"));
	/* fib daddr type local accept */
	expect_rule(&r[1], NFO_VERDICT_ACCEPT, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[1], 0, NFO_PDIM_FIB_DADDR, true, pt(rtn(2)));
	/* fib daddr type { local, broadcast, multicast } accept */
	expect_rule(&r[2], NFO_VERDICT_ACCEPT, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[2], 0, NFO_PDIM_FIB_DADDR, true, pt(rtn(2)), pt(rtn(3)), pt(rtn(5)));
	/* fib saddr . mark . iif oif missing drop: a route lookup */
	expect_rule(&r[3], NFO_VERDICT_DROP, false, NFO_OFFLOAD_PARTIAL, "fib", 1);
	expect_unknown(&r[3], 0, true, "fib oif");
	/* fib daddr . iif type != { ... } drop: the type through iif's table */
	expect_rule(&r[4], NFO_VERDICT_DROP, false, NFO_OFFLOAD_PARTIAL, "fib", 1);
	expect_unknown(&r[4], 0, true, "fib type with iif");
	/* fib daddr type local tcp dport 22 drop */
	expect_rule(&r[5], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 3);
	PRED(&r[5], 0, NFO_PDIM_FIB_DADDR, true, pt(rtn(2)));
	PRED(&r[5], 1, NFO_DIM_L4PROTO, true, pt(IPPROTO_TCP));
	PRED(&r[5], 2, NFO_DIM_TH2, true, pt(22));
}

/*
 * TCP option maxseg: the size load breaks the rule unless the option is
 * there with its size (MSSOPT VALID); `exists`/`missing` compare the first
 * byte of the u32 1 or 0 nft_exthdr_tcp_eval() stores. No implied
 * `meta l4proto tcp`: nft 1.0.6 adds none, and a UDP packet is `missing`.
 */
static void test_tcpopt(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_INET, "tcpopt", "pre", 7);
	const struct nfo_rule *r = c->rules;

	/* tcp option maxseg size 1-535 drop */
	expect_rule(&r[0], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 3);
	PRED(&r[0], 0, NFO_DIM_MSSOPT, true, pt(NFO_TCPOPT_VALID));
	PRED(&r[0], 1, NFO_DIM_TCPMSS, true, iv(1, 0xffff));
	PRED(&r[0], 2, NFO_DIM_TCPMSS, true, iv(0, 535));
	/* tcp option maxseg exists drop: short or valid */
	expect_rule(&r[1], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[1], 0, NFO_DIM_MSSOPT, true, iv(NFO_TCPOPT_SHORT, NFO_TCPOPT_VALID));
	/* tcp option maxseg missing drop */
	expect_rule(&r[2], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[2], 0, NFO_DIM_MSSOPT, true, pt(NFO_TCPOPT_NONE));
	/* tcp flags syn tcp option maxseg size < 536 drop */
	expect_rule(&r[3], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 4);
	PRED(&r[3], 0, NFO_DIM_L4PROTO, true, pt(IPPROTO_TCP));
	PRED(&r[3], 2, NFO_DIM_MSSOPT, true, pt(NFO_TCPOPT_VALID));
	PRED(&r[3], 3, NFO_DIM_TCPMSS, true, iv(0, 535));
	/* tcp option maxseg size != 1460 drop */
	expect_rule(&r[4], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 2);
	PRED(&r[4], 1, NFO_DIM_TCPMSS, true, iv(0, 1459), iv(1461, 0xffff));
	/* tcp option window exists drop, tcp option maxseg length 4 drop */
	expect_rule(&r[5], NFO_VERDICT_DROP, false, NFO_OFFLOAD_PARTIAL, "exthdr", 1);
	expect_rule(&r[6], NFO_VERDICT_DROP, false, NFO_OFFLOAD_PARTIAL, "tcp option maxseg", 1);
}

/* TCP flags. */

static bool has_syn(unsigned v)
{
	return v & 0x02;
}

static bool syn_without_ack(unsigned v)
{
	return (v & 0x12) == 0x02;
}

static bool not_only_syn(unsigned v)
{
	return (v & 0x17) != 0x02;
}

static void test_tcpflags(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_INET, "tflags", "in", 6);
	const struct nfo_rule *r = c->rules;

	for (size_t i = 0; i < c->nrules; i++) {
		expect_rule(&r[i], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 2);
		PRED(&r[i], 0, NFO_DIM_L4PROTO, true, pt(IPPROTO_TCP));
	}
	/* tcp flags syn: (flags & syn) != 0 */
	expect_pred_fn(&r[0], 1, NFO_DIM_TCPFLAGS, true, has_syn);
	/* tcp flags == syn */
	PRED(&r[1], 1, NFO_DIM_TCPFLAGS, true, pt(0x02));
	/* tcp flags & (syn|ack) == syn */
	expect_pred_fn(&r[2], 1, NFO_DIM_TCPFLAGS, true, syn_without_ack);
	/* tcp flags & (fin|syn|rst|ack) != syn */
	expect_pred_fn(&r[3], 1, NFO_DIM_TCPFLAGS, true, not_only_syn);
	/* tcp flags != syn */
	PRED(&r[4], 1, NFO_DIM_TCPFLAGS, true, iv(0, 1), iv(3, 255));
	/* tcp flags { syn, syn | ack } */
	PRED(&r[5], 1, NFO_DIM_TCPFLAGS, true, pt(0x02), pt(0x12));
}

/* ICMP: type and code are transport header bytes 0 and 1. */

static bool icmp_code_3(unsigned v)
{
	return (v & 0xff) == 3;
}

static void test_icmp(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_INET, "ticmp", "in", 5);
	const struct nfo_rule *r = c->rules;

	for (size_t i = 0; i < c->nrules; i++) {
		bool v6 = i == 2;

		expect_rule(&r[i], i == 1 || i == 4 ? NFO_VERDICT_ACCEPT : NFO_VERDICT_DROP, false,
			    NFO_OFFLOAD_FULL, NULL, 3);
		PRED(&r[i], 0, NFO_DIM_ETHTYPE, true, pt(v6 ? 0x86dd : 0x0800));
		PRED(&r[i], 1, NFO_DIM_L4PROTO, true, pt(v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP));
	}
	/* icmp type echo-request: any code */
	PRED(&r[0], 2, NFO_DIM_TH0, true, iv(0x0800, 0x08ff));
	/* icmp type { echo-reply, destination-unreachable } */
	PRED(&r[1], 2, NFO_DIM_TH0, true, iv(0x0000, 0x00ff), iv(0x0300, 0x03ff));
	/* icmpv6 type echo-request */
	PRED(&r[2], 2, NFO_DIM_TH0, true, iv(0x8000, 0x80ff));
	/* icmp code 3: any type */
	expect_pred_fn(&r[3], 2, NFO_DIM_TH0, true, icmp_code_3);
	/* icmp type != echo-request */
	PRED(&r[4], 2, NFO_DIM_TH0, true, iv(0, 0x07ff), iv(0x0900, MAX16));
}

/* Verdicts and chains. */

/* Verdict maps become alternatives, one per verdict, each with its keys. */
static const struct nfo_alt *alt_with(const struct nfo_rule *r, int verdict, const char *target)
{
	for (size_t i = 0; i < r->nalts; i++)
		if (r->alts[i].verdict == verdict &&
		    !strcmp(r->alts[i].target ? r->alts[i].target : "", target ? target : ""))
			return &r->alts[i];
	fail_msg("rule %llu: no alternative with verdict %d", (unsigned long long)r->handle, verdict);
	return NULL;
}

static void test_vmaps(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_INET, "v", "input", 4);
	const struct nfo_chain *web = chain(state, NFPROTO_INET, "v", "web", 2);
	const struct nfo_rule *r = c->rules;
	const struct nfo_alt *a;

	/* named interval map: adjacent 22 and 23 must not merge (nf_tables
	 * omits the end element between adjacent intervals) */
	expect_rule(&r[0], NFO_VERDICT_CONTINUE, false, NFO_OFFLOAD_FULL, NULL, 2);
	assert_int_equal(r[0].nalts, 4);
	a = alt_with(&r[0], NFO_VERDICT_ACCEPT, NULL);
	EXPECT_VSET(&a->keys[0].set, "22: accept", pt(22));
	a = alt_with(&r[0], NFO_VERDICT_DROP, NULL);
	EXPECT_VSET(&a->keys[0].set, "23, 1000-2000: drop", pt(23), iv(1000, 2000));
	a = alt_with(&r[0], NFO_VERDICT_JUMP, "web");
	EXPECT_VSET(&a->keys[0].set, "80: jump web", pt(80));
	assert_ptr_equal(a->target_chain, web);
	a = alt_with(&r[0], NFO_VERDICT_GOTO, "web");
	EXPECT_VSET(&a->keys[0].set, "3000-3001: goto web", iv(3000, 3001));
	assert_int_equal(a->keys[0].dim, NFO_DIM_TH2);

	/* anonymous map: continue and return are verdicts too */
	expect_rule(&r[1], NFO_VERDICT_CONTINUE, false, NFO_OFFLOAD_FULL, NULL, 2);
	assert_int_equal(r[1].nalts, 4);
	EXPECT_VSET(&alt_with(&r[1], NFO_VERDICT_ACCEPT, NULL)->keys[0].set, "53", pt(53));
	EXPECT_VSET(&alt_with(&r[1], NFO_VERDICT_DROP, NULL)->keys[0].set, "54", pt(54));
	EXPECT_VSET(&alt_with(&r[1], NFO_VERDICT_CONTINUE, NULL)->keys[0].set, "55", pt(55));
	EXPECT_VSET(&alt_with(&r[1], NFO_VERDICT_RETURN, NULL)->keys[0].set, "56", pt(56));

	/* addresses: prefixes and ranges */
	expect_rule(&r[2], NFO_VERDICT_CONTINUE, false, NFO_OFFLOAD_FULL, NULL, 2);
	a = alt_with(&r[2], NFO_VERDICT_DROP, NULL);
	assert_int_equal(a->keys[0].dim, NFO_DIM_SADDR4);
	EXPECT_VSET(&a->keys[0].set, "10/8", iv(0x0a000000, 0x0affffff));
	a = alt_with(&r[2], NFO_VERDICT_ACCEPT, NULL);
	EXPECT_VSET(&a->keys[0].set, "192.168.0.0-9", iv(0xc0a80000, 0xc0a80009));

	/* meta l4proto vmap */
	assert_int_equal(r[3].nalts, 1);
	a = alt_with(&r[3], NFO_VERDICT_JUMP, "web");
	assert_int_equal(a->keys[0].dim, NFO_DIM_L4PROTO);
	EXPECT_VSET(&a->keys[0].set, "udp", pt(IPPROTO_UDP));
}


/* One field of a concatenated alternative: dim and exactly the values. */
static void expect_key(const struct nfo_alt *a, size_t k, int dim, nfo_u128 lo, nfo_u128 hi)
{
	assert_true(k < a->nkeys);
	assert_int_equal(a->keys[k].dim, dim);
	assert_int_equal(a->keys[k].set.n, 1);
	assert_true(a->keys[k].set.iv[0].lo == lo && a->keys[k].set.iv[0].hi == hi);
}

/* Verdict maps keyed by concatenations (kube-proxy's nftables mode): one
 * alternative per element, each the product of its fields' values;
 * elements of one verdict that differ in one field share one. */
static void test_concat_vmaps(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_IPV4, "kp", "input", 3);
	const struct nfo_chain *svc = chain(state, NFPROTO_IPV4, "kp", "svc", 2);
	const struct nfo_chain *c6 = chain(state, NFPROTO_IPV6, "kp6", "input", 1);
	const struct nfo_rule *r = c->rules;
	const struct nfo_alt *a;
	nfo_u128 a6 = (nfo_u128)0x20010db8u << 96;

	/* ip daddr . meta l4proto . th dport vmap @service-ips */
	expect_rule(&r[0], NFO_VERDICT_CONTINUE, false, NFO_OFFLOAD_FULL, NULL, 0);
	assert_non_null(r[0].vmap_set);
	assert_int_equal(r[0].nalts, 3);
	a = alt_with(&r[0], NFO_VERDICT_GOTO, "svc");
	assert_ptr_equal(a->target_chain, svc);
	assert_int_equal(a->nkeys, 3);
	expect_key(a, 0, NFO_DIM_DADDR4, 0x0a000001, 0x0a000001);
	expect_key(a, 1, NFO_DIM_L4PROTO, IPPROTO_TCP, IPPROTO_TCP);
	EXPECT_VSET(&a->keys[2].set, "80 and 443: goto svc", pt(80), pt(443));
	a = alt_with(&r[0], NFO_VERDICT_ACCEPT, NULL);
	expect_key(a, 0, NFO_DIM_DADDR4, 0x0a000002, 0x0a000002);
	expect_key(a, 1, NFO_DIM_L4PROTO, IPPROTO_UDP, IPPROTO_UDP);
	expect_key(a, 2, NFO_DIM_TH2, 53, 53);
	a = alt_with(&r[0], NFO_VERDICT_DROP, NULL);
	expect_key(a, 0, NFO_DIM_DADDR4, 0x0a000003, 0x0a000003);
	expect_key(a, 2, NFO_DIM_TH2, 22, 22);

	/* ip daddr 10.0.0.1 meta l4proto . th dport vmap @nodeports */
	assert_int_equal(r[1].nalts, 2);
	a = alt_with(&r[1], NFO_VERDICT_GOTO, "svc");
	assert_int_equal(a->nkeys, 2);
	expect_key(a, 0, NFO_DIM_L4PROTO, IPPROTO_TCP, IPPROTO_TCP);
	expect_key(a, 1, NFO_DIM_TH2, 30080, 30080);
	a = alt_with(&r[1], NFO_VERDICT_DROP, NULL);
	expect_key(a, 0, NFO_DIM_L4PROTO, IPPROTO_UDP, IPPROTO_UDP);
	expect_key(a, 1, NFO_DIM_TH2, 30081, 30081);

	/* anonymous: ip saddr . tcp dport vmap { ... } */
	assert_int_equal(r[2].offload, NFO_OFFLOAD_FULL);
	assert_int_equal(r[2].nalts, 2);
	a = alt_with(&r[2], NFO_VERDICT_DROP, NULL);
	expect_key(a, 0, NFO_DIM_SADDR4, 0xc0000201, 0xc0000201);
	expect_key(a, 1, NFO_DIM_TH2, 22, 22);
	a = alt_with(&r[2], NFO_VERDICT_ACCEPT, NULL);
	expect_key(a, 0, NFO_DIM_SADDR4, 0xc0000202, 0xc0000202);

	/* a key longer than 16 bytes: ip6 daddr . meta l4proto . th dport */
	r = c6->rules;
	assert_int_equal(r[0].offload, NFO_OFFLOAD_FULL);
	assert_int_equal(r[0].nalts, 2);
	a = alt_with(&r[0], NFO_VERDICT_ACCEPT, NULL);
	expect_key(a, 0, NFO_DIM_DADDR6, a6 | 1, a6 | 1);
	expect_key(a, 1, NFO_DIM_L4PROTO, IPPROTO_TCP, IPPROTO_TCP);
	expect_key(a, 2, NFO_DIM_TH2, 443, 443);
	a = alt_with(&r[0], NFO_VERDICT_DROP, NULL);
	expect_key(a, 0, NFO_DIM_DADDR6, a6 | 2, a6 | 2);
	expect_key(a, 2, NFO_DIM_TH2, 80, 80);
}


static void test_verdicts(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_INET, "verd", "pre", 10);
	const struct nfo_chain *sub = chain(state, NFPROTO_INET, "verd", "sub", 3);
	const struct nfo_rule *r = c->rules;
	char key[128], want[128];

	expect_base(c, NFO_HOOK_PREROUTING, -150, "filter", false);
	expect_rule(&r[0], NFO_VERDICT_ACCEPT, false, NFO_OFFLOAD_FULL, NULL, 2);
	expect_tcp_dport(&r[0], 1);
	expect_rule(&r[1], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 2);
	expect_tcp_dport(&r[1], 2);
	/* jump sub, goto sub */
	expect_rule(&r[2], NFO_VERDICT_JUMP, false, NFO_OFFLOAD_FULL, NULL, 2);
	expect_tcp_dport(&r[2], 3);
	assert_string_equal(r[2].target, "sub");
	assert_ptr_equal(r[2].target_chain, sub);
	expect_rule(&r[3], NFO_VERDICT_GOTO, false, NFO_OFFLOAD_FULL, NULL, 2);
	expect_tcp_dport(&r[3], 4);
	assert_string_equal(r[3].target, "sub");
	assert_ptr_equal(r[3].target_chain, sub);
	/* counter drop: the fast path keeps its own counters */
	expect_rule(&r[4], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 2);
	expect_tcp_dport(&r[4], 5);
	assert_true(r[4].counter);
	assert_false(r[1].counter);
	/* a lone counter: always true, no verdict */
	expect_rule(&r[5], NFO_VERDICT_CONTINUE, false, NFO_OFFLOAD_FULL, NULL, 0);
	assert_true(r[5].counter);
	/* continue */
	expect_rule(&r[6], NFO_VERDICT_CONTINUE, false, NFO_OFFLOAD_FULL, NULL, 2);
	expect_tcp_dport(&r[6], 6);
	/* counter name "cnt" drop: a named counter is a counter */
	expect_rule(&r[7], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 2);
	expect_tcp_dport(&r[7], 10);
	assert_true(r[7].counter);
	/* quota name "q" drop: a quota decides by its own state */
	expect_rule(&r[8], NFO_VERDICT_DROP, true, NFO_OFFLOAD_NONE, "stateful object", 2);
	expect_tcp_dport(&r[8], 11);
	/* drop */
	expect_rule(&r[9], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 0);

	/* counters follow a rule across generations by this key */
	assert_int_equal(nfo_rule_key(&r[1], key, sizeof(key)), 0);
	snprintf(want, sizeof(want), "inet verd pre %llu", (unsigned long long)r[1].handle);
	assert_string_equal(key, want);

	/* the regular chain: return, drop, return */
	assert_false(sub->base);
	assert_int_equal(sub->hook, NFO_HOOK_NONE);
	expect_rule(&sub->rules[0], NFO_VERDICT_RETURN, false, NFO_OFFLOAD_FULL, NULL, 2);
	expect_tcp_dport(&sub->rules[0], 8);
	expect_rule(&sub->rules[1], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 2);
	expect_tcp_dport(&sub->rules[1], 9);
	expect_rule(&sub->rules[2], NFO_VERDICT_RETURN, false, NFO_OFFLOAD_FULL, NULL, 0);
}

static void test_base_chains(void **state)
{
	const struct fixture *f = *state;
	const struct nfo_chain *c;

	/* input, policy drop */
	c = chain(state, NFPROTO_INET, "verd", "in", 1);
	expect_base(c, NFO_HOOK_INPUT, 10, "filter", true);
	expect_rule(&c->rules[0], NFO_VERDICT_ACCEPT, false, NFO_OFFLOAD_FULL, NULL, 2);
	expect_tcp_dport(&c->rules[0], 7);

	c = chain(state, NFPROTO_IPV4, "verd4", "pre", 1);
	expect_base(c, NFO_HOOK_PREROUTING, 0, "filter", false);
	expect_rule(&c->rules[0], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&c->rules[0], 0, NFO_DIM_SADDR4, true, pfx4("192.0.2.0", 24));
	c = chain(state, NFPROTO_IPV4, "verd4", "in", 0);
	expect_base(c, NFO_HOOK_INPUT, 0, "filter", true);

	/* a dormant table's hooks are not registered (NFT_TABLE_F_DORMANT) */
	assert_null(nfo_ruleset_find_chain(f->rs, NFPROTO_INET, "sleepy", "in"));
}

static void test_netdev_chains(void **state)
{
	const struct nfo_chain *c, *dsub;
	bool lo = false, veth = false;

	dsub = chain(state, NFPROTO_NETDEV, "verddev", "dsub", 1);
	assert_false(dsub->base);
	expect_rule(&dsub->rules[0], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 2);
	PRED(&dsub->rules[0], 0, NFO_DIM_ETHTYPE, true, pt(0x0800));
	PRED(&dsub->rules[0], 1, NFO_DIM_SADDR4, true, pfx4("198.51.100.0", 24));

	c = chain(state, NFPROTO_NETDEV, "verddev", "ing", 2);
	expect_base(c, NFO_HOOK_INGRESS, -500, "filter", true);
	assert_int_equal(c->ndevs, 1);
	assert_string_equal(c->devs[0], "lo");
	expect_rule(&c->rules[0], NFO_VERDICT_ACCEPT, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&c->rules[0], 0, NFO_DIM_ETHTYPE, true, pt(0x86dd));
	expect_rule(&c->rules[1], NFO_VERDICT_JUMP, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&c->rules[1], 0, NFO_DIM_ETHTYPE, true, pt(0x0800));
	assert_ptr_equal(c->rules[1].target_chain, dsub);

	/* devices = { lo, nfoveth0 } (regenerate.sh adds the veth) */
	c = chain(state, NFPROTO_NETDEV, "verddev", "ing2", 1);
	expect_base(c, NFO_HOOK_INGRESS, 10, "filter", false);
	assert_int_equal(c->ndevs, 2);
	for (size_t i = 0; i < c->ndevs; i++) {
		lo |= !strcmp(c->devs[i], "lo");
		veth |= !strcmp(c->devs[i], "nfoveth0");
	}
	assert_true(lo && veth);
	expect_rule(&c->rules[0], NFO_VERDICT_ACCEPT, false, NFO_OFFLOAD_FULL, NULL, 0);
	assert_true(c->rules[0].counter);
}

/*
 * limit: an UNKNOWN predicate where the packet is blocked whether it holds
 * or not (then only which packets nftables answers depends on it:
 * SEMANTICS.md 4.1), else an effect from the statement on, as any other.
 */
static void test_limits(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_INET, "lim", "in", 6);
	const struct nfo_rule *r = c->rules;

	/* tcp dport 23 limit rate 5/second accept: over the limit the
	 * packet goes on, under it is accepted */
	expect_rule(&r[1], NFO_VERDICT_ACCEPT, true, NFO_OFFLOAD_NONE, "limit", 2);
	expect_tcp_dport(&r[1], 23);
	assert_int_equal(r[1].limit_at, 0);
	/* meta pkttype host limit rate 5/second counter reject: rejected
	 * under the limit, dropped by the rules after it and the policy */
	expect_rule(&r[2], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 2);
	assert_int_equal(r[2].reject, NFO_REJECT_ICMP);
	assert_int_equal(r[2].limit_at, 2);
	expect_unknown(&r[2], 1, true, "limit");
	/* limit rate over 10/second drop */
	expect_rule(&r[3], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
	expect_unknown(&r[3], 0, true, "limit");
	assert_int_equal(r[3].limit_at, 1);

	/* policy accept */
	c = chain(state, NFPROTO_INET, "lim", "pre", 1);
	expect_rule(&c->rules[0], NFO_VERDICT_DROP, true, NFO_OFFLOAD_NONE, "limit", 0);
	/* a jump after it */
	c = chain(state, NFPROTO_INET, "lim", "in2", 2);
	expect_rule(&c->rules[0], NFO_VERDICT_DROP, true, NFO_OFFLOAD_NONE, "limit", 0);
	/* predicates after the limit; a bytes limit */
	c = chain(state, NFPROTO_INET, "lim", "in3", 2);
	expect_rule(&c->rules[0], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 3);
	expect_unknown(&c->rules[0], 0, true, "limit");
	PRED(&c->rules[0], 1, NFO_DIM_L4PROTO, true, pt(IPPROTO_TCP));
	PRED(&c->rules[0], 2, NFO_DIM_TH2, true, pt(25));
	expect_rule(&c->rules[1], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
	/* a rule with an effect after it (its predicates then follow the
	 * effect: the limit takes tokens whatever the port), one in the
	 * rule, a TCP reset after it */
	c = chain(state, NFPROTO_INET, "lim", "in4", 3);
	expect_rule(&c->rules[0], NFO_VERDICT_DROP, true, NFO_OFFLOAD_NONE, "limit", 2);
	PRED(&c->rules[0], 0, NFO_DIM_L4PROTO, false, pt(IPPROTO_TCP));
	PRED(&c->rules[0], 1, NFO_DIM_TH2, false, pt(26));
	expect_rule(&c->rules[1], NFO_VERDICT_DROP, true, NFO_OFFLOAD_NONE, "limit", 0);
}

/* What the fast path must not evaluate. */

static void test_unsupported(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_INET, "unsup", "in", 23);
	const struct nfo_rule *r = c->rules;
	const struct nfo_set *s;

	/* ct state established,related accept: the bitwise form, a predicate
	 * on the ct state (evaluated from conntrack lookups) */
	expect_rule(&r[0], NFO_VERDICT_ACCEPT, false, NFO_OFFLOAD_FULL, NULL, 1);
	assert_int_equal(r[0].preds[0].dim, NFO_DIM_CTSTATE);
	EXPECT_VSET(&r[0].preds[0].set, "established, related",
		    pt(nfo_ct_state_value(NFO_CT_ESTABLISHED)), pt(nfo_ct_state_value(NFO_CT_RELATED)));
	/* meta mark 1 drop */
	expect_rule(&r[1], NFO_VERDICT_DROP, false, NFO_OFFLOAD_PARTIAL, "meta mark", 1);
	expect_unknown(&r[1], 0, true, "meta mark");
	/* tcp dport 22 log drop */
	expect_rule(&r[2], NFO_VERDICT_DROP, true, NFO_OFFLOAD_NONE, "log", 2);
	expect_tcp_dport(&r[2], 22);
	/* limit rate 10/second drop */
	expect_rule(&r[3], NFO_VERDICT_DROP, true, NFO_OFFLOAD_NONE, "limit", 0);
	/* tcp dport 23 reject: nft makes it an icmpx port-unreachable, an
	 * ICMP error the kernel rate-limits: a drop the fast path follows
	 * within those limits (reject leaves) */
	expect_rule(&r[4], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 2);
	expect_tcp_dport(&r[4], 23);
	assert_int_equal(r[4].reject, NFO_REJECT_ICMP);
	/* tcp dport vmap { 22 : accept }: followed, one alternative per verdict */
	expect_rule(&r[5], NFO_VERDICT_CONTINUE, false, NFO_OFFLOAD_FULL, NULL, 2);
	expect_tcp_dport(&r[5], 22);
	assert_int_equal(r[5].nalts, 1);
	assert_int_equal(r[5].alts[0].keys[0].dim, NFO_DIM_TH2);
	assert_int_equal(r[5].alts[0].verdict, NFO_VERDICT_ACCEPT);
	EXPECT_VSET(&r[5].alts[0].keys[0].set, "vmap alternative", pt(22));
	/* ip saddr & 0.0.0.255 == 0.0.0.1: not a prefix mask */
	expect_rule(&r[6], NFO_VERDICT_DROP, false, NFO_OFFLOAD_PARTIAL, "masked", 2);
	PRED(&r[6], 0, NFO_DIM_ETHTYPE, true, pt(0x0800));
	expect_unknown(&r[6], 1, true, "masked");
	/* tcp sequence 5: transport header bytes 4-7 */
	expect_rule(&r[7], NFO_VERDICT_DROP, false, NFO_OFFLOAD_PARTIAL, "transport header @32,32",
		    2);
	PRED(&r[7], 0, NFO_DIM_L4PROTO, true, pt(IPPROTO_TCP));
	expect_unknown(&r[7], 1, true, "transport header @32,32");
	/* ip saddr @tset drop: elements time out, and a capture has no
	 * reading of the kernel's clock to place their expiries in time */
	s = set(state, NFPROTO_INET, "unsup", "tset");
	assert_false(s->usable);
	assert_true(s->flags & NFT_SET_TIMEOUT);
	assert_string_equal(s->why, "elements expire and the kernel clock cannot be read");
	expect_rule(&r[8], NFO_VERDICT_DROP, false, NFO_OFFLOAD_PARTIAL, "set tset", 2);
	PRED(&r[8], 0, NFO_DIM_ETHTYPE, true, pt(0x0800));
	expect_unknown(&r[8], 1, true, "set tset");
	/* update @dyn { ip saddr } drop */
	expect_rule(&r[9], NFO_VERDICT_DROP, true, NFO_OFFLOAD_NONE, "dynset", 1);
	PRED(&r[9], 0, NFO_DIM_ETHTYPE, true, pt(0x0800));
	/* ip saddr @dyn drop: the packet path fills the set, and membership
	 * only leads to drop: what the fast path lacks makes it drop less */
	s = set(state, NFPROTO_INET, "unsup", "dyn");
	assert_true(s->usable);
	assert_true(s->pp_add);
	assert_false(s->pp_delete);
	assert_true(s->drop_only);
	expect_rule(&r[10], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 2);
	assert_int_equal(r[10].preds[1].dim, NFO_PDIM_SETREF);
	assert_ptr_equal(r[10].preds[1].ref.set, s);
	assert_non_null(r[10].note);
	assert_non_null(strstr(r[10].note, "filled by the packet path"));
	assert_null(r[8].note);
	/* ct state invalid tcp dport 80 drop: cmp eq on the ct state */
	expect_rule(&r[12], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 3);
	assert_int_equal(r[12].preds[0].dim, NFO_DIM_CTSTATE);
	EXPECT_VSET(&r[12].preds[0].set, "invalid", pt(nfo_ct_state_value(NFO_CT_INVALID)));
	PRED(&r[12], 1, NFO_DIM_L4PROTO, true, pt(IPPROTO_TCP));
	PRED(&r[12], 2, NFO_DIM_TH2, true, pt(80));
	/* tcp option maxseg size 1-500 drop: a gte/lte pair on exthdr (see
	 * test_tcpopt) */
	expect_rule(&r[14], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 3);
	PRED(&r[14], 0, NFO_DIM_MSSOPT, true, pt(NFO_TCPOPT_VALID));
	PRED(&r[14], 1, NFO_DIM_TCPMSS, true, iv(1, 0xffff));
	PRED(&r[14], 2, NFO_DIM_TCPMSS, true, iv(0, 500));
	/* fib saddr . iif oif missing drop */
	expect_rule(&r[15], NFO_VERDICT_DROP, false, NFO_OFFLOAD_PARTIAL, "fib", 1);
	expect_unknown(&r[15], 0, true, "fib");
	/* meta pkttype broadcast drop: skb->pkt_type + 1, from the frame's
	 * destination MAC */
	expect_rule(&r[16], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 1);
	PRED(&r[16], 0, NFO_DIM_L2HOST, true, pt(NFO_L2_BROADCAST));
	/* ip ttl 1 drop */
	expect_rule(&r[17], NFO_VERDICT_DROP, false, NFO_OFFLOAD_PARTIAL, "network header @64,8",
		    2);
	PRED(&r[17], 0, NFO_DIM_ETHTYPE, true, pt(0x0800));
	expect_unknown(&r[17], 1, true, "network header @64,8");
	/* ip saddr 192.0.2.9 meta mark set 1 */
	expect_rule(&r[18], NFO_VERDICT_CONTINUE, true, NFO_OFFLOAD_NONE, "meta mark set", 2);
	PRED(&r[18], 0, NFO_DIM_ETHTYPE, true, pt(0x0800));
	PRED(&r[18], 1, NFO_DIM_SADDR4, true, pt(v4("192.0.2.9")));
	/* tcp dport 25 counter reject with tcp reset */
	expect_rule(&r[19], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 2);
	expect_tcp_dport(&r[19], 25);
	assert_true(r[19].counter);
	/* a TCP reset is sent without limit: a drop with the RST the fast
	 * path sends itself where the planner allows it (reset leaves) */
	assert_int_equal(r[19].reject, NFO_REJECT_TCP_RST);
	/* ip saddr . tcp dport { 192.0.2.1 . 22 }: a concatenation, looked up as
	 * a whole key in the anonymous set's slot */
	expect_rule(&r[20], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 3);
	PRED(&r[20], 0, NFO_DIM_ETHTYPE, true, pt(0x0800));
	PRED(&r[20], 1, NFO_DIM_L4PROTO, true, pt(IPPROTO_TCP));
	expect_concat_ref(&r[20], 2, NFO_DIM_SADDR4, NFO_DIM_TH2);
	/* ip saddr . ip daddr { 192.0.2.1 . 192.0.2.2 } */
	expect_rule(&r[21], NFO_VERDICT_DROP, false, NFO_OFFLOAD_FULL, NULL, 2);
	PRED(&r[21], 0, NFO_DIM_ETHTYPE, true, pt(0x0800));
	expect_concat_ref(&r[21], 1, NFO_DIM_SADDR4, NFO_DIM_DADDR4);
}

/*
 * tcp dport 22 log ip saddr 1.2.3.4 drop: the log happens for every TCP
 * packet to port 22, whatever its source; only the predicates before it say
 * when the effect happens.
 */
static void test_log_before_match(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_INET, "unsup", "in", 23);
	const struct nfo_rule *r = &c->rules[11];

	expect_rule(r, NFO_VERDICT_DROP, true, NFO_OFFLOAD_NONE, "log", 4);
	PRED(r, 0, NFO_DIM_L4PROTO, true, pt(IPPROTO_TCP));
	PRED(r, 1, NFO_DIM_TH2, true, pt(22));
	PRED(r, 2, NFO_DIM_ETHTYPE, false, pt(0x0800));
	PRED(r, 3, NFO_DIM_SADDR4, false, pt(v4("1.2.3.4")));
}

static void test_effects_in_other_chains(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_INET, "unsup", "raw", 3);

	expect_base(c, NFO_HOOK_PREROUTING, -300, "filter", false);
	/* notrack */
	expect_rule(&c->rules[0], NFO_VERDICT_CONTINUE, true, NFO_OFFLOAD_NONE, "notrack", 0);
	/* tcp dport set 80 */
	expect_rule(&c->rules[1], NFO_VERDICT_CONTINUE, true, NFO_OFFLOAD_NONE, "payload mangling",
		    1);
	PRED(&c->rules[1], 0, NFO_DIM_L4PROTO, true, pt(IPPROTO_TCP));
	/* tcp dport 26 ip daddr set 192.0.2.10 */
	expect_rule(&c->rules[2], NFO_VERDICT_CONTINUE, true, NFO_OFFLOAD_NONE, "payload mangling",
		    3);
	expect_tcp_dport(&c->rules[2], 26);
	PRED(&c->rules[2], 2, NFO_DIM_ETHTYPE, true, pt(0x0800));

	/* tcp dport 8080 dnat to 10.0.0.1:80 */
	c = chain(state, NFPROTO_IPV4, "natt", "pre", 1);
	expect_base(c, NFO_HOOK_PREROUTING, -100, "nat", false);
	expect_rule(&c->rules[0], NFO_VERDICT_CONTINUE, true, NFO_OFFLOAD_NONE, "nat", 2);
	expect_tcp_dport(&c->rules[0], 8080);
}

/*
 * meta mark set tcp dport map { 22 : 1 }: nft looks up and writes the value
 * into the key's own register (lookup reg 1 ... dreg 1). A key not in the map
 * ends the rule (nft_lookup_eval: NFT_BREAK), so the mark is set only for
 * port 22: that predicate comes before the effect.
 */
static void test_map_key_before_effect(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_INET, "unsup", "in", 23);
	const struct nfo_rule *r = &c->rules[22];

	expect_rule(r, NFO_VERDICT_CONTINUE, true, NFO_OFFLOAD_NONE, "meta mark set", 2);
	expect_tcp_dport(r, 22);
}

/* meta length is host order: nft adds a byteorder expression after the load. */
static void test_reason_through_byteorder(void **state)
{
	const struct nfo_chain *c = chain(state, NFPROTO_INET, "unsup", "in", 23);
	const struct nfo_rule *r = &c->rules[13];

	/* meta length > 1000 drop */
	expect_rule(r, NFO_VERDICT_DROP, false, NFO_OFFLOAD_PARTIAL, "meta len", 1);
	expect_unknown(r, 0, true, "meta len");
}

/*
 * Bad input: parsing may fail, the model may be empty, nothing may crash, and
 * the model never holds a rule the input does not make run. Each case runs in
 * a child, so a crash is one failed test (also under ASan).
 */

enum {
	CHILD_OK = 0,
	CHILD_EXTRA_RULES = 40, /* parsed and built, with rules that do not run */
};

/* CHILD_OK whether parsing fails or builds a model of at most max_rules
 * rules; CHILD_EXTRA_RULES otherwise. */
static int parse_and_build(const uint8_t *buf, size_t len, size_t max_rules)
{
	struct nfo_nft_dump *d = NULL;
	struct nfo_ruleset *rs = NULL;
	size_t nrules = 0;
	int r;

	r = nfo_nft_dump_new(&d);
	if (r < 0)
		return CHILD_OK;
	r = nfo_nft_dump_parse(d, buf, len);
	if (r == 0)
		r = nfo_ruleset_new(&rs, d);
	if (r == 0) {
		for (size_t i = 0; i < rs->nchains; i++)
			nrules += rs->chains[i].nrules;
	}
	nfo_ruleset_free(&rs);
	nfo_nft_dump_free(&d);
	return nrules > max_rules ? CHILD_EXTRA_RULES : CHILD_OK;
}

typedef int (*child_fn)(const void *arg);

/* What the child is parsing, for the report if it crashes. */
static char child_case[160];

static void child_crashed(int sig)
{
	static const char msg[] = "crashed on: ";

	if (child_case[0]) {
		(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
		(void)!write(STDERR_FILENO, child_case, strnlen(child_case, sizeof(child_case)));
		(void)!write(STDERR_FILENO, "\n", 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Returns the child's wait status. */
static int run_isolated(child_fn fn, const void *arg)
{
	int status = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* cmocka's handlers would catch a crash and run the rest of the
		 * suite in this child */
		static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSYS };

		child_case[0] = '\0';
		for (size_t i = 0; i < NELEMS(sigs); i++)
			signal(sigs[i], child_crashed);
		_exit(fn(arg));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void expect_survived(int status, const char *what)
{
	if (WIFSIGNALED(status))
		fail_msg("%s: killed by signal %d (%s)", what, WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	if (WEXITSTATUS(status) == CHILD_EXTRA_RULES)
		fail_msg("%s: the model holds rules that nftables does not run", what);
	if (WEXITSTATUS(status) != CHILD_OK)
		fail_msg("%s: exited with status %d (a library exit() or a sanitizer report)", what,
			 WEXITSTATUS(status));
}

struct capture {
	uint8_t *buf;
	size_t len;
	size_t nmsgs;
	size_t nrules;     /* in the model of the whole capture */
	size_t nrule_msgs; /* NEWRULE messages: rules the input holds */
};

/*
 * The i-th message of a capture, or NULL. No cmocka assertion here: children
 * call it, and a failing assertion in a child would go on running the suite.
 */
static struct nlmsghdr *capture_msg(const struct capture *c, size_t i, size_t *ret_off)
{
	size_t off = 0;

	while (off + sizeof(struct nlmsghdr) <= c->len) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)(c->buf + off);

		if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > c->len - off)
			return NULL;
		if (i-- == 0) {
			if (ret_off)
				*ret_off = off;
			return nlh;
		}
		off += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	return NULL;
}

static bool is_nft_msg(const struct nlmsghdr *nlh, uint16_t type)
{
	return nlh->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | type);
}

static struct nlmsghdr *capture_find(const struct capture *c, uint16_t type, size_t *ret_off)
{
	struct nlmsghdr *nlh;

	for (size_t i = 0; (nlh = capture_msg(c, i, ret_off)); i++)
		if (is_nft_msg(nlh, type))
			return nlh;
	return NULL;
}

static void capture_load(const char *name, struct capture *ret)
{
	struct nfo_nft_dump *d = NULL;
	struct nfo_ruleset *rs = NULL;
	struct nlmsghdr *nlh;
	size_t off = 0;

	*ret = (struct capture){};
	assert_int_equal(nfo_test_read_capture(name, &ret->buf, &ret->len), 0);
	assert_int_equal(nfo_nft_dump_new(&d), 0);
	assert_int_equal(nfo_nft_dump_parse(d, ret->buf, ret->len), 0);
	assert_int_equal(nfo_ruleset_new(&rs, d), 0);
	for (size_t i = 0; i < rs->nchains; i++)
		ret->nrules += rs->chains[i].nrules;
	nfo_ruleset_free(&rs);
	nfo_nft_dump_free(&d);
	for (; (nlh = capture_msg(ret, ret->nmsgs, &off)); ret->nmsgs++)
		ret->nrule_msgs += is_nft_msg(nlh, NFT_MSG_NEWRULE);
	/* the walk saw every byte: the capture is a clean sequence */
	assert_true(ret->nmsgs > 0);
	assert_int_equal(off + NLMSG_ALIGN(capture_msg(ret, ret->nmsgs - 1, NULL)->nlmsg_len),
			 ret->len);
}

static void test_empty_and_foreign(void **state)
{
	struct {
		struct nlmsghdr nlh;
		struct nlmsgerr err;
	} msgs[3] = {};
	struct nfo_nft_dump *d = NULL;
	struct nfo_ruleset *rs = NULL;

	/* an NLMSG_DONE, an NLMSG_ERROR, and a conntrack message: nothing
	 * nf_tables, so an empty ruleset */
	msgs[0].nlh = (struct nlmsghdr){ .nlmsg_len = NLMSG_LENGTH(4), .nlmsg_type = NLMSG_DONE };
	msgs[1].nlh = (struct nlmsghdr){ .nlmsg_len = NLMSG_LENGTH(sizeof(struct nlmsgerr)),
					 .nlmsg_type = NLMSG_ERROR };
	msgs[2].nlh = (struct nlmsghdr){ .nlmsg_len = NLMSG_LENGTH(sizeof(struct nfgenmsg)),
					 .nlmsg_type = NFNL_SUBSYS_CTNETLINK << 8 };
	for (size_t len = 0; len <= sizeof(msgs); len += 4) {
		assert_int_equal(nfo_nft_dump_new(&d), 0);
		assert_int_equal(nfo_nft_dump_parse(d, msgs, len), 0);
		assert_int_equal(nfo_ruleset_new(&rs, d), 0);
		assert_int_equal(rs->nchains, 0);
		assert_int_equal(rs->nsets, 0);
		nfo_ruleset_free(&rs);
		nfo_nft_dump_free(&d);
	}
}

static int child_prefixes(const void *arg)
{
	const struct capture *c = arg;

	for (size_t len = 0; len <= c->len; len++) {
		int r;

		snprintf(child_case, sizeof(child_case), "the first %zu bytes", len);
		r = parse_and_build(c->buf, len, c->nrules);
		if (r != CHILD_OK)
			return r;
	}
	return CHILD_OK;
}

/* A dump cut anywhere, as a short read would leave it. */
static void test_truncated_dumps(void **state)
{
	for (size_t i = 0; i < NELEMS(captures); i++) {
		struct capture c;
		int status;

		capture_load(captures[i], &c);
		status = run_isolated(child_prefixes, &c);
		free(c.buf);
		expect_survived(status, captures[i]);
	}
}

struct cut {
	const struct capture *c;
	uint8_t *out;
};

/*
 * Every message in turn, its nlmsg_len cut to every shorter length that still
 * holds the headers; the messages after it stay intact. A cut table message
 * may lose its dormant flag, so only the rules the input holds bound the model.
 */
static int child_cut_messages(const void *arg)
{
	const struct cut *cut = arg;
	const struct capture *c = cut->c;

	for (size_t i = 0; i < c->nmsgs; i++) {
		size_t off = 0, full, rest;
		struct nlmsghdr *nlh = capture_msg(c, i, &off);

		full = NLMSG_ALIGN(nlh->nlmsg_len);
		rest = c->len - off - full;
		for (size_t len = NLMSG_LENGTH(sizeof(struct nfgenmsg)); len < nlh->nlmsg_len;
		     len += 4) {
			uint8_t *p = cut->out;
			int r;

			memcpy(p, c->buf, off + len);
			((struct nlmsghdr *)(p + off))->nlmsg_len = (uint32_t)len;
			memcpy(p + off + len, c->buf + off + full, rest);
			snprintf(child_case, sizeof(child_case),
				 "message %zu (type 0x%x, %u bytes) cut to %zu bytes", i,
				 nlh->nlmsg_type, nlh->nlmsg_len, len);
			r = parse_and_build(p, off + len + rest, c->nrule_msgs);
			if (r != CHILD_OK)
				return r;
		}
	}
	return CHILD_OK;
}

static void test_truncated_messages(void **state)
{
	for (size_t i = 0; i < NELEMS(captures); i++) {
		struct capture c;
		struct cut cut = { .c = &c };
		int status;

		capture_load(captures[i], &c);
		cut.out = malloc(c.len);
		assert_non_null(cut.out);
		status = run_isolated(child_cut_messages, &cut);
		free(cut.out);
		free(c.buf);
		expect_survived(status, captures[i]);
	}
}

struct stripped {
	const struct capture *c;
	uint16_t msg_type;
	uint16_t attr;
	size_t max_rules;
};

/* The capture with one top-level attribute removed from the first message of
 * msg_type: a kernel never sends that, a fuzzer or a bug might. */
static int child_strip_attr(const void *arg)
{
	const struct stripped *s = arg;
	const struct capture *c = s->c;
	size_t off = 0, full;
	struct nlmsghdr *nlh, *m;
	const struct nlattr *a;
	uint8_t *out = malloc(c->len);
	int r;

	if (!out)
		return CHILD_OK;
	nlh = capture_find(c, s->msg_type, &off);
	full = NLMSG_ALIGN(nlh->nlmsg_len);
	memcpy(out, c->buf, off);
	m = (struct nlmsghdr *)(out + off);
	memcpy(m, nlh, NLMSG_LENGTH(sizeof(struct nfgenmsg)));
	m->nlmsg_len = NLMSG_LENGTH(sizeof(struct nfgenmsg));
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) == s->attr)
			continue;
		memcpy((uint8_t *)m + m->nlmsg_len, a, MNL_ALIGN(a->nla_len));
		m->nlmsg_len += MNL_ALIGN(a->nla_len);
	}
	memcpy(out + off + m->nlmsg_len, c->buf + off + full, c->len - off - full);
	r = parse_and_build(out, c->len - full + m->nlmsg_len, s->max_rules);
	free(out);
	return r;
}

/* dropped: how many rules of the whole capture's model the stripped message
 * must cost at least. */
static void strip_attr(const char *capture, uint16_t msg_type, uint16_t attr, size_t dropped,
		       const char *what)
{
	struct capture c;
	struct stripped s = { .c = &c, .msg_type = msg_type, .attr = attr };
	const struct nlmsghdr *nlh;
	const struct nlattr *a;
	bool found = false;
	int status;

	capture_load(capture, &c);
	nlh = capture_find(&c, msg_type, NULL);
	if (nlh) {
		mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
			found |= mnl_attr_get_type(a) == attr;
	}
	if (!found) {
		free(c.buf);
		fail_msg("%s.nlmsg has no message %u with attribute %u", capture, msg_type, attr);
	}
	s.max_rules = c.nrules - dropped;
	status = run_isolated(child_strip_attr, &s);
	free(c.buf);
	expect_survived(status, what);
}

static void test_chain_without_name(void **state)
{
	strip_attr("family", NFT_MSG_NEWCHAIN, NFTA_CHAIN_NAME, 0,
		   "NEWCHAIN without NFTA_CHAIN_NAME");
}

static void test_set_without_name(void **state)
{
	strip_attr("sets", NFT_MSG_NEWSET, NFTA_SET_NAME, 0, "NEWSET without NFTA_SET_NAME");
}

static void test_rule_without_chain(void **state)
{
	/* a rule that names no chain belongs nowhere: it must not appear */
	strip_attr("family", NFT_MSG_NEWRULE, NFTA_RULE_CHAIN, 1,
		   "NEWRULE without NFTA_RULE_CHAIN");
}

/*
 * Each table of verdicts.nft in turn (one is the dormant "sleepy", whose
 * chain has policy drop and a drop rule) with its NFTA_TABLE_NAME turned into
 * an attribute nobody reads. Nothing then says which table is dormant: sleepy's
 * rule must not become part of the model.
 */
static int child_table_without_name(const void *arg)
{
	const struct capture *c = arg;
	uint8_t *out = malloc(c->len);
	int r = CHILD_OK;

	if (!out)
		return CHILD_OK;
	for (size_t i = 0; i < c->nmsgs && r == CHILD_OK; i++) {
		size_t off;
		struct nlmsghdr *nlh = capture_msg(c, i, &off);
		struct nlattr *a;

		if (!is_nft_msg(nlh, NFT_MSG_NEWTABLE))
			continue;
		memcpy(out, c->buf, c->len);
		mnl_attr_for_each(a, (struct nlmsghdr *)(out + off), sizeof(struct nfgenmsg)) {
			if (mnl_attr_get_type(a) == NFTA_TABLE_NAME)
				a->nla_type = NFTA_TABLE_UNSPEC;
		}
		r = parse_and_build(out, c->len, c->nrules);
	}
	free(out);
	return r;
}

static void test_table_without_name(void **state)
{
	struct capture c;
	int status;

	capture_load("verdicts", &c);
	status = run_isolated(child_table_without_name, &c);
	free(c.buf);
	expect_survived(status, "NEWTABLE without NFTA_TABLE_NAME");
}

static int child_huge_len(const void *arg)
{
	const struct capture *c = arg;
	uint8_t *out = malloc(c->len);
	int r;

	if (!out)
		return CHILD_OK;
	memcpy(out, c->buf, c->len);
	/* larger than the buffer, and negative as an int */
	((struct nlmsghdr *)out)->nlmsg_len = 0xfffffff0;
	r = parse_and_build(out, c->len, c->nrules);
	free(out);
	return r;
}

static void test_huge_nlmsg_len(void **state)
{
	struct capture c;
	int status;

	capture_load("family", &c);
	status = run_isolated(child_huge_len, &c);
	free(c.buf);
	expect_survived(status, "nlmsg_len 0xfffffff0");
}

struct garbage {
	uint8_t *buf;
	size_t len;
};

static int child_garbage(const void *arg)
{
	const struct garbage *g = arg;

	return parse_and_build(g->buf, g->len, SIZE_MAX);
}

/* Random bytes, the same every run. */
static void test_garbage(void **state)
{
	static uint8_t buf[4096];
	uint32_t x = 2463534242u;
	char what[64];

	for (unsigned t = 0; t < 64; t++) {
		struct garbage g = { .buf = buf, .len = (t * 613u) % sizeof(buf) };

		for (size_t i = 0; i < g.len; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = (uint8_t)x;
		}
		snprintf(what, sizeof(what), "garbage #%u (%zu bytes)", t, g.len);
		expect_survived(run_isolated(child_garbage, &g), what);
	}
}

#define T(fn, name) cmocka_unit_test_setup_teardown(fn, setup_##name, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_family_inet, family),
		T(test_family_ip, family),
		T(test_family_netdev, family),
		T(test_l4proto, l4proto),
		T(test_l4proto_ip6, l4proto),
		T(test_ports, ports),
		T(test_merged, merged),
		T(test_merged_addrs, merged_addrs),
		T(test_ct_status, ct_status),
		T(test_reject_code, reject_code),
		T(test_sets_model, sets),
		T(test_sets_lookup, sets),
		T(test_addrs_ip, addrs),
		T(test_addrs_inet, addrs),
		T(test_addrs_ip6, addrs),
		T(test_iface, iface),
		T(test_iifname_wildcard, iface),
		T(test_tcpflags, tcpflags),
		T(test_fib, fib),
		T(test_tcpopt, tcpopt),
		T(test_icmp, icmp),
		T(test_verdicts, verdicts),
		T(test_vmaps, vmaps),
		T(test_concat_vmaps, concat),
		T(test_base_chains, verdicts),
		T(test_netdev_chains, verdicts),
		T(test_limits, limits),
		T(test_unsupported, unsupported),
		T(test_log_before_match, unsupported),
		T(test_effects_in_other_chains, unsupported),
		T(test_reason_through_byteorder, unsupported),
		T(test_map_key_before_effect, unsupported),
		cmocka_unit_test(test_empty_and_foreign),
		cmocka_unit_test(test_truncated_dumps),
		cmocka_unit_test(test_truncated_messages),
		cmocka_unit_test(test_chain_without_name),
		cmocka_unit_test(test_set_without_name),
		cmocka_unit_test(test_rule_without_chain),
		cmocka_unit_test(test_table_without_name),
		cmocka_unit_test(test_huge_nlmsg_len),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests_name("translate", tests, NULL, NULL);
}
