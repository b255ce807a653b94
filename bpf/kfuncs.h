/* SPDX-License-Identifier: GPL-2.0-only */
/* Kernel functions the fast path calls. The prototypes follow the kernel's
 * BTF (bpftool btf dump file /sys/kernel/btf/vmlinux | grep -A4 FUNC_PROTO);
 * vmlinux.h from bpftool 7.1 carries the types but not kfunc prototypes. */
#ifndef NFO_KFUNCS_H
#define NFO_KFUNCS_H

/* kernel/bpf/helpers.c, net/core/filter.c (Linux >= 6.4) */
extern int bpf_dynptr_from_xdp(struct xdp_md *x, __u64 flags,
			       struct bpf_dynptr *ptr__uninit) __ksym;
extern int bpf_dynptr_from_skb(struct __sk_buff *s, __u64 flags,
			       struct bpf_dynptr *ptr__uninit) __ksym;
extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset,
			      void *buffer__opt, __u32 buffer__szk) __ksym;

/* net/netfilter/nf_conntrack_bpf.c */
extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *xdp_ctx, struct bpf_sock_tuple *bpf_tuple,
					 __u32 tuple__sz, struct bpf_ct_opts *opts,
					 __u32 opts__sz) __ksym;
extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *skb_ctx, struct bpf_sock_tuple *bpf_tuple,
					 __u32 tuple__sz, struct bpf_ct_opts *opts,
					 __u32 opts__sz) __ksym;
extern void bpf_ct_release(struct nf_conn *ct) __ksym;

#endif
