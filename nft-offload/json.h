/* SPDX-License-Identifier: GPL-2.0-only */
/* A growable text buffer and a small JSON writer on top of it. */
#ifndef NFO_JSON_H
#define NFO_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nfo_buf {
	char *s;
	size_t len;
	size_t cap;
	bool oom;
};

void nfo_buf_free(struct nfo_buf *b);
void nfo_buf_printf(struct nfo_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nfo_buf_put(struct nfo_buf *b, const char *s, size_t n);

#define NFO_JSON_DEPTH 16

struct nfo_json {
	struct nfo_buf *b;
	int depth;
	bool first[NFO_JSON_DEPTH];
	bool after_key;
};

void nfo_json_init(struct nfo_json *j, struct nfo_buf *b);
void nfo_json_obj_begin(struct nfo_json *j);
void nfo_json_obj_end(struct nfo_json *j);
void nfo_json_arr_begin(struct nfo_json *j);
void nfo_json_arr_end(struct nfo_json *j);
void nfo_json_key(struct nfo_json *j, const char *k);
void nfo_json_str(struct nfo_json *j, const char *s); /* NULL -> null */
void nfo_json_u64(struct nfo_json *j, uint64_t v);
void nfo_json_i64(struct nfo_json *j, int64_t v);
void nfo_json_double(struct nfo_json *j, double v);
void nfo_json_bool(struct nfo_json *j, bool v);
void nfo_json_null(struct nfo_json *j);

/* A member of the object being written: its key, then its value. */
#define NFO_JSON_MEMBER(type, ctype)                                                  \
	static inline void nfo_json_k##type(struct nfo_json *j, const char *k, ctype v) \
	{                                                                              \
		nfo_json_key(j, k);                                                    \
		nfo_json_##type(j, v);                                                 \
	}
NFO_JSON_MEMBER(str, const char *)
NFO_JSON_MEMBER(u64, uint64_t)
NFO_JSON_MEMBER(i64, int64_t)
NFO_JSON_MEMBER(double, double)
NFO_JSON_MEMBER(bool, bool)
#undef NFO_JSON_MEMBER

#endif
