// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload-bench: packets per second one receiver CPU drops, with plain
 * nftables, with nft-offload, with a hand-written XDP filter and with an
 * XDP drop-all, on namespaces it creates and removes; and how long a
 * ruleset change takes to reach the fast path. How: bench.h.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "nft-offload/bench.h"
#include "common/log.h"
#include "common/util.h"

#include "bench.h"

static void on_signal(int sig)
{
	bench_interrupted = sig;
}

static void on_gen_stop(int sig)
{
}

/* libbpf's messages (the verifier's log among them) are for -v. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;

	if (nfo_log_level < NFO_LOG_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	if (n && line[n - 1] == '\n')
		line[n - 1] = '\0';
	log_debug("libbpf: %s", line);
	return 0;
}

/*
 * The nft-offload to measure: --nft-offload, else the one that ran us
 * (`nft-offload bench` names itself in NFO_BENCH_DAEMON_ENV), else the one
 * next to us, else PATH's.
 */
static int find_daemon(const char *given, char *buf, size_t len)
{
	const char *env = getenv(NFO_BENCH_DAEMON_ENV), *path = getenv("PATH");
	char self[PATH_MAX];
	ssize_t n;

	if (given || (env && *env)) {
		snprintf(buf, len, "%s", given ? given : env);
		return access(buf, X_OK) == 0 ? 0 : -errno;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		char *slash;

		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			snprintf(buf, len, "%.*s/nft-offload", (int)(slash - self), self);
			if (access(buf, X_OK) == 0)
				return 0;
		}
	}
	for (const char *p = path; p && *p;) {
		size_t l = strcspn(p, ":");

		snprintf(buf, len, "%.*s/nft-offload", (int)l, p);
		if (l && access(buf, X_OK) == 0)
			return 0;
		p += l + (p[l] == ':');
	}
	return -ENOENT;
}

static void bench_usage(FILE *f)
{
	fprintf(f,
		"Usage: nft-offload-bench [--rules N,N,...] [--duration S] [--runs R] [--json]\n"
		"                         [--plot FILE.svg|FILE.png] [--latency-rules N,N,...|none]\n"
		"                         [--nft-offload PATH] [-v]\n"
		"       nft-offload bench [the same options]\n"
		"\n"
		"Measures the packets per second one receiver CPU drops with plain nftables\n"
		"(input chain, netdev ingress chain), with nft-offload (xdp, tc), with a\n"
		"hand-written XDP filter for the same drop and with an XDP drop-all, for N\n"
		"rules in front of the drop rule (linear, or the N ports in one set), and the\n"
		"nanoseconds per packet inside each BPF program; then the time a ruleset\n"
		"change takes to reach the fast path. Runs on two network namespaces of its\n"
		"own joined by a veth, removed at the end. Needs root, 2 CPUs, ip, nft,\n"
		"ethtool (and gnuplot for --plot).\n"
		"\n"
		"  --rules N,...          rule counts (default 1,100,1000,10000)\n"
		"  --duration S           seconds measured per run (default 2)\n"
		"  --runs R               runs per figure, the median is shown (default 3)\n"
		"  --json                 one JSON object instead of the table\n"
		"  --plot FILE            chart of Mpps against N (.svg or .png, gnuplot)\n"
		"  --latency-rules N,...  rule counts for the update latency (default\n"
		"                         10,1000,10000; none: skip)\n"
		"  --nft-offload PATH     the nft-offload to measure (default: the one that\n"
		"                         ran us, else next to us, else in PATH)\n"
		"  -v, --verbose          debug logging (libbpf's messages)\n"
		"\n"
		"       nft-offload-bench --blocklist [--v4 N] [--nets M] [--v6 N] [--nets6 M]\n"
		"                         [--timeout] [--churn R] [--duration S] [--rate PPS]\n"
		"                         [--runs R] [--json] [--nft-offload PATH] [-v]\n"
		"\n"
		"The daemon against a large blocklist (table inet bl: a set of N addresses and\n"
		"a set of M prefixes, flags interval, dropped in prerouting), loaded with nft -f\n"
		"before it starts: nft -f's time, daemon start to live fast path, one element\n"
		"added and deleted (nft returned -> live, R times each, and whether the fast path\n"
		"was off meanwhile), then R adds and R deletes per second in nft -f batches every\n"
		"10 ms for S seconds while a flood from banned sources arrives: the share the\n"
		"fast path dropped and the probes from just-unbanned sources it dropped; the\n"
		"daemon's RSS and BPF map memory.\n"
		"\n"
		"  --v4 N, --nets M       IPv4 addresses and /28 prefixes (default 1000000,\n"
		"                         100000; both 0: no IPv4 run)\n"
		"  --v6 N, --nets6 M      IPv6 addresses and /64 prefixes (default 0, 0)\n"
		"  --timeout              the sets with flags timeout (elements of 1 day, 4 h)\n"
		"  --churn R              adds and deletes per second (default 1000; 0: none)\n"
		"  --duration S           seconds of churn (default 20)\n"
		"  --rate PPS             flood frames per second (default 10000: the veth\n"
		"                         of a 2-vCPU VM loses next to nothing)\n"
		"  --runs R               single-element adds and deletes (default 5)\n");
}

static int parse_size(const char *opt, const char *s, size_t max, size_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || !isdigit((unsigned char)*s) || v > max) {
		fprintf(stderr, "nft-offload-bench: --%s: a number between 0 and %zu, not '%s'\n",
			opt, max, s);
		return -EINVAL;
	}
	*ret = (size_t)v;
	return 0;
}

static int parse_counts(const char *opt, const char *s, size_t *v, size_t *n)
{
	const char *p = s;

	*n = 0;
	if (!strcmp(s, "none") && !strcmp(opt, "latency-rules"))
		return 0;
	for (;;) {
		char *end;
		unsigned long x;

		errno = 0;
		x = strtoul(p, &end, 10);
		if (end == p || errno || x > MAX_RULES || (*end && *end != ',') || *n == MAX_COUNTS ||
		    !isdigit((unsigned char)*p)) {
			fprintf(stderr, "nft-offload-bench: --%s: up to %d rule counts between 0 and %d, "
					"separated by commas, not '%s'\n", opt, MAX_COUNTS, MAX_RULES, s);
			return -EINVAL;
		}
		v[(*n)++] = x;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

static int parse_opts(int argc, char **argv, struct bench_opts *o)
{
	static const struct option opts[] = {
		{ "rules", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'd' },
		{ "runs", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "plot", required_argument, NULL, 'p' },
		{ "latency-rules", required_argument, NULL, 'l' },
		{ "nft-offload", required_argument, NULL, 'N' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "blocklist", no_argument, NULL, 'B' },
		{ "v4", required_argument, NULL, '4' },
		{ "nets", required_argument, NULL, 'M' },
		{ "v6", required_argument, NULL, '6' },
		{ "nets6", required_argument, NULL, 'P' },
		{ "timeout", no_argument, NULL, 'T' },
		{ "churn", required_argument, NULL, 'C' },
		{ "rate", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	bool duration_given = false, runs_given = false;
	int c;

	*o = (struct bench_opts){
		.rules = { 1, 100, 1000, 10000 },
		.nrules = 4,
		.lat_rules = { 10, 1000, 10000 },
		.nlat = 3,
		.duration = 2,
		.runs = 3,
		.bl_v4 = 1000000,
		.bl_nets = 100000,
		.bl_churn = 1000,
		.bl_rate = 10000,
	};
	while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'n':
			if (parse_counts("rules", optarg, o->rules, &o->nrules) < 0)
				return 2;
			break;
		case 'l':
			if (parse_counts("latency-rules", optarg, o->lat_rules, &o->nlat) < 0)
				return 2;
			break;
		case 'd':
			o->duration = strtod(optarg, &end);
			if (*end || end == optarg || !(o->duration >= 0.05 && o->duration <= 600)) {
				fprintf(stderr, "nft-offload-bench: --duration: seconds between 0.05 and "
						"600, not '%s'\n", optarg);
				return 2;
			}
			duration_given = true;
			break;
		case 'B':
			o->blocklist = true;
			break;
		case '4':
			if (parse_size("v4", optarg, 1u << 23, &o->bl_v4) < 0)
				return 2;
			break;
		case 'M':
			if (parse_size("nets", optarg, 1u << 18, &o->bl_nets) < 0)
				return 2;
			break;
		case '6':
			if (parse_size("v6", optarg, 1u << 24, &o->bl_v6) < 0)
				return 2;
			break;
		case 'P':
			if (parse_size("nets6", optarg, 1u << 24, &o->bl_nets6) < 0)
				return 2;
			break;
		case 'T':
			o->bl_timeout = true;
			break;
		case 'C':
		case 'R': {
			double v = strtod(optarg, &end);

			if (*end || end == optarg || !(v >= 0 && v <= (c == 'C' ? 100000 : 1e8))) {
				fprintf(stderr, "nft-offload-bench: --%s: a number between 0 and %s, "
						"not '%s'\n", c == 'C' ? "churn" : "rate",
					c == 'C' ? "100000" : "100000000", optarg);
				return 2;
			}
			*(c == 'C' ? &o->bl_churn : &o->bl_rate) = v;
			break;
		}
		case 'r': {
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || end == optarg || v < 1 || v > MAX_RUNS) {
				fprintf(stderr, "nft-offload-bench: --runs: a number between 1 and %d, "
						"not '%s'\n", MAX_RUNS, optarg);
				return 2;
			}
			o->runs = (unsigned)v;
			runs_given = true;
			break;
		}
		case 'j':
			o->json = true;
			break;
		case 'p': {
			const char *ext = strrchr(optarg, '.');

			if (!ext || (strcmp(ext, ".svg") && strcmp(ext, ".png")) ||
			    strpbrk(optarg, "'\"\\\n")) {
				fprintf(stderr, "nft-offload-bench: --plot: a file name ending in .svg "
						"or .png (without quotes), not '%s'\n", optarg);
				return 2;
			}
			o->plot = optarg;
			break;
		}
		case 'N':
			o->daemon_bin = optarg;
			break;
		case 'v':
			nfo_log_level = NFO_LOG_DEBUG;
			break;
		case 'h':
			bench_usage(stdout);
			return 0;
		default:
			bench_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "nft-offload-bench: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (o->blocklist) {
		if (!duration_given)
			o->duration = 20;
		if (!runs_given)
			o->runs = 5;
		if (o->bl_rate < 1000) {
			fprintf(stderr, "nft-offload-bench: --rate: at least 1000 frames per second "
					"(the flood is what is measured)\n");
			return 2;
		}
		if (o->bl_v4 + o->bl_nets + o->bl_v6 + o->bl_nets6 == 0) {
			fprintf(stderr, "nft-offload-bench: --blocklist: no elements to load\n");
			return 2;
		}
		if (o->plot) {
			fprintf(stderr, "nft-offload-bench: --plot: not with --blocklist\n");
			return 2;
		}
	}
	if (o->nrules == 0) {
		fprintf(stderr, "nft-offload-bench: --rules: at least one rule count\n");
		return 2;
	}
	return -1;
}

/*
 * One run of every configuration at one rule count. Runs are interleaved
 * (all modes, then all modes again) so that whatever else slows the machine
 * down for a while spreads over every mode instead of a few.
 */
static int bench_round(struct env *e, struct results *res, size_t ni)
{
	static const int daemon_modes[] = { M_XDP, M_TC };
	size_t n = e->o->rules[ni];
	int r;

	for (int layout = 0; layout < _LAYOUT_MAX; layout++) {
		r = ruleset_load(e, RS_INPUT, layout, n);
		if (r < 0)
			return r;
		r = measure_into(e, M_NFT_INPUT, cell_at(res, ni, M_NFT_INPUT, layout));
		if (r < 0)
			return r;
		for (size_t k = 0; k < ARRAY_SIZE(daemon_modes); k++) {
			int m = daemon_modes[k];
			struct cell *c = cell_at(res, ni, m, layout);
			struct dstatus s = {};

			r = daemon_start(e, m, n);
			if (r < 0)
				return r;
			if (daemon_status(e, &s) == 0)
				snprintf(c->attach, sizeof(c->attach), "%s", s.mode);
			r = measure_into(e, m, c);
			if (r < 0)
				return r;
			r = daemon_stop(e);
			if (r < 0)
				return r;
		}
		r = ruleset_load(e, RS_INGRESS, layout, n);
		if (r < 0)
			return r;
		r = measure_into(e, M_NFT_INGRESS, cell_at(res, ni, M_NFT_INGRESS, layout));
		if (r < 0)
			return r;
	}
	r = ruleset_load(e, RS_NONE, LAYOUT_LINEAR, 0);
	if (r < 0)
		return r;
	for (int m = M_REF; m <= M_SINK; m++) {
		r = xdp_attach(e, m);
		if (r < 0)
			return r;
		r = measure_into(e, m, cell_at(res, ni, m, LAYOUT_LINEAR));
		xdp_detach(e);
		if (r < 0)
			return r;
	}
	return 0;
}

static int bench_run(struct env *e, struct results *res)
{
	const struct bench_opts *o = e->o;
	int r;

	for (size_t ni = 0; ni < o->nrules; ni++) {
		for (unsigned run = 0; run < o->runs; run++) {
			r = bench_round(e, res, ni);
			if (r < 0)
				return r;
		}
		/* nor do these depend on the layout */
		*cell_at(res, ni, M_REF, LAYOUT_SET) = *cell_at(res, ni, M_REF, LAYOUT_LINEAR);
		*cell_at(res, ni, M_SINK, LAYOUT_SET) = *cell_at(res, ni, M_SINK, LAYOUT_LINEAR);
		log_cells(res, ni);
	}

	/* Latency is not about the receiver CPU: give the daemon and the
	 * poller every CPU. */
	if (o->nlat && sched_setaffinity(0, sizeof(e->allowed), &e->allowed) < 0)
		return -errno;
	for (size_t li = 0; li < o->nlat; li++) {
		res->lat[li].rules = o->lat_rules[li];
		r = latency(e, &res->lat[li]);
		if (r < 0)
			return r;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct env e = { .self_ns = -1, .tx_ns = -1, .rx_ns = -1, .autogroup_nice = INT_MIN,
			 .stats_fd = -1, .stats_sysctl = -1 };
	char daemon_bin[PATH_MAX];
	struct results res = {};
	struct sigaction sa = { .sa_handler = on_signal }, sa_gen = { .sa_handler = on_gen_stop };
	int r;

	r = parse_opts(argc, argv, &o);
	if (r >= 0)
		return r;
	libbpf_set_print(libbpf_print);
	if (geteuid() != 0) {
		fprintf(stderr, "nft-offload-bench: run as root (sudo): it creates network namespaces "
				"and loads BPF programs\n");
		return 1;
	}
	/* ip, nft and ethtool live in sbin, not always in PATH */
	{
		const char *path = getenv("PATH");
		char buf[4096];

		if (!path || !strstr(path, "/usr/sbin")) {
			snprintf(buf, sizeof(buf), "%s%s/usr/local/sbin:/usr/sbin:/sbin",
				 path ? path : "/usr/local/bin:/usr/bin:/bin", ":");
			setenv("PATH", buf, 1);
		}
	}
	r = find_daemon(o.daemon_bin, daemon_bin, sizeof(daemon_bin));
	if (r < 0) {
		fprintf(stderr, "nft-offload-bench: %s: %s; give the nft-offload to measure with "
				"--nft-offload PATH\n", o.daemon_bin ? o.daemon_bin :
			getenv(NFO_BENCH_DAEMON_ENV) ? getenv(NFO_BENCH_DAEMON_ENV) :
			"nft-offload not found next to us nor in PATH", strerror(-r));
		return 1;
	}
	o.daemon_bin = daemon_bin;
	e.o = &o;
	e.warmup = o.duration < 1 ? (o.duration / 2 > 0.1 ? o.duration / 2 : 0.1) : 0.5;
	res.o = &o;
	res.warmup = e.warmup;
	machine_read(&res.m);
	res.cells = calloc(o.nrules * _M_MAX * _LAYOUT_MAX, sizeof(*res.cells));
	res.lat = calloc(o.nlat + 1, sizeof(*res.lat));
	if (!res.cells || !res.lat) {
		free(res.cells);
		free(res.lat);
		return 1;
	}

	/* Ctrl-C: stop, clean up, exit. No SA_RESTART: sleeps and reads return. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa_gen, NULL);
	signal(SIGPIPE, SIG_IGN);

	e.self_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (e.self_ns < 0) {
		r = log_error_errno(-errno, "bench: /proc/self/ns/net: %m");
		goto out;
	}
	r = env_setup(&e);
	if (r == 0)
		r = bench_progs_load(&e);
	if (r == 0)
		r = bpf_stats_enable(&e);
	if (r < 0)
		goto out;
	res.gen_cpu = e.gen_cpu;
	res.rx_cpu = e.rx_cpu;
	log_info("bench: measuring %s", o.daemon_bin);
	log_info("bench: namespaces %s and %s, files in %s, generator on CPU %d, receiver "
		 "(napi/%s) on CPU %d", e.ns_name[0], e.ns_name[1], e.tmp, e.gen_cpu, e.if_rx,
		 e.rx_cpu);
	if (o.blocklist) {
		struct bl_result bl[2] = {};

		/* what was measured is printed even if a later part failed */
		r = blocklist(&e, &bl[0], &bl[1]);
		if (!bl[0].ran && !bl[1].ran)
			goto out;
		if (o.json)
			bl_print_json(&o, &res.m, bl, 2);
		else
			bl_print(&o, &res.m, bl, 2);
		fflush(stdout);
		goto out;
	}
	r = bench_run(&e, &res);
	if (r < 0)
		goto out;
	if (o.plot) {
		r = plot(&e, &res);
		if (r < 0) {
			log_error("bench: the chart was not drawn (is gnuplot installed?)");
			goto out;
		}
	}
	if (o.json)
		print_json(&res);
	else
		print_table(&res);
	fflush(stdout);
out:
	if (bench_interrupted)
		log_error("bench: bench_interrupted: cleaning up");
	else if (r < 0)
		log_error("bench: failed (%s): cleaning up", strerror(-r));
	(void)gen_stop(&e);
	(void)daemon_stop(&e);
	bench_progs_free(&e);
	bpf_stats_restore(&e);
	env_free(&e);
	free(res.cells);
	free(res.lat);
	if (bench_interrupted)
		return 128 + bench_interrupted;
	return r < 0 ? 1 : 0;
}
