// SPDX-License-Identifier: GPL-2.0-only
/*
 * Building and applying the fast path: a full resync (the whole ruleset read
 * again), a rebuild (links or addresses changed: the same model planned
 * again) and an element-only update (the plan stays, set maps change).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>

#include <libnftnl/set.h>

#include "common/log.h"
#include "common/util.h"
#include "daemon-internal.h"
#include "expq.h"
#include "import.h"
#include "plan.h"
#include "reject.h"
#include "ruleset.h"
#include "setdelta.h"
#include "bpf/nfo_store.h"

/* A new fast path (built since t0) is live: the times status reports.
 * Called with the lock held. */
static void went_live(struct daemon *d, const struct timespec *t0)
{
	struct nfo_daemon_state *s = &d->st;

	s->enabled = true;
	s->error[0] = '\0';
	s->last_build_ms = daemon_ms_since(t0);
	if (d->change_pending)
		s->last_update_ms = daemon_ms_since(&d->change_t0);
	d->change_pending = false;
	s->updates++;
}

void daemon_disable(struct daemon *d, const char *why)
{
	if (d->st.loader && nfo_loader_enabled(d->st.loader)) {
		int r = nfo_loader_disable(d->st.loader);

		if (r < 0)
			log_error_errno(r, "cannot disable the fast path: %m");
	}
	daemon_lock(d);
	d->st.enabled = false;
	daemon_unlock(d);
	if (!d->change_pending) {
		d->change_pending = true;
		clock_gettime(CLOCK_MONOTONIC, &d->change_t0);
	}
	log_debug("fast path disabled: %s", why);
}

void daemon_arm_retry(struct daemon *d, unsigned ms)
{
	struct itimerspec it = { .it_value = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 } };

	(void)timerfd_settime(d->timerfd, 0, &it, NULL);
}

/* ---- the plan and its counter keys ----------------------------------------- */


/* The copy of the interfaces a rebuild or update works on (the loader
 * writes what it attached into them); published when it is done. */
static struct nfo_iface *ifaces_copy(const struct daemon *d)
{
	struct nfo_iface *ifs = calloc(d->st.nifaces + 1, sizeof(*ifs));

	if (ifs && d->st.nifaces)
		memcpy(ifs, d->st.ifaces, d->st.nifaces * sizeof(*ifs));
	return ifs;
}

/* Called with the lock held. */
static void ifaces_publish(struct daemon *d, const struct nfo_iface *ifs)
{
	if (d->st.nifaces)
		memcpy(d->st.ifaces, ifs, d->st.nifaces * sizeof(*ifs));
}

static void set_error(struct daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct daemon *d, const char *fmt, ...)
{
	va_list ap;

	daemon_lock(d);
	va_start(ap, fmt);
	vsnprintf(d->st.error, sizeof(d->st.error), fmt, ap);
	va_end(ap);
	daemon_unlock(d);
}

void daemon_free_plan(struct daemon *d)
{
	struct nfo_daemon_state *s = &d->st;

	nfo_plan_keys_free(s->keys, s->plan ? s->plan->ntargets : 0);
	s->keys = NULL;
	nfo_plan_free(&s->plan);
	free(d->built_links);
	d->built_links = NULL;
	d->nbuilt_links = 0;
	free(d->built_addrs);
	d->built_addrs = NULL;
	d->nbuilt_addrs = 0;
	free(d->built_routes);
	d->built_routes = NULL;
	d->nbuilt_routes = 0;
}

/* ---- rebuild ------------------------------------------------------------------- */

static void describe_l3(const struct nfo_link *lk, const struct nfo_link *links, size_t n,
			char *buf, size_t len)
{
	const struct nfo_link *m;

	buf[0] = '\0';
	if (lk->master) {
		m = nfo_link_by_index(links, n, lk->master);
		snprintf(buf, len, "port of %s: only its ingress chains are offloaded",
			 m ? m->name : "a master device");
	} else if (lk->has_uppers) {
		snprintf(buf, len, "has upper devices (vlan, macvlan...): only its ingress chains are offloaded");
	} else if (!lk->has_mac) {
		snprintf(buf, len, "not an Ethernet device: only its ingress chains are offloaded");
	}
}

/*
 * Brings ifc up to date with its link (NULL: not present) and says whether
 * the plan decides for it, filling *p if so.
 */
/* net.ipv4/ipv6.conf.<name>.forwarding is on; false when unreadable. */
static bool forwarding_on(const char *name, bool v6)
{
	char path[96];
	int64_t v;

	snprintf(path, sizeof(path), "net/%s/conf/%s/forwarding", v6 ? "ipv6" : "ipv4", name);
	return nfo_sysctl_int("/proc/sys", path, &v) == 0 && v != 0;
}

uint64_t daemon_forwarding_sig(struct daemon *d)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (size_t i = 0; i < d->st.nifaces; i++) {
		const struct nfo_iface *f = &d->st.ifaces[i];
		uint64_t v;

		if (f->ifindex <= 0)
			continue;
		v = (uint64_t)(uint32_t)f->ifindex << 2 | forwarding_on(f->name, false) << 1 |
		    forwarding_on(f->name, true);
		for (int b = 0; b < 8; b++) {
			h ^= (v >> (8 * b)) & 0xff;
			h *= 1099511628211ull;
		}
	}
	return h;
}

static bool iface_refresh(struct daemon *d, struct nfo_iface *ifc, const struct nfo_link *lk,
			  const struct nfo_link *links, size_t nlinks, struct nfo_plan_iface *p)
{
	if (!lk) {
		if (ifc->ifindex || !ifc->missing_logged)
			log_warn("interface %s not found; it will be attached when it appears",
				 ifc->name);
		ifc->missing_logged = true;
		ifc->ifindex = 0;
		snprintf(ifc->error, sizeof(ifc->error), "interface not found");
		ifc->l3_note[0] = '\0';
		ifc->block_note[0] = '\0';
		return false;
	}
	ifc->missing_logged = false;
	ifc->ifindex = lk->ifindex;
	/* tc ingress runs after XDP and before nftables, and its filters and
	 * programs may redirect packets away: nftables would then not decide
	 * them at all. */
	ifc->foreign_tcx = nfo_loader_foreign_tcx(d->st.loader, lk->ifindex) > 0;
	ifc->block_note[0] = '\0';
	if (lk->tc_ingress)
		snprintf(ifc->block_note, sizeof(ifc->block_note),
			 "tc ingress qdisc: its filters run before nftables and may redirect packets");
	else if (ifc->foreign_tcx)
		snprintf(ifc->block_note, sizeof(ifc->block_note),
			 "another tc ingress program runs before nftables and may redirect packets");
	if (ifc->block_note[0]) {
		log_warn("%s: not offloaded: %s", ifc->name, ifc->block_note);
		/* no root: every frame on it passes (still attached, so offload
		 * resumes when the filters go) */
		return false;
	}
	p->ifindex = lk->ifindex;
	snprintf(p->name, sizeof(p->name), "%s", lk->name);
	memcpy(p->mac, lk->mac, 6);
	memcpy(p->bcast, lk->bcast, 6);
	describe_l3(lk, links, nlinks, ifc->l3_note, sizeof(ifc->l3_note));
	p->l3 = ifc->l3_note[0] == '\0';
	p->no_xmit = ifc->mode == NFO_MODE_XDP && !strcmp(lk->kind, "veth");
	p->no_fwd4 = !forwarding_on(lk->name, false);
	p->no_fwd6 = !forwarding_on(lk->name, true);
	return true;
}

/*
 * Plans for in and writes the plan into the fast path (its other half, then
 * switched to). The state's plan and keys stay until the caller swaps
 * *ret_plan and *ret_keys in; a failed apply only says why in s->error.
 */
static int plan_and_apply(struct daemon *d, const struct nfo_plan_input *in,
			  struct nfo_iface *ifs, struct nfo_plan **ret_plan, char ***ret_keys)
{
	struct nfo_daemon_state *s = &d->st;
	struct nfo_plan *plan = NULL;
	char **keys = NULL;
	char err[256];
	int r;

	daemon_busy(d, "planning", false);
	r = nfo_plan_build(in, &plan);
	if (r < 0)
		return log_error_errno(r, "planning the fast path: %m");
	if (plan->error)
		log_warn("ruleset not offloaded: %s", plan->error);
	r = nfo_plan_keys(plan, &keys);
	if (r < 0) {
		nfo_plan_free(&plan);
		return log_error_errno(r, "out of memory");
	}
	daemon_busy(d, "writing maps", true);
	/* Still enabled here: only transactions that add rules that can only
	 * drop came (on_nft), the running generation stays sound until the
	 * new one is live: no pass-everything window. */
	if (s->enabled && s->enabled_once) {
		r = nfo_loader_apply_live(s->loader, plan, keys, s->genid, ifs, s->nifaces, err,
					  sizeof(err));
		if (r == 0)
			__atomic_fetch_add(&s->live_updates, 1, __ATOMIC_RELAXED);
	} else {
		r = nfo_loader_apply(s->loader, plan, keys, s->genid, ifs, s->nifaces, err,
				     sizeof(err));
	}
	if (r < 0) {
		nfo_plan_keys_free(keys, plan->ntargets);
		nfo_plan_free(&plan);
		set_error(d, "%s", err);
		return log_error_errno(r, "fast path not updated, passing everything: %s", err);
	}
	*ret_plan = plan;
	*ret_keys = keys;
	return 0;
}

int daemon_rebuild(struct daemon *d)
{
	struct nfo_daemon_state *s = &d->st;
	_cleanup_free_ struct nfo_link *links = NULL;
	_cleanup_free_ struct nfo_addr *addrs = NULL;
	_cleanup_free_ struct nfo_route *routes = NULL;
	_cleanup_free_ struct nfo_plan_iface *pif = NULL;
	_cleanup_free_ int *up = NULL;
	_cleanup_free_ struct nfo_iface *ifs = NULL;
	struct nfo_plan *plan = NULL, *old_plan;
	char **keys = NULL, **old_keys;
	size_t nlinks = 0, naddrs = 0, nroutes = 0, npif = 0, nup = 0;
	struct nfo_plan_input in;
	struct timespec t0;
	bool rules4_plain, fib6_plain, rst6_plain;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* elements applied from notifications: elems follow keys lazily */
	for (size_t i = 0; s->rs && i < s->rs->nsets; i++)
		if (nfo_set_refresh_elems(&s->rs->sets[i]) < 0)
			return log_error_errno(-ENOMEM, "out of memory");
	r = nfo_rtnl_links(d->rtnl, &links, &nlinks);
	if (r == 0)
		r = nfo_rtnl_addrs(d->rtnl, &addrs, &naddrs);
	if (r == 0)
		r = nfo_rtnl_local_routes(d->rtnl, &routes, &nroutes);
	if (r < 0)
		return log_error_errno(r, "reading links, addresses and routes: %m");
	rules4_plain = nfo_rtnl_rules4_plain(d->rtnl) > 0;
	/* read before the interfaces' own readings: a change after it is
	 * seen by the next poll (one replan too many at worst) */
	d->fwd_sig = daemon_forwarding_sig(d);
	fib6_plain = nfo_rtnl_fib6_plain(d->rtnl) > 0;
	rst6_plain = nfo_rtnl_rst6_plain(d->rtnl) > 0;
	pif = calloc(s->nifaces + 1, sizeof(*pif));
	up = calloc(nlinks + 1, sizeof(*up));
	ifs = ifaces_copy(d);
	if (!pif || !up || !ifs)
		return log_error_errno(-ENOMEM, "out of memory");
	for (size_t i = 0; i < nlinks; i++)
		if (links[i].up)
			up[nup++] = links[i].ifindex;

	/* Detach first whatever moved: deleted, recreated under the same name
	 * (new ifindex), or renamed, possibly to another configured name whose
	 * entry attaches below to the same ifindex. */
	for (size_t i = 0; i < s->nifaces; i++) {
		struct nfo_iface *ifc = &ifs[i];
		const struct nfo_link *lk = nfo_link_by_name(links, nlinks, ifc->name);

		if (ifc->ifindex && (!lk || lk->ifindex != ifc->ifindex))
			nfo_loader_detach(s->loader, ifc);
	}
	for (size_t i = 0; i < s->nifaces; i++) {
		struct nfo_iface *ifc = &ifs[i];

		if (iface_refresh(d, ifc, nfo_link_by_name(links, nlinks, ifc->name), links, nlinks,
				  &pif[npif]))
			npif++;
	}

	in = (struct nfo_plan_input){
		.rs = s->rs,
		.ifaces = pif,
		.nifaces = npif,
		.addrs = addrs,
		.naddrs = naddrs,
		.up_ifindexes = up,
		.nup = nup,
		.routes = routes,
		.nroutes = nroutes,
		.have_routes = true,
		.bcast_input = d->bc_forwarding == 0,
		.l2_group = s->config.decide_broadcast,
		.rules4_plain = rules4_plain,
		.fib6_plain = fib6_plain,
		.rst6_plain = rst6_plain,
		.max_edges = s->config.max_edges,
	};
	r = plan_and_apply(d, &in, ifs, &plan, &keys);
	if (r < 0) {
		daemon_lock(d);
		ifaces_publish(d, ifs);
		daemon_unlock(d);
		return r;
	}
	for (size_t i = 0; i < s->nifaces; i++) {
		struct nfo_iface *ifc = &ifs[i];

		if (ifc->ifindex && ifc->link_fd < 0)
			log_error("%s: %s", ifc->name, ifc->error);
		else if (ifc->ifindex && ifc->error[0])
			log_info("%s: %s", ifc->name, ifc->error);
	}
	daemon_lock(d);
	ifaces_publish(d, ifs);
	old_plan = s->plan;
	old_keys = s->keys;
	s->plan = plan;
	for (int k = 0; k < NFO_MAX_SETS; k++)
		d->slot_pol[k] = -1;
	s->keys = keys;
	s->enabled_once = true;
	went_live(d, &t0);
	daemon_unlock(d);
	nfo_plan_keys_free(old_keys, old_plan ? old_plan->ntargets : 0);
	nfo_plan_free(&old_plan);
	free(d->built_links);
	free(d->built_addrs);
	d->built_links = TAKE_PTR(links);
	d->nbuilt_links = nlinks;
	d->built_addrs = TAKE_PTR(addrs);
	d->nbuilt_addrs = naddrs;
	free(d->built_routes);
	d->built_routes = TAKE_PTR(routes);
	d->nbuilt_routes = nroutes;
	d->built_rules4_plain = rules4_plain;
	d->built_fib6_plain = fib6_plain;
	d->built_rst6_plain = rst6_plain;
	log_info("fast path updated: nftables generation %u, %zu nodes, %zu drop targets, %.1f ms",
		 s->genid, plan->nnodes - 1, plan->ntargets, s->last_build_ms);
	return 0;
}

int daemon_resync(struct daemon *d)
{
	struct nfo_nft_dump *dump = NULL;
	struct nfo_ruleset *rs = NULL, *old;
	struct timespec t0;
	bool read_failed;
	double read_ms;
	int r;

	/* what is being streamed or asked belongs to the model this replaces */
	daemon_streams_clear(d);
	daemon_expiry_forget(d, NULL);
	daemon_busy(d, "reading ruleset", true);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int tries = 0;; tries++) {
		r = nfo_nft_read_ruleset_opts(&dump, false, &d->st.busy_elements,
					      daemon_stream_after(d));
		read_failed = r < 0;
		if (r < 0)
			break;
		daemon_busy(d, "building the model", false);
		r = nfo_ruleset_new(&rs, dump);
		if (r < 0)
			break;
		/* sets read only in part that the fast path needs whole */
		r = daemon_streams_prepare(d, dump, rs);
		if (r == 1) {
			nfo_ruleset_free(&rs);
			r = nfo_ruleset_new(&rs, dump);
		}
		if (r != -EAGAIN || tries >= 20)
			break;
		nfo_ruleset_free(&rs);
		nfo_nft_dump_free(&dump);
		/* a set read while the kernel resized it (import.c set_cb):
		 * the resize lasts some 50-100 ms; the first tries wait a bit */
		if (tries < 4)
			usleep(25000 * (tries + 1));
	}
	if (r < 0 && (read_failed || r == -EAGAIN)) {
		nfo_ruleset_free(&rs);
		nfo_nft_dump_free(&dump);
		daemon_disable(d, "cannot read the ruleset");
		/* status shows it until the fast path is back */
		set_error(d, "cannot read the nftables ruleset: %s", strerror(-r));
		log_error("cannot read the nftables ruleset: %s; retrying", strerror(-r));
		daemon_arm_retry(d, RETRY_MS);
		return r;
	}
	read_ms = daemon_ms_since(&t0);
	/* where a start on a large set goes: the kernel's dump dominates */
	log_debug("ruleset read and model built in %.1f ms (%" PRIu64 " set elements)",
		  read_ms, __atomic_load_n(&d->st.busy_elements, __ATOMIC_RELAXED));
	if (r < 0) {
		nfo_ruleset_free(&rs);
		nfo_nft_dump_free(&dump);
		daemon_disable(d, "cannot build the model");
		daemon_arm_retry(d, RETRY_MS);
		return log_error_errno(r, "building the ruleset model: %m");
	}
	daemon_lock(d);
	old = d->st.rs;
	d->st.rs = rs;
	d->st.genid = rs->genid;
	d->st.have_genid = true;
	/* Services first: they enforce, the fast path only accelerates (under
	 * the lock: status renders their state). */
	daemon_services_update(d);
	daemon_unlock(d);
	if (daemon_streams_take(d, dump) < 0)
		log_warn("out of memory: large sets stay partly read until the next resync");
	nfo_nft_dump_free(&dump);
	r = daemon_rebuild(d);
	/* Freed only now: until the rebuild publishes its plan, status
	 * compares the old plan's set pointers with the model's. */
	nfo_ruleset_free(&old);
	if (r < 0) {
		daemon_disable(d, "rebuild failed");
		daemon_arm_retry(d, 1000);
	}
	return r;
}

/* ---- element-only updates ------------------------------------------------------- */

void daemon_txq_clear(struct daemon *d)
{
	for (size_t i = 0; i < d->ntxq; i++)
		nfo_nft_txn_clear(&d->txq[i]);
	free(d->txq);
	d->txq = NULL;
	d->ntxq = 0;
}

/* Whether the model's rules hold copies of s's elements (translate.c puts
 * them in predicates it cannot leave to a slot, verdict maps in alts). */
static bool set_in_rules(const struct nfo_ruleset *rs, const struct nfo_set *s)
{
	for (size_t i = 0; i < rs->nchains; i++) {
		const struct nfo_chain *c = &rs->chains[i];

		for (size_t k = 0; k < c->nrules; k++) {
			const struct nfo_rule *r = &c->rules[k];

			if (r->vmap_set == s)
				return true;
			for (size_t p = 0; p < r->npreds; p++)
				if (r->preds[p].from_set == s)
					return true;
		}
	}
	return false;
}

/* The operations of the queued transactions on one set, in order. */
struct set_ops {
	struct nfo_set *set;
	const struct nfo_nft_setdelta *first;
	struct nfo_nft_elem *ops; /* concatenated when several transactions */
	size_t nops;
	bool overflow;
	struct nfo_set_change change;
	/* keys whose expiry is asked once the change is written (sorted) */
	uint8_t *ask;
	size_t nask;
};

static void set_ops_free(struct set_ops *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].ops);
		free(v[i].ask);
		nfo_set_change_clear(&v[i].change);
	}
	free(v);
}

static int gather(struct daemon *d, struct set_ops **ret, size_t *ret_n)
{
	struct nfo_daemon_state *s = &d->st;
	struct set_ops *v = NULL;
	size_t n = 0;

	for (size_t t = 0; t < d->ntxq; t++) {
		for (size_t i = 0; i < d->txq[t].nsets; i++) {
			const struct nfo_nft_setdelta *sd = &d->txq[t].sets[i];
			struct nfo_set *set = nfo_ruleset_find_set(s->rs, (int)sd->family, sd->table,
								   sd->name);
			struct set_ops *o = NULL;
			struct nfo_nft_elem *p;

			/* a table that is dormant, or a set the model cannot
			 * hold elements of: nothing depends on them */
			if (!set || !set->usable)
				continue;
			for (size_t k = 0; k < n && !o; k++)
				if (v[k].set == set)
					o = &v[k];
			if (!o) {
				struct set_ops *q = realloc(v, (n + 1) * sizeof(*v));

				if (!q)
					goto oom;
				v = q;
				o = &v[n++];
				*o = (struct set_ops){ .set = set, .first = sd };
			}
			o->overflow |= sd->overflow;
			if (o->overflow || !sd->nops)
				continue;
			p = realloc(o->ops, (o->nops + sd->nops) * sizeof(*p));
			if (!p)
				goto oom;
			o->ops = p;
			memcpy(o->ops + o->nops, sd->ops, sd->nops * sizeof(*p));
			o->nops += sd->nops;
		}
	}
	*ret = v;
	*ret_n = n;
	return 0;
oom:
	set_ops_free(v, n);
	return -ENOMEM;
}

/* Each changed slot's polarity, computed once per plan (slot_pol is reset
 * when a plan goes live): the loader orders the writes by it. */
static int slot_polarities(struct daemon *d, const struct nfo_plan *plan,
			   struct nfo_slot_change *ch, size_t nch)
{
	for (size_t i = 0; i < nch; i++) {
		int k = ch[i].slot;

		if (d->slot_pol[k] < 0)
			d->slot_pol[k] = nfo_plan_slot_polarity(plan, k);
		if (d->slot_pol[k] < 0) {
			d->slot_pol[k] = -1;
			return -ENOMEM;
		}
		ch[i].polarity = d->slot_pol[k];
	}
	return 0;
}

__attribute__((format(printf, 2, 3)))
static int why(struct daemon *d, const char *fmt, ...)
{
	va_list ap;

	daemon_lock(d);
	va_start(ap, fmt);
	vsnprintf(d->st.set_updates_disabled_reason, sizeof(d->st.set_updates_disabled_reason), fmt,
		  ap);
	va_end(ap);
	d->st.set_updates_disabled++;
	daemon_unlock(d);
	log_debug("%s", d->st.set_updates_disabled_reason);
	return -EAGAIN;
}

/* Reads set o->set again at genid into *ret (a copy of its type), outside
 * the lock: the netlink round trip is the long part. */
static int fetch_set(const struct nfo_set *set, uint32_t genid, struct nfo_set *ret)
{
	struct nftnl_set *ns = NULL;
	struct nfo_nft_elems *es = NULL;
	struct nfo_nft_jiffies at = {};
	int r;

	nfo_set_copy_type(set, ret);
	r = nfo_nft_read_set((uint32_t)set->family, set->table, set->name, genid, &ns, &es, &at);
	if (r < 0)
		return r;
	r = nfo_set_reload_elems(ret, ns, es, &at);
	nftnl_set_free(ns);
	nfo_nft_elems_free(&es);
	if (r == 0 && !ret->usable)
		r = -EINVAL;
	return r;
}

static bool set_expiring(const struct nfo_set *set)
{
	/* (drop_only adds nothing: import.c sets it only for sets that expire,
	 * that the packet path changes, or that were streamed, and a
	 * streamed set without timeouts takes notified operations as they
	 * come: daemon-stream.c) */
	return set->expires || (set->flags & NFT_SET_TIMEOUT) || set->timeout_ms;
}

static bool restream_ok(const struct daemon *d, const struct set_ops *o);

/*
 * Sets whose elements are written whole from a read (update_expiring()):
 * the packet path changes them without a notification; or their elements
 * expire and they are exact sets whose keys do not fit a bucket table (an
 * expiry cannot be rewritten in place), no clock places expiries, or they
 * are still streamed and lost operations (the deletes among them cannot be
 * kept from later batches). Ranges that expire are read again and diffed
 * with their expiries, in place (daemon_update_sets()). A set with timeouts that streams otherwise follows
 * notifications in place like the others: a later batch skips the keys
 * deleted since (tombstones) and leaves the keys it finds held with the
 * expiry they have (nfo_set_add_read()), which is at least as recent a
 * lower bound as the batch's.
 */
static bool set_written_whole(const struct daemon *d, const struct set_ops *o)
{
	const struct nfo_set *set = o->set;

	return set->pp_add || set->pp_delete ||
	       (set_expiring(set) &&
		((!set->interval && set->key_len > NFO_TABLE_MAX_KEY) || !d->clock ||
		 (set->loading && o->overflow && !restream_ok(d, o))));
}

/* Reads set o->set again at genid and diffs it against the model (the
 * model changes under the lock: status renders it). For a set whose
 * elements expire, the read's expiries (lower bounds from a clock read
 * before the request) replace the model's where they differ. */
static int reread(struct daemon *d, struct set_ops *o, uint32_t genid)
{
	struct nfo_set fresh = {};
	int r;

	/* a large set takes seconds to read (status says so meanwhile) */
	daemon_busy(d, "reading sets", true);
	r = fetch_set(o->set, genid, &fresh);
	if (r == 0)
		__atomic_fetch_add(&d->st.busy_elements, fresh.nkeys + fresh.elems.n,
				   __ATOMIC_RELAXED);
	/* changed by the packet path: written whole (never here) */
	if (r == 0 && (fresh.pp_add || fresh.pp_delete))
		r = -EINVAL;
	if (r == 0) {
		daemon_lock(d);
		d->st.set_rereads++;
		r = nfo_set_replace(o->set, &fresh, &o->change);
		daemon_unlock(d);
	}
	/* the read is at least as recent as any question out on the set:
	 * its answers must not change what the read found */
	if (r == 0)
		daemon_expiry_forget(d, o->set);
	nfo_set_clear_elems(&fresh);
	return r;
}

/*
 * A transaction with more element operations than are buffered
 * (NFO_NFT_TXN_MAX_OPS: a blocklist loaded in one `nft -f`) leaves the set
 * unknown: which keys it deleted is lost. Read whole on the event loop, a
 * set of 100,000s of elements stalls it for seconds (the watchdog then
 * turns the fast path off) and passes everything meanwhile. A plain set
 * that every rule looks up toward drop (or none) is read again like a
 * large set at start instead: its keys leave the model and the fast path
 * in place (dropping less is sound; its slot never passes everything), it
 * is loading, and a stream reads it back while the fast path runs
 * (daemon-stream.c: tombstones for later deletes, passes until whole),
 * beside any other set's stream; a stream the set had is dropped (it read
 * what the transaction changed).
 */
static bool restream_ok(const struct daemon *d, const struct set_ops *o)
{
	const struct nfo_set *set = o->set;
	const struct nfo_daemon_state *s = &d->st;

	/* (elements that expire: streamed with the clock their expiries are
	 * placed by, into a bucket table, as at start) */
	if (!o->overflow || !set->named ||
	    (set_expiring(set) && (!d->clock || set->key_len > NFO_TABLE_MAX_KEY)) ||
	    set->interval || set->is_map || !set->key_len || !daemon_stream_after(d) ||
	    (set->flags & (NFT_SET_ANONYMOUS | NFT_SET_INTERVAL | NFT_SET_MAP | NFT_SET_EVAL |
			   NFT_SET_OBJECT | NFT_SET_CONCAT)))
		return false;
	/* toward drop in every rule of the model, not only in those the plan
	 * reads now: a rebuild (an interface that appears) plans again from
	 * the same model while the set loads */
	return set->usable && nfo_ruleset_set_read_toward_drop(s->rs, set) &&
	       (!nfo_plan_set_used(s->plan, set) || nfo_plan_set_updatable(s->plan, set));
}

static int restream(struct daemon *d, struct set_ops *o)
{
	struct nfo_set *set = o->set, empty;
	struct nfo_nft_stream *st = NULL;
	size_t held = nfo_set_nkeys_held(set);
	int r;

	r = nfo_nft_stream_open((uint32_t)set->family, set->table, set->name, &st);
	if (r < 0)
		return r;
	nfo_set_copy_type(set, &empty);
	empty.usable = true;
	daemon_lock(d);
	r = nfo_set_replace(set, &empty, &o->change);
	if (r == 0) {
		set->loading = set->streamed = set->drop_only = true;
		set->read_short = false;
		d->st.set_restreams++;
	}
	daemon_unlock(d);
	nfo_set_clear_elems(&empty);
	/* expiries asked for keys of the set: the stream reads them again */
	if (r == 0)
		daemon_expiry_forget(d, set);
	if (r == 0)
		r = daemon_streams_add(d, set, st);
	if (r < 0) {
		nfo_nft_stream_free(&st);
		return r;
	}
	log_info("set %s %s: more element operations in one transaction than are followed one by "
		 "one: its %zu element(s) leave the fast path and it is read again while the fast "
		 "path runs, dropping on the elements read so far", set->table, set->name, held);
	return 0;
}

/* Where the last element update's time went (its log line says): the
 * GETSETELEM round trip of expiring_ops() (0 when the questions are asked
 * off the event loop: daemon_update_answered() logs theirs), netting and
 * merging into the model (that included), the map writes. */
static struct {
	double get_ms, get_cpu_ms, model_ms, write_ms;
} phase;

/* The calling thread's CPU time: against the wall clock, how much of a
 * phase the daemon waited (for the CPU, on a loaded machine). */
static double thread_cpu_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/*
 * The notified operations on a set whose elements expire, netted per key,
 * in line (the set is not drop-ward, or there is no expiry thread). A
 * NEWSETELEM's expiration is the time left when the kernel built the
 * message, before it was received: an expiry from it is an upper bound. So
 * the keys the transaction leaves added are asked for again, one GETSETELEM
 * each, after a jiffies64 reading T: an answer's expiration E means the
 * kernel expires the element no earlier than T + E (nfo_elem_expiry), and
 * ENOENT that it is gone now. Keys deleted last need no question.
 * -EINVAL: the operations or the answers cannot be used (read the set).
 */
static int expiring_ops(struct daemon *d, struct set_ops *o)
{
	struct nfo_set *set = o->set;
	_cleanup_free_ uint8_t *keys = NULL, *ask = NULL;
	_cleanup_free_ bool *add = NULL, *present = NULL;
	_cleanup_free_ uint64_t *exp = NULL;
	_cleanup_free_ struct nfo_nft_elem_state *st = NULL;
	struct nfo_nft_jiffies at = {};
	size_t n = 0, nask = 0, len = set->key_len;
	int r;

	r = nfo_set_net_ops(set, o->ops, o->nops, &keys, &add, &n);
	if (r < 0)
		return r;
	present = calloc(n + 1, sizeof(*present));
	exp = calloc(n + 1, sizeof(*exp));
	ask = malloc((n + 1) * len);
	st = calloc(n + 1, sizeof(*st));
	if (!present || !exp || !ask || !st)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (add[i])
			memcpy(ask + nask++ * len, keys + i * len, len);
	if (nask) {
		struct timespec tg;
		double cpu0 = thread_cpu_ms();

		clock_gettime(CLOCK_MONOTONIC, &tg);
		r = nfo_nft_get_elems((uint32_t)set->family, set->table, set->name, ask, nask,
				      (uint32_t)len, st, &at);
		phase.get_ms += daemon_ms_since(&tg);
		phase.get_cpu_ms += thread_cpu_ms() - cpu0;
		if (r == -ENOMEM)
			return r;
		if (r < 0 || !at.hz) {
			log_debug("set %s %s: asking for %zu element(s) failed: %s", set->table,
				  set->name, nask, r < 0 ? strerror(-r) : "no clock");
			return -EINVAL;
		}
	}
	for (size_t i = 0, j = 0; i < n; i++) {
		struct nfo_elem life;

		if (!add[i])
			continue;
		present[i] = st[j].present;
		life = (struct nfo_elem){ .has_timeout = st[j].has_timeout,
					  .has_expiration = st[j].has_expiration,
					  .timeout_ms = st[j].timeout_ms,
					  .expiration_ms = st[j].expiration_ms };
		exp[i] = present[i] ? nfo_elem_expiry(&life, at.jiffies, at.hz) : 0;
		j++;
	}
	/* asked and answered now: a question still out on these keys is
	 * older than this answer */
	for (size_t i = 0; i < n; i++)
		daemon_expiry_cancel(d, set, keys + i * len);
	daemon_lock(d);
	r = nfo_set_apply_expiring(set, keys, present, exp, n, &o->change);
	d->st.set_expiry_reads += nask;
	daemon_unlock(d);
	return r;
}

/*
 * Whether the added keys of set may go live after the rest of their
 * transaction (expiring_async()): its lookups all lead to drop
 * (drop_only), so a key missing from the fast path only makes it drop
 * less, whatever the other slots hold; or no slot reads it.
 */
static bool expiry_async_ok(const struct daemon *d, const struct nfo_set *set)
{
	const struct nfo_daemon_state *s = &d->st;

	if (!daemon_expiry_on(d) || set->key_len > NFO_EXPQ_KEY_MAX)
		return false;
	return set->drop_only || !nfo_plan_set_used(s->plan, set);
}

/*
 * The notified operations on a set whose elements expire, netted per key,
 * without waiting for the kernel: every key the transaction touches leaves
 * the fast path now (a delete; an add, whose expiry is not known yet: a
 * re-add may have shortened it), with the rest of the transaction; the
 * keys it leaves added are asked for afterwards, off the event loop
 * (daemon-expiry.c), and go live when their answer comes, unless a later
 * operation decided them first. Only drop-ward sets (expiry_async_ok()).
 */
static int expiring_async(struct daemon *d, struct set_ops *o)
{
	struct nfo_set *set = o->set;
	_cleanup_free_ uint8_t *keys = NULL;
	_cleanup_free_ bool *add = NULL, *present = NULL;
	_cleanup_free_ uint64_t *exp = NULL;
	size_t n = 0, len = set->key_len;
	int r;

	r = nfo_set_net_ops(set, o->ops, o->nops, &keys, &add, &n);
	if (r < 0)
		return r;
	present = calloc(n + 1, sizeof(*present));
	exp = calloc(n + 1, sizeof(*exp));
	o->ask = malloc((n + 1) * len);
	if (!present || !exp || !o->ask)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		/* the answer to an earlier question no longer counts: this
		 * operation is later (an add is asked for again below) */
		daemon_expiry_cancel(d, set, keys + i * len);
		if (add[i])
			memcpy(o->ask + o->nask++ * len, keys + i * len, len);
	}
	daemon_lock(d);
	r = nfo_set_apply_expiring(set, keys, present, exp, n, &o->change);
	daemon_unlock(d);
	return r;
}

/*
 * Elements that the packet path changes without a notification, or that
 * expire where expiring_ops() cannot follow them (set_written_whole()). A
 * transaction touching such a set takes the path that reads: every set of
 * the transaction is read into a copy with a jiffies64 reading taken before
 * the request (nfo_elem_expiry: a lower bound), the copies are swapped in
 * under the lock, and the same plan is written into the other half and
 * switched to (nfo_loader_apply passes everything while it writes: a
 * deleted element is never live).
 */

/*
 * The model's sets changed (genid): the same plan written with them into the
 * other half, diffed against what that half holds, and switched to (a new
 * program set when the maps outgrew theirs). The fast path passes
 * everything meanwhile, so nothing the kernel removed stays live.
 */
static int apply_whole(struct daemon *d, uint32_t genid, struct nfo_iface *ifs,
		       const struct timespec *t0, bool count)
{
	struct nfo_daemon_state *s = &d->st;
	char err[256];
	int r;

	/* the images are encoded from keys alone: changes applied in place
	 * and not folded into them yet (kpend, a fold under way) are folded
	 * first, or a key deleted in place would come back into a store
	 * both halves share */
	daemon_lock(d);
	for (size_t i = 0; s->rs && i < s->rs->nsets; i++)
		if (nfo_set_refresh_elems(&s->rs->sets[i]) < 0) {
			daemon_unlock(d);
			return why(d, "out of memory applying element changes");
		}
	daemon_unlock(d);
	daemon_busy(d, "writing maps", true);
	r = nfo_loader_apply(s->loader, s->plan, s->keys, genid, ifs, s->nifaces, err,
			     sizeof(err));
	daemon_lock(d);
	ifaces_publish(d, ifs);
	if (r < 0) {
		snprintf(s->error, sizeof(s->error), "%s", err);
		daemon_unlock(d);
		log_error_errno(r, "fast path not updated, passing everything: %s", err);
		return why(d, "writing set elements failed: %.100s", err);
	}
	went_live(d, t0);
	/* (answers to expiry questions: their transaction counted already) */
	if (count)
		s->set_updates++;
	daemon_unlock(d);
	return 0;
}

static int update_expiring(struct daemon *d, struct set_ops *v, size_t n, uint32_t genid)
{
	struct nfo_daemon_state *s = &d->st;
	_cleanup_free_ struct nfo_set *fresh = NULL;
	_cleanup_free_ struct nfo_iface *ifs = NULL;
	struct timespec t0;
	int r = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < n; i++) {
		if (set_in_rules(s->rs, v[i].set))
			return why(d, "set %s: its elements are part of rules", v[i].set->name);
		if (nfo_plan_set_used(s->plan, v[i].set) &&
		    !nfo_plan_set_updatable(s->plan, v[i].set))
			return why(d, "set %s: its elements are compiled into the diagram",
				   v[i].set->name);
	}
	fresh = calloc(n + 1, sizeof(*fresh));
	ifs = ifaces_copy(d);
	if (!fresh || !ifs)
		return why(d, "out of memory applying element changes");
	daemon_busy(d, "reading sets", true);
	for (size_t i = 0; i < n; i++) {
		r = fetch_set(v[i].set, genid, &fresh[i]);
		if (r < 0) {
			r = why(d, "set %s: reading it failed", v[i].set->name);
			goto out;
		}
		__atomic_fetch_add(&s->busy_elements, fresh[i].nkeys + fresh[i].elems.n,
				   __ATOMIC_RELAXED);
	}
	daemon_lock(d);
	for (size_t i = 0; i < n; i++) {
		struct nfo_set tmp = *v[i].set;

		*v[i].set = fresh[i];
		v[i].set->read_short = false; /* read whole */
		fresh[i] = tmp;
	}
	s->genid = genid;
	s->rs->genid = genid;
	s->set_rereads += n;
	daemon_unlock(d);
	/* read whole now: a batch of a stream still running could predate
	 * the notified change (an expiry of an element since deleted), and an
	 * answer still out could too */
	for (size_t i = 0; i < n; i++) {
		daemon_streams_end_set(d, v[i].set);
		daemon_expiry_forget(d, v[i].set);
	}

	r = apply_whole(d, genid, ifs, &t0, true);
	if (r < 0)
		goto out;
	log_info("fast path updated: nftables generation %u, elements of %zu set(s) read, %.1f ms",
		 genid, n, s->last_build_ms);
	r = 0;
out:
	/* the elements the model held before (or the copies not published) */
	for (size_t i = 0; i < n; i++)
		nfo_set_clear_elems(&fresh[i]);
	return r;
}


/* The change is written: the keys left added in sets whose elements expire
 * are asked for (daemon-expiry.c), and go live with their answers.
 * -EAGAIN: a question could not be asked (those keys stay out of the fast
 * path, which only drops less, until the resync). */
static int ask_expiries(struct daemon *d, struct set_ops *v, size_t n, uint32_t genid)
{
	for (size_t i = 0; i < n; i++) {
		int r = daemon_expiry_ask(d, v[i].set, v[i].ask, v[i].nask, genid);

		if (r < 0)
			return why(d, "set %s: cannot ask for the expiries of added elements: %s",
				   v[i].set->name, strerror(-r));
	}
	return 0;
}

/*
 * Element-only transactions: the notified operations are applied to the
 * model and, as a difference, in place to the live generation's set slots
 * (nfo_loader_update_sets): the plan stays and no packet ever sees "pass
 * everything". A set whose operations were too many to buffer, or that the
 * model cannot follow from operations, is read again at the generation and
 * diffed the same way. -EAGAIN: do a full resync instead.
 */
int daemon_update_sets(struct daemon *d)
{
	struct nfo_daemon_state *s = &d->st;
	struct nfo_slot_change ch[NFO_MAX_SETS];
	struct nfo_loader_set_stats st = {};
	struct set_ops *v = NULL;
	size_t n = 0, nch = 0, ops = 0;
	uint32_t genid = d->txq_genid;
	/* from the first notification read to here: the wait in the event loop */
	double queued_ms = daemon_ms_since(&d->txq_t0);
	struct timespec tp;
	char err[256];
	int r;

	if (!s->rs || !s->plan || s->plan->error || !s->enabled_once || !s->enabled)
		return -EAGAIN; /* a resync is due anyway */
	phase.get_ms = phase.get_cpu_ms = phase.model_ms = phase.write_ms = 0;
	r = gather(d, &v, &n);
	if (r < 0)
		return why(d, "out of memory applying element changes");
	/* A service reads one of the sets: its program is rebuilt with the
	 * rest of the ruleset (the same program, new maps). */
	for (size_t i = 0; i < n; i++)
		if (daemon_services_use_set(d, v[i].set->family, v[i].set->table, v[i].set->name)) {
			r = why(d, "set %s: a service reads it", v[i].set->name);
			goto out;
		}
	/* Elements that change without a notification, or that expire where
	 * their expiries cannot be followed in place (set_written_whole()):
	 * the sets are read and written whole. */
	for (size_t i = 0; i < n; i++)
		if (set_written_whole(d, &v[i])) {
			r = update_expiring(d, v, n, genid);
			goto out;
		}
	for (size_t i = 0; i < n; i++) {
		struct set_ops *o = &v[i];

		if (!nfo_plan_set_updatable(s->plan, o->set) && nfo_plan_set_used(s->plan, o->set)) {
			r = why(d, "set %s: its elements are compiled into the diagram", o->set->name);
			goto out;
		}
		if (set_in_rules(s->rs, o->set)) {
			r = why(d, "set %s: its elements are part of rules", o->set->name);
			goto out;
		}
		if (restream_ok(d, o)) {
			r = restream(d, o);
			if (r < 0) {
				r = why(d, "set %s: reading it again while live failed", o->set->name);
				goto out;
			}
			goto changed;
		}
		if (o->set->loading && o->overflow) {
			/* the deletes among the lost operations cannot be
			 * remembered for the rest of the read */
			r = -EAGAIN;
			goto out;
		}
		if (o->set->loading)
			daemon_streams_note_ops(d, o->set, o->ops, o->nops);
		clock_gettime(CLOCK_MONOTONIC, &tp);
		if (o->overflow || (set_expiring(o->set) && o->set->interval)) {
			/* ranges that expire: read again with a clock reading
			 * before the dump (lower bounds), diffed with their
			 * expiries (nfo_set_replace) and written in place */
			r = -EINVAL;
		} else if (set_expiring(o->set) && expiry_async_ok(d, o->set)) {
			r = expiring_async(d, o);
		} else if (set_expiring(o->set)) {
			r = expiring_ops(d, o);
		} else {
			daemon_lock(d);
			r = nfo_set_apply_ops(o->set, o->ops, o->nops, &o->change);
			daemon_unlock(d);
		}
		phase.model_ms += daemon_ms_since(&tp);
		if (r == -EINVAL) {
			/* more than the notifications could carry, or an element
			 * the model cannot take from them: read the set */
			r = reread(d, o, genid);
			if (r < 0) {
				r = why(d, "set %s: reading it again failed", o->set->name);
				goto out;
			}
		} else if (r < 0) {
			r = why(d, "out of memory applying element changes");
			goto out;
		}
changed:
		ops += o->nops;
		for (size_t k = 0; k < s->plan->nsets; k++) {
			if (s->plan->sets[k].set != o->set || !nfo_set_change_size(&o->change))
				continue;
			ch[nch++] = (struct nfo_slot_change){ .slot = (int)k, .change = &o->change };
		}
	}
	/* several slots change together: their order matters; one alone: a
	 * drop-ward table may move a key to make room */
	if (slot_polarities(d, s->plan, ch, nch) < 0) {
		r = why(d, "out of memory applying element changes");
		goto out;
	}
	if (nch) {
		clock_gettime(CLOCK_MONOTONIC, &tp);
		r = nfo_loader_update_sets(s->loader, s->plan, ch, nch, &st, err, sizeof(err));
		phase.write_ms = daemon_ms_since(&tp);
		if (r == -E2BIG) {
			/* The set outgrew its map: what was written in place
			 * is sound (every step is); the model holds the new
			 * elements, written whole into a new program set. */
			_cleanup_free_ struct nfo_iface *ifs = ifaces_copy(d);
			struct timespec t0;

			clock_gettime(CLOCK_MONOTONIC, &t0);
			log_debug("element update: %s: writing the sets whole", err);
			if (!ifs) {
				r = why(d, "out of memory applying element changes");
				goto out;
			}
			daemon_lock(d);
			s->genid = genid;
			s->rs->genid = genid;
			daemon_unlock(d);
			r = apply_whole(d, genid, ifs, &t0, true);
			if (r == 0)
				log_info("fast path updated: nftables generation %u, %zu element "
					 "operation(s) on %zu set(s), maps outgrown, %.1f ms",
					 genid, ops, n, s->last_build_ms);
			if (r == 0)
				r = ask_expiries(d, v, n, genid);
			goto out;
		}
		if (r < 0) {
			log_error("element update: %s", err);
			r = why(d, "writing set elements failed: %.100s", err);
			goto out;
		}
	}
	daemon_lock(d);
	s->genid = genid;
	s->rs->genid = genid;
	s->set_updates++;
	s->set_updates_in_place++;
	s->updates++;
	s->set_entries_written += st.writes;
	s->set_grace_periods += st.grace_periods;
	s->last_set_update_ms = daemon_ms_since(&d->txq_t0);
	s->last_update_ms = s->last_set_update_ms;
	daemon_unlock(d);
	log_info("fast path updated in place: nftables generation %u, %zu element operation(s) "
		 "on %zu set(s), %zu map entries, %.2f ms (queued %.2f, model %.2f of which "
		 "GETSETELEM %.2f, %.2f of it on the CPU, maps %.2f)", genid, ops, n, st.writes,
		 s->last_set_update_ms, queued_ms, phase.model_ms, phase.get_ms, phase.get_cpu_ms,
		 phase.write_ms);
	r = ask_expiries(d, v, n, genid);
out:
	set_ops_free(v, n);
	return r;
}

int daemon_update_answered(struct daemon *d, struct nfo_set *set, const uint8_t *keys,
			   const bool *present, const uint64_t *expires, size_t n, size_t asked,
			   uint32_t genid, const struct timespec *t_note, double wait_ms,
			   double get_ms)
{
	struct nfo_daemon_state *s = &d->st;
	struct nfo_slot_change ch[NFO_MAX_SETS];
	struct nfo_loader_set_stats st = {};
	struct nfo_set_change change = {};
	size_t nch = 0, live = 0;
	struct timespec tp;
	double write_ms = 0;
	char err[256];
	int r;

	for (size_t i = 0; i < n; i++)
		live += present[i];
	daemon_lock(d);
	r = nfo_set_apply_expiring(set, keys, present, expires, n, &change);
	s->set_expiry_reads += asked;
	daemon_unlock(d);
	if (r < 0) {
		r = why(d, "set %s: applying the expiries of added elements failed", set->name);
		goto out;
	}
	/* Not live (a rebuild or resync is due): the model has them, and the
	 * next build writes them. */
	if (!s->plan || s->plan->error || !s->enabled)
		goto out;
	if (daemon_services_use_set(d, set->family, set->table, set->name)) {
		r = why(d, "set %s: a service reads it", set->name);
		goto out;
	}
	if ((nfo_plan_set_used(s->plan, set) && !nfo_plan_set_updatable(s->plan, set)) ||
	    set_in_rules(s->rs, set)) {
		r = why(d, "set %s: its elements are compiled into the diagram", set->name);
		goto out;
	}
	for (size_t k = 0; k < s->plan->nsets && nfo_set_change_size(&change); k++)
		if (s->plan->sets[k].set == set)
			ch[nch++] = (struct nfo_slot_change){ .slot = (int)k, .change = &change };
	/* additions to drop-ward slots only: every order is sound */
	if (slot_polarities(d, s->plan, ch, nch) < 0) {
		r = why(d, "out of memory applying element changes");
		goto out;
	}
	if (nch) {
		clock_gettime(CLOCK_MONOTONIC, &tp);
		r = nfo_loader_update_sets(s->loader, s->plan, ch, nch, &st, err, sizeof(err));
		write_ms = daemon_ms_since(&tp);
	}
	if (r == -E2BIG) {
		/* the set outgrew its map: written whole into a new program
		 * set (what was written in place stays sound meanwhile) */
		_cleanup_free_ struct nfo_iface *ifs = ifaces_copy(d);
		struct timespec t0;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		log_debug("element update: %s: writing the sets whole", err);
		r = ifs ? apply_whole(d, s->genid, ifs, &t0, false) :
			  why(d, "out of memory applying element changes");
		goto out;
	}
	if (r < 0) {
		log_error("element update: %s", err);
		r = why(d, "writing set elements failed: %.100s", err);
		goto out;
	}
	daemon_lock(d);
	s->set_entries_written += st.writes;
	daemon_unlock(d);
	log_info("fast path updated in place: expiries of set %s %s answered: %zu of %zu key(s) "
		 "of generation %u live, %zu map entries, %.2f ms after the notification (asked "
		 "after %.2f, GETSETELEM %.2f, maps %.2f)", set->table, set->name, live, asked,
		 genid, st.writes, daemon_ms_since(t_note), wait_ms, get_ms, write_ms);
out:
	nfo_set_change_clear(&change);
	return r;
}

int daemon_apply_stream_ops(struct daemon *d, struct nfo_set *set,
			    const struct nfo_nft_elem *ops, size_t nops, const uint64_t *expires)
{
	struct nfo_daemon_state *s = &d->st;
	struct nfo_slot_change ch[NFO_MAX_SETS];
	struct nfo_loader_set_stats st = {};
	struct nfo_set_change change = {};
	size_t nch = 0;
	char err[256];
	int r;

	if (!s->plan || s->plan->error || !s->enabled)
		return -EAGAIN;
	if ((nfo_plan_set_used(s->plan, set) && !nfo_plan_set_updatable(s->plan, set)) ||
	    set_in_rules(s->rs, set))
		return -EAGAIN; /* not for a set that changes alone: cannot happen */
	if (set->flags & NFT_SET_TIMEOUT) {
		/* elements that expire: added with their expiry, which
		 * notified operations do not carry as a lower bound */
		_cleanup_free_ uint8_t *keys = malloc(nops ? nops * set->key_len : 1);

		if (!keys)
			return -ENOMEM;
		for (size_t k = 0; k < nops; k++)
			memcpy(keys + k * set->key_len, ops[k].key, set->key_len);
		daemon_lock(d);
		r = nfo_set_add_read(set, keys, expires, nops, &change);
		daemon_unlock(d);
	} else {
		daemon_lock(d);
		r = nfo_set_apply_ops(set, ops, nops, &change);
		daemon_unlock(d);
	}
	if (r < 0)
		return r;
	__atomic_fetch_add(&s->busy_elements, nops, __ATOMIC_RELAXED);
	for (size_t k = 0; k < s->plan->nsets && nfo_set_change_size(&change); k++)
		if (s->plan->sets[k].set == set)
			ch[nch++] = (struct nfo_slot_change){ .slot = (int)k, .change = &change };
	/* only additions: every order is sound, but the loader wants each
	 * slot's polarity (a drop-ward table may move a key to make room
	 * instead of doubling) */
	r = slot_polarities(d, s->plan, ch, nch);
	if (r < 0)
		goto out;
	if (nch)
		r = nfo_loader_update_sets(s->loader, s->plan, ch, nch, &st, err, sizeof(err));
	if (r == -E2BIG) {
		/* the set outgrew its map: written whole into a new program
		 * set (what was written in place stays sound meanwhile) */
		_cleanup_free_ struct nfo_iface *ifs = ifaces_copy(d);
		struct timespec t0;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		log_debug("set %s %s being read: %s: writing the sets whole", set->table, set->name,
			  err);
		r = ifs ? apply_whole(d, s->genid, ifs, &t0, true) : -ENOMEM;
	} else if (r < 0) {
		log_error("set %s %s being read: %s", set->table, set->name, err);
	} else {
		daemon_lock(d);
		s->set_entries_written += st.writes;
		daemon_unlock(d);
	}
out:
	nfo_set_change_clear(&change);
	return r;
}

/* Snapshots are sorted and zero-filled, so compared bytewise. */
bool daemon_links_unchanged(struct daemon *d)
{
	_cleanup_free_ struct nfo_link *links = NULL;
	_cleanup_free_ struct nfo_addr *addrs = NULL;
	_cleanup_free_ struct nfo_route *routes = NULL;
	size_t nlinks = 0, naddrs = 0, nroutes = 0;

	if (nfo_rtnl_links(d->rtnl, &links, &nlinks) < 0 ||
	    nfo_rtnl_addrs(d->rtnl, &addrs, &naddrs) < 0 ||
	    nfo_rtnl_local_routes(d->rtnl, &routes, &nroutes) < 0)
		return false;
	return nlinks == d->nbuilt_links && naddrs == d->nbuilt_addrs &&
	       nroutes == d->nbuilt_routes &&
	       (nfo_rtnl_rules4_plain(d->rtnl) > 0) == d->built_rules4_plain &&
	       (nfo_rtnl_fib6_plain(d->rtnl) > 0) == d->built_fib6_plain &&
	       (nfo_rtnl_rst6_plain(d->rtnl) > 0) == d->built_rst6_plain &&
	       (!nlinks || !memcmp(links, d->built_links, nlinks * sizeof(*links))) &&
	       (!naddrs || !memcmp(addrs, d->built_addrs, naddrs * sizeof(*addrs))) &&
	       (!nroutes || !memcmp(routes, d->built_routes, nroutes * sizeof(*routes)));
}
