// SPDX-License-Identifier: GPL-2.0-only
/* The XDP fast path: runs before the kernel allocates an skb. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "classify.h"

__noinline int nfo_ct_lookup_xdp(struct xdp_md *ctx, struct nfo_pkt *p)
{
	struct bpf_ct_opts opts = { .netns_id = BPF_F_CURRENT_NETNS };
	struct bpf_sock_tuple t = {};
	struct bpf_dynptr dp;
	struct nf_conn *ct;
	__u32 len = 0;

	if (!ctx || !p || nfo_ct_tuple(p, &t, &len))
		return 0;
	opts.l4proto = p->l4proto;
	ct = bpf_xdp_ct_lookup(ctx, &t, len, &opts, sizeof(opts));
	nfo_ct_class(p, ct, &opts);
	if (ct)
		bpf_ct_release(ct);
	else if ((p->have & NFO_HAVE(NFO_DIM_CTSTATE)) && p->ctclass == 0 &&
		 !bpf_dynptr_from_xdp(ctx, 0, &dp) && nfo_syn_clean(&dp, p))
		p->ctclass = NFO_CT_SYN;
	return 0;
}

__noinline int nfo_tcpopt_xdp(struct xdp_md *ctx, struct nfo_pkt *p)
{
	struct bpf_dynptr dp;

	if (!ctx || !p)
		return 0;
	p->optdone = 1;
	if (bpf_dynptr_from_xdp(ctx, 0, &dp))
		return 0;
	nfo_parse_tcpopt(&dp, p);
	return 0;
}

__noinline int nfo_reset_xdp(struct xdp_md *ctx, struct nfo_pkt *p, __u32 ifindex, __u32 ttl,
			    struct nfo_rst_frame *out)
{
	struct bpf_dynptr dp;

	if (!ctx || !p || !out || bpf_dynptr_from_xdp(ctx, 0, &dp))
		return NFO_RST_PASS;
	return nfo_rst_reply(&dp, ctx, p, ifindex, ttl, out);
}

__noinline int nfo_rst_send_xdp(struct xdp_md *ctx, struct nfo_rst_frame *out, __u32 v6)
{
	int len;

	if (!ctx || !out)
		return -1;
	len = ctx->data_end - ctx->data;
	/* The frame holds at least the RST's 54 or 74 bytes (its TCP header
	 * of at least 20 bytes: nfo_rst_build, nfo_rst6_build). */
	if (v6) {
		if (len < NFO_RST6_LEN || bpf_xdp_store_bytes(ctx, 0, out->b, NFO_RST6_LEN))
			return -1;
		return bpf_xdp_adjust_tail(ctx, NFO_RST6_LEN - len) ? -1 : 0;
	}
	if (len < NFO_RST_LEN || bpf_xdp_store_bytes(ctx, 0, out->b, NFO_RST_LEN))
		return -1;
	return bpf_xdp_adjust_tail(ctx, NFO_RST_LEN - len) ? -1 : 0;
}

SEC("xdp")
int nfo_xdp(struct xdp_md *ctx)
{
	struct bpf_dynptr dp;
	/* Loaded without BPF_F_XDP_HAS_FRAGS (SEC("xdp"), not "xdp.frags"), the
	 * program never sees a multi-buffer frame (drivers refuse it, generic
	 * XDP linearizes the skb: netif_skb_check_for_xdp()), so
	 * bpf_xdp_get_buff_len() would be data_end - data: no call needed. */
	__u32 len = ctx->data_end - ctx->data;

	if (bpf_dynptr_from_xdp(ctx, 0, &dp)) {
		nfo_count(&nfo_stats, NFO_STAT_PASS_MALFORMED, len);
		return XDP_PASS;
	}
	/* XDP cannot tell whether the frame is for this host: the destination
	 * MAC is compared with the interface's address (-1). */
	switch (nfo_run(&dp, len, ctx->ingress_ifindex, -1, ctx, 1)) {
	case 0:
		return XDP_PASS;
	case 2:
		return XDP_TX;
	default:
		return XDP_DROP;
	}
}

char LICENSE[] SEC("license") = "GPL";
