/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's parts, private to it: daemon.c (setup, the event loop,
 * teardown), daemon-update.c (building and applying the fast path) and
 * daemon-ctl.c (the control socket). daemon.h is the public side.
 */
#ifndef NFO_DAEMON_INTERNAL_H
#define NFO_DAEMON_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "netlink/nft.h"
#include "netlink/rtnl.h"
#include "daemon.h"

#define RETRY_MS 200

struct daemon {
	struct nfo_daemon_state st;
	const struct nfo_daemon_opts *opts;
	char sock_path[PATH_MAX];
	char pin_dir[PATH_MAX];
	struct nfo_nft_monitor *mon;
	struct nfo_rtnl *rtnl;
	int epfd;
	int sigfd;
	int timerfd;  /* retry after a failed resync or rebuild */
	int pollfd;   /* periodic: tcx programs attached by others (no notification) */
	int ctlfd;
	bool quit;
	bool need_resync;
	bool need_rebuild;
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
};

double daemon_ms_since(const struct timespec *t0);

/* daemon-update.c */
void daemon_disable(struct daemon *d, const char *why);
void daemon_arm_retry(struct daemon *d, unsigned ms);
/* Reads links and addresses, plans for the current model, applies it. */
int daemon_rebuild(struct daemon *d);
/* Reads the whole ruleset into a new model, then rebuilds. */
int daemon_resync(struct daemon *d);
/* Element-only transactions in d->txq, applied in place; -EAGAIN: resync
 * instead (why is in d->st.set_updates_disabled_reason). */
int daemon_update_sets(struct daemon *d);
void daemon_txq_clear(struct daemon *d);
/* Whether links and addresses are what the live fast path was built from. */
bool daemon_links_unchanged(struct daemon *d);
void daemon_free_plan(struct daemon *d);

/* daemon-ctl.c */
/* Listens on d->sock_path; -EADDRINUSE: another daemon answers there. */
int daemon_ctl_listen(struct daemon *d);
/* Accepts one client on d->ctlfd and answers its request. */
void daemon_ctl_serve(struct daemon *d);

#endif
