/* SPDX-License-Identifier: GPL-2.0-only */
/* Logging for the daemon and the CLI (lower layers do not print). */
#ifndef NFO_LOG_H
#define NFO_LOG_H

#include <errno.h>

enum { NFO_LOG_ERR, NFO_LOG_WARN, NFO_LOG_INFO, NFO_LOG_DEBUG };

extern int nfo_log_level;

void nfo_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) nfo_log(NFO_LOG_ERR, __VA_ARGS__)
#define log_warn(...) nfo_log(NFO_LOG_WARN, __VA_ARGS__)
#define log_info(...) nfo_log(NFO_LOG_INFO, __VA_ARGS__)
#define log_debug(...) nfo_log(NFO_LOG_DEBUG, __VA_ARGS__)

/* Logs and returns r (a negative errno), in one statement. */
#define log_error_errno(r, ...) ({ nfo_log(NFO_LOG_ERR, __VA_ARGS__); (r); })

#endif
