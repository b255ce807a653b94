/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The encoding of a plan into the contents of the fast path's maps
 * (bpf/nfo_abi.h): the nodes array, the radix tables, the LPM entries, the
 * roots and the named set slots of one generation, for one half of a program
 * set. Pure, so what the loader (loader.c) writes to the kernel can be
 * checked without one.
 */
#ifndef NFO_ENCODE_H
#define NFO_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/nfo_abi.h"

struct nfo_plan;

/* Default capacities of a program set (grown when a plan needs more). */
#define NFO_CAP_NODES 4096     /* per half */
#define NFO_CAP_TABLES 512     /* radix tables per half (256 entries each) */
#define NFO_CAP_LPM (1u << 20) /* BPF_F_NO_PREALLOC: a bound, not an allocation */
#define NFO_CAP_ROOTS 256
#define NFO_CAP_SET_ENTRIES (1u << 22) /* set elements (keys or prefixes), both halves */

/*
 * The largest capacities: node ids of both halves and table numbers must fit
 * NFO_REF_VALUE_MASK, and the radix map's size (both halves, 256 entries a
 * table) a u32.
 */
#define NFO_CAP_MAX_NODES (1u << 28)
#define NFO_CAP_MAX_TABLES (1u << 22)
#define NFO_CAP_MAX (1u << 30)

/* What a program set's maps hold: nodes and tables per half, LPM entries
 * and roots for both halves (the LPM tries and the roots are shared). */
struct nfo_caps {
	uint32_t nodes;
	uint32_t tables;
	uint32_t lpm4;
	uint32_t lpm6;
	uint32_t roots;
};

struct nfo_image_lpm4 {
	struct nfo_lpm4_key key;
	uint32_t ref;
};

struct nfo_image_lpm6 {
	struct nfo_lpm6_key key;
	uint32_t ref;
};

/* This half's part of the nfo_roots entry of ifindex (ref[half], mac[half]). */
struct nfo_image_root {
	uint32_t ifindex;
	uint32_t ref;
	uint8_t mac[6];
};

/* Named set slot k: its nfo_setspecs entry (key half * NFO_MAX_SETS + k) and
 * its keys, sorted by memcmp so that two generations diff in one pass. */
struct nfo_image_set {
	struct nfo_setspec spec; /* nfields 0: the slot is unused */
	bool lpm;                /* entries are struct nfo_setlpm_key (nfo_setlpm) */
	uint8_t *entries;        /* else struct nfo_setkey (nfo_setkeys) */
	size_t n;
	size_t cap;
};

struct nfo_image {
	int half;
	uint32_t node_base;  /* nfo_nodes key of nodes[0] (plan node 0) */
	struct nfo_node *nodes;
	size_t nnodes;
	uint32_t table_base; /* radix[0] is entry 0 of this radix table */
	uint32_t *radix;
	size_t nradix;       /* entries: NFO_RADIX_FANOUT per table */
	size_t radix_cap;
	struct nfo_image_lpm4 *lpm4;
	size_t nlpm4, lpm4_cap;
	struct nfo_image_lpm6 *lpm6;
	size_t nlpm6, lpm6_cap;
	struct nfo_image_root *roots;
	size_t nroots;
	struct nfo_image_set sets[NFO_MAX_SETS];
	size_t nsets;
};

/* Size in bytes of one entry of set slot s. */
static inline size_t nfo_image_set_entry_size(const struct nfo_image_set *s)
{
	return s->lpm ? sizeof(struct nfo_setlpm_key) : sizeof(struct nfo_setkey);
}

/*
 * Encodes plan for half of a program set whose node ids and radix tables of
 * that half start at node_base and table_base. slots[t] is the counter slot
 * of plan target t. ret is overwritten (give it zeroed or cleared), and
 * filled only on success. -E2BIG when a node id, table number or counter
 * slot does not fit a reference, -ENOMEM.
 */
int nfo_image_encode(const struct nfo_plan *plan, const uint32_t *slots, int half,
		     uint32_t node_base, uint32_t table_base, struct nfo_image *ret);
void nfo_image_clear(struct nfo_image *img);

struct nfo_plan_set;
struct nfo_set_change;

/*
 * The entries slot k (serving plan set ps) of half must gain (ret_add) and
 * lose (ret_del) for change c of the set's elements (setdelta.h): sorted,
 * and for interval sets without the prefixes that both sides have. Applied
 * to the slot's entries they give what nfo_image_encode() gives for the new
 * elements.
 */
int nfo_image_set_delta(const struct nfo_plan_set *ps, int half, int k,
			const struct nfo_set_change *c, struct nfo_image_set *ret_add,
			struct nfo_image_set *ret_del);

/* *entries (n sorted entries of esz bytes) minus del plus add (both sorted). */
int nfo_image_entries_merge(uint8_t **entries, size_t *n, size_t esz, const uint8_t *add,
			    size_t nadd, const uint8_t *del, size_t ndel);

/* Radix tables the image uses. */
static inline size_t nfo_image_ntables(const struct nfo_image *img)
{
	return img->nradix / NFO_RADIX_FANOUT;
}

/* Whether img fits a program set of capacities caps whose other half holds
 * other_lpm4 and other_lpm6 LPM entries. */
bool nfo_image_fits(const struct nfo_image *img, const struct nfo_caps *caps, size_t other_lpm4,
		    size_t other_lpm6);

/* Capacities of a new program set for img (the defaults, doubled until img
 * fits with room for the next generation's LPM entries and roots), or
 * -E2BIG past the largest. */
int nfo_image_caps(const struct nfo_image *img, struct nfo_caps *ret);

#endif
