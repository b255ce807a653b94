// SPDX-License-Identifier: GPL-2.0-only
/*
 * Element changes applied from notifications (setdelta.c, the monitor's
 * parser in netlink/nft.c, encode.c's slot deltas), on real nft
 * transactions captured by tests/data/elements/capture.sh: for each step,
 * the notifications applied to the model of the dump before it must give
 * the model of the dump after it, and the slot entries the change writes,
 * merged into the entries of before, the entries of after. Also the
 * polarity of set slots (nfo_plan_slot_polarity) on tests/data/rulesets/
 * polarity.nft.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include "common/util.h"
#include "netlink/nft.h"
#include "nft-offload/encode.h"
#include "nft-offload/import.h"
#include "nft-offload/plan.h"
#include "nft-offload/ruleset.h"
#include "nft-offload/setdelta.h"
#include "nft-offload/setstore.h"
#include "tests/unit/capture.h"

static struct nfo_ruleset *model_of(const char *name)
{
	struct nfo_nft_dump *d = NULL;
	struct nfo_ruleset *rs = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_int_equal(nfo_test_read_capture(name, &buf, &len), 0);
	assert_int_equal(nfo_nft_dump_new(&d), 0);
	assert_int_equal(nfo_nft_dump_parse(d, buf, len), 0);
	assert_int_equal(nfo_ruleset_new(&rs, d), 0);
	nfo_nft_dump_free(&d);
	free(buf);
	return rs;
}

static void events_of(const char *name, struct nfo_nft_events *ev)
{
	struct nfo_nft_monitor *m = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_int_equal(nfo_test_read_capture(name, &buf, &len), 0);
	assert_int_equal(nfo_nft_monitor_new_offline(&m), 0);
	*ev = (struct nfo_nft_events){};
	assert_int_equal(nfo_nft_monitor_parse(m, buf, len, ev), 0);
	assert_false(ev->lost);
	assert_false(ev->pending);
	nfo_nft_monitor_free(&m);
	free(buf);
}

/* Every entry a slot (slot 0 of half 0) holds for s: a change adding it all. */
static struct nfo_image_set entries_of(struct nfo_set *s)
{
	struct nfo_plan_set ps = { .set = s, .ndims = 1 };
	struct nfo_set_change all = {};
	struct nfo_image_set add = {}, del = {};

	assert_int_equal(nfo_set_refresh_elems(s), 0);
	if (s->interval) {
		all.add_iv = s->elems.iv;
		all.nadd_iv = s->elems.n;
	} else {
		all.add_keys = s->keys;
		all.nadd_keys = s->nkeys;
	}
	assert_int_equal(nfo_image_set_delta(&ps, &all, &add, &del), 0);
	assert_int_equal(del.n, 0);
	free(del.entries);
	return add;
}

static void assert_same_set(struct nfo_set *got, struct nfo_set *want)
{
	assert_int_equal(nfo_set_refresh_elems(got), 0);
	assert_int_equal(got->nkeys, want->nkeys);
	if (got->nkeys)
		assert_memory_equal(got->keys, want->keys, got->nkeys * got->key_len);
	assert_true(nfo_vset_equal(&got->elems, &want->elems));
	assert_int_equal(got->nbounds, want->nbounds);
	for (size_t i = 0; i < got->nbounds; i++) {
		assert_true(got->bounds[i].v == want->bounds[i].v);
		assert_int_equal(got->bounds[i].end, want->bounds[i].end);
	}
}

/* The bucket table of an exact set (a table store), written the way the
 * loader writes element changes: adds, then deletes. */
struct tstore {
	struct nfo_table t;
	void *mem;
};

static void tstore_init(struct tstore *ts, const struct nfo_set *s)
{
	uint32_t nb = 256;

	ts->mem = calloc(1, nfo_table_bytes(nb));
	assert_non_null(ts->mem);
	assert_int_equal(nfo_table_init(&ts->t, ts->mem, nb, nfo_table_kw(s->key_len), false, 7), 0);
}

static void tstore_apply(struct tstore *ts, const struct nfo_set *s, const struct nfo_image_set *e,
			 bool del)
{
	for (size_t i = 0; i < e->n; i++) {
		const struct nfo_image_setkey *k = (const void *)(e->entries + i * sizeof(*k));
		uint32_t key[NFO_TABLE_MAX_KW];

		nfo_table_key(k->key.key, s->key_len, key);
		if (del)
			assert_int_equal(nfo_table_delete(&ts->t, key), 1);
		else
			assert_int_equal(nfo_table_insert(&ts->t, key, 0), 1);
	}
	/* as after a grace period: slots may take other keys */
	nfo_table_release(&ts->t);
}

/* The table holds exactly the keys of fresh (a fresh dump's entries). */
static void tstore_check(const struct tstore *ts, const struct nfo_set *s,
			 const struct nfo_image_set *fresh)
{
	assert_int_equal(ts->t.count, fresh->n);
	for (size_t i = 0; i < fresh->n; i++) {
		const struct nfo_image_setkey *k = (const void *)(fresh->entries + i * sizeof(*k));
		uint32_t key[NFO_TABLE_MAX_KW];

		nfo_table_key(k->key.key, s->key_len, key);
		assert_true(nfo_table_find(&ts->t, key, NULL));
	}
}

static const char *const steps[] = {
	"01-adds", "02-deletes", "03-adjacent", "04-adjacent-del", "05-open", "06-batch",
	"07-concat", "08-ipv6", "09-ipv6-del", "10-readd", "11-flush", "12-timeout",
};

static void test_steps(void **state)
{
	struct nfo_ruleset *cur = model_of("elements/00-base");
	struct nfo_image_set img[16] = {};
	struct tstore tbl[16] = {};
	uint32_t genid = cur->genid;
	size_t applied = 0, tables = 0;

	(void)state;
	assert_true(cur->nsets <= 16);
	for (size_t i = 0; i < cur->nsets; i++) {
		struct nfo_set *s = &cur->sets[i];

		if (!s->usable)
			continue;
		img[i] = entries_of(s);
		if (nfo_image_store_kind(s->interval, s->key_len) == NFO_STORE_TABLE) {
			tstore_init(&tbl[i], s);
			tstore_apply(&tbl[i], s, &img[i], false);
		}
	}
	for (size_t st = 0; st < sizeof(steps) / sizeof(steps[0]); st++) {
		char name[64];
		struct nfo_nft_events ev;
		struct nfo_ruleset *want;

		snprintf(name, sizeof(name), "elements/%s-notify", steps[st]);
		events_of(name, &ev);
		snprintf(name, sizeof(name), "elements/%s", steps[st]);
		want = model_of(name);
		assert_int_equal(ev.ntxns, 1); /* one nft -f: one transaction */
		assert_int_equal(ev.txns[0].genid, genid + 1);
		assert_int_equal(want->genid, genid + 1);
		genid++;
		assert_false(ev.txns[0].structural);
		for (size_t k = 0; k < ev.txns[0].nsets; k++) {
			const struct nfo_nft_setdelta *sd = &ev.txns[0].sets[k];
			struct nfo_set *s = nfo_ruleset_find_set(cur, (int)sd->family, sd->table,
								 sd->name);
			struct nfo_set_change c = {};
			struct nfo_plan_set ps = { .set = s, .ndims = 1 };
			struct nfo_image_set add = {}, del = {};
			size_t si;

			assert_non_null(s);
			assert_false(sd->overflow);
			si = (size_t)(s - cur->sets);
			if (!s->usable || (s->flags & NFT_SET_TIMEOUT)) {
				/* timeouts: the operations carry them, the model
				 * refuses them (the daemon reads such sets again:
				 * an expiration in a notification is an upper
				 * bound) */
				assert_string_equal(sd->name, "tmo");
				assert_int_equal(sd->nops, 2);
				assert_true(sd->ops[0].has_expiration);
				assert_true(sd->ops[0].has_timeout);
				assert_int_equal(sd->ops[0].timeout_ms, 30000);
				/* no timeout of its own, none by default */
				assert_false(sd->ops[1].has_timeout);
				assert_false(sd->ops[1].has_expiration);
				assert_int_equal(nfo_set_apply_ops(s, sd->ops, sd->nops, &c), -EINVAL);
				continue;
			}
			assert_int_equal(nfo_set_apply_ops(s, sd->ops, sd->nops, &c), 0);
			assert_int_equal(nfo_image_set_delta(&ps, &c, &add, &del), 0);
			assert_int_equal(nfo_image_entries_merge(&img[si].entries, &img[si].n,
								 nfo_image_set_entry_size(&add),
								 add.entries, add.n, del.entries, del.n),
					 0);
			if (tbl[si].mem) {
				tstore_apply(&tbl[si], s, &add, false);
				tstore_apply(&tbl[si], s, &del, true);
			}
			free(add.entries);
			free(del.entries);
			nfo_set_change_clear(&c);
			applied++;
		}
		for (size_t i = 0; i < cur->nsets; i++) {
			struct nfo_set *got = &cur->sets[i];
			struct nfo_set *w = nfo_ruleset_find_set(want, got->family, got->table, got->name);
			struct nfo_image_set fresh;

			assert_non_null(w);
			if (!got->usable || (got->flags & NFT_SET_TIMEOUT))
				continue;
			assert_same_set(got, w);
			fresh = entries_of(w);
			assert_int_equal(img[i].n, fresh.n);
			if (fresh.n)
				assert_memory_equal(img[i].entries, fresh.entries,
						    fresh.n * nfo_image_set_entry_size(&fresh));
			if (tbl[i].mem) {
				tstore_check(&tbl[i], got, &fresh);
				tables++;
			}
			free(fresh.entries);
		}
		nfo_ruleset_free(&want);
		nfo_nft_events_clear(&ev);
	}
	assert_true(applied >= 12);
	assert_true(tables >= 12);
	for (size_t i = 0; i < 16; i++) {
		free(img[i].entries);
		nfo_table_fini(&tbl[i].t);
		free(tbl[i].mem);
	}
	nfo_ruleset_free(&cur);
}

/* What the notifications of a batch carry, as observed (design notes). */
static void test_parse_batch(void **state)
{
	struct nfo_nft_events ev;
	const struct nfo_nft_setdelta *v4 = NULL, *nets = NULL;

	(void)state;
	events_of("elements/06-batch-notify", &ev);
	for (size_t k = 0; k < ev.txns[0].nsets; k++) {
		if (!strcmp(ev.txns[0].sets[k].name, "v4"))
			v4 = &ev.txns[0].sets[k];
		if (!strcmp(ev.txns[0].sets[k].name, "nets"))
			nets = &ev.txns[0].sets[k];
	}
	assert_non_null(v4);
	assert_non_null(nets);
	/* add .3, add .4, del .3, then the flush deletes every element (.4
	 * and the old ones too), then add .5: nothing netted by the kernel */
	assert_true(v4->nops >= 5);
	assert_false(v4->ops[0].del);
	assert_int_equal(v4->ops[0].klen, 4);
	assert_true(v4->ops[2].del);
	assert_false(v4->ops[v4->nops - 1].del);
	/* a range: a start, and an end flagged NFT_SET_ELEM_INTERVAL_END */
	assert_true(nets->nops >= 2);
	assert_false(nets->ops[nets->nops - 2].end);
	assert_true(nets->ops[nets->nops - 1].end);
	nfo_nft_events_clear(&ev);
}

/* Replaying a transaction the model already holds changes nothing; the
 * reload path (nfo_set_replace) gives the same difference as operations. */
static void test_replace(void **state)
{
	struct nfo_ruleset *a = model_of("elements/02-deletes");
	struct nfo_ruleset *b = model_of("elements/03-adjacent");
	struct nfo_set *sa = nfo_ruleset_find_set(a, 1 /* NFPROTO_INET */, "bl", "nets");
	struct nfo_set *sb = nfo_ruleset_find_set(b, 1, "bl", "nets");
	struct nfo_set fresh = { .key_len = sb->key_len, .interval = true, .usable = true };
	struct nfo_set_change c = {};

	(void)state;
	assert_non_null(sa);
	assert_non_null(sb);
	fresh.keys = sb->keys;
	sb->keys = NULL;
	fresh.bounds = sb->bounds;
	fresh.nbounds = sb->nbounds;
	sb->bounds = NULL;
	sb->nbounds = 0;
	assert_int_equal(nfo_vset_copy(&fresh.elems, &sb->elems), 0);
	assert_int_equal(nfo_set_replace(sa, &fresh, &c), 0);
	/* 10.3.0.0/24, 10.3.1.0/24 and 10.3.2.0/23 are one range here */
	assert_int_equal(c.nadd_iv, 1);
	assert_int_equal(c.ndel_iv, 0);
	assert_true(nfo_vset_equal(&sa->elems, &sb->elems));
	nfo_set_change_clear(&c);
	nfo_vset_free(&fresh.elems);
	nfo_ruleset_free(&a);
	nfo_ruleset_free(&b);
}

/* Pending changes against a plain bitmap, over random adds and deletes. */
static void test_pending(void **state)
{
	uint8_t *base = NULL, have[256] = {};
	size_t n = 0;
	struct nfo_sorted_pending p = {};
	unsigned seed = 1;

	(void)state;
	for (int round = 0; round < 2000; round++) {
		uint8_t add[8], del[8];
		size_t na = 0, nd = 0;
		bool touched[256] = {};

		for (int k = 0; k < 8; k++) {
			uint8_t v;

			seed = seed * 1103515245u + 12345u;
			v = (uint8_t)(seed >> 16);
			if (touched[v])
				continue;
			touched[v] = true;
			if (have[v])
				del[nd++] = v;
			else
				add[na++] = v;
		}
		/* sorted, as the callers give them */
		for (size_t i = 1; i < na; i++)
			for (size_t j = i; j > 0 && add[j - 1] > add[j]; j--) {
				uint8_t t = add[j];
				add[j] = add[j - 1];
				add[j - 1] = t;
			}
		for (size_t i = 1; i < nd; i++)
			for (size_t j = i; j > 0 && del[j - 1] > del[j]; j--) {
				uint8_t t = del[j];
				del[j] = del[j - 1];
				del[j - 1] = t;
			}
		assert_int_equal(nfo_sorted_pending_update(&p, 1, add, na, del, nd), 0);
		for (size_t i = 0; i < na; i++)
			have[add[i]] = 1;
		for (size_t i = 0; i < nd; i++)
			have[del[i]] = 0;
		assert_int_equal(nfo_sorted_pending_fold(&base, &n, &p, 1, round % 7 == 0), 0);
		for (int v = 0; v < 256; v++) {
			uint8_t key = (uint8_t)v;

			assert_int_equal(nfo_sorted_has(base, n, &p, 1, &key), have[v]);
		}
	}
	assert_int_equal(nfo_sorted_pending_fold(&base, &n, &p, 1, true), 0);
	for (size_t i = 0; i < n; i++)
		assert_true(have[base[i]] && (i == 0 || base[i - 1] < base[i]));
	free(base);
	nfo_sorted_pending_free(&p);
}

/*
 * The model of an exact set (pending adds, deletes and expiries folded now
 * and then) against a naive one, a flag and an expiry per key of a small
 * key space, after every step of a random sequence: notified operations
 * (plain sets), netted states with expiries (expiring_ops()), re-adds with
 * another expiry, streamed reads (held keys keep theirs) and rereads
 * (nfo_set_replace()); steps of 1 to 400 keys, so that changes are applied
 * both in place and merged, and folds happen on the way.
 */
enum { REF_KEYS = 12000 };

struct ref {
	bool held[REF_KEYS];
	uint64_t exp[REF_KEYS];
};

static uint32_t ref_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return (uint32_t)(*x >> 11);
}

static void ref_key(size_t i, uint8_t *key)
{
	/* big endian: memcmp order is i's order */
	key[0] = (uint8_t)(i >> 24);
	key[1] = (uint8_t)(i >> 16);
	key[2] = (uint8_t)(i >> 8);
	key[3] = (uint8_t)i;
}

/* n distinct random key indexes, sorted */
static size_t ref_pick(uint64_t *seed, size_t n, size_t *out)
{
	bool taken[REF_KEYS] = {};
	size_t m = 0;

	for (size_t k = 0; k < n; k++) {
		size_t i = ref_rand(seed) % REF_KEYS;

		if (!taken[i])
			taken[i] = true;
	}
	for (size_t i = 0; i < REF_KEYS; i++)
		if (taken[i])
			out[m++] = i;
	return m;
}

/* the first steps add no element that expires: a set holding keys (and a
 * fold under way) gets its first expiry later */
static int ref_step;

static uint64_t ref_expiry(uint64_t *seed)
{
	uint32_t r = ref_step < 200 ? 0 : ref_rand(seed) % 4;

	return r == 0 ? 0 : 1000 + ref_rand(seed) % 50; /* collisions: unchanged expiries */
}

static void ref_check(const struct nfo_set *s, const struct ref *ref, bool expiring)
{
	size_t count = 0;

	for (size_t i = 0; i < REF_KEYS; i++) {
		uint8_t key[4];
		uint64_t e = 7;

		ref_key(i, key);
		assert_int_equal(nfo_set_has_key(s, key, &e), ref->held[i]);
		if (ref->held[i]) {
			assert_int_equal(e, expiring ? ref->exp[i] : 0);
			count++;
		}
	}
	/* as status counts them */
	assert_int_equal(nfo_set_nkeys_held(s), count);
}

/* s folded: its arrays are the reference, sorted, expiries alongside */
static void ref_check_folded(struct nfo_set *s, const struct ref *ref, bool expiring)
{
	size_t j = 0;

	assert_int_equal(nfo_set_refresh_elems(s), 0);
	assert_int_equal(s->kpend.nadd + s->kpend.ndel, 0);
	assert_false(s->kfold.active);
	assert_false(s->elems_stale);
	for (size_t i = 0; i < REF_KEYS; i++) {
		uint8_t key[4];

		if (!ref->held[i])
			continue;
		ref_key(i, key);
		assert_true(j < s->nkeys);
		assert_memory_equal(s->keys + j * 4, key, 4);
		if (expiring)
			assert_int_equal(s->expires[j], ref->exp[i]);
		else
			assert_true(!s->expires || s->expires[j] == 0);
		j++;
	}
	assert_int_equal(j, s->nkeys);
}

/* The change c: exactly the keys whose presence or expiry differs from
 * before to after. */
static void ref_check_change(const struct nfo_set_change *c, const struct ref *before,
			     const struct ref *after, bool expiring, bool upd)
{
	size_t a = 0, d = 0, u = 0;

	for (size_t i = 0; i < REF_KEYS; i++) {
		uint8_t key[4];

		ref_key(i, key);
		if (!before->held[i] && after->held[i]) {
			assert_true(a < c->nadd_keys);
			assert_memory_equal(c->add_keys + a * 4, key, 4);
			if (expiring)
				assert_int_equal(c->add_expires[a], after->exp[i]);
			a++;
		} else if (before->held[i] && !after->held[i]) {
			assert_true(d < c->ndel_keys);
			assert_memory_equal(c->del_keys + d * 4, key, 4);
			d++;
		} else if (upd && before->held[i] && after->exp[i] != before->exp[i]) {
			assert_true(u < c->nupd_keys);
			assert_memory_equal(c->upd_keys + u * 4, key, 4);
			assert_int_equal(c->upd_expires[u], after->exp[i]);
			assert_int_equal(c->upd_old[u], before->exp[i]);
			u++;
		}
	}
	assert_int_equal(a, c->nadd_keys);
	assert_int_equal(d, c->ndel_keys);
	assert_int_equal(u, c->nupd_keys);
}

static void test_model_random(void **state)
{
	(void)state;
	for (int expiring = 0; expiring < 2; expiring++) {
		struct nfo_set s = { .key_len = 4, .usable = true,
				     .flags = expiring ? NFT_SET_TIMEOUT : 0 };
		struct ref *ref = calloc(1, sizeof(*ref)), *before = calloc(1, sizeof(*before));
		size_t folding = 0;
		size_t *pick = malloc(REF_KEYS * sizeof(*pick));
		uint64_t seed = 0x9e3779b97f4a7c15ULL + (uint64_t)expiring;
		/* until the first element that expires, the set's keys carry none */
		bool expiring_now = false;

		for (int step = 0; step < 1500; step++) {
			struct nfo_set_change c = {};
			size_t n = ref_pick(&seed, 1 + ref_rand(&seed) % (step % 5 == 0 ? 400 : 6),
					    pick);
			uint32_t kind = ref_rand(&seed) % 100;
			uint8_t *keys = malloc(n * 4 + 1);

			ref_step = step;
			if (expiring && step == 200) {
				/* the first expiry while a fold is under way */
				for (size_t i = 0; i < REF_KEYS && !s.kfold.active; i++) {
					uint8_t key[4];

					if (ref->held[i])
						continue;
					ref_key(i, key);
					assert_int_equal(nfo_set_add_read(&s, key, NULL, 1, &c), 0);
					nfo_set_change_clear(&c);
					ref->held[i] = true;
					ref->exp[i] = 0;
				}
				assert_true(s.kfold.active);
				assert_false(expiring_now);
			}
			*before = *ref;
			for (size_t k = 0; k < n; k++)
				ref_key(pick[k], keys + k * 4);
			if (kind < 1) {
				/* reread: fresh holds what the kernel holds (some of
				 * the model's keys, others, expiries changed) */
				struct nfo_set fresh = { .key_len = 4, .usable = true,
							 .flags = s.flags };
				size_t m = 0;

				fresh.keys = malloc(REF_KEYS * 4);
				/* (none expire in the first steps) */
				fresh.expires = expiring && step >= 200 ?
						malloc(REF_KEYS * sizeof(uint64_t)) : NULL;
				for (size_t i = 0; i < REF_KEYS; i++) {
					bool h = ref_rand(&seed) % 8 ? ref->held[i] : !ref->held[i];

					ref->held[i] = h;
					if (!h)
						continue;
					if (expiring && ref_rand(&seed) % 8 == 0)
						ref->exp[i] = ref_expiry(&seed);
					else if (!before->held[i])
						ref->exp[i] = expiring ? ref_expiry(&seed) : 0;
					ref_key(i, fresh.keys + m * 4);
					if (fresh.expires)
						fresh.expires[m] = ref->exp[i];
					m++;
				}
				fresh.nkeys = m;
				expiring_now = fresh.expires != NULL;
				assert_int_equal(nfo_set_replace(&s, &fresh, &c), 0);
				ref_check_change(&c, before, ref, expiring_now, expiring_now);
				nfo_set_clear_elems(&fresh);
			} else if (!expiring && kind < 60) {
				/* notified operations: several on a key, the last wins */
				struct nfo_nft_elem *ops = calloc(2 * n + 1, sizeof(*ops));
				size_t nops = 0;

				for (size_t k = 0; k < 2 * n; k++) {
					size_t i = pick[ref_rand(&seed) % n];

					ops[nops] = (struct nfo_nft_elem){ .klen = 4 };
					ref_key(i, ops[nops].key);
					ops[nops].del = ref_rand(&seed) % 2;
					ref->held[i] = !ops[nops].del;
					nops++;
				}
				assert_int_equal(nfo_set_apply_ops(&s, ops, nops, &c), 0);
				ref_check_change(&c, before, ref, false, false);
				free(ops);
			} else if (kind < 60) {
				/* the state of the keys asked for: present with an
				 * expiry (a re-add with a new one), or gone */
				bool *present = malloc(n + 1);
				uint64_t *e = malloc((n + 1) * sizeof(*e));

				for (size_t k = 0; k < n; k++) {
					present[k] = ref_rand(&seed) % 3 != 0;
					e[k] = present[k] ? ref_expiry(&seed) : 0;
					ref->held[pick[k]] = present[k];
					if (present[k])
						ref->exp[pick[k]] = e[k];
					expiring_now |= e[k] != 0;
				}
				assert_int_equal(nfo_set_apply_expiring(&s, keys, present, e, n, &c), 0);
				ref_check_change(&c, before, ref, expiring_now, true);
				free(present);
				free(e);
			} else {
				/* a streamed batch: any order, held keys keep theirs */
				uint64_t *e = malloc((n + 1) * sizeof(*e));

				for (size_t k = 0; k < n; k++) {
					size_t j = ref_rand(&seed) % (k + 1);
					uint8_t t[4];

					e[k] = expiring ? ref_expiry(&seed) : 0;
					memcpy(t, keys + k * 4, 4);
					memcpy(keys + k * 4, keys + j * 4, 4);
					memcpy(keys + j * 4, t, 4);
				}
				for (size_t k = 0; k < n; k++) {
					size_t i = ((size_t)keys[k * 4 + 2] << 8) | keys[k * 4 + 3];

					if (!ref->held[i]) {
						ref->held[i] = true;
						ref->exp[i] = e[k];
					}
					expiring_now |= e[k] != 0;
				}
				assert_int_equal(nfo_set_add_read(&s, keys, expiring ? e : NULL, n,
								  &c), 0);
				ref_check_change(&c, before, ref, expiring_now, false);
				free(e);
			}
			nfo_set_change_clear(&c);
			free(keys);
			ref_check(&s, ref, expiring_now);
			folding += s.kfold.active;
			if (step % 499 == 0)
				ref_check_folded(&s, ref, expiring_now);
		}
		/* folds were under way across steps */
		assert_true(folding > 10);
		nfo_set_clear_elems(&s);
		free(ref);
		free(before);
		free(pick);
	}
}

/* Keys a dump of a set with timeouts read, in batches (daemon-stream.c):
 * merged with their expiries, held keys keep theirs, duplicates once; the
 * slot entries of the change carry the expiries. */
static void test_add_read(void **state)
{
	struct nfo_set s = { .key_len = 4, .usable = true, .flags = NFT_SET_TIMEOUT };
	struct nfo_plan_set ps = { .set = &s };
	struct nfo_image_set add = {}, del = {};
	struct nfo_set_change c = {};
	/* 10.0.0.3 twice, 10.0.0.1 again with another expiry */
	const uint8_t b1[] = { 10, 0, 0, 3, 10, 0, 0, 1, 10, 0, 0, 3 };
	const uint64_t e1[] = { 500, 0, 500 };
	const uint8_t b2[] = { 10, 0, 0, 2, 10, 0, 0, 1 };
	const uint64_t e2[] = { 700, 9999 };
	const uint8_t want[] = { 10, 0, 0, 1, 10, 0, 0, 2, 10, 0, 0, 3 };
	const uint64_t want_exp[] = { 0, 700, 500 };

	(void)state;
	assert_int_equal(nfo_set_add_read(&s, b1, e1, 3, &c), 0);
	assert_int_equal(c.nadd_keys, 2);
	assert_non_null(c.add_expires);
	assert_memory_equal(c.add_keys, ((const uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 3 }), 8);
	assert_int_equal(c.add_expires[0], 0);
	assert_int_equal(c.add_expires[1], 500);
	nfo_set_change_clear(&c);
	assert_int_equal(nfo_set_add_read(&s, b2, e2, 2, &c), 0);
	assert_int_equal(c.nadd_keys, 1);
	assert_true(s.elems_stale);
	/* held with those expiries, pending or folded */
	for (size_t i = 0; i < 3; i++) {
		uint64_t e = 1;

		assert_true(nfo_set_has_key(&s, want + i * 4, &e));
		assert_int_equal(e, want_exp[i]);
	}
	assert_int_equal(nfo_set_refresh_elems(&s), 0);
	assert_int_equal(s.nkeys, 3);
	assert_memory_equal(s.keys, want, sizeof(want));
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(s.expires[i], want_exp[i]);
	/* the slot entry of the added key carries its expiry */
	assert_int_equal(nfo_image_set_delta(&ps, &c, &add, &del), 0);
	assert_int_equal(add.n, 1);
	assert_int_equal(del.n, 0);
	assert_int_equal(nfo_image_set_expires(&add, add.entries), 700);
	free(add.entries);
	free(del.entries);
	/* a notified delete on a set whose elements expire is a delete entry
	 * (it needs no expiry); an added key without its expiry is refused */
	nfo_set_change_clear(&c);
	c.del_keys = malloc(4);
	memcpy(c.del_keys, want, 4);
	c.ndel_keys = 1;
	assert_int_equal(nfo_image_set_delta(&ps, &c, &add, &del), 0);
	assert_int_equal(add.n, 0);
	assert_int_equal(del.n, 1);
	free(add.entries);
	free(del.entries);
	c.add_keys = malloc(4);
	memcpy(c.add_keys, want + 4, 4);
	c.nadd_keys = 1;
	assert_int_equal(nfo_image_set_delta(&ps, &c, &add, &del), -EINVAL);
	nfo_set_change_clear(&c);
	/* nothing read: nothing changes */
	assert_int_equal(nfo_set_add_read(&s, NULL, NULL, 0, &c), 0);
	assert_int_equal(nfo_set_change_size(&c), 0);
	nfo_set_clear_elems(&s);
}

/* The answers to GETSETELEM of captured element.nlmsg-style files. */
static void answers_of(const char *name, uint32_t seq0, const uint8_t *keys, size_t n,
		       struct nfo_nft_elem_state *st)
{
	_cleanup_free_ bool *answered = calloc(n, sizeof(*answered));
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_int_equal(nfo_test_read_capture(name, &buf, &len), 0);
	assert_int_equal(nfo_nft_get_elems_parse(buf, len, seq0, n, keys, 4, st, answered), 0);
	for (size_t i = 0; i < n; i++)
		assert_true(answered[i]);
	free(buf);
}

/*
 * A set with timeouts followed from notifications (daemon-update.c
 * expiring_ops()): the real transaction of step "timeout" netted, the keys
 * it added asked for (the kernel's real answers, tests/data/elements/
 * getelem.sh, with an absent key), each expiry placed from a clock reading
 * before the question; then a re-add with a shorter and one with a longer
 * timeout change the expiry in place (sooner / later entries), a delete
 * needs no answer, and an added key the kernel no longer holds is not added.
 */
static void test_expiring(void **state)
{
	struct nfo_set s = { .key_len = 4, .usable = true, .flags = NFT_SET_TIMEOUT };
	struct nfo_plan_set ps = { .set = &s, .ndims = 1 };
	const struct nfo_nft_setdelta *tmo = NULL;
	struct nfo_image_set sooner = {}, later = {}, add = {}, del = {};
	struct nfo_nft_elem_state st[3] = {};
	struct nfo_nft_events ev;
	struct nfo_set_change c = {};
	const uint8_t ask[] = { 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 3 };
	uint8_t *keys = NULL;
	bool *isadd = NULL, present[3];
	uint64_t exp[3], got = 0;
	size_t n = 0;

	(void)state;
	events_of("elements/12-timeout-notify", &ev);
	for (size_t k = 0; k < ev.txns[0].nsets; k++)
		if (!strcmp(ev.txns[0].sets[k].name, "tmo"))
			tmo = &ev.txns[0].sets[k];
	assert_non_null(tmo);
	assert_int_equal(nfo_set_net_ops(&s, tmo->ops, tmo->nops, &keys, &isadd, &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(keys, ask, 8);
	assert_true(isadd[0] && isadd[1]);
	/* the notification's expiration is there, but only an upper bound:
	 * what counts is the answer */
	assert_true(tmo->ops[0].has_expiration);

	answers_of("elements/getelem-tmo", 1000, ask, 3, st);
	assert_true(st[0].present && st[0].has_timeout && st[0].has_expiration);
	assert_int_equal(st[0].timeout_ms, 30000);
	assert_true(st[0].expiration_ms > 29000 && st[0].expiration_ms <= 30000);
	/* no timeout of its own and none by default: never expires */
	assert_true(st[1].present && !st[1].has_timeout && !st[1].has_expiration);
	assert_false(st[2].present);
	{
		/* the same answers read in two parts (two recv() calls), and
		 * an answer naming another key than asked: refused */
		uint8_t *buf = NULL, other[12];
		size_t len = 0, first;
		bool answered[3] = {};
		struct nfo_nft_elem_state st2[3] = {};
		const struct nlmsghdr *nlh;

		assert_int_equal(nfo_test_read_capture("elements/getelem-tmo", &buf, &len), 0);
		nlh = (const void *)buf;
		first = NLMSG_ALIGN(nlh->nlmsg_len);
		assert_int_equal(nfo_nft_get_elems_parse(buf, first, 1000, 3, ask, 4, st2, answered),
				 0);
		assert_false(answered[0]); /* the element came, its acknowledgement not yet */
		assert_true(st2[0].present);
		assert_int_equal(nfo_nft_get_elems_parse(buf + first, len - first, 1000, 3, ask, 4,
							 st2, answered), 0);
		assert_true(answered[0] && answered[1] && answered[2]);
		for (size_t i = 0; i < 3; i++) {
			assert_int_equal(st2[i].present, st[i].present);
			assert_int_equal(st2[i].has_expiration, st[i].has_expiration);
			assert_int_equal(st2[i].expiration_ms, st[i].expiration_ms);
			assert_int_equal(st2[i].timeout_ms, st[i].timeout_ms);
		}
		memcpy(other, ask, sizeof(other));
		other[3] = 9;
		assert_int_equal(nfo_nft_get_elems_parse(buf, len, 1000, 3, other, 4, st2, answered),
				 -EINVAL);
		free(buf);
	}

	/* asked at jiffies 1000, HZ 250 */
	for (size_t i = 0; i < 3; i++) {
		struct nfo_elem life = { .has_timeout = st[i].has_timeout,
					 .has_expiration = st[i].has_expiration,
					 .timeout_ms = st[i].timeout_ms,
					 .expiration_ms = st[i].expiration_ms };

		present[i] = st[i].present;
		exp[i] = present[i] ? nfo_elem_expiry(&life, 1000, 250) : 0;
	}
	assert_int_equal(exp[0], 1000 + st[0].expiration_ms * 250 / 1000);
	assert_int_equal(exp[1], 0);
	assert_int_equal(nfo_set_apply_expiring(&s, keys, present, exp, 2, &c), 0);
	assert_int_equal(c.nadd_keys, 2);
	assert_int_equal(c.ndel_keys + c.nupd_keys, 0);
	assert_non_null(c.add_expires);
	assert_int_equal(c.add_expires[0], exp[0]);
	assert_int_equal(c.add_expires[1], 0);
	assert_true(nfo_set_has_key(&s, ask, &got));
	assert_int_equal(got, exp[0]);
	assert_true(nfo_set_has_key(&s, ask + 4, &got));
	assert_int_equal(got, 0);
	assert_false(nfo_set_has_key(&s, ask + 8, NULL));
	nfo_set_change_clear(&c);
	free(keys);
	free(isadd);
	nfo_nft_events_clear(&ev);

	/* 1.1.1.1 shorter, 1.1.1.2 now expiring (sooner than never), 1.1.1.3
	 * added but gone when asked (ENOENT): not added */
	{
		const uint64_t e2[] = { 2000, 5000, 0 };
		const bool p2[] = { true, true, false };

		assert_int_equal(nfo_set_apply_expiring(&s, ask, p2, e2, 3, &c), 0);
		assert_int_equal(c.nadd_keys + c.ndel_keys, 0);
		assert_int_equal(c.nupd_keys, 2);
		assert_int_equal(c.upd_old[0], exp[0]);
		assert_int_equal(c.upd_expires[0], 2000);
		assert_true(nfo_set_has_key(&s, ask, &got));
		assert_int_equal(got, 2000);
		assert_true(nfo_set_has_key(&s, ask + 4, &got));
		assert_int_equal(got, 5000);
		assert_int_equal(nfo_image_set_updates(&ps, &c, &sooner, &later), 0);
		assert_int_equal(sooner.n, 2);
		assert_int_equal(later.n, 0);
		assert_int_equal(nfo_image_set_expires(&sooner, sooner.entries), 2000);
		free(sooner.entries);
		nfo_set_change_clear(&c);
	}
	/* 1.1.1.1 longer again, 1.1.1.2 deleted (no answer needed) */
	{
		const uint64_t e3[] = { 9000, 0 };
		const bool p3[] = { true, false };

		assert_int_equal(nfo_set_apply_expiring(&s, ask, p3, e3, 2, &c), 0);
		assert_int_equal(c.nupd_keys, 1);
		assert_int_equal(c.ndel_keys, 1);
		assert_memory_equal(c.del_keys, ask + 4, 4);
		assert_int_equal(nfo_image_set_updates(&ps, &c, &sooner, &later), 0);
		assert_int_equal(sooner.n, 0);
		assert_int_equal(later.n, 1);
		assert_int_equal(nfo_image_set_delta(&ps, &c, &add, &del), 0);
		assert_int_equal(del.n, 1);
		free(later.entries);
		free(add.entries);
		free(del.entries);
		nfo_set_change_clear(&c);
		assert_true(nfo_set_has_key(&s, ask, &got));
		assert_int_equal(got, 9000);
		assert_false(nfo_set_has_key(&s, ask + 4, NULL));
	}
	/* the set read again (overflow): its expiries replace the model's */
	{
		struct nfo_set fresh = { .key_len = 4, .usable = true, .flags = NFT_SET_TIMEOUT };

		fresh.keys = malloc(8);
		fresh.expires = malloc(2 * sizeof(*fresh.expires));
		memcpy(fresh.keys, ask, 8);
		fresh.nkeys = 2;
		fresh.expires[0] = 8000;
		fresh.expires[1] = 0;
		assert_int_equal(nfo_set_replace(&s, &fresh, &c), 0);
		assert_int_equal(c.nadd_keys, 1);
		assert_non_null(c.add_expires);
		assert_int_equal(c.add_expires[0], 0);
		assert_int_equal(c.nupd_keys, 1);
		assert_int_equal(c.upd_expires[0], 8000);
		assert_int_equal(c.upd_old[0], 9000);
		assert_int_equal(s.expires[0], 8000);
		nfo_set_change_clear(&c);
		nfo_set_clear_elems(&fresh);
	}
	nfo_set_clear_elems(&s);
}

/* Entries e applied by key to the LPM entries of img (sorted): del
 * removes, the others add or rewrite. */
static void lpm_apply(struct nfo_image_set *img, const struct nfo_image_set *e, bool del)
{
	const size_t esz = sizeof(struct nfo_image_setlpm), ksz = sizeof(struct nfo_setlpm_key);

	for (size_t i = 0; i < e->n; i++) {
		const uint8_t *x = e->entries + i * esz;
		size_t at = 0;

		while (at < img->n && memcmp(img->entries + at * esz, x, ksz) < 0)
			at++;
		if (del) {
			/* deleted: held with just that expiry */
			assert_true(at < img->n);
			assert_memory_equal(img->entries + at * esz, x, esz);
			memmove(img->entries + at * esz, img->entries + (at + 1) * esz,
				(img->n - at - 1) * esz);
			img->n--;
		} else if (at < img->n && !memcmp(img->entries + at * esz, x, ksz)) {
			/* rewritten in place: a different expiry */
			assert_memory_not_equal(img->entries + at * esz, x, esz);
			memcpy(img->entries + at * esz, x, esz);
		} else {
			img->entries = realloc(img->entries, (img->n + 1) * esz);
			assert_non_null(img->entries);
			memmove(img->entries + (at + 1) * esz, img->entries + at * esz,
				(img->n - at) * esz);
			memcpy(img->entries + at * esz, x, esz);
			img->n++;
		}
	}
}

/* One replace of timed ranges: the change's entries, written over the
 * entries of before, give the entries of after; added keys are new, sooner
 * and later ones held, each in its polarity. */
static void timed_step(struct nfo_set *s, const struct nfo_tival *after, size_t n,
		       struct nfo_set_change *ret)
{
	struct nfo_plan_set ps = { .set = s, .ndims = 1 };
	struct nfo_set fresh = { .key_len = s->key_len, .interval = true, .usable = true,
				 .flags = s->flags, .timeout_ms = s->timeout_ms };
	struct nfo_image_set before = {}, want = {}, add = {}, del = {}, sn = {}, lt = {};
	const size_t esz = sizeof(struct nfo_image_setlpm);

	assert_int_equal(nfo_image_timed_ranges(s->tivals, s->ntivals, 32, &before), 0);
	assert_int_equal(nfo_image_timed_ranges(after, n, 32, &want), 0);
	fresh.tivals = malloc((n ? n : 1) * sizeof(*fresh.tivals));
	assert_non_null(fresh.tivals);
	memcpy(fresh.tivals, after, n * sizeof(*after));
	fresh.ntivals = n;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(nfo_vset_push(&fresh.elems, after[i].lo, after[i].hi), 0);
	nfo_vset_normalize(&fresh.elems);
	assert_int_equal(nfo_set_replace(s, &fresh, ret), 0);
	assert_int_equal(ret->nadd_iv + ret->ndel_iv, 0);
	assert_int_equal(nfo_image_set_delta(&ps, ret, &add, &del), 0);
	assert_int_equal(nfo_image_set_updates(&ps, ret, &sn, &lt), 0);
	for (size_t i = 0; i < sn.n; i++) {
		const struct nfo_image_setlpm *e = (const void *)(sn.entries + i * esz);

		assert_true(e->expires);
	}
	/* update_in_place()'s order for one slot: grow, then shrink */
	lpm_apply(&before, &add, false);
	lpm_apply(&before, &lt, false);
	lpm_apply(&before, &sn, false);
	lpm_apply(&before, &del, true);
	assert_int_equal(before.n, want.n);
	assert_memory_equal(before.entries, want.entries, want.n * esz);
	free(before.entries);
	free(want.entries);
	free(add.entries);
	free(del.entries);
	free(sn.entries);
	free(lt.entries);
	nfo_set_clear_elems(&fresh);
}

/* Interval sets whose elements expire, read again (nfo_set_replace): the
 * diff carries the ranges' expiries, a changed expiry of an unchanged range
 * is an update (sooner or later), and the start key's own expiry follows
 * the end element of the range before (import.c, collect_timed). */
static void test_timed_ranges(void **state)
{
	const nfo_u128 net = 0x0a000000; /* 10.0.0.0 */
	struct nfo_set s = { .key_len = 4, .interval = true, .usable = true,
			     .flags = NFT_SET_TIMEOUT | NFT_SET_INTERVAL, .timeout_ms = 60000 };
	/* A, B adjacent (A's end element sits at B's start), C apart; with
	 * a default timeout a start key with no end element before it
	 * never counts (lo_expires 1) */
	const struct nfo_tival t0[] = {
		{ net + 0, net + 15, 5000, 1 },
		{ net + 16, net + 31, 6000, 5000 },
		{ net + 256, net + 511, 7000, 1 },
	};
	/* A re-added with a shorter timeout (its end element too: B's start
	 * key follows), C deleted, D added */
	const struct nfo_tival t1[] = {
		{ net + 0, net + 15, 3000, 1 },
		{ net + 16, net + 31, 6000, 3000 },
		{ net + 512, net + 519, 8000, 1 },
	};
	/* A re-added with a longer timeout; B shrinks: its bounds change */
	const struct nfo_tival t2[] = {
		{ net + 0, net + 15, 9000, 1 },
		{ net + 16, net + 23, 6000, 3000 },
		{ net + 512, net + 519, 8000, 1 },
	};
	/* A deleted: B's start key loses the end element before it */
	const struct nfo_tival t3[] = {
		{ net + 16, net + 23, 6000, 1 },
		{ net + 512, net + 519, 8000, 1 },
	};
	struct nfo_set_change c = {};

	(void)state;
	s.tivals = malloc(sizeof(t0));
	assert_non_null(s.tivals);
	memcpy(s.tivals, t0, sizeof(t0));
	s.ntivals = 3;
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(nfo_vset_push(&s.elems, t0[i].lo, t0[i].hi), 0);
	nfo_vset_normalize(&s.elems);

	timed_step(&s, t1, 3, &c);
	assert_int_equal(c.nupd_tiv, 2);
	assert_true(c.upd_tiv[0].lo == net && c.upd_tiv[0].expires == 3000);
	assert_int_equal(c.upd_tiv_old[0].expires, 5000);
	assert_true(c.upd_tiv[1].lo == net + 16 && c.upd_tiv[1].lo_expires == 3000);
	assert_int_equal(c.upd_tiv_old[1].lo_expires, 5000);
	assert_int_equal(c.ndel_tiv, 1);
	assert_true(c.del_tiv[0].lo == net + 256 && c.del_tiv[0].expires == 7000);
	assert_int_equal(c.nadd_tiv, 1);
	assert_true(c.add_tiv[0].lo == net + 512 && c.add_tiv[0].expires == 8000);
	assert_int_equal(nfo_set_change_size(&c), 4);
	{
		/* A's /28 and B's start key expire sooner: rewritten, never
		 * deleted and added */
		struct nfo_plan_set ps = { .set = &s, .ndims = 1 };
		struct nfo_image_set sn = {}, lt = {}, add = {}, del = {};

		assert_int_equal(nfo_image_set_updates(&ps, &c, &sn, &lt), 0);
		assert_int_equal(sn.n, 2);
		assert_int_equal(lt.n, 0);
		assert_int_equal(nfo_image_set_delta(&ps, &c, &add, &del), 0);
		assert_int_equal(add.n, 2); /* D's /29 and its start key */
		assert_int_equal(del.n, 2); /* C's /24 and its start key */
		free(sn.entries);
		free(lt.entries);
		free(add.entries);
		free(del.entries);
	}
	nfo_set_change_clear(&c);

	timed_step(&s, t2, 3, &c);
	assert_int_equal(c.nupd_tiv, 1);
	assert_int_equal(c.upd_tiv[0].expires, 9000);
	assert_int_equal(c.ndel_tiv, 1);
	assert_int_equal(c.nadd_tiv, 1);
	{
		struct nfo_plan_set ps = { .set = &s, .ndims = 1 };
		struct nfo_image_set sn = {}, lt = {};

		assert_int_equal(nfo_image_set_updates(&ps, &c, &sn, &lt), 0);
		assert_int_equal(sn.n, 0);
		assert_int_equal(lt.n, 1);
		free(sn.entries);
		free(lt.entries);
	}
	nfo_set_change_clear(&c);

	timed_step(&s, t3, 2, &c);
	assert_int_equal(c.ndel_tiv, 1);
	assert_int_equal(c.nupd_tiv, 1);
	assert_int_equal(c.upd_tiv[0].lo_expires, 1);
	nfo_set_change_clear(&c);

	/* unchanged: no change */
	timed_step(&s, t3, 2, &c);
	assert_int_equal(nfo_set_change_size(&c), 0);
	nfo_set_change_clear(&c);
	nfo_set_clear_elems(&s);
}

/* Rule transactions: which ones can only make nftables drop more. */
static void test_rule_txns(void **state)
{
	static const struct {
		const char *name;
		bool only_drops;
	} cases[] = {
		{ "elements/13-rule-drop-notify", true },    /* matches, counter, drop */
		{ "elements/14-rule-accept-notify", false }, /* accept */
		{ "elements/15-rule-mixed-notify", false },  /* and an element */
		{ "elements/16-rule-log-notify", false },    /* log: an effect */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nfo_nft_events ev;

		events_of(cases[i].name, &ev);
		assert_int_equal(ev.ntxns, 1);
		assert_true(ev.txns[0].structural);
		if (ev.txns[0].only_drops != cases[i].only_drops)
			fail_msg("%s: only_drops %d", cases[i].name, ev.txns[0].only_drops);
		nfo_nft_events_clear(&ev);
	}
}

static int slot_of(const struct nfo_plan *p, const char *set, int dim)
{
	for (size_t k = 0; k < p->nsets; k++)
		if (!strcmp(p->sets[k].set->name, set) && p->sets[k].dims[0] == dim)
			return (int)k;
	return -1;
}

static void test_polarity(void **state)
{
	struct nfo_ruleset *rs = model_of("polarity");
	struct nfo_plan_iface ifc = { .ifindex = 2, .l3 = true, .mac = { 2, 0, 0, 0, 0, 1 } };
	int up[] = { 2 };
	struct nfo_plan_input in = { .rs = rs, .ifaces = &ifc, .nifaces = 1, .up_ifindexes = up,
				     .nup = 1, .max_edges = 1u << 20 };
	struct nfo_plan *p = NULL;

	(void)state;
	assert_int_equal(nfo_plan_build(&in, &p), 0);
	assert_null(p->error);
	assert_int_equal(nfo_plan_slot_polarity(p, slot_of(p, "allow", NFO_DIM_SADDR4)),
			 NFO_POL_ACCEPT);
	assert_int_equal(nfo_plan_slot_polarity(p, slot_of(p, "deny", NFO_DIM_SADDR4)),
			 NFO_POL_DROP);
	assert_int_equal(nfo_plan_slot_polarity(p, slot_of(p, "dests", NFO_DIM_DADDR4)),
			 NFO_POL_DROP);
	assert_int_equal(nfo_plan_slot_polarity(p, slot_of(p, "mixed", NFO_DIM_SADDR4)),
			 NFO_POL_BOTH);
	assert_int_equal(nfo_plan_slot_polarity(p, NFO_MAX_SETS - 1), NFO_POL_NONE);
	nfo_plan_free(&p);
	nfo_ruleset_free(&rs);
}


/* ---- microbenchmark (NFO_SETDELTA_BENCH=1 test_setdelta: printed, not a test) ---- */

static uint64_t bench_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void bench_report(const char *what, double *t, size_t n)
{
	double sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += t[i];
	qsort(t, n, sizeof(*t), cmp_double);
	fprintf(stderr, "%-58s median %9.1f us  p99 %9.1f us  max %9.1f us  mean %9.1f us\n",
		what, t[n / 2], t[n * 99 / 100], t[n - 1], sum / n);
}

/* One transaction's model update at 1M elements: a timeout set (1 add +
 * 1 delete, nfo_set_apply_expiring), a plain set (nfo_set_apply_ops), and
 * streamed batches of 1000 into a timeout set near 1M (nfo_set_add_read).
 * More than 31,000 transactions include a fold of the pending changes. */
static void bench(size_t TX)
{
	enum { N = 1000000, B = 1000, NB = 400 };
	uint64_t seed = 88172645463325252ULL;
	uint8_t *keys = malloc((size_t)N * 4);
	uint64_t *exp = malloc((size_t)N * sizeof(*exp));
	double *t = malloc(TX * sizeof(*t));

	assert_non_null(keys);
	for (int plain = 0; plain < 2; plain++) {
		struct nfo_set s = { .key_len = 4, .usable = true,
				     .flags = plain ? 0 : NFT_SET_TIMEOUT };
		struct nfo_set_change c = {};

		for (size_t i = 0; i < N; i++) {
			uint32_t v = (uint32_t)(bench_rand(&seed) | 1); /* odd keys held */

			memcpy(keys + i * 4, &v, 4);
			exp[i] = plain ? 0 : 1000000 + i;
		}
		assert_int_equal(nfo_set_add_read(&s, keys, plain ? NULL : exp, N, &c), 0);
		nfo_set_change_clear(&c);
		assert_int_equal(nfo_set_refresh_elems(&s), 0);
		for (size_t k = 0; k < TX; k++) {
			/* even: new, and distinct (the held keys are odd; the
			 * first byte spreads them) */
			uint32_t a = (uint32_t)k * 2;
			uint8_t nk[4], hk[4], two[8];
			struct nfo_nft_elem ops[2] = { { .klen = 4 }, { .klen = 4, .del = true } };
			bool present[2];
			uint64_t e2[2];
			bool first = false;
			double t0;

			/* a new (even) key added, a held (odd) one deleted */
			memcpy(nk, &a, 4);
			memcpy(hk, keys + (k % N) * 4, 4);
			memcpy(ops[0].key, nk, 4);
			memcpy(ops[1].key, hk, 4);
			first = memcmp(nk, hk, 4) < 0;
			memcpy(two, first ? nk : hk, 4);
			memcpy(two + 4, first ? hk : nk, 4);
			present[0] = first;
			present[1] = !first;
			e2[0] = present[0] ? 5000000 + k : 0;
			e2[1] = present[1] ? 5000000 + k : 0;
			t0 = now_us();
			if (plain)
				assert_int_equal(nfo_set_apply_ops(&s, ops, 2, &c), 0);
			else
				assert_int_equal(nfo_set_apply_expiring(&s, two, present, e2, 2, &c), 0);
			t[k] = now_us() - t0;
			/* (a key read twice at first is deleted once) */
			assert_int_equal(c.nadd_keys, 1);
			assert_true(c.ndel_keys <= 1);
			nfo_set_change_clear(&c);
		}
		bench_report(plain ? "plain set 1M IPv4, 1 add + 1 delete (apply_ops)" :
				     "timeout set 1M IPv4, 1 add + 1 delete (apply_expiring)",
			     t, TX);
		nfo_set_clear_elems(&s);
	}
	{
		/* streamed: 1M - NB*B read at once, then NB batches of B */
		struct nfo_set s = { .key_len = 4, .usable = true, .flags = NFT_SET_TIMEOUT };
		struct nfo_set_change c = {};
		size_t first = N - (size_t)NB * B;

		assert_int_equal(nfo_set_add_read(&s, keys, exp, first, &c), 0);
		nfo_set_change_clear(&c);
		for (size_t b = 0; b < NB; b++) {
			double t0 = now_us();

			assert_int_equal(nfo_set_add_read(&s, keys + (first + b * B) * 4,
							  exp + first + b * B, B, &c),
					 0);
			t[b] = now_us() - t0;
			nfo_set_change_clear(&c);
		}
		bench_report("timeout set streamed to 1M IPv4, batch of 1000 (add_read)", t, NB);
		nfo_set_clear_elems(&s);
	}
	free(keys);
	free(exp);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps),
		cmocka_unit_test(test_parse_batch),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_model_random),
		cmocka_unit_test(test_add_read),
		cmocka_unit_test(test_expiring),
		cmocka_unit_test(test_timed_ranges),
		cmocka_unit_test(test_rule_txns),
		cmocka_unit_test(test_polarity),
	};

	if (getenv("NFO_SETDELTA_BENCH")) {
		/* NFO_SETDELTA_BENCH=n: n transactions (at least 1000) */
		bench(strtoul(getenv("NFO_SETDELTA_BENCH"), NULL, 10) > 1000 ?
			      strtoul(getenv("NFO_SETDELTA_BENCH"), NULL, 10) : 1000);
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
