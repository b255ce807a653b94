/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Translation of one nftables rule (libnftnl expressions) into predicates on
 * packet fields, a verdict and its effects. Every expression is either
 * recognised exactly or turned into an UNKNOWN predicate (pure expressions) or
 * an effect (statements): the result is never more certain than nftables.
 */
#ifndef NFO_TRANSLATE_H
#define NFO_TRANSLATE_H

#include <stdint.h>

#include "ruleset.h"

struct nftnl_rule;

/* Fills out (whose chain, handle and position are set) from nr. Returns 0,
 * or -ENOMEM. What cannot be offloaded is recorded in out, not returned. */
int nfo_translate_rule(const struct nfo_ruleset *rs, struct nftnl_rule *nr,
		       struct nfo_rule *out);

/* An nftables verdict code (NFT_JUMP, NF_DROP, ...) as enum nfo_verdict;
 * NFO_VERDICT_STOP for the ones the fast path does not follow. */
int nfo_translate_verdict(uint32_t code);

#endif
