// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel's HZ from a measurement of jiffies against CLOCK_MONOTONIC
 * (clock.c): the value configurable kernels have within the measurement's
 * bounds, the lowest if several fit (a lower HZ places expiries earlier,
 * which is the safe side).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "nft-offload/clock.h"

#define MS 1000000ull

static void test_hz_from(void **state)
{
	(void)state;
	/* 100 ms at HZ=250: 24 to 26 ticks seen */
	assert_int_equal(nfo_clock_hz_from(25, 100 * MS, 101 * MS), 250);
	assert_int_equal(nfo_clock_hz_from(24, 100 * MS, 101 * MS), 250);
	assert_int_equal(nfo_clock_hz_from(26, 100 * MS, 100 * MS), 250);
	assert_int_equal(nfo_clock_hz_from(10, 100 * MS, 101 * MS), 100);
	assert_int_equal(nfo_clock_hz_from(30, 100 * MS, 101 * MS), 300);
	assert_int_equal(nfo_clock_hz_from(100, 100 * MS, 101 * MS), 1000);
	/* a loaded machine: the sleep took 2 s */
	assert_int_equal(nfo_clock_hz_from(500, 2000 * MS, 2001 * MS), 250);
	/* several fit (a coarse measurement): the lowest */
	assert_int_equal(nfo_clock_hz_from(25, 80 * MS, 120 * MS), 200);
	/* none known fits: the lowest the measurement allows */
	assert_int_equal(nfo_clock_hz_from(4000, 1000 * MS, 1000 * MS), 3999);
	/* nothing to tell */
	assert_int_equal(nfo_clock_hz_from(0, 0, 0), 0);
	assert_int_equal(nfo_clock_hz_from(5, 2 * MS, 1 * MS), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hz_from),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
