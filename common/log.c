// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

int nfo_log_level = NFO_LOG_INFO;

/* err: what %m prints (the prefix's own stdio calls may change errno). */
static void log_va(int level, int err, const char *fmt, va_list ap)
{
	static const char *const tags[] = { "error", "warning", "info", "debug" };

	/* one line at a time: the daemon logs from more than one thread */
	flockfile(stderr);
	fprintf(stderr, "nft-offload[%s]: ", tags[level]);
	errno = err;
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void nfo_log(int level, const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	if (level > nfo_log_level)
		return;
	va_start(ap, fmt);
	log_va(level, err, fmt, ap);
	va_end(ap);
	errno = err;
}

int nfo_log_errno(int level, int r, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (level <= nfo_log_level) {
		va_start(ap, fmt);
		log_va(level, r < 0 ? -r : r, fmt, ap);
		va_end(ap);
	}
	errno = saved;
	return r;
}
