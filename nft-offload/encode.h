/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The encoding of a plan into the contents of the fast path's maps
 * (bpf/nfo_abi.h): the nodes array, the radix tables, the LPM entries, the
 * roots and the named set slots of one generation, for one half of a program
 * set. Pure, so what the loader (loader.c) writes to the kernel can be
 * checked without one. The service programs (service-loader.c) use the same
 * encoding for their one root; their accepting leaves (NFO_REF_ACCEPT) keep
 * their counter slot.
 */
#ifndef NFO_ENCODE_H
#define NFO_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/nfo_abi.h"
#include "bpf/nfo_store.h"

struct nfo_plan;

/*
 * The smallest capacities of a program set. A new program set is sized to
 * its first plan with room to grow (nfo_image_caps()), and a plan that
 * outgrows it gets a new one: a small ruleset costs little kernel memory.
 */
#define NFO_CAP_NODES 64       /* per half; arrays: allocated whole */
#define NFO_CAP_TABLES 2       /* radix tables per half (256 entries each) */
#define NFO_CAP_LPM (1u << 20) /* BPF_F_NO_PREALLOC tries: a bound, not an allocation */
#define NFO_CAP_ROOTS 16       /* preallocated hash */
/* nfo_setkeys (exact keys too long for a table): a hash without
 * preallocation, but its bucket array (16 bytes a bucket, max_entries
 * rounded up to a power of two) is allocated whole */
#define NFO_CAP_SET_KEYS 1024
#define NFO_CAP_SET_LPM (1u << 20) /* nfo_setlpm, a trie: a bound */

/*
 * The largest capacities: node ids of both halves and table numbers must fit
 * NFO_REF_VALUE_MASK, and the radix map's size (both halves, 256 entries a
 * table) a u32.
 */
#define NFO_CAP_MAX_NODES (1u << 28)
#define NFO_CAP_MAX_TABLES (1u << 22)
#define NFO_CAP_MAX (1u << 30)

/* What a program set's maps hold: nodes and tables per half, LPM entries,
 * roots and set entries for both halves (those maps are shared). */
struct nfo_caps {
	uint32_t nodes;
	uint32_t tables;
	uint32_t lpm4;
	uint32_t lpm6;
	uint32_t roots;
	uint32_t setkeys;
	uint32_t setlpm;
};

/*
 * What the shared maps of a program set hold besides the image written into
 * one half: the other half's LPM entries, and the set entries of both halves
 * (the half being written is diffed in place, so its old entries stay until
 * it is done: the maps must hold them and the new ones at once).
 */
struct nfo_held {
	size_t lpm4;
	size_t lpm6;
	size_t setkeys;
	size_t setlpm;
};

struct nfo_image_lpm4 {
	struct nfo_lpm4_key key;
	uint32_t ref;
};

struct nfo_image_lpm6 {
	struct nfo_lpm6_key key;
	uint32_t ref;
};

/* This half's part of the nfo_roots entry of ifindex (ref[half],
 * ref_ip[half], ref_ip6[half], mac[half]). */
struct nfo_image_root {
	uint32_t ifindex;
	uint32_t ref;
	uint32_t ref_ip;  /* where ref leads an IPv4 frame past an EtherType node, else ref */
	uint32_t ref_ip6; /* the same for IPv6 */
	uint8_t mac[6];
	uint8_t bcast[6];
};

/* An element of a set slot: its map key (store 0: the loader names the
 * store), and the kernel's expiry of the element (struct nfo_set.expires:
 * jiffies64, 0 = never). The loader writes the value from it
 * (nfo_set_until: the expiry less the margin). A table store (kind
 * NFO_STORE_TABLE) holds key.key's first key_len bytes, padded to words. */
struct nfo_image_setkey {
	struct nfo_setkey key;
	uint64_t expires;
};

struct nfo_image_setlpm {
	struct nfo_setlpm_key key;
	uint64_t expires;
};

/* Named set slot k: its nfo_setspecs entry (key half * NFO_MAX_SETS + k;
 * store 0 until the loader gives it one) and its elements, sorted by the
 * memcmp of their keys so that two generations diff in one pass. */
struct nfo_image_set {
	struct nfo_setspec spec; /* nfields 0: the slot is unused */
	bool lpm;                /* entries are struct nfo_image_setlpm (nfo_setlpm) */
	uint8_t *entries;        /* else struct nfo_image_setkey */
	size_t n;
	size_t cap;
};

/* Where a set's elements go (enum nfo_store_kind). */
static inline uint8_t nfo_image_store_kind(bool interval, uint32_t key_len)
{
	if (interval)
		return NFO_STORE_LPM;
	return key_len <= NFO_TABLE_MAX_KEY ? NFO_STORE_TABLE : NFO_STORE_HASH;
}

struct nfo_image {
	int half;
	uint32_t node_base;  /* nfo_nodes key of nodes[0] (plan node 0) */
	struct nfo_node *nodes;
	/* nfo_exact4 at the same keys as nodes: filled for nodes flagged
	 * NFO_NODE_EXACT, zero for the others */
	struct nfo_exact4 *exact4;
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

/* Size in bytes of one entry of set slot s, and of its map key (the
 * entry's start). */
static inline size_t nfo_image_set_entry_size(const struct nfo_image_set *s)
{
	return s->lpm ? sizeof(struct nfo_image_setlpm) : sizeof(struct nfo_image_setkey);
}

static inline size_t nfo_image_set_key_size(const struct nfo_image_set *s)
{
	return s->lpm ? sizeof(struct nfo_setlpm_key) : sizeof(struct nfo_setkey);
}

/* The entry's kernel expiry (jiffies64, 0 = never). */
static inline uint64_t nfo_image_set_expires(const struct nfo_image_set *s, const uint8_t *entry)
{
	return s->lpm ? ((const struct nfo_image_setlpm *)entry)->expires :
			((const struct nfo_image_setkey *)entry)->expires;
}

/*
 * The map value of an element the kernel expires at expires (a lower bound
 * of it, jiffies64; 0 = never): present in the fast path while jiffies64 <
 * expires - margin_j. Never 0 for an element that expires: one already
 * within the margin counts as gone.
 */
static inline uint64_t nfo_set_until_of(uint64_t expires, uint64_t margin_j)
{
	if (!expires)
		return 0;
	return expires > margin_j + 1 ? expires - margin_j : 1;
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

struct nfo_tival;

/*
 * The LPM entries (sorted, store 0) of the ranges iv of an interval set whose
 * elements expire, for a field of width bits: each range's prefixes carry its
 * expiry, its start key its own (struct nfo_tival). Appended to s.
 */
int nfo_image_timed_ranges(const struct nfo_tival *iv, size_t n, unsigned width,
			   struct nfo_image_set *s);

struct nfo_plan_set;
struct nfo_set_change;

/*
 * The entries the store of plan set ps must gain (ret_add) and lose
 * (ret_del) for change c of the set's elements (setdelta.h): sorted, store
 * 0, and for interval sets without the prefixes that both sides have.
 * Applied to the store's entries they give what nfo_image_encode() gives for
 * the new elements.
 */
int nfo_image_set_delta(const struct nfo_plan_set *ps, const struct nfo_set_change *c,
			struct nfo_image_set *ret_add, struct nfo_image_set *ret_del);

/*
 * The entries of keys change c keeps whose expiry changed (c->upd_*): those
 * that now expire sooner (ret_sooner: the element is present for less time,
 * like a removal) and later (ret_later: like an addition). Written over the
 * entries the store holds for the same keys (one store of the expiry).
 */
int nfo_image_set_updates(const struct nfo_plan_set *ps, const struct nfo_set_change *c,
			  struct nfo_image_set *ret_sooner, struct nfo_image_set *ret_later);

/* *entries (n sorted entries of esz bytes) minus del plus add (both sorted). */
int nfo_image_entries_merge(uint8_t **entries, size_t *n, size_t esz, const uint8_t *add,
			    size_t nadd, const uint8_t *del, size_t ndel);

/* Radix tables the image uses. */
static inline size_t nfo_image_ntables(const struct nfo_image *img)
{
	return img->nradix / NFO_RADIX_FANOUT;
}

/* Set entries of img in nfo_setlpm (lpm) or nfo_setkeys (not the tables'). */
size_t nfo_image_set_entries(const struct nfo_image *img, bool lpm);

/* Whether img fits a program set of capacities caps whose maps hold held
 * (NULL: nothing) besides it. */
bool nfo_image_fits(const struct nfo_image *img, const struct nfo_caps *caps,
		    const struct nfo_held *held);

/*
 * Capacities of a new program set for img: what img needs with room to
 * grow, as a power of two, at least the smallest capacities. Nodes, tables
 * and roots: twice the need. LPM entries: twice, for the other half's.
 * Set entries: four times (a store rewritten in place holds its old and
 * new entries for a moment), with room beyond.
 * -E2BIG past the largest.
 */
int nfo_image_caps(const struct nfo_image *img, struct nfo_caps *ret);

#endif
