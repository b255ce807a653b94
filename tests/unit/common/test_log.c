// SPDX-License-Identifier: GPL-2.0-only
/*
 * The logger (common/log.c): one line per message on stderr, tagged with
 * its level, and nothing for messages above nfo_log_level. stderr is
 * pointed at a temporary file for each test and read back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"

static FILE *capture;
static int saved_stderr = -1;

static int setup(void **state)
{
	(void)state;
	fflush(stderr);
	capture = tmpfile();
	if (!capture)
		return -1;
	saved_stderr = dup(STDERR_FILENO);
	if (saved_stderr < 0 || dup2(fileno(capture), STDERR_FILENO) < 0)
		return -1;
	nfo_log_level = NFO_LOG_INFO;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fflush(stderr);
	if (saved_stderr >= 0) {
		dup2(saved_stderr, STDERR_FILENO);
		close(saved_stderr);
		saved_stderr = -1;
	}
	if (capture)
		fclose(capture);
	capture = NULL;
	nfo_log_level = NFO_LOG_INFO;
	return 0;
}

/* What was written to stderr since setup(). */
static void captured(char *buf, size_t len)
{
	size_t n;

	fflush(stderr);
	rewind(capture);
	n = fread(buf, 1, len - 1, capture);
	buf[n] = '\0';
}

static void test_default_level(void **state)
{
	char out[512];

	(void)state;
	log_error("e %d", 1);
	log_warn("w %s", "two");
	log_info("i");
	log_debug("hidden");
	captured(out, sizeof(out));
	assert_string_equal(out, "nft-offload[error]: e 1\n"
				 "nft-offload[warning]: w two\n"
				 "nft-offload[info]: i\n");
}

static void test_levels_filter(void **state)
{
	static const struct {
		int level;
		const char *want;
	} rows[] = {
		{ NFO_LOG_ERR, "nft-offload[error]: E\n" },
		{ NFO_LOG_WARN, "nft-offload[error]: E\nnft-offload[warning]: W\n" },
		{ NFO_LOG_INFO, "nft-offload[error]: E\nnft-offload[warning]: W\nnft-offload[info]: I\n" },
		{ NFO_LOG_DEBUG, "nft-offload[error]: E\nnft-offload[warning]: W\nnft-offload[info]: I\n"
				 "nft-offload[debug]: D\n" },
	};
	char out[512];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(teardown(state), 0);
		assert_int_equal(setup(state), 0);
		nfo_log_level = rows[i].level;
		log_error("E");
		log_warn("W");
		log_info("I");
		log_debug("D");
		captured(out, sizeof(out));
		assert_string_equal(out, rows[i].want);
	}
}

static int failing(int r)
{
	return log_error_errno(r, "opening %s: %s", "x", "No such file");
}

/* log_error_errno logs and evaluates to its first argument; with a level
 * that hides errors it still returns it and writes nothing more. */
static void test_error_errno(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(failing(-ENOENT), -ENOENT);
	captured(out, sizeof(out));
	assert_string_equal(out, "nft-offload[error]: opening x: No such file\n");
	nfo_log_level = -1;
	assert_int_equal(failing(-EPERM), -EPERM);
	captured(out, sizeof(out));
	assert_string_equal(out, "nft-offload[error]: opening x: No such file\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_default_level, setup, teardown),
		cmocka_unit_test_setup_teardown(test_levels_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_errno, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
