// SPDX-License-Identifier: GPL-2.0-only
/*
 * `nft-offload bench`: packets per second one receiver CPU drops, with plain
 * nftables and with nft-offload, on this machine, with one command.
 *
 * Two network namespaces joined by a veth. The generator is
 * BPF_PROG_TEST_RUN in live-frames mode on one CPU: bpf/bench/nfo_gen.bpf.c
 * gives every frame a new UDP source port and redirects it out of the sender
 * veth. The receiving veth runs GRO and threaded NAPI, its NAPI thread pinned
 * to another CPU, so everything the receiver does per packet (XDP, building
 * the skb, GRO, tc, netfilter) happens on a core of its own, and the
 * generator offers more than any receiver mode can take. The receiver's rate
 * is the growth of the counter of whatever drops the packets (the nftables
 * rule, the daemon's totals, the bare XDP program's count) over a window in
 * steady state.
 *
 * The ruleset is N rules on other UDP ports followed by the counted rule that
 * drops the test traffic (as people write them), or the same N ports in one
 * named set. nft-offload runs as the real daemon, a child process in the
 * receiver namespace.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "bench.h"
#include "daemon.h"
#include "json.h"
#include "common/log.h"
#include "common/util.h"

#include "nfo_gen.skel.h"
#include "nfo_sink.skel.h"

#define TABLE "nfo_bench"
#define DROP_PORT 9            /* the port of the test traffic (discard) */
#define OTHER_PORT0 20000      /* the N non-matching rules: 20000, 20001, ... */
#define MAX_RULES 40000
#define MAX_COUNTS 16
#define MAX_RUNS 99
#define FLOWS 1024             /* UDP source ports the generator cycles through */
#define SPORT0 1024
#define FRAME_LEN 60           /* the smallest Ethernet frame without FCS */
/* Every BPF_PROG_TEST_RUN call sets up and tears down its page pool and
 * memory model (net/bpf/test_run.c, xdp_test_run_setup/teardown); with calls
 * of 2^18 frames the receiver idled a third of the time. One long call,
 * interrupted by a signal when the run is over. */
#define GEN_FRAMES_PER_CALL (1u << 30)
#define SATURATED 0.97         /* received/offered above this: generator-bound */
#define BUSY 0.85              /* receiver CPU busy below this: generator-bound */
#define NL_RECV_SIZE 32768

static const uint8_t mac_tx[6] = { 0x02, 0x6e, 0x66, 0x6f, 0x00, 0x01 };
static const uint8_t mac_rx[6] = { 0x02, 0x6e, 0x66, 0x6f, 0x00, 0x02 };
#define IP_TX "192.0.2.1"      /* RFC 5737 TEST-NET-1, inside our namespaces */
#define IP_RX "192.0.2.2"

enum bench_mode { M_NFT_INPUT, M_NFT_INGRESS, M_XDP, M_TC, M_SINK, _M_MAX };
enum bench_layout { LAYOUT_LINEAR, LAYOUT_SET, _LAYOUT_MAX };

static const char *const mode_id[_M_MAX] = {
	[M_NFT_INPUT] = "nft-input",
	[M_NFT_INGRESS] = "nft-ingress",
	[M_XDP] = "nft-offload-xdp",
	[M_TC] = "nft-offload-tc",
	[M_SINK] = "xdp-drop",
};
static const char *const mode_label[_M_MAX] = {
	[M_NFT_INPUT] = "nft input",
	[M_NFT_INGRESS] = "nft ingress",
	[M_XDP] = "nft-offload xdp",
	[M_TC] = "nft-offload tc",
	[M_SINK] = "xdp drop-all (ceiling)",
};
static const char *const layout_id[_LAYOUT_MAX] = {
	[LAYOUT_LINEAR] = "linear",
	[LAYOUT_SET] = "set",
};

struct bench_opts {
	size_t rules[MAX_COUNTS];
	size_t nrules;
	size_t lat_rules[MAX_COUNTS];
	size_t nlat;
	double duration;
	unsigned runs;
	bool json;
	const char *plot;
};

struct cell {
	double pps[MAX_RUNS];
	double offered[MAX_RUNS];
	double busy[MAX_RUNS];  /* share of the window the NAPI thread was on CPU */
	unsigned n;
	char attach[16]; /* nft-offload modes: what the daemon attached */
};

struct lat {
	size_t rules;
	double daemon_ms[MAX_RUNS];
	double build_ms[MAX_RUNS];
	double ext_ms[MAX_RUNS];
	double status_ms[MAX_RUNS];
	unsigned n;
};

struct env {
	const struct bench_opts *o;
	char tmp[64];          /* /tmp/nft-offload-bench.XXXXXX */
	char ns_name[2][48];  /* [0] sender, [1] receiver */
	bool ns_made[2];
	int self_ns, tx_ns, rx_ns;
	char if_tx[IF_NAMESIZE], if_rx[IF_NAMESIZE];
	int tx_ifindex;
	cpu_set_t allowed;     /* the CPUs we were given */
	cpu_set_t not_rx;      /* all but the receiver's */
	int gen_cpu, rx_cpu;
	double warmup;
	struct mnl_socket *nl; /* nftables netlink, in the receiver namespace */
	uint32_t nl_seq;
	struct nfo_gen *gen;
	struct nfo_sink *sink;
	struct bpf_link *sink_link;
	int ncpus_possible;
	uint8_t frame[FRAME_LEN];
	pthread_t gen_thread;
	bool gen_running;
	atomic_bool gen_stop;
	atomic_bool gen_done;
	int gen_err;
	int autogroup_nice;    /* to put back; INT_MIN: untouched */
	pid_t napi_pids[8];    /* the receiver's NAPI threads */
	int nnapi;
	pid_t daemon_pid;
	char daemon_dir[PATH_MAX];
	char daemon_log[PATH_MAX];
	int drop_family;       /* the counted drop rule of the loaded ruleset */
	const char *drop_chain;
	uint64_t drop_handle;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* -EINTR when the user interrupted us. */
static int sleep_s(double s)
{
	double end = now_s() + s;

	for (;;) {
		double left = end - now_s();
		struct timespec ts;

		if (interrupted)
			return -EINTR;
		if (left <= 0)
			return 0;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		(void)nanosleep(&ts, NULL);
	}
}

/* ---- processes and namespaces ------------------------------------------------ */

static void show_file(const char *path, const char *what)
{
	char line[512];
	FILE *f = fopen(path, "re");
	int n = 0;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && n++ < 40)
		fprintf(stderr, "  %s: %s", what, line);
	fclose(f);
}

/*
 * Runs argv in network namespace nsfd (-1: ours) and waits for it. Its
 * stdout goes to out (if given), its stderr is shown if it fails. 0, or
 * -EIO when the command failed, or -errno.
 */
static int run(struct env *e, int nsfd, struct nfo_buf *out, const char *const *argv)
{
	char errpath[PATH_MAX], cmd[256] = "";
	int pfd[2] = { -1, -1 }, errfd, nullfd, status;
	pid_t pid;

	snprintf(errpath, sizeof(errpath), "%s/cmd.err", e->tmp);
	errfd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (errfd < 0 || nullfd < 0 || (out && pipe2(pfd, O_CLOEXEC) < 0)) {
		int r = -errno;

		if (errfd >= 0)
			close(errfd);
		if (nullfd >= 0)
			close(nullfd);
		return r;
	}
	pid = fork();
	if (pid == 0) {
		if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) < 0)
			_exit(126);
		dup2(nullfd, 0);
		dup2(out ? pfd[1] : nullfd, 1);
		dup2(errfd, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	status = -errno;
	close(errfd);
	close(nullfd);
	if (out)
		close(pfd[1]);
	if (pid < 0) {
		if (out)
			close(pfd[0]);
		return status;
	}
	if (out) {
		char buf[4096];
		ssize_t n;

		while ((n = read(pfd[0], buf, sizeof(buf))) != 0) {
			if (n < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			nfo_buf_put(out, buf, (size_t)n);
		}
		close(pfd[0]);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	for (const char *const *a = argv; *a; a++) {
		size_t l = strlen(cmd);

		snprintf(cmd + l, sizeof(cmd) - l, "%s%s", l ? " " : "", *a);
	}
	if (!interrupted) {
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
			log_error("bench: %s: command not found (contrib/install-deps.sh installs it)",
				  argv[0]);
		else
			log_error("bench: '%s' failed", cmd);
		show_file(errpath, argv[0]);
	}
	return -EIO;
}

#define RUN(e, ns, out, ...) run((e), (ns), (out), (const char *const[]){ __VA_ARGS__, NULL })

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/*
 * Writes val to path from inside network namespace nsfd, in a child. sysfs
 * shows the devices of the namespace that mounted it, so for /sys paths the
 * child mounts its own in a private mount namespace (`ip netns exec` does
 * the same); /proc/sys/net follows the writer's namespace already.
 */
static int ns_write(int nsfd, const char *path, const char *val)
{
	bool sysfs = !strncmp(path, "/sys/", 5);
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (setns(nsfd, CLONE_NEWNET) < 0)
			_exit(1);
		if (sysfs && (unshare(CLONE_NEWNS) < 0 ||
			      mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
			      mount("sysfs", "/sys", "sysfs", 0, NULL) < 0))
			_exit(2);
		_exit(write_file(path, val) < 0 ? 3 : 0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static int enter_ns(int fd)
{
	return setns(fd, CLONE_NEWNET) < 0 ? -errno : 0;
}

static void leave_ns(struct env *e)
{
	if (setns(e->self_ns, CLONE_NEWNET) < 0)
		log_error("bench: cannot return to our network namespace: %m");
}

static int open_ns(const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * Pins the receiver's NAPI thread(s) to the receiver CPU, SCHED_FIFO so that
 * whatever else runs on the machine does not take that CPU from it (the
 * kernel still gives starved normal tasks a few percent: fair server /
 * RT throttling). Threaded NAPI kthreads are named "napi/<dev>-<napi id>"
 * (net/core/dev.c, napi_kthread_create), cut to TASK_COMM_LEN - 1
 * characters; interface names here are short enough for "napi/<dev>-" to
 * fit. Done before every run: attaching or detaching XDP may recreate the
 * NAPI instance.
 */
static int pin_napi(struct env *e)
{
	struct sched_param sp = { .sched_priority = 1 };
	char prefix[32], path[300], comm[32];
	struct dirent *de;
	cpu_set_t set;
	int found = 0;
	DIR *d;

	snprintf(prefix, sizeof(prefix), "napi/%s-", e->if_rx);
	d = opendir("/proc");
	if (!d)
		return -errno;
	CPU_ZERO(&set);
	CPU_SET(e->rx_cpu, &set);
	while ((de = readdir(d))) {
		ssize_t n;
		int fd;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (n <= 0)
			continue;
		comm[n] = '\0';
		if (strncmp(comm, prefix, strlen(prefix)))
			continue;
		if (sched_setaffinity(atoi(de->d_name), sizeof(set), &set) < 0 ||
		    sched_setscheduler(atoi(de->d_name), SCHED_FIFO, &sp) < 0) {
			int r = -errno;

			closedir(d);
			return r;
		}
		if (found < (int)ARRAY_SIZE(e->napi_pids))
			e->napi_pids[found++] = atoi(de->d_name);
	}
	closedir(d);
	e->nnapi = found;
	return found ? found : -ENOENT;
}

/* CPU time the NAPI threads have used, in seconds (/proc/PID/schedstat:
 * time on CPU in ns, fs/proc/base.c proc_pid_schedstat). */
static double napi_cpu_s(struct env *e)
{
	double sum = 0;

	for (int i = 0; i < e->nnapi; i++) {
		char path[64];
		unsigned long long ns = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)e->napi_pids[i]);
		f = fopen(path, "re");
		if (f && fscanf(f, "%llu", &ns) == 1)
			sum += (double)ns / 1e9;
		if (f)
			fclose(f);
	}
	return sum;
}

/* ---- nftables over netlink: the counter of the drop rule -------------------- */

struct rule_info {
	uint64_t handle;
	uint64_t packets;
	bool counter;
};

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rule_info *ri = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr_iter *it;
	struct nftnl_expr *ex;

	if (!r)
		return MNL_CB_ERROR;
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		nftnl_rule_free(r);
		return MNL_CB_ERROR;
	}
	/* a dump: the last rule wins */
	ri->handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
	ri->counter = false;
	it = nftnl_expr_iter_create(r);
	while (it && (ex = nftnl_expr_iter_next(it))) {
		const char *name = nftnl_expr_get_str(ex, NFTNL_EXPR_NAME);

		if (name && !strcmp(name, "counter")) {
			ri->counter = true;
			ri->packets = nftnl_expr_get_u64(ex, NFTNL_EXPR_CTR_PACKETS);
		}
	}
	nftnl_expr_iter_destroy(it);
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

/* One rule by handle, or (handle 0) a dump of the chain: its last rule. */
static int nft_rule_get(struct env *e, int family, const char *chain, uint64_t handle,
			struct rule_info *ret)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	_cleanup_free_ uint8_t *rbuf = malloc(NL_RECV_SIZE);
	struct rule_info ri = {};
	struct nftnl_rule *r;
	struct nlmsghdr *nlh;
	uint32_t seq = ++e->nl_seq, portid = mnl_socket_get_portid(e->nl);
	int n;

	if (!rbuf)
		return -ENOMEM;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, (uint16_t)family,
				    handle ? NLM_F_ACK : NLM_F_DUMP, seq);
	r = nftnl_rule_alloc();
	if (!r)
		return -ENOMEM;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	if (handle)
		nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	if (mnl_socket_sendto(e->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		ssize_t len = mnl_socket_recvfrom(e->nl, rbuf, NL_RECV_SIZE);

		if (len < 0) {
			if (errno == EINTR && !interrupted)
				continue;
			return -errno;
		}
		n = mnl_cb_run(rbuf, (size_t)len, seq, portid, rule_cb, &ri);
		if (n < 0)
			return -errno ? -errno : -EIO;
	} while (n > MNL_CB_STOP);
	if (!ri.handle)
		return -ENOENT;
	*ret = ri;
	return 0;
}

/* ---- rulesets ------------------------------------------------------------------ */

enum { RS_NONE, RS_INPUT, RS_INGRESS };

/* Replaces our tables (and only ours) in the receiver namespace. */
static int ruleset_load(struct env *e, int where, int layout, size_t n)
{
	char path[PATH_MAX];
	struct rule_info ri;
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "%s/ruleset.nft", e->tmp);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	/* create-then-delete: removes the table whether or not it exists, in
	 * the same transaction as the new ruleset */
	fprintf(f, "table inet " TABLE "\ndelete table inet " TABLE "\n"
		   "table netdev " TABLE "\ndelete table netdev " TABLE "\n");
	if (where != RS_NONE) {
		fprintf(f, "table %s " TABLE " {\n", where == RS_INPUT ? "inet" : "netdev");
		if (layout == LAYOUT_SET) {
			fprintf(f, "\tset ports {\n\t\ttype inet_service\n");
			if (n) {
				fprintf(f, "\t\telements = { ");
				for (size_t i = 0; i < n; i++)
					fprintf(f, "%s%zu", i ? ", " : "", OTHER_PORT0 + i);
				fprintf(f, " }\n");
			}
			fprintf(f, "\t}\n");
		}
		if (where == RS_INPUT)
			fprintf(f, "\tchain input {\n"
				   "\t\ttype filter hook input priority filter; policy accept;\n");
		else
			fprintf(f, "\tchain ingress {\n"
				   "\t\ttype filter hook ingress device \"%s\" priority filter; "
				   "policy accept;\n", e->if_rx);
		if (layout == LAYOUT_SET)
			fprintf(f, "\t\tudp dport @ports drop\n");
		else
			for (size_t i = 0; i < n; i++)
				fprintf(f, "\t\tudp dport %zu drop\n", OTHER_PORT0 + i);
		fprintf(f, "\t\tudp dport %d counter drop\n\t}\n}\n", DROP_PORT);
	}
	if (fclose(f) != 0)
		return -errno;
	r = RUN(e, e->rx_ns, NULL, "nft", "-f", path);
	if (r < 0)
		return r;
	e->drop_handle = 0;
	if (where == RS_NONE)
		return 0;
	e->drop_family = where == RS_INPUT ? NFPROTO_INET : NFPROTO_NETDEV;
	e->drop_chain = where == RS_INPUT ? "input" : "ingress";
	r = nft_rule_get(e, e->drop_family, e->drop_chain, 0, &ri);
	if (r < 0)
		return log_error_errno(r, "bench: reading back the ruleset: %s", strerror(-r));
	if (!ri.counter)
		return log_error_errno(-EPROTO, "bench: the last rule of the loaded chain has no counter");
	e->drop_handle = ri.handle;
	return 0;
}

/* ---- the daemon -------------------------------------------------------------- */

struct dstatus {
	uint64_t generation;
	uint64_t updates;
	uint64_t dropped;
	uint64_t passed;
	double last_update_ms;
	double last_build_ms;
	bool enabled;
	bool attached;
	char mode[16];
};

static const char *json_at(const char *s, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = s ? strstr(s, pat) : NULL;
	return p ? p + strlen(pat) : NULL;
}

static int json_u64(const char *s, const char *key, uint64_t *ret)
{
	const char *p = json_at(s, key);

	if (!p || !isdigit((unsigned char)*p))
		return -EBADMSG;
	*ret = strtoull(p, NULL, 10);
	return 0;
}

/* status --json of the daemon; counters are read first when it answers. */
static int status_query(struct env *e, struct nfo_buf *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 10 };
	static const char req[] = "status json\n";
	char buf[65536];
	ssize_t n;
	int fd;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", e->daemon_dir,
			     NFO_CONTROL_SOCKET) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
		int r = -errno;

		close(fd);
		return r;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		nfo_buf_put(out, buf, (size_t)n);
	close(fd);
	if (n < 0)
		return -errno;
	return out->oom ? -ENOMEM : 0;
}

static int daemon_status(struct env *e, struct dstatus *ret)
{
	struct nfo_buf b = {};
	struct dstatus s = {};
	const char *p, *t;
	int r;

	r = status_query(e, &b);
	if (r < 0)
		goto out;
	r = -EBADMSG;
	if (!b.s || json_u64(b.s, "generation", &s.generation) < 0 ||
	    json_u64(b.s, "updates", &s.updates) < 0)
		goto out;
	p = json_at(b.s, "fast_path");
	s.enabled = p && !strncmp(p, "\"enabled\"", 9);
	p = json_at(b.s, "last_update_ms");
	if (p)
		s.last_update_ms = strtod(p, NULL);
	p = json_at(b.s, "last_build_ms");
	if (p)
		s.last_build_ms = strtod(p, NULL);
	p = json_at(b.s, "interfaces");
	p = json_at(p, "mode");
	if (p && *p == '"')
		snprintf(s.mode, sizeof(s.mode), "%.*s", (int)strcspn(p + 1, "\""), p + 1);
	p = json_at(b.s, "attached");
	s.attached = p && !strncmp(p, "true", 4);
	t = json_at(b.s, "totals");
	if (json_u64(t, "dropped", &s.dropped) < 0 || json_u64(t, "passed", &s.passed) < 0)
		goto out;
	*ret = s;
	r = 0;
out:
	nfo_buf_free(&b);
	return r;
}

static int daemon_stop(struct env *e)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int status = 0, r = 0;
	pid_t w = 0;

	if (e->daemon_pid <= 0)
		return 0;
	kill(e->daemon_pid, SIGTERM);
	for (int i = 0; i < 1000; i++) {
		w = waitpid(e->daemon_pid, &status, WNOHANG);
		if (w != 0)
			break;
		(void)nanosleep(&ts, NULL);
	}
	if (w == 0) {
		log_error("bench: the daemon did not stop within 10 s of SIGTERM: killing it");
		kill(e->daemon_pid, SIGKILL);
		while (waitpid(e->daemon_pid, &status, 0) < 0 && errno == EINTR)
			;
		r = -ETIMEDOUT;
	} else if (w > 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		log_error("bench: the daemon did not exit cleanly (status 0x%x); its log:", status);
		show_file(e->daemon_log, "daemon");
		r = -EIO;
	}
	e->daemon_pid = 0;
	return r;
}

/*
 * Starts `nft-offload daemon` (this very binary) attached to the receiving
 * veth, and waits until its fast path is enabled and has stopped changing.
 * The child gets a private mount namespace, so the bpffs the daemon mounts
 * goes away with it.
 */
static int daemon_start(struct env *e, int mode, size_t nrules)
{
	char conf[PATH_MAX], bpffs[PATH_MAX], attach[64];
	struct dstatus s = {}, prev = {};
	double t0 = now_s(), stable_since = 0;
	int logfd, r;
	FILE *f;

	snprintf(e->daemon_dir, sizeof(e->daemon_dir), "%s/run-%s", e->tmp, mode_id[mode]);
	snprintf(e->daemon_log, sizeof(e->daemon_log), "%s/daemon-%s.log", e->tmp, mode_id[mode]);
	snprintf(conf, sizeof(conf), "%s/daemon.conf", e->tmp);
	snprintf(bpffs, sizeof(bpffs), "%s/bpffs", e->tmp);
	snprintf(attach, sizeof(attach), "%s:%s", e->if_rx, mode == M_TC ? "tc" : "xdp");
	f = fopen(conf, "we");
	if (!f)
		return -errno;
	/* its own file: nothing from /etc/nft-offload, and enough counters */
	fprintf(f, "max-counters %zu\n", nrules + 64 > 16384 ? nrules + 64 : 16384);
	if (fclose(f) != 0)
		return -errno;
	logfd = open(e->daemon_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0)
		return -errno;

	e->daemon_pid = fork();
	if (e->daemon_pid == 0) {
		const char *argv[] = { "nft-offload", "daemon", "--config", conf, "--attach", attach,
				       "--run-dir", e->daemon_dir, "--bpffs", bpffs, NULL };
		sigset_t none;

		/* its own process group: Ctrl-C reaches us, and we stop it */
		setpgid(0, 0);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (setns(e->rx_ns, CLONE_NEWNET) < 0 || unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(126);
		dup2(logfd, 1);
		dup2(logfd, 2);
		execv("/proc/self/exe", (char *const *)argv);
		_exit(127);
	}
	r = -errno;
	close(logfd);
	if (e->daemon_pid < 0) {
		e->daemon_pid = 0;
		return r;
	}

	for (;;) {
		int status;

		if (waitpid(e->daemon_pid, &status, WNOHANG) == e->daemon_pid) {
			e->daemon_pid = 0;
			log_error("bench: the daemon exited (status 0x%x); its log:", status);
			show_file(e->daemon_log, "daemon");
			return -ECHILD;
		}
		r = daemon_status(e, &s);
		if (r == 0 && s.enabled && s.attached) {
			/* attaching raises link notifications, and those a
			 * rebuild: wait until the updates stop */
			if (!stable_since || s.updates != prev.updates)
				stable_since = now_s();
			else if (now_s() - stable_since >= 0.3)
				break;
			prev = s;
		} else {
			stable_since = 0;
		}
		if (now_s() - t0 > 120) {
			log_error("bench: the daemon did not enable its fast path within 120 s; its log:");
			show_file(e->daemon_log, "daemon");
			return -ETIMEDOUT;
		}
		r = sleep_s(0.02);
		if (r < 0)
			return r;
	}
	if (mode == M_XDP && strcmp(s.mode, "xdp"))
		log_warn("bench: the daemon attached in mode %s, not native xdp", s.mode);
	return 0;
}

/* ---- the generator ------------------------------------------------------------ */

static uint16_t ip_csum(const uint8_t *h, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Ethernet + IPv4 + UDP to the receiver's MAC and address, port DROP_PORT. */
static void frame_build(uint8_t *f)
{
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint16_t c;

	memset(f, 0, FRAME_LEN);
	memcpy(f, mac_rx, 6);
	memcpy(f + 6, mac_tx, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = FRAME_LEN - 14;
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = 17;
	inet_pton(AF_INET, IP_TX, ip + 12);
	inet_pton(AF_INET, IP_RX, ip + 16);
	c = ip_csum(ip, 20);
	ip[10] = c >> 8;
	ip[11] = c & 0xff;
	udp[0] = SPORT0 >> 8;
	udp[1] = SPORT0 & 0xff;
	udp[3] = DROP_PORT;
	udp[5] = FRAME_LEN - 14 - 20; /* checksum 0: none (IPv4) */
}

static void on_gen_stop(int sig)
{
}

static void *gen_main(void *arg)
{
	struct env *e = arg;
	int fd = bpf_program__fd(e->gen->progs.nfo_gen);
	cpu_set_t set;
	sigset_t all;

	/* Signals are for the main thread, but for SIGUSR1, with which it
	 * stops us: BPF_PROG_TEST_RUN returns -EINTR when a signal is
	 * pending (net/bpf/test_run.c, bpf_test_timer_continue). */
	sigfillset(&all);
	sigdelset(&all, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	CPU_ZERO(&set);
	CPU_SET(e->gen_cpu, &set);
	/* the redirect target's ifindex is looked up in the namespace of the
	 * thread calling BPF_PROG_TEST_RUN (net/bpf/test_run.c: live frames
	 * arrive on that namespace's loopback) */
	if (sched_setaffinity(0, sizeof(set), &set) < 0 || setns(e->tx_ns, CLONE_NEWNET) < 0)
		e->gen_err = -errno;
	while (!e->gen_err && !atomic_load(&e->gen_stop)) {
		LIBBPF_OPTS(bpf_test_run_opts, o,
			.data_in = e->frame,
			.data_size_in = sizeof(e->frame),
			.repeat = GEN_FRAMES_PER_CALL,
			.flags = BPF_F_TEST_XDP_LIVE_FRAMES);

		if (bpf_prog_test_run_opts(fd, &o) < 0 && errno != EINTR)
			e->gen_err = -errno;
	}
	atomic_store(&e->gen_done, true);
	return NULL;
}

static int gen_start(struct env *e)
{
	int r;

	atomic_store(&e->gen_stop, false);
	atomic_store(&e->gen_done, false);
	e->gen_err = 0;
	r = -pthread_create(&e->gen_thread, NULL, gen_main, e);
	if (r < 0)
		return r;
	e->gen_running = true;
	return 0;
}

static int gen_stop(struct env *e)
{
	if (!e->gen_running)
		return 0;
	atomic_store(&e->gen_stop, true);
	/* again until it is out: a signal that lands just before it enters
	 * the next call is lost */
	while (!atomic_load(&e->gen_done)) {
		struct timespec ts = { 0, 5 * 1000 * 1000 };

		pthread_kill(e->gen_thread, SIGUSR1);
		(void)nanosleep(&ts, NULL);
	}
	pthread_join(e->gen_thread, NULL);
	e->gen_running = false;
	return e->gen_err;
}

static uint64_t gen_sent(struct env *e)
{
	return __atomic_load_n(&e->gen->bss->sent, __ATOMIC_RELAXED);
}

/* ---- measuring ------------------------------------------------------------------ */

static int sink_count(struct env *e, uint64_t *ret)
{
	_cleanup_free_ uint64_t *v = calloc((size_t)e->ncpus_possible, sizeof(*v));
	uint32_t key = 0;
	uint64_t sum = 0;

	if (!v)
		return -ENOMEM;
	if (bpf_map__lookup_elem(e->sink->maps.nfo_sink_count, &key, sizeof(key), v,
				 sizeof(*v) * (size_t)e->ncpus_possible, 0) < 0)
		return -errno;
	for (int i = 0; i < e->ncpus_possible; i++)
		sum += v[i];
	*ret = sum;
	return 0;
}

/* Packets the mode's dropper has dropped, and when that was read. */
static int drop_count(struct env *e, int mode, uint64_t *ret, uint64_t *ret_passed,
		      double *ret_t)
{
	struct rule_info ri;
	struct dstatus s;
	double t0 = now_s();
	int r;

	*ret_passed = 0;
	switch (mode) {
	case M_NFT_INPUT:
	case M_NFT_INGRESS:
		r = nft_rule_get(e, e->drop_family, e->drop_chain, e->drop_handle, &ri);
		if (r == 0)
			*ret = ri.packets;
		*ret_t = (t0 + now_s()) / 2;
		return r;
	case M_XDP:
	case M_TC:
		r = daemon_status(e, &s);
		if (r == 0 && !s.enabled)
			log_warn("bench: the daemon's fast path is disabled");
		*ret = s.dropped;
		*ret_passed = s.passed;
		*ret_t = t0; /* the daemon reads its counters as soon as it answers */
		return r;
	default:
		r = sink_count(e, ret);
		*ret_t = (t0 + now_s()) / 2;
		return r;
	}
}

static int measure_once(struct env *e, int mode, double *ret_pps, double *ret_offered,
			double *ret_busy)
{
	uint64_t c0, c1, p0, p1, s0, s1;
	double t0, t1, ts0, ts1, b0, b1;
	int r, r2;

	r = pin_napi(e);
	if (r < 0)
		return log_error_errno(r, "bench: cannot pin the NAPI thread of %s: %s", e->if_rx,
				       r == -ENOENT ? "not found (threaded NAPI off?)" : strerror(-r));
	r = gen_start(e);
	if (r < 0)
		return log_error_errno(r, "bench: cannot start the generator: %s", strerror(-r));
	r = sleep_s(e->warmup);
	if (r == 0)
		r = drop_count(e, mode, &c0, &p0, &t0);
	s0 = gen_sent(e);
	b0 = napi_cpu_s(e);
	ts0 = now_s();
	if (r == 0)
		r = sleep_s(e->o->duration);
	if (r == 0)
		r = drop_count(e, mode, &c1, &p1, &t1);
	s1 = gen_sent(e);
	b1 = napi_cpu_s(e);
	ts1 = now_s();
	r2 = gen_stop(e);
	if (r < 0)
		return r == -EINTR ? r : log_error_errno(r, "bench: reading the %s counter: %s",
							 mode_label[mode], strerror(-r));
	if (r2 < 0)
		return log_error_errno(r2, "bench: generator (BPF_PROG_TEST_RUN): %s", strerror(-r2));
	if (c1 <= c0)
		return log_error_errno(-EIO, "bench: %s dropped nothing (offered %.2f Mpps)",
				       mode_label[mode], (double)(s1 - s0) / (ts1 - ts0) / 1e6);
	if ((mode == M_XDP || mode == M_TC) && p1 - p0 > (c1 - c0) / 100)
		log_warn("bench: %s passed %" PRIu64 " packets to the kernel during the window "
			 "(%" PRIu64 " dropped)", mode_label[mode], p1 - p0, c1 - c0);
	*ret_pps = (double)(c1 - c0) / (t1 - t0);
	*ret_offered = (double)(s1 - s0) / (ts1 - ts0);
	*ret_busy = (b1 - b0) / (ts1 - ts0);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct summary {
	double med, min, max;
};

static struct summary summarize(const double *v, unsigned n)
{
	double s[MAX_RUNS];
	struct summary r = {};

	if (!n)
		return r;
	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	r.min = s[0];
	r.max = s[n - 1];
	r.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	return r;
}

/* Whether the receiver, not the generator, set the pace. */
static bool saturated(const struct cell *c)
{
	return summarize(c->pps, c->n).med < SATURATED * summarize(c->offered, c->n).med &&
	       summarize(c->busy, c->n).med >= BUSY;
}

static int measure_into(struct env *e, int mode, struct cell *c)
{
	int r = measure_once(e, mode, &c->pps[c->n], &c->offered[c->n], &c->busy[c->n]);

	if (r == 0)
		c->n++;
	return r;
}

static void log_cell(size_t nrules, int mode, int layout, const struct cell *c)
{
	struct summary s = summarize(c->pps, c->n), o = summarize(c->offered, c->n),
		       b = summarize(c->busy, c->n);

	log_info("bench: %zu rules, %s%s%s: %.3f Mpps (%.3f-%.3f), offered %.2f Mpps, "
		 "receiver CPU %.0f%% busy%s", nrules, mode_label[mode], mode == M_SINK ? "" : ", ",
		 mode == M_SINK ? "" : layout_id[layout], s.med / 1e6, s.min / 1e6, s.max / 1e6,
		 o.med / 1e6, b.med * 100, saturated(c) ? "" : " (not saturated)");
}

/* ---- update latency ---------------------------------------------------------- */

/*
 * Inserts an accept in front of the drop rule and waits for the daemon to
 * report the new generation live; then deletes it again and waits for that.
 * The daemon measures from the first change notification (when it switches
 * the fast path to pass-everything) to the new generation being live: that
 * is also the window in which nftables alone decides.
 */
static int latency_once(struct env *e, struct lat *l)
{
	struct nfo_buf out = {};
	char handle[32], accept_handle[32];
	struct dstatus s0, s;
	double t_ret, ts, tr = 0, t0;
	const char *h;
	int r;

	/* one change at a time: the daemon's previous update has settled
	 * (the loader reuses a half of its maps only after an RCU grace
	 * period) */
	r = sleep_s(0.2);
	if (r < 0)
		return r;
	ts = now_s();
	r = daemon_status(e, &s0);
	if (r < 0)
		return r;
	/* with nothing to do; the poll below may wait for a rebuild */
	l->status_ms[l->n] = (now_s() - ts) * 1e3;
	snprintf(handle, sizeof(handle), "%" PRIu64, e->drop_handle);
	r = RUN(e, e->rx_ns, &out, "nft", "--echo", "--handle", "insert", "rule", "inet", TABLE,
		"input", "handle", handle, "udp", "dport", "9", "accept");
	t_ret = now_s();
	h = out.s ? strstr(out.s, "# handle ") : NULL;
	if (r == 0 && !h)
		r = log_error_errno(-EBADMSG, "bench: nft --echo printed no handle");
	if (r == 0)
		snprintf(accept_handle, sizeof(accept_handle), "%llu",
			 strtoull(h + strlen("# handle "), NULL, 10));
	nfo_buf_free(&out);
	if (r < 0)
		return r;
	for (;;) {
		r = daemon_status(e, &s);
		tr = now_s();
		if (r < 0)
			return log_error_errno(r, "bench: status: %s", strerror(-r));
		if (s.generation > s0.generation && s.updates > s0.updates && s.enabled)
			break;
		if (tr - t_ret > 60)
			return log_error_errno(-ETIMEDOUT, "bench: the fast path did not come back "
					       "within 60 s of the change");
		if (interrupted)
			return -EINTR;
	}
	l->daemon_ms[l->n] = s.last_update_ms;
	l->build_ms[l->n] = s.last_build_ms;
	l->ext_ms[l->n] = (tr - t_ret) * 1e3;
	l->n++;

	s0 = s;
	r = RUN(e, e->rx_ns, NULL, "nft", "delete", "rule", "inet", TABLE, "input", "handle",
		accept_handle);
	if (r < 0)
		return r;
	for (t0 = now_s();;) {
		r = daemon_status(e, &s);
		if (r < 0)
			return r;
		if (s.generation > s0.generation && s.updates > s0.updates && s.enabled)
			return 0;
		if (now_s() - t0 > 60)
			return -ETIMEDOUT;
		r = sleep_s(0.005);
		if (r < 0)
			return r;
	}
}

static int latency(struct env *e, struct lat *l)
{
	int r;

	r = ruleset_load(e, RS_INPUT, LAYOUT_LINEAR, l->rules);
	if (r < 0)
		return r;
	r = daemon_start(e, M_XDP, l->rules);
	if (r < 0)
		return r;
	l->n = 0;
	for (unsigned i = 0; i < e->o->runs && r == 0; i++)
		r = latency_once(e, l);
	if (r == 0) {
		struct summary d = summarize(l->daemon_ms, l->n), x = summarize(l->ext_ms, l->n);

		log_info("bench: update latency at %zu rules: %.1f ms (daemon), %.1f ms (nft returned "
			 "-> status live)", l->rules, d.med, x.med);
	}
	if (daemon_stop(e) < 0 && r == 0)
		r = -EIO;
	return r;
}

/* ---- the environment ---------------------------------------------------------- */

/*
 * With autogroups (CONFIG_SCHED_AUTOGROUP, kernel.sched_autogroup_enabled)
 * nice values only rank tasks within a session; sessions share a CPU
 * equally, so a busy shell elsewhere would still take half the generator's
 * CPU. Our group's own nice value is raised for the run and put back.
 */
static void autogroup_raise(struct env *e)
{
	FILE *f = fopen("/proc/self/autogroup", "re");
	int nice;

	e->autogroup_nice = INT_MIN;
	if (!f)
		return;
	if (fscanf(f, "/autogroup-%*d nice %d", &nice) == 1)
		e->autogroup_nice = nice;
	fclose(f);
	if (e->autogroup_nice != INT_MIN && write_file("/proc/self/autogroup", "-20") < 0)
		e->autogroup_nice = INT_MIN;
}

static void autogroup_restore(struct env *e)
{
	char v[16];

	if (e->autogroup_nice == INT_MIN)
		return;
	snprintf(v, sizeof(v), "%d", e->autogroup_nice);
	(void)write_file("/proc/self/autogroup", v);
}

static void env_free(struct env *e)
{
	(void)gen_stop(e);
	(void)daemon_stop(e);
	bpf_link__destroy(e->sink_link);
	e->sink_link = NULL;
	nfo_sink__destroy(e->sink);
	nfo_gen__destroy(e->gen);
	if (e->nl)
		mnl_socket_close(e->nl);
	if (e->tx_ns >= 0)
		close(e->tx_ns);
	if (e->rx_ns >= 0)
		close(e->rx_ns);
	e->tx_ns = e->rx_ns = -1;
	for (int i = 1; i >= 0; i--)
		if (e->ns_made[i])
			(void)RUN(e, -1, NULL, "ip", "netns", "delete", e->ns_name[i]);
	if (e->self_ns >= 0)
		close(e->self_ns);
	autogroup_restore(e);
	if (e->tmp[0]) {
		const char *argv[] = { "rm", "-rf", "--one-file-system", e->tmp, NULL };
		pid_t pid = fork();

		if (pid == 0) {
			execvp(argv[0], (char *const *)argv);
			_exit(127);
		}
		if (pid > 0)
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
	}
}

static int env_setup(struct env *e)
{
	char mac[2][18];
	int r;

	/* CPUs: the generator on the first we may use, the receiver on the
	 * second; everything else (us, the daemon, nft) stays off the
	 * receiver's. */
	if (sched_getaffinity(0, sizeof(e->allowed), &e->allowed) < 0)
		return -errno;
	if (CPU_COUNT(&e->allowed) < 2)
		return log_error_errno(-EINVAL, "bench: needs 2 CPUs (one for the generator, one for "
				       "the receiver); this process may use %d", CPU_COUNT(&e->allowed));
	e->gen_cpu = e->rx_cpu = -1;
	for (int c = 0; c < CPU_SETSIZE && e->rx_cpu < 0; c++) {
		if (!CPU_ISSET(c, &e->allowed))
			continue;
		if (e->gen_cpu < 0)
			e->gen_cpu = c;
		else
			e->rx_cpu = c;
	}
	e->not_rx = e->allowed;
	CPU_CLR(e->rx_cpu, &e->not_rx);
	if (sched_setaffinity(0, sizeof(e->not_rx), &e->not_rx) < 0)
		return -errno;
	/* The generator must not lose its CPU to whatever else runs here (the
	 * receiver would then idle between bursts, not saturated); our other
	 * threads and children (the daemon, nft) are idle while it runs, so
	 * they share its priority. Threads and children inherit it. */
	if (setpriority(PRIO_PROCESS, 0, -20) < 0)
		log_warn("bench: cannot raise our priority: %m");
	autogroup_raise(e);

	snprintf(e->tmp, sizeof(e->tmp), "/tmp/nft-offload-bench.XXXXXX");
	if (!mkdtemp(e->tmp)) {
		e->tmp[0] = '\0';
		return log_error_errno(-errno, "bench: cannot create a temporary directory: %m");
	}
	/* "napi/<ifname>-" must fit in a thread name (15 characters) */
	snprintf(e->if_tx, sizeof(e->if_tx), "nb%06xs", (unsigned)getpid() & 0xffffff);
	snprintf(e->if_rx, sizeof(e->if_rx), "nb%06xr", (unsigned)getpid() & 0xffffff);
	snprintf(e->ns_name[0], sizeof(e->ns_name[0]), "nfo-bench-%d-tx", (int)getpid());
	snprintf(e->ns_name[1], sizeof(e->ns_name[1]), "nfo-bench-%d-rx", (int)getpid());
	for (int i = 0; i < 2; i++) {
		static const char *const v6[] = { "/proc/sys/net/ipv6/conf/default/disable_ipv6",
						  "/proc/sys/net/ipv6/conf/all/disable_ipv6" };
		int fd;

		r = RUN(e, -1, NULL, "ip", "netns", "add", e->ns_name[i]);
		if (r < 0)
			return r;
		e->ns_made[i] = true;
		fd = open_ns(e->ns_name[i]);
		if (fd < 0)
			return log_error_errno(fd, "bench: cannot open namespace %s: %s", e->ns_name[i],
					       strerror(-fd));
		*(i ? &e->rx_ns : &e->tx_ns) = fd;
		/* no IPv6: its address changes (DAD) would make the daemon
		 * rebuild in the middle of a measurement */
		for (size_t k = 0; k < ARRAY_SIZE(v6); k++)
			(void)ns_write(fd, v6[k], "1");
	}
	for (int i = 0; i < 2; i++) {
		const uint8_t *m = i ? mac_rx : mac_tx;

		snprintf(mac[i], sizeof(mac[i]), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
			 m[3], m[4], m[5]);
	}
	if ((r = RUN(e, e->tx_ns, NULL, "ip", "link", "add", e->if_tx, "address", mac[0], "type",
		     "veth", "peer", "name", e->if_rx, "address", mac[1], "netns",
		     e->ns_name[1])) < 0 ||
	    (r = RUN(e, e->tx_ns, NULL, "ip", "addr", "add", IP_TX "/24", "dev", e->if_tx)) < 0 ||
	    (r = RUN(e, e->rx_ns, NULL, "ip", "addr", "add", IP_RX "/24", "dev", e->if_rx)) < 0 ||
	    (r = RUN(e, e->tx_ns, NULL, "ip", "link", "set", e->if_tx, "up")) < 0 ||
	    (r = RUN(e, e->rx_ns, NULL, "ip", "link", "set", "lo", "up")) < 0 ||
	    (r = RUN(e, e->rx_ns, NULL, "ip", "link", "set", e->if_rx, "up")) < 0 ||
	    /* GRO gives the receiving veth a NAPI instance, which is also what
	     * lets the peer accept XDP_REDIRECTed frames (veth_xdp_xmit) */
	    (r = RUN(e, e->rx_ns, NULL, "ethtool", "-K", e->if_rx, "gro", "on")) < 0)
		return r;
	{
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "/sys/class/net/%s/threaded", e->if_rx);
		r = ns_write(e->rx_ns, path, "1");
		if (r < 0)
			return log_error_errno(r, "bench: cannot enable threaded NAPI on %s", e->if_rx);
	}
	r = pin_napi(e);
	if (r < 0)
		return log_error_errno(r, "bench: no NAPI thread for %s: %s", e->if_rx, strerror(-r));

	r = enter_ns(e->tx_ns);
	if (r < 0)
		return r;
	e->tx_ifindex = (int)if_nametoindex(e->if_tx);
	leave_ns(e);
	r = enter_ns(e->rx_ns);
	if (r < 0)
		return r;
	e->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (e->nl && mnl_socket_bind(e->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(e->nl);
		e->nl = NULL;
	}
	r = -errno;
	leave_ns(e);
	if (!e->tx_ifindex || !e->nl)
		return log_error_errno(e->nl ? -ENODEV : r, "bench: namespace setup failed");

	e->ncpus_possible = libbpf_num_possible_cpus();
	if (e->ncpus_possible <= 0)
		return e->ncpus_possible ? e->ncpus_possible : -EINVAL;
	e->gen = nfo_gen__open();
	if (!e->gen)
		return log_error_errno(-errno, "bench: cannot open the generator program: %m");
	e->gen->rodata->out_ifindex = (uint32_t)e->tx_ifindex;
	e->gen->rodata->sport_off = 14 + 20;
	e->gen->rodata->sport_base = SPORT0;
	e->gen->rodata->sport_mask = FLOWS - 1;
	r = nfo_gen__load(e->gen);
	if (r < 0)
		return log_error_errno(r, "bench: cannot load the generator program: %s", strerror(-r));
	e->sink = nfo_sink__open_and_load();
	if (!e->sink)
		return log_error_errno(-errno, "bench: cannot load the XDP drop program: %m");
	frame_build(e->frame);
	return 0;
}

static int sink_attach(struct env *e)
{
	int r = enter_ns(e->rx_ns), ifindex;

	if (r < 0)
		return r;
	ifindex = (int)if_nametoindex(e->if_rx);
	e->sink_link = ifindex ? bpf_program__attach_xdp(e->sink->progs.nfo_sink, ifindex) : NULL;
	r = e->sink_link ? 0 : -errno;
	leave_ns(e);
	if (r < 0)
		return log_error_errno(r, "bench: cannot attach the XDP drop program to %s: %s",
				       e->if_rx, strerror(-r));
	return 0;
}

/* ---- machine ------------------------------------------------------------------- */

struct machine {
	char cpu[128];
	int cpus;
	char kernel[128];
};

static void machine_read(struct machine *m)
{
	struct utsname u;
	char line[256];
	FILE *f;

	snprintf(m->cpu, sizeof(m->cpu), "unknown CPU");
	f = fopen("/proc/cpuinfo", "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *p;

		if (strncmp(line, "model name", 10) || !(p = strchr(line, ':')))
			continue;
		p += 1 + strspn(p + 1, " \t");
		p[strcspn(p, "\n")] = '\0';
		snprintf(m->cpu, sizeof(m->cpu), "%s", p);
		break;
	}
	if (f)
		fclose(f);
	m->cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (uname(&u) == 0)
		snprintf(m->kernel, sizeof(m->kernel), "Linux %s", u.release);
}

/* ---- output ------------------------------------------------------------------ */

struct results {
	const struct bench_opts *o;
	struct machine m;
	int gen_cpu, rx_cpu;
	double warmup;
	struct cell *cells; /* [rule count][mode][layout] */
	struct lat *lat;
};

static struct cell *cell_at(const struct results *res, size_t ni, int mode, int layout)
{
	return &res->cells[(ni * _M_MAX + (size_t)mode) * _LAYOUT_MAX + (size_t)layout];
}

/* The rows of the table and the series of the chart. */
static const struct {
	int mode, layout;
} series[] = {
	{ M_NFT_INPUT, LAYOUT_LINEAR }, { M_NFT_INPUT, LAYOUT_SET },
	{ M_NFT_INGRESS, LAYOUT_LINEAR }, { M_NFT_INGRESS, LAYOUT_SET },
	{ M_XDP, LAYOUT_LINEAR }, { M_XDP, LAYOUT_SET },
	{ M_TC, LAYOUT_LINEAR }, { M_TC, LAYOUT_SET },
	{ M_SINK, LAYOUT_LINEAR },
};

static void series_label(size_t i, char *buf, size_t len)
{
	if (series[i].mode == M_SINK)
		snprintf(buf, len, "%s", mode_label[M_SINK]);
	else
		snprintf(buf, len, "%s, %s", mode_label[series[i].mode], layout_id[series[i].layout]);
}

/* Decimals for a rate in Mpps: 0.006, 0.049, 0.39, 3.06. */
static int mpps_digits(double pps)
{
	return pps < 0.0995e6 ? 3 : 2;
}

static void print_table(const struct results *res)
{
	const struct bench_opts *o = res->o;
	bool unsat = false;
	char label[64], cell[48];

	printf("nft-offload bench: %s, %d CPUs, %s\n", res->m.cpu, res->m.cpus, res->m.kernel);
	printf("generator: CPU %d, BPF_PROG_TEST_RUN live frames, %d-byte UDP frames, %d flows\n"
	       "receiver:  CPU %d, veth with GRO and threaded NAPI (SCHED_FIFO)\n",
	       res->gen_cpu, FRAME_LEN, FLOWS, res->rx_cpu);
	printf("packets dropped per second by the receiver, Mpps: median (min-max) of %u run%s "
	       "of %.1f s\n\n", o->runs, o->runs == 1 ? "" : "s", o->duration);
	printf("%-26s", "rules in front of the drop");
	for (size_t ni = 0; ni < o->nrules; ni++) {
		snprintf(cell, sizeof(cell), "N=%zu", o->rules[ni]);
		printf("  %-21s", cell);
	}
	printf("\n");
	for (size_t i = 0; i < ARRAY_SIZE(series); i++) {
		series_label(i, label, sizeof(label));
		printf("%-26s", label);
		for (size_t ni = 0; ni < o->nrules; ni++) {
			const struct cell *c = cell_at(res, ni, series[i].mode, series[i].layout);
			struct summary s = summarize(c->pps, c->n);
			bool u = !saturated(c);

			unsat |= u;
			snprintf(cell, sizeof(cell), "%.*f (%.*f-%.*f)%s", mpps_digits(s.med),
				 s.med / 1e6, mpps_digits(s.min), s.min / 1e6, mpps_digits(s.max),
				 s.max / 1e6, u ? "*" : "");
			printf("  %-21s", cell);
		}
		printf("\n");
	}
	/* nft-offload xdp (linear) against nftables' input chain and the
	 * ceiling, under the table's columns */
	for (int k = 0; k < 2; k++) {
		printf("%-26s", k ? "xdp linear / drop-all" : "xdp linear / nft input");
		for (size_t ni = 0; ni < o->nrules; ni++) {
			const struct cell *x = cell_at(res, ni, M_XDP, LAYOUT_LINEAR);
			const struct cell *b = cell_at(res, ni, k ? M_SINK : M_NFT_INPUT, LAYOUT_LINEAR);
			double q = summarize(x->pps, x->n).med / summarize(b->pps, b->n).med;

			snprintf(cell, sizeof(cell), k ? "%.2f" : "%.1fx", q);
			printf("  %-21s", cell);
		}
		printf("\n");
	}
	if (unsat)
		printf("* not saturated (the receiver took nearly all the generator offered, or its\n"
		       "  CPU idled): a lower bound\n");
	if (!o->nlat)
		return;
	printf("\nupdate latency: `nft insert rule` of an accept in front of the drop rule, "
	       "nft-offload xdp,\nms, median (min-max) of %u\n\n", o->runs);
	printf("%-7s  %-24s  %-24s  %-24s  %s\n", "rules", "change -> live (daemon)",
	       "of which plan + load", "nft returned -> seen", "status (idle)");
	for (size_t li = 0; li < o->nlat; li++) {
		const struct lat *l = &res->lat[li];
		struct summary d = summarize(l->daemon_ms, l->n), x = summarize(l->ext_ms, l->n),
			       bu = summarize(l->build_ms, l->n), st = summarize(l->status_ms, l->n);
		char a[48], b[48], c[48];

		snprintf(a, sizeof(a), "%.1f (%.1f-%.1f)", d.med, d.min, d.max);
		snprintf(b, sizeof(b), "%.1f (%.1f-%.1f)", bu.med, bu.min, bu.max);
		snprintf(c, sizeof(c), "%.1f (%.1f-%.1f)", x.med, x.min, x.max);
		printf("%-7zu  %-24s  %-24s  %-24s  %.1f\n", l->rules, a, b, c, st.med);
	}
	printf("change -> live: from the daemon's first change notification (the fast path\n"
	       "turns off, nftables alone decides) to the new generation live (status\n"
	       "last_update_ms); plan + load: last_build_ms, the rest is reading and\n"
	       "translating the ruleset; nft returned -> seen: from `nft` exiting to\n"
	       "`status --json` showing the new generation enabled, polling the control socket.\n");
}

static void json_summary(struct nfo_json *j, const char *key, const double *v, unsigned n,
			 bool integer)
{
	struct summary s = summarize(v, n);

	nfo_json_key(j, key);
	nfo_json_obj_begin(j);
	nfo_json_key(j, "median");
	integer ? nfo_json_u64(j, (uint64_t)(s.med + 0.5)) : nfo_json_double(j, s.med);
	nfo_json_key(j, "min");
	integer ? nfo_json_u64(j, (uint64_t)(s.min + 0.5)) : nfo_json_double(j, s.min);
	nfo_json_key(j, "max");
	integer ? nfo_json_u64(j, (uint64_t)(s.max + 0.5)) : nfo_json_double(j, s.max);
	nfo_json_obj_end(j);
}

static void print_json(const struct results *res)
{
	const struct bench_opts *o = res->o;
	struct nfo_buf b = {};
	struct nfo_json j;

	nfo_json_init(&j, &b);
	nfo_json_obj_begin(&j);
	nfo_json_kstr(&j, "version", NFO_VERSION);
	nfo_json_key(&j, "machine");
	nfo_json_obj_begin(&j);
	nfo_json_kstr(&j, "cpu", res->m.cpu);
	nfo_json_ki64(&j, "cpus", res->m.cpus);
	nfo_json_kstr(&j, "kernel", res->m.kernel);
	nfo_json_obj_end(&j);
	nfo_json_key(&j, "setup");
	nfo_json_obj_begin(&j);
	nfo_json_ki64(&j, "generator_cpu", res->gen_cpu);
	nfo_json_ki64(&j, "receiver_cpu", res->rx_cpu);
	nfo_json_ki64(&j, "frame_bytes", FRAME_LEN);
	nfo_json_ki64(&j, "flows", FLOWS);
	nfo_json_kdouble(&j, "duration_s", o->duration);
	nfo_json_kdouble(&j, "warmup_s", res->warmup);
	nfo_json_ki64(&j, "runs", o->runs);
	nfo_json_obj_end(&j);

	nfo_json_key(&j, "results");
	nfo_json_arr_begin(&j);
	for (size_t ni = 0; ni < o->nrules; ni++) {
		for (size_t i = 0; i < ARRAY_SIZE(series); i++) {
			const struct cell *c = cell_at(res, ni, series[i].mode, series[i].layout);
			nfo_json_obj_begin(&j);
			nfo_json_kstr(&j, "mode", mode_id[series[i].mode]);
			nfo_json_kstr(&j, "layout", series[i].mode == M_SINK ? NULL : layout_id[series[i].layout]);
			nfo_json_ku64(&j, "rules", o->rules[ni]);
			nfo_json_kstr(&j, "attach", c->attach[0] ? c->attach : NULL);
			json_summary(&j, "pps", c->pps, c->n, true);
			json_summary(&j, "offered_pps", c->offered, c->n, true);
			json_summary(&j, "receiver_busy", c->busy, c->n, false);
			nfo_json_kbool(&j, "saturated", saturated(c));
			nfo_json_key(&j, "runs_pps");
			nfo_json_arr_begin(&j);
			for (unsigned k = 0; k < c->n; k++)
				nfo_json_u64(&j, (uint64_t)(c->pps[k] + 0.5));
			nfo_json_arr_end(&j);
			nfo_json_obj_end(&j);
		}
	}
	nfo_json_arr_end(&j);

	nfo_json_key(&j, "update_latency");
	nfo_json_arr_begin(&j);
	for (size_t li = 0; li < o->nlat; li++) {
		const struct lat *l = &res->lat[li];

		nfo_json_obj_begin(&j);
		nfo_json_ku64(&j, "rules", l->rules);
		nfo_json_kstr(&j, "mode", mode_id[M_XDP]);
		json_summary(&j, "daemon_ms", l->daemon_ms, l->n, false);
		json_summary(&j, "build_ms", l->build_ms, l->n, false);
		json_summary(&j, "external_ms", l->ext_ms, l->n, false);
		json_summary(&j, "status_round_trip_ms", l->status_ms, l->n, false);
		nfo_json_obj_end(&j);
	}
	nfo_json_arr_end(&j);
	nfo_json_obj_end(&j);
	nfo_buf_put(&b, "\n", 1);
	if (b.s)
		fputs(b.s, stdout);
	nfo_buf_free(&b);
}

static int plot(struct env *e, const struct results *res)
{
	static const char *const colors[_M_MAX] = {
		[M_NFT_INPUT] = "#d62728", [M_NFT_INGRESS] = "#9467bd", [M_XDP] = "#2ca02c",
		[M_TC] = "#ff7f0e", [M_SINK] = "#444444",
	};
	const struct bench_opts *o = res->o;
	const char *ext = strrchr(o->plot, '.');
	char dat[PATH_MAX], gp[PATH_MAX], label[64];
	bool logx = true;
	size_t lo = SIZE_MAX, hi = 0;
	FILE *f;

	snprintf(dat, sizeof(dat), "%s/plot.dat", e->tmp);
	snprintf(gp, sizeof(gp), "%s/plot.gp", e->tmp);
	f = fopen(dat, "we");
	if (!f)
		return -errno;
	for (size_t ni = 0; ni < o->nrules; ni++) {
		fprintf(f, "%zu", o->rules[ni]);
		for (size_t i = 0; i < ARRAY_SIZE(series); i++) {
			const struct cell *c = cell_at(res, ni, series[i].mode, series[i].layout);
			struct summary s = summarize(c->pps, c->n);

			fprintf(f, " %.4f %.4f %.4f", s.med / 1e6, s.min / 1e6, s.max / 1e6);
		}
		fprintf(f, "\n");
		logx &= o->rules[ni] > 0;
		lo = o->rules[ni] < lo ? o->rules[ni] : lo;
		hi = o->rules[ni] > hi ? o->rules[ni] : hi;
	}
	if (fclose(f) != 0)
		return -errno;

	f = fopen(gp, "we");
	if (!f)
		return -errno;
	if (!strcmp(ext, ".svg"))
		fprintf(f, "set terminal svg size 960,600 dynamic enhanced font 'sans,12' "
			   "background rgb 'white'\n");
	else
		fprintf(f, "set terminal pngcairo size 960,600 enhanced font 'sans,11' "
			   "background rgb 'white'\n");
	fprintf(f, "set output '%s'\n", o->plot);
	fprintf(f, "set title \"Packets dropped per second, one receiver CPU\\n{/*0.8 %s, %s, "
		   "median and min-max of %u x %.1f s}\"\n", res->m.cpu, res->m.kernel, o->runs,
		o->duration);
	fprintf(f, "set xlabel 'rules in front of the drop rule (N)'\nset ylabel 'Mpps'\n"
		   "set grid\nset yrange [0:*]\nset key outside right top\nset xtics (");
	for (size_t ni = 0; ni < o->nrules; ni++)
		fprintf(f, "%s'%zu' %zu", ni ? ", " : "", o->rules[ni], o->rules[ni]);
	fprintf(f, ")\n");
	if (logx && lo < hi)
		fprintf(f, "set logscale x 10\nset xrange [%g:%g]\n", (double)lo / 2, (double)hi * 2);
	else if (lo < hi)
		fprintf(f, "set xrange [%g:%g]\n", (double)lo - (double)(hi - lo) / 20,
			(double)hi + (double)(hi - lo) / 20);
	else
		fprintf(f, "set xrange [%g:%g]\n", (double)lo - 1, (double)hi + 1);
	fprintf(f, "plot ");
	for (size_t i = 0; i < ARRAY_SIZE(series); i++) {
		size_t col = 2 + 3 * i;

		series_label(i, label, sizeof(label));
		fprintf(f, "%s'%s' using 1:%zu:%zu:%zu with yerrorlines lw 2 pt 7 ps 0.6 "
			   "lc rgb '%s' dt %d title '%s'", i ? ", \\\n     " : "", dat, col, col + 1,
			col + 2, colors[series[i].mode],
			series[i].mode == M_SINK ? 3 : series[i].layout == LAYOUT_SET ? 2 : 1, label);
	}
	fprintf(f, "\n");
	if (fclose(f) != 0)
		return -errno;
	return RUN(e, -1, NULL, "gnuplot", gp);
}

/* ---- options and the command ------------------------------------------------- */

static void bench_usage(FILE *f)
{
	fprintf(f,
		"Usage: nft-offload bench [--rules N,N,...] [--duration S] [--runs R] [--json]\n"
		"                         [--plot FILE.svg|FILE.png] [--latency-rules N,N,...|none]\n"
		"\n"
		"Measures the packets per second one receiver CPU drops with plain nftables\n"
		"(input chain, netdev ingress chain), with nft-offload (xdp, tc) and with a\n"
		"bare XDP drop, for N rules in front of the drop rule (linear, or the N ports\n"
		"in one set); then the time a ruleset change takes to reach the fast path.\n"
		"Runs on two network namespaces of its own joined by a veth, removed at the\n"
		"end. Needs root, 2 CPUs, ip, nft, ethtool (and gnuplot for --plot).\n"
		"\n"
		"  --rules N,...          rule counts (default 1,100,1000,10000)\n"
		"  --duration S           seconds measured per run (default 2)\n"
		"  --runs R               runs per figure, the median is shown (default 3)\n"
		"  --json                 one JSON object instead of the table\n"
		"  --plot FILE            chart of Mpps against N (.svg or .png, gnuplot)\n"
		"  --latency-rules N,...  rule counts for the update latency (default\n"
		"                         10,1000,10000; none: skip)\n");
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
			fprintf(stderr, "nft-offload bench: --%s: up to %d rule counts between 0 and %d, "
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
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	*o = (struct bench_opts){
		.rules = { 1, 100, 1000, 10000 },
		.nrules = 4,
		.lat_rules = { 10, 1000, 10000 },
		.nlat = 3,
		.duration = 2,
		.runs = 3,
	};
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
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
				fprintf(stderr, "nft-offload bench: --duration: seconds between 0.05 and "
						"600, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'r': {
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || end == optarg || v < 1 || v > MAX_RUNS) {
				fprintf(stderr, "nft-offload bench: --runs: a number between 1 and %d, "
						"not '%s'\n", MAX_RUNS, optarg);
				return 2;
			}
			o->runs = (unsigned)v;
			break;
		}
		case 'j':
			o->json = true;
			break;
		case 'p': {
			const char *ext = strrchr(optarg, '.');

			if (!ext || (strcmp(ext, ".svg") && strcmp(ext, ".png")) ||
			    strpbrk(optarg, "'\"\\\n")) {
				fprintf(stderr, "nft-offload bench: --plot: a file name ending in .svg "
						"or .png (without quotes), not '%s'\n", optarg);
				return 2;
			}
			o->plot = optarg;
			break;
		}
		case 'h':
			bench_usage(stdout);
			return 0;
		default:
			bench_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "nft-offload bench: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (o->nrules == 0) {
		fprintf(stderr, "nft-offload bench: --rules: at least one rule count\n");
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
	r = sink_attach(e);
	if (r < 0)
		return r;
	r = measure_into(e, M_SINK, cell_at(res, ni, M_SINK, LAYOUT_LINEAR));
	bpf_link__destroy(e->sink_link);
	e->sink_link = NULL;
	return r;
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
		/* the ceiling does not depend on the layout */
		*cell_at(res, ni, M_SINK, LAYOUT_SET) = *cell_at(res, ni, M_SINK, LAYOUT_LINEAR);
		for (size_t i = 0; i < ARRAY_SIZE(series); i++)
			log_cell(o->rules[ni], series[i].mode, series[i].layout,
				 cell_at(res, ni, series[i].mode, series[i].layout));
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

int nfo_bench_main(int argc, char **argv)
{
	struct bench_opts o;
	struct env e = { .self_ns = -1, .tx_ns = -1, .rx_ns = -1, .autogroup_nice = INT_MIN };
	struct results res = {};
	struct sigaction sa = { .sa_handler = on_signal }, sa_gen = { .sa_handler = on_gen_stop };
	int r;

	r = parse_opts(argc, argv, &o);
	if (r >= 0)
		return r;
	if (geteuid() != 0) {
		fprintf(stderr, "nft-offload bench: run as root (sudo): it creates network namespaces "
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
	if (r < 0)
		goto out;
	res.gen_cpu = e.gen_cpu;
	res.rx_cpu = e.rx_cpu;
	log_info("bench: namespaces %s and %s, files in %s, generator on CPU %d, receiver "
		 "(napi/%s) on CPU %d", e.ns_name[0], e.ns_name[1], e.tmp, e.gen_cpu, e.if_rx,
		 e.rx_cpu);
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
	if (interrupted)
		log_error("bench: interrupted: cleaning up");
	else if (r < 0)
		log_error("bench: failed (%s): cleaning up", strerror(-r));
	env_free(&e);
	free(res.cells);
	free(res.lat);
	if (interrupted)
		return 128 + interrupted;
	return r < 0 ? 1 : 0;
}
