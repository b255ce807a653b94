// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-service filters: cgroup_skb programs that decide every packet of a
 * cgroup's sockets exactly as one nftables chain would (nft-offload/service.c
 * refuses chains they cannot decide exactly). Return 1 lets the packet
 * through, 0 drops it (egress: the sender gets EPERM).
 *
 * Unlike the fast path, nothing runs after this program that would catch a
 * mistake, so the parser follows nf_tables exactly instead of passing what
 * it is unsure of:
 *  - the packet starts at the network header (__cgroup_bpf_run_filter_skb()
 *    pushes skb->data there); skb->protocol tells IPv4 from IPv6;
 *  - IPv4: thoff = ihl * 4, fragoff = frag_off & IP_OFFSET, options or not
 *    (nft_set_pktinfo_ipv4());
 *  - IPv6: transport protocol and offset as ipv6_find_hdr(.., -1, ..,
 *    IP6_FH_F_AUTH) finds them (nft_set_pktinfo_ipv6()); when it fails the
 *    packet has no l4proto;
 *  - transport fields only when l4proto is known, each only if the packet
 *    reaches it: nft_payload_eval() breaks the rule otherwise, and the plan
 *    makes a missing field's predicates FALSE; bytes are bounded by
 *    skb->len, as skb_copy_bits() bounds nft's loads;
 *  - later fragments (fragoff != 0): nft_payload_eval() would break the rule,
 *    but every transport field we know is loaded by nft_payload_fast_eval()
 *    (1, 2 or 4 aligned bytes: nft_payload_select_ops()), which does not
 *    look at fragoff and reads at thoff whatever is there, as long as it is
 *    in the skb's linear data (else the slow path breaks the rule). thoff is
 *    ihl * 4 for IPv4: the fragment's data; for IPv6 ipv6_find_hdr() returns
 *    early on a later fragment and leaves thoff 0: the IPv6 header itself.
 *    So does this program (tests/integration/services-exact.sh checks it
 *    against nftables).
 * Packets it cannot parse (more than NFO_IPV6_MAX_EXTHDRS extension headers,
 * a malformed header) are dropped: fail closed.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "classify.h"

/* No service plan has conntrack or TCP option nodes (service.c refuses
 * them); the walk still names the functions. */
__noinline int nfo_ct_lookup_tc(struct __sk_buff *ctx, struct nfo_pkt *p)
{
	return 0;
}

__noinline int nfo_tcpopt_tc(struct __sk_buff *ctx, struct nfo_pkt *p)
{
	return 0;
}

/* Transport bytes 0-1, 2-3 and 13, each present if the packet reaches it. */
static __always_inline void nfo_cg_l4(const struct bpf_dynptr *dp, __u32 thoff, __u32 end,
				      struct nfo_pkt *p)
{
	if (thoff > 0xffff)
		return;
	__u8 buf[NFO_TH_HEAD];
	__u8 *s;

	if (thoff + NFO_TH_HEAD <= end) {
		s = bpf_dynptr_slice(dp, thoff, buf, NFO_TH_HEAD);
		if (!s)
			return;
		p->th0 = ((__u16)s[0] << 8) | s[1];
		p->th2 = ((__u16)s[2] << 8) | s[3];
		p->tcpflags = s[13];
		p->have |= NFO_HAVE(NFO_DIM_TH0) | NFO_HAVE(NFO_DIM_TH2) |
			   NFO_HAVE(NFO_DIM_TCPFLAGS);
		return;
	}
	if (thoff + 2 > end)
		return;
	s = bpf_dynptr_slice(dp, thoff, buf, 2);
	if (!s)
		return;
	p->th0 = ((__u16)s[0] << 8) | s[1];
	p->have |= NFO_HAVE(NFO_DIM_TH0);
	if (thoff + 4 > end)
		return;
	s = bpf_dynptr_slice(dp, thoff + 2, buf, 2);
	if (!s)
		return;
	p->th2 = ((__u16)s[0] << 8) | s[1];
	p->have |= NFO_HAVE(NFO_DIM_TH2);
}

/* Bytes of the skb's linear data: where nft_payload_fast_eval() reads. */
static __always_inline __u32 nfo_cg_linear(struct __sk_buff *skb, __u32 thoff)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;

	/* the fields end at thoff + 14 at most: enough to compare */
	thoff &= 0xff;
	if (data + thoff + NFO_TH_HEAD <= end)
		return thoff + NFO_TH_HEAD;
	if (data + thoff + 4 <= end)
		return thoff + 4;
	if (data + thoff + 2 <= end)
		return thoff + 2;
	return 0;
}

static __always_inline int nfo_cg_ipv4(struct __sk_buff *skb, const struct bpf_dynptr *dp,
				       __u32 len, struct nfo_pkt *p)
{
	struct iphdr buf;
	struct iphdr *iph = bpf_dynptr_slice(dp, 0, &buf, sizeof(buf));
	__u32 thoff;

	if (!iph || iph->version != 4 || iph->ihl < 5)
		return NFO_STAT_PASS_MALFORMED;
	thoff = (__u32)iph->ihl * 4;
	p->ethtype = NFO_ETH_P_IP;
	__builtin_memcpy(p->saddr, &iph->saddr, 4);
	__builtin_memcpy(p->daddr, &iph->daddr, 4);
	p->l4proto = iph->protocol;
	p->have |= NFO_HAVE(NFO_DIM_SADDR4) | NFO_HAVE(NFO_DIM_DADDR4) |
		   NFO_HAVE(NFO_DIM_L4PROTO);
	/* IP_OFFSET only: a first fragment (MF, offset 0) has its ports; a
	 * later one is read at the same place, in the linear data only. */
	if (!(iph->frag_off & bpf_htons(0x1fff)))
		nfo_cg_l4(dp, thoff, len, p);
	else
		nfo_cg_l4(dp, thoff, nfo_cg_linear(skb, thoff), p);
	return 0;
}

static __always_inline int nfo_cg_ipv6(struct __sk_buff *skb, const struct bpf_dynptr *dp,
				       __u32 len, struct nfo_pkt *p)
{
	struct ipv6hdr buf;
	struct ipv6hdr *ip6 = bpf_dynptr_slice(dp, 0, &buf, sizeof(buf));
	__u32 off = sizeof(*ip6);
	__u8 nh;
	int i;

	if (!ip6 || ip6->version != 6)
		return NFO_STAT_PASS_MALFORMED;
	p->ethtype = NFO_ETH_P_IPV6;
	__builtin_memcpy(p->saddr, &ip6->saddr, 16);
	__builtin_memcpy(p->daddr, &ip6->daddr, 16);
	p->nexthdr = ip6->nexthdr;
	p->have |= NFO_HAVE(NFO_DIM_SADDR6) | NFO_HAVE(NFO_DIM_DADDR6) |
		   NFO_HAVE(NFO_DIM_NEXTHDR);
	nh = ip6->nexthdr;
	for (i = 0; i <= NFO_IPV6_MAX_EXTHDRS; i++) {
		__u8 hbuf[4];
		__u8 *h;

		/* ipv6_find_hdr(): the first header that is not an extension
		 * header (NEXTHDR_NONE included) is the transport protocol;
		 * with IP6_FH_F_AUTH, as nf_tables asks, so is AH. */
		if (!nfo_ipv6_exthdr(nh) || nh == NFO_IPPROTO_AH) {
			p->l4proto = nh;
			p->have |= NFO_HAVE(NFO_DIM_L4PROTO);
			nfo_cg_l4(dp, off, len, p);
			return 0;
		}
		if (i == NFO_IPV6_MAX_EXTHDRS)
			return NFO_STAT_PASS_EXTHDRS;
		h = bpf_dynptr_slice(dp, off, hbuf, sizeof(hbuf));
		if (!h) {
			/* ipv6_find_hdr() fails (-EBADMSG): no l4proto. */
			return 0;
		}
		if (nh == NFO_IPPROTO_FRAGMENT) {
			__u16 fo = (((__u16)h[2] << 8) | h[3]) & ~7;

			if (fo) {
				/* A later fragment: ipv6_find_hdr() reports the
				 * next header if it is not an extension header,
				 * leaving thoff 0 (see the top), and fails
				 * otherwise. */
				if (!nfo_ipv6_exthdr(h[0])) {
					p->l4proto = h[0];
					p->have |= NFO_HAVE(NFO_DIM_L4PROTO);
					nfo_cg_l4(dp, 0, nfo_cg_linear(skb, 0), p);
				}
				return 0;
			}
			off += 8;
		} else {
			off += ((__u32)h[1] + 1) << 3;
		}
		nh = h[0];
	}
	return NFO_STAT_PASS_EXTHDRS;
}

static __always_inline int nfo_cg_run(struct __sk_buff *skb)
{
	struct nfo_pkt p = {};
	struct bpf_dynptr dp;
	struct nfo_root *root;
	struct nfo_ctl *ctl;
	__u32 zero = 0, ref, state, half, len = skb->len;
	int r;

	ctl = bpf_map_lookup_elem(&nfo_ctl, &zero);
	root = bpf_map_lookup_elem(&nfo_roots, &zero);
	state = ctl ? *(volatile __u32 *)&ctl->state : NFO_STATE_DISABLED;
	/* No good version yet: drop everything (fail closed). */
	if (state == NFO_STATE_DISABLED || state > NFO_STATE_HALF(1) || !root) {
		nfo_count(&nfo_stats, NFO_STAT_PASS_DISABLED, len);
		return 0;
	}
	half = (state - 1) & 1;
	if (bpf_dynptr_from_skb(skb, 0, &dp)) {
		nfo_count(&nfo_stats, NFO_STAT_PASS_MALFORMED, len);
		return 0;
	}
	p.have = NFO_HAVE(NFO_DIM_ETHTYPE);
	p.l3len = len;
	if (skb->protocol == bpf_htons(NFO_ETH_P_IP))
		r = nfo_cg_ipv4(skb, &dp, len, &p);
	else if (skb->protocol == bpf_htons(NFO_ETH_P_IPV6))
		r = nfo_cg_ipv6(skb, &dp, len, &p);
	else
		r = NFO_STAT_PASS_MALFORMED; /* inet sockets only see IP */
	if (r) {
		nfo_count(&nfo_stats, r, len);
		return 0;
	}
	ref = nfo_classify(&p, root->ref[half], half, skb, 0);
	if (ref & NFO_REF_DROP_BIT) {
		nfo_count(&nfo_counters, ref & NFO_REF_VALUE_MASK, len);
		nfo_count(&nfo_stats, NFO_STAT_DROPPED, len);
		return 0;
	}
	if (ref & NFO_REF_ACCEPT_BIT)
		nfo_count(&nfo_counters, ref & NFO_REF_SLOT_MASK, len);
	nfo_count(&nfo_stats, NFO_STAT_PASS_VERDICT, len);
	return 1;
}

SEC("cgroup_skb/ingress")
int nfo_cg_ingress(struct __sk_buff *skb)
{
	return nfo_cg_run(skb);
}

SEC("cgroup_skb/egress")
int nfo_cg_egress(struct __sk_buff *skb)
{
	return nfo_cg_run(skb);
}

char LICENSE[] SEC("license") = "GPL";
