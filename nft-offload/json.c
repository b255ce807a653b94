// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

void nfo_buf_free(struct nfo_buf *b)
{
	free(b->s);
	*b = (struct nfo_buf){};
}

static bool reserve(struct nfo_buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->oom)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 1024;
	while (cap < b->len + more + 1)
		cap *= 2;
	p = realloc(b->s, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->s = p;
	b->cap = cap;
	return true;
}

void nfo_buf_put(struct nfo_buf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void nfo_buf_printf(struct nfo_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void nfo_json_init(struct nfo_json *j, struct nfo_buf *b)
{
	*j = (struct nfo_json){ .b = b };
	j->first[0] = true;
}

static void sep(struct nfo_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (!j->first[j->depth])
		nfo_buf_put(j->b, ",", 1);
	j->first[j->depth] = false;
}

static void open_(struct nfo_json *j, char c)
{
	sep(j);
	nfo_buf_put(j->b, &c, 1);
	if (j->depth + 1 < NFO_JSON_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
}

static void close_(struct nfo_json *j, char c)
{
	nfo_buf_put(j->b, &c, 1);
	if (j->depth > 0)
		j->depth--;
}

void nfo_json_obj_begin(struct nfo_json *j)
{
	open_(j, '{');
}

void nfo_json_obj_end(struct nfo_json *j)
{
	close_(j, '}');
}

void nfo_json_arr_begin(struct nfo_json *j)
{
	open_(j, '[');
}

void nfo_json_arr_end(struct nfo_json *j)
{
	close_(j, ']');
}

static void put_string(struct nfo_buf *b, const char *s)
{
	nfo_buf_put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };

			nfo_buf_put(b, e, 2);
		} else if (c < 0x20) {
			nfo_buf_printf(b, "\\u%04x", c);
		} else {
			nfo_buf_put(b, s, 1);
		}
	}
	nfo_buf_put(b, "\"", 1);
}

void nfo_json_key(struct nfo_json *j, const char *k)
{
	sep(j);
	put_string(j->b, k);
	nfo_buf_put(j->b, ":", 1);
	j->after_key = true;
}

void nfo_json_str(struct nfo_json *j, const char *s)
{
	sep(j);
	if (s)
		put_string(j->b, s);
	else
		nfo_buf_put(j->b, "null", 4);
}

void nfo_json_u64(struct nfo_json *j, uint64_t v)
{
	sep(j);
	nfo_buf_printf(j->b, "%llu", (unsigned long long)v);
}

void nfo_json_i64(struct nfo_json *j, int64_t v)
{
	sep(j);
	nfo_buf_printf(j->b, "%lld", (long long)v);
}

void nfo_json_double(struct nfo_json *j, double v)
{
	sep(j);
	nfo_buf_printf(j->b, "%.3f", v);
}

void nfo_json_bool(struct nfo_json *j, bool v)
{
	sep(j);
	nfo_buf_put(j->b, v ? "true" : "false", v ? 4 : 5);
}

void nfo_json_null(struct nfo_json *j)
{
	sep(j);
	nfo_buf_put(j->b, "null", 4);
}
