// SPDX-License-Identifier: GPL-2.0-only
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "bpfmap.h"
#include "encode.h"
#include "loader.h"
#include "plan.h"
#include "setdelta.h"
#include "setstore.h"
#include "slots.h"
#include "strmap.h"
#include "common/errbuf.h"
#include "common/log.h"
#include "watchdog.h"
#include "common/fs.h"
#include "common/util.h"

#include "nfo_tc.skel.h"
#include "nfo_xdp.skel.h"

/* enum bpf_attach_type in Linux >= 6.6; the uapi headers here predate it. */
#define NFO_BPF_TCX_INGRESS 46

/*
 * The elements of one set, shared by the slots of both halves that serve it
 * and kept across generations that keep the set (docs/ARCHITECTURE.md, "Set
 * stores"): an element change is written once, and a new generation
 * rewrites nothing of a set whose elements did not change.
 */
struct store {
	bool used;
	char *ident;   /* family, table, name and layout: store_ident() */
	uint8_t kind;  /* enum nfo_store_kind */
	bool has_exp;
	uint32_t key_len;
	/* NFO_STORE_TABLE: the table's map (in nfo_xstores) and its mmap */
	int fd;
	void *mem;
	size_t mem_len;
	struct nfo_table t;
	/* NFO_STORE_HASH, NFO_STORE_LPM: the entries written (store 0 in their
	 * keys), sorted, and changes written in place not folded into them */
	bool lpm;
	uint8_t *entries;
	size_t n;
	struct nfo_sorted_pending pend;
};

struct half {
	bool dirty; /* packets may still be walking it: not writable */
	int8_t store_of[NFO_MAX_SETS]; /* 1 + the store of slot k, 0: unused */
	/* LPM keys written for it, deleted before it is written again */
	struct nfo_lpm4_key *k4;
	size_t n4, cap4;
	struct nfo_lpm6_key *k6;
	size_t n6, cap6;
};

/*
 * A program set: the XDP and TC programs and the maps they share. It stays
 * loaded across ruleset generations, which alternate between the two halves
 * of its maps; a new set (and a link update on every interface) is needed
 * only when a plan outgrows the capacities.
 */
struct progset {
	struct nfo_xdp *xdp; /* owns the maps */
	struct nfo_tc *tc;
	struct nfo_ctl *ctl; /* mmapped nfo_ctl */
	size_t ctl_len;
	struct nfo_root *rootcache; /* mmapped nfo_rootcache */
	size_t rootcache_len;
	/* Slots ever given an owner: never given another (see NFO_ROOT_CACHE). */
	bool rootcache_used[NFO_ROOT_CACHE];
	struct nfo_caps caps;
	struct nfo_watchdog *wd; /* NULL: none (not asked for, or refused) */
	int active; /* live half, -1 before the first generation */
	struct half half[NFO_HALVES];
	struct store stores[NFO_MAX_STORES];
	struct nfo_grace grace;
	pthread_t cleaner;
	bool cleaner_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int job; /* half to clean, -1: none */
	bool stop;
	uint64_t margin_j; /* nfo_loader.margin_j */
};

struct nfo_loader {
	char pin_dir[PATH_MAX];
	uint32_t watchdog_ms;
	uint64_t wd_trips_retired; /* of program sets already freed */
	char wd_error[256];
	uint64_t margin_j;
	int ncpus;
	int counters_fd;
	int stats_fd;
	int keys_fd;
	/* trace (bpf/trace.h): shared by every program set, never pinned */
	int trace_ring_fd, trace_cfg_fd, trace_pcpu_fd;
	bool trace_on;
	/* the ICMP limits reject leaves follow, kept for new program sets */
	struct nfo_reject_cfg reject;
	/* slots.map is read by nfo_loader_counter() and ps by
	 * nfo_loader_watchdog() from the daemon's control thread: changed
	 * only under slots_mu (the main thread, the only writer, reads them
	 * without it) */
	pthread_mutex_t slots_mu;
	struct nfo_slots slots;
	struct progset *ps;
	uint64_t *progress;
};

/* ---- pinned, generation-independent maps ---------------------------------- */

static int pinned_map(const char *dir, const char *name, enum bpf_map_type type,
		      uint32_t value_size, uint32_t max_entries, bool *ret_reused)
{
	char path[PATH_MAX];

	*ret_reused = false;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	return nfo_map_pinned(path, name, type, value_size, max_entries, ret_reused);
}

static void unpin_all(struct nfo_loader *l)
{
	static const char *const names[] = { "counters", "stats", "slot_keys" };
	char path[PATH_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", l->pin_dir, names[i]) <
		    sizeof(path))
			unlink(path);
	}
	/* and the parents we created, if nobody else uses them */
	snprintf(path, sizeof(path), "%s", l->pin_dir);
	for (int up = 0; up < 3; up++) {
		char *slash;

		if (rmdir(path) < 0)
			break;
		slash = strrchr(path, '/');
		if (!slash || slash == path)
			break;
		*slash = '\0';
	}
}

int nfo_loader_new(struct nfo_loader **ret, const struct nfo_loader_opts *opts, char *err,
		   size_t errlen)
{
	struct nfo_loader *l;
	bool reused_c, reused_k, reused_s;
	int r;

	l = calloc(1, sizeof(*l));
	if (!l)
		return nfo_seterr(err, errlen, -ENOMEM, "out of memory");
	l->counters_fd = l->stats_fd = l->keys_fd = -1;
	l->trace_ring_fd = l->trace_cfg_fd = l->trace_pcpu_fd = -1;
	pthread_mutex_init(&l->slots_mu, NULL);
	l->progress = opts->progress;
	l->watchdog_ms = opts->watchdog_ms;
	l->margin_j = opts->margin_j;
	snprintf(l->pin_dir, sizeof(l->pin_dir), "%s", opts->pin_dir);
	l->ncpus = libbpf_num_possible_cpus();
	if (l->ncpus <= 0) {
		r = nfo_seterr(err, errlen, -EINVAL, "cannot count possible CPUs");
		goto fail;
	}
	r = nfo_slots_init(&l->slots, opts->max_slots ? opts->max_slots : 16384, l->ncpus,
			   &l->slots_mu);
	if (r < 0) {
		r = nfo_seterr(err, errlen, r, "out of memory");
		goto fail;
	}
	r = nfo_mkdir_p(l->pin_dir, 0700, true);
	if (r < 0) {
		r = nfo_seterr_errno(err, errlen, r, "cannot create %s", l->pin_dir);
		goto fail;
	}
	l->counters_fd = pinned_map(l->pin_dir, "counters", BPF_MAP_TYPE_PERCPU_ARRAY,
				    sizeof(struct nfo_counter), l->slots.max, &reused_c);
	l->stats_fd = pinned_map(l->pin_dir, "stats", BPF_MAP_TYPE_PERCPU_ARRAY,
				 sizeof(struct nfo_counter), _NFO_STAT_MAX, &reused_s);
	l->keys_fd = pinned_map(l->pin_dir, "slot_keys", BPF_MAP_TYPE_ARRAY,
				sizeof(struct nfo_slot_key), l->slots.max, &reused_k);
	if (l->counters_fd < 0 || l->stats_fd < 0 || l->keys_fd < 0) {
		r = l->counters_fd < 0 ? l->counters_fd : l->stats_fd < 0 ? l->stats_fd : l->keys_fd;
		r = nfo_seterr_errno(err, errlen, r, "cannot create counter maps in %s", l->pin_dir);
		goto fail;
	}
	l->slots.counters_fd = l->counters_fd;
	l->slots.keys_fd = l->keys_fd;
	l->trace_ring_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "nfo_trace_ring", 0, 0,
					  NFO_TRACE_RING_SIZE, NULL);
	l->trace_cfg_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "nfo_trace_cfg", sizeof(uint32_t),
					 sizeof(struct nfo_trace_cfg), 1, NULL);
	l->trace_pcpu_fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "nfo_trace_pcpu",
					  sizeof(uint32_t), sizeof(struct nfo_trace_pcpu), 1, NULL);
	if (l->trace_ring_fd < 0 || l->trace_cfg_fd < 0 || l->trace_pcpu_fd < 0) {
		r = nfo_seterr(err, errlen, -errno, "cannot create the trace maps: %s", strerror(errno));
		goto fail;
	}
	/* Counters of a previous daemon (it crashed, or was killed): keep
	 * them only if both maps survived. */
	if (reused_c && reused_k) {
		r = nfo_slots_restore(&l->slots);
		if (r < 0) {
			r = nfo_seterr_errno(err, errlen, r, "cannot restore the counter slots");
			goto fail;
		}
	}
	*ret = l;
	return 0;
fail:
	nfo_loader_free(&l, false);
	return r;
}

static void progset_free(struct progset **psp);

void nfo_loader_detach(struct nfo_loader *l, struct nfo_iface *iface)
{
	if (iface->link_fd >= 0)
		close(iface->link_fd);
	iface->link_fd = -1;
	iface->prog_id = 0;
}

void nfo_loader_free(struct nfo_loader **lp, bool unpin)
{
	struct nfo_loader *l = *lp;

	if (!l)
		return;
	progset_free(&l->ps);
	if (l->counters_fd >= 0)
		close(l->counters_fd);
	if (l->stats_fd >= 0)
		close(l->stats_fd);
	if (l->keys_fd >= 0)
		close(l->keys_fd);
	if (l->trace_ring_fd >= 0)
		close(l->trace_ring_fd);
	if (l->trace_cfg_fd >= 0)
		close(l->trace_cfg_fd);
	if (l->trace_pcpu_fd >= 0)
		close(l->trace_pcpu_fd);
	if (unpin)
		unpin_all(l);
	nfo_slots_fini(&l->slots);
	pthread_mutex_destroy(&l->slots_mu);
	free(l);
	*lp = NULL;
}

/* ---- counter slots ------------------------------------------------------- */

int nfo_loader_counter(struct nfo_loader *l, const char *key, struct nfo_counter *ret)
{
	return nfo_slots_counter(&l->slots, key, ret);
}

int nfo_loader_stats(struct nfo_loader *l, struct nfo_counter *ret)
{
	/* a stat the map cannot give reads 0 */
	for (uint32_t s = 0; s < _NFO_STAT_MAX; s++)
		if (nfo_percpu_sum(l->stats_fd, s, l->ncpus, &ret[s]) == -ENOMEM)
			return -ENOMEM;
	return 0;
}

/* ---- set stores -------------------------------------------------------------- */

static int wait_grace(struct progset *ps);

static size_t store_esz(const struct store *st)
{
	return st->lpm ? sizeof(struct nfo_image_setlpm) : sizeof(struct nfo_image_setkey);
}

static int store_map_fd(const struct progset *ps, const struct store *st)
{
	return st->lpm ? bpf_map__fd(ps->xdp->maps.nfo_setlpm) : bpf_map__fd(ps->xdp->maps.nfo_setkeys);
}

/* The map key of an image entry e (store 0) in store id. */
static void *stamp_key(const struct store *st, uint32_t id, const uint8_t *e, void *buf)
{
	if (st->lpm) {
		struct nfo_setlpm_key *k = buf;

		memcpy(k, e, sizeof(*k));
		k->store[0] = (uint8_t)(id >> 24);
		k->store[1] = (uint8_t)(id >> 16);
		k->store[2] = (uint8_t)(id >> 8);
		k->store[3] = (uint8_t)id;
	} else {
		struct nfo_setkey *k = buf;

		memcpy(k, e, sizeof(*k));
		k->store = id;
	}
	return buf;
}

static uint64_t entry_expires(const struct store *st, const uint8_t *e)
{
	return st->lpm ? ((const struct nfo_image_setlpm *)e)->expires :
			 ((const struct nfo_image_setkey *)e)->expires;
}

static void table_unmap(struct store *st)
{
	if (st->mem)
		munmap(st->mem, st->mem_len);
	if (st->fd >= 0)
		close(st->fd);
	nfo_table_fini(&st->t);
	st->mem = NULL;
	st->fd = -1;
}

/* A new, empty table of nbuckets for st, not in nfo_xstores yet. */
static int table_new(struct store *st, uint32_t nbuckets, int *ret_fd, void **ret_mem,
		     size_t *ret_len, struct nfo_table *ret)
{
	return nfo_table_map_new("nfo_set", nbuckets, nfo_table_kw(st->key_len), st->has_exp,
				 ret_fd, ret_mem, ret_len, ret);
}

static int copy_key(const uint32_t *key, uint64_t until, void *data)
{
	struct nfo_table *t = data;
	int r = nfo_table_insert(t, key, until);

	/* No packet reads a table being filled aside: a key may move to
	 * its other bucket, and the slot it left is free at once. Without
	 * that, two-choice buckets of three IPv6 keys overflow now and then
	 * from a quarter full, and the table would double once more. */
	if (r == -ENOSPC && nfo_table_make_room(t, key) == 1) {
		nfo_table_release(t);
		r = nfo_table_insert(t, key, until);
	}
	return r < 0 ? -ENOSPC : 0;
}

/*
 * Makes room in store id's table for n more keys: slots in quarantine are
 * released after a grace period, or a table of at least twice the buckets
 * is filled aside with the same keys and swapped in with one nfo_xstores
 * update (which waits until no packet reads the old one): a packet sees
 * the old table or the new, with the same keys.
 */
static int table_grow(struct progset *ps, uint32_t id, size_t n)
{
	struct store *st = &ps->stores[id];
	struct nfo_table t;
	uint32_t nb;
	size_t len;
	void *mem;
	int fd, r;

	if (st->t.nquar && st->t.nquar >= st->t.count / 8) {
		r = wait_grace(ps);
		if (r < 0)
			return r;
		for (int x = 0; x < NFO_MAX_STORES; x++)
			if (ps->stores[x].used && ps->stores[x].kind == NFO_STORE_TABLE)
				nfo_table_release(&ps->stores[x].t);
		if (!nfo_table_crowded(&st->t, n))
			return 0;
	}
	nb = nfo_table_buckets_for(st->t.count + n, st->t.kw, st->has_exp);
	if (nb < st->t.nbuckets * 2)
		nb = st->t.nbuckets * 2;
	for (;;) {
		r = table_new(st, nb, &fd, &mem, &len, &t);
		if (r < 0)
			return r;
		r = nfo_table_foreach(&st->t, copy_key, &t);
		if (r == 0)
			break;
		munmap(mem, len);
		close(fd);
		nfo_table_fini(&t);
		if (r != -ENOSPC || nb >= (1u << 26))
			return r;
		nb *= 2;
	}
	if (bpf_map_update_elem(bpf_map__fd(ps->xdp->maps.nfo_xstores), &id, &fd, BPF_ANY) < 0) {
		r = -errno;
		munmap(mem, len);
		close(fd);
		nfo_table_fini(&t);
		return r;
	}
	table_unmap(st);
	st->fd = fd;
	st->mem = mem;
	st->mem_len = len;
	st->t = t;
	return 0;
}

/* Adds key bytes e (image entry) to store id's table. */
/*
 * Puts key into store id's table. may_move: a key the fast path misses for
 * a moment only makes it drop less (a drop-ward store, or one no packet
 * reads): when key's two buckets are full while the table holds no more
 * than it is sized for, another key moves out of one
 * (nfo_table_make_room) and, after a grace period frees the slot it left,
 * key goes in, instead of the whole table doubling.
 */
static int table_put(struct progset *ps, uint32_t id, const uint8_t *key_bytes, uint64_t until,
		     bool may_move)
{
	struct store *st = &ps->stores[id];
	uint32_t key[NFO_TABLE_MAX_KW];
	int r;

	nfo_table_key(key_bytes, st->key_len, key);
	if (nfo_table_crowded(&st->t, 1) && !nfo_table_find(&st->t, key, NULL)) {
		r = table_grow(ps, id, 1);
		if (r < 0)
			return r;
	}
	r = nfo_table_insert(&st->t, key, until);
	/* only below the load the table is sized for: beyond it, moves
	 * (a grace period each) would come often, and growing is due */
	if (r == -ENOSPC && may_move &&
	    nfo_table_buckets_for(st->t.count + 1, st->t.kw, st->has_exp) <= st->t.nbuckets &&
	    nfo_table_make_room(&st->t, key) == 1) {
		r = wait_grace(ps);
		if (r < 0)
			return r;
		for (int x = 0; x < NFO_MAX_STORES; x++)
			if (ps->stores[x].used && ps->stores[x].kind == NFO_STORE_TABLE)
				nfo_table_release(&ps->stores[x].t);
		r = nfo_table_insert(&st->t, key, until);
	}
	if (r == -ENOSPC) {
		r = table_grow(ps, id, 1);
		if (r == 0)
			r = nfo_table_insert(&st->t, key, until);
	}
	return r < 0 ? r : 0;
}

static void store_free(struct progset *ps, uint32_t id)
{
	struct store *st = &ps->stores[id];

	if (!st->used)
		return;
	if (st->kind == NFO_STORE_TABLE) {
		(void)bpf_map_delete_elem(bpf_map__fd(ps->xdp->maps.nfo_xstores), &id);
		table_unmap(st);
	} else {
		uint8_t key[sizeof(struct nfo_setkey)];
		size_t esz = store_esz(st);

		(void)nfo_sorted_pending_fold(&st->entries, &st->n, &st->pend, esz, true);
		for (size_t i = 0; i < st->n; i++)
			(void)bpf_map_delete_elem(store_map_fd(ps, st),
						  stamp_key(st, id, st->entries + i * esz, key));
	}
	free(st->ident);
	free(st->entries);
	nfo_sorted_pending_free(&st->pend);
	*st = (struct store){ .fd = -1 };
}

/* What a store is for: the set and the layout of its elements. */
static char *store_ident(const struct nfo_plan_set *ps, const struct nfo_setspec *spec)
{
	const struct nfo_set *set = ps->set;
	char *id = NULL;

	if (asprintf(&id, "%d %s %s %u %u %u", set->family, set->table ? set->table : "",
		     set->name ? set->name : "", set->key_len, spec->kind, spec->has_exp) < 0)
		return NULL;
	return id;
}

static bool half_uses(const struct half *h, uint32_t id)
{
	for (int k = 0; k < NFO_MAX_SETS; k++)
		if (h->store_of[k] == (int8_t)(id + 1))
			return true;
	return false;
}

static int new_store(struct progset *ps, const struct nfo_image_set *want, char *ident,
		     uint32_t *ret)
{
	for (uint32_t id = 0; id < NFO_MAX_STORES; id++) {
		struct store *st = &ps->stores[id];
		int r;

		if (st->used)
			continue;
		*st = (struct store){ .used = true, .ident = ident, .kind = want->spec.kind,
				      .has_exp = want->spec.has_exp, .key_len = want->spec.key_len,
				      .fd = -1, .lpm = want->lpm };
		if (st->kind == NFO_STORE_TABLE) {
			r = table_new(st, nfo_table_buckets_for(want->n, nfo_table_kw(st->key_len),
								st->has_exp),
				      &st->fd, &st->mem, &st->mem_len, &st->t);
			if (r == 0 && bpf_map_update_elem(bpf_map__fd(ps->xdp->maps.nfo_xstores), &id,
							  &st->fd, BPF_ANY) < 0)
				r = -errno;
			if (r < 0) {
				st->ident = NULL;
				store_free(ps, id);
				return r;
			}
		}
		*ret = id;
		return 0;
	}
	return -ENOSPC; /* cannot happen: two halves of NFO_MAX_SETS slots */
}

/* Whether the table of st differs from want's entries (sorted). */
static bool table_differs(const struct store *st, const struct nfo_image_set *want, uint64_t margin_j)
{
	if (st->t.count != want->n)
		return true;
	for (size_t j = 0; j < want->n; j++) {
		const struct nfo_image_setkey *e = (const void *)(want->entries + j * sizeof(*e));
		uint32_t key[NFO_TABLE_MAX_KW];
		uint64_t until;

		nfo_table_key(e->key.key, st->key_len, key);
		if (!nfo_table_find(&st->t, key, &until) ||
		    (st->has_exp && until != nfo_set_until_of(e->expires, margin_j)))
			return true;
	}
	return false;
}

static bool entries_differ(struct store *st, const struct nfo_image_set *want)
{
	size_t esz = store_esz(st);

	if (nfo_sorted_pending_fold(&st->entries, &st->n, &st->pend, esz, true) < 0)
		return true;
	return st->n != want->n || (st->n && memcmp(st->entries, want->entries, st->n * esz));
}

struct table_gone {
	const struct store *st;
	const struct nfo_image_set *want;
	uint32_t *keys;
	size_t n, cap;
};

static int cmp_setkey_entry(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct nfo_setkey));
}

static int collect_gone(const uint32_t *key, uint64_t until, void *data)
{
	struct table_gone *g = data;
	struct nfo_image_setkey probe = {};

	memcpy(probe.key.key, key, g->st->key_len);
	if (g->want->n && bsearch(&probe, g->want->entries, g->want->n, sizeof(probe),
				  cmp_setkey_entry))
		return 0;
	if (nfo_grow(&g->keys, &g->cap, (g->n + 1) * NFO_TABLE_MAX_KW, sizeof(*g->keys)) < 0)
		return -ENOMEM;
	memcpy(g->keys + g->n++ * NFO_TABLE_MAX_KW, key, NFO_TABLE_MAX_KEY);
	return 0;
}

/* Makes store id hold exactly want's entries, writing the difference. */
static int store_write(struct progset *ps, uint32_t id, const struct nfo_image_set *want)
{
	struct store *st = &ps->stores[id];
	size_t esz = store_esz(st), i = 0, j = 0;
	uint8_t kbuf[sizeof(struct nfo_setlpm_key) > sizeof(struct nfo_setkey) ?
		     sizeof(struct nfo_setlpm_key) : sizeof(struct nfo_setkey)];
	int fd, r = 0;

	if (st->kind == NFO_STORE_TABLE) {
		struct table_gone g = { .st = st, .want = want };

		r = nfo_table_foreach(&st->t, collect_gone, &g);
		for (size_t x = 0; r == 0 && x < g.n; x++)
			(void)nfo_table_delete(&st->t, g.keys + x * NFO_TABLE_MAX_KW);
		free(g.keys);
		if (r == 0 && nfo_table_crowded(&st->t, want->n > st->t.count ? want->n - st->t.count : 0))
			r = table_grow(ps, id, want->n > st->t.count ? want->n - st->t.count : 0);
		for (size_t x = 0; r == 0 && x < want->n; x++) {
			const struct nfo_image_setkey *e = (const void *)(want->entries + x * esz);

			/* no packet reads a store being rewritten (write_sets) */
			r = table_put(ps, id, e->key.key, nfo_set_until_of(e->expires, ps->margin_j),
				      true);
		}
		return r;
	}
	r = nfo_sorted_pending_fold(&st->entries, &st->n, &st->pend, esz, true);
	if (r < 0)
		return r;
	fd = store_map_fd(ps, st);
	while (i < st->n || j < want->n) {
		const uint8_t *w = want->entries + j * esz;
		size_t ksz = st->lpm ? sizeof(struct nfo_setlpm_key) : sizeof(struct nfo_setkey);
		int c = i >= st->n ? 1 : j >= want->n ? -1 : memcmp(st->entries + i * esz, w, ksz);
		nfo_set_until until;

		if (c < 0) {
			(void)bpf_map_delete_elem(fd, stamp_key(st, id, st->entries + i * esz, kbuf));
			i++;
			continue;
		}
		/* new, or an expiry that changed (a re-added element) */
		if (c > 0 || entry_expires(st, st->entries + i * esz) != entry_expires(st, w)) {
			until = nfo_set_until_of(entry_expires(st, w), ps->margin_j);
			if (bpf_map_update_elem(fd, stamp_key(st, id, w, kbuf), &until, BPF_ANY) < 0)
				return -errno;
		}
		if (c == 0)
			i++;
		j++;
	}
	free(st->entries);
	st->entries = malloc(want->n ? want->n * esz : 1);
	if (!st->entries) {
		st->n = 0;
		return -ENOMEM;
	}
	if (want->n)
		memcpy(st->entries, want->entries, want->n * esz);
	st->n = want->n;
	return 0;
}

/*
 * The set slots of img, written into half h (not live, no packet walks it):
 * each slot's store is the one the set had (the live half may read it too),
 * or a new one. A store the live half reads is changed only after the fast
 * path is off (state) and no packet reads it any more: with the old diagram
 * its new elements could drop what neither generation drops. Stores neither
 * half uses afterwards are freed.
 */
static int write_sets(struct progset *ps, int h, const struct nfo_image *img,
		      const struct nfo_plan *plan, uint64_t *progress)
{
	static const struct nfo_setspec unused;
	const struct half *live = ps->active >= 0 && ps->active != h ? &ps->half[ps->active] : NULL;
	int8_t store_of[NFO_MAX_SETS] = {};
	bool live_changes = false;
	int r = 0;

	assert(img->nsets <= plan->nsets);
	/* the stores of sets that stay */
	for (size_t k = 0; k < img->nsets && r == 0; k++) {
		const struct nfo_image_set *w = &img->sets[k];
		char *ident;

		if (!w->spec.nfields)
			continue;
		ident = store_ident(&plan->sets[k], &w->spec);
		if (!ident)
			return -ENOMEM;
		for (uint32_t id = 0; id < NFO_MAX_STORES; id++)
			if (ps->stores[id].used && !strcmp(ps->stores[id].ident, ident))
				store_of[k] = (int8_t)(id + 1);
		free(ident);
	}
	/* stores of half h's old generation no one keeps: free now */
	for (uint32_t id = 0; id < NFO_MAX_STORES; id++) {
		bool keep = live && half_uses(live, id);

		for (int k = 0; k < NFO_MAX_SETS; k++)
			keep |= store_of[k] == (int8_t)(id + 1);
		if (!keep)
			store_free(ps, id);
	}
	memset(ps->half[h].store_of, 0, sizeof(ps->half[h].store_of));
	for (size_t k = 0; k < img->nsets && r == 0; k++) {
		const struct nfo_image_set *w = &img->sets[k];
		uint32_t id;
		char *ident;

		if (!w->spec.nfields || store_of[k])
			continue;
		ident = store_ident(&plan->sets[k], &w->spec);
		if (!ident)
			return -ENOMEM;
		r = new_store(ps, w, ident, &id);
		if (r < 0) {
			free(ident);
			return r;
		}
		store_of[k] = (int8_t)(id + 1);
	}
	for (size_t k = 0; live && k < img->nsets; k++) {
		struct store *st;

		if (!store_of[k] || !half_uses(live, (uint32_t)(store_of[k] - 1)))
			continue;
		st = &ps->stores[store_of[k] - 1];
		live_changes |= st->kind == NFO_STORE_TABLE ?
					table_differs(st, &img->sets[k], ps->margin_j) :
					entries_differ(st, &img->sets[k]);
	}
	if (live_changes) {
		__atomic_store_n(&ps->ctl->state, NFO_STATE_DISABLED, __ATOMIC_SEQ_CST);
		r = wait_grace(ps);
		if (r < 0)
			return r;
	}
	for (size_t k = 0; k < img->nsets && r == 0; k++) {
		uint32_t id;
		bool done = false;

		if (!store_of[k])
			continue;
		id = (uint32_t)(store_of[k] - 1);
		/* one store for two slots of the same set: written once */
		for (size_t x = 0; x < k; x++)
			done |= store_of[x] == store_of[k];
		if (!done)
			r = store_write(ps, id, &img->sets[k]);
		if (progress)
			__atomic_fetch_add(progress, img->sets[k].n, __ATOMIC_RELAXED);
	}
	for (uint32_t k = 0; k < NFO_MAX_SETS && r == 0; k++) {
		uint32_t idx = (uint32_t)h * NFO_MAX_SETS + k;
		struct nfo_setspec spec = k < img->nsets ? img->sets[k].spec : unused;

		if (!store_of[k])
			spec = unused;
		else
			spec.store = (uint32_t)(store_of[k] - 1);
		if (bpf_map_update_elem(bpf_map__fd(ps->xdp->maps.nfo_setspecs), &idx, &spec,
					BPF_ANY) < 0)
			r = -errno;
	}
	memcpy(ps->half[h].store_of, store_of, sizeof(store_of));
	return r;
}

/* ---- program sets ----------------------------------------------------------- */

static int wait_grace(struct progset *ps)
{
	return nfo_grace_wait(&ps->grace);
}

/* Waits until no packet can still walk a retired half, then empties its
 * LPM entries: the half becomes writable again. */
static void *cleaner_main(void *arg)
{
	struct progset *ps = arg;

	pthread_mutex_lock(&ps->mu);
	while (!ps->stop) {
		struct half *h;
		int job = ps->job;

		if (job < 0) {
			pthread_cond_wait(&ps->cv, &ps->mu);
			continue;
		}
		assert(job < NFO_HALVES);
		h = &ps->half[job];
		pthread_mutex_unlock(&ps->mu);

		if (wait_grace(ps) < 0)
			usleep(100 * 1000); /* cannot fail with valid fds; be safe */
		for (size_t i = 0; i < h->n4; i++)
			(void)bpf_map_delete_elem(bpf_map__fd(ps->xdp->maps.nfo_lpm4), &h->k4[i]);
		for (size_t i = 0; i < h->n6; i++)
			(void)bpf_map_delete_elem(bpf_map__fd(ps->xdp->maps.nfo_lpm6), &h->k6[i]);

		pthread_mutex_lock(&ps->mu);
		h->n4 = h->n6 = 0;
		h->dirty = false;
		ps->job = -1;
		pthread_cond_broadcast(&ps->cv);
	}
	pthread_mutex_unlock(&ps->mu);
	return NULL;
}

static void progset_free(struct progset **psp)
{
	struct progset *ps = *psp;

	if (!ps)
		return;
	if (ps->cleaner_started) {
		pthread_mutex_lock(&ps->mu);
		ps->stop = true;
		pthread_cond_broadcast(&ps->cv);
		pthread_mutex_unlock(&ps->mu);
		pthread_join(ps->cleaner, NULL);
	}
	pthread_mutex_destroy(&ps->mu);
	pthread_cond_destroy(&ps->cv);
	nfo_watchdog_free(&ps->wd);
	if (ps->ctl)
		munmap(ps->ctl, ps->ctl_len);
	if (ps->rootcache)
		munmap(ps->rootcache, ps->rootcache_len);
	if (ps->tc)
		nfo_tc__destroy(ps->tc);
	if (ps->xdp)
		nfo_xdp__destroy(ps->xdp);
	nfo_grace_close(&ps->grace);
	for (int h = 0; h < NFO_HALVES; h++) {
		free(ps->half[h].k4);
		free(ps->half[h].k6);
	}
	/* the maps go with the object: only our side of each store */
	for (int id = 0; id < NFO_MAX_STORES; id++) {
		struct store *st = &ps->stores[id];

		if (st->kind == NFO_STORE_TABLE)
			table_unmap(st);
		free(st->ident);
		free(st->entries);
		nfo_sorted_pending_free(&st->pend);
	}
	free(ps);
	*psp = NULL;
}

static int reuse_trace_maps(const struct nfo_loader *l, struct bpf_object *obj)
{
	if (bpf_map__reuse_fd(bpf_object__find_map_by_name(obj, "nfo_trace_ring"),
			      l->trace_ring_fd) < 0 ||
	    bpf_map__reuse_fd(bpf_object__find_map_by_name(obj, "nfo_trace_cfg"),
			      l->trace_cfg_fd) < 0 ||
	    bpf_map__reuse_fd(bpf_object__find_map_by_name(obj, "nfo_trace_pcpu"),
			      l->trace_pcpu_fd) < 0)
		return -1;
	return 0;
}

/* The flags last: a packet sees the limits off, or each value from the old
 * or the new limits (both hold more tokens than the kernel's). */
static void write_reject(struct nfo_ctl *ctl, const struct nfo_reject_cfg *cfg)
{
	__atomic_store_n(&ctl->reject.flags, 0, __ATOMIC_SEQ_CST);
	ctl->reject.rst_ttl = cfg->rst_ttl;
	ctl->reject.rst_hl6 = cfg->rst_hl6;
	ctl->reject.global_cost_ns = cfg->global_cost_ns;
	ctl->reject.global_burst_ns = cfg->global_burst_ns;
	for (int i = 0; i < 2; i++) {
		ctl->reject.peer_cost_ns[i] = cfg->peer_cost_ns[i];
		ctl->reject.peer_burst_ns[i] = cfg->peer_burst_ns[i];
	}
	__atomic_store_n(&ctl->reject.flags, cfg->flags, __ATOMIC_SEQ_CST);
}

static int progset_new(struct nfo_loader *l, const struct nfo_caps *caps, struct progset **ret,
		       char *err, size_t errlen)
{
	struct progset *ps = calloc(1, sizeof(*ps));
	int r;

	if (!ps)
		return nfo_seterr(err, errlen, -ENOMEM, "out of memory");
	pthread_mutex_init(&ps->mu, NULL);
	pthread_cond_init(&ps->cv, NULL);
	ps->grace = (struct nfo_grace)NFO_GRACE_INIT;
	for (int id = 0; id < NFO_MAX_STORES; id++)
		ps->stores[id].fd = -1;
	ps->active = -1;
	ps->job = -1;
	ps->caps = *caps;
	ps->margin_j = l->margin_j;

	r = nfo_grace_new(&ps->grace);
	if (r < 0) {
		r = nfo_seterr_errno(err, errlen, r, "cannot create maps");
		goto fail;
	}

	ps->xdp = nfo_xdp__open();
	if (!ps->xdp) {
		r = nfo_seterr_errno(err, errlen, -errno, "cannot open the XDP object");
		goto fail;
	}
	/* nfo_image_caps() keeps these products within a u32 */
	bpf_map__set_max_entries(ps->xdp->maps.nfo_nodes, caps->nodes * NFO_HALVES);
	bpf_map__set_max_entries(ps->xdp->maps.nfo_radix,
				 caps->tables * NFO_HALVES * NFO_RADIX_FANOUT);
	bpf_map__set_max_entries(ps->xdp->maps.nfo_exact4, caps->nodes * NFO_HALVES);
	bpf_map__set_max_entries(ps->xdp->maps.nfo_lpm4, caps->lpm4);
	bpf_map__set_max_entries(ps->xdp->maps.nfo_lpm6, caps->lpm6);
	bpf_map__set_max_entries(ps->xdp->maps.nfo_roots, caps->roots);
	bpf_map__set_max_entries(ps->xdp->maps.nfo_setkeys, caps->setkeys);
	bpf_map__set_max_entries(ps->xdp->maps.nfo_setlpm, caps->setlpm);
	if (bpf_map__reuse_fd(ps->xdp->maps.nfo_counters, l->counters_fd) < 0 ||
	    bpf_map__reuse_fd(ps->xdp->maps.nfo_stats, l->stats_fd) < 0 ||
	    reuse_trace_maps(l, ps->xdp->obj) < 0) {
		r = nfo_seterr_errno(err, errlen, -errno, "cannot share the counter maps");
		goto fail;
	}
	r = nfo_xdp__load(ps->xdp);
	if (r < 0) {
		r = nfo_seterr_errno(err, errlen, r, "loading the XDP program failed");
		goto fail;
	}
	ps->ctl_len = (size_t)sysconf(_SC_PAGESIZE);
	ps->ctl = mmap(NULL, ps->ctl_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       bpf_map__fd(ps->xdp->maps.nfo_ctl), 0);
	if (ps->ctl == MAP_FAILED) {
		ps->ctl = NULL;
		r = nfo_seterr_errno(err, errlen, -errno, "cannot map the control map");
		goto fail;
	}
	ps->ctl->trace = l->trace_on;
	write_reject(ps->ctl, &l->reject);
	ps->rootcache_len = sizeof(struct nfo_root) * NFO_ROOT_CACHE;
	ps->rootcache = mmap(NULL, ps->rootcache_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			     bpf_map__fd(ps->xdp->maps.nfo_rootcache), 0);
	if (ps->rootcache == MAP_FAILED) {
		ps->rootcache = NULL;
		r = nfo_seterr_errno(err, errlen, -errno, "cannot map the root cache");
		goto fail;
	}
	/* Without a watchdog the fast path still works: status says why. */
	l->wd_error[0] = '\0';
	if (l->watchdog_ms &&
	    nfo_watchdog_new(&ps->wd, bpf_map__fd(ps->xdp->maps.nfo_ctl), ps->ctl, l->watchdog_ms,
			     l->wd_error, sizeof(l->wd_error)) < 0)
		ps->wd = NULL;

	ps->tc = nfo_tc__open();
	if (!ps->tc) {
		r = nfo_seterr_errno(err, errlen, -errno, "cannot open the TC object");
		goto fail;
	}
	if (bpf_map__reuse_fd(ps->tc->maps.nfo_ctl, bpf_map__fd(ps->xdp->maps.nfo_ctl)) < 0 ||
	    bpf_map__reuse_fd(ps->tc->maps.nfo_roots, bpf_map__fd(ps->xdp->maps.nfo_roots)) < 0 ||
	    bpf_map__reuse_fd(ps->tc->maps.nfo_rootcache,
			      bpf_map__fd(ps->xdp->maps.nfo_rootcache)) < 0 ||
	    bpf_map__reuse_fd(ps->tc->maps.nfo_nodes, bpf_map__fd(ps->xdp->maps.nfo_nodes)) < 0 ||
	    bpf_map__reuse_fd(ps->tc->maps.nfo_radix, bpf_map__fd(ps->xdp->maps.nfo_radix)) < 0 ||
	    bpf_map__reuse_fd(ps->tc->maps.nfo_exact4, bpf_map__fd(ps->xdp->maps.nfo_exact4)) < 0 ||
	    bpf_map__reuse_fd(ps->tc->maps.nfo_lpm4, bpf_map__fd(ps->xdp->maps.nfo_lpm4)) < 0 ||
	    bpf_map__reuse_fd(ps->tc->maps.nfo_lpm6, bpf_map__fd(ps->xdp->maps.nfo_lpm6)) < 0 ||
	    bpf_map__reuse_fd(ps->tc->maps.nfo_setspecs, bpf_map__fd(ps->xdp->maps.nfo_setspecs)) < 0 ||
	    bpf_map__reuse_fd(ps->tc->maps.nfo_setkeys, bpf_map__fd(ps->xdp->maps.nfo_setkeys)) < 0 ||
	    bpf_map__reuse_fd(ps->tc->maps.nfo_setlpm, bpf_map__fd(ps->xdp->maps.nfo_setlpm)) < 0 ||
	    bpf_map__reuse_fd(ps->tc->maps.nfo_rej_global,
			      bpf_map__fd(ps->xdp->maps.nfo_rej_global)) < 0 ||
	    bpf_map__reuse_fd(ps->tc->maps.nfo_rej_peer, bpf_map__fd(ps->xdp->maps.nfo_rej_peer)) < 0 ||
	    bpf_map__reuse_fd(ps->tc->maps.nfo_xstores, bpf_map__fd(ps->xdp->maps.nfo_xstores)) < 0 ||
	    bpf_map__reuse_fd(ps->tc->maps.nfo_counters, l->counters_fd) < 0 ||
	    bpf_map__reuse_fd(ps->tc->maps.nfo_stats, l->stats_fd) < 0 ||
	    reuse_trace_maps(l, ps->tc->obj) < 0) {
		r = nfo_seterr_errno(err, errlen, -errno, "cannot share maps with the TC program");
		goto fail;
	}
	r = nfo_tc__load(ps->tc);
	if (r < 0) {
		r = nfo_seterr_errno(err, errlen, r, "loading the TC program failed");
		goto fail;
	}

	r = -pthread_create(&ps->cleaner, NULL, cleaner_main, ps);
	if (r < 0) {
		r = nfo_seterr_errno(err, errlen, r, "cannot start a thread");
		goto fail;
	}
	ps->cleaner_started = true;
	*ret = ps;
	return 0;
fail:
	progset_free(&ps);
	return r;
}

static void set_state(struct progset *ps, uint32_t state, uint64_t genid)
{
	/* generation is informative; state is the switch packets read. A
	 * generation goes live with a fresh heartbeat: one built for longer
	 * than the watchdog's bound is not stale. */
	if (state != NFO_STATE_DISABLED)
		(void)nfo_watchdog_beat(ps->wd);
	ps->ctl->generation = genid;
	__atomic_store_n(&ps->ctl->state, state, __ATOMIC_SEQ_CST);
}

/* The LPM keys of an image, deleted when its half is retired. */
static int remember_keys(struct half *h, const struct nfo_image *img)
{
	if (nfo_grow(&h->k4, &h->cap4, img->nlpm4, sizeof(*h->k4)) < 0 ||
	    nfo_grow(&h->k6, &h->cap6, img->nlpm6, sizeof(*h->k6)) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < img->nlpm4; i++)
		h->k4[i] = img->lpm4[i].key;
	for (size_t i = 0; i < img->nlpm6; i++)
		h->k6[i] = img->lpm6[i].key;
	h->n4 = img->nlpm4;
	h->n6 = img->nlpm6;
	return 0;
}

/*
 * Copies nfo_roots (just written) into the slots of nfo_rootcache its
 * interfaces own, giving each still unused slot its owner after its refs;
 * clears the owner of slots whose interface left the image. A cleared slot
 * gets no other owner: a packet may still be between reading the old owner
 * and its refs. The live half's refs are copied over equal values.
 */
static void write_rootcache(struct progset *ps, const struct nfo_image *img)
{
	int fd_roots = bpf_map__fd(ps->xdp->maps.nfo_roots);

	for (uint32_t s = 0; s < NFO_ROOT_CACHE; s++) {
		uint32_t owner = ps->rootcache[s].ifindex;
		bool keep = false;

		for (size_t i = 0; owner && i < img->nroots; i++)
			keep |= img->roots[i].ifindex == owner;
		if (owner && !keep)
			__atomic_store_n(&ps->rootcache[s].ifindex, 0, __ATOMIC_SEQ_CST);
	}
	for (size_t i = 0; i < img->nroots; i++) {
		uint32_t ifindex = img->roots[i].ifindex, s = ifindex % NFO_ROOT_CACHE;
		struct nfo_root *c = &ps->rootcache[s], root;

		if (!ifindex || (ps->rootcache_used[s] && c->ifindex != ifindex) ||
		    bpf_map_lookup_elem(fd_roots, &ifindex, &root) < 0)
			continue;
		memcpy(c, &root, offsetof(struct nfo_root, ifindex));
		ps->rootcache_used[s] = true;
		__atomic_store_n(&c->ifindex, ifindex, __ATOMIC_SEQ_CST);
	}
}

/* Writes img (of plan) into its half (clean) of ps, roots included. Adds
 * the set elements written to *progress (if given). */
static int write_half(struct progset *ps, struct nfo_image *img, const struct nfo_plan *plan,
		      uint64_t *progress)
{
	int h = img->half, fd_roots = bpf_map__fd(ps->xdp->maps.nfo_roots);
	struct nfo_root root;
	uint32_t ifindex, next;
	bool more;
	int r;

	assert(h >= 0 && h < NFO_HALVES);
	r = remember_keys(&ps->half[h], img);
	if (r < 0)
		return r;
	r = nfo_map_write_array(bpf_map__fd(ps->xdp->maps.nfo_nodes), img->node_base, img->nodes,
			img->nnodes, sizeof(*img->nodes));
	if (r == 0)
		r = nfo_map_write_array(bpf_map__fd(ps->xdp->maps.nfo_exact4), img->node_base, img->exact4,
				img->nnodes, sizeof(*img->exact4));
	if (r == 0)
		r = nfo_map_write_array(bpf_map__fd(ps->xdp->maps.nfo_radix),
				img->table_base * NFO_RADIX_FANOUT, img->radix, img->nradix,
				sizeof(*img->radix));
	for (size_t i = 0; r == 0 && i < img->nlpm4; i++)
		if (bpf_map_update_elem(bpf_map__fd(ps->xdp->maps.nfo_lpm4), &img->lpm4[i].key,
					&img->lpm4[i].ref, BPF_ANY) < 0)
			r = -errno;
	for (size_t i = 0; r == 0 && i < img->nlpm6; i++)
		if (bpf_map_update_elem(bpf_map__fd(ps->xdp->maps.nfo_lpm6), &img->lpm6[i].key,
					&img->lpm6[i].ref, BPF_ANY) < 0)
			r = -errno;
	for (size_t i = 0; r == 0 && i < img->nroots; i++) {
		ifindex = img->roots[i].ifindex;
		/* the other half's part stays as it is */
		if (bpf_map_lookup_elem(fd_roots, &ifindex, &root) < 0)
			root = (struct nfo_root){ .ref = { NFO_REF_PASS, NFO_REF_PASS },
						  .ref_ip = { NFO_REF_PASS, NFO_REF_PASS },
						  .ref_ip6 = { NFO_REF_PASS, NFO_REF_PASS } };
		root.ref[h] = img->roots[i].ref;
		root.ref_ip[h] = img->roots[i].ref_ip;
		root.ref_ip6[h] = img->roots[i].ref_ip6;
		root.ifindex = ifindex;
		memcpy(root.mac[h], img->roots[i].mac, sizeof(root.mac[h]));
		memcpy(root.bcast[h], img->roots[i].bcast, sizeof(root.bcast[h]));
		if (bpf_map_update_elem(fd_roots, &ifindex, &root, BPF_ANY) < 0)
			r = -errno;
	}
	if (r == 0)
		r = write_sets(ps, h, img, plan, progress);
	if (r < 0)
		return r;
	/* Interfaces gone from the plan: their frames pass. */
	more = bpf_map_get_next_key(fd_roots, NULL, &next) == 0;
	while (more) {
		bool keep = false;

		ifindex = next;
		more = bpf_map_get_next_key(fd_roots, &ifindex, &next) == 0;
		for (size_t i = 0; i < img->nroots; i++)
			keep |= img->roots[i].ifindex == ifindex;
		if (!keep)
			(void)bpf_map_delete_elem(fd_roots, &ifindex);
	}
	write_rootcache(ps, img);
	return 0;
}

static uint32_t prog_id_of(int fd)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return 0;
	return info.id;
}

static int attach_new(struct nfo_iface *iface, const struct progset *ps)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts);
	int fd;

	iface->error[0] = '\0';
	if (iface->mode == NFO_MODE_TC) {
		fd = bpf_link_create(bpf_program__fd(ps->tc->progs.nfo_tc), iface->ifindex,
				     NFO_BPF_TCX_INGRESS, NULL);
		if (fd < 0) {
			int r = -errno;

			if (r == -EINVAL || r == -EOPNOTSUPP)
				snprintf(iface->error, sizeof(iface->error),
					 "tc mode needs tcx links (Linux 6.6 or newer)");
			else
				snprintf(iface->error, sizeof(iface->error),
					 "attaching tc ingress failed: %s", strerror(-r));
			return r;
		}
		iface->active_mode = NFO_MODE_TC;
	} else {
		int prog = bpf_program__fd(ps->xdp->progs.nfo_xdp);

		opts.flags = iface->mode == NFO_MODE_XDP ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
		fd = bpf_link_create(prog, iface->ifindex, BPF_XDP, &opts);
		if (fd < 0 && iface->mode == NFO_MODE_XDP && (errno == EOPNOTSUPP || errno == EINVAL)) {
			opts.flags = XDP_FLAGS_SKB_MODE;
			fd = bpf_link_create(prog, iface->ifindex, BPF_XDP, &opts);
			if (fd >= 0)
				snprintf(iface->error, sizeof(iface->error),
					 "driver has no native XDP: using xdp-generic");
		}
		if (fd < 0) {
			int r = -errno;

			if (r == -EBUSY || r == -EEXIST)
				snprintf(iface->error, sizeof(iface->error),
					 "another XDP program is attached; nft-offload does not replace it");
			else
				snprintf(iface->error, sizeof(iface->error), "attaching XDP failed: %s",
					 strerror(-r));
			return r;
		}
		iface->active_mode = opts.flags == XDP_FLAGS_DRV_MODE ? NFO_MODE_XDP :
									 NFO_MODE_XDP_GENERIC;
	}
	iface->link_fd = fd;
	iface->prog_id = prog_id_of(iface->mode == NFO_MODE_TC ?
					    bpf_program__fd(ps->tc->progs.nfo_tc) :
					    bpf_program__fd(ps->xdp->progs.nfo_xdp));
	return 0;
}

/* Whether iface's link is still on its device. A device deleted and created
 * again with the same ifindex (and name) looks unchanged in the links the
 * daemon reads when both notifications are read before it rebuilds, but
 * the link went with the old device: the kernel reports ifindex 0 for it
 * (xdp and tcx links alike: ifindex is the first field of both). */
static bool link_on_device(const struct nfo_iface *iface)
{
	struct bpf_link_info info = { 0 };
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(iface->link_fd, &info, &len) < 0)
		return true; /* cannot tell: as if it were */
	return (int)info.xdp.ifindex == iface->ifindex;
}

/* Puts ps's program on iface: link update if the kind of attachment stays,
 * else a new link. */
static int swap_iface(struct nfo_loader *l, struct nfo_iface *iface, const struct progset *ps,
		      bool new_progs)
{
	int prog;

	if (iface->ifindex <= 0) {
		nfo_loader_detach(l, iface);
		return 0;
	}
	prog = iface->mode == NFO_MODE_TC ? bpf_program__fd(ps->tc->progs.nfo_tc) :
					    bpf_program__fd(ps->xdp->progs.nfo_xdp);
	if (iface->link_fd >= 0) {
		bool same_kind = (iface->mode == NFO_MODE_TC) == (iface->active_mode == NFO_MODE_TC) &&
				 !(iface->mode == NFO_MODE_XDP_GENERIC &&
				   iface->active_mode == NFO_MODE_XDP);

		if (same_kind && link_on_device(iface) &&
		    (!new_progs || bpf_link_update(iface->link_fd, prog, NULL) == 0)) {
			iface->prog_id = prog_id_of(prog);
			return 0;
		}
		/* Mode changed, or the device went away under the link. */
		nfo_loader_detach(l, iface);
	}
	return attach_new(iface, ps);
}

/* What ps's shared maps hold besides what is written into half h: the
 * other half's LPM entries and the entries of every store (a store being
 * rewritten holds its old entries and new ones for a moment). */
static void held_besides(const struct progset *ps, int h, struct nfo_held *ret)
{
	*ret = (struct nfo_held){ .lpm4 = ps->half[1 - h].n4, .lpm6 = ps->half[1 - h].n6 };
	for (int id = 0; id < NFO_MAX_STORES; id++) {
		const struct store *st = &ps->stores[id];

		if (!st->used || st->kind == NFO_STORE_TABLE)
			continue;
		if (st->lpm)
			ret->setlpm += st->n + st->pend.nadd;
		else
			ret->setkeys += st->n + st->pend.nadd;
	}
}

/* The counter slot of every plan target (ret: plan->ntargets entries). */
static int resolve_slots(struct nfo_loader *l, const struct nfo_plan *plan, char *const *keys,
			 uint32_t **ret)
{
	_cleanup_free_ uint32_t *slots = calloc(plan->ntargets ? plan->ntargets : 1, sizeof(*slots));
	int r;

	if (!slots)
		return -ENOMEM;
	for (size_t t = 0; t < plan->ntargets; t++) {
		r = nfo_slots_get(&l->slots, keys[t], &slots[t]);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(slots);
	return 0;
}

static int apply(struct nfo_loader *l, const struct nfo_plan *plan, char *const *keys,
		 uint64_t genid, struct nfo_iface *ifaces, size_t n, bool keep_live, char *err,
		 size_t errlen);

int nfo_loader_apply(struct nfo_loader *l, const struct nfo_plan *plan, char *const *keys,
		     uint64_t genid, struct nfo_iface *ifaces, size_t n, char *err, size_t errlen)
{
	return apply(l, plan, keys, genid, ifaces, n, false, err, errlen);
}

int nfo_loader_apply_live(struct nfo_loader *l, const struct nfo_plan *plan, char *const *keys,
			  uint64_t genid, struct nfo_iface *ifaces, size_t n, char *err,
			  size_t errlen)
{
	return apply(l, plan, keys, genid, ifaces, n, true, err, errlen);
}

static int apply(struct nfo_loader *l, const struct nfo_plan *plan, char *const *keys,
		 uint64_t genid, struct nfo_iface *ifaces, size_t n, bool keep_live, char *err,
		 size_t errlen)
{
	struct progset *ps = l->ps, *fresh = NULL;
	struct nfo_image img = {};
	uint32_t *slots = NULL;
	struct nfo_caps caps;
	struct nfo_held held = {};
	int r, h;

	assert(keys || plan->ntargets == 0);
	assert(ifaces || n == 0);
	/* The live generation is stale from now on; unless the caller knows
	 * it stays sound, pass everything until the new one is live. (The
	 * half written below is never the live one.) */
	if (ps && !keep_live)
		set_state(ps, NFO_STATE_DISABLED, genid);

	r = resolve_slots(l, plan, keys, &slots);
	if (r < 0) {
		r = nfo_seterr_errno(err, errlen, r, "counter slots");
		goto out;
	}
	h = ps && ps->active >= 0 ? 1 - ps->active : 0;
	r = nfo_image_encode(plan, slots, h, ps ? (uint32_t)h * ps->caps.nodes : 0,
			     ps ? (uint32_t)h * ps->caps.tables : 0, &img);
	if (r < 0) {
		r = nfo_seterr_errno(err, errlen, r, "encoding the decision diagram failed");
		goto out;
	}

	if (ps)
		held_besides(ps, h, &held);
	if (!ps || !nfo_image_fits(&img, &ps->caps, &held)) {
		/* Outgrown (or first): a new program set, sized for this plan
		 * with room to grow, swapped in through every interface's
		 * link. Also when only a set outgrew its map: its elements
		 * are written into the new set's maps. */
		r = nfo_image_caps(&img, &caps);
		if (r < 0) {
			r = nfo_seterr(err, errlen, r, "the decision diagram is too large for the maps");
			goto out;
		}
		r = progset_new(l, &caps, &fresh, err, errlen);
		if (r < 0)
			goto out;
		h = 0;
		nfo_image_clear(&img);
		r = nfo_image_encode(plan, slots, h, 0, 0, &img);
		if (r == 0)
			r = write_half(fresh, &img, plan, l->progress);
		if (r < 0) {
			r = nfo_seterr_errno(err, errlen, r, "filling the fast path maps failed");
			goto out;
		}
		fresh->active = h;
		set_state(fresh, NFO_STATE_HALF(h), genid);
		for (size_t i = 0; i < n; i++)
			(void)swap_iface(l, &ifaces[i], fresh, true);
		{
			struct progset *old = l->ps;

			/* swapped under the lock, freed after it: a status
			 * read holds the lock while it uses l->ps */
			pthread_mutex_lock(&l->slots_mu);
			if (old)
				l->wd_trips_retired +=
					__atomic_load_n(&old->ctl->trips, __ATOMIC_SEQ_CST);
			l->ps = TAKE_PTR(fresh);
			pthread_mutex_unlock(&l->slots_mu);
			progset_free(&old);
		}
	} else {
		/* Wait until no packet can be walking half h any more. */
		pthread_mutex_lock(&ps->mu);
		while (ps->half[h].dirty)
			pthread_cond_wait(&ps->cv, &ps->mu);
		pthread_mutex_unlock(&ps->mu);

		r = write_half(ps, &img, plan, l->progress);
		if (r < 0) {
			r = nfo_seterr_errno(err, errlen, r, "filling the fast path maps failed");
			goto out;
		}
		set_state(ps, NFO_STATE_HALF(h), genid);
		if (ps->active >= 0) {
			pthread_mutex_lock(&ps->mu);
			ps->half[ps->active].dirty = true;
			ps->job = ps->active;
			pthread_cond_broadcast(&ps->cv);
			pthread_mutex_unlock(&ps->mu);
		}
		ps->active = h;
		for (size_t i = 0; i < n; i++)
			(void)swap_iface(l, &ifaces[i], ps, false);
	}
	nfo_slots_release(&l->slots, keys, plan->ntargets);
	r = 0;
out:
	nfo_image_clear(&img);
	free(slots);
	progset_free(&fresh);
	return r;
}

/* ---- element changes, in place ------------------------------------------------ */

/* One store's part of an element update. */
struct store_work {
	uint32_t store;
	int polarity;  /* the join of its slots' */
	bool guarded;  /* its slots are unknown to packets while it changes */
	struct nfo_setspec spec[NFO_MAX_SETS]; /* of its live slots, while guarded */
	struct nfo_image_set add, del;
	/* expiries of held keys: sooner (removal-like), later (addition-like) */
	struct nfo_image_set sooner, later;
	size_t add_done, del_done, sooner_done, later_done;
};

static size_t work_size(const struct store_work *w)
{
	return w->add.n + w->del.n + w->sooner.n + w->later.n;
}

/* The two groups of update_in_place()'s order: what makes a store's
 * elements present for longer (added keys, later expiries), and for less
 * time (sooner expiries, removed keys). */
static int write_grow(struct progset *ps, struct store_work *w, bool may_move);
static int write_shrink(struct progset *ps, struct store_work *w, bool may_move);

/* Writes entries [*done, n) of s into store id (may_move: table_put). */
static int write_entries(struct progset *ps, uint32_t id, const struct nfo_image_set *s, bool del,
			 size_t *done, bool may_move)
{
	struct store *st = &ps->stores[id];
	size_t esz = nfo_image_set_entry_size(s);
	uint8_t kbuf[sizeof(struct nfo_setlpm_key) > sizeof(struct nfo_setkey) ?
		     sizeof(struct nfo_setlpm_key) : sizeof(struct nfo_setkey)];
	int fd = store_map_fd(ps, st), r;

	for (; *done < s->n; (*done)++) {
		const uint8_t *e = s->entries + *done * esz;
		/* the value encode.c's entry says, as store_write() writes it */
		nfo_set_until until = nfo_set_until_of(nfo_image_set_expires(s, e), ps->margin_j);

		if (st->kind == NFO_STORE_TABLE) {
			const struct nfo_image_setkey *k = (const void *)e;

			if (del) {
				uint32_t key[NFO_TABLE_MAX_KW];

				nfo_table_key(k->key.key, st->key_len, key);
				(void)nfo_table_delete(&st->t, key);
			} else {
				r = table_put(ps, id, k->key.key, until, may_move);
				if (r < 0)
					return r;
			}
		} else if (del) {
			if (bpf_map_delete_elem(fd, stamp_key(st, id, e, kbuf)) < 0 && errno != ENOENT)
				return -errno;
		} else if (bpf_map_update_elem(fd, stamp_key(st, id, e, kbuf), &until, BPF_ANY) < 0) {
			return -errno;
		}
	}
	return 0;
}

/* Makes the live slots of store w->store unknown to packets (guard) or
 * gives them back their specs. */
static int guard_slots(struct progset *ps, struct store_work *w, bool guard)
{
	static const struct nfo_setspec unknown;
	int fd = bpf_map__fd(ps->xdp->maps.nfo_setspecs);

	for (int k = 0; k < NFO_MAX_SETS; k++) {
		uint32_t idx = (uint32_t)(ps->active * NFO_MAX_SETS + k);

		if (ps->half[ps->active].store_of[k] != (int8_t)(w->store + 1))
			continue;
		if (guard && bpf_map_lookup_elem(fd, &idx, &w->spec[k]) < 0)
			return -errno;
		if (bpf_map_update_elem(fd, &idx, guard ? &unknown : &w->spec[k], BPF_ANY) < 0)
			return -errno;
	}
	return 0;
}

/*
 * The order (docs/SEMANTICS.md, "Named sets whose elements change"): with
 * one slot reading a changing store, each packet reads it once and sees its
 * key before or after; adds go first so that an address of a range that is
 * split or merged is never absent in between. With several (several sets,
 * or one set looked up with two keys: two reads of one store): stores used
 * both ways are made unknown to packets for the time (their diagram nodes
 * take the unknown edge, sound for any membership), then removals from
 * drop-ward stores and additions to accept-ward ones, a grace period if
 * both groups have work on two slots or more, then the rest.
 */
static size_t live_slots_of(const struct progset *ps, uint32_t id)
{
	size_t n = 0;

	for (int k = 0; k < NFO_MAX_SETS; k++)
		n += ps->half[ps->active].store_of[k] == (int8_t)(id + 1);
	return n;
}

static int update_in_place(struct progset *ps, struct store_work *w, size_t n, size_t *ret_grace)
{
	size_t changed = 0, free_slots = 0, g1 = 0, g2 = 0;
	bool any_guarded = false;
	int r = 0;

	*ret_grace = 0;
	/* what counts is how often a packet may read a changing store: once
	 * per slot (a set looked up with two keys is read twice) */
	for (size_t i = 0; i < n; i++)
		if (work_size(&w[i]) > 0)
			changed += live_slots_of(ps, w[i].store);
	if (changed <= 1) {
		for (size_t i = 0; i < n && r == 0; i++) {
			bool mv = w[i].polarity == NFO_POL_DROP;

			r = write_grow(ps, &w[i], mv);
			if (r == 0)
				r = write_shrink(ps, &w[i], mv);
		}
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		size_t grow = w[i].add.n + w[i].later.n, shrink = w[i].del.n + w[i].sooner.n;

		if (work_size(&w[i]) == 0)
			continue;
		if (w[i].polarity == NFO_POL_BOTH) {
			r = guard_slots(ps, &w[i], true);
			if (r < 0)
				return r;
			w[i].guarded = any_guarded = true;
			continue;
		}
		free_slots += live_slots_of(ps, w[i].store);
		if (w[i].polarity == NFO_POL_ACCEPT) {
			g1 += grow;
			g2 += shrink;
		} else {
			g1 += shrink;
			g2 += grow;
		}
	}
	/* a walk that read a slot's spec before it became unknown has ended */
	if (any_guarded) {
		r = wait_grace(ps);
		(*ret_grace)++;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		if (w[i].guarded)
			continue;
		r = w[i].polarity == NFO_POL_ACCEPT ? write_grow(ps, &w[i], false) :
						      write_shrink(ps, &w[i], false);
	}
	if (r == 0 && free_slots >= 2 && g1 && g2) {
		/* no walk mixes the two groups */
		r = wait_grace(ps);
		(*ret_grace)++;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		if (w[i].guarded) {
			/* unknown to packets while written */
			r = write_grow(ps, &w[i], true);
			if (r == 0)
				r = write_shrink(ps, &w[i], true);
			continue;
		}
		r = w[i].polarity == NFO_POL_ACCEPT ?
			    write_shrink(ps, &w[i], false) :
			    write_grow(ps, &w[i], w[i].polarity == NFO_POL_DROP);
	}
	/* a store whose writes failed stays unknown: the caller rebuilds */
	for (size_t i = 0; i < n && r == 0; i++)
		if (w[i].guarded)
			r = guard_slots(ps, &w[i], false);
out:
	/* The stores above are plain stores through mmap: every one of them
	 * (a sooner expiry above all) is visible to every CPU before the
	 * caller counts the change live. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return r;
}

static int write_grow(struct progset *ps, struct store_work *w, bool may_move)
{
	int r = write_entries(ps, w->store, &w->add, false, &w->add_done, may_move);

	return r < 0 ? r : write_entries(ps, w->store, &w->later, false, &w->later_done, may_move);
}

static int write_shrink(struct progset *ps, struct store_work *w, bool may_move)
{
	int r = write_entries(ps, w->store, &w->sooner, false, &w->sooner_done, may_move);

	return r < 0 ? r : write_entries(ps, w->store, &w->del, true, &w->del_done, may_move);
}

/* Whether the entries w adds fit the shared set maps (tables grow). */
static bool adds_fit(const struct progset *ps, const struct store_work *w, size_t n)
{
	struct nfo_held held;
	size_t add[2] = {};

	held_besides(ps, ps->active, &held);
	for (size_t i = 0; i < n; i++)
		if (ps->stores[w[i].store].kind != NFO_STORE_TABLE)
			add[w[i].add.lpm] += w[i].add.n;
	return held.setkeys + add[0] <= bpf_map__max_entries(ps->xdp->maps.nfo_setkeys) &&
	       held.setlpm + add[1] <= bpf_map__max_entries(ps->xdp->maps.nfo_setlpm);
}

/* The first n entries of s were written over entries of store st with
 * the same keys (their expiries changed): so its record says, for the diff
 * when it is written next. The record is folded first (O(store): this
 * follows a read of the whole set). */
static int store_note_expiries(struct store *st, const struct nfo_image_set *s, size_t n)
{
	size_t esz = store_esz(st), ksz = st->lpm ? sizeof(struct nfo_setlpm_key) :
						     sizeof(struct nfo_setkey);
	int r;

	if (!n)
		return 0;
	r = nfo_sorted_pending_fold(&st->entries, &st->n, &st->pend, esz, true);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *e = s->entries + i * esz;
		size_t lo = 0, hi = st->n;

		/* keys are distinct in a store: sorted by key */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int c = memcmp(st->entries + mid * esz, e, ksz);

			if (!c) {
				memcpy(st->entries + mid * esz, e, esz);
				break;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return 0;
}

static int join_polarity(int a, int b)
{
	return a == b ? a : a == NFO_POL_NONE ? b : b == NFO_POL_NONE ? a : NFO_POL_BOTH;
}

int nfo_loader_update_sets(struct nfo_loader *l, const struct nfo_plan *plan,
			   const struct nfo_slot_change *c, size_t n,
			   struct nfo_loader_set_stats *ret_stats, char *err, size_t errlen)
{
	struct progset *ps = l->ps;
	_cleanup_free_ struct store_work *w = NULL;
	struct nfo_loader_set_stats st = {};
	size_t nw = 0;
	int r = 0, r2;

	if (!ps || ps->active < 0)
		return nfo_seterr(err, errlen, -EAGAIN, "no generation is live");
	w = calloc(n ? n : 1, sizeof(*w));
	if (!w)
		return nfo_seterr(err, errlen, -ENOMEM, "out of memory");
	/* The stores are shared with the other half: packets still walking it
	 * (a generation just retired) must be done first. */
	pthread_mutex_lock(&ps->mu);
	while (ps->half[1 - ps->active].dirty)
		pthread_cond_wait(&ps->cv, &ps->mu);
	pthread_mutex_unlock(&ps->mu);
	for (size_t i = 0; i < n && r == 0; i++) {
		int k = c[i].slot;
		uint32_t id;
		size_t x;

		if (k < 0 || (size_t)k >= plan->nsets || !ps->half[ps->active].store_of[k]) {
			r = -EINVAL; /* not the live generation's plan */
			break;
		}
		id = (uint32_t)(ps->half[ps->active].store_of[k] - 1);
		/* two slots of one set: one store, one change */
		for (x = 0; x < nw && w[x].store != id; x++)
			;
		if (x < nw) {
			w[x].polarity = join_polarity(w[x].polarity, c[i].polarity);
			continue;
		}
		w[nw].store = id;
		w[nw].polarity = c[i].polarity;
		r = nfo_image_set_delta(&plan->sets[k], c[i].change, &w[nw].add, &w[nw].del);
		if (r == 0)
			r = nfo_image_set_updates(&plan->sets[k], c[i].change, &w[nw].sooner,
						  &w[nw].later);
		/* an expiry changed in place: one store of a table's slot, or
		 * a prefix of a range (the trie node is replaced whole); a
		 * hash store's entries keep their expiry (the caller writes
		 * those sets whole) */
		if (r == 0 && w[nw].sooner.n + w[nw].later.n &&
		    ps->stores[id].kind == NFO_STORE_HASH)
			r = -EINVAL;
		st.writes += work_size(&w[nw]);
		nw++;
	}
	/* The shared maps are sized to the plan: additions that cannot fit
	 * fail before any is written (the caller writes the sets whole into a
	 * new program set), not after a long partial write. */
	if (r == 0 && !adds_fit(ps, w, nw))
		r = -E2BIG;
	if (r == 0)
		r = update_in_place(ps, w, nw, &st.grace_periods);
	/* what the store holds now, for the diff when it is written next */
	for (size_t i = 0; i < nw; i++) {
		struct store *ss = &ps->stores[w[i].store];

		if (ss->kind != NFO_STORE_TABLE && (w[i].add_done || w[i].del_done)) {
			size_t esz = nfo_image_set_entry_size(&w[i].add);

			/* folded into entries later, amortized: O(change) here */
			r2 = nfo_sorted_pending_update(&ss->pend, esz, w[i].add.entries,
						       w[i].add_done, w[i].del.entries,
						       w[i].del_done);
			if (r2 == 0)
				r2 = nfo_sorted_pending_fold(&ss->entries, &ss->n, &ss->pend, esz,
							     false);
			if (r2 < 0 && r == 0)
				r = r2;
		}
		if (ss->kind != NFO_STORE_TABLE && (w[i].sooner_done || w[i].later_done)) {
			r2 = store_note_expiries(ss, &w[i].sooner, w[i].sooner_done);
			if (r2 == 0)
				r2 = store_note_expiries(ss, &w[i].later, w[i].later_done);
			if (r2 < 0 && r == 0)
				r = r2;
		}
		free(w[i].add.entries);
		free(w[i].del.entries);
		free(w[i].sooner.entries);
		free(w[i].later.entries);
	}
	if (r < 0)
		return nfo_seterr_errno(err, errlen, r, "updating the set maps failed");
	*ret_stats = st;
	return 0;
}

int nfo_loader_disable(struct nfo_loader *l)
{
	if (l->ps)
		__atomic_store_n(&l->ps->ctl->state, NFO_STATE_DISABLED, __ATOMIC_SEQ_CST);
	return 0;
}

bool nfo_loader_enabled(const struct nfo_loader *l)
{
	return l->ps && __atomic_load_n(&l->ps->ctl->state, __ATOMIC_SEQ_CST) != NFO_STATE_DISABLED;
}

int nfo_loader_beat(struct nfo_loader *l)
{
	return l->ps ? nfo_watchdog_beat(l->ps->wd) : 0;
}

uint64_t nfo_loader_watchdog_trips(const struct nfo_loader *l)
{
	return l->wd_trips_retired + (l->ps ? __atomic_load_n(&l->ps->ctl->trips, __ATOMIC_SEQ_CST) : 0);
}

int nfo_loader_watchdog(struct nfo_loader *l, struct nfo_watchdog_info *ret, const char **ret_error)
{
	struct nfo_watchdog_info info;
	int r;

	pthread_mutex_lock(&l->slots_mu);
	r = nfo_watchdog_read(l->ps ? l->ps->wd : NULL, &info);
	info.trips = nfo_loader_watchdog_trips(l);
	pthread_mutex_unlock(&l->slots_mu);
	if (r < 0)
		return r;
	*ret = info;
	*ret_error = l->wd_error;
	return 0;
}

/* ---- reject ------------------------------------------------------------------ */

void nfo_loader_set_reject(struct nfo_loader *l, const struct nfo_reject_cfg *cfg)
{
	l->reject = *cfg;
	if (l->ps)
		write_reject(l->ps->ctl, cfg);
}

/* ---- trace ------------------------------------------------------------------ */

void nfo_loader_trace_fds(const struct nfo_loader *l, int *ret_ring, int *ret_cfg,
			  int *ret_pcpu)
{
	*ret_ring = l->trace_ring_fd;
	*ret_cfg = l->trace_cfg_fd;
	*ret_pcpu = l->trace_pcpu_fd;
}

void nfo_loader_trace_enable(struct nfo_loader *l, bool on)
{
	l->trace_on = on;
	if (l->ps)
		__atomic_store_n(&l->ps->ctl->trace, on, __ATOMIC_SEQ_CST);
}

int nfo_loader_slot_key(const struct nfo_loader *l, uint32_t slot, char *buf, size_t len)
{
	struct nfo_slot_key k = {};

	if (slot == 0 || slot >= l->slots.max || !l->slots.used[slot])
		return -ENOENT;
	if (bpf_map_lookup_elem(l->keys_fd, &slot, &k) < 0)
		return -errno;
	k.key[sizeof(k.key) - 1] = '\0';
	snprintf(buf, len, "%s", k.key);
	return 0;
}

int nfo_loader_slot(const struct nfo_loader *l, const char *key, uint32_t *ret)
{
	return nfo_strmap_get(&l->slots.map, key, ret) ? 0 : -ENOENT;
}

int nfo_loader_prog_fd(const struct nfo_loader *l, int mode)
{
	if (!l->ps)
		return -ENOENT;
	if (mode == NFO_MODE_TC)
		return bpf_program__fd(l->ps->tc->progs.nfo_tc);
	return bpf_program__fd(l->ps->xdp->progs.nfo_xdp);
}

int nfo_loader_foreign_tcx(const struct nfo_loader *l, int ifindex)
{
	uint32_t ids[64], cnt = ARRAY_SIZE(ids), ours = 0;

	if (bpf_prog_query(ifindex, NFO_BPF_TCX_INGRESS, 0, NULL, ids, &cnt) < 0)
		return errno == EINVAL || errno == EOPNOTSUPP ? 0 : -errno; /* no tcx here */
	if (l->ps)
		ours = prog_id_of(bpf_program__fd(l->ps->tc->progs.nfo_tc));
	for (uint32_t i = 0; i < cnt && i < ARRAY_SIZE(ids); i++)
		if (ids[i] != ours)
			return 1;
	return cnt > ARRAY_SIZE(ids);
}

/* libbpf's default printer writes warnings and info to stderr, outside our
 * log format; its info (what it loads, feature probes) is debug detail. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int lvl = level == LIBBPF_WARN ? NFO_LOG_WARN : NFO_LOG_DEBUG;
	char buf[1024];
	int n;

	if (lvl > nfo_log_level)
		return 0;
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		return n;
	n = (int)strnlen(buf, sizeof(buf));
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	nfo_log(lvl, "%s", buf);
	return n;
}

void nfo_loader_log_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
