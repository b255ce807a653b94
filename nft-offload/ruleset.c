// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>

#include "ruleset.h"
#include "common/util.h"

unsigned nfo_dim_width(int dim)
{
	switch (dim) {
	case NFO_DIM_ETHTYPE:
	case NFO_DIM_TH0:
	case NFO_DIM_TH2:
	case NFO_DIM_TCPMSS:
		return 16;
	case NFO_DIM_MSSOPT:
	case NFO_DIM_L2HOST:
	case NFO_PDIM_CTSTATUS:
	case NFO_DIM_L4PROTO:
	case NFO_DIM_NEXTHDR:
	case NFO_DIM_TCPFLAGS:
		return 8;
	case NFO_DIM_SADDR4:
	case NFO_DIM_DADDR4:
	case NFO_DIM_CTSTATE:
	case NFO_PDIM_IIF:
	case NFO_PDIM_FIB_SADDR:
	case NFO_PDIM_FIB_DADDR:
		return 32;
	case NFO_DIM_SADDR6:
	case NFO_DIM_DADDR6:
	case NFO_PDIM_IIFNAME:
		return 128;
	}
	if (dim >= NFO_DIM_SET0 && dim <= NFO_DIM_SET_LAST)
		return 8;
	return 0;
}

const char *nfo_dim_name(int dim)
{
	static const char *const names[] = {
		[NFO_DIM_ETHTYPE] = "ethertype",   [NFO_DIM_L2HOST] = "l2host",
		[NFO_DIM_L4PROTO] = "l4proto",     [NFO_DIM_NEXTHDR] = "ip6 nexthdr",
		[NFO_DIM_TH0] = "th[0:2]",         [NFO_DIM_TH2] = "th[2:4]",
		[NFO_DIM_TCPFLAGS] = "tcp flags",  [NFO_DIM_SADDR4] = "ip saddr",
		[NFO_DIM_DADDR4] = "ip daddr",     [NFO_DIM_SADDR6] = "ip6 saddr",
		[NFO_DIM_DADDR6] = "ip6 daddr",    [NFO_DIM_CTSTATE] = "ct state",
		[NFO_DIM_TCPMSS] = "tcp option maxseg size",
		[NFO_DIM_MSSOPT] = "tcp option maxseg",
		[NFO_PDIM_IIF] = "iif",            [NFO_PDIM_SETREF] = "set",
		[NFO_PDIM_IIFNAME] = "iifname",    [NFO_PDIM_UNKNOWN] = "unknown",
		[NFO_PDIM_FALSE] = "false",        [NFO_PDIM_FIB_SADDR] = "fib saddr type",
		[NFO_PDIM_FIB_DADDR] = "fib daddr type", [NFO_PDIM_CTSTATUS] = "ct status",
	};

	if (dim >= NFO_DIM_SET0 && dim <= NFO_DIM_SET_LAST)
		return "set member";
	if (dim >= 0 && (size_t)dim < ARRAY_SIZE(names) && names[dim])
		return names[dim];
	return "?";
}

nfo_u128 nfo_ct_state_value(int state)
{
	static const uint32_t bits[_NFO_CT_STATES] = {
		[NFO_CT_INVALID] = 1u << 0,     /* NF_CT_STATE_INVALID_BIT */
		[NFO_CT_ESTABLISHED] = 1u << 1, /* NF_CT_STATE_BIT(IP_CT_ESTABLISHED) */
		[NFO_CT_RELATED] = 1u << 2,     /* NF_CT_STATE_BIT(IP_CT_RELATED) */
		[NFO_CT_NEW] = 1u << 3,         /* NF_CT_STATE_BIT(IP_CT_NEW) */
		[NFO_CT_UNTRACKED] = 1u << 6,   /* NF_CT_STATE_UNTRACKED_BIT */
	};
	uint8_t b[4];

	memcpy(b, &bits[state], 4);
	return nfo_u128_from_be(b, 4);
}

uint32_t nfo_ct_status_bits(unsigned cts)
{
	/* enum ip_conntrack_status (uapi nf_conntrack_common.h) */
	static const uint32_t ips[] = {
		1u << 0, /* IPS_EXPECTED */
		1u << 1, /* IPS_SEEN_REPLY */
		1u << 2, /* IPS_ASSURED */
		1u << 4, /* IPS_SRC_NAT */
		1u << 5, /* IPS_DST_NAT */
	};
	uint32_t bits = 0;

	for (size_t i = 0; i < ARRAY_SIZE(ips); i++)
		if (cts & (1u << i))
			bits |= ips[i];
	return bits;
}

const char *nfo_hook_name(int hook)
{
	static const char *const names[] = {
		[NFO_HOOK_INGRESS] = "ingress",         [NFO_HOOK_PREROUTING] = "prerouting",
		[NFO_HOOK_INPUT] = "input",             [NFO_HOOK_FORWARD] = "forward",
		[NFO_HOOK_OUTPUT] = "output",           [NFO_HOOK_POSTROUTING] = "postrouting",
		[NFO_HOOK_EGRESS] = "egress",           [NFO_HOOK_NONE] = "none",
	};

	return hook >= 0 && hook < _NFO_HOOK_MAX ? names[hook] : "?";
}

const char *nfo_family_name(int family)
{
	switch (family) {
	case NFPROTO_INET:
		return "inet";
	case NFPROTO_IPV4:
		return "ip";
	case NFPROTO_IPV6:
		return "ip6";
	case NFPROTO_NETDEV:
		return "netdev";
	case NFPROTO_ARP:
		return "arp";
	case NFPROTO_BRIDGE:
		return "bridge";
	}
	return "unknown";
}

int nfo_rule_add_pred(struct nfo_rule *r, int dim, bool before_effect, struct nfo_vset *set,
		      char *reason)
{
	int e = nfo_grow(&r->preds, &r->cap, r->npreds + 1, sizeof(*r->preds));

	if (e < 0) {
		nfo_vset_free(set);
		free(reason);
		return e;
	}
	r->preds[r->npreds++] = (struct nfo_pred){
		.dim = dim,
		.before_effect = before_effect,
		.set = *set,
		.reason = reason,
	};
	*set = (struct nfo_vset){};
	return 0;
}

void nfo_rule_clear(struct nfo_rule *r)
{
	for (size_t i = 0; i < r->npreds; i++) {
		nfo_vset_free(&r->preds[i].set);
		free(r->preds[i].reason);
	}
	free(r->preds);
	free(r->target);
	free(r->reason);
	free(r->comment);
	free(r->note);
	r->note = NULL;
	for (size_t i = 0; i < r->nalts; i++) {
		for (size_t k = 0; k < r->alts[i].nkeys; k++)
			nfo_vset_free(&r->alts[i].keys[k].set);
		free(r->alts[i].target);
	}
	free(r->alts);
	r->alts = NULL;
	r->nalts = 0;
	r->preds = NULL;
	r->npreds = r->cap = 0;
	r->target = r->reason = r->comment = NULL;
}

int nfo_rule_key(const struct nfo_rule *r, char *buf, size_t len)
{
	const struct nfo_chain *c = r->chain;
	int n = snprintf(buf, len, "%s %s %s %llu", nfo_family_name(c->family), c->table, c->name,
			 (unsigned long long)r->handle);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static void chain_clear(struct nfo_chain *c)
{
	for (size_t i = 0; i < c->nrules; i++)
		nfo_rule_clear(&c->rules[i]);
	free(c->rules);
	for (size_t i = 0; i < c->ndevs; i++)
		free(c->devs[i]);
	free(c->devs);
	free(c->table);
	free(c->name);
	free(c->type);
}

static void set_clear(struct nfo_set *s)
{
	free(s->table);
	free(s->name);
	free(s->why);
	nfo_vset_free(&s->elems);
	free(s->keys);
	free(s->expires);
	free(s->pp_rule);
	nfo_set_pending_free(s);
	free(s->bounds);
	free(s->tivals);
	for (size_t i = 0; i < s->nvmap; i++)
		free(s->vmap[i].chain);
	free(s->vmap);
}

uint64_t nfo_elem_expiry(const struct nfo_elem *e, uint64_t at, uint32_t hz)
{
	if (!e->has_expiration)
		/* TIMEOUT 0: the element never expires (nft_set_elem_expired
		 * needs an expiration); a timeout without expiration cannot be
		 * placed in time, so it counts as expired already */
		return e->has_timeout && e->timeout_ms ? (at ? at : 1) : 0;
	/* ms * hz overflows only past 2^64 / 1000 / hz ms: half a million
	 * years; the kernel's NFTA_SET_ELEM_EXPIRATION is at most that big
	 * anyway (nf_msecs_to_jiffies64 refuses more) */
	return (at + e->expiration_ms / 1000 * hz + e->expiration_ms % 1000 * hz / 1000) ?: 1;
}

void nfo_ruleset_free(struct nfo_ruleset **rsp)
{
	struct nfo_ruleset *rs = *rsp;

	if (!rs)
		return;
	for (size_t i = 0; i < rs->nchains; i++)
		chain_clear(&rs->chains[i]);
	free(rs->chains);
	for (size_t i = 0; i < rs->nsets; i++)
		set_clear(&rs->sets[i]);
	free(rs->sets);
	for (size_t i = 0; i < rs->nflowtables; i++) {
		struct nfo_flowtable *f = &rs->flowtables[i];

		for (size_t k = 0; k < f->ndevs; k++)
			free(f->devs[k]);
		free(f->devs);
		free(f->table);
		free(f->name);
	}
	free(rs->flowtables);
	free(rs);
	*rsp = NULL;
}

struct nfo_chain *nfo_ruleset_find_chain(const struct nfo_ruleset *rs, int family,
					 const char *table, const char *name)
{
	for (size_t i = 0; i < rs->nchains; i++) {
		struct nfo_chain *c = &rs->chains[i];

		if (c->family == family && !strcmp(c->table, table) && !strcmp(c->name, name))
			return c;
	}
	return NULL;
}

struct nfo_set *nfo_ruleset_find_set(const struct nfo_ruleset *rs, int family,
				     const char *table, const char *name)
{
	for (size_t i = 0; i < rs->nsets; i++) {
		struct nfo_set *s = &rs->sets[i];

		if (s->family == family && !strcmp(s->table, table) && !strcmp(s->name, name))
			return s;
	}
	return NULL;
}
