// SPDX-License-Identifier: GPL-2.0-only
/*
 * Value sets (nft-offload/vset.c): sorted, disjoint, non-adjacent inclusive
 * intervals of unsigned 128-bit numbers. The edges that matter are the ones
 * next to 0 and to the largest value of a field, where "hi + 1" and
 * "lo - 1" wrap around.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nft-offload/vset.h"

#define U128_MAX (~(nfo_u128)0)

static void print_set(const char *what, const struct nfo_vset *s)
{
	fprintf(stderr, "%s (%zu):", what, s->n);
	for (size_t i = 0; i < s->n; i++)
		fprintf(stderr, " [%#llx:%016llx, %#llx:%016llx]",
			(unsigned long long)(s->iv[i].lo >> 64), (unsigned long long)s->iv[i].lo,
			(unsigned long long)(s->iv[i].hi >> 64), (unsigned long long)s->iv[i].hi);
	fprintf(stderr, "\n");
}

/* Asserts that s is exactly the intervals given as lo, hi pairs. */
static void check_set(const struct nfo_vset *s, size_t n, ...)
{
	struct nfo_vset want = {};
	va_list ap;
	bool eq;

	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		nfo_u128 lo = va_arg(ap, nfo_u128);
		nfo_u128 hi = va_arg(ap, nfo_u128);

		/* push, not add: the expectation is written canonical */
		assert_int_equal(nfo_vset_push(&want, lo, hi), 0);
	}
	va_end(ap);
	eq = nfo_vset_equal(s, &want);
	if (!eq) {
		print_set("expected", &want);
		print_set("got     ", s);
	}
	nfo_vset_free(&want);
	assert_true(eq);
}

static void test_u128_max(void **state)
{
	assert_true(nfo_u128_max(1) == 1);
	assert_true(nfo_u128_max(8) == 0xff);
	assert_true(nfo_u128_max(16) == 0xffff);
	assert_true(nfo_u128_max(32) == 0xffffffffu);
	assert_true(nfo_u128_max(64) == UINT64_MAX);
	assert_true(nfo_u128_max(127) == U128_MAX >> 1);
	assert_true(nfo_u128_max(128) == U128_MAX);
}

static void test_u128_be(void **state)
{
	uint8_t ff[16], out[16], addr[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 };
	uint8_t port[2] = { 0x01, 0xbb };

	memset(ff, 0xff, sizeof(ff));
	assert_true(nfo_u128_from_be(ff, 16) == U128_MAX);
	assert_true(nfo_u128_from_be(port, 2) == 443);
	assert_true(nfo_u128_from_be(addr, 16) == (((nfo_u128)0x20010db8u << 96) | 1));
	assert_true(nfo_u128_from_be(addr, 0) == 0);

	nfo_u128_to_be(U128_MAX, out, 16);
	assert_memory_equal(out, ff, 16);
	nfo_u128_to_be(((nfo_u128)0x20010db8u << 96) | 1, out, 16);
	assert_memory_equal(out, addr, 16);
	/* Only the low len bytes are written. */
	memset(out, 0xaa, sizeof(out));
	nfo_u128_to_be(0x1234567, out, 2);
	assert_int_equal(out[0], 0x45);
	assert_int_equal(out[1], 0x67);
	assert_int_equal(out[2], 0xaa);
}

static void test_push_and_normalize(void **state)
{
	struct nfo_vset s = {};

	/* lo > hi is the empty interval: nothing is added. */
	assert_int_equal(nfo_vset_push(&s, 5, 4), 0);
	assert_int_equal(s.n, 0);

	assert_int_equal(nfo_vset_push(&s, 30, 40), 0);
	assert_int_equal(nfo_vset_push(&s, 10, 20), 0);
	assert_int_equal(nfo_vset_push(&s, 21, 25), 0); /* adjacent to [10, 20] */
	assert_int_equal(nfo_vset_push(&s, 35, 50), 0); /* overlaps [30, 40] */
	assert_int_equal(nfo_vset_push(&s, 32, 33), 0); /* inside */
	assert_int_equal(nfo_vset_push(&s, 52, 60), 0); /* a gap of one value (51) */
	assert_int_equal(s.n, 6);
	nfo_vset_normalize(&s);
	check_set(&s, 3, (nfo_u128)10, (nfo_u128)25, (nfo_u128)30, (nfo_u128)50, (nfo_u128)52,
		  (nfo_u128)60);

	/* Normalising again changes nothing. */
	nfo_vset_normalize(&s);
	check_set(&s, 3, (nfo_u128)10, (nfo_u128)25, (nfo_u128)30, (nfo_u128)50, (nfo_u128)52,
		  (nfo_u128)60);

	/* Filling the gap merges everything. */
	assert_int_equal(nfo_vset_add(&s, 51, 51), 0);
	assert_int_equal(nfo_vset_add(&s, 26, 29), 0);
	check_set(&s, 1, (nfo_u128)10, (nfo_u128)60);
	nfo_vset_free(&s);
	assert_null(s.iv);
	assert_int_equal(s.n, 0);
	assert_int_equal(s.cap, 0);
}

static void test_normalize_edges(void **state)
{
	struct nfo_vset s = {};

	/* Adjacent at the top of the 128-bit range. */
	assert_int_equal(nfo_vset_push(&s, U128_MAX, U128_MAX), 0);
	assert_int_equal(nfo_vset_push(&s, 0, U128_MAX - 1), 0);
	nfo_vset_normalize(&s);
	check_set(&s, 1, (nfo_u128)0, U128_MAX);
	nfo_vset_clear(&s);
	assert_int_equal(s.n, 0);

	/* [max, max] after an interval ending at max: no wrap-around of hi + 1. */
	assert_int_equal(nfo_vset_push(&s, 5, U128_MAX), 0);
	assert_int_equal(nfo_vset_push(&s, U128_MAX, U128_MAX), 0);
	assert_int_equal(nfo_vset_push(&s, 0, 0), 0);
	nfo_vset_normalize(&s);
	check_set(&s, 2, (nfo_u128)0, (nfo_u128)0, (nfo_u128)5, U128_MAX);
	nfo_vset_clear(&s);

	/* An interval starting at 0 after one at 0: lo - 1 wraps to max. */
	assert_int_equal(nfo_vset_push(&s, 0, 3), 0);
	assert_int_equal(nfo_vset_push(&s, 0, 0), 0);
	assert_int_equal(nfo_vset_push(&s, 0, 1), 0);
	nfo_vset_normalize(&s);
	check_set(&s, 1, (nfo_u128)0, (nfo_u128)3);
	nfo_vset_clear(&s);

	/* Single values at both ends of the range stay apart. */
	assert_int_equal(nfo_vset_add(&s, U128_MAX, U128_MAX), 0);
	assert_int_equal(nfo_vset_add(&s, 0, 0), 0);
	check_set(&s, 2, (nfo_u128)0, (nfo_u128)0, U128_MAX, U128_MAX);
	assert_true(nfo_vset_contains(&s, 0));
	assert_true(nfo_vset_contains(&s, U128_MAX));
	assert_false(nfo_vset_contains(&s, 1));
	assert_false(nfo_vset_contains(&s, U128_MAX - 1));
	nfo_vset_free(&s);
}

static void test_complement(void **state)
{
	struct nfo_vset s = {};

	/* Empty -> full, full -> empty, for 8 and 128 bits. */
	assert_int_equal(nfo_vset_complement(&s, 0xff), 0);
	check_set(&s, 1, (nfo_u128)0, (nfo_u128)0xff);
	assert_true(nfo_vset_is_full(&s, 0xff));
	assert_int_equal(nfo_vset_complement(&s, 0xff), 0);
	assert_int_equal(s.n, 0);

	assert_int_equal(nfo_vset_complement(&s, U128_MAX), 0);
	check_set(&s, 1, (nfo_u128)0, U128_MAX);
	assert_true(nfo_vset_is_full(&s, U128_MAX));
	assert_int_equal(nfo_vset_complement(&s, U128_MAX), 0);
	assert_int_equal(s.n, 0);

	/* Values at the edges. */
	assert_int_equal(nfo_vset_add(&s, 0, 0), 0);
	assert_int_equal(nfo_vset_add(&s, U128_MAX, U128_MAX), 0);
	assert_int_equal(nfo_vset_complement(&s, U128_MAX), 0);
	check_set(&s, 1, (nfo_u128)1, U128_MAX - 1);
	assert_int_equal(nfo_vset_complement(&s, U128_MAX), 0);
	check_set(&s, 2, (nfo_u128)0, (nfo_u128)0, U128_MAX, U128_MAX);
	nfo_vset_clear(&s);

	/* A prefix and what is left of it. */
	assert_int_equal(nfo_vset_add(&s, (nfo_u128)0xfe80 << 112,
				      ((nfo_u128)0xfe80 << 112) | (U128_MAX >> 10)), 0);
	assert_int_equal(nfo_vset_complement(&s, U128_MAX), 0);
	check_set(&s, 2, (nfo_u128)0, ((nfo_u128)0xfe80 << 112) - 1,
		  ((nfo_u128)0xfe80 << 112) + (U128_MAX >> 10) + 1, U128_MAX);
	nfo_vset_clear(&s);

	/* Several holes in a 16-bit field. */
	assert_int_equal(nfo_vset_add(&s, 22, 22), 0);
	assert_int_equal(nfo_vset_add(&s, 80, 80), 0);
	assert_int_equal(nfo_vset_add(&s, 1000, 0xffff), 0);
	assert_int_equal(nfo_vset_complement(&s, 0xffff), 0);
	check_set(&s, 3, (nfo_u128)0, (nfo_u128)21, (nfo_u128)23, (nfo_u128)79, (nfo_u128)81,
		  (nfo_u128)999);
	nfo_vset_free(&s);
}

/* "s := [0, max] \ s": values of s above max are not in [0, max] and must
 * not leak into the result. */
static struct nfo_vset beyond; /* freed by the teardown, even on failure */

static int free_beyond(void **state)
{
	nfo_vset_free(&beyond);
	return 0;
}

static void test_complement_beyond_max(void **state)
{
	assert_int_equal(nfo_vset_add(&beyond, 0x10, 0x1ff), 0);
	assert_int_equal(nfo_vset_complement(&beyond, 0xff), 0);
	check_set(&beyond, 1, (nfo_u128)0, (nfo_u128)0xf);
	nfo_vset_clear(&beyond);

	assert_int_equal(nfo_vset_add(&beyond, 0x300, 0x400), 0);
	assert_int_equal(nfo_vset_complement(&beyond, 0xff), 0);
	check_set(&beyond, 1, (nfo_u128)0, (nfo_u128)0xff);
}

static void test_intersect(void **state)
{
	struct nfo_vset a = {}, b = {}, full = {}, empty = {};

	assert_int_equal(nfo_vset_add(&full, 0, U128_MAX), 0);

	/* With full: unchanged; with empty: empty. */
	assert_int_equal(nfo_vset_add(&a, 10, 20), 0);
	assert_int_equal(nfo_vset_add(&a, U128_MAX - 5, U128_MAX), 0);
	assert_int_equal(nfo_vset_intersect(&a, &full), 0);
	check_set(&a, 2, (nfo_u128)10, (nfo_u128)20, U128_MAX - 5, U128_MAX);
	assert_int_equal(nfo_vset_intersect(&a, &empty), 0);
	assert_int_equal(a.n, 0);

	/* Full with a set is the set. */
	assert_int_equal(nfo_vset_copy(&a, &full), 0);
	assert_int_equal(nfo_vset_add(&b, 0, 0), 0);
	assert_int_equal(nfo_vset_add(&b, U128_MAX, U128_MAX), 0);
	assert_int_equal(nfo_vset_intersect(&a, &b), 0);
	check_set(&a, 2, (nfo_u128)0, (nfo_u128)0, U128_MAX, U128_MAX);
	nfo_vset_clear(&a);
	nfo_vset_clear(&b);

	/* One interval of a overlapping several of b, touching at the ends. */
	assert_int_equal(nfo_vset_add(&a, 10, 100), 0);
	assert_int_equal(nfo_vset_add(&a, 200, 300), 0);
	assert_int_equal(nfo_vset_add(&b, 0, 10), 0);
	assert_int_equal(nfo_vset_add(&b, 50, 60), 0);
	assert_int_equal(nfo_vset_add(&b, 100, 200), 0);
	assert_int_equal(nfo_vset_add(&b, 300, 400), 0);
	assert_int_equal(nfo_vset_intersect(&a, &b), 0);
	check_set(&a, 5, (nfo_u128)10, (nfo_u128)10, (nfo_u128)50, (nfo_u128)60, (nfo_u128)100,
		  (nfo_u128)100, (nfo_u128)200, (nfo_u128)200, (nfo_u128)300, (nfo_u128)300);
	/* b is left alone. */
	check_set(&b, 4, (nfo_u128)0, (nfo_u128)10, (nfo_u128)50, (nfo_u128)60, (nfo_u128)100,
		  (nfo_u128)200, (nfo_u128)300, (nfo_u128)400);
	nfo_vset_clear(&a);

	/* Disjoint. */
	assert_int_equal(nfo_vset_add(&a, 11, 49), 0);
	assert_int_equal(nfo_vset_intersect(&a, &b), 0);
	assert_int_equal(a.n, 0);

	nfo_vset_free(&a);
	nfo_vset_free(&b);
	nfo_vset_free(&full);
	nfo_vset_free(&empty);
}

static void test_contains_equal_full_copy(void **state)
{
	struct nfo_vset a = {}, b = {};

	for (unsigned v = 0; v < 40; v += 4)
		assert_int_equal(nfo_vset_add(&a, v, v + 1), 0);
	assert_int_equal(a.n, 10);
	for (unsigned v = 0; v < 44; v++)
		assert_int_equal(nfo_vset_contains(&a, v), (v % 4) < 2 && v < 40);
	assert_false(nfo_vset_contains(&b, 0));

	assert_int_equal(nfo_vset_copy(&b, &a), 0);
	assert_true(nfo_vset_equal(&a, &b));
	assert_true(a.iv != b.iv);
	assert_int_equal(nfo_vset_add(&b, 2, 2), 0);
	assert_false(nfo_vset_equal(&a, &b));
	/* Same count, different bounds. */
	nfo_vset_clear(&a);
	nfo_vset_clear(&b);
	assert_int_equal(nfo_vset_add(&a, 1, 5), 0);
	assert_int_equal(nfo_vset_add(&b, 1, 6), 0);
	assert_false(nfo_vset_equal(&a, &b));
	assert_true(nfo_vset_equal(&(struct nfo_vset){}, &(struct nfo_vset){}));

	/* Copying the empty set over a non-empty one. */
	assert_int_equal(nfo_vset_copy(&b, &(struct nfo_vset){}), 0);
	assert_int_equal(b.n, 0);

	assert_false(nfo_vset_is_full(&a, 0xff));
	nfo_vset_clear(&a);
	assert_int_equal(nfo_vset_add(&a, 0, 0xff), 0);
	assert_true(nfo_vset_is_full(&a, 0xff));
	assert_false(nfo_vset_is_full(&a, 0xffff));
	assert_false(nfo_vset_is_full(&(struct nfo_vset){}, 0xff));
	nfo_vset_free(&a);
	nfo_vset_free(&b);
}

/* ---- against a bitmap model of an 8-bit field ---------------------------- */

struct bits {
	uint8_t b[256];
};

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static void random_set(struct nfo_vset *s, struct bits *m)
{
	unsigned n = rnd() % 6;

	nfo_vset_clear(s);
	memset(m, 0, sizeof(*m));
	for (unsigned i = 0; i < n; i++) {
		unsigned lo = rnd() % 256, len = rnd() % 4 ? rnd() % 8 : rnd() % 256, hi;

		hi = lo + len > 255 ? 255 : lo + len;
		if (rnd() % 8 == 0)
			lo = hi + 1; /* empty: lo > hi */
		assert_int_equal(nfo_vset_push(s, lo, hi), 0);
		for (unsigned v = lo; v <= hi; v++)
			m->b[v] = 1;
	}
	nfo_vset_normalize(s);
}

/* Canonical form: the intervals of the model, in order, nothing adjacent. */
static void check_model(const struct nfo_vset *s, const struct bits *m)
{
	size_t k = 0;

	for (unsigned v = 0; v < 256;) {
		unsigned lo;

		if (!m->b[v]) {
			v++;
			continue;
		}
		lo = v;
		while (v < 256 && m->b[v])
			v++;
		assert_true(k < s->n);
		assert_true(s->iv[k].lo == lo);
		assert_true(s->iv[k].hi == v - 1);
		k++;
	}
	assert_int_equal(k, s->n);
	for (unsigned v = 0; v < 256; v++)
		assert_int_equal(nfo_vset_contains(s, v), m->b[v]);
}

static void test_random_model(void **state)
{
	struct nfo_vset a = {}, b = {}, c = {};
	struct bits ma, mb, mc;

	rng_state = 0x9e3779b97f4a7c15ull;
	for (int iter = 0; iter < 20000; iter++) {
		random_set(&a, &ma);
		check_model(&a, &ma);
		random_set(&b, &mb);

		assert_int_equal(nfo_vset_copy(&c, &a), 0);
		assert_int_equal(nfo_vset_intersect(&c, &b), 0);
		for (unsigned v = 0; v < 256; v++)
			mc.b[v] = ma.b[v] && mb.b[v];
		check_model(&c, &mc);

		assert_int_equal(nfo_vset_complement(&a, 0xff), 0);
		for (unsigned v = 0; v < 256; v++)
			ma.b[v] = !ma.b[v];
		check_model(&a, &ma);
		assert_int_equal(nfo_vset_is_full(&a, 0xff), !memchr(ma.b, 0, 256));

		assert_int_equal(nfo_vset_equal(&c, &b), !memcmp(&mc, &mb, sizeof(mc)));
	}
	nfo_vset_free(&a);
	nfo_vset_free(&b);
	nfo_vset_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u128_max),
		cmocka_unit_test(test_u128_be),
		cmocka_unit_test(test_push_and_normalize),
		cmocka_unit_test(test_normalize_edges),
		cmocka_unit_test(test_complement),
		cmocka_unit_test_teardown(test_complement_beyond_max, free_beyond),
		cmocka_unit_test(test_intersect),
		cmocka_unit_test(test_contains_equal_full_copy),
		cmocka_unit_test(test_random_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
