/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `status` and `explain`: rendered from the state the daemon keeps (the
 * daemon fills struct nfo_daemon_state; this side only reads it).
 */
#ifndef NFO_STATUS_H
#define NFO_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "iface.h"

struct nfo_loader;
struct nfo_ruleset;
struct nfo_plan;
struct nfo_buf;

/* What status and explain render (daemon.c owns it). */
struct nfo_daemon_state {
	struct nfo_config config;
	struct nfo_iface *ifaces;   /* one per configured interface, in config order */
	size_t nifaces;
	struct nfo_loader *loader;
	struct nfo_ruleset *rs;     /* the ruleset the fast path reflects */
	struct nfo_plan *plan;
	char **keys;                /* counter key per plan target */
	uint32_t genid;             /* nftables generation of rs */
	bool have_genid;
	bool enabled;               /* fast path deciding (not disabled) */
	bool enabled_once;          /* plan and keys match the running generation */
	char error[256];            /* why the fast path is disabled */
	double last_update_ms;      /* first change notification -> new fast path live */
	double last_build_ms;       /* links + plan + load (not the ruleset dump) */
	uint64_t updates;
	uint64_t set_updates;       /* of which element-only (maps, no new plan) */
	uint64_t live_updates;      /* of which new plans that kept the old one live */
	/* Element-only transactions, applied in place to the live maps */
	double last_set_update_ms;  /* their NEWGEN read -> maps written */
	uint64_t set_entries_written; /* map entries added or removed */
	uint64_t set_grace_periods; /* waits for slots changing together */
	uint64_t set_rereads;       /* sets read again instead (size cap, odd element) */
	/* element changes that made the fast path pass everything (full
	 * resync), and why the last one did */
	uint64_t set_updates_disabled;
	char set_updates_disabled_reason[160];
	const char *pin_dir;        /* where the counters are pinned */
};

/* Renders `status` / `explain` for the control socket. */
void nfo_status_render(const struct nfo_daemon_state *s, bool json, struct nfo_buf *out);
struct nfo_ruletexts;
/* t: rule texts from the client (NULL: none); used only if of s's generation. */
void nfo_explain_render(const struct nfo_daemon_state *s, bool json,
			const struct nfo_ruletexts *t, struct nfo_buf *out);

#endif
