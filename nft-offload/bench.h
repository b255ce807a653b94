/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `nft-offload bench`: packets per second one receiver CPU drops with plain
 * nftables, with nft-offload (XDP and TC) and with a bare XDP drop, on
 * namespaces it creates and removes; and how long a ruleset change takes to
 * reach the fast path.
 */
#ifndef NFO_BENCH_H
#define NFO_BENCH_H

/* argv[0] is "bench". Returns the process exit code. */
int nfo_bench_main(int argc, char **argv);

#endif
