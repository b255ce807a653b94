/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's parts, private to it: daemon.c (setup, the event loop,
 * teardown), daemon-update.c (building and applying the fast path) and
 * daemon-ctl.c (the control socket). daemon.h is the public side.
 */
#ifndef NFO_DAEMON_INTERNAL_H
#define NFO_DAEMON_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "netlink/nft.h"
#include "netlink/rtnl.h"
#include "daemon.h"

#define RETRY_MS 200
/* The watchdog (watchdog.h): a fast path whose daemon has not beaten for
 * WATCHDOG_MS is turned off; the event loop beats every BEAT_MS. */
#define WATCHDOG_MS 1000
#define BEAT_MS 200

/* Epoll tags: the daemon's own descriptors (daemon.c) are below
 * DAEMON_EV_METRICS_CONN; metrics connection i is tagged
 * DAEMON_EV_METRICS_CONN + i, tracer i DAEMON_EV_TRACE_CONN + i. */
#define DAEMON_EV_METRICS_CONN 64
#define DAEMON_METRICS_CONNS 16
#define DAEMON_EV_TRACE_CONN 128
#define DAEMON_TRACERS 8

struct daemon_metrics;
struct daemon_trace;
struct daemon_expiry;
struct nfo_set;

struct daemon {
	struct nfo_daemon_state st;
	const struct nfo_daemon_opts *opts;
	char sock_path[PATH_MAX];
	char pin_dir[PATH_MAX];
	struct nfo_nft_monitor *mon;
	struct nfo_rtnl *rtnl;
	struct nfo_clock *clock; /* jiffies for set element expiries; NULL: none */
	int epfd;
	int sigfd;
	int timerfd;  /* retry after a failed resync or rebuild */
	int pollfd;   /* periodic: tcx programs attached by others (no notification) */
	int beatfd;   /* periodic: the watchdog's heartbeat */
	int streamfd; /* eventfd: a stream's reader thread has a batch or ended */
	/* expiry questions asked off the event loop (daemon-expiry.c); NULL:
	 * none (no clock), asked in line */
	struct daemon_expiry *expiry;
	int ctlfd;
	struct daemon_metrics *metrics; /* NULL: no metrics endpoint */
	struct daemon_trace *trace;
	int ctl_stopfd;      /* eventfd: the control thread returns */
	pthread_t ctl_thread;
	bool ctl_started;
	/* trace requests the control thread hands to the event loop, which
	 * owns the tracers: (fd, request) records on a pipe */
	int traceq[2];
	bool quit;
	uint64_t wd_trips_seen;
	bool need_resync;
	bool need_rebuild;
	/* net.ipv4.conf.all.bc_forwarding as last read, -1: unreadable
	 * (subnet broadcasts are decided at input only while it reads 0) */
	int bc_forwarding;
	/* The attached interfaces' forwarding settings the last plan was
	 * built with (daemon_forwarding_sig): TCP resets need it on. */
	uint64_t fwd_sig;
	/* Element-only transactions not applied yet, in generation order;
	 * txq_genid: the generation of the last one (or the model's). */
	struct nfo_nft_txn *txq;
	size_t ntxq;
	uint32_t txq_genid;
	struct timespec txq_t0; /* when the first of them was read */
	/* polarity of each set slot of the live plan, -1: not computed */
	int slot_pol[NFO_MAX_SETS];
	bool change_pending;    /* disabled since a change was announced */
	struct timespec change_t0;
	/* the links and addresses the live fast path was built from: a link
	 * notification that changes none of them (our own attach, carrier,
	 * statistics-only updates) needs no rebuild */
	struct nfo_link *built_links;
	size_t nbuilt_links;
	struct nfo_addr *built_addrs;
	size_t nbuilt_addrs;
	/* Sets of the model whose elements are still being read
	 * (daemon-stream.c); changed under the lock, status reads them. */
	/* each on its own: a stream's reader thread holds its address */
	struct daemon_stream **streams;
	size_t nstreams;
	struct nfo_route *built_routes; /* the local table the plan used */
	size_t nbuilt_routes;
	bool built_rules4_plain; /* the plan's nfo_plan_input.rules4_plain */
	bool built_fib6_plain;   /* and its fib6_plain */
	bool built_rst6_plain;   /* its rst6_plain */
};

double daemon_ms_since(const struct timespec *t0);

/* The event loop changes d->st (what status renders) only between these;
 * it never holds the lock while it reads, plans or writes maps. */
void daemon_lock(struct daemon *d);
void daemon_unlock(struct daemon *d);
/* What the event loop is doing, for status (NULL: idle); with reset, the
 * element count starts again from 0. */
void daemon_busy(struct daemon *d, const char *what, bool reset);

/* daemon-stream.c: large drop-only sets read while the fast path runs. */
/* Elements of a plain set read before going live; the rest is streamed. */
#define DAEMON_STREAM_AFTER 32768
struct nfo_nft_dump;
struct nfo_nft_elem;
size_t daemon_stream_after(const struct daemon *d);
/* Sets of dump's streams that the fast path needs whole (not drop-only in
 * rs) are read to their end: 1 then (build the model again), 0 if none,
 * -EAGAIN if the generation moved while one was read. */
int daemon_streams_prepare(struct daemon *d, struct nfo_nft_dump *dump,
			   const struct nfo_ruleset *rs);
/* The streams left in dump become the daemon's, for the published model. */
int daemon_streams_take(struct daemon *d, struct nfo_nft_dump *dump);
void daemon_streams_clear(struct daemon *d);
/* st, opened on set (loading), becomes a stream of the daemon's; a stream
 * set had ends first, without a word (daemon_streams_drop_set). */
int daemon_streams_add(struct daemon *d, struct nfo_set *set, struct nfo_nft_stream *st);
/* set's stream, if any, is stopped and forgotten (the set is read again). */
void daemon_streams_drop_set(struct daemon *d, const struct nfo_set *set);
/* Notified operations on set (tombstones for deletes while it loads). */
void daemon_streams_note_ops(struct daemon *d, const struct nfo_set *set,
			     const struct nfo_nft_elem *ops, size_t nops);
/* set was read whole (a notification on a set whose elements expire):
 * its stream, if any, ends. */
void daemon_streams_end_set(struct daemon *d, const struct nfo_set *set);
/* Whether a stream has work for the event loop now (it then does not block). */
bool daemon_streams_ready(struct daemon *d);
/* The reader thread of a stream signalled d->streamfd. */
void daemon_streams_wake(struct daemon *d);
/* Reads and applies the next batch: true while more are to come. */
bool daemon_streams_step(struct daemon *d);
/* Elements read so far of set (0: it is not being read). Under the lock. */
uint64_t daemon_stream_read(const struct daemon *d, const struct nfo_set *set);

/* daemon-expiry.c: the expiries of added elements of sets whose elements
 * expire, asked by a thread of its own; the answers are applied on the event
 * loop (daemon_update_answered()). */
/* Starts the thread: the eventfd to wait on (daemon_expiry_wake()), or -errno. */
int daemon_expiry_start(struct daemon *d);
void daemon_expiry_stop(struct daemon *d);
bool daemon_expiry_on(const struct daemon *d);
/* Asks for the n keys (sorted) of set added by generation genid; an older
 * question on any of them no longer counts. */
int daemon_expiry_ask(struct daemon *d, const struct nfo_set *set, const uint8_t *keys, size_t n,
		      uint32_t genid);
/* A later operation decided key: an answer on its way no longer counts. */
void daemon_expiry_cancel(struct daemon *d, const struct nfo_set *set, const uint8_t *key);
/* set (NULL: every set) was read again: no answer on its way counts. */
void daemon_expiry_forget(struct daemon *d, const struct nfo_set *set);
/* The thread signalled: applies the answers that came. */
void daemon_expiry_wake(struct daemon *d);

/* daemon.c */
/* An element change that cannot be applied in place (status says why). */
void daemon_set_update_disabled(struct daemon *d, const char *why);

/* daemon-update.c */
/* The answers to one expiry question that still count: n keys (sorted),
 * present or not, with a lower bound of their expiry; applied to the model
 * and, when the fast path is live, in place. asked: the keys of the
 * question. -EAGAIN: resync instead. */
int daemon_update_answered(struct daemon *d, struct nfo_set *set, const uint8_t *keys,
			   const bool *present, const uint64_t *expires, size_t n, size_t asked,
			   uint32_t genid, const struct timespec *t_note, double wait_ms,
			   double get_ms);
/* Elements a stream read, applied in place like a notified transaction's;
 * expires: per op, a lower bound of the kernel's expiry (0: never), for a
 * set whose elements expire (NULL otherwise). */
int daemon_apply_stream_ops(struct daemon *d, struct nfo_set *set,
			    const struct nfo_nft_elem *ops, size_t nops, const uint64_t *expires);
void daemon_disable(struct daemon *d, const char *why);
void daemon_arm_retry(struct daemon *d, unsigned ms);
/* Reads links and addresses, plans for the current model, applies it. */
int daemon_rebuild(struct daemon *d);
/* A digest of net.ipv{4,6}.conf.<interface>.forwarding of the attached
 * interfaces, read now: a change replans (sysctls raise no notification). */
uint64_t daemon_forwarding_sig(struct daemon *d);
/* Reads the whole ruleset into a new model, then rebuilds. */
int daemon_resync(struct daemon *d);
/* Element-only transactions in d->txq, applied in place; -EAGAIN: resync
 * instead (why is in d->st.set_updates_disabled_reason). */
int daemon_update_sets(struct daemon *d);
void daemon_txq_clear(struct daemon *d);
/* Whether links and addresses are what the live fast path was built from. */
bool daemon_links_unchanged(struct daemon *d);
void daemon_free_plan(struct daemon *d);

/* daemon-services.c */
/* Opens (or reuses) the pinned programs of the configured services and
 * unpins those no longer configured. */
int daemon_services_setup(struct daemon *d);
/* Compiles every service chain from the current model and applies it. */
void daemon_services_update(struct daemon *d);
/* Whether a service reads named set family/table/name. */
bool daemon_services_use_set(struct daemon *d, int family, const char *table, const char *name);
void daemon_services_free(struct daemon *d);

/* daemon-ctl.c */
/* Listens on d->sock_path; -EADDRINUSE: another daemon answers there. */
int daemon_ctl_listen(struct daemon *d);
/* Serves d->ctlfd from a thread of its own, so that status answers while
 * the event loop is busy; stop joins it. */
int daemon_ctl_start(struct daemon *d);
void daemon_ctl_stop(struct daemon *d);
/* The pipe on which the control thread hands trace requests to the event
 * loop: its read end (for epoll), the handler, and closing it (after
 * daemon_ctl_stop). */
int daemon_ctl_traceq_open(struct daemon *d);
void daemon_ctl_take_traces(struct daemon *d);
void daemon_ctl_traceq_close(struct daemon *d);

/* daemon-metrics.c */
/* Listens on the configured metrics address: the fd, 0 if none is
 * configured, -errno. */
int daemon_metrics_listen(struct daemon *d);
int daemon_metrics_fd(const struct daemon *d); /* listening; -1: none */
/* Accepts the metrics connections waiting on the listening socket. */
void daemon_metrics_accept(struct daemon *d);
/* Reads from or writes to metrics connection idx, as far as it goes without waiting. */
void daemon_metrics_conn(struct daemon *d, unsigned idx, uint32_t events);
/* Closes metrics connections older than their time limit (called every second). */
void daemon_metrics_expire(struct daemon *d);
void daemon_metrics_free(struct daemon *d);

/* daemon-trace.c */
/* Follows the loader's trace ring: its epoll fd, or -errno. */
int daemon_trace_new(struct daemon *d);
void daemon_trace_free(struct daemon *d);
/* Hands the control connection fd, whose request was line ("trace ..."),
 * over to a new tracer (or answers why not and closes it). */
void daemon_trace_start(struct daemon *d, int fd, const char *line);
/* Forwards the ring's records to the tracers. */
void daemon_trace_consume(struct daemon *d);
void daemon_trace_conn(struct daemon *d, unsigned idx, uint32_t events);
/* Closes tracers that did not take their final message in time. */
void daemon_trace_expire(struct daemon *d);

#endif
