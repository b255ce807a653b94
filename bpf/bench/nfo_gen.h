/* SPDX-License-Identifier: GPL-2.0-only */
/* What nft-offload-bench's generator (nfo_gen.bpf.c) and the bench share. */
#ifndef NFO_BENCH_NFO_GEN_H
#define NFO_BENCH_NFO_GEN_H

/* entries per half of each source list; a power of two */
#define NFO_GEN_SRCS 4096

/* One source address and the checksum a frame from it carries, in network
 * byte order. */
struct nfo_gen_src {
	__u8 addr[16];
	__u8 csum[2];
	__u8 pad[2];
};

#endif
