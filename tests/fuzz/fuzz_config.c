// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer: the configuration file parser (nfo_config_parse) and the
 * --attach parser (nfo_config_add_attach) on arbitrary bytes.
 *
 * Besides crashes and sanitizer reports it checks what the parser promises:
 * -EINVAL with a terminated "file[:line]: message", and only valid,
 * distinct interface names and settings in range in the configuration,
 * whether the parse succeeded or stopped at an error.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nft-offload/config.h"
#include "nft-offload/iface.h"

#define CHECK(x)                          \
	do {                              \
		if (!(x))                 \
			__builtin_trap(); \
	} while (0)

static void check_config(const struct nfo_config *c)
{
	CHECK(c->max_counters >= 1 && c->max_counters <= 1u << 22);
	CHECK(c->max_edges >= 1 && c->max_edges <= 1ull << 30);
	for (size_t i = 0; i < c->nifaces; i++) {
		const char *name = c->ifaces[i].name;
		size_t n = strnlen(name, IF_NAMESIZE);

		CHECK(n >= 1 && n < IF_NAMESIZE);
		CHECK(strcmp(name, ".") && strcmp(name, ".."));
		for (size_t k = 0; k < n; k++)
			CHECK(isprint((unsigned char)name[k]) && !isspace((unsigned char)name[k]) &&
			      name[k] != '/' && name[k] != ':');
		CHECK(c->ifaces[i].mode >= 0 && c->ifaces[i].mode < _NFO_MODE_MAX);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(c->ifaces[j].name, name));
	}
}

static void check_error(int r, const char *err, size_t errlen, const char *prefix)
{
	CHECK(r == 0 || r == -EINVAL);
	if (r == 0)
		return;
	CHECK(memchr(err, '\0', errlen));
	CHECK(!strncmp(err, prefix, strlen(prefix)));
	CHECK(strlen(err) > strlen(prefix));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nfo_config c;
	char err[256], spec[128];
	int r;

	nfo_config_init(&c);
	memset(err, 0xaa, sizeof(err));
	r = nfo_config_parse(&c, (const char *)data, size, "fuzz.conf", err, sizeof(err));
	check_error(r, err, sizeof(err), "fuzz.conf:");
	check_config(&c);
	/* Parsing adds to what is there: a second pass finds every interface
	 * again, so it fails if there was one. */
	if (r == 0) {
		size_t n = c.nifaces;

		r = nfo_config_parse(&c, (const char *)data, size, "again.conf", err, sizeof(err));
		CHECK(n == 0 ? r == 0 : r == -EINVAL);
		check_error(r, err, sizeof(err), "again.conf:");
		CHECK(c.nifaces == n);
		check_config(&c);
	}
	nfo_config_clear(&c);
	CHECK(c.nifaces == 0 && !c.ifaces);

	/* The same bytes (up to the first NUL) as one --attach argument. */
	if (size < sizeof(spec)) {
		memcpy(spec, data, size);
		spec[size] = '\0';
		nfo_config_init(&c);
		memset(err, 0xaa, sizeof(err));
		r = nfo_config_add_attach(&c, spec, err, sizeof(err));
		check_error(r, err, sizeof(err), "--attach: ");
		CHECK(c.nifaces == (r == 0));
		check_config(&c);
		nfo_config_clear(&c);
	}
	return 0;
}
