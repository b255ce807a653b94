// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pure part of netlink/rtnl.c: finding a link in a snapshot. (The cache
 * itself needs rtnetlink; the integration tests run it.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "netlink/rtnl.h"

static const struct nfo_link links[] = {
	{ .ifindex = 1, .name = "lo" },
	{ .ifindex = 4, .name = "eth0" },
	{ .ifindex = 7, .name = "eth0.10", .lower = 4 },
};

#define NLINKS (sizeof(links) / sizeof(links[0]))

static void test_by_name(void **state)
{
	(void)state;
	assert_ptr_equal(nfo_link_by_name(links, NLINKS, "lo"), &links[0]);
	assert_ptr_equal(nfo_link_by_name(links, NLINKS, "eth0.10"), &links[2]);
	/* whole names only: no prefix match */
	assert_ptr_equal(nfo_link_by_name(links, NLINKS, "eth0"), &links[1]);
	assert_null(nfo_link_by_name(links, NLINKS, "eth"));
	assert_null(nfo_link_by_name(links, NLINKS, ""));
	assert_null(nfo_link_by_name(links, 0, "lo"));
	assert_null(nfo_link_by_name(NULL, 0, "lo"));
}

static void test_by_index(void **state)
{
	(void)state;
	assert_ptr_equal(nfo_link_by_index(links, NLINKS, 1), &links[0]);
	assert_ptr_equal(nfo_link_by_index(links, NLINKS, 7), &links[2]);
	assert_null(nfo_link_by_index(links, NLINKS, 0));
	assert_null(nfo_link_by_index(links, NLINKS, 5));
	assert_null(nfo_link_by_index(links, NLINKS, -1));
	/* only the first n entries are looked at */
	assert_null(nfo_link_by_index(links, 2, 7));
	assert_null(nfo_link_by_index(NULL, 0, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_name),
		cmocka_unit_test(test_by_index),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
