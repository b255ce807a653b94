/* SPDX-License-Identifier: GPL-2.0-only */
/* A string -> uint32_t hash map (open addressing). */
#ifndef NFO_STRMAP_H
#define NFO_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nfo_strmap_ent {
	char *key;
	uint32_t value;
	bool tomb;
};

struct nfo_strmap {
	struct nfo_strmap_ent *e;
	size_t cap;
	size_t n;
	size_t used; /* live + tombstones */
};

void nfo_strmap_clear(struct nfo_strmap *m);
int nfo_strmap_put(struct nfo_strmap *m, const char *key, uint32_t value);
bool nfo_strmap_get(const struct nfo_strmap *m, const char *key, uint32_t *ret_value);
bool nfo_strmap_del(struct nfo_strmap *m, const char *key);

#endif
