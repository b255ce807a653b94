/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per-service filters: an nftables chain compiled for a cgroup_skb program
 * (bpf/cgroup) that enforces it on one systemd unit's sockets. Unlike the
 * fast path, nothing evaluates the chain after the program, so a chain is
 * compiled only if every packet can be decided exactly: predicates the
 * program cannot see (ct, meta mark, ...) and effects other than counters
 * (log, limit, reject, ...) make it refused with the rule and the reason.
 * Pure logic: the BPF side is service-loader.c, the daemon's
 * daemon-services.c.
 */
#ifndef NFO_SERVICE_H
#define NFO_SERVICE_H

#include <stddef.h>

#include "config.h"

struct nfo_ruleset;
struct nfo_plan;

/*
 * Compiles the chain ref names: the chain and every chain it jumps or goes
 * to must be decided exactly; then a plan in service mode (plan.h).
 * Returns 0 and the plan; 1 if the chain cannot be enforced (missing, or
 * not exact: reason names the rule and why); -ENOMEM.
 */
int nfo_service_compile(const struct nfo_ruleset *rs, const struct nfo_config_chainref *ref,
			size_t max_edges, struct nfo_plan **ret_plan, char *reason, size_t len);

/* One counter key per plan target ("inet t c 12", "inet t c policy"). */

const char *nfo_verdict_name(int verdict);

#endif
