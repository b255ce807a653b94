// SPDX-License-Identifier: GPL-2.0-only
/*
 * The daemon: follows nftables (and links and addresses) and keeps the fast
 * path in step with them.
 *
 * Soundness over speed: the moment a change is announced (the first
 * notification of a transaction, an address or link change), the running
 * fast path is switched to pass-everything with one map write; it comes back
 * only when a new generation built from a consistent dump of the new ruleset
 * is live. The window in which a stale fast path runs is the notification
 * latency, not the rebuild time.
 */
#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"
#include "common/util.h"
#include "clock.h"
#include "ctl.h"
#include "daemon-internal.h"
#include "probe.h"
#include "ruleset.h"
#include "watchdog.h"

#define BPF_FS_MAGIC_ 0xcafe4a11

/* ---- events ------------------------------------------------------------------ */

/* An element change that cannot be applied in place: pass everything until
 * the full resync (status says why). */
void daemon_set_update_disabled(struct daemon *d, const char *why)
{
	daemon_lock(d);
	d->st.set_updates_disabled++;
	snprintf(d->st.set_updates_disabled_reason, sizeof(d->st.set_updates_disabled_reason), "%s",
		 why);
	daemon_unlock(d);
}

/*
 * Element-only transactions wait for do_pending() in d->txq and never
 * disable the fast path (they are applied in place, daemon-update.c); any
 * other change disables it on its first notification. Transactions the
 * model already holds (the dump was taken after them) are skipped; a
 * generation that does not follow the last one means some were missed.
 */
static void on_nft(struct daemon *d)
{
	struct nfo_nft_events ev = {};
	int r = nfo_nft_monitor_read(d->mon, &ev);

	if (r < 0) {
		log_error_errno(r, "reading nftables notifications: %m; resyncing");
		ev.lost = ev.changed = true;
	}
	if (ev.lost) {
		daemon_disable(d, "notifications lost");
		daemon_set_update_disabled(d, "nftables notifications lost (ENOBUFS): full resync");
		log_warn("nftables notifications were lost: full resync");
		d->need_resync = true;
	}
	if (ev.pending_structural)
		daemon_disable(d, "ruleset changed");
	for (size_t i = 0; i < ev.ntxns; i++) {
		struct nfo_nft_txn *t = &ev.txns[i];
		uint32_t last = d->ntxq ? d->txq_genid : d->st.genid;
		struct nfo_nft_txn *q;

		if (!d->st.have_genid)
			break; /* the first resync is still to come */
		if ((int32_t)(t->genid - last) <= 0) {
			/* in the model already; but if its first messages
			 * disabled the fast path, only a resync brings it back */
			if (t->structural && !d->st.enabled)
				d->need_resync = true;
			continue;
		}
		if (d->need_resync) {
			/* read with the rest; the running fast path may stay
			 * only if this too can only make nftables drop more */
			if (!t->only_drops)
				daemon_disable(d, "ruleset changed");
			continue;
		}
		if (t->structural) {
			/* rules that can only drop more: the running fast
			 * path stays sound while the new one is built (not
			 * with element changes waiting: they are read too) */
			if (!t->only_drops || d->ntxq)
				daemon_disable(d, "ruleset changed");
			d->need_resync = true;
			continue;
		}
		if (t->genid != last + 1) {
			daemon_disable(d, "generation gap");
			daemon_set_update_disabled(d, "a generation was missed in the notifications: full resync");
			d->need_resync = true;
			continue;
		}
		q = realloc(d->txq, (d->ntxq + 1) * sizeof(*q));
		if (!q) {
			daemon_disable(d, "out of memory");
			daemon_set_update_disabled(d, "out of memory: full resync");
			d->need_resync = true;
			continue;
		}
		d->txq = q;
		if (!d->ntxq)
			clock_gettime(CLOCK_MONOTONIC, &d->txq_t0);
		d->txq[d->ntxq++] = *t;
		*t = (struct nfo_nft_txn){};
		d->txq_genid = d->txq[d->ntxq - 1].genid;
	}
	nfo_nft_events_clear(&ev);
}

static void on_rtnl(struct daemon *d)
{
	bool changed = false, removed = false;
	int r = nfo_rtnl_process(d->rtnl, &changed, &removed);

	if (r < 0) {
		log_error_errno(r, "reading link notifications: %m");
		changed = true;
	} else if (changed && !removed && d->st.enabled && daemon_links_unchanged(d)) {
		log_debug("links changed, nothing the fast path depends on");
		return;
	}
	if (changed) {
		daemon_disable(d, "links or addresses changed");
		d->need_rebuild = true;
	}
}

/*
 * The kernel's ICMP rate limits, which reject leaves follow: read at start
 * and every second (sysctl writes raise no notification). A change reaches
 * the fast path within that second; until the first reading, and whenever
 * they cannot be read, reject leaves pass everything.
 */
static void follow_icmp_limits(struct daemon *d)
{
	_cleanup_free_ const char **names = NULL;
	struct nfo_icmp_limits lim;
	struct nfo_reject_cfg cfg = {};
	size_t n = 0;
	int r;

	r = nfo_icmp_limits_read("/proc/sys", &lim);
	pthread_mutex_lock(&d->st.lock);
	/* The interfaces an IPv6 RST may leave by (the one the packet came
	 * in by): without their hop limit (ENOMEM too) none is sent here. */
	names = calloc(d->st.nifaces ? d->st.nifaces : 1, sizeof(*names));
	for (size_t i = 0; names && i < d->st.nifaces; i++)
		if (d->st.ifaces[i].ifindex > 0)
			names[n++] = d->st.ifaces[i].name;
	if (r >= 0) {
		lim.hop_limit6 = names ? nfo_hop_limit6_read("/proc/sys", names, n) : 0;
		nfo_reject_cfg_from_limits(&lim, &cfg);
	}
	if (r < 0 && !d->st.icmp_error[0]) {
		snprintf(d->st.icmp_error, sizeof(d->st.icmp_error),
			 "cannot read the ICMP rate limits: %s", strerror(-r));
		log_warn("%s; rejected packets are passed to nftables", d->st.icmp_error);
	} else if (r >= 0) {
		d->st.icmp_error[0] = '\0';
		d->st.icmp = lim;
	}
	if (memcmp(&cfg, &d->st.reject, sizeof(cfg))) {
		d->st.reject = cfg;
		if (d->st.loader)
			nfo_loader_set_reject(d->st.loader, &cfg);
	}
	pthread_mutex_unlock(&d->st.lock);
}

/*
 * Whether subnet broadcasts may be forwarded (ip_route_input_slow: a
 * RTN_BROADCAST route goes to make_route when the device's and all's
 * bc_forwarding are set), read with the ICMP limits: a change rebuilds.
 */
static int read_bc_forwarding(void)
{
	int64_t v;

	return nfo_sysctl_int("/proc/sys", "net/ipv4/conf/all/bc_forwarding", &v) < 0 ? -1 : v != 0;
}

/*
 * Forwarding on the attached interfaces, read with the ICMP limits: TCP
 * resets are answered only where it is on (bpf_fib_lookup answers nothing
 * elsewhere). Either plan is sound with either setting (the fast path's
 * lookup passes the packet when forwarding is off), so a change replans
 * with the running generation kept live: explain then says what is done.
 */
static void follow_forwarding(struct daemon *d)
{
	if (d->st.rs && daemon_forwarding_sig(d) != d->fwd_sig)
		d->need_rebuild = true;
}

static void follow_bc_forwarding(struct daemon *d)
{
	int now = read_bc_forwarding();

	if (now == d->bc_forwarding)
		return;
	d->bc_forwarding = now;
	daemon_disable(d, "bc_forwarding changed");
	d->need_rebuild = true;
}

/* tcx programs attached by other tools raise no notification: look. */
static void on_poll(struct daemon *d)
{
	uint64_t x;

	(void)!read(d->pollfd, &x, sizeof(x));
	follow_icmp_limits(d);
	follow_bc_forwarding(d);
	follow_forwarding(d);
	daemon_metrics_expire(d);
	daemon_trace_expire(d);
	for (size_t i = 0; i < d->st.nifaces; i++) {
		const struct nfo_iface *f = &d->st.ifaces[i];

		if (f->ifindex <= 0 || !d->st.loader)
			continue;
		if ((nfo_loader_foreign_tcx(d->st.loader, f->ifindex) > 0) != f->foreign_tcx) {
			daemon_disable(d, "tc ingress programs changed");
			d->need_rebuild = true;
			return;
		}
	}
}

/* The retry timer (daemon_arm_retry): try again while disabled. */
static void on_retry(struct daemon *d)
{
	uint64_t x;

	(void)!read(d->timerfd, &x, sizeof(x));
	if (!d->st.enabled)
		d->need_resync = true;
}

/* The watchdog's heartbeat: this loop runs. */
static void on_beat(struct daemon *d)
{
	uint64_t x;
	int r;

	(void)!read(d->beatfd, &x, sizeof(x));
	if (!d->st.loader)
		return;
	r = nfo_loader_beat(d->st.loader);
	if (r < 0)
		log_error_errno(r, "watchdog heartbeat: %m");
}

/*
 * Checked on every wakeup, before any handler may re-enable the fast path:
 * the watchdog turned it off while this loop did not run. Whatever happened
 * meanwhile is read again, as after lost notifications; the fast path
 * comes back with the generation that resync finds.
 */
static void watchdog_check(struct daemon *d)
{
	struct nfo_watchdog_info w = { .heartbeat_age_ms = -1 };
	const char *err;
	uint64_t trips;

	if (!d->st.loader)
		return;
	trips = nfo_loader_watchdog_trips(d->st.loader);
	if (trips == d->wd_trips_seen)
		return;
	d->wd_trips_seen = trips;
	/* How long this loop did not run: a stop, or a call that blocked. */
	(void)nfo_loader_watchdog(d->st.loader, &w, &err);
	log_warn("watchdog: no heartbeat for over %u ms (the last one %.0f ms ago), the fast path "
		 "was turned off (%llu time%s): full resync", WATCHDOG_MS, w.heartbeat_age_ms,
		 (unsigned long long)trips, trips == 1 ? "" : "s");
	daemon_disable(d, "watchdog tripped");
	d->need_resync = true;
}

static void on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_info("signal %u: stopping", si.ssi_signo);
			d->quit = true;
		}
	}
}

/* What the event loop waits on; the epoll tag is the index. */
enum { EV_NFT, EV_RTNL, EV_SIG, EV_TIMER, EV_POLL, EV_BEAT, EV_METRICS, EV_TRACE, EV_TRACEQ,
       EV_STREAM, EV_EXPIRY, _EV_MAX };
_Static_assert(_EV_MAX <= DAEMON_EV_METRICS_CONN, "epoll tags overlap");

static void (*const handlers[_EV_MAX])(struct daemon *d) = {
	[EV_NFT] = on_nft,
	[EV_RTNL] = on_rtnl,
	[EV_SIG] = on_signal,
	[EV_TIMER] = on_retry,
	[EV_POLL] = on_poll,
	[EV_BEAT] = on_beat,
	[EV_METRICS] = daemon_metrics_accept,
	[EV_TRACE] = daemon_trace_consume,
	[EV_TRACEQ] = daemon_ctl_take_traces,
	[EV_STREAM] = daemon_streams_wake,
	[EV_EXPIRY] = daemon_expiry_wake,
};

/* ---- setup ------------------------------------------------------------------- */

/* The configuration file and --attach, then one struct nfo_iface per interface. */
static int setup_config(struct daemon *d)
{
	const struct nfo_daemon_opts *o = d->opts;
	struct nfo_daemon_state *s = &d->st;
	char err[512];
	int r;

	r = nfo_config_load(&s->config, o->config_path, o->config_given, err, sizeof(err));
	if (r < 0)
		return log_error_errno(r, "%s", err);
	for (size_t i = 0; i < o->nattach; i++) {
		r = nfo_config_add_attach(&s->config, o->attach[i], err, sizeof(err));
		if (r < 0)
			return log_error_errno(r, "%s", err);
	}
	if (o->metrics_listen)
		snprintf(s->config.metrics_listen, sizeof(s->config.metrics_listen), "%s",
			 o->metrics_listen);
	for (size_t i = 0; i < o->nservices; i++) {
		r = nfo_config_add_service(&s->config, o->services[i], err, sizeof(err));
		if (r < 0)
			return log_error_errno(r, "%s", err);
	}
	if (s->config.nifaces == 0 && s->config.nservices == 0)
		log_warn("no interface configured (--attach IFACE or 'interface' in %s): "
			 "following nftables, attaching nothing", o->config_path);

	bool need_tcx = false;

	for (size_t i = 0; i < s->config.nifaces; i++)
		need_tcx |= s->config.ifaces[i].mode == NFO_MODE_TC;
	r = nfo_probe_check(need_tcx, s->config.nservices > 0, err, sizeof(err));
	if (r < 0)
		return log_error_errno(r, "%s", err);
	/* Not a reason to refuse to start: the fast path is sound without it
	 * as long as this daemon runs. */
	r = nfo_watchdog_probe(err, sizeof(err));
	if (r < 0) {
		snprintf(s->watchdog_off, sizeof(s->watchdog_off), "%.200s", err);
		log_warn("no watchdog: %s; running without it (a stopped daemon leaves its last "
			 "fast path live)", err);
	}

	s->ifaces = calloc(s->config.nifaces + 1, sizeof(*s->ifaces));
	if (!s->ifaces)
		return log_error_errno(-ENOMEM, "out of memory");
	s->nifaces = s->config.nifaces;
	for (size_t i = 0; i < s->nifaces; i++) {
		struct nfo_iface *ifc = &s->ifaces[i];

		snprintf(ifc->name, sizeof(ifc->name), "%s", s->config.ifaces[i].name);
		ifc->mode = s->config.ifaces[i].mode;
		ifc->active_mode = ifc->mode;
		ifc->link_fd = -1;
	}
	return 0;
}

static int ensure_bpffs(const char *dir)
{
	struct statfs sf;
	char cmd[PATH_MAX];

	if (statfs(dir, &sf) == 0 && (unsigned long)sf.f_type == BPF_FS_MAGIC_)
		return 0;
	/* `ip netns exec` remounts /sys: mount bpffs ourselves. */
	snprintf(cmd, sizeof(cmd), "%s", dir);
	for (char *p = cmd + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			(void)mkdir(cmd, 0755);
			*p = '/';
		}
	}
	(void)mkdir(cmd, 0700);
	if (mount("bpf", dir, "bpf", 0, "mode=0700") < 0)
		return -errno;
	return 0;
}

/*
 * One pin directory per network namespace and run directory: two daemons
 * never share counters, whether they share a bpffs across namespaces or run
 * side by side in one.
 */
static void pin_dir_name(const char *bpffs, const char *run_dir, char *buf, size_t len)
{
	/* bpffs refuses names with dots: keep [A-Za-z0-9_-] and add a hash of
	 * the whole path so different paths never meet. */
	char run[64];
	uint32_t h = 2166136261u;
	struct stat ns;
	size_t n = 0;

	if (stat("/proc/self/ns/net", &ns) < 0)
		ns.st_ino = 0;
	for (const char *p = run_dir; *p; p++) {
		h = (h ^ (uint8_t)*p) * 16777619u;
		if (n + 1 < 48)
			run[n++] = isalnum((unsigned char)*p) || *p == '-' ? *p : '_';
	}
	run[n] = '\0';
	snprintf(buf, len, "%.3000s/nft-offload/%lu/%s-%08x", bpffs, (unsigned long)ns.st_ino,
		 run, h);
}

/* bpffs and the pin directory's name, the run directory and its control socket,
 * the metrics socket if one is configured. */
static int setup_dirs(struct daemon *d)
{
	const struct nfo_daemon_opts *o = d->opts;
	int r;

	r = ensure_bpffs(o->bpffs);
	if (r < 0)
		return log_error_errno(r, "cannot mount bpffs at %s: %m", o->bpffs);
	pin_dir_name(o->bpffs, o->run_dir, d->pin_dir, sizeof(d->pin_dir));
	d->st.pin_dir = d->pin_dir;

	r = nfo_mkdir_p(o->run_dir, 0755, true);
	if (r < 0)
		return log_error_errno(r, "cannot create run directory %s: %m", o->run_dir);
	snprintf(d->sock_path, sizeof(d->sock_path), "%s/%s", o->run_dir, NFO_CTL_SOCKET);
	r = daemon_ctl_listen(d);
	if (r == -EADDRINUSE)
		return log_error_errno(r, "another nft-offload daemon is running (control socket %s); "
				       "use another --run-dir", d->sock_path);
	if (r < 0)
		return log_error_errno(r, "cannot create control socket %s: %m", d->sock_path);
	d->ctlfd = r;

	r = daemon_metrics_listen(d);
	if (r < 0)
		return log_error_errno(r, "cannot serve metrics on %s: %m",
				       d->st.config.metrics_listen);
	if (r > 0)
		log_info("metrics at http://%s/metrics", d->st.config.metrics_listen);
	return 0;
}

static int read_clock(void *userdata, struct nfo_nft_jiffies *ret)
{
	struct nfo_clock *c = userdata;
	uint64_t j;
	int r = nfo_clock_jiffies(c, &j);

	if (r < 0)
		return r;
	*ret = (struct nfo_nft_jiffies){ .jiffies = j, .hz = nfo_clock_hz(c) };
	return 0;
}

/*
 * The kernel clock set element expiries count in, and the margin before
 * the kernel's expiry at which an element stops counting in the fast path:
 * at least 2 jiffies (the reading and the kernel's comparison each truncate
 * to a tick), else the configured ms (a packet the fast path checks reaches
 * nftables a little later). Without it, sets with timeouts stay out.
 */
static uint64_t setup_clock(struct daemon *d)
{
	uint64_t margin_j;
	int r = nfo_clock_new(&d->clock);

	if (r < 0) {
		log_warn_errno(r, "cannot read the kernel's jiffies (a BPF syscall program): %m; "
			       "sets whose elements expire are not offloaded");
		return 0;
	}
	nfo_nft_set_clock(read_clock, d->clock);
	margin_j = ((uint64_t)d->st.config.timeout_margin_ms * nfo_clock_hz(d->clock) + 999) / 1000;
	if (margin_j < 2)
		margin_j = 2;
	log_info("kernel HZ %u: set elements leave the fast path %llu jiffies before they expire",
		 nfo_clock_hz(d->clock), (unsigned long long)margin_j);
	return margin_j;
}

/* nftables and rtnetlink subscriptions, the clock, then the loader. */
static int setup_kernel(struct daemon *d)
{
	struct nfo_loader_opts lopts = { .pin_dir = d->pin_dir,
					 .max_slots = d->st.config.max_counters,
					 .watchdog_ms = d->st.watchdog_off[0] ? 0 : WATCHDOG_MS,
					 .progress = &d->st.busy_elements };
	char err[512];
	int r;

	/* Subscribe before the first dump: no change can fall in between. */
	r = nfo_nft_monitor_new(&d->mon, d->opts->netlink_rcvbuf);
	if (r < 0)
		return log_error_errno(r, "cannot subscribe to nftables notifications: %m");
	r = nfo_rtnl_new(&d->rtnl);
	if (r < 0)
		return log_error_errno(r, "cannot follow links and addresses (rtnetlink): %m");
	lopts.margin_j = setup_clock(d);
	r = nfo_loader_new(&d->st.loader, &lopts, err, sizeof(err));
	if (r < 0)
		return log_error_errno(r, "%s", err);
	follow_icmp_limits(d);
	d->bc_forwarding = read_bc_forwarding();
	return 0;
}

static int setup_event_loop(struct daemon *d)
{
	struct itimerspec every_second = { { 1, 0 }, { 1, 0 } };
	struct itimerspec every_beat = { { 0, BEAT_MS * 1000000L }, { 0, BEAT_MS * 1000000L } };
	sigset_t mask;
	int fds[_EV_MAX];

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGPIPE);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	d->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	d->pollfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	d->beatfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	d->streamfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sigfd < 0 || d->timerfd < 0 || d->pollfd < 0 || d->beatfd < 0 || d->epfd < 0 ||
	    d->streamfd < 0 ||
	    timerfd_settime(d->pollfd, 0, &every_second, NULL) < 0 ||
	    timerfd_settime(d->beatfd, 0, &every_beat, NULL) < 0)
		return log_error_errno(-errno, "event loop setup: %m");

	fds[EV_NFT] = nfo_nft_monitor_fd(d->mon);
	fds[EV_RTNL] = nfo_rtnl_fd(d->rtnl);
	fds[EV_SIG] = d->sigfd;
	fds[EV_TIMER] = d->timerfd;
	fds[EV_POLL] = d->pollfd;
	fds[EV_BEAT] = d->beatfd;
	fds[EV_STREAM] = d->streamfd;
	fds[EV_EXPIRY] = -1;
	if (d->clock) {
		/* without it the questions are asked in line, as before */
		fds[EV_EXPIRY] = daemon_expiry_start(d);
		if (fds[EV_EXPIRY] < 0)
			return log_error_errno(fds[EV_EXPIRY], "cannot start the expiry thread: %m");
	}
	fds[EV_METRICS] = d->metrics ? daemon_metrics_fd(d) : -1;
	fds[EV_TRACE] = daemon_trace_new(d);
	if (fds[EV_TRACE] < 0)
		return log_error_errno(fds[EV_TRACE], "cannot follow the trace ring: %m");
	fds[EV_TRACEQ] = daemon_ctl_traceq_open(d);
	if (fds[EV_TRACEQ] < 0)
		return log_error_errno(fds[EV_TRACEQ], "event loop setup: %m");
	for (uint32_t tag = 0; tag < _EV_MAX; tag++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

		if (fds[tag] < 0)
			continue;
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fds[tag], &ev) < 0)
			return log_error_errno(-errno, "event loop setup: %m");
	}
	return 0;
}

static int setup(struct daemon *d)
{
	int r;

	nfo_config_init(&d->st.config);
	if ((r = setup_config(d)) < 0 || (r = setup_dirs(d)) < 0 ||
	    (r = daemon_services_setup(d)) < 0 || (r = setup_kernel(d)) < 0 ||
	    (r = setup_event_loop(d)) < 0)
		return r;
	r = daemon_ctl_start(d);
	if (r < 0)
		return log_error_errno(r, "cannot start the control thread: %m");
	return 0;
}

/* ---- the event loop ------------------------------------------------------------ */

/*
 * A dump leaves hundreds of bytes a set element freed in the heap (the
 * libnftnl objects, the image written to the maps), in chunks glibc keeps
 * for later: give them back, so that RSS is what the daemon holds.
 */
static void trim_heap(void)
{
	(void)malloc_trim(0);
}

/*
 * Handlers only note what is needed (and disable the fast path at once);
 * the work is done here, once per wakeup, however many events came in it.
 */
static void do_pending(struct daemon *d)
{
	bool worked = d->ntxq || d->need_resync;

	if (d->ntxq && !d->need_resync) {
		if (daemon_update_sets(d) == -EAGAIN) {
			daemon_disable(d, "element change not applicable in place");
			d->need_resync = true;
		}
		daemon_txq_clear(d);
	}
	if (d->need_resync) {
		d->need_resync = d->need_rebuild = false;
		daemon_txq_clear(d);
		(void)daemon_resync(d);
	} else if (d->need_rebuild) {
		d->need_rebuild = false;
		if (d->st.rs && daemon_rebuild(d) < 0)
			daemon_arm_retry(d, 1000);
	}
	daemon_busy(d, NULL, true);
	if (worked)
		trim_heap();
}

static int run(struct daemon *d)
{
	log_info("started: run-dir %s, pins in %s, %zu interface(s)", d->opts->run_dir, d->pin_dir,
		 d->st.nifaces);
	clock_gettime(CLOCK_MONOTONIC, &d->change_t0);
	d->change_pending = true;
	(void)daemon_resync(d);
	daemon_busy(d, NULL, true);
	trim_heap();

	while (!d->quit) {
		struct epoll_event evs[8];
		/* a set still being read: only look what came in, then read on */
		int n = epoll_wait(d->epfd, evs, 8, daemon_streams_ready(d) ? 0 : -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return log_error_errno(-errno, "epoll: %m");
		}
		watchdog_check(d);
		for (int i = 0; i < n; i++) {
			uint32_t tag = evs[i].data.u32;

			if (tag < _EV_MAX)
				handlers[tag](d);
			else if (tag >= DAEMON_EV_TRACE_CONN)
				daemon_trace_conn(d, tag - DAEMON_EV_TRACE_CONN, evs[i].events);
			else
				daemon_metrics_conn(d, tag - DAEMON_EV_METRICS_CONN, evs[i].events);
		}
		if (!d->quit)
			do_pending(d);
		if (!d->quit)
			(void)daemon_streams_step(d);
	}
	return 0;
}

/* ---- teardown ------------------------------------------------------------------ */

static void teardown(struct daemon *d, bool unpin)
{
	/* first: nothing reads the state while it goes */
	daemon_ctl_stop(d);
	daemon_ctl_traceq_close(d);
	daemon_expiry_stop(d);
	daemon_trace_free(d);
	for (size_t i = 0; i < d->st.nifaces; i++)
		if (d->st.loader)
			nfo_loader_detach(d->st.loader, &d->st.ifaces[i]);
	nfo_loader_free(&d->st.loader, unpin);
	/* Service programs stay pinned: systemd keeps them attached. */
	daemon_services_free(d);
	if (d->ctlfd >= 0) {
		close(d->ctlfd);
		unlink(d->sock_path);
	}
	daemon_metrics_free(d);
	nfo_nft_monitor_free(&d->mon);
	nfo_rtnl_free(&d->rtnl);
	nfo_nft_set_clock(NULL, NULL);
	nfo_clock_free(&d->clock);
	daemon_streams_clear(d);
	daemon_free_plan(d);
	daemon_txq_clear(d);
	nfo_ruleset_free(&d->st.rs);
	free(d->st.ifaces);
	nfo_config_clear(&d->st.config);
	pthread_mutex_destroy(&d->st.lock);
	if (d->epfd >= 0)
		close(d->epfd);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->timerfd >= 0)
		close(d->timerfd);
	if (d->pollfd >= 0)
		close(d->pollfd);
	if (d->beatfd >= 0)
		close(d->beatfd);
	if (d->streamfd >= 0)
		close(d->streamfd);
}

int nfo_daemon_main(const struct nfo_daemon_opts *o)
{
	struct daemon d = { .opts = o, .epfd = -1, .sigfd = -1, .timerfd = -1, .pollfd = -1,
			    .beatfd = -1, .streamfd = -1, .ctlfd = -1, .ctl_stopfd = -1,
			    .traceq = { -1, -1 } };

	pthread_mutex_init(&d.st.lock, NULL);

	if (setup(&d) < 0) {
		teardown(&d, false);
		return 1;
	}
	/* An epoll failure ends the loop like a signal: a clean stop. */
	(void)run(&d);
	teardown(&d, true);
	log_info("stopped: programs detached, pins and socket removed");
	return 0;
}
