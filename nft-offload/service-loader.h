/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The BPF side of per-service filters: one pinned cgroup_skb program
 * (bpf/cgroup/nfo_cgroup.bpf.c) per service and direction, with maps of its
 * own. The pin outlives the daemon: systemd attaches the pinned program to
 * the unit's cgroup, so a restarted daemon must keep that very program and
 * only rewrite its maps. It finds them again through the program
 * (bpf_prog_info.map_ids); the rule each counter slot belongs to is in a
 * map pinned beside it ("<direction>-rules").
 *
 * Generations alternate between two halves of the maps as in the fast path
 * (loader.h): written into the half no packet walks, made live by one store
 * into nfo_ctl. State 0 (a program that never had a good version) drops
 * every packet: fail closed.
 */
#ifndef NFO_SERVICE_LOADER_H
#define NFO_SERVICE_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/nfo_abi.h"

struct nfo_plan;
struct nfo_svc_prog;

/* Reuses the program pinned at pin if it is one of ours for dir
 * (NFO_SERVICE_*), else loads one (dropping everything) and pins it.
 * *ret_reused says which. */
int nfo_svc_prog_open(const char *pin, int dir, struct nfo_svc_prog **ret, bool *ret_reused,
		      char *err, size_t errlen);
/* Closes our handles; the pins stay. */
void nfo_svc_prog_free(struct nfo_svc_prog **p);

/* Makes plan (service mode, keys[]: one counter key per target) the live
 * version. On failure the previous version stays in force. */
int nfo_svc_prog_apply(struct nfo_svc_prog *p, const struct nfo_plan *plan, char *const *keys,
		       uint64_t genid, char *err, size_t errlen);
/* Empties the half the last apply retired (after an RCU grace period), so
 * the next apply need not wait: call it after the new versions are live. */
int nfo_svc_prog_tidy(struct nfo_svc_prog *p);

uint32_t nfo_svc_prog_id(const struct nfo_svc_prog *p);
/* A good version is live (not the fail-closed drop-everything state). */
bool nfo_svc_prog_enforcing(const struct nfo_svc_prog *p);
int nfo_svc_prog_fd(const struct nfo_svc_prog *p);
int nfo_svc_prog_counter(struct nfo_svc_prog *p, const char *key, struct nfo_counter *ret);

/* Whether the service pinned in dir_path belongs to a daemon of another
 * network namespace (one bpffs shared by several). */
bool nfo_svc_owned_elsewhere(const char *dir_path);

/* Removes the pins of one direction (dir < 0: both) under a service's pin
 * directory, and the directory once empty. */
void nfo_svc_unpin(const char *dir_path, int dir);

#endif
