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
#include "nfo_store.h"
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

/* The bucket tables of exact sets (bpf/nfo_store.h), by store id. The
 * loader creates each with its own size (BPF_F_INNER_MAP). */
struct nfo_table_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE | BPF_F_INNER_MAP);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, NFO_BUCKET_SIZE);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, NFO_MAX_STORES);
	__type(key, __u32);
	__array(values, struct nfo_table_map);
} nfo_xstores SEC(".maps");

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

/* The reject buckets (nfo_reject_drop). Per CPU: each CPU may pass the
 * kernel's whole budget, which only passes more. A sender evicted from the
 * LRU comes back with a full bucket, which also only passes more. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nfo_tokens);
} nfo_rej_global SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, NFO_REJECT_PEERS);
	__type(key, struct nfo_rej_key);
	__type(value, struct nfo_tokens);
} nfo_rej_peer SEC(".maps");

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

/* An NFO_NODE_SMALL node's in-line table (nfo_abi.h): no count, no loop
 * bound for the verifier, no lookup. */
static __always_inline __u32 nfo_small_walk(const struct nfo_node *n, __u32 v)
{
	int i;

#pragma unroll
	for (i = 0; i < NFO_SMALL_MAX; i++)
		if (n->val[i] == v)
			return n->ref[i];
	return n->dflt;
}

/* A node of a dimension of at most 16 bits. */
static __always_inline __u32 nfo_node_walk(const struct nfo_node *n, __u32 v, int bits)
{
	return n->flags & NFO_NODE_SMALL ? nfo_small_walk(n, v) : nfo_radix_walk(n->table, v, bits);
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

/* An IPv4 address node: in line, from nfo_exact4, or from the trie. */
static __always_inline __u32 nfo_addr4_walk(const struct nfo_node *n, __u32 id, const __u8 *addr)
{
	__u32 a;

	if (n->flags & NFO_NODE_SMALL) {
		__builtin_memcpy(&a, addr, 4);
		return nfo_small_walk(n, a);
	}
	return n->flags & NFO_NODE_EXACT ? nfo_exact4_walk(id, addr) : nfo_lpm4_walk(id, addr);
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
static __always_inline int nfo_until_live(__u64 until)
{
	return !until || bpf_jiffies64() < until;
}

static __always_inline int nfo_set_live(const nfo_set_until *until)
{
	return until && nfo_until_live(*until);
}

/* Whether key (kw words) is in the bucket table of store (bpf/nfo_store.h);
 * -1: no table (the loader is between two). */
static __always_inline int nfo_table_member(__u32 store, const __u32 *key, __u32 kw)
{
	struct nfo_table_hdr *h;
	struct nfo_bucket *b;
	__u32 zero = 0, hv, idx;
	void *tbl;
	int i;

	tbl = bpf_map_lookup_elem(&nfo_xstores, &store);
	if (!tbl)
		return -1;
	h = bpf_map_lookup_elem(tbl, &zero);
	if (!h || h->kw != kw)
		return -1;
	hv = nfo_table_hash(key, kw, h->seed);
	idx = nfo_table_b1(hv, h->mask);
	b = bpf_map_lookup_elem(tbl, &idx);
	if (b) {
		i = nfo_bucket_find(b, h, key);
		if (i >= 0)
			return nfo_until_live(nfo_bucket_until(b, h, i));
	}
	idx = nfo_table_b2(hv, h->mask);
	b = bpf_map_lookup_elem(tbl, &idx);
	if (b) {
		i = nfo_bucket_find(b, h, key);
		if (i >= 0)
			return nfo_until_live(nfo_bucket_until(b, h, i));
	}
	return 0;
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
	if (spec->kind == NFO_STORE_LPM) {
		struct nfo_setlpm_key lk = { .prefixlen = 32 + 128 };
		__u32 store = spec->store;

		lk.store[0] = store >> 24;
		lk.store[1] = store >> 16;
		lk.store[2] = store >> 8;
		lk.store[3] = store;
		if (!nfo_field_bytes(p, spec->dims[0], lk.key))
			return -1;
		return nfo_set_live(bpf_map_lookup_elem(&nfo_setlpm, &lk));
	}
	k.store = spec->store;
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
	if (spec->kind == NFO_STORE_TABLE) {
		if (off > NFO_TABLE_MAX_KEY)
			return -1;
		/* k.key follows a __u32: 4-byte aligned, read in place */
		return nfo_table_member(spec->store, (const __u32 *)k.key, off / 4);
	}
	if (spec->kind != NFO_STORE_HASH)
		return -1;
	return nfo_set_live(bpf_map_lookup_elem(&nfo_setkeys, &k));
}

/*
 * A guard's value of the packet as NFO_NODE_SMALL nodes compare it; 0 when
 * the packet has none. Guards are of these dimensions only: the encoder's
 * small_dim() (nft-offload/encode.c) lists them, and the dimensions walked
 * with nfo_node_walk() / nfo_addr4_walk(); a new dimension joins both there.
 */
static __always_inline int nfo_guard_value(const struct nfo_pkt *p, __u32 dim, __u32 *ret)
{
	if (dim >= _NFO_DIM_MAX || !(p->have & NFO_HAVE(dim)))
		return 0;
	switch (dim) {
	case NFO_DIM_ETHTYPE:
		*ret = p->ethtype;
		return 1;
	case NFO_DIM_L2HOST:
		*ret = p->l2host;
		return 1;
	case NFO_DIM_L4PROTO:
		*ret = p->l4proto;
		return 1;
	case NFO_DIM_NEXTHDR:
		*ret = p->nexthdr;
		return 1;
	case NFO_DIM_TH0:
		*ret = p->th0;
		return 1;
	case NFO_DIM_TH2:
		*ret = p->th2;
		return 1;
	case NFO_DIM_TCPFLAGS:
		*ret = p->tcpflags;
		return 1;
	case NFO_DIM_SADDR4:
		__builtin_memcpy(ret, p->saddr, 4);
		return 1;
	case NFO_DIM_DADDR4:
		__builtin_memcpy(ret, p->daddr, 4);
		return 1;
	}
	return 0;
}

/* Where n's guards send the packet (nfo_abi.h); 0: on, to n's own test. */
static __always_inline __u32 nfo_guards_walk(const struct nfo_pkt *p, const struct nfo_node *n)
{
	int g, i;

#pragma unroll
	for (g = 0; g < NFO_GUARD_MAX; g++) {
		const struct nfo_guard *gd = &n->guards[g];
		__u32 v = 0;
		int hit = 0;

		if (g >= n->nguards)
			break;
		if (!nfo_guard_value(p, gd->dim, &v))
			return gd->unknown;
#pragma unroll
		for (i = 0; i < NFO_SMALL_MAX; i++)
			hit |= gd->val[i] == v;
		if (!hit)
			return gd->miss;
	}
	return 0;
}

/* Defined by each program (only the one it calls is referenced). */
int nfo_ct_lookup_xdp(struct xdp_md *ctx, struct nfo_pkt *p);
int nfo_ct_lookup_tc(struct __sk_buff *ctx, struct nfo_pkt *p);
/* The RST a reset leaf answers with (nfo_rst_build, nfo_rst6_build): room
 * for the IPv6 one, the IPv4 one in its first NFO_RST_LEN bytes. */
struct nfo_rst_frame {
	__u8 b[NFO_ETH_HLEN + 40 + 20];
};
/* A reset leaf: NFO_RST_*, out filled for NFO_RST_SEND; the frame is not
 * changed yet; p's conntrack class is known if a lookup could tell it. Then nfo_rst_send_*() turns the frame into out (0, or
 * -errno: dropped), the tc one calling bpf_redirect() to ifindex. */
int nfo_reset_xdp(struct xdp_md *ctx, struct nfo_pkt *p, __u32 ifindex, __u32 ttl,
		  struct nfo_rst_frame *out);
int nfo_reset_tc(struct __sk_buff *ctx, struct nfo_pkt *p, __u32 ifindex, __u32 ttl,
		 struct nfo_rst_frame *out);
int nfo_rst_send_xdp(struct xdp_md *ctx, struct nfo_rst_frame *out, __u32 v6);
int nfo_rst_send_tc(struct __sk_buff *ctx, struct nfo_rst_frame *out, __u32 ifindex, __u32 v6);
/* nfo_parse_tcpopt on the frame again (global: verified once). */
int nfo_tcpopt_xdp(struct xdp_md *ctx, struct nfo_pkt *p);
int nfo_tcpopt_tc(struct __sk_buff *ctx, struct nfo_pkt *p);

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
		if (n->nguards) {
			/* 0: on; no edge leads to node 0 (plan node 0 is none) */
			ref = nfo_guards_walk(p, n);
			if (ref)
				continue;
		}
		if (n->dim == NFO_DIM_CTSTATE) {
			if (is_xdp)
				nfo_ct_lookup_xdp(ctx, p);
			else
				nfo_ct_lookup_tc(ctx, p);
		}
		if (n->dim >= NFO_DIM_SET0 && n->dim <= NFO_DIM_SET_LAST) {
			int m = nfo_set_member(p, n->dim - NFO_DIM_SET0, half);

			ref = m < 0 ? n->unknown : nfo_node_walk(n, m, 8);
			continue;
		}
		if ((n->dim == NFO_DIM_TCPMSS || n->dim == NFO_DIM_MSSOPT) && !p->optdone) {
			if (is_xdp)
				nfo_tcpopt_xdp(ctx, p);
			else
				nfo_tcpopt_tc(ctx, p);
		}
		if (n->dim >= _NFO_DIM_MAX || !(p->have & NFO_HAVE(n->dim))) {
			ref = n->unknown;
			continue;
		}
		switch (n->dim) {
		case NFO_DIM_ETHTYPE:
			ref = nfo_node_walk(n, p->ethtype, 16);
			break;
		case NFO_DIM_L2HOST:
			ref = nfo_node_walk(n, p->l2host, 8);
			break;
		case NFO_DIM_L4PROTO:
			ref = nfo_node_walk(n, p->l4proto, 8);
			break;
		case NFO_DIM_NEXTHDR:
			ref = nfo_node_walk(n, p->nexthdr, 8);
			break;
		case NFO_DIM_TH0:
			ref = nfo_node_walk(n, p->th0, 16);
			break;
		case NFO_DIM_TH2:
			ref = nfo_node_walk(n, p->th2, 16);
			break;
		case NFO_DIM_TCPFLAGS:
			ref = nfo_node_walk(n, p->tcpflags, 8);
			break;
		case NFO_DIM_SADDR4:
			ref = nfo_addr4_walk(n, id, p->saddr);
			break;
		case NFO_DIM_DADDR4:
			ref = nfo_addr4_walk(n, id, p->daddr);
			break;
		case NFO_DIM_SADDR6:
			ref = nfo_lpm6_walk(id, p->saddr);
			break;
		case NFO_DIM_DADDR6:
			ref = nfo_lpm6_walk(id, p->daddr);
			break;
		case NFO_DIM_CTSTATE:
			ref = nfo_node_walk(n, p->ctclass, 8);
			break;
		case NFO_DIM_TCPMSS:
			ref = nfo_radix_walk(n->table, p->tcpmss, 16);
			break;
		case NFO_DIM_MSSOPT:
			ref = nfo_radix_walk(n->table, p->mssopt, 8);
			break;
		default:
			return NFO_REF_PASS;
		}
	}
	return (ref & NFO_REF_KIND_MASK) == NFO_REF_VERDICT ? ref : NFO_REF_PASS;
}

/* The bucket's tokens at now (refilled, capped at burst). */
static __always_inline __u64 nfo_tokens_fill(const struct nfo_tokens *b, __u64 now, __u64 burst)
{
	__u64 t = b->tokens_ns + (now > b->last_ns ? now - b->last_ns : 0);

	return t < burst ? t : burst;
}

#define NFO_ICMP_PROTO 1
#define NFO_ICMPV6_PROTO 58

/*
 * A reject leaf: nftables certainly drops the packet and answers it with an
 * ICMP error, which the kernel rate-limits (docs/SEMANTICS.md section 4.1).
 * Returns 1 to drop it here, 0 to pass it to nftables. The buckets follow
 * the kernel's (icmp_global_allow, then inet_peer_xrlim_allow, then
 * icmp_global_consume only for an answer the peer limit allowed): both are
 * consumed only when both have a token, with more tokens than the kernel's.
 */
static __always_inline int nfo_reject_drop(const struct nfo_pkt *p, __u32 ifindex,
					   const struct nfo_reject_cfg *cfg)
{
	struct nfo_rej_key key = { .ifindex = ifindex };
	struct nfo_tokens *g, *peer = NULL;
	__u64 now, gt, pt = 0, cost;
	__u32 zero = 0, flags = cfg->flags;
	int v6 = p->ethtype == NFO_ETH_P_IPV6;

	if (!(flags & NFO_REJECT_ON) ||
	    (flags & (v6 ? NFO_REJECT_UNLIMITED6 : NFO_REJECT_UNLIMITED4)))
		return 0;
	/* Fragments (nftables may see the reassembled packet, and answer it)
	 * and truncated packets: pass, without taking a token. */
	if (!(p->have & NFO_HAVE(NFO_DIM_TH0)))
		return 0;
	/* No error about an error (__icmp_send: icmp_pointers[].error, any
	 * type above NR_ICMP_TYPES; icmp6_send: is_ineligible): the kernel
	 * drops these silently. */
	if (!v6 && p->l4proto == NFO_ICMP_PROTO) {
		__u8 t = p->th0 >> 8;

		if (t == 3 || t == 4 || t == 5 || t == 11 || t == 12 || t > 18)
			return 1;
	}
	if (v6 && p->l4proto == NFO_ICMPV6_PROTO && !(p->th0 & 0x8000))
		return 1;
	/* Nor, in IPv6, to a multicast destination (icmp6_send reads the
	 * packet's). IPv4 has no such rule here: __icmp_send looks at the
	 * route's RTCF_BROADCAST | RTCF_MULTICAST, and at prerouting that is
	 * the route back to the sender nf_reject_fill_skb_dst() looked up. */
	if (v6 && p->daddr[0] == 0xff)
		return 1;

	now = bpf_ktime_get_ns();
	g = bpf_map_lookup_elem(&nfo_rej_global, &zero);
	if (!g)
		return 0;
	gt = nfo_tokens_fill(g, now, cfg->global_burst_ns);
	cost = cfg->peer_cost_ns[v6 & 1];
	if (cost) {
		key.family = v6 ? 6 : 4;
		if (v6)
			__builtin_memcpy(key.addr, p->saddr, 16);
		else
			__builtin_memcpy(key.addr, p->saddr, 4);
		peer = bpf_map_lookup_elem(&nfo_rej_peer, &key);
		if (!peer) {
			struct nfo_tokens full = { .tokens_ns = cfg->peer_burst_ns[v6 & 1],
						   .last_ns = now };

			if (bpf_map_update_elem(&nfo_rej_peer, &key, &full, BPF_ANY))
				return 0;
			peer = bpf_map_lookup_elem(&nfo_rej_peer, &key);
			if (!peer)
				return 0;
		}
		pt = nfo_tokens_fill(peer, now, cfg->peer_burst_ns[v6 & 1]);
	}
	if (gt < cfg->global_cost_ns || (peer && pt < cost)) {
		/* Refilled, not consumed (the kernel keeps its refill too). */
		g->tokens_ns = gt;
		g->last_ns = now;
		if (peer) {
			peer->tokens_ns = pt;
			peer->last_ns = now;
		}
		return 1;
	}
	g->tokens_ns = gt - cfg->global_cost_ns;
	g->last_ns = now;
	if (peer) {
		peer->tokens_ns = pt - cost;
		peer->last_ns = now;
	}
	return 0;
}

/* What a reset leaf does with the packet (nfo_reset_leaf). */
#define NFO_RST_PASS 0 /* to nftables, which sends the RST */
#define NFO_RST_DROP 1 /* silently: the kernel sends nothing either */
#define NFO_RST_SEND 2 /* the frame is now the kernel's RST: transmit it */
#define NFO_RST_LEN (NFO_ETH_HLEN + 20 + 20)  /* an IPv4 RST */
#define NFO_RST6_LEN (NFO_ETH_HLEN + 40 + 20) /* an IPv6 one: sizeof(struct nfo_rst_frame) */

static __always_inline __u16 nfo_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/*
 * The part of nf_send_reset() and nf_send_reset6() that reads the TCP
 * segment (from p->thoff to p->l4end: shorter than a TCP header drops,
 * longer than NFO_SYN_MAXSEG passes: its checksum is not computed here)
 * and the Ethernet addresses into seg and eth: no RST for a RST (drop); a bad
 * checksum, or pass set by the caller, passes (a sum bad to us may be good
 * to the kernel, CHECKSUM_UNNECESSARY, e.g. a veth peer's
 * CHECKSUM_PARTIAL: it decides). Else the RST's seq, ack and flags: the
 * packet's ack_seq if it has ACK, else 0 with ACK set and ack = seq + SYN +
 * FIN + the payload length (doff as written: modulo 2^32); and out (len
 * bytes) zeroed but for the RST's Ethernet addresses, the frame's swapped.
 */
static __always_inline int nfo_rst_segment(const struct bpf_dynptr *dp, const struct nfo_pkt *p,
					   int pass, __u8 *seg, __u8 *eth, __u8 *out, __u32 len,
					   __u32 *ret_seq, __u32 *ret_ack, __u8 *ret_flags)
{
	__u32 seglen = p->l4end - p->thoff;
	int i;

	if (seglen < 20)
		return NFO_RST_DROP;
	if (seglen > NFO_SYN_MAXSEG)
		return NFO_RST_PASS;
	__builtin_memset(seg, 0, NFO_SYN_MAXSEG);
	if (bpf_dynptr_read(seg, seglen, dp, p->thoff, 0) || bpf_dynptr_read(eth, 12, dp, 0, 0))
		return NFO_RST_PASS;
	if (seg[13] & 0x04)
		return NFO_RST_DROP;
	if (pass || !nfo_tcp_csum_ok(seg, seglen, p))
		return NFO_RST_PASS;
	*ret_seq = 0;
	*ret_ack = 0;
	if (seg[13] & 0x10) {
		*ret_seq = ((__u32)seg[8] << 24) | ((__u32)seg[9] << 16) | ((__u32)seg[10] << 8) |
			   seg[11];
		*ret_flags = 0x04;
	} else {
		*ret_ack = ((__u32)seg[4] << 24) | ((__u32)seg[5] << 16) | ((__u32)seg[6] << 8) |
			   seg[7];
		*ret_ack += ((seg[13] >> 1) & 1) + (seg[13] & 1) + seglen -
			    (__u32)(seg[12] >> 4) * 4;
		*ret_flags = 0x14;
	}
	__builtin_memset(out, 0, len);
	for (i = 0; i < 6; i++) {
		out[i] = eth[6 + i];
		out[6 + i] = eth[i];
	}
	return NFO_RST_SEND;
}

/*
 * The RST's TCP header at out + th (ports of seg swapped, seq, ack, doff 5,
 * flags, window and urgent pointer 0 as out was cleared) and its checksum
 * over the pseudo header: the naddr 16-bit words of both addresses at
 * out + addr, the protocol and the length 20.
 */
static __always_inline void nfo_rst_tcp_put(__u8 *out, int th, int addr, int naddr,
					    const __u8 *seg, __u32 seq, __u32 ack, __u8 flags)
{
	__u32 sum = NFO_IPPROTO_TCP + 20;
	__u16 c;
	int i;

	out[th] = seg[2];
	out[th + 1] = seg[3];
	out[th + 2] = seg[0];
	out[th + 3] = seg[1];
	out[th + 4] = seq >> 24;
	out[th + 5] = seq >> 16;
	out[th + 6] = seq >> 8;
	out[th + 7] = seq;
	out[th + 8] = ack >> 24;
	out[th + 9] = ack >> 16;
	out[th + 10] = ack >> 8;
	out[th + 11] = ack;
	out[th + 12] = 0x50;
	out[th + 13] = flags;
	for (i = 0; i < naddr; i++)
		sum += ((__u32)out[addr + 2 * i] << 8) | out[addr + 1 + 2 * i];
	for (i = 0; i < 10; i++)
		sum += ((__u32)out[th + 2 * i] << 8) | out[th + 1 + 2 * i];
	c = nfo_csum_fold(sum);
	out[th + 16] = c >> 8;
	out[th + 17] = c;
}

/*
 * A reset leaf (docs/SEMANTICS.md section 4.1): nftables certainly drops the
 * packet with `reject with tcp reset`. What nf_send_reset() does with it
 * (net/ipv4/netfilter/nf_reject_ipv4.c): nf_reject_ip_tcphdr_get() gives up,
 * and the packet is dropped silently, for a later fragment, anything but
 * TCP, a TCP header shorter than 20 bytes, a RST, and a bad checksum
 * (nf_ip_checksum); else nf_reject_iphdr_put() and
 * nf_reject_ip_tcphdr_put() build the RST: IPv4 without options, TOS 0,
 * ID 0, DF, the TTL of the route (rst_ttl), addresses and ports swapped;
 * seq = the packet's ack_seq if it has ACK, else 0 with ACK set and ack_seq
 * = seq + SYN + FIN + the payload length (the IP length less the IP and
 * TCP headers, doff as written: modulo 2^32); RST; doff 5, window 0, no
 * urgent pointer. Writes that frame (Ethernet addresses swapped) to out and
 * returns NFO_RST_SEND, or says to pass or drop. IPv6 passes (nfo_rst6_build).
 */
static __always_inline int nfo_rst_build(const struct bpf_dynptr *dp, const struct nfo_pkt *p,
					 __u8 ttl, __u8 *out)
{
	__u8 seg[NFO_SYN_MAXSEG], eth[12];
	__u32 seq = 0, ack = 0, sum = 0;
	__u16 c;
	__u8 flags = 0;
	int i, r;

	if (p->ethtype != NFO_ETH_P_IP || !(p->have & NFO_HAVE(NFO_DIM_TH0)) || !p->thoff)
		return NFO_RST_PASS; /* IPv6; a first fragment, truncated */
	if (p->l4proto != NFO_IPPROTO_TCP)
		return NFO_RST_DROP;
	if (p->l4end < p->thoff)
		return NFO_RST_PASS;
	r = nfo_rst_segment(dp, p, 0, seg, eth, out, NFO_RST_LEN, &seq, &ack, &flags);
	if (r != NFO_RST_SEND)
		return r;

	out[12] = 0x08;
	out[14] = 0x45;
	out[17] = 40;
	out[20] = 0x40; /* DF */
	out[22] = ttl;
	out[23] = NFO_IPPROTO_TCP;
	for (i = 0; i < 4; i++) {
		out[26 + i] = p->daddr[i];
		out[30 + i] = p->saddr[i];
	}
	for (i = 0; i < 10; i++)
		sum += ((__u32)out[14 + 2 * i] << 8) | out[15 + 2 * i];
	c = nfo_csum_fold(sum);
	out[24] = c >> 8;
	out[25] = c;

	nfo_rst_tcp_put(out, 34, 26, 4, seg, seq, ack, flags);
	return NFO_RST_SEND;
}


/*
 * The IPv6 reset leaf (docs/SEMANTICS.md section 4.1), as nf_send_reset6()
 * (net/ipv6/netfilter/nf_reject_ipv6.c) does it: nothing is sent, and the
 * packet is dropped silently, when the source or destination is not
 * unicast (ipv6_addr_type: multicast, the unspecified address), for
 * anything but TCP (nf_reject_ip6_tcphdr_get: ipv6_skip_exthdr's protocol;
 * a later fragment stops there as NEXTHDR_FRAGMENT), a TCP header shorter
 * than 20 bytes (the segment is skb->len less the header offset: the IPv6
 * payload at input), a RST, a bad checksum (nf_ip6_checksum). Else
 * nf_reject_ip6hdr_put() and nf_reject_ip6_tcphdr_put() build it: version
 * 6, traffic class 0, flow label 0 (ip6_flow_hdr(ip6h, 0, 0)), payload
 * length 20, next header TCP, hop limit ip6_dst_hoplimit() of the RST's
 * route (hl: the interface's hop_limit, the planner refuses routes with a
 * hoplimit metric), addresses and ports swapped, seq/ack/flags as IPv4's,
 * doff 5, window 0, urgent 0, the checksum over the IPv6 pseudo header.
 * Extension headers, fragments, addresses of the ::/64 block but the
 * unspecified one (loopback, v4-mapped, v4-compatible: not every one is
 * unicast to the kernel) and segments over 64 bytes pass.
 */
static __always_inline int nfo_rst6_build(const struct bpf_dynptr *dp, const struct nfo_pkt *p,
					  __u8 hl, __u8 *out)
{
	__u8 seg[NFO_SYN_MAXSEG], eth[12];
	__u32 seq = 0, ack = 0, zs = 0, zd = 0, low;
	__u8 flags = 0;
	int i, r;

	if (p->saddr[0] == 0xff || p->daddr[0] == 0xff)
		return NFO_RST_DROP;
	for (i = 0; i < 8; i++) {
		zs |= p->saddr[i];
		zd |= p->daddr[i];
	}
	low = !zs || !zd;
	if (low) {
		for (i = 8; i < 16; i++) {
			zs |= p->saddr[i];
			zd |= p->daddr[i];
		}
		/* :: is not unicast to ipv6_addr_type: no RST */
		if (!zs || !zd)
			return NFO_RST_DROP;
	}
	/* Only a TCP header right after the fixed one is followed. */
	if (p->nexthdr != NFO_IPPROTO_TCP) {
		if (p->nexthdr == NFO_IPPROTO_HOPOPTS || p->nexthdr == NFO_IPPROTO_ROUTING ||
		    p->nexthdr == NFO_IPPROTO_FRAGMENT || p->nexthdr == NFO_IPPROTO_AH ||
		    p->nexthdr == NFO_IPPROTO_DSTOPTS || p->nexthdr == 50 /* ESP */)
			return NFO_RST_PASS;
		return NFO_RST_DROP;
	}
	if (!(p->have & NFO_HAVE(NFO_DIM_TH0)) || p->thoff != NFO_ETH_HLEN + 40 ||
	    p->l4end < p->thoff)
		return NFO_RST_PASS;
	/* (the checks in nfo_rst_segment give up whatever the address) */
	r = nfo_rst_segment(dp, p, low, seg, eth, out, NFO_RST6_LEN, &seq, &ack, &flags);
	if (r != NFO_RST_SEND)
		return r;

	out[12] = 0x86;
	out[13] = 0xdd;
	out[14] = 0x60;
	out[19] = 20;
	out[20] = NFO_IPPROTO_TCP;
	out[21] = hl;
	for (i = 0; i < 16; i++) {
		out[22 + i] = p->daddr[i];
		out[38 + i] = p->saddr[i];
	}
	nfo_rst_tcp_put(out, 54, 22, 16, seg, seq, ack, flags);
	return NFO_RST_SEND;
}

/*
 * Whether the kernel would send the RST in out (IPv6 when v6, a constant
 * at each use) through ifindex to the sender's MAC (the frame's source):
 * the route from the interface (bpf_fib_lookup, an input lookup with the
 * RST's protocol, ports and both addresses, mark 0, TOS and flow label 0)
 * is a unicast one out of the same interface, with the sender's MAC as the
 * neighbour's.
 * - IPv4: the planner checked that no fib rule selects on iif or oif, so
 *   it finds what ip_route_me_harder's output lookup finds (mark 0 as
 *   IP4_REPLY_MARK gives without fwmark_reflect).
 * - IPv6: nf_send_reset6 asks ip6_route_output() (iif lo, oif 0 outside a
 *   VRF, RT6_LOOKUP_F_HAS_SADDR); they find the same route where the
 *   planner saw no fib rule on iif or oif, and in no table two routes of
 *   one prefix and metric or one with several nexthops (rt6_select prefers
 *   the lookup's oif among routes of equal metric, and an input lookup
 *   passes the interface as that oif), docs/SEMANTICS.md. Link-local,
 *   multicast and loopback addresses answer BPF_FIB_LKUP_RET_NOT_FWDED.
 * BPF_FIB_LKUP_RET_FWD_DISABLED (forwarding off on the interface:
 * bpf_fib_lookup answers nothing then) passes, as any other failure.
 */
static __always_inline int nfo_rst_route_ok(void *ctx, const struct nfo_pkt *p, __u32 ifindex,
					    const __u8 *out, bool v6)
{
	__u32 th = v6 ? 54 : 34; /* the RST's TCP header in out */
	struct bpf_fib_lookup f = {};
	int i;

	f.family = v6 ? 10 : 2; /* AF_INET6, AF_INET */
	f.l4_protocol = NFO_IPPROTO_TCP;
	f.sport = (__u16)out[th] | ((__u16)out[th + 1] << 8);
	f.dport = (__u16)out[th + 2] | ((__u16)out[th + 3] << 8);
	f.tot_len = v6 ? 60 : 40;
	f.ifindex = ifindex;
	if (v6) {
		__builtin_memcpy(f.ipv6_src, p->daddr, 16);
		__builtin_memcpy(f.ipv6_dst, p->saddr, 16);
	} else {
		__builtin_memcpy(&f.ipv4_src, p->daddr, 4);
		__builtin_memcpy(&f.ipv4_dst, p->saddr, 4);
	}
	if (bpf_fib_lookup(ctx, &f, sizeof(f), 0) != BPF_FIB_LKUP_RET_SUCCESS)
		return 0;
	if (f.ifindex != ifindex)
		return 0;
	for (i = 0; i < 6; i++)
		if (f.dmac[i] != out[i] || f.smac[i] != out[6 + i])
			return 0;
	return 1;
}

/*
 * A reset leaf on the frame dp reads (nfo_reset_xdp/nfo_reset_tc give it
 * their own dynptr): NFO_RST_SEND with out the kernel's RST only where the
 * kernel would send it and its route back is the way it came.
 */
static __always_inline int nfo_rst_reply(const struct bpf_dynptr *dp, void *ctx,
					 const struct nfo_pkt *p, __u32 ifindex, __u32 ttl,
					 struct nfo_rst_frame *out)
{
	int v6 = p->ethtype == NFO_ETH_P_IPV6, r;

	r = v6 ? nfo_rst6_build(dp, p, ttl, out->b) : nfo_rst_build(dp, p, ttl, out->b);
	if (r != NFO_RST_SEND)
		return r;
	/* nf_send_reset() closes the rejected packet's conntrack entry
	 * (nf_ct_set_closing): only a packet without one is answered here
	 * (nfo_run looked it up). */
	if (!(p->have & NFO_HAVE(NFO_DIM_CTSTATE)) || (p->ctclass & NFO_CT_FOUND))
		return NFO_RST_PASS;
	if (v6)
		return nfo_rst_route_ok(ctx, p, ifindex, out->b, true) ? NFO_RST_SEND : NFO_RST_PASS;
	return nfo_rst_route_ok(ctx, p, ifindex, out->b, false) ? NFO_RST_SEND : NFO_RST_PASS;
}

/*
 * The whole fast path for one frame. Returns 1 to drop, 0 to pass, 2 to
 * transmit the frame back out of ifindex (a RST it has become).
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
	if ((ref & NFO_REF_RESET_BIT) && (ref & NFO_REF_DROP_BIT)) {
		__u32 flags = ctl ? *(volatile __u32 *)&ctl->reject.flags : 0;
		__u32 v6 = p.ethtype == NFO_ETH_P_IPV6;
		struct nfo_rst_frame out;

		__builtin_memset(&out, 0, sizeof(out));
		r = NFO_RST_PASS;
		if (ctl && (flags & (v6 ? NFO_REJECT_RST6 : NFO_REJECT_RST4))) {
			__u32 ttl = v6 ? ctl->reject.rst_hl6 : ctl->reject.rst_ttl;

			/* (here, not in nfo_reset_*: the stack of three calls) */
			if (!(p.have & NFO_HAVE(NFO_DIM_CTSTATE))) {
				if (is_xdp)
					nfo_ct_lookup_xdp(ctx, &p);
				else
					nfo_ct_lookup_tc(ctx, &p);
			}
			r = is_xdp ? nfo_reset_xdp(ctx, &p, ifindex, ttl, &out) :
				     nfo_reset_tc(ctx, &p, ifindex, ttl, &out);
		}
		if (r != NFO_RST_DROP && r != NFO_RST_SEND) {
			nfo_count(&nfo_stats, NFO_STAT_PASS_RESET, p.l3len);
			if (trace)
				nfo_trace(dp, len, ifindex, 0, NFO_STAT_PASS_RESET);
			return 0;
		}
		nfo_count(&nfo_counters, ref & NFO_REF_SLOT_MASK, p.l3len);
		nfo_count(&nfo_stats, NFO_STAT_DROPPED, p.l3len);
		/* (traced before the frame becomes the RST) */
		if (trace)
			nfo_trace(dp, len, ifindex, 1, ref & NFO_REF_SLOT_MASK);
		if (r == NFO_RST_DROP)
			return 1;
		if (is_xdp ? nfo_rst_send_xdp(ctx, &out, v6) : nfo_rst_send_tc(ctx, &out, ifindex, v6))
			return 1;
		return 2;
	}
	if ((ref & NFO_REF_REJECT_BIT) && (ref & NFO_REF_DROP_BIT) &&
	    (!ctl || !nfo_reject_drop(&p, ifindex, &ctl->reject))) {
		nfo_count(&nfo_stats, NFO_STAT_PASS_REJECT, p.l3len);
		if (trace)
			nfo_trace(dp, len, ifindex, 0, NFO_STAT_PASS_REJECT);
		return 0;
	}
	if (ref & NFO_REF_DROP_BIT) {
		nfo_count(&nfo_counters, ref & NFO_REF_SLOT_MASK, p.l3len);
		nfo_count(&nfo_stats, NFO_STAT_DROPPED, p.l3len);
		if (trace)
			nfo_trace(dp, len, ifindex, 1, ref & NFO_REF_SLOT_MASK);
		return 1;
	}
	nfo_count(&nfo_stats, NFO_STAT_PASS_VERDICT, p.l3len);
	if (trace)
		nfo_trace(dp, len, ifindex, 0, NFO_STAT_PASS_VERDICT);
	return 0;
}

#endif
