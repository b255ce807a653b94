// SPDX-License-Identifier: GPL-2.0-only
/*
 * Building and applying the fast path: a full resync (the whole ruleset read
 * again), a rebuild (links or addresses changed: the same model planned
 * again) and an element-only update (the plan stays, set maps change).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>

#include <libnftnl/set.h>

#include "common/log.h"
#include "common/util.h"
#include "daemon-internal.h"
#include "import.h"
#include "plan.h"
#include "ruleset.h"

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
	describe_l3(lk, links, nlinks, ifc->l3_note, sizeof(ifc->l3_note));
	p->l3 = ifc->l3_note[0] == '\0';
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
	r = nfo_loader_apply(s->loader, plan, keys, s->genid, ifs, s->nifaces, err, sizeof(err));
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
	_cleanup_free_ struct nfo_plan_iface *pif = NULL;
	_cleanup_free_ int *up = NULL;
	_cleanup_free_ struct nfo_iface *ifs = NULL;
	struct nfo_plan *plan = NULL, *old_plan;
	char **keys = NULL, **old_keys;
	size_t nlinks = 0, naddrs = 0, npif = 0, nup = 0;
	struct nfo_plan_input in;
	struct timespec t0;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = nfo_rtnl_links(d->rtnl, &links, &nlinks);
	if (r == 0)
		r = nfo_rtnl_addrs(d->rtnl, &addrs, &naddrs);
	if (r < 0)
		return log_error_errno(r, "reading links and addresses: %m");
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
	log_info("fast path updated: nftables generation %u, %zu nodes, %zu drop targets, %.1f ms",
		 s->genid, plan->nnodes - 1, plan->ntargets, s->last_build_ms);
	return 0;
}

int daemon_resync(struct daemon *d)
{
	struct nfo_nft_dump *dump = NULL;
	struct nfo_ruleset *rs = NULL, *old;
	int r;

	daemon_busy(d, "reading ruleset", true);
	r = nfo_nft_read_ruleset(&dump, false, &d->st.busy_elements);
	if (r < 0) {
		/* status shows it until the fast path is back */
		set_error(d, "cannot read the nftables ruleset: %s", strerror(-r));
		log_error("cannot read the nftables ruleset: %s; retrying", strerror(-r));
		daemon_arm_retry(d, RETRY_MS);
		return r;
	}
	daemon_busy(d, "building the model", false);
	r = nfo_ruleset_new(&rs, dump);
	nfo_nft_dump_free(&dump);
	if (r < 0) {
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
	r = daemon_rebuild(d);
	/* Freed only now: until the rebuild publishes its plan, status
	 * compares the old plan's set pointers with the model's. */
	nfo_ruleset_free(&old);
	if (r < 0)
		daemon_arm_retry(d, 1000);
	return r;
}

/* ---- element-only updates ------------------------------------------------------- */

/*
 * Element-only transactions: read just the changed sets (at the
 * transaction's generation) into the model; the plan stays, only the set
 * maps change. -EAGAIN: do a full resync instead.
 */
int daemon_update_sets(struct daemon *d)
{
	struct nfo_daemon_state *s = &d->st;
	struct nfo_nft_events *ev = &d->sets_changed;
	_cleanup_free_ struct nfo_set *fresh = NULL;
	_cleanup_free_ struct nfo_iface *ifs = NULL;
	struct timespec t0;
	char err[256];
	bool any = false;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!s->rs || !s->plan || s->plan->error || !s->enabled_once)
		return -EAGAIN;
	/* A service reads one of the sets: its program is rebuilt with the
	 * rest of the ruleset (the same program, new maps). */
	for (size_t i = 0; i < ev->nsets; i++)
		if (daemon_services_use_set(d, (int)ev->sets[i].family, ev->sets[i].table,
					    ev->sets[i].name))
			return -EAGAIN;
	for (size_t i = 0; i < ev->nsets; i++) {
		struct nfo_set *set = nfo_ruleset_find_set(s->rs, (int)ev->sets[i].family,
							   ev->sets[i].table, ev->sets[i].name);

		if (!set || (nfo_plan_set_used(s->plan, set) && !nfo_plan_set_updatable(s->plan, set))) {
			log_debug("set %s: its elements are in the diagram: full resync",
				  ev->sets[i].name);
			return -EAGAIN;
		}
		if (!nfo_plan_set_used(s->plan, set))
			continue; /* nothing of the fast path depends on it */
		any = true;
	}
	/* Read into copies, published all at once: status renders the model
	 * meanwhile, and a failure leaves it as it was. */
	fresh = calloc(ev->nsets + 1, sizeof(*fresh));
	ifs = ifaces_copy(d);
	if (!fresh || !ifs)
		return -EAGAIN;
	daemon_busy(d, "reading sets", true);
	for (size_t i = 0; i < ev->nsets; i++) {
		struct nfo_set *set = nfo_ruleset_find_set(s->rs, (int)ev->sets[i].family,
							   ev->sets[i].table, ev->sets[i].name);
		struct nftnl_set *ns = NULL;
		struct nfo_nft_jiffies at = {};

		if (!nfo_plan_set_used(s->plan, set))
			continue;
		r = nfo_nft_read_set(ev->sets[i].family, ev->sets[i].table, ev->sets[i].name,
				     ev->genid, &ns, &at);
		if (r < 0) {
			log_debug_errno(r, "reading set %s: %m: full resync", ev->sets[i].name);
			r = -EAGAIN;
			goto out;
		}
		nfo_set_copy_type(set, &fresh[i]);
		r = nfo_set_reload(&fresh[i], ns, &at);
		nftnl_set_free(ns);
		if (r < 0) {
			r = -EAGAIN;
			goto out;
		}
		__atomic_fetch_add(&s->busy_elements, fresh[i].nkeys + fresh[i].elems.n,
				   __ATOMIC_RELAXED);
	}
	daemon_lock(d);
	for (size_t i = 0; i < ev->nsets; i++) {
		struct nfo_set *set, tmp;

		if (!fresh[i].name)
			continue;
		set = nfo_ruleset_find_set(s->rs, (int)ev->sets[i].family, ev->sets[i].table,
					   ev->sets[i].name);
		tmp = *set;
		*set = fresh[i];
		fresh[i] = tmp;
	}
	s->genid = ev->genid;
	s->rs->genid = ev->genid;
	daemon_unlock(d);

	/* The same plan, written with the new elements into the other half
	 * (the elements are diffed against what that half holds). */
	daemon_busy(d, "writing maps", true);
	r = nfo_loader_apply(s->loader, s->plan, s->keys, s->genid, ifs, s->nifaces, err,
			     sizeof(err));
	daemon_lock(d);
	ifaces_publish(d, ifs);
	if (r < 0) {
		snprintf(s->error, sizeof(s->error), "%s", err);
		daemon_unlock(d);
		log_error_errno(r, "fast path not updated, passing everything: %s", err);
		goto out;
	}
	went_live(d, &t0);
	s->set_updates++;
	daemon_unlock(d);
	log_info("fast path updated: nftables generation %u, elements of %zu set(s)%s, %.1f ms",
		 s->genid, ev->nsets, any ? "" : " the fast path does not use", s->last_build_ms);
	r = 0;
out:
	/* the elements the model held before (or the copies not published) */
	for (size_t i = 0; fresh && i < ev->nsets; i++)
		nfo_set_clear_elems(&fresh[i]);
	return r;
}

/* Snapshots are sorted and zero-filled, so compared bytewise. */
bool daemon_links_unchanged(struct daemon *d)
{
	_cleanup_free_ struct nfo_link *links = NULL;
	_cleanup_free_ struct nfo_addr *addrs = NULL;
	size_t nlinks = 0, naddrs = 0;

	if (nfo_rtnl_links(d->rtnl, &links, &nlinks) < 0 ||
	    nfo_rtnl_addrs(d->rtnl, &addrs, &naddrs) < 0)
		return false;
	return nlinks == d->nbuilt_links && naddrs == d->nbuilt_addrs &&
	       (!nlinks || !memcmp(links, d->built_links, nlinks * sizeof(*links))) &&
	       (!naddrs || !memcmp(addrs, d->built_addrs, naddrs * sizeof(*addrs)));
}
