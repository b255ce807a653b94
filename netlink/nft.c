// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <time.h>
#include <endian.h>
#include <arpa/inet.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/flowtable.h>
#include <libnftnl/gen.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nft.h"

/* nftables dumps can carry rules of several KiB each. */
#define NFO_NFT_RECV_SIZE (256 * 1024)
#define NFO_NFT_DUMP_TRIES 20
/* Large enough that one `nft -f` of many thousand rules does not overflow
 * before we read it; if it does, ENOBUFS triggers a full resync anyway. */
#define NFO_NFT_MONITOR_RCVBUF (32 * 1024 * 1024)

int nfo_nft_dump_new(struct nfo_nft_dump **ret)
{
	struct nfo_nft_dump *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->tables = nftnl_table_list_alloc();
	d->chains = nftnl_chain_list_alloc();
	d->sets = nftnl_set_list_alloc();
	d->rules = nftnl_rule_list_alloc();
	d->flowtables = nftnl_flowtable_list_alloc();
	if (!d->tables || !d->chains || !d->sets || !d->rules || !d->flowtables) {
		nfo_nft_dump_free(&d);
		return -ENOMEM;
	}
	*ret = d;
	return 0;
}

void nfo_nft_dump_free(struct nfo_nft_dump **dp)
{
	struct nfo_nft_dump *d = *dp;

	if (!d)
		return;
	if (d->tables)
		nftnl_table_list_free(d->tables);
	if (d->chains)
		nftnl_chain_list_free(d->chains);
	if (d->sets)
		nftnl_set_list_free(d->sets);
	if (d->rules)
		nftnl_rule_list_free(d->rules);
	if (d->flowtables)
		nftnl_flowtable_list_free(d->flowtables);
	for (size_t i = 0; i < d->nelems; i++)
		nfo_nft_elems_free(&d->elems[i]);
	free(d->elems);
	for (size_t i = 0; i < d->nstreams; i++)
		nfo_nft_stream_free(&d->streams[i]);
	free(d->streams);
	free(d->raw);
	free(d);
	*dp = NULL;
}

struct find_set {
	uint32_t family;
	const char *table;
	const char *name;
	struct nftnl_set *found;
};

static int find_set_cb(struct nftnl_set *s, void *data)
{
	struct find_set *f = data;

	if (nftnl_set_get_u32(s, NFTNL_SET_FAMILY) == f->family &&
	    !strcmp(nftnl_set_get_str(s, NFTNL_SET_TABLE), f->table) &&
	    !strcmp(nftnl_set_get_str(s, NFTNL_SET_NAME), f->name)) {
		f->found = s;
		return 1;
	}
	return 0;
}

void nfo_nft_elems_free(struct nfo_nft_elems **ep)
{
	struct nfo_nft_elems *e = *ep;

	if (!e)
		return;
	if (e->chains)
		for (size_t i = 0; i < e->n; i++)
			free(e->chains[i]);
	free(e->table);
	free(e->name);
	free(e->keys);
	free(e->flags);
	free(e->key_ends);
	free(e->timeouts);
	free(e->expirations);
	free(e->verdicts);
	free(e->chains);
	free(e);
	*ep = NULL;
}

int nfo_nft_elems_new(struct nfo_nft_elems **ret, uint32_t family, const char *table,
		      const char *name)
{
	struct nfo_nft_elems *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->family = family;
	e->table = strdup(table);
	e->name = strdup(name);
	if (!e->table || !e->name) {
		nfo_nft_elems_free(&e);
		return -ENOMEM;
	}
	*ret = e;
	return 0;
}

/* Grows column *col (of elements of size sz, cap of them so far) to ncap,
 * zeroing the new part; a column not allocated yet stays NULL unless
 * force. */
static int column_grow(void *col, size_t sz, size_t cap, size_t ncap, bool force)
{
	void **p = col;
	uint8_t *n;

	if (!*p && !force)
		return 0;
	n = realloc(*p, ncap * sz);
	if (!n)
		return -ENOMEM;
	memset(n + cap * sz, 0, (ncap - cap) * sz);
	*p = n;
	return 0;
}

static int elems_reserve(struct nfo_nft_elems *e, size_t need)
{
	size_t ncap = e->cap ? e->cap : 1024;

	if (need <= e->cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	if (column_grow(&e->keys, e->key_len, e->cap, ncap, true) < 0 ||
	    column_grow(&e->flags, 1, e->cap, ncap, true) < 0 ||
	    column_grow(&e->key_ends, e->key_len, e->cap, ncap, false) < 0 ||
	    column_grow(&e->timeouts, sizeof(uint64_t), e->cap, ncap, false) < 0 ||
	    column_grow(&e->expirations, sizeof(uint64_t), e->cap, ncap, false) < 0 ||
	    column_grow(&e->verdicts, sizeof(uint32_t), e->cap, ncap, false) < 0 ||
	    column_grow(&e->chains, sizeof(char *), e->cap, ncap, false) < 0)
		return -ENOMEM;
	e->cap = ncap;
	return 0;
}

/* A column first used by element i: allocated at the columns' capacity,
 * zero for the elements before. */
static int column_start(void *col, size_t sz, size_t cap)
{
	void **p = col;

	if (*p)
		return 0;
	*p = calloc(cap, sz);
	return *p ? 0 : -ENOMEM;
}

/* What an element's NFTA_SET_ELEM_DATA says (verdict maps). */
struct elem_data {
	bool verdict;
	uint32_t code;
	const char *chain;
};

static int parse_elem(const struct nlattr *elem, struct nfo_nft_elem *e,
		      const struct nlattr **ret_data);

/* NFTA_SET_ELEM_DATA: NFTA_DATA_VERDICT { NFTA_VERDICT_CODE, NFTA_VERDICT_CHAIN }
 * (nft_verdict_dump); data values are not used. */
static int parse_elem_data(const struct nlattr *data, struct elem_data *ret)
{
	const struct nlattr *a, *b;

	*ret = (struct elem_data){};
	if (mnl_attr_validate(data, MNL_TYPE_NESTED) < 0)
		return -EINVAL;
	mnl_attr_for_each_nested(a, data) {
		if (mnl_attr_get_type(a) != NFTA_DATA_VERDICT)
			continue;
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
			return -EINVAL;
		mnl_attr_for_each_nested(b, a) {
			switch (mnl_attr_get_type(b)) {
			case NFTA_VERDICT_CODE:
				if (mnl_attr_validate(b, MNL_TYPE_U32) < 0)
					return -EINVAL;
				ret->verdict = true;
				ret->code = ntohl(mnl_attr_get_u32(b));
				break;
			case NFTA_VERDICT_CHAIN:
				if (mnl_attr_validate(b, MNL_TYPE_NUL_STRING) < 0)
					return -EINVAL;
				ret->chain = mnl_attr_get_str(b);
				break;
			}
		}
	}
	return 0;
}

/* Appends one element to the columns. */
static int elems_push(struct nfo_nft_elems *es, const struct nfo_nft_elem *e,
		      const struct elem_data *data)
{
	size_t i = es->n;
	uint8_t f = 0;

	if (!es->n && !es->cap)
		es->key_len = e->klen;
	if (e->klen != es->key_len || (e->kelen && e->kelen != e->klen)) {
		es->bad = true; /* the set cannot be followed: import says why */
		return 0;
	}
	if (elems_reserve(es, i + 1) < 0)
		return -ENOMEM;
	memcpy(es->keys + i * es->key_len, e->key, es->key_len);
	if (e->end)
		f |= NFO_NFT_ELEM_END;
	if (e->kelen) {
		if (column_start(&es->key_ends, es->key_len, es->cap) < 0)
			return -ENOMEM;
		memcpy(es->key_ends + i * es->key_len, e->key_end, es->key_len);
		f |= NFO_NFT_ELEM_KEY_END;
	}
	if (e->has_timeout) {
		if (column_start(&es->timeouts, sizeof(uint64_t), es->cap) < 0)
			return -ENOMEM;
		es->timeouts[i] = e->timeout_ms;
		f |= NFO_NFT_ELEM_TIMEOUT;
	}
	if (e->has_expiration) {
		if (column_start(&es->expirations, sizeof(uint64_t), es->cap) < 0)
			return -ENOMEM;
		es->expirations[i] = e->expiration_ms;
		f |= NFO_NFT_ELEM_EXPIRATION;
	}
	if (data && data->verdict) {
		if (column_start(&es->verdicts, sizeof(uint32_t), es->cap) < 0)
			return -ENOMEM;
		es->verdicts[i] = data->code;
		f |= NFO_NFT_ELEM_VERDICT;
		if (data->chain) {
			if (column_start(&es->chains, sizeof(char *), es->cap) < 0)
				return -ENOMEM;
			es->chains[i] = strdup(data->chain);
			if (!es->chains[i])
				return -ENOMEM;
		}
	}
	es->flags[i] = f;
	es->n++;
	return 0;
}

const struct nfo_nft_elems *nfo_nft_dump_elems(const struct nfo_nft_dump *d, uint32_t family,
					       const char *table, const char *name)
{
	for (size_t i = 0; i < d->nelems; i++)
		if (d->elems[i]->family == family && !strcmp(d->elems[i]->table, table) &&
		    !strcmp(d->elems[i]->name, name))
			return d->elems[i];
	return NULL;
}

struct elem_msg {
	const char *table;
	const char *set;
	const struct nlattr *elems;
};

static int elem_list_cb(const struct nlattr *a, void *data);

/* The elements of one NFTA_SET_ELEM_LIST_ELEMENTS (NULL: none), appended. */
static int push_elems(struct nfo_nft_elems *es, const struct nlattr *list)
{
	const struct nlattr *a;
	int r;

	if (!list)
		return 0;
	mnl_attr_for_each_nested(a, list) {
		const struct nlattr *data = NULL;
		struct elem_data ed = {};
		struct nfo_nft_elem e = {};

		if (mnl_attr_get_type(a) != NFTA_LIST_ELEM)
			continue;
		if (parse_elem(a, &e, &data) < 0 || (data && parse_elem_data(data, &ed) < 0))
			return -EINVAL;
		r = elems_push(es, &e, &ed);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * NEWSETELEM names its set by table and name; the elements go into its
 * columns, parsed with libmnl straight from the message: a dump of a
 * million elements never makes a million objects.
 */
static int parse_setelem(struct nfo_nft_dump *d, const struct nlmsghdr *nlh)
{
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	struct nfo_nft_elems *es = NULL;
	struct elem_msg em = {};
	int r;

	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*g) ||
	    mnl_attr_parse(nlh, sizeof(*g), elem_list_cb, &em) < 0 || !em.table || !em.set)
		return -EINVAL;
	/* the messages of a dump are all of one set: the last one first */
	for (size_t i = d->nelems; i-- > 0;)
		if (d->elems[i]->family == g->nfgen_family && !strcmp(d->elems[i]->table, em.table) &&
		    !strcmp(d->elems[i]->name, em.set)) {
			es = d->elems[i];
			break;
		}
	if (!es) {
		struct find_set f = { .family = g->nfgen_family, .table = em.table, .name = em.set };
		struct nfo_nft_elems **p;

		nftnl_set_list_foreach(d->sets, find_set_cb, &f);
		if (!f.found)
			return -ENOENT;
		p = realloc(d->elems, (d->nelems + 1) * sizeof(*p));
		if (!p)
			return -ENOMEM;
		d->elems = p;
		r = nfo_nft_elems_new(&es, g->nfgen_family, em.table, em.set);
		if (r < 0)
			return r;
		d->elems[d->nelems++] = es;
	}
	return push_elems(es, em.elems);
}

struct from_nftnl {
	struct nfo_nft_elems *es;
	int error;
};

static int from_nftnl_cb(struct nftnl_set_elem *ne, void *data)
{
	struct from_nftnl *f = data;
	struct nfo_nft_elem e = {};
	struct elem_data ed = {};
	uint32_t klen = 0, kelen = 0;
	const void *key = nftnl_set_elem_get(ne, NFTNL_SET_ELEM_KEY, &klen);
	const void *kend = nftnl_set_elem_get(ne, NFTNL_SET_ELEM_KEY_END, &kelen);

	if (!key || klen > NFO_NFT_KEY_MAX || kelen > NFO_NFT_KEY_MAX || klen == 0) {
		f->es->bad = true;
		return 0;
	}
	memcpy(e.key, key, klen);
	e.klen = (uint8_t)klen;
	if (kend) {
		memcpy(e.key_end, kend, kelen);
		e.kelen = (uint8_t)kelen;
	}
	if (nftnl_set_elem_is_set(ne, NFTNL_SET_ELEM_FLAGS))
		e.end = nftnl_set_elem_get_u32(ne, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END;
	e.has_timeout = nftnl_set_elem_is_set(ne, NFTNL_SET_ELEM_TIMEOUT);
	if (e.has_timeout)
		e.timeout_ms = nftnl_set_elem_get_u64(ne, NFTNL_SET_ELEM_TIMEOUT);
	e.has_expiration = nftnl_set_elem_is_set(ne, NFTNL_SET_ELEM_EXPIRATION);
	if (e.has_expiration)
		e.expiration_ms = nftnl_set_elem_get_u64(ne, NFTNL_SET_ELEM_EXPIRATION);
	if (nftnl_set_elem_is_set(ne, NFTNL_SET_ELEM_VERDICT)) {
		ed.verdict = true;
		ed.code = nftnl_set_elem_get_u32(ne, NFTNL_SET_ELEM_VERDICT);
		if (nftnl_set_elem_is_set(ne, NFTNL_SET_ELEM_CHAIN))
			ed.chain = nftnl_set_elem_get_str(ne, NFTNL_SET_ELEM_CHAIN);
	}
	f->error = elems_push(f->es, &e, &ed);
	return f->error < 0 ? -1 : 0;
}

int nfo_nft_elems_from_nftnl(struct nftnl_set *s, struct nfo_nft_elems **ret)
{
	const char *table = nftnl_set_is_set(s, NFTNL_SET_TABLE) ? nftnl_set_get_str(s, NFTNL_SET_TABLE) : "";
	const char *name = nftnl_set_is_set(s, NFTNL_SET_NAME) ? nftnl_set_get_str(s, NFTNL_SET_NAME) : "";
	struct from_nftnl f = {};
	int r;

	r = nfo_nft_elems_new(&f.es, nftnl_set_get_u32(s, NFTNL_SET_FAMILY), table, name);
	if (r < 0)
		return r;
	nftnl_set_elem_foreach(s, from_nftnl_cb, &f);
	if (f.error < 0) {
		nfo_nft_elems_free(&f.es);
		return f.error;
	}
	*ret = f.es;
	return 0;
}

static int gen_parse(const struct nlmsghdr *nlh, uint32_t *ret_genid)
{
	struct nftnl_gen *g = nftnl_gen_alloc();
	int r = 0;

	if (!g)
		return -ENOMEM;
	if (nftnl_gen_nlmsg_parse(nlh, g) < 0)
		r = -EINVAL;
	else
		*ret_genid = nftnl_gen_get_u32(g, NFTNL_GEN_ID);
	nftnl_gen_free(g);
	return r;
}

static int parse_gen(struct nfo_nft_dump *d, const struct nlmsghdr *nlh)
{
	int r = gen_parse(nlh, &d->genid);

	/* A generation we cannot read leaves genid as it was: the check
	 * around the dump then sees it moved, or not. */
	return r == -ENOMEM ? r : 0;
}

/*
 * libnftnl has one set of functions per object type; these adapters give
 * them one signature, so that every object message takes the same path.
 */
struct obj_ops {
	void *(*alloc)(void);
	int (*parse)(const struct nlmsghdr *nlh, void *obj);
	bool (*is_set)(const void *obj, uint16_t attr);
	void (*add)(struct nfo_nft_dump *d, void *obj);
	void (*free)(void *obj);
};

#define OBJ_OPS(type)                                                        \
	static void *type##_alloc(void)                                      \
	{                                                                    \
		return nftnl_##type##_alloc();                               \
	}                                                                    \
	static int type##_parse(const struct nlmsghdr *nlh, void *obj)       \
	{                                                                    \
		return nftnl_##type##_nlmsg_parse(nlh, obj);                 \
	}                                                                    \
	static bool type##_is_set(const void *obj, uint16_t attr)            \
	{                                                                    \
		return nftnl_##type##_is_set(obj, attr);                     \
	}                                                                    \
	static void type##_add(struct nfo_nft_dump *d, void *obj)            \
	{                                                                    \
		nftnl_##type##_list_add_tail(obj, d->type##s);               \
	}                                                                    \
	static void type##_free(void *obj)                                   \
	{                                                                    \
		nftnl_##type##_free(obj);                                    \
	}                                                                    \
	static const struct obj_ops type##_ops = {                           \
		type##_alloc, type##_parse, type##_is_set, type##_add, type##_free, \
	}

OBJ_OPS(table);
OBJ_OPS(chain);
OBJ_OPS(set);
OBJ_OPS(rule);
OBJ_OPS(flowtable);

#define MAX_REQUIRED 2

/* How each message type of a dump is read, keyed by NFT_MSG_*. */
static const struct msg_parser {
	/* A message that is one object: parsed, checked, added to its list. */
	const struct obj_ops *obj;
	/* Attributes the kernel always sends. Objects without them are
	 * rejected rather than, say, let a nameless dormant table's chains
	 * come alive; nftnl_chain_list_add_tail() also hashes the name. */
	uint16_t required[MAX_REQUIRED];
	unsigned nrequired;
	/* A message that adds to objects already read. */
	int (*apply)(struct nfo_nft_dump *d, const struct nlmsghdr *nlh);
} msg_parsers[NFT_MSG_MAX] = {
	[NFT_MSG_NEWTABLE] = { &table_ops, { NFTNL_TABLE_NAME }, 1, NULL },
	[NFT_MSG_NEWCHAIN] = { &chain_ops, { NFTNL_CHAIN_NAME, NFTNL_CHAIN_TABLE }, 2, NULL },
	[NFT_MSG_NEWSET] = { &set_ops, { NFTNL_SET_NAME, NFTNL_SET_TABLE }, 2, NULL },
	[NFT_MSG_NEWRULE] = { &rule_ops, { 0 }, 0, NULL },
	[NFT_MSG_NEWFLOWTABLE] = { &flowtable_ops,
				   { NFTNL_FLOWTABLE_NAME, NFTNL_FLOWTABLE_TABLE }, 2, NULL },
	[NFT_MSG_NEWSETELEM] = { NULL, { 0 }, 0, parse_setelem },
	[NFT_MSG_NEWGEN] = { NULL, { 0 }, 0, parse_gen },
};

static int parse_msg(struct nfo_nft_dump *d, const struct nlmsghdr *nlh)
{
	unsigned type = NFNL_MSG_TYPE(nlh->nlmsg_type);
	const struct msg_parser *p;
	void *obj;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES || type >= NFT_MSG_MAX)
		return 0;
	p = &msg_parsers[type];
	if (p->apply)
		return p->apply(d, nlh);
	if (!p->obj)
		return 0; /* not part of a dump */
	obj = p->obj->alloc();
	if (!obj)
		return -ENOMEM;
	if (p->obj->parse(nlh, obj) < 0)
		goto invalid;
	for (unsigned i = 0; i < p->nrequired; i++)
		if (!p->obj->is_set(obj, p->required[i]))
			goto invalid;
	p->obj->add(d, obj);
	return 0;
invalid:
	p->obj->free(obj);
	return -EINVAL;
}

int nfo_nft_dump_parse(struct nfo_nft_dump *d, const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	int rem = (int)len;

	while (mnl_nlmsg_ok(nlh, rem)) {
		int r;

		/* mnl_nlmsg_ok() compares as int: a length with the top bit
		 * set would pass. */
		if (nlh->nlmsg_len > (uint32_t)rem)
			return -EINVAL;
		if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR) {
			nlh = mnl_nlmsg_next(nlh, &rem);
			continue;
		}
		r = parse_msg(d, nlh);
		if (r < 0)
			return r;
		nlh = mnl_nlmsg_next(nlh, &rem);
	}
	return 0;
}

static int capture(struct nfo_nft_dump *d, const struct nlmsghdr *nlh)
{
	size_t need = d->raw_len + nlh->nlmsg_len;

	if (need > d->raw_cap) {
		size_t cap = d->raw_cap ? d->raw_cap : 65536;
		uint8_t *p;

		while (cap < need)
			cap *= 2;
		p = realloc(d->raw, cap);
		if (!p)
			return -ENOMEM;
		d->raw = p;
		d->raw_cap = cap;
	}
	memcpy(d->raw + d->raw_len, nlh, nlh->nlmsg_len);
	d->raw_len += nlh->nlmsg_len;
	return 0;
}

struct dump_ctx {
	struct nfo_nft_dump *d;
	uint64_t *progress;
	bool interrupted;
	int error;
	/* a set's element dump that may be left running after its first
	 * read (nft_talk returns 1 then) */
	bool may_leave;
	bool elem_intr; /* NLM_F_DUMP_INTR on an element message of it */
	uint64_t elems; /* elements read in the current element dump */
};

/* Elements in one NEWSETELEM message (without parsing them). */
static uint64_t count_elems(const struct nlmsghdr *nlh)
{
	const struct nlattr *a, *e;
	uint64_t n = 0;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(e, a)
			n++;
	}
	return n;
}

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *ctx = data;
	int r;

	/* nf_tables sets NLM_F_DUMP_INTR when the generation changed while
	 * the dump ran (nl_dump_check_consistent). */
	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) {
		/* a set that is streamed anyway: the stream says it */
		if (ctx->may_leave)
			ctx->elem_intr = true;
		else
			ctx->interrupted = true;
	}
	if (ctx->d->capture) {
		r = capture(ctx->d, nlh);
		if (r < 0)
			goto fail;
	}
	r = parse_msg(ctx->d, nlh);
	if (r < 0)
		goto fail;
	if (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWSETELEM) {
		uint64_t n = count_elems(nlh);

		ctx->elems += n;
		if (ctx->progress)
			__atomic_fetch_add(ctx->progress, n, __ATOMIC_RELAXED);
	}
	return MNL_CB_OK;
fail:
	ctx->error = r;
	return MNL_CB_ERROR;
}

static int nft_talk(struct mnl_socket *nl, uint8_t *rbuf, struct nlmsghdr *nlh,
		    struct dump_ctx *ctx)
{
	uint32_t portid = mnl_socket_get_portid(nl);
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t n;
	int r;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(nl, rbuf, NFO_NFT_RECV_SIZE);
		if (n < 0)
			return errno == EINTR ? -EAGAIN : -errno;
		r = mnl_cb_run(rbuf, n, seq, portid, dump_cb, ctx);
		if (r < 0)
			return ctx->error ? ctx->error : (errno == EINTR ? -EAGAIN : -errno);
		if (r == MNL_CB_STOP)
			return 0;
		if (ctx->may_leave)
			return 1; /* more than one message of elements: streamed */
	}
}

static uint32_t next_seq(void)
{
	/* the event loop, the stream readers and the expiry thread all ask
	 * the kernel: each its own socket, one counter */
	static uint32_t seq;
	uint32_t zero = 0;

	(void)__atomic_compare_exchange_n(&seq, &zero, (uint32_t)time(NULL), false,
					  __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	return __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
}

static int nft_dump_type(struct mnl_socket *nl, uint8_t *rbuf, uint16_t type,
			 uint16_t family, struct nftnl_set *s, struct dump_ctx *ctx)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	uint16_t flags = NLM_F_DUMP;

	if (type == NFT_MSG_GETGEN)
		flags = NLM_F_ACK;
	nlh = nftnl_nlmsg_build_hdr(buf, type, family, flags, next_seq());
	if (s)
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
	return nft_talk(nl, rbuf, nlh, ctx);
}

struct elem_ctx {
	struct mnl_socket **nl; /* replaced when a dump is left to a stream */
	uint8_t *rbuf;
	struct dump_ctx *ctx;
	int error;
};

/* Sets whose elements can be streamed: exact, plain keys, changed only by
 * notified transactions or by expiring (what the daemon follows while it
 * reads on: daemon-stream.c). */
static bool streamable(struct nftnl_set *s)
{
	uint32_t flags = nftnl_set_is_set(s, NFTNL_SET_FLAGS) ? nftnl_set_get_u32(s, NFTNL_SET_FLAGS) : 0;

	return !(flags & (NFT_SET_ANONYMOUS | NFT_SET_INTERVAL | NFT_SET_MAP | NFT_SET_EVAL |
			  NFT_SET_OBJECT | NFT_SET_CONCAT));
}

static int nft_open(struct mnl_socket **ret);

/* The dump of s's elements, left running on *nl, becomes a stream; *nl
 * gets a new socket for the rest of the ruleset. */
static int leave_to_stream(struct nfo_nft_dump *d, struct nftnl_set *s, struct mnl_socket **nl,
			   uint64_t read, bool intr)
{
	struct nfo_nft_stream *st = calloc(1, sizeof(*st)), **p;
	int r = -ENOMEM;

	if (!st)
		return -ENOMEM;
	st->family = nftnl_set_get_u32(s, NFTNL_SET_FAMILY);
	st->table = strdup(nftnl_set_get_str(s, NFTNL_SET_TABLE));
	st->name = strdup(nftnl_set_get_str(s, NFTNL_SET_NAME));
	st->rbuf = malloc(NFO_NFT_RECV_SIZE);
	st->read = read;
	st->pass_read = read;
	st->interrupted = intr;
	st->pass = 1;
	/* read before the dump's first element request: every message of
	 * this one is built after it */
	st->at = d->at;
	p = realloc(d->streams, (d->nstreams + 1) * sizeof(*p));
	if (!st->table || !st->name || !st->rbuf || !p)
		goto fail;
	d->streams = p;
	r = nft_open(&st->nl);
	if (r < 0)
		goto fail;
	/* the running dump goes with the stream, the new socket stays */
	{
		struct mnl_socket *t = st->nl;

		st->nl = *nl;
		*nl = t;
	}
	st->seq = 0; /* any: the replies carry the dump's, checked loosely */
	d->streams[d->nstreams++] = st;
	return 0;
fail:
	nfo_nft_stream_free(&st);
	return r;
}

/*
 * Whether an element dump sent some element twice. nf_tables builds each
 * message of an element dump by walking the set from its start and skipping
 * as many elements as it sent before (nf_tables_dump_set, iter.skip). A hash
 * set's table is resized after large changes, by a worker, without a new
 * generation: a walk after a resize goes in another order, so the skip
 * count leaves out some elements that were never sent and sends others
 * again, as many of each when the set did not change. Seen: `nft list set`
 * right after a 300,000-element transaction lists 15,308 elements twice and
 * 15,308 not at all (kernel 6.18). Every message's walk goes over every
 * element (rhashtable_walk_next restarts on a resize), so the dump sends at
 * least as many elements as the set holds: none sent twice means none left
 * out. An element is one key (with its end flag and key end: an interval
 * set's end element may share its key with a start).
 */
static uint64_t dumps_repeated;

uint64_t nfo_nft_dumps_repeated(void)
{
	return __atomic_load_n(&dumps_repeated, __ATOMIC_RELAXED);
}

void nfo_nft_note_dump_repeated(void)
{
	__atomic_fetch_add(&dumps_repeated, 1, __ATOMIC_RELAXED);
}

bool nfo_nft_elems_repeat(const struct nfo_nft_elems *es)
{
	size_t kl = es ? es->key_len : 0, cap = 2;
	uint32_t *slot;
	bool rep = false;

	if (!es || es->n < 2 || !kl)
		return false;
	while (cap < 2 * es->n)
		cap <<= 1;
	slot = calloc(cap, sizeof(*slot));
	if (!slot)
		return true; /* cannot tell: read again */
	for (size_t i = 0; i < es->n && !rep; i++) {
		const uint8_t *k = es->keys + i * kl;
		uint64_t h = 1469598103934665603ull; /* FNV-1a */

		for (size_t b = 0; b < kl; b++)
			h = (h ^ k[b]) * 1099511628211ull;
		for (size_t j = h & (cap - 1);; j = (j + 1) & (cap - 1)) {
			size_t o;

			if (!slot[j]) {
				slot[j] = (uint32_t)i + 1;
				break;
			}
			o = slot[j] - 1;
			if (!memcmp(es->keys + o * kl, k, kl) &&
			    (es->flags[o] & NFO_NFT_ELEM_END) == (es->flags[i] & NFO_NFT_ELEM_END) &&
			    (es->flags[o] & NFO_NFT_ELEM_KEY_END) ==
				    (es->flags[i] & NFO_NFT_ELEM_KEY_END) &&
			    (!(es->flags[i] & NFO_NFT_ELEM_KEY_END) || !es->key_ends ||
			     !memcmp(es->key_ends + o * kl, es->key_ends + i * kl, kl))) {
				rep = true;
				break;
			}
		}
	}
	free(slot);
	if (rep)
		nfo_nft_note_dump_repeated();
	return rep;
}

/* A set read whole: whether its dump sent an element twice, for the
 * importer (a set the fast path needs whole is then read again; one that
 * changes alone anyway, with timeouts or from the packet path, where a
 * missing element only makes the fast path drop less, is taken). */
static void mark_repeated(struct nfo_nft_elems *es)
{
	if (es)
		es->repeated = nfo_nft_elems_repeat(es);
}

static int dump_elems_cb(struct nftnl_set *s, void *data)
{
	struct elem_ctx *e = data;
	struct dump_ctx *ctx = e->ctx;
	int r;

	ctx->may_leave = ctx->d->stream_after && streamable(s);
	ctx->elem_intr = false;
	ctx->elems = 0;
	r = nft_dump_type(*e->nl, e->rbuf, NFT_MSG_GETSETELEM,
			  nftnl_set_get_u32(s, NFTNL_SET_FAMILY), s, ctx);
	ctx->may_leave = false;
	if (r == 1)
		r = leave_to_stream(ctx->d, s, e->nl, ctx->elems, ctx->elem_intr);
	else if (r == 0 && ctx->elem_intr)
		ctx->interrupted = true; /* read whole after all: as any other */
	else if (r == 0)
		mark_repeated((struct nfo_nft_elems *)nfo_nft_dump_elems(ctx->d,
				nftnl_set_get_u32(s, NFTNL_SET_FAMILY),
				nftnl_set_get_str(s, NFTNL_SET_TABLE),
				nftnl_set_get_str(s, NFTNL_SET_NAME)));
	/* A set deleted since the set dump: the generation check catches it. */
	if (r < 0 && r != -ENOENT) {
		e->error = r;
		return -1;
	}
	return 0;
}

static nfo_nft_clock_fn clock_fn;
static void *clock_userdata;

void nfo_nft_set_clock(nfo_nft_clock_fn fn, void *userdata)
{
	clock_fn = fn;
	clock_userdata = userdata;
}

/* The clock now; hz 0 when there is none or it failed. */
static void read_clock(struct nfo_nft_jiffies *ret)
{
	*ret = (struct nfo_nft_jiffies){};
	if (clock_fn && clock_fn(clock_userdata, ret) < 0)
		*ret = (struct nfo_nft_jiffies){};
}

static int read_once(struct mnl_socket **nlp, uint8_t *rbuf, struct nfo_nft_dump *d,
		     uint64_t *progress, bool *ret_consistent)
{
	struct mnl_socket *nl = *nlp;
	struct dump_ctx ctx = { .d = d, .progress = progress };
	static const uint16_t types[] = { NFT_MSG_GETTABLE, NFT_MSG_GETCHAIN,
					  NFT_MSG_GETSET, NFT_MSG_GETFLOWTABLE };
	uint32_t gen_before;
	struct elem_ctx e;
	int r;

	r = nft_dump_type(nl, rbuf, NFT_MSG_GETGEN, NFPROTO_UNSPEC, NULL, &ctx);
	if (r < 0)
		return r;
	gen_before = d->genid;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		r = nft_dump_type(nl, rbuf, types[i], NFPROTO_UNSPEC, NULL, &ctx);
		if (r < 0)
			return r;
	}
	e = (struct elem_ctx){ .nl = nlp, .rbuf = rbuf, .ctx = &ctx };
	/* before any element is asked for: a lower bound of every expiry */
	read_clock(&d->at);
	nftnl_set_list_foreach(d->sets, dump_elems_cb, &e);
	if (e.error)
		return e.error;
	nl = *nlp;
	r = nft_dump_type(nl, rbuf, NFT_MSG_GETRULE, NFPROTO_UNSPEC, NULL, &ctx);
	if (r < 0)
		return r;

	r = nft_dump_type(nl, rbuf, NFT_MSG_GETGEN, NFPROTO_UNSPEC, NULL, &ctx);
	if (r < 0)
		return r;
	*ret_consistent = !ctx.interrupted && gen_before == d->genid;
	return 0;
}

static int nft_open(struct mnl_socket **ret)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int r = -errno;

		mnl_socket_close(nl);
		return r;
	}
	*ret = nl;
	return 0;
}

void nfo_nft_stream_free(struct nfo_nft_stream **stp)
{
	struct nfo_nft_stream *st = *stp;

	if (!st)
		return;
	if (st->nl)
		mnl_socket_close(st->nl);
	free(st->rbuf);
	free(st->table);
	free(st->name);
	free(st);
	*stp = NULL;
}

struct nfo_nft_stream *nfo_nft_dump_stream(const struct nfo_nft_dump *d, uint32_t family,
					   const char *table, const char *name)
{
	for (size_t i = 0; i < d->nstreams; i++)
		if (d->streams[i]->family == family && !strcmp(d->streams[i]->table, table) &&
		    !strcmp(d->streams[i]->name, name))
			return d->streams[i];
	return NULL;
}

struct nfo_nft_stream *nfo_nft_dump_take_stream(struct nfo_nft_dump *d, size_t i)
{
	struct nfo_nft_stream *st = d->streams[i];

	d->streams[i] = d->streams[--d->nstreams];
	return st;
}

struct stream_ctx {
	struct nfo_nft_stream *st;
	struct nfo_nft_elems *es;
	uint64_t *progress;
};

static int stream_cb(const struct nlmsghdr *nlh, void *data)
{
	struct stream_ctx *sc = data;
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	struct elem_msg em = {};
	size_t before = sc->es->n;
	int r;

	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		sc->st->interrupted = true;
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
	    NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_NEWSETELEM)
		return MNL_CB_OK;
	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*g) ||
	    mnl_attr_parse(nlh, sizeof(*g), elem_list_cb, &em) < 0 || !em.table || !em.set ||
	    strcmp(em.table, sc->st->table) || strcmp(em.set, sc->st->name)) {
		errno = EINVAL;
		return MNL_CB_ERROR;
	}
	r = push_elems(sc->es, em.elems);
	if (r < 0) {
		errno = -r;
		return MNL_CB_ERROR;
	}
	sc->st->read += sc->es->n - before;
	sc->st->pass_read += sc->es->n - before;
	if (sc->progress)
		__atomic_fetch_add(sc->progress, sc->es->n - before, __ATOMIC_RELAXED);
	return MNL_CB_OK;
}

/* Up to max_msgs receives of st into es: 1 when the dump ended. */
static int stream_read_into(struct nfo_nft_stream *st, struct nfo_nft_elems *es, size_t max_msgs,
			    uint64_t *progress)
{
	struct stream_ctx sc = { .st = st, .es = es, .progress = progress };
	uint32_t portid = mnl_socket_get_portid(st->nl);

	if (st->done)
		return 1;
	for (size_t i = 0; i < max_msgs; i++) {
		ssize_t n = mnl_socket_recvfrom(st->nl, st->rbuf, NFO_NFT_RECV_SIZE);
		int r;

		if (n < 0)
			return -errno;
		/* seq 0: the dump's sequence number is not checked (the
		 * socket carries nothing else) */
		r = mnl_cb_run(st->rbuf, n, 0, portid, stream_cb, &sc);
		if (r < 0)
			return errno ? -errno : -EINVAL;
		if (r == MNL_CB_STOP) {
			st->done = true;
			return 1;
		}
	}
	return 0;
}

int nfo_nft_stream_read(struct nfo_nft_stream *st, size_t max_msgs, struct nfo_nft_elems **ret)
{
	struct nfo_nft_elems *es = NULL;
	int r;

	*ret = NULL;
	r = nfo_nft_elems_new(&es, st->family, st->table, st->name);
	if (r < 0)
		return r;
	r = stream_read_into(st, es, max_msgs, NULL);
	if (r < 0 || !es->n)
		nfo_nft_elems_free(&es);
	*ret = es;
	return r;
}

int nfo_nft_stream_restart(struct nfo_nft_stream *st)
{
	struct nftnl_set *s = nftnl_set_alloc();
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int r = 0;

	if (!s)
		return -ENOMEM;
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, st->family);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, st->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, st->name);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, (uint16_t)st->family, NLM_F_DUMP,
				    next_seq());
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	/* before the request: a lower bound of when each message is built */
	read_clock(&st->at);
	if (mnl_socket_sendto(st->nl, nlh, nlh->nlmsg_len) < 0)
		r = -errno;
	if (r == 0) {
		st->done = false;
		st->interrupted = false;
		st->pass_read = 0;
		st->pass++;
	}
	return r;
}

int nfo_nft_stream_open(uint32_t family, const char *table, const char *name,
			struct nfo_nft_stream **ret)
{
	struct nfo_nft_stream *st = calloc(1, sizeof(*st));
	int r = -ENOMEM;

	*ret = NULL;
	if (!st)
		return -ENOMEM;
	st->family = family;
	st->table = strdup(table);
	st->name = strdup(name);
	st->rbuf = malloc(NFO_NFT_RECV_SIZE);
	if (!st->table || !st->name || !st->rbuf)
		goto fail;
	r = nft_open(&st->nl);
	if (r == 0)
		r = nfo_nft_stream_restart(st); /* pass 1 */
	if (r < 0)
		goto fail;
	*ret = st;
	return 0;
fail:
	nfo_nft_stream_free(&st);
	return r;
}

/*
 * Whether the generation moved since the dump's while st ran: then it may
 * have skipped elements. nf_tables marks no element dump NLM_F_DUMP_INTR
 * (nf_tables_dump_set() does not check the generation), so ask it.
 */
static bool moved(const struct nfo_nft_dump *d, struct nfo_nft_stream *st)
{
	uint32_t g;

	if (nfo_nft_get_genid(&g) < 0 || g != d->genid)
		st->interrupted = true;
	return st->interrupted;
}

int nfo_nft_dump_finish_stream(struct nfo_nft_dump *d, size_t i, uint64_t *progress)
{
	struct nfo_nft_stream *st = d->streams[i];
	struct nfo_nft_elems *es = (struct nfo_nft_elems *)nfo_nft_dump_elems(d, st->family,
									    st->table, st->name);
	int r = 0;

	if (!es)
		return -EINVAL;
	while (r == 0)
		r = stream_read_into(st, es, 64, progress);
	if (r == 1 && moved(d, st))
		r = -EAGAIN;
	if (r == 1)
		mark_repeated(es);
	st = nfo_nft_dump_take_stream(d, i);
	nfo_nft_stream_free(&st);
	return r < 0 ? r : 0;
}

/*
 * After the consistent part: each stream is read on up to stream_after
 * elements into the dump's columns, before anything is live. What it reads
 * may be of later generations than the dump's: the notifications of those
 * come after, and are applied after (an element deleted meanwhile is
 * deleted again, one added is added again). A stream that ends here
 * without the generation moving under it was read whole: it is no stream.
 */
static int fill_streams(struct nfo_nft_dump *d, uint64_t *progress)
{
	for (size_t i = 0; i < d->nstreams;) {
		struct nfo_nft_stream *st = d->streams[i];
		struct nfo_nft_elems *es = (struct nfo_nft_elems *)nfo_nft_dump_elems(
			d, st->family, st->table, st->name);
		int r = 0;

		if (!es)
			return -EINVAL; /* the first message had elements */
		while (r == 0 && st->read < d->stream_after)
			r = stream_read_into(st, es, 16, progress);
		if (r < 0)
			return r;
		/* read to its end, unmoved, none twice: whole (else its
		 * passes go on in the daemon: daemon-stream.c) */
		if (r == 1 && !moved(d, st) && !nfo_nft_elems_repeat(es)) {
			st = nfo_nft_dump_take_stream(d, i);
			nfo_nft_stream_free(&st);
			continue;
		}
		i++;
	}
	return 0;
}

int nfo_nft_read_ruleset(struct nfo_nft_dump **ret, bool capture, uint64_t *progress)
{
	return nfo_nft_read_ruleset_opts(ret, capture, progress, 0);
}

int nfo_nft_read_ruleset_opts(struct nfo_nft_dump **ret, bool capture, uint64_t *progress,
			      size_t stream_after)
{
	struct mnl_socket *nl = NULL;
	uint8_t *rbuf = NULL;
	int r;

	r = nft_open(&nl);
	if (r < 0)
		return r;
	rbuf = malloc(NFO_NFT_RECV_SIZE);
	if (!rbuf) {
		r = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < NFO_NFT_DUMP_TRIES; i++) {
		struct nfo_nft_dump *d;
		bool consistent = false;

		r = nfo_nft_dump_new(&d);
		if (r < 0)
			goto out;
		d->capture = capture;
		if (progress)
			__atomic_store_n(progress, 0, __ATOMIC_RELAXED);
		d->stream_after = stream_after;
		r = read_once(&nl, rbuf, d, progress, &consistent);
		if (r == 0 && consistent)
			r = fill_streams(d, progress);
		if (r == 0 && consistent) {
			*ret = d;
			goto out;
		}
		nfo_nft_dump_free(&d);
		/* EINTR from the kernel (dump interrupted) or a set that
		 * vanished between dumps: the ruleset moved, try again. */
		if (r < 0 && r != -EAGAIN && r != -EINTR && r != -ENOENT)
			goto out;
	}
	r = -EAGAIN;
out:
	free(rbuf);
	mnl_socket_close(nl);
	return r;
}

int nfo_nft_get_genid(uint32_t *ret_genid)
{
	struct nfo_nft_dump *d = NULL;
	struct mnl_socket *nl = NULL;
	struct dump_ctx ctx;
	uint8_t *rbuf;
	int r;

	r = nft_open(&nl);
	if (r < 0)
		return r;
	rbuf = malloc(NFO_NFT_RECV_SIZE);
	r = rbuf ? nfo_nft_dump_new(&d) : -ENOMEM;
	if (r == 0) {
		ctx = (struct dump_ctx){ .d = d };
		r = nft_dump_type(nl, rbuf, NFT_MSG_GETGEN, NFPROTO_UNSPEC, NULL, &ctx);
		if (r == 0)
			*ret_genid = d->genid;
	}
	nfo_nft_dump_free(&d);
	free(rbuf);
	mnl_socket_close(nl);
	return r;
}

static int read_set_once(uint32_t family, const char *table, const char *name, uint32_t genid,
			 struct nftnl_set **ret, struct nfo_nft_elems **ret_elems,
			 struct nfo_nft_jiffies *ret_at)
{
	struct nfo_nft_jiffies at;
	struct nfo_nft_dump *d = NULL;
	struct mnl_socket *nl = NULL;
	struct nftnl_set *s = NULL;
	struct dump_ctx ctx;
	uint8_t *rbuf = NULL;
	int r;

	r = nft_open(&nl);
	if (r < 0)
		return r;
	rbuf = malloc(NFO_NFT_RECV_SIZE);
	s = nftnl_set_alloc();
	if (!rbuf || !s || nfo_nft_dump_new(&d) < 0) {
		r = -ENOMEM;
		goto out;
	}
	ctx = (struct dump_ctx){ .d = d };
	r = nft_dump_type(nl, rbuf, NFT_MSG_GETGEN, NFPROTO_UNSPEC, NULL, &ctx);
	if (r == 0 && d->genid != genid)
		r = -EAGAIN;
	if (r < 0)
		goto out;
	/* The set, then its elements, through the same parser as a dump. */
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, family);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	{
		char buf[MNL_SOCKET_BUFFER_SIZE];
		struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSET, (uint16_t)family,
							     NLM_F_ACK, next_seq());

		nftnl_set_nlmsg_build_payload(nlh, s);
		r = nft_talk(nl, rbuf, nlh, &ctx);
	}
	read_clock(&at);
	if (r == 0)
		r = nft_dump_type(nl, rbuf, NFT_MSG_GETSETELEM, (uint16_t)family, s, &ctx);
	if (r == 0)
		r = nft_dump_type(nl, rbuf, NFT_MSG_GETGEN, NFPROTO_UNSPEC, NULL, &ctx);
	if (r == 0 && (d->genid != genid || ctx.interrupted))
		r = -EAGAIN;
	if (r < 0)
		goto out;
	{
		struct find_set f = { .family = family, .table = table, .name = name };
		struct nfo_nft_elems *es = NULL;

		nftnl_set_list_foreach(d->sets, find_set_cb, &f);
		if (!f.found) {
			r = -ENOENT;
			goto out;
		}
		for (size_t i = 0; i < d->nelems; i++)
			if (d->elems[i]->family == family && !strcmp(d->elems[i]->table, table) &&
			    !strcmp(d->elems[i]->name, name)) {
				es = d->elems[i];
				d->elems[i] = d->elems[--d->nelems];
				break;
			}
		if (!es) {
			r = nfo_nft_elems_new(&es, family, table, name);
			if (r < 0)
				goto out;
		}
		mark_repeated(es);
		nftnl_set_list_del(f.found);
		*ret = f.found;
		*ret_elems = es;
		if (ret_at)
			*ret_at = at;
	}
out:
	if (s)
		nftnl_set_free(s);
	nfo_nft_dump_free(&d);
	free(rbuf);
	mnl_socket_close(nl);
	return r;
}

int nfo_nft_read_set(uint32_t family, const char *table, const char *name, uint32_t genid,
		     struct nftnl_set **ret, struct nfo_nft_elems **ret_elems,
		     struct nfo_nft_jiffies *ret_at)
{
	int r;

	/* A dump that sent an element twice ran into a resize of the set's
	 * table, which lasts some 50-100 ms after a large transaction: read
	 * again a few times a little later before handing it over marked. */
	for (int i = 0;; i++) {
		r = read_set_once(family, table, name, genid, ret, ret_elems, ret_at);
		if (r < 0 || !(*ret_elems)->repeated || i == 3)
			return r;
		nftnl_set_free(*ret);
		nfo_nft_elems_free(ret_elems);
		*ret = NULL;
		usleep(25000 * (i + 1));
	}
}

/* ---- elements asked for one by one ------------------------------------------- */

/* Requests per sendmsg: each answer is a NEWSETELEM of its own skb (a page
 * or so of receive buffer) and an acknowledgement, all queued before the
 * first is read. */
#define GETELEM_WINDOW 64

size_t nfo_nft_getelem_request(void *buf, uint32_t family, const char *table, const char *name,
			       const uint8_t *key, uint32_t key_len, uint32_t seq)
{
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, (uint16_t)family,
						     NLM_F_ACK, seq);
	struct nlattr *list, *elem, *k;

	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, name);
	list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	k = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
	mnl_attr_put(nlh, NFTA_DATA_VALUE, key_len, key);
	mnl_attr_nest_end(nlh, k);
	mnl_attr_nest_end(nlh, elem);
	mnl_attr_nest_end(nlh, list);
	return nlh->nlmsg_len;
}

int nfo_nft_get_elems_parse(const void *buf, size_t len, uint32_t seq0, size_t n,
			    const uint8_t *keys, uint32_t key_len, struct nfo_nft_elem_state *ret,
			    bool *answered)
{
	const struct nlmsghdr *nlh = buf;
	int left = (int)len;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		size_t i = nlh->nlmsg_seq - seq0;

		if (nlh->nlmsg_seq < seq0 || i >= n)
			continue; /* not ours (an answer to an earlier call) */
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*e))
				return -EINVAL;
			if (e->error && e->error != -ENOENT)
				return e->error < 0 ? e->error : -EIO;
			if (e->error)
				ret[i] = (struct nfo_nft_elem_state){};
			answered[i] = true;
			continue;
		}
		if (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWSETELEM &&
		    NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_NFTABLES) {
			const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
			struct elem_msg em = {};
			const struct nlattr *a;
			size_t found = 0;

			if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*g) ||
			    mnl_attr_parse(nlh, sizeof(*g), elem_list_cb, &em) < 0 || !em.elems)
				return -EINVAL;
			mnl_attr_for_each_nested(a, em.elems) {
				struct nfo_nft_elem e = {};

				if (mnl_attr_get_type(a) != NFTA_LIST_ELEM)
					continue;
				if (parse_elem(a, &e, NULL) < 0 || e.klen != key_len ||
				    memcmp(e.key, keys + i * key_len, key_len) || found++)
					return -EINVAL;
				ret[i] = (struct nfo_nft_elem_state){
					.present = true,
					.has_timeout = e.has_timeout,
					.has_expiration = e.has_expiration,
					.timeout_ms = e.timeout_ms,
					.expiration_ms = e.expiration_ms,
				};
			}
			if (!found)
				return -EINVAL;
		}
	}
	return 0;
}

int nfo_nft_get_elems(uint32_t family, const char *table, const char *name, const uint8_t *keys,
		      size_t nkeys, uint32_t key_len, struct nfo_nft_elem_state *ret,
		      struct nfo_nft_jiffies *ret_at)
{
	uint8_t *sbuf = malloc(GETELEM_WINDOW * NFO_NFT_GETELEM_MAX);
	uint8_t *rbuf = malloc(NFO_NFT_RECV_SIZE);
	bool *answered = calloc(nkeys ? nkeys : 1, sizeof(*answered));
	struct mnl_socket *nl = NULL;
	int big = 8 << 20, r = 0;

	if (!sbuf || !rbuf || !answered)
		r = -ENOMEM;
	else if (key_len == 0 || key_len > NFO_NFT_KEY_MAX ||
		 strlen(table) + strlen(name) + key_len + 128 > NFO_NFT_GETELEM_MAX)
		r = -EINVAL;
	if (r == 0)
		r = nft_open(&nl);
	if (r < 0) {
		free(sbuf);
		free(rbuf);
		free(answered);
		return r;
	}
	/* room for a window's answers (root may exceed rmem_max) */
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		(void)setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	/* before the first request: every expiration answered counts from
	 * a moment no earlier than this reading */
	read_clock(ret_at);
	for (size_t done = 0; done < nkeys && r == 0;) {
		size_t m = nkeys - done < GETELEM_WINDOW ? nkeys - done : GETELEM_WINDOW;
		uint32_t seq0 = next_seq();
		size_t off = 0, got = 0;

		for (size_t i = 1; i < m; i++)
			(void)next_seq(); /* seq0 .. seq0 + m - 1 are this window's */
		for (size_t i = 0; i < m; i++)
			off += NLMSG_ALIGN(nfo_nft_getelem_request(sbuf + off, family, table, name,
								   keys + (done + i) * key_len,
								   key_len, seq0 + (uint32_t)i));
		if (mnl_socket_sendto(nl, sbuf, off) < 0) {
			r = -errno;
			break;
		}
		while (got < m && r == 0) {
			ssize_t len = mnl_socket_recvfrom(nl, rbuf, NFO_NFT_RECV_SIZE);

			if (len < 0) {
				r = errno == EINTR ? 0 : -errno;
				continue;
			}
			r = nfo_nft_get_elems_parse(rbuf, (size_t)len, seq0, m,
						    keys + done * key_len, key_len, ret + done,
						    answered + done);
			got = 0;
			for (size_t i = 0; i < m; i++)
				got += answered[done + i];
		}
		done += m;
	}
	mnl_socket_close(nl);
	free(sbuf);
	free(rbuf);
	free(answered);
	return r;
}

struct nfo_nft_monitor {
	struct mnl_socket *nl; /* NULL: offline (nfo_nft_monitor_parse only) */
	uint8_t *buf;
	bool pending; /* change messages since the last NEWGEN */
	/* the transaction being announced */
	struct nfo_nft_txn txn;
	size_t txn_ops;
	bool unsafe; /* the transaction does more than add rules that only drop */
};

static void setdelta_clear(struct nfo_nft_setdelta *d)
{
	free(d->table);
	free(d->name);
	free(d->ops);
}

void nfo_nft_txn_clear(struct nfo_nft_txn *t)
{
	for (size_t i = 0; i < t->nsets; i++)
		setdelta_clear(&t->sets[i]);
	free(t->sets);
	*t = (struct nfo_nft_txn){};
}

void nfo_nft_events_clear(struct nfo_nft_events *ev)
{
	for (size_t i = 0; i < ev->ntxns; i++)
		nfo_nft_txn_clear(&ev->txns[i]);
	free(ev->txns);
	*ev = (struct nfo_nft_events){};
}

static struct nfo_nft_setdelta *txn_set(struct nfo_nft_txn *t, uint32_t family, const char *table,
					const char *name)
{
	struct nfo_nft_setdelta *p;

	/* a transaction usually touches one set or a few: the last first */
	for (size_t i = t->nsets; i-- > 0;)
		if (t->sets[i].family == family && !strcmp(t->sets[i].table, table) &&
		    !strcmp(t->sets[i].name, name))
			return &t->sets[i];
	p = realloc(t->sets, (t->nsets + 1) * sizeof(*p));
	if (!p)
		return NULL;
	t->sets = p;
	p = &t->sets[t->nsets];
	*p = (struct nfo_nft_setdelta){ .family = family, .table = strdup(table),
					.name = strdup(name) };
	if (!p->table || !p->name) {
		setdelta_clear(p);
		return NULL;
	}
	t->nsets++;
	return p;
}

static int elem_list_cb(const struct nlattr *a, void *data)
{
	struct elem_msg *m = data;

	switch (mnl_attr_get_type(a)) {
	case NFTA_SET_ELEM_LIST_TABLE:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			m->table = mnl_attr_get_str(a);
		break;
	case NFTA_SET_ELEM_LIST_SET:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			m->set = mnl_attr_get_str(a);
		break;
	case NFTA_SET_ELEM_LIST_ELEMENTS:
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
			m->elems = a;
		break;
	}
	return MNL_CB_OK;
}

/* NFTA_DATA_VALUE inside a nested key attribute (nft_data_dump). */
static int data_value(const struct nlattr *nest, uint8_t *dst, uint8_t *ret_len)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest) {
		uint16_t len = mnl_attr_get_payload_len(a);

		if (mnl_attr_get_type(a) != NFTA_DATA_VALUE)
			continue;
		if (len == 0 || len > NFO_NFT_KEY_MAX)
			return -EINVAL;
		memcpy(dst, mnl_attr_get_payload(a), len);
		*ret_len = (uint8_t)len;
		return 0;
	}
	return -EINVAL;
}

/* One NFTA_LIST_ELEM (nf_tables_fill_setelem). */
static int parse_elem(const struct nlattr *elem, struct nfo_nft_elem *e,
		      const struct nlattr **ret_data)
{
	const struct nlattr *a;
	bool key = false;

	mnl_attr_for_each_nested(a, elem) {
		switch (mnl_attr_get_type(a)) {
		case NFTA_SET_ELEM_KEY:
			if (mnl_attr_validate(a, MNL_TYPE_NESTED) < 0 ||
			    data_value(a, e->key, &e->klen) < 0)
				return -EINVAL;
			key = true;
			break;
		case NFTA_SET_ELEM_KEY_END:
			if (mnl_attr_validate(a, MNL_TYPE_NESTED) < 0 ||
			    data_value(a, e->key_end, &e->kelen) < 0)
				return -EINVAL;
			break;
		case NFTA_SET_ELEM_FLAGS:
			if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
				return -EINVAL;
			e->end = ntohl(mnl_attr_get_u32(a)) & NFT_SET_ELEM_INTERVAL_END;
			break;
		case NFTA_SET_ELEM_TIMEOUT:
			if (mnl_attr_validate(a, MNL_TYPE_U64) < 0)
				return -EINVAL;
			e->has_timeout = true;
			e->timeout_ms = be64toh(mnl_attr_get_u64(a));
			break;
		case NFTA_SET_ELEM_EXPIRATION:
			if (mnl_attr_validate(a, MNL_TYPE_U64) < 0)
				return -EINVAL;
			e->has_expiration = true;
			e->expiration_ms = be64toh(mnl_attr_get_u64(a));
			break;
		case NFTA_SET_ELEM_DATA:
			if (ret_data)
				*ret_data = a;
			break;
		}
	}
	return key ? 0 : -EINVAL;
}

/*
 * NEWSETELEM / DELSETELEM: the elements go into the transaction's buffer.
 * nf_tables sends one element per message (nf_tables_setelem_notify).
 */
static int note_elems(struct nfo_nft_monitor *m, const struct nlmsghdr *nlh, bool del)
{
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	struct nfo_nft_setdelta *sd;
	struct elem_msg em = {};
	const struct nlattr *a;

	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*g) ||
	    mnl_attr_parse(nlh, sizeof(*g), elem_list_cb, &em) < 0 || !em.table || !em.set)
		return -EINVAL;
	sd = txn_set(&m->txn, g->nfgen_family, em.table, em.set);
	if (!sd)
		return -ENOMEM;
	if (!em.elems)
		return 0;
	mnl_attr_for_each_nested(a, em.elems) {
		struct nfo_nft_elem *e;

		if (mnl_attr_get_type(a) != NFTA_LIST_ELEM)
			continue;
		if (sd->overflow)
			continue;
		if (m->txn_ops >= NFO_NFT_TXN_MAX_OPS) {
			/* the rest of this set's operations is lost: read it */
			sd->overflow = true;
			free(sd->ops);
			sd->ops = NULL;
			sd->nops = sd->cap = 0;
			continue;
		}
		if (sd->nops == sd->cap) {
			size_t cap = sd->cap ? sd->cap * 2 : 16;
			struct nfo_nft_elem *p = realloc(sd->ops, cap * sizeof(*p));

			if (!p)
				return -ENOMEM;
			sd->ops = p;
			sd->cap = cap;
		}
		e = &sd->ops[sd->nops];
		*e = (struct nfo_nft_elem){ .del = del };
		if (parse_elem(a, e, NULL) < 0) {
			/* an element we cannot read, of a set we know: the
			 * set is read again, as after too many operations */
			sd->overflow = true;
			free(sd->ops);
			sd->ops = NULL;
			sd->nops = sd->cap = 0;
			continue;
		}
		sd->nops++;
		m->txn_ops++;
	}
	return 0;
}

/* The verdict code of an immediate expression's data, or -1. */
static int64_t imm_verdict(const struct nlattr *data)
{
	const struct nlattr *a, *b, *c;

	mnl_attr_for_each_nested(a, data) {
		if (mnl_attr_get_type(a) != NFTA_IMMEDIATE_DATA)
			continue;
		mnl_attr_for_each_nested(b, a) {
			if (mnl_attr_get_type(b) != NFTA_DATA_VERDICT)
				continue;
			mnl_attr_for_each_nested(c, b)
				if (mnl_attr_get_type(c) == NFTA_VERDICT_CODE &&
				    mnl_attr_get_payload_len(c) == 4)
					return (int32_t)ntohl(mnl_attr_get_u32(c));
		}
	}
	return -1;
}

static bool has_attr(const struct nlattr *data, uint16_t type)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, data)
		if (mnl_attr_get_type(a) == type)
			return true;
	return false;
}

/*
 * Whether a new rule can only make nftables drop more: every expression a
 * load or a match (no register written back into the packet, conntrack or
 * meta: no *_SREG; no lookup that yields data or a verdict), a counter, or
 * an immediate that is a drop verdict or a plain value.
 */
static bool rule_only_drops(const struct nlmsghdr *nlh)
{
	static const char *const loads[] = { "payload", "meta", "ct", "cmp", "bitwise", "range",
					     "lookup", "counter", "immediate", "exthdr" };
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a, *e, *x;

	if ((nlh->nlmsg_flags & NLM_F_REPLACE) || nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*g))
		return false;
	mnl_attr_for_each(a, nlh, sizeof(*g)) {
		if (mnl_attr_get_type(a) != NFTA_RULE_EXPRESSIONS)
			continue;
		mnl_attr_for_each_nested(e, a) {
			const char *name = NULL;
			const struct nlattr *data = NULL;
			bool known = false;

			mnl_attr_for_each_nested(x, e) {
				if (mnl_attr_get_type(x) == NFTA_EXPR_NAME &&
				    mnl_attr_validate(x, MNL_TYPE_NUL_STRING) == 0)
					name = mnl_attr_get_str(x);
				else if (mnl_attr_get_type(x) == NFTA_EXPR_DATA)
					data = x;
			}
			if (!name)
				return false;
			for (size_t i = 0; i < sizeof(loads) / sizeof(loads[0]); i++)
				known |= !strcmp(name, loads[i]);
			if (!known)
				return false;
			if (!data)
				continue;
			/* statements that write: payload/meta/ct/exthdr set */
			if ((!strcmp(name, "payload") && has_attr(data, NFTA_PAYLOAD_SREG)) ||
			    (!strcmp(name, "meta") && has_attr(data, NFTA_META_SREG)) ||
			    (!strcmp(name, "ct") && has_attr(data, NFTA_CT_SREG)) ||
			    (!strcmp(name, "exthdr") && has_attr(data, NFTA_EXTHDR_SREG)) ||
			    (!strcmp(name, "lookup") && has_attr(data, NFTA_LOOKUP_DREG)))
				return false;
			if (!strcmp(name, "immediate")) {
				const struct nlattr *d;
				bool verdict_reg = false;

				mnl_attr_for_each_nested(d, data)
					if (mnl_attr_get_type(d) == NFTA_IMMEDIATE_DREG &&
					    mnl_attr_get_payload_len(d) == 4 &&
					    ntohl(mnl_attr_get_u32(d)) == NFT_REG_VERDICT)
						verdict_reg = true;
				if (verdict_reg && imm_verdict(data) != NF_DROP)
					return false;
			}
		}
	}
	return true;
}

/* Records what one notification of the current transaction changes. */
static void note_change(struct nfo_nft_monitor *m, const struct nlmsghdr *nlh)
{
	int type = NFNL_MSG_TYPE(nlh->nlmsg_type);

	if (type == NFT_MSG_NEWSETELEM || type == NFT_MSG_DELSETELEM) {
		/* a message we cannot read (not even its set): the ruleset
		 * is no longer known */
		if (note_elems(m, nlh, type == NFT_MSG_DELSETELEM) < 0)
			m->txn.structural = true;
		/* a removed element may have made the old fast path drop */
		m->unsafe = true;
	} else {
		m->txn.structural = true;
		if (type != NFT_MSG_NEWRULE || !rule_only_drops(nlh))
			m->unsafe = true;
	}
	m->txn.only_drops = m->txn.structural && !m->unsafe;
}

static void txn_reset(struct nfo_nft_monitor *m)
{
	nfo_nft_txn_clear(&m->txn);
	m->txn_ops = 0;
	m->unsafe = false;
}

/* NEWGEN: the transaction is complete; hand it to ev. */
static void txn_commit(struct nfo_nft_monitor *m, struct nfo_nft_events *ev, uint32_t genid)
{
	struct nfo_nft_txn *p = realloc(ev->txns, (ev->ntxns + 1) * sizeof(*p));

	if (!p) {
		ev->lost = true; /* the resync reads whatever is committed */
		txn_reset(m);
		return;
	}
	ev->txns = p;
	m->txn.genid = genid;
	ev->txns[ev->ntxns++] = m->txn;
	m->txn = (struct nfo_nft_txn){};
	m->txn_ops = 0;
	m->unsafe = false;
}

static int monitor_alloc(struct nfo_nft_monitor **ret)
{
	struct nfo_nft_monitor *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->buf = malloc(NFO_NFT_RECV_SIZE);
	if (!m->buf) {
		free(m);
		return -ENOMEM;
	}
	*ret = m;
	return 0;
}

int nfo_nft_monitor_new_offline(struct nfo_nft_monitor **ret)
{
	return monitor_alloc(ret);
}

int nfo_nft_monitor_new(struct nfo_nft_monitor **ret, int rcvbuf)
{
	struct nfo_nft_monitor *m;
	int group = NFNLGRP_NFTABLES, size = rcvbuf > 0 ? rcvbuf : NFO_NFT_MONITOR_RCVBUF;
	int r;

	r = monitor_alloc(&m);
	if (r < 0)
		return r;
	m->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!m->nl) {
		r = -errno;
		goto fail;
	}
	if (mnl_socket_bind(m->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(m->nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
		r = -errno;
		goto fail;
	}
	if (setsockopt(mnl_socket_get_fd(m->nl), SOL_SOCKET, SO_RCVBUFFORCE, &size,
		       sizeof(size)) < 0)
		(void)setsockopt(mnl_socket_get_fd(m->nl), SOL_SOCKET, SO_RCVBUF, &size,
				 sizeof(size));
	*ret = m;
	return 0;
fail:
	nfo_nft_monitor_free(&m);
	return r;
}

void nfo_nft_monitor_free(struct nfo_nft_monitor **mp)
{
	struct nfo_nft_monitor *m = *mp;

	if (!m)
		return;
	if (m->nl)
		mnl_socket_close(m->nl);
	txn_reset(m);
	free(m->buf);
	free(m);
	*mp = NULL;
}

int nfo_nft_monitor_fd(const struct nfo_nft_monitor *m)
{
	return m->nl ? mnl_socket_get_fd(m->nl) : -1;
}

int nfo_nft_monitor_parse(struct nfo_nft_monitor *m, const void *buf, size_t len,
			  struct nfo_nft_events *ev)
{
	const struct nlmsghdr *nlh = buf;
	int rem = (int)len;

	while (mnl_nlmsg_ok(nlh, rem)) {
		if (nlh->nlmsg_len > (uint32_t)rem)
			break;
		if (NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_NFTABLES) {
			if (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWGEN) {
				uint32_t genid;

				if (gen_parse(nlh, &genid) == 0) {
					ev->genid = genid;
					ev->newgen = true;
					m->pending = false;
					txn_commit(m, ev, genid);
				} else {
					ev->lost = true;
				}
			} else {
				/* nf_tables sends these after the commit,
				 * then NEWGEN closes the transaction. */
				ev->changed = true;
				m->pending = true;
				note_change(m, nlh);
			}
		}
		nlh = mnl_nlmsg_next(nlh, &rem);
	}
	ev->pending = m->pending;
	ev->pending_structural = m->pending && m->txn.structural && !m->txn.only_drops;
	return 0;
}

int nfo_nft_monitor_read(struct nfo_nft_monitor *m, struct nfo_nft_events *ev)
{
	if (!m->nl)
		return -EBADF;
	for (;;) {
		ssize_t n = recv(mnl_socket_get_fd(m->nl), m->buf, NFO_NFT_RECV_SIZE, 0);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				ev->pending = m->pending;
				ev->pending_structural =
					m->pending && m->txn.structural && !m->txn.only_drops;
				return 0;
			}
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				/* The kernel dropped notifications for us. */
				ev->lost = true;
				ev->changed = true;
				m->pending = false; /* the resync reads whatever is committed */
				txn_reset(m);
				/* What follows until a NEWGEN is the tail of a
				 * transaction whose start was lost (and if its
				 * NEWGEN was lost too, the start of the next one):
				 * never apply it as elements. */
				m->txn.structural = true;
				m->unsafe = true;
				continue;
			}
			return -errno;
		}
		(void)nfo_nft_monitor_parse(m, m->buf, (size_t)n, ev);
	}
}
