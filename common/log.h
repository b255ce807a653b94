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

/*
 * Logs and returns r (a negative errno), in one statement. errno is set from
 * -r just before formatting, so "%m" in fmt prints r's description (glibc's
 * printf knows %m): log_error_errno(r, "attach %s: %m", name).
 */
int nfo_log_errno(int level, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_error_errno(r, ...) nfo_log_errno(NFO_LOG_ERR, (r), __VA_ARGS__)
#define log_warn_errno(r, ...) nfo_log_errno(NFO_LOG_WARN, (r), __VA_ARGS__)
#define log_info_errno(r, ...) nfo_log_errno(NFO_LOG_INFO, (r), __VA_ARGS__)
#define log_debug_errno(r, ...) nfo_log_errno(NFO_LOG_DEBUG, (r), __VA_ARGS__)

#endif
