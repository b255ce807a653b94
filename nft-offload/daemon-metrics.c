// SPDX-License-Identifier: GPL-2.0-only
/*
 * The metrics endpoint (--metrics-listen, `metrics-listen` in the
 * configuration): GET /metrics over HTTP/1.0 answers what
 * `status --prometheus` prints, for a Prometheus scrape.
 *
 * It runs in the daemon's event loop, which must never wait on a client:
 * every socket is non-blocking, a connection is a small state machine
 * (read the request, write the answer, close) driven by epoll, requests are
 * bounded in size, and connections that take longer than CONN_TIMEOUT_S
 * are closed. Past DAEMON_METRICS_CONNS at once, a new connection takes
 * the place of the oldest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "daemon-internal.h"
#include "json.h"
#include "promtext.h"

#define MAX_REQUEST 4096
#define CONN_TIMEOUT_S 5

struct metrics_conn {
	int fd; /* -1: free slot */
	bool answering; /* the request is read, out holds the answer */
	struct timespec t0;
	size_t len;
	char req[MAX_REQUEST + 1];
	struct nfo_buf out; /* the whole answer, headers included */
	size_t off;         /* written so far */
};

struct daemon_metrics {
	int fd; /* listening */
	struct metrics_conn conns[DAEMON_METRICS_CONNS];
};

int daemon_metrics_listen(struct daemon *d)
{
	_cleanup_free_ struct daemon_metrics *m = NULL;
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1, r;

	if (!d->st.config.metrics_listen[0])
		return 0;
	r = nfo_listen_addr_parse(d->st.config.metrics_listen, &ss, &sl);
	if (r < 0)
		return r;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	for (size_t i = 0; i < DAEMON_METRICS_CONNS; i++)
		m->conns[i].fd = -1;
	m->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (m->fd < 0)
		return -errno;
	(void)setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(m->fd, (struct sockaddr *)&ss, sl) < 0 || listen(m->fd, 16) < 0) {
		r = -errno;
		close(m->fd);
		return r;
	}
	d->metrics = TAKE_PTR(m);
	return d->metrics->fd;
}

int daemon_metrics_fd(const struct daemon *d)
{
	return d->metrics ? d->metrics->fd : -1;
}

static void conn_close(struct daemon *d, struct metrics_conn *c)
{
	(void)epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	nfo_buf_free(&c->out);
}

/* A free slot, or the one of the oldest connection, closed: a client that
 * holds connections open without finishing them cannot lock others out. */
static struct metrics_conn *conn_slot(struct daemon *d)
{
	struct metrics_conn *oldest = NULL;

	for (size_t i = 0; i < DAEMON_METRICS_CONNS; i++) {
		struct metrics_conn *c = &d->metrics->conns[i];

		if (c->fd < 0)
			return c;
		if (!oldest || c->t0.tv_sec < oldest->t0.tv_sec ||
		    (c->t0.tv_sec == oldest->t0.tv_sec && c->t0.tv_nsec < oldest->t0.tv_nsec))
			oldest = c;
	}
	log_debug("metrics: %d connections open, closing the oldest", DAEMON_METRICS_CONNS);
	conn_close(d, oldest);
	return oldest;
}

void daemon_metrics_accept(struct daemon *d)
{
	for (;;) {
		struct metrics_conn *c;
		struct epoll_event ev = { .events = EPOLLIN };
		int fd = accept4(d->metrics->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0)
			return;
		c = conn_slot(d);
		ev.data.u32 = (uint32_t)(DAEMON_EV_METRICS_CONN + (c - d->metrics->conns));
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->answering = false;
		c->len = c->off = 0;
		c->out = (struct nfo_buf){};
		clock_gettime(CLOCK_MONOTONIC, &c->t0);
	}
}

static void respond(struct metrics_conn *c, const char *status, const char *type,
		    const struct nfo_buf *body, bool head)
{
	nfo_buf_printf(&c->out,
		       "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		       "Connection: close\r\n\r\n",
		       status, type, body->len);
	if (!head && body->len)
		nfo_buf_put(&c->out, body->s, body->len);
}

/* The answer to the request line in c->req (headers are not needed). */
static void answer(struct daemon *d, struct metrics_conn *c)
{
	struct nfo_buf body = {};
	char method[8], path[256];
	bool head;

	if (sscanf(c->req, "%7s %255s HTTP/%*d.%*d", method, path) != 2) {
		nfo_buf_printf(&body, "bad request\n");
		respond(c, "400 Bad Request", "text/plain", &body, false);
		goto out;
	}
	head = !strcmp(method, "HEAD");
	path[strcspn(path, "?")] = '\0';
	if (strcmp(method, "GET") && !head) {
		nfo_buf_printf(&body, "only GET\n");
		respond(c, "405 Method Not Allowed", "text/plain", &body, false);
	} else if (strcmp(path, "/metrics")) {
		nfo_buf_printf(&body, "not found: the metrics are at /metrics\n");
		respond(c, "404 Not Found", "text/plain", &body, head);
	} else {
		nfo_metrics_render(&d->st, &body);
		if (body.oom) {
			nfo_buf_free(&body);
			nfo_buf_printf(&body, "out of memory\n");
			respond(c, "500 Internal Server Error", "text/plain", &body, head);
		} else {
			respond(c, "200 OK", NFO_PROM_CONTENT_TYPE, &body, head);
		}
	}
out:
	nfo_buf_free(&body);
}

/* Reads what there is; 1 once the request's headers are complete, 0: more to come. */
static int conn_read(struct metrics_conn *c)
{
	for (;;) {
		ssize_t n = read(c->fd, c->req + c->len, MAX_REQUEST - c->len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (n == 0)
			return -ECONNRESET;
		c->len += (size_t)n;
		c->req[c->len] = '\0';
		if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n"))
			return 1;
		if (c->len == MAX_REQUEST)
			return -E2BIG;
	}
}

/* Writes what the socket takes; 1 when all is written, 0: more to write. */
static int conn_write(struct metrics_conn *c)
{
	while (c->off < c->out.len) {
		ssize_t n = write(c->fd, c->out.s + c->off, c->out.len - c->off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		c->off += (size_t)n;
	}
	return 1;
}

void daemon_metrics_conn(struct daemon *d, unsigned idx, uint32_t events)
{
	struct metrics_conn *c;
	int r;

	if (!d->metrics || idx >= DAEMON_METRICS_CONNS || d->metrics->conns[idx].fd < 0)
		return;
	c = &d->metrics->conns[idx];
	if (!c->answering) {
		r = conn_read(c);
		if (r == -E2BIG) {
			struct nfo_buf body = {};

			nfo_buf_printf(&body, "request too large\n");
			respond(c, "431 Request Header Fields Too Large", "text/plain", &body, false);
			nfo_buf_free(&body);
		} else if (r < 0) {
			conn_close(d, c);
			return;
		} else if (r == 0) {
			return;
		} else {
			answer(d, c);
		}
		c->answering = true;
		if (c->out.oom) {
			conn_close(d, c);
			return;
		}
	} else if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		return;
	}
	r = conn_write(c);
	if (r == 0) {
		struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = DAEMON_EV_METRICS_CONN + idx };

		if (epoll_ctl(d->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
			return;
	}
	/* Half-close first: the client reads the whole answer before our
	 * close can reset the connection. */
	(void)shutdown(c->fd, SHUT_WR);
	conn_close(d, c);
}

void daemon_metrics_expire(struct daemon *d)
{
	struct daemon_metrics *m = d->metrics;

	for (size_t i = 0; m && i < DAEMON_METRICS_CONNS; i++)
		if (m->conns[i].fd >= 0 && daemon_ms_since(&m->conns[i].t0) > CONN_TIMEOUT_S * 1e3)
			conn_close(d, &m->conns[i]);
}

void daemon_metrics_free(struct daemon *d)
{
	struct daemon_metrics *m = d->metrics;

	if (!m)
		return;
	for (size_t i = 0; i < DAEMON_METRICS_CONNS; i++)
		if (m->conns[i].fd >= 0)
			conn_close(d, &m->conns[i]);
	close(m->fd);
	free(m);
	d->metrics = NULL;
}
