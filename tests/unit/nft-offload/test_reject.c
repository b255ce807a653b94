// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel's ICMP limits as the fast path's reject buckets
 * (nft-offload/reject.c): the sysctls read from a /proc/sys-like tree, the
 * ratemask list format, and buckets that always hold more than the
 * kernel's, by NFO_REJECT_SLACK.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "nft-offload/reject.h"

static void rm_tree(const char *root)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

static void put(const char *root, const char *name, const char *text)
{
	char path[512], dir[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	snprintf(dir, sizeof(dir), "%s", path);
	for (char *s = dir + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(dir, 0700);
		*s = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The defaults of a 6.18 kernel. */
static void defaults(const char *root, bool ipv6)
{
	put(root, "net/ipv4/icmp_msgs_per_sec", "1000\n");
	put(root, "net/ipv4/icmp_msgs_burst", "50\n");
	put(root, "net/ipv4/icmp_ratelimit", "1000\n");
	put(root, "net/ipv4/icmp_ratemask", "6168\n");
	if (ipv6) {
		put(root, "net/ipv6/icmp/ratelimit", "1000\n");
		put(root, "net/ipv6/icmp/ratemask", "0-1,3-127\n");
	}
}

static void test_ratemask_list(void **state)
{
	(void)state;
	assert_int_equal(nfo_ratemask_list_has("0-1,3-127", 1), 1);
	assert_int_equal(nfo_ratemask_list_has("0-1,3-127", 2), 0);
	assert_int_equal(nfo_ratemask_list_has("0-1,3-127", 128), 0);
	assert_int_equal(nfo_ratemask_list_has("3-127", 1), 0);
	assert_int_equal(nfo_ratemask_list_has("1", 1), 1);
	assert_int_equal(nfo_ratemask_list_has("", 1), 0);
	assert_int_equal(nfo_ratemask_list_has("0,2,4", 1), 0);
	assert_int_equal(nfo_ratemask_list_has("0-", 1), -EINVAL);
	assert_int_equal(nfo_ratemask_list_has("5-3", 4), -EINVAL);
	assert_int_equal(nfo_ratemask_list_has("1;2", 2), -EINVAL);
}

static void test_read_defaults(void **state)
{
	char root[] = "/tmp/nfo-reject-XXXXXX", path[512];
	struct nfo_icmp_limits lim;

	(void)state;
	assert_non_null(mkdtemp(root));
	defaults(root, true);
	assert_int_equal(nfo_icmp_limits_read(root, &lim), 0);
	assert_int_equal(lim.msgs_per_sec, 1000);
	assert_int_equal(lim.msgs_burst, 50);
	assert_int_equal(lim.ratelimit4_ms, 1000);
	assert_int_equal(lim.ratemask4, 0x1818);
	assert_int_equal(lim.ratelimit6_ms, 1000);
	assert_true(lim.limited6);

	/* destination unreachable taken out of the IPv6 mask */
	put(root, "net/ipv6/icmp/ratemask", "0,2-127\n");
	assert_int_equal(nfo_icmp_limits_read(root, &lim), 0);
	assert_false(lim.limited6);
	/* garbage is an error, not a guess */
	put(root, "net/ipv4/icmp_msgs_burst", "fifty\n");
	assert_int_equal(nfo_icmp_limits_read(root, &lim), -EINVAL);
	put(root, "net/ipv4/icmp_msgs_burst", "50\n");
	snprintf(path, sizeof(path), "%s/net/ipv4/icmp_ratelimit", root);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(nfo_icmp_limits_read(root, &lim), -ENOENT);
	rm_tree(root);
}

static void test_read_without_ipv6(void **state)
{
	char root[] = "/tmp/nfo-reject-XXXXXX";
	struct nfo_icmp_limits lim;

	(void)state;
	assert_non_null(mkdtemp(root));
	defaults(root, false);
	assert_int_equal(nfo_icmp_limits_read(root, &lim), 0);
	assert_false(lim.limited6);
	rm_tree(root);
}

static void test_cfg_defaults(void **state)
{
	struct nfo_icmp_limits lim = { .msgs_per_sec = 1000, .msgs_burst = 50,
				       .ratelimit4_ms = 1000, .ratemask4 = 0x1818,
				       .ratelimit6_ms = 1000, .limited6 = true };
	struct nfo_reject_cfg c;

	(void)state;
	nfo_reject_cfg_from_limits(&lim, &c);
	assert_int_equal(c.flags, NFO_REJECT_ON);
	/* global: SLACK times 1000 a second, SLACK times 51 deep */
	assert_int_equal(c.global_cost_ns, 1000000000ull / (1000 * NFO_REJECT_SLACK));
	assert_int_equal(c.global_burst_ns / c.global_cost_ns, 51 * NFO_REJECT_SLACK);
	/* per sender, IPv4: one a second in the kernel, with 6 in reserve */
	assert_int_equal(c.peer_cost_ns[0], 1000000000ull / NFO_REJECT_SLACK);
	assert_true(c.peer_burst_ns[0] >= 6 * 1000000000ull);
	assert_true(c.peer_burst_ns[0] / c.peer_cost_ns[0] >= 6 * NFO_REJECT_SLACK);
	/* IPv6: up to 16 times faster (the prefix-length shift) */
	assert_int_equal(c.peer_cost_ns[1], (1000000000ull >> 4) / NFO_REJECT_SLACK);
	assert_true(c.peer_burst_ns[1] >= 6 * (1000000000ull >> 4));
}

static void test_cfg_edges(void **state)
{
	struct nfo_icmp_limits lim = { .msgs_per_sec = 0, .msgs_burst = 0, .ratelimit4_ms = 0,
				       .ratemask4 = 0x1810, .ratelimit6_ms = 0, .limited6 = false };
	struct nfo_reject_cfg c;

	(void)state;
	nfo_reject_cfg_from_limits(&lim, &c);
	/* dest unreachable not in either mask: never limited */
	assert_int_equal(c.flags, NFO_REJECT_ON | NFO_REJECT_UNLIMITED4 | NFO_REJECT_UNLIMITED6);
	/* icmp_ratelimit 0: no per-peer bucket at all */
	assert_int_equal(c.peer_cost_ns[0], 0);
	assert_int_equal(c.peer_cost_ns[1], 0);
	/* a global rate of 0 still refills here (only passes more), and the
	 * bucket always holds one answer */
	assert_true(c.global_cost_ns > 0);
	assert_true(c.global_burst_ns >= c.global_cost_ns);

	/* a huge rate: the cost never rounds to 0 (free answers) */
	lim.msgs_per_sec = 2000000000;
	nfo_reject_cfg_from_limits(&lim, &c);
	assert_int_equal(c.global_cost_ns, 1);
}

/* The IPv6 RST's hop limit: the attached interfaces', when they agree. */
static void test_hop_limit6(void **state)
{
	static const char *const both[] = { "eth0", "eth1" }, *const one[] = { "eth0" };
	char root[] = "/tmp/nfo-reject-XXXXXX";
	struct nfo_icmp_limits lim = { .hop_limit6 = 0, .fwmark_reflect6 = 0 };
	struct nfo_reject_cfg c;

	(void)state;
	assert_non_null(mkdtemp(root));
	put(root, "net/ipv6/conf/eth0/hop_limit", "64\n");
	put(root, "net/ipv6/conf/eth1/hop_limit", "64\n");
	assert_int_equal(nfo_hop_limit6_read(root, both, 2), 64);
	put(root, "net/ipv6/conf/eth1/hop_limit", "77\n");
	assert_int_equal(nfo_hop_limit6_read(root, both, 2), 0);
	assert_int_equal(nfo_hop_limit6_read(root, one, 1), 64);
	assert_int_equal(nfo_hop_limit6_read(root, one, 0), 0);
	put(root, "net/ipv6/conf/eth0/hop_limit", "0\n");
	assert_int_equal(nfo_hop_limit6_read(root, one, 1), 0);
	rm_tree(root);

	lim.hop_limit6 = 77;
	nfo_reject_cfg_from_limits(&lim, &c);
	assert_true(c.flags & NFO_REJECT_RST6);
	assert_int_equal(c.rst_hl6, 77);
	/* the RST's mark would be the packet's: its route may differ */
	lim.fwmark_reflect6 = 1;
	nfo_reject_cfg_from_limits(&lim, &c);
	assert_false(c.flags & NFO_REJECT_RST6);
	lim.fwmark_reflect6 = -1;
	nfo_reject_cfg_from_limits(&lim, &c);
	assert_false(c.flags & NFO_REJECT_RST6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ratemask_list),
		cmocka_unit_test(test_read_defaults),
		cmocka_unit_test(test_read_without_ipv6),
		cmocka_unit_test(test_cfg_defaults),
		cmocka_unit_test(test_cfg_edges),
		cmocka_unit_test(test_hop_limit6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
