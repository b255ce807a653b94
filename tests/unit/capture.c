// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
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

int nfo_test_capture_next(struct nfo_test_captures *it)
{
	const char *dir = getenv("NFO_TEST_DATA");
	struct dirent *de;

	free(it->buf);
	it->buf = NULL;
	it->len = 0;
	if (!it->dir) {
		if (!dir) {
			fprintf(stderr, "NFO_TEST_DATA is not set: run through meson test\n");
			return -ENOENT;
		}
		it->dir = opendir(dir);
		if (!it->dir)
			return -errno;
	}
	while ((de = readdir(it->dir))) {
		size_t len = strlen(de->d_name);
		int r;

		if (len < 7 || strcmp(de->d_name + len - 6, ".nlmsg") || len >= sizeof(it->file))
			continue;
		snprintf(it->file, sizeof(it->file), "%s", de->d_name);
		it->file[len - 6] = '\0';
		r = nfo_test_read_capture(it->file, &it->buf, &it->len);
		it->file[len - 6] = '.';
		if (r < 0) {
			closedir(it->dir);
			it->dir = NULL;
			return r;
		}
		return 1;
	}
	closedir(it->dir);
	it->dir = NULL;
	return 0;
}
