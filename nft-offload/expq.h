/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The expiry questions still unanswered: for each (set, key) whose last
 * notified operation added it to a set whose elements expire, the ticket
 * of the GETSETELEM question asked for it (docs/SEMANTICS.md, "Sets whose
 * elements expire"). An answer counts only while its ticket is the one its
 * key waits for: a later delete forgets the key (nfo_expq_cancel()), a
 * later add asks again with a new ticket, a set read whole forgets its keys
 * (nfo_expq_forget()). Tickets are never reused, so an answer to a question
 * forgotten can never be taken for a newer one. Pure: no kernel, no daemon.
 */
#ifndef NFO_EXPQ_H
#define NFO_EXPQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest key: the in-place route takes exact keys a bucket table holds. */
#define NFO_EXPQ_KEY_MAX 16

struct nfo_expq;

int nfo_expq_new(struct nfo_expq **ret);
void nfo_expq_free(struct nfo_expq **q);

/* A question for key (len bytes) of set (an identity, never dereferenced):
 * its ticket in ret_ticket; an older question for it no longer counts.
 * -EINVAL: key too long; -ENOMEM. */
int nfo_expq_ask(struct nfo_expq *q, const void *set, const uint8_t *key, size_t len,
		 uint64_t *ret_ticket);
/* A later operation decided key (a delete): no answer for it counts. */
void nfo_expq_cancel(struct nfo_expq *q, const void *set, const uint8_t *key, size_t len);
/* Whether the answer to question ticket is the one key waits for; if so it
 * no longer waits. */
bool nfo_expq_take(struct nfo_expq *q, const void *set, const uint8_t *key, size_t len,
		   uint64_t ticket);
/* Whether key waits for an answer. */
bool nfo_expq_pending(const struct nfo_expq *q, const void *set, const uint8_t *key, size_t len);
/* Every question of set (NULL: of every set) forgotten. */
void nfo_expq_forget(struct nfo_expq *q, const void *set);
/* Keys waiting for an answer. */
size_t nfo_expq_count(const struct nfo_expq *q);

#endif
