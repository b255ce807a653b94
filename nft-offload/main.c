// SPDX-License-Identifier: GPL-2.0-only
/* nft-offload: run nftables drop rules in XDP / TC ingress. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench.h"
#include "config.h"
#include "ctl.h"
#include "daemon.h"
#include "json.h"
#include "loader.h"
#include "probe.h"
#include "common/log.h"
#include "common/util.h"
#include "netlink/nft.h"
#include "plan.h"
#include "ruleset.h"
#include "import.h"
#include "ruletext.h"
#include "service.h"
#include "trace.h"

static int cmd_daemon(int argc, char **argv);
static int cmd_status(int argc, char **argv);
static int cmd_explain(int argc, char **argv);
static int cmd_bench(int argc, char **argv);
static int cmd_probe(int argc, char **argv);
static int cmd_service(int argc, char **argv);
static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);  /* argv[0] is the command's name */
	const char *usage;                  /* NULL: an alias, not listed */
} commands[] = {
	{ "daemon", cmd_daemon, "follow nftables and keep the fast path attached (foreground)" },
	{ "status", cmd_status, "what the running daemon has attached, offloaded and dropped" },
	{ "explain", cmd_explain, "per chain and rule: its nft text, offloaded, partly or not, and why" },
	{ "trace", nfo_trace_main, "stream the packets the fast path drops, as text or pcap-ng\n"
				   "(nft-offload trace --help)" },
	{ "bench", cmd_bench, "packet rate against plain nftables, on namespaces of its own\n"
			      "(runs " NFO_BENCH_PROGRAM "; nft-offload bench --help)" },
	{ "probe", cmd_probe, "what the kernel offers the fast path, and what it lacks" },
	{ "service", cmd_service, "service check NAME: exit 0 if both chains of service NAME\n"
				  "compile exactly into its filter, else 1 with the reason\n"
				  "(ExecStartPre=)" },
	{ "version", cmd_version, "print the version" },
	{ "--version", cmd_version, NULL },
	{ "help", cmd_help, NULL },
	{ "--help", cmd_help, NULL },
	{ "-h", cmd_help, NULL },
};

static void usage(FILE *f)
{
	struct nfo_buf cmds = {};

	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		const char *u = commands[i].usage;

		if (!u)
			continue;
		nfo_buf_printf(&cmds, "  %-8s ", commands[i].name);
		for (const char *nl; (nl = strchr(u, '\n')); u = nl + 1)
			nfo_buf_printf(&cmds, "%.*s\n%11s", (int)(nl - u), u, "");
		nfo_buf_printf(&cmds, "%s\n", u);
	}
	fprintf(f,
		"Usage: nft-offload COMMAND [OPTIONS]\n"
		"\n"
		"Runs the nftables ruleset's drop decisions in XDP or TC ingress, following\n"
		"every ruleset change. Everything the fast path cannot decide is left to\n"
		"nftables.\n"
		"\n"
		"Commands:\n"
		"%s"
		"\n"
		"daemon options:\n"
		"  --config FILE         configuration (default %s)\n"
		"  --attach IFACE[:MODE] attach to IFACE; MODE is xdp (default, native,\n"
		"                        falls back to generic), xdp-generic or tc; repeatable\n"
		"  --service 'NAME [ingress FAMILY TABLE CHAIN] [egress FAMILY TABLE CHAIN]'\n"
		"                        filter systemd unit NAME's sockets by those chains,\n"
		"                        pinned in BPFFS/nft-offload/services/NAME (dots\n"
		"                        become _: bpffs refuses them); repeatable\n"
		"  --run-dir DIR         control socket directory (default %s)\n"
		"  --bpffs DIR           bpffs mount for pinned counters (default %s;\n"
		"                        mounted there if it is not)\n"
		"  --netlink-rcvbuf BYTES  receive buffer for nftables notifications\n"
		"                        (default 32 MiB; when it overflows the daemon\n"
		"                        passes everything and reads the whole ruleset again)\n"
		"  --metrics-listen ADDR:PORT  serve Prometheus metrics (GET /metrics) on\n"
		"                        IPV4:PORT or [IPV6]:PORT (default: off)\n"
		"  -v, --verbose         debug logging\n"
		"\n"
		"service check options: --config FILE, --service SPEC (as for daemon)\n"
		"\n"
		"status / explain options:\n"
		"  --json                one JSON object\n"
		"  --prometheus          (status) the Prometheus text format, as the\n"
		"                        daemon's --metrics-listen endpoint serves it\n"
		"  --run-dir DIR         the daemon's run directory\n",
		cmds.s ? cmds.s : "", NFO_DEFAULT_CONFIG, NFO_DEFAULT_RUN_DIR, NFO_DEFAULT_BPFFS);
	nfo_buf_free(&cmds);
}

static int cmd_daemon(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "attach", required_argument, NULL, 'a' },
		{ "service", required_argument, NULL, 's' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "bpffs", required_argument, NULL, 'b' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "netlink-rcvbuf", required_argument, NULL, 'n' },
		{ "metrics-listen", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct nfo_daemon_opts o = {
		.config_path = NFO_DEFAULT_CONFIG,
		.run_dir = NFO_DEFAULT_RUN_DIR,
		.bpffs = NFO_DEFAULT_BPFFS,
	};
	int c, r;

	o.attach = calloc((size_t)argc + 1, sizeof(*o.attach));
	o.services = calloc((size_t)argc + 1, sizeof(*o.services));
	if (!o.attach || !o.services) {
		free(o.attach);
		free(o.services);
		return 1;
	}
	while ((c = getopt_long(argc, argv, "c:a:s:r:b:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.config_path = optarg;
			o.config_given = true;
			break;
		case 'a':
			o.attach[o.nattach++] = optarg;
			break;
		case 's':
			o.services[o.nservices++] = optarg;
			break;
		case 'r':
			o.run_dir = optarg;
			break;
		case 'b':
			o.bpffs = optarg;
			break;
		case 'v':
			nfo_log_level = NFO_LOG_DEBUG;
			break;
		case 'n': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || v < 4096 || v > (1L << 30)) {
				fprintf(stderr, "nft-offload daemon: --netlink-rcvbuf: a size in bytes "
						"between 4096 and 1073741824, not '%s'\n", optarg);
				free(o.attach);
				free(o.services);
				return 2;
			}
			o.netlink_rcvbuf = (int)v;
			break;
		}
		case 'm': {
			struct sockaddr_storage ss;
			socklen_t sl;

			if (strlen(optarg) >= sizeof(((struct nfo_config *)NULL)->metrics_listen) ||
			    nfo_listen_addr_parse(optarg, &ss, &sl) < 0) {
				fprintf(stderr, "nft-offload daemon: --metrics-listen: IPV4:PORT or "
						"[IPV6]:PORT (e.g. 127.0.0.1:9101), not '%s'\n", optarg);
				free(o.attach);
				return 2;
			}
			o.metrics_listen = optarg;
			break;
		}
		case 'h':
			usage(stdout);
			free(o.attach);
			free(o.services);
			return 0;
		default:
			usage(stderr);
			free(o.attach);
			free(o.services);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "nft-offload daemon: unexpected argument '%s'\n", argv[optind]);
		free(o.attach);
		free(o.services);
		return 2;
	}
	if (geteuid() != 0)
		fprintf(stderr, "nft-offload daemon: warning: not running as root; "
				"loading BPF programs needs CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN\n");
	nfo_loader_log_libbpf();
	r = nfo_daemon_main(&o);
	free(o.attach);
	free(o.services);
	return r;
}

/* One line per feature; exit 1 when the daemon could not start here. */
static int cmd_probe(int argc, char **argv)
{
	struct nfo_probe p;
	char missing[384];
	int r;

	if (argc > 1) {
		fprintf(stderr, "nft-offload probe: unexpected argument '%s'\n", argv[1]);
		return 2;
	}
	r = nfo_probe(&p);
	if (r < 0) {
		fprintf(stderr, "nft-offload probe: cannot load BPF programs: %s (run as root)\n",
			strerror(-r));
		return 1;
	}
	printf("kernel %s\n", p.kernel);
	for (int f = 0; f < _NFO_FEAT_MAX; f++)
		printf("%-8s %s\n", p.have & NFO_FEAT_MASK(f) ? "present" : "MISSING",
		       nfo_feature_name(f));
	if (nfo_probe_missing(&p, NFO_FEAT_CORE, missing, sizeof(missing))) {
		fprintf(stderr, "nft-offload cannot run on this kernel: %s\n", missing);
		return 1;
	}
	if (nfo_probe_missing(&p, NFO_FEAT_MASK(NFO_FEAT_TCX), missing, sizeof(missing)))
		printf("tc mode unavailable, %s; xdp modes work\n", missing);
	if (nfo_probe_missing(&p, NFO_FEAT_SERVICES, missing, sizeof(missing)))
		printf("per-service filters unavailable, %s; interfaces work\n", missing);
	return 0;
}

/* Sends request (and its body) to the daemon, prints the answer. */
static int ask_daemon(const char *run_dir, const char *request, const struct nfo_buf *body)
{
	struct nfo_buf answer = {};
	char path[PATH_MAX];
	int r;

	r = nfo_ctl_request(run_dir, request, body, 0, &answer);
	if (r == -ENAMETOOLONG) {
		fprintf(stderr, "nft-offload: run directory path too long: %s\n", run_dir);
	} else if (r == -ENOENT || r == -ECONNREFUSED) {
		(void)nfo_ctl_socket_path(run_dir, path, sizeof(path));
		fprintf(stderr, "nft-offload: no daemon is running (cannot connect to %s: %s); "
				"start one with: nft-offload daemon --attach IFACE\n",
			path, strerror(-r));
	} else if (r < 0) {
		fprintf(stderr, "nft-offload: cannot talk to the daemon: %s\n", strerror(-r));
	}
	if (answer.len)
		fwrite(answer.s, 1, answer.len, stdout);
	nfo_buf_free(&answer);
	return r < 0 ? 1 : 0;
}

/*
 * The rule texts for `explain` (ruletext.h), read by nft in the daemon's
 * network namespace: the control socket may be reached from another one.
 */
static void explain_body(const char *run_dir, struct nfo_buf *body)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct stat self, daemon;
	char nspath[64];
	int fd, nsfd;

	/* no daemon: ask_daemon says so */
	if (nfo_ctl_connect(run_dir, &fd) < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
		nfo_buf_printf(body, "note\tcannot identify the daemon: %s\n", strerror(errno));
		close(fd);
		return;
	}
	close(fd);
	snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", (int)cred.pid);
	if (stat("/proc/self/ns/net", &self) < 0 || stat(nspath, &daemon) < 0) {
		nfo_buf_printf(body, "note\tcannot find the daemon's network namespace: %s\n",
			       strerror(errno));
		return;
	}
	if (self.st_ino != daemon.st_ino || self.st_dev != daemon.st_dev) {
		nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
		if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
			nfo_buf_printf(body, "note\tcannot enter the daemon's network namespace: %s\n",
				       strerror(errno));
			if (nsfd >= 0)
				close(nsfd);
			return;
		}
		close(nsfd);
	}
	nfo_ruletext_collect(body);
}

static int cmd_query(int argc, char **argv, const char *what)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *run_dir = NFO_DEFAULT_RUN_DIR;
	char req[64];
	const char *form = NFO_CTL_TEXT;
	int c;

	while ((c = getopt_long(argc, argv, "jr:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			form = NFO_CTL_JSON;
			break;
		case 'p':
			if (strcmp(what, NFO_CTL_STATUS)) {
				fprintf(stderr, "nft-offload %s: --prometheus is for status\n", what);
				return 2;
			}
			form = NFO_CTL_PROMETHEUS;
			break;
		case 'r':
			run_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "nft-offload %s: unexpected argument '%s'\n", what, argv[optind]);
		return 2;
	}
	snprintf(req, sizeof(req), "%s %s", what, form);
	if (!strcmp(what, NFO_CTL_EXPLAIN)) {
		struct nfo_buf body = {};

		explain_body(run_dir, &body);
		c = ask_daemon(run_dir, req, &body);
		nfo_buf_free(&body);
		return c;
	}
	return ask_daemon(run_dir, req, NULL);
}

static int cmd_status(int argc, char **argv)
{
	return cmd_query(argc, argv, NFO_CTL_STATUS);
}

static int cmd_explain(int argc, char **argv)
{
	return cmd_query(argc, argv, NFO_CTL_EXPLAIN);
}

/*
 * The benchmark is a program of its own (it creates namespaces, runs a
 * traffic generator, draws charts: nothing the daemon needs), installed next
 * to this one. `nft-offload bench` runs it and tells it which nft-offload to
 * measure: this very binary.
 */
static int cmd_bench(int argc, char **argv)
{
	char self[PATH_MAX], bench[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	char *slash;

	if (!args || n <= 0) {
		free(args);
		fprintf(stderr, "nft-offload bench: cannot find our own binary: %s\n", strerror(errno));
		return 1;
	}
	self[n] = '\0';
	(void)setenv(NFO_BENCH_DAEMON_ENV, self, 1);
	args[0] = (char *)NFO_BENCH_PROGRAM;
	for (int i = 1; i < argc; i++)
		args[i] = argv[i];
	slash = strrchr(self, '/');
	snprintf(bench, sizeof(bench), "%.*s/%s", (int)(slash ? slash - self : 1),
		 slash ? self : ".", NFO_BENCH_PROGRAM);
	if (access(bench, X_OK) == 0)
		execv(bench, args);
	else
		execvp(NFO_BENCH_PROGRAM, args);
	fprintf(stderr, "nft-offload bench: the benchmark is a program of its own, %s, "
			"found neither next to %s nor in PATH (%s); `meson install` installs it, "
			"a build directory has it in bench/%s\n",
		NFO_BENCH_PROGRAM, self, strerror(errno), NFO_BENCH_PROGRAM);
	free(args);
	return 127;
}

static int cmd_version(int argc, char **argv)
{
	printf("nft-offload %s\n", NFO_VERSION);
	return 0;
}

static int cmd_help(int argc, char **argv)
{
	usage(stdout);
	return 0;
}

/* `service check NAME`: compiles the service's chains from the ruleset of
 * this network namespace, as the daemon would. */
static int cmd_service(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "service", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *config_path = NFO_DEFAULT_CONFIG;
	const struct nfo_config_service *sv;
	struct nfo_nft_dump *dump = NULL;
	struct nfo_ruleset *rs = NULL;
	struct nfo_config cfg;
	bool config_given = false;
	/* --service specs are added after the file: kept until it is read */
	char **specs = calloc((size_t)argc + 1, sizeof(*specs));
	size_t nspecs = 0;
	char err[512];
	int c, r, ret = 1;

	if (!specs)
		return 1;
	nfo_config_init(&cfg);
	while ((c = getopt_long(argc, argv, "c:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			config_given = true;
			break;
		case 's':
			specs[nspecs++] = optarg;
			break;
		case 'h':
			usage(stdout);
			free(specs);
			return 0;
		default:
			usage(stderr);
			free(specs);
			return 2;
		}
	}
	if (optind + 2 != argc || strcmp(argv[optind], "check")) {
		fprintf(stderr, "nft-offload service: usage: nft-offload service check NAME "
				"[--config FILE] [--service SPEC]\n");
		free(specs);
		return 2;
	}
	r = nfo_config_load(&cfg, config_path, config_given, err, sizeof(err));
	for (size_t i = 0; r == 0 && i < nspecs; i++)
		r = nfo_config_add_service(&cfg, specs[i], err, sizeof(err));
	free(specs);
	if (r < 0) {
		fprintf(stderr, "nft-offload service check: %s\n", err);
		goto out;
	}
	sv = nfo_config_find_service(&cfg, argv[optind + 1]);
	if (!sv) {
		fprintf(stderr, "nft-offload service check: service %s is not configured (no 'service %s' "
				"line in %s, no --service)\n", argv[optind + 1], argv[optind + 1], config_path);
		goto out;
	}
	r = nfo_nft_read_ruleset(&dump, false, NULL);
	if (r == 0)
		r = nfo_ruleset_new(&rs, dump);
	if (r < 0) {
		fprintf(stderr, "nft-offload service check: cannot read the nftables ruleset: %s\n",
			strerror(-r));
		goto out;
	}
	ret = 0;
	for (int d = 0; d < _NFO_SERVICE_DIR_MAX; d++) {
		const struct nfo_config_chainref *ref = &sv->dir[d];
		struct nfo_plan *plan = NULL;
		char reason[512];

		if (!ref->set)
			continue;
		r = nfo_service_compile(rs, ref, cfg.max_edges, &plan, reason, sizeof(reason));
		if (r < 0) {
			fprintf(stderr, "nft-offload service check: %s\n", strerror(-r));
			ret = 1;
			continue;
		}
		if (r > 0) {
			printf("%s %s: %s\n", sv->name, nfo_service_dir_name(d), reason);
			ret = 1;
			continue;
		}
		printf("%s %s: %s %s %s compiles exactly (%zu nodes)\n", sv->name,
		       nfo_service_dir_name(d), nfo_family_name(ref->family), ref->table, ref->chain,
		       plan->nnodes - 1);
		nfo_plan_free(&plan);
	}
out:
	nfo_ruleset_free(&rs);
	nfo_nft_dump_free(&dump);
	nfo_config_clear(&cfg);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "nft-offload: unknown command '%s' (try: nft-offload --help)\n", argv[1]);
	return 2;
}
