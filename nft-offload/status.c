// SPDX-License-Identifier: GPL-2.0-only
/* `nft-offload status` and `explain`, rendered by the daemon. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>

#include "loader.h"
#include "status.h"
#include "json.h"
#include "plan.h"
#include "ruleset.h"
#include "ruletext.h"
#include "service-loader.h"
#include "service.h"
#include "watchdog.h"

static const char *const stat_names[_NFO_STAT_MAX] = {
	[NFO_STAT_DROPPED] = "dropped",
	[NFO_STAT_PASS_VERDICT] = "decided_by_nftables",
	[NFO_STAT_PASS_DISABLED] = "fast_path_disabled",
	[NFO_STAT_PASS_VLAN] = "vlan",
	[NFO_STAT_PASS_MALFORMED] = "malformed",
	[NFO_STAT_PASS_IPOPTS] = "ipv4_options",
	[NFO_STAT_PASS_EXTHDRS] = "ipv6_extension_headers",
	[NFO_STAT_PASS_REJECT] = "rejected_within_icmp_limits",
	[NFO_STAT_PASS_FRAGMENT] = "non_first_fragment",
	[NFO_STAT_PASS_RESET] = "tcp_reset_not_answerable",
};

static const char *offload_name(int o)
{
	switch (o) {
	case NFO_OFFLOAD_FULL:
		return "full";
	case NFO_OFFLOAD_PARTIAL:
		return "partial";
	}
	return "none";
}

/* A named set as the fast path uses it: "maps" (elements in the set maps,
 * changed in place), "diagram" (compiled into the diagram: a change
 * rebuilds it), "unused" (no offloaded rule reads it) or "not offloaded"
 * (its elements cannot be known; why says why). */
static const char *set_where(const struct nfo_daemon_state *s, const struct nfo_set *set)
{
	if (!set->usable)
		return "not offloaded";
	if (!s->plan || !nfo_plan_set_used(s->plan, set))
		return "unused";
	return nfo_plan_set_updatable(s->plan, set) ? "maps" : "diagram";
}

static size_t set_elements(const struct nfo_set *set)
{
	if (set->verdict_map)
		return set->nvmap;
	if (set->keys || set->kpend.nadd || set->kfold.active)
		return nfo_set_nkeys_held(set);
	return set->elems.n;
}

static bool attached_name(const struct nfo_daemon_state *s, const char *dev)
{
	for (size_t i = 0; i < s->nifaces; i++)
		if (!strcmp(s->ifaces[i].name, dev))
			return true;
	return false;
}

/*
 * Why the fast path never evaluates this chain's rules, or NULL if it does.
 * (SEMANTICS.md section 3: which chains a received packet meets.)
 */
static const char *chain_scope(const struct nfo_daemon_state *s, const struct nfo_chain *c)
{
	if (c->family != NFPROTO_INET && c->family != NFPROTO_IPV4 && c->family != NFPROTO_IPV6 &&
	    c->family != NFPROTO_NETDEV)
		return "family not evaluated on receive";
	if (!c->base)
		return NULL;
	switch (c->hook) {
	case NFO_HOOK_INGRESS: {
		bool any = false;

		for (size_t i = 0; i < c->ndevs; i++)
			any |= attached_name(s, c->devs[i]);
		if (!any)
			return "ingress chain of an interface nft-offload is not attached to";
		break;
	}
	case NFO_HOOK_PREROUTING:
	case NFO_HOOK_INPUT:
		break;
	default:
		return "hook not decided on receive (only ingress, prerouting, input)";
	}
	if (c->type && !strcmp(c->type, "nat"))
		return "nat chain: packets it may rewrite pass to nftables";
	if (c->type && strcmp(c->type, "filter"))
		return "chain type not offloaded";
	return NULL;
}

static bool families_meet(int a, int b)
{
	if (a == NFPROTO_INET)
		return b == NFPROTO_INET || b == NFPROTO_IPV4 || b == NFPROTO_IPV6;
	if (b == NFPROTO_INET)
		return a == NFPROTO_IPV4 || a == NFPROTO_IPV6;
	return a == b && (a == NFPROTO_IPV4 || a == NFPROTO_IPV6);
}

/*
 * The nat chain whose NAT hook stands before this base chain, or NULL
 * (plan-pipeline.c): nf_nat's hooks exist for a family as soon as one nat
 * chain does, at any hook; prerouting chains from NF_IP_PRI_NAT_DST on and
 * input chains come after it. The fast path decides such a chain only for
 * packets NAT cannot change there.
 */
static const struct nfo_chain *base_behind_nat(const struct nfo_daemon_state *s,
					       const struct nfo_chain *c)
{
	if (!c->base || !s->rs || (c->type && strcmp(c->type, "filter")))
		return NULL;
	if (!(c->hook == NFO_HOOK_INPUT || (c->hook == NFO_HOOK_PREROUTING && c->prio >= -100)))
		return NULL;
	for (size_t i = 0; i < s->rs->nchains; i++) {
		const struct nfo_chain *n = &s->rs->chains[i];

		if (n->base && n->type && !strcmp(n->type, "nat") && families_meet(n->family, c->family))
			return n;
	}
	return NULL;
}

static bool jumps_to(const struct nfo_rule *r, const struct nfo_chain *t)
{
	if ((r->verdict == NFO_VERDICT_JUMP || r->verdict == NFO_VERDICT_GOTO) &&
	    r->target_chain == t)
		return true;
	for (size_t a = 0; a < r->nalts; a++)
		if (r->alts[a].target_chain == t)
			return true;
	return false;
}

/* Chain c reached from chain from (jumps stay in one table); seen: visited. */
static bool reaches(const struct nfo_ruleset *rs, const struct nfo_chain *from,
		    const struct nfo_chain *c, uint8_t *seen)
{
	size_t i = (size_t)(from - rs->chains);

	if (seen[i])
		return false;
	seen[i] = 1;
	for (size_t k = 0; k < from->nrules; k++) {
		const struct nfo_rule *r = &from->rules[k];
		const struct nfo_chain *t = NULL;

		if (jumps_to(r, c))
			return true;
		if (r->verdict == NFO_VERDICT_JUMP || r->verdict == NFO_VERDICT_GOTO)
			t = r->target_chain;
		if (t && reaches(rs, t, c, seen))
			return true;
		for (size_t a = 0; a < r->nalts; a++)
			if (r->alts[a].target_chain && reaches(rs, r->alts[a].target_chain, c, seen))
				return true;
	}
	return false;
}

/* The NAT chain before c, or before a base chain of c's table that jumps
 * to it (however deep). */
static const struct nfo_chain *behind_nat(const struct nfo_daemon_state *s,
					  const struct nfo_chain *c)
{
	const struct nfo_ruleset *rs = s->rs;
	const struct nfo_chain *nat = NULL;
	uint8_t *seen;

	if (!rs || c->base)
		return rs ? base_behind_nat(s, c) : NULL;
	seen = calloc(rs->nchains, 1);
	if (!seen)
		return NULL;
	for (size_t i = 0; i < rs->nchains && !nat; i++) {
		const struct nfo_chain *b = &rs->chains[i];

		if (b->family != c->family || strcmp(b->table, c->table) || !base_behind_nat(s, b))
			continue;
		memset(seen, 0, rs->nchains);
		if (reaches(rs, b, c, seen))
			nat = base_behind_nat(s, b);
	}
	free(seen);
	return nat;
}

/* What keeps interface f from deciding chain c (a base chain of a hook it
 * decides), or NULL. */
static const char *iface_cause(const struct nfo_daemon_state *s, const struct nfo_iface *f,
			       const struct nfo_chain *c, char *buf, size_t len)
{
	if (f->block_note[0])
		return f->block_note;
	if (c->hook != NFO_HOOK_INGRESS && f->l3_note[0])
		return f->l3_note;
	for (size_t i = 0; s->rs && i < s->rs->nflowtables; i++) {
		const struct nfo_flowtable *ft = &s->rs->flowtables[i];

		if (c->hook == NFO_HOOK_INGRESS && c->prio <= ft->prio)
			continue;
		for (size_t k = 0; k < ft->ndevs; k++) {
			if (!strcmp(ft->devs[k], f->name)) {
				snprintf(buf, len, "flowtable %s forwards packets of known flows past it",
					 ft->name);
				return buf;
			}
		}
	}
	return NULL;
}

/*
 * Interfaces where the fast path does not decide base chain c although it
 * is attached there (a tc ingress filter or program, not an L3 device for
 * prerouting and input, a flowtable before the chain); writes them to buf.
 * Returns NFO_OFFLOAD_NONE if that is every interface c applies to,
 * NFO_OFFLOAD_PARTIAL if some, NFO_OFFLOAD_FULL if none.
 */
static int iface_scope(const struct nfo_daemon_state *s, const struct nfo_chain *c, char *buf,
		       size_t len)
{
	size_t n = 0, stopped = 0, o = 0;
	char tmp[96];

	buf[0] = '\0';
	if (!c->base)
		return NFO_OFFLOAD_FULL;
	for (size_t i = 0; i < s->nifaces; i++) {
		const struct nfo_iface *f = &s->ifaces[i];
		const char *why;
		bool on = c->hook != NFO_HOOK_INGRESS;

		if (f->link_fd < 0)
			continue;
		for (size_t k = 0; !on && k < c->ndevs; k++)
			on = !strcmp(c->devs[k], f->name);
		if (!on)
			continue;
		n++;
		why = iface_cause(s, f, c, tmp, sizeof(tmp));
		if (!why)
			continue;
		stopped++;
		if (o < len)
			o += (size_t)snprintf(buf + o, len - o, "%snot decided on %s: %s",
					      stopped > 1 ? "; " : "", f->name, why);
	}
	if (!stopped)
		return NFO_OFFLOAD_FULL;
	return stopped == n ? NFO_OFFLOAD_NONE : NFO_OFFLOAD_PARTIAL;
}

static bool has_fib_type(const struct nfo_rule *r)
{
	for (size_t i = 0; i < r->npreds; i++)
		if (r->preds[i].dim == NFO_PDIM_FIB_SADDR || r->preds[i].dim == NFO_PDIM_FIB_DADDR)
			return true;
	return false;
}

/* Why the fast path does not decide every packet through this rule (buf,
 * empty if it does); returns the rule's offload state (NFO_OFFLOAD_*). */
static int rule_reason(const struct nfo_daemon_state *s, const struct nfo_rule *r, char *buf,
		       size_t len)
{
	const char *scope = chain_scope(s, r->chain);
	const struct nfo_chain *nat;

	buf[0] = '\0';
	if (s->plan && s->plan->error) {
		snprintf(buf, len, "%s", s->plan->error);
		return NFO_OFFLOAD_NONE;
	}
	if (scope) {
		snprintf(buf, len, "%s", scope);
		return NFO_OFFLOAD_NONE;
	}
	if (r->offload == NFO_OFFLOAD_NONE) {
		snprintf(buf, len, "effect the fast path cannot reproduce: %s",
			 r->reason ? r->reason : "?");
		return NFO_OFFLOAD_NONE;
	}
	if (r->reject == NFO_REJECT_TCP_RST && r->chain->base && r->chain->hook != NFO_HOOK_INPUT) {
		snprintf(buf, len, "reject with tcp reset at the %s hook: left to nftables "
			 "(followed at input only)", nfo_hook_name(r->chain->hook));
		return NFO_OFFLOAD_NONE;
	}
	if (r->reject == NFO_REJECT_TCP_RST && s->plan &&
	    (r->chain->family == NFPROTO_IPV4 ? s->plan->rst_fwd_off4 :
	     r->chain->family == NFPROTO_IPV6 ? s->plan->rst_fwd_off6 :
						s->plan->rst_fwd_off4 && s->plan->rst_fwd_off6)) {
		snprintf(buf, len, "reject with tcp reset: left to nftables (forwarding is off on the "
			 "interfaces: net.ipv4/ipv6.conf.<interface>.forwarding=0, and the fast "
			 "path's route lookup, bpf_fib_lookup, answers nothing there)");
		return NFO_OFFLOAD_NONE;
	}
	if (r->reject == NFO_REJECT_TCP_RST &&
	    (!s->plan || (r->chain->family == NFPROTO_IPV4 ? !s->plan->resets4 :
			  r->chain->family == NFPROTO_IPV6 ? !s->plan->resets6 :
							     !s->plan->resets4 && !s->plan->resets6))) {
		snprintf(buf, len, "reject with tcp reset: left to nftables (an output, postrouting "
			 "or egress chain could drop or change the RST, a fib rule on iif/oif, "
			 "a route hoplimit, ambiguous IPv6 routes, or no interface can send "
			 "it: native XDP on a veth)");
		return NFO_OFFLOAD_NONE;
	}
	if (r->reject && r->chain->base && r->chain->hook != NFO_HOOK_PREROUTING &&
	    r->chain->hook != NFO_HOOK_INPUT) {
		snprintf(buf, len, "reject at the %s hook: left to nftables (followed at prerouting "
			 "and input only)", nfo_hook_name(r->chain->hook));
		return NFO_OFFLOAD_NONE;
	}
	if (r->offload == NFO_OFFLOAD_PARTIAL) {
		snprintf(buf, len, "not evaluated by the fast path: %s", r->reason ? r->reason : "?");
		return NFO_OFFLOAD_PARTIAL;
	}
	if (r->chain->base) {
		int lvl = iface_scope(s, r->chain, buf, len);

		if (lvl != NFO_OFFLOAD_FULL)
			return lvl;
	}
	nat = behind_nat(s, r->chain);
	if (nat) {
		snprintf(buf, len,
			 "behind a NAT chain (%s %s %s, hook %s): decided only for TCP and "
			 "UDP packets NAT cannot change (no conntrack entry with NAT "
			 "bindings, no NAT statement that may match)",
			 nfo_family_name(nat->family), nat->table, nat->name,
			 nfo_hook_name(nat->hook));
		return NFO_OFFLOAD_PARTIAL;
	}
	if (r->reject == NFO_REJECT_TCP_RST && r->chain->family == NFPROTO_INET &&
	    s->plan->resets4 != s->plan->resets6) {
		bool fwd = s->plan->resets4 ? s->plan->rst_fwd_off6 : s->plan->rst_fwd_off4;

		snprintf(buf, len, "reject with tcp reset: %s packets left to nftables (%s)",
			 s->plan->resets4 ? "IPv6" : "IPv4",
			 fwd ? "that family's forwarding is off on the interfaces: the fast path's "
			       "route lookup answers nothing there" :
			       "the way of that family's RST is not clear: an output, postrouting "
			       "chain, a fib rule or route");
		return NFO_OFFLOAD_PARTIAL;
	}
	if (s->plan && !s->plan->fib6_plain && r->chain->family != NFPROTO_IPV4 &&
	    has_fib_type(r)) {
		snprintf(buf, len, "fib ... type: IPv6 packets left to nftables (an IPv6 policy rule "
			 "besides the kernel's two, a VRF, or a local or anycast route outside the "
			 "local table: the answer is a route lookup the daemon does not follow)");
		return NFO_OFFLOAD_PARTIAL;
	}
	return NFO_OFFLOAD_FULL;
}

/* How the fast path carries out a reject rule (SEMANTICS.md section 4.1),
 * NULL if the rule is no reject it follows. */
static const char *reject_text(const struct nfo_daemon_state *s, const struct nfo_rule *r,
			       char *buf, size_t len)
{
	const struct nfo_reject_cfg *c = &s->reject;

	if (!r->reject || r->effect)
		return NULL;
	if (r->reject == NFO_REJECT_TCP_RST) {
		bool v4 = r->chain->family != NFPROTO_IPV6 && (c->flags & NFO_REJECT_RST4);
		bool v6 = r->chain->family != NFPROTO_IPV4 && (c->flags & NFO_REJECT_RST6);

		if (!v4 && !v6)
			snprintf(buf, len, "reject with tcp reset: every packet passed to nftables "
				 "(%s)", r->chain->family == NFPROTO_IPV4 ?
				 "net.ipv4.ip_default_ttl unread, or net.ipv4.fwmark_reflect set" :
				 r->chain->family == NFPROTO_IPV6 ?
				 "the attached interfaces' net.ipv6.conf.*.hop_limit unread or "
				 "not all equal, or net.ipv6.fwmark_reflect set" :
				 "ip_default_ttl or fwmark_reflect, IPv6 hop_limit or fwmark_reflect");
		else
			snprintf(buf, len, "reject with tcp reset: %s answered here with the "
				 "kernel's RST (no conntrack entry, checksum verified, segment "
				 "of at most 64 bytes%s, routed back out of this interface to the "
				 "sender's MAC, forwarding on); the rest passed to nftables%s",
				 v4 && v6 ? "IPv4 and IPv6" : v4 ? "IPv4" : "IPv6",
				 v6 ? ", no IPv6 extension header" : "",
				 r->chain->family != NFPROTO_INET || (v4 && v6) ? "" :
				 v4 ? " (IPv6: hop_limit unread/unequal or fwmark_reflect)" :
				      " (IPv4: ip_default_ttl unread or fwmark_reflect)");
		return buf;
	}
	if (!(c->flags & NFO_REJECT_ON)) {
		snprintf(buf, len, "reject: every packet passed to nftables to answer (%s)",
			 s->icmp_error[0] ? s->icmp_error : "ICMP rate limits not read yet");
		return buf;
	}
	if ((c->flags & NFO_REJECT_UNLIMITED4) && (c->flags & NFO_REJECT_UNLIMITED6)) {
		snprintf(buf, len, "reject: every packet passed to nftables to answer (the kernel "
			 "does not rate-limit destination unreachable: icmp ratemask)");
		return buf;
	}
	snprintf(buf, len, "reject with an ICMP error: dropped here only beyond %d times the "
		 "kernel's ICMP rate limits%s%s, the rest passed to nftables to answer (at "
		 "prerouting and input)", NFO_REJECT_SLACK,
		 c->flags & NFO_REJECT_UNLIMITED4 ? "; IPv4 not limited: passed" : "",
		 c->flags & NFO_REJECT_UNLIMITED6 ? "; IPv6 not limited: passed" : "");
	if (r->limit_at) {
		size_t n = strlen(buf);

		snprintf(buf + n, len - n, "; its limit statement only decides which blocked "
			 "packets are answered: the chain drops the others");
	}
	return buf;
}

/* What a rule testing ct state or ct status leaves undecided, NULL if it
 * tests neither: the kernel's conntrack lookups for BPF (bpf_xdp_ct_lookup,
 * bpf_skb_ct_lookup, nf_conntrack_bpf.c) take TCP and UDP tuples only, so
 * for any other packet every state is possible (SEMANTICS.md 3.1). */
static const char *conntrack_text(const struct nfo_rule *r, int lvl)
{
	if (lvl == NFO_OFFLOAD_NONE)
		return NULL;
	for (size_t i = 0; i < r->npreds; i++)
		if (r->preds[i].dim == NFO_DIM_CTSTATE || r->preds[i].dim == NFO_PDIM_CTSTATUS)
			return "ct state and ct status are known for TCP and UDP only (the fast "
			       "path's conntrack lookup takes ports): for ICMP and other "
			       "protocols every state is possible, so this rule and the ones after "
			       "it are not decided for them";
	return NULL;
}

/* The ICMP limits reject rules follow, one line. */
static void reject_limits_text(const struct nfo_daemon_state *s, struct nfo_buf *out)
{
	const struct nfo_icmp_limits *l = &s->icmp;

	if (s->icmp_error[0]) {
		nfo_buf_printf(out, "reject: %s; rejected packets are passed to nftables\n",
			       s->icmp_error);
		return;
	}
	if (!(s->reject.flags & NFO_REJECT_ON))
		return;
	nfo_buf_printf(out, "reject: ICMP errors limited to %lld/s, burst %lld; per sender every "
		       "%lld ms (IPv4%s), %lld ms (IPv6%s); the fast path drops rejected packets "
		       "beyond %d times that\n",
		       (long long)l->msgs_per_sec, (long long)l->msgs_burst,
		       (long long)l->ratelimit4_ms,
		       s->reject.flags & NFO_REJECT_UNLIMITED4 ? ", not in icmp_ratemask" : "",
		       (long long)l->ratelimit6_ms,
		       s->reject.flags & NFO_REJECT_UNLIMITED6 ? ", not in icmp ratemask" : "",
		       NFO_REJECT_SLACK);
}

static void counter_of(const struct nfo_daemon_state *s, const char *key, struct nfo_counter *c)
{
	*c = (struct nfo_counter){};
	if (s->loader)
		(void)nfo_loader_counter(s->loader, key, c);
}

static void iface_json(struct nfo_json *j, const struct nfo_iface *f)
{
	bool attached = f->link_fd >= 0;

	nfo_json_obj_begin(j);
	nfo_json_kstr(j, "name", f->name);
	nfo_json_ki64(j, "ifindex", f->ifindex);
	nfo_json_kstr(j, "mode", nfo_mode_name(attached ? f->active_mode : f->mode));
	nfo_json_kstr(j, "configured_mode", nfo_mode_name(f->mode));
	nfo_json_kbool(j, "attached", attached);
	nfo_json_ku64(j, "prog_id", attached ? f->prog_id : 0);
	nfo_json_kstr(j, "scope", f->block_note[0] ? "none" :
				  f->l3_note[0] ? "ingress" : "ingress, prerouting, input");
	nfo_json_kstr(j, "note", f->error[0] ? f->error :
				 f->block_note[0] ? f->block_note :
				 f->l3_note[0] ? f->l3_note : NULL);
	nfo_json_obj_end(j);
}

/* The watchdog's state; *ret_why: why it is not armed, or NULL. */
static void watchdog_of(const struct nfo_daemon_state *s, struct nfo_watchdog_info *ret,
			const char **ret_why)
{
	const char *err = "";

	*ret = (struct nfo_watchdog_info){ .heartbeat_age_ms = -1, .check_age_ms = -1 };
	if (s->loader && nfo_loader_watchdog(s->loader, ret, &err) < 0)
		err = "cannot read its state";
	*ret_why = s->watchdog_off[0] ? s->watchdog_off : err[0] ? err : NULL;
}

static void watchdog_json(const struct nfo_daemon_state *s, struct nfo_json *j)
{
	struct nfo_watchdog_info w;
	const char *why;

	watchdog_of(s, &w, &why);
	nfo_json_key(j, "watchdog");
	nfo_json_obj_begin(j);
	nfo_json_kbool(j, "armed", w.armed);
	nfo_json_ku64(j, "bound_ms", w.bound_ms);
	nfo_json_ku64(j, "trips", w.trips);
	nfo_json_ku64(j, "checks", w.checks);
	nfo_json_key(j, "heartbeat_age_ms");
	if (w.heartbeat_age_ms >= 0)
		nfo_json_double(j, w.heartbeat_age_ms);
	else
		nfo_json_null(j);
	nfo_json_key(j, "last_check_ms");
	if (w.check_age_ms >= 0)
		nfo_json_double(j, w.check_age_ms);
	else
		nfo_json_null(j);
	nfo_json_kstr(j, "error", why);
	nfo_json_obj_end(j);
}

static void watchdog_text(const struct nfo_daemon_state *s, struct nfo_buf *out)
{
	struct nfo_watchdog_info w;
	const char *why;

	watchdog_of(s, &w, &why);
	if (w.armed)
		nfo_buf_printf(out, "watchdog: armed, the fast path is turned off %u ms after the "
			       "daemon's last heartbeat (%.0f ms ago); tripped %llu time%s\n",
			       w.bound_ms, w.heartbeat_age_ms > 0 ? w.heartbeat_age_ms : 0.0,
			       (unsigned long long)w.trips, w.trips == 1 ? "" : "s");
	else if (why)
		nfo_buf_printf(out, "watchdog: NONE (a stopped daemon leaves its fast path live): %s\n",
			       why);
	else
		nfo_buf_printf(out, "watchdog: not armed (no fast path loaded)\n");
}

/* ---- services ------------------------------------------------------------------- */

static const char *service_state(const struct nfo_service_state *ss)
{
	return ss->error || !ss->prog || !nfo_svc_prog_enforcing(ss->prog) ? "error" : "enforced";
}

static const struct nfo_chain *service_chain(const struct nfo_daemon_state *s,
					     const struct nfo_service_state *ss)
{
	return s->rs ? nfo_ruleset_find_chain(s->rs, ss->ref->family, ss->ref->table, ss->ref->chain) :
		       NULL;
}

static void service_counter(const struct nfo_service_state *ss, const char *key,
			    struct nfo_counter *c)
{
	*c = (struct nfo_counter){};
	if (ss->prog)
		(void)nfo_svc_prog_counter(ss->prog, key, c);
}

static void services_json(const struct nfo_daemon_state *s, struct nfo_json *j)
{
	char key[NFO_SLOT_KEY_LEN * 2];

	nfo_json_key(j, "services");
	nfo_json_arr_begin(j);
	for (size_t i = 0; i < s->nservices; i++) {
		const struct nfo_service_state *ss = &s->services[i];
		const struct nfo_chain *c = service_chain(s, ss);

		nfo_json_obj_begin(j);
		nfo_json_kstr(j, "name", ss->cfg->name);
		nfo_json_kstr(j, "direction", nfo_service_dir_name(ss->dir));
		nfo_json_kstr(j, "family", nfo_family_name(ss->ref->family));
		nfo_json_kstr(j, "table", ss->ref->table);
		nfo_json_kstr(j, "chain", ss->ref->chain);
		nfo_json_kstr(j, "pin", ss->pin);
		nfo_json_ku64(j, "prog_id", ss->prog ? nfo_svc_prog_id(ss->prog) : 0);
		nfo_json_kstr(j, "state", service_state(ss));
		nfo_json_kstr(j, "reason", ss->reason[0] ? ss->reason : NULL);
		nfo_json_kdouble(j, "last_update_ms", ss->last_update_ms);
		nfo_json_key(j, "rules");
		nfo_json_arr_begin(j);
		for (size_t k = 0; c && k < c->nrules; k++) {
			const struct nfo_rule *r = &c->rules[k];
			struct nfo_counter cnt;

			nfo_rule_key(r, key, sizeof(key));
			service_counter(ss, key, &cnt);
			nfo_json_obj_begin(j);
			nfo_json_ku64(j, "handle", r->handle);
			nfo_json_kstr(j, "verdict", r->nalts ? "map" : nfo_verdict_name(r->verdict));
			nfo_json_ku64(j, "packets", cnt.packets);
			nfo_json_ku64(j, "bytes", cnt.bytes);
			nfo_json_obj_end(j);
		}
		nfo_json_arr_end(j);
		nfo_json_obj_end(j);
	}
	nfo_json_arr_end(j);
}

static void services_text(const struct nfo_daemon_state *s, struct nfo_buf *out)
{
	char key[NFO_SLOT_KEY_LEN * 2], chain[600];

	if (!s->nservices)
		return;
	nfo_buf_printf(out, "\n%-28s %-8s %-36s %7s  %-9s %s\n", "SERVICE", "DIR",
		       "CHAIN (family table chain)", "PROG", "STATE", "PIN / REASON");
	for (size_t i = 0; i < s->nservices; i++) {
		const struct nfo_service_state *ss = &s->services[i];
		const struct nfo_chain *c = service_chain(s, ss);

		snprintf(chain, sizeof(chain), "%s %s %s", nfo_family_name(ss->ref->family),
			 ss->ref->table, ss->ref->chain);
		nfo_buf_printf(out, "%-28s %-8s %-36s %7u  %-9s %s\n", ss->cfg->name,
			       nfo_service_dir_name(ss->dir), chain,
			       ss->prog ? nfo_svc_prog_id(ss->prog) : 0, service_state(ss), ss->pin);
		if (ss->reason[0])
			nfo_buf_printf(out, "%85s^ %s\n", "", ss->reason);
		for (size_t k = 0; c && k < c->nrules; k++) {
			const struct nfo_rule *r = &c->rules[k];
			struct nfo_counter cnt;

			nfo_rule_key(r, key, sizeof(key));
			service_counter(ss, key, &cnt);
			nfo_buf_printf(out, "    handle %-6llu %-8s %12llu packets %14llu bytes\n",
				       (unsigned long long)r->handle,
				       r->nalts ? "map" : nfo_verdict_name(r->verdict),
				       (unsigned long long)cnt.packets, (unsigned long long)cnt.bytes);
		}
	}
}

static void status_json(const struct nfo_daemon_state *s, struct nfo_buf *out)
{
	const char *busy = __atomic_load_n(&s->busy, __ATOMIC_ACQUIRE);
	uint64_t busy_elements = __atomic_load_n(&s->busy_elements, __ATOMIC_RELAXED);
	struct nfo_counter st[_NFO_STAT_MAX] = {};
	uint64_t passed = 0, passed_bytes = 0;
	struct nfo_json j;
	char key[NFO_SLOT_KEY_LEN * 2], reason[256], rej[320];

	if (s->loader)
		(void)nfo_loader_stats(s->loader, st);
	for (int i = 0; i < _NFO_STAT_MAX; i++) {
		if (i == NFO_STAT_DROPPED)
			continue;
		passed += st[i].packets;
		passed_bytes += st[i].bytes;
	}

	nfo_json_init(&j, out);
	nfo_json_obj_begin(&j);
	nfo_json_kstr(&j, "version", NFO_VERSION);
	nfo_json_key(&j, "generation");
	if (s->have_genid)
		nfo_json_u64(&j, s->genid);
	else
		nfo_json_null(&j);
	nfo_json_kstr(&j, "fast_path", s->enabled ? "enabled" : "disabled");
	nfo_json_kstr(&j, "error", s->error[0] ? s->error :
				   s->plan && s->plan->error ? s->plan->error : NULL);
	nfo_json_kstr(&j, "busy", busy);
	nfo_json_ku64(&j, "busy_elements", busy ? busy_elements : 0);
	nfo_json_kstr(&j, "pin_dir", s->pin_dir);
	nfo_json_ku64(&j, "updates", s->updates);
	nfo_json_ku64(&j, "set_updates", s->set_updates);
	nfo_json_ku64(&j, "live_updates", s->live_updates);
	nfo_json_kdouble(&j, "last_set_update_ms", s->last_set_update_ms);
	nfo_json_ku64(&j, "set_entries_written", s->set_entries_written);
	nfo_json_ku64(&j, "set_grace_periods", s->set_grace_periods);
	nfo_json_ku64(&j, "set_rereads", s->set_rereads);
	nfo_json_ku64(&j, "set_updates_in_place", s->set_updates_in_place);
	/* element dumps read again: they sent an element twice (netlink/nft.c) */
	nfo_json_ku64(&j, "dumps_repeated", s->dumps_repeated);
	nfo_json_ku64(&j, "set_restreams", s->set_restreams);
	nfo_json_ku64(&j, "set_expiry_reads", s->set_expiry_reads);
	nfo_json_ku64(&j, "set_expiry_pending", s->set_expiry_pending);
	nfo_json_ku64(&j, "set_updates_disabled", s->set_updates_disabled);
	nfo_json_kstr(&j, "set_updates_disabled_reason",
		      s->set_updates_disabled_reason[0] ? s->set_updates_disabled_reason : NULL);
	nfo_json_kdouble(&j, "last_update_ms", s->last_update_ms);
	nfo_json_kdouble(&j, "last_build_ms", s->last_build_ms);
	watchdog_json(s, &j);
	nfo_json_key(&j, "diagram");
	nfo_json_obj_begin(&j);
	nfo_json_ku64(&j, "nodes", s->plan && s->plan->nnodes ? s->plan->nnodes - 1 : 0);
	nfo_json_ku64(&j, "edges", s->plan ? s->plan->nedges : 0);
	nfo_json_obj_end(&j);

	nfo_json_key(&j, "interfaces");
	nfo_json_arr_begin(&j);
	for (size_t i = 0; i < s->nifaces; i++)
		iface_json(&j, &s->ifaces[i]);
	nfo_json_arr_end(&j);

	nfo_json_key(&j, "rules");
	nfo_json_arr_begin(&j);
	for (size_t ci = 0; s->rs && ci < s->rs->nchains; ci++) {
		const struct nfo_chain *c = &s->rs->chains[ci];

		for (size_t k = 0; k < c->nrules; k++) {
			const struct nfo_rule *r = &c->rules[k];
			int lvl;
			struct nfo_counter cnt;

			lvl = rule_reason(s, r, reason, sizeof(reason));
			nfo_rule_key(r, key, sizeof(key));
			counter_of(s, key, &cnt);
			nfo_json_obj_begin(&j);
			nfo_json_kstr(&j, "family", nfo_family_name(c->family));
			nfo_json_kstr(&j, "table", c->table);
			nfo_json_kstr(&j, "chain", c->name);
			nfo_json_ku64(&j, "handle", r->handle);
			nfo_json_kbool(&j, "offloaded", lvl == NFO_OFFLOAD_FULL);
			nfo_json_kstr(&j, "offload", offload_name(lvl));
			nfo_json_kstr(&j, "reason", reason[0] ? reason : NULL);
			nfo_json_kstr(&j, "reject", lvl == NFO_OFFLOAD_NONE ? NULL :
						    reject_text(s, r, rej, sizeof(rej)));
			nfo_json_kstr(&j, "note", r->note);
			nfo_json_ku64(&j, "packets", cnt.packets);
			nfo_json_ku64(&j, "bytes", cnt.bytes);
			nfo_json_obj_end(&j);
		}
	}
	nfo_json_arr_end(&j);

	nfo_json_key(&j, "sets");
	nfo_json_arr_begin(&j);
	for (size_t i = 0; s->rs && i < s->rs->nsets; i++) {
		const struct nfo_set *set = &s->rs->sets[i];

		if (!set->named)
			continue;
		nfo_json_obj_begin(&j);
		nfo_json_kstr(&j, "family", nfo_family_name(set->family));
		nfo_json_kstr(&j, "table", set->table);
		nfo_json_kstr(&j, "name", set->name);
		nfo_json_ku64(&j, "elements", set_elements(set));
		nfo_json_kstr(&j, "fast_path", set_where(s, set));
		nfo_json_kstr(&j, "reason", set->usable ? NULL : set->why);
		/* read while the fast path runs: elements is what was read so
		 * far (the kernel does not say how many there are) */
		nfo_json_kbool(&j, "loading", set->loading);
		/* read while it changed: an element may be missing */
		nfo_json_kbool(&j, "incomplete", set->read_short);
		nfo_json_obj_end(&j);
	}
	nfo_json_arr_end(&j);

	nfo_json_key(&j, "policies");
	nfo_json_arr_begin(&j);
	for (size_t ci = 0; s->rs && ci < s->rs->nchains; ci++) {
		const struct nfo_chain *c = &s->rs->chains[ci];
		struct nfo_counter cnt;

		if (!c->base)
			continue;
		snprintf(key, sizeof(key), "%s %s %s policy", nfo_family_name(c->family), c->table,
			 c->name);
		counter_of(s, key, &cnt);
		nfo_json_obj_begin(&j);
		nfo_json_kstr(&j, "family", nfo_family_name(c->family));
		nfo_json_kstr(&j, "table", c->table);
		nfo_json_kstr(&j, "chain", c->name);
		nfo_json_kstr(&j, "hook", nfo_hook_name(c->hook));
		nfo_json_ki64(&j, "priority", c->prio);
		nfo_json_kstr(&j, "policy", c->policy_drop ? "drop" : "accept");
		nfo_json_ku64(&j, "packets", cnt.packets);
		nfo_json_ku64(&j, "bytes", cnt.bytes);
		nfo_json_obj_end(&j);
	}
	nfo_json_arr_end(&j);

	services_json(s, &j);

	nfo_json_key(&j, "totals");
	nfo_json_obj_begin(&j);
	nfo_json_ku64(&j, "dropped", st[NFO_STAT_DROPPED].packets);
	nfo_json_ku64(&j, "dropped_bytes", st[NFO_STAT_DROPPED].bytes);
	nfo_json_ku64(&j, "passed", passed);
	nfo_json_ku64(&j, "passed_bytes", passed_bytes);
	nfo_json_key(&j, "passed_by_reason");
	nfo_json_obj_begin(&j);
	for (int i = 0; i < _NFO_STAT_MAX; i++) {
		if (i == NFO_STAT_DROPPED)
			continue;
		nfo_json_key(&j, stat_names[i]);
		nfo_json_u64(&j, st[i].packets);
	}
	nfo_json_obj_end(&j);
	nfo_json_obj_end(&j);
	nfo_json_obj_end(&j);
	nfo_buf_put(out, "\n", 1);
}

static void status_text(const struct nfo_daemon_state *s, struct nfo_buf *out)
{
	const char *busy = __atomic_load_n(&s->busy, __ATOMIC_ACQUIRE);
	uint64_t busy_elements = __atomic_load_n(&s->busy_elements, __ATOMIC_RELAXED);
	struct nfo_counter st[_NFO_STAT_MAX] = {};
	char key[NFO_SLOT_KEY_LEN * 2], reason[256], name[160];
	uint64_t passed = 0;
	size_t full = 0, partial = 0, none = 0;

	if (s->loader)
		(void)nfo_loader_stats(s->loader, st);
	for (int i = 0; i < _NFO_STAT_MAX; i++)
		if (i != NFO_STAT_DROPPED)
			passed += st[i].packets;

	nfo_buf_printf(out, "nft-offload %s: fast path %s", NFO_VERSION,
		       s->enabled ? "enabled" : "DISABLED (everything passes to nftables)");
	if (s->have_genid)
		nfo_buf_printf(out, ", nftables generation %u", s->genid);
	nfo_buf_printf(out, "\n");
	if (busy)
		nfo_buf_printf(out, "loading: %s (%llu elements)\n", busy,
			       (unsigned long long)busy_elements);
	if (s->error[0])
		nfo_buf_printf(out, "error: %s\n", s->error);
	if (s->plan && s->plan->error)
		nfo_buf_printf(out, "not offloaded: %s\n", s->plan->error);
	nfo_buf_printf(out, "last update: %.1f ms from change to live fast path (%.1f ms to build); "
		       "%llu update%s, %llu of them set elements only\n",
		       s->last_update_ms, s->last_build_ms, (unsigned long long)s->updates,
		       s->updates == 1 ? "" : "s", (unsigned long long)s->set_updates);
	watchdog_text(s, out);
	reject_limits_text(s, out);
	if (s->set_updates)
		nfo_buf_printf(out, "set elements: %llu change(s) applied in place, last in "
			       "%.2f ms; %llu map entries written, %llu set(s) read again, %llu "
			       "expiries asked for (%llu unanswered)\n",
			       (unsigned long long)s->set_updates_in_place, s->last_set_update_ms,
			       (unsigned long long)s->set_entries_written,
			       (unsigned long long)s->set_rereads,
			       (unsigned long long)s->set_expiry_reads,
			       (unsigned long long)s->set_expiry_pending);
	if (s->set_updates_disabled)
		nfo_buf_printf(out, "set elements: %llu change(s) passed everything until a full "
			       "resync; last: %s\n",
			       (unsigned long long)s->set_updates_disabled,
			       s->set_updates_disabled_reason);
	nfo_buf_printf(out, "\n");

	nfo_buf_printf(out, "%-16s %7s  %-12s %-8s %7s  %s\n", "INTERFACE", "IFINDEX", "MODE",
		       "ATTACHED", "PROG", "NOTE");
	for (size_t i = 0; i < s->nifaces; i++) {
		const struct nfo_iface *f = &s->ifaces[i];
		bool attached = f->link_fd >= 0;

		nfo_buf_printf(out, "%-16s %7d  %-12s %-8s %7u  %s\n", f->name, f->ifindex,
			       nfo_mode_name(attached ? f->active_mode : f->mode),
			       attached ? "yes" : "no", attached ? f->prog_id : 0,
			       f->error[0] ? f->error :
			       f->block_note[0] ? f->block_note : f->l3_note);
	}

	nfo_buf_printf(out, "\n%-40s %6s  %-8s %12s %14s  %s\n", "RULE (family table chain)",
		       "HANDLE", "OFFLOAD", "DROPPED", "BYTES", "REASON");
	for (size_t ci = 0; s->rs && ci < s->rs->nchains; ci++) {
		const struct nfo_chain *c = &s->rs->chains[ci];

		snprintf(name, sizeof(name), "%s %s %s", nfo_family_name(c->family), c->table, c->name);
		for (size_t k = 0; k < c->nrules; k++) {
			const struct nfo_rule *r = &c->rules[k];
			int lvl;
			struct nfo_counter cnt;
			const char *o;

			lvl = rule_reason(s, r, reason, sizeof(reason));
			nfo_rule_key(r, key, sizeof(key));
			counter_of(s, key, &cnt);
			o = offload_name(lvl);
			full += lvl == NFO_OFFLOAD_FULL;
			partial += lvl == NFO_OFFLOAD_PARTIAL;
			none += lvl == NFO_OFFLOAD_NONE;
			nfo_buf_printf(out, "%-40s %6llu  %-8s %12llu %14llu  %s\n", name,
				       (unsigned long long)r->handle, o,
				       (unsigned long long)cnt.packets, (unsigned long long)cnt.bytes,
				       reason);
		}
		if (c->base) {
			struct nfo_counter cnt;

			snprintf(key, sizeof(key), "%s %s %s policy", nfo_family_name(c->family),
				 c->table, c->name);
			counter_of(s, key, &cnt);
			nfo_buf_printf(out, "%-40s %6s  %-8s %12llu %14llu  %s %s priority %d\n", name,
				       "policy", c->policy_drop ? "drop" : "accept",
				       (unsigned long long)cnt.packets, (unsigned long long)cnt.bytes,
				       "hook", nfo_hook_name(c->hook), c->prio);
		}
	}
	if (s->rs) {
		bool head = false;

		for (size_t i = 0; i < s->rs->nsets; i++) {
			const struct nfo_set *set = &s->rs->sets[i];

			if (!set->named)
				continue;
			if (!head)
				nfo_buf_printf(out, "\n%-40s %8s  %-13s %s\n",
					       "SET (family table name)", "ELEMENTS", "FAST PATH",
					       "REASON");
			head = true;
			snprintf(name, sizeof(name), "%s %s %s", nfo_family_name(set->family),
				 set->table, set->name);
			nfo_buf_printf(out, "%-40s %8zu  %-13s %s\n", name, set_elements(set),
				       set_where(s, set),
				       !set->usable ? set->why :
				       set->loading ? "loading: elements read so far; the fast path "
						      "drops on those" :
				       set->read_short ? "read while it changed: an element may be "
							 "missing until added again" : "");
		}
	}
	services_text(s, out);
	nfo_buf_printf(out, "\nrules: %zu offloaded, %zu partly (UNKNOWN predicates), %zu not\n", full,
		       partial, none);
	nfo_buf_printf(out, "fast path: dropped %llu packets (%llu bytes), passed %llu to the kernel",
		       (unsigned long long)st[NFO_STAT_DROPPED].packets,
		       (unsigned long long)st[NFO_STAT_DROPPED].bytes, (unsigned long long)passed);
	if (passed) {
		bool first = true;

		nfo_buf_printf(out, " (");
		for (int i = 0; i < _NFO_STAT_MAX; i++) {
			if (i == NFO_STAT_DROPPED || !st[i].packets)
				continue;
			nfo_buf_printf(out, "%s%s %llu", first ? "" : ", ", stat_names[i],
				       (unsigned long long)st[i].packets);
			first = false;
		}
		nfo_buf_printf(out, ")");
	}
	nfo_buf_printf(out, "\n");
}

void nfo_status_render(const struct nfo_daemon_state *s, bool json, struct nfo_buf *out)
{
	if (json)
		status_json(s, out);
	else
		status_text(s, out);
}

const char *nfo_status_stat_name(int stat)
{
	return stat >= 0 && stat < _NFO_STAT_MAX ? stat_names[stat] : "?";
}

size_t nfo_status_set_elements(const struct nfo_set *set)
{
	return set_elements(set);
}

const char *nfo_status_set_where(const struct nfo_daemon_state *s, const struct nfo_set *set)
{
	return set_where(s, set);
}

bool nfo_status_rule_offloaded(const struct nfo_daemon_state *s, const struct nfo_rule *r)
{
	char reason[256];

	return rule_reason(s, r, reason, sizeof(reason)) == NFO_OFFLOAD_FULL;
}

void nfo_status_counter(const struct nfo_daemon_state *s, const char *key,
			struct nfo_counter *ret)
{
	counter_of(s, key, ret);
}

/* The texts usable for the generation the fast path reflects, or NULL
 * with *why saying why not. */
static const struct nfo_ruletexts *usable_texts(const struct nfo_daemon_state *s,
						const struct nfo_ruletexts *t, const char **why)
{
	*why = NULL;
	if (!t || (!t->have_genid && !t->note)) {
		*why = "rule text not requested";
		return NULL;
	}
	if (!t->have_genid) {
		*why = t->note;
		return NULL;
	}
	if (!s->have_genid || t->genid != s->genid) {
		*why = "the ruleset changed while explain read it (run it again)";
		return NULL;
	}
	return t;
}


static void explain_text(const struct nfo_daemon_state *s, const struct nfo_ruletexts *texts,
			 const char *why, struct nfo_buf *out)
{
	char reason[256], rej[320];
	size_t full = 0, partial = 0, none = 0;

	nfo_buf_printf(out, "nft-offload %s: fast path %s", NFO_VERSION,
		       s->enabled ? "enabled" : "DISABLED (everything passes to nftables)");
	if (s->have_genid)
		nfo_buf_printf(out, ", nftables generation %u", s->genid);
	nfo_buf_printf(out, "\n");
	if (s->plan && s->plan->error)
		nfo_buf_printf(out, "not offloaded: %s\n", s->plan->error);
	if (why)
		nfo_buf_printf(out, "rule text unavailable: %s\n", why);
	for (size_t ci = 0; s->rs && ci < s->rs->nchains; ci++) {
		const struct nfo_chain *c = &s->rs->chains[ci];
		const char *scope = chain_scope(s, c);

		if (c->base)
			nfo_buf_printf(out, "\n%s %s %s: hook %s priority %d, policy %s%s%s\n",
				       nfo_family_name(c->family), c->table, c->name,
				       nfo_hook_name(c->hook), c->prio,
				       c->policy_drop ? "drop" : "accept", scope ? ": " : "",
				       scope ? scope : "");
		else
			nfo_buf_printf(out, "\n%s %s %s: regular chain\n",
				       nfo_family_name(c->family), c->table, c->name);
		for (size_t k = 0; k < c->nrules; k++) {
			const struct nfo_rule *r = &c->rules[k];
			int lvl;
			const char *text = nfo_ruletexts_get(texts, nfo_family_name(c->family),
							     c->table, r->handle);
			const char *o;

			lvl = rule_reason(s, r, reason, sizeof(reason));
			o = offload_name(lvl);
			full += lvl == NFO_OFFLOAD_FULL;
			partial += lvl == NFO_OFFLOAD_PARTIAL;
			none += lvl == NFO_OFFLOAD_NONE;
			nfo_buf_printf(out, "  %-7s handle %-5llu %s\n", o,
				       (unsigned long long)r->handle, text ? text : "");
			if (reason[0])
				nfo_buf_printf(out, "%23s^ %s\n", "", reason);
			if (lvl != NFO_OFFLOAD_NONE && reject_text(s, r, rej, sizeof(rej)))
				nfo_buf_printf(out, "%23s^ %s\n", "", rej);
			if (conntrack_text(r, lvl))
				nfo_buf_printf(out, "%23s^ %s\n", "", conntrack_text(r, lvl));
			if (r->note)
				nfo_buf_printf(out, "%23s^ note: %s\n", "", r->note);
		}
	}
	nfo_buf_printf(out, "\nrules: %zu offloaded, %zu partly (UNKNOWN predicates), %zu not\n",
		       full, partial, none);
	for (size_t i = 0; i < s->nservices; i++) {
		const struct nfo_service_state *ss = &s->services[i];
		const struct nfo_chain *c = service_chain(s, ss);

		nfo_buf_printf(out, "\nservice %s %s: %s %s %s: %s%s%s\n", ss->cfg->name,
			       nfo_service_dir_name(ss->dir), nfo_family_name(ss->ref->family),
			       ss->ref->table, ss->ref->chain, service_state(ss),
			       ss->reason[0] ? ": " : "", ss->reason);
		for (size_t k = 0; c && k < c->nrules; k++) {
			const struct nfo_rule *r = &c->rules[k];
			const char *text = nfo_ruletexts_get(texts, nfo_family_name(c->family),
							     c->table, r->handle);

			nfo_buf_printf(out, "  %-8s handle %-5llu %s\n",
				       r->nalts ? "map" : nfo_verdict_name(r->verdict),
				       (unsigned long long)r->handle, text ? text : "");
		}
	}
}

void nfo_explain_render(const struct nfo_daemon_state *s, bool json,
			const struct nfo_ruletexts *t, struct nfo_buf *out)
{
	const char *why;
	const struct nfo_ruletexts *texts = usable_texts(s, t, &why);
	char reason[256], rej[320];
	struct nfo_json j;

	if (!json) {
		explain_text(s, texts, why, out);
		return;
	}
	nfo_json_init(&j, out);
	nfo_json_obj_begin(&j);
	nfo_json_key(&j, "generation");
	if (s->have_genid)
		nfo_json_u64(&j, s->genid);
	else
		nfo_json_null(&j);
	nfo_json_kstr(&j, "fast_path", s->enabled ? "enabled" : "disabled");
	nfo_json_kstr(&j, "error", s->plan && s->plan->error ? s->plan->error : NULL);
	nfo_json_kstr(&j, "text_unavailable", why);
	nfo_json_key(&j, "chains");
	nfo_json_arr_begin(&j);
	for (size_t ci = 0; s->rs && ci < s->rs->nchains; ci++) {
		const struct nfo_chain *c = &s->rs->chains[ci];
		const char *scope = chain_scope(s, c);

		nfo_json_obj_begin(&j);
		nfo_json_kstr(&j, "family", nfo_family_name(c->family));
		nfo_json_kstr(&j, "table", c->table);
		nfo_json_kstr(&j, "chain", c->name);
		nfo_json_kbool(&j, "base", c->base);
		if (c->base) {
			nfo_json_kstr(&j, "hook", nfo_hook_name(c->hook));
			nfo_json_ki64(&j, "priority", c->prio);
			nfo_json_kstr(&j, "policy", c->policy_drop ? "drop" : "accept");
		}
		nfo_json_kbool(&j, "considered", !scope);
		nfo_json_kstr(&j, "reason", scope);
		nfo_json_key(&j, "rules");
		nfo_json_arr_begin(&j);
		for (size_t k = 0; k < c->nrules; k++) {
			const struct nfo_rule *r = &c->rules[k];

			int lvl = rule_reason(s, r, reason, sizeof(reason));

			nfo_json_obj_begin(&j);
			nfo_json_ku64(&j, "handle", r->handle);
			nfo_json_kstr(&j, "text", nfo_ruletexts_get(texts, nfo_family_name(c->family),
								     c->table, r->handle));
			nfo_json_kstr(&j, "offload", offload_name(lvl));
			nfo_json_kstr(&j, "reason", reason[0] ? reason : NULL);
			nfo_json_kstr(&j, "reject", lvl == NFO_OFFLOAD_NONE ? NULL :
						    reject_text(s, r, rej, sizeof(rej)));
			nfo_json_kstr(&j, "conntrack", conntrack_text(r, lvl));
			nfo_json_kstr(&j, "note", r->note);
			nfo_json_obj_end(&j);
		}
		nfo_json_arr_end(&j);
		nfo_json_obj_end(&j);
	}
	nfo_json_arr_end(&j);
	nfo_json_key(&j, "services");
	nfo_json_arr_begin(&j);
	for (size_t i = 0; i < s->nservices; i++) {
		const struct nfo_service_state *ss = &s->services[i];
		const struct nfo_chain *c = service_chain(s, ss);

		nfo_json_obj_begin(&j);
		nfo_json_kstr(&j, "name", ss->cfg->name);
		nfo_json_kstr(&j, "direction", nfo_service_dir_name(ss->dir));
		nfo_json_kstr(&j, "family", nfo_family_name(ss->ref->family));
		nfo_json_kstr(&j, "table", ss->ref->table);
		nfo_json_kstr(&j, "chain", ss->ref->chain);
		nfo_json_kstr(&j, "state", service_state(ss));
		nfo_json_kstr(&j, "reason", ss->reason[0] ? ss->reason : NULL);
		nfo_json_key(&j, "rules");
		nfo_json_arr_begin(&j);
		for (size_t k = 0; c && k < c->nrules; k++) {
			const struct nfo_rule *r = &c->rules[k];

			nfo_json_obj_begin(&j);
			nfo_json_ku64(&j, "handle", r->handle);
			nfo_json_kstr(&j, "text", nfo_ruletexts_get(texts, nfo_family_name(c->family),
								     c->table, r->handle));
			nfo_json_kstr(&j, "verdict", r->nalts ? "map" : nfo_verdict_name(r->verdict));
			nfo_json_obj_end(&j);
		}
		nfo_json_arr_end(&j);
		nfo_json_obj_end(&j);
	}
	nfo_json_arr_end(&j);
	nfo_json_obj_end(&j);
	nfo_buf_put(out, "\n", 1);
}
