// SPDX-License-Identifier: GPL-2.0-only
/*
 * `nft-offload bench` traffic generator. Run by BPF_PROG_TEST_RUN with
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

#include "kfuncs.h"

/* kernel/bpf/helpers.c (Linux >= 6.4); same prototype as bpf_dynptr_slice */
extern void *bpf_dynptr_slice_rdwr(const struct bpf_dynptr *p, __u32 offset,
				   void *buffer__opt, __u32 buffer__szk) __ksym;

const volatile __u32 out_ifindex;  /* sender veth */
const volatile __u32 sport_off;    /* offset of the UDP source port */
const volatile __u16 sport_base;
const volatile __u16 sport_mask;   /* flows - 1, a power of two minus one */

/* Written only by the CPU running the generator; read by userspace. */
__u64 sent;
__u64 errors;

SEC("xdp")
int nfo_gen(struct xdp_md *ctx)
{
	struct bpf_dynptr dp;
	__u16 port = sport_base + ((__u16)sent & sport_mask);
	__u8 buf[2];
	__u8 *p;

	if (bpf_dynptr_from_xdp(ctx, 0, &dp))
		goto err;
	p = bpf_dynptr_slice_rdwr(&dp, sport_off, buf, sizeof(buf));
	if (!p)
		goto err;
	p[0] = port >> 8;
	p[1] = port & 0xff;
	/* The slice is the packet itself unless the bytes straddle a
	 * fragment; then it is buf and must be written back. */
	if (p == buf && bpf_dynptr_write(&dp, sport_off, buf, sizeof(buf), 0))
		goto err;
	sent++;
	return bpf_redirect(out_ifindex, 0);
err:
	errors++;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
