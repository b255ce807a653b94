/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The watchdog of a program set (bpf/watchdog): a BPF timer that turns the
 * fast path off when the daemon's heartbeat is older than a bound, so that a
 * daemon alive but not running (stopped, hung) cannot leave a stale fast
 * path live while nftables changes. Its timer lives in maps only this
 * process holds: when the process goes, the kernel cancels it. (Were the
 * links ever pinned to outlive the daemon, the timer map would have to be
 * pinned too, or the programs would stay without their watchdog.)
 *
 * Called by the loader (one watchdog per program set, sharing its nfo_ctl);
 * never prints.
 */
#ifndef NFO_WATCHDOG_H
#define NFO_WATCHDOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/nfo_abi.h"

struct nfo_watchdog;

/* What status shows. */
struct nfo_watchdog_info {
	bool armed;
	uint32_t bound_ms;         /* heartbeat age that turns the fast path off */
	uint64_t trips;            /* times it did, since the daemon started */
	uint64_t checks;           /* timer runs (of the current program set) */
	double heartbeat_age_ms;   /* < 0: unknown */
	double check_age_ms;       /* since the timer last ran; < 0: unknown */
};

/*
 * Loads a watchdog on the nfo_ctl map ctl_fd (mmapped by the caller at ctl),
 * beats once and starts its timer. The fast path's state is not touched.
 */
int nfo_watchdog_new(struct nfo_watchdog **ret, int ctl_fd, struct nfo_ctl *ctl,
		     uint32_t bound_ms, char *err, size_t errlen);
/* Stops the timer (the map goes with the last fd); takes NULL. */
void nfo_watchdog_free(struct nfo_watchdog **w);

/* The daemon is alive: the heartbeat is now. NULL: nothing to do. */
int nfo_watchdog_beat(struct nfo_watchdog *w);

/* Fills everything but trips (the caller sums them over program sets). */
int nfo_watchdog_read(struct nfo_watchdog *w, struct nfo_watchdog_info *ret);

/* Whether this kernel runs the watchdog: one is loaded on a private
 * nfo_ctl, armed and freed. One line in err when not. */
int nfo_watchdog_probe(char *err, size_t errlen);

#endif
