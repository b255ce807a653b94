// SPDX-License-Identifier: GPL-2.0-only
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <bpf/bpf.h>

#include "slots.h"

static void lock(struct nfo_slots *s)
{
	if (s->mu)
		pthread_mutex_lock(s->mu);
}

static void unlock(struct nfo_slots *s)
{
	if (s->mu)
		pthread_mutex_unlock(s->mu);
}

int nfo_slots_init(struct nfo_slots *s, uint32_t max, int ncpus, pthread_mutex_t *mu)
{
	*s = (struct nfo_slots){
		.max = max, .ncpus = ncpus, .counters_fd = -1, .keys_fd = -1, .mu = mu,
	};
	s->used = calloc(max ? max : 1, 1);
	if (!s->used)
		return -ENOMEM;
	s->used[0] = 1; /* slot 0: not credited to a rule */
	return 0;
}

void nfo_slots_fini(struct nfo_slots *s)
{
	nfo_strmap_clear(&s->map);
	free(s->used);
	s->used = NULL;
}

int nfo_slots_restore(struct nfo_slots *s)
{
	struct nfo_slot_key k;

	for (uint32_t i = 1; i < s->max; i++) {
		int r;

		if (bpf_map_lookup_elem(s->keys_fd, &i, &k) < 0 || !k.key[0])
			continue;
		k.key[sizeof(k.key) - 1] = '\0';
		r = nfo_strmap_put(&s->map, k.key, i);
		if (r < 0)
			return r;
		s->used[i] = 1;
	}
	return 0;
}

static int zero_slot(struct nfo_slots *s, uint32_t slot)
{
	struct nfo_counter *zero = calloc((size_t)s->ncpus, sizeof(*zero));
	int r = 0;

	if (!zero)
		return -ENOMEM;
	if (bpf_map_update_elem(s->counters_fd, &slot, zero, BPF_ANY) < 0)
		r = -errno;
	free(zero);
	return r;
}

int nfo_slots_get(struct nfo_slots *s, const char *key, uint32_t *ret)
{
	struct nfo_slot_key k = {};
	uint32_t i;
	int r;

	if (nfo_strmap_get(&s->map, key, &i)) {
		assert(i < s->max && s->used[i]);
		*ret = i;
		return 0;
	}
	for (i = 1; i < s->max && s->used[i]; i++)
		;
	if (i >= s->max) {
		*ret = 0; /* out of slots: counted, but not per rule */
		return 0;
	}
	r = zero_slot(s, i);
	if (r < 0)
		return r;
	snprintf(k.key, sizeof(k.key), "%s", key);
	if (bpf_map_update_elem(s->keys_fd, &i, &k, BPF_ANY) < 0)
		return -errno;
	lock(s);
	r = nfo_strmap_put(&s->map, key, i);
	unlock(s);
	if (r < 0)
		return r;
	s->used[i] = 1;
	*ret = i;
	return 0;
}

void nfo_slots_release(struct nfo_slots *s, char *const *keys, size_t nkeys)
{
	struct nfo_strmap keep = {};

	for (size_t i = 0; i < nkeys; i++)
		if (nfo_strmap_put(&keep, keys[i], 1) < 0)
			goto out;
	for (size_t i = 0; i < s->map.cap; i++) {
		struct nfo_strmap_ent *e = &s->map.e[i];
		struct nfo_slot_key empty = {};
		uint32_t slot, dummy;

		if (!e->key || nfo_strmap_get(&keep, e->key, &dummy))
			continue;
		slot = e->value;
		assert(slot > 0 && slot < s->max); /* slot 0 is never a rule's */
		(void)bpf_map_update_elem(s->keys_fd, &slot, &empty, BPF_ANY);
		s->used[slot] = 0;
		lock(s);
		nfo_strmap_del(&s->map, e->key);
		unlock(s);
	}
out:
	nfo_strmap_clear(&keep);
}

int nfo_percpu_sum(int fd, uint32_t key, int ncpus, struct nfo_counter *ret)
{
	struct nfo_counter *v = calloc((size_t)ncpus, sizeof(*v));
	int r = 0;

	*ret = (struct nfo_counter){};
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, v) < 0) {
		r = -errno;
	} else {
		for (int c = 0; c < ncpus; c++) {
			ret->packets += v[c].packets;
			ret->bytes += v[c].bytes;
		}
	}
	free(v);
	return r;
}

int nfo_slots_counter(struct nfo_slots *s, const char *key, struct nfo_counter *ret)
{
	uint32_t slot;
	bool found;

	*ret = (struct nfo_counter){};
	lock(s);
	found = nfo_strmap_get(&s->map, key, &slot);
	unlock(s);
	if (!found)
		return -ENOENT;
	return nfo_percpu_sum(s->counters_fd, slot, s->ncpus, ret);
}
