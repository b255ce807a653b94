// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfmap.h"
#include "config.h"
#include "encode.h"
#include "loader.h"
#include "plan.h"
#include "service-loader.h"
#include "setstore.h"
#include "slots.h"
#include "strmap.h"
#include "common/errbuf.h"
#include "common/fs.h"
#include "common/util.h"

#include "nfo_cgroup.skel.h"

/* Fixed capacities: a reused program cannot grow its maps (a new program
 * would need a new attachment by systemd). */
#define SVC_CAP_NODES 2048   /* per half */
#define SVC_CAP_TABLES 512   /* per half */
#define SVC_CAP_LPM (1u << 18)
#define SVC_CAP_SET_ENTRIES (1u << 20)
#define SVC_MAX_SLOTS 4096

enum { M_CTL, M_ROOTS, M_NODES, M_RADIX, M_LPM4, M_LPM6, M_SETSPECS, M_SETKEYS, M_SETLPM,
       M_COUNTERS, M_STATS, M_EXACT4, M_XSTORES, _M_MAX };

static const char *const map_names[_M_MAX] = {
	[M_CTL] = "nfo_ctl",	       [M_ROOTS] = "nfo_roots",     [M_NODES] = "nfo_nodes",
	[M_RADIX] = "nfo_radix",       [M_LPM4] = "nfo_lpm4",	    [M_LPM6] = "nfo_lpm6",
	[M_SETSPECS] = "nfo_setspecs", [M_SETKEYS] = "nfo_setkeys", [M_SETLPM] = "nfo_setlpm",
	[M_COUNTERS] = "nfo_counters", [M_STATS] = "nfo_stats",     [M_EXACT4] = "nfo_exact4",
	[M_XSTORES] = "nfo_xstores",
};

struct nfo_svc_prog {
	char pin[PATH_MAX];
	int dir;
	int prog_fd;
	uint32_t prog_id;
	int fd[_M_MAX];
	int keys_fd; /* slot -> rule key, pinned beside the program */
	struct nfo_ctl *ctl;
	size_t ctl_len;
	uint32_t cap_nodes, cap_tables;
	int active;                /* live half, -1: none (dropping everything) */
	bool dirty[NFO_HALVES];    /* may hold entries: emptied before it is written */
	struct nfo_grace grace;
	struct nfo_slots slots;    /* counters: fd[M_COUNTERS], keys: keys_fd */
};

static void keys_pin_path(const char *pin, char *buf, size_t len)
{
	/* bpffs refuses names with dots */
	snprintf(buf, len, "%s-rules", pin);
}

void nfo_svc_prog_free(struct nfo_svc_prog **pp)
{
	struct nfo_svc_prog *p = *pp;

	if (!p)
		return;
	if (p->ctl)
		munmap(p->ctl, p->ctl_len);
	for (int i = 0; i < _M_MAX; i++)
		if (p->fd[i] >= 0)
			close(p->fd[i]);
	if (p->prog_fd >= 0)
		close(p->prog_fd);
	if (p->keys_fd >= 0)
		close(p->keys_fd);
	nfo_grace_close(&p->grace);
	nfo_slots_fini(&p->slots);
	free(p);
	*pp = NULL;
}

/* The maps of a pinned program, found by name through its map ids. */
static int reuse(struct nfo_svc_prog *p, int fd)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info), ids[32] = {};
	char want[32];

	snprintf(want, sizeof(want), "nfo_cg_%s", p->dir == NFO_SERVICE_INGRESS ? "ingress" : "egress");
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return -errno;
	if (info.type != BPF_PROG_TYPE_CGROUP_SKB || strncmp(info.name, want, sizeof(info.name) - 1) ||
	    info.nr_map_ids > ARRAY_SIZE(ids))
		return -EINVAL;
	len = sizeof(info);
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = ARRAY_SIZE(ids);
	info.map_ids = (uintptr_t)ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return -errno;
	for (uint32_t i = 0; i < info.nr_map_ids && i < ARRAY_SIZE(ids); i++) {
		struct bpf_map_info mi = {};
		uint32_t ml = sizeof(mi);
		int mfd = bpf_map_get_fd_by_id(ids[i]);

		if (mfd < 0)
			return -errno;
		if (bpf_obj_get_info_by_fd(mfd, &mi, &ml) < 0) {
			close(mfd);
			return -errno;
		}
		/* a program of a version whose nodes had another layout */
		if (!strcmp(mi.name, map_names[M_NODES]) && mi.value_size != sizeof(struct nfo_node)) {
			close(mfd);
			return -EPROTO;
		}
		for (int m = 0; m < _M_MAX; m++) {
			if (p->fd[m] < 0 && !strcmp(mi.name, map_names[m])) {
				p->fd[m] = mfd;
				mfd = -1;
				break;
			}
		}
		if (mfd >= 0)
			close(mfd);
	}
	for (int m = 0; m < _M_MAX; m++)
		if (p->fd[m] < 0)
			return -ENOENT;
	p->prog_fd = fd;
	return 0;
}

static int load_new(struct nfo_svc_prog *p, char *err, size_t errlen)
{
	struct nfo_cgroup *obj = nfo_cgroup__open();
	struct bpf_program *prog;
	struct bpf_map *maps[_M_MAX];
	int r;

	if (!obj)
		return nfo_seterr_errno(err, errlen, -errno, "cannot open the service program");
	/* by the names reuse() finds them by after a restart */
	for (int m = 0; m < _M_MAX; m++) {
		maps[m] = bpf_object__find_map_by_name(obj->obj, map_names[m]);
		if (!maps[m]) {
			nfo_cgroup__destroy(obj);
			return nfo_seterr(err, errlen, -ENOENT, "the service program has no map %s",
					  map_names[m]);
		}
	}
	prog = p->dir == NFO_SERVICE_INGRESS ? obj->progs.nfo_cg_ingress : obj->progs.nfo_cg_egress;
	bpf_program__set_autoload(p->dir == NFO_SERVICE_INGRESS ? obj->progs.nfo_cg_egress :
								   obj->progs.nfo_cg_ingress, false);
	bpf_map__set_max_entries(maps[M_NODES], SVC_CAP_NODES * NFO_HALVES);
	/* small IPv4 address nodes are compared from here (encode.c), at the
	 * nodes' own indexes */
	bpf_map__set_max_entries(maps[M_EXACT4], SVC_CAP_NODES * NFO_HALVES);
	bpf_map__set_max_entries(maps[M_RADIX], SVC_CAP_TABLES * NFO_HALVES * NFO_RADIX_FANOUT);
	bpf_map__set_max_entries(maps[M_LPM4], SVC_CAP_LPM);
	bpf_map__set_max_entries(maps[M_LPM6], SVC_CAP_LPM);
	bpf_map__set_max_entries(maps[M_ROOTS], 1);
	bpf_map__set_max_entries(maps[M_SETKEYS], SVC_CAP_SET_ENTRIES);
	bpf_map__set_max_entries(maps[M_SETLPM], SVC_CAP_SET_ENTRIES);
	bpf_map__set_max_entries(maps[M_COUNTERS], SVC_MAX_SLOTS);
	r = nfo_cgroup__load(obj);
	if (r < 0) {
		nfo_cgroup__destroy(obj);
		return nfo_seterr_errno(err, errlen, r, "loading the service program failed");
	}
	r = nfo_mkdir_p(p->pin, 0700, false);
	if (r == 0 && bpf_obj_pin(bpf_program__fd(prog), p->pin) < 0)
		r = -errno;
	if (r < 0) {
		nfo_cgroup__destroy(obj);
		return nfo_seterr_errno(err, errlen, r, "cannot pin %s", p->pin);
	}
	p->prog_fd = dup(bpf_program__fd(prog));
	for (int m = 0; m < _M_MAX; m++)
		p->fd[m] = dup(bpf_map__fd(maps[m]));
	nfo_cgroup__destroy(obj);
	for (int m = 0; m < _M_MAX; m++)
		if (p->fd[m] < 0)
			return nfo_seterr(err, errlen, -EMFILE, "out of file descriptors");
	return p->prog_fd < 0 ? nfo_seterr(err, errlen, -EMFILE, "out of file descriptors") : 0;
}

static uint32_t max_entries(int fd)
{
	struct bpf_map_info mi = {};
	uint32_t ml = sizeof(mi);

	return bpf_obj_get_info_by_fd(fd, &mi, &ml) < 0 ? 0 : mi.max_entries;
}

/* The counter slot keys a previous daemon left (kept with the counters). */
static int open_keys(struct nfo_svc_prog *p)
{
	char path[PATH_MAX + 8];
	bool reused;
	int fd;

	keys_pin_path(p->pin, path, sizeof(path));
	fd = nfo_map_pinned(path, "nfo_svc_rules", BPF_MAP_TYPE_ARRAY, NFO_SLOT_KEY_LEN,
			    p->slots.max, &reused);
	if (fd < 0)
		return fd;
	p->keys_fd = p->slots.keys_fd = fd;
	return reused ? nfo_slots_restore(&p->slots) : 0;
}

/* Slot 0 of the rule map (never a rule's) names the network namespace of
 * the daemon that owns the service: daemons of other namespaces sharing the
 * bpffs leave its pins alone. */
static void owner_of_this_netns(char *buf, size_t len)
{
	struct stat ns;

	if (stat("/proc/self/ns/net", &ns) < 0)
		ns.st_ino = 0;
	snprintf(buf, len, "owner netns %lu", (unsigned long)ns.st_ino);
}

static void mark_owner(struct nfo_svc_prog *p)
{
	char k[NFO_SLOT_KEY_LEN] = {};
	uint32_t zero = 0;

	owner_of_this_netns(k, sizeof(k));
	(void)bpf_map_update_elem(p->keys_fd, &zero, k, BPF_ANY);
}

bool nfo_svc_owned_elsewhere(const char *dir_path)
{
	char path[PATH_MAX + 32], k[NFO_SLOT_KEY_LEN], mine[NFO_SLOT_KEY_LEN];
	uint32_t zero = 0;

	owner_of_this_netns(mine, sizeof(mine));
	for (int d = 0; d < _NFO_SERVICE_DIR_MAX; d++) {
		int fd;
		bool other;

		snprintf(path, sizeof(path), "%s/%s-rules", dir_path, nfo_service_dir_name(d));
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		other = bpf_map_lookup_elem(fd, &zero, k) == 0 && k[0] &&
			strncmp(k, mine, sizeof(k)) != 0;
		close(fd);
		if (other)
			return true;
	}
	return false;
}

int nfo_svc_prog_open(const char *pin, int dir, struct nfo_svc_prog **ret, bool *ret_reused,
		      char *err, size_t errlen)
{
	struct nfo_svc_prog *p = calloc(1, sizeof(*p));
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info), state;
	bool reused = false;
	int fd, r;

	if (!p)
		return nfo_seterr(err, errlen, -ENOMEM, "out of memory");
	p->prog_fd = p->keys_fd = -1;
	p->grace = (struct nfo_grace)NFO_GRACE_INIT;
	for (int m = 0; m < _M_MAX; m++)
		p->fd[m] = -1;
	p->dir = dir;
	p->active = -1;
	snprintf(p->pin, sizeof(p->pin), "%s", pin);

	fd = bpf_obj_get(pin);
	if (fd >= 0) {
		r = reuse(p, fd);
		if (r == 0) {
			reused = true;
		} else {
			/* Not ours (or from an incompatible version): replace it. */
			close(fd);
			for (int m = 0; m < _M_MAX; m++) {
				if (p->fd[m] >= 0)
					close(p->fd[m]);
				p->fd[m] = -1;
			}
			unlink(pin);
		}
	}
	if (!reused) {
		r = load_new(p, err, errlen);
		if (r < 0)
			goto fail;
	}
	if (bpf_obj_get_info_by_fd(p->prog_fd, &info, &len) == 0)
		p->prog_id = info.id;
	p->cap_nodes = max_entries(p->fd[M_NODES]) / NFO_HALVES;
	p->cap_tables = max_entries(p->fd[M_RADIX]) / (NFO_HALVES * NFO_RADIX_FANOUT);
	r = nfo_slots_init(&p->slots, max_entries(p->fd[M_COUNTERS]), libbpf_num_possible_cpus(),
			   NULL);
	if (r < 0 || !p->cap_nodes || !p->cap_tables) {
		r = nfo_seterr(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	p->slots.counters_fd = p->fd[M_COUNTERS];
	r = open_keys(p);
	if (r < 0) {
		nfo_seterr_errno(err, errlen, r, "cannot pin the rule map beside %s", pin);
		goto fail;
	}
	mark_owner(p);
	p->ctl_len = (size_t)sysconf(_SC_PAGESIZE);
	p->ctl = mmap(NULL, p->ctl_len, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd[M_CTL], 0);
	if (p->ctl == MAP_FAILED) {
		p->ctl = NULL;
		r = nfo_seterr_errno(err, errlen, -errno, "cannot map the control map");
		goto fail;
	}
	r = nfo_grace_new(&p->grace);
	if (r < 0) {
		nfo_seterr_errno(err, errlen, r, "cannot create maps");
		goto fail;
	}
	state = __atomic_load_n(&p->ctl->state, __ATOMIC_SEQ_CST);
	if (state == NFO_STATE_HALF(0) || state == NFO_STATE_HALF(1))
		p->active = (int)state - 1;
	/* What a previous daemon left in either half is unknown. */
	p->dirty[0] = p->dirty[1] = true;
	*ret = p;
	*ret_reused = reused;
	return 0;
fail:
	nfo_svc_prog_free(&p);
	return r;
}

/* ---- halves ------------------------------------------------------------------- */

/* Deletes the keys of hash or LPM map fd (key size ksz) that belong to
 * half h, as in_half says; collected first, as deleting while walking
 * with get_next_key restarts the walk. */
static int delete_half(int fd, size_t ksz, int h, const struct nfo_svc_prog *p,
		       bool (*in_half)(const void *key, int h, const struct nfo_svc_prog *p))
{
	uint8_t *keys = NULL, *cur = NULL;
	size_t n = 0, cap = 0;
	int r = 0;

	cur = malloc(ksz);
	if (!cur)
		return -ENOMEM;
	for (const void *prev = NULL; bpf_map_get_next_key(fd, prev, cur) == 0; prev = keys + (n - 1) * ksz) {
		r = nfo_grow(&keys, &cap, n + 1, ksz);
		if (r < 0)
			goto out;
		memcpy(keys + n * ksz, cur, ksz);
		n++;
	}
	for (size_t i = 0; i < n; i++)
		if (in_half(keys + i * ksz, h, p))
			(void)bpf_map_delete_elem(fd, keys + i * ksz);
out:
	free(keys);
	free(cur);
	return r;
}

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static bool lpm4_in_half(const void *key, int h, const struct nfo_svc_prog *p)
{
	return be32(((const struct nfo_lpm4_key *)key)->node) / p->cap_nodes == (uint32_t)h;
}

static bool lpm6_in_half(const void *key, int h, const struct nfo_svc_prog *p)
{
	return be32(((const struct nfo_lpm6_key *)key)->node) / p->cap_nodes == (uint32_t)h;
}

/* A service's slot k of half h has store h * NFO_MAX_SETS + k: its sets
 * change only with the ruleset, each half has its own. */
static bool setkey_in_half(const void *key, int h, const struct nfo_svc_prog *p)
{
	(void)p;
	return ((const struct nfo_setkey *)key)->store / NFO_MAX_SETS == (uint32_t)h;
}

static bool setlpm_in_half(const void *key, int h, const struct nfo_svc_prog *p)
{
	(void)p;
	return be32(((const struct nfo_setlpm_key *)key)->store) / NFO_MAX_SETS == (uint32_t)h;
}

/* Empties half h (not live): LPM and set entries, set specs. Nodes and
 * radix tables are overwritten, and only reachable from what is written. */
static int clean_half(struct nfo_svc_prog *p, int h)
{
	struct nfo_setspec none = {};
	int r;

	r = nfo_grace_wait(&p->grace);
	if (r == 0)
		r = delete_half(p->fd[M_LPM4], sizeof(struct nfo_lpm4_key), h, p, lpm4_in_half);
	if (r == 0)
		r = delete_half(p->fd[M_LPM6], sizeof(struct nfo_lpm6_key), h, p, lpm6_in_half);
	if (r == 0)
		r = delete_half(p->fd[M_SETKEYS], sizeof(struct nfo_setkey), h, p, setkey_in_half);
	if (r == 0)
		r = delete_half(p->fd[M_SETLPM], sizeof(struct nfo_setlpm_key), h, p, setlpm_in_half);
	for (uint32_t k = 0; r == 0 && k < NFO_MAX_SETS; k++) {
		uint32_t idx = (uint32_t)h * NFO_MAX_SETS + k;

		if (bpf_map_update_elem(p->fd[M_SETSPECS], &idx, &none, BPF_ANY) < 0)
			r = -errno;
		/* the table goes with its last reference */
		if (r == 0 && bpf_map_delete_elem(p->fd[M_XSTORES], &idx) < 0 && errno != ENOENT)
			r = -errno;
	}
	if (r == 0)
		p->dirty[h] = false;
	return r;
}

int nfo_svc_prog_tidy(struct nfo_svc_prog *p)
{
	int h = p->active < 0 ? 0 : 1 - p->active;

	return p->dirty[h] ? clean_half(p, h) : 0;
}

int nfo_svc_prog_counter(struct nfo_svc_prog *p, const char *key, struct nfo_counter *ret)
{
	return nfo_slots_counter(&p->slots, key, ret);
}

/* ---- apply ---------------------------------------------------------------------- */

/* A bucket table (bpf/nfo_store.h) holding s's keys, as nfo_xstores[id]. */
static int write_table(struct nfo_svc_prog *p, uint32_t id, const struct nfo_image_set *s)
{
	uint32_t kw = nfo_table_kw(s->spec.key_len), nb;
	struct nfo_table t;
	size_t len;
	void *mem;
	int fd, r;

	for (nb = nfo_table_buckets_for(s->n, kw, false);; nb *= 2) {
		r = nfo_table_map_new("nfo_svc_set", nb, kw, false, &fd, &mem, &len, &t);
		if (r < 0)
			return r;
		for (size_t i = 0; r == 0 && i < s->n; i++) {
			const struct nfo_image_setkey *e =
				(const void *)(s->entries + i * sizeof(*e));
			uint32_t key[NFO_TABLE_MAX_KW];

			nfo_table_key(e->key.key, s->spec.key_len, key);
			r = nfo_table_insert(&t, key, 0);
		}
		nfo_table_fini(&t);
		munmap(mem, len);
		if (r >= 0)
			break;
		close(fd);
		if (r != -ENOSPC || nb >= (1u << 26))
			return r;
	}
	r = bpf_map_update_elem(p->fd[M_XSTORES], &id, &fd, BPF_ANY) < 0 ? -errno : 0;
	close(fd);
	return r;
}

/*
 * The named set slots of the image. Values are "never expires": the
 * service compiler (service.c) refuses chains whose sets have timeouts or
 * are updated from the packet path, so a set here changes only with the
 * ruleset and the program stays exact. An element with an expiry would mean
 * that check was bypassed: refused rather than approximated.
 */
static int write_sets(struct nfo_svc_prog *p, int h, const struct nfo_image *img)
{
	const nfo_set_until never = 0;
	int r = 0;

	for (size_t k = 0; k < img->nsets && r == 0; k++) {
		const struct nfo_image_set *s = &img->sets[k];
		uint32_t idx = (uint32_t)h * NFO_MAX_SETS + (uint32_t)k;
		struct nfo_setspec spec = s->spec;
		size_t esz = nfo_image_set_entry_size(s);

		if (!s->spec.nfields)
			continue;
		spec.store = idx;
		for (size_t i = 0; r == 0 && i < s->n; i++)
			if (nfo_image_set_expires(s, s->entries + i * esz))
				r = -EINVAL;
		if (r == 0 && s->spec.kind == NFO_STORE_TABLE)
			r = write_table(p, idx, s);
		for (size_t i = 0; r == 0 && s->spec.kind != NFO_STORE_TABLE && i < s->n; i++) {
			union {
				struct nfo_setkey k;
				struct nfo_setlpm_key l;
			} key;

			memcpy(&key, s->entries + i * esz, s->lpm ? sizeof(key.l) : sizeof(key.k));
			if (s->lpm) {
				key.l.store[0] = 0;
				key.l.store[1] = 0;
				key.l.store[2] = 0;
				key.l.store[3] = (uint8_t)idx;
			} else {
				key.k.store = idx;
			}
			if (bpf_map_update_elem(p->fd[s->lpm ? M_SETLPM : M_SETKEYS], &key, &never,
						BPF_ANY) < 0)
				r = -errno;
		}
		if (r == 0 && bpf_map_update_elem(p->fd[M_SETSPECS], &idx, &spec, BPF_ANY) < 0)
			r = -errno;
	}
	return r;
}

int nfo_svc_prog_apply(struct nfo_svc_prog *p, const struct nfo_plan *plan, char *const *keys,
		       uint64_t genid, char *err, size_t errlen)
{
	struct nfo_image img = {};
	struct nfo_root root = { .ref = { NFO_REF_PASS, NFO_REF_PASS } };
	uint32_t zero = 0, *slots;
	size_t ntables;
	int h = p->active < 0 ? 0 : 1 - p->active;
	int r;

	if (p->dirty[h]) {
		r = clean_half(p, h);
		if (r < 0)
			return nfo_seterr_errno(err, errlen, r, "cannot empty the program's maps");
	}
	slots = calloc(plan->ntargets ? plan->ntargets : 1, sizeof(*slots));
	if (!slots)
		return nfo_seterr(err, errlen, -ENOMEM, "out of memory");
	for (size_t t = 0; t < plan->ntargets; t++) {
		r = nfo_slots_get(&p->slots, keys[t], &slots[t]);
		if (r < 0) {
			nfo_seterr_errno(err, errlen, r, "counter slots");
			goto out;
		}
	}
	r = nfo_image_encode(plan, slots, h, (uint32_t)h * p->cap_nodes,
			     (uint32_t)h * p->cap_tables, &img);
	if (r < 0) {
		nfo_seterr_errno(err, errlen, r, "encoding the decision diagram failed");
		goto out;
	}
	ntables = nfo_image_ntables(&img);
	if (plan->nnodes > p->cap_nodes || ntables > p->cap_tables) {
		r = nfo_seterr(err, errlen, -E2BIG,
			   "the chain needs %zu nodes and %zu tables, the program holds %u and %u",
			   plan->nnodes, ntables, p->cap_nodes, p->cap_tables);
		goto out;
	}
	/* From here on half h is written: it must be emptied before reuse. */
	p->dirty[h] = true;
	r = nfo_map_write_array(p->fd[M_NODES], img.node_base, img.nodes, img.nnodes, sizeof(*img.nodes));
	if (r == 0)
		r = nfo_map_write_array(p->fd[M_EXACT4], img.node_base, img.exact4, img.nnodes,
				sizeof(*img.exact4));
	if (r == 0)
		r = nfo_map_write_array(p->fd[M_RADIX], img.table_base * NFO_RADIX_FANOUT, img.radix,
				img.nradix, sizeof(*img.radix));
	for (size_t i = 0; r == 0 && i < img.nlpm4; i++)
		if (bpf_map_update_elem(p->fd[M_LPM4], &img.lpm4[i].key, &img.lpm4[i].ref,
					BPF_ANY) < 0)
			r = -errno;
	for (size_t i = 0; r == 0 && i < img.nlpm6; i++)
		if (bpf_map_update_elem(p->fd[M_LPM6], &img.lpm6[i].key, &img.lpm6[i].ref,
					BPF_ANY) < 0)
			r = -errno;
	if (r == 0)
		r = write_sets(p, h, &img);
	if (r == 0) {
		(void)bpf_map_lookup_elem(p->fd[M_ROOTS], &zero, &root);
		root.ref[h] = img.nroots ? img.roots[0].ref : NFO_REF_PASS;
		if (bpf_map_update_elem(p->fd[M_ROOTS], &zero, &root, BPF_ANY) < 0)
			r = -errno;
	}
	if (r < 0) {
		nfo_seterr_errno(err, errlen, r, "filling the program's maps failed");
		goto out;
	}
	p->ctl->generation = genid;
	__atomic_store_n(&p->ctl->state, NFO_STATE_HALF(h), __ATOMIC_SEQ_CST);
	p->active = h;
	nfo_slots_release(&p->slots, keys, plan->ntargets);
out:
	nfo_image_clear(&img);
	free(slots);
	return r;
}

uint32_t nfo_svc_prog_id(const struct nfo_svc_prog *p)
{
	return p->prog_id;
}

int nfo_svc_prog_fd(const struct nfo_svc_prog *p)
{
	return p->prog_fd;
}

bool nfo_svc_prog_enforcing(const struct nfo_svc_prog *p)
{
	return p->active >= 0;
}

void nfo_svc_unpin(const char *dir_path, int dir)
{
	char path[PATH_MAX + 32];

	for (int d = 0; d < _NFO_SERVICE_DIR_MAX; d++) {
		if (dir >= 0 && d != dir)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir_path, nfo_service_dir_name(d));
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s-rules", dir_path, nfo_service_dir_name(d));
		unlink(path);
	}
	(void)rmdir(dir_path);
}
