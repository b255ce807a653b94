// SPDX-License-Identifier: GPL-2.0-only
/* The TC ingress fast path (tcx): runs on the skb before nftables' ingress
 * hook. Passing returns TCX_NEXT so other tcx programs and classic tc filters
 * still run. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "classify.h"

__noinline int nfo_ct_lookup_tc(struct __sk_buff *ctx, struct nfo_pkt *p)
{
	struct bpf_ct_opts opts = { .netns_id = BPF_F_CURRENT_NETNS };
	struct bpf_sock_tuple t = {};
	struct bpf_dynptr dp;
	struct nf_conn *ct;
	__u32 len = 0;

	if (!ctx || !p || nfo_ct_tuple(p, &t, &len))
		return 0;
	opts.l4proto = p->l4proto;
	ct = bpf_skb_ct_lookup(ctx, &t, len, &opts, sizeof(opts));
	nfo_ct_class(p, ct, &opts);
	if (ct)
		bpf_ct_release(ct);
	else if ((p->have & NFO_HAVE(NFO_DIM_CTSTATE)) && p->ctclass == 0 &&
		 !bpf_dynptr_from_skb(ctx, 0, &dp) && nfo_syn_clean(&dp, p))
		p->ctclass = NFO_CT_SYN;
	return 0;
}

__noinline int nfo_tcpopt_tc(struct __sk_buff *ctx, struct nfo_pkt *p)
{
	struct bpf_dynptr dp;

	if (!ctx || !p)
		return 0;
	p->optdone = 1;
	if (bpf_dynptr_from_skb(ctx, 0, &dp))
		return 0;
	nfo_parse_tcpopt(&dp, p);
	return 0;
}

__noinline int nfo_reset_tc(struct __sk_buff *ctx, struct nfo_pkt *p, __u32 ifindex, __u32 ttl,
			   struct nfo_rst_frame *out)
{
	struct bpf_dynptr dp;

	if (!ctx || !p || !out || bpf_dynptr_from_skb(ctx, 0, &dp))
		return NFO_RST_PASS;
	return nfo_rst_reply(&dp, ctx, p, ifindex, ttl, out);
}

__noinline int nfo_rst_send_tc(struct __sk_buff *ctx, struct nfo_rst_frame *out, __u32 ifindex,
			    __u32 v6)
{
	if (!ctx || !out)
		return -1;
	if (v6) {
		if (bpf_skb_store_bytes(ctx, 0, out->b, NFO_RST6_LEN, 0) ||
		    bpf_skb_change_tail(ctx, NFO_RST6_LEN, 0))
			return -1;
	} else if (bpf_skb_store_bytes(ctx, 0, out->b, NFO_RST_LEN, 0) ||
		   bpf_skb_change_tail(ctx, NFO_RST_LEN, 0)) {
		return -1;
	}
	/* The checksums are in the frame: whatever the received skb's
	 * ip_summed said (a CHECKSUM_COMPLETE sum of the old bytes) is gone. */
	bpf_csum_level(ctx, BPF_CSUM_LEVEL_RESET);
	return bpf_redirect(ifindex, 0) == TCX_REDIRECT ? 0 : -1;
}

SEC("tc")
int nfo_tc(struct __sk_buff *skb)
{
	struct bpf_dynptr dp;

	/* An offloaded VLAN tag is not in the packet data (skb->vlan_tci):
	 * nftables does not see such a frame as IP on this device. */
	if (skb->vlan_present) {
		nfo_count(&nfo_stats, NFO_STAT_PASS_VLAN, skb->len);
		return TCX_NEXT;
	}
	if (bpf_dynptr_from_skb(skb, 0, &dp)) {
		nfo_count(&nfo_stats, NFO_STAT_PASS_MALFORMED, skb->len);
		return TCX_NEXT;
	}
	/* At tc ingress skb->data is the MAC header and pkt_type is set by
	 * eth_type_trans(): NFO_DIM_L2HOST is pkt_type + 1. */
	switch (nfo_run(&dp, skb->len, skb->ingress_ifindex, (int)skb->pkt_type + 1, skb, 0)) {
	case 0:
		return TCX_NEXT;
	case 2:
		return TCX_REDIRECT; /* bpf_redirect() to the same interface's egress */
	default:
		return TCX_DROP;
	}
}

char LICENSE[] SEC("license") = "GPL";
