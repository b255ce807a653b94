/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `status` and `explain`: rendered from the state the daemon keeps (the
 * daemon fills struct nfo_daemon_state; this side only reads it).
 */
#ifndef NFO_STATUS_H
#define NFO_STATUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "iface.h"
#include "reject.h"

struct nfo_loader;
struct nfo_ruleset;
struct nfo_plan;
struct nfo_buf;

struct nfo_svc_prog;

/* One configured service and direction (daemon-services.c keeps it). */
struct nfo_service_state {
	const struct nfo_config_service *cfg;
	int dir;                      /* NFO_SERVICE_* */
	const struct nfo_config_chainref *ref;
	char pin[4096];
	struct nfo_svc_prog *prog;    /* NULL: could not be loaded (reason) */
	bool error;                   /* the chain as it is now is not enforced */
	char reason[512];
	char **keys;                  /* counter keys of the version in force */
	size_t nkeys;
	char **sets;                  /* "family table name" of the named sets it reads */
	size_t nsets;
	double last_update_ms;        /* change notification -> new version live */
};

/*
 * What status and explain render (daemon.c owns it). The control thread
 * renders it while the event loop may be busy reading or loading a large
 * ruleset: it holds lock while it renders, and the event loop holds lock
 * whenever it changes a field (or what a pointer here points to), which it
 * does only to publish work done without it. busy and busy_elements are
 * atomics, written without the lock, so that status can say what the event
 * loop is doing at any moment.
 */
struct nfo_daemon_state {
	pthread_mutex_t lock;
	const char *busy;           /* what the event loop is doing; NULL: idle */
	uint64_t busy_elements;     /* set elements read or written so far in it */
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
	uint64_t set_updates_in_place; /* of set_updates, applied in place (no pass-everything) */
	/* element dumps read again because they sent an element twice (the
	 * set resized under the walk: netlink/nft.c nfo_nft_elems_repeat) */
	uint64_t dumps_repeated;
	/* sets emptied and read again while live after a transaction with
	 * more operations than are followed (daemon-update.c restream()) */
	uint64_t set_restreams;
	uint64_t set_expiry_reads;  /* elements asked for their expiry (sets with timeouts) */
	uint64_t set_expiry_pending; /* of them, asked and not answered yet (not live yet) */
	/* element changes that made the fast path pass everything (full
	 * resync), and why the last one did */
	uint64_t set_updates_disabled;
	char set_updates_disabled_reason[160];
	const char *pin_dir;        /* where the counters are pinned */
	char watchdog_off[256];     /* why the daemon runs without a watchdog */
	struct nfo_service_state *services;
	size_t nservices;
	/* The ICMP limits reject leaves follow (reject.h), read every second;
	 * icmp_error: why they could not be read (reject leaves then pass). */
	struct nfo_icmp_limits icmp;
	struct nfo_reject_cfg reject;
	char icmp_error[160];
};

/* Renders `status` / `explain` for the control socket. */
void nfo_status_render(const struct nfo_daemon_state *s, bool json, struct nfo_buf *out);
struct nfo_ruletexts;
/* t: rule texts from the client (NULL: none); used only if of s's generation. */
void nfo_explain_render(const struct nfo_daemon_state *s, bool json,
			const struct nfo_ruletexts *t, struct nfo_buf *out);

/* What status shows, for the metrics (metrics.c) to say the same. */
struct nfo_set;
struct nfo_rule;
struct nfo_counter;
const char *nfo_status_stat_name(int stat); /* NFO_STAT_*: its key in "passed_by_reason" */
size_t nfo_status_set_elements(const struct nfo_set *set);
const char *nfo_status_set_where(const struct nfo_daemon_state *s, const struct nfo_set *set);
bool nfo_status_rule_offloaded(const struct nfo_daemon_state *s, const struct nfo_rule *r);
/* A counter by key (zero if the fast path has none). */
void nfo_status_counter(const struct nfo_daemon_state *s, const char *key,
			struct nfo_counter *ret);

/* Renders `status --prometheus` (metrics.c), also served by --metrics-listen. */
void nfo_metrics_render(const struct nfo_daemon_state *s, struct nfo_buf *out);

#endif
