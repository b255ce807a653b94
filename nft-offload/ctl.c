// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "json.h"

int nfo_ctl_socket_path(const char *run_dir, char *buf, size_t len)
{
	struct sockaddr_un sa;
	int n = snprintf(buf, len, "%s/%s", run_dir, NFO_CTL_SOCKET);

	if (n < 0 || (size_t)n >= len || (size_t)n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	return 0;
}

int nfo_ctl_connect(const char *run_dir, int *ret_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	r = nfo_ctl_socket_path(run_dir, sa.sun_path, sizeof(sa.sun_path));
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int nfo_ctl_request(const char *run_dir, const char *request, const struct nfo_buf *body,
		    int timeout_ms, struct nfo_buf *ret_answer)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = timeout_ms % 1000 * 1000 };
	char buf[65536];
	ssize_t n;
	int fd, r;

	r = nfo_ctl_connect(run_dir, &fd);
	if (r < 0)
		return r;
	if (timeout_ms > 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	r = write_all(fd, request, strlen(request));
	if (r == 0)
		r = write_all(fd, "\n", 1);
	if (r == 0 && body && body->len)
		r = write_all(fd, body->s, body->len);
	if (r < 0) {
		close(fd);
		return r;
	}
	/* the end of the request for `explain`, whose body has no length */
	(void)shutdown(fd, SHUT_WR);
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		nfo_buf_put(ret_answer, buf, (size_t)n);
	}
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r == 0 && ret_answer->oom)
		r = -ENOMEM;
	return r;
}
