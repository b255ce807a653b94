// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

/* after netinet/in.h: its definitions of in_addr win over linux/in.h's */
#include <linux/netfilter.h>

#include "config.h"
#include "iface.h"
#include "common/util.h"

#define NFO_CONFIG_MAX_SIZE (1024 * 1024)

const char *nfo_mode_name(int mode)
{
	switch (mode) {
	case NFO_MODE_XDP:
		return "xdp";
	case NFO_MODE_XDP_GENERIC:
		return "xdp-generic";
	case NFO_MODE_TC:
		return "tc";
	}
	return "?";
}

int nfo_mode_from_string(const char *s)
{
	for (int m = 0; m < _NFO_MODE_MAX; m++)
		if (!strcmp(s, nfo_mode_name(m)))
			return m;
	return -EINVAL;
}

void nfo_config_init(struct nfo_config *c)
{
	*c = (struct nfo_config){
		.max_counters = NFO_DEFAULT_MAX_COUNTERS,
		.max_edges = NFO_DEFAULT_MAX_EDGES,
		.timeout_margin_ms = NFO_DEFAULT_TIMEOUT_MARGIN_MS,
	};
}

void nfo_config_clear(struct nfo_config *c)
{
	free(c->ifaces);
	free(c->services);
	nfo_config_init(c);
}

static int fail(char *err, size_t errlen, const char *file, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fail(char *err, size_t errlen, const char *file, unsigned line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(err, errlen, "%s:%u: %s", file, line, msg);
	else
		snprintf(err, errlen, "%s: %s", file, msg);
	return -EINVAL;
}

static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= IF_NAMESIZE || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || isspace((unsigned char)s[i]) ||
		    !isprint((unsigned char)s[i]))
			return false;
	return true;
}

static int add_iface(struct nfo_config *c, const char *name, int mode, const char *file,
		     unsigned line, char *err, size_t errlen)
{
	struct nfo_config_iface *p;

	if (!valid_ifname(name))
		return fail(err, errlen, file, line, "invalid interface name '%s'", name);
	for (size_t i = 0; i < c->nifaces; i++)
		if (!strcmp(c->ifaces[i].name, name))
			return fail(err, errlen, file, line, "interface %s configured twice", name);
	p = realloc(c->ifaces, (c->nifaces + 1) * sizeof(*p));
	if (!p)
		return fail(err, errlen, file, line, "out of memory");
	c->ifaces = p;
	snprintf(c->ifaces[c->nifaces].name, IF_NAMESIZE, "%s", name);
	c->ifaces[c->nifaces++].mode = mode;
	return 0;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *ret)
{
	char *end;
	unsigned long long v;

	if (!*s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0 || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Splits line into at most max words; returns the count, or -1 if more. */
static int split(char *line, char **words, int max)
{
	int n = 0;

	for (char *p = line; *p;) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		if (n == max)
			return -1;
		words[n++] = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (*p)
			*p++ = '\0';
	}
	return n;
}

const char *nfo_service_dir_name(int dir)
{
	return dir == NFO_SERVICE_INGRESS ? "ingress" : dir == NFO_SERVICE_EGRESS ? "egress" : "?";
}

void nfo_service_pin_name(const char *name, char *buf, size_t len)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < len; i++)
		buf[i] = name[i] == '.' ? '_' : name[i];
	if (len)
		buf[i] = '\0';
}

/* systemd unit names: ASCII letters, digits, ":-_.\\" and "@". */
static bool valid_service_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= NFO_SERVICE_NAME_MAX || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(":-_.\\@", s[i]))
			return false;
	return true;
}

static bool valid_nft_name(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < NFO_NFT_NAME_MAX;
}

const struct nfo_config_service *nfo_config_find_service(const struct nfo_config *c,
							 const char *name)
{
	for (size_t i = 0; i < c->nservices; i++)
		if (!strcmp(c->services[i].name, name))
			return &c->services[i];
	return NULL;
}

#define SERVICE_USAGE "expected: service NAME [ingress FAMILY TABLE CHAIN] [egress FAMILY TABLE CHAIN]"

/* w[0] is the name, then directions with their chains. */
static int add_service(struct nfo_config *c, char **w, int n, const char *file, unsigned line,
		       char *err, size_t errlen)
{
	struct nfo_config_service sv = {};
	struct nfo_config_service *p;
	char pin[NFO_SERVICE_NAME_MAX], other[NFO_SERVICE_NAME_MAX];
	int i = 1;

	if (n < 1)
		return fail(err, errlen, file, line, SERVICE_USAGE);
	if (!valid_service_name(w[0]))
		return fail(err, errlen, file, line,
			    "invalid service name '%s' (a systemd unit name, e.g. nginx.service)", w[0]);
	snprintf(sv.name, sizeof(sv.name), "%s", w[0]);
	if (n == 1)
		return fail(err, errlen, file, line, "service %s names no chain; " SERVICE_USAGE,
			    w[0]);
	while (i < n) {
		struct nfo_config_chainref *ref;
		int dir;

		if (!strcmp(w[i], "ingress"))
			dir = NFO_SERVICE_INGRESS;
		else if (!strcmp(w[i], "egress"))
			dir = NFO_SERVICE_EGRESS;
		else
			return fail(err, errlen, file, line,
				    "unknown direction '%s' for service %s (expected ingress or egress)",
				    w[i], w[0]);
		ref = &sv.dir[dir];
		if (ref->set)
			return fail(err, errlen, file, line, "service %s: %s given twice", w[0], w[i]);
		if (i + 3 >= n)
			return fail(err, errlen, file, line,
				    "service %s: %s needs FAMILY TABLE CHAIN", w[0], w[i]);
		if (!strcmp(w[i + 1], "ip"))
			ref->family = NFPROTO_IPV4;
		else if (!strcmp(w[i + 1], "ip6"))
			ref->family = NFPROTO_IPV6;
		else if (!strcmp(w[i + 1], "inet"))
			ref->family = NFPROTO_INET;
		else
			return fail(err, errlen, file, line,
				    "service %s: unknown family '%s' (expected ip, ip6 or inet)", w[0],
				    w[i + 1]);
		if (!valid_nft_name(w[i + 2]) || !valid_nft_name(w[i + 3]))
			return fail(err, errlen, file, line, "service %s: invalid table or chain name",
				    w[0]);
		snprintf(ref->table, sizeof(ref->table), "%s", w[i + 2]);
		snprintf(ref->chain, sizeof(ref->chain), "%s", w[i + 3]);
		ref->set = true;
		i += 4;
	}
	nfo_service_pin_name(sv.name, pin, sizeof(pin));
	for (size_t k = 0; k < c->nservices; k++) {
		if (!strcmp(c->services[k].name, sv.name))
			return fail(err, errlen, file, line, "service %s configured twice", sv.name);
		nfo_service_pin_name(c->services[k].name, other, sizeof(other));
		if (!strcmp(pin, other))
			return fail(err, errlen, file, line,
				    "services %s and %s would share one pin directory (%s)",
				    c->services[k].name, sv.name, pin);
	}
	p = realloc(c->services, (c->nservices + 1) * sizeof(*p));
	if (!p)
		return fail(err, errlen, file, line, "out of memory");
	c->services = p;
	c->services[c->nservices++] = sv;
	return 0;
}

int nfo_config_add_service(struct nfo_config *c, const char *spec, char *err, size_t errlen)
{
	char buf[1200], *w[10];
	int n;

	if (strlen(spec) >= sizeof(buf))
		return fail(err, errlen, "--service", 0, "too long");
	snprintf(buf, sizeof(buf), "%s", spec);
	n = split(buf, w, 9);
	if (n < 0)
		return fail(err, errlen, "--service", 0, "too many words; " SERVICE_USAGE);
	return add_service(c, w, n, "--service", 0, err, errlen);
}

int nfo_config_parse(struct nfo_config *c, const char *text, size_t len, const char *file,
		     char *err, size_t errlen)
{
	unsigned line = 0;
	size_t pos = 0;

	if (memchr(text, '\0', len))
		return fail(err, errlen, file, 0, "not a text file (contains NUL bytes)");
	while (pos < len) {
		char buf[512], *w[10], *hash;
		size_t end = pos;
		int n, r;

		while (end < len && text[end] != '\n')
			end++;
		line++;
		if (end - pos >= sizeof(buf))
			return fail(err, errlen, file, line, "line too long");
		memcpy(buf, text + pos, end - pos);
		buf[end - pos] = '\0';
		pos = end + 1;
		hash = strchr(buf, '#');
		if (hash)
			*hash = '\0';
		n = split(buf, w, 10);
		if (n == 0)
			continue;
		if (n < 0)
			return fail(err, errlen, file, line, "too many words");
		if (!strcmp(w[0], "service")) {
			r = add_service(c, w + 1, n - 1, file, line, err, errlen);
			if (r < 0)
				return r;
			continue;
		}
		if (n > 5)
			return fail(err, errlen, file, line, "too many words");

		if (!strcmp(w[0], "interface")) {
			int mode = NFO_MODE_XDP;

			if (n != 2 && n != 4)
				return fail(err, errlen, file, line,
					    "expected: interface NAME [mode xdp|xdp-generic|tc]");
			if (n == 4) {
				if (strcmp(w[2], "mode"))
					return fail(err, errlen, file, line,
						    "unknown interface option '%s' (expected 'mode')", w[2]);
				mode = nfo_mode_from_string(w[3]);
				if (mode < 0)
					return fail(err, errlen, file, line,
						    "unknown mode '%s' (expected xdp, xdp-generic or tc)",
						    w[3]);
			}
			r = add_iface(c, w[1], mode, file, line, err, errlen);
			if (r < 0)
				return r;
		} else if (!strcmp(w[0], "max-counters") || !strcmp(w[0], "max-diagram-edges")) {
			unsigned long long v;
			bool counters = !strcmp(w[0], "max-counters");

			if (n != 2)
				return fail(err, errlen, file, line, "expected: %s NUMBER", w[0]);
			if (parse_uint(w[1], counters ? 1u << 22 : 1ull << 30, &v) < 0)
				return fail(err, errlen, file, line, "invalid number '%s' for %s", w[1],
					    w[0]);
			if (counters)
				c->max_counters = (uint32_t)v;
			else
				c->max_edges = (size_t)v;
		} else if (!strcmp(w[0], "metrics-listen")) {
			struct sockaddr_storage ss;
			socklen_t sl;

			if (n != 2)
				return fail(err, errlen, file, line, "expected: metrics-listen ADDR:PORT");
			if (strlen(w[1]) >= sizeof(c->metrics_listen) ||
			    nfo_listen_addr_parse(w[1], &ss, &sl) < 0)
				return fail(err, errlen, file, line,
					    "invalid metrics-listen '%s' (expected IPV4:PORT or "
					    "[IPV6]:PORT, e.g. 127.0.0.1:9101)", w[1]);
			snprintf(c->metrics_listen, sizeof(c->metrics_listen), "%s", w[1]);
		} else if (!strcmp(w[0], "timeout-margin")) {
			unsigned long long v;

			if (n != 2)
				return fail(err, errlen, file, line, "expected: timeout-margin MS");
			if (parse_uint(w[1], 60 * 60 * 1000, &v) < 0)
				return fail(err, errlen, file, line,
					    "invalid number of milliseconds '%s' for timeout-margin", w[1]);
			c->timeout_margin_ms = (uint32_t)v;
		} else if (!strcmp(w[0], "decide-broadcast")) {
			if (n != 2 || (strcmp(w[1], "yes") && strcmp(w[1], "no")))
				return fail(err, errlen, file, line, "expected: decide-broadcast yes|no");
			c->decide_broadcast = !strcmp(w[1], "yes");
		} else {
			return fail(err, errlen, file, line, "unknown setting '%s'", w[0]);
		}
	}
	return 0;
}

int nfo_listen_addr_parse(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len)
{
	struct sockaddr_storage ss = {};
	unsigned long long port;
	const char *colon;
	char host[INET6_ADDRSTRLEN + 2];
	bool v6 = s[0] == '[';
	size_t hl;

	if (v6) {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		colon = close + 1;
		hl = (size_t)(close - s - 1);
		s++;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon)
			return -EINVAL;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= sizeof(host) || parse_uint(colon + 1, 65535, &port) < 0)
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -EINVAL;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*ret_len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -EINVAL;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		*ret_len = sizeof(*a);
	}
	*ret = ss;
	return 0;
}

int nfo_config_load(struct nfo_config *c, const char *path, int required, char *err,
		    size_t errlen)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && !required)
			return 0;
		return fail(err, errlen, path, 0, "cannot read: %s", strerror(errno));
	}
	text = malloc(NFO_CONFIG_MAX_SIZE + 1);
	if (!text) {
		fclose(f);
		return fail(err, errlen, path, 0, "out of memory");
	}
	len = fread(text, 1, NFO_CONFIG_MAX_SIZE + 1, f);
	r = ferror(f);
	fclose(f);
	if (r)
		return fail(err, errlen, path, 0, "read error");
	if (len > NFO_CONFIG_MAX_SIZE)
		return fail(err, errlen, path, 0, "file too large");
	if (memchr(text, '\0', len))
		return fail(err, errlen, path, 0, "not a text file (contains NUL bytes)");
	return nfo_config_parse(c, text, len, path, err, errlen);
}

int nfo_config_add_attach(struct nfo_config *c, const char *spec, char *err, size_t errlen)
{
	char name[64];
	const char *colon = strchr(spec, ':');
	int mode = NFO_MODE_XDP;

	if (colon) {
		if ((size_t)(colon - spec) >= sizeof(name))
			return fail(err, errlen, "--attach", 0, "invalid interface name in '%s'", spec);
		memcpy(name, spec, (size_t)(colon - spec));
		name[colon - spec] = '\0';
		mode = nfo_mode_from_string(colon + 1);
		if (mode < 0)
			return fail(err, errlen, "--attach", 0,
				    "unknown mode '%s' (expected xdp, xdp-generic or tc)", colon + 1);
	} else {
		snprintf(name, sizeof(name), "%s", spec);
	}
	return add_iface(c, name, mode, "--attach", 0, err, errlen);
}
