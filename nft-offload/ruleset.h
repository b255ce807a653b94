/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The nftables ruleset as nft-offload understands it: chains, rules and sets,
 * with every rule translated into predicates on packet fields. The model only:
 * import.c builds it from the libnftnl objects netlink/nft.c reads (calling
 * translate.c per rule), the planner reads it. It depends on neither, and
 * knows nothing about libnftnl or BPF.
 */
#ifndef NFO_RULESET_H
#define NFO_RULESET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <linux/netfilter/nf_tables.h> /* NFT_SET_* of nfo_set.flags */

#include "bpf/nfo_abi.h"
#include "vset.h"

/*
 * Predicate dimensions: the packet fields of enum nfo_dim, then fields the
 * planner resolves per interface, then markers.
 */
enum nfo_pdim {
	NFO_PDIM_IIF = _NFO_DIM_MAX, /* meta iif: ifindex, host byte order */
	NFO_PDIM_SETREF,             /* membership of a named set (pred.ref) */
	NFO_PDIM_IIFNAME,            /* meta iifname: 16 bytes */
	NFO_PDIM_CTSTATUS,           /* ct status: the NFO_CTS_* bits (below) */
	NFO_PDIM_PKTTYPE,            /* meta pkttype while translating (then NFO_DIM_L2HOST) */
	NFO_PDIM_UNKNOWN,            /* the fast path cannot evaluate it */
	NFO_PDIM_FALSE,              /* never true here (e.g. nfproto of another family) */
	NFO_PDIM_FIB_SADDR,          /* fib saddr type: RTN_*, u32 host byte order */
	NFO_PDIM_FIB_DADDR,          /* fib daddr type */
	_NFO_PDIM_MAX,
};

/* Width in bits of a dimension's value (as nftables compares it). */
unsigned nfo_dim_width(int dim);

/* ct state values: the bits nft_ct_get_eval() puts in the register
 * (NF_CT_STATE_BIT(ctinfo), NF_CT_STATE_INVALID_BIT, NF_CT_STATE_UNTRACKED_BIT),
 * a host-order u32, here as the big-endian number of its bytes. */
enum { NFO_CT_INVALID, NFO_CT_ESTABLISHED, NFO_CT_RELATED, NFO_CT_NEW, NFO_CT_UNTRACKED,
       _NFO_CT_STATES };
nfo_u128 nfo_ct_state_value(int state);

/* ct status: a predicate's values are the combinations of the status bits
 * the planner decides (docs/SEMANTICS.md 3.1), one bit each here; a
 * comparison that reads any other bit of ct->status stays UNKNOWN. */
enum {
	NFO_CTS_EXPECTED = 1u << 0,   /* IPS_EXPECTED */
	NFO_CTS_SEEN_REPLY = 1u << 1, /* IPS_SEEN_REPLY */
	NFO_CTS_ASSURED = 1u << 2,    /* IPS_ASSURED */
	NFO_CTS_SRC_NAT = 1u << 3,    /* IPS_SRC_NAT */
	NFO_CTS_DST_NAT = 1u << 4,    /* IPS_DST_NAT */
	NFO_CTS_ALL = 0x1f,
};
/* The IPS_* bits of ct->status that NFO_CTS_* bits cts stand for. */
uint32_t nfo_ct_status_bits(unsigned cts);
const char *nfo_dim_name(int dim);

struct nfo_set;

/* A lookup into a named set: its elements stay out of the diagram. */
struct nfo_setref {
	const struct nfo_set *set;
	uint8_t ndims;
	uint8_t dims[NFO_SET_MAX_FIELDS]; /* the key: whole fields, in order */
	bool invert;
};

struct nfo_pred {
	int dim;
	bool before_effect; /* precedes the rule's first effect statement */
	struct nfo_vset set; /* values for which the predicate holds */
	char *reason;        /* NFO_PDIM_UNKNOWN: what it is, e.g. "ct state" */
	struct nfo_setref ref; /* NFO_PDIM_SETREF */
	const struct nfo_set *from_set; /* set whose elements make up set */
};

enum nfo_verdict {
	NFO_VERDICT_CONTINUE, /* no verdict, or "continue" */
	NFO_VERDICT_ACCEPT,
	NFO_VERDICT_DROP,
	NFO_VERDICT_JUMP,
	NFO_VERDICT_GOTO,
	NFO_VERDICT_RETURN,
	NFO_VERDICT_STOP, /* anything the fast path cannot follow (queue, vmap...) */
	_NFO_VERDICT_MAX,
};

enum nfo_reject {
	NFO_REJECT_NONE,
	NFO_REJECT_ICMP, /* ICMP/ICMPv6 destination unreachable, through icmp_send */
	NFO_REJECT_TCP_RST, /* reject with tcp reset (nf_send_reset), IPv4 only */
};

enum nfo_offload {
	NFO_OFFLOAD_FULL,    /* every predicate and the verdict are evaluated */
	NFO_OFFLOAD_PARTIAL, /* some predicates are UNKNOWN to the fast path */
	NFO_OFFLOAD_NONE,    /* effects or a verdict the fast path cannot reproduce */
};

struct nfo_chain;

/* One field of a verdict map's key: the values of dim that select it. */
struct nfo_altkey {
	int dim;
	struct nfo_vset set;
};

/* One verdict of a verdict map: the keys that select it, the product of
 * its fields' values (one field, or each field of a concatenation). */
struct nfo_alt {
	struct nfo_altkey keys[NFO_SET_MAX_FIELDS];
	uint8_t nkeys;
	int verdict;
	char *target;
	struct nfo_chain *target_chain;
};

struct nfo_rule {
	uint64_t handle;
	unsigned position;
	struct nfo_chain *chain;
	struct nfo_pred *preds;
	size_t npreds;
	size_t cap;
	bool effect;      /* has a statement whose effect the fast path would lose */
	bool counter;     /* has a counter statement (the fast path keeps its own) */
	/* NFO_REJECT_ICMP: the verdict DROP is a reject that answers with an
	 * ICMP error the kernel rate-limits; NFO_REJECT_TCP_RST: with a TCP
	 * reset (SEMANTICS.md section 4.1) */
	uint8_t reject;
	/* 1 + the index of the UNKNOWN predicate that stands for the rule's
	 * first limit statement, 0 if none: a limit is a predicate only where
	 * the packet is blocked whether or not it holds (import.c
	 * settle_limits), else the rule has an effect from there on. */
	size_t limit_at;
	bool expectations; /* may make conntrack expect connections (helpers):
			    * then unknown flows may be RELATED */
	int verdict;
	char *target;     /* jump/goto */
	struct nfo_chain *target_chain;
	/* A verdict map: the rule's verdict is the alternative whose keys
	 * hold (at most one does); no key holds: the rule does not match. */
	struct nfo_alt *alts;
	size_t nalts;
	const struct nfo_set *vmap_set; /* the map the alternatives come from */
	int offload;
	char *reason;     /* why not (fully) offloaded */
	char *comment;    /* the rule's nft comment, NULL if none */
	char *note;       /* what else explain should say (sets that change alone) */
};

enum nfo_hook {
	NFO_HOOK_INGRESS,
	NFO_HOOK_PREROUTING,
	NFO_HOOK_INPUT,
	NFO_HOOK_FORWARD,
	NFO_HOOK_OUTPUT,
	NFO_HOOK_POSTROUTING,
	NFO_HOOK_EGRESS,
	NFO_HOOK_NONE, /* regular chain */
	_NFO_HOOK_MAX,
};

const char *nfo_hook_name(int hook);
const char *nfo_family_name(int family);

struct nfo_chain {
	int family; /* NFPROTO_* */
	char *table;
	char *name;
	uint64_t handle;
	bool base;
	int hook;
	int32_t prio;
	char *type; /* filter, nat, route */
	bool policy_drop;
	char **devs;
	size_t ndevs;
	struct nfo_rule *rules;
	size_t nrules;
};

/* One element of a verdict map: keys [lo, hi] map to a verdict. Keys of
 * up to 16 bytes are lo and hi; every key is also in key and key_end as
 * nft holds it (equal unless the element is a range: a concatenation's
 * ranges are per field, NFTA_SET_ELEM_KEY_END). */
struct nfo_vmap_elem {
	nfo_u128 lo;
	nfo_u128 hi;
	int verdict;  /* NFO_VERDICT_*, STOP for verdicts not followed */
	char *chain;  /* jump/goto */
	uint8_t key[NFO_SET_KEY_LEN];
	uint8_t key_end[NFO_SET_KEY_LEN];
};

/*
 * One set element as nf_tables reports it (a dump, GETSETELEM, a
 * notification), with its life: NFTA_SET_ELEM_TIMEOUT is sent only when it
 * differs from the set's default, NFTA_SET_ELEM_EXPIRATION (the ms left
 * when the kernel built the message, truncated: nf_jiffies64_to_msecs) for
 * every element that has a timeout.
 */
struct nfo_elem {
	uint8_t key[NFO_SET_KEY_LEN];
	uint32_t key_len;
	bool has_timeout;
	bool has_expiration;
	uint64_t timeout_ms;
	uint64_t expiration_ms;
	/* The kernel's expiry as absolute jiffies64, a lower bound of it
	 * (nfo_elem_expiry); 0: never expires. */
	uint64_t expires;
};

/*
 * A lower bound of the jiffies64 at which the kernel expires e, from a
 * reading of jiffies64 taken before the message was requested (at) and the
 * kernel's HZ: at + floor(expiration_ms * hz / 1000). The kernel filled
 * expiration_ms = floor((expiry - now) * 1000 / HZ) at some now >= at, so
 * expiry >= now + that many jiffies >= the bound. 0 when e never expires;
 * an element with a timeout but no expiration counts as expiring at at.
 */
uint64_t nfo_elem_expiry(const struct nfo_elem *e, uint64_t at, uint32_t hz);
/* An element of an interval set as nftables holds it (nft_set_rbtree): the
 * start of a range, or the exclusive end of one. */
struct nfo_bound {
	nfo_u128 v;
	bool end;
};

/*
 * A range of an interval set whose elements expire: its start element's
 * expiry (nfo_elem.expires, a lower bound; 0: never), which decides every
 * key after the start (nft_rbtree_lookup takes the greatest element below
 * the key), and the expiry of the start key itself, where an end element
 * of another range may sit too: a lookup that meets an expired element of
 * exactly its key fails whatever else is there (import.c, collect_timed).
 */
struct nfo_tival {
	nfo_u128 lo;
	nfo_u128 hi;
	uint64_t expires;
	uint64_t lo_expires;
};

/* Changes of a sorted array of entries not folded into it yet (folding
 * costs a pass over the array): the content is (array minus del) plus add;
 * add is disjoint from the array, del within it. setdelta.c. */
struct nfo_sorted_pending {
	uint8_t *add;
	/* per add, its expiry (0: never), as the base's expiries: with a set
	 * whose elements expire (nfo_set.expires), else NULL */
	uint64_t *add_exp;
	size_t nadd;
	uint8_t *del;
	size_t ndel;
	/* entries allocated (add_exp has as many as add) */
	size_t cap_add;
	size_t cap_del;
};

/*
 * A fold of a set's pending changes into its sorted keys under way, a slice
 * per change (setdelta.c), so no transaction pays for the whole set: the
 * set's elements are out[0..nout) (with out_exp when the set's expire), then
 * the merge of its keys from i with frozen's adds from a minus frozen's
 * deletes from d; the set's own pending changes apply on top.
 */
struct nfo_sorted_fold {
	bool active;
	uint8_t *out;
	uint64_t *out_exp;
	size_t nout;
	size_t i;
	size_t a;
	size_t d;
	struct nfo_sorted_pending frozen;
};

struct nfo_set {
	int family;
	char *table;
	char *name;
	uint32_t flags;    /* NFT_SET_* */
	uint32_t key_len;
	bool is_map;
	bool verdict_map;
	bool named;        /* not anonymous: elements can change on their own */
	bool interval;
	/* Elements as values of the key (single-field keys only). */
	struct nfo_vset elems;
	/* Verdict maps: the elements with their verdicts, sorted. */
	struct nfo_vmap_elem *vmap;
	size_t nvmap;
	bool usable;       /* elements known exactly and static */
	char *why;         /* why not usable */
	/* Exact (non-interval) sets: the keys as nft holds them, key_len bytes
	 * each, sorted and distinct (setdelta.c's deletes, folds and diffs
	 * count on one copy of a key; import.c collect_keys). Single-field
	 * sets also have elems. */
	uint8_t *keys;
	size_t nkeys;
	/* Element timeouts: the set's default (NFTA_SET_TIMEOUT, ms, 0: none),
	 * and per key of keys the kernel's expiry (nfo_elem.expires; NULL when
	 * no element expires). */
	uint64_t timeout_ms;
	uint64_t *expires;
	/* Rules that change its elements from the packet path (dynset, which
	 * notifies nothing): add/update, delete; the shortest timeout an
	 * `update` gives an existing element (pp_update_own: some update uses
	 * the element's or set's own), UINT64_MAX: none given. */
	bool pp_add;
	bool pp_delete;
	bool pp_update_own;
	uint64_t pp_update_ms;
	char *pp_rule;     /* one of those rules, "chain c handle n" */
	/* Elements can go without a notification (timeouts, the packet path):
	 * lookups are offloaded only in rules where a missing element can only
	 * make the fast path drop less (import.c). */
	bool drop_only;
	/* changes from notifications not folded into keys yet
	 * (nfo_set_refresh_elems folds them): the elements are keys with
	 * them, and whatever reads keys reads these too (encode.c: a
	 * generation written whole is not planned again) */
	struct nfo_sorted_pending kpend;
	struct nfo_sorted_fold kfold;
	/* Interval sets of one field: the elements, sorted by value, an end
	 * before a start at equal values; element notifications are applied
	 * here and elems derived from them (setdelta.c). */
	struct nfo_bound *bounds;
	size_t nbounds;
	/* Interval sets with timeouts: each range with its expiries, sorted,
	 * disjoint and never merged (elems holds their union). */
	struct nfo_tival *tivals;
	size_t ntivals;
	/* elems lags behind keys (updated from notifications): refreshed
	 * before planning (nfo_set_refresh_elems) */
	bool elems_stale;
	/* The fast path went live before all elements were read (the rest
	 * come from a stream, netlink/nft.h): the model holds part of them,
	 * so lookups are offloaded only where a missing element can only make
	 * the fast path drop less, as for elements that change alone.
	 * The kernel does not say how many elements a set has. */
	bool loading;
	/* Its stream ended without a pass that certainly read it whole (it
	 * changed, or was reorganized, during each): some element may be
	 * missing until notified again (the fast path drops less). */
	bool read_short;
	bool streamed; /* was loaded that way (drop_only stays from it) */
};

/* How many keys an exact set holds, with what is pending (kpend, kfold). */
static inline size_t nfo_set_nkeys_held(const struct nfo_set *s)
{
	size_t n = s->nkeys + s->kpend.nadd - s->kpend.ndel;

	if (s->kfold.active)
		n += s->kfold.frozen.nadd - s->kfold.frozen.ndel;
	return n;
}

/* Frees what a set's keys have pending (kpend, kfold). */
static inline void nfo_set_pending_free(struct nfo_set *s)
{
	free(s->kpend.add);
	free(s->kpend.add_exp);
	free(s->kpend.del);
	s->kpend = (struct nfo_sorted_pending){};
	free(s->kfold.out);
	free(s->kfold.out_exp);
	free(s->kfold.frozen.add);
	free(s->kfold.frozen.add_exp);
	free(s->kfold.frozen.del);
	s->kfold = (struct nfo_sorted_fold){};
}

/* A flowtable forwards packets of offloaded flows right at the ingress of
 * its devices, before prerouting: what it takes, later chains never see. */
struct nfo_flowtable {
	int family;
	char *table;
	char *name;
	int32_t prio;
	char **devs;
	size_t ndevs;
};

struct nfo_ruleset {
	uint32_t genid;
	struct nfo_flowtable *flowtables;
	size_t nflowtables;
	struct nfo_chain *chains;
	size_t nchains;
	struct nfo_set *sets;
	size_t nsets;
};

/* Whether elements of s can come or go without a notification: they
 * expire, or rules add or delete them from the packet path. Such a set is
 * only ever looked up through its slot (with each element's expiry), never
 * compiled into the diagram. */
static inline bool nfo_set_changes_alone(const struct nfo_set *s)
{
	return (s->flags & NFT_SET_TIMEOUT) || s->pp_add || s->pp_delete || s->loading;
}

/* A ruleset is made by nfo_ruleset_new() (import.h) from a dump. */
void nfo_ruleset_free(struct nfo_ruleset **rs);

struct nfo_chain *nfo_ruleset_find_chain(const struct nfo_ruleset *rs, int family,
					 const char *table, const char *name);
struct nfo_set *nfo_ruleset_find_set(const struct nfo_ruleset *rs, int family,
				     const char *table, const char *name);

/* Adds a predicate to r (takes ownership of set contents and reason). */
int nfo_rule_add_pred(struct nfo_rule *r, int dim, bool before_effect,
		      struct nfo_vset *set, char *reason);
void nfo_rule_clear(struct nfo_rule *r);

/* "inet f input 12" style key identifying a rule across ruleset generations. */
int nfo_rule_key(const struct nfo_rule *r, char *buf, size_t len);

#endif
