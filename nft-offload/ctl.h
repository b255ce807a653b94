/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control socket: where it is, what may be asked, and the one client
 * that asks. The daemon answers (daemon.c); `nft-offload status|explain`
 * and nft-offload-bench ask.
 *
 * A request is one line, "<name> <format>\n" (or "ping\n"); `explain`
 * sends rule texts after it (ruletext.h) up to its end of stream. The
 * answer is everything the daemon writes before it closes the connection.
 */
#ifndef NFO_CTL_H
#define NFO_CTL_H

#include <stddef.h>

struct nfo_buf;

#define NFO_CTL_SOCKET "control.sock" /* in the daemon's --run-dir */

/* Request names and formats. */
#define NFO_CTL_STATUS "status"
#define NFO_CTL_EXPLAIN "explain"
#define NFO_CTL_PING "ping"
#define NFO_CTL_TRACE "trace" /* the connection stays open: the trace (daemon-trace.c) */
#define NFO_CTL_JSON "json"
#define NFO_CTL_TEXT "text"
#define NFO_CTL_PROMETHEUS "prometheus" /* status only */

/* "<run_dir>/control.sock" into buf; -ENAMETOOLONG if it does not fit a
 * unix socket address. */
int nfo_ctl_socket_path(const char *run_dir, char *buf, size_t len);

/* A connected stream socket to the daemon of run_dir, or -errno (-ENOENT,
 * -ECONNREFUSED: no daemon runs there). */
int nfo_ctl_connect(const char *run_dir, int *ret_fd);

/*
 * Sends the request line (without its newline) and body (may be NULL), then
 * reads the whole answer into ret_answer (appended). Gives up after
 * timeout_ms without progress (0: waits as long as it takes). -errno.
 */
int nfo_ctl_request(const char *run_dir, const char *request, const struct nfo_buf *body,
		    int timeout_ms, struct nfo_buf *ret_answer);

#endif
