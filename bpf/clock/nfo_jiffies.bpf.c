// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel clock that set element timeouts count in, for userspace: a
 * syscall program run with BPF_PROG_TEST_RUN writes bpf_jiffies64() into its
 * context. nf_tables compares element expirations with get_jiffies_64() on
 * the packet path (nft_rhash_lookup, nft_set_elem_expired) and
 * bpf_jiffies64() is get_jiffies_64(), so the daemon, the fast path and
 * nftables read one clock. Its own object: it shares no map with the
 * program sets and lives as long as the daemon.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "nfo_abi.h"

SEC("syscall")
int nfo_clock_read(struct nfo_clock_args *args)
{
	args->jiffies = bpf_jiffies64();
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
