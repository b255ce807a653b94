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
 *
 * nfo-capture --getelem FILE SEQ FAMILY TABLE SET KEYHEX...: sends one
 * GETSETELEM request per key (sequence numbers SEQ, SEQ + 1, ...), all in
 * one sendmsg as the daemon does (nfo_nft_get_elems), and writes the
 * kernel's answers to FILE until every request is acknowledged or refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netfilter.h>
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

static int family_of(const char *s)
{
	return !strcmp(s, "inet") ? NFPROTO_INET : !strcmp(s, "ip") ? NFPROTO_IPV4 :
	       !strcmp(s, "ip6") ? NFPROTO_IPV6 : !strcmp(s, "bridge") ? NFPROTO_BRIDGE :
	       !strcmp(s, "netdev") ? NFPROTO_NETDEV : -1;
}

static int getelem(char **argv, int nkeys)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	static uint8_t req[64 * NFO_NFT_GETELEM_MAX], buf[1 << 20];
	uint32_t seq = (uint32_t)strtoul(argv[1], NULL, 0);
	int family = family_of(argv[2]), fd, out, acks = 0, r = 0;
	size_t off = 0;

	if (family < 0 || nkeys > 64) {
		fprintf(stderr, "nfo-capture: family %s or too many keys\n", argv[2]);
		return 2;
	}
	for (int i = 0; i < nkeys; i++) {
		uint8_t key[NFO_NFT_KEY_MAX];
		size_t len = strlen(argv[5 + i]) / 2;

		for (size_t k = 0; k < len && k < sizeof(key); k++)
			sscanf(argv[5 + i] + 2 * k, "%2hhx", &key[k]);
		off += NLMSG_ALIGN(nfo_nft_getelem_request(req + off, (uint32_t)family, argv[3],
							   argv[4], key, (uint32_t)len,
							   seq + (uint32_t)i));
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    sendto(fd, req, off, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "nfo-capture: getelem: %s\n", strerror(errno));
		return 1;
	}
	out = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		fprintf(stderr, "nfo-capture: open %s: %s\n", argv[0], strerror(errno));
		return 1;
	}
	while (acks < nkeys && r == 0) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		const struct nlmsghdr *nlh = (const void *)buf;
		int left = (int)n;

		if (n < 0) {
			r = -errno;
			break;
		}
		for (; NLMSG_OK(nlh, left); nlh = NLMSG_NEXT(nlh, left))
			acks += nlh->nlmsg_type == NLMSG_ERROR;
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
	if (argc >= 8 && !strcmp(argv[1], "--getelem"))
		return getelem(argv + 2, argc - 7);
	if (argc != 2) {
		fprintf(stderr, "usage: %s [--monitor] FILE\n"
				"       %s --getelem FILE SEQ FAMILY TABLE SET KEYHEX...\n",
			argv[0], argv[0]);
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
