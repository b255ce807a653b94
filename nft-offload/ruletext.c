// SPDX-License-Identifier: GPL-2.0-only
/* Rule texts for `explain` (see ruletext.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netlink/nft.h"
#include "ruletext.h"

#define HANDLE_MARK " # handle "

/* The handle at the end of a line ("... # handle N"); *text_len: the length
 * before the mark. A comment may contain the mark too: the last one counts. */
static bool split_handle(const char *line, size_t len, size_t *text_len, uint64_t *handle)
{
	const size_t ml = sizeof(HANDLE_MARK) - 1;
	uint64_t v = 0;
	size_t i;

	for (i = len; i >= ml; i--)
		if (!memcmp(line + i - ml, HANDLE_MARK, ml))
			break;
	if (i < ml || i == len)
		return false;
	for (size_t k = i; k < len; k++) {
		if (line[k] < '0' || line[k] > '9' || v > UINT64_MAX / 10 - 1)
			return false;
		v = v * 10 + (uint64_t)(line[k] - '0');
	}
	*text_len = i - ml;
	*handle = v;
	return true;
}

/* Braces opened minus closed on a line, outside quoted strings. */
static int brace_delta(const char *line, size_t len)
{
	bool quoted = false;
	int d = 0;

	for (size_t i = 0; i < len; i++) {
		if (quoted && line[i] == '\\' && i + 1 < len)
			i++;
		else if (line[i] == '"')
			quoted = !quoted;
		else if (!quoted && line[i] == '{')
			d++;
		else if (!quoted && line[i] == '}')
			d--;
	}
	return d;
}

/* "table FAMILY NAME {": family and name into fam / name (NUL-terminated). */
static bool table_line(const char *line, size_t len, char *fam, size_t famlen, char *name,
		       size_t namelen)
{
	const char *p = line, *end = line + len, *w;

	if (len < 6 || memcmp(line, "table ", 6))
		return false;
	p += 6;
	for (int k = 0; k < 2; k++) {
		char *dst = k ? name : fam;
		size_t cap = k ? namelen : famlen, n;

		while (p < end && *p == ' ')
			p++;
		w = p;
		while (p < end && *p != ' ')
			p++;
		n = (size_t)(p - w);
		if (n >= 2 && w[0] == '"' && w[n - 1] == '"') {
			w++;
			n -= 2;
		}
		if (!n || n >= cap)
			return false;
		memcpy(dst, w, n);
		dst[n] = '\0';
	}
	while (p < end && *p == ' ')
		p++;
	return p < end && *p == '{';
}

int nfo_ruletext_from_listing(const char *s, size_t len, struct nfo_buf *out)
{
	char fam[16] = "", table[260] = "";
	const char *end = s + len;
	int depth = 0, n = 0;

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t ll = nl ? (size_t)(nl - s) : (size_t)(end - s);
		const char *line = s;
		size_t tl;
		uint64_t handle;

		s = nl ? nl + 1 : end;
		while (ll && (*line == '\t' || *line == ' ')) {
			line++;
			ll--;
		}
		while (ll && (line[ll - 1] == '\r' || line[ll - 1] == ' '))
			ll--;
		if (!ll)
			continue;
		if (depth == 0) {
			if (!table_line(line, ll, fam, sizeof(fam), table, sizeof(table)))
				return -EINVAL;
		} else if (depth == 2 && split_handle(line, ll, &tl, &handle)) {
			/* A rule: the only thing at this depth with a handle. */
			nfo_buf_printf(out, "rule\t%s\t%s\t%llu\t", fam, table,
				       (unsigned long long)handle);
			for (size_t i = 0; i < tl; i++) {
				char c = line[i] == '\t' || line[i] == '\n' ? ' ' : line[i];

				nfo_buf_put(out, &c, 1);
			}
			nfo_buf_put(out, "\n", 1);
			n++;
		}
		depth += brace_delta(line, ll);
		if (depth < 0)
			return -EINVAL;
	}
	return depth ? -EINVAL : n;
}

/* ---- client: run nft ------------------------------------------------------------- */

static const char *const nft_paths[] = { "nft", "/usr/sbin/nft", "/sbin/nft" };

/* Runs `nft -a -s list ruleset`; its stdout into out. On failure, a one-line
 * reason into err. */
static int run_nft(struct nfo_buf *out, char *err, size_t errlen)
{
	struct nfo_buf eb = {};
	int po[2], pe[2], status = 0, r = 0;
	struct pollfd pf[2];
	pid_t pid;

	if (pipe2(po, O_CLOEXEC) < 0)
		return snprintf(err, errlen, "pipe: %s", strerror(errno)), -errno;
	if (pipe2(pe, O_CLOEXEC) < 0) {
		r = -errno;
		close(po[0]);
		close(po[1]);
		snprintf(err, errlen, "pipe: %s", strerror(-r));
		return r;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		snprintf(err, errlen, "fork: %s", strerror(-r));
		close(po[0]);
		close(po[1]);
		close(pe[0]);
		close(pe[1]);
		return r;
	}
	if (pid == 0) {
		dup2(po[1], STDOUT_FILENO);
		dup2(pe[1], STDERR_FILENO);
		for (size_t i = 0; i < sizeof(nft_paths) / sizeof(nft_paths[0]); i++)
			execvp(nft_paths[i], (char *[]){ "nft", "-a", "-s", "list", "ruleset", NULL });
		fprintf(stderr, "cannot run nft: %s\n", strerror(errno));
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	pf[0] = (struct pollfd){ .fd = po[0], .events = POLLIN };
	pf[1] = (struct pollfd){ .fd = pe[0], .events = POLLIN };
	while (pf[0].fd >= 0 || pf[1].fd >= 0) {
		char buf[65536];

		if (poll(pf, 2, 30000) <= 0) {
			snprintf(err, errlen, "nft list ruleset did not finish in 30 s");
			kill(pid, SIGKILL);
			r = -ETIMEDOUT;
			break;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (pf[i].fd < 0 || !pf[i].revents)
				continue;
			n = read(pf[i].fd, buf, sizeof(buf));
			if (n <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				continue;
			}
			nfo_buf_put(i ? &eb : out, buf, (size_t)n);
		}
	}
	for (int i = 0; i < 2; i++)
		if (pf[i].fd >= 0)
			close(pf[i].fd);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!r && (!WIFEXITED(status) || WEXITSTATUS(status))) {
		size_t l = 0;

		while (l < eb.len && eb.s[l] != '\n')
			l++;
		snprintf(err, errlen, "nft list ruleset failed: %.*s", (int)l,
			 eb.len ? eb.s : "no message");
		r = -EIO;
	}
	if (!r && out->oom) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
	}
	nfo_buf_free(&eb);
	return r;
}

void nfo_ruletext_collect(struct nfo_buf *out)
{
	char err[256] = "the ruleset kept changing while it was listed";

	for (int attempt = 0; attempt < 5; attempt++) {
		struct nfo_buf listing = {}, rules = {};
		uint32_t g0, g1;
		int r, n;

		r = nfo_nft_get_genid(&g0);
		if (r < 0) {
			snprintf(err, sizeof(err), "cannot read the ruleset generation: %s",
				 strerror(-r));
			break;
		}
		r = run_nft(&listing, err, sizeof(err));
		if (r < 0) {
			nfo_buf_free(&listing);
			break;
		}
		r = nfo_nft_get_genid(&g1);
		if (r < 0 || g1 != g0) {
			nfo_buf_free(&listing);
			snprintf(err, sizeof(err), "the ruleset kept changing while it was listed");
			continue;
		}
		n = nfo_ruletext_from_listing(listing.s ? listing.s : "", listing.len, &rules);
		nfo_buf_free(&listing);
		if (n < 0) {
			nfo_buf_free(&rules);
			snprintf(err, sizeof(err), "cannot parse the output of nft list ruleset");
			break;
		}
		nfo_buf_printf(out, "genid %u\n", g0);
		if (rules.len)
			nfo_buf_put(out, rules.s, rules.len);
		nfo_buf_free(&rules);
		return;
	}
	nfo_buf_printf(out, "note\t%s\n", err);
}

/* ---- daemon: the texts a client sent --------------------------------------------- */

static int add_text(struct nfo_ruletexts *t, const char *key, const char *text, size_t len)
{
	char *dup;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		char **nt = realloc(t->texts, cap * sizeof(*nt));

		if (!nt)
			return -ENOMEM;
		t->texts = nt;
		t->cap = cap;
	}
	dup = strndup(text, len);
	if (!dup)
		return -ENOMEM;
	if (nfo_strmap_put(&t->index, key, (uint32_t)t->n) < 0) {
		free(dup);
		return -ENOMEM;
	}
	t->texts[t->n++] = dup;
	return 0;
}

/* The n-th tab-separated field of a line [p, end): start and length. */
static bool field(const char *p, const char *end, int idx, const char **f, size_t *fl)
{
	for (int k = 0; k < idx; k++) {
		const char *tab = memchr(p, '\t', (size_t)(end - p));

		if (!tab)
			return false;
		p = tab + 1;
	}
	*f = p;
	{
		const char *tab = memchr(p, '\t', (size_t)(end - p));

		*fl = (size_t)((tab ? tab : end) - p);
	}
	return true;
}

int nfo_ruletexts_parse(struct nfo_ruletexts *t, const char *body, size_t len)
{
	const char *end = body + len;

	while (body < end) {
		const char *nl = memchr(body, '\n', (size_t)(end - body));
		const char *le = nl ? nl : end, *f[4];
		size_t fl[4];
		char key[600];
		int r;

		if (le - body > 6 && !memcmp(body, "genid ", 6)) {
			char num[16];
			size_t nl2 = (size_t)(le - body - 6);
			char *e;
			unsigned long v;

			if (nl2 >= sizeof(num))
				return -EINVAL;
			memcpy(num, body + 6, nl2);
			num[nl2] = '\0';
			errno = 0;
			v = strtoul(num, &e, 10);
			if (*e || errno || v > UINT32_MAX)
				return -EINVAL;
			t->genid = (uint32_t)v;
			t->have_genid = true;
		} else if (le - body > 5 && !memcmp(body, "note\t", 5)) {
			free(t->note);
			t->note = strndup(body + 5, (size_t)(le - body - 5));
			if (!t->note)
				return -ENOMEM;
		} else if (le - body > 5 && !memcmp(body, "rule\t", 5)) {
			for (int k = 0; k < 4; k++)
				if (!field(body + 5, le, k, &f[k], &fl[k]))
					return -EINVAL;
			/* the text is the rest of the line, tabs and all */
			fl[3] = (size_t)(le - f[3]);
			if ((size_t)snprintf(key, sizeof(key), "%.*s %.*s %.*s", (int)fl[0], f[0],
					     (int)fl[1], f[1], (int)fl[2], f[2]) >= sizeof(key))
				return -EINVAL;
			r = add_text(t, key, f[3], fl[3]);
			if (r < 0)
				return r;
		} else if (le != body) {
			return -EINVAL;
		}
		body = nl ? nl + 1 : end;
	}
	return 0;
}

const char *nfo_ruletexts_get(const struct nfo_ruletexts *t, const char *family,
			      const char *table, uint64_t handle)
{
	char key[600];
	uint32_t i;

	if (!t || !t->n)
		return NULL;
	if ((size_t)snprintf(key, sizeof(key), "%s %s %llu", family, table,
			     (unsigned long long)handle) >= sizeof(key))
		return NULL;
	return nfo_strmap_get(&t->index, key, &i) ? t->texts[i] : NULL;
}

void nfo_ruletexts_free(struct nfo_ruletexts *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->texts[i]);
	free(t->texts);
	free(t->note);
	nfo_strmap_clear(&t->index);
	*t = (struct nfo_ruletexts){};
}
