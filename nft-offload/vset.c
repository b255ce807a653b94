// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "vset.h"

nfo_u128 nfo_u128_max(unsigned width)
{
	if (width >= 128)
		return ~(nfo_u128)0;
	return ((nfo_u128)1 << width) - 1;
}

nfo_u128 nfo_u128_from_be(const uint8_t *b, size_t len)
{
	nfo_u128 v = 0;

	for (size_t i = 0; i < len; i++)
		v = (v << 8) | b[i];
	return v;
}

void nfo_u128_to_be(nfo_u128 v, uint8_t *b, size_t len)
{
	for (size_t i = len; i > 0; i--) {
		b[i - 1] = (uint8_t)v;
		v >>= 8;
	}
}

void nfo_vset_free(struct nfo_vset *s)
{
	free(s->iv);
	*s = (struct nfo_vset){};
}

void nfo_vset_clear(struct nfo_vset *s)
{
	s->n = 0;
}

int nfo_vset_push(struct nfo_vset *s, nfo_u128 lo, nfo_u128 hi)
{
	int r;

	if (lo > hi)
		return 0;
	r = nfo_grow(&s->iv, &s->cap, s->n + 1, sizeof(*s->iv));
	if (r < 0)
		return r;
	s->iv[s->n++] = (struct nfo_ival){ lo, hi };
	return 0;
}

static int cmp_ival(const void *a, const void *b)
{
	const struct nfo_ival *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return 0;
}

void nfo_vset_normalize(struct nfo_vset *s)
{
	size_t o = 0;

	if (s->n < 2)
		return;
	qsort(s->iv, s->n, sizeof(*s->iv), cmp_ival);
	for (size_t i = 1; i < s->n; i++) {
		struct nfo_ival *cur = &s->iv[o];

		/* overlapping or adjacent (careful with hi == max) */
		if (s->iv[i].lo <= cur->hi || s->iv[i].lo - 1 == cur->hi) {
			if (s->iv[i].hi > cur->hi)
				cur->hi = s->iv[i].hi;
		} else {
			s->iv[++o] = s->iv[i];
		}
	}
	s->n = o + 1;
}

int nfo_vset_add(struct nfo_vset *s, nfo_u128 lo, nfo_u128 hi)
{
	int r = nfo_vset_push(s, lo, hi);

	if (r == 0)
		nfo_vset_normalize(s);
	return r;
}

int nfo_vset_copy(struct nfo_vset *dst, const struct nfo_vset *src)
{
	int r;

	dst->n = 0;
	r = nfo_grow(&dst->iv, &dst->cap, src->n, sizeof(*dst->iv));
	if (r < 0)
		return r;
	if (src->n)
		memcpy(dst->iv, src->iv, src->n * sizeof(*src->iv));
	dst->n = src->n;
	return 0;
}

int nfo_vset_complement(struct nfo_vset *s, nfo_u128 max)
{
	struct nfo_vset out = {};
	nfo_u128 next = 0;
	bool done = false;
	int r;

	for (size_t i = 0; i < s->n && !done; i++) {
		if (s->iv[i].lo > max)
			break; /* nothing of [0, max] left to exclude */
		if (s->iv[i].lo > next) {
			r = nfo_vset_push(&out, next, s->iv[i].lo - 1);
			if (r < 0)
				goto fail;
		}
		if (s->iv[i].hi >= max)
			done = true;
		else
			next = s->iv[i].hi + 1;
	}
	if (!done) {
		r = nfo_vset_push(&out, next, max);
		if (r < 0)
			goto fail;
	}
	nfo_vset_free(s);
	*s = out;
	return 0;
fail:
	nfo_vset_free(&out);
	return r;
}

int nfo_vset_intersect(struct nfo_vset *a, const struct nfo_vset *b)
{
	struct nfo_vset out = {};
	size_t i = 0, j = 0;
	int r;

	while (i < a->n && j < b->n) {
		nfo_u128 lo = a->iv[i].lo > b->iv[j].lo ? a->iv[i].lo : b->iv[j].lo;
		nfo_u128 hi = a->iv[i].hi < b->iv[j].hi ? a->iv[i].hi : b->iv[j].hi;

		if (lo <= hi) {
			r = nfo_vset_push(&out, lo, hi);
			if (r < 0) {
				nfo_vset_free(&out);
				return r;
			}
		}
		if (a->iv[i].hi < b->iv[j].hi)
			i++;
		else
			j++;
	}
	nfo_vset_free(a);
	*a = out;
	return 0;
}

bool nfo_vset_contains(const struct nfo_vset *s, nfo_u128 v)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v < s->iv[mid].lo)
			hi = mid;
		else if (v > s->iv[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

bool nfo_vset_equal(const struct nfo_vset *a, const struct nfo_vset *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->iv[i].lo != b->iv[i].lo || a->iv[i].hi != b->iv[i].hi)
			return false;
	return true;
}

bool nfo_vset_is_full(const struct nfo_vset *s, nfo_u128 max)
{
	return s->n == 1 && s->iv[0].lo == 0 && s->iv[0].hi == max;
}
