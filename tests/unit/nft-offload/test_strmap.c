// SPDX-License-Identifier: GPL-2.0-only
/*
 * The string -> uint32_t map (nft-offload/strmap.c): open addressing with
 * tombstones. What matters is that deleted slots never hide keys placed
 * after them, that reusing a tombstone keeps the counts right, and that
 * growing keeps every live key and drops the dead ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nft-offload/strmap.h"

static void key_of(unsigned i, char *buf, size_t len)
{
	snprintf(buf, len, "inet t c %u", i);
}

static void test_empty(void **state)
{
	struct nfo_strmap m = {};
	uint32_t v = 7;

	(void)state;
	assert_false(nfo_strmap_get(&m, "x", &v));
	assert_int_equal(v, 7);
	assert_false(nfo_strmap_del(&m, "x"));
	nfo_strmap_clear(&m);
	assert_int_equal(m.n, 0);
	assert_int_equal(m.cap, 0);
	assert_null(m.e);
}

static void test_put_get_overwrite(void **state)
{
	struct nfo_strmap m = {};
	uint32_t v = 0;

	(void)state;
	assert_int_equal(nfo_strmap_put(&m, "a", 1), 0);
	assert_int_equal(nfo_strmap_put(&m, "b", 2), 0);
	assert_int_equal(nfo_strmap_put(&m, "", 3), 0);
	assert_int_equal(m.n, 3);
	assert_true(nfo_strmap_get(&m, "a", &v));
	assert_int_equal(v, 1);
	assert_true(nfo_strmap_get(&m, "b", &v));
	assert_int_equal(v, 2);
	assert_true(nfo_strmap_get(&m, "", &v));
	assert_int_equal(v, 3);
	assert_false(nfo_strmap_get(&m, "c", &v));
	assert_false(nfo_strmap_get(&m, "a ", &v));

	/* overwriting keeps one entry */
	assert_int_equal(nfo_strmap_put(&m, "a", UINT32_MAX), 0);
	assert_int_equal(m.n, 3);
	assert_true(nfo_strmap_get(&m, "a", &v));
	assert_int_equal(v, UINT32_MAX);
	nfo_strmap_clear(&m);
	assert_int_equal(m.n, 0);
}

/* The map keeps its own copy of the key. */
static void test_key_copied(void **state)
{
	struct nfo_strmap m = {};
	char key[16] = "mutable";
	uint32_t v = 0;

	(void)state;
	assert_int_equal(nfo_strmap_put(&m, key, 9), 0);
	strcpy(key, "changed");
	assert_false(nfo_strmap_get(&m, "changed", &v));
	assert_true(nfo_strmap_get(&m, "mutable", &v));
	assert_int_equal(v, 9);
	nfo_strmap_clear(&m);
}

static void test_delete_and_reinsert(void **state)
{
	struct nfo_strmap m = {};
	uint32_t v = 0;

	(void)state;
	assert_int_equal(nfo_strmap_put(&m, "a", 1), 0);
	assert_int_equal(nfo_strmap_put(&m, "b", 2), 0);
	assert_true(nfo_strmap_del(&m, "a"));
	assert_int_equal(m.n, 1);
	assert_false(nfo_strmap_get(&m, "a", &v));
	assert_false(nfo_strmap_del(&m, "a"));
	assert_true(nfo_strmap_get(&m, "b", &v));
	assert_int_equal(v, 2);
	assert_int_equal(nfo_strmap_put(&m, "a", 10), 0);
	assert_int_equal(m.n, 2);
	assert_true(nfo_strmap_get(&m, "a", &v));
	assert_int_equal(v, 10);
	nfo_strmap_clear(&m);
}

/* Many keys, every other one deleted: the survivors stay reachable past
 * the tombstones (which sit in the probe chains of colliding keys), across
 * growth, and the deleted ones stay gone. */
static void test_many_with_tombstones(void **state)
{
	enum { N = 5000 };
	struct nfo_strmap m = {};
	char k[32];
	uint32_t v;

	(void)state;
	for (unsigned i = 0; i < N; i++) {
		key_of(i, k, sizeof(k));
		assert_int_equal(nfo_strmap_put(&m, k, i * 3), 0);
	}
	assert_int_equal(m.n, N);
	assert_true(m.cap >= 2 * m.used);
	for (unsigned i = 0; i < N; i += 2) {
		key_of(i, k, sizeof(k));
		assert_true(nfo_strmap_del(&m, k));
	}
	assert_int_equal(m.n, N / 2);
	for (unsigned i = 0; i < N; i++) {
		key_of(i, k, sizeof(k));
		v = UINT32_MAX;
		if (i % 2) {
			assert_true(nfo_strmap_get(&m, k, &v));
			assert_int_equal(v, i * 3);
		} else {
			assert_false(nfo_strmap_get(&m, k, &v));
		}
	}
	/* grow again with new keys: the rehash keeps only live keys */
	for (unsigned i = N; i < 3 * N; i++) {
		key_of(i, k, sizeof(k));
		assert_int_equal(nfo_strmap_put(&m, k, i), 0);
	}
	assert_int_equal(m.n, N / 2 + 2 * N);
	for (unsigned i = 0; i < 3 * N; i++) {
		bool live = i >= N || i % 2;

		key_of(i, k, sizeof(k));
		assert_int_equal(nfo_strmap_get(&m, k, &v), live);
		if (live)
			assert_int_equal(v, i < N ? i * 3 : i);
	}
	nfo_strmap_clear(&m);
}

/* Put/delete churn on a few keys must not fill the table with tombstones:
 * "used" (live + tombstones) stays under half the capacity and lookups of
 * absent keys terminate. */
static void test_churn(void **state)
{
	struct nfo_strmap m = {};
	char k[32];
	uint32_t v;

	(void)state;
	for (unsigned i = 0; i < 20000; i++) {
		key_of(i, k, sizeof(k));
		assert_int_equal(nfo_strmap_put(&m, k, i), 0);
		assert_true(nfo_strmap_del(&m, k));
		assert_true(m.used * 2 <= m.cap);
	}
	assert_int_equal(m.n, 0);
	assert_false(nfo_strmap_get(&m, "absent", &v));
	nfo_strmap_clear(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_put_get_overwrite),
		cmocka_unit_test(test_key_copied),
		cmocka_unit_test(test_delete_and_reinsert),
		cmocka_unit_test(test_many_with_tombstones),
		cmocka_unit_test(test_churn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
