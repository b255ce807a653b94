// SPDX-License-Identifier: GPL-2.0-only
/*
 * netlink/nft.c without a kernel: nfo_nft_dump_parse() fed with the dumps the
 * real nft made (tests/data/NAME.nlmsg from rulesets/NAME.nft), and with
 * messages that are cut short, corrupted or missing what the kernel always
 * sends. What the objects mean is the importer's business (tested with the
 * translator in tests/unit/nft-offload); here: what a dump holds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/flowtable.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "netlink/nft.h"
#include "tests/unit/capture.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

static const char *const captures[] = {
	"addrs", "family", "icmp", "iface", "l4proto", "merged", "ports", "sets",
	"tcpflags", "unsupported", "verdicts", "vmaps", "fib", "tcpopt",
};

/* What a dump holds, counted through libnftnl's lists. */
struct counts {
	size_t tables, chains, sets, elems, rules, flowtables;
};

static int count_table(struct nftnl_table *t, void *data)
{
	(void)t;
	((struct counts *)data)->tables++;
	return 0;
}

static int count_chain(struct nftnl_chain *c, void *data)
{
	(void)c;
	((struct counts *)data)->chains++;
	return 0;
}

static int count_elem(struct nftnl_set_elem *e, void *data)
{
	(void)e;
	(*(size_t *)data)++;
	return 0;
}

static int count_set(struct nftnl_set *s, void *data)
{
	struct counts *c = data;

	c->sets++;
	/* a parsed dump keeps the elements apart (nfo_nft_dump_elems) */
	nftnl_set_elem_foreach(s, count_elem, &c->elems);
	return 0;
}

static int count_rule(struct nftnl_rule *r, void *data)
{
	(void)r;
	((struct counts *)data)->rules++;
	return 0;
}

static int count_flowtable(struct nftnl_flowtable *f, void *data)
{
	(void)f;
	((struct counts *)data)->flowtables++;
	return 0;
}

static struct counts dump_counts(const struct nfo_nft_dump *d)
{
	struct counts c = {};

	nftnl_table_list_foreach(d->tables, count_table, &c);
	nftnl_chain_list_foreach(d->chains, count_chain, &c);
	nftnl_set_list_foreach(d->sets, count_set, &c);
	for (size_t i = 0; i < d->nelems; i++)
		c.elems += d->elems[i]->n;
	nftnl_rule_list_foreach(d->rules, count_rule, &c);
	nftnl_flowtable_list_foreach(d->flowtables, count_flowtable, &c);
	return c;
}

/* The same, counted from the messages of the first len bytes of buf that
 * are complete (the ones a parser may take), without libnftnl. */
static struct counts msg_counts(const uint8_t *buf, size_t len)
{
	struct counts c = {};
	size_t off = 0;

	while (off + sizeof(struct nlmsghdr) <= len) {
		const struct nlmsghdr *nlh = (const void *)(buf + off);

		if (nlh->nlmsg_len < sizeof(*nlh) || off + nlh->nlmsg_len > len)
			break;
		if (NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_NFTABLES) {
			switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
			case NFT_MSG_NEWTABLE:
				c.tables++;
				break;
			case NFT_MSG_NEWCHAIN:
				c.chains++;
				break;
			case NFT_MSG_NEWSET:
				c.sets++;
				break;
			case NFT_MSG_NEWRULE:
				c.rules++;
				break;
			case NFT_MSG_NEWFLOWTABLE:
				c.flowtables++;
				break;
			}
		}
		off += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	return c;
}

static void load(const char *name, uint8_t **ret_buf, size_t *ret_len, struct nfo_nft_dump **ret)
{
	assert_int_equal(nfo_test_read_capture(name, ret_buf, ret_len), 0);
	assert_int_equal(nfo_nft_dump_new(ret), 0);
	assert_int_equal(nfo_nft_dump_parse(*ret, *ret_buf, *ret_len), 0);
}

struct find {
	uint32_t family;
	const char *table;
	const char *name;
	void *found;
};

static int find_table_cb(struct nftnl_table *t, void *data)
{
	struct find *f = data;

	if (nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY) != f->family ||
	    strcmp(nftnl_table_get_str(t, NFTNL_TABLE_NAME), f->name))
		return 0;
	f->found = t;
	return 1;
}

static int find_chain_cb(struct nftnl_chain *c, void *data)
{
	struct find *f = data;

	if (nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY) != f->family ||
	    strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), f->table) ||
	    strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), f->name))
		return 0;
	f->found = c;
	return 1;
}

static int find_set_cb(struct nftnl_set *s, void *data)
{
	struct find *f = data;

	if (nftnl_set_get_u32(s, NFTNL_SET_FAMILY) != f->family ||
	    strcmp(nftnl_set_get_str(s, NFTNL_SET_TABLE), f->table) ||
	    strcmp(nftnl_set_get_str(s, NFTNL_SET_NAME), f->name))
		return 0;
	f->found = s;
	return 1;
}

static struct nftnl_table *table(const struct nfo_nft_dump *d, uint32_t family, const char *name)
{
	struct find f = { .family = family, .name = name };

	nftnl_table_list_foreach(d->tables, find_table_cb, &f);
	assert_non_null(f.found);
	return f.found;
}

static struct nftnl_chain *chain(const struct nfo_nft_dump *d, uint32_t family, const char *tab,
				 const char *name)
{
	struct find f = { .family = family, .table = tab, .name = name };

	nftnl_chain_list_foreach(d->chains, find_chain_cb, &f);
	assert_non_null(f.found);
	return f.found;
}

static struct nftnl_set *set(const struct nfo_nft_dump *d, uint32_t family, const char *tab,
			     const char *name)
{
	struct find f = { .family = family, .table = tab, .name = name };

	nftnl_set_list_foreach(d->sets, find_set_cb, &f);
	assert_non_null(f.found);
	return f.found;
}

struct rules_of {
	const char *table;
	const char *chain;
	size_t n;
};

static int rules_of_cb(struct nftnl_rule *r, void *data)
{
	struct rules_of *ro = data;

	ro->n += !strcmp(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), ro->table) &&
		 !strcmp(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), ro->chain);
	return 0;
}

static size_t nrules_of(const struct nfo_nft_dump *d, const char *tab, const char *ch)
{
	struct rules_of ro = { .table = tab, .chain = ch };

	nftnl_rule_list_foreach(d->rules, rules_of_cb, &ro);
	return ro.n;
}

/* tests/data/rulesets/family.nft: three tables of three families. */
static void test_family(void **state)
{
	struct nfo_nft_dump *d = NULL;
	struct nftnl_chain *c;
	struct counts n;
	uint8_t *buf;
	size_t len;

	(void)state;
	load("family", &buf, &len, &d);
	n = dump_counts(d);
	assert_int_equal(n.tables, 3);
	assert_int_equal(n.chains, 3);
	assert_int_equal(n.sets, 0);
	assert_int_equal(n.rules, 10);
	assert_int_equal(n.flowtables, 0);
	/* the kernel's generation counter, read from NEWGEN */
	assert_int_not_equal(d->genid, 0);
	table(d, NFPROTO_INET, "fam");
	table(d, NFPROTO_IPV4, "fam4");
	table(d, NFPROTO_NETDEV, "famdev");
	assert_int_equal(nrules_of(d, "fam", "in"), 5);
	assert_int_equal(nrules_of(d, "fam4", "in"), 1);
	assert_int_equal(nrules_of(d, "famdev", "ing"), 4);

	c = chain(d, NFPROTO_INET, "fam", "in");
	assert_int_equal(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM), NF_INET_LOCAL_IN);
	assert_int_equal(nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO), 0);
	assert_int_equal(nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY), NF_ACCEPT);
	assert_string_equal(nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE), "filter");

	/* a netdev chain names its device (one DEV, or DEVICES on newer nft) */
	c = chain(d, NFPROTO_NETDEV, "famdev", "ing");
	assert_int_equal(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM), NF_NETDEV_INGRESS);
	if (nftnl_chain_is_set(c, NFTNL_CHAIN_DEVICES)) {
		const char *const *devs = nftnl_chain_get_array(c, NFTNL_CHAIN_DEVICES);

		assert_non_null(devs);
		assert_string_equal(devs[0], "lo");
		assert_null(devs[1]);
	} else {
		assert_string_equal(nftnl_chain_get_str(c, NFTNL_CHAIN_DEV), "lo");
	}
	nfo_nft_dump_free(&d);
	assert_null(d);
	free(buf);
}

struct keys {
	uint16_t v[8];
	size_t n;
	uint32_t klen_bad;
};

static void read_keys(const struct nfo_nft_elems *es, struct keys *k)
{
	assert_non_null(es);
	for (size_t i = 0; i < es->n; i++) {
		const uint8_t *key = es->keys + i * es->key_len;

		if (es->key_len != 2 || k->n == NELEMS(k->v)) {
			k->klen_bad++;
			continue;
		}
		k->v[k->n++] = (uint16_t)(key[0] << 8 | key[1]);
	}
}

static size_t nelems_of(const struct nfo_nft_dump *d, const char *table, const char *name)
{
	const struct nfo_nft_elems *es = nfo_nft_dump_elems(d, NFPROTO_INET, table, name);

	return es ? es->n : 0;
}

static int cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* tests/data/rulesets/sets.nft: named sets; elements follow their set. */
static void test_sets(void **state)
{
	struct nfo_nft_dump *d = NULL;
	struct keys k = {};
	struct nftnl_set *s;
	struct counts n;
	size_t ne;
	uint8_t *buf;
	size_t len;

	(void)state;
	load("sets", &buf, &len, &d);
	n = dump_counts(d);
	assert_int_equal(n.tables, 1);
	assert_int_equal(n.chains, 1);
	assert_int_equal(n.sets, 6);
	assert_int_equal(n.rules, 8);
	assert_int_equal(nrules_of(d, "sets", "in"), 8);

	/* { 22, 80, 443 }: exact keys, two bytes in network order */
	s = set(d, NFPROTO_INET, "sets", "ports");
	assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), 2);
	assert_false(nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_INTERVAL);
	read_keys(nfo_nft_dump_elems(d, NFPROTO_INET, "sets", "ports"), &k);
	assert_int_equal(k.klen_bad, 0);
	assert_int_equal(k.n, 3);
	qsort(k.v, k.n, sizeof(k.v[0]), cmp_u16);
	assert_int_equal(k.v[0], 22);
	assert_int_equal(k.v[1], 80);
	assert_int_equal(k.v[2], 443);

	s = set(d, NFPROTO_INET, "sets", "nets");
	assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), 4);
	assert_true(nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_INTERVAL);
	ne = nelems_of(d, "sets", "nets");
	/* three intervals: at least a start each (ends depend on the kernel) */
	assert_true(ne >= 3);

	s = set(d, NFPROTO_INET, "sets", "nets6");
	assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), 16);

	ne = 0;
	s = set(d, NFPROTO_INET, "sets", "empty");
	assert_non_null(s);
	assert_int_equal(nelems_of(d, "sets", "empty"), 0);

	nfo_nft_dump_free(&d);
	free(buf);
}

/*
 * The element columns, parsed with libmnl, against libnftnl's reading of
 * the same NEWSETELEM messages: keys, interval ends, key ends, timeouts,
 * expirations, verdicts and chains, in order. Every capture with
 * elements: exact and interval sets, IPv6, concatenations, timeouts,
 * verdict maps.
 */
static void check_elems_like_libnftnl(const char *name)
{
	struct nfo_nft_dump *d = NULL;
	struct nftnl_set_list *ref = nftnl_set_list_alloc();
	struct nftnl_set_list_iter *it;
	struct nftnl_set *rs;
	size_t off = 0, checked = 0;
	uint8_t *buf;
	size_t len;

	assert_non_null(ref);
	load(name, &buf, &len, &d);
	/* libnftnl's objects: one per set, the elements of all its messages */
	while (off + sizeof(struct nlmsghdr) <= len) {
		const struct nlmsghdr *nlh = (const void *)(buf + off);
		struct nftnl_set *tmp;
		struct find f = {};

		if (nlh->nlmsg_len < sizeof(*nlh) || off + nlh->nlmsg_len > len)
			break;
		off += NLMSG_ALIGN(nlh->nlmsg_len);
		if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
		    NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_NEWSETELEM)
			continue;
		tmp = nftnl_set_alloc();
		assert_non_null(tmp);
		assert_int_equal(nftnl_set_elems_nlmsg_parse(nlh, tmp), 0);
		f.family = nftnl_set_get_u32(tmp, NFTNL_SET_FAMILY);
		f.table = nftnl_set_get_str(tmp, NFTNL_SET_TABLE);
		f.name = nftnl_set_get_str(tmp, NFTNL_SET_NAME);
		nftnl_set_list_foreach(ref, find_set_cb, &f);
		if (f.found) {
			nftnl_set_free(tmp);
			assert_int_equal(nftnl_set_elems_nlmsg_parse(nlh, f.found), 0);
		} else {
			nftnl_set_list_add_tail(tmp, ref);
		}
	}
	it = nftnl_set_list_iter_create(ref);
	assert_non_null(it);
	while ((rs = nftnl_set_list_iter_next(it))) {
		const struct nfo_nft_elems *got;
		struct nfo_nft_elems *want = NULL;

		got = nfo_nft_dump_elems(d, nftnl_set_get_u32(rs, NFTNL_SET_FAMILY),
					 nftnl_set_get_str(rs, NFTNL_SET_TABLE),
					 nftnl_set_get_str(rs, NFTNL_SET_NAME));
		assert_int_equal(nfo_nft_elems_from_nftnl(rs, &want), 0);
		if (!want->n) {
			assert_true(!got || !got->n);
			nfo_nft_elems_free(&want);
			continue;
		}
		assert_non_null(got);
		assert_false(got->bad);
		assert_false(want->bad);
		assert_int_equal(got->n, want->n);
		assert_int_equal(got->key_len, want->key_len);
		assert_memory_equal(got->keys, want->keys, got->n * got->key_len);
		assert_memory_equal(got->flags, want->flags, got->n);
		assert_int_equal(!got->key_ends, !want->key_ends);
		assert_int_equal(!got->timeouts, !want->timeouts);
		assert_int_equal(!got->expirations, !want->expirations);
		assert_int_equal(!got->verdicts, !want->verdicts);
		assert_int_equal(!got->chains, !want->chains);
		for (size_t i = 0; i < got->n; i++) {
			if (got->key_ends)
				assert_memory_equal(got->key_ends + i * got->key_len,
						    want->key_ends + i * got->key_len, got->key_len);
			if (got->timeouts)
				assert_int_equal(got->timeouts[i], want->timeouts[i]);
			if (got->expirations)
				assert_int_equal(got->expirations[i], want->expirations[i]);
			if (got->verdicts)
				assert_int_equal(got->verdicts[i], want->verdicts[i]);
			if (got->chains && (got->chains[i] || want->chains[i])) {
				assert_non_null(got->chains[i]);
				assert_non_null(want->chains[i]);
				assert_string_equal(got->chains[i], want->chains[i]);
			}
		}
		checked += got->n;
		nfo_nft_elems_free(&want);
	}
	/* every capture named has elements */
	assert_true(checked > 0);
	nftnl_set_list_iter_destroy(it);
	nftnl_set_list_free(ref);
	nfo_nft_dump_free(&d);
	free(buf);
}

static void test_elems_like_libnftnl(void **state)
{
	static const char *const with_elems[] = {
		"sets", "vmaps", "addrs", "elements/00-base", "elements/03-adjacent",
		"elements/05-open", "elements/07-concat", "elements/08-ipv6",
		"elements/12-timeout",
	};

	(void)state;
	for (size_t i = 0; i < NELEMS(with_elems); i++)
		check_elems_like_libnftnl(with_elems[i]);
}

/* An element of another key length than the set's first makes the
 * columns "bad" (the importer then does not use the set), not an error. */
static void test_elems_bad_key_len(void **state)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nfo_nft_elems *es = NULL;
	uint32_t k4 = htonl(0x0a000001);
	uint16_t k2 = htons(22);
	struct nftnl_set_elem *e;

	(void)state;
	assert_non_null(s);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, "t");
	nftnl_set_set_str(s, NFTNL_SET_NAME, "s");
	e = nftnl_set_elem_alloc();
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &k4, sizeof(k4));
	nftnl_set_elem_add(s, e);
	e = nftnl_set_elem_alloc();
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &k2, sizeof(k2));
	nftnl_set_elem_add(s, e);
	assert_int_equal(nfo_nft_elems_from_nftnl(s, &es), 0);
	assert_true(es->bad);
	assert_int_equal(es->n, 1);
	assert_int_equal(es->key_len, 4);
	nfo_nft_elems_free(&es);
	nftnl_set_free(s);
}

/* An element sent twice by a dump is found (the dump is then read again:
 * the walk may have left as many out); an interval set's end element and
 * the start of the next range at the same key are two elements. */
static void test_elems_repeat(void **state)
{
	static const uint32_t keys[] = { 0x0a000001, 0x0a000002, 0x0a000003, 0x0b000000 };
	struct nfo_nft_elems *es = NULL;
	struct nftnl_set *s;

	(void)state;
	for (int round = 0; round < 4; round++) {
		s = nftnl_set_alloc();
		assert_non_null(s);
		nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
		nftnl_set_set_str(s, NFTNL_SET_TABLE, "t");
		nftnl_set_set_str(s, NFTNL_SET_NAME, "s");
		for (size_t i = 0; i < NELEMS(keys); i++) {
			struct nftnl_set_elem *e = nftnl_set_elem_alloc();
			uint32_t k = htonl(keys[i]);

			nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &k, sizeof(k));
			nftnl_set_elem_add(s, e);
		}
		if (round >= 1) {
			/* round 1: the second key again; 2: an end element at
			 * the last key; 3: also that end element again */
			struct nftnl_set_elem *e = nftnl_set_elem_alloc();
			uint32_t k = htonl(round == 1 ? keys[1] : keys[3]);

			nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &k, sizeof(k));
			if (round >= 2)
				nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS,
						       NFT_SET_ELEM_INTERVAL_END);
			nftnl_set_elem_add(s, e);
			if (round == 3) {
				e = nftnl_set_elem_alloc();
				nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &k, sizeof(k));
				nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS,
						       NFT_SET_ELEM_INTERVAL_END);
				nftnl_set_elem_add(s, e);
			}
		}
		assert_int_equal(nfo_nft_elems_from_nftnl(s, &es), 0);
		assert_false(es->bad);
		assert_int_equal(nfo_nft_elems_repeat(es), round == 1 || round == 3);
		nfo_nft_elems_free(&es);
		nftnl_set_free(s);
	}
	assert_false(nfo_nft_elems_repeat(NULL));
}

/* Every capture: the dump holds one object per message of its kind. */
static void test_captures_complete(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEMS(captures); i++) {
		struct nfo_nft_dump *d = NULL;
		struct counts got, want;
		uint8_t *buf;
		size_t len;

		load(captures[i], &buf, &len, &d);
		got = dump_counts(d);
		want = msg_counts(buf, len);
		assert_true(want.tables > 0 && want.chains > 0 && want.rules > 0);
		assert_int_equal(got.tables, want.tables);
		assert_int_equal(got.chains, want.chains);
		assert_int_equal(got.sets, want.sets);
		assert_int_equal(got.rules, want.rules);
		assert_int_equal(got.flowtables, want.flowtables);
		assert_int_not_equal(d->genid, 0);
		nfo_nft_dump_free(&d);
		free(buf);
	}
}

/*
 * A buffer cut inside a message: the messages before the cut are taken, the
 * partial one is not (mnl_nlmsg_ok() stops there, as on a receive buffer),
 * and nothing reads past the end. Cut at several points of every message.
 */
static void test_truncated(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEMS(captures); i++) {
		uint8_t *buf;
		size_t len, off = 0;

		assert_int_equal(nfo_test_read_capture(captures[i], &buf, &len), 0);
		while (off + sizeof(struct nlmsghdr) <= len) {
			const struct nlmsghdr *nlh = (const void *)(buf + off);
			const size_t cuts[] = { 0, 4, sizeof(*nlh), sizeof(*nlh) + 2,
						nlh->nlmsg_len / 2, nlh->nlmsg_len - 1 };

			for (size_t k = 0; k < NELEMS(cuts); k++) {
				size_t cut = off + cuts[k];
				struct nfo_nft_dump *d = NULL;
				/* a copy of exactly cut bytes, so that ASan sees
				 * a read past the end */
				uint8_t *part = malloc(cut ? cut : 1);
				struct counts got, want;
				int r;

				assert_non_null(part);
				memcpy(part, buf, cut);
				assert_int_equal(nfo_nft_dump_new(&d), 0);
				r = nfo_nft_dump_parse(d, part, cut);
				assert_int_equal(r, 0);
				got = dump_counts(d);
				want = msg_counts(buf, cut);
				assert_int_equal(got.tables, want.tables);
				assert_int_equal(got.chains, want.chains);
				assert_int_equal(got.sets, want.sets);
				assert_int_equal(got.rules, want.rules);
				nfo_nft_dump_free(&d);
				free(part);
			}
			off += NLMSG_ALIGN(nlh->nlmsg_len);
		}
		assert_int_equal(off, len);
		free(buf);
	}
}

/* Builds single messages of the kinds a dump is made of. */
static size_t put_table(uint8_t *buf, const char *name)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	assert_non_null(t);
	if (name)
		nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	nlh = nftnl_nlmsg_build_hdr((char *)buf, NFT_MSG_NEWTABLE, NFPROTO_INET, NLM_F_MULTI, 1);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	return NLMSG_ALIGN(nlh->nlmsg_len);
}

static size_t put_chain(uint8_t *buf, const char *tab, const char *name)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	assert_non_null(c);
	if (tab)
		nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, tab);
	if (name)
		nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nlh = nftnl_nlmsg_build_hdr((char *)buf, NFT_MSG_NEWCHAIN, NFPROTO_INET, NLM_F_MULTI, 2);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	return NLMSG_ALIGN(nlh->nlmsg_len);
}

static size_t put_set(uint8_t *buf, uint16_t type, const char *tab, const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	uint16_t key = htons(22);
	struct nlmsghdr *nlh;

	assert_non_null(s);
	assert_non_null(e);
	if (tab)
		nftnl_set_set_str(s, NFTNL_SET_TABLE, tab);
	if (name)
		nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 2);
	nlh = nftnl_nlmsg_build_hdr((char *)buf, type, NFPROTO_INET, NLM_F_MULTI, 3);
	if (type == NFT_MSG_NEWSET) {
		nftnl_set_elem_free(e);
		nftnl_set_nlmsg_build_payload(nlh, s);
	} else {
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &key, sizeof(key));
		nftnl_set_elem_add(s, e);
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
	}
	nftnl_set_free(s);
	return NLMSG_ALIGN(nlh->nlmsg_len);
}

static size_t put_flowtable(uint8_t *buf, const char *tab, const char *name)
{
	struct nftnl_flowtable *f = nftnl_flowtable_alloc();
	struct nlmsghdr *nlh;

	assert_non_null(f);
	if (tab)
		nftnl_flowtable_set_str(f, NFTNL_FLOWTABLE_TABLE, tab);
	if (name)
		nftnl_flowtable_set_str(f, NFTNL_FLOWTABLE_NAME, name);
	nftnl_flowtable_set_u32(f, NFTNL_FLOWTABLE_HOOKNUM, NF_NETDEV_INGRESS);
	nftnl_flowtable_set_s32(f, NFTNL_FLOWTABLE_PRIO, -5);
	nlh = nftnl_nlmsg_build_hdr((char *)buf, NFT_MSG_NEWFLOWTABLE, NFPROTO_INET,
				    NLM_F_MULTI, 4);
	nftnl_flowtable_nlmsg_build_payload(nlh, f);
	nftnl_flowtable_free(f);
	return NLMSG_ALIGN(nlh->nlmsg_len);
}

static int parse(uint8_t *buf, size_t len, struct counts *ret)
{
	struct nfo_nft_dump *d = NULL;
	int r;

	assert_int_equal(nfo_nft_dump_new(&d), 0);
	r = nfo_nft_dump_parse(d, buf, len);
	*ret = dump_counts(d);
	nfo_nft_dump_free(&d);
	return r;
}

/*
 * Every message of a capture in turn given a length that is not its own.
 * The header is the part nft.c reads itself (attributes are libnftnl's, and
 * libnftnl 1.2.4 exits or crashes on attributes the kernel would never send:
 * see tests/fuzz/fuzz_nlmsg.c). Too short or past the end: not a message,
 * the parse ends there with what came before. A length with the top bit
 * set: an error.
 */
static void test_bad_lengths(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEMS(captures); i++) {
		uint8_t *buf;
		size_t len, off = 0;

		assert_int_equal(nfo_test_read_capture(captures[i], &buf, &len), 0);
		while (off + sizeof(struct nlmsghdr) <= len) {
			struct nlmsghdr *nlh = (void *)(buf + off);
			const uint32_t own = nlh->nlmsg_len;
			const uint32_t lies[] = { 0, sizeof(*nlh) - 1, (uint32_t)(len - off) + 4,
						  own | 0x80000000u };
			const struct counts before = msg_counts(buf, off);

			for (size_t k = 0; k < NELEMS(lies); k++) {
				struct counts got;
				int r;

				nlh->nlmsg_len = lies[k];
				r = parse(buf, len, &got);
				if (lies[k] & 0x80000000u) {
					assert_int_equal(r, -EINVAL);
				} else {
					assert_int_equal(r, 0);
					assert_int_equal(got.tables, before.tables);
					assert_int_equal(got.chains, before.chains);
					assert_int_equal(got.sets, before.sets);
					assert_int_equal(got.rules, before.rules);
				}
			}
			nlh->nlmsg_len = own;
			off += NLMSG_ALIGN(own);
		}
		free(buf);
	}
}

/* Objects without what the kernel always sends are refused, not kept. */
static void test_required_attributes(void **state)
{
	static uint8_t buf[8192] __attribute__((aligned(4)));
	struct counts n;
	size_t len;

	(void)state;
	/* the well-formed ones first: each message type is read */
	len = put_table(buf, "t");
	len += put_chain(buf + len, "t", "c");
	len += put_set(buf + len, NFT_MSG_NEWSET, "t", "s");
	len += put_set(buf + len, NFT_MSG_NEWSETELEM, "t", "s");
	len += put_flowtable(buf + len, "t", "f");
	assert_int_equal(parse(buf, len, &n), 0);
	assert_int_equal(n.tables, 1);
	assert_int_equal(n.chains, 1);
	assert_int_equal(n.sets, 1);
	assert_int_equal(n.elems, 1);
	assert_int_equal(n.flowtables, 1);

	len = put_table(buf, NULL);
	assert_int_equal(parse(buf, len, &n), -EINVAL);
	assert_int_equal(n.tables, 0);
	len = put_chain(buf, "t", NULL);
	assert_int_equal(parse(buf, len, &n), -EINVAL);
	assert_int_equal(n.chains, 0);
	len = put_chain(buf, NULL, "c");
	assert_int_equal(parse(buf, len, &n), -EINVAL);
	len = put_set(buf, NFT_MSG_NEWSET, NULL, "s");
	assert_int_equal(parse(buf, len, &n), -EINVAL);
	assert_int_equal(n.sets, 0);
	len = put_flowtable(buf, "t", NULL);
	assert_int_equal(parse(buf, len, &n), -EINVAL);
	assert_int_equal(n.flowtables, 0);
	/* elements of a set the dump has not shown */
	len = put_set(buf, NFT_MSG_NEWSETELEM, "t", "s");
	assert_int_equal(parse(buf, len, &n), -ENOENT);
	len = put_set(buf, NFT_MSG_NEWSET, "t", "s");
	len += put_set(buf + len, NFT_MSG_NEWSETELEM, "t", "other");
	assert_int_equal(parse(buf, len, &n), -ENOENT);
	/* elements that do not name their set */
	len = put_set(buf, NFT_MSG_NEWSET, "t", "s");
	len += put_set(buf + len, NFT_MSG_NEWSETELEM, "t", NULL);
	assert_int_equal(parse(buf, len, &n), -EINVAL);
	/* a bad message stops the parse: what follows is not read */
	len = put_table(buf, NULL);
	len += put_table(buf + len, "t");
	assert_int_equal(parse(buf, len, &n), -EINVAL);
	assert_int_equal(n.tables, 0);
}

/* Headers that lie about lengths, and types the dump does not use. */
static void test_bad_headers(void **state)
{
	static uint8_t buf[4096] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct counts n;
	size_t len;

	(void)state;
	/* mnl_nlmsg_ok() compares lengths as int: a length with the top bit
	 * set passes it, and must still be refused */
	len = put_table(buf, "t");
	nlh->nlmsg_len |= 0x80000000u;
	assert_int_equal(parse(buf, len, &n), -EINVAL);
	assert_int_equal(n.tables, 0);

	/* a length shorter than the header: not a message, nothing read */
	len = put_table(buf, "t");
	nlh->nlmsg_len = 4;
	assert_int_equal(parse(buf, len, &n), 0);
	assert_int_equal(n.tables, 0);

	/* nf_tables message types past NFT_MSG_MAX, a DELTABLE, and another
	 * subsystem: ignored */
	len = put_table(buf, "t");
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | (NFT_MSG_MAX + 3);
	assert_int_equal(parse(buf, len, &n), 0);
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | 0xff;
	assert_int_equal(parse(buf, len, &n), 0);
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELTABLE;
	assert_int_equal(parse(buf, len, &n), 0);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | NFT_MSG_NEWTABLE;
	assert_int_equal(parse(buf, len, &n), 0);
	assert_int_equal(n.tables, 0);
}

static size_t put_gen(uint8_t *buf, uint32_t id)
{
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr((char *)buf, NFT_MSG_NEWGEN, NFPROTO_UNSPEC,
						     0, 1);

	mnl_attr_put_u32(nlh, NFTA_GEN_ID, htonl(id));
	return NLMSG_ALIGN(nlh->nlmsg_len);
}

/* The generation is the id of the last NEWGEN (a dump has one before and
 * one after; nfo_nft_read_ruleset compares them). */
static void test_gen(void **state)
{
	static uint8_t buf[256] __attribute__((aligned(4)));
	struct nfo_nft_dump *d = NULL;
	size_t len;

	(void)state;
	assert_int_equal(nfo_nft_dump_new(&d), 0);
	len = put_gen(buf, 77);
	assert_int_equal(nfo_nft_dump_parse(d, buf, len), 0);
	assert_int_equal(d->genid, 77);
	len += put_gen(buf + len, 0x01020304);
	assert_int_equal(nfo_nft_dump_parse(d, buf, len), 0);
	assert_int_equal(d->genid, 0x01020304);
	nfo_nft_dump_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_family),
		cmocka_unit_test(test_sets),
		cmocka_unit_test(test_captures_complete),
		cmocka_unit_test(test_elems_like_libnftnl),
		cmocka_unit_test(test_elems_bad_key_len),
		cmocka_unit_test(test_elems_repeat),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_required_attributes),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_gen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
