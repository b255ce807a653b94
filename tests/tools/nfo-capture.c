// SPDX-License-Identifier: GPL-2.0-only
/*
 * nfo-capture FILE: writes every netlink message of one consistent dump of the
 * current network namespace's nftables ruleset to FILE. The unit tests parse
 * these captures (tests/data/NAME.nlmsg) with nfo_nft_dump_parse, so they see
 * exactly what the kernel sends the daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

int main(int argc, char **argv)
{
	struct nfo_nft_dump *d = NULL;
	int fd, r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
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
