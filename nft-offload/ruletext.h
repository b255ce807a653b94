/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Rule texts for `explain`: each rule as `nft list ruleset` prints it.
 *
 * The daemon never prints rules itself (that is nft's job, and its
 * printer is not a library we link). The `explain` client runs
 * `nft -a -s list ruleset` in the daemon's network namespace, between two
 * reads of the ruleset generation, and sends the texts with its request;
 * the daemon uses them only if they are of the generation it reflects.
 *
 * Request body, after the request line, one item per line:
 *   genid N
 *   rule <TAB> FAMILY <TAB> TABLE <TAB> HANDLE <TAB> TEXT
 *   note <TAB> why there are no texts
 */
#ifndef NFO_RULETEXT_H
#define NFO_RULETEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "strmap.h"

/* Largest request body the daemon reads. */
#define NFO_RULETEXT_MAX_BODY (64u << 20)

/*
 * Appends one "rule" line per rule of an `nft -a list ruleset` listing to
 * out. Returns the number of rules, or -EINVAL if the listing does not
 * have the shape nft prints (unbalanced braces, a rule outside a table).
 */
int nfo_ruletext_from_listing(const char *s, size_t len, struct nfo_buf *out);

/*
 * Client side: runs `nft -a -s list ruleset` in the current network
 * namespace and appends the request body to out: the generation and the
 * rules, or a note saying why there are none. Retries (a few times) while
 * the generation moves under the listing.
 */
void nfo_ruletext_collect(struct nfo_buf *out);

/* Daemon side. */
struct nfo_ruletexts {
	uint32_t genid;
	bool have_genid;
	char *note;              /* the client's reason for sending no texts */
	struct nfo_strmap index; /* "FAMILY TABLE HANDLE" -> texts[] */
	char **texts;
	size_t n;
	size_t cap;
};

/* Parses a request body (after the request line). -ENOMEM, -EINVAL. */
int nfo_ruletexts_parse(struct nfo_ruletexts *t, const char *body, size_t len);
const char *nfo_ruletexts_get(const struct nfo_ruletexts *t, const char *family,
			      const char *table, uint64_t handle);
void nfo_ruletexts_free(struct nfo_ruletexts *t);

#endif
