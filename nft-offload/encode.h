/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A plan as the BPF maps hold it (bpf/nfo_abi.h): nodes, radix tables, LPM
 * entries and named-set entries for one half. Shared by the fast-path
 * loader (loader.c) and the service programs (service-loader.c).
 */
#ifndef NFO_ENCODE_H
#define NFO_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/nfo_abi.h"

struct nfo_plan;
struct nfo_plan_set;

struct nfo_encoded {
	uint32_t node_base;  /* absolute id of plan node 0 */
	uint32_t table_base; /* absolute number of the first radix table */
	struct nfo_node *nodes; /* plan->nnodes entries */
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

void nfo_encoded_reset(struct nfo_encoded *e);
void nfo_encoded_clear(struct nfo_encoded *e);
/* A plan reference as the maps hold it (absolute node id, counter slot). */
uint32_t nfo_encode_ref(const struct nfo_encoded *e, uint32_t ref);
/* Encodes plan for the half whose node and table ranges start at the given
 * bases. Slots must already be resolved in e->slots. */
int nfo_encode(const struct nfo_plan *plan, uint32_t node_base, uint32_t table_base,
	       struct nfo_encoded *e);

/* Entries of a named-set slot (struct nfo_setkey or nfo_setlpm_key), sorted. */
struct nfo_setbuild {
	uint8_t *e;
	size_t n;
	size_t cap;
	size_t esz;
};

/* The entries slot k of half h must hold for set slot ps. */
int nfo_set_entries(const struct nfo_plan_set *ps, int h, int k, struct nfo_setbuild *b,
		    bool *ret_lpm);

/* Writes n values to array map fd at keys first..first+n-1. */
int nfo_write_array(int fd, uint32_t first, const void *values, size_t n, size_t vsz);

#endif
