/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The error style of the layers that do not log (the loaders, the
 * watchdog): a function that fails writes one line into err (len bytes;
 * NULL or 0: none) and returns r, a negative errno, in one statement.
 */
#ifndef NFO_ERRBUF_H
#define NFO_ERRBUF_H

#include <stddef.h>

__attribute__((format(printf, 4, 5)))
int nfo_seterr(char *err, size_t len, int r, const char *fmt, ...);

/* The same, with ": " and what r means appended. */
__attribute__((format(printf, 4, 5)))
int nfo_seterr_errno(char *err, size_t len, int r, const char *fmt, ...);

#endif
