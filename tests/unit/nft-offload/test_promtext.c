// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Prometheus text format writer (nft-offload/promtext.c) behind
 * `status --prometheus`: family headers, samples with and without labels,
 * escaping of label values and help texts, number forms. Each test writes
 * lines and compares the exact text.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nft-offload/promtext.h"

static void test_family_and_samples(void **state)
{
	struct nfo_buf b = {};

	(void)state;
	nfo_prom_family(&b, "x_packets_total", NFO_PROM_COUNTER, "Packets");
	nfo_prom_u64(&b, "x_packets_total", NULL, 0);
	nfo_prom_u64(&b, "x_packets_total",
		     NFO_PROM_LABELS({ "family", "inet" }, { "handle", "4" }), UINT64_MAX);
	nfo_prom_family(&b, "x_enabled", NFO_PROM_GAUGE, "On");
	nfo_prom_u64(&b, "x_enabled", NFO_PROM_LABELS({ "a", "1" }), 1);
	assert_false(b.oom);
	assert_string_equal(b.s, "# HELP x_packets_total Packets\n"
				 "# TYPE x_packets_total counter\n"
				 "x_packets_total 0\n"
				 "x_packets_total{family=\"inet\",handle=\"4\"} 18446744073709551615\n"
				 "# HELP x_enabled On\n"
				 "# TYPE x_enabled gauge\n"
				 "x_enabled{a=\"1\"} 1\n");
	nfo_buf_free(&b);
}

/* A NULL value leaves its label out; all NULL: no braces at all. */
static void test_absent_labels(void **state)
{
	struct nfo_buf b = {};

	(void)state;
	nfo_prom_u64(&b, "m", NFO_PROM_LABELS({ "comment", NULL }, { "t", "f" }), 1);
	nfo_prom_u64(&b, "m", NFO_PROM_LABELS({ "t", "f" }, { "comment", NULL }), 2);
	nfo_prom_u64(&b, "m", NFO_PROM_LABELS({ "comment", NULL }), 3);
	nfo_prom_u64(&b, "m", NFO_PROM_LABELS({ "comment", "" }), 4);
	assert_string_equal(b.s, "m{t=\"f\"} 1\nm{t=\"f\"} 2\nm 3\nm{comment=\"\"} 4\n");
	nfo_buf_free(&b);
}

/* Label values escape \, " and newline; help texts \ and newline only. */
static void test_escaping(void **state)
{
	struct nfo_buf b = {};

	(void)state;
	nfo_prom_escape_label(&b, "a\\b\"c\nd");
	assert_string_equal(b.s, "a\\\\b\\\"c\\nd");
	nfo_buf_free(&b);
	nfo_prom_escape_label(&b, "\\\n\"");
	assert_string_equal(b.s, "\\\\\\n\\\"");
	nfo_buf_free(&b);
	nfo_prom_escape_label(&b, "");
	assert_int_equal(b.len, 0);
	nfo_prom_escape_label(&b, "plain text, {} = ok");
	assert_string_equal(b.s, "plain text, {} = ok");
	nfo_buf_free(&b);

	nfo_prom_u64(&b, "m", NFO_PROM_LABELS({ "comment", "say \"hi\"\\n\n" }), 1);
	assert_string_equal(b.s, "m{comment=\"say \\\"hi\\\"\\\\n\\n\"} 1\n");
	nfo_buf_free(&b);
	nfo_prom_family(&b, "m", NFO_PROM_GAUGE, "a \"b\" \\ c\nd");
	assert_string_equal(b.s, "# HELP m a \"b\" \\\\ c\\nd\n# TYPE m gauge\n");
	nfo_buf_free(&b);
}

/* Doubles: shortest form that reads back exactly; NaN and infinities as the
 * format spells them. */
static void test_doubles(void **state)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{ 0, "0" },		  { 0.1, "0.1" },	{ 1.5e-3, "0.0015" },
		{ 123.456, "123.456" },	  { -2, "-2" },		{ 1e300, "1e+300" },
		{ 0.1 + 0.2, "0.30000000000000004" },
	};
	struct nfo_buf b = {};
	char want[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		nfo_prom_double(&b, "m", NULL, cases[i].v);
		snprintf(want, sizeof(want), "m %s\n", cases[i].text);
		assert_string_equal(b.s, want);
		assert_true(strtod(b.s + 2, NULL) == cases[i].v);
		nfo_buf_free(&b);
	}
	nfo_prom_double(&b, "m", NULL, NAN);
	nfo_prom_double(&b, "m", NULL, INFINITY);
	nfo_prom_double(&b, "m", NULL, -INFINITY);
	assert_string_equal(b.s, "m NaN\nm +Inf\nm -Inf\n");
	nfo_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_family_and_samples),
		cmocka_unit_test(test_absent_labels),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_doubles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
