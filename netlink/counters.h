/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nftables rule counters over netlink: what a `counter` statement of one
 * rule has counted, read without running `nft`. Does not print.
 */
#ifndef NFO_NETLINK_COUNTERS_H
#define NFO_NETLINK_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>

struct mnl_socket;

struct nfo_nft_rule_counter {
	uint64_t handle;
	bool has_counter;  /* the rule has a counter statement (the last one counts) */
	uint64_t packets;
	uint64_t bytes;
};

/* A bound NETLINK_NETFILTER socket in the caller's network namespace. */
int nfo_nft_counter_open(struct mnl_socket **ret);
void nfo_nft_counter_close(struct mnl_socket **nl);

/*
 * The counter of rule `handle` of family/table/chain, or with handle 0 of
 * the chain's last rule (a dump: its handle is in ret->handle). -ENOENT if
 * there is no such rule.
 */
int nfo_nft_rule_counter(struct mnl_socket *nl, uint32_t family, const char *table,
			 const char *chain, uint64_t handle, struct nfo_nft_rule_counter *ret);

#endif
