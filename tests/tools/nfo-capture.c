// SPDX-License-Identifier: GPL-2.0-only
/*
 * nfo-capture FILE: writes every netlink message of one consistent dump of the
 * current network namespace's nftables ruleset to FILE. The unit tests parse
 * these captures (tests/data/NAME.nlmsg) with nfo_nft_dump_parse, so they see
 * exactly what the kernel sends the daemon.
 *
 * nfo-capture --monitor FILE: writes every nftables notification (what the
 * daemon's monitor receives) to FILE until SIGTERM or SIGINT; prints "ready"
 * once subscribed, so a script can start changing the ruleset.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "netlink/nft.h"

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int monitor(const char *path)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int group = NFNLGRP_NFTABLES, size = 64 << 20, fd, out, r = 0;
	static uint8_t buf[1 << 20];

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
		fprintf(stderr, "nfo-capture: subscribe: %s\n", strerror(errno));
		return 1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		fprintf(stderr, "nfo-capture: open %s: %s\n", path, strerror(errno));
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("ready\n");
	fflush(stdout);
	while (r == 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		/* after the signal: what is queued still, then stop */
		if (poll(&p, 1, stop ? 0 : 100) <= 0) {
			if (stop)
				break;
			continue;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "nfo-capture: recv: %s\n", strerror(errno));
			r = -errno;
			break;
		}
		r = write_all(out, buf, (size_t)n);
	}
	if (close(out) < 0 && r == 0)
		r = -errno;
	close(fd);
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct nfo_nft_dump *d = NULL;
	int fd, r;

	if (argc == 3 && !strcmp(argv[1], "--monitor"))
		return monitor(argv[2]);
	if (argc != 2) {
		fprintf(stderr, "usage: %s [--monitor] FILE\n", argv[0]);
		return 2;
	}
	r = nfo_nft_read_ruleset(&d, true, NULL);
	if (r < 0) {
		fprintf(stderr, "nfo-capture: read the nftables ruleset: %s\n", strerror(-r));
		return 1;
	}
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		fprintf(stderr, "nfo-capture: open %s: %s\n", argv[1], strerror(-r));
		goto out;
	}
	r = write_all(fd, d->raw, d->raw_len);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		fprintf(stderr, "nfo-capture: write %s: %s\n", argv[1], strerror(-r));
out:
	nfo_nft_dump_free(&d);
	return r < 0 ? 1 : 0;
}
