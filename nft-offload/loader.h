/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The loader: turns a plan into BPF maps and keeps the XDP and TC programs
 * attached. The programs and their maps (a "program set") stay loaded across
 * ruleset generations: each generation is written into the half of the maps
 * packets are not using and made live by one atomic store, so a packet walks
 * exactly one generation. A half is written again only after an RCU grace
 * period, when no packet can still be walking it. A plan that outgrows the
 * maps gets a new program set, swapped in on every interface through
 * bpf_link_update.
 *
 * Links are never pinned: if the daemon dies, the kernel detaches its
 * programs and nftables alone decides again (a fast path nobody updates would
 * become unsound as soon as the ruleset changes).
 */
#ifndef NFO_LOADER_H
#define NFO_LOADER_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/nfo_abi.h"
#include "iface.h"

struct nfo_plan;

/* Each counter slot remembers the rule it belongs to, so that counters
 * survive ruleset updates (and daemon restarts, through the pinned maps). */
#define NFO_SLOT_KEY_LEN 128

struct nfo_slot_key {
	char key[NFO_SLOT_KEY_LEN];
};

struct nfo_loader_opts {
	const char *pin_dir;  /* bpffs directory for the pinned counter maps */
	uint32_t max_slots;   /* counter slots (rules + policies with drops) */
	/* Heartbeat age that turns each program set's fast path off
	 * (watchdog.h); 0: no watchdog. */
	uint32_t watchdog_ms;
	/* Jiffies before the kernel's expiry of a set element at which the
	 * fast path stops counting it (nfo_set_until_of, encode.h). */
	uint64_t margin_j;
	/* set elements written so far, added to atomically while an apply
	 * runs so another thread can report progress (NULL: not counted) */
	uint64_t *progress;
};

struct nfo_loader;

int nfo_loader_new(struct nfo_loader **ret, const struct nfo_loader_opts *opts,
		   char *err, size_t errlen);
/* Detaches every interface; with unpin, removes the pinned maps. */
void nfo_loader_free(struct nfo_loader **l, bool unpin);

/*
 * Builds a generation from plan (counter keys from keys[], one per plan
 * target) and makes it the one running on every interface in ifaces. On
 * failure nothing changes (the caller keeps the fast path disabled). A
 * failure on one interface is recorded in its error and it is detached.
 */
int nfo_loader_apply(struct nfo_loader *l, const struct nfo_plan *plan, char *const *keys,
		     uint64_t genid, struct nfo_iface *ifaces, size_t n, char *err,
		     size_t errlen);

struct nfo_set_change;

/* One slot's element change (setdelta.h) and the slot's polarity
 * (nfo_plan_slot_polarity). */
struct nfo_slot_change {
	int slot;
	int polarity;
	const struct nfo_set_change *change;
};

struct nfo_loader_set_stats {
	size_t writes;        /* map entries added or removed */
	size_t grace_periods; /* waited for (slots changing together) */
};

/*
 * Applies element changes to the set slots of the live generation (built
 * from plan) in place, in an order where every state a packet can see is
 * sound (docs/SEMANTICS.md): no pass-everything window. Only the live half
 * is written; the other is brought up to date by the next apply, which
 * diffs against what each half holds. -EAGAIN: nothing is live. On failure
 * the slots may hold part of the change: the caller rebuilds.
 */
int nfo_loader_update_sets(struct nfo_loader *l, const struct nfo_plan *plan,
			   const struct nfo_slot_change *c, size_t n,
			   struct nfo_loader_set_stats *ret_stats, char *err, size_t errlen);

/* The same, but the running generation stays live until the new one is
 * (the caller knows the old one drops nothing the new ruleset accepts). */
int nfo_loader_apply_live(struct nfo_loader *l, const struct nfo_plan *plan, char *const *keys,
			  uint64_t genid, struct nfo_iface *ifaces, size_t n, char *err,
			  size_t errlen);

/* The running generation passes every packet until the next apply. */
int nfo_loader_disable(struct nfo_loader *l);
bool nfo_loader_enabled(const struct nfo_loader *l);

void nfo_loader_detach(struct nfo_loader *l, struct nfo_iface *iface);

/* Sums of the per-CPU counters. Safe to call from another thread while an
 * apply runs (the counter slots are looked up under the loader's lock). */
int nfo_loader_counter(struct nfo_loader *l, const char *key, struct nfo_counter *ret);
int nfo_loader_stats(struct nfo_loader *l, struct nfo_counter *ret /* [_NFO_STAT_MAX] */);

struct nfo_watchdog_info;
/* The daemon is alive (watchdog.h). Every generation switched live beats too. */
int nfo_loader_beat(struct nfo_loader *l);
/* Times a watchdog turned the fast path off since nfo_loader_new. */
uint64_t nfo_loader_watchdog_trips(const struct nfo_loader *l);
/* The watchdog's state; ret_error: why it is not armed ("" if it is, or
 * before the first program set). */
int nfo_loader_watchdog(struct nfo_loader *l, struct nfo_watchdog_info *ret,
			const char **ret_error);
/* The ICMP rate limits reject leaves follow (struct nfo_reject_cfg,
 * nft-offload/reject.c): written into the live program set and every
 * later one. */
void nfo_loader_set_reject(struct nfo_loader *l, const struct nfo_reject_cfg *cfg);

/* Trace (bpf/trace.h): the ring buffer, configuration and per-CPU maps the
 * programs share, and the switch they check per packet. */
void nfo_loader_trace_fds(const struct nfo_loader *l, int *ret_ring, int *ret_cfg,
			  int *ret_pcpu);
void nfo_loader_trace_enable(struct nfo_loader *l, bool on);
/* The rule key of counter slot ("inet fw input 5"), or -ENOENT. */
int nfo_loader_slot_key(const struct nfo_loader *l, uint32_t slot, char *buf, size_t len);
/* The counter slot of a rule key, or -ENOENT if the fast path has none. */
int nfo_loader_slot(const struct nfo_loader *l, const char *key, uint32_t *ret);

/* The running generation's program for mode (XDP or TC), or -ENOENT. For
 * BPF_PROG_TEST_RUN tests. */
int nfo_loader_prog_fd(const struct nfo_loader *l, int mode);

/* Whether a tcx ingress program other than ours is attached to ifindex:
 * it runs before nftables and may redirect packets. 0 / 1, or -errno. */
int nfo_loader_foreign_tcx(const struct nfo_loader *l, int ifindex);

/* Routes libbpf's own messages through the logger (common/log.h):
 * warnings as warnings, the rest as debug. For the daemon and the CLI. */
void nfo_loader_log_libbpf(void);

#endif
