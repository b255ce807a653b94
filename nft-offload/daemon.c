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
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter.h>

#include <libnftnl/set.h>

#include "netlink/nft.h"
#include "netlink/rtnl.h"
#include "daemon.h"
#include "json.h"
#include "common/log.h"
#include "plan.h"
#include "probe.h"
#include "ruleset.h"
#include "ruletext.h"
#include "common/util.h"

#define BPF_FS_MAGIC_ 0xcafe4a11
#define RETRY_MS 200

struct daemon {
	struct nfo_daemon_state st;
	const struct nfo_daemon_opts *opts;
	char sock_path[PATH_MAX];
	char pin_dir[PATH_MAX];
	struct nfo_nft_monitor *mon;
	struct nfo_rtnl *rtnl;
	int epfd;
	int sigfd;
	int timerfd;
	int pollfd;   /* periodic: tcx programs attached by others (no notification) */
	int ctlfd;
	bool quit;
	bool need_resync;
	bool need_rebuild;
	struct nfo_nft_events sets_changed; /* element-only transactions */
	bool need_sets;
	bool change_pending;    /* disabled since a change was announced */
	struct timespec change_t0;
	bool *missing_logged;
	/* the links and addresses the live fast path was built from: a link
	 * notification that changes none of them (our own attach, carrier,
	 * statistics-only updates) needs no rebuild */
	struct nfo_link *built_links;
	size_t nbuilt_links;
	struct nfo_addr *built_addrs;
	size_t nbuilt_addrs;
};

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* A new fast path (built since t0) is live: the times status reports. */
static void went_live(struct daemon *d, const struct timespec *t0)
{
	struct nfo_daemon_state *s = &d->st;

	s->enabled = true;
	s->error[0] = '\0';
	s->last_build_ms = ms_since(t0);
	if (d->change_pending)
		s->last_update_ms = ms_since(&d->change_t0);
	d->change_pending = false;
	s->updates++;
}

static void disable(struct daemon *d, const char *why)
{
	if (d->st.loader && nfo_loader_enabled(d->st.loader)) {
		int r = nfo_loader_disable(d->st.loader);

		if (r < 0)
			log_error("cannot disable the fast path: %s", strerror(-r));
	}
	d->st.enabled = false;
	if (!d->change_pending) {
		d->change_pending = true;
		clock_gettime(CLOCK_MONOTONIC, &d->change_t0);
	}
	log_debug("fast path disabled: %s", why);
}

static void arm_retry(struct daemon *d, unsigned ms)
{
	struct itimerspec it = { .it_value = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 } };

	(void)timerfd_settime(d->timerfd, 0, &it, NULL);
}

/* ---- building and applying ------------------------------------------------- */

static void free_keys(struct nfo_daemon_state *s)
{
	if (!s->keys)
		return;
	for (size_t i = 0; s->plan && i < s->plan->ntargets; i++)
		free(s->keys[i]);
	free(s->keys);
	s->keys = NULL;
}

static int make_keys(const struct nfo_plan *p, char ***ret)
{
	char **keys = calloc(p->ntargets ? p->ntargets : 1, sizeof(*keys));

	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < p->ntargets; i++) {
		const struct nfo_plan_target *t = &p->targets[i];
		char buf[NFO_SLOT_KEY_LEN * 2];

		if (t->rule)
			nfo_rule_key(t->rule, buf, sizeof(buf));
		else
			snprintf(buf, sizeof(buf), "%s %s %s policy", nfo_family_name(t->chain->family),
				 t->chain->table, t->chain->name);
		keys[i] = strdup(buf);
		if (!keys[i]) {
			for (size_t k = 0; k < i; k++)
				free(keys[k]);
			free(keys);
			return -ENOMEM;
		}
	}
	*ret = keys;
	return 0;
}

static void describe_l3(const struct nfo_link *lk, const struct nfo_link *links, size_t n,
			char *buf, size_t len)
{
	const struct nfo_link *m;

	buf[0] = '\0';
	if (lk->master) {
		m = nfo_link_by_index(links, n, lk->master);
		snprintf(buf, len, "port of %s: only its ingress chains are offloaded",
			 m ? m->name : "a master device");
	} else if (lk->has_uppers) {
		snprintf(buf, len, "has upper devices (vlan, macvlan...): only its ingress chains are offloaded");
	} else if (!lk->has_mac) {
		snprintf(buf, len, "not an Ethernet device: only its ingress chains are offloaded");
	}
}

static int rebuild(struct daemon *d)
{
	struct nfo_daemon_state *s = &d->st;
	_cleanup_free_ struct nfo_link *links = NULL;
	_cleanup_free_ struct nfo_addr *addrs = NULL;
	_cleanup_free_ struct nfo_plan_iface *pif = NULL;
	_cleanup_free_ int *up = NULL;
	struct nfo_plan *plan = NULL;
	char **keys = NULL;
	size_t nlinks = 0, naddrs = 0, npif = 0, nup = 0;
	struct nfo_plan_input in = {};
	char err[256];
	struct timespec t0;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = nfo_rtnl_links(d->rtnl, &links, &nlinks);
	if (r == 0)
		r = nfo_rtnl_addrs(d->rtnl, &addrs, &naddrs);
	if (r < 0)
		return log_error_errno(r, "reading links and addresses: %s", strerror(-r));
	pif = calloc(s->nifaces + 1, sizeof(*pif));
	up = calloc(nlinks + 1, sizeof(*up));
	if (!pif || !up)
		return log_error_errno(-ENOMEM, "out of memory");
	for (size_t i = 0; i < nlinks; i++)
		if (links[i].up)
			up[nup++] = links[i].ifindex;

	/* Detach first whatever moved: deleted, recreated under the same name
	 * (new ifindex), or renamed, possibly to another configured name whose
	 * entry attaches below to the same ifindex. */
	for (size_t i = 0; i < s->nifaces; i++) {
		struct nfo_iface *ifc = &s->ifaces[i];
		const struct nfo_link *lk = nfo_link_by_name(links, nlinks, ifc->name);

		if (ifc->ifindex && (!lk || lk->ifindex != ifc->ifindex))
			nfo_loader_detach(s->loader, ifc);
	}
	for (size_t i = 0; i < s->nifaces; i++) {
		struct nfo_iface *ifc = &s->ifaces[i];
		const struct nfo_link *lk = nfo_link_by_name(links, nlinks, ifc->name);
		struct nfo_plan_iface *p;

		if (!lk) {
			if (ifc->ifindex || !d->missing_logged[i])
				log_warn("interface %s not found; it will be attached when it appears",
					 ifc->name);
			d->missing_logged[i] = true;
			ifc->ifindex = 0;
			snprintf(ifc->error, sizeof(ifc->error), "interface not found");
			s->l3_note[i][0] = '\0';
			s->block_note[i][0] = '\0';
			continue;
		}
		d->missing_logged[i] = false;
		ifc->ifindex = lk->ifindex;
		/* tc ingress runs after XDP and before nftables, and its
		 * filters and programs may redirect packets away: nftables
		 * would then not decide them at all. */
		s->foreign_tcx[i] = nfo_loader_foreign_tcx(s->loader, lk->ifindex) > 0;
		s->block_note[i][0] = '\0';
		if (lk->tc_ingress)
			snprintf(s->block_note[i], sizeof(s->block_note[i]),
				 "tc ingress qdisc: its filters run before nftables and may redirect packets");
		else if (s->foreign_tcx[i])
			snprintf(s->block_note[i], sizeof(s->block_note[i]),
				 "another tc ingress program runs before nftables and may redirect packets");
		if (s->block_note[i][0]) {
			log_warn("%s: not offloaded: %s", ifc->name, s->block_note[i]);
			/* no root: every frame on it passes (still attached, so
			 * offload resumes when the filters go) */
			continue;
		}
		p = &pif[npif++];
		p->ifindex = lk->ifindex;
		snprintf(p->name, sizeof(p->name), "%s", lk->name);
		memcpy(p->mac, lk->mac, 6);
		describe_l3(lk, links, nlinks, s->l3_note[i], sizeof(s->l3_note[i]));
		p->l3 = s->l3_note[i][0] == '\0';
	}

	in = (struct nfo_plan_input){
		.rs = s->rs,
		.ifaces = pif,
		.nifaces = npif,
		.addrs = addrs,
		.naddrs = naddrs,
		.up_ifindexes = up,
		.nup = nup,
		.max_edges = s->config.max_edges,
	};
	r = nfo_plan_build(&in, &plan);
	if (r < 0)
		return log_error_errno(r, "planning the fast path: %s", strerror(-r));
	if (plan->error)
		log_warn("ruleset not offloaded: %s", plan->error);
	r = make_keys(plan, &keys);
	if (r < 0) {
		nfo_plan_free(&plan);
		return log_error_errno(r, "out of memory");
	}
	r = nfo_loader_apply(s->loader, plan, keys, s->genid, s->ifaces, s->nifaces, err, sizeof(err));
	if (r < 0) {
		for (size_t i = 0; i < plan->ntargets; i++)
			free(keys[i]);
		free(keys);
		nfo_plan_free(&plan);
		snprintf(s->error, sizeof(s->error), "%s", err);
		return log_error_errno(r, "fast path not updated, passing everything: %s", err);
	}
	for (size_t i = 0; i < s->nifaces; i++) {
		struct nfo_iface *ifc = &s->ifaces[i];

		if (ifc->ifindex && ifc->link_fd < 0)
			log_error("%s: %s", ifc->name, ifc->error);
		else if (ifc->ifindex && ifc->error[0])
			log_info("%s: %s", ifc->name, ifc->error);
	}
	free_keys(s);
	nfo_plan_free(&s->plan);
	s->plan = plan;
	s->keys = keys;
	s->enabled_once = true;
	went_live(d, &t0);
	free(d->built_links);
	free(d->built_addrs);
	d->built_links = TAKE_PTR(links);
	d->nbuilt_links = nlinks;
	d->built_addrs = TAKE_PTR(addrs);
	d->nbuilt_addrs = naddrs;
	log_info("fast path updated: nftables generation %u, %zu nodes, %zu drop targets, %.1f ms",
		 s->genid, plan->nnodes - 1, plan->ntargets, s->last_build_ms);
	return 0;
}

static int resync(struct daemon *d)
{
	struct nfo_nft_dump *dump = NULL;
	struct nfo_ruleset *rs = NULL;
	int r;

	r = nfo_nft_read_ruleset(&dump, false);
	if (r < 0) {
		snprintf(d->st.error, sizeof(d->st.error), "cannot read the nftables ruleset: %s",
			 strerror(-r));
		log_error("%s; retrying", d->st.error);
		arm_retry(d, RETRY_MS);
		return r;
	}
	r = nfo_ruleset_new(&rs, dump);
	nfo_nft_dump_free(&dump);
	if (r < 0) {
		arm_retry(d, RETRY_MS);
		return log_error_errno(r, "building the ruleset model: %s", strerror(-r));
	}
	nfo_ruleset_free(&d->st.rs);
	d->st.rs = rs;
	d->st.genid = rs->genid;
	d->st.have_genid = true;
	r = rebuild(d);
	if (r < 0)
		arm_retry(d, 1000);
	return r;
}

/* ---- events ------------------------------------------------------------------ */

static void on_nft(struct daemon *d)
{
	struct nfo_nft_events ev = {};
	int r = nfo_nft_monitor_read(d->mon, &ev);

	if (r < 0) {
		log_error("reading nftables notifications: %s; resyncing", strerror(-r));
		ev.lost = ev.changed = ev.structural = true;
	}
	if (ev.changed || ev.lost)
		disable(d, ev.lost ? "notifications lost" : "ruleset changed");
	if (ev.lost) {
		log_warn("nftables notifications were lost: full resync");
		d->need_resync = true;
	} else if (ev.newgen && !ev.pending) {
		/* Every announced transaction is complete. Only set elements
		 * changed: read those sets; anything else: read the ruleset. (Also
		 * when NEWGEN names the generation already applied: the fast path
		 * was disabled by its messages.) */
		if (ev.structural || !ev.nsets || d->need_resync || d->need_sets) {
			d->need_resync = true;
		} else {
			nfo_nft_events_clear(&d->sets_changed);
			d->sets_changed = ev;
			ev = (struct nfo_nft_events){};
			d->need_sets = true;
		}
	}
	nfo_nft_events_clear(&ev);
}

/*
 * Element-only transactions: read just the changed sets (at the
 * transaction's generation) into the model; the plan stays, only the set
 * maps change. -EAGAIN: do a full resync instead.
 */
static int update_sets(struct daemon *d)
{
	struct nfo_daemon_state *s = &d->st;
	struct nfo_nft_events *ev = &d->sets_changed;
	struct timespec t0;
	char err[256];
	bool any = false;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!s->rs || !s->plan || s->plan->error || !s->enabled_once)
		return -EAGAIN;
	for (size_t i = 0; i < ev->nsets; i++) {
		struct nfo_set *set = nfo_ruleset_find_set(s->rs, (int)ev->sets[i].family,
							   ev->sets[i].table, ev->sets[i].name);

		if (!set || (nfo_plan_set_used(s->plan, set) && !nfo_plan_set_updatable(s->plan, set))) {
			log_debug("set %s: its elements are in the diagram: full resync",
				  ev->sets[i].name);
			return -EAGAIN;
		}
		if (!nfo_plan_set_used(s->plan, set))
			continue; /* nothing of the fast path depends on it */
		any = true;
	}
	for (size_t i = 0; i < ev->nsets; i++) {
		struct nfo_set *set = nfo_ruleset_find_set(s->rs, (int)ev->sets[i].family,
							   ev->sets[i].table, ev->sets[i].name);
		struct nftnl_set *ns = NULL;

		if (!nfo_plan_set_used(s->plan, set))
			continue;
		r = nfo_nft_read_set(ev->sets[i].family, ev->sets[i].table, ev->sets[i].name,
				     ev->genid, &ns);
		if (r < 0) {
			log_debug("reading set %s: %s: full resync", ev->sets[i].name, strerror(-r));
			return -EAGAIN;
		}
		r = nfo_set_reload(set, ns);
		nftnl_set_free(ns);
		if (r < 0)
			return -EAGAIN; /* the model may be half updated: read it all */
	}
	s->genid = ev->genid;
	s->rs->genid = ev->genid;
	/* The same plan, written with the new elements into the other half
	 * (the elements are diffed against what that half holds). */
	r = nfo_loader_apply(s->loader, s->plan, s->keys, s->genid, s->ifaces, s->nifaces, err,
			     sizeof(err));
	if (r < 0) {
		snprintf(s->error, sizeof(s->error), "%s", err);
		return log_error_errno(r, "fast path not updated, passing everything: %s", err);
	}
	went_live(d, &t0);
	s->set_updates++;
	log_info("fast path updated: nftables generation %u, elements of %zu set(s)%s, %.1f ms",
		 s->genid, ev->nsets, any ? "" : " the fast path does not use", s->last_build_ms);
	return 0;
}

/* Whether links and addresses are what the live fast path was built from
 * (snapshots are sorted and zero-filled, so compared bytewise). */
static bool same_links(struct daemon *d)
{
	_cleanup_free_ struct nfo_link *links = NULL;
	_cleanup_free_ struct nfo_addr *addrs = NULL;
	size_t nlinks = 0, naddrs = 0;

	if (nfo_rtnl_links(d->rtnl, &links, &nlinks) < 0 ||
	    nfo_rtnl_addrs(d->rtnl, &addrs, &naddrs) < 0)
		return false;
	return nlinks == d->nbuilt_links && naddrs == d->nbuilt_addrs &&
	       (!nlinks || !memcmp(links, d->built_links, nlinks * sizeof(*links))) &&
	       (!naddrs || !memcmp(addrs, d->built_addrs, naddrs * sizeof(*addrs)));
}

static void on_rtnl(struct daemon *d)
{
	bool changed = false, removed = false;
	int r = nfo_rtnl_process(d->rtnl, &changed, &removed);

	if (r < 0) {
		log_error("reading link notifications: %s", strerror(-r));
		changed = true;
	} else if (changed && !removed && d->st.enabled && same_links(d)) {
		log_debug("links changed, nothing the fast path depends on");
		return;
	}
	if (changed) {
		disable(d, "links or addresses changed");
		d->need_rebuild = true;
	}
}

/* tcx programs attached by other tools raise no notification: look. */
static void on_poll(struct daemon *d)
{
	uint64_t x;

	(void)!read(d->pollfd, &x, sizeof(x));
	for (size_t i = 0; i < d->st.nifaces; i++) {
		const struct nfo_iface *f = &d->st.ifaces[i];

		if (f->ifindex <= 0 || !d->st.loader)
			continue;
		if ((nfo_loader_foreign_tcx(d->st.loader, f->ifindex) > 0) != d->st.foreign_tcx[i]) {
			disable(d, "tc ingress programs changed");
			d->need_rebuild = true;
			return;
		}
	}
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

/*
 * Reads a control request: its first line, and for `explain` the body the
 * client sends after it (rule texts, ruletext.h) up to its end of stream.
 * A client gets 2 s for all of it: the daemon does not wait longer.
 */
static int read_request(int fd, struct nfo_buf *req, size_t *line_len)
{
	struct timespec t0;
	bool body = false;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		char buf[65536];
		char *nl;
		ssize_t n;

		if (ms_since(&t0) > 2000)
			return -ETIMEDOUT;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		nfo_buf_put(req, buf, (size_t)n);
		if (req->oom)
			return -ENOMEM;
		if (req->len > NFO_RULETEXT_MAX_BODY)
			return -E2BIG;
		nl = memchr(req->s, '\n', req->len);
		if (nl && !body) {
			*line_len = (size_t)(nl - req->s);
			body = !strncmp(req->s, "explain ", 8);
			if (!body)
				return 0;
		}
	}
	if (!body)
		*line_len = req->len;
	return 0;
}

static void on_control(struct daemon *d)
{
	struct timeval tv = { .tv_sec = 1 };
	struct nfo_buf out = {}, req = {};
	struct nfo_ruletexts texts = {};
	size_t ll = 0;
	char line[128];
	int fd, r;

	fd = accept4(d->ctlfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	r = read_request(fd, &req, &ll);
	if (r < 0 || !req.len) {
		if (r < 0)
			log_debug("control request: %s", strerror(-r));
		goto done;
	}
	snprintf(line, sizeof(line), "%.*s", (int)(ll < sizeof(line) ? ll : sizeof(line) - 1),
		 req.s);
	line[strcspn(line, "\r\n")] = '\0';
	if (!strcmp(line, "status json")) {
		nfo_status_render(&d->st, true, &out);
	} else if (!strcmp(line, "status text")) {
		nfo_status_render(&d->st, false, &out);
	} else if (!strcmp(line, "explain json") || !strcmp(line, "explain text")) {
		size_t off = ll < req.len ? ll + 1 : req.len;

		r = nfo_ruletexts_parse(&texts, req.s + off, req.len - off);
		if (r < 0) {
			nfo_ruletexts_free(&texts);
			texts.note = strdup(r == -ENOMEM ? "out of memory"
							 : "the rule texts sent were malformed");
		}
		nfo_explain_render(&d->st, !strcmp(line, "explain json"), &texts, &out);
	} else if (!strcmp(line, "ping")) {
		nfo_buf_printf(&out, "nft-offload %s\n", NFO_VERSION);
	} else {
		nfo_buf_printf(&out, "error: unknown request '%s'\n", line);
	}
	if (out.oom) {
		nfo_buf_free(&out);
		nfo_buf_printf(&out, "error: out of memory\n");
	}
	for (size_t off = 0; off < out.len;) {
		ssize_t w = write(fd, out.s + off, out.len - off);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
done:
	nfo_ruletexts_free(&texts);
	nfo_buf_free(&req);
	nfo_buf_free(&out);
	close(fd);
}

/* ---- setup ------------------------------------------------------------------- */

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

static int control_socket(struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, probe;

	if (strlen(d->sock_path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, d->sock_path);
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			return -EADDRINUSE;
		}
		close(probe);
	}
	unlink(d->sock_path); /* stale, from a daemon that did not stop cleanly */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(d->sock_path, 0600) < 0 ||
	    listen(fd, 16) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

static int epoll_add(int epfd, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

enum { EV_NFT, EV_RTNL, EV_SIG, EV_TIMER, EV_CTL, EV_POLL };

static int mkdir_parents(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void cleanup(struct daemon *d, bool unpin)
{
	for (size_t i = 0; i < d->st.nifaces; i++)
		if (d->st.loader)
			nfo_loader_detach(d->st.loader, &d->st.ifaces[i]);
	nfo_loader_free(&d->st.loader, unpin);
	if (d->ctlfd >= 0) {
		close(d->ctlfd);
		unlink(d->sock_path);
	}
	nfo_nft_monitor_free(&d->mon);
	nfo_rtnl_free(&d->rtnl);
	free_keys(&d->st);
	nfo_nft_events_clear(&d->sets_changed);
	nfo_plan_free(&d->st.plan);
	nfo_ruleset_free(&d->st.rs);
	free(d->st.ifaces);
	free(d->st.l3_note);
	free(d->st.block_note);
	free(d->st.foreign_tcx);
	free(d->missing_logged);
	free(d->built_links);
	free(d->built_addrs);
	nfo_config_clear(&d->st.config);
	if (d->epfd >= 0)
		close(d->epfd);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->timerfd >= 0)
		close(d->timerfd);
	if (d->pollfd >= 0)
		close(d->pollfd);
}

int nfo_daemon_main(const struct nfo_daemon_opts *o)
{
	struct daemon d = { .opts = o, .epfd = -1, .sigfd = -1, .timerfd = -1, .pollfd = -1,
			    .ctlfd = -1 };
	struct itimerspec every_second = { { 1, 0 }, { 1, 0 } };
	struct nfo_loader_opts lopts = {};
	struct stat ns;
	char err[512];
	sigset_t mask;
	int r;

	nfo_config_init(&d.st.config);
	r = nfo_config_load(&d.st.config, o->config_path, o->config_given, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		goto fail;
	}
	for (size_t i = 0; i < o->nattach; i++) {
		r = nfo_config_add_attach(&d.st.config, o->attach[i], err, sizeof(err));
		if (r < 0) {
			log_error("%s", err);
			goto fail;
		}
	}
	if (d.st.config.nifaces == 0)
		log_warn("no interface configured (--attach IFACE or 'interface' in %s): "
			 "following nftables, attaching nothing", o->config_path);

	bool need_tcx = false;
	for (size_t i = 0; i < d.st.config.nifaces; i++)
		need_tcx |= d.st.config.ifaces[i].mode == NFO_MODE_TC;
	r = nfo_probe_check(need_tcx, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		goto fail;
	}

	d.st.nifaces = d.st.config.nifaces;
	d.st.ifaces = calloc(d.st.nifaces + 1, sizeof(*d.st.ifaces));
	d.st.l3_note = calloc(d.st.nifaces + 1, sizeof(*d.st.l3_note));
	d.st.block_note = calloc(d.st.nifaces + 1, sizeof(*d.st.block_note));
	d.st.foreign_tcx = calloc(d.st.nifaces + 1, sizeof(*d.st.foreign_tcx));
	d.missing_logged = calloc(d.st.nifaces + 1, sizeof(*d.missing_logged));
	if (!d.st.ifaces || !d.st.l3_note || !d.st.block_note || !d.st.foreign_tcx ||
	    !d.missing_logged) {
		r = log_error_errno(-ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < d.st.nifaces; i++) {
		snprintf(d.st.ifaces[i].name, sizeof(d.st.ifaces[i].name), "%s",
			 d.st.config.ifaces[i].name);
		d.st.ifaces[i].mode = d.st.config.ifaces[i].mode;
		d.st.ifaces[i].active_mode = d.st.ifaces[i].mode;
		d.st.ifaces[i].link_fd = -1;
	}

	r = ensure_bpffs(o->bpffs);
	if (r < 0) {
		log_error("cannot mount bpffs at %s: %s", o->bpffs, strerror(-r));
		goto fail;
	}
	/* One pin directory per network namespace and run directory: two
	 * daemons never share counters, whether they share a bpffs across
	 * namespaces or run side by side in one. */
	if (stat("/proc/self/ns/net", &ns) < 0)
		ns.st_ino = 0;
	{
		/* bpffs refuses names with dots: keep [A-Za-z0-9_-] and add a
		 * hash of the whole path so different paths never meet. */
		char run[64];
		uint32_t h = 2166136261u;
		size_t n = 0;

		for (const char *p = o->run_dir; *p; p++) {
			h = (h ^ (uint8_t)*p) * 16777619u;
			if (n + 1 < 48)
				run[n++] = isalnum((unsigned char)*p) || *p == '-' ? *p : '_';
		}
		run[n] = '\0';
		snprintf(d.pin_dir, sizeof(d.pin_dir), "%.3000s/nft-offload/%lu/%s-%08x", o->bpffs,
			 (unsigned long)ns.st_ino, run, h);
	}

	r = mkdir_parents(o->run_dir);
	if (r < 0) {
		log_error("cannot create run directory %s: %s", o->run_dir, strerror(-r));
		goto fail;
	}
	snprintf(d.sock_path, sizeof(d.sock_path), "%s/%s", o->run_dir, NFO_CONTROL_SOCKET);
	d.ctlfd = control_socket(&d);
	if (d.ctlfd < 0) {
		r = d.ctlfd;
		if (r == -EADDRINUSE)
			log_error("another nft-offload daemon is running (control socket %s); "
				  "use another --run-dir", d.sock_path);
		else
			log_error("cannot create control socket %s: %s", d.sock_path, strerror(-r));
		goto fail;
	}

	/* Subscribe before the first dump: no change can fall in between. */
	r = nfo_nft_monitor_new(&d.mon, o->netlink_rcvbuf);
	if (r < 0) {
		log_error("cannot subscribe to nftables notifications: %s", strerror(-r));
		goto fail;
	}
	r = nfo_rtnl_new(&d.rtnl);
	if (r < 0) {
		log_error("cannot follow links and addresses (rtnetlink): %s", strerror(-r));
		goto fail;
	}

	lopts.pin_dir = d.pin_dir;
	d.st.pin_dir = d.pin_dir;
	lopts.max_slots = d.st.config.max_counters;
	r = nfo_loader_new(&d.st.loader, &lopts, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		goto fail;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGPIPE);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	d.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	d.timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	d.pollfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d.sigfd < 0 || d.timerfd < 0 || d.pollfd < 0 || d.epfd < 0 ||
	    timerfd_settime(d.pollfd, 0, &every_second, NULL) < 0) {
		r = log_error_errno(-errno, "event loop setup: %s", strerror(errno));
		goto fail;
	}
	if ((r = epoll_add(d.epfd, nfo_nft_monitor_fd(d.mon), EV_NFT)) < 0 ||
	    (r = epoll_add(d.epfd, nfo_rtnl_fd(d.rtnl), EV_RTNL)) < 0 ||
	    (r = epoll_add(d.epfd, d.sigfd, EV_SIG)) < 0 ||
	    (r = epoll_add(d.epfd, d.timerfd, EV_TIMER)) < 0 ||
	    (r = epoll_add(d.epfd, d.ctlfd, EV_CTL)) < 0 ||
	    (r = epoll_add(d.epfd, d.pollfd, EV_POLL)) < 0) {
		log_error("event loop setup: %s", strerror(-r));
		goto fail;
	}

	log_info("started: run-dir %s, pins in %s, %zu interface(s)", o->run_dir, d.pin_dir,
		 d.st.nifaces);
	clock_gettime(CLOCK_MONOTONIC, &d.change_t0);
	d.change_pending = true;
	(void)resync(&d);

	while (!d.quit) {
		struct epoll_event evs[8];
		int n = epoll_wait(d.epfd, evs, 8, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = log_error_errno(-errno, "epoll: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			switch (evs[i].data.u32) {
			case EV_NFT:
				on_nft(&d);
				break;
			case EV_RTNL:
				on_rtnl(&d);
				break;
			case EV_SIG:
				on_signal(&d);
				break;
			case EV_TIMER: {
				uint64_t x;

				(void)!read(d.timerfd, &x, sizeof(x));
				if (!d.st.enabled)
					d.need_resync = true;
				break;
			}
			case EV_CTL:
				on_control(&d);
				break;
			case EV_POLL:
				on_poll(&d);
				break;
			}
		}
		if (d.quit)
			break;
		if (d.need_sets && !d.need_resync) {
			d.need_sets = false;
			if (update_sets(&d) == -EAGAIN)
				d.need_resync = true;
			nfo_nft_events_clear(&d.sets_changed);
		}
		if (d.need_resync) {
			d.need_resync = d.need_rebuild = d.need_sets = false;
			nfo_nft_events_clear(&d.sets_changed);
			(void)resync(&d);
		} else if (d.need_rebuild) {
			d.need_rebuild = false;
			if (d.st.rs && rebuild(&d) < 0)
				arm_retry(&d, 1000);
		}
	}
	cleanup(&d, true);
	log_info("stopped: programs detached, pins and socket removed");
	return 0;
fail:
	cleanup(&d, false);
	return 1;
}
