// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload-bench's reference: the cheapest XDP program that does the
 * bench's drop by hand. Direct packet access, Ethernet / IPv4 / UDP, the
 * destination port compared with a constant, one per-CPU counter. What
 * nft-offload's fast path is measured against: it does the same job for any
 * ruleset, this one for one rule only.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define ETH_P_IP 0x0800
#define IPPROTO_UDP_ 17

const volatile __u16 drop_port; /* host order; set before loading */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} nfo_ref_count SEC(".maps");

SEC("xdp")
int nfo_ref(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct udphdr *udp;
	__u32 key = 0;
	__u64 *n;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_UDP_ || ip->frag_off & bpf_htons(0x3fff))
		return XDP_PASS;
	udp = (void *)ip + ip->ihl * 4;
	if ((void *)(udp + 1) > end || udp->dest != bpf_htons(drop_port))
		return XDP_PASS;
	n = bpf_map_lookup_elem(&nfo_ref_count, &key);
	if (n)
		*n += 1;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
