/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The importer: builds the model (ruleset.h) from a dump of libnftnl objects
 * (netlink/nft.h), translating every rule (translate.h). The dependency runs
 * one way, import -> translate -> ruleset, as in nftables (cache.c and
 * netlink_delinearize.c fill rule.c's model).
 */
#ifndef NFO_IMPORT_H
#define NFO_IMPORT_H

#include "ruleset.h"

struct nfo_nft_dump;
struct nfo_nft_elems;
struct nfo_nft_jiffies;
struct nftnl_set;

/* The ruleset of a dump; chains and sets of dormant tables are left out.
 * -ENOMEM; what cannot be offloaded is recorded in the rules, not returned. */
int nfo_ruleset_new(struct nfo_ruleset **ret, const struct nfo_nft_dump *dump);

/* Reads new elements into s (same table, name and type), read after the
 * clock at: -EINVAL if the type changed, -ESTALE if s was usable and no
 * longer is (the rules must be translated again), -ENOMEM. */
int nfo_set_reload(struct nfo_set *s, struct nftnl_set *ns, const struct nfo_nft_jiffies *at);
/* The same with the elements apart (ns's own are ignored), as
 * nfo_nft_read_set() returns them. */
int nfo_set_reload_elems(struct nfo_set *s, struct nftnl_set *ns, const struct nfo_nft_elems *es,
			 const struct nfo_nft_jiffies *at);
/* Frees the elements of s (what nfo_set_reload() fills), keeping its name
 * and type. */
void nfo_set_clear_elems(struct nfo_set *s);
/* ret: s without its elements, sharing its name (to reload into and swap
 * with s; never freed as a set, only with nfo_set_clear_elems()). */
void nfo_set_copy_type(const struct nfo_set *s, struct nfo_set *ret);
/* Whether every rule of rs that looks s up does so toward drop (more
 * elements can only mean more drops: reads_toward_drop), so the fast path
 * stays sound with a subset of its elements. */
bool nfo_ruleset_set_read_toward_drop(const struct nfo_ruleset *rs, const struct nfo_set *s);

#endif
