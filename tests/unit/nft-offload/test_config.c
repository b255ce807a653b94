// SPDX-License-Identifier: GPL-2.0-only
/*
 * The configuration file parser (nft-offload/config.c): what it accepts, and
 * the exact "file:line: message" of every error a user can make.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "nft-offload/config.h"
#include "nft-offload/iface.h"

static int parse(struct nfo_config *c, const char *text, char *err, size_t errlen)
{
	return nfo_config_parse(c, text, strlen(text), "t.conf", err, errlen);
}

/* Parses text into a fresh config and expects exactly the error msg. */
static void expect_error(const char *text, size_t len, const char *msg)
{
	struct nfo_config c;
	char err[512] = "";

	nfo_config_init(&c);
	assert_int_equal(nfo_config_parse(&c, text, len, "t.conf", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, msg);
	nfo_config_clear(&c);
}

#define EXPECT_ERROR(text, msg) expect_error(text, strlen(text), msg)

static void test_defaults(void **state)
{
	struct nfo_config c;
	char err[256] = "";

	nfo_config_init(&c);
	assert_int_equal(c.nifaces, 0);
	assert_null(c.ifaces);
	assert_int_equal(c.max_counters, NFO_DEFAULT_MAX_COUNTERS);
	assert_int_equal(c.max_edges, NFO_DEFAULT_MAX_EDGES);

	/* Empty text, blank lines and comments only: nothing changes. */
	assert_int_equal(nfo_config_parse(&c, "", 0, "t.conf", err, sizeof(err)), 0);
	assert_int_equal(parse(&c, "\n\n   \t\n# interface eth0\n  # max-counters 1\n", err,
			       sizeof(err)), 0);
	assert_int_equal(c.nifaces, 0);
	assert_int_equal(c.max_counters, NFO_DEFAULT_MAX_COUNTERS);
	assert_int_equal(c.max_edges, NFO_DEFAULT_MAX_EDGES);
	assert_string_equal(err, "");
	assert_false(c.decide_broadcast);
	nfo_config_clear(&c);
}

/* decide-broadcast yes|no: off unless said (docs/SEMANTICS.md 3.2). */
static void test_decide_broadcast(void **state)
{
	struct nfo_config c;
	char err[256] = "";

	nfo_config_init(&c);
	assert_int_equal(parse(&c, "decide-broadcast yes\n", err, sizeof(err)), 0);
	assert_true(c.decide_broadcast);
	assert_int_equal(parse(&c, "decide-broadcast no\n", err, sizeof(err)), 0);
	assert_false(c.decide_broadcast);
	nfo_config_clear(&c);
	EXPECT_ERROR("decide-broadcast\n", "t.conf:1: expected: decide-broadcast yes|no");
	EXPECT_ERROR("decide-broadcast on\n", "t.conf:1: expected: decide-broadcast yes|no");
}

static void test_valid(void **state)
{
	static const char text[] =
		"# nft-offload configuration\n"
		"interface eth0\n"
		"\n"
		"interface eth1 mode tc\n"
		"   interface\teth2   mode\txdp-generic   # trailing comment\n"
		"interface wlp0s20f3 mode xdp\r\n"
		"interface veth#not part of the name\n"
		"max-counters 100\n"
		"max-diagram-edges 5000\n"
		"max-counters 4194304\n" /* the last one wins */
		"max-diagram-edges 1073741824"; /* no final newline */
	struct nfo_config c;
	char err[256] = "";

	nfo_config_init(&c);
	assert_int_equal(parse(&c, text, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(c.nifaces, 5);
	assert_string_equal(c.ifaces[0].name, "eth0");
	assert_int_equal(c.ifaces[0].mode, NFO_MODE_XDP);
	assert_string_equal(c.ifaces[1].name, "eth1");
	assert_int_equal(c.ifaces[1].mode, NFO_MODE_TC);
	assert_string_equal(c.ifaces[2].name, "eth2");
	assert_int_equal(c.ifaces[2].mode, NFO_MODE_XDP_GENERIC);
	assert_string_equal(c.ifaces[3].name, "wlp0s20f3");
	assert_int_equal(c.ifaces[3].mode, NFO_MODE_XDP);
	assert_string_equal(c.ifaces[4].name, "veth");
	assert_int_equal(c.max_counters, 4194304);
	assert_int_equal(c.max_edges, 1073741824);

	nfo_config_clear(&c);
	assert_int_equal(c.nifaces, 0);
	assert_null(c.ifaces);
	assert_int_equal(c.max_counters, NFO_DEFAULT_MAX_COUNTERS);
}

static void test_names(void **state)
{
	struct nfo_config c;
	char err[256] = "";

	nfo_config_init(&c);
	/* 15 characters is the longest name (IFNAMSIZ 16 with the NUL). */
	assert_int_equal(parse(&c, "interface abcdefghijklmno\n", err, sizeof(err)), 0);
	assert_string_equal(c.ifaces[0].name, "abcdefghijklmno");
	/* Dots, dashes, at signs are fine; only "." and ".." are not. */
	assert_int_equal(parse(&c, "interface a.b\ninterface ...\ninterface br-lan@x\n", err,
			       sizeof(err)), 0);
	assert_int_equal(c.nifaces, 4);
	assert_string_equal(c.ifaces[2].name, "...");
	nfo_config_clear(&c);

	EXPECT_ERROR("interface abcdefghijklmnop\n",
		     "t.conf:1: invalid interface name 'abcdefghijklmnop'");
	EXPECT_ERROR("interface a/b\n", "t.conf:1: invalid interface name 'a/b'");
	EXPECT_ERROR("interface eth0:1\n", "t.conf:1: invalid interface name 'eth0:1'");
	EXPECT_ERROR("interface .\n", "t.conf:1: invalid interface name '.'");
	EXPECT_ERROR("interface ..\n", "t.conf:1: invalid interface name '..'");
	EXPECT_ERROR("interface e\x01th\n", "t.conf:1: invalid interface name 'e\x01th'");
	EXPECT_ERROR("interface \xc3\xa9th0\n", "t.conf:1: invalid interface name '\xc3\xa9th0'");
	EXPECT_ERROR("interface e\x7fth\n", "t.conf:1: invalid interface name 'e\x7fth'");
}

static void test_line_numbers(void **state)
{
	/* Comments, blank lines and the last line without newline all count. */
	EXPECT_ERROR("# one\n\ninterface eth0\n   \nbogus\n", "t.conf:5: unknown setting 'bogus'");
	EXPECT_ERROR("interface eth0\n\n\n\nmax-counters x", "t.conf:5: invalid number 'x' for max-counters");
	EXPECT_ERROR("\r\n\r\nfoo\r\n", "t.conf:3: unknown setting 'foo'");
	/* The first error stops parsing. */
	EXPECT_ERROR("a\nb\n", "t.conf:1: unknown setting 'a'");
}

static void test_errors(void **state)
{
	EXPECT_ERROR("Interface eth0\n", "t.conf:1: unknown setting 'Interface'");
	EXPECT_ERROR("interfaces eth0\n", "t.conf:1: unknown setting 'interfaces'");
	EXPECT_ERROR("mode tc\n", "t.conf:1: unknown setting 'mode'");

	EXPECT_ERROR("interface\n", "t.conf:1: expected: interface NAME [mode xdp|xdp-generic|tc]");
	EXPECT_ERROR("interface # eth0\n",
		     "t.conf:1: expected: interface NAME [mode xdp|xdp-generic|tc]");
	EXPECT_ERROR("interface eth0 mode\n",
		     "t.conf:1: expected: interface NAME [mode xdp|xdp-generic|tc]");
	EXPECT_ERROR("interface eth0 mode tc x\n",
		     "t.conf:1: expected: interface NAME [mode xdp|xdp-generic|tc]");
	EXPECT_ERROR("interface eth0 speed tc\n",
		     "t.conf:1: unknown interface option 'speed' (expected 'mode')");
	EXPECT_ERROR("interface eth0 mode foo\n",
		     "t.conf:1: unknown mode 'foo' (expected xdp, xdp-generic or tc)");
	EXPECT_ERROR("interface eth0 mode XDP\n",
		     "t.conf:1: unknown mode 'XDP' (expected xdp, xdp-generic or tc)");
	EXPECT_ERROR("interface eth0 mode xdp-\n",
		     "t.conf:1: unknown mode 'xdp-' (expected xdp, xdp-generic or tc)");

	EXPECT_ERROR("interface eth0\ninterface eth1\ninterface eth0 mode tc\n",
		     "t.conf:3: interface eth0 configured twice");

	/* Five words are parsed (and rejected for what they say); six are too many. */
	EXPECT_ERROR("a b c d e\n", "t.conf:1: unknown setting 'a'");
	EXPECT_ERROR("interface eth0 mode tc x y\n", "t.conf:1: too many words");
	EXPECT_ERROR("max-counters 1 2 3 4 5 6 7\n", "t.conf:1: too many words");
	/* Words after '#' do not count. */
	EXPECT_ERROR("interface eth0 mode tc #x y z w\nx y z w v u\n", "t.conf:2: too many words");
}

static void test_numbers(void **state)
{
	struct nfo_config c;
	char err[256];

	nfo_config_init(&c);
	assert_int_equal(parse(&c, "max-counters 1\nmax-diagram-edges 1\n", err, sizeof(err)), 0);
	assert_int_equal(c.max_counters, 1);
	assert_int_equal(c.max_edges, 1);
	assert_int_equal(parse(&c, "max-counters 007\n", err, sizeof(err)), 0);
	assert_int_equal(c.max_counters, 7);
	nfo_config_clear(&c);

	EXPECT_ERROR("max-counters\n", "t.conf:1: expected: max-counters NUMBER");
	EXPECT_ERROR("max-diagram-edges\n", "t.conf:1: expected: max-diagram-edges NUMBER");
	EXPECT_ERROR("max-counters 1 2\n", "t.conf:1: expected: max-counters NUMBER");
	EXPECT_ERROR("max-counters 0\n", "t.conf:1: invalid number '0' for max-counters");
	EXPECT_ERROR("max-counters -1\n", "t.conf:1: invalid number '-1' for max-counters");
	EXPECT_ERROR("max-counters +5\n", "t.conf:1: invalid number '+5' for max-counters");
	EXPECT_ERROR("max-counters 12abc\n", "t.conf:1: invalid number '12abc' for max-counters");
	EXPECT_ERROR("max-counters 0x10\n", "t.conf:1: invalid number '0x10' for max-counters");
	EXPECT_ERROR("max-counters 1.5\n", "t.conf:1: invalid number '1.5' for max-counters");
	EXPECT_ERROR("max-counters 4194305\n", "t.conf:1: invalid number '4194305' for max-counters");
	EXPECT_ERROR("max-counters 18446744073709551616\n",
		     "t.conf:1: invalid number '18446744073709551616' for max-counters");
	EXPECT_ERROR("max-counters 99999999999999999999999\n",
		     "t.conf:1: invalid number '99999999999999999999999' for max-counters");
	EXPECT_ERROR("max-diagram-edges 1073741825\n",
		     "t.conf:1: invalid number '1073741825' for max-diagram-edges");
	EXPECT_ERROR("max-diagram-edges 0\n",
		     "t.conf:1: invalid number '0' for max-diagram-edges");
}

static void test_nul_and_long_lines(void **state)
{
	static const char nul[] = "interface eth0\n\0interface eth1\n";
	char line[600];
	struct nfo_config c;
	char err[256];

	expect_error(nul, sizeof(nul) - 1, "t.conf: not a text file (contains NUL bytes)");
	expect_error("\0", 1, "t.conf: not a text file (contains NUL bytes)");
	/* The length given is what counts: a NUL past it is not read. */
	nfo_config_init(&c);
	assert_int_equal(nfo_config_parse(&c, nul, 15, "t.conf", err, sizeof(err)), 0);
	assert_int_equal(c.nifaces, 1);
	nfo_config_clear(&c);

	/* 511 characters fit (with the NUL in a 512-byte buffer), 512 do not. */
	memset(line, ' ', sizeof(line));
	memcpy(line, "interface eth0", 14);
	line[511] = '\0';
	nfo_config_init(&c);
	assert_int_equal(parse(&c, line, err, sizeof(err)), 0);
	assert_int_equal(c.nifaces, 1);
	nfo_config_clear(&c);

	line[511] = '#';
	line[512] = '\n';
	line[513] = '\0';
	EXPECT_ERROR(line, "t.conf:1: line too long");
	/* Long comment lines are too long as well, and count for the line number. */
	memset(line, '#', 599);
	line[599] = '\0';
	{
		char text[700];

		snprintf(text, sizeof(text), "interface eth0\n%s\n", line);
		EXPECT_ERROR(text, "t.conf:2: line too long");
	}
}

static void test_accumulates(void **state)
{
	struct nfo_config c;
	char err[256] = "";

	nfo_config_init(&c);
	assert_int_equal(nfo_config_parse(&c, "interface eth0\n", 15, "a.conf", err, sizeof(err)), 0);
	assert_int_equal(nfo_config_parse(&c, "interface eth1 mode tc\n", 23, "b.conf", err,
					  sizeof(err)), 0);
	assert_int_equal(c.nifaces, 2);
	/* A duplicate across files names the second file. */
	assert_int_equal(nfo_config_parse(&c, "\ninterface eth0\n", 16, "c.conf", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "c.conf:2: interface eth0 configured twice");
	assert_int_equal(c.nifaces, 2);
	nfo_config_clear(&c);
}

static void test_small_error_buffer(void **state)
{
	struct nfo_config c;
	char err[12];

	memset(err, 'x', sizeof(err));
	nfo_config_init(&c);
	assert_int_equal(parse(&c, "bogus-setting\n", err, sizeof(err)), -EINVAL);
	/* Truncated, terminated, nothing written past the buffer. */
	assert_string_equal(err, "t.conf:1: u");
	nfo_config_clear(&c);
}

static void test_attach(void **state)
{
	struct nfo_config c;
	char err[256] = "", longname[100];

	nfo_config_init(&c);
	assert_int_equal(nfo_config_add_attach(&c, "eth0", err, sizeof(err)), 0);
	assert_int_equal(nfo_config_add_attach(&c, "eth1:tc", err, sizeof(err)), 0);
	assert_int_equal(nfo_config_add_attach(&c, "eth2:xdp-generic", err, sizeof(err)), 0);
	assert_int_equal(nfo_config_add_attach(&c, "eth3:xdp", err, sizeof(err)), 0);
	assert_int_equal(c.nifaces, 4);
	assert_string_equal(c.ifaces[0].name, "eth0");
	assert_int_equal(c.ifaces[0].mode, NFO_MODE_XDP);
	assert_int_equal(c.ifaces[1].mode, NFO_MODE_TC);
	assert_int_equal(c.ifaces[2].mode, NFO_MODE_XDP_GENERIC);
	assert_string_equal(c.ifaces[3].name, "eth3");
	assert_int_equal(c.ifaces[3].mode, NFO_MODE_XDP);

	assert_int_equal(nfo_config_add_attach(&c, "eth0:tc", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--attach: interface eth0 configured twice");
	assert_int_equal(nfo_config_add_attach(&c, "eth9:foo", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--attach: unknown mode 'foo' (expected xdp, xdp-generic or tc)");
	assert_int_equal(nfo_config_add_attach(&c, "eth9:", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--attach: unknown mode '' (expected xdp, xdp-generic or tc)");
	assert_int_equal(nfo_config_add_attach(&c, "eth9:b:tc", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--attach: unknown mode 'b:tc' (expected xdp, xdp-generic or tc)");
	assert_int_equal(nfo_config_add_attach(&c, ":tc", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--attach: invalid interface name ''");
	assert_int_equal(nfo_config_add_attach(&c, "", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--attach: invalid interface name ''");
	assert_int_equal(nfo_config_add_attach(&c, "a/b", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--attach: invalid interface name 'a/b'");
	assert_int_equal(nfo_config_add_attach(&c, "abcdefghijklmnop:tc", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--attach: invalid interface name 'abcdefghijklmnop'");

	/* A name part that does not fit the 64-byte buffer. */
	memset(longname, 'a', 70);
	memcpy(longname + 70, ":tc", 4);
	assert_int_equal(nfo_config_add_attach(&c, longname, err, sizeof(err)), -EINVAL);
	{
		char want[160];

		snprintf(want, sizeof(want), "--attach: invalid interface name in '%s'", longname);
		assert_string_equal(err, want);
	}
	longname[70] = '\0';
	assert_int_equal(nfo_config_add_attach(&c, longname, err, sizeof(err)), -EINVAL);
	assert_true(!strncmp(err, "--attach: invalid interface name 'aaaa", 38));
	assert_int_equal(c.nifaces, 4);
	nfo_config_clear(&c);
}

/* ---- nfo_config_load ------------------------------------------------------- */

static char tmpdir[64];

static int setup_tmpdir(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/nfo-test-config.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmpdir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void test_load(void **state)
{
	struct nfo_config c;
	char path[128], err[512] = "", want[600];

	nfo_config_init(&c);

	/* Missing: fine unless required. */
	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	assert_int_equal(nfo_config_load(&c, path, 0, err, sizeof(err)), 0);
	assert_int_equal(c.nifaces, 0);
	assert_int_equal(nfo_config_load(&c, path, 1, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: cannot read: No such file or directory", path);
	assert_string_equal(err, want);

	/* A file: errors carry its path. */
	snprintf(path, sizeof(path), "%s/ok.conf", tmpdir);
	write_file(path, "interface eth0 mode tc\nmax-counters 42\n", 39);
	assert_int_equal(nfo_config_load(&c, path, 1, err, sizeof(err)), 0);
	assert_int_equal(c.nifaces, 1);
	assert_int_equal(c.ifaces[0].mode, NFO_MODE_TC);
	assert_int_equal(c.max_counters, 42);

	snprintf(path, sizeof(path), "%s/bad.conf", tmpdir);
	write_file(path, "\n\ninterface eth0 mode fast\n", 27);
	assert_int_equal(nfo_config_load(&c, path, 0, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:3: unknown mode 'fast' (expected xdp, xdp-generic or tc)",
		 path);
	assert_string_equal(err, want);

	snprintf(path, sizeof(path), "%s/nul.conf", tmpdir);
	write_file(path, "interface eth1\n\0", 16);
	assert_int_equal(nfo_config_load(&c, path, 1, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: not a text file (contains NUL bytes)", path);
	assert_string_equal(err, want);

	/* A directory opens but does not read. */
	assert_int_equal(nfo_config_load(&c, tmpdir, 1, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: read error", tmpdir);
	assert_string_equal(err, want);

	/* Over 1 MiB. */
	{
		size_t len = 1024 * 1024 + 1;
		char *big = malloc(len);

		assert_non_null(big);
		memset(big, '\n', len);
		snprintf(path, sizeof(path), "%s/big.conf", tmpdir);
		write_file(path, big, len);
		assert_int_equal(nfo_config_load(&c, path, 1, err, sizeof(err)), -EINVAL);
		snprintf(want, sizeof(want), "%s: file too large", path);
		assert_string_equal(err, want);
		/* Exactly 1 MiB is fine. */
		write_file(path, big, len - 1);
		assert_int_equal(nfo_config_load(&c, path, 1, err, sizeof(err)), 0);
		free(big);
	}
	assert_int_equal(c.nifaces, 1);
	nfo_config_clear(&c);
}

/* Loads path, which cannot be read: true when the error is as expected. */
static bool load_denied(const char *path)
{
	struct nfo_config c;
	char err[512] = "", want[600];
	int r;

	nfo_config_init(&c);
	r = nfo_config_load(&c, path, 0, err, sizeof(err));
	nfo_config_clear(&c);
	snprintf(want, sizeof(want), "%s: cannot read: Permission denied", path);
	if (r != -EINVAL || strcmp(err, want)) {
		fprintf(stderr, "load_denied: %d \"%s\", want -EINVAL \"%s\"\n", r, err, want);
		return false;
	}
	return true;
}

/* metrics-listen: numeric IPv4 or bracketed IPv6 address and a port. */
static void test_metrics_listen(void **state)
{
	static const char *const bad[] = {
		"localhost:9101", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
		"127.0.0.1:91a", ":9101", "::1:9101", "[::1]", "[::1]9101", "[]:9101",
		"[127.0.0.1]:9101", "1.2.3:80", "[fe80::1%eth0]:80",
	};
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	struct nfo_config c;
	socklen_t sl = 0;
	char err[512] = "", text[128];

	(void)state;
	assert_int_equal(nfo_listen_addr_parse("127.0.0.1:9101", &ss, &sl), 0);
	assert_int_equal(sl, sizeof(*in));
	assert_int_equal(in->sin_family, AF_INET);
	assert_int_equal(ntohs(in->sin_port), 9101);
	assert_int_equal(ntohl(in->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(nfo_listen_addr_parse("[::1]:65535", &ss, &sl), 0);
	assert_int_equal(sl, sizeof(*in6));
	assert_int_equal(in6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(in6->sin6_port), 65535);
	assert_true(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
	assert_int_equal(nfo_listen_addr_parse("0.0.0.0:1", &ss, &sl), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sl = 7;
		if (nfo_listen_addr_parse(bad[i], &ss, &sl) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
		assert_int_equal(sl, 7); /* untouched on failure */
	}

	nfo_config_init(&c);
	assert_string_equal(c.metrics_listen, "");
	assert_int_equal(parse(&c, "metrics-listen [::]:9101\n", err, sizeof(err)), 0);
	assert_string_equal(c.metrics_listen, "[::]:9101");
	nfo_config_clear(&c);
	assert_string_equal(c.metrics_listen, "");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char msg[256];
		int n = snprintf(text, sizeof(text), "metrics-listen %s\n", bad[i]);

		snprintf(msg, sizeof(msg), "t.conf:1: invalid metrics-listen '%s' (expected "
			 "IPV4:PORT or [IPV6]:PORT, e.g. 127.0.0.1:9101)", bad[i]);
		expect_error(text, (size_t)n, msg);
	}
	expect_error("metrics-listen\n", 15, "t.conf:1: expected: metrics-listen ADDR:PORT");
	expect_error("metrics-listen 127.0.0.1:1 x\n", 29,
		     "t.conf:1: expected: metrics-listen ADDR:PORT");
}

static void test_load_unreadable(void **state)
{
	struct nfo_config c;
	char path[128], err[512] = "", want[600];
	int st = 0;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/secret.conf", tmpdir);
	write_file(path, "interface eth0\n", 15);
	assert_int_equal(chmod(path, 0), 0);
	if (geteuid() != 0) {
		assert_true(load_denied(path));
		return;
	}

	/* root reads anything: the check runs as nobody, in a child */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(2);
		_exit(load_denied(path) ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);

	/* and as root: ENOTDIR is not ENOENT, an error even when not required */
	snprintf(path, sizeof(path), "%s/dir-as-parent.conf/x", tmpdir);
	snprintf(want, sizeof(want), "%s/dir-as-parent.conf", tmpdir);
	write_file(want, "", 0);
	nfo_config_init(&c);
	assert_int_equal(nfo_config_load(&c, path, 0, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: cannot read: Not a directory", path);
	assert_string_equal(err, want);
	nfo_config_clear(&c);
}

/* service NAME [ingress FAMILY TABLE CHAIN] [egress FAMILY TABLE CHAIN] */
static void test_services(void **state)
{
	static const char text[] =
		"service nginx.service ingress inet svc nginx_in egress inet svc nginx_out\n"
		"service dns@1.service egress ip6 t out   # one direction\n"
		"service a_b ingress ip filter c\n";
	struct nfo_config c;
	char err[256] = "";

	(void)state;
	nfo_config_init(&c);
	assert_int_equal(parse(&c, text, err, sizeof(err)), 0);
	assert_int_equal(c.nservices, 3);
	assert_string_equal(c.services[0].name, "nginx.service");
	assert_true(c.services[0].dir[NFO_SERVICE_INGRESS].set);
	assert_int_equal(c.services[0].dir[NFO_SERVICE_INGRESS].family, 1 /* NFPROTO_INET */);
	assert_string_equal(c.services[0].dir[NFO_SERVICE_INGRESS].table, "svc");
	assert_string_equal(c.services[0].dir[NFO_SERVICE_INGRESS].chain, "nginx_in");
	assert_string_equal(c.services[0].dir[NFO_SERVICE_EGRESS].chain, "nginx_out");
	assert_false(c.services[1].dir[NFO_SERVICE_INGRESS].set);
	assert_int_equal(c.services[1].dir[NFO_SERVICE_EGRESS].family, 10 /* NFPROTO_IPV6 */);
	assert_int_equal(c.services[2].dir[NFO_SERVICE_INGRESS].family, 2 /* NFPROTO_IPV4 */);
	assert_ptr_equal(nfo_config_find_service(&c, "a_b"), &c.services[2]);
	assert_null(nfo_config_find_service(&c, "nginx"));

	/* the command line form, added to what the file gave */
	assert_int_equal(nfo_config_add_service(&c, "web.service egress inet svc out ingress inet svc in",
						err, sizeof(err)), 0);
	assert_int_equal(c.nservices, 4);
	assert_string_equal(c.services[3].dir[NFO_SERVICE_INGRESS].chain, "in");
	assert_string_equal(c.services[3].dir[NFO_SERVICE_EGRESS].chain, "out");
	assert_int_equal(nfo_config_add_service(&c, "web.service ingress inet svc x", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "--service: service web.service configured twice");
	/* a.b and a_b would be one bpffs directory (bpffs refuses dots) */
	assert_int_equal(nfo_config_add_service(&c, "a.b ingress inet svc x", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "--service: services a_b and a.b would share one pin directory (a_b)");
	assert_int_equal(nfo_config_add_service(&c, "x.service sideways inet svc x", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "--service: unknown direction 'sideways' for service x.service "
				 "(expected ingress or egress)");
	assert_int_equal(nfo_config_add_service(&c, "", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--service: expected: service NAME [ingress FAMILY TABLE CHAIN] "
				 "[egress FAMILY TABLE CHAIN]");
	nfo_config_clear(&c);

	{
		char pin[64];

		nfo_service_pin_name("nginx.service", pin, sizeof(pin));
		assert_string_equal(pin, "nginx_service");
		nfo_service_pin_name("getty@tty1.service", pin, sizeof(pin));
		assert_string_equal(pin, "getty@tty1_service");
	}
}

static void test_service_errors(void **state)
{
	(void)state;
	EXPECT_ERROR("service nginx.service\n",
		     "t.conf:1: service nginx.service names no chain; expected: service NAME "
		     "[ingress FAMILY TABLE CHAIN] [egress FAMILY TABLE CHAIN]");
	EXPECT_ERROR("service\n", "t.conf:1: expected: service NAME [ingress FAMILY TABLE CHAIN] "
				  "[egress FAMILY TABLE CHAIN]");
	EXPECT_ERROR("service s inbound inet svc c\n",
		     "t.conf:1: unknown direction 'inbound' for service s (expected ingress or egress)");
	EXPECT_ERROR("service s ingress inet svc\n",
		     "t.conf:1: service s: ingress needs FAMILY TABLE CHAIN");
	EXPECT_ERROR("service s ingress inet svc c egress inet svc\n",
		     "t.conf:1: service s: egress needs FAMILY TABLE CHAIN");
	EXPECT_ERROR("service s ingress bridge svc c\n",
		     "t.conf:1: service s: unknown family 'bridge' (expected ip, ip6 or inet)");
	EXPECT_ERROR("service s ingress inet svc c ingress inet svc d\n",
		     "t.conf:1: service s: ingress given twice");
	EXPECT_ERROR("service s ingress inet svc c\nservice s egress inet svc d\n",
		     "t.conf:2: service s configured twice");
	EXPECT_ERROR("service a/b ingress inet svc c\n",
		     "t.conf:1: invalid service name 'a/b' (a systemd unit name, e.g. nginx.service)");
	EXPECT_ERROR("service .hidden ingress inet svc c\n",
		     "t.conf:1: invalid service name '.hidden' (a systemd unit name, e.g. nginx.service)");
	EXPECT_ERROR("service s ingress inet svc c egress inet svc d extra\n",
		     "t.conf:1: too many words");
	EXPECT_ERROR("interface eth0 mode xdp a b\n", "t.conf:1: too many words");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_decide_broadcast),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_line_numbers),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_nul_and_long_lines),
		cmocka_unit_test(test_accumulates),
		cmocka_unit_test(test_small_error_buffer),
		cmocka_unit_test(test_attach),
		cmocka_unit_test(test_services),
		cmocka_unit_test(test_service_errors),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_load_unreadable),
		cmocka_unit_test(test_metrics_listen),
	};

	return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
