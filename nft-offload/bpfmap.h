/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * BPF map handling the two loaders share: the XDP/TC loader (loader.c) and
 * the per-service cgroup loader (service-loader.c). Both keep their maps
 * across generations, wait for RCU grace periods the same way, fill
 * bucket tables aside and keep their counters in pinned maps.
 */
#ifndef NFO_BPFMAP_H
#define NFO_BPFMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/bpf.h>

#include "setstore.h"

/* Updating an ARRAY_OF_MAPS waits for running BPF programs
 * (maybe_wait_bpf_programs() -> synchronize_rcu()): a one-slot one,
 * updated with the same inner map, is how a loader waits until no packet
 * can still be walking what it retired. */
struct nfo_grace {
	int fd;
	int inner_fd;
};

#define NFO_GRACE_INIT { .fd = -1, .inner_fd = -1 }

int nfo_grace_new(struct nfo_grace *g);
int nfo_grace_wait(const struct nfo_grace *g);
void nfo_grace_close(struct nfo_grace *g);

/* Writes n values (vsz bytes each) to array map fd at keys
 * first..first+n-1. */
int nfo_map_write_array(int fd, uint32_t first, const void *values, size_t n, size_t vsz);

/*
 * The map pinned at path if it has type, value_size and max_entries;
 * otherwise a new map called name, pinned there in place of what was
 * (*ret_reused says which). An fd, or -errno.
 */
int nfo_map_pinned(const char *path, const char *name, enum bpf_map_type type,
		   uint32_t value_size, uint32_t max_entries, bool *ret_reused);

/* A new, empty bucket table (bpf/nfo_store.h) of nbuckets for keys of kw
 * words: an mmapped array map called name, to go into an nfo_xstores. */
int nfo_table_map_new(const char *name, uint32_t nbuckets, uint32_t kw, bool has_exp,
		      int *ret_fd, void **ret_mem, size_t *ret_len, struct nfo_table *ret);

#endif
