// SPDX-License-Identifier: GPL-2.0-only
/*
 * `nft-offload trace`: streams the packets the fast path drops (or passes)
 * as the daemon forwards them (trace.h), as text lines or as pcap-ng that
 * tcpdump and Wireshark read, each packet with its interface and its rule.
 * Ctrl-C or --count ends it; it then says how many packets matched and how
 * many were not captured, and why.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bpf/nfo_abi.h"
#include "daemon.h"
#include "json.h"
#include "ctl.h"
#include "trace.h"
#include "tracefmt.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: nft-offload trace [OPTIONS]\n"
		"\n"
		"Streams the packets the fast path drops, one line each (or pcap-ng),\n"
		"until Ctrl-C or --count; then how many matched and were not captured.\n"
		"\n"
		"  --rule FAMILY:TABLE:CHAIN:HANDLE  only drops by this rule (as nft -a list\n"
		"                        names it; HANDLE 'policy': the chain's policy); repeatable\n"
		"  --interface IF        only packets received on IF; repeatable\n"
		"  --passed              also packets passed to nftables, with the reason\n"
		"  --count N             stop after N packets\n"
		"  --rate PPS            at most PPS packets per second (default %d)\n"
		"  --snaplen BYTES       bytes of each packet kept (default %d, at most %d)\n"
		"  --pcap FILE|-         write pcap-ng (interface and rule per packet) to FILE\n"
		"                        or standard output, instead of text\n"
		"  --run-dir DIR         the daemon's run directory (default %s)\n",
		NFO_TRACE_DEFAULT_RATE, NFO_TRACE_DEFAULT_SNAPLEN, NFO_TRACE_MAX_SNAPLEN,
		NFO_DEFAULT_RUN_DIR);
}

/* ---- the stream ---------------------------------------------------------------- */

static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR) {
			if (stop == 1) {
				/* Ctrl-C: end the trace; the daemon answers with its counts */
				(void)shutdown(fd, SHUT_WR);
				stop = 2;
			}
			continue;
		}
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		got += (size_t)n;
	}
	return 0;
}

static int connect_daemon(const char *run_dir)
{
	char path[PATH_MAX];
	int fd, r;

	if (nfo_ctl_socket_path(run_dir, path, sizeof(path)) < 0) {
		fprintf(stderr, "nft-offload trace: run directory path too long: %s\n", run_dir);
		return -1;
	}
	r = nfo_ctl_connect(run_dir, &fd);
	if (r == 0)
		return fd;
	if (r == -EACCES || r == -EPERM)
		fprintf(stderr, "nft-offload trace: permission denied on %s: tracing needs root\n",
			path);
	else
		fprintf(stderr, "nft-offload trace: no daemon is running (cannot connect to %s: "
				"%s); start one with: nft-offload daemon --attach IFACE\n",
			path, strerror(-r));
	return -1;
}

static bool valid_rule(const char *s)
{
	int colons = 0;

	for (const char *p = s; *p; p++) {
		if (*p == ' ' || *p == '\n')
			return false;
		colons += *p == ':';
	}
	return colons == 3 && s[0] != ':' && !strstr(s, "::") && s[strlen(s) - 1] != ':';
}

/* " KEY=VALUE" for the request line: no spaces or newlines in VALUE. */
static int add_word(struct nfo_buf *req, const char *key, const char *v)
{
	if (strchr(v, ' ') || strchr(v, '\n'))
		return -EINVAL;
	nfo_buf_printf(req, " %s=%s", key, v);
	return 0;
}

int nfo_trace_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rule", required_argument, NULL, 'R' },
		{ "interface", required_argument, NULL, 'i' },
		{ "passed", no_argument, NULL, 'P' },
		{ "count", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'r' },
		{ "snaplen", required_argument, NULL, 's' },
		{ "pcap", required_argument, NULL, 'w' },
		{ "run-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *run_dir = NFO_DEFAULT_RUN_DIR, *pcap = NULL;
	unsigned long long count = 0, rate = NFO_TRACE_DEFAULT_RATE, shown = 0;
	unsigned long snaplen = NFO_TRACE_DEFAULT_SNAPLEN;
	struct nfo_buf req = {};
	struct nfo_trace_stats st = {};
	struct nfo_pcapng pc = {};
	struct nfo_buf o = {};
	FILE *f = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	bool passed = false, got_stats = false;
	uint8_t *data = NULL;
	int c, fd = -1, rc = 1;
	char *end;

	nfo_buf_printf(&req, "trace drops");
	while ((c = getopt_long(argc, argv, "R:i:Pc:r:s:w:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'R':
			if (!valid_rule(optarg)) {
				fprintf(stderr, "nft-offload trace: --rule FAMILY:TABLE:CHAIN:HANDLE "
						"(e.g. inet:fw:input:5), not '%s'\n", optarg);
				goto out_usage;
			}
			(void)add_word(&req, "rule", optarg);
			break;
		case 'i':
			if (add_word(&req, "iface", optarg) < 0 || !*optarg ||
			    strlen(optarg) >= IF_NAMESIZE) {
				fprintf(stderr, "nft-offload trace: invalid interface name '%s'\n", optarg);
				goto out_usage;
			}
			break;
		case 'P':
			passed = true;
			break;
		case 'c':
			count = strtoull(optarg, &end, 10);
			if (*end || !count || optarg[0] == '-') {
				fprintf(stderr, "nft-offload trace: --count: a positive number, not '%s'\n",
					optarg);
				goto out_usage;
			}
			break;
		case 'r':
			rate = strtoull(optarg, &end, 10);
			if (*end || !rate || rate > NFO_TRACE_MAX_RATE || optarg[0] == '-') {
				fprintf(stderr, "nft-offload trace: --rate: 1 to %d packets per second, "
						"not '%s'\n", NFO_TRACE_MAX_RATE, optarg);
				goto out_usage;
			}
			break;
		case 's':
			snaplen = strtoul(optarg, &end, 10);
			if (*end || snaplen > NFO_TRACE_MAX_SNAPLEN || optarg[0] == '-') {
				fprintf(stderr, "nft-offload trace: --snaplen: 0 to %d bytes, not '%s'\n",
					NFO_TRACE_MAX_SNAPLEN, optarg);
				goto out_usage;
			}
			break;
		case 'w':
			pcap = optarg;
			break;
		case 'd':
			run_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			nfo_buf_free(&req);
			return 0;
		default:
			goto out_usage;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "nft-offload trace: unexpected argument '%s'\n", argv[optind]);
		goto out_usage;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "nft-offload trace: tracing shows packets' contents: it needs root\n");
		goto out;
	}
	nfo_buf_printf(&req, "%s rate=%llu snaplen=%lu\n", passed ? " passed" : "", rate, snaplen);
	if (req.oom)
		goto out;

	if (pcap) {
		f = strcmp(pcap, "-") ? fopen(pcap, "we") : stdout;
		if (!f) {
			fprintf(stderr, "nft-offload trace: cannot write %s: %s\n", pcap,
				strerror(errno));
			goto out;
		}
		nfo_pcapng_begin(&pc, &o, (uint32_t)snaplen);
		fwrite(o.s, 1, o.len, f);
		fflush(f);
		nfo_buf_free(&o);
	}
	data = malloc(NFO_TRACE_MAX_SNAPLEN);
	if (!data)
		goto out;
	fd = connect_daemon(run_dir);
	if (fd < 0)
		goto out;
	/* no SA_RESTART: a signal interrupts the read, which then ends the trace */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (write(fd, req.s, req.len) != (ssize_t)req.len) {
		fprintf(stderr, "nft-offload trace: cannot talk to the daemon: %s\n",
			strerror(errno));
		goto out;
	}

	for (;;) {
		struct nfo_trace_msg m;
		struct nfo_trace_packet p;
		char text[512];

		if (read_full(fd, &m, sizeof(m)) < 0)
			break;
		if (m.type == NFO_TRACE_MSG_ERROR) {
			size_t n = m.len < sizeof(text) - 1 ? m.len : sizeof(text) - 1;

			if (read_full(fd, text, n) < 0)
				break;
			text[n] = '\0';
			fprintf(stderr, "nft-offload trace: %s\n", text);
			goto out;
		}
		if (m.type == NFO_TRACE_MSG_READY) {
			fprintf(stderr, "nft-offload trace: tracing%s; Ctrl-C ends it\n",
				passed ? " drops and passed packets" : " drops");
			continue;
		}
		if (m.type == NFO_TRACE_MSG_STATS && m.len == sizeof(st)) {
			got_stats = read_full(fd, &st, sizeof(st)) == 0;
			break;
		}
		if (m.type != NFO_TRACE_MSG_PACKET || m.len < sizeof(p) ||
		    read_full(fd, &p, sizeof(p)) < 0 || p.caplen != m.len - sizeof(p) ||
		    p.caplen > NFO_TRACE_MAX_SNAPLEN || read_full(fd, data, p.caplen) < 0) {
			fprintf(stderr, "nft-offload trace: unexpected message from the daemon\n");
			goto out;
		}
		p.ifname[sizeof(p.ifname) - 1] = p.what[sizeof(p.what) - 1] = '\0';
		if (count && shown >= count)
			continue; /* sent before the daemon saw our end */
		if (f)
			nfo_pcapng_packet(&pc, &o, &p, data);
		else
			nfo_trace_line(&o, &p, data);
		if (o.oom) {
			fprintf(stderr, "nft-offload trace: out of memory\n");
			goto out;
		}
		fwrite(o.s, 1, o.len, f ? f : stdout);
		fflush(f ? f : stdout);
		nfo_buf_free(&o);
		if (++shown == count && !stop) {
			(void)shutdown(fd, SHUT_WR);
			stop = 2;
		}
	}
	if (!got_stats) {
		fprintf(stderr, "nft-offload trace: the daemon ended the trace without its counts\n");
		goto out;
	}
	{
		/* sent after --count was reached, before the daemon saw our end */
		uint64_t late = st.sent > shown ? st.sent - shown : 0;
		uint64_t missed = st.rate_limited + st.slow + st.kernel_rate_limited +
				  st.kernel_ring_full + late;

		fprintf(stderr,
			"%llu packets captured, %llu matched, %llu not captured (%llu rate limit, "
			"%llu ring full, %llu tracer too slow)%s\n",
			shown, (unsigned long long)(shown + missed), (unsigned long long)missed,
			(unsigned long long)(st.rate_limited + st.kernel_rate_limited),
			(unsigned long long)st.kernel_ring_full, (unsigned long long)st.slow,
			st.max_tracers > 1 ? " (other tracers ran: the kernel's counts are shared)" :
					     "");
	}
	rc = 0;
	goto out;
out_usage:
	rc = 2;
out:
	if (fd >= 0)
		close(fd);
	if (f && f != stdout)
		fclose(f);
	nfo_buf_free(&o);
	free(data);
	nfo_buf_free(&req);
	return rc;
}
