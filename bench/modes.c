// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload-bench: what is measured. The rulesets, the daemon (a child,
 * asked through the control socket), the bench's own XDP programs (the
 * hand-written filter and drop-all), the counters each mode's dropper
 * keeps, and the time its BPF program spends per packet.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/netfilter.h>

#include "netlink/counters.h"
#include "nft-offload/ctl.h"
#include "nft-offload/json.h"
#include "common/log.h"
#include "common/util.h"

#include "bench.h"
#include "nfo_ref.skel.h"
#include "nfo_sink.skel.h"

/* ---- BPF run-time statistics ------------------------------------------------ */

/*
 * The kernel counts run_time_ns and run_cnt of every BPF program only while
 * statistics are on (kernel/bpf/syscall.c, bpf_enable_stats: on while the
 * returned fd is open; or the sysctl kernel.bpf_stats_enabled). Each run then
 * costs two clock reads more, in every BPF mode alike.
 */
#define STATS_SYSCTL "/proc/sys/kernel/bpf_stats_enabled"

int bpf_stats_enable(struct env *e)
{
	char v[16] = "";
	ssize_t n;
	int fd;

	e->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (e->stats_fd >= 0)
		return 0;
	fd = open(STATS_SYSCTL, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, v, sizeof(v) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0 || write_file(STATS_SYSCTL, "1") < 0)
		return log_error_errno(-EOPNOTSUPP, "bench: cannot turn on BPF run-time statistics "
				       "(BPF_ENABLE_STATS, %s): needs Linux >= 5.8", STATS_SYSCTL);
	e->stats_sysctl = atoi(v);
	return 0;
}

void bpf_stats_restore(struct env *e)
{
	char v[16];

	if (e->stats_fd >= 0)
		close(e->stats_fd);
	e->stats_fd = -1;
	if (e->stats_sysctl < 0)
		return;
	snprintf(v, sizeof(v), "%d", e->stats_sysctl);
	(void)write_file(STATS_SYSCTL, v);
	e->stats_sysctl = -1;
}

struct prog_stats {
	uint64_t run_ns, runs;
};

/* run_time_ns and run_cnt of program fd (struct bpf_prog_info). */
static int prog_stats_fd(int fd, struct prog_stats *ret)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return -errno;
	ret->run_ns = info.run_time_ns;
	ret->runs = info.run_cnt;
	return 0;
}

static int prog_stats_id(uint32_t id, struct prog_stats *ret)
{
	int fd = bpf_prog_get_fd_by_id(id), r;

	if (fd < 0)
		return -errno;
	r = prog_stats_fd(fd, ret);
	close(fd);
	return r;
}

/* ---- the bench's own XDP programs ----------------------------------------------- */

int bench_progs_load(struct env *e)
{
	struct utsname u = {};
	int r;

	(void)uname(&u);
	e->ncpus_possible = libbpf_num_possible_cpus();
	if (e->ncpus_possible <= 0)
		return e->ncpus_possible ? e->ncpus_possible : -EINVAL;
	e->ref = nfo_ref__open();
	if (!e->ref)
		return log_error_errno(-errno, "bench: cannot open the hand-written XDP filter: %m");
	e->ref->rodata->drop_port = DROP_PORT;
	r = nfo_ref__load(e->ref);
	if (r < 0)
		return log_error_errno(r, "bench: Linux %s refused the hand-written XDP filter (XDP, "
				       "direct packet access, a per-CPU array): %s; -v shows libbpf's log",
				       u.release, strerror(-r));
	e->sink = nfo_sink__open_and_load();
	if (!e->sink)
		return log_error_errno(-errno, "bench: Linux %s refused the XDP drop-all program (XDP, "
				       "a per-CPU array): %m; -v shows libbpf's log", u.release);
	return 0;
}

void bench_progs_free(struct env *e)
{
	xdp_detach(e);
	nfo_sink__destroy(e->sink);
	e->sink = NULL;
	nfo_ref__destroy(e->ref);
	e->ref = NULL;
}

static struct bpf_program *bench_prog(struct env *e, int mode)
{
	return mode == M_REF ? e->ref->progs.nfo_ref : e->sink->progs.nfo_sink;
}

/* Attaches the program of mode M_REF or M_SINK to the receiving veth. */
int xdp_attach(struct env *e, int mode)
{
	int r = enter_ns(e->rx_ns), ifindex;

	if (r < 0)
		return r;
	ifindex = (int)if_nametoindex(e->if_rx);
	e->xdp_link = ifindex ? bpf_program__attach_xdp(bench_prog(e, mode), ifindex) : NULL;
	r = e->xdp_link ? 0 : -errno;
	leave_ns(e);
	if (r < 0)
		return log_error_errno(r, "bench: cannot attach the %s to %s: %s", mode_label[mode],
				       e->if_rx, strerror(-r));
	return 0;
}

void xdp_detach(struct env *e)
{
	bpf_link__destroy(e->xdp_link);
	e->xdp_link = NULL;
}

static int percpu_count(struct env *e, struct bpf_map *map, uint64_t *ret)
{
	_cleanup_free_ uint64_t *v = calloc((size_t)e->ncpus_possible, sizeof(*v));
	uint32_t key = 0;
	uint64_t sum = 0;

	if (!v)
		return -ENOMEM;
	if (bpf_map__lookup_elem(map, &key, sizeof(key), v, sizeof(*v) * (size_t)e->ncpus_possible,
				 0) < 0)
		return -errno;
	for (int i = 0; i < e->ncpus_possible; i++)
		sum += v[i];
	*ret = sum;
	return 0;
}


/* ---- rulesets ------------------------------------------------------------------ */

/* Replaces our tables (and only ours) in the receiver namespace. */
int ruleset_load(struct env *e, int where, int layout, size_t n)
{
	char path[PATH_MAX];
	struct nfo_nft_rule_counter ri;
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
	r = nfo_nft_rule_counter(e->nl, (uint32_t)e->drop_family, TABLE, e->drop_chain, 0, &ri);
	if (r < 0)
		return log_error_errno(r, "bench: reading back the ruleset: %s", strerror(-r));
	if (!ri.has_counter)
		return log_error_errno(-EPROTO, "bench: the last rule of the loaded chain has no counter");
	e->drop_handle = ri.handle;
	return 0;
}

/* ---- the daemon -------------------------------------------------------------- */

const char *json_at(const char *s, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = s ? strstr(s, pat) : NULL;
	return p ? p + strlen(pat) : NULL;
}

int json_u64(const char *s, const char *key, uint64_t *ret)
{
	const char *p = json_at(s, key);

	if (!p || !isdigit((unsigned char)*p))
		return -EBADMSG;
	*ret = strtoull(p, NULL, 10);
	return 0;
}

int daemon_status(struct env *e, struct dstatus *ret)
{
	struct nfo_buf b = {};
	struct dstatus s = {};
	const char *p, *t;
	int r;

	r = nfo_ctl_request(e->daemon_dir, NFO_CTL_STATUS " " NFO_CTL_JSON, NULL,
			    e->status_timeout_ms ? e->status_timeout_ms : 10000, &b);
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
	/* the bench's daemon has one interface */
	t = json_at(b.s, "interfaces");
	p = json_at(t, "mode");
	if (p && *p == '"')
		snprintf(s.mode, sizeof(s.mode), "%.*s", (int)strcspn(p + 1, "\""), p + 1);
	p = json_at(t, "prog_id");
	if (p)
		s.prog_id = (uint32_t)strtoul(p, NULL, 10);
	p = json_at(b.s, "attached");
	s.attached = p && !strncmp(p, "true", 4);
	t = json_at(b.s, "totals");
	if (json_u64(t, "dropped", &s.dropped) < 0 || json_u64(t, "passed", &s.passed) < 0)
		goto out;
	(void)json_u64(b.s, "set_updates", &s.set_updates);
	(void)json_u64(b.s, "set_expiry_pending", &s.expiry_pending);
	(void)json_u64(t, "fast_path_disabled", &s.passed_disabled);
	*ret = s;
	r = 0;
out:
	nfo_buf_free(&b);
	return r;
}

int daemon_stop(struct env *e)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int status = 0, r = 0;
	pid_t w = 0;

	if (e->daemon_pid <= 0)
		return 0;
	kill(e->daemon_pid, SIGTERM);
	/* a daemon busy reading a large set answers SIGTERM after that */
	for (int i = 0; i < (e->daemon_wait_s > 10 ? (int)(e->daemon_wait_s * 100) : 1000); i++) {
		w = waitpid(e->daemon_pid, &status, WNOHANG);
		if (w != 0)
			break;
		(void)nanosleep(&ts, NULL);
	}
	if (w == 0) {
		log_error("bench: the daemon did not stop within %.0f s of SIGTERM: killing it",
			  e->daemon_wait_s > 10 ? e->daemon_wait_s : 10);
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
 * Starts `nft-offload daemon` (the one given, or found: main.c) attached to the receiving
 * veth, and waits until its fast path is enabled and has stopped changing.
 * The child gets a private mount namespace, so the bpffs the daemon mounts
 * goes away with it.
 */
int daemon_start(struct env *e, int mode, size_t nrules)
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
	e->daemon_live_s = 0;
	if (logfd < 0)
		return -errno;

	e->daemon_pid = fork();
	if (e->daemon_pid == 0) {
		const char *argv[] = { e->o->daemon_bin, "daemon", "--config", conf, "--attach", attach,
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
		execv(e->o->daemon_bin, (char *const *)argv);
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
			if (!e->daemon_live_s)
				e->daemon_live_s = now_s() - t0;
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
		if (now_s() - t0 > (e->daemon_wait_s > 0 ? e->daemon_wait_s : 120)) {
			log_error("bench: the daemon did not enable its fast path within %.0f s; its log:",
				  e->daemon_wait_s > 0 ? e->daemon_wait_s : 120);
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

/* ---- measuring ------------------------------------------------------------------ */

/*
 * Packets the mode's dropper has dropped, and when that was read; for BPF
 * modes, the run-time statistics of its program, read right after.
 */
static int drop_count(struct env *e, int mode, uint64_t *ret, uint64_t *ret_passed,
		      double *ret_t, struct prog_stats *ret_stats)
{
	struct nfo_nft_rule_counter ri;
	struct dstatus s;
	double t0 = now_s();
	int r;

	*ret_passed = 0;
	switch (mode) {
	case M_NFT_INPUT:
	case M_NFT_INGRESS:
		r = nfo_nft_rule_counter(e->nl, (uint32_t)e->drop_family, TABLE, e->drop_chain,
					 e->drop_handle, &ri);
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
		if (r == 0 && !s.prog_id)
			r = log_error_errno(-ENOENT, "bench: the daemon's status names no program id");
		if (r == 0)
			r = prog_stats_id(s.prog_id, ret_stats);
		return r;
	default:
		r = percpu_count(e, mode == M_REF ? e->ref->maps.nfo_ref_count
						  : e->sink->maps.nfo_sink_count, ret);
		*ret_t = (t0 + now_s()) / 2;
		if (r == 0)
			r = prog_stats_fd(bpf_program__fd(bench_prog(e, mode)), ret_stats);
		return r;
	}
}

static int measure_once(struct env *e, int mode, double *ret_pps, double *ret_offered,
			double *ret_busy, double *ret_ns_pkt)
{
	struct prog_stats st0 = {}, st1 = {};
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
		r = drop_count(e, mode, &c0, &p0, &t0, &st0);
	s0 = gen_sent(e);
	b0 = napi_cpu_s(e);
	ts0 = now_s();
	if (r == 0)
		r = sleep_s(e->o->duration);
	if (r == 0)
		r = drop_count(e, mode, &c1, &p1, &t1, &st1);
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
	*ret_ns_pkt = 0;
	if (mode_is_bpf(mode)) {
		if (st1.runs <= st0.runs)
			return log_error_errno(-EIO, "bench: %s: its program did not run during the "
					       "window (BPF statistics off?)", mode_label[mode]);
		*ret_ns_pkt = (double)(st1.run_ns - st0.run_ns) / (double)(st1.runs - st0.runs);
	}
	return 0;
}

int measure_into(struct env *e, int mode, struct cell *c)
{
	int r = measure_once(e, mode, &c->pps[c->n], &c->offered[c->n], &c->busy[c->n],
			     &c->ns_pkt[c->n]);

	if (r == 0)
		c->n++;
	return r;
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
		if (bench_interrupted)
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

int latency(struct env *e, struct lat *l)
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
