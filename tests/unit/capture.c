// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture.h"

int nfo_test_read_capture(const char *name, uint8_t **ret_buf, size_t *ret_len)
{
	const char *dir = getenv("NFO_TEST_DATA");
	char path[4096];
	uint8_t *buf;
	struct stat st;
	size_t got = 0;
	int fd, r = 0;

	if (!dir) {
		fprintf(stderr, "NFO_TEST_DATA is not set: run through meson test\n");
		return -ENOENT;
	}
	snprintf(path, sizeof(path), "%s/%s.nlmsg", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		fprintf(stderr, "%s: %s (tests/data/regenerate.sh makes it)\n", path, strerror(-r));
		if (fd >= 0)
			close(fd);
		return r;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret_buf = buf;
	*ret_len = got;
	return 0;
}
