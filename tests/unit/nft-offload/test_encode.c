// SPDX-License-Identifier: GPL-2.0-only
/*
 * The encoding of a plan into map images (nft-offload/encode.c), checked
 * against the layout bpf/nfo_abi.h describes: node ids and radix tables
 * offset by the half's bases, two-level radix tables for 16-bit fields, LPM
 * keys made of the node id and the prefix, named set keys padded as the fast
 * path builds them, capacities. Then, on plans the planner builds from the
 * captured rulesets, a walk of the images the way bpf/classify.h walks the
 * maps (IP frames from the root's ref_ip / ref_ip6, small nodes and their
 * guards in line, IPv4 address nodes of up to NFO_EXACT_MAX addresses through
 * nfo_exact4) must reach the verdict nfo_plan_eval() reaches.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "netlink/nft.h"
#include "netlink/rtnl.h"
#include "nft-offload/encode.h"
#include "nft-offload/import.h"
#include "nft-offload/plan.h"
#include "nft-offload/setdelta.h"
#include "tests/unit/capture.h"

/* ---- plans by hand ------------------------------------------------------------ */

static struct nfo_plan *plan_new(size_t nnodes, size_t ntargets)
{
	struct nfo_plan *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->nnodes = nnodes;
	p->nodes = calloc(nnodes, sizeof(*p->nodes));
	p->ntargets = ntargets;
	p->targets = calloc(ntargets ? ntargets : 1, sizeof(*p->targets));
	assert_non_null(p->nodes);
	assert_non_null(p->targets);
	return p;
}

/* Node i tests dim; unknown: where packets without the field go. */
static void plan_node(struct nfo_plan *p, size_t i, int dim, uint32_t unknown)
{
	p->nodes[i].dim = dim;
	p->nodes[i].unknown = unknown;
}

/* Edges must be added in order and cover the dimension. */
static void plan_edge(struct nfo_plan *p, size_t i, nfo_u128 lo, nfo_u128 hi, uint32_t ref)
{
	struct nfo_plan_node *n = &p->nodes[i];

	n->edges = realloc(n->edges, (n->nedges + 1) * sizeof(*n->edges));
	assert_non_null(n->edges);
	n->edges[n->nedges++] = (struct nfo_plan_edge){ .lo = lo, .hi = hi, .ref = ref };
}

static void plan_root(struct nfo_plan *p, int ifindex, uint32_t ref)
{
	struct nfo_plan_root *r;

	p->roots = realloc(p->roots, (p->nroots + 1) * sizeof(*p->roots));
	assert_non_null(p->roots);
	r = &p->roots[p->nroots++];
	*r = (struct nfo_plan_root){ .ifindex = ifindex, .ref = ref,
				     .mac = { 0x02, 0, 0, 0, 0, (uint8_t)ifindex } };
}

static nfo_u128 ip4(const char *s)
{
	uint8_t b[4];

	assert_int_equal(inet_pton(AF_INET, s, b), 1);
	return nfo_u128_from_be(b, 4);
}

static nfo_u128 ip6(const char *s)
{
	uint8_t b[16];

	assert_int_equal(inet_pton(AF_INET6, s, b), 1);
	return nfo_u128_from_be(b, 16);
}

#define NODE(i) (NFO_REF_NODE | (uint32_t)(i))
#define DROP_TARGET(t) (NFO_REF_VERDICT | NFO_REF_DROP_BIT | (uint32_t)(t))

/* ---- the layout ------------------------------------------------------------------ */

/* tcp dport 22 drop, on ifindex 3: one 8-bit node, one 16-bit node. */
static struct nfo_plan *plan_ssh(void)
{
	struct nfo_plan *p = plan_new(3, 1);

	plan_node(p, 1, NFO_DIM_L4PROTO, NFO_REF_PASS);
	plan_edge(p, 1, 0, 5, NFO_REF_PASS);
	plan_edge(p, 1, 6, 6, NODE(2));
	plan_edge(p, 1, 7, 255, NFO_REF_PASS);
	plan_node(p, 2, NFO_DIM_TH2, NFO_REF_PASS);
	plan_edge(p, 2, 0, 21, NFO_REF_PASS);
	plan_edge(p, 2, 22, 22, DROP_TARGET(0));
	plan_edge(p, 2, 23, 0xffff, NFO_REF_PASS);
	plan_root(p, 3, NODE(1));
	return p;
}

/* plan_ssh() and ip protocol >= 100 drop, tcp dport >= 32768 drop: more
 * than one default and single values, so both nodes are radix nodes. */
static struct nfo_plan *plan_ssh_radix(void)
{
	struct nfo_plan *p = plan_new(3, 1);

	plan_node(p, 1, NFO_DIM_L4PROTO, NFO_REF_PASS);
	plan_edge(p, 1, 0, 5, NFO_REF_PASS);
	plan_edge(p, 1, 6, 6, NODE(2));
	plan_edge(p, 1, 7, 99, NFO_REF_PASS);
	plan_edge(p, 1, 100, 255, DROP_TARGET(0));
	plan_node(p, 2, NFO_DIM_TH2, NFO_REF_PASS);
	plan_edge(p, 2, 0, 21, NFO_REF_PASS);
	plan_edge(p, 2, 22, 22, DROP_TARGET(0));
	plan_edge(p, 2, 23, 0x7fff, NFO_REF_PASS);
	plan_edge(p, 2, 0x8000, 0xffff, DROP_TARGET(0));
	plan_root(p, 3, NODE(1));
	return p;
}

static void test_radix_half0(void **state)
{
	struct nfo_plan *p = plan_ssh_radix();
	const uint32_t slots[] = { 7 };
	struct nfo_image img = {};
	const uint32_t *top, *sub;

	(void)state;
	assert_int_equal(nfo_image_encode(p, slots, 0, 0, 0, &img), 0);
	assert_int_equal(img.nnodes, 3);
	assert_int_equal(img.nodes[1].dim, NFO_DIM_L4PROTO);
	assert_int_equal(img.nodes[1].unknown, NFO_REF_PASS);
	assert_int_equal(img.nodes[1].table, 0);
	assert_int_equal(img.nodes[1].flags, 0);
	assert_int_equal(img.nodes[1].nguards, 0);
	assert_int_equal(img.nodes[2].dim, NFO_DIM_TH2);
	assert_int_equal(img.nodes[2].table, 1);
	/* l4proto: one table; dport: a top table and one sub-table for the
	 * block 0x00xx that holds 22, the other blocks uniform */
	assert_int_equal(nfo_image_ntables(&img), 3);
	assert_int_equal(img.nradix, 3 * NFO_RADIX_FANOUT);
	assert_int_equal(img.radix[5], NFO_REF_PASS);
	assert_int_equal(img.radix[6], NFO_REF_NODE | 2);
	assert_int_equal(img.radix[7], NFO_REF_PASS);
	top = img.radix + NFO_RADIX_FANOUT;
	sub = img.radix + 2 * NFO_RADIX_FANOUT;
	assert_int_equal(top[0], NFO_REF_TABLE | 2);
	for (unsigned h = 1; h < NFO_RADIX_FANOUT; h++)
		assert_int_equal(top[h], h < 0x80 ? NFO_REF_PASS : NFO_REF_DROP(7));
	assert_int_equal(sub[21], NFO_REF_PASS);
	assert_int_equal(sub[22], NFO_REF_DROP(7));
	assert_int_equal(sub[23], NFO_REF_PASS);
	assert_int_equal(img.nroots, 1);
	assert_int_equal(img.roots[0].ifindex, 3);
	assert_int_equal(img.roots[0].ref, NFO_REF_NODE | 1);
	assert_memory_equal(img.roots[0].mac, ((uint8_t[]){ 0x02, 0, 0, 0, 0, 3 }), 6);
	assert_int_equal(img.nlpm4 + img.nlpm6 + img.nsets, 0);
	nfo_image_clear(&img);
	nfo_plan_free(&p);
}

/* Half 1: every node id and table number is offset by its half's base. */
static void test_radix_half1(void **state)
{
	struct nfo_plan *p = plan_ssh_radix();
	const uint32_t slots[] = { 3 };
	struct nfo_image img = {};

	(void)state;
	assert_int_equal(nfo_image_encode(p, slots, 1, 4096, 512, &img), 0);
	assert_int_equal(img.half, 1);
	assert_int_equal(img.node_base, 4096);
	assert_int_equal(img.table_base, 512);
	assert_int_equal(img.nodes[1].table, 512);
	assert_int_equal(img.nodes[2].table, 513);
	assert_int_equal(img.radix[6], NFO_REF_NODE | 4098);
	assert_int_equal(img.radix[NFO_RADIX_FANOUT], NFO_REF_TABLE | 514);
	assert_int_equal(img.radix[2 * NFO_RADIX_FANOUT + 22], NFO_REF_DROP(3));
	assert_int_equal(img.roots[0].ref, NFO_REF_NODE | 4097);
	nfo_image_clear(&img);
	nfo_plan_free(&p);
}

/* A service plan (ifindex 0): tcp dport 22 accept (target 0), else drop
 * (target 1). Accepting leaves keep their rule's counter slot. */
static void test_service_accept(void **state)
{
	struct nfo_plan *p = plan_new(2, 2);
	const uint32_t slots[] = { 9, 4 };
	struct nfo_image img = {};

	(void)state;
	plan_node(p, 1, NFO_DIM_TH2, DROP_TARGET(1));
	plan_edge(p, 1, 0, 21, DROP_TARGET(1));
	plan_edge(p, 1, 22, 22, NFO_REF_ACCEPT(0));
	plan_edge(p, 1, 23, 0xffff, DROP_TARGET(1));
	plan_root(p, 0, NODE(1));
	assert_int_equal(nfo_image_encode(p, slots, 1, 2048, 512, &img), 0);
	assert_int_equal(img.nodes[1].unknown, NFO_REF_DROP(4));
	/* one port: compared in line, no radix table */
	assert_int_equal(img.nodes[1].flags, NFO_NODE_SMALL);
	assert_int_equal(img.nradix, 0);
	assert_int_equal(img.nodes[1].dflt, NFO_REF_DROP(4));
	for (int i = 0; i < NFO_SMALL_MAX; i++) {
		assert_int_equal(img.nodes[1].val[i], 22);
		assert_int_equal(img.nodes[1].ref[i], NFO_REF_ACCEPT(9));
	}
	assert_int_equal(img.roots[0].ref, NFO_REF_NODE | 2049);
	nfo_image_clear(&img);
	nfo_plan_free(&p);
}

/* An IPv4 source node: the reference needing the most prefixes (PASS,
 * around 10/8) becomes the node's default entry. */
static void test_lpm4(void **state)
{
	struct nfo_plan *p = plan_new(2, 1);
	const uint32_t slots[] = { 5 };
	const uint8_t node[4] = { 0, 0, 0x10, 0x01 }; /* 4096 + 1, big endian */
	struct nfo_image img = {};

	(void)state;
	plan_node(p, 1, NFO_DIM_SADDR4, DROP_TARGET(0));
	plan_edge(p, 1, 0, ip4("9.255.255.255"), NFO_REF_PASS);
	plan_edge(p, 1, ip4("10.0.0.0"), ip4("10.255.255.255"), DROP_TARGET(0));
	plan_edge(p, 1, ip4("11.0.0.0"), 0xffffffff, NFO_REF_PASS);
	plan_root(p, 2, NODE(1));
	assert_int_equal(nfo_image_encode(p, slots, 1, 4096, 512, &img), 0);
	assert_int_equal(img.nodes[1].unknown, NFO_REF_DROP(5));
	assert_int_equal(img.nradix, 0);
	assert_int_equal(img.nlpm6, 0);
	assert_int_equal(img.nlpm4, 2);
	assert_int_equal(img.nodes[1].flags, 0); /* a prefix: no in-line compare */
	assert_int_equal(img.lpm4[0].key.prefixlen, 32);
	assert_memory_equal(img.lpm4[0].key.node, node, 4);
	assert_memory_equal(img.lpm4[0].key.addr, ((uint8_t[]){ 0, 0, 0, 0 }), 4);
	assert_int_equal(img.lpm4[0].ref, NFO_REF_PASS);
	assert_int_equal(img.lpm4[1].key.prefixlen, 32 + 8);
	assert_memory_equal(img.lpm4[1].key.node, node, 4);
	assert_memory_equal(img.lpm4[1].key.addr, ((uint8_t[]){ 10, 0, 0, 0 }), 4);
	assert_int_equal(img.lpm4[1].ref, NFO_REF_DROP(5));
	nfo_image_clear(&img);
	nfo_plan_free(&p);
}

/* A range that is no single prefix splits into the prefixes covering it. */
static void test_lpm6_range(void **state)
{
	struct nfo_plan *p = plan_new(2, 1);
	const uint32_t slots[] = { 1 };
	struct nfo_image img = {};
	nfo_u128 lo = ip6("2001:db8::"), hi = ip6("2001:db8:0:2::") - 1;
	uint8_t want[16];

	(void)state;
	/* 2001:db8::/63 (two /64s) drops, the rest passes */
	plan_node(p, 1, NFO_DIM_DADDR6, NFO_REF_PASS);
	plan_edge(p, 1, 0, lo - 1, NFO_REF_PASS);
	plan_edge(p, 1, lo, hi, DROP_TARGET(0));
	plan_edge(p, 1, hi + 1, ~(nfo_u128)0, NFO_REF_PASS);
	plan_root(p, 2, NODE(1));
	assert_int_equal(nfo_image_encode(p, slots, 0, 0, 0, &img), 0);
	assert_int_equal(img.nlpm4, 0);
	assert_int_equal(img.nlpm6, 2);
	assert_int_equal(img.lpm6[0].key.prefixlen, 32);
	assert_int_equal(img.lpm6[0].ref, NFO_REF_PASS);
	assert_int_equal(img.lpm6[1].key.prefixlen, 32 + 63);
	assert_memory_equal(img.lpm6[1].key.node, ((uint8_t[]){ 0, 0, 0, 1 }), 4);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::", want), 1);
	assert_memory_equal(img.lpm6[1].key.addr, want, 16);
	assert_int_equal(img.lpm6[1].ref, NFO_REF_DROP(1));

	/* [10.0.0.1, 10.0.0.22]: .1/32 .2/31 .4/30 .8/29 .16/30 .20/31 .22/32
	 * (more addresses than nfo_exact4 holds one by one) */
	nfo_image_clear(&img);
	nfo_plan_free(&p);
	p = plan_new(2, 1);
	plan_node(p, 1, NFO_DIM_DADDR4, NFO_REF_PASS);
	plan_edge(p, 1, 0, ip4("10.0.0.0"), NFO_REF_PASS);
	plan_edge(p, 1, ip4("10.0.0.1"), ip4("10.0.0.22"), DROP_TARGET(0));
	plan_edge(p, 1, ip4("10.0.0.23"), 0xffffffff, NFO_REF_PASS);
	plan_root(p, 2, NODE(1));
	assert_int_equal(nfo_image_encode(p, slots, 0, 0, 0, &img), 0);
	assert_int_equal(img.nlpm4, 8);
	{
		static const struct { uint8_t last; unsigned plen; } w[] = {
			{ 1, 32 }, { 2, 31 }, { 4, 30 }, { 8, 29 }, { 16, 30 }, { 20, 31 }, { 22, 32 },
		};

		for (size_t i = 0; i < 7; i++) {
			assert_int_equal(img.lpm4[1 + i].key.prefixlen, 32 + w[i].plen);
			assert_memory_equal(img.lpm4[1 + i].key.addr,
					    ((uint8_t[]){ 10, 0, 0, w[i].last }), 4);
			assert_int_equal(img.lpm4[1 + i].ref, NFO_REF_DROP(1));
		}
	}
	nfo_image_clear(&img);
	nfo_plan_free(&p);
}

/* ---- named sets ------------------------------------------------------------------ */

/* A plan whose only node tests membership of set slot 0. */
static struct nfo_plan *plan_with_set(const struct nfo_set *set, uint8_t ndims,
				      const uint8_t *dims)
{
	struct nfo_plan *p = plan_new(2, 1);

	plan_node(p, 1, NFO_DIM_SET0, NFO_REF_PASS);
	plan_edge(p, 1, 0, 0, NFO_REF_PASS);
	plan_edge(p, 1, 1, 1, DROP_TARGET(0));
	plan_root(p, 2, NODE(1));
	p->nsets = 1;
	p->sets[0] = (struct nfo_plan_set){ .set = set, .ndims = ndims };
	memcpy(p->sets[0].dims, dims, ndims);
	return p;
}

/* tcp dport { 80, 22 }: 2-byte keys, zero-padded to NFO_SET_KEY_LEN,
 * sorted, store 0 (the loader names the store); a table store. */
static void test_set_exact(void **state)
{
	uint8_t keys[] = { 0x00, 0x50, 0x00, 0x16 };
	struct nfo_set set = { .key_len = 2, .keys = keys, .nkeys = 2 };
	const uint8_t dims[] = { NFO_DIM_TH2 };
	struct nfo_plan *p = plan_with_set(&set, 1, dims);
	const uint32_t slots[] = { 1 };
	const struct nfo_image_setkey *k;
	struct nfo_image img = {};
	uint8_t zero[NFO_SET_KEY_LEN] = {};

	(void)state;
	assert_int_equal(nfo_image_encode(p, slots, 1, 4096, 512, &img), 0);
	assert_int_equal(img.nodes[1].dim, NFO_DIM_SET0);
	assert_int_equal(img.nsets, 1);
	assert_int_equal(img.sets[0].spec.nfields, 1);
	assert_int_equal(img.sets[0].spec.kind, NFO_STORE_TABLE);
	assert_int_equal(img.sets[0].spec.key_len, 2);
	assert_int_equal(img.sets[0].spec.has_exp, 0);
	assert_int_equal(img.sets[0].spec.store, 0);
	assert_int_equal(img.sets[0].spec.dims[0], NFO_DIM_TH2);
	assert_false(img.sets[0].lpm);
	assert_int_equal(nfo_image_set_entry_size(&img.sets[0]), sizeof(struct nfo_image_setkey));
	assert_int_equal(nfo_image_set_key_size(&img.sets[0]), sizeof(struct nfo_setkey));
	assert_int_equal(img.sets[0].n, 2);
	k = (const struct nfo_image_setkey *)img.sets[0].entries;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(k[i].key.store, 0);
		assert_memory_equal(k[i].key.key + 2, zero, NFO_SET_KEY_LEN - 2);
		assert_int_equal(k[i].expires, 0); /* no timeouts: never */
	}
	assert_memory_equal(k[0].key.key, ((uint8_t[]){ 0x00, 0x16 }), 2);
	assert_memory_equal(k[1].key.key, ((uint8_t[]){ 0x00, 0x50 }), 2);
	for (size_t s = 1; s < NFO_MAX_SETS; s++)
		assert_int_equal(img.sets[s].spec.nfields, 0);
	nfo_image_clear(&img);
	nfo_plan_free(&p);
}

/* Element operations applied in place wait in kpend before they are folded
 * into keys (setdelta.c). A generation written whole with the same plan
 * (apply_whole in the daemon) encodes the model as it is: a key deleted in
 * place must not come back into the shared store, an added one is there.
 * udp dport { 7, 9, 11 }, then delete { 9, 11 } and add { 5 } in place. */
static void test_set_exact_pending(void **state)
{
	uint8_t *keys = malloc(6);
	const uint8_t del[] = { 0x00, 0x09, 0x00, 0x0b }, add[] = { 0x00, 0x05 };
	struct nfo_set set = { .key_len = 2, .keys = keys, .nkeys = 3 };
	const uint8_t dims[] = { NFO_DIM_TH2 };
	struct nfo_plan *p = plan_with_set(&set, 1, dims);
	const uint32_t slots[] = { 1 };
	const struct nfo_image_setkey *k;
	struct nfo_image img = {};

	(void)state;
	assert_non_null(keys);
	memcpy(keys, ((uint8_t[]){ 0x00, 0x07, 0x00, 0x09, 0x00, 0x0b }), 6);
	assert_int_equal(nfo_sorted_pending_update(&set.kpend, 2, add, 1, del, 2), 0);
	/* small against the keys: not folded yet */
	assert_int_equal(nfo_sorted_pending_fold(&set.keys, &set.nkeys, &set.kpend, 2, false), 0);
	assert_int_equal(set.nkeys, 3);
	assert_int_equal(nfo_image_encode(p, slots, 1, 4096, 512, &img), 0);
	assert_int_equal(img.sets[0].n, 2);
	k = (const struct nfo_image_setkey *)img.sets[0].entries;
	assert_memory_equal(k[0].key.key, ((uint8_t[]){ 0x00, 0x05 }), 2);
	assert_memory_equal(k[1].key.key, ((uint8_t[]){ 0x00, 0x07 }), 2);
	assert_int_equal(k[0].expires, 0);
	assert_int_equal(k[1].expires, 0);
	nfo_image_clear(&img);
	/* folded: the same image */
	assert_int_equal(nfo_sorted_pending_fold(&set.keys, &set.nkeys, &set.kpend, 2, true), 0);
	assert_int_equal(nfo_image_encode(p, slots, 1, 4096, 512, &img), 0);
	assert_int_equal(img.sets[0].n, 2);
	k = (const struct nfo_image_setkey *)img.sets[0].entries;
	assert_memory_equal(k[0].key.key, ((uint8_t[]){ 0x00, 0x05 }), 2);
	assert_memory_equal(k[1].key.key, ((uint8_t[]){ 0x00, 0x07 }), 2);
	nfo_image_clear(&img);
	nfo_plan_free(&p);
	nfo_sorted_pending_free(&set.kpend);
	free(set.keys);
}

/* ip saddr . tcp dport: nft's concatenation layout (each field from a
 * 4-byte boundary) is kept byte for byte, the rest zero. */
static void test_set_concat(void **state)
{
	uint8_t keys[] = { 192, 0, 2, 1, 0x01, 0xbb, 0, 0 };
	struct nfo_set set = { .key_len = 8, .keys = keys, .nkeys = 1 };
	const uint8_t dims[] = { NFO_DIM_SADDR4, NFO_DIM_TH2 };
	struct nfo_plan *p = plan_with_set(&set, 2, dims);
	const uint32_t slots[] = { 1 };
	struct nfo_setkey want = { .store = 0 };
	struct nfo_image img = {};

	(void)state;
	memcpy(want.key, keys, sizeof(keys));
	assert_int_equal(nfo_image_encode(p, slots, 0, 0, 0, &img), 0);
	assert_int_equal(img.sets[0].spec.nfields, 2);
	assert_int_equal(img.sets[0].spec.kind, NFO_STORE_TABLE);
	assert_int_equal(img.sets[0].spec.key_len, 8);
	assert_memory_equal(img.sets[0].spec.dims, dims, 2);
	assert_int_equal(img.sets[0].n, 1);
	assert_memory_equal(img.sets[0].entries, &want, sizeof(want));
	nfo_image_clear(&img);
	nfo_plan_free(&p);
}

/* Elements of a timeout set keep their expiry next to their key, through
 * the sort; the loader's value is the expiry less the margin. */
static void test_set_expires(void **state)
{
	uint8_t keys[] = { 198, 51, 100, 7, 192, 0, 2, 1, 203, 0, 113, 9 };
	uint64_t expires[] = { 5000, 0, 9000 };
	struct nfo_set set = { .key_len = 4, .keys = keys, .nkeys = 3, .expires = expires,
			       .flags = NFT_SET_TIMEOUT };
	const uint8_t dims[] = { NFO_DIM_SADDR4 };
	struct nfo_plan *p = plan_with_set(&set, 1, dims);
	const uint32_t slots[] = { 1 };
	const struct nfo_image_setkey *k;
	struct nfo_image img = {};

	(void)state;
	assert_int_equal(nfo_image_encode(p, slots, 0, 0, 0, &img), 0);
	assert_int_equal(img.sets[0].spec.has_exp, 1);
	assert_int_equal(img.sets[0].n, 3);
	k = (const struct nfo_image_setkey *)img.sets[0].entries;
	assert_memory_equal(k[0].key.key, ((uint8_t[]){ 192, 0, 2, 1 }), 4);
	assert_int_equal(k[0].expires, 0);
	assert_memory_equal(k[1].key.key, ((uint8_t[]){ 198, 51, 100, 7 }), 4);
	assert_int_equal(k[1].expires, 5000);
	assert_memory_equal(k[2].key.key, ((uint8_t[]){ 203, 0, 113, 9 }), 4);
	assert_int_equal(k[2].expires, 9000);
	assert_int_equal(nfo_image_set_expires(&img.sets[0], img.sets[0].entries + 2 * sizeof(*k)),
			 9000);
	nfo_image_clear(&img);
	nfo_plan_free(&p);

	/* never: 0; else present while jiffies < expires - margin, and an
	 * element already within the margin is gone (1, never 0) */
	assert_int_equal(nfo_set_until_of(0, 5), 0);
	assert_int_equal(nfo_set_until_of(9000, 5), 8995);
	assert_int_equal(nfo_set_until_of(7, 5), 2);
	assert_int_equal(nfo_set_until_of(6, 5), 1);
	assert_int_equal(nfo_set_until_of(3, 5), 1);
	assert_int_equal(nfo_set_until_of(1, 0), 1);
}

/* Interval sets become LPM keys: the field's bytes first in key[], the
 * prefix length after 32 bits of store id (0: the loader's to fill in). */
static void test_set_interval(void **state)
{
	struct nfo_set set = { .key_len = 2, .interval = true };
	const uint8_t dims[] = { NFO_DIM_TH2 };
	struct nfo_plan *p;
	const uint32_t slots[] = { 1 };
	const struct nfo_setlpm_key *k[2];
	struct nfo_image img = {};

	(void)state;
	/* ports 1024-2047 (one /6 of 16 bits) and 22 */
	assert_int_equal(nfo_vset_add(&set.elems, 22, 22), 0);
	assert_int_equal(nfo_vset_add(&set.elems, 1024, 2047), 0);
	p = plan_with_set(&set, 1, dims);
	assert_int_equal(nfo_image_encode(p, slots, 1, 4096, 512, &img), 0);
	assert_true(img.sets[0].lpm);
	assert_int_equal(img.sets[0].spec.kind, NFO_STORE_LPM);
	assert_int_equal(nfo_image_set_entry_size(&img.sets[0]), sizeof(struct nfo_image_setlpm));
	assert_int_equal(img.sets[0].n, 2);
	for (int i = 0; i < 2; i++) {
		k[i] = &((const struct nfo_image_setlpm *)img.sets[0].entries)[i].key;
		assert_int_equal(((const struct nfo_image_setlpm *)img.sets[0].entries)[i].expires, 0);
	}
	/* sorted by memcmp: prefixlen (host order) first */
	for (int i = 0; i < 2; i++)
		assert_memory_equal(k[i]->store, ((uint8_t[]){ 0, 0, 0, 0 }), 4);
	for (int i = 0; i < 2; i++) {
		if (k[i]->prefixlen == 32 + 16) {
			assert_memory_equal(k[i]->key, ((uint8_t[]){ 0x00, 0x16, 0, 0 }), 4);
		} else {
			assert_int_equal(k[i]->prefixlen, 32 + 6);
			assert_memory_equal(k[i]->key, ((uint8_t[]){ 0x04, 0x00, 0, 0 }), 4);
		}
	}
	assert_int_not_equal(k[0]->prefixlen, k[1]->prefixlen);
	assert_true(memcmp(k[0], k[1], sizeof(**k)) < 0);
	nfo_image_clear(&img);
	nfo_plan_free(&p);
	nfo_vset_free(&set.elems);
}

/* The expiry a longest-prefix match over entries (width-bit keys) finds for
 * v: -1 when no prefix covers it. */
static int64_t lpm_expiry(const struct nfo_image_set *s, unsigned width, unsigned v)
{
	const struct nfo_image_setlpm *e = (const void *)s->entries;
	int64_t best = -1;
	unsigned best_len = 0;

	for (size_t i = 0; i < s->n; i++) {
		unsigned plen = e[i].key.prefixlen - 32, p = e[i].key.key[0];

		assert_true(plen <= width);
		if (plen && (p >> (width - plen)) != (v >> (width - plen)))
			continue;
		if (best < 0 || plen > best_len) {
			best = (int64_t)e[i].expires;
			best_len = plen;
		}
	}
	return best;
}

/*
 * Ranges that expire, each on its own (never merged with a neighbour), the
 * start key with an expiry of its own: a longest match must find, for every
 * key of 8 bits, the expiry of the one range holding it (its start key's at
 * the start), and nothing outside the ranges. Checked on fixed cases
 * (adjacent ranges with different expiries, single keys, a start key that
 * expires first, which must not hide the rest of its range) and random ones.
 */
static void test_timed_ranges(void **state)
{
	const struct nfo_tival fixed[] = {
		{ .lo = 0, .hi = 15, .expires = 100, .lo_expires = 100 },
		{ .lo = 16, .hi = 31, .expires = 300, .lo_expires = 200 }, /* adjacent, a /28 */
		{ .lo = 32, .hi = 32, .expires = 50, .lo_expires = 40 },   /* one key */
		{ .lo = 33, .hi = 40, .expires = 0, .lo_expires = 1 },     /* never, start gone */
		{ .lo = 64, .hi = 127, .expires = 500, .lo_expires = 500 },
	};
	struct nfo_tival iv[64];
	unsigned seed = 12345;

	(void)state;
	for (int round = 0; round < 201; round++) {
		struct nfo_image_set s = {};
		const struct nfo_tival *t = iv;
		size_t n = 0;

		if (round == 0) {
			t = fixed;
			n = sizeof(fixed) / sizeof(fixed[0]);
		} else {
			/* disjoint random ranges, adjacent ones often */
			for (unsigned lo = (unsigned)rand_r(&seed) % 8; lo < 256 && n < 64;) {
				unsigned len = 1 + (unsigned)rand_r(&seed) % 40, hi = lo + len - 1;
				uint64_t exp = (uint64_t)(rand_r(&seed) % 4) * 100;

				if (hi > 255)
					hi = 255;
				iv[n++] = (struct nfo_tival){
					.lo = lo, .hi = hi, .expires = exp,
					.lo_expires = rand_r(&seed) % 3 ? exp : 1 + (uint64_t)(rand_r(&seed) % 50),
				};
				lo = hi + 1 + (rand_r(&seed) % 2 ? 0 : (unsigned)rand_r(&seed) % 20);
			}
		}
		assert_int_equal(nfo_image_timed_ranges(t, n, 8, &s), 0);
		assert_true(s.lpm);
		/* sorted and no key twice: one map entry each */
		for (size_t i = 1; i < s.n; i++)
			assert_true(memcmp(s.entries + (i - 1) * sizeof(struct nfo_image_setlpm),
					   s.entries + i * sizeof(struct nfo_image_setlpm),
					   sizeof(struct nfo_setlpm_key)) < 0);
		for (unsigned v = 0; v < 256; v++) {
			int64_t want = -1;

			for (size_t i = 0; i < n; i++)
				if (v >= t[i].lo && v <= t[i].hi)
					want = (int64_t)(v == t[i].lo ? t[i].lo_expires : t[i].expires);
			assert_int_equal(lpm_expiry(&s, 8, v), want);
		}
		if (round == 0) {
			/* 0-15: /4; 16-31: /4 + the start alone; 32: /8; 33-40:
			 * /8 /7 /6 /8; 64-127: /2 */
			assert_int_equal(s.n, 9);
		}
		free(s.entries);
	}
}

/* ---- capacities ------------------------------------------------------------------ */

static void test_caps(void **state)
{
	struct nfo_plan *p = plan_ssh_radix();
	const uint32_t slots[] = { 1 }, big_slots[] = { NFO_REF_VALUE_MASK + 1u };
	struct nfo_caps caps, dflt = { NFO_CAP_NODES, NFO_CAP_TABLES, NFO_CAP_LPM, NFO_CAP_LPM,
				       NFO_CAP_ROOTS, NFO_CAP_SET_KEYS, NFO_CAP_SET_LPM };
	struct nfo_image img = {}, huge = {};
	struct nfo_held held = {};

	(void)state;
	assert_int_equal(nfo_image_encode(p, slots, 0, 0, 0, &img), 0);
	/* a small plan: the smallest program set, but for its 3 radix tables
	 * (twice that, rounded up: 8) */
	assert_true(img.nnodes * 2 <= NFO_CAP_NODES);
	assert_int_equal(nfo_image_ntables(&img), 3);
	dflt.tables = 8;
	assert_int_equal(nfo_image_caps(&img, &caps), 0);
	assert_memory_equal(&caps, &dflt, sizeof(caps));
	assert_true(nfo_image_fits(&img, &caps, NULL));
	assert_true(nfo_image_fits(&img, &caps, &held));
	/* each capacity on its own */
	caps.nodes = 2;
	assert_false(nfo_image_fits(&img, &caps, NULL));
	caps = dflt;
	caps.tables = 0;
	assert_false(nfo_image_fits(&img, &caps, NULL));
	caps = dflt;
	caps.roots = 0;
	assert_false(nfo_image_fits(&img, &caps, NULL));
	/* the LPM tries are shared with the other half */
	caps = dflt;
	held.lpm4 = held.lpm6 = NFO_CAP_LPM;
	assert_true(nfo_image_fits(&img, &caps, &held));
	img.nlpm4 = 1;
	held.lpm6 = 0;
	assert_false(nfo_image_fits(&img, &caps, &held));
	img.nlpm4 = 0;
	img.nlpm6 = 1;
	held = (struct nfo_held){ .lpm6 = NFO_CAP_LPM };
	assert_false(nfo_image_fits(&img, &caps, &held));
	img.nlpm6 = 0;
	/* the shared set maps too (keys too long for a table), with what the
	 * stores hold */
	held = (struct nfo_held){};
	img.nsets = 2;
	img.sets[0].spec.kind = NFO_STORE_HASH;
	img.sets[0].n = NFO_CAP_SET_KEYS - 2;
	img.sets[1].lpm = true;
	img.sets[1].n = 5;
	assert_int_equal(nfo_image_set_entries(&img, false), NFO_CAP_SET_KEYS - 2);
	assert_int_equal(nfo_image_set_entries(&img, true), 5);
	held.setkeys = 2;
	assert_true(nfo_image_fits(&img, &caps, &held));
	held.setkeys = 3;
	assert_false(nfo_image_fits(&img, &caps, &held));
	held = (struct nfo_held){ .setlpm = NFO_CAP_SET_LPM - 4 };
	assert_false(nfo_image_fits(&img, &caps, &held));
	/* a table store's keys are in its own table, not in nfo_setkeys */
	held = (struct nfo_held){};
	img.sets[0].spec.kind = NFO_STORE_TABLE;
	img.sets[0].n = NFO_CAP_SET_KEYS * 8;
	assert_int_equal(nfo_image_set_entries(&img, false), 0);
	assert_true(nfo_image_fits(&img, &caps, &held));
	img.nsets = 0;
	img.sets[0] = img.sets[1] = (struct nfo_image_set){};

	/* growth: a power of two, twice the need (set keys: four times),
	 * at least the smallest */
	huge.nnodes = NFO_CAP_NODES + 1;
	huge.nradix = (NFO_CAP_TABLES * 4 + 1) * (size_t)NFO_RADIX_FANOUT;
	huge.nlpm4 = NFO_CAP_LPM;
	huge.nlpm6 = 3;
	huge.nroots = NFO_CAP_ROOTS;
	huge.nsets = 2;
	huge.sets[0].spec.kind = NFO_STORE_HASH;
	huge.sets[0].n = 1000;
	huge.sets[1].lpm = true;
	huge.sets[1].n = 3;
	assert_int_equal(nfo_image_caps(&huge, &caps), 0);
	assert_int_equal(caps.nodes, NFO_CAP_NODES * 4);
	assert_int_equal(caps.tables, NFO_CAP_TABLES * 16);
	assert_int_equal(caps.lpm4, NFO_CAP_LPM * 2);
	assert_int_equal(caps.lpm6, NFO_CAP_LPM);
	assert_int_equal(caps.roots, NFO_CAP_ROOTS * 2);
	assert_int_equal(caps.setkeys, 4096);
	assert_int_equal(caps.setlpm, NFO_CAP_SET_LPM);
	/* room for the other half's copy and the old one of the half written */
	held = (struct nfo_held){ .setkeys = 2000 };
	assert_true(nfo_image_fits(&huge, &caps, &held));
	huge.sets[0].n = 1001;
	held.setkeys = 3096;
	assert_false(nfo_image_fits(&huge, &caps, &held));
	huge.nsets = 0;
	/* a need at the largest: the largest, not past it */
	huge.nnodes = NFO_CAP_MAX_NODES;
	assert_int_equal(nfo_image_caps(&huge, &caps), 0);
	assert_int_equal(caps.nodes, NFO_CAP_MAX_NODES);
	/* past the largest program set: an error, not a wrapped size */
	huge.nnodes = NFO_CAP_MAX_NODES + 1;
	caps = dflt;
	assert_int_equal(nfo_image_caps(&huge, &caps), -E2BIG);
	assert_memory_equal(&caps, &dflt, sizeof(caps)); /* untouched */
	huge.nnodes = 1;
	huge.nradix = (NFO_CAP_MAX_TABLES + 1) * (size_t)NFO_RADIX_FANOUT;
	assert_int_equal(nfo_image_caps(&huge, &caps), -E2BIG);
	huge.nradix = 0;
	huge.nlpm6 = NFO_CAP_MAX / 2 + 1;
	assert_int_equal(nfo_image_caps(&huge, &caps), -E2BIG);
	huge.nlpm6 = 0;
	huge.nsets = 1;
	huge.sets[0].n = NFO_CAP_MAX / 4 + 1;
	assert_int_equal(nfo_image_caps(&huge, &caps), -E2BIG);
	huge.nsets = 0;

	/* references that would not fit 29 bits */
	nfo_image_clear(&img);
	assert_int_equal(nfo_image_encode(p, slots, 1, NFO_REF_VALUE_MASK - 1, 0, &img), -E2BIG);
	assert_null(img.nodes);
	assert_int_equal(nfo_image_encode(p, slots, 1, NFO_REF_VALUE_MASK - 2, 0, &img), 0);
	nfo_image_clear(&img);
	assert_int_equal(nfo_image_encode(p, slots, 1, 0, NFO_REF_VALUE_MASK - 1, &img), -E2BIG);
	assert_int_equal(nfo_image_encode(p, big_slots, 0, 0, 0, &img), -E2BIG);
	assert_null(img.radix);
	nfo_plan_free(&p);
}

/*
 * IPv4 frames to 10.0.0.1 or 192.0.2.2 dropped on ifindex 3 (EtherType node
 * first, as the planner builds them): the address node holds two single
 * addresses, so it is compared in line (NFO_NODE_SMALL), and the root's ref_ip
 * and ref_ip6 point past the EtherType node. ifindex 4's root is the address
 * node itself: its ref_ip and ref_ip6 are its ref.
 */
static struct nfo_plan *plan_local4(void)
{
	struct nfo_plan *p = plan_new(4, 2);

	plan_node(p, 1, NFO_DIM_ETHTYPE, NFO_REF_PASS);
	plan_edge(p, 1, 0, 0x07ff, NFO_REF_PASS);
	plan_edge(p, 1, 0x0800, 0x0800, NODE(2));
	plan_edge(p, 1, 0x0801, 0x86dc, NFO_REF_PASS);
	plan_edge(p, 1, 0x86dd, 0x86dd, NODE(3));
	plan_edge(p, 1, 0x86de, 0xffff, NFO_REF_PASS);
	plan_node(p, 2, NFO_DIM_DADDR4, NFO_REF_PASS);
	plan_edge(p, 2, 0, ip4("10.0.0.0"), NFO_REF_PASS);
	plan_edge(p, 2, ip4("10.0.0.1"), ip4("10.0.0.1"), DROP_TARGET(0));
	plan_edge(p, 2, ip4("10.0.0.2"), ip4("192.0.2.1"), NFO_REF_PASS);
	plan_edge(p, 2, ip4("192.0.2.2"), ip4("192.0.2.2"), DROP_TARGET(1));
	plan_edge(p, 2, ip4("192.0.2.3"), ip4("255.255.255.255"), NFO_REF_PASS);
	plan_node(p, 3, NFO_DIM_DADDR6, NFO_REF_PASS);
	plan_edge(p, 3, 0, ip6("2001:db8::"), NFO_REF_PASS);
	plan_edge(p, 3, ip6("2001:db8::1"), ip6("2001:db8::1"), DROP_TARGET(0));
	plan_edge(p, 3, ip6("2001:db8::2"), nfo_u128_max(128), NFO_REF_PASS);
	plan_root(p, 3, NODE(1));
	plan_root(p, 4, NODE(2));
	return p;
}

static void test_small4_ref_ip(void **state)
{
	struct nfo_plan *p = plan_local4();
	const uint32_t slots[] = { 7, 9 };
	struct nfo_image img = {};
	const struct nfo_node *n;

	(void)state;
	assert_int_equal(nfo_image_encode(p, slots, 1, 4096, 512, &img), 0);
	n = &img.nodes[2];
	assert_int_equal(n->dim, NFO_DIM_DADDR4);
	assert_int_equal(n->flags, NFO_NODE_SMALL);
	assert_int_equal(n->dflt, NFO_REF_PASS);
	assert_memory_equal(&n->val[0], ((uint8_t[]){ 10, 0, 0, 1 }), 4);
	assert_int_equal(n->ref[0], NFO_REF_DROP(7));
	assert_memory_equal(&n->val[1], ((uint8_t[]){ 192, 0, 2, 2 }), 4);
	assert_int_equal(n->ref[1], NFO_REF_DROP(9));
	/* unused entries repeat the first */
	assert_int_equal(n->val[3], n->val[0]);
	assert_int_equal(n->ref[3], n->ref[0]);
	/* no trie entry for it, nor nfo_exact4; IPv6 nodes stay in the trie */
	assert_int_equal(img.nlpm4, 0);
	assert_int_equal(img.exact4[2].n, 0);
	assert_int_equal(img.nodes[3].flags, 0);
	assert_int_equal(img.exact4[3].n, 0);
	assert_true(img.nlpm6 > 0);
	/* the EtherType node: two types to two nodes, in line too, and no
	 * guard (its values lead to different nodes) */
	assert_int_equal(img.nodes[1].flags, NFO_NODE_SMALL);
	assert_int_equal(img.nodes[1].nguards, 0);
	assert_int_equal(img.nradix, 0);

	assert_int_equal(img.nroots, 2);
	assert_int_equal(img.roots[0].ref, NFO_REF_NODE | 4097);
	assert_int_equal(img.roots[0].ref_ip, NFO_REF_NODE | 4098);
	assert_int_equal(img.roots[0].ref_ip6, NFO_REF_NODE | 4099);
	assert_int_equal(img.roots[1].ref, NFO_REF_NODE | 4098);
	assert_int_equal(img.roots[1].ref_ip, NFO_REF_NODE | 4098);
	assert_int_equal(img.roots[1].ref_ip6, NFO_REF_NODE | 4098);
	nfo_image_clear(&img);
	nfo_plan_free(&p);
}

static unsigned long check_walks(const struct nfo_plan *p, const char *what);

/* How often the walks took the paths that skip work: a test that the
 * encoding produces them, not only that they are right when it does. */
static struct {
	unsigned long small;  /* nodes compared in line (NFO_NODE_SMALL) */
	unsigned long guards; /* guards passed or failed */
	unsigned long exact4; /* IPv4 address nodes compared from nfo_exact4 */
	unsigned long lpm4;   /* IPv4 address nodes looked up in the trie */
	unsigned long skip;   /* IP frames started past the root's EtherType node */
} walked;

/* Up to NFO_SMALL_MAX single addresses are compared in the node, up to
 * NFO_EXACT_MAX from nfo_exact4, one more and the node stays in the LPM
 * trie (a range is test_lpm4's). */
static void test_exact4_limits(void **state)
{
	const uint32_t slots[] = { 1 };

	(void)state;
	for (int n = NFO_SMALL_MAX; n <= NFO_EXACT_MAX + 1; n++) {
		struct nfo_plan *p = plan_new(2, 1);
		nfo_u128 a = ip4("10.0.0.0");
		struct nfo_image img = {};
		bool small = n <= NFO_SMALL_MAX, exact = !small && n <= NFO_EXACT_MAX;
		char what[32];

		plan_node(p, 1, NFO_DIM_SADDR4, NFO_REF_PASS);
		plan_edge(p, 1, 0, a - 1, NFO_REF_PASS);
		for (int i = 0; i < n; i++) {
			nfo_u128 v = a + 2 * (nfo_u128)i;

			plan_edge(p, 1, v, v, DROP_TARGET(0));
			plan_edge(p, 1, v + 1, i + 1 < n ? v + 1 : nfo_u128_max(32), NFO_REF_PASS);
		}
		plan_root(p, 2, NODE(1));
		assert_int_equal(nfo_image_encode(p, slots, 0, 0, 0, &img), 0);
		assert_int_equal(img.nodes[1].flags, small ? NFO_NODE_SMALL : exact ? NFO_NODE_EXACT : 0);
		assert_int_equal(img.exact4[1].n, exact ? (uint32_t)n : 0);
		assert_int_equal(img.nlpm4, small || exact ? 0 : 1 + (size_t)n);
		/* not the EtherType: IP frames start where the others do */
		assert_int_equal(img.roots[0].ref_ip, img.roots[0].ref);
		assert_int_equal(img.roots[0].ref_ip6, img.roots[0].ref);
		nfo_image_clear(&img);
		snprintf(what, sizeof(what), "%d addresses", n);
		memset(&walked, 0, sizeof(walked));
		assert_true(check_walks(p, what) > 0);
		assert_true(small ? walked.small > 0 : exact ? walked.exact4 > 0 : walked.lpm4 > 0);
		nfo_plan_free(&p);
	}
}

/* Edges of a few adjacent addresses (a host's 10.0.0.1 and 10.0.0.2 in the
 * local-address gate) take one nfo_exact4 entry per address; an edge of
 * more addresses than nfo_exact4 holds keeps the node in the trie. */
static void test_exact4_ranges(void **state)
{
	const uint32_t slots[] = { 1 };

	(void)state;
	for (int len = 2; len <= NFO_EXACT_MAX; len++) {
		struct nfo_plan *p = plan_new(2, 1);
		nfo_u128 a = ip4("10.0.0.1"), b = ip4("127.0.0.1");
		/* one more single address: len + 1 entries in all */
		bool exact = len + 1 <= NFO_EXACT_MAX;
		struct nfo_image img = {};
		char what[48];

		plan_node(p, 1, NFO_DIM_DADDR4, NFO_REF_PASS);
		plan_edge(p, 1, 0, a - 1, NFO_REF_PASS);
		plan_edge(p, 1, a, a + (nfo_u128)len - 1, DROP_TARGET(0));
		plan_edge(p, 1, a + (nfo_u128)len, b - 1, NFO_REF_PASS);
		plan_edge(p, 1, b, b, DROP_TARGET(0));
		plan_edge(p, 1, b + 1, nfo_u128_max(32), NFO_REF_PASS);
		plan_root(p, 2, NODE(1));
		assert_int_equal(nfo_image_encode(p, slots, 0, 0, 0, &img), 0);
		assert_int_equal(img.nodes[1].flags, exact ? NFO_NODE_EXACT : 0);
		assert_int_equal(img.exact4[1].n, exact ? (uint32_t)len + 1 : 0);
		assert_int_equal(img.nlpm4 == 0, exact);
		nfo_image_clear(&img);
		snprintf(what, sizeof(what), "%d adjacent addresses", len);
		memset(&walked, 0, sizeof(walked));
		assert_true(check_walks(p, what) > 0);
		assert_true(exact ? walked.exact4 > 0 : walked.lpm4 > 0);
		nfo_plan_free(&p);
	}
}

/* ---- walking the images like the fast path ----------------------------------- */

static uint32_t radix_at(const struct nfo_image *img, uint32_t table, uint32_t byte)
{
	assert_true(table >= img->table_base);
	assert_true(table - img->table_base < nfo_image_ntables(img));
	return img->radix[(table - img->table_base) * NFO_RADIX_FANOUT + byte];
}

/* nfo_radix_walk() of bpf/classify.h */
static uint32_t radix_walk(const struct nfo_image *img, uint32_t table, uint32_t v, int bits)
{
	uint32_t ref;

	if (bits > 8) {
		ref = radix_at(img, table, (v >> 8) & 0xff);
		if ((ref & NFO_REF_KIND_MASK) != NFO_REF_TABLE)
			return ref;
		table = ref & NFO_REF_VALUE_MASK;
	}
	ref = radix_at(img, table, v & 0xff);
	assert_int_not_equal(ref & NFO_REF_KIND_MASK, NFO_REF_TABLE);
	return ref;
}

/* Longest prefix match among the image's entries for node id, as the LPM
 * trie answers the fast path's lookup. */
static uint32_t lpm_walk(const struct nfo_image *img, uint32_t id, nfo_u128 v, bool v6)
{
	const uint8_t node[4] = { id >> 24, id >> 16, id >> 8, id };
	unsigned width = v6 ? 128 : 32;
	size_t n = v6 ? img->nlpm6 : img->nlpm4;
	uint32_t ref = NFO_REF_PASS;
	int best = -1;

	for (size_t i = 0; i < n; i++) {
		const uint8_t *knode = v6 ? img->lpm6[i].key.node : img->lpm4[i].key.node;
		const uint8_t *kaddr = v6 ? img->lpm6[i].key.addr : img->lpm4[i].key.addr;
		unsigned plen = (v6 ? img->lpm6[i].key.prefixlen : img->lpm4[i].key.prefixlen) - 32;
		nfo_u128 k = nfo_u128_from_be(kaddr, width / 8), mask = 0;

		assert_true(plen <= width);
		if (plen)
			mask = (nfo_u128_max(width) >> (width - plen)) << (width - plen);
		if (memcmp(knode, node, 4) || (v & mask) != k || (int)plen <= best)
			continue;
		best = (int)plen;
		ref = v6 ? img->lpm6[i].ref : img->lpm4[i].ref;
	}
	return ref;
}

/* nfo_exact4_walk() of bpf/classify.h: the packet's address bytes (network
 * order) against at most NFO_EXACT_MAX words, else the default. */
static uint32_t exact4_walk(const struct nfo_image *img, uint32_t id, nfo_u128 v)
{
	const struct nfo_exact4 *x = &img->exact4[id - img->node_base];

	for (uint32_t i = 0; i < NFO_EXACT_MAX; i++) {
		if (i >= x->n)
			break;
		if (nfo_u128_from_be((const uint8_t *)&x->addr[i], 4) == v)
			return x->ref[i];
	}
	return x->dflt;
}

/* A value as NFO_NODE_SMALL nodes and guards hold it (nfo_abi.h). */
static bool small_equal(int dim, uint32_t word, nfo_u128 v)
{
	if (dim == NFO_DIM_SADDR4 || dim == NFO_DIM_DADDR4)
		return nfo_u128_from_be((const uint8_t *)&word, 4) == v;
	return word == v;
}

/* nfo_small_walk() of bpf/classify.h */
static uint32_t small_walk(const struct nfo_node *n, nfo_u128 v)
{
	walked.small++;
	for (int i = 0; i < NFO_SMALL_MAX; i++)
		if (small_equal(n->dim, n->val[i], v))
			return n->ref[i];
	return n->dflt;
}

/* nfo_guards_walk() of bpf/classify.h: 0, or where a guard sends the
 * packet. */
static uint32_t guards_walk(const struct nfo_node *n, const nfo_u128 *values, uint32_t have)
{
	assert_true(n->nguards <= NFO_GUARD_MAX);
	for (int g = 0; g < n->nguards; g++) {
		const struct nfo_guard *gd = &n->guards[g];
		bool hit = false;

		walked.guards++;
		assert_true(gd->dim < NFO_DIM_SADDR6 && gd->dim != NFO_DIM_CTSTATE);
		if (!(have & (1u << gd->dim)))
			return gd->unknown;
		for (int i = 0; i < NFO_SMALL_MAX; i++)
			hit |= small_equal(gd->dim, gd->val[i], values[gd->dim]);
		if (!hit)
			return gd->miss;
	}
	return 0;
}

/* nfo_classify() of bpf/classify.h, on the image, for values per dimension
 * (set dimensions: membership 0/1). */
static uint32_t image_walk(const struct nfo_image *img, uint32_t ref, const nfo_u128 *values,
			   uint32_t have)
{
	for (int i = 0; i < NFO_MAX_DEPTH; i++) {
		const struct nfo_node *n;
		uint32_t id = ref;

		if ((ref & NFO_REF_KIND_MASK) != NFO_REF_NODE)
			return ref;
		assert_true(id > img->node_base && id - img->node_base < img->nnodes);
		n = &img->nodes[id - img->node_base];
		if (n->nguards) {
			ref = guards_walk(n, values, have);
			if (ref)
				continue;
		}
		if (!(have & (1u << n->dim))) {
			ref = n->unknown;
			continue;
		}
		if (n->flags & NFO_NODE_SMALL) {
			assert_true(n->dim < NFO_DIM_SADDR6 || n->dim > NFO_DIM_DADDR6);
			ref = small_walk(n, values[n->dim]);
			continue;
		}
		switch (n->dim) {
		case NFO_DIM_SADDR4:
		case NFO_DIM_DADDR4:
			if (n->flags & NFO_NODE_EXACT) {
				walked.exact4++;
				ref = exact4_walk(img, id, values[n->dim]);
			} else {
				walked.lpm4++;
				ref = lpm_walk(img, id, values[n->dim], false);
			}
			break;
		case NFO_DIM_SADDR6:
		case NFO_DIM_DADDR6:
			ref = lpm_walk(img, id, values[n->dim], true);
			break;
		case NFO_DIM_ETHTYPE:
		case NFO_DIM_TH0:
		case NFO_DIM_TH2:
		case NFO_DIM_TCPMSS:
			ref = radix_walk(img, n->table, (uint32_t)values[n->dim], 16);
			break;
		default:
			ref = radix_walk(img, n->table, (uint32_t)values[n->dim], 8);
		}
	}
	return (ref & NFO_REF_KIND_MASK) == NFO_REF_VERDICT ? ref : NFO_REF_PASS;
}

/* nfo_run() of bpf/classify.h: IPv4 and IPv6 frames start at the root's
 * ref_ip / ref_ip6. The parser gives every frame an EtherType; a packet here
 * without one (have lacks it: never from the parser) starts at ref, so that
 * the root node's unknown reference is still compared with the plan. */
static uint32_t root_walk(const struct nfo_image *img, const struct nfo_image_root *root,
			  const nfo_u128 *values, uint32_t have)
{
	uint32_t ref = root->ref;

	if (have & (1u << NFO_DIM_ETHTYPE)) {
		if (values[NFO_DIM_ETHTYPE] == 0x0800)
			ref = root->ref_ip;
		else if (values[NFO_DIM_ETHTYPE] == 0x86dd)
			ref = root->ref_ip6;
		walked.skip += ref != root->ref;
	}
	return image_walk(img, ref, values, have);
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A value of dim near the plan's edge boundaries (or anywhere). */
static nfo_u128 pick_value(const struct nfo_plan *p, int dim, uint64_t *g)
{
	unsigned width = dim == NFO_DIM_SADDR6 || dim == NFO_DIM_DADDR6 ? 128 :
			 dim == NFO_DIM_SADDR4 || dim == NFO_DIM_DADDR4 ? 32 :
			 dim == NFO_DIM_ETHTYPE || dim == NFO_DIM_TH0 || dim == NFO_DIM_TH2 ||
					 dim == NFO_DIM_TCPMSS ? 16 : 8;
	nfo_u128 max = nfo_u128_max(width), v;

	/* mostly IP frames, as on the wire (and the frames ref_ip serves) */
	if (dim == NFO_DIM_ETHTYPE && rng_next(g) % 2)
		return rng_next(g) % 2 ? 0x0800 : 0x86dd;
	for (int tries = 0; p->nnodes > 1 && tries < 8 && rng_next(g) % 4; tries++) {
		const struct nfo_plan_node *n = &p->nodes[1 + rng_next(g) % (p->nnodes - 1)];
		const struct nfo_plan_edge *e;

		if (n->dim != dim || !n->nedges)
			continue;
		e = &n->edges[rng_next(g) % n->nedges];
		switch (rng_next(g) % 4) {
		case 0: return e->lo;
		case 1: return e->hi;
		case 2: return e->lo ? e->lo - 1 : e->lo;
		default: return e->hi < max ? e->hi + 1 : e->hi;
		}
	}
	v = ((nfo_u128)rng_next(g) << 64) | rng_next(g);
	return v & max;
}

/* The verdict both must reach: plan targets are counter slots in the image. */
static uint32_t plan_want(const struct nfo_plan *p, const uint32_t *slots, uint32_t ref,
			  const nfo_u128 *values, uint32_t have)
{
	ref = nfo_plan_eval(p, ref, values, have);
	if ((ref & NFO_REF_KIND_MASK) != NFO_REF_VERDICT || !(ref & NFO_REF_DROP_BIT))
		return NFO_REF_PASS;
	assert_true((ref & NFO_REF_VALUE_MASK) < p->ntargets);
	return NFO_REF_DROP(slots[ref & NFO_REF_VALUE_MASK]);
}

static unsigned long check_walks(const struct nfo_plan *p, const char *what)
{
	uint32_t *slots = calloc(p->ntargets ? p->ntargets : 1, sizeof(*slots));
	unsigned long drops = 0;
	uint64_t g = 0x9e3779b97f4a7c15ull;

	assert_non_null(slots);
	for (size_t t = 0; t < p->ntargets; t++)
		slots[t] = (uint32_t)(100 + 3 * t);
	for (int half = 0; half < NFO_HALVES; half++) {
		struct nfo_image img = {};

		assert_int_equal(nfo_image_encode(p, slots, half, (uint32_t)half * 4096,
						  (uint32_t)half * 512, &img), 0);
		assert_int_equal(img.nroots, p->nroots);
		for (size_t i = 0; i < p->nroots; i++) {
			for (int k = 0; k < 2000; k++) {
				nfo_u128 values[_NFO_DIM_MAX] = {};
				uint32_t have = (uint32_t)rng_next(&g) | (uint32_t)rng_next(&g);
				uint32_t want, got;

				for (int d = 0; d < _NFO_DIM_MAX; d++)
					values[d] = pick_value(p, d, &g);
				want = plan_want(p, slots, p->roots[i].ref, values, have);
				got = root_walk(&img, &img.roots[i], values, have);
				if (want != got)
					fail_msg("%s, half %d, root %zu, packet %d: plan %#x, image %#x",
						 what, half, i, k, want, got);
				drops += want != NFO_REF_PASS;
			}
		}
		nfo_image_clear(&img);
	}
	free(slots);
	return drops;
}

static void test_walk_hand(void **state)
{
	struct nfo_plan *p = plan_ssh(), *r = plan_ssh_radix();
	const uint32_t slots[] = { 5 };
	struct nfo_image img = {};
	const struct nfo_node *n;

	(void)state;
	/* "TCP" leads only to the port's node: the root node carries it as a
	 * guard and the port's test; the port's node stays for other paths */
	assert_int_equal(nfo_image_encode(p, slots, 0, 0, 0, &img), 0);
	n = &img.nodes[1];
	assert_int_equal(n->nguards, 1);
	assert_int_equal(n->guards[0].dim, NFO_DIM_L4PROTO);
	assert_int_equal(n->guards[0].val[0], 6);
	assert_int_equal(n->guards[0].miss, NFO_REF_PASS);
	assert_int_equal(n->guards[0].unknown, NFO_REF_PASS);
	assert_int_equal(n->dim, NFO_DIM_TH2);
	assert_int_equal(n->flags, NFO_NODE_SMALL);
	assert_int_equal(n->val[0], 22);
	assert_int_equal(n->ref[0], NFO_REF_DROP(5));
	assert_int_equal(img.nodes[2].nguards, 0);
	assert_int_equal(img.nodes[2].dim, NFO_DIM_TH2);
	assert_int_equal(img.nradix, 0);
	nfo_image_clear(&img);

	memset(&walked, 0, sizeof(walked));
	assert_true(check_walks(p, "tcp dport 22") > 0);
	assert_true(walked.guards > 0);
	assert_true(check_walks(r, "tcp dport 22, radix") > 0);
	nfo_plan_free(&p);
	nfo_plan_free(&r);
}

/*
 * A chain of five single-value tests, the last an IPv4 prefix (the trie,
 * keyed by its own node id: never taken into another node): the one before
 * it keeps its own record, the others take the fourth's test with at most
 * NFO_GUARD_MAX guards; misses and missing fields lead where each node led.
 */
static void test_guards_chain(void **state)
{
	struct nfo_plan *p = plan_new(6, 2);
	const uint32_t slots[] = { 3, 4 };
	struct nfo_image img = {};
	const struct nfo_node *n;

	(void)state;
	plan_node(p, 1, NFO_DIM_L2HOST, NFO_REF_PASS);
	plan_edge(p, 1, 0, 0, NFO_REF_PASS);
	plan_edge(p, 1, 1, 1, NODE(2));
	plan_edge(p, 1, 2, 255, NFO_REF_PASS);
	plan_node(p, 2, NFO_DIM_L4PROTO, DROP_TARGET(1));
	plan_edge(p, 2, 0, 16, DROP_TARGET(1));
	plan_edge(p, 2, 17, 17, NODE(3));
	plan_edge(p, 2, 18, 255, DROP_TARGET(1));
	plan_node(p, 3, NFO_DIM_TH0, NFO_REF_PASS);
	plan_edge(p, 3, 0, 52, NFO_REF_PASS);
	plan_edge(p, 3, 53, 53, NODE(4));
	plan_edge(p, 3, 54, 122, NFO_REF_PASS);
	plan_edge(p, 3, 123, 123, NODE(4));
	plan_edge(p, 3, 124, 0xffff, NFO_REF_PASS);
	plan_node(p, 4, NFO_DIM_TH2, NFO_REF_PASS);
	plan_edge(p, 4, 0, 8, NFO_REF_PASS);
	plan_edge(p, 4, 9, 9, NODE(5));
	plan_edge(p, 4, 10, 0xffff, NFO_REF_PASS);
	plan_node(p, 5, NFO_DIM_SADDR4, NFO_REF_PASS);
	plan_edge(p, 5, 0, ip4("9.255.255.255"), NFO_REF_PASS);
	plan_edge(p, 5, ip4("10.0.0.0"), ip4("10.255.255.255"), DROP_TARGET(0));
	plan_edge(p, 5, ip4("11.0.0.0"), ip4("255.255.255.255"), NFO_REF_PASS);
	plan_root(p, 2, NODE(1));
	assert_int_equal(nfo_image_encode(p, slots, 0, 0, 0, &img), 0);
	assert_int_equal(img.nodes[4].nguards, 0);
	assert_int_equal(img.nodes[4].dim, NFO_DIM_TH2);
	assert_int_equal(img.nodes[3].nguards, 1);
	assert_int_equal(img.nodes[2].nguards, 2);
	n = &img.nodes[1];
	assert_int_equal(n->nguards, NFO_GUARD_MAX);
	assert_int_equal(n->guards[0].dim, NFO_DIM_L2HOST);
	assert_int_equal(n->guards[1].dim, NFO_DIM_L4PROTO);
	assert_int_equal(n->guards[1].miss, NFO_REF_DROP(4));
	assert_int_equal(n->guards[1].unknown, NFO_REF_DROP(4));
	assert_int_equal(n->guards[2].dim, NFO_DIM_TH0);
	assert_int_equal(n->guards[2].val[0], 53);
	assert_int_equal(n->guards[2].val[1], 123);
	assert_int_equal(n->dim, NFO_DIM_TH2);
	assert_int_equal(n->ref[0], NFO_REF_NODE | 5);
	assert_int_equal(img.nodes[5].flags, 0);
	nfo_image_clear(&img);
	memset(&walked, 0, sizeof(walked));
	assert_true(check_walks(p, "a chain of guards") > 0);
	assert_true(walked.guards > 0);
	nfo_plan_free(&p);
}

/* The in-line addresses and the EtherType skip, walked. */
static void test_walk_local4(void **state)
{
	struct nfo_plan *p = plan_local4();

	(void)state;
	memset(&walked, 0, sizeof(walked));
	assert_true(check_walks(p, "local IPv4 addresses") > 0);
	assert_true(walked.small > 0);
	assert_true(walked.skip > 0);
	nfo_plan_free(&p);
}

static void env_addr(struct nfo_addr *a, int ifindex, const char *addr)
{
	*a = (struct nfo_addr){ .ifindex = ifindex };
	if (strchr(addr, ':')) {
		a->family = AF_INET6;
		a->prefixlen = 64;
		assert_int_equal(inet_pton(AF_INET6, addr, a->addr), 1);
	} else {
		a->family = AF_INET;
		a->prefixlen = 24;
		assert_int_equal(inet_pton(AF_INET, addr, a->addr), 1);
	}
}

/* The planner's own diagrams from the captured nft dumps. */
static void test_walk_captured(void **state)
{
	struct nfo_test_captures it = {};
	struct nfo_plan_iface ifaces[2] = {
		{ .ifindex = 2, .name = "eth0", .mac = { 2, 0, 0, 0, 0, 2 }, .l3 = true },
		{ .ifindex = 3, .name = "nfoveth0", .mac = { 2, 0, 0, 0, 0, 3 }, .l3 = true },
	};
	const int up[] = { 1, 2, 3 };
	struct nfo_addr addrs[5];
	unsigned long drops = 0;
	size_t nfiles = 0;
	int r;

	(void)state;
	memset(&walked, 0, sizeof(walked));
	env_addr(&addrs[0], 1, "127.0.0.1");
	env_addr(&addrs[1], 2, "10.0.0.1");
	env_addr(&addrs[2], 3, "192.0.2.2");
	env_addr(&addrs[3], 2, "2001:db8::1");
	env_addr(&addrs[4], 2, "fe80::1");
	while ((r = nfo_test_capture_next(&it)) > 0) {
		struct nfo_nft_dump *dump = NULL;
		struct nfo_ruleset *rs = NULL;
		struct nfo_plan *p = NULL;
		struct nfo_plan_input in = {
			.ifaces = ifaces, .nifaces = 2, .addrs = addrs, .naddrs = 5,
			.up_ifindexes = up, .nup = 3, .max_edges = 1u << 22,
		};

		assert_int_equal(nfo_nft_dump_new(&dump), 0);
		assert_int_equal(nfo_nft_dump_parse(dump, it.buf, it.len), 0);
		assert_int_equal(nfo_ruleset_new(&rs, dump), 0);
		in.rs = rs;
		assert_int_equal(nfo_plan_build(&in, &p), 0);
		assert_null(p->error);
		drops += check_walks(p, it.file);
		nfo_plan_free(&p);
		nfo_ruleset_free(&rs);
		nfo_nft_dump_free(&dump);
		nfiles++;
	}
	assert_int_equal(r, 0);
	fprintf(stderr, "captured: %zu dumps, %lu drops reached; %lu in-line nodes, %lu guards, "
			"%lu nfo_exact4 and %lu trie IPv4 address nodes, %lu frames past the "
			"EtherType node\n",
		nfiles, drops, walked.small, walked.guards, walked.exact4, walked.lpm4, walked.skip);
	assert_true(nfiles >= 5);
	assert_true(drops > 0);
	/* the planner's local-address gates and protocol tests are the
	 * nodes compared in line, and chains of them become guards */
	assert_true(walked.small > 0);
	assert_true(walked.guards > 0);
	assert_true(walked.skip > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_radix_half0),
		cmocka_unit_test(test_radix_half1),
		cmocka_unit_test(test_service_accept),
		cmocka_unit_test(test_lpm4),
		cmocka_unit_test(test_lpm6_range),
		cmocka_unit_test(test_set_exact),
		cmocka_unit_test(test_set_exact_pending),
		cmocka_unit_test(test_set_concat),
		cmocka_unit_test(test_set_expires),
		cmocka_unit_test(test_set_interval),
		cmocka_unit_test(test_timed_ranges),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_small4_ref_ip),
		cmocka_unit_test(test_exact4_limits),
		cmocka_unit_test(test_exact4_ranges),
		cmocka_unit_test(test_walk_hand),
		cmocka_unit_test(test_guards_chain),
		cmocka_unit_test(test_walk_local4),
		cmocka_unit_test(test_walk_captured),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
