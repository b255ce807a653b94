// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tracers (`nft-offload trace`, trace.h): the daemon alone reads the
 * programs' trace ring, and forwards each record to every tracer whose
 * filter it matches, over the tracer's control connection.
 *
 * The connection is the trace: the programs trace while at least one is
 * open (nfo_ctl.trace), with the union of the tracers' filters; a tracer
 * that exits or dies closes it, and with the last one tracing stops. Each
 * tracer also gets its own exact rate (the programs' buckets are per CPU).
 * Nothing here waits on a tracer: sockets are non-blocking, and what a slow
 * tracer cannot take is counted, not queued without bound.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common/log.h"
#include "common/util.h"
#include "daemon-internal.h"
#include "json.h"
#include "trace.h"

#define MAX_QUEUED (4u << 20) /* bytes waiting for one tracer */
#define CLOSE_TIMEOUT_S 5

struct tracer {
	int fd; /* -1: free slot */
	bool closing; /* shut down by the tracer: send STATS, close */
	struct timespec closing_t0;
	uint32_t flags;
	uint32_t snaplen;
	uint64_t ns_per_token, burst_ns, tokens_ns, last_ns;
	char (*rules)[NFO_SLOT_KEY_LEN];
	size_t nrules;
	int ifindex[NFO_TRACE_MAX_IFACES];
	size_t nifindex;
	uint32_t slots[NFO_TRACE_MAX_RULES];
	struct nfo_trace_stats st;
	struct nfo_trace_pcpu k0; /* kernel counts when it started */
	struct nfo_buf out;
	size_t off;
};

struct daemon_trace {
	struct ring_buffer *rb;
	int cfg_fd, pcpu_fd;
	int ncpus;
	int64_t mono_to_real_ns;
	struct tracer t[DAEMON_TRACERS];
	uint32_t ntracers; /* running now */
};

static int64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void kernel_counts(struct daemon_trace *tr, struct nfo_trace_pcpu *ret)
{
	_cleanup_free_ struct nfo_trace_pcpu *v = calloc((size_t)tr->ncpus, sizeof(*v));
	uint32_t zero = 0;

	*ret = (struct nfo_trace_pcpu){};
	if (!v || bpf_map_lookup_elem(tr->pcpu_fd, &zero, v) < 0)
		return;
	for (int c = 0; c < tr->ncpus; c++) {
		ret->matched += v[c].matched;
		ret->ratelimited += v[c].ratelimited;
		ret->ringfull += v[c].ringfull;
	}
}

/* The programs' filter: what any tracer wants. */
static void program_filter(struct daemon *d)
{
	struct daemon_trace *tr = d->trace;
	struct nfo_trace_cfg c = {};
	uint64_t rate = 0;
	bool all_rules = false, all_ifaces = false;
	uint32_t zero = 0, n = 0;

	for (size_t i = 0; i < DAEMON_TRACERS; i++) {
		const struct tracer *t = &tr->t[i];

		if (t->fd < 0 || t->closing)
			continue;
		n++;
		c.flags |= t->flags;
		if (t->snaplen > c.snaplen)
			c.snaplen = t->snaplen;
		rate += 1000000000ull / t->ns_per_token;
		all_rules |= !t->nrules;
		for (size_t k = 0; k < t->nrules && !all_rules; k++) {
			bool have = false;

			for (uint32_t j = 0; j < c.nslots; j++)
				have |= c.slots[j] == t->slots[k];
			if (have)
				continue;
			if (c.nslots == NFO_TRACE_MAX_RULES)
				all_rules = true;
			else
				c.slots[c.nslots++] = t->slots[k];
		}
		all_ifaces |= !t->nifindex;
		for (size_t k = 0; k < t->nifindex && !all_ifaces; k++) {
			bool have = false;

			for (uint32_t j = 0; j < c.nifindex; j++)
				have |= c.ifindex[j] == (uint32_t)t->ifindex[k];
			if (have)
				continue;
			if (c.nifindex == NFO_TRACE_MAX_IFACES)
				all_ifaces = true;
			else
				c.ifindex[c.nifindex++] = (uint32_t)t->ifindex[k];
		}
	}
	if (all_rules)
		c.nslots = 0;
	if (all_ifaces)
		c.nifindex = 0;
	if (rate > NFO_TRACE_MAX_RATE)
		rate = NFO_TRACE_MAX_RATE;
	c.ns_per_token = rate ? 1000000000ull / rate : 0;
	/* a tenth of a second of packets at once, at least one */
	c.burst_ns = c.ns_per_token * (rate / 10 ? rate / 10 : 1);
	if (n && bpf_map_update_elem(tr->cfg_fd, &zero, &c, BPF_ANY) < 0)
		log_warn("trace: cannot configure the programs: %m");
	if (n != tr->ntracers)
		log_info("%u tracer%s running", n, n == 1 ? "" : "s");
	tr->ntracers = n;
	nfo_loader_trace_enable(d->st.loader, n > 0);
	for (size_t i = 0; i < DAEMON_TRACERS; i++)
		if (tr->t[i].fd >= 0 && tr->t[i].st.max_tracers < n)
			tr->t[i].st.max_tracers = n;
}

static void tracer_free(struct daemon *d, struct tracer *t)
{
	(void)epoll_ctl(d->epfd, EPOLL_CTL_DEL, t->fd, NULL);
	close(t->fd);
	t->fd = -1;
	free(t->rules);
	t->rules = NULL;
	nfo_buf_free(&t->out);
}

static void queue(struct tracer *t, uint32_t type, const void *a, size_t alen, const void *b,
		  size_t blen)
{
	struct nfo_trace_msg m = { .type = type, .len = (uint32_t)(alen + blen) };

	nfo_buf_put(&t->out, (const char *)&m, sizeof(m));
	if (alen)
		nfo_buf_put(&t->out, a, alen);
	if (blen)
		nfo_buf_put(&t->out, b, blen);
}

/* Writes what the socket takes. 1: all written, 0: more, -errno. */
static int flush(struct tracer *t)
{
	while (t->off < t->out.len) {
		ssize_t n = send(t->fd, t->out.s + t->off, t->out.len - t->off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		t->off += (size_t)n;
	}
	nfo_buf_free(&t->out);
	t->off = 0;
	return 1;
}

/* Flushes; closes the tracer when it is done or gone. */
static void pump(struct daemon *d, struct tracer *t)
{
	uint32_t tag = (uint32_t)(DAEMON_EV_TRACE_CONN + (t - d->trace->t));
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u32 = tag };
	int r = flush(t);

	if (r < 0 || t->out.oom || (r > 0 && t->closing)) {
		tracer_free(d, t);
		return;
	}
	if (r == 0)
		ev.events |= EPOLLOUT;
	if (t->closing)
		ev.events = r == 0 ? EPOLLOUT : 0;
	(void)epoll_ctl(d->epfd, EPOLL_CTL_MOD, t->fd, &ev);
}

static void tracer_finish(struct daemon *d, struct tracer *t)
{
	struct nfo_trace_pcpu k;

	if (t->closing)
		return;
	t->closing = true;
	clock_gettime(CLOCK_MONOTONIC, &t->closing_t0);
	kernel_counts(d->trace, &k);
	t->st.kernel_matched = k.matched - t->k0.matched;
	t->st.kernel_rate_limited = k.ratelimited - t->k0.ratelimited;
	t->st.kernel_ring_full = k.ringfull - t->k0.ringfull;
	program_filter(d);
	queue(t, NFO_TRACE_MSG_STATS, &t->st, sizeof(t->st), NULL, 0);
	pump(d, t);
}

static bool tracer_wants(const struct tracer *t, const struct nfo_trace_rec *rec, const char *key)
{
	bool hit = !t->nifindex;

	if (t->closing || !(t->flags & (rec->dropped ? NFO_TRACE_DROPS : NFO_TRACE_PASSED)))
		return false;
	for (size_t i = 0; i < t->nifindex; i++)
		hit |= t->ifindex[i] == (int)rec->ifindex;
	if (!hit)
		return false;
	if (!rec->dropped || !t->nrules)
		return true;
	for (size_t i = 0; i < t->nrules; i++)
		if (!strcmp(t->rules[i], key))
			return true;
	return false;
}

static bool tracer_token(struct tracer *t, uint64_t now)
{
	uint64_t tok = t->tokens_ns + (now - t->last_ns);

	if (now < t->last_ns || tok > t->burst_ns)
		tok = t->burst_ns;
	t->last_ns = now;
	if (tok < t->ns_per_token) {
		t->tokens_ns = tok;
		return false;
	}
	t->tokens_ns = tok - t->ns_per_token;
	return true;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct daemon *d = ctx;
	const struct nfo_trace_rec *rec = data;
	struct nfo_trace_packet p = {};
	bool named = false;

	if (size < sizeof(*rec) - sizeof(rec->data) || rec->caplen > sizeof(rec->data))
		return 0;
	p.time_ns = (uint64_t)((int64_t)rec->ts_ns + d->trace->mono_to_real_ns);
	p.ifindex = rec->ifindex;
	p.len = rec->len;
	p.dropped = rec->dropped;
	if (rec->dropped)
		(void)nfo_loader_slot_key(d->st.loader, rec->slot, p.what, sizeof(p.what));
	else
		snprintf(p.what, sizeof(p.what), "%s", nfo_status_stat_name((int)rec->slot));
	for (size_t i = 0; i < DAEMON_TRACERS; i++) {
		struct tracer *t = &d->trace->t[i];

		if (t->fd < 0 || !tracer_wants(t, rec, p.what))
			continue;
		if (!tracer_token(t, rec->ts_ns)) {
			t->st.rate_limited++;
			continue;
		}
		if (t->out.len > MAX_QUEUED) {
			t->st.slow++;
			continue;
		}
		if (!named) {
			for (size_t k = 0; k < d->st.nifaces; k++)
				if (d->st.ifaces[k].ifindex == (int)rec->ifindex)
					snprintf(p.ifname, sizeof(p.ifname), "%s", d->st.ifaces[k].name);
			if (!p.ifname[0] && !if_indextoname(rec->ifindex, p.ifname))
				snprintf(p.ifname, sizeof(p.ifname), "if%u", rec->ifindex);
			named = true;
		}
		p.caplen = rec->caplen < t->snaplen ? rec->caplen : t->snaplen;
		queue(t, NFO_TRACE_MSG_PACKET, &p, sizeof(p), rec->data, p.caplen);
		t->st.sent++;
	}
	return 0;
}

void daemon_trace_consume(struct daemon *d)
{
	if (!d->trace)
		return;
	d->trace->mono_to_real_ns = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
	(void)ring_buffer__consume(d->trace->rb);
	for (size_t i = 0; i < DAEMON_TRACERS; i++) {
		struct tracer *t = &d->trace->t[i];

		if (t->fd >= 0 && t->out.len > t->off)
			pump(d, t);
	}
}

/* The tracer's request: 0, or -EINVAL with the reason in err. */
static int parse_request(struct daemon *d, struct tracer *t, const char *line, char *err,
			 size_t errlen)
{
	_cleanup_free_ char *copy = strdup(line);
	unsigned long long rate = NFO_TRACE_DEFAULT_RATE;
	char *save = NULL;

	if (!copy)
		return -ENOMEM;
	t->snaplen = NFO_TRACE_DEFAULT_SNAPLEN;
	for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		char *end;

		if (!strcmp(w, "trace")) {
			continue;
		} else if (!strcmp(w, "drops")) {
			t->flags |= NFO_TRACE_DROPS;
		} else if (!strcmp(w, "passed")) {
			t->flags |= NFO_TRACE_PASSED;
		} else if (!strncmp(w, "rate=", 5)) {
			rate = strtoull(w + 5, &end, 10);
			if (*end || rate == 0 || rate > NFO_TRACE_MAX_RATE) {
				snprintf(err, errlen, "rate: 1 to %d packets per second, not '%s'",
					 NFO_TRACE_MAX_RATE, w + 5);
				return -EINVAL;
			}
		} else if (!strncmp(w, "snaplen=", 8)) {
			unsigned long long v = strtoull(w + 8, &end, 10);

			if (*end || v > NFO_TRACE_MAX_SNAPLEN) {
				snprintf(err, errlen, "snaplen: 0 to %d bytes, not '%s'",
					 NFO_TRACE_MAX_SNAPLEN, w + 8);
				return -EINVAL;
			}
			t->snaplen = (uint32_t)v;
		} else if (!strncmp(w, "iface=", 6)) {
			unsigned idx = if_nametoindex(w + 6);

			if (!idx) {
				snprintf(err, errlen, "no interface %s here", w + 6);
				return -EINVAL;
			}
			if (t->nifindex == NFO_TRACE_MAX_IFACES) {
				snprintf(err, errlen, "at most %d interfaces", NFO_TRACE_MAX_IFACES);
				return -EINVAL;
			}
			t->ifindex[t->nifindex++] = (int)idx;
		} else if (!strncmp(w, "rule=", 5)) {
			char key[NFO_SLOT_KEY_LEN], *p;
			void *grown;

			if (t->nrules == NFO_TRACE_MAX_RULES) {
				snprintf(err, errlen, "at most %d rules", NFO_TRACE_MAX_RULES);
				return -EINVAL;
			}
			/* FAMILY:TABLE:CHAIN:HANDLE -> the counter key */
			snprintf(key, sizeof(key), "%s", w + 5);
			for (p = key; *p; p++)
				if (*p == ':')
					*p = ' ';
			if (nfo_loader_slot(d->st.loader, key, &t->slots[t->nrules]) < 0) {
				snprintf(err, errlen,
					 "rule %s: the fast path drops nothing for it (no such rule, "
					 "or not offloaded: see nft-offload explain)", w + 5);
				return -EINVAL;
			}
			grown = realloc(t->rules, (t->nrules + 1) * sizeof(*t->rules));
			if (!grown)
				return -ENOMEM;
			t->rules = grown;
			snprintf(t->rules[t->nrules++], NFO_SLOT_KEY_LEN, "%s", key);
		} else {
			snprintf(err, errlen, "unknown trace option '%s'", w);
			return -EINVAL;
		}
	}
	if (!t->flags)
		t->flags = NFO_TRACE_DROPS;
	t->ns_per_token = 1000000000ull / rate;
	t->burst_ns = t->ns_per_token * (rate / 10 ? rate / 10 : 1);
	t->tokens_ns = t->burst_ns;
	t->last_ns = (uint64_t)clock_ns(CLOCK_MONOTONIC);
	return 0;
}

static void refuse(int fd, const char *why)
{
	struct nfo_trace_msg m = { .type = NFO_TRACE_MSG_ERROR, .len = (uint32_t)strlen(why) };

	(void)!send(fd, &m, sizeof(m), MSG_NOSIGNAL);
	(void)!send(fd, why, m.len, MSG_NOSIGNAL);
	close(fd);
}

void daemon_trace_start(struct daemon *d, int fd, const char *line)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct tracer *t = NULL;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	char err[256];
	int r;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 || cred.uid != 0)
		return refuse(fd, "tracing shows packets' contents: it needs root");
	if (!d->trace)
		return refuse(fd, "tracing is not available in this daemon");
	for (size_t i = 0; i < DAEMON_TRACERS && !t; i++)
		if (d->trace->t[i].fd < 0)
			t = &d->trace->t[i];
	if (!t)
		return refuse(fd, "too many tracers at once");
	*t = (struct tracer){ .fd = -1 };
	r = parse_request(d, t, line, err, sizeof(err));
	if (r < 0) {
		free(t->rules);
		*t = (struct tracer){ .fd = -1 };
		return refuse(fd, r == -ENOMEM ? "out of memory" : err);
	}
	ev.data.u32 = (uint32_t)(DAEMON_EV_TRACE_CONN + (t - d->trace->t));
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(t->rules);
		*t = (struct tracer){ .fd = -1 };
		return refuse(fd, "cannot follow the connection");
	}
	t->fd = fd;
	kernel_counts(d->trace, &t->k0);
	program_filter(d);
	queue(t, NFO_TRACE_MSG_READY, NULL, 0, NULL, 0);
	pump(d, t);
}

void daemon_trace_conn(struct daemon *d, unsigned idx, uint32_t events)
{
	struct tracer *t;
	char buf[256];

	if (!d->trace || idx >= DAEMON_TRACERS || d->trace->t[idx].fd < 0)
		return;
	t = &d->trace->t[idx];
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		/* the tracer says nothing after its request: anything read
		 * here is its end (shutdown, exit, death) */
		ssize_t n = recv(t->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN) || (events & (EPOLLHUP | EPOLLERR))) {
			tracer_finish(d, t);
			return;
		}
	}
	pump(d, t);
}

void daemon_trace_expire(struct daemon *d)
{
	for (size_t i = 0; d->trace && i < DAEMON_TRACERS; i++) {
		struct tracer *t = &d->trace->t[i];

		if (t->fd >= 0 && t->closing &&
		    daemon_ms_since(&t->closing_t0) > CLOSE_TIMEOUT_S * 1e3)
			tracer_free(d, t);
	}
}

int daemon_trace_new(struct daemon *d)
{
	_cleanup_free_ struct daemon_trace *tr = calloc(1, sizeof(*tr));
	int ring_fd;

	if (!tr)
		return -ENOMEM;
	for (size_t i = 0; i < DAEMON_TRACERS; i++)
		tr->t[i].fd = -1;
	tr->ncpus = libbpf_num_possible_cpus();
	if (tr->ncpus <= 0)
		return -EINVAL;
	nfo_loader_trace_fds(d->st.loader, &ring_fd, &tr->cfg_fd, &tr->pcpu_fd);
	tr->rb = ring_buffer__new(ring_fd, on_record, d, NULL);
	if (!tr->rb)
		return -errno;
	d->trace = TAKE_PTR(tr);
	return ring_buffer__epoll_fd(d->trace->rb);
}

void daemon_trace_free(struct daemon *d)
{
	if (!d->trace)
		return;
	for (size_t i = 0; i < DAEMON_TRACERS; i++)
		if (d->trace->t[i].fd >= 0)
			tracer_free(d, &d->trace->t[i]);
	if (d->st.loader)
		nfo_loader_trace_enable(d->st.loader, false);
	ring_buffer__free(d->trace->rb);
	free(d->trace);
	d->trace = NULL;
}
