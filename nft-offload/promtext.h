/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A writer of the Prometheus text exposition format (version 0.0.4): a
 * metric family is its `# HELP` and `# TYPE` lines followed by all of its
 * samples, `name{label="value",...} value`. Label values are escaped (\\,
 * \", \n) and help texts too (\\, \n), as the format requires.
 */
#ifndef NFO_PROMTEXT_H
#define NFO_PROMTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"

#define NFO_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum nfo_prom_type {
	NFO_PROM_COUNTER,
	NFO_PROM_GAUGE,
	_NFO_PROM_TYPE_MAX,
};

/* One label; a NULL value leaves the label out (as an empty value means). */
struct nfo_prom_label {
	const char *name;
	const char *value;
};

/* A label list ending in { NULL }. */
#define NFO_PROM_LABELS(...) ((const struct nfo_prom_label[]){ __VA_ARGS__, { NULL, NULL } })

/* The HELP and TYPE lines that start a family; its samples follow at once. */
void nfo_prom_family(struct nfo_buf *b, const char *name, int type, const char *help);
/* One sample; labels may be NULL (none). */
void nfo_prom_u64(struct nfo_buf *b, const char *name, const struct nfo_prom_label *labels,
		  uint64_t v);
void nfo_prom_double(struct nfo_buf *b, const char *name, const struct nfo_prom_label *labels,
		     double v);
/* A label value as the format escapes it (no quotes around it). */
void nfo_prom_escape_label(struct nfo_buf *b, const char *v);

#endif
