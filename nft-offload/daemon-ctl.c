// SPDX-License-Identifier: GPL-2.0-only
/*
 * The daemon's control socket: one request per connection (`status`,
 * `explain`, `ping`), answered from the daemon's state and closed; or
 * `trace`, whose connection is handed to the event loop (daemon-trace.c
 * keeps it). It has a thread of its own: the event loop may spend seconds
 * reading and loading a large set, and status must answer meanwhile (and
 * say so). It renders under the state's lock, which the event loop takes
 * only to publish.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "ctl.h"
#include "daemon-internal.h"
#include "ruletext.h"

int daemon_ctl_listen(struct daemon *d)
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

		if (daemon_ms_since(&t0) > 2000)
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
			body = !strncmp(req->s, NFO_CTL_EXPLAIN " ", strlen(NFO_CTL_EXPLAIN " "));
			if (!body)
				return 0;
		}
	}
	if (!body)
		*line_len = req->len;
	return 0;
}

/* The answer to one request line (and, for explain, the body after it). */
static void answer(struct daemon *d, const char *line, const struct nfo_buf *req, size_t ll,
		   struct nfo_buf *out)
{
	struct nfo_ruletexts texts = {};
	int r;

	if (!strcmp(line, NFO_CTL_STATUS " " NFO_CTL_JSON) ||
	    !strcmp(line, NFO_CTL_STATUS " " NFO_CTL_TEXT)) {
		daemon_lock(d);
		d->st.dumps_repeated = nfo_nft_dumps_repeated();
		nfo_status_render(&d->st, !strcmp(line, NFO_CTL_STATUS " " NFO_CTL_JSON), out);
		daemon_unlock(d);
	} else if (!strcmp(line, NFO_CTL_STATUS " " NFO_CTL_PROMETHEUS)) {
		daemon_lock(d);
		nfo_metrics_render(&d->st, out);
		daemon_unlock(d);
	} else if (!strcmp(line, NFO_CTL_EXPLAIN " " NFO_CTL_JSON) ||
		   !strcmp(line, NFO_CTL_EXPLAIN " " NFO_CTL_TEXT)) {
		size_t off = ll < req->len ? ll + 1 : req->len;

		r = nfo_ruletexts_parse(&texts, req->s + off, req->len - off);
		if (r < 0) {
			nfo_ruletexts_free(&texts);
			texts.note = strdup(r == -ENOMEM ? "out of memory"
							 : "the rule texts sent were malformed");
		}
		daemon_lock(d);
		nfo_explain_render(&d->st, !strcmp(line, NFO_CTL_EXPLAIN " " NFO_CTL_JSON), &texts, out);
		daemon_unlock(d);
	} else if (!strcmp(line, NFO_CTL_PING)) {
		nfo_buf_printf(out, "nft-offload %s\n", NFO_VERSION);
	} else {
		nfo_buf_printf(out, "error: unknown request '%s'\n", line);
	}
	nfo_ruletexts_free(&texts);
}

/*
 * Tracers belong to the event loop (it reads the trace ring and forwards
 * records to them): the control thread hands a trace request over as one
 * record on a pipe, atomic since it is shorter than PIPE_BUF (pipe(7)).
 */
struct traceq_rec {
	int fd;
	char line[1024];
};
_Static_assert(sizeof(struct traceq_rec) <= PIPE_BUF, "one atomic pipe write");

int daemon_ctl_traceq_open(struct daemon *d)
{
	if (pipe2(d->traceq, O_CLOEXEC) < 0)
		return -errno;
	if (fcntl(d->traceq[0], F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	return d->traceq[0];
}

static int hand_over_trace(struct daemon *d, int fd, const char *req, size_t ll)
{
	struct traceq_rec rec = { .fd = fd };

	if (ll >= sizeof(rec.line))
		return -E2BIG;
	memcpy(rec.line, req, ll);
	if (write(d->traceq[1], &rec, sizeof(rec)) != (ssize_t)sizeof(rec))
		return -EIO;
	return 0;
}

void daemon_ctl_take_traces(struct daemon *d)
{
	struct traceq_rec rec;

	while (read(d->traceq[0], &rec, sizeof(rec)) == (ssize_t)sizeof(rec)) {
		rec.line[sizeof(rec.line) - 1] = '\0';
		daemon_trace_start(d, rec.fd, rec.line);
	}
}

void daemon_ctl_traceq_close(struct daemon *d)
{
	struct traceq_rec rec;

	/* the control thread is gone: close what it handed over and nobody took */
	if (d->traceq[0] >= 0) {
		while (read(d->traceq[0], &rec, sizeof(rec)) == (ssize_t)sizeof(rec))
			close(rec.fd);
		close(d->traceq[0]);
	}
	if (d->traceq[1] >= 0)
		close(d->traceq[1]);
	d->traceq[0] = d->traceq[1] = -1;
}

/* Accepts one client on d->ctlfd and answers its request. */
static void serve(struct daemon *d)
{
	struct timeval tv = { .tv_sec = 1 };
	struct nfo_buf out = {}, req = {};
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
			log_debug_errno(r, "control request: %m");
		goto done;
	}
	if (!strncmp(req.s, NFO_CTL_TRACE, strlen(NFO_CTL_TRACE)) &&
	    (ll == strlen(NFO_CTL_TRACE) || req.s[strlen(NFO_CTL_TRACE)] == ' ')) {
		/* a tracer keeps its connection: it is the trace */
		req.s[ll] = '\0';
		daemon_trace_start(d, fd, req.s);
		nfo_buf_free(&req);
		return;
	}
	if (!strncmp(req.s, NFO_CTL_TRACE, strlen(NFO_CTL_TRACE)) &&
	    (ll == strlen(NFO_CTL_TRACE) || req.s[strlen(NFO_CTL_TRACE)] == ' ')) {
		/* a tracer keeps its connection: it is the trace */
		if (hand_over_trace(d, fd, req.s, ll) == 0) {
			nfo_buf_free(&req);
			return;
		}
		nfo_buf_printf(&out, "error: trace request too long or not accepted\n");
		goto reply;
	}
	snprintf(line, sizeof(line), "%.*s", (int)(ll < sizeof(line) ? ll : sizeof(line) - 1),
		 req.s);
	line[strcspn(line, "\r\n")] = '\0';
	answer(d, line, &req, ll, &out);
reply:
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
	nfo_buf_free(&req);
	nfo_buf_free(&out);
	close(fd);
}

static void *ctl_main(void *arg)
{
	struct daemon *d = arg;
	struct pollfd fds[2] = { { .fd = d->ctl_stopfd, .events = POLLIN },
				 { .fd = d->ctlfd, .events = POLLIN } };

	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error_errno(-errno, "control socket: poll: %m");
			return NULL;
		}
		if (fds[0].revents)
			return NULL;
		if (fds[1].revents)
			serve(d);
	}
}

int daemon_ctl_start(struct daemon *d)
{
	sigset_t all, old;
	int r;

	d->ctl_stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->ctl_stopfd < 0)
		return -errno;
	/* Signals stay with the event loop's signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = -pthread_create(&d->ctl_thread, NULL, ctl_main, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		return r;
	d->ctl_started = true;
	return 0;
}

void daemon_ctl_stop(struct daemon *d)
{
	uint64_t one = 1;

	if (d->ctl_started) {
		(void)!write(d->ctl_stopfd, &one, sizeof(one));
		pthread_join(d->ctl_thread, NULL);
		d->ctl_started = false;
	}
	if (d->ctl_stopfd >= 0)
		close(d->ctl_stopfd);
	d->ctl_stopfd = -1;
}
