// SPDX-License-Identifier: GPL-2.0-only
/*
 * An abstract interpreter over nftables registers. Loads record which packet
 * bytes a register holds; comparisons (cmp, range, lookup) then become sets of
 * field values. nftables compares registers with memcmp (nft_cmp_eval,
 * nft_range_eval), so the bytes are read as big-endian numbers throughout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "translate.h"
#include "common/util.h"

/* nft registers: NFT_REG_1..4 are 16 bytes and overlay NFT_REG32_00..15. */
#define NREG32 16

/* Internal-only dimension: meta nfproto, resolved against the chain family. */
#define DIM_NFPROTO (-2)

enum rkind {
	R_NONE,
	R_FIELD,  /* bytes of a dimension's value */
	R_CONT,   /* continuation of the register before */
	R_OPAQUE, /* something the fast path cannot evaluate */
	R_MULTI,  /* adjacent fields in one load (nft merges `udp sport 1 udp dport 2`) */
};

#define MAX_PARTS 4

struct regpart {
	int dim;
	unsigned off; /* first byte of the dimension's value loaded */
	unsigned len;
};

struct regval {
	int kind;
	int dim;
	unsigned off; /* first byte of the dimension's value loaded */
	unsigned len; /* bytes loaded */
	bool masked;
	uint8_t mask[16];
	uint8_t xor[16];
	char what[64];
	/* R_MULTI: the fields, in load order (len is their sum) */
	unsigned nparts;
	struct regpart part[MAX_PARTS];
};

struct tstate {
	const struct nfo_ruleset *rs;
	struct nfo_rule *out;
	struct regval reg[NREG32];
	int l3; /* 4 or 6 once the rule's packets are known to be IPv4/IPv6 */
	bool after_effect;
	char *first_unknown;
	char *first_effect;
};

static int reg32_index(uint32_t reg)
{
	if (reg >= NFT_REG_1 && reg <= NFT_REG_4)
		return (int)(reg - NFT_REG_1) * 4;
	if (reg >= NFT_REG32_00 && reg <= NFT_REG32_15)
		return (int)(reg - NFT_REG32_00);
	return -1;
}

static void reg_write(struct tstate *st, uint32_t reg, unsigned len, const struct regval *v)
{
	int i = reg32_index(reg);
	unsigned slots = (len + 3) / 4;

	if (i < 0)
		return;
	for (unsigned k = 0; k < slots && i + (int)k < NREG32; k++) {
		if (k == 0)
			st->reg[i] = *v;
		else
			st->reg[i + k] = (struct regval){ .kind = R_CONT };
	}
}

static void reg_opaque(struct tstate *st, uint32_t reg, unsigned len, const char *what)
{
	struct regval v = { .kind = R_OPAQUE };

	snprintf(v.what, sizeof(v.what), "%s", what);
	reg_write(st, reg, len ? len : 4, &v);
}

static const struct regval *reg_read(const struct tstate *st, uint32_t reg)
{
	int i = reg32_index(reg);

	return i < 0 ? NULL : &st->reg[i];
}

static int note_effect(struct tstate *st, const char *what)
{
	st->out->effect = true;
	st->after_effect = true;
	if (!st->first_effect) {
		st->first_effect = strdup(what);
		if (!st->first_effect)
			return -ENOMEM;
	}
	return 0;
}

static int add_unknown(struct tstate *st, const char *what)
{
	struct nfo_vset empty = {};
	char *reason = strdup(what);

	if (!reason)
		return -ENOMEM;
	if (!st->first_unknown) {
		st->first_unknown = strdup(what);
		if (!st->first_unknown) {
			free(reason);
			return -ENOMEM;
		}
	}
	return nfo_rule_add_pred(st->out, NFO_PDIM_UNKNOWN, !st->after_effect, &empty, reason);
}

static int add_pred(struct tstate *st, int dim, struct nfo_vset *set)
{
	return nfo_rule_add_pred(st->out, dim, !st->after_effect, set, NULL);
}

static int add_const(struct tstate *st, bool holds)
{
	struct nfo_vset empty = {};

	if (holds)
		return 0;
	return nfo_rule_add_pred(st->out, NFO_PDIM_FALSE, !st->after_effect, &empty, NULL);
}

/* Which dimension a payload load reads. */
struct payload_field {
	int base;
	int l3; /* 0: any */
	unsigned start;
	unsigned len;
	int dim;
};

static const struct payload_field payload_fields[] = {
	{ NFT_PAYLOAD_NETWORK_HEADER, 4, 9, 1, NFO_DIM_L4PROTO },
	{ NFT_PAYLOAD_NETWORK_HEADER, 4, 12, 4, NFO_DIM_SADDR4 },
	{ NFT_PAYLOAD_NETWORK_HEADER, 4, 16, 4, NFO_DIM_DADDR4 },
	{ NFT_PAYLOAD_NETWORK_HEADER, 6, 6, 1, NFO_DIM_NEXTHDR },
	{ NFT_PAYLOAD_NETWORK_HEADER, 6, 8, 16, NFO_DIM_SADDR6 },
	{ NFT_PAYLOAD_NETWORK_HEADER, 6, 24, 16, NFO_DIM_DADDR6 },
	{ NFT_PAYLOAD_TRANSPORT_HEADER, 0, 0, 2, NFO_DIM_TH0 },
	{ NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, 2, NFO_DIM_TH2 },
	{ NFT_PAYLOAD_TRANSPORT_HEADER, 0, 13, 1, NFO_DIM_TCPFLAGS },
};

/*
 * A load spanning several adjacent fields: nft merges consecutive payload
 * matches on adjacent bytes into one load and one compare (`udp sport 40
 * udp dport 9` is a 4-byte load at transport offset 0; `ip saddr A ip daddr
 * B` an 8-byte load at network offset 12). Records the fields; returns
 * false if the bytes are not exactly a run of known fields.
 */
static bool multi_field(struct tstate *st, uint32_t base, uint32_t off, uint32_t len,
			uint32_t dreg)
{
	struct regval v = { .kind = R_MULTI };
	uint32_t cur = off, end;

	if (len == 0 || len > 16 || off > UINT32_MAX - len)
		return false;
	end = off + len;
	while (cur < end) {
		const struct payload_field *found = NULL;

		for (size_t i = 0; i < ARRAY_SIZE(payload_fields); i++) {
			const struct payload_field *f = &payload_fields[i];

			if (f->base == (int)base && (!f->l3 || f->l3 == st->l3) &&
			    cur >= f->start && cur < f->start + f->len)
				found = f;
		}
		if (!found || v.nparts == MAX_PARTS)
			return false;
		v.part[v.nparts].dim = found->dim;
		v.part[v.nparts].off = cur - found->start;
		v.part[v.nparts].len = (end < found->start + found->len ? end : found->start + found->len) - cur;
		cur += v.part[v.nparts].len;
		v.nparts++;
	}
	if (v.nparts < 2)
		return false;
	v.len = len;
	reg_write(st, dreg, len, &v);
	return true;
}

static int do_payload(struct tstate *st, struct nftnl_expr *e)
{
	uint32_t base = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE);
	uint32_t off = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET);
	uint32_t len = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN);
	uint32_t dreg = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_DREG);
	char what[48];

	if (nftnl_expr_is_set(e, NFTNL_EXPR_PAYLOAD_SREG))
		return note_effect(st, "payload mangling");
	for (size_t i = 0; i < ARRAY_SIZE(payload_fields); i++) {
		const struct payload_field *f = &payload_fields[i];
		struct regval v = { .kind = R_FIELD };

		if (f->base != (int)base || (f->l3 && f->l3 != st->l3))
			continue;
		/* written so that no sum can wrap */
		if (len == 0 || len > f->len || off < f->start || off - f->start > f->len - len)
			continue;
		v.dim = f->dim;
		v.off = off - f->start;
		v.len = len;
		reg_write(st, dreg, len, &v);
		return 0;
	}
	if (multi_field(st, base, off, len, dreg))
		return 0;
	switch (base) {
	case NFT_PAYLOAD_LL_HEADER:
		snprintf(what, sizeof(what), "link layer header @%u,%u", off * 8, len * 8);
		break;
	case NFT_PAYLOAD_NETWORK_HEADER:
		snprintf(what, sizeof(what), "network header @%u,%u", off * 8, len * 8);
		break;
	case NFT_PAYLOAD_TRANSPORT_HEADER:
		snprintf(what, sizeof(what), "transport header @%u,%u", off * 8, len * 8);
		break;
	default:
		snprintf(what, sizeof(what), "inner header");
		break;
	}
	reg_opaque(st, dreg, len, what);
	return 0;
}

static const char *meta_key_name(uint32_t key)
{
	static const char *const names[] = {
		[NFT_META_LEN] = "len", [NFT_META_PROTOCOL] = "protocol",
		[NFT_META_PRIORITY] = "priority", [NFT_META_MARK] = "mark",
		[NFT_META_IIF] = "iif", [NFT_META_OIF] = "oif",
		[NFT_META_IIFNAME] = "iifname", [NFT_META_OIFNAME] = "oifname",
		[NFT_META_IIFTYPE] = "iiftype", [NFT_META_OIFTYPE] = "oiftype",
		[NFT_META_SKUID] = "skuid", [NFT_META_SKGID] = "skgid",
		[NFT_META_NFTRACE] = "nftrace", [NFT_META_RTCLASSID] = "rtclassid",
		[NFT_META_SECMARK] = "secmark", [NFT_META_NFPROTO] = "nfproto",
		[NFT_META_L4PROTO] = "l4proto", [NFT_META_BRI_IIFNAME] = "ibrname",
		[NFT_META_BRI_OIFNAME] = "obrname", [NFT_META_PKTTYPE] = "pkttype",
		[NFT_META_CPU] = "cpu", [NFT_META_IIFGROUP] = "iifgroup",
		[NFT_META_OIFGROUP] = "oifgroup", [NFT_META_CGROUP] = "cgroup",
		[NFT_META_PRANDOM] = "random",
	};

	if (key < ARRAY_SIZE(names) && names[key])
		return names[key];
	return "key";
}

static int do_meta(struct tstate *st, struct nftnl_expr *e)
{
	uint32_t key = nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY);
	uint32_t dreg = nftnl_expr_get_u32(e, NFTNL_EXPR_META_DREG);
	struct regval v = { .kind = R_FIELD };
	char what[48];

	if (nftnl_expr_is_set(e, NFTNL_EXPR_META_SREG)) {
		snprintf(what, sizeof(what), "meta %s set", meta_key_name(key));
		return note_effect(st, what);
	}
	switch (key) {
	case NFT_META_L4PROTO:
		v.dim = NFO_DIM_L4PROTO;
		v.len = 1;
		break;
	case NFT_META_PROTOCOL:
		v.dim = NFO_DIM_ETHTYPE;
		v.len = 2;
		break;
	case NFT_META_NFPROTO:
		v.dim = DIM_NFPROTO;
		v.len = 1;
		break;
	case NFT_META_IIF:
		v.dim = NFO_PDIM_IIF;
		v.len = 4;
		break;
	case NFT_META_IIFNAME:
		v.dim = NFO_PDIM_IIFNAME;
		v.len = 16;
		break;
	case NFT_META_PKTTYPE:
		/* nft_reg_store8(skb->pkt_type): PACKET_LOOPBACK, the one
		 * value nft_meta_get_eval() rewrites, is never received */
		v.dim = NFO_PDIM_PKTTYPE;
		v.len = 1;
		break;
	default:
		snprintf(what, sizeof(what), "meta %s", meta_key_name(key));
		reg_opaque(st, dreg, 16, what);
		return 0;
	}
	reg_write(st, dreg, v.len, &v);
	return 0;
}

static const char *ct_key_name(uint32_t key)
{
	switch (key) {
	case NFT_CT_STATE:
		return "ct state";
	case NFT_CT_DIRECTION:
		return "ct direction";
	case NFT_CT_STATUS:
		return "ct status";
	case NFT_CT_MARK:
		return "ct mark";
	case NFT_CT_HELPER:
		return "ct helper";
	case NFT_CT_ZONE:
		return "ct zone";
	default:
		return "ct expression";
	}
}

static int do_bitwise(struct tstate *st, struct nftnl_expr *e)
{
	uint32_t sreg = nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_SREG);
	uint32_t dreg = nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_DREG);
	uint32_t len = nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_LEN);
	uint32_t op = nftnl_expr_is_set(e, NFTNL_EXPR_BITWISE_OP) ?
			      nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_OP) : NFT_BITWISE_BOOL;
	const struct regval *src = reg_read(st, sreg);
	const uint8_t *mask, *xor;
	uint32_t mlen = 0, xlen = 0;
	struct regval v;

	if (!src || src->kind != R_FIELD || op != NFT_BITWISE_BOOL || src->len != len) {
		reg_opaque(st, dreg, len, src && src->kind == R_OPAQUE ? src->what : "bitwise operation");
		return 0;
	}
	mask = nftnl_expr_get(e, NFTNL_EXPR_BITWISE_MASK, &mlen);
	xor = nftnl_expr_get(e, NFTNL_EXPR_BITWISE_XOR, &xlen);
	if (!mask || !xor || mlen < len || xlen < len || len > 16) {
		reg_opaque(st, dreg, len, "bitwise operation");
		return 0;
	}
	v = *src;
	if (!v.masked) {
		memset(v.mask, 0xff, sizeof(v.mask));
		memset(v.xor, 0, sizeof(v.xor));
		v.masked = true;
	}
	/* ((x & m1) ^ x1) & m2 ^ x2 == (x & (m1 & m2)) ^ ((x1 & m2) ^ x2) */
	for (unsigned i = 0; i < len; i++) {
		v.mask[i] &= mask[i];
		v.xor[i] = (uint8_t)((v.xor[i] & mask[i]) ^ xor[i]);
	}
	reg_write(st, dreg, len, &v);
	return 0;
}

/* The loaded (masked) bytes of dimension value x, as a number. */
static nfo_u128 loaded_value(const struct regval *rv, unsigned width_bytes, nfo_u128 x)
{
	uint8_t b[16], l[16];

	nfo_u128_to_be(x, b, width_bytes);
	for (unsigned i = 0; i < rv->len; i++) {
		l[i] = b[rv->off + i];
		if (rv->masked)
			l[i] = (uint8_t)((l[i] & rv->mask[i]) ^ rv->xor[i]);
	}
	return nfo_u128_from_be(l, rv->len);
}

/* Number of leading one bits if mask is a prefix mask, else -1. */
static int prefix_mask_len(const uint8_t *mask, unsigned len)
{
	int bits = 0;
	bool zero = false;

	for (unsigned i = 0; i < len; i++) {
		for (int b = 7; b >= 0; b--) {
			bool one = mask[i] & (1u << b);

			if (one && zero)
				return -1;
			if (one)
				bits++;
			else
				zero = true;
		}
	}
	return bits;
}

/*
 * rel: the set of loaded values (rv->len bytes, after mask/xor) for which the
 * comparison holds. Computes the values of the whole dimension that load such
 * bytes. Returns 1 if it could, 0 if not (the caller adds UNKNOWN).
 */
static int relation_to_dim(const struct regval *rv, const struct nfo_vset *rel,
			   struct nfo_vset *out)
{
	unsigned wbits = nfo_dim_width(rv->dim);
	unsigned w = wbits / 8;
	int r;

	/* tcp option maxseg exists/missing: nft_exthdr_tcp_eval() stores the
	 * u32 1 or 0 in host order, whose first byte nft compares (the load
	 * is 1 byte long): 1 for a short or a valid option. */
	if (rv->dim == NFO_DIM_MSSOPT) {
		if (rv->masked || rv->off || rv->len != 1 ||
		    __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__)
			return 0;
		for (unsigned v = NFO_TCPOPT_NONE; v <= NFO_TCPOPT_VALID; v++) {
			if (!nfo_vset_contains(rel, v != NFO_TCPOPT_NONE))
				continue;
			r = nfo_vset_push(out, v, v);
			if (r < 0)
				return r;
		}
		nfo_vset_normalize(out);
		return 1;
	}

	/* ct state holds exactly one of a few bits: evaluate each. */
	if (rv->dim == NFO_DIM_CTSTATE) {
		for (int s = 0; s < _NFO_CT_STATES; s++) {
			nfo_u128 v = nfo_ct_state_value(s);

			if (rv->off + rv->len > 4)
				return 0;
			if (nfo_vset_contains(rel, loaded_value(rv, 4, v))) {
				r = nfo_vset_push(out, v, v);
				if (r < 0)
					return r;
			}
		}
		nfo_vset_normalize(out);
		return 1;
	}

	if (!rv->masked && rv->off == 0 && rv->len <= w) {
		unsigned shift = (w - rv->len) * 8;
		nfo_u128 low = shift ? nfo_u128_max(shift) : 0;

		for (size_t i = 0; i < rel->n; i++) {
			r = nfo_vset_push(out, shift >= 128 ? 0 : rel->iv[i].lo << shift,
					  (shift >= 128 ? 0 : rel->iv[i].hi << shift) | low);
			if (r < 0)
				return r;
		}
		nfo_vset_normalize(out);
		return 1;
	}
	if (wbits <= 16) {
		nfo_u128 max = nfo_u128_max(wbits), start = 0;
		bool in = false;

		for (nfo_u128 x = 0; x <= max; x++) {
			bool holds = nfo_vset_contains(rel, loaded_value(rv, w, x));

			if (holds && !in) {
				start = x;
				in = true;
			} else if (!holds && in) {
				r = nfo_vset_push(out, start, x - 1);
				if (r < 0)
					return r;
				in = false;
			}
		}
		if (in) {
			r = nfo_vset_push(out, start, max);
			if (r < 0)
				return r;
		}
		return 1;
	}
	/* Wide fields (addresses, names): a prefix mask compared for
	 * (in)equality with one value, the bitwise+cmp form of a prefix. */
	if (rv->masked && rv->off == 0) {
		int plen = prefix_mask_len(rv->mask, rv->len);
		struct nfo_vset tmp = {};
		bool negate = false, never = false;
		nfo_u128 p, m, lo, hi;
		unsigned shift = (w - rv->len) * 8;

		for (unsigned i = 0; i < rv->len; i++)
			if (rv->xor[i])
				return 0;
		if (plen < 0)
			return 0;
		if (rel->n == 1 && rel->iv[0].lo == rel->iv[0].hi) {
			p = rel->iv[0].lo;
		} else {
			r = nfo_vset_copy(&tmp, rel);
			if (r < 0)
				return r;
			r = nfo_vset_complement(&tmp, nfo_u128_max(rv->len * 8));
			if (r < 0 || !(tmp.n == 1 && tmp.iv[0].lo == tmp.iv[0].hi)) {
				nfo_vset_free(&tmp);
				return r < 0 ? r : 0;
			}
			p = tmp.iv[0].lo;
			negate = true;
			nfo_vset_free(&tmp);
		}
		m = nfo_u128_from_be(rv->mask, rv->len);
		if ((p & ~m) != 0)
			never = true; /* masked bytes can never equal p */
		if (!never) {
			lo = p << shift;
			hi = (p | (~m & nfo_u128_max(rv->len * 8))) << shift;
			if (shift)
				hi |= nfo_u128_max(shift);
			r = nfo_vset_push(out, lo, hi);
			if (r < 0)
				return r;
		}
		(void)plen;
		if (negate) {
			r = nfo_vset_complement(out, nfo_u128_max(wbits));
			if (r < 0)
				return r;
		}
		return 1;
	}
	return 0;
}

/*
 * ct status: nft_ct_get_eval() loads ct->status, a host-order u32; nft
 * masks it (`ct status dnat` is `& IPS_DST_NAT != 0`). Decided only when
 * the mask keeps nothing but bits the planner models (NFO_CTS_*): then the
 * relation is a function of those, evaluated for each combination.
 * Returns 1 with out filled, 0 if not decidable, -ENOMEM.
 */
static int ctstatus_relation(const struct regval *rv, const struct nfo_vset *rel,
			     struct nfo_vset *out)
{
	uint32_t mask, xor, modelled = nfo_ct_status_bits(NFO_CTS_ALL);
	int r;

	if (!rv->masked || rv->off != 0 || rv->len != 4)
		return 0;
	memcpy(&mask, rv->mask, 4);
	memcpy(&xor, rv->xor, 4);
	if (mask & ~modelled)
		return 0;
	for (unsigned cts = 0; cts <= NFO_CTS_ALL; cts++) {
		uint32_t loaded = (nfo_ct_status_bits(cts) & mask) ^ xor;
		uint8_t b[4];

		memcpy(b, &loaded, 4);
		if (!nfo_vset_contains(rel, nfo_u128_from_be(b, 4)))
			continue;
		r = nfo_vset_push(out, cts, cts);
		if (r < 0)
			return r;
	}
	nfo_vset_normalize(out);
	return 1;
}

static bool vset_is_point(const struct nfo_vset *s, nfo_u128 v)
{
	return s->n == 1 && s->iv[0].lo == v && s->iv[0].hi == v;
}

/*
 * A comparison on the first len bytes of a load of several fields: equality
 * with one value is equality of each field's bytes (memcmp), a predicate
 * per field. Anything else (!=, ranges) is a disjunction across fields the
 * fast path's conjunctions cannot hold: UNKNOWN.
 */
static int multi_relation(struct tstate *st, const struct regval *rv, unsigned len,
			  const struct nfo_vset *rel, const char *form)
{
	uint8_t b[16];
	unsigned at = 0;
	char what[96];
	int r;

	if (!(rel->n == 1 && rel->iv[0].lo == rel->iv[0].hi)) {
		snprintf(what, sizeof(what), "%s of several fields at once, other than ==", form);
		return add_unknown(st, what);
	}
	nfo_u128_to_be(rel->iv[0].lo, b, len);
	for (unsigned k = 0; k < rv->nparts && at < len; k++) {
		struct regval f = { .kind = R_FIELD, .dim = rv->part[k].dim, .off = rv->part[k].off,
				    .len = rv->part[k].len };
		struct nfo_vset point = {}, set = {};

		if (f.len > len - at)
			f.len = len - at;
		r = nfo_vset_push(&point, nfo_u128_from_be(b + at, f.len),
				  nfo_u128_from_be(b + at, f.len));
		if (r == 0)
			r = relation_to_dim(&f, &point, &set);
		nfo_vset_free(&point);
		if (r < 0) {
			nfo_vset_free(&set);
			return r;
		}
		if (r == 0) {
			nfo_vset_free(&set);
			snprintf(what, sizeof(what), "%s of part of a field", form);
			r = add_unknown(st, what);
		} else {
			r = add_pred(st, f.dim, &set);
		}
		if (r < 0)
			return r;
		at += f.len;
	}
	return 0;
}

/* A comparison on sreg (len bytes) that holds for the loaded values in rel. */
static int add_relation(struct tstate *st, uint32_t sreg, unsigned len, struct nfo_vset *rel,
			const char *form)
{
	const struct regval *rv = reg_read(st, sreg);
	const struct nfo_chain *c = st->out->chain;
	struct nfo_vset set = {};
	struct regval shorter;
	int r;

	if (rv && rv->kind == R_MULTI && len <= rv->len)
		return multi_relation(st, rv, len, rel, form);
	/* cmp/lookup compare the first len bytes of the register
	 * (nft_cmp_eval: memcmp over priv->len), e.g. iifname "eth*" is a
	 * 3-byte compare of a 16-byte load: the same as a 3-byte load. */
	if (rv && rv->kind == R_FIELD && len < rv->len) {
		shorter = *rv;
		shorter.len = len;
		rv = &shorter;
	}
	if (!rv || rv->kind != R_FIELD || rv->len != len) {
		char what[96];

		if (rv && rv->kind == R_OPAQUE)
			return add_unknown(st, rv->what);
		snprintf(what, sizeof(what), "%s on an unsupported value", form);
		return add_unknown(st, what);
	}

	if (rv->dim == DIM_NFPROTO) {
		nfo_u128 v;

		if (rv->masked)
			return add_unknown(st, "masked meta nfproto");
		switch (c->family) {
		case NFPROTO_IPV4:
		case NFPROTO_IPV6:
		case NFPROTO_NETDEV:
			v = c->family;
			return add_const(st, nfo_vset_contains(rel, v));
		case NFPROTO_INET:
			/* inet chains see only IPv4 and IPv6 packets. */
			if (nfo_vset_contains(rel, NFPROTO_IPV4))
				r = nfo_vset_push(&set, 0x0800, 0x0800);
			else
				r = 0;
			if (r == 0 && nfo_vset_contains(rel, NFPROTO_IPV6))
				r = nfo_vset_push(&set, 0x86dd, 0x86dd);
			if (r < 0)
				return r;
			if (vset_is_point(rel, NFPROTO_IPV4))
				st->l3 = 4;
			else if (vset_is_point(rel, NFPROTO_IPV6))
				st->l3 = 6;
			return add_pred(st, NFO_DIM_ETHTYPE, &set);
		default:
			return add_unknown(st, "meta nfproto");
		}
	}

	if (rv->dim == NFO_PDIM_PKTTYPE) {
		/* NFO_DIM_L2HOST holds pkt_type + 1 */
		for (unsigned t = 0; t < 255; t++) {
			if (!nfo_vset_contains(rel, loaded_value(rv, 1, t)))
				continue;
			r = nfo_vset_push(&set, t + 1, t + 1);
			if (r < 0) {
				nfo_vset_free(&set);
				return r;
			}
		}
		nfo_vset_normalize(&set);
		return add_pred(st, NFO_DIM_L2HOST, &set);
	}
	if (rv->dim == NFO_PDIM_CTSTATUS) {
		r = ctstatus_relation(rv, rel, &set);
		if (r <= 0) {
			nfo_vset_free(&set);
			return r < 0 ? r : add_unknown(st, "ct status");
		}
		return add_pred(st, rv->dim, &set);
	}
	r = relation_to_dim(rv, rel, &set);
	if (r <= 0) {
		nfo_vset_free(&set);
		if (r < 0)
			return r;
		return add_unknown(st, "masked comparison");
	}
	if (rv->dim == NFO_DIM_ETHTYPE && !rv->masked) {
		if (vset_is_point(&set, 0x0800))
			st->l3 = 4;
		else if (vset_is_point(&set, 0x86dd))
			st->l3 = 6;
	}
	return add_pred(st, rv->dim, &set);
}

static int do_cmp(struct tstate *st, struct nftnl_expr *e)
{
	uint32_t sreg = nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_SREG);
	uint32_t op = nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP);
	uint32_t len = 0;
	const uint8_t *data = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);
	struct nfo_vset rel = {};
	nfo_u128 v, max;
	int r = 0;

	if (!data || len == 0 || len > 16)
		return add_unknown(st, "comparison");
	v = nfo_u128_from_be(data, len);
	max = nfo_u128_max(len * 8);
	switch (op) {
	case NFT_CMP_EQ:
		r = nfo_vset_push(&rel, v, v);
		break;
	case NFT_CMP_NEQ:
		r = nfo_vset_push(&rel, v, v);
		if (r == 0)
			r = nfo_vset_complement(&rel, max);
		break;
	case NFT_CMP_LT:
		if (v > 0)
			r = nfo_vset_push(&rel, 0, v - 1);
		break;
	case NFT_CMP_LTE:
		r = nfo_vset_push(&rel, 0, v);
		break;
	case NFT_CMP_GT:
		if (v < max)
			r = nfo_vset_push(&rel, v + 1, max);
		break;
	case NFT_CMP_GTE:
		r = nfo_vset_push(&rel, v, max);
		break;
	default:
		return add_unknown(st, "comparison");
	}
	if (r == 0)
		r = add_relation(st, sreg, len, &rel, "comparison");
	nfo_vset_free(&rel);
	return r;
}

static int do_range(struct tstate *st, struct nftnl_expr *e)
{
	uint32_t sreg = nftnl_expr_get_u32(e, NFTNL_EXPR_RANGE_SREG);
	uint32_t op = nftnl_expr_get_u32(e, NFTNL_EXPR_RANGE_OP);
	uint32_t flen = 0, tlen = 0;
	const uint8_t *from = nftnl_expr_get(e, NFTNL_EXPR_RANGE_FROM_DATA, &flen);
	const uint8_t *to = nftnl_expr_get(e, NFTNL_EXPR_RANGE_TO_DATA, &tlen);
	struct nfo_vset rel = {};
	int r;

	if (!from || !to || flen != tlen || flen == 0 || flen > 16)
		return add_unknown(st, "range");
	r = nfo_vset_push(&rel, nfo_u128_from_be(from, flen), nfo_u128_from_be(to, tlen));
	if (r == 0 && op == NFT_RANGE_NEQ)
		r = nfo_vset_complement(&rel, nfo_u128_max(flen * 8));
	else if (r == 0 && op != NFT_RANGE_EQ)
		r = -EINVAL;
	if (r == -EINVAL) {
		nfo_vset_free(&rel);
		return add_unknown(st, "range");
	}
	if (r == 0)
		r = add_relation(st, sreg, flen, &rel, "range");
	nfo_vset_free(&rel);
	return r;
}

static void alts_clear(struct nfo_rule *out)
{
	for (size_t i = 0; i < out->nalts; i++) {
		for (size_t k = 0; k < out->alts[i].nkeys; k++)
			nfo_vset_free(&out->alts[i].keys[k].set);
		free(out->alts[i].target);
	}
	free(out->alts);
	out->alts = NULL;
	out->nalts = 0;
}

/*
 * The fields of a lookup key starting at sreg: whole fields in consecutive
 * registers, each starting 4-byte aligned (nft's concatenation layout),
 * covering exactly the set's key; each field's offset in the key in
 * ret_offs. Returns 1, or 0 if the key is not such a layout.
 */
static int key_fields(const struct tstate *st, uint32_t sreg, const struct nfo_set *set,
		      struct nfo_setref *ref, unsigned ret_offs[NFO_SET_MAX_FIELDS])
{
	int i = reg32_index(sreg);
	unsigned used = 0;

	ref->ndims = 0;
	if (i < 0)
		return 0;
	while (used < set->key_len) {
		const struct regval *rv;
		unsigned w;

		if (i >= NREG32 || ref->ndims == NFO_SET_MAX_FIELDS)
			return 0;
		rv = &st->reg[i];
		if (rv->kind != R_FIELD || rv->masked || rv->off != 0 || rv->dim < 0 ||
		    rv->dim >= NFO_DIM_CTSTATE)
			return 0;
		w = nfo_dim_width(rv->dim) / 8;
		if (rv->len != w)
			return 0;
		ret_offs[ref->ndims] = used;
		ref->dims[ref->ndims++] = (uint8_t)rv->dim;
		used += ref->ndims == 1 && set->key_len == w ? w : (w + 3) & ~3u;
		i += (int)((w + 3) / 4);
	}
	return used == set->key_len;
}

/*
 * A verdict map keyed by a concatenation (kube-proxy's `ip daddr . meta
 * l4proto . th dport vmap @service-ips`): one alternative per element, the
 * product of its fields' values. nft_lookup_eval compares the whole key
 * (the fields, each padded with zeros to 4 bytes as the registers hold
 * them: nft_payload_eval and nft_meta_get_eval zero the rest of the last
 * register they write), so an element matches exactly when every field
 * does; elements of an exact map have distinct keys, so at most one
 * alternative holds. An element with non-zero padding matches no packet
 * and is left out. Elements of one verdict that differ in one field only
 * share an alternative (A x B u A x C = A x (B u C)). Returns 1 if
 * followed, 0 if the key is not a concatenation of whole fields (or the
 * map holds ranges), -ENOMEM.
 */
static int vmap_concat_alts(struct tstate *st, uint32_t sreg, const struct nfo_set *set)
{
	struct nfo_rule *out = st->out;
	unsigned offs[NFO_SET_MAX_FIELDS];
	struct nfo_setref ref = {};
	size_t cap = 0;
	int r;

	if (set->interval || !key_fields(st, sreg, set, &ref, offs) || ref.ndims < 2)
		return 0;
	for (size_t i = 0; i < set->nvmap; i++) {
		const struct nfo_vmap_elem *m = &set->vmap[i];
		struct nfo_alt cur = { .nkeys = ref.ndims, .verdict = m->verdict }, *prev;
		unsigned pos = 0, differ = 0, at = 0;
		bool pad = false;

		for (unsigned k = 0; k < ref.ndims; k++) {
			unsigned w = nfo_dim_width(ref.dims[k]) / 8;
			nfo_u128 v;

			for (; pos < offs[k]; pos++)
				pad |= m->key[pos] != 0;
			v = nfo_u128_from_be(m->key + offs[k], w);
			pos = offs[k] + w;
			cur.keys[k].dim = ref.dims[k];
			r = nfo_vset_push(&cur.keys[k].set, v, v);
			if (r < 0)
				goto fail_cur;
		}
		for (; pos < set->key_len; pos++)
			pad |= m->key[pos] != 0;
		if (pad) {
			for (unsigned k = 0; k < ref.ndims; k++)
				nfo_vset_free(&cur.keys[k].set);
			continue;
		}
		prev = out->nalts ? &out->alts[out->nalts - 1] : NULL;
		if (prev && prev->verdict == cur.verdict &&
		    !strcmp(prev->target ? prev->target : "", m->chain ? m->chain : "")) {
			for (unsigned k = 0; k < ref.ndims; k++)
				if (!nfo_vset_equal(&prev->keys[k].set, &cur.keys[k].set)) {
					differ++;
					at = k;
				}
		}
		if (prev && differ == 1) {
			const struct nfo_ival *iv = &cur.keys[at].set.iv[0];

			r = nfo_vset_add(&prev->keys[at].set, iv->lo, iv->hi);
			for (unsigned k = 0; k < ref.ndims; k++)
				nfo_vset_free(&cur.keys[k].set);
			if (r < 0)
				goto fail;
			continue;
		}
		r = nfo_grow(&out->alts, &cap, out->nalts + 1, sizeof(*out->alts));
		if (r == 0 && m->chain && !(cur.target = strdup(m->chain)))
			r = -ENOMEM;
		if (r < 0)
			goto fail_cur;
		out->alts[out->nalts++] = cur;
		continue;
fail_cur:
		for (unsigned k = 0; k < ref.ndims; k++)
			nfo_vset_free(&cur.keys[k].set);
		goto fail;
	}
	return 1;
fail:
	alts_clear(out);
	return r;
}

/*
 * A verdict map on a supported field: one alternative per distinct verdict,
 * with the keys that select it. Returns 1 if followed, 0 if not (a verdict
 * the fast path cannot take, or a key it cannot see), -ENOMEM.
 */
static int vmap_alts(struct tstate *st, uint32_t sreg, const struct nfo_set *set)
{
	const struct regval *rv = reg_read(st, sreg);
	struct nfo_rule *out = st->out;
	struct regval shorter;
	int r;

	for (size_t i = 0; i < set->nvmap; i++)
		if (set->vmap[i].verdict == NFO_VERDICT_STOP)
			return 0;
	r = vmap_concat_alts(st, sreg, set);
	if (r != 0)
		return r < 0 ? r : 1;
	if (rv && rv->kind == R_FIELD && set->key_len < rv->len) {
		shorter = *rv;
		shorter.len = set->key_len;
		rv = &shorter;
	}
	if (!rv || rv->kind != R_FIELD || rv->len != set->key_len || rv->dim < 0 ||
	    rv->dim >= _NFO_DIM_MAX)
		return 0;
	for (size_t i = 0; i < set->nvmap; i++)
		if (set->vmap[i].verdict == NFO_VERDICT_STOP)
			return 0;
	for (size_t i = 0; i < set->nvmap; i++) {
		const struct nfo_vmap_elem *m = &set->vmap[i];
		struct nfo_vset rel = {}, dimset = {};
		struct nfo_alt *alt = NULL, *p;
		size_t k;

		/* group the elements by verdict */
		for (k = 0; k < i; k++)
			if (set->vmap[k].verdict == m->verdict &&
			    !strcmp(set->vmap[k].chain ? set->vmap[k].chain : "",
				    m->chain ? m->chain : ""))
				break;
		if (k < i)
			continue;
		for (k = i; k < set->nvmap; k++) {
			if (set->vmap[k].verdict != m->verdict ||
			    strcmp(set->vmap[k].chain ? set->vmap[k].chain : "", m->chain ? m->chain : ""))
				continue;
			r = nfo_vset_push(&rel, set->vmap[k].lo, set->vmap[k].hi);
			if (r < 0)
				goto fail;
		}
		nfo_vset_normalize(&rel);
		r = relation_to_dim(rv, &rel, &dimset);
		nfo_vset_free(&rel);
		if (r <= 0) {
			nfo_vset_free(&dimset);
			if (r < 0)
				goto fail;
			goto unsupported;
		}
		p = realloc(out->alts, (out->nalts + 1) * sizeof(*p));
		if (!p) {
			nfo_vset_free(&dimset);
			r = -ENOMEM;
			goto fail;
		}
		out->alts = p;
		alt = &out->alts[out->nalts++];
		*alt = (struct nfo_alt){ .nkeys = 1, .verdict = m->verdict };
		alt->keys[0] = (struct nfo_altkey){ .dim = rv->dim, .set = dimset };
		if (m->chain) {
			alt->target = strdup(m->chain);
			if (!alt->target) {
				r = -ENOMEM;
				goto fail;
			}
		}
	}
	return 1;
unsupported:
	r = 0;
fail:
	alts_clear(out);
	return r;
}

/*
 * A lookup into a named set (or any concatenation) as a set reference: the
 * key must be whole fields in consecutive registers, each starting 4-byte
 * aligned (nft's concatenation layout), covering exactly the set's key.
 * Returns 1 if added, 0 if the key is not such a layout, -ENOMEM.
 */
static int setref_pred(struct tstate *st, uint32_t sreg, const struct nfo_set *set, bool invert)
{
	struct nfo_setref ref = { .set = set, .invert = invert };
	unsigned offs[NFO_SET_MAX_FIELDS];
	struct nfo_vset one = {};
	int r;

	if (set->interval && set->key_len > 16)
		return 0;
	if (!key_fields(st, sreg, set, &ref, offs) || (set->interval && ref.ndims != 1))
		return 0;
	r = nfo_vset_push(&one, 1, 1);
	if (r < 0)
		return r;
	r = nfo_rule_add_pred(st->out, NFO_PDIM_SETREF, !st->after_effect, &one, NULL);
	if (r < 0)
		return r;
	st->out->preds[st->out->npreds - 1].ref = ref;
	return 1;
}

static int do_lookup(struct tstate *st, struct nftnl_expr *e)
{
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET);
	uint32_t sreg = nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_SREG);
	uint32_t flags = nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_FLAGS) ?
				 nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_FLAGS) : 0;
	bool has_dreg = nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_DREG);
	const struct nfo_chain *c = st->out->chain;
	const struct regval *key;
	const struct nfo_set *set;
	struct nfo_vset rel = {};
	char what[96];
	int r;

	set = name ? nfo_ruleset_find_set(st->rs, c->family, c->table, name) : NULL;
	/* The key condition first: the destination may be the key's own
	 * register (nft_lookup_eval breaks when the key is missing, so a map
	 * lookup is also a match on its keys). */
	/* named sets, and concatenations (a key longer than its first field),
	 * are looked up in maps */
	key = reg_read(st, sreg);
	if (set && set->usable && set->verdict_map && has_dreg &&
	    nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_DREG) == NFT_REG_VERDICT && key &&
	    key->kind == R_FIELD && key->len < set->key_len) {
		/* a concatenated verdict map: its alternatives are the key
		 * condition (vmap_concat_alts) */
		r = 0;
	} else if (set && set->usable && !set->is_map &&
	    (set->named || (key && key->kind == R_FIELD && key->len < set->key_len)) &&
	    (r = setref_pred(st, sreg, set, flags & NFT_LOOKUP_F_INV)) != 0) {
		if (r < 0)
			return r;
	} else if (!set) {
		snprintf(what, sizeof(what), "set %s", name ? name : "?");
		r = add_unknown(st, what);
	} else if (!set->usable) {
		snprintf(what, sizeof(what), "set %s: %s", set->name,
			 set->why ? set->why : "unsupported");
		r = add_unknown(st, what);
	} else if (set->key_len > 16) {
		snprintf(what, sizeof(what), "set %s: key", set->name);
		r = add_unknown(st, what);
	} else if (nfo_set_changes_alone(set)) {
		/* its elements in the rule could not expire */
		snprintf(what, sizeof(what), "set %s: elements that change alone, in this lookup",
			 set->name);
		r = add_unknown(st, what);
	} else {
		size_t before = st->out->npreds;

		r = nfo_vset_copy(&rel, &set->elems);
		if (r == 0 && (flags & NFT_LOOKUP_F_INV))
			r = nfo_vset_complement(&rel, nfo_u128_max(set->key_len * 8));
		if (r == 0)
			r = add_relation(st, sreg, set->key_len, &rel, "set lookup");
		nfo_vset_free(&rel);
		/* the elements are now in the rule: they cannot change alone */
		if (r == 0 && st->out->npreds > before)
			st->out->preds[st->out->npreds - 1].from_set = set;
	}
	if (r < 0 || !has_dreg)
		return r;
	if (nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_DREG) == NFT_REG_VERDICT) {
		r = set && set->usable && set->verdict_map ? vmap_alts(st, sreg, set) : 0;
		if (r < 0)
			return r;
		if (r > 0)
			st->out->vmap_set = set;
		if (r == 0) {
			/* A verdict map the fast path cannot follow. */
			st->out->verdict = NFO_VERDICT_STOP;
			if (!st->first_effect) {
				st->first_effect = strdup("verdict map");
				if (!st->first_effect)
					return -ENOMEM;
			}
		}
	} else {
		reg_opaque(st, nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_DREG),
			   set && set->is_map ? 16 : 4, "map value");
	}
	return 0;
}

int nfo_translate_verdict(uint32_t code)
{
	switch ((int)code) {
	case NFT_CONTINUE:
		return NFO_VERDICT_CONTINUE;
	case NFT_RETURN:
		return NFO_VERDICT_RETURN;
	case NFT_JUMP:
		return NFO_VERDICT_JUMP;
	case NFT_GOTO:
		return NFO_VERDICT_GOTO;
	}
	switch (code & NF_VERDICT_MASK) {
	case NF_ACCEPT:
		return NFO_VERDICT_ACCEPT;
	case NF_DROP:
		return NFO_VERDICT_DROP;
	}
	return NFO_VERDICT_STOP;
}

static int do_immediate(struct tstate *st, struct nftnl_expr *e)
{
	uint32_t dreg = nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_DREG);
	struct nfo_rule *out = st->out;
	int v;

	if (dreg != NFT_REG_VERDICT) {
		reg_opaque(st, dreg, 16, "immediate value");
		return 0;
	}
	v = nfo_translate_verdict(nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT));
	out->verdict = v;
	if (v == NFO_VERDICT_JUMP || v == NFO_VERDICT_GOTO) {
		const char *chain = nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN);

		free(out->target);
		out->target = chain ? strdup(chain) : NULL;
		if (chain && !out->target)
			return -ENOMEM;
		return 0;
	}
	if (v != NFO_VERDICT_STOP)
		return 0;
	if (!st->first_effect) {
		st->first_effect = strdup("verdict");
		if (!st->first_effect)
			return -ENOMEM;
	}
	return 0;
}

static int do_ct(struct tstate *st, struct nftnl_expr *e)
{
	uint32_t key = nftnl_expr_get_u32(e, NFTNL_EXPR_CT_KEY);
	char what[64];

	if (nftnl_expr_is_set(e, NFTNL_EXPR_CT_SREG)) {
		if (key == NFT_CT_HELPER)
			st->out->expectations = true;
		snprintf(what, sizeof(what), "%s set", ct_key_name(key));
		return note_effect(st, what);
	}
	if (key == NFT_CT_STATE && !nftnl_expr_is_set(e, NFTNL_EXPR_CT_DIR)) {
		struct regval v = { .kind = R_FIELD, .dim = NFO_DIM_CTSTATE, .len = 4 };

		reg_write(st, nftnl_expr_get_u32(e, NFTNL_EXPR_CT_DREG), 4, &v);
	} else if (key == NFT_CT_STATUS && !nftnl_expr_is_set(e, NFTNL_EXPR_CT_DIR)) {
		struct regval v = { .kind = R_FIELD, .dim = NFO_PDIM_CTSTATUS, .len = 4 };

		reg_write(st, nftnl_expr_get_u32(e, NFTNL_EXPR_CT_DREG), 4, &v);
	} else {
		reg_opaque(st, nftnl_expr_get_u32(e, NFTNL_EXPR_CT_DREG), 16, ct_key_name(key));
	}
	return 0;
}

static int do_byteorder(struct tstate *st, struct nftnl_expr *e)
{
	const struct regval *src = reg_read(st, nftnl_expr_get_u32(e, NFTNL_EXPR_BYTEORDER_SREG));

	/* Keep naming what is converted (meta length > 1000 is a byteorder
	 * of meta len). */
	reg_opaque(st, nftnl_expr_get_u32(e, NFTNL_EXPR_BYTEORDER_DREG),
		   nftnl_expr_get_u32(e, NFTNL_EXPR_BYTEORDER_LEN),
		   src && src->kind == R_OPAQUE ? src->what : "byte order conversion");
	return 0;
}

static int do_counter(struct tstate *st, struct nftnl_expr *e)
{
	(void)e;
	st->out->counter = true;
	return 0;
}

/* last records when the rule last matched: like a counter, the fast path
 * keeps its own. */
static int do_last(struct tstate *st, struct nftnl_expr *e)
{
	(void)st;
	(void)e;
	return 0;
}

static int do_objref(struct tstate *st, struct nftnl_expr *e)
{
	uint32_t type = nftnl_expr_is_set(e, NFTNL_EXPR_OBJREF_IMM_TYPE) ?
				nftnl_expr_get_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE) : 0;

	if (type == NFT_OBJECT_COUNTER) {
		st->out->counter = true;
		return 0;
	}
	/* ct helper / expectation objects, or a map of them */
	if (type == NFT_OBJECT_CT_HELPER || type == NFT_OBJECT_CT_EXPECT ||
	    nftnl_expr_is_set(e, NFTNL_EXPR_OBJREF_SET_NAME))
		st->out->expectations = true;
	return note_effect(st, "stateful object");
}

/* A pure expression that loads something the fast path does not see. Which
 * attribute names the destination register differs per expression: treat
 * every register as overwritten. */
static int do_opaque_load(struct tstate *st, struct nftnl_expr *e)
{
	char what[64];

	snprintf(what, sizeof(what), "%s expression", nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
	for (uint32_t reg = NFT_REG32_00; reg <= NFT_REG32_15; reg++)
		reg_opaque(st, reg, 4, what);
	return 0;
}

/*
 * `fib saddr type` / `fib daddr type` without iif, oif or mark: for IPv4,
 * nft_fib4_eval_type() is inet_dev_addr_type(net, NULL, addr), a function
 * of the address and the local routing table alone; for IPv6 the route
 * lookup of nft_fib6_eval_type() is one where the local table decides
 * (plan-fib.c). The planner resolves it into a predicate on the address
 * (plan-rules.c). Every other form (`oif`, `. iif`, `. mark`) is opaque.
 */
static int do_fib(struct tstate *st, struct nftnl_expr *e)
{
	uint32_t result = nftnl_expr_get_u32(e, NFTNL_EXPR_FIB_RESULT);
	uint32_t flags = nftnl_expr_get_u32(e, NFTNL_EXPR_FIB_FLAGS);
	uint32_t dreg = nftnl_expr_get_u32(e, NFTNL_EXPR_FIB_DREG);
	struct regval v = { .kind = R_FIELD, .len = 4 };

	if (result != NFT_FIB_RESULT_ADDRTYPE || (flags != NFTA_FIB_F_SADDR && flags != NFTA_FIB_F_DADDR)) {
		reg_opaque(st, dreg, 4,
			   result == NFT_FIB_RESULT_ADDRTYPE ?
				   "fib type with iif, oif or mark (depends on the route lookup)" :
				   "fib oif/oifname (a route lookup)");
		return 0;
	}
	v.dim = flags == NFTA_FIB_F_SADDR ? NFO_PDIM_FIB_SADDR : NFO_PDIM_FIB_DADDR;
	reg_write(st, dreg, v.len, &v);
	if (!st->out->note) {
		st->out->note = strdup("fib ... type: decided from the local routing table: for "
				       "IPv4 (inet_dev_addr_type), and for IPv6 while the policy "
				       "rules are the kernel's two and no VRF exists (a route "
				       "lookup that meets the local table first)");
		if (!st->out->note)
			return -ENOMEM;
	}
	return 0;
}

#define NFO_TCPOPT_MAXSEG 2 /* TCPOPT_MSS */

/*
 * TCP option maxseg (bpf/parser.h nfo_parse_tcpopt): `exists`/`missing`
 * (1 byte at offset 0, NFT_EXTHDR_F_PRESENT) and `size` (2 bytes at
 * offset 2). A size load breaks the rule unless the option is there with
 * its size: the load itself is the predicate MSSOPT == VALID.
 */
static int do_exthdr(struct tstate *st, struct nftnl_expr *e)
{
	uint32_t op = nftnl_expr_is_set(e, NFTNL_EXPR_EXTHDR_OP) ?
			      nftnl_expr_get_u32(e, NFTNL_EXPR_EXTHDR_OP) : 0;
	uint32_t flags = nftnl_expr_is_set(e, NFTNL_EXPR_EXTHDR_FLAGS) ?
				 nftnl_expr_get_u32(e, NFTNL_EXPR_EXTHDR_FLAGS) : 0;
	uint32_t dreg = nftnl_expr_get_u32(e, NFTNL_EXPR_EXTHDR_DREG);
	uint32_t off = nftnl_expr_get_u32(e, NFTNL_EXPR_EXTHDR_OFFSET);
	uint32_t len = nftnl_expr_get_u32(e, NFTNL_EXPR_EXTHDR_LEN);
	uint8_t type = nftnl_expr_get_u8(e, NFTNL_EXPR_EXTHDR_TYPE);
	struct regval v = { .kind = R_FIELD };

	/* exthdr with a source register writes the packet. */
	if (nftnl_expr_is_set(e, NFTNL_EXPR_EXTHDR_SREG))
		return note_effect(st, "exthdr mangling");
	if (op != NFT_EXTHDR_OP_TCPOPT || type != NFO_TCPOPT_MAXSEG)
		return do_opaque_load(st, e);
	if (flags == NFT_EXTHDR_F_PRESENT && off == 0 && len == 1) {
		v.dim = NFO_DIM_MSSOPT;
		v.len = 1;
	} else if (!flags && off == 2 && len == 2) {
		struct nfo_vset valid = {};
		int r = nfo_vset_push(&valid, NFO_TCPOPT_VALID, NFO_TCPOPT_VALID);

		if (r == 0)
			r = add_pred(st, NFO_DIM_MSSOPT, &valid);
		if (r < 0)
			return r;
		v.dim = NFO_DIM_TCPMSS;
		v.len = 2;
	} else {
		reg_opaque(st, dreg, len, "tcp option maxseg (other than size, exists, missing)");
		return 0;
	}
	reg_write(st, dreg, v.len, &v);
	return 0;
}

/* A statement whose effect the fast path would lose if it dropped the packet. */
static int do_effect(struct tstate *st, struct nftnl_expr *e)
{
	char what[64];

	snprintf(what, sizeof(what), "%s statement", nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
	return note_effect(st, what);
}

/*
 * limit (nft_limit.c): a token bucket per rule instance; the rule goes on
 * while it holds a token ("limit rate over": while it does not), and every
 * packet that reaches the statement takes part in it. Taking tokens is an
 * effect, but one that only decides which of the packets reaching it take
 * which branch: where both branches block the packet, the limit only
 * decides which ones nftables answers (SEMANTICS.md section 4.1). That
 * depends on the rules after it, so it becomes an UNKNOWN predicate here
 * and import.c (settle_limits) turns it back into an effect where the
 * branches may differ.
 */
static int do_limit(struct tstate *st, struct nftnl_expr *e)
{
	struct nfo_vset empty = {};
	char *reason;

	if (st->after_effect)
		return do_effect(st, e);
	reason = strdup("limit statement");
	if (!reason)
		return -ENOMEM;
	if (!st->out->limit_at)
		st->out->limit_at = st->out->npreds + 1;
	return nfo_rule_add_pred(st->out, NFO_PDIM_UNKNOWN, true, &empty, reason);
}

/*
 * reject: in the ip, ip6 and inet families an ICMP error goes through
 * nf_send_unreach[6] -> icmp_send / icmpv6_send, rate-limited by the
 * kernel: a drop the fast path may make beyond those limits (SEMANTICS.md
 * section 4.1). A TCP reset (nf_send_reset, nf_send_reset6) is sent
 * without limit: in the ip, ip6 and inet families the fast path may send it
 * itself (the planner decides where: NFO_REJECT_TCP_RST). Anything the
 * netdev and bridge families send (nft_reject_netdev,
 * nft_reject_bridge build and transmit the reply themselves), and ICMP
 * "fragmentation needed" (never rate-limited: icmpv4_mask_allow) are
 * effects. In the inet family,
 * nft_reject_inet_eval() hands NFT_REJECT_ICMP_UNREACH's code to
 * nf_send_unreach() for IPv4 packets and to nf_send_unreach6() for IPv6
 * ones: code 4 is frag-needed only for IPv4, for IPv6 it is port
 * unreachable (nft writes `ip6 ... reject` in inet that way), so a rule
 * whose packets are IPv6 only (meta nfproto ipv6) rejects with a limited
 * error.
 */
static int do_reject(struct tstate *st, struct nftnl_expr *e)
{
	uint32_t type = nftnl_expr_get_u32(e, NFTNL_EXPR_REJECT_TYPE);
	uint8_t code = nftnl_expr_get_u8(e, NFTNL_EXPR_REJECT_CODE);
	int family = st->out->chain->family;
	bool icmp;

	if (family != NFPROTO_IPV4 && family != NFPROTO_IPV6 && family != NFPROTO_INET)
		return do_effect(st, e);
	if (type == NFT_REJECT_TCP_RST) {
		st->out->reject = NFO_REJECT_TCP_RST;
		st->out->verdict = NFO_VERDICT_DROP;
		return 0;
	}
	icmp = type == NFT_REJECT_ICMPX_UNREACH ||
	       (type == NFT_REJECT_ICMP_UNREACH &&
		(family == NFPROTO_IPV6 || code != 4 /* ICMP_FRAG_NEEDED */ ||
		 (family == NFPROTO_INET && st->l3 == 6)));
	if (!icmp)
		return do_effect(st, e);
	st->out->reject = NFO_REJECT_ICMP;
	st->out->verdict = NFO_VERDICT_DROP;
	return 0;
}

static int do_xt_target(struct tstate *st, struct nftnl_expr *e)
{
	/* an xtables target may be CT --helper */
	st->out->expectations = true;
	return do_effect(st, e);
}

/* One entry per expression type the kernel knows (nftables'
 * netlink_parsers[] in spirit); names not here are unsupported, an effect. */
static const struct expr_parser {
	const char *name;
	int (*parse)(struct tstate *st, struct nftnl_expr *e);
} expr_parsers[] = {
	{ "payload", do_payload },
	{ "meta", do_meta },
	{ "ct", do_ct },
	{ "cmp", do_cmp },
	{ "range", do_range },
	{ "lookup", do_lookup },
	{ "bitwise", do_bitwise },
	{ "byteorder", do_byteorder },
	{ "immediate", do_immediate },
	{ "counter", do_counter },
	{ "last", do_last },
	{ "objref", do_objref },
	/* loads of what the fast path does not see */
	{ "exthdr", do_exthdr },        { "fib", do_fib },     { "socket", do_opaque_load },
	{ "osf", do_opaque_load },      { "xfrm", do_opaque_load },    { "rt", do_opaque_load },
	{ "hash", do_opaque_load },     { "numgen", do_opaque_load },  { "inner", do_opaque_load },
	/* statements with an effect */
	{ "target", do_xt_target },     { "log", do_effect },          { "limit", do_limit },
	{ "quota", do_effect },         { "connlimit", do_effect },    { "reject", do_reject },
	{ "nat", do_effect },           { "masq", do_effect },         { "redir", do_effect },
	{ "queue", do_effect },         { "dup", do_effect },          { "fwd", do_effect },
	{ "synproxy", do_effect },      { "tproxy", do_effect },       { "notrack", do_effect },
	{ "dynset", do_effect },        { "flow_offload", do_effect }, { "match", do_effect },
	{ "secmark", do_effect },       { "tunnel", do_effect },
};

static int do_expr(struct nftnl_expr *e, void *data)
{
	struct tstate *st = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	char what[64];

	if (!name)
		return note_effect(st, "unnamed expression");
	for (size_t i = 0; i < ARRAY_SIZE(expr_parsers); i++)
		if (!strcmp(name, expr_parsers[i].name))
			return expr_parsers[i].parse(st, e);
	snprintf(what, sizeof(what), "unsupported expression %s", name);
	return note_effect(st, what);
}

int nfo_translate_rule(const struct nfo_ruleset *rs, struct nftnl_rule *nr, struct nfo_rule *out)
{
	struct tstate st = { .rs = rs, .out = out };
	char buf[160];
	int r;

	out->verdict = NFO_VERDICT_CONTINUE;
	switch (out->chain->family) {
	case NFPROTO_IPV4:
		st.l3 = 4;
		break;
	case NFPROTO_IPV6:
		st.l3 = 6;
		break;
	}

	r = nftnl_expr_foreach(nr, do_expr, &st);
	if (r < 0) {
		r = -ENOMEM;
		goto out;
	}

	if (out->effect || out->verdict == NFO_VERDICT_STOP) {
		out->offload = NFO_OFFLOAD_NONE;
		snprintf(buf, sizeof(buf), "%s", st.first_effect ? st.first_effect : "statement");
	} else if (st.first_unknown) {
		out->offload = NFO_OFFLOAD_PARTIAL;
		snprintf(buf, sizeof(buf), "%s", st.first_unknown);
	} else {
		out->offload = NFO_OFFLOAD_FULL;
		buf[0] = '\0';
	}
	if (buf[0]) {
		out->reason = strdup(buf);
		if (!out->reason)
			r = -ENOMEM;
	}
out:
	free(st.first_unknown);
	free(st.first_effect);
	return r;
}
