/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * How `nft-offload bench` and the benchmark program (bench/, a program of
 * its own) find each other: nft-offload runs NFO_BENCH_PROGRAM from its own
 * directory or PATH, and names itself in NFO_BENCH_DAEMON_ENV so that the
 * benchmark measures the nft-offload the user ran.
 */
#ifndef NFO_BENCH_H
#define NFO_BENCH_H

#define NFO_BENCH_PROGRAM "nft-offload-bench"
#define NFO_BENCH_DAEMON_ENV "NFT_OFFLOAD"

#endif
