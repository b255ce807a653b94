// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

void nfo_strmap_clear(struct nfo_strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->e[i].key);
	free(m->e);
	*m = (struct nfo_strmap){};
}

static struct nfo_strmap_ent *find(const struct nfo_strmap *m, const char *key)
{
	size_t mask, i;

	if (!m->cap)
		return NULL;
	mask = m->cap - 1;
	for (i = hash_str(key) & mask; m->e[i].key || m->e[i].tomb; i = (i + 1) & mask)
		if (m->e[i].key && !strcmp(m->e[i].key, key))
			return &m->e[i];
	return NULL;
}

static int rehash(struct nfo_strmap *m, size_t cap)
{
	struct nfo_strmap_ent *e = calloc(cap, sizeof(*e));

	if (!e)
		return -ENOMEM;
	for (size_t k = 0; k < m->cap; k++) {
		size_t i;

		if (!m->e[k].key)
			continue;
		for (i = hash_str(m->e[k].key) & (cap - 1); e[i].key; i = (i + 1) & (cap - 1))
			;
		e[i] = m->e[k];
	}
	free(m->e);
	m->e = e;
	m->cap = cap;
	m->used = m->n;
	return 0;
}

int nfo_strmap_put(struct nfo_strmap *m, const char *key, uint32_t value)
{
	struct nfo_strmap_ent *f = find(m, key);
	size_t i, mask;
	int r;

	if (f) {
		f->value = value;
		return 0;
	}
	if ((m->used + 1) * 2 > m->cap) {
		r = rehash(m, m->cap ? (m->n + 1) * 4 > m->cap ? m->cap * 2 : m->cap : 64);
		if (r < 0)
			return r;
	}
	mask = m->cap - 1;
	for (i = hash_str(key) & mask; m->e[i].key; i = (i + 1) & mask)
		;
	m->e[i].key = strdup(key);
	if (!m->e[i].key)
		return -ENOMEM;
	if (!m->e[i].tomb)
		m->used++;
	m->e[i].tomb = false;
	m->e[i].value = value;
	m->n++;
	return 0;
}

bool nfo_strmap_get(const struct nfo_strmap *m, const char *key, uint32_t *ret_value)
{
	struct nfo_strmap_ent *f = find(m, key);

	if (!f)
		return false;
	*ret_value = f->value;
	return true;
}

bool nfo_strmap_del(struct nfo_strmap *m, const char *key)
{
	struct nfo_strmap_ent *f = find(m, key);

	if (!f)
		return false;
	free(f->key);
	f->key = NULL;
	f->tomb = true;
	m->n--;
	return true;
}
