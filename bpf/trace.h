/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fast path's trace hook (`nft-offload trace`): called where a packet's
 * verdict is known, only while nfo_ctl.trace is set, so that a program with
 * no tracer pays one load and one branch per packet. The maps are shared by
 * every program set (the loader reuses their descriptors).
 */
#ifndef NFO_TRACE_H
#define NFO_TRACE_H

#include "nfo_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, NFO_TRACE_RING_SIZE);
} nfo_trace_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nfo_trace_cfg);
} nfo_trace_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nfo_trace_pcpu);
} nfo_trace_pcpu SEC(".maps");

static __always_inline int nfo_trace_wanted(const struct nfo_trace_cfg *c, __u32 ifindex,
					    int dropped, __u32 slot)
{
	int i, hit;

	if (!(c->flags & (dropped ? NFO_TRACE_DROPS : NFO_TRACE_PASSED)))
		return 0;
	if (c->nifindex) {
		hit = 0;
		for (i = 0; i < NFO_TRACE_MAX_IFACES; i++)
			if (i < c->nifindex && c->ifindex[i] == ifindex)
				hit = 1;
		if (!hit)
			return 0;
	}
	/* a rule filter selects drops; passed packets have no rule */
	if (dropped && c->nslots) {
		hit = 0;
		for (i = 0; i < NFO_TRACE_MAX_RULES; i++)
			if (i < c->nslots && c->slots[i] == slot)
				hit = 1;
		if (!hit)
			return 0;
	}
	return 1;
}

/* Takes a token from this CPU's bucket (refilled at the configured rate). */
static __always_inline int nfo_trace_token(const struct nfo_trace_cfg *c,
					   struct nfo_trace_pcpu *b, __u64 now)
{
	__u64 t;

	if (!c->ns_per_token)
		return 1;
	t = b->tokens_ns + (now - b->last_ns);
	if (t > c->burst_ns || now < b->last_ns)
		t = c->burst_ns;
	b->last_ns = now;
	if (t < c->ns_per_token) {
		b->tokens_ns = t;
		return 0;
	}
	b->tokens_ns = t - c->ns_per_token;
	return 1;
}

/*
 * Copies the frame (up to snaplen, through its dynptr) and what became of
 * it into the ring. dropped: slot is the rule's counter slot; else the
 * enum nfo_stat reason it was passed.
 */
static __noinline int nfo_trace(const struct bpf_dynptr *dp, __u32 len, __u32 ifindex,
				int dropped, __u32 slot)
{
	struct nfo_trace_cfg *c;
	struct nfo_trace_pcpu *b;
	struct nfo_trace_rec *rec;
	__u32 zero = 0;
	__u64 now, cap;

	c = bpf_map_lookup_elem(&nfo_trace_cfg, &zero);
	b = bpf_map_lookup_elem(&nfo_trace_pcpu, &zero);
	if (!c || !b || !dp || !nfo_trace_wanted(c, ifindex, dropped, slot))
		return 0;
	b->matched++;
	now = bpf_ktime_get_ns();
	if (!nfo_trace_token(c, b, now)) {
		b->ratelimited++;
		return 0;
	}
	rec = bpf_ringbuf_reserve(&nfo_trace_ring, sizeof(*rec), 0);
	if (!rec) {
		b->ringfull++;
		return 0;
	}
	/* 64-bit: the verifier must see the bound on the register passed */
	cap = c->snaplen < len ? c->snaplen : len;
	if (cap > NFO_TRACE_MAX_SNAPLEN)
		cap = NFO_TRACE_MAX_SNAPLEN;
	/* a frame shorter than it says (cannot happen): record no bytes */
	if (cap && bpf_dynptr_read(rec->data, cap, dp, 0, 0))
		cap = 0;
	rec->ts_ns = now;
	rec->ifindex = ifindex;
	rec->len = len;
	rec->caplen = cap;
	rec->slot = slot;
	rec->dropped = dropped;
	bpf_ringbuf_submit(rec, 0);
	return 0;
}

#endif
