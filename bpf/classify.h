/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The decision-diagram walk shared by the XDP and TC programs, and the maps it
 * reads. Every program of one generation shares the same maps (the loader
 * reuses the file descriptors); nfo_counters and nfo_stats outlive
 * generations so counters survive ruleset updates.
 */
#ifndef NFO_CLASSIFY_H
#define NFO_CLASSIFY_H

#include "nfo_abi.h"
#include "parser.h"
#include "trace.h"

/* Sizes here are placeholders: the loader sets them before loading. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct nfo_ctl);
} nfo_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nfo_root);
} nfo_roots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NFO_ROOT_CACHE);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct nfo_root);
} nfo_rootcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nfo_node);
} nfo_nodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} nfo_radix SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nfo_exact4);
} nfo_exact4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nfo_lpm4_key);
	__type(value, __u32);
} nfo_lpm4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nfo_lpm6_key);
	__type(value, __u32);
} nfo_lpm6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NFO_HALVES * NFO_MAX_SETS);
	__type(key, __u32);
	__type(value, struct nfo_setspec);
} nfo_setspecs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nfo_setkey);
	__type(value, nfo_set_until);
} nfo_setkeys SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nfo_setlpm_key);
	__type(value, nfo_set_until);
} nfo_setlpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nfo_counter);
} nfo_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, _NFO_STAT_MAX);
	__type(key, __u32);
	__type(value, struct nfo_counter);
} nfo_stats SEC(".maps");

static __always_inline void nfo_count(void *map, __u32 slot, __u32 bytes)
{
	struct nfo_counter *c = bpf_map_lookup_elem(map, &slot);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline __u32 nfo_radix_lookup(__u32 table, __u32 byte)
{
	__u32 idx = table * NFO_RADIX_FANOUT + (byte & 0xff);
	__u32 *e = bpf_map_lookup_elem(&nfo_radix, &idx);

	return e ? *e : NFO_REF_PASS;
}

/* 8- and 16-bit values: one or two array lookups. */
static __always_inline __u32 nfo_radix_walk(__u32 table, __u32 value, int bits)
{
	__u32 ref;

	if (bits > 8) {
		ref = nfo_radix_lookup(table, value >> 8);
		if ((ref & NFO_REF_KIND_MASK) != NFO_REF_TABLE)
			return ref;
		table = ref & NFO_REF_VALUE_MASK;
	}
	ref = nfo_radix_lookup(table, value);
	/* A sub-table reference at the last level is a loader bug: pass. */
	return (ref & NFO_REF_KIND_MASK) == NFO_REF_TABLE ? NFO_REF_PASS : ref;
}

static __always_inline __u32 nfo_lpm4_walk(__u32 node, const __u8 *addr)
{
	struct nfo_lpm4_key key = { .prefixlen = 64 };
	__u32 *e;

	key.node[0] = node >> 24;
	key.node[1] = node >> 16;
	key.node[2] = node >> 8;
	key.node[3] = node;
	__builtin_memcpy(key.addr, addr, 4);
	e = bpf_map_lookup_elem(&nfo_lpm4, &key);
	return e ? *e : NFO_REF_PASS;
}

static __always_inline __u32 nfo_exact4_walk(__u32 node, const __u8 *addr)
{
	struct nfo_exact4 *x = bpf_map_lookup_elem(&nfo_exact4, &node);
	__u32 a;
	int i;

	if (!x)
		return NFO_REF_PASS;
	__builtin_memcpy(&a, addr, 4);
	for (i = 0; i < NFO_EXACT_MAX; i++) {
		if (i >= x->n)
			break;
		if (x->addr[i] == a)
			return x->ref[i];
	}
	return x->dflt;
}

static __always_inline __u32 nfo_lpm6_walk(__u32 node, const __u8 *addr)
{
	struct nfo_lpm6_key key = { .prefixlen = 160 };
	__u32 *e;

	key.node[0] = node >> 24;
	key.node[1] = node >> 16;
	key.node[2] = node >> 8;
	key.node[3] = node;
	__builtin_memcpy(key.addr, addr, 16);
	e = bpf_map_lookup_elem(&nfo_lpm6, &key);
	return e ? *e : NFO_REF_PASS;
}

#define NFO_IPS_EXPECTED (1UL << 0)   /* enum ip_conntrack_status */
#define NFO_IPS_SEEN_REPLY (1UL << 1)
#define NFO_IPS_NAT_MASK (3UL << 4)      /* IPS_SRC_NAT | IPS_DST_NAT */
#define NFO_IPS_NAT_DONE_MASK (3UL << 7) /* IPS_SRC_NAT_DONE | IPS_DST_NAT_DONE */
#define NFO_IPPROTO_TCP 6
#define NFO_IPPROTO_UDP 17

/*
 * Looks the packet up in conntrack (TCP and UDP: what the kfuncs support) and
 * sets its NFO_DIM_CTSTATE class. Each program defines its own as a global
 * function (nfo_ct_lookup_xdp, nfo_ct_lookup_tc): the verifier checks a
 * global function once, not once per path that reaches the call.
 */
static __always_inline int nfo_ct_tuple(const struct nfo_pkt *p, struct bpf_sock_tuple *t,
					__u32 *ret_len)
{
	if (p->l4proto != NFO_IPPROTO_TCP && p->l4proto != NFO_IPPROTO_UDP)
		return -1;
	if ((p->have & (NFO_HAVE(NFO_DIM_TH0) | NFO_HAVE(NFO_DIM_TH2))) !=
	    (NFO_HAVE(NFO_DIM_TH0) | NFO_HAVE(NFO_DIM_TH2)))
		return -1;
	if (p->have & NFO_HAVE(NFO_DIM_SADDR4)) {
		__builtin_memcpy(&t->ipv4.saddr, p->saddr, 4);
		__builtin_memcpy(&t->ipv4.daddr, p->daddr, 4);
		t->ipv4.sport = bpf_htons(p->th0);
		t->ipv4.dport = bpf_htons(p->th2);
		*ret_len = sizeof(t->ipv4);
		return 0;
	}
	if (p->have & NFO_HAVE(NFO_DIM_SADDR6)) {
		__builtin_memcpy(t->ipv6.saddr, p->saddr, 16);
		__builtin_memcpy(t->ipv6.daddr, p->daddr, 16);
		t->ipv6.sport = bpf_htons(p->th0);
		t->ipv6.dport = bpf_htons(p->th2);
		*ret_len = sizeof(t->ipv6);
		return 0;
	}
	return -1;
}

/* The class of what a lookup returned (the caller releases ct). */
static __always_inline void nfo_ct_class(struct nfo_pkt *p, struct nf_conn *ct,
					 const struct bpf_ct_opts *opts)
{
	if (!ct) {
		/* -ENOENT: no entry. Anything else: we know nothing. */
		if (opts->error != -2)
			return;
		p->ctclass = 0;
	} else {
		unsigned long status = ct->status;

		p->ctclass = NFO_CT_FOUND;
		if (opts->dir == 1 /* IP_CT_DIR_REPLY */ || (status & NFO_IPS_SEEN_REPLY))
			p->ctclass |= NFO_CT_REPLY_OR_SEEN;
		if (status & NFO_IPS_EXPECTED)
			p->ctclass |= NFO_CT_EXPECTED;
		if ((status & NFO_IPS_NAT_MASK) ||
		    (status & NFO_IPS_NAT_DONE_MASK) != NFO_IPS_NAT_DONE_MASK)
			p->ctclass |= NFO_CT_NAT;
	}
	p->have |= NFO_HAVE(NFO_DIM_CTSTATE);
}

/*
 * Copies a field's value as nft holds it in a register (network order) to
 * dst; returns its length, 0 if the packet has no such field.
 */
static __always_inline __u32 nfo_field_bytes(const struct nfo_pkt *p, __u32 dim, __u8 *dst)
{
	if (dim >= NFO_DIM_SET0 || !(p->have & NFO_HAVE(dim)))
		return 0;
	switch (dim) {
	case NFO_DIM_ETHTYPE:
		dst[0] = p->ethtype >> 8;
		dst[1] = p->ethtype;
		return 2;
	case NFO_DIM_L4PROTO:
		dst[0] = p->l4proto;
		return 1;
	case NFO_DIM_NEXTHDR:
		dst[0] = p->nexthdr;
		return 1;
	case NFO_DIM_TH0:
		dst[0] = p->th0 >> 8;
		dst[1] = p->th0;
		return 2;
	case NFO_DIM_TH2:
		dst[0] = p->th2 >> 8;
		dst[1] = p->th2;
		return 2;
	case NFO_DIM_TCPFLAGS:
		dst[0] = p->tcpflags;
		return 1;
	case NFO_DIM_SADDR4:
		__builtin_memcpy(dst, p->saddr, 4);
		return 4;
	case NFO_DIM_DADDR4:
		__builtin_memcpy(dst, p->daddr, 4);
		return 4;
	case NFO_DIM_SADDR6:
		__builtin_memcpy(dst, p->saddr, 16);
		return 16;
	case NFO_DIM_DADDR6:
		__builtin_memcpy(dst, p->daddr, 16);
		return 16;
	}
	return 0;
}

/* An element found is present until its time (nfo_set_until). */
static __always_inline int nfo_set_live(const nfo_set_until *until)
{
	return until && (!*until || bpf_jiffies64() < *until);
}

/*
 * Whether the packet's key is in named set slot of half: 1, 0, or -1 when
 * the packet lacks a field of the key. A global function: verified once.
 */
__noinline int nfo_set_member(const struct nfo_pkt *p, __u32 slot, __u32 half)
{
	struct nfo_setkey k = {};
	struct nfo_setspec *spec;
	__u32 idx, off = 0;
	int i;

	if (!p || slot >= NFO_MAX_SETS || half >= NFO_HALVES)
		return -1;
	idx = half * NFO_MAX_SETS + slot;
	spec = bpf_map_lookup_elem(&nfo_setspecs, &idx);
	if (!spec || !spec->nfields)
		return -1;
	if (spec->interval) {
		struct nfo_setlpm_key lk = { .prefixlen = 32 + 128 };

		lk.slot_half[3] = idx;
		if (!nfo_field_bytes(p, spec->dims[0], lk.key))
			return -1;
		return nfo_set_live(bpf_map_lookup_elem(&nfo_setlpm, &lk));
	}
	k.slot_half = idx;
	for (i = 0; i < NFO_SET_MAX_FIELDS; i++) {
		__u8 buf[16];
		__u32 len, j;

		if (i >= spec->nfields)
			break;
		len = nfo_field_bytes(p, spec->dims[i], buf);
		if (!len)
			return -1;
		for (j = 0; j < 16 && j < len; j++) {
			if (off + j >= NFO_SET_KEY_LEN)
				return -1;
			k.key[off + j] = buf[j];
		}
		/* each field starts 4-byte aligned, as in nft registers */
		off += (len + 3) & ~3u;
	}
	return nfo_set_live(bpf_map_lookup_elem(&nfo_setkeys, &k));
}

/* Defined by each program (only the one it calls is referenced). */
int nfo_ct_lookup_xdp(struct xdp_md *ctx, struct nfo_pkt *p);
int nfo_ct_lookup_tc(struct __sk_buff *ctx, struct nfo_pkt *p);

/*
 * Walks the diagram from ref; returns a verdict reference. The conntrack
 * lookup happens only when the walk reaches a ct node (the planner puts
 * conntrack last, where nothing cheaper decides).
 */
static __always_inline __u32 nfo_classify(struct nfo_pkt *p, __u32 ref, __u32 half, void *ctx,
					  int is_xdp)
{
	int i;

	for (i = 0; i < NFO_MAX_DEPTH; i++) {
		struct nfo_node *n;
		__u32 id = ref;

		if ((ref & NFO_REF_KIND_MASK) != NFO_REF_NODE)
			return ref;
		n = bpf_map_lookup_elem(&nfo_nodes, &id);
		if (!n)
			return NFO_REF_PASS;
		if (n->dim == NFO_DIM_CTSTATE) {
			if (is_xdp)
				nfo_ct_lookup_xdp(ctx, p);
			else
				nfo_ct_lookup_tc(ctx, p);
		}
		if (n->dim >= NFO_DIM_SET0 && n->dim <= NFO_DIM_SET_LAST) {
			int m = nfo_set_member(p, n->dim - NFO_DIM_SET0, half);

			ref = m < 0 ? n->unknown : nfo_radix_walk(n->table, m, 8);
			continue;
		}
		if (n->dim >= _NFO_DIM_MAX || !(p->have & NFO_HAVE(n->dim))) {
			ref = n->unknown;
			continue;
		}
		switch (n->dim) {
		case NFO_DIM_ETHTYPE:
			ref = nfo_radix_walk(n->table, p->ethtype, 16);
			break;
		case NFO_DIM_L2HOST:
			ref = nfo_radix_walk(n->table, p->l2host, 8);
			break;
		case NFO_DIM_L4PROTO:
			ref = nfo_radix_walk(n->table, p->l4proto, 8);
			break;
		case NFO_DIM_NEXTHDR:
			ref = nfo_radix_walk(n->table, p->nexthdr, 8);
			break;
		case NFO_DIM_TH0:
			ref = nfo_radix_walk(n->table, p->th0, 16);
			break;
		case NFO_DIM_TH2:
			ref = nfo_radix_walk(n->table, p->th2, 16);
			break;
		case NFO_DIM_TCPFLAGS:
			ref = nfo_radix_walk(n->table, p->tcpflags, 8);
			break;
		case NFO_DIM_SADDR4:
			ref = n->flags & NFO_NODE_EXACT ? nfo_exact4_walk(id, p->saddr) :
							  nfo_lpm4_walk(id, p->saddr);
			break;
		case NFO_DIM_DADDR4:
			ref = n->flags & NFO_NODE_EXACT ? nfo_exact4_walk(id, p->daddr) :
							  nfo_lpm4_walk(id, p->daddr);
			break;
		case NFO_DIM_SADDR6:
			ref = nfo_lpm6_walk(id, p->saddr);
			break;
		case NFO_DIM_DADDR6:
			ref = nfo_lpm6_walk(id, p->daddr);
			break;
		case NFO_DIM_CTSTATE:
			ref = nfo_radix_walk(n->table, p->ctclass, 8);
			break;
		default:
			return NFO_REF_PASS;
		}
	}
	return (ref & NFO_REF_KIND_MASK) == NFO_REF_VERDICT ? ref : NFO_REF_PASS;
}

/*
 * The whole fast path for one frame. Returns 1 to drop, 0 to pass.
 * l2host < 0: compare the destination MAC with the interface's own.
 */
static __always_inline int nfo_run(const struct bpf_dynptr *dp, __u32 len,
				   __u32 ifindex, int l2host, void *ctx, int is_xdp)
{
	struct nfo_pkt p = {};
	struct nfo_root *root;
	struct nfo_ctl *ctl;
	__u32 zero = 0, slot, ref, state, half, trace;
	int r;

	ctl = bpf_map_lookup_elem(&nfo_ctl, &zero);
	slot = ifindex % NFO_ROOT_CACHE;
	root = bpf_map_lookup_elem(&nfo_rootcache, &slot);
	/* The owner before the refs (see NFO_ROOT_CACHE); 0 owns no slot. */
	if (!root || !ifindex || *(volatile __u32 *)&root->ifindex != ifindex)
		root = bpf_map_lookup_elem(&nfo_roots, &ifindex);
	asm volatile("" ::: "memory");
	/* Read once: the whole walk uses the half it names. */
	state = ctl ? *(volatile __u32 *)&ctl->state : NFO_STATE_DISABLED;
	trace = ctl ? ctl->trace : 0;
	if (state == NFO_STATE_DISABLED || state > NFO_STATE_HALF(1) || !root) {
		nfo_count(&nfo_stats, NFO_STAT_PASS_DISABLED, len);
		if (trace)
			nfo_trace(dp, len, ifindex, 0, NFO_STAT_PASS_DISABLED);
		return 0;
	}
	half = (state - 1) & 1;

	r = nfo_parse(dp, len, l2host < 0 ? root->mac[half] : NULL, root->bcast[half], &p);
	if (l2host >= 0)
		p.l2host = l2host;
	if (r) {
		nfo_count(&nfo_stats, r, len);
		if (trace)
			nfo_trace(dp, len, ifindex, 0, r);
		return 0;
	}

	ref = p.ethtype == NFO_ETH_P_IP ? root->ref_ip[half] :
	      p.ethtype == NFO_ETH_P_IPV6 ? root->ref_ip6[half] : root->ref[half];
	ref = nfo_classify(&p, ref, half, ctx, is_xdp);
	if (ref & NFO_REF_DROP_BIT) {
		nfo_count(&nfo_counters, ref & NFO_REF_VALUE_MASK, p.l3len);
		nfo_count(&nfo_stats, NFO_STAT_DROPPED, p.l3len);
		if (trace)
			nfo_trace(dp, len, ifindex, 1, ref & NFO_REF_VALUE_MASK);
		return 1;
	}
	nfo_count(&nfo_stats, NFO_STAT_PASS_VERDICT, p.l3len);
	if (trace)
		nfo_trace(dp, len, ifindex, 0, NFO_STAT_PASS_VERDICT);
	return 0;
}

#endif
