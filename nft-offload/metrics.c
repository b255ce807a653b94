// SPDX-License-Identifier: GPL-2.0-only
/*
 * `status --prometheus` and the daemon's --metrics-listen endpoint: what
 * status shows, as Prometheus metrics. nftables' own counters do not move
 * for packets the fast path drops, so the usual nftables exporters cannot
 * see them: these are the only counters of those packets.
 *
 * Names follow the Prometheus conventions: nft_offload_ prefix, base units,
 * counters end in _total. Rules are labelled as `nft list` names them
 * (family, table, chain, handle) plus their comment, if they have one.
 */
#include <inttypes.h>
#include <stdio.h>

#include "loader.h"
#include "plan.h"
#include "promtext.h"
#include "ruleset.h"
#include "status.h"

#define P "nft_offload_"

static void info(const struct nfo_daemon_state *s, struct nfo_buf *o)
{
	nfo_prom_family(o, P "build_info", NFO_PROM_GAUGE, "nft-offload's version (always 1)");
	nfo_prom_u64(o, P "build_info", NFO_PROM_LABELS({ "version", NFO_VERSION }), 1);
	nfo_prom_family(o, P "fast_path_enabled", NFO_PROM_GAUGE,
			"1 if the fast path decides packets, 0 if it passes everything to nftables");
	nfo_prom_u64(o, P "fast_path_enabled", NULL, s->enabled);
	if (s->have_genid) {
		nfo_prom_family(o, P "generation", NFO_PROM_GAUGE,
				"nftables ruleset generation the fast path reflects");
		nfo_prom_u64(o, P "generation", NULL, s->genid);
	}
	nfo_prom_family(o, P "updates_total", NFO_PROM_COUNTER,
			"Fast path updates (new plans and set element changes)");
	nfo_prom_u64(o, P "updates_total", NULL, s->updates);
	nfo_prom_family(o, P "set_updates_total", NFO_PROM_COUNTER,
			"Fast path updates that changed set elements only");
	nfo_prom_u64(o, P "set_updates_total", NULL, s->set_updates);
	nfo_prom_family(o, P "last_update_seconds", NFO_PROM_GAUGE,
			"Last update: from the first change notification to the new fast path live");
	nfo_prom_double(o, P "last_update_seconds", NULL, s->last_update_ms / 1e3);
	nfo_prom_family(o, P "last_build_seconds", NFO_PROM_GAUGE,
			"Last update: building links, plan and programs (not the ruleset dump)");
	nfo_prom_double(o, P "last_build_seconds", NULL, s->last_build_ms / 1e3);
	nfo_prom_family(o, P "diagram_nodes", NFO_PROM_GAUGE, "Decision diagram nodes");
	nfo_prom_u64(o, P "diagram_nodes", NULL,
		     s->plan && s->plan->nnodes ? s->plan->nnodes - 1 : 0);
	nfo_prom_family(o, P "diagram_edges", NFO_PROM_GAUGE, "Decision diagram edges");
	nfo_prom_u64(o, P "diagram_edges", NULL, s->plan ? s->plan->nedges : 0);
}

static void interfaces(const struct nfo_daemon_state *s, struct nfo_buf *o)
{
	nfo_prom_family(o, P "interface_attached", NFO_PROM_GAUGE,
			"1 if the fast path is attached to the configured interface; "
			"mode: what is attached (or configured, if nothing is)");
	for (size_t i = 0; i < s->nifaces; i++) {
		const struct nfo_iface *f = &s->ifaces[i];
		bool attached = f->link_fd >= 0;

		nfo_prom_u64(o, P "interface_attached",
			     NFO_PROM_LABELS({ "interface", f->name },
					     { "mode", nfo_mode_name(attached ? f->active_mode : f->mode) },
					     { "configured_mode", nfo_mode_name(f->mode) }),
			     attached);
	}
}

static void sets(const struct nfo_daemon_state *s, struct nfo_buf *o)
{
	nfo_prom_family(o, P "set_elements", NFO_PROM_GAUGE,
			"Elements of a named nftables set; fast_path: how the fast path uses it");
	for (size_t i = 0; s->rs && i < s->rs->nsets; i++) {
		const struct nfo_set *set = &s->rs->sets[i];

		if (!set->named)
			continue;
		nfo_prom_u64(o, P "set_elements",
			     NFO_PROM_LABELS({ "family", nfo_family_name(set->family) },
					     { "table", set->table }, { "set", set->name },
					     { "fast_path", nfo_status_set_where(s, set) }),
			     nfo_status_set_elements(set));
	}
}

enum { RULE_PACKETS, RULE_BYTES, RULE_OFFLOADED, _RULE_MAX };

/* Each family's samples must follow its header: one pass over the rules per
 * family. */
static void rules(const struct nfo_daemon_state *s, struct nfo_buf *o)
{
	static const struct {
		const char *name;
		int type;
		const char *help;
	} fam[_RULE_MAX] = {
		[RULE_PACKETS] = { P "rule_dropped_packets_total", NFO_PROM_COUNTER,
				   "Packets the fast path dropped for this nftables rule" },
		[RULE_BYTES] = { P "rule_dropped_bytes_total", NFO_PROM_COUNTER,
				 "Bytes of the packets the fast path dropped for this rule" },
		[RULE_OFFLOADED] = { P "rule_offloaded", NFO_PROM_GAUGE,
				     "1 if the fast path evaluates this rule fully "
				     "(nft-offload explain says why not)" },
	};
	char key[NFO_SLOT_KEY_LEN * 2], handle[24];

	for (int m = 0; m < _RULE_MAX; m++) {
		nfo_prom_family(o, fam[m].name, fam[m].type, fam[m].help);
		for (size_t ci = 0; s->rs && ci < s->rs->nchains; ci++) {
			const struct nfo_chain *c = &s->rs->chains[ci];

			for (size_t k = 0; k < c->nrules; k++) {
				const struct nfo_rule *r = &c->rules[k];
				const struct nfo_prom_label *l = NFO_PROM_LABELS(
					{ "family", nfo_family_name(c->family) },
					{ "table", c->table }, { "chain", c->name },
					{ "handle", handle }, { "comment", r->comment });
				struct nfo_counter cnt;

				snprintf(handle, sizeof(handle), "%" PRIu64, r->handle);
				if (m == RULE_OFFLOADED) {
					nfo_prom_u64(o, fam[m].name, l,
						     nfo_status_rule_offloaded(s, r));
					continue;
				}
				nfo_rule_key(r, key, sizeof(key));
				nfo_status_counter(s, key, &cnt);
				nfo_prom_u64(o, fam[m].name, l,
					     m == RULE_PACKETS ? cnt.packets : cnt.bytes);
			}
		}
	}
}

static void policies(const struct nfo_daemon_state *s, struct nfo_buf *o)
{
	char key[NFO_SLOT_KEY_LEN * 2];

	for (int bytes = 0; bytes <= 1; bytes++) {
		const char *name = bytes ? P "policy_dropped_bytes_total" :
					   P "policy_dropped_packets_total";

		nfo_prom_family(o, name, NFO_PROM_COUNTER,
				bytes ? "Bytes of the packets the fast path dropped by a base "
					"chain's drop policy" :
					"Packets the fast path dropped by a base chain's drop policy");
		for (size_t ci = 0; s->rs && ci < s->rs->nchains; ci++) {
			const struct nfo_chain *c = &s->rs->chains[ci];
			struct nfo_counter cnt;

			if (!c->base)
				continue;
			snprintf(key, sizeof(key), "%s %s %s policy", nfo_family_name(c->family),
				 c->table, c->name);
			nfo_status_counter(s, key, &cnt);
			nfo_prom_u64(o, name,
				     NFO_PROM_LABELS({ "family", nfo_family_name(c->family) },
						     { "table", c->table }, { "chain", c->name },
						     { "hook", nfo_hook_name(c->hook) },
						     { "policy", c->policy_drop ? "drop" : "accept" }),
				     bytes ? cnt.bytes : cnt.packets);
		}
	}
}

static void totals(const struct nfo_daemon_state *s, struct nfo_buf *o)
{
	struct nfo_counter st[_NFO_STAT_MAX] = {};

	if (s->loader)
		(void)nfo_loader_stats(s->loader, st);
	nfo_prom_family(o, P "dropped_packets_total", NFO_PROM_COUNTER,
			"Packets the fast path dropped, all rules and policies");
	nfo_prom_u64(o, P "dropped_packets_total", NULL, st[NFO_STAT_DROPPED].packets);
	nfo_prom_family(o, P "dropped_bytes_total", NFO_PROM_COUNTER,
			"Bytes of the packets the fast path dropped");
	nfo_prom_u64(o, P "dropped_bytes_total", NULL, st[NFO_STAT_DROPPED].bytes);
	for (int bytes = 0; bytes <= 1; bytes++) {
		const char *name = bytes ? P "passed_bytes_total" : P "passed_packets_total";

		nfo_prom_family(o, name, NFO_PROM_COUNTER,
				bytes ? "Bytes of the packets the fast path passed to nftables, "
					"by reason" :
					"Packets the fast path passed to nftables, by reason");
		for (int i = 0; i < _NFO_STAT_MAX; i++) {
			if (i == NFO_STAT_DROPPED)
				continue;
			nfo_prom_u64(o, name,
				     NFO_PROM_LABELS({ "reason", nfo_status_stat_name(i) }),
				     bytes ? st[i].bytes : st[i].packets);
		}
	}
}

void nfo_metrics_render(const struct nfo_daemon_state *s, struct nfo_buf *out)
{
	info(s, out);
	interfaces(s, out);
	sets(s, out);
	rules(s, out);
	policies(s, out);
	totals(s, out);
}
