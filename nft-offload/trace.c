// SPDX-License-Identifier: GPL-2.0-only
/*
 * `nft-offload trace`: streams the packets the fast path drops (or passes)
 * as the daemon forwards them (trace.h), as text lines or as pcap-ng that
 * tcpdump and Wireshark read, each packet with its interface and its rule.
 * Ctrl-C or --count ends it; it then says how many packets matched and how
 * many were not captured, and why.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bpf/nfo_abi.h"
#include "daemon.h"
#include "json.h"
#include "ctl.h"
#include "trace.h"

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

/* ---- text ---------------------------------------------------------------------- */

static const char *proto_name(int p, char *buf, size_t len)
{
	switch (p) {
	case 1:
		return "icmp";
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 58:
		return "icmpv6";
	case 132:
		return "sctp";
	}
	snprintf(buf, len, "proto %d", p);
	return buf;
}

/* "rule inet fw input handle 5", "policy inet fw input" */
static void rule_name(const struct nfo_trace_packet *p, char *buf, size_t len)
{
	char f[32], t[64], c[64], h[24];

	if (!p->dropped) {
		snprintf(buf, len, "pass %s", p->what);
		return;
	}
	if (sscanf(p->what, "%31s %63s %63s %23s", f, t, c, h) != 4) {
		snprintf(buf, len, "drop (rule unknown)");
		return;
	}
	if (!strcmp(h, "policy"))
		snprintf(buf, len, "drop policy %s %s %s", f, t, c);
	else
		snprintf(buf, len, "drop rule %s %s %s handle %s", f, t, c, h);
}

/* What tcpdump would say about the frame, as far as caplen has it. */
static void describe(const uint8_t *d, uint32_t n, char *buf, size_t len)
{
	uint32_t off = 14, l4off;
	uint16_t et;
	int proto;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], pb[16];
	const char *fam;

	if (n < 14) {
		snprintf(buf, len, "(truncated frame)");
		return;
	}
	et = (uint16_t)(d[12] << 8 | d[13]);
	while ((et == 0x8100 || et == 0x88a8) && off + 4 <= n) {
		et = (uint16_t)(d[off + 2] << 8 | d[off + 3]);
		off += 4;
	}
	if (et == 0x0800 && off + 20 <= n) {
		fam = "ip";
		inet_ntop(AF_INET, d + off + 12, src, sizeof(src));
		inet_ntop(AF_INET, d + off + 16, dst, sizeof(dst));
		proto = d[off + 9];
		l4off = off + (uint32_t)(d[off] & 0xf) * 4;
		/* later fragments carry no transport header */
		if ((d[off + 6] & 0x1f) || d[off + 7])
			l4off = UINT32_MAX;
	} else if (et == 0x86dd && off + 40 <= n) {
		fam = "ip6";
		inet_ntop(AF_INET6, d + off + 8, src, sizeof(src));
		inet_ntop(AF_INET6, d + off + 24, dst, sizeof(dst));
		proto = d[off + 6];
		l4off = off + 40;
	} else if (et == 0x0806) {
		snprintf(buf, len, "arp");
		return;
	} else {
		snprintf(buf, len, "ethertype 0x%04x", et);
		return;
	}
	if ((proto == 6 || proto == 17 || proto == 132) && l4off + 4 <= n) {
		int w = snprintf(buf, len, "%s %s.%u > %s.%u %s", fam, src,
				 d[l4off] << 8 | d[l4off + 1], dst, d[l4off + 2] << 8 | d[l4off + 3],
				 proto_name(proto, pb, sizeof(pb)));

		if (proto == 6 && l4off + 14 <= n && w > 0 && (size_t)w < len) {
			static const char fl[] = "FSRPAUEC";
			char f[9];
			size_t k = 0;

			for (int b = 0; b < 8; b++)
				if (d[l4off + 13] & (1 << b))
					f[k++] = fl[b];
			f[k] = '\0';
			snprintf(buf + w, len - (size_t)w, " flags [%s]", f);
		}
		return;
	}
	if ((proto == 1 || proto == 58) && l4off + 2 <= n) {
		snprintf(buf, len, "%s %s > %s %s type %u code %u", fam, src, dst,
			 proto_name(proto, pb, sizeof(pb)), d[l4off], d[l4off + 1]);
		return;
	}
	snprintf(buf, len, "%s %s > %s %s", fam, src, dst, proto_name(proto, pb, sizeof(pb)));
}

static void print_text(FILE *f, const struct nfo_trace_packet *p, const uint8_t *data)
{
	char when[32], rule[256], what[256];
	time_t sec = (time_t)(p->time_ns / 1000000000);
	struct tm tm;

	localtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	rule_name(p, rule, sizeof(rule));
	describe(data, p->caplen, what, sizeof(what));
	fprintf(f, "%s.%06llu %s %s: %s, length %u\n", when,
		(unsigned long long)(p->time_ns % 1000000000) / 1000, p->ifname, rule, what, p->len);
}

/* ---- pcap-ng ------------------------------------------------------------------- */

struct pcapng {
	FILE *f;
	uint32_t snaplen;
	int ifindex[64]; /* interface id -> ifindex */
	size_t nifs;
};

static void put_opt(struct nfo_buf *b, uint16_t code, const void *v, size_t len)
{
	static const uint8_t zero[4];
	uint16_t h[2] = { code, (uint16_t)len };

	nfo_buf_put(b, (const char *)h, sizeof(h));
	nfo_buf_put(b, v, len);
	nfo_buf_put(b, (const char *)zero, (4 - len % 4) % 4);
}

/* A block: type, total length, body (a multiple of 4), total length. */
static void put_block(FILE *f, uint32_t type, const struct nfo_buf *body)
{
	uint32_t total = (uint32_t)(12 + body->len);

	fwrite(&type, 4, 1, f);
	fwrite(&total, 4, 1, f);
	fwrite(body->s, 1, body->len, f);
	fwrite(&total, 4, 1, f);
}

static void pcapng_begin(struct pcapng *pc)
{
	/* section header: byte-order magic, version 1.0, length unknown */
	struct { uint32_t magic; uint16_t major, minor; int64_t len; } shb = {
		0x1A2B3C4D, 1, 0, -1
	};
	struct nfo_buf b = {};

	nfo_buf_put(&b, (const char *)&shb, sizeof(shb));
	put_opt(&b, 4 /* shb_userappl */, "nft-offload trace", 17);
	put_opt(&b, 0, NULL, 0);
	put_block(pc->f, 0x0A0D0D0A, &b);
	nfo_buf_free(&b);
}

static uint32_t pcapng_iface(struct pcapng *pc, const struct nfo_trace_packet *p)
{
	struct { uint16_t linktype, reserved; uint32_t snaplen; } idb = { 1 /* Ethernet */, 0,
									  pc->snaplen };
	uint8_t tsresol = 9; /* nanoseconds */
	struct nfo_buf b = {};

	for (size_t i = 0; i < pc->nifs; i++)
		if (pc->ifindex[i] == (int)p->ifindex)
			return (uint32_t)i;
	if (pc->nifs == sizeof(pc->ifindex) / sizeof(pc->ifindex[0]))
		return 0;
	nfo_buf_put(&b, (const char *)&idb, sizeof(idb));
	put_opt(&b, 2 /* if_name */, p->ifname, strnlen(p->ifname, sizeof(p->ifname)));
	put_opt(&b, 9 /* if_tsresol */, &tsresol, 1);
	put_opt(&b, 0, NULL, 0);
	put_block(pc->f, 1, &b);
	nfo_buf_free(&b);
	pc->ifindex[pc->nifs] = (int)p->ifindex;
	return (uint32_t)pc->nifs++;
}

static void pcapng_packet(struct pcapng *pc, const struct nfo_trace_packet *p,
			  const uint8_t *data)
{
	static const uint8_t zero[4];
	uint32_t epb[5] = { pcapng_iface(pc, p), (uint32_t)(p->time_ns >> 32),
			    (uint32_t)p->time_ns, p->caplen, p->len };
	char rule[256];
	struct nfo_buf b = {};

	rule_name(p, rule, sizeof(rule));
	nfo_buf_put(&b, (const char *)epb, sizeof(epb));
	nfo_buf_put(&b, (const char *)data, p->caplen);
	nfo_buf_put(&b, (const char *)zero, (4 - p->caplen % 4) % 4);
	put_opt(&b, 1 /* opt_comment */, rule, strlen(rule));
	put_opt(&b, 0, NULL, 0);
	put_block(pc->f, 6, &b);
	nfo_buf_free(&b);
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
	struct pcapng pc = {};
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
		pc.f = strcmp(pcap, "-") ? fopen(pcap, "we") : stdout;
		if (!pc.f) {
			fprintf(stderr, "nft-offload trace: cannot write %s: %s\n", pcap,
				strerror(errno));
			goto out;
		}
		pc.snaplen = (uint32_t)snaplen;
		pcapng_begin(&pc);
		fflush(pc.f);
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
		if (pc.f)
			pcapng_packet(&pc, &p, data);
		else
			print_text(stdout, &p, data);
		fflush(pc.f ? pc.f : stdout);
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
	if (pc.f && pc.f != stdout)
		fclose(pc.f);
	free(data);
	nfo_buf_free(&req);
	return rc;
}
