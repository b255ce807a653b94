// SPDX-License-Identifier: GPL-2.0-only
#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "errbuf.h"

static int seterr_va(char *err, size_t len, int r, bool with_errno, const char *fmt, va_list ap)
{
	int n;

	assert(r < 0);
	if (!err || !len)
		return r;
	n = vsnprintf(err, len, fmt, ap);
	if (with_errno && n >= 0 && (size_t)n < len)
		snprintf(err + n, len - (size_t)n, ": %s", strerror(-r));
	return r;
}

int nfo_seterr(char *err, size_t len, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	r = seterr_va(err, len, r, false, fmt, ap);
	va_end(ap);
	return r;
}

int nfo_seterr_errno(char *err, size_t len, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	r = seterr_va(err, len, r, true, fmt, ap);
	va_end(ap);
	return r;
}
