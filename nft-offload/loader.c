// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <limits.h>
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

#include "loader.h"
#include "plan.h"
#include "strmap.h"
#include "common/util.h"

#include "nfo_tc.skel.h"
#include "nfo_xdp.skel.h"

/* enum bpf_attach_type in Linux >= 6.6; the uapi headers here predate it. */
#define NFO_BPF_TCX_INGRESS 46

/* Default capacities of a program set (grown when a plan needs more). */
#define CAP_NODES 4096   /* per half */
#define CAP_TABLES 512   /* radix tables per half (256 entries each) */
#define CAP_LPM (1u << 20) /* BPF_F_NO_PREALLOC: a bound, not an allocation */
#define CAP_ROOTS 256
#define CAP_SET_ENTRIES (1u << 22) /* set elements (keys or prefixes), both halves */

/* The elements of one named-set slot as written in a half (sorted keys). */
struct slotstate {
	bool used;
	bool lpm;
	uint8_t *entries; /* struct nfo_setkey or struct nfo_setlpm_key, sorted */
	size_t n;
};

struct half {
	bool dirty; /* packets may still be walking it: not writable */
	struct slotstate slots[NFO_MAX_SETS];
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
	uint32_t cap_nodes, cap_tables, cap_lpm4, cap_lpm6, cap_roots;
	int active; /* live half, -1 before the first generation */
	struct half half[NFO_HALVES];
	/* Waiting for an RCU grace period: updating an ARRAY_OF_MAPS makes the
	 * kernel wait for running BPF programs (maybe_wait_bpf_programs). */
	int sync_fd;
	int sync_inner_fd;
	pthread_t cleaner;
	bool cleaner_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int job; /* half to clean, -1: none */
	bool stop;
};

struct nfo_loader {
	char pin_dir[PATH_MAX];
	uint32_t max_slots;
	int ncpus;
	int counters_fd;
	int stats_fd;
	int keys_fd;
	struct nfo_strmap slots;
	uint8_t *slot_used;
	struct progset *ps;
};

static int seterr(char *err, size_t len, int r, const char *fmt, ...)
{
	va_list ap;

	if (err && len) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* ---- pinned, generation-independent maps ---------------------------------- */

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int pinned_map(const char *dir, const char *name, enum bpf_map_type type,
		      uint32_t value_size, uint32_t max_entries, bool *ret_reused)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	*ret_reused = false;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.type == (uint32_t)type &&
		    info.value_size == value_size && info.max_entries == max_entries) {
			*ret_reused = true;
			return fd;
		}
		close(fd);
		unlink(path);
	}
	fd = bpf_map_create(type, name, sizeof(uint32_t), value_size, max_entries, NULL);
	if (fd < 0)
		return -errno;
	if (bpf_obj_pin(fd, path) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
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

static int restore_slots(struct nfo_loader *l)
{
	struct nfo_slot_key k;

	for (uint32_t s = 1; s < l->max_slots; s++) {
		int r;

		if (bpf_map_lookup_elem(l->keys_fd, &s, &k) < 0 || !k.key[0])
			continue;
		k.key[sizeof(k.key) - 1] = '\0';
		r = nfo_strmap_put(&l->slots, k.key, s);
		if (r < 0)
			return r;
		l->slot_used[s] = 1;
	}
	return 0;
}

int nfo_loader_new(struct nfo_loader **ret, const struct nfo_loader_opts *opts, char *err,
		   size_t errlen)
{
	struct nfo_loader *l;
	bool reused_c, reused_k, reused_s;
	int r;

	l = calloc(1, sizeof(*l));
	if (!l)
		return seterr(err, errlen, -ENOMEM, "out of memory");
	l->counters_fd = l->stats_fd = l->keys_fd = -1;
	l->max_slots = opts->max_slots ? opts->max_slots : 16384;
	snprintf(l->pin_dir, sizeof(l->pin_dir), "%s", opts->pin_dir);
	l->ncpus = libbpf_num_possible_cpus();
	if (l->ncpus <= 0) {
		r = seterr(err, errlen, -EINVAL, "cannot count possible CPUs");
		goto fail;
	}
	l->slot_used = calloc(l->max_slots, 1);
	if (!l->slot_used) {
		r = seterr(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	r = mkdir_p(l->pin_dir);
	if (r < 0) {
		seterr(err, errlen, r, "cannot create %s: %s", l->pin_dir, strerror(-r));
		goto fail;
	}
	l->counters_fd = pinned_map(l->pin_dir, "counters", BPF_MAP_TYPE_PERCPU_ARRAY,
				    sizeof(struct nfo_counter), l->max_slots, &reused_c);
	l->stats_fd = pinned_map(l->pin_dir, "stats", BPF_MAP_TYPE_PERCPU_ARRAY,
				 sizeof(struct nfo_counter), _NFO_STAT_MAX, &reused_s);
	l->keys_fd = pinned_map(l->pin_dir, "slot_keys", BPF_MAP_TYPE_ARRAY,
				sizeof(struct nfo_slot_key), l->max_slots, &reused_k);
	if (l->counters_fd < 0 || l->stats_fd < 0 || l->keys_fd < 0) {
		r = l->counters_fd < 0 ? l->counters_fd : l->stats_fd < 0 ? l->stats_fd : l->keys_fd;
		seterr(err, errlen, r, "cannot create counter maps in %s: %s", l->pin_dir,
		       strerror(-r));
		goto fail;
	}
	/* Counters of a previous daemon (it crashed, or was killed): keep
	 * them only if both maps survived. */
	if (reused_c && reused_k) {
		r = restore_slots(l);
		if (r < 0)
			goto fail;
	}
	l->slot_used[0] = 1; /* slot 0: drops not credited to a rule */
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
	if (unpin)
		unpin_all(l);
	nfo_strmap_clear(&l->slots);
	free(l->slot_used);
	free(l);
	*lp = NULL;
}

/* ---- counter slots ------------------------------------------------------- */

static int zero_slot(struct nfo_loader *l, uint32_t slot)
{
	struct nfo_counter *zero = calloc((size_t)l->ncpus, sizeof(*zero));
	int r = 0;

	if (!zero)
		return -ENOMEM;
	if (bpf_map_update_elem(l->counters_fd, &slot, zero, BPF_ANY) < 0)
		r = -errno;
	free(zero);
	return r;
}

static int slot_for(struct nfo_loader *l, const char *key, uint32_t *ret)
{
	struct nfo_slot_key k = {};
	uint32_t s;
	int r;

	if (nfo_strmap_get(&l->slots, key, &s)) {
		*ret = s;
		return 0;
	}
	for (s = 1; s < l->max_slots && l->slot_used[s]; s++)
		;
	if (s >= l->max_slots) {
		*ret = 0; /* out of slots: counted, but not per rule */
		return 0;
	}
	r = zero_slot(l, s);
	if (r < 0)
		return r;
	snprintf(k.key, sizeof(k.key), "%s", key);
	if (bpf_map_update_elem(l->keys_fd, &s, &k, BPF_ANY) < 0)
		return -errno;
	r = nfo_strmap_put(&l->slots, key, s);
	if (r < 0)
		return r;
	l->slot_used[s] = 1;
	*ret = s;
	return 0;
}

/* After a swap: slots of rules that no longer exist are free again. */
static void release_slots(struct nfo_loader *l, char *const *keys, size_t nkeys)
{
	struct nfo_strmap keep = {};

	for (size_t i = 0; i < nkeys; i++)
		if (nfo_strmap_put(&keep, keys[i], 1) < 0)
			goto out;
	for (size_t i = 0; i < l->slots.cap; i++) {
		struct nfo_strmap_ent *e = &l->slots.e[i];
		struct nfo_slot_key empty = {};
		uint32_t s, dummy;

		if (!e->key || nfo_strmap_get(&keep, e->key, &dummy))
			continue;
		s = e->value;
		(void)bpf_map_update_elem(l->keys_fd, &s, &empty, BPF_ANY);
		l->slot_used[s] = 0;
		nfo_strmap_del(&l->slots, e->key);
	}
out:
	nfo_strmap_clear(&keep);
}

int nfo_loader_counter(struct nfo_loader *l, const char *key, struct nfo_counter *ret)
{
	struct nfo_counter *v;
	uint32_t s;

	*ret = (struct nfo_counter){};
	if (!nfo_strmap_get(&l->slots, key, &s))
		return -ENOENT;
	v = calloc((size_t)l->ncpus, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(l->counters_fd, &s, v) < 0) {
		free(v);
		return -errno;
	}
	for (int c = 0; c < l->ncpus; c++) {
		ret->packets += v[c].packets;
		ret->bytes += v[c].bytes;
	}
	free(v);
	return 0;
}

int nfo_loader_stats(struct nfo_loader *l, struct nfo_counter *ret)
{
	struct nfo_counter *v = calloc((size_t)l->ncpus, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (uint32_t s = 0; s < _NFO_STAT_MAX; s++) {
		ret[s] = (struct nfo_counter){};
		if (bpf_map_lookup_elem(l->stats_fd, &s, v) < 0)
			continue;
		for (int c = 0; c < l->ncpus; c++) {
			ret[s].packets += v[c].packets;
			ret[s].bytes += v[c].bytes;
		}
	}
	free(v);
	return 0;
}

/* ---- encoding the plan ----------------------------------------------------- */

struct encoded {
	uint32_t node_base;  /* absolute id of plan node 0 */
	uint32_t table_base; /* absolute number of the first radix table */
	struct nfo_node *nodes; /* plan->nnodes entries */
	struct nfo_exact4 *exact4; /* plan->nnodes entries, for NFO_NODE_EXACT nodes */
	size_t nnodes;
	uint32_t *radix;
	size_t nradix;   /* entries */
	size_t radix_cap;
	struct nfo_lpm4_key *k4;
	uint32_t *v4;
	size_t n4;
	size_t cap4, cap4v;
	struct nfo_lpm6_key *k6;
	uint32_t *v6;
	size_t n6;
	size_t cap6, cap6v;
	uint32_t *slots; /* per plan target */
};

static void encoded_reset(struct encoded *e)
{
	e->nradix = e->n4 = e->n6 = 0;
}

static void encoded_clear(struct encoded *e)
{
	free(e->nodes);
	free(e->exact4);
	free(e->radix);
	free(e->k4);
	free(e->v4);
	free(e->k6);
	free(e->v6);
	free(e->slots);
}

static uint32_t conv(const struct encoded *e, uint32_t ref)
{
	if ((ref & NFO_REF_KIND_MASK) == NFO_REF_NODE)
		return NFO_REF_NODE | (e->node_base + ref);
	if (ref & NFO_REF_DROP_BIT)
		return NFO_REF_DROP(e->slots[ref & NFO_REF_VALUE_MASK]);
	return NFO_REF_PASS;
}

static bool is_lpm_dim(int dim)
{
	return dim == NFO_DIM_SADDR4 || dim == NFO_DIM_DADDR4 || dim == NFO_DIM_SADDR6 ||
	       dim == NFO_DIM_DADDR6;
}

static unsigned dim_bits(int dim)
{
	switch (dim) {
	case NFO_DIM_ETHTYPE:
	case NFO_DIM_TH0:
	case NFO_DIM_TH2:
		return 16;
	case NFO_DIM_SADDR4:
	case NFO_DIM_DADDR4:
		return 32;
	case NFO_DIM_SADDR6:
	case NFO_DIM_DADDR6:
		return 128;
	}
	return 8;
}

static uint32_t ref_at(const struct nfo_plan_node *nd, nfo_u128 v)
{
	size_t lo = 0, hi = nd->nedges;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (v < nd->edges[mid].lo)
			hi = mid;
		else if (v > nd->edges[mid].hi)
			lo = mid + 1;
		else
			return nd->edges[mid].ref;
	}
	return NFO_REF_PASS; /* the plan covers every value; be safe anyway */
}

/* Returns the table's index within the encoding (not absolute). */
static int new_table(struct encoded *e, uint32_t *ret)
{
	int r = nfo_grow(&e->radix, &e->radix_cap, e->nradix + NFO_RADIX_FANOUT, sizeof(*e->radix));

	if (r < 0)
		return r;
	*ret = (uint32_t)(e->nradix / NFO_RADIX_FANOUT);
	e->nradix += NFO_RADIX_FANOUT;
	return 0;
}

static int encode_radix(struct encoded *e, const struct nfo_plan_node *nd, uint32_t *ret_table)
{
	unsigned bits = dim_bits(nd->dim);
	uint32_t top;
	int r = new_table(e, &top);

	if (r < 0)
		return r;
	*ret_table = e->table_base + top;
	if (bits == 8) {
		for (uint32_t v = 0; v < NFO_RADIX_FANOUT; v++)
			e->radix[top * NFO_RADIX_FANOUT + v] = conv(e, ref_at(nd, v));
		return 0;
	}
	for (uint32_t h = 0; h < NFO_RADIX_FANOUT; h++) {
		nfo_u128 lo = (nfo_u128)h << 8, hi = lo | 0xff;
		uint32_t first = ref_at(nd, lo), sub;
		bool uniform = true;

		/* Uniform iff one edge covers the whole block. */
		for (size_t k = 0; k < nd->nedges; k++) {
			if (nd->edges[k].hi < lo || nd->edges[k].lo > hi)
				continue;
			if (nd->edges[k].lo > lo || nd->edges[k].hi < hi)
				uniform = false;
			break;
		}
		if (uniform) {
			e->radix[top * NFO_RADIX_FANOUT + h] = conv(e, first);
			continue;
		}
		r = new_table(e, &sub);
		if (r < 0)
			return r;
		for (uint32_t l = 0; l < NFO_RADIX_FANOUT; l++)
			e->radix[sub * NFO_RADIX_FANOUT + l] = conv(e, ref_at(nd, lo | l));
		e->radix[top * NFO_RADIX_FANOUT + h] = NFO_REF_TABLE | (e->table_base + sub);
	}
	return 0;
}

/* Calls cb for each prefix (value, length) exactly covering [lo, hi]. */
static int for_each_prefix(nfo_u128 lo, nfo_u128 hi, unsigned width,
			   int (*cb)(nfo_u128 v, unsigned plen, void *data), void *data)
{
	for (;;) {
		nfo_u128 last;
		unsigned k = 0;
		int r;

		/* the largest aligned block starting at lo that ends by hi */
		while (k < width) {
			nfo_u128 mask = nfo_u128_max(k + 1);

			if ((lo & mask) || (lo | mask) > hi)
				break;
			k++;
		}
		r = cb(lo, width - k, data);
		if (r < 0)
			return r;
		last = lo | (k ? nfo_u128_max(k) : 0);
		if (last >= hi)
			return 0;
		lo = last + 1;
	}
}

struct lpm_ctx {
	struct encoded *e;
	uint32_t node; /* absolute */
	uint32_t ref;
	bool v6;
	size_t count;
	bool counting;
};

static int lpm_emit(nfo_u128 v, unsigned plen, void *data)
{
	struct lpm_ctx *c = data;
	struct encoded *e = c->e;
	uint8_t node[4] = { c->node >> 24, c->node >> 16, c->node >> 8, c->node };

	if (c->counting) {
		c->count++;
		return 0;
	}
	if (!c->v6) {
		struct nfo_lpm4_key *k;

		if (nfo_grow(&e->k4, &e->cap4, e->n4 + 1, sizeof(*e->k4)) < 0 ||
		    nfo_grow(&e->v4, &e->cap4v, e->n4 + 1, sizeof(*e->v4)) < 0)
			return -ENOMEM;
		k = &e->k4[e->n4];
		memset(k, 0, sizeof(*k));
		k->prefixlen = 32 + plen;
		memcpy(k->node, node, 4);
		nfo_u128_to_be(v, k->addr, 4);
		e->v4[e->n4++] = c->ref;
	} else {
		struct nfo_lpm6_key *k;

		if (nfo_grow(&e->k6, &e->cap6, e->n6 + 1, sizeof(*e->k6)) < 0 ||
		    nfo_grow(&e->v6, &e->cap6v, e->n6 + 1, sizeof(*e->v6)) < 0)
			return -ENOMEM;
		k = &e->k6[e->n6];
		memset(k, 0, sizeof(*k));
		k->prefixlen = 32 + plen;
		memcpy(k->node, node, 4);
		nfo_u128_to_be(v, k->addr, 16);
		e->v6[e->n6++] = c->ref;
	}
	return 0;
}

/* Whether nd fits an nfo_exact4 with default reference dflt; fills x. */
static bool encode_exact4(struct encoded *e, const struct nfo_plan_node *nd, uint32_t dflt,
			  struct nfo_exact4 *x)
{
	memset(x, 0, sizeof(*x));
	x->dflt = conv(e, dflt);
	for (size_t k = 0; k < nd->nedges; k++) {
		if (nd->edges[k].ref == dflt)
			continue;
		if (nd->edges[k].lo != nd->edges[k].hi || x->n == NFO_EXACT_MAX)
			return false;
		nfo_u128_to_be(nd->edges[k].lo, (uint8_t *)&x->addr[x->n], 4);
		x->ref[x->n++] = conv(e, nd->edges[k].ref);
	}
	return true;
}

static int encode_lpm(struct encoded *e, const struct nfo_plan_node *nd, uint32_t id,
		      struct nfo_node *n, struct nfo_exact4 *x)
{
	bool v6 = nd->dim == NFO_DIM_SADDR6 || nd->dim == NFO_DIM_DADDR6;
	unsigned width = v6 ? 128 : 32;
	struct lpm_ctx c = { .e = e, .node = id, .v6 = v6 };
	size_t best = 0, best_count = 0;
	int r;

	/* The reference needing the most prefixes becomes the node's default
	 * entry (prefix length 32: the node id alone); the others override
	 * it with longer prefixes. */
	for (size_t i = 0; i < nd->nedges; i++) {
		size_t total = 0;

		for (size_t k = 0; k < nd->nedges; k++) {
			if (nd->edges[k].ref != nd->edges[i].ref)
				continue;
			c.counting = true;
			c.count = 0;
			for_each_prefix(nd->edges[k].lo, nd->edges[k].hi, width, lpm_emit, &c);
			total += c.count;
		}
		if (total > best_count) {
			best_count = total;
			best = i;
		}
		if (nd->nedges > 64)
			break; /* good enough for big nodes: first edge's reference */
	}
	c.counting = false;
	if (!v6 && encode_exact4(e, nd, nd->nedges ? nd->edges[best].ref : NFO_REF_PASS, x)) {
		n->flags |= NFO_NODE_EXACT;
		return 0;
	}
	c.ref = conv(e, nd->nedges ? nd->edges[best].ref : NFO_REF_PASS);
	r = lpm_emit(0, 0, &c);
	if (r < 0)
		return r;
	for (size_t k = 0; k < nd->nedges; k++) {
		if (nd->edges[k].ref == nd->edges[best].ref)
			continue;
		c.ref = conv(e, nd->edges[k].ref);
		r = for_each_prefix(nd->edges[k].lo, nd->edges[k].hi, width, lpm_emit, &c);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Encodes plan for the half whose node and table ranges start at the given
 * bases. Slots must already be resolved in e->slots. */
static int encode(const struct nfo_plan *plan, uint32_t node_base, uint32_t table_base,
		  struct encoded *e)
{
	int r;

	encoded_reset(e);
	e->node_base = node_base;
	e->table_base = table_base;
	for (size_t i = 1; i < plan->nnodes; i++) {
		const struct nfo_plan_node *nd = &plan->nodes[i];
		struct nfo_node *n = &e->nodes[i];

		memset(n, 0, sizeof(*n));
		memset(&e->exact4[i], 0, sizeof(e->exact4[i]));
		n->dim = (uint8_t)nd->dim;
		n->unknown = conv(e, nd->unknown);
		if (is_lpm_dim(nd->dim))
			r = encode_lpm(e, nd, node_base + (uint32_t)i, n, &e->exact4[i]);
		else
			r = encode_radix(e, nd, &n->table);
		if (r < 0)
			return r;
	}
	return 0;
}


/* ---- named sets ------------------------------------------------------------- */

struct setbuild {
	uint8_t *e;
	size_t n;
	size_t cap;
	size_t esz;
};

static int setbuild_push(struct setbuild *b, const void *entry)
{
	int r = nfo_grow(&b->e, &b->cap, b->n + 1, b->esz);

	if (r < 0)
		return r;
	memcpy(b->e + b->n * b->esz, entry, b->esz);
	b->n++;
	return 0;
}

struct lpm_set_ctx {
	struct setbuild *b;
	uint32_t slot_half;
	unsigned width;
};

static int set_prefix_emit(nfo_u128 v, unsigned plen, void *data)
{
	struct lpm_set_ctx *c = data;
	struct nfo_setlpm_key k = { .prefixlen = 32 + plen };

	k.slot_half[3] = (uint8_t)c->slot_half;
	nfo_u128_to_be(v << (128 - c->width), k.key, 16);
	return setbuild_push(c->b, &k);
}

static int cmp_setkey(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct nfo_setkey));
}

static int cmp_setlpm(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct nfo_setlpm_key));
}

/* The entries slot k of half h must hold for set slot ps. */
static int set_entries(const struct nfo_plan_set *ps, int h, int k, struct setbuild *b,
		       bool *ret_lpm)
{
	const struct nfo_set *set = ps->set;
	uint32_t slot_half = (uint32_t)(h * NFO_MAX_SETS + k);
	int r = 0;

	*ret_lpm = set->interval;
	if (set->interval) {
		struct lpm_set_ctx c = { .b = b, .slot_half = slot_half,
					 .width = set->key_len * 8 };

		b->esz = sizeof(struct nfo_setlpm_key);
		for (size_t i = 0; i < set->elems.n && r == 0; i++)
			r = for_each_prefix(set->elems.iv[i].lo, set->elems.iv[i].hi, c.width,
					    set_prefix_emit, &c);
		if (r == 0 && b->n)
			qsort(b->e, b->n, b->esz, cmp_setlpm);
		return r;
	}
	b->esz = sizeof(struct nfo_setkey);
	for (size_t i = 0; i < set->nkeys && r == 0; i++) {
		struct nfo_setkey key = { .slot_half = slot_half };

		/* nft's key bytes are already in the concatenation layout; a
		 * single field shorter than 4 bytes is zero-padded, as the fast
		 * path builds it */
		memcpy(key.key, set->keys + i * set->key_len, set->key_len);
		r = setbuild_push(b, &key);
	}
	if (r == 0 && b->n)
		qsort(b->e, b->n, b->esz, cmp_setkey);
	return r;
}

/* Makes slot k of half h hold exactly the wanted entries (a diff). */
static int write_set_slot(struct progset *ps, int h, int k, const struct nfo_plan_set *want)
{
	struct slotstate *st = &ps->half[h].slots[k];
	struct setbuild b = {};
	struct nfo_setspec spec = {};
	uint32_t idx = (uint32_t)(h * NFO_MAX_SETS + k);
	size_t i = 0, j = 0, esz;
	bool lpm = false;
	int fd, r = 0;

	if (want) {
		r = set_entries(want, h, k, &b, &lpm);
		if (r < 0)
			goto out;
		spec.nfields = want->ndims;
		spec.interval = want->set->interval;
		memcpy(spec.dims, want->dims, want->ndims);
	}
	/* entries of another kind than before: remove all of the old kind */
	if (st->used && st->n && (!want || st->lpm != lpm)) {
		esz = st->lpm ? sizeof(struct nfo_setlpm_key) : sizeof(struct nfo_setkey);
		fd = st->lpm ? bpf_map__fd(ps->xdp->maps.nfo_setlpm) :
			       bpf_map__fd(ps->xdp->maps.nfo_setkeys);
		for (size_t x = 0; x < st->n; x++)
			(void)bpf_map_delete_elem(fd, st->entries + x * esz);
		st->n = 0;
	}
	if (bpf_map_update_elem(bpf_map__fd(ps->xdp->maps.nfo_setspecs), &idx, &spec, BPF_ANY) < 0) {
		r = -errno;
		goto out;
	}
	if (!want) {
		st->used = false;
		goto out;
	}
	esz = b.esz;
	fd = lpm ? bpf_map__fd(ps->xdp->maps.nfo_setlpm) : bpf_map__fd(ps->xdp->maps.nfo_setkeys);
	while (i < st->n || j < b.n) {
		int c = i >= st->n ? 1 : j >= b.n ? -1 :
			memcmp(st->entries + i * esz, b.e + j * esz, esz);
		uint8_t one = 1;

		if (c < 0) {
			(void)bpf_map_delete_elem(fd, st->entries + i * esz);
			i++;
		} else if (c > 0) {
			if (bpf_map_update_elem(fd, b.e + j * esz, &one, BPF_ANY) < 0) {
				r = -errno;
				goto out;
			}
			j++;
		} else {
			i++;
			j++;
		}
	}
	free(st->entries);
	st->entries = TAKE_PTR(b.e);
	st->n = b.n;
	st->lpm = lpm;
	st->used = true;
out:
	free(b.e);
	return r;
}

/* ---- program sets ----------------------------------------------------------- */

static int write_array(int fd, uint32_t first, const void *values, size_t n, size_t vsz)
{
	uint32_t *keys = malloc((n ? n : 1) * sizeof(*keys));
	uint32_t count = (uint32_t)n;
	int r = 0;

	if (!keys)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		keys[i] = first + i;
	if (n && bpf_map_update_batch(fd, keys, values, &count, NULL) < 0) {
		/* Kernels without batch operations on arrays: one by one. */
		for (uint32_t i = 0; i < n; i++) {
			if (bpf_map_update_elem(fd, &keys[i], (const uint8_t *)values + i * vsz,
						BPF_ANY) < 0) {
				r = -errno;
				break;
			}
		}
	}
	free(keys);
	return r;
}

static int wait_grace(struct progset *ps)
{
	uint32_t zero = 0;

	if (bpf_map_update_elem(ps->sync_fd, &zero, &ps->sync_inner_fd, BPF_ANY) < 0)
		return -errno;
	return 0;
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
	if (ps->ctl)
		munmap(ps->ctl, ps->ctl_len);
	if (ps->rootcache)
		munmap(ps->rootcache, ps->rootcache_len);
	if (ps->tc)
		nfo_tc__destroy(ps->tc);
	if (ps->xdp)
		nfo_xdp__destroy(ps->xdp);
	if (ps->sync_fd >= 0)
		close(ps->sync_fd);
	if (ps->sync_inner_fd >= 0)
		close(ps->sync_inner_fd);
	for (int h = 0; h < NFO_HALVES; h++) {
		free(ps->half[h].k4);
		free(ps->half[h].k6);
		for (int k = 0; k < NFO_MAX_SETS; k++)
			free(ps->half[h].slots[k].entries);
	}
	free(ps);
	*psp = NULL;
}

static int progset_new(struct nfo_loader *l, uint32_t cap_nodes, uint32_t cap_tables,
		       uint32_t cap_lpm4, uint32_t cap_lpm6, uint32_t cap_roots,
		       struct progset **ret, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo);
	struct progset *ps = calloc(1, sizeof(*ps));
	int r;

	if (!ps)
		return seterr(err, errlen, -ENOMEM, "out of memory");
	pthread_mutex_init(&ps->mu, NULL);
	pthread_cond_init(&ps->cv, NULL);
	ps->sync_fd = ps->sync_inner_fd = -1;
	ps->active = -1;
	ps->job = -1;
	ps->cap_nodes = cap_nodes;
	ps->cap_tables = cap_tables;
	ps->cap_lpm4 = cap_lpm4;
	ps->cap_lpm6 = cap_lpm6;
	ps->cap_roots = cap_roots;

	ps->sync_inner_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "nfo_sync_in", 4, 4, 1, NULL);
	if (ps->sync_inner_fd >= 0) {
		mo.inner_map_fd = ps->sync_inner_fd;
		ps->sync_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "nfo_sync", 4, 4, 1, &mo);
	}
	if (ps->sync_fd < 0) {
		r = seterr(err, errlen, -errno, "cannot create maps: %s", strerror(errno));
		goto fail;
	}

	ps->xdp = nfo_xdp__open();
	if (!ps->xdp) {
		r = seterr(err, errlen, -errno, "cannot open the XDP object: %s", strerror(errno));
		goto fail;
	}
	bpf_map__set_max_entries(ps->xdp->maps.nfo_nodes, cap_nodes * NFO_HALVES);
	bpf_map__set_max_entries(ps->xdp->maps.nfo_radix,
				 cap_tables * NFO_HALVES * NFO_RADIX_FANOUT);
	bpf_map__set_max_entries(ps->xdp->maps.nfo_exact4, cap_nodes * NFO_HALVES);
	bpf_map__set_max_entries(ps->xdp->maps.nfo_lpm4, cap_lpm4);
	bpf_map__set_max_entries(ps->xdp->maps.nfo_lpm6, cap_lpm6);
	bpf_map__set_max_entries(ps->xdp->maps.nfo_roots, cap_roots);
	bpf_map__set_max_entries(ps->xdp->maps.nfo_setkeys, CAP_SET_ENTRIES);
	bpf_map__set_max_entries(ps->xdp->maps.nfo_setlpm, CAP_SET_ENTRIES);
	if (bpf_map__reuse_fd(ps->xdp->maps.nfo_counters, l->counters_fd) < 0 ||
	    bpf_map__reuse_fd(ps->xdp->maps.nfo_stats, l->stats_fd) < 0) {
		r = seterr(err, errlen, -errno, "cannot share the counter maps: %s", strerror(errno));
		goto fail;
	}
	r = nfo_xdp__load(ps->xdp);
	if (r < 0) {
		seterr(err, errlen, r, "loading the XDP program failed: %s", strerror(-r));
		goto fail;
	}
	ps->ctl_len = (size_t)sysconf(_SC_PAGESIZE);
	ps->ctl = mmap(NULL, ps->ctl_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       bpf_map__fd(ps->xdp->maps.nfo_ctl), 0);
	if (ps->ctl == MAP_FAILED) {
		ps->ctl = NULL;
		r = seterr(err, errlen, -errno, "cannot map the control map: %s", strerror(errno));
		goto fail;
	}
	ps->rootcache_len = sizeof(struct nfo_root) * NFO_ROOT_CACHE;
	ps->rootcache = mmap(NULL, ps->rootcache_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			     bpf_map__fd(ps->xdp->maps.nfo_rootcache), 0);
	if (ps->rootcache == MAP_FAILED) {
		ps->rootcache = NULL;
		r = seterr(err, errlen, -errno, "cannot map the root cache: %s", strerror(errno));
		goto fail;
	}

	ps->tc = nfo_tc__open();
	if (!ps->tc) {
		r = seterr(err, errlen, -errno, "cannot open the TC object: %s", strerror(errno));
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
	    bpf_map__reuse_fd(ps->tc->maps.nfo_counters, l->counters_fd) < 0 ||
	    bpf_map__reuse_fd(ps->tc->maps.nfo_stats, l->stats_fd) < 0) {
		r = seterr(err, errlen, -errno, "cannot share maps with the TC program: %s",
			   strerror(errno));
		goto fail;
	}
	r = nfo_tc__load(ps->tc);
	if (r < 0) {
		seterr(err, errlen, r, "loading the TC program failed: %s", strerror(-r));
		goto fail;
	}

	r = pthread_create(&ps->cleaner, NULL, cleaner_main, ps);
	if (r) {
		r = seterr(err, errlen, -r, "cannot start a thread: %s", strerror(r));
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
	/* generation is informative; state is the switch packets read */
	ps->ctl->generation = genid;
	__atomic_store_n(&ps->ctl->state, state, __ATOMIC_SEQ_CST);
}

static int remember_keys(struct half *h, const struct encoded *e)
{
	if (nfo_grow(&h->k4, &h->cap4, e->n4, sizeof(*h->k4)) < 0 ||
	    nfo_grow(&h->k6, &h->cap6, e->n6, sizeof(*h->k6)) < 0)
		return -ENOMEM;
	if (e->n4)
		memcpy(h->k4, e->k4, e->n4 * sizeof(*e->k4));
	if (e->n6)
		memcpy(h->k6, e->k6, e->n6 * sizeof(*e->k6));
	h->n4 = e->n4;
	h->n6 = e->n6;
	return 0;
}

/*
 * Copies nfo_roots (just written) into the slots of nfo_rootcache its
 * interfaces own, giving each still unused slot its owner after its refs;
 * clears the owner of slots whose interface left the plan. A cleared slot
 * gets no other owner: a packet may still be between reading the old owner
 * and its refs. The live half's refs are copied over equal values.
 */
static void write_rootcache(struct progset *ps, const struct nfo_plan *plan)
{
	for (uint32_t s = 0; s < NFO_ROOT_CACHE; s++) {
		uint32_t owner = ps->rootcache[s].ifindex;
		bool keep = false;

		for (size_t i = 0; owner && i < plan->nroots; i++)
			keep |= (uint32_t)plan->roots[i].ifindex == owner;
		if (owner && !keep)
			__atomic_store_n(&ps->rootcache[s].ifindex, 0, __ATOMIC_SEQ_CST);
	}
	for (size_t i = 0; i < plan->nroots; i++) {
		uint32_t ifindex = (uint32_t)plan->roots[i].ifindex, s = ifindex % NFO_ROOT_CACHE;
		struct nfo_root *c = &ps->rootcache[s], root;

		if (!ifindex || (ps->rootcache_used[s] && c->ifindex != ifindex) ||
		    bpf_map_lookup_elem(bpf_map__fd(ps->xdp->maps.nfo_roots), &ifindex, &root) < 0)
			continue;
		memcpy(c, &root, offsetof(struct nfo_root, ifindex));
		ps->rootcache_used[s] = true;
		__atomic_store_n(&c->ifindex, ifindex, __ATOMIC_SEQ_CST);
	}
}

#define NFO_ETH_IP 0x0800
#define NFO_ETH_IPV6 0x86dd

/* Where the walk from ref goes for EtherType t, if ref's node tests it. */
static uint32_t ref_by_ethtype(const struct nfo_plan *plan, uint32_t ref, uint32_t t)
{
	const struct nfo_plan_node *nd;

	if ((ref & NFO_REF_KIND_MASK) != NFO_REF_NODE || ref == 0 || ref >= plan->nnodes)
		return ref;
	nd = &plan->nodes[ref];
	return nd->dim == NFO_DIM_ETHTYPE ? ref_at(nd, t) : ref;
}

/* Writes an encoded plan into half h (clean) of ps, roots included. */
static int write_half(struct progset *ps, int h, const struct nfo_plan *plan,
		      const struct encoded *e)
{
	struct nfo_root root;
	uint32_t ifindex, next;
	bool more;
	int r;

	r = remember_keys(&ps->half[h], e);
	if (r < 0)
		return r;
	r = write_array(bpf_map__fd(ps->xdp->maps.nfo_nodes), e->node_base, e->nodes,
			plan->nnodes, sizeof(*e->nodes));
	if (r == 0)
		r = write_array(bpf_map__fd(ps->xdp->maps.nfo_exact4), e->node_base, e->exact4,
				plan->nnodes, sizeof(*e->exact4));
	if (r == 0)
		r = write_array(bpf_map__fd(ps->xdp->maps.nfo_radix),
				e->table_base * NFO_RADIX_FANOUT, e->radix, e->nradix,
				sizeof(*e->radix));
	for (size_t i = 0; r == 0 && i < e->n4; i++)
		if (bpf_map_update_elem(bpf_map__fd(ps->xdp->maps.nfo_lpm4), &e->k4[i], &e->v4[i],
					BPF_ANY) < 0)
			r = -errno;
	for (size_t i = 0; r == 0 && i < e->n6; i++)
		if (bpf_map_update_elem(bpf_map__fd(ps->xdp->maps.nfo_lpm6), &e->k6[i], &e->v6[i],
					BPF_ANY) < 0)
			r = -errno;
	for (size_t i = 0; r == 0 && i < plan->nroots; i++) {
		ifindex = (uint32_t)plan->roots[i].ifindex;
		if (bpf_map_lookup_elem(bpf_map__fd(ps->xdp->maps.nfo_roots), &ifindex, &root) < 0)
			root = (struct nfo_root){ .ref = { NFO_REF_PASS, NFO_REF_PASS },
						  .ref_ip = { NFO_REF_PASS, NFO_REF_PASS },
						  .ref_ip6 = { NFO_REF_PASS, NFO_REF_PASS } };
		root.ref[h] = conv(e, plan->roots[i].ref);
		root.ref_ip[h] = conv(e, ref_by_ethtype(plan, plan->roots[i].ref, NFO_ETH_IP));
		root.ref_ip6[h] = conv(e, ref_by_ethtype(plan, plan->roots[i].ref, NFO_ETH_IPV6));
		memcpy(root.mac[h], plan->roots[i].mac, 6);
		root.ifindex = ifindex;
		if (bpf_map_update_elem(bpf_map__fd(ps->xdp->maps.nfo_roots), &ifindex, &root,
					BPF_ANY) < 0)
			r = -errno;
	}
	for (int k = 0; r == 0 && k < NFO_MAX_SETS; k++)
		if ((size_t)k < plan->nsets || ps->half[h].slots[k].used)
			r = write_set_slot(ps, h, k, (size_t)k < plan->nsets ? &plan->sets[k] : NULL);
	if (r < 0)
		return r;
	/* Interfaces gone from the plan: their frames pass. */
	more = bpf_map_get_next_key(bpf_map__fd(ps->xdp->maps.nfo_roots), NULL, &next) == 0;
	while (more) {
		bool keep = false;

		ifindex = next;
		more = bpf_map_get_next_key(bpf_map__fd(ps->xdp->maps.nfo_roots), &ifindex, &next) == 0;
		for (size_t i = 0; i < plan->nroots; i++)
			keep |= (uint32_t)plan->roots[i].ifindex == ifindex;
		if (!keep)
			(void)bpf_map_delete_elem(bpf_map__fd(ps->xdp->maps.nfo_roots), &ifindex);
	}
	write_rootcache(ps, plan);
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

		if (same_kind && (!new_progs || bpf_link_update(iface->link_fd, prog, NULL) == 0)) {
			iface->prog_id = prog_id_of(prog);
			return 0;
		}
		/* Mode changed, or the device went away under the link. */
		nfo_loader_detach(l, iface);
	}
	return attach_new(iface, ps);
}

static uint32_t grow(uint32_t need, uint32_t dflt)
{
	uint32_t c = dflt;

	while (c < need && c < (1u << 30))
		c *= 2;
	return c;
}

int nfo_loader_apply(struct nfo_loader *l, const struct nfo_plan *plan, char *const *keys,
		     uint64_t genid, struct nfo_iface *ifaces, size_t n, char *err, size_t errlen)
{
	struct progset *ps = l->ps, *fresh = NULL;
	struct encoded e = {};
	size_t ntables;
	int r, h;

	/* Nothing may run a half-written generation. */
	if (ps)
		set_state(ps, NFO_STATE_DISABLED, genid);

	e.slots = calloc(plan->ntargets ? plan->ntargets : 1, sizeof(*e.slots));
	e.nodes = calloc(plan->nnodes ? plan->nnodes : 1, sizeof(*e.nodes));
	e.exact4 = calloc(plan->nnodes ? plan->nnodes : 1, sizeof(*e.exact4));
	if (!e.slots || !e.nodes || !e.exact4) {
		r = seterr(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	e.nnodes = plan->nnodes;
	for (size_t t = 0; t < plan->ntargets; t++) {
		r = slot_for(l, keys[t], &e.slots[t]);
		if (r < 0) {
			seterr(err, errlen, r, "counter slots: %s", strerror(-r));
			goto out;
		}
	}

	h = ps && ps->active >= 0 ? 1 - ps->active : 0;
	r = encode(plan, ps ? (uint32_t)h * ps->cap_nodes : 0,
		   ps ? (uint32_t)h * ps->cap_tables : 0, &e);
	if (r < 0) {
		seterr(err, errlen, r, "encoding the decision diagram failed: %s", strerror(-r));
		goto out;
	}
	ntables = e.nradix / NFO_RADIX_FANOUT;

	if (!ps || plan->nnodes > ps->cap_nodes || ntables > ps->cap_tables ||
	    e.n4 + ps->half[1 - h].n4 > ps->cap_lpm4 || e.n6 + ps->half[1 - h].n6 > ps->cap_lpm6 ||
	    plan->nroots > ps->cap_roots) {
		/* Outgrown (or first): a new program set, swapped in through
		 * every interface's link. */
		r = progset_new(l, grow((uint32_t)plan->nnodes, CAP_NODES),
				grow((uint32_t)ntables, CAP_TABLES), grow((uint32_t)e.n4 * 2, CAP_LPM),
				grow((uint32_t)e.n6 * 2, CAP_LPM), grow((uint32_t)plan->nroots * 2, CAP_ROOTS),
				&fresh, err, errlen);
		if (r < 0)
			goto out;
		h = 0;
		r = encode(plan, 0, 0, &e);
		if (r == 0)
			r = write_half(fresh, h, plan, &e);
		if (r < 0) {
			seterr(err, errlen, r, "filling the fast path maps failed: %s", strerror(-r));
			goto out;
		}
		fresh->active = h;
		set_state(fresh, NFO_STATE_HALF(h), genid);
		for (size_t i = 0; i < n; i++)
			(void)swap_iface(l, &ifaces[i], fresh, true);
		progset_free(&l->ps);
		l->ps = TAKE_PTR(fresh);
	} else {
		/* Wait until no packet can be walking half h any more. */
		pthread_mutex_lock(&ps->mu);
		while (ps->half[h].dirty)
			pthread_cond_wait(&ps->cv, &ps->mu);
		pthread_mutex_unlock(&ps->mu);

		r = write_half(ps, h, plan, &e);
		if (r < 0) {
			seterr(err, errlen, r, "filling the fast path maps failed: %s", strerror(-r));
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
	release_slots(l, keys, plan->ntargets);
	r = 0;
out:
	encoded_clear(&e);
	progset_free(&fresh);
	return r;
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
