// SPDX-License-Identifier: GPL-2.0-only
/*
 * The expiry questions still unanswered (nft-offload/expq.c). What matters
 * for soundness: an answer counts only for the question its key waits for,
 * so a later delete, a later re-add or a set read whole always win over an
 * answer still on its way; and the table never loses or invents a key
 * however keys come and go (backward-shift deletion).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nft-offload/expq.h"

static const int set_a, set_b;

static void key4(uint32_t i, uint8_t *k)
{
	k[0] = 10, k[1] = (uint8_t)(i >> 16), k[2] = (uint8_t)(i >> 8), k[3] = (uint8_t)i;
}

static void test_answer_taken_once(void **state)
{
	struct nfo_expq *q = NULL;
	uint8_t k[4];
	uint64_t t;

	(void)state;
	assert_int_equal(nfo_expq_new(&q), 0);
	key4(1, k);
	assert_false(nfo_expq_pending(q, &set_a, k, 4));
	assert_int_equal(nfo_expq_ask(q, &set_a, k, 4, &t), 0);
	assert_true(t != 0);
	assert_true(nfo_expq_pending(q, &set_a, k, 4));
	assert_int_equal(nfo_expq_count(q), 1);
	assert_true(nfo_expq_take(q, &set_a, k, 4, t));
	/* the same answer twice (or a duplicate message): the second is late */
	assert_false(nfo_expq_take(q, &set_a, k, 4, t));
	assert_false(nfo_expq_pending(q, &set_a, k, 4));
	assert_int_equal(nfo_expq_count(q), 0);
	nfo_expq_free(&q);
	assert_null(q);
	nfo_expq_free(&q);
}

/* Added, asked; a later transaction deletes it before the answer comes:
 * the answer (present, from before the delete) must not bring it back. */
static void test_later_delete_wins(void **state)
{
	struct nfo_expq *q = NULL;
	uint8_t k[4];
	uint64_t t;

	(void)state;
	assert_int_equal(nfo_expq_new(&q), 0);
	key4(7, k);
	assert_int_equal(nfo_expq_ask(q, &set_a, k, 4, &t), 0);
	nfo_expq_cancel(q, &set_a, k, 4);
	assert_false(nfo_expq_pending(q, &set_a, k, 4));
	assert_false(nfo_expq_take(q, &set_a, k, 4, t));
	/* a delete of a key never asked for is a no-op */
	key4(8, k);
	nfo_expq_cancel(q, &set_a, k, 4);
	assert_int_equal(nfo_expq_count(q), 0);
	nfo_expq_free(&q);
}

/* Added, deleted and added again (with a shorter timeout, say) while the
 * first question is out: only the second question's answer counts, and it
 * counts after the first one arrived late. */
static void test_later_add_supersedes(void **state)
{
	struct nfo_expq *q = NULL;
	uint8_t k[4];
	uint64_t t1, t2, t3;

	(void)state;
	assert_int_equal(nfo_expq_new(&q), 0);
	key4(9, k);
	assert_int_equal(nfo_expq_ask(q, &set_a, k, 4, &t1), 0);
	nfo_expq_cancel(q, &set_a, k, 4);
	assert_int_equal(nfo_expq_ask(q, &set_a, k, 4, &t2), 0);
	assert_true(t2 > t1);
	assert_false(nfo_expq_take(q, &set_a, k, 4, t1));
	assert_true(nfo_expq_pending(q, &set_a, k, 4));
	/* a re-add without a delete in between: asked again, too */
	assert_int_equal(nfo_expq_ask(q, &set_a, k, 4, &t3), 0);
	assert_false(nfo_expq_take(q, &set_a, k, 4, t2));
	assert_true(nfo_expq_take(q, &set_a, k, 4, t3));
	assert_int_equal(nfo_expq_count(q), 0);
	nfo_expq_free(&q);
}

/* The same key in two sets is two questions. */
static void test_sets_apart(void **state)
{
	struct nfo_expq *q = NULL;
	uint8_t k[4];
	uint64_t ta, tb;

	(void)state;
	assert_int_equal(nfo_expq_new(&q), 0);
	key4(3, k);
	assert_int_equal(nfo_expq_ask(q, &set_a, k, 4, &ta), 0);
	assert_int_equal(nfo_expq_ask(q, &set_b, k, 4, &tb), 0);
	assert_false(nfo_expq_take(q, &set_b, k, 4, ta));
	nfo_expq_cancel(q, &set_a, k, 4);
	assert_true(nfo_expq_pending(q, &set_b, k, 4));
	assert_true(nfo_expq_take(q, &set_b, k, 4, tb));
	/* a shorter key with the same first bytes is another key */
	assert_int_equal(nfo_expq_ask(q, &set_a, k, 4, &ta), 0);
	assert_false(nfo_expq_pending(q, &set_a, k, 3));
	assert_false(nfo_expq_take(q, &set_a, k, 3, ta));
	assert_int_equal(nfo_expq_ask(q, &set_a, k, NFO_EXPQ_KEY_MAX + 1, &tb), -EINVAL);
	nfo_expq_free(&q);
}

/* A set read whole (or the model read again after lost notifications):
 * the answers on their way no longer count, and a question asked after
 * gets a ticket none of them carries. */
static void test_forget(void **state)
{
	struct nfo_expq *q = NULL;
	uint64_t ta[500], tb[500], t;
	uint8_t k[4];

	(void)state;
	assert_int_equal(nfo_expq_new(&q), 0);
	for (uint32_t i = 0; i < 500; i++) {
		key4(i, k);
		assert_int_equal(nfo_expq_ask(q, &set_a, k, 4, &ta[i]), 0);
		assert_int_equal(nfo_expq_ask(q, &set_b, k, 4, &tb[i]), 0);
	}
	nfo_expq_forget(q, &set_a);
	assert_int_equal(nfo_expq_count(q), 500);
	for (uint32_t i = 0; i < 500; i++) {
		key4(i, k);
		assert_false(nfo_expq_pending(q, &set_a, k, 4));
		assert_true(nfo_expq_pending(q, &set_b, k, 4));
	}
	key4(0, k);
	assert_int_equal(nfo_expq_ask(q, &set_a, k, 4, &t), 0);
	for (uint32_t i = 0; i < 500; i++)
		assert_true(t != ta[i] && t != tb[i]);
	assert_false(nfo_expq_take(q, &set_a, k, 4, ta[0]));
	nfo_expq_forget(q, NULL);
	assert_int_equal(nfo_expq_count(q), 0);
	for (uint32_t i = 0; i < 500; i++) {
		key4(i, k);
		assert_false(nfo_expq_take(q, &set_b, k, 4, tb[i]));
	}
	nfo_expq_free(&q);
}

/* Random asks, deletes and answers against a plain array: every key
 * reachable, nothing left behind (the table's deletion moves entries). */
static void test_churn(void **state)
{
	enum { N = 3000 };
	static uint64_t want[N]; /* 0: not pending */
	struct nfo_expq *q = NULL;
	size_t n = 0;
	uint8_t k[4];

	(void)state;
	srand(42);
	memset(want, 0, sizeof(want));
	assert_int_equal(nfo_expq_new(&q), 0);
	for (int step = 0; step < 200000; step++) {
		uint32_t i = (uint32_t)rand() % N;
		int op = rand() % 4;
		uint64_t t;

		key4(i, k);
		if (op == 0 || op == 1) {
			assert_int_equal(nfo_expq_ask(q, &set_a, k, 4, &t), 0);
			n += !want[i];
			want[i] = t;
		} else if (op == 2) {
			nfo_expq_cancel(q, &set_a, k, 4);
			n -= !!want[i];
			want[i] = 0;
		} else {
			/* an answer: the current one, or a late one */
			bool late = rand() % 2 || !want[i];

			assert_int_equal(nfo_expq_take(q, &set_a, k, 4, late ? want[i] + 1 : want[i]),
					 !late);
			if (!late) {
				want[i] = 0;
				n--;
			}
		}
		assert_int_equal(nfo_expq_count(q), n);
	}
	for (uint32_t i = 0; i < N; i++) {
		key4(i, k);
		assert_int_equal(nfo_expq_pending(q, &set_a, k, 4), want[i] != 0);
		if (want[i])
			assert_true(nfo_expq_take(q, &set_a, k, 4, want[i]));
	}
	assert_int_equal(nfo_expq_count(q), 0);
	nfo_expq_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_taken_once),
		cmocka_unit_test(test_later_delete_wins),
		cmocka_unit_test(test_later_add_supersedes),
		cmocka_unit_test(test_sets_apart),
		cmocka_unit_test(test_forget),
		cmocka_unit_test(test_churn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
