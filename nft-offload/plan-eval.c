// SPDX-License-Identifier: GPL-2.0-only
/*
 * Three-valued evaluation at the leaves of the expansion: once the fields
 * a group's rules test are resolved, the group's chains are run on the
 * alive list (SEMANTICS.md section 4): jumps, gotos and returns followed up
 * to the kernel's depth, effects STOP the reasoning, a drop is certain only
 * if every possible path drops. Also the truth of ct state predicates given
 * the fast path's conntrack lookup.
 */
#include "common/util.h"
#include "plan-internal.h"

/* Outcome bits of evaluating a chain (SEMANTICS.md section 4). */
enum {
	O_ACCEPT = 1,
	O_DROP = 2,
	O_STOP = 4,
	O_RET = 8, /* falls off the end / returns */
	O_REJECT = 16, /* dropped with an ICMP error (SEMANTICS.md section 4.1) */
	O_RESET = 32,  /* dropped with a TCP reset (section 4.1) */
};

#define NFO_JUMP_DEPTH 16 /* NFT_JUMP_STACK_SIZE */

static int32_t add_target(struct ctx *x, const struct nfo_rule *rule, const struct nfo_chain *chain)
{
	struct nfo_plan *pl = x->plan;

	if (nfo_grow(&pl->targets, &pl->targets_cap, pl->ntargets + 1, sizeof(*pl->targets)) < 0)
		return -1;
	pl->targets[pl->ntargets] = (struct nfo_plan_target){ .rule = rule, .chain = chain };
	return (int32_t)pl->ntargets++;
}

static int32_t rule_target(struct ctx *x, struct crule *c)
{
	if (c->primary >= 0 && &x->cr[c->primary] != c)
		return rule_target(x, &x->cr[c->primary]);
	if (c->drop_target < 0)
		c->drop_target = add_target(x, c->rule, c->rule->chain);
	return c->drop_target;
}

static int32_t policy_target(struct ctx *x, struct cchain *cc)
{
	if (cc->policy_target < 0)
		cc->policy_target = add_target(x, NULL, cc->chain);
	return cc->policy_target;
}

/* Entries of chain ci in the sorted alive list: [*ret_lo, *ret_hi). */
static void chain_span(const struct ctx *x, int ci, const struct aentry *a, size_t n,
		       size_t *ret_lo, size_t *ret_hi)
{
	uint32_t first = x->cc[ci].first, end = first + x->cc[ci].n;
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (a[mid].id < first)
			lo = mid + 1;
		else
			hi = mid;
	}
	*ret_lo = lo;
	while (lo < n && a[lo].id < end)
		lo++;
	*ret_hi = lo;
}

/* The nominal path through a chain (see tv_nominal). */
/* NOM_ON: within a rule, the nominal path goes on to the next rule */
enum { NOM_UNKNOWN, NOM_RET, NOM_DONE, NOM_ON };

struct outcome {
	unsigned bits;
	int32_t drop;     /* first rule that may drop, in evaluation order */
	int32_t accept;   /* exact mode: the same for accept */
	int nom;          /* how the nominal path left the chain */
	int32_t nom_drop; /* NOM_DONE: the drop it ended in, or -1 */
};

static void eval_chain(struct ctx *x, int ci, const struct aentry *a, size_t n, int depth,
		       struct outcome *o)
{
	bool nom_live = true;
	size_t lo, hi;

	o->bits = 0;
	o->drop = -1;
	o->accept = -1;
	o->nom = NOM_UNKNOWN;
	o->nom_drop = -1;
	if (depth > NFO_JUMP_DEPTH) {
		o->bits = O_STOP;
		return;
	}
	chain_span(x, ci, a, n, &lo, &hi);
	for (size_t i = lo; i < hi; i++) {
		struct crule *c = &x->cr[a[i].id];
		struct outcome v = { 0, -1, -1, NOM_RET, -1 };
		bool cont = false;
		int nt;

		if (c->effect && a[i].es != TV_F) {
			o->bits |= O_STOP;
			return;
		}
		if (a[i].ms == TV_F)
			continue;
		switch (c->verdict) {
		case NFO_VERDICT_CONTINUE:
			cont = true;
			break;
		case NFO_VERDICT_ACCEPT:
			v.bits = O_ACCEPT;
			if (x->exact)
				v.accept = rule_target(x, c);
			v.nom = NOM_DONE;
			break;
		case NFO_VERDICT_DROP:
			/* A reject is followed only at the hooks where its
			 * error goes through icmp_send (prerouting, input). */
			if (c->rule && c->rule->reject &&
			    !(c->rule->reject == NFO_REJECT_TCP_RST ? x->reset_ok : x->reject_ok)) {
				v.bits = O_STOP;
				v.nom = NOM_UNKNOWN;
				break;
			}
			v.bits = !c->rule || !c->rule->reject		    ? O_DROP :
				 c->rule->reject == NFO_REJECT_TCP_RST ? O_RESET :
									 O_REJECT;
			v.drop = rule_target(x, c);
			v.nom = NOM_DONE;
			v.nom_drop = v.drop;
			break;
		case NFO_VERDICT_RETURN:
			v.bits = O_RET;
			break;
		case NFO_VERDICT_JUMP:
			eval_chain(x, c->target, a, n, depth + 1, &v);
			cont = v.bits & O_RET;
			v.bits &= ~O_RET;
			if (v.nom == NOM_RET)
				v.nom = NOM_ON; /* back from the jump: go on */
			break;
		case NFO_VERDICT_GOTO:
			eval_chain(x, c->target, a, n, depth + 1, &v);
			break;
		default:
			v.bits = O_STOP;
			v.nom = NOM_UNKNOWN;
			break;
		}
		if ((v.bits & (O_DROP | O_REJECT | O_RESET)) && o->drop < 0)
			o->drop = v.drop;
		if ((v.bits & O_ACCEPT) && o->accept < 0)
			o->accept = v.accept;
		o->bits |= v.bits;
		/* follow the nominal path: it takes the rules nominally true */
		nt = tv_nominal(a[i].ms);
		if (nom_live && nt < 0) {
			nom_live = false;
			o->nom = NOM_UNKNOWN;
		} else if (nom_live && nt > 0 && c->verdict != NFO_VERDICT_CONTINUE &&
			   v.nom != NOM_ON) {
			nom_live = false;
			o->nom = v.nom;
			o->nom_drop = v.nom_drop;
		}
		if (o->bits & O_STOP)
			return;
		if (a[i].ms == TV_T && !cont)
			return;
	}
	o->bits |= O_RET;
	if (nom_live)
		o->nom = NOM_RET;
}

/* A group whose rules are resolved: the packet goes on, passes, or is
 * certainly dropped (*ret_drop: the target to credit, the likely rule
 * when several may drop), RES_REJECT if it may be rejected on the way. In
 * service mode (x->exact) the one chain is certainly dropped or accepted
 * (RES_ACCEPT) or the plan is inexact. */
int plan_eval_group(struct ctx *x, const struct cgroup *g, const struct aentry *a, size_t n,
		    int32_t *ret_drop)
{
	int32_t drop = -1;
	bool reject = false, reset = false, other = false;

	if (g->kind == G_STOP)
		return RES_PASS;
	if (g->kind == G_GATE) {
		size_t lo, hi;

		chain_span(x, g->chains[0], a, n, &lo, &hi);
		return hi > lo && a[lo].ms == TV_T ? RES_CONTINUE : RES_PASS;
	}
	for (size_t k = 0; k < g->n; k++) {
		struct cchain *cc = &x->cc[g->chains[k]];
		struct outcome o;

		x->reject_ok = cc->chain->hook == NFO_HOOK_PREROUTING ||
			       cc->chain->hook == NFO_HOOK_INPUT;
		/* At input the destination is a local unicast address (the
		 * gate before it): nf_send_reset answers it (no broadcast or
		 * multicast route) and the RST's source is that address. */
		x->reset_ok = cc->chain->hook == NFO_HOOK_INPUT && x->rst_cls_ok;
		eval_chain(x, g->chains[k], a, n, 0, &o);
		if (o.bits & O_RET) {
			/* End of a base chain (or return from it): its policy. */
			o.bits &= ~O_RET;
			if (cc->chain->policy_drop) {
				if (o.drop < 0)
					o.drop = policy_target(x, cc);
				o.bits |= O_DROP;
			} else {
				if (x->exact && o.accept < 0)
					o.accept = policy_target(x, cc);
				o.bits |= O_ACCEPT;
			}
		}
		if (x->exact) {
			/* One chain, evaluated completely: its outcome must be
			 * one verdict, anything else is not exact. */
			if (o.bits == O_DROP) {
				*ret_drop = o.drop;
				return RES_DROP;
			}
			if (o.bits == O_ACCEPT) {
				*ret_drop = o.accept;
				return RES_ACCEPT;
			}
			x->inexact = true;
			return RES_PASS;
		}
		if (o.nom == NOM_RET) {
			o.nom = NOM_DONE;
			o.nom_drop = cc->chain->policy_drop ? policy_target(x, cc) : -1;
		}
		if (o.bits & O_STOP)
			return RES_PASS;
		/* A TCP reset is sent by the fast path itself: only where it
		 * is certain, exactly once (one chain of the group certainly
		 * resets, every other one certainly lets the packet go on),
		 * never where a silent drop or an ICMP error could be the
		 * kernel's answer instead. */
		if (o.bits & O_RESET) {
			if (o.bits != O_RESET)
				return RES_PASS;
			if (!reset)
				drop = o.nom == NOM_DONE && o.nom_drop >= 0 ? o.nom_drop : o.drop;
			reset = true;
			continue;
		}
		if (o.bits & ~O_ACCEPT)
			other = true;
		/* A reject that may happen or not: the packet may get an
		 * error and go on (later groups would have to remember it):
		 * nftables decides. */
		if ((o.bits & O_REJECT) && (o.bits & O_ACCEPT))
			return RES_PASS;
		/* Any chain of the group may run first: a reject in one
		 * may answer a packet another certainly drops. */
		reject |= o.bits & O_REJECT;
		/* Certainly dropped: credit the likely rule if there is one. */
		if (!(o.bits & ~(O_DROP | O_REJECT)) && drop < 0)
			drop = o.nom == NOM_DONE && o.nom_drop >= 0 ? o.nom_drop : o.drop;
	}
	if (reset) {
		if (other || drop < 0)
			return RES_PASS;
		*ret_drop = drop;
		return RES_RESET;
	}
	if (drop >= 0) {
		*ret_drop = drop;
		return reject ? RES_REJECT : RES_DROP;
	}
	return RES_CONTINUE;
}

/*
 * The ct states the kernel may give a packet of conntrack class code
 * (NFO_CT_*), and the likely one. What can make the kernel differ from the
 * lookup made just before it (resolve_normal_ct() and the trackers):
 *  - INVALID, always (the TCP tracker rejects out-of-window packets, any
 *    tracker malformed ones), except for a SYN without entry whose header
 *    and checksum the fast path checked (NFO_CT_SYN): tcp_new() and
 *    tcp_in_window() accept a connection's first SYN, tcp_error() is all
 *    that could reject it;
 *  - NEW, always: an entry can expire, or a TCP one be reopened by a SYN,
 *    between the lookup and conntrack;
 *  - RELATED for a flow without entry only if an expectation may exist,
 *    i.e. the ruleset assigns helpers or expectations.
 * UNTRACKED needs notrack, whose rule stops the reasoning anyway.
 */
unsigned plan_ct_possible(const struct ctx *x, unsigned code, int *ret_nominal)
{
	unsigned m = 1u << NFO_CT_NEW | 1u << NFO_CT_INVALID;

	*ret_nominal = NFO_CT_NEW;
	if (!(code & NFO_CT_FOUND)) {
		if (code & NFO_CT_SYN)
			m &= ~(1u << NFO_CT_INVALID);
		if (x->ct_related)
			m |= 1u << NFO_CT_RELATED;
	} else if (code & NFO_CT_REPLY_OR_SEEN) {
		m |= 1u << NFO_CT_ESTABLISHED;
		*ret_nominal = NFO_CT_ESTABLISHED;
	} else if (code & NFO_CT_EXPECTED) {
		m |= 1u << NFO_CT_RELATED;
		*ret_nominal = NFO_CT_RELATED;
	}
	return m;
}

/*
 * The truth of a CTC_* condition for conntrack class code (NFO_CT_CLASSES:
 * no lookup was possible). At the NAT hooks (nf_nat_inet_fn), a packet of
 * an entry gets the entry's bindings (nf_nat_packet) and the nat chains are
 * not run, as NAT is set up once per direction (IPS_*_NAT_DONE); a packet
 * without entry runs the nat chains if conntrack creates one, which it may
 * not (an invalid packet gets none, and nf_nat_inet_fn lets it through).
 *  - The gate holds for an entry NAT cannot change (NFO_CT_NAT clear) and
 *    for no entry, unless an expectation may exist: a connection created
 *    from one can get NAT from its master without any nat rule
 *    (nf_nat_follow_master).
 *  - A nat chain's rules hold nominally where there was no entry (even
 *    then conntrack may create none), and nominally not where there was
 *    one: it can expire between the lookup and conntrack, and the packet
 *    then starts a new connection, as plan_ct_possible() says.
 */
uint8_t plan_ct_cond_truth(const struct ctx *x, int cond, unsigned code)
{
	if (code >= NFO_CT_CLASSES)
		return TV_U;
	if (cond == CTC_NAT_GATE) {
		if (code & NFO_CT_NAT)
			return TV_F;
		return !(code & NFO_CT_FOUND) && x->ct_related ? TV_F : TV_T;
	}
	return code & NFO_CT_FOUND ? TV_UF : TV_UT;
}

/*
 * The truth of a ct status predicate (set: the NFO_CTS_* combinations for
 * which its comparison holds) for a packet of conntrack class code that the
 * plan carries to the rule. docs/SEMANTICS.md 3.1 has the argument:
 *  - nft_ct_get_eval() breaks the rule when the packet has no conntrack
 *    entry (invalid, untracked, before conntrack's hook), which is always
 *    possible: the predicate is at most nominally true.
 *  - No entry at the lookup: conntrack creates one (init_conntrack) with
 *    no status bit but IPS_EXPECTED (and NAT from the master) when an
 *    expectation matched, possible only if the ruleset assigns helpers or
 *    expectations. It is
 *    unconfirmed, so no reply was seen and it is not assured. A NAT
 *    binding sets IPS_SRC_NAT/IPS_DST_NAT only through a NAT statement
 *    (nf_nat_setup_info, when the tuple changes): the plan reaches this
 *    rule only past every NAT statement that could apply (those stop it),
 *    and the null binding (nf_nat_alloc_null_binding) changes no tuple.
 *  - An entry without NFO_CT_NAT has neither NAT bit; should it expire
 *    before conntrack, the new entry gets none either, as above. Its other
 *    bits the lookup does not report.
 */
uint8_t plan_ct_status_truth(const struct ctx *x, const struct nfo_vset *set, unsigned code)
{
	unsigned open;
	bool any = false, all = true;

	if (code >= NFO_CT_CLASSES)
		return TV_U;
	if (!(code & NFO_CT_FOUND))
		/* an expectation's connection can also take NAT from its
		 * master at once (nf_nat_follow_master), before any nat chain */
		open = x->ct_related ? NFO_CTS_EXPECTED | NFO_CTS_SRC_NAT | NFO_CTS_DST_NAT : 0;
	else if (!(code & NFO_CT_NAT))
		open = NFO_CTS_ALL & ~(NFO_CTS_SRC_NAT | NFO_CTS_DST_NAT);
	else
		open = NFO_CTS_ALL;
	for (unsigned cts = 0; cts <= NFO_CTS_ALL; cts++) {
		bool in;

		if (cts & ~open)
			continue;
		in = nfo_vset_contains(set, cts);
		any |= in;
		all &= in;
	}
	if (!any)
		return TV_F;
	if (!all)
		return code & NFO_CT_FOUND ? TV_U : nfo_vset_contains(set, 0) ? TV_UT : TV_UF;
	return TV_UT;
}

/* The truth of a ct state predicate; possible 0: no lookup, any state. */
uint8_t plan_ct_truth(const struct nfo_vset *set, unsigned possible, int nominal)
{
	bool any = false, all = true;

	if (!possible)
		return TV_U;
	for (int st = 0; st < _NFO_CT_STATES; st++) {
		bool in;

		if (!(possible & (1u << st)))
			continue;
		in = nfo_vset_contains(set, nfo_ct_state_value(st));
		any |= in;
		all &= in;
	}
	if (all)
		return TV_T;
	if (!any)
		return TV_F;
	return nfo_vset_contains(set, nfo_ct_state_value(nominal)) ? TV_UT : TV_UF;
}
