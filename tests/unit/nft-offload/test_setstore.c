// SPDX-License-Identifier: GPL-2.0-only
/*
 * The bucket table of a set store (setstore.c, bpf/nfo_store.h): random
 * inserts and deletes against a plain model, through the lookup the fast
 * path runs (nfo_bucket_find on the table's memory); the quarantine of
 * deleted slots; expiries; a full table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nft-offload/setstore.h"

struct table_fx {
	struct nfo_table t;
	void *mem;
};

static void fx_init(struct table_fx *f, uint32_t nb, uint32_t kw, bool has_exp)
{
	f->mem = calloc(1, nfo_table_bytes(nb));
	assert_non_null(f->mem);
	assert_int_equal(nfo_table_init(&f->t, f->mem, nb, kw, has_exp, 0x1234), 0);
}

static void fx_fini(struct table_fx *f)
{
	nfo_table_fini(&f->t);
	free(f->mem);
}

/* The fast path's lookup (bpf/classify.h nfo_table_member) on the memory. */
static int bpf_lookup(const struct nfo_table *t, const uint32_t *key, uint64_t *ret_until)
{
	const struct nfo_table_hdr *h = (const void *)&t->b[0];
	uint32_t hv = nfo_table_hash(key, h->kw, h->seed);
	uint32_t idx[2] = { nfo_table_b1(hv, h->mask), nfo_table_b2(hv, h->mask) };

	for (int c = 0; c < 2; c++) {
		int i = nfo_bucket_find(&t->b[idx[c]], h, key);

		if (i >= 0) {
			*ret_until = nfo_bucket_until(&t->b[idx[c]], h, i);
			return 1;
		}
	}
	return 0;
}

static void test_layout(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct nfo_bucket), NFO_BUCKET_SIZE);
	assert_int_equal(sizeof(struct nfo_table_hdr), NFO_BUCKET_SIZE);
	/* IPv4 14 a bucket, IPv6 3; with expiries 4 and 2 */
	assert_int_equal(nfo_table_nslots(1, false), 14);
	assert_int_equal(nfo_table_nslots(4, false), 3);
	assert_int_equal(nfo_table_nslots(1, true), 4);
	assert_int_equal(nfo_table_nslots(4, true), 2);
	assert_int_equal(nfo_table_kw(2), 1);
	assert_int_equal(nfo_table_kw(16), 4);
	/* at most three quarters full, a power of two */
	assert_int_equal(nfo_table_buckets_for(0, 1, false), 32);
	assert_int_equal(nfo_table_buckets_for(1000000, 1, false), 131072);
}

static void test_random(void **state)
{
	enum { N = 3000 };
	(void)state;

	for (uint32_t kw = 1; kw <= NFO_TABLE_MAX_KW; kw++) {
		for (int exp = 0; exp < 2; exp++) {
			static uint32_t keys[N][NFO_TABLE_MAX_KW];
			static bool in[N];
			static uint64_t until[N];
			struct table_fx f;
			size_t count = 0;

			srandom(kw * 10 + (unsigned)exp);
			fx_init(&f, nfo_table_buckets_for(N, kw, exp), kw, exp);
			memset(keys, 0, sizeof(keys));
			for (int i = 0; i < N; i++) {
				for (uint32_t w = 0; w < kw; w++)
					keys[i][w] = (uint32_t)random();
				in[i] = false;
			}
			for (int step = 0; step < 4 * N; step++) {
				int i = (int)(random() % N);

				if (random() % 3) {
					uint64_t u = exp ? 1 + (uint64_t)random() : 0;
					int r = nfo_table_insert(&f.t, keys[i], u);

					if (r == -ENOSPC) {
						/* the loader grows the table here; it
						 * must not come before a fifth full */
						assert_true(count * 5 > (size_t)f.t.nbuckets * f.t.nslots);
						continue;
					}
					assert_true(r >= 0);
					assert_int_equal(r, !in[i]);
					count += !in[i];
					in[i] = true;
					until[i] = u;
				} else {
					assert_int_equal(nfo_table_delete(&f.t, keys[i]), in[i]);
					count -= in[i];
					in[i] = false;
				}
				if (step % 256 == 0)
					nfo_table_release(&f.t);
			}
			assert_int_equal(f.t.count, count);
			for (int i = 0; i < N; i++) {
				uint64_t u = 99;

				assert_int_equal(bpf_lookup(&f.t, keys[i], &u), in[i]);
				assert_int_equal(nfo_table_find(&f.t, keys[i], NULL), in[i]);
				if (in[i])
					assert_true(u == until[i]);
			}
			fx_fini(&f);
		}
	}
}

static int count_key(const uint32_t *key, uint64_t until, void *data)
{
	(void)key;
	(void)until;
	(*(size_t *)data)++;
	return 0;
}

/* A deleted slot takes no other key before a grace period (a reader that
 * loaded the bitmap before the delete may still compare it); the same key
 * may come back into it at once. */
static void test_quarantine(void **state)
{
	struct table_fx f;
	uint32_t key[NFO_TABLE_MAX_KW] = { 0 }, k2[NFO_TABLE_MAX_KW] = { 0 };
	size_t n = 0, added = 0;
	int r = 0;

	(void)state;
	fx_init(&f, 32, 1, false);
	/* fill until a key finds both its buckets full */
	for (uint32_t v = 1; r >= 0; v++) {
		key[0] = v;
		r = nfo_table_insert(&f.t, key, 0);
		added += r == 1;
	}
	assert_int_equal(r, -ENOSPC);
	assert_int_equal(f.t.count, added);
	assert_true(added > 32 * 14 * 3 / 4); /* two choices fill most of it */
	/* free a slot of the refused key's bucket: the refused key still
	 * does not fit until the quarantine is released */
	{
		const struct nfo_table_hdr *h = (const void *)&f.t.b[0];
		uint32_t kh = nfo_table_hash(key, 1, h->seed);
		uint32_t c1 = nfo_table_b1(kh, h->mask), c2 = nfo_table_b2(kh, h->mask);
		bool found = false;

		for (uint32_t v = 1; v < key[0] && !found; v++) {
			k2[0] = v;
			found = nfo_bucket_find(&f.t.b[c1], h, k2) >= 0 ||
				nfo_bucket_find(&f.t.b[c2], h, k2) >= 0;
		}
		assert_true(found);
		assert_int_equal(nfo_table_delete(&f.t, k2), 1);
	}
	assert_int_equal(f.t.nquar, 1);
	assert_int_equal(nfo_table_insert(&f.t, key, 0), -ENOSPC);
	/* the deleted key itself comes back into its slot */
	assert_int_equal(nfo_table_insert(&f.t, k2, 0), 1);
	assert_int_equal(f.t.nquar, 0);
	assert_int_equal(nfo_table_delete(&f.t, k2), 1);
	nfo_table_release(&f.t);
	assert_int_equal(nfo_table_insert(&f.t, key, 0), 1);
	assert_false(nfo_table_find(&f.t, k2, NULL));
	assert_true(nfo_table_crowded(&f.t, 0));
	assert_int_equal(nfo_table_foreach(&f.t, count_key, &n), 0);
	assert_int_equal(n, f.t.count);
	fx_fini(&f);
}

/* An expiry changes with one store, the key stays. */
static void test_expiry(void **state)
{
	struct table_fx f;
	uint32_t key[NFO_TABLE_MAX_KW] = { 0x0a000001 };
	uint64_t u = 0;

	(void)state;
	fx_init(&f, 32, 1, true);
	assert_int_equal(nfo_table_insert(&f.t, key, 5000), 1);
	assert_int_equal(bpf_lookup(&f.t, key, &u), 1);
	assert_true(u == 5000);
	assert_int_equal(nfo_table_insert(&f.t, key, 700), 0); /* shortened */
	assert_int_equal(bpf_lookup(&f.t, key, &u), 1);
	assert_true(u == 700);
	assert_int_equal(f.t.count, 1);
	fx_fini(&f);
}

/*
 * IPv6 keys (three a bucket) into few buckets until an insert finds both of
 * its buckets full: another key moves to its other bucket (with its
 * expiry), the slot it left is free after the release, and every key is
 * still found where the fast path looks. Repeated until nothing can move.
 */
static void test_make_room(void **state)
{
	enum { NB = 32, MAX = NB * 3 };
	struct table_fx f;
	uint32_t keys[MAX][NFO_TABLE_MAX_KW];
	unsigned seed = 7, held = 0, moved = 0;

	(void)state;
	fx_init(&f, NB, 4, true);
	for (unsigned n = 0; n < MAX; n++) {
		uint32_t *k = keys[held];
		uint64_t u = 0;
		int r;

		for (int w = 0; w < 4; w++)
			k[w] = (uint32_t)rand_r(&seed);
		r = nfo_table_insert(&f.t, k, 1000 + held);
		if (r == -ENOSPC) {
			if (nfo_table_make_room(&f.t, k) != 1)
				break;
			moved++;
			assert_int_equal(f.t.count, held);
			assert_int_equal(f.t.nquar, 1);
			/* not yet: the slot left is in quarantine */
			assert_int_equal(nfo_table_insert(&f.t, k, 1000 + held), -ENOSPC);
			nfo_table_release(&f.t);
			r = nfo_table_insert(&f.t, k, 1000 + held);
		}
		assert_int_equal(r, 1);
		held++;
		for (unsigned i = 0; i < held; i++) {
			assert_int_equal(bpf_lookup(&f.t, keys[i], &u), 1);
			assert_true(u == 1000 + i);
		}
	}
	assert_true(moved > 0);
	assert_int_equal(f.t.count, held);
	/* far fuller than two choices alone get (about a quarter) */
	assert_true(held > MAX / 2);
	fx_fini(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_quarantine),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_make_room),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
