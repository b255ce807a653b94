/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The contract between the fast path (bpf/xdp, bpf/tc) and the userspace
 * loader (nft-offload/loader.c): map keys, values and constants.
 *
 * The ruleset reaches the kernel as a decision diagram: every inner node tests
 * one packet field ("dimension") and every path ends in a verdict (PASS, or
 * DROP crediting one counter slot). Userspace compiles the nftables ruleset
 * into this diagram; the BPF program only walks it, so the per-packet cost is
 * bounded by the number of dimensions, not by the number of rules.
 */
#ifndef NFO_ABI_H
#define NFO_ABI_H

#ifndef __BPF__
#include <linux/bpf.h> /* struct bpf_timer */
#include <linux/types.h>
#endif

/* Packet fields a node can test. Order is ABI: the loader and the BPF
 * interpreter both switch on it. */
enum nfo_dim {
	NFO_DIM_ETHTYPE,  /* 16 bits: EtherType after the Ethernet header */
	/* 8 bits: skb->pkt_type + 1, as eth_type_trans() sets it (NFO_L2_*):
	 * NFO_L2_HOST is a frame sent to this interface's unicast MAC */
	NFO_DIM_L2HOST,
	NFO_DIM_L4PROTO,  /* 8 bits: nft "meta l4proto" (IPv6: after ext headers) */
	NFO_DIM_NEXTHDR,  /* 8 bits: IPv6 fixed header next header field */
	NFO_DIM_TH0,      /* 16 bits: transport header bytes 0-1 (sport, icmp type/code) */
	NFO_DIM_TH2,      /* 16 bits: transport header bytes 2-3 (dport) */
	NFO_DIM_TCPFLAGS, /* 8 bits: transport header byte 13 */
	NFO_DIM_SADDR4,   /* 32 bits, LPM */
	NFO_DIM_DADDR4,   /* 32 bits, LPM */
	NFO_DIM_SADDR6,   /* 128 bits, LPM */
	NFO_DIM_DADDR6,   /* 128 bits, LPM */
	NFO_DIM_CTSTATE,  /* 8 bits: NFO_CT_* class from a conntrack lookup */
	/* 1 bit: the packet's key is in named set slot (dim - NFO_DIM_SET0) */
	NFO_DIM_SET0,
	NFO_DIM_SET_LAST = NFO_DIM_SET0 + 7,
	/* tcp option maxseg as nft_exthdr_tcp_eval() finds it, parsed only
	 * when the walk reaches a node on it (bpf/parser.h nfo_parse_tcpopt) */
	NFO_DIM_TCPMSS,   /* 16 bits: its size; only with NFO_TCPOPT_VALID */
	NFO_DIM_MSSOPT,   /* 8 bits: NFO_TCPOPT_* */
	_NFO_DIM_MAX,
};

/*
 * Named sets: their elements live in maps, not in the diagram, so element
 * changes need no new diagram. A slot is one (set, key layout) pair of one
 * generation; each half has its own slots (nfo_setspecs, key half *
 * NFO_MAX_SETS + slot). The elements are in a store, one per set, shared by
 * both halves and kept across generations that keep the set: a slot names
 * its store. The key is the concatenation of the fields' network-order
 * bytes, each padded to 4 bytes as nft lays out concatenations in registers.
 */
#define NFO_MAX_SETS (NFO_DIM_SET_LAST - NFO_DIM_SET0 + 1)

/* NFO_DIM_L2HOST values: PACKET_HOST, _BROADCAST, _MULTICAST, _OTHERHOST
 * (uapi if_packet.h) plus one. */
#define NFO_L2_HOST 1
#define NFO_L2_BROADCAST 2
#define NFO_L2_MULTICAST 3
#define NFO_L2_OTHERHOST 4

#define NFO_SET_MAX_FIELDS 4
#define NFO_SET_KEY_LEN 36 /* ip6 saddr . ip6 daddr . port */
/* Stores a program set holds: every slot of both halves its own. */
#define NFO_MAX_STORES (NFO_HALVES * NFO_MAX_SETS)

enum nfo_store_kind {
	NFO_STORE_NONE,  /* slot unused */
	NFO_STORE_TABLE, /* exact keys <= NFO_TABLE_MAX_KEY bytes: a bucket table
			  * (bpf/nfo_store.h) in nfo_xstores[store] */
	NFO_STORE_HASH,  /* longer exact keys: nfo_setkeys, keyed by store */
	NFO_STORE_LPM,   /* ranges of a single field: nfo_setlpm, keyed by store */
};

struct nfo_setspec {
	__u8 nfields;         /* 0: slot unused */
	__u8 kind;            /* enum nfo_store_kind */
	__u8 dims[NFO_SET_MAX_FIELDS];
	__u8 key_len;         /* of the set's key, bytes */
	__u8 has_exp;         /* elements carry an expiry */
	__u32 store;          /* store id, < NFO_MAX_STORES */
};

/* Exact keys longer than a table's (NFO_STORE_HASH). */
struct nfo_setkey {
	__u32 store;
	__u8 key[NFO_SET_KEY_LEN];
};

/* Ranges of a single field (LPM): prefixlen = 32 + bits of the prefix. */
struct nfo_setlpm_key {
	__u32 prefixlen;
	__u8 store[4]; /* big endian */
	__u8 key[16];
};

/*
 * The value of an element in a table slot, nfo_setkeys and nfo_setlpm: until when it may
 * count as present, in jiffies64 (the clock nf_tables compares set element
 * expirations with on the packet path: get_jiffies_64(), which is what
 * bpf_jiffies64() returns). The element is present while
 * bpf_jiffies64() < until; 0: it never expires. The loader writes the
 * kernel's expiry (a lower bound of it) minus a margin, so the fast path
 * lets an element go before nftables can (docs/SEMANTICS.md, traps).
 */
typedef __u64 nfo_set_until;

/* Context of the nfo_clock_read syscall program (BPF_PROG_TEST_RUN). */
struct nfo_clock_args {
	__u64 jiffies;
};

/*
 * What a conntrack lookup (bpf_xdp_ct_lookup / bpf_skb_ct_lookup, TCP and
 * UDP only) tells about a packet, before conntrack itself sees it. The
 * planner maps each class to the ct states the kernel may still give the
 * packet; the fast path never claims more.
 */
#define NFO_CT_FOUND 0x01         /* an entry exists for the tuple */
#define NFO_CT_REPLY_OR_SEEN 0x02 /* reply direction, or IPS_SEEN_REPLY */
#define NFO_CT_EXPECTED 0x04      /* IPS_EXPECTED: created from an expectation */
/* NAT may change the entry's packets: it has bindings (IPS_SRC_NAT or
 * IPS_DST_NAT), or NAT was not set up for it in both directions
 * (IPS_SRC_NAT_DONE and IPS_DST_NAT_DONE not both set). */
#define NFO_CT_NAT 0x08
/* Without NFO_CT_FOUND: a TCP SYN (only SYN of FIN, SYN, RST, ACK) whose
 * header and checksum are good, which conntrack cannot call invalid
 * (bpf/parser.h nfo_syn_clean). */
#define NFO_CT_SYN 0x02
#define NFO_CT_CLASSES 16

/* NFO_DIM_MSSOPT: the first option of kind 2 (nft stops at it) */
#define NFO_TCPOPT_NONE 0  /* none, or it overruns the header, or not TCP */
#define NFO_TCPOPT_SHORT 1 /* there, but shorter than 4 bytes: no size */
#define NFO_TCPOPT_VALID 2 /* there with its size */

/*
 * References to a node, a verdict or (inside radix tables only) a radix
 * sub-table, packed in 32 bits.
 */
#define NFO_REF_KIND_MASK 0xc0000000u
#define NFO_REF_NODE      0x00000000u
#define NFO_REF_VERDICT   0x40000000u
#define NFO_REF_TABLE     0x80000000u
#define NFO_REF_DROP_BIT  0x20000000u
#define NFO_REF_VALUE_MASK 0x1fffffffu

#define NFO_REF_PASS        (NFO_REF_VERDICT)
#define NFO_REF_DROP(slot)  (NFO_REF_VERDICT | NFO_REF_DROP_BIT | (slot))
/* Service programs (bpf/cgroup) only: accepted, crediting slot. The fast
 * path never sees it (to it, any verdict without the drop bit passes). */
#define NFO_REF_ACCEPT_BIT  0x10000000u
#define NFO_REF_ACCEPT(slot) (NFO_REF_VERDICT | NFO_REF_ACCEPT_BIT | (slot))
#define NFO_REF_SLOT_MASK   0x07ffffffu
/* The fast path only, with the drop bit: nftables certainly drops the packet
 * but may answer it with an ICMP error (reject), which the kernel rate-limits
 * (docs/SEMANTICS.md section 4.1). The packet is dropped only when the buckets
 * of nfo_ctl.reject say the kernel would not have answered it either; else
 * it passes, for nftables to reject. Same bit as the accept bit, which only
 * service programs see and never with the drop bit. */
#define NFO_REF_REJECT_BIT  0x10000000u
#define NFO_REF_REJECT(slot) (NFO_REF_DROP(slot) | NFO_REF_REJECT_BIT)
/* With the drop and reject bits: nftables certainly drops the packet with
 * `reject with tcp reset` (nf_send_reset, sent without any limit). The fast
 * path answers it itself where it can send the kernel's RST byte for byte
 * (nfo_reset_leaf, docs/SEMANTICS.md section 4.1), else it passes. */
#define NFO_REF_RESET_BIT   0x08000000u
#define NFO_REF_RESET(slot) (NFO_REF_REJECT(slot) | NFO_REF_RESET_BIT)

/* A path visits each dimension at most once. */
#define NFO_MAX_DEPTH _NFO_DIM_MAX

/* Radix tables for dimensions of 16 bits or less: 256 entries each, indexed
 * by one byte of the value, most significant first. */
#define NFO_RADIX_FANOUT 256

/*
 * A node whose dimension's values, all of them, lead to one default but at
 * most NFO_SMALL_MAX single values (a port, a protocol, a local address, a
 * set's "is a member") is flagged NFO_NODE_SMALL and carries them: the walk
 * compares them in line from the node it has already read instead of one or
 * two dependent radix (or nfo_exact4) lookups, per node and packet.
 */
#define NFO_NODE_SMALL 0x02
#define NFO_SMALL_MAX 4

/*
 * A chain of small nodes, each of whose listed values leads to the next
 * (the ruleset's "this interface's MAC, to a local address, UDP, port 9"),
 * is one node: the chain's first node carries the tests of those before the
 * last as guards and the last one's own test. A guard the packet fails
 * leads where that node led on a miss (dflt) or a missing field (unknown).
 */
#define NFO_GUARD_MAX 3

struct nfo_guard {
	__u8 dim;
	__u8 pad[3];
	__u32 miss;    /* the value is none of val */
	__u32 unknown; /* the packet has no value for dim */
	__u32 val[NFO_SMALL_MAX]; /* as nfo_node.val */
};

struct nfo_node {
	__u8 dim;
	__u8 flags;    /* NFO_NODE_* */
	__u8 nguards;  /* guards[0..nguards) are tested first, in order */
	__u8 pad;
	__u32 table;   /* radix dims: first-level table number */
	__u32 unknown; /* where to go when the packet has no value for dim */
	/* NFO_NODE_SMALL: value val[i] leads to ref[i], any other to dflt.
	 * Values as the walk holds them: integers for radix dims, network
	 * order words for IPv4 addresses. Unused entries repeat entry 0 (or
	 * lead to dflt), so the walk reads no count. */
	__u32 dflt;
	__u32 val[NFO_SMALL_MAX];
	__u32 ref[NFO_SMALL_MAX];
	struct nfo_guard guards[NFO_GUARD_MAX];
};

/*
 * An IPv4 address node where at most NFO_EXACT_MAX single addresses lead
 * anywhere but one default (the local-address gate: a host has few
 * addresses) is compared in line from nfo_exact4[node id], not looked up in
 * the LPM trie: a trie lookup is a call and a walk, per packet.
 */
#define NFO_NODE_EXACT 0x01
#define NFO_EXACT_MAX 8

struct nfo_exact4 {
	__u32 n;
	__u32 dflt;                  /* the reference of every other address */
	__u32 addr[NFO_EXACT_MAX];   /* network order */
	__u32 ref[NFO_EXACT_MAX];
};

struct nfo_lpm4_key {
	__u32 prefixlen; /* 32 (node) + address prefix length */
	__u8 node[4];    /* node id, big endian */
	__u8 addr[4];
};

struct nfo_lpm6_key {
	__u32 prefixlen; /* 32 (node) + address prefix length */
	__u8 node[4];
	__u8 addr[16];
};

/*
 * Two diagrams fit in the maps: each generation is written into the half the
 * packets are not using, then made live by one store into nfo_ctl.state.
 * Node ids and radix table numbers are absolute (each half has its own
 * range); the LPM tries are shared, their keys start with the node id.
 */
#define NFO_HALVES 2

/*
 * Per attached interface, keyed by ifindex. ref_ip and ref_ip6: where the
 * walk from ref goes for an IPv4 / IPv6 frame when ref's node tests the
 * EtherType (the planner splits by packet class first), else ref: the
 * walk of every IP frame starts one node (and two radix levels) later.
 */
struct nfo_root {
	__u32 ref[NFO_HALVES];
	__u32 ref_ip[NFO_HALVES];
	__u32 ref_ip6[NFO_HALVES];
	__u8 mac[NFO_HALVES][6];
	__u8 bcast[NFO_HALVES][6]; /* the device's broadcast address (pkttype) */
	__u32 pad;     /* see below */
	__u32 ifindex; /* in nfo_rootcache: the owner of the slot, 0: none; last */
};

/* A BPF array lays its values out every round_up(value_size, 8) bytes, and
 * the loader writes nfo_rootcache through mmap as an array of struct
 * nfo_root: with another size, slot s of the program would read the bytes
 * of other slots (the owner check then fails, or worse, passes on another
 * slot's bytes). */
_Static_assert(sizeof(struct nfo_root) % 8 == 0, "struct nfo_root: a multiple of 8 bytes");

/*
 * A direct-mapped copy of nfo_roots, slot ifindex % NFO_ROOT_CACHE: an
 * array lookup is inlined by the verifier, a hash lookup is a call into the
 * kernel and a hash computation, per packet. The loader fills a slot once
 * (refs first, ifindex last) and only clears it afterwards, so a packet that
 * reads a slot's owner reads that owner's refs. An interface whose slot is
 * taken is found in nfo_roots.
 */
#define NFO_ROOT_CACHE 256

/* One element, mmapped by userspace: state is written with one atomic
 * store, so a packet sees a disabled fast path or one whole generation. */
#define NFO_STATE_DISABLED 0 /* pass everything (a change is being applied) */
#define NFO_STATE_HALF(h) (1 + (h))

/*
 * The kernel's ICMP error rate limits as the fast path follows them for
 * reject leaves (docs/SEMANTICS.md section 4.1), written by the daemon from
 * the sysctls, flags last. Token buckets counted in ns of refill time: a
 * bucket holds at most burst_ns, an answer costs cost_ns. The global bucket
 * is net.ipv4.icmp_msgs_per_sec / icmp_msgs_burst (IPv4 and IPv6 share it),
 * the per-sender ones net.ipv4.icmp_ratelimit and net.ipv6.icmp.ratelimit,
 * all with slack (nft-offload/reject.c).
 */
#define NFO_REJECT_ON 0x01          /* the rest is valid; else reject leaves pass */
#define NFO_REJECT_UNLIMITED4 0x02  /* ICMP dest-unreach not rate-limited (ratemask) */
#define NFO_REJECT_UNLIMITED6 0x04  /* ICMPv6 dest-unreach not rate-limited */
#define NFO_REJECT_RST4 0x08        /* rst_ttl is valid: IPv4 TCP resets may be sent */
#define NFO_REJECT_RST6 0x10        /* rst_hl6 is valid: IPv6 TCP resets may be sent */

struct nfo_reject_cfg {
	__u32 flags;
	__u8 rst_ttl;   /* net.ipv4.ip_default_ttl: the TTL of the kernel's RST */
	__u8 rst_hl6;   /* net.ipv6.conf.<every attached interface>.hop_limit: its IPv6 one's */
	__u8 pad[2];
	__u64 global_cost_ns;
	__u64 global_burst_ns;
	__u64 peer_cost_ns[2];  /* [0] IPv4, [1] IPv6; 0: no per-sender limit */
	__u64 peer_burst_ns[2];
};

/* One token bucket (nfo_rej_global, nfo_rej_peer). */
struct nfo_tokens {
	__u64 tokens_ns;
	__u64 last_ns;
};

/* nfo_rej_peer: the sender the kernel's per-peer limit is keyed by, per
 * interface (an interface belongs to one VRF, whose peers are apart). */
struct nfo_rej_key {
	__u32 ifindex;
	__u32 family; /* 4 or 6 */
	__u8 addr[16];
};

#define NFO_REJECT_PEERS 16384

struct nfo_ctl {
	__u32 state;
	__u32 trace;      /* nonzero: a trace runs (bpf/trace.h), read per packet */
	__u64 generation; /* nftables generation of the live half */
	/* The watchdog (bpf/watchdog): the daemon beats, a BPF timer checks.
	 * Times are bpf_ktime_get_ns() (CLOCK_MONOTONIC, no time namespace
	 * offset), written only by BPF programs. */
	__u64 heartbeat;  /* the daemon's last beat */
	__u64 stale_ns;   /* 0: no watchdog; else heartbeat age that turns the fast path off */
	__u64 checked;    /* the timer's last run */
	__u32 checks;     /* timer runs */
	__u32 trips;      /* times the timer turned the fast path off */
	struct nfo_reject_cfg reject;
};

/*
 * The watchdog's timer runs every NFO_WD_PERIOD_NS; if the fast path is live
 * and the heartbeat older than stale_ns, it stores NFO_STATE_DISABLED, as
 * the loader does before a change. A stopped daemon's fast path is thus
 * stale for at most stale_ns + NFO_WD_PERIOD_NS.
 */
#define NFO_WD_PERIOD_NS (100 * 1000 * 1000ULL)

/* One element of the watchdog's timer map (not mmappable: the kernel
 * refuses BPF_F_MMAPABLE with a bpf_timer in the value). */
struct nfo_wd_timer {
	struct bpf_timer timer;
};

/* Context of the nfo_wd_beat syscall program (BPF_PROG_TEST_RUN): now is
 * always returned; with beat set, it becomes the heartbeat. */
struct nfo_wd_args {
	__u64 now;
	__u32 beat;
	__u32 pad;
};

/* Per-CPU counters, one slot per offloaded rule or chain policy. */
struct nfo_counter {
	__u64 packets;
	__u64 bytes;
};

/* Why the fast path passed a packet (per-CPU statistics). */
enum nfo_stat {
	NFO_STAT_DROPPED,
	NFO_STAT_PASS_VERDICT,   /* diagram said PASS: nftables decides */
	NFO_STAT_PASS_DISABLED,  /* fast path disabled (update in progress) */
	NFO_STAT_PASS_VLAN,      /* VLAN tag: nftables does not see IP here */
	NFO_STAT_PASS_MALFORMED, /* truncated or malformed header */
	NFO_STAT_PASS_IPOPTS,    /* IPv4 options */
	NFO_STAT_PASS_EXTHDRS,   /* too many IPv6 extension headers */
	NFO_STAT_PASS_REJECT,    /* rejected, within the kernel's ICMP limits: nftables answers */
	NFO_STAT_PASS_FRAGMENT,  /* a fragment other than the first (parser.h) */
	NFO_STAT_PASS_RESET,     /* reject with tcp reset the fast path cannot answer */
	_NFO_STAT_MAX,
};

#define NFO_IPV6_MAX_EXTHDRS 8

/*
 * Trace (bpf/trace.h, `nft-offload trace`): while nfo_ctl.trace is set, the
 * programs copy the packets that match nfo_trace_cfg into the ring buffer
 * nfo_trace_ring, each as struct nfo_trace_rec and up to snaplen bytes of
 * the frame, at most rate per second per CPU (a token bucket).
 */
#define NFO_TRACE_DROPS 0x1  /* packets the fast path drops */
#define NFO_TRACE_PASSED 0x2 /* packets it passes to nftables */
#define NFO_TRACE_MAX_RULES 16
#define NFO_TRACE_MAX_IFACES 8
#define NFO_TRACE_MAX_SNAPLEN 1536 /* what a ring record holds */
#define NFO_TRACE_RING_SIZE (4u << 20)

struct nfo_trace_cfg {
	__u32 flags;          /* NFO_TRACE_DROPS | NFO_TRACE_PASSED */
	__u32 snaplen;        /* <= NFO_TRACE_MAX_SNAPLEN */
	__u64 ns_per_token;   /* 1e9 / packets per second; 0: no limit */
	__u64 burst_ns;       /* bucket depth, in ns of tokens */
	__u32 nslots;         /* 0: drops of any rule */
	__u32 slots[NFO_TRACE_MAX_RULES];
	__u32 nifindex;       /* 0: any interface */
	__u32 ifindex[NFO_TRACE_MAX_IFACES];
};

/* Per CPU: the bucket and what became of matching packets. */
struct nfo_trace_pcpu {
	__u64 tokens_ns;
	__u64 last_ns;
	__u64 matched;
	__u64 ratelimited;
	__u64 ringfull;
};

struct nfo_trace_rec {
	__u64 ts_ns;   /* bpf_ktime_get_ns() */
	__u32 ifindex;
	__u32 len;     /* of the frame */
	__u32 caplen;  /* bytes of it in data */
	__u32 slot;    /* drops: counter slot (the rule); passed: enum nfo_stat */
	__u8 dropped;
	__u8 pad[7];
	__u8 data[NFO_TRACE_MAX_SNAPLEN];
};

#endif
