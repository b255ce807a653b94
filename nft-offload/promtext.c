// SPDX-License-Identifier: GPL-2.0-only
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promtext.h"

static void escape(struct nfo_buf *b, const char *v, bool quote)
{
	for (const char *p = v; *p; p++) {
		size_t n = strcspn(p, quote ? "\\\"\n" : "\\\n");

		nfo_buf_put(b, p, n);
		p += n;
		if (!*p)
			break;
		nfo_buf_put(b, *p == '\n' ? "\\n" : *p == '"' ? "\\\"" : "\\\\", 2);
	}
}

void nfo_prom_escape_label(struct nfo_buf *b, const char *v)
{
	escape(b, v, true);
}

void nfo_prom_family(struct nfo_buf *b, const char *name, int type, const char *help)
{
	nfo_buf_printf(b, "# HELP %s ", name);
	escape(b, help, false);
	nfo_buf_printf(b, "\n# TYPE %s %s\n", name, type == NFO_PROM_COUNTER ? "counter" : "gauge");
}

/* The shorter of %.15g and %.17g that reads back as v (0.1, not
 * 0.10000000000000001). */
static const char *shortest(double v, char *buf, size_t len)
{
	snprintf(buf, len, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, len, "%.17g", v);
	return buf;
}

static void series(struct nfo_buf *b, const char *name, const struct nfo_prom_label *labels)
{
	bool first = true;

	nfo_buf_put(b, name, strlen(name));
	for (const struct nfo_prom_label *l = labels; l && l->name; l++) {
		if (!l->value)
			continue;
		nfo_buf_printf(b, "%s%s=\"", first ? "{" : ",", l->name);
		escape(b, l->value, true);
		nfo_buf_put(b, "\"", 1);
		first = false;
	}
	if (!first)
		nfo_buf_put(b, "}", 1);
	nfo_buf_put(b, " ", 1);
}

void nfo_prom_u64(struct nfo_buf *b, const char *name, const struct nfo_prom_label *labels,
		  uint64_t v)
{
	series(b, name, labels);
	nfo_buf_printf(b, "%llu\n", (unsigned long long)v);
}

void nfo_prom_double(struct nfo_buf *b, const char *name, const struct nfo_prom_label *labels,
		     double v)
{
	char num[32];

	series(b, name, labels);
	if (isnan(v))
		nfo_buf_printf(b, "NaN\n");
	else if (isinf(v))
		nfo_buf_printf(b, "%sInf\n", v > 0 ? "+" : "-");
	else
		nfo_buf_printf(b, "%s\n", shortest(v, num, sizeof(num)));
}
