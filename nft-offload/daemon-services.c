// SPDX-License-Identifier: GPL-2.0-only
/*
 * The daemon's per-service filters: one pinned cgroup_skb program per
 * configured service and direction, kept in step with its chain. Unlike the
 * fast path they are never disabled while a change is applied: the version
 * in force stays until the next one is live, and a chain that cannot be
 * enforced exactly leaves the last good version in force (or, if there never
 * was one, the program drops everything).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "daemon-internal.h"
#include "plan.h"
#include "ruleset.h"
#include "service-loader.h"
#include "service.h"

static void services_dir(const struct daemon *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s/nft-offload/services", d->opts->bpffs);
}

static void strv_free(char **v, size_t n)
{
	nfo_plan_keys_free(v, n);
}

/* Pin directories of services no longer configured, and pins of
 * directions a service no longer has, go. */
static void unpin_stale(struct daemon *d, const char *base)
{
	const struct nfo_config *c = &d->st.config;
	struct dirent *de;
	DIR *dir = opendir(base);

	if (!dir)
		return;
	while ((de = readdir(dir))) {
		char path[PATH_MAX], pin[NFO_SERVICE_NAME_MAX];
		const struct nfo_config_service *sv = NULL;

		if (de->d_name[0] == '.')
			continue;
		for (size_t i = 0; i < c->nservices && !sv; i++) {
			nfo_service_pin_name(c->services[i].name, pin, sizeof(pin));
			if (!strcmp(pin, de->d_name))
				sv = &c->services[i];
		}
		snprintf(path, sizeof(path), "%.3500s/%s", base, de->d_name);
		if (!sv) {
			if (nfo_svc_owned_elsewhere(path))
				continue;
			log_info("service pin %s: no longer configured, unpinned", path);
			nfo_svc_unpin(path, -1);
			continue;
		}
		for (int k = 0; k < _NFO_SERVICE_DIR_MAX; k++)
			if (!sv->dir[k].set)
				nfo_svc_unpin(path, k);
	}
	closedir(dir);
}

int daemon_services_setup(struct daemon *d)
{
	struct nfo_daemon_state *s = &d->st;
	const struct nfo_config *c = &s->config;
	char base[PATH_MAX];
	size_t n = 0;

	services_dir(d, base, sizeof(base));
	unpin_stale(d, base);
	if (!c->nservices)
		return 0;
	s->services = calloc(c->nservices * _NFO_SERVICE_DIR_MAX, sizeof(*s->services));
	if (!s->services)
		return log_error_errno(-ENOMEM, "out of memory");
	for (size_t i = 0; i < c->nservices; i++) {
		const struct nfo_config_service *sv = &c->services[i];
		char pin[NFO_SERVICE_NAME_MAX];

		nfo_service_pin_name(sv->name, pin, sizeof(pin));
		for (int k = 0; k < _NFO_SERVICE_DIR_MAX; k++) {
			struct nfo_service_state *ss = &s->services[n];
			char err[512];
			bool reused = false;
			int r;

			if (!sv->dir[k].set)
				continue;
			n++;
			ss->cfg = sv;
			ss->dir = k;
			ss->ref = &sv->dir[k];
			snprintf(ss->pin, sizeof(ss->pin), "%.3500s/%s/%s", base, pin,
				 nfo_service_dir_name(k));
			r = nfo_svc_prog_open(ss->pin, k, &ss->prog, &reused, err, sizeof(err));
			if (r < 0) {
				ss->error = true;
				snprintf(ss->reason, sizeof(ss->reason), "%s", err);
				log_error("service %s %s: %s", sv->name, nfo_service_dir_name(k), err);
				continue;
			}
			ss->error = !nfo_svc_prog_enforcing(ss->prog);
			if (ss->error)
				snprintf(ss->reason, sizeof(ss->reason), "not compiled yet: dropping everything");
			log_info("service %s %s: %s program %u pinned at %s", sv->name,
				 nfo_service_dir_name(k), reused ? "reusing" : "loaded",
				 nfo_svc_prog_id(ss->prog), ss->pin);
		}
	}
	s->nservices = n;
	return 0;
}

/* The named sets a plan reads, by name (the plan's pointers die with the
 * model). */
static int plan_sets(const struct nfo_plan *p, char ***ret, size_t *ret_n)
{
	char **v = calloc(p->nsets + p->ndag_sets + 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < p->nsets + p->ndag_sets; i++) {
		const struct nfo_set *set = i < p->nsets ? p->sets[i].set : p->dag_sets[i - p->nsets];
		char buf[600];

		snprintf(buf, sizeof(buf), "%s %s %s", nfo_family_name(set->family), set->table,
			 set->name);
		v[n] = strdup(buf);
		if (!v[n]) {
			strv_free(v, n);
			return -ENOMEM;
		}
		n++;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static void update_one(struct daemon *d, struct nfo_service_state *ss)
{
	struct nfo_daemon_state *s = &d->st;
	struct nfo_plan *plan = NULL;
	char **keys = NULL, **sets = NULL;
	size_t nsets = 0;
	char reason[512], err[256];
	const char *name = ss->cfg->name, *dir = nfo_service_dir_name(ss->dir);
	int r;

	if (!ss->prog)
		return;
	r = nfo_service_compile(s->rs, ss->ref, s->config.max_edges, &plan, reason, sizeof(reason));
	if (r < 0) {
		log_error_errno(r, "service %s %s: compiling: %m", name, dir);
		return;
	}
	if (r > 0) {
		if (!ss->error || strcmp(ss->reason, reason))
			log_error("service %s %s: not enforced as it is now: %s; %s", name, dir, reason,
				  nfo_svc_prog_enforcing(ss->prog) ?
					  "the last good version stays in force" :
					  "it never compiled: dropping everything");
		ss->error = true;
		snprintf(ss->reason, sizeof(ss->reason), "%s", reason);
		return;
	}
	r = nfo_plan_keys(plan, &keys);
	if (r == 0)
		r = plan_sets(plan, &sets, &nsets);
	if (r < 0) {
		log_error_errno(r, "service %s %s: out of memory", name, dir);
		goto out;
	}
	r = nfo_svc_prog_apply(ss->prog, plan, keys, s->genid, err, sizeof(err));
	if (r < 0) {
		log_error("service %s %s: not updated: %s", name, dir, err);
		ss->error = true;
		snprintf(ss->reason, sizeof(ss->reason), "%s", err);
		goto out;
	}
	strv_free(ss->keys, ss->nkeys);
	ss->keys = TAKE_PTR(keys);
	ss->nkeys = plan->ntargets;
	strv_free(ss->sets, ss->nsets);
	ss->sets = TAKE_PTR(sets);
	ss->nsets = nsets;
	ss->error = false;
	ss->reason[0] = '\0';
	if (d->change_pending)
		ss->last_update_ms = daemon_ms_since(&d->change_t0);
	log_debug("service %s %s: enforcing generation %u (%zu nodes)", name, dir, s->genid,
		  plan->nnodes - 1);
out:
	strv_free(keys, plan->ntargets);
	strv_free(sets, nsets);
	nfo_plan_free(&plan);
}

void daemon_services_update(struct daemon *d)
{
	struct nfo_daemon_state *s = &d->st;

	if (!s->rs)
		return;
	for (size_t i = 0; i < s->nservices; i++)
		update_one(d, &s->services[i]);
	/* The new versions are live: now empty the halves they retired (after
	 * a grace period), so the next change need not wait for it. */
	for (size_t i = 0; i < s->nservices; i++) {
		if (!s->services[i].prog)
			continue;
		int r = nfo_svc_prog_tidy(s->services[i].prog);

		if (r < 0)
			log_warn("service %s: emptying retired maps: %s", s->services[i].cfg->name,
				 strerror(-r));
	}
}

bool daemon_services_use_set(struct daemon *d, int family, const char *table, const char *name)
{
	char buf[600];

	snprintf(buf, sizeof(buf), "%s %s %s", nfo_family_name(family), table, name);
	for (size_t i = 0; i < d->st.nservices; i++)
		for (size_t k = 0; k < d->st.services[i].nsets; k++)
			if (!strcmp(d->st.services[i].sets[k], buf))
				return true;
	return false;
}

void daemon_services_free(struct daemon *d)
{
	struct nfo_daemon_state *s = &d->st;

	for (size_t i = 0; i < s->nservices; i++) {
		nfo_svc_prog_free(&s->services[i].prog);
		strv_free(s->services[i].keys, s->services[i].nkeys);
		strv_free(s->services[i].sets, s->services[i].nsets);
	}
	free(s->services);
	s->services = NULL;
	s->nservices = 0;
}
