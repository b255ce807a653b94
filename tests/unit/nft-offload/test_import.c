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
#include <libnftnl/flowtable.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "netlink/nft.h"
#include "nft-offload/import.h"
#include "nft-offload/ruleset.h"

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
	assert_int_equal(nfo_set_reload(s, ns), 0);
	nftnl_set_free(ns);
	assert_true(s->usable);
	expect_ivals(&s->elems, want_after, 2);
	assert_int_equal(s->nkeys, 2);
	assert_memory_equal(s->keys, "\x00\x19\x1f\x90", 4);

	/* emptied */
	ns = port_set("t", "s", 0, after, NULL, 0);
	assert_int_equal(nfo_set_reload(s, ns), 0);
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
	assert_int_equal(nfo_set_reload(s, ns), -EINVAL);
	nftnl_set_free(ns);
	ns = port_set("t", "s", 0, ports, NULL, 1);
	nftnl_set_set_u32(ns, NFTNL_SET_KEY_LEN, 4);
	assert_int_equal(nfo_set_reload(s, ns), -EINVAL);
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
	assert_int_equal(nfo_set_reload(s, ns), 0);
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
	assert_int_equal(nfo_set_reload(s, ns), 0);
	nftnl_set_free(ns);
	assert_false(s->usable);
	assert_string_equal(s->why, "elements expire");
	assert_int_equal(s->elems.n, 0);
	assert_int_equal(s->nkeys, 0);
	nfo_ruleset_free(&rs);

	/* updated from the packet path */
	rs = one_set(port_set("t", "s", NFT_SET_EVAL, ports, NULL, 2));
	assert_false(rs->sets[0].usable);
	assert_non_null(rs->sets[0].why);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
