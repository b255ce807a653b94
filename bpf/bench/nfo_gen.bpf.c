// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload-bench's traffic generator. Run by BPF_PROG_TEST_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES on a prepared Ethernet/IP/UDP frame: each run
 * rewrites the frame and redirects it out of the sender veth, whose peer is
 * the receiver under test.
 *
 * Two ways to vary the frame. Without source lists (the packet-rate
 * bench): a new UDP source port per frame, a new flow each time. With them
 * (the blocklist bench): the source address cycles over a list the bench
 * writes into .bss while we run (the flood, from banned sources), and one
 * frame in probe_every + 1 comes from a second list to another port (the
 * probe, from sources unbanned a moment ago). Each list has two halves:
 * userspace writes the half not in use, then flips the selector with one
 * 64-bit store (milliseconds apart), so a frame never mixes two entries. An entry carries the
 * checksum the frame needs with that source (the IPv4 header's, or for
 * IPv6 the UDP one), computed by the bench.
 *
 * Live frames come from a page pool and keep what a previous run wrote
 * (net/bpf/test_run.c, xdp_test_run_init_page() fills a page only once), so
 * every run rewrites what it varies rather than relying on the initial frame.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "bench/nfo_gen.h"

const volatile __u32 out_ifindex;  /* sender veth */
const volatile __u32 sport_off;    /* offset of the UDP source port */
const volatile __u16 sport_base;
const volatile __u16 sport_mask;   /* flows - 1, a power of two minus one */
const volatile __u16 flood_dport, probe_dport;
const volatile __u32 probe_every;  /* a power of two minus one */

/* Where the source lists write, set by the bench for the frame it built
 * (IPv4 or IPv6) before it starts us. */
__u32 saddr_off;  /* the source address */
__u32 saddr_len;  /* 4 or 16; 0: no source lists */
__u32 csum_off;   /* the checksum an entry carries */
__u32 dport_off;  /* the UDP destination port */

/*
 * Pacing (the blocklist bench): at most one frame per interval_ns; frames
 * due later are dropped here unsent, so the generator spins on its CPU
 * rather than sleeping. Pacing by calls of BPF_PROG_TEST_RUN does not work:
 * each call took about 30 ms here whatever its frame count (it sets up and
 * tears down a page pool and its memory model, net/bpf/test_run.c), and the
 * bursts between them overflow the receiving veth's ring. 0: as fast as it
 * can.
 */
__u64 interval_ns;
__u64 next_ns;

/* Written only by the CPU running the generator; read by userspace. */
__u64 sent;
__u64 errors;
__u64 probe_sent;
__u64 flood_sent;

/* The source lists and their selectors ((half << 32) | count), written by
 * userspace. */
struct nfo_gen_src flood_srcs[2][NFO_GEN_SRCS];
struct nfo_gen_src probe_srcs[2][NFO_GEN_SRCS];
__u64 flood_sel, probe_sel;

/*
 * Writes with bpf_xdp_store_bytes (net/core/filter.c, Linux >= 5.18, the
 * kernel that brought live frames), not through a writable dynptr slice:
 * some kernels refuse bpf_dynptr_slice_rdwr in XDP programs.
 */
static __always_inline int put_src(struct xdp_md *ctx, const struct nfo_gen_src *s, __u16 dport)
{
	__u8 port[2] = { dport >> 8, dport & 0xff };
	int r;

	if (saddr_len == 16)
		r = bpf_xdp_store_bytes(ctx, saddr_off, (void *)s->addr, 16);
	else
		r = bpf_xdp_store_bytes(ctx, saddr_off, (void *)s->addr, 4);
	if (!r)
		r = bpf_xdp_store_bytes(ctx, csum_off, (void *)s->csum, 2);
	if (!r)
		r = bpf_xdp_store_bytes(ctx, dport_off, port, sizeof(port));
	return r;
}

SEC("xdp")
int nfo_gen(struct xdp_md *ctx)
{
	__u64 fsel = *(volatile __u64 *)&flood_sel, psel = *(volatile __u64 *)&probe_sel;
	__u32 fn = (__u32)fsel, pn = (__u32)psel, idx;

	if (interval_ns) {
		__u64 now = bpf_ktime_get_ns();

		if (now < next_ns)
			return XDP_DROP;
		/* behind by more than 10 ms (preempted): no burst to catch up */
		next_ns = now - next_ns > 10000000 ? now + interval_ns : next_ns + interval_ns;
	}
	if (saddr_len && (fn || pn)) {
		if (pn && (!fn || (sent & probe_every) == 0)) {
			idx = (__u32)(probe_sent % pn) & (NFO_GEN_SRCS - 1);
			if (put_src(ctx, &probe_srcs[(psel >> 32) & 1][idx], probe_dport))
				goto err;
			probe_sent++;
		} else {
			idx = (__u32)(flood_sent % fn) & (NFO_GEN_SRCS - 1);
			if (put_src(ctx, &flood_srcs[(fsel >> 32) & 1][idx], flood_dport))
				goto err;
			flood_sent++;
		}
	} else {
		__u16 p = sport_base + ((__u16)sent & sport_mask);
		__u8 buf[2] = { p >> 8, p & 0xff };

		if (bpf_xdp_store_bytes(ctx, sport_off, buf, sizeof(buf)))
			goto err;
	}
	sent++;
	return bpf_redirect(out_ifindex, 0);
err:
	errors++;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
