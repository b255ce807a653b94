// SPDX-License-Identifier: GPL-2.0-only
/* Rule texts for `explain`: nft's listing in, one text per rule out. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nft-offload/ruletext.h"

/* As `nft -a -s list ruleset` prints it (nftables 1.0.6). */
static const char LISTING[] =
	"table inet fw { # handle 1\n"
	"\tcounter cnt { # handle 3\n"
	"\t\tpackets 0 bytes 0\n"
	"\t}\n"
	"\n"
	"\tset s { # handle 4\n"
	"\t\ttype ipv4_addr\n"
	"\t\tflags interval\n"
	"\t\telements = { 10.0.0.0/8, 192.168.0.0/16,\n"
	"\t\t\t     172.16.0.0/12 }\n"
	"\t}\n"
	"\n"
	"\tchain input { # handle 1\n"
	"\t\ttype filter hook input priority filter; policy accept;\n"
	"\t\ttcp dport { 22, 80 } counter accept comment \"a { b # handle 7\" # handle 6\n"
	"\t\tip saddr @s drop # handle 7\n"
	"\t\tmeta mark 0x00000001 jump other # handle 8\n"
	"\t}\n"
	"\n"
	"\tchain other { # handle 2\n"
	"\t\tct state vmap { established : accept, new : drop } # handle 10\n"
	"\t}\n"
	"}\n"
	"table netdev nd { # handle 2\n"
	"\tchain ing { # handle 1\n"
	"\t\ttype filter hook ingress device \"lo\" priority filter; policy accept;\n"
	"\t\tudp dport 9 drop # handle 2\n"
	"\t}\n"
	"}\n";

static void test_listing(void **state)
{
	struct nfo_ruletexts t = {};
	struct nfo_buf b = {};
	int n;

	(void)state;
	n = nfo_ruletext_from_listing(LISTING, strlen(LISTING), &b);
	assert_int_equal(n, 5);
	nfo_buf_printf(&b, "genid 42\n");
	assert_int_equal(nfo_ruletexts_parse(&t, b.s, b.len), 0);
	assert_true(t.have_genid);
	assert_int_equal(t.genid, 42);
	assert_string_equal(nfo_ruletexts_get(&t, "inet", "fw", 6),
			    "tcp dport { 22, 80 } counter accept comment \"a { b # handle 7\"");
	assert_string_equal(nfo_ruletexts_get(&t, "inet", "fw", 7), "ip saddr @s drop");
	assert_string_equal(nfo_ruletexts_get(&t, "inet", "fw", 8),
			    "meta mark 0x00000001 jump other");
	assert_string_equal(nfo_ruletexts_get(&t, "inet", "fw", 10),
			    "ct state vmap { established : accept, new : drop }");
	assert_string_equal(nfo_ruletexts_get(&t, "netdev", "nd", 2), "udp dport 9 drop");
	/* chains, sets, counters have handles too; they are not rules */
	assert_null(nfo_ruletexts_get(&t, "inet", "fw", 1));
	assert_null(nfo_ruletexts_get(&t, "inet", "fw", 3));
	assert_null(nfo_ruletexts_get(&t, "inet", "fw", 4));
	assert_null(nfo_ruletexts_get(&t, "ip", "fw", 7));
	assert_null(nfo_ruletexts_get(&t, "netdev", "nd", 1));
	nfo_ruletexts_free(&t);
	nfo_buf_free(&b);
}

static void test_empty_listing(void **state)
{
	struct nfo_buf b = {};

	(void)state;
	assert_int_equal(nfo_ruletext_from_listing("", 0, &b), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(nfo_ruletext_from_listing("\n\n", 2, &b), 0);
	nfo_buf_free(&b);
}

static void test_bad_listings(void **state)
{
	static const char *const bad[] = {
		"table inet fw { # handle 1\n",                    /* not closed */
		"}\n",                                             /* closed, never opened */
		"chain input { # handle 1\n}\n",                   /* not in a table */
		"table inet fw { # handle 1\n}\n}\n",              /* one too many */
		"table inet { # handle 1\n}\n",                    /* no name */
		"garbage\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nfo_buf b = {};

		if (nfo_ruletext_from_listing(bad[i], strlen(bad[i]), &b) != -EINVAL)
			fail_msg("listing %zu accepted: %s", i, bad[i]);
		nfo_buf_free(&b);
	}
}

static void test_note_and_bad_bodies(void **state)
{
	static const char *const bad[] = {
		"genid x\n",
		"genid 99999999999\n",
		"rule\tinet\tfw\n",
		"what is this\n",
	};
	struct nfo_ruletexts t = {};
	const char *body = "note\tnft not found\n";

	(void)state;
	assert_int_equal(nfo_ruletexts_parse(&t, body, strlen(body)), 0);
	assert_false(t.have_genid);
	assert_string_equal(t.note, "nft not found");
	assert_null(nfo_ruletexts_get(&t, "inet", "fw", 1));
	nfo_ruletexts_free(&t);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (nfo_ruletexts_parse(&t, bad[i], strlen(bad[i])) != -EINVAL)
			fail_msg("body %zu accepted: %s", i, bad[i]);
		nfo_ruletexts_free(&t);
	}
	/* a text with tabs keeps them; the last line needs no newline */
	body = "genid 1\nrule\tip\tt\t5\ta\tb";
	assert_int_equal(nfo_ruletexts_parse(&t, body, strlen(body)), 0);
	assert_string_equal(nfo_ruletexts_get(&t, "ip", "t", 5), "a\tb");
	nfo_ruletexts_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listing),
		cmocka_unit_test(test_empty_listing),
		cmocka_unit_test(test_bad_listings),
		cmocka_unit_test(test_note_and_bad_bodies),
	};

	return cmocka_run_group_tests_name("ruletext", tests, NULL, NULL);
}
