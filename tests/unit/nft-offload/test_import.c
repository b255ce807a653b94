// SPDX-License-Identifier: GPL-2.0-only
/*
 * The importer (import.c) on dumps built from libnftnl objects, without
 * netlink: what it takes from tables, flowtables and sets, and nfo_set_reload,
 * which the daemon calls when a transaction changed only set elements.
 * Rules and their translation are tested on captures in test_translate.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/flowtable.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "netlink/nft.h"
#include "nft-offload/import.h"
#include "nft-offload/ruleset.h"
#include "nft-offload/setdelta.h"

static void add_table(struct nfo_nft_dump *d, uint32_t family, const char *name, uint32_t flags)
{
	struct nftnl_table *t = nftnl_table_alloc();

	assert_non_null(t);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, flags);
	nftnl_table_list_add_tail(t, d->tables);
}

static void add_chain(struct nfo_nft_dump *d, uint32_t family, const char *table, const char *name)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	assert_non_null(c);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, family);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_LOCAL_IN);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
	nftnl_chain_list_add_tail(c, d->chains);
}

static void add_flowtable(struct nfo_nft_dump *d, uint32_t family, const char *table,
			  const char *name, const char **devs)
{
	struct nftnl_flowtable *f = nftnl_flowtable_alloc();

	assert_non_null(f);
	nftnl_flowtable_set_u32(f, NFTNL_FLOWTABLE_FAMILY, family);
	nftnl_flowtable_set_str(f, NFTNL_FLOWTABLE_TABLE, table);
	nftnl_flowtable_set_str(f, NFTNL_FLOWTABLE_NAME, name);
	nftnl_flowtable_set_s32(f, NFTNL_FLOWTABLE_PRIO, -5);
	nftnl_flowtable_set_array(f, NFTNL_FLOWTABLE_DEVICES, devs);
	nftnl_flowtable_list_add_tail(f, d->flowtables);
}

/* A set of inet_service (2-byte keys) with the given elements. */
static struct nftnl_set *port_set(const char *table, const char *name, uint32_t flags,
				  const uint16_t *ports, const uint32_t *elem_flags, size_t n)
{
	struct nftnl_set *s = nftnl_set_alloc();

	assert_non_null(s);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 2);
	for (size_t i = 0; i < n; i++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();
		uint16_t key = htons(ports[i]);

		assert_non_null(e);
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &key, sizeof(key));
		if (elem_flags && elem_flags[i])
			nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, elem_flags[i]);
		nftnl_set_elem_add(s, e);
	}
	return s;
}

static void expect_ivals(const struct nfo_vset *v, const nfo_u128 (*want)[2], size_t n)
{
	assert_int_equal(v->n, n);
	for (size_t i = 0; i < n; i++) {
		assert_true(v->iv[i].lo == want[i][0]);
		assert_true(v->iv[i].hi == want[i][1]);
	}
}

/* A dormant table's hooks are not registered: its chains, sets and
 * flowtables are left out; the same names in another family are not. */
static void test_dormant_and_flowtables(void **state)
{
	const char *devs[] = { "eth0", "eth1", NULL };
	const uint16_t ports[] = { 22 };
	struct nfo_nft_dump *d = NULL;
	struct nfo_ruleset *rs = NULL;
	const struct nfo_flowtable *f;

	(void)state;
	assert_int_equal(nfo_nft_dump_new(&d), 0);
	d->genid = 9;
	add_table(d, NFPROTO_INET, "t", NFT_TABLE_F_DORMANT);
	add_table(d, NFPROTO_IPV4, "t", 0);
	add_chain(d, NFPROTO_INET, "t", "in");
	add_chain(d, NFPROTO_IPV4, "t", "in");
	nftnl_set_list_add_tail(port_set("t", "s", 0, ports, NULL, 1), d->sets);
	add_flowtable(d, NFPROTO_INET, "t", "ft", devs);
	add_flowtable(d, NFPROTO_IPV4, "t", "ft", devs);
	assert_int_equal(nfo_ruleset_new(&rs, d), 0);

	assert_int_equal(rs->genid, 9);
	assert_int_equal(rs->nchains, 1);
	assert_int_equal(rs->chains[0].family, NFPROTO_IPV4);
	assert_true(rs->chains[0].base);
	assert_int_equal(rs->chains[0].hook, NFO_HOOK_INPUT);
	assert_null(nfo_ruleset_find_chain(rs, NFPROTO_INET, "t", "in"));
	/* the set is in the dormant inet table */
	assert_int_equal(rs->nsets, 0);
	assert_int_equal(rs->nflowtables, 1);
	f = &rs->flowtables[0];
	assert_int_equal(f->family, NFPROTO_IPV4);
	assert_string_equal(f->name, "ft");
	assert_int_equal(f->prio, -5);
	assert_int_equal(f->ndevs, 2);
	assert_string_equal(f->devs[0], "eth0");
	assert_string_equal(f->devs[1], "eth1");
	nfo_ruleset_free(&rs);
	assert_null(rs);
	nfo_nft_dump_free(&d);
}

static struct nfo_ruleset *one_set(struct nftnl_set *ns)
{
	struct nfo_nft_dump *d = NULL;
	struct nfo_ruleset *rs = NULL;

	assert_int_equal(nfo_nft_dump_new(&d), 0);
	add_table(d, NFPROTO_INET, "t", 0);
	nftnl_set_list_add_tail(ns, d->sets);
	assert_int_equal(nfo_ruleset_new(&rs, d), 0);
	nfo_nft_dump_free(&d);
	assert_int_equal(rs->nsets, 1);
	return rs;
}

/* New elements replace the old ones; the keys stay sorted. */
static void test_set_reload(void **state)
{
	const uint16_t before[] = { 443, 22, 80 }, after[] = { 8080, 25 };
	const nfo_u128 want_before[][2] = { { 22, 22 }, { 80, 80 }, { 443, 443 } };
	const nfo_u128 want_after[][2] = { { 25, 25 }, { 8080, 8080 } };
	struct nfo_ruleset *rs = one_set(port_set("t", "s", 0, before, NULL, 3));
	struct nfo_set *s = nfo_ruleset_find_set(rs, NFPROTO_INET, "t", "s");
	struct nftnl_set *ns;

	(void)state;
	assert_non_null(s);
	assert_true(s->usable);
	assert_true(s->named);
	expect_ivals(&s->elems, want_before, 3);
	assert_int_equal(s->nkeys, 3);
	assert_memory_equal(s->keys, "\x00\x16\x00\x50\x01\xbb", 6);

	ns = port_set("t", "s", 0, after, NULL, 2);
	assert_int_equal(nfo_set_reload(s, ns, NULL), 0);
	nftnl_set_free(ns);
	assert_true(s->usable);
	expect_ivals(&s->elems, want_after, 2);
	assert_int_equal(s->nkeys, 2);
	assert_memory_equal(s->keys, "\x00\x19\x1f\x90", 4);

	/* emptied */
	ns = port_set("t", "s", 0, after, NULL, 0);
	assert_int_equal(nfo_set_reload(s, ns, NULL), 0);
	nftnl_set_free(ns);
	assert_true(s->usable);
	assert_int_equal(s->elems.n, 0);
	assert_int_equal(s->nkeys, 0);
	nfo_ruleset_free(&rs);
}

/* A set redefined with another type or flags is a structural change. */
static void test_set_reload_type_changed(void **state)
{
	const uint16_t ports[] = { 22 };
	struct nfo_ruleset *rs = one_set(port_set("t", "s", 0, ports, NULL, 1));
	struct nfo_set *s = &rs->sets[0];
	struct nftnl_set *ns;

	(void)state;
	ns = port_set("t", "s", NFT_SET_INTERVAL, ports, NULL, 1);
	assert_int_equal(nfo_set_reload(s, ns, NULL), -EINVAL);
	nftnl_set_free(ns);
	ns = port_set("t", "s", 0, ports, NULL, 1);
	nftnl_set_set_u32(ns, NFTNL_SET_KEY_LEN, 4);
	assert_int_equal(nfo_set_reload(s, ns, NULL), -EINVAL);
	nftnl_set_free(ns);
	/* untouched */
	assert_true(s->usable);
	assert_int_equal(s->elems.n, 1);
	nfo_ruleset_free(&rs);
}

/* Interval sets hold starts and ends (NFT_SET_ELEM_INTERVAL_END); a start
 * runs up to the next element, the last start to the maximum. */
static void test_set_reload_intervals(void **state)
{
	/* { 10-19, 30-39, 60000-65535 }, sent out of order */
	const uint16_t keys[] = { 30, 10, 40, 20, 60000, 0 };
	const uint32_t flags[] = { 0, 0, NFT_SET_ELEM_INTERVAL_END, NFT_SET_ELEM_INTERVAL_END, 0,
				   NFT_SET_ELEM_INTERVAL_END };
	const nfo_u128 want[][2] = { { 10, 19 }, { 30, 39 }, { 60000, 65535 } };
	struct nfo_ruleset *rs = one_set(port_set("t", "s", NFT_SET_INTERVAL, keys, NULL, 0));
	struct nfo_set *s = &rs->sets[0];
	struct nftnl_set *ns;

	(void)state;
	assert_true(s->interval);
	ns = port_set("t", "s", NFT_SET_INTERVAL, keys, flags, 6);
	assert_int_equal(nfo_set_reload(s, ns, NULL), 0);
	nftnl_set_free(ns);
	assert_true(s->usable);
	expect_ivals(&s->elems, want, 3);
	/* interval sets have no exact keys */
	assert_int_equal(s->nkeys, 0);
	nfo_ruleset_free(&rs);
}

/* Elements the fast path cannot hold still: the set is not usable, and
 * says why. */
static void test_set_not_usable(void **state)
{
	const uint16_t ports[] = { 22, 80 };
	struct nfo_ruleset *rs = one_set(port_set("t", "s", 0, ports, NULL, 2));
	struct nfo_set *s = &rs->sets[0];
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	uint16_t key = htons(443);
	struct nftnl_set *ns;

	(void)state;
	/* one element of three with a timeout */
	ns = port_set("t", "s", 0, ports, NULL, 2);
	assert_non_null(e);
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &key, sizeof(key));
	nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, 1000);
	nftnl_set_elem_add(ns, e);
	/* usable before, not now: the rules must be translated again */
	assert_int_equal(nfo_set_reload(s, ns, NULL), -ESTALE);
	nftnl_set_free(ns);
	assert_false(s->usable);
	assert_string_equal(s->why, "elements expire");
	assert_int_equal(s->elems.n, 0);
	assert_int_equal(s->nkeys, 0);
	nfo_ruleset_free(&rs);

	/* dynamic, but no rule changes it from the packet path (a rule that
	 * would is a structural change) */
	rs = one_set(port_set("t", "s", NFT_SET_EVAL, ports, NULL, 2));
	assert_true(rs->sets[0].usable);
	assert_false(rs->sets[0].pp_add);
	nfo_ruleset_free(&rs);
}

/* ---- timeouts ---------------------------------------------------------------------- */

/* The expiry's lower bound: the reading before the request plus the ms
 * left, in whole jiffies, rounded down. */
static void test_elem_expiry(void **state)
{
	struct nfo_elem e = {};

	(void)state;
	/* no timeout: never */
	assert_int_equal(nfo_elem_expiry(&e, 1000, 250), 0);
	/* the set's default timeout: only EXPIRATION is sent */
	e.has_expiration = true;
	e.expiration_ms = 3600000;
	assert_int_equal(nfo_elem_expiry(&e, 1000, 250), 1000 + 900000);
	/* 1999 ms at HZ=250 is 499.75 jiffies: 499, never late */
	e.expiration_ms = 1999;
	assert_int_equal(nfo_elem_expiry(&e, 1000, 250), 1000 + 499);
	e.expiration_ms = 3;
	assert_int_equal(nfo_elem_expiry(&e, 1000, 250), 1000);
	/* HZ=300: 1001 ms is 300.3 jiffies */
	e.expiration_ms = 1001;
	assert_int_equal(nfo_elem_expiry(&e, 1000, 300), 1000 + 300);
	/* HZ=1000 and large values: exact, no overflow */
	e.expiration_ms = 30ull * 24 * 3600 * 1000;
	assert_int_equal(nfo_elem_expiry(&e, 1ull << 40, 1000), (1ull << 40) + e.expiration_ms);
	/* an own timeout with its expiration: the expiration counts */
	e.has_timeout = true;
	e.timeout_ms = 30000;
	e.expiration_ms = 29996;
	assert_int_equal(nfo_elem_expiry(&e, 1000, 250), 1000 + 7499);
	/* timeout 0 in a set with a default: this element never expires */
	e = (struct nfo_elem){ .has_timeout = true, .timeout_ms = 0 };
	assert_int_equal(nfo_elem_expiry(&e, 1000, 250), 0);
	/* a timeout without an expiration cannot be placed: gone already */
	e.timeout_ms = 5000;
	assert_int_equal(nfo_elem_expiry(&e, 1000, 250), 1000);
}

struct life {
	uint16_t port;
	int64_t timeout_ms;    /* -1: not sent */
	int64_t expiration_ms; /* -1: not sent */
};

static struct nftnl_set *timeout_set(const char *name, uint64_t set_timeout_ms,
				     const struct life *l, size_t n)
{
	struct nftnl_set *s = port_set("t", name, NFT_SET_TIMEOUT, NULL, NULL, 0);

	if (set_timeout_ms)
		nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, set_timeout_ms);
	for (size_t i = 0; i < n; i++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();
		uint16_t key = htons(l[i].port);

		assert_non_null(e);
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &key, sizeof(key));
		if (l[i].timeout_ms >= 0)
			nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, (uint64_t)l[i].timeout_ms);
		if (l[i].expiration_ms >= 0)
			nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_EXPIRATION,
					       (uint64_t)l[i].expiration_ms);
		nftnl_set_elem_add(s, e);
	}
	return s;
}

/* A rule in chain "in" of table t with one dynset on set (op, timeout). */
static void add_dynset_rule(struct nfo_nft_dump *d, const char *set, uint32_t op,
			    uint64_t timeout_ms, uint64_t handle)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr *e = nftnl_expr_alloc("dynset");

	assert_non_null(r);
	assert_non_null(e);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, "t");
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "in");
	nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
	nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, set);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, op);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG32_00);
	if (timeout_ms)
		nftnl_expr_set_u64(e, NFTNL_EXPR_DYNSET_TIMEOUT, timeout_ms);
	nftnl_rule_add_expr(r, e);
	nftnl_rule_list_add_tail(r, d->rules);
}

static struct nfo_ruleset *timeout_ruleset(struct nftnl_set *ns, const struct nfo_nft_jiffies *at,
					   uint32_t dyn_op, uint64_t dyn_timeout_ms)
{
	struct nfo_nft_dump *d = NULL;
	struct nfo_ruleset *rs = NULL;

	assert_int_equal(nfo_nft_dump_new(&d), 0);
	if (at)
		d->at = *at;
	add_table(d, NFPROTO_INET, "t", 0);
	add_chain(d, NFPROTO_INET, "t", "in");
	nftnl_set_list_add_tail(ns, d->sets);
	if (dyn_op != UINT32_MAX)
		add_dynset_rule(d, nftnl_set_get_str(ns, NFTNL_SET_NAME), dyn_op, dyn_timeout_ms, 7);
	assert_int_equal(nfo_ruleset_new(&rs, d), 0);
	nfo_nft_dump_free(&d);
	assert_int_equal(rs->nsets, 1);
	return rs;
}

/* Elements of a timeout set carry their expiry (lower bound, jiffies64),
 * in the order of the sorted keys; the default timeout sends no TIMEOUT. */
static void test_set_timeouts(void **state)
{
	const struct life l[] = {
		{ 8080, -1, 3600000 }, /* the set's default (1h) */
		{ 22, 30000, 29996 },  /* its own 30 s, 4 ms gone */
		{ 443, 0, -1 },        /* timeout 0: never expires */
		{ 80, 2000, 1999 },
	};
	const struct nfo_nft_jiffies at = { .jiffies = 4294892296ull, .hz = 250 };
	struct nfo_ruleset *rs = timeout_ruleset(timeout_set("s", 3600000, l, 4), &at, UINT32_MAX, 0);
	struct nfo_set *s = &rs->sets[0];
	const uint16_t want_port[] = { 22, 80, 443, 8080 };
	const uint64_t want_exp[] = { at.jiffies + 7499, at.jiffies + 499, 0, at.jiffies + 900000 };
	struct nftnl_set *ns;

	(void)state;
	assert_true(s->usable);
	assert_int_equal(s->timeout_ms, 3600000);
	assert_int_equal(s->nkeys, 4);
	assert_non_null(s->expires);
	for (size_t i = 0; i < 4; i++) {
		uint16_t k;

		memcpy(&k, s->keys + 2 * i, 2);
		assert_int_equal(ntohs(k), want_port[i]);
		assert_int_equal(s->expires[i], want_exp[i]);
	}
	/* no rule reads it: nothing to restrict */
	assert_true(s->drop_only);

	/* read again later: new expiries from the new reading */
	ns = timeout_set("s", 3600000, l, 1);
	assert_int_equal(nfo_set_reload(s, ns, &(struct nfo_nft_jiffies){ at.jiffies + 10, 250 }), 0);
	nftnl_set_free(ns);
	assert_int_equal(s->nkeys, 1);
	assert_int_equal(s->expires[0], at.jiffies + 10 + 900000);

	/* without a clock the expiries cannot be placed: the rules were
	 * translated for a usable set, so -ESTALE (translate again) */
	ns = timeout_set("s", 3600000, l, 2);
	assert_int_equal(nfo_set_reload(s, ns, NULL), -ESTALE);
	nftnl_set_free(ns);
	assert_false(s->usable);
	assert_string_equal(s->why, "elements expire and the kernel clock cannot be read");
	assert_null(s->expires);
	nfo_ruleset_free(&rs);

	/* elements that never expire need no clock */
	rs = timeout_ruleset(timeout_set("s", 0, &l[2], 1), NULL, UINT32_MAX, 0);
	assert_true(rs->sets[0].usable);
	assert_null(rs->sets[0].expires);
	nfo_ruleset_free(&rs);
}

/*
 * A dump that spans transactions may send an element twice (nf_tables
 * walks the set from its start for every message and skips what it sent:
 * an element inserted ahead of that position shifts the rest by one): the
 * part of a streamed set read after the generation check. The model holds
 * each key once, or a delete folded into the keys would keep the other
 * copy (the fast path then misses the key when nftables adds it again, or
 * gets it back in a whole write after nftables deleted it), and a set read
 * again would lose a key it holds.
 */
static void test_set_read_twice(void **state)
{
	const uint16_t ports[] = { 80, 22, 443, 22, 8080, 443, 443 };
	struct nfo_ruleset *rs = one_set(port_set("t", "s", 0, ports, NULL, 7));
	struct nfo_set *s = &rs->sets[0], fresh = {};
	struct nfo_nft_elem del = { .klen = 2, .del = true };
	struct nfo_set_change c = {};
	uint16_t k = htons(443);
	struct nftnl_set *ns;

	(void)state;
	assert_true(s->usable);
	assert_int_equal(s->nkeys, 4);
	assert_memory_equal(s->keys, "\x00\x16\x00\x50\x01\xbb\x1f\x90", 8);
	assert_int_equal(nfo_set_nkeys_held(s), 4);

	/* deleted, folded (as a rebuild does before it writes the maps) */
	memcpy(del.key, &k, 2);
	assert_int_equal(nfo_set_apply_ops(s, &del, 1, &c), 0);
	assert_int_equal(c.ndel_keys, 1);
	nfo_set_change_clear(&c);
	assert_int_equal(nfo_set_refresh_elems(s), 0);
	assert_false(nfo_set_has_key(s, (const uint8_t *)&k, NULL));
	assert_int_equal(s->nkeys, 3);
	assert_memory_equal(s->keys, "\x00\x16\x00\x50\x1f\x90", 6);
	/* added again: a change the maps must get */
	del.del = false;
	assert_int_equal(nfo_set_apply_ops(s, &del, 1, &c), 0);
	assert_int_equal(c.nadd_keys, 1);
	nfo_set_change_clear(&c);

	/* read again, twice over too: nothing changed */
	nfo_set_copy_type(s, &fresh);
	ns = port_set("t", "s", 0, ports, NULL, 7);
	assert_int_equal(nfo_set_reload(&fresh, ns, NULL), 0);
	nftnl_set_free(ns);
	assert_int_equal(nfo_set_replace(s, &fresh, &c), 0);
	assert_int_equal(nfo_set_change_size(&c), 0);
	assert_int_equal(s->nkeys, 4);
	nfo_set_change_clear(&c);
	nfo_set_clear_elems(&fresh);
	nfo_ruleset_free(&rs);
}

/* A dump that sent an element twice may have left others out (the kernel
 * resized the set's table under the walk: netlink/nft.c): a set the fast
 * path needs whole is read again (-EAGAIN); one whose elements change
 * alone anyway (timeouts) is taken, its lookups leading to drop only. */
static void test_set_repeated_read(void **state)
{
	const uint16_t ports[] = { 22, 80, 80 };
	const uint32_t flags[] = { NFT_SET_TIMEOUT, 0 };

	(void)state;
	for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
		struct nfo_ruleset *rs = one_set(port_set("t", "s", flags[f], ports, NULL, 1));
		struct nfo_set *s = &rs->sets[0];
		struct nftnl_set *ns = port_set("t", "s", flags[f], ports, NULL, 3);
		struct nfo_nft_elems *es = NULL;

		assert_int_equal(nfo_nft_elems_from_nftnl(ns, &es), 0);
		es->repeated = nfo_nft_elems_repeat(es);
		assert_true(es->repeated);
		assert_int_equal(nfo_set_reload_elems(s, ns, es, NULL),
				 flags[f] & NFT_SET_TIMEOUT ? 0 : -EAGAIN);
		/* read again without the repeat: taken */
		es->repeated = false;
		assert_int_equal(nfo_set_reload_elems(s, ns, es, NULL), 0);
		assert_int_equal(s->nkeys, 2);
		nfo_nft_elems_free(&es);
		nftnl_set_free(ns);
		nfo_ruleset_free(&rs);
	}
}

/* A key a dump sent twice (test_set_read_twice) with two readings of its
 * expiry, both lower bounds when they were taken: a re-add between them may
 * have made it sooner, so the earlier one stays; never (0) is later than
 * any. */
static void test_set_timeouts_read_twice(void **state)
{
	const struct life l[] = {
		{ 22, 30000, 29996 }, { 80, -1, 3600000 }, { 22, 10000, 8000 },
		{ 443, 0, -1 },       { 443, 2000, 1999 },  { 80, -1, 3600000 },
	};
	const struct nfo_nft_jiffies at = { .jiffies = 1000, .hz = 250 };
	struct nfo_ruleset *rs = timeout_ruleset(timeout_set("s", 3600000, l, 6), &at, UINT32_MAX, 0);
	struct nfo_set *s = &rs->sets[0];
	const uint16_t want_port[] = { 22, 80, 443 };
	const uint64_t want_exp[] = { 1000 + 2000, 1000 + 900000, 1000 + 499 };

	(void)state;
	assert_true(s->usable);
	assert_int_equal(s->nkeys, 3);
	for (size_t i = 0; i < 3; i++) {
		uint16_t k;

		memcpy(&k, s->keys + 2 * i, 2);
		assert_int_equal(ntohs(k), want_port[i]);
		assert_int_equal(s->expires[i], want_exp[i]);
	}
	nfo_ruleset_free(&rs);
}

/* A port set with flags interval,timeout: elements (port, end?, expiration
 * ms or -1: none sent). */
struct bound_life {
	uint16_t port;
	bool end;
	int64_t expiration_ms;
};

static struct nftnl_set *timed_interval_set(uint64_t set_timeout_ms, const struct bound_life *l,
					    size_t n)
{
	struct nftnl_set *s = port_set("t", "r", NFT_SET_INTERVAL | NFT_SET_TIMEOUT, NULL, NULL, 0);

	if (set_timeout_ms)
		nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, set_timeout_ms);
	for (size_t i = 0; i < n; i++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();
		uint16_t key = htons(l[i].port);

		assert_non_null(e);
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &key, sizeof(key));
		if (l[i].end)
			nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
		if (l[i].expiration_ms >= 0) {
			if (!l[i].end)
				nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, 600000);
			nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_EXPIRATION,
					       (uint64_t)l[i].expiration_ms);
		}
		nftnl_set_elem_add(s, e);
	}
	return s;
}

/*
 * Ranges that expire are offloaded one by one, each with its start
 * element's expiry, adjacent ones not merged. A start key where an end
 * element may sit gets the earlier of both expiries when the set has a
 * default timeout (the only way an end element expires), and counts as
 * gone when no end element was read there (an expired one may still be in
 * the kernel's tree, and a lookup meeting it fails).
 */
static void test_set_timed_ranges(void **state)
{
	/* 10-19 (1 s), 20-29 (2 s, adjacent), 40-40 (never), as nft adds them */
	const struct bound_life l[] = {
		{ 0, true, -1 },   { 10, false, 1000 }, { 20, true, -1 }, { 20, false, 2000 },
		{ 30, true, -1 },  { 40, false, -1 },   { 41, true, -1 },
	};
	/* the same with a default timeout: end elements expire too */
	const struct bound_life d[] = {
		{ 0, true, 5000 }, { 10, false, 1000 }, { 20, true, 500 }, { 20, false, 2000 },
		{ 30, true, 5000 }, { 40, false, 3000 }, { 41, true, 5000 },
	};
	const struct nfo_nft_jiffies at = { .jiffies = 1000000, .hz = 1000 };
	struct nfo_ruleset *rs;
	const struct nfo_set *s;

	(void)state;
	rs = timeout_ruleset(timed_interval_set(0, l, 7), &at, UINT32_MAX, 0);
	s = &rs->sets[0];
	assert_true(s->usable);
	assert_true(s->drop_only);
	assert_int_equal(s->ntivals, 3);
	assert_true(s->tivals[0].lo == 10 && s->tivals[0].hi == 19);
	assert_true(s->tivals[1].lo == 20 && s->tivals[1].hi == 29);
	assert_true(s->tivals[2].lo == 40 && s->tivals[2].hi == 40);
	assert_int_equal(s->tivals[0].expires, at.jiffies + 1000);
	assert_int_equal(s->tivals[1].expires, at.jiffies + 2000);
	assert_int_equal(s->tivals[2].expires, 0);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(s->tivals[i].lo_expires, s->tivals[i].expires);
	/* the union, merged, for everything but the stores */
	assert_int_equal(s->elems.n, 2);
	nfo_ruleset_free(&rs);

	rs = timeout_ruleset(timed_interval_set(5000, d, 7), &at, UINT32_MAX, 0);
	s = &rs->sets[0];
	assert_true(s->usable);
	assert_int_equal(s->ntivals, 3);
	assert_int_equal(s->tivals[0].lo_expires, 1);               /* no end read at 10 */
	assert_int_equal(s->tivals[1].lo_expires, at.jiffies + 500); /* the end at 20 first */
	assert_int_equal(s->tivals[1].expires, at.jiffies + 2000);
	assert_int_equal(s->tivals[2].lo_expires, 1);
	nfo_ruleset_free(&rs);
}

/* The packet path: add keeps an element's expiry, update may move it to
 * now + its timeout (which must cover what any element had left), delete
 * removes elements without a notification. */
static void test_set_packet_path(void **state)
{
	const struct life l[] = { { 22, -1, 60000 } }; /* 1 min left of the 1 min default */
	const struct nfo_nft_jiffies at = { .jiffies = 5000000, .hz = 1000 };
	struct nfo_ruleset *rs;

	(void)state;
	rs = timeout_ruleset(timeout_set("s", 60000, l, 1), &at, NFT_DYNSET_OP_ADD, 1000);
	assert_true(rs->sets[0].usable);
	assert_true(rs->sets[0].pp_add);
	assert_string_equal(rs->sets[0].pp_rule, "chain in handle 7");
	nfo_ruleset_free(&rs);

	/* update with 2 min: only extends */
	rs = timeout_ruleset(timeout_set("s", 60000, l, 1), &at, NFT_DYNSET_OP_UPDATE, 120000);
	assert_true(rs->sets[0].usable);
	assert_int_equal(rs->sets[0].pp_update_ms, 120000);
	nfo_ruleset_free(&rs);

	/* update with 10 s: a refresh can make an element expire earlier */
	rs = timeout_ruleset(timeout_set("s", 60000, l, 1), &at, NFT_DYNSET_OP_UPDATE, 10000);
	assert_false(rs->sets[0].usable);
	assert_string_equal(rs->sets[0].why,
			    "the packet path may shorten an element's timeout (chain in handle 7)");
	nfo_ruleset_free(&rs);

	/* update with the element's own (the set's 1 min): extends */
	rs = timeout_ruleset(timeout_set("s", 60000, l, 1), &at, NFT_DYNSET_OP_UPDATE, 0);
	assert_true(rs->sets[0].usable);
	assert_true(rs->sets[0].pp_update_own);
	nfo_ruleset_free(&rs);

	/* delete from the packet path */
	rs = timeout_ruleset(timeout_set("s", 60000, l, 1), &at, NFT_DYNSET_OP_DELETE, 0);
	assert_false(rs->sets[0].usable);
	assert_true(rs->sets[0].pp_delete);
	assert_string_equal(rs->sets[0].why, "the packet path deletes elements (chain in handle 7)");
	nfo_ruleset_free(&rs);
}

/* ---- which lookups of such sets stay -------------------------------------------- */

/* A rule of chain "in" of table ip t: ip saddr [!=] @set, then a verdict. */
static void add_lookup_rule(struct nfo_nft_dump *d, const char *set, bool invert, int verdict,
			    uint64_t handle)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr *pl = nftnl_expr_alloc("payload");
	struct nftnl_expr *lk = nftnl_expr_alloc("lookup");
	struct nftnl_expr *im = nftnl_expr_alloc("immediate");

	assert_non_null(r);
	assert_true(pl && lk && im);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, "t");
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "in");
	nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
	nftnl_expr_set_u32(pl, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
	nftnl_expr_set_u32(pl, NFTNL_EXPR_PAYLOAD_OFFSET, 12);
	nftnl_expr_set_u32(pl, NFTNL_EXPR_PAYLOAD_LEN, 4);
	nftnl_expr_set_u32(pl, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, pl);
	nftnl_expr_set_str(lk, NFTNL_EXPR_LOOKUP_SET, set);
	nftnl_expr_set_u32(lk, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	if (invert)
		nftnl_expr_set_u32(lk, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
	nftnl_rule_add_expr(r, lk);
	nftnl_expr_set_u32(im, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(im, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	nftnl_rule_add_expr(r, im);
	nftnl_rule_list_add_tail(r, d->rules);
}

/* table ip t, set ban (ipv4_addr, flags timeout, one element 1 min), and
 * the rules given as (invert, verdict) pairs. */
static struct nfo_ruleset *ban_ruleset(const bool *invert, const int *verdict, size_t n)
{
	const struct nfo_nft_jiffies at = { .jiffies = 1000000, .hz = 250 };
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	const uint8_t key[4] = { 192, 0, 2, 1 };
	struct nfo_nft_dump *d = NULL;
	struct nfo_ruleset *rs = NULL;

	assert_non_null(s);
	assert_non_null(e);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_IPV4);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, "t");
	nftnl_set_set_str(s, NFTNL_SET_NAME, "ban");
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_TIMEOUT);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, sizeof(key));
	nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, 60000);
	nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_EXPIRATION, 60000);
	nftnl_set_elem_add(s, e);

	assert_int_equal(nfo_nft_dump_new(&d), 0);
	d->at = at;
	add_table(d, NFPROTO_IPV4, "t", 0);
	add_chain(d, NFPROTO_IPV4, "t", "in");
	nftnl_set_list_add_tail(s, d->sets);
	for (size_t i = 0; i < n; i++)
		add_lookup_rule(d, "ban", invert[i], verdict[i], 10 + i);
	assert_int_equal(nfo_ruleset_new(&rs, d), 0);
	nfo_nft_dump_free(&d);
	assert_int_equal(rs->nsets, 1);
	assert_int_equal(rs->nchains, 1);
	assert_int_equal(rs->chains[0].nrules, n);
	return rs;
}

static void expect_lookup_kept(const struct nfo_rule *r, const struct nfo_set *s)
{
	assert_int_equal(r->offload, NFO_OFFLOAD_FULL);
	assert_int_equal(r->npreds, 1);
	assert_int_equal(r->preds[0].dim, NFO_PDIM_SETREF);
	assert_ptr_equal(r->preds[0].ref.set, s);
	assert_non_null(r->note);
	assert_non_null(strstr(r->note, "elements of set ban expire"));
}

static void expect_lookup_refused(const struct nfo_rule *r)
{
	assert_int_equal(r->offload, NFO_OFFLOAD_PARTIAL);
	assert_int_equal(r->npreds, 1);
	assert_int_equal(r->preds[0].dim, NFO_PDIM_UNKNOWN);
	assert_non_null(strstr(r->preds[0].reason, "set ban: elements expire without notification"));
	assert_non_null(strstr(r->reason, "set ban"));
	assert_null(r->note);
}

/*
 * A set whose elements go without a notification is held with fewer
 * elements than the kernel's: its lookups stay only where every rule that
 * reads it drops on membership; one rule reading it otherwise (accept,
 * inverted) makes all of them UNKNOWN.
 */
static void test_set_polarity(void **state)
{
	struct nfo_ruleset *rs;

	(void)state;
	/* ip saddr @ban drop; ip saddr @ban drop */
	rs = ban_ruleset((const bool[]){ false, false }, (const int[]){ NF_DROP, NF_DROP }, 2);
	assert_true(rs->sets[0].usable);
	assert_true(rs->sets[0].drop_only);
	assert_non_null(rs->sets[0].expires);
	assert_int_equal(rs->sets[0].expires[0], 1000000 + 15000);
	expect_lookup_kept(&rs->chains[0].rules[0], &rs->sets[0]);
	expect_lookup_kept(&rs->chains[0].rules[1], &rs->sets[0]);
	nfo_ruleset_free(&rs);

	/* ip saddr @ban accept; ip saddr @ban drop: an expired element kept
	 * in the fast path would skip the accept and drop */
	rs = ban_ruleset((const bool[]){ false, false }, (const int[]){ NF_ACCEPT, NF_DROP }, 2);
	assert_false(rs->sets[0].usable);
	assert_false(rs->sets[0].drop_only);
	assert_non_null(strstr(rs->sets[0].why, "does not only drop on membership (chain in handle 10)"));
	expect_lookup_refused(&rs->chains[0].rules[0]);
	expect_lookup_refused(&rs->chains[0].rules[1]);
	nfo_ruleset_free(&rs);

	/* ip saddr != @ban drop: absence leads to drop */
	rs = ban_ruleset((const bool[]){ true }, (const int[]){ NF_DROP }, 1);
	assert_false(rs->sets[0].usable);
	expect_lookup_refused(&rs->chains[0].rules[0]);
	nfo_ruleset_free(&rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dormant_and_flowtables),
		cmocka_unit_test(test_set_reload),
		cmocka_unit_test(test_set_reload_type_changed),
		cmocka_unit_test(test_set_reload_intervals),
		cmocka_unit_test(test_set_not_usable),
		cmocka_unit_test(test_elem_expiry),
		cmocka_unit_test(test_set_timeouts),
		cmocka_unit_test(test_set_read_twice),
		cmocka_unit_test(test_set_repeated_read),
		cmocka_unit_test(test_set_timeouts_read_twice),
		cmocka_unit_test(test_set_timed_ranges),
		cmocka_unit_test(test_set_packet_path),
		cmocka_unit_test(test_set_polarity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
