/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Counter slots, as both loaders keep them: each rule key owns one slot of
 * a per-CPU counter map (struct nfo_counter) and is written into a key map
 * (struct nfo_slot_key) at the same index, so that counters survive ruleset
 * updates and daemon restarts. Slot 0 is never a rule's: drops not credited
 * to a rule, and rules beyond the last slot.
 */
#ifndef NFO_SLOTS_H
#define NFO_SLOTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader.h"
#include "strmap.h"

struct nfo_slots {
	uint32_t max;
	int ncpus;
	int counters_fd; /* borrowed: the loader closes it */
	int keys_fd;     /* borrowed too */
	uint8_t *used;
	/* If not NULL, map is read by nfo_slots_counter() from other threads
	 * (the daemon's control thread): changed only under *mu (the thread
	 * that changes it, the only writer, reads it without). */
	pthread_mutex_t *mu;
	struct nfo_strmap map;
};

/* max slots (at least 1), counters summed over ncpus, map guarded by mu
 * (borrowed, may be NULL); the fds are set by the caller before any other
 * call. */
int nfo_slots_init(struct nfo_slots *s, uint32_t max, int ncpus, pthread_mutex_t *mu);
void nfo_slots_fini(struct nfo_slots *s);

/* Takes back the slots whose keys the key map holds (left by a previous
 * daemon, with the counters). */
int nfo_slots_restore(struct nfo_slots *s);

/* The slot of key, given a zeroed one if it has none; 0 when all are
 * taken (counted, but not per rule). */
int nfo_slots_get(struct nfo_slots *s, const char *key, uint32_t *ret);

/* After a swap: slots of keys not in keys[] (rules that no longer exist)
 * are free again. */
void nfo_slots_release(struct nfo_slots *s, char *const *keys, size_t nkeys);

/* The sums of key's per-CPU counters, or -ENOENT. */
int nfo_slots_counter(struct nfo_slots *s, const char *key, struct nfo_counter *ret);

/* The sums of the per-CPU counters at index key of fd (ncpus values). */
int nfo_percpu_sum(int fd, uint32_t key, int ncpus, struct nfo_counter *ret);

#endif
