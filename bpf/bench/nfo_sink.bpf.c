// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload-bench's drop-all: an XDP program that counts and drops every
 * frame without reading a byte of it. Not a ceiling for a filter, which must
 * read the packet: it shows what the rest of the receive path costs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} nfo_sink_count SEC(".maps");

SEC("xdp")
int nfo_sink(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&nfo_sink_count, &key);

	if (n)
		*n += 1;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
