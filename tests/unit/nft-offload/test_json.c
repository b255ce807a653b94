// SPDX-License-Identifier: GPL-2.0-only
/*
 * The text buffer and JSON writer (nft-offload/json.c) behind `status --json`
 * and the bench's reports: separators between members and elements at every
 * depth, string escaping, number forms. Each test writes a document and
 * compares the exact text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nft-offload/json.h"

static void test_buf_put_printf(void **state)
{
	struct nfo_buf b = {};

	(void)state;
	nfo_buf_put(&b, "ab", 2);
	nfo_buf_put(&b, "cdef", 2);
	nfo_buf_printf(&b, "-%d-%s", 42, "x");
	assert_string_equal(b.s, "abcd-42-x");
	assert_int_equal(b.len, 9);
	assert_false(b.oom);
	nfo_buf_free(&b);
	assert_null(b.s);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
}

/* Growing past the first allocation keeps every byte and the terminator. */
static void test_buf_grows(void **state)
{
	struct nfo_buf b = {};

	(void)state;
	for (int i = 0; i < 1000; i++)
		nfo_buf_printf(&b, "%03d,", i);
	assert_int_equal(b.len, 4000);
	assert_true(b.cap > b.len);
	assert_int_equal(strlen(b.s), 4000);
	assert_memory_equal(b.s, "000,001,", 8);
	assert_string_equal(b.s + 3996, "999,");
	nfo_buf_free(&b);
}

static void test_empty_containers(void **state)
{
	struct nfo_buf b = {};
	struct nfo_json j;

	(void)state;
	nfo_json_init(&j, &b);
	nfo_json_arr_begin(&j);
	nfo_json_obj_begin(&j);
	nfo_json_obj_end(&j);
	nfo_json_arr_begin(&j);
	nfo_json_arr_end(&j);
	nfo_json_arr_end(&j);
	assert_string_equal(b.s, "[{},[]]");
	assert_int_equal(j.depth, 0);
	nfo_buf_free(&b);
}

static void test_nesting_and_separators(void **state)
{
	struct nfo_buf b = {};
	struct nfo_json j;

	(void)state;
	nfo_json_init(&j, &b);
	nfo_json_obj_begin(&j);
	nfo_json_kstr(&j, "name", "lo");
	nfo_json_key(&j, "rules");
	nfo_json_arr_begin(&j);
	nfo_json_obj_begin(&j);
	nfo_json_ku64(&j, "handle", 4);
	nfo_json_kbool(&j, "offloaded", true);
	nfo_json_obj_end(&j);
	nfo_json_obj_begin(&j);
	nfo_json_ku64(&j, "handle", 5);
	nfo_json_kbool(&j, "offloaded", false);
	nfo_json_key(&j, "why");
	nfo_json_null(&j);
	nfo_json_obj_end(&j);
	nfo_json_arr_end(&j);
	nfo_json_key(&j, "empty");
	nfo_json_obj_begin(&j);
	nfo_json_obj_end(&j);
	nfo_json_ki64(&j, "last", -1);
	nfo_json_obj_end(&j);
	assert_string_equal(b.s, "{\"name\":\"lo\",\"rules\":[{\"handle\":4,\"offloaded\":true},"
				 "{\"handle\":5,\"offloaded\":false,\"why\":null}],"
				 "\"empty\":{},\"last\":-1}");
	assert_int_equal(j.depth, 0);
	nfo_buf_free(&b);
}

/* Values in an array: a comma before every element but the first. */
static void test_array_values(void **state)
{
	struct nfo_buf b = {};
	struct nfo_json j;

	(void)state;
	nfo_json_init(&j, &b);
	nfo_json_arr_begin(&j);
	nfo_json_u64(&j, 0);
	nfo_json_i64(&j, -5);
	nfo_json_str(&j, "s");
	nfo_json_str(&j, NULL);
	nfo_json_bool(&j, false);
	nfo_json_null(&j);
	nfo_json_double(&j, 1.5);
	nfo_json_arr_end(&j);
	assert_string_equal(b.s, "[0,-5,\"s\",null,false,null,1.500]");
	nfo_buf_free(&b);
}

static void test_numbers(void **state)
{
	struct nfo_buf b = {};
	struct nfo_json j;

	(void)state;
	nfo_json_init(&j, &b);
	nfo_json_obj_begin(&j);
	nfo_json_ku64(&j, "u64max", UINT64_MAX);
	nfo_json_ki64(&j, "i64min", INT64_MIN);
	nfo_json_ki64(&j, "i64max", INT64_MAX);
	nfo_json_kdouble(&j, "third", 1.0 / 3.0);
	nfo_json_kdouble(&j, "neg", -2.0);
	nfo_json_kdouble(&j, "round", 0.0005);
	nfo_json_obj_end(&j);
	assert_string_equal(b.s, "{\"u64max\":18446744073709551615,"
				 "\"i64min\":-9223372036854775808,"
				 "\"i64max\":9223372036854775807,"
				 "\"third\":0.333,\"neg\":-2.000,\"round\":0.001}");
	nfo_buf_free(&b);
}

/* Quotes and backslashes escaped, control characters as \u00XX, anything
 * else (UTF-8 included) copied as it is; keys escaped like values. */
static void test_escaping(void **state)
{
	struct nfo_buf b = {};
	struct nfo_json j;

	(void)state;
	nfo_json_init(&j, &b);
	nfo_json_obj_begin(&j);
	nfo_json_kstr(&j, "q\"k\\", "a\"b\\c");
	nfo_json_kstr(&j, "ctl", "\n\t\r\x01\x1f ");
	nfo_json_kstr(&j, "utf8", "caf\xc3\xa9/\x7f");
	nfo_json_kstr(&j, "", "");
	nfo_json_obj_end(&j);
	assert_string_equal(b.s, "{\"q\\\"k\\\\\":\"a\\\"b\\\\c\","
				 "\"ctl\":\"\\u000a\\u0009\\u000d\\u0001\\u001f \","
				 "\"utf8\":\"caf\xc3\xa9/\x7f\",\"\":\"\"}");
	nfo_buf_free(&b);
}

/* Past NFO_JSON_DEPTH the writer stops counting levels but still writes
 * every bracket; the document stays balanced. */
static void test_deep_nesting(void **state)
{
	struct nfo_buf b = {};
	struct nfo_json j;
	char want[2 * (NFO_JSON_DEPTH + 4) + 1];
	int n = NFO_JSON_DEPTH + 4;

	(void)state;
	nfo_json_init(&j, &b);
	for (int i = 0; i < n; i++)
		nfo_json_arr_begin(&j);
	assert_int_equal(j.depth, NFO_JSON_DEPTH - 1);
	for (int i = 0; i < n; i++)
		nfo_json_arr_end(&j);
	assert_int_equal(j.depth, 0);
	memset(want, '[', (size_t)n);
	memset(want + n, ']', (size_t)n);
	want[2 * n] = '\0';
	assert_string_equal(b.s, want);
	nfo_buf_free(&b);
}

/* Two top-level values in one buffer (one report after another) are
 * separated like array elements. */
static void test_top_level_sequence(void **state)
{
	struct nfo_buf b = {};
	struct nfo_json j;

	(void)state;
	nfo_json_init(&j, &b);
	nfo_json_obj_begin(&j);
	nfo_json_kbool(&j, "a", true);
	nfo_json_obj_end(&j);
	nfo_json_u64(&j, 7);
	assert_string_equal(b.s, "{\"a\":true},7");
	nfo_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_put_printf),
		cmocka_unit_test(test_buf_grows),
		cmocka_unit_test(test_empty_containers),
		cmocka_unit_test(test_nesting_and_separators),
		cmocka_unit_test(test_array_values),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_top_level_sequence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
