/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The packet parser shared by the XDP and TC programs. It reads the packet
 * only through a dynptr and extracts the fields nftables would see, following
 * the kernel's own rules (docs/SEMANTICS.md section 5):
 *
 *  - IPv4: header validated as nft_set_pktinfo_ipv4_validate() does; options
 *    (ihl > 5) and anything malformed make the packet PASS.
 *  - IPv6: extension headers walked as nft_set_pktinfo_ipv6() has
 *    ipv6_find_hdr(skb, .., -1, .., IP6_FH_F_AUTH) walk them: past
 *    hop-by-hop, routing, fragment and destination options, bounded by
 *    NFO_IPV6_MAX_EXTHDRS (past the bound the packet passes); AH stops the
 *    walk and is itself the "transport" protocol nftables sees.
 *  - EtherType: what eth_type_trans() puts in skb->protocol, which is what
 *    "meta protocol" compares: values below 0x0600 are 802.3 lengths.
 *  - Fragments (any fragment, first included) have no transport fields: at
 *    IP-layer hooks nftables may see the reassembled packet instead. A
 *    fragment other than the first passes: the first may carry what only
 *    the reassembled packet answers for (IP options the fast path passes
 *    on), and the kernel answers a reassembly queue that holds the first
 *    fragment but never completes with an ICMP time exceeded
 *    (ip_expire(), ip6_frag_expire()): dropping later fragments while the
 *    first passed would make the kernel send what it would not have sent.
 *    With the first dropped and the later ones passed, the queue expires
 *    silently, as the reassembled packet would have been dropped silently.
 *  - Transport fields are available only inside the IP packet's own length:
 *    at IP-layer hooks the skb is trimmed to it, so bytes past it (Ethernet
 *    padding) are never what nftables compares.
 *  - VLAN-tagged frames pass: nftables does not see them as IP on this device.
 */
#ifndef NFO_PARSER_H
#define NFO_PARSER_H

#include "nfo_abi.h"
#include "kfuncs.h"

#define NFO_ETH_HLEN 14
#define NFO_ETH_P_IP 0x0800
#define NFO_ETH_P_IPV6 0x86dd
#define NFO_ETH_P_8021Q 0x8100
#define NFO_ETH_P_8021AD 0x88a8
#define NFO_ETH_P_QINQ1 0x9100
#define NFO_ETH_P_802_3_MIN 0x0600
#define NFO_ETH_P_802_3 0x0001
#define NFO_ETH_P_802_2 0x0004

#define NFO_IPPROTO_HOPOPTS 0
#define NFO_IPPROTO_ROUTING 43
#define NFO_IPPROTO_FRAGMENT 44
#define NFO_IPPROTO_AH 51
#define NFO_IPPROTO_DSTOPTS 60

struct nfo_pkt {
	/* First: 4-byte aligned, read as words (nfo_exact4_walk). */
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 have;  /* bit (1 << dim) set when the packet has a value for dim */
	__u32 l3len; /* bytes nftables counts: from the network header on */
	__u16 ethtype;
	__u16 th0;   /* host order */
	__u16 th2;   /* host order */
	__u8 l2host;
	__u8 l4proto;
	__u8 nexthdr;
	__u8 tcpflags;
	__u8 ctclass;   /* NFO_DIM_CTSTATE, filled only when the walk needs it */
	__u8 mssopt;    /* NFO_DIM_MSSOPT, NFO_DIM_TCPMSS: filled only when */
	__u8 optdone;   /* the walk needs them (optdone then set) */
	__u16 tcpmss;
	__u16 thoff;    /* transport header offset in the frame, 0: none parsed */
	__u16 l4end;    /* end of the IP packet in the frame */
};

#define NFO_HAVE(d) (1u << (d))

/*
 * The common frames in as few slices as possible (a slice is a kfunc call):
 * Ethernet + IPv4 without options + 14 transport bytes (through the TCP
 * flags) in one, or the fixed IPv6 header + 14 transport bytes in one after
 * the Ethernet header. Shorter frames take one slice per header.
 */
#define NFO_TH_HEAD 14
#define NFO_HEAD4_LEN (NFO_ETH_HLEN + 20 + NFO_TH_HEAD)
#define NFO_HEAD6_LEN (40 + NFO_TH_HEAD)

/* Transport fields at thoff, inside the IP packet's end. th: the first
 * NFO_TH_HEAD bytes at thoff when the caller already has them, else NULL. */
static __always_inline void nfo_parse_l4(const struct bpf_dynptr *dp, __u32 thoff,
					 __u32 end, const __u8 *th, struct nfo_pkt *p)
{
	__u8 buf[4];
	__u8 *s;

	p->thoff = thoff;
	p->l4end = end;
	if (thoff + 4 > end)
		return;
	if (th) {
		p->th0 = ((__u16)th[0] << 8) | th[1];
		p->th2 = ((__u16)th[2] << 8) | th[3];
	} else {
		s = bpf_dynptr_slice(dp, thoff, buf, sizeof(buf));
		if (!s)
			return;
		p->th0 = ((__u16)s[0] << 8) | s[1];
		p->th2 = ((__u16)s[2] << 8) | s[3];
	}
	p->have |= NFO_HAVE(NFO_DIM_TH0) | NFO_HAVE(NFO_DIM_TH2);

	if (thoff + 14 > end)
		return;
	if (th) {
		p->tcpflags = th[13];
	} else {
		s = bpf_dynptr_slice(dp, thoff + 13, buf, 1);
		if (!s)
			return;
		p->tcpflags = s[0];
	}
	p->have |= NFO_HAVE(NFO_DIM_TCPFLAGS);
}

#define NFO_IPPROTO_TCP_ 6
#define NFO_TCPOPT_SPACE 40 /* MAX_TCP_OPTION_SPACE */

/*
 * tcp option maxseg as nft_exthdr_tcp_eval() sees it (net/netfilter/
 * nft_exthdr.c): nft_tcp_header_pointer() gives up (register 0 for
 * `exists`/`missing`, the rule breaks for `size`) on anything but TCP and
 * on a data offset below 5; the options are walked from byte 20 while
 * i < doff * 4 - 1, each one byte long if its kind is 0 (EOL does not end
 * the walk) or 1 or its length byte is 0, else that length; the first
 * option of kind 2 decides: past the header, none; shorter than 4 bytes,
 * present without a size. A header past the IP packet's end: unknown (at
 * ingress hooks nftables may read Ethernet padding there). At most 39
 * steps (each one byte at least): the bound below is never reached.
 */
static __always_inline void nfo_parse_tcpopt(const struct bpf_dynptr *dp, struct nfo_pkt *p)
{
	__u8 hb[1], *h, buf[64];
	__u32 hl, olen, j = 0;
	int k;

	p->optdone = 1;
	if (!(p->have & NFO_HAVE(NFO_DIM_L4PROTO)))
		return;
	if (p->l4proto != NFO_IPPROTO_TCP_)
		goto none;
	if (!p->thoff || p->thoff + 20 > p->l4end)
		return; /* a fragment, or truncated */
	h = bpf_dynptr_slice(dp, p->thoff + 12, hb, 1);
	if (!h)
		return;
	hl = (__u32)(h[0] >> 4) * 4;
	if (hl < 20)
		goto none;
	if (p->thoff + hl > p->l4end)
		return;
	olen = hl - 20;
	if (olen > NFO_TCPOPT_SPACE)
		return;
	__builtin_memset(buf, 0, sizeof(buf));
	if (olen && bpf_dynptr_read(buf, olen, dp, p->thoff + 20, 0))
		return;
	for (k = 0; k < NFO_TCPOPT_SPACE; k++) {
		__u8 kind, l;
		__u32 optl;

		if (j + 1 >= olen)
			goto none;
		kind = buf[j & 63];
		l = buf[(j + 1) & 63];
		optl = kind <= 1 || l == 0 ? 1 : l;
		if (kind == 2) {
			if (j + optl > olen)
				goto none;
			if (optl < 4) {
				p->mssopt = NFO_TCPOPT_SHORT;
			} else {
				p->mssopt = NFO_TCPOPT_VALID;
				p->tcpmss = ((__u16)buf[(j + 2) & 63] << 8) | buf[(j + 3) & 63];
				p->have |= NFO_HAVE(NFO_DIM_TCPMSS);
			}
			p->have |= NFO_HAVE(NFO_DIM_MSSOPT);
			return;
		}
		j += optl;
	}
	return;
none:
	p->mssopt = NFO_TCPOPT_NONE;
	p->have |= NFO_HAVE(NFO_DIM_MSSOPT);
}

#define NFO_SYN_MAXSEG 64 /* longer SYNs (data, TFO) are not checked */

/*
 * Whether the TCP checksum of a segment of seglen bytes (at most
 * NFO_SYN_MAXSEG, in buf zero-filled past seglen) is good with p's pseudo
 * header. A good sum is good whatever ip_summed says: CHECKSUM_UNNECESSARY
 * is trusted, CHECKSUM_COMPLETE and CHECKSUM_NONE check this same sum
 * (nf_ip_checksum, nf_checksum).
 */
static __always_inline int nfo_tcp_csum_ok(const __u8 *buf, __u32 seglen, const struct nfo_pkt *p)
{
	__u32 sum = 0;
	int i;

	for (i = 0; i < NFO_SYN_MAXSEG / 2; i++)
		sum += ((__u32)buf[2 * i] << 8) | buf[2 * i + 1];
	if (p->have & NFO_HAVE(NFO_DIM_SADDR4)) {
		for (i = 0; i < 2; i++) {
			sum += ((__u32)p->saddr[2 * i] << 8) | p->saddr[2 * i + 1];
			sum += ((__u32)p->daddr[2 * i] << 8) | p->daddr[2 * i + 1];
		}
	} else {
		for (i = 0; i < 8; i++) {
			sum += ((__u32)p->saddr[2 * i] << 8) | p->saddr[2 * i + 1];
			sum += ((__u32)p->daddr[2 * i] << 8) | p->daddr[2 * i + 1];
		}
	}
	sum += NFO_IPPROTO_TCP_ + seglen;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/*
 * A TCP SYN conntrack cannot call invalid (docs/SEMANTICS.md, conntrack):
 * tcp_error() rejects a data offset below 5 or past the segment, a bad
 * checksum (nf_conntrack_checksum, at prerouting: nf_checksum) and flag
 * combinations outside tcp_valid_flags (every SYN with only SYN of FIN,
 * SYN, RST, ACK is in). The checksum is computed here over the pseudo
 * header and the segment: a good sum is good whatever ip_summed says
 * (CHECKSUM_UNNECESSARY is trusted, COMPLETE and NONE are this sum).
 */
static __always_inline int nfo_syn_clean(const struct bpf_dynptr *dp, const struct nfo_pkt *p)
{
	__u8 buf[NFO_SYN_MAXSEG];
	__u32 seglen, hl;

	if (p->l4proto != NFO_IPPROTO_TCP_ || !p->thoff ||
	    !(p->have & NFO_HAVE(NFO_DIM_TCPFLAGS)) || (p->tcpflags & 0x17) != 0x02)
		return 0;
	seglen = p->l4end - p->thoff;
	if (p->l4end < p->thoff || seglen > NFO_SYN_MAXSEG || seglen < 20)
		return 0;
	__builtin_memset(buf, 0, sizeof(buf));
	if (bpf_dynptr_read(buf, seglen, dp, p->thoff, 0))
		return 0;
	hl = (__u32)(buf[12] >> 4) * 4;
	if (hl < 20 || hl > seglen)
		return 0;
	return nfo_tcp_csum_ok(buf, seglen, p);
}

/* iph: the header at NFO_ETH_HLEN; th: NFO_TH_HEAD bytes after a 20-byte
 * header, or NULL. */
static __always_inline int nfo_parse_ipv4(const struct bpf_dynptr *dp, __u32 len,
					  const struct iphdr *iph, const __u8 *th,
					  struct nfo_pkt *p)
{
	__u32 tot, end;

	if (iph->version != 4 || iph->ihl < 5)
		return NFO_STAT_PASS_MALFORMED;
	if (iph->ihl > 5)
		return NFO_STAT_PASS_IPOPTS;
	tot = bpf_ntohs(iph->tot_len);
	end = NFO_ETH_HLEN + tot;
	if (tot < sizeof(*iph) || end > len)
		return NFO_STAT_PASS_MALFORMED;

	p->l3len = tot;
	__builtin_memcpy(p->saddr, &iph->saddr, 4);
	__builtin_memcpy(p->daddr, &iph->daddr, 4);
	p->l4proto = iph->protocol;
	p->have |= NFO_HAVE(NFO_DIM_SADDR4) | NFO_HAVE(NFO_DIM_DADDR4) |
		   NFO_HAVE(NFO_DIM_L4PROTO);
	/* IP_OFFSET: a later fragment passes, see above. */
	if (iph->frag_off & bpf_htons(0x1fff))
		return NFO_STAT_PASS_FRAGMENT;
	/* IP_MF: a first fragment has no transport fields, see above. */
	if (!(iph->frag_off & bpf_htons(0x3fff)))
		nfo_parse_l4(dp, NFO_ETH_HLEN + sizeof(*iph), end, th, p);
	return 0;
}

static __always_inline int nfo_ipv6_exthdr(__u8 nh)
{
	return nh == NFO_IPPROTO_HOPOPTS || nh == NFO_IPPROTO_ROUTING ||
	       nh == NFO_IPPROTO_FRAGMENT || nh == NFO_IPPROTO_AH ||
	       nh == NFO_IPPROTO_DSTOPTS;
}

/* ip6: the fixed header at NFO_ETH_HLEN; th: NFO_TH_HEAD bytes after it, or
 * NULL. */
static __always_inline int nfo_parse_ipv6(const struct bpf_dynptr *dp, __u32 len,
					  const struct ipv6hdr *ip6, const __u8 *th,
					  struct nfo_pkt *p)
{
	__u32 plen, end, off;
	__u8 nh, frag = 0;
	int i;

	if (ip6->version != 6)
		return NFO_STAT_PASS_MALFORMED;
	plen = bpf_ntohs(ip6->payload_len);
	end = NFO_ETH_HLEN + sizeof(*ip6) + plen;
	/* payload_len 0 is a jumbogram (or garbage): let the kernel judge. */
	if (plen == 0 || end > len)
		return NFO_STAT_PASS_MALFORMED;

	p->l3len = sizeof(*ip6) + plen;
	__builtin_memcpy(p->saddr, &ip6->saddr, 16);
	__builtin_memcpy(p->daddr, &ip6->daddr, 16);
	p->nexthdr = ip6->nexthdr;
	p->have |= NFO_HAVE(NFO_DIM_SADDR6) | NFO_HAVE(NFO_DIM_DADDR6) |
		   NFO_HAVE(NFO_DIM_NEXTHDR);

	nh = ip6->nexthdr;
	off = NFO_ETH_HLEN + sizeof(*ip6);
	/* No extension header: the common case, transport bytes in hand. */
	if (!nfo_ipv6_exthdr(nh)) {
		p->l4proto = nh;
		p->have |= NFO_HAVE(NFO_DIM_L4PROTO);
		nfo_parse_l4(dp, off, end, th, p);
		return 0;
	}
	for (i = 0; i <= NFO_IPV6_MAX_EXTHDRS; i++) {
		__u8 hbuf[4];
		__u8 *h;

		/* ipv6_find_hdr(): the first header that is not an extension
		 * header (NEXTHDR_NONE included) is the transport protocol;
		 * with IP6_FH_F_AUTH, as nf_tables asks, so is AH. */
		if (!nfo_ipv6_exthdr(nh) || nh == NFO_IPPROTO_AH) {
			p->l4proto = nh;
			p->have |= NFO_HAVE(NFO_DIM_L4PROTO);
			if (!frag)
				nfo_parse_l4(dp, off, end, NULL, p);
			return 0;
		}
		if (i == NFO_IPV6_MAX_EXTHDRS)
			return NFO_STAT_PASS_EXTHDRS;
		if (off + 4 > end)
			return NFO_STAT_PASS_MALFORMED;
		h = bpf_dynptr_slice(dp, off, hbuf, sizeof(hbuf));
		if (!h)
			return NFO_STAT_PASS_MALFORMED;

		if (nh == NFO_IPPROTO_FRAGMENT) {
			__u16 fo = (((__u16)h[2] << 8) | h[3]) & ~7;

			frag = 1;
			/* a later fragment passes, see above */
			if (fo)
				return NFO_STAT_PASS_FRAGMENT;
			off += 8;
		} else {
			off += ((__u32)h[1] + 1) << 3;
		}
		nh = h[0];
		if (off > end)
			return NFO_STAT_PASS_MALFORMED;
	}
	return NFO_STAT_PASS_EXTHDRS;
}

/*
 * Fills p from the frame in dp (len bytes, starting at the Ethernet header).
 * mac is the receiving interface's address, or NULL when the caller sets
 * p->l2host itself; bcast its broadcast address. Returns 0, or the
 * NFO_STAT_PASS_* reason to pass.
 */
static __always_inline int nfo_parse(const struct bpf_dynptr *dp, __u32 len,
				     const __u8 *mac, const __u8 *bcast, struct nfo_pkt *p)
{
	__u8 head[NFO_HEAD4_LEN];
	struct ethhdr *eth = NULL;
	__u8 *h4 = NULL;

	if (len >= NFO_HEAD4_LEN) {
		h4 = bpf_dynptr_slice(dp, 0, head, sizeof(head));
		eth = (struct ethhdr *)h4;
	}
	if (!eth)
		eth = bpf_dynptr_slice(dp, 0, head, sizeof(*eth));
	if (!eth)
		return NFO_STAT_PASS_MALFORMED;
	p->ethtype = bpf_ntohs(eth->h_proto);
	if (p->ethtype < NFO_ETH_P_802_3_MIN) {
		/* eth_type_trans(): a length, not a type. Raw 802.3 (IPX)
		 * starts with 0xffff, anything else is 802.2 LLC. */
		__u8 sbuf[2];
		__u8 *sap = bpf_dynptr_slice(dp, NFO_ETH_HLEN, sbuf, sizeof(sbuf));

		p->ethtype = sap && sap[0] == 0xff && sap[1] == 0xff ? NFO_ETH_P_802_3 :
									  NFO_ETH_P_802_2;
	}
	p->have = NFO_HAVE(NFO_DIM_ETHTYPE) | NFO_HAVE(NFO_DIM_L2HOST);
	p->l3len = len > NFO_ETH_HLEN ? len - NFO_ETH_HLEN : 0;
	/* skb->pkt_type as eth_type_trans() (eth_skb_pkt_type()) sets it:
	 * the device's address, else a group address (broadcast when it is
	 * the device's broadcast address: ff:ff:ff:ff:ff:ff on Ethernet, all
	 * zeros on lo), else another host's. */
	if (mac) {
		const __u8 *d = eth->h_dest;

		if (d[0] == mac[0] && d[1] == mac[1] && d[2] == mac[2] && d[3] == mac[3] &&
		    d[4] == mac[4] && d[5] == mac[5])
			p->l2host = NFO_L2_HOST;
		else if (!(d[0] & 1))
			p->l2host = NFO_L2_OTHERHOST;
		else if (d[0] == bcast[0] && d[1] == bcast[1] && d[2] == bcast[2] &&
			 d[3] == bcast[3] && d[4] == bcast[4] && d[5] == bcast[5])
			p->l2host = NFO_L2_BROADCAST;
		else
			p->l2host = NFO_L2_MULTICAST;
	}

	switch (p->ethtype) {
	case NFO_ETH_P_8021Q:
	case NFO_ETH_P_8021AD:
	case NFO_ETH_P_QINQ1:
		return NFO_STAT_PASS_VLAN;
	case NFO_ETH_P_IP: {
		struct iphdr buf;
		struct iphdr *iph;

		if (h4)
			return nfo_parse_ipv4(dp, len, (struct iphdr *)(h4 + NFO_ETH_HLEN),
					      h4 + NFO_ETH_HLEN + sizeof(*iph), p);
		iph = bpf_dynptr_slice(dp, NFO_ETH_HLEN, &buf, sizeof(buf));
		if (!iph)
			return NFO_STAT_PASS_MALFORMED;
		return nfo_parse_ipv4(dp, len, iph, NULL, p);
	}
	case NFO_ETH_P_IPV6: {
		__u8 buf[NFO_HEAD6_LEN];
		__u8 *h6 = NULL;

		if (len >= NFO_ETH_HLEN + NFO_HEAD6_LEN) {
			h6 = bpf_dynptr_slice(dp, NFO_ETH_HLEN, buf, sizeof(buf));
			if (h6)
				return nfo_parse_ipv6(dp, len, (struct ipv6hdr *)h6, h6 + 40, p);
		}
		h6 = bpf_dynptr_slice(dp, NFO_ETH_HLEN, buf, 40);
		if (!h6)
			return NFO_STAT_PASS_MALFORMED;
		return nfo_parse_ipv6(dp, len, (struct ipv6hdr *)h6, NULL, p);
	}
	}
	return 0;
}

#endif
