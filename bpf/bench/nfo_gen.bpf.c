// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload-bench's traffic generator. Run by BPF_PROG_TEST_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES on a prepared Ethernet/IPv4/UDP frame: each run
 * gives the frame a new UDP source port (a new flow) and redirects it out of
 * the sender veth, whose peer is the receiver under test.
 *
 * Live frames come from a page pool and keep what a previous run wrote
 * (net/bpf/test_run.c, xdp_test_run_init_page() fills a page only once), so
 * every run rewrites the port rather than relying on the initial frame.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile __u32 out_ifindex;  /* sender veth */
const volatile __u32 sport_off;    /* offset of the UDP source port */
const volatile __u16 sport_base;
const volatile __u16 sport_mask;   /* flows - 1, a power of two minus one */

/* Written only by the CPU running the generator; read by userspace. */
__u64 sent;
__u64 errors;

/*
 * Writes with bpf_xdp_store_bytes (net/core/filter.c, Linux >= 5.18, the
 * kernel that brought live frames), not through a writable dynptr slice:
 * some kernels refuse bpf_dynptr_slice_rdwr in XDP programs.
 */
SEC("xdp")
int nfo_gen(struct xdp_md *ctx)
{
	__u16 port = sport_base + ((__u16)sent & sport_mask);
	__u8 buf[2] = { port >> 8, port & 0xff };

	if (bpf_xdp_store_bytes(ctx, sport_off, buf, sizeof(buf)))
		goto err;
	sent++;
	return bpf_redirect(out_ifindex, 0);
err:
	errors++;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
