// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload-bench --blocklist: the daemon against a large blocklist that
 * a tool keeps changing (CrowdSec's bouncer, fail2ban, a DROP list script).
 *
 * The ruleset: table inet bl with a set of N addresses and a set of M
 * prefixes (flags interval; /28 for IPv4, /64 for IPv6), both dropped by a
 * prerouting chain, loaded with `nft -f` before the daemon starts; and
 * table inet blprobe, whose prerouting chain at a later priority counts the
 * probe port: what neither nftables nor the fast path dropped.
 *
 * The generator, paced, floods from sources in the sets (stable ones and
 * ones added by the churn more than 10 ms earlier) and sends one frame in
 * PROBE_EVERY to the probe port from sources deleted from the set more than
 * 1 ms earlier; those must all reach blprobe's counter.
 *
 * Figures: `nft -f`'s time, daemon start to live fast path, one element
 * added or deleted (from `nft` returning to status showing a newer
 * generation live, and whether the fast path was off meanwhile), the share
 * of the flood the fast path dropped while `nft -f` batches add and delete
 * elements every 10 ms, the probes dropped, the daemon's RSS and the memory
 * of its BPF maps.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/netfilter.h>

#include "netlink/counters.h"
#include "nft-offload/ctl.h"
#include "nft-offload/json.h"
#include "common/log.h"
#include "common/util.h"

#include "bench.h"
#include "commit.h"

#define BATCH_S 0.01        /* a bouncer's `nft -f` every 10 ms */
#define BANNED_FOR_S 0.010  /* flood sources added this long ago count as banned */
#define UNBANNED_FOR_S 0.001 /* probe sources deleted this long ago */
#define STABLE_ADDRS 512    /* flood sources from the address set, never deleted */
#define STABLE_NETS 512     /* and from the prefix set */
#define RECENT_ADDS 256     /* flood sources among the latest churn adds */
#define PROBES 1024         /* probe sources: the latest deleted */
#define MAX_V4 (1u << 23)   /* 10.0.0.0/9 */
#define MAX_NETS4 (1u << 18) /* /28s in 100.64.0.0/10 */
#define MAX_CHURN (1u << 22)

/* Kinds of address the bench makes up; each kind its own range. */
enum { A_ELEM, A_NET, A_CHURN, A_ONE };

/*
 * The i-th address of a kind: set elements 10.0.0.0/9 (2001:db8:a::/64),
 * churn adds 10.128.0.0/10 (2001:db8:c::/64), single adds 10.192.0.0/10
 * (2001:db8:d::/64); A_NET: host h of the i-th prefix, 100.64.0.0/10 in
 * /28s (2001:db8:b00::/40 in /64s).
 */
static void bl_addr(int family, int kind, uint32_t i, uint32_t h, uint8_t *ret)
{
	memset(ret, 0, 16);
	if (family == AF_INET) {
		uint32_t a = kind == A_ELEM ? 0x0a000000u + i :
			     kind == A_CHURN ? 0x0a800000u + i :
			     kind == A_ONE ? 0x0ac00000u + i : 0x64400000u + i * 16 + h;

		ret[0] = a >> 24, ret[1] = a >> 16 & 0xff, ret[2] = a >> 8 & 0xff, ret[3] = a & 0xff;
		return;
	}
	ret[0] = 0x20, ret[1] = 0x01, ret[2] = 0x0d, ret[3] = 0xb8;
	if (kind == A_NET) {
		ret[4] = 0x0b;
		ret[5] = i >> 16 & 0xff, ret[6] = i >> 8 & 0xff, ret[7] = i & 0xff;
		ret[15] = (uint8_t)h;
		return;
	}
	ret[5] = kind == A_ELEM ? 0x0a : kind == A_CHURN ? 0x0c : 0x0d;
	ret[12] = i >> 24, ret[13] = i >> 16 & 0xff, ret[14] = i >> 8 & 0xff, ret[15] = i & 0xff;
}

static void put_addr(FILE *f, int family, int kind, uint32_t i)
{
	uint8_t a[16];
	char s[INET6_ADDRSTRLEN];

	bl_addr(family, kind, i, 0, a);
	inet_ntop(family, a, s, sizeof(s));
	fputs(s, f);
}

static const char *set_name(int family, bool nets)
{
	return family == AF_INET ? (nets ? "nets" : "v4") : (nets ? "nets6" : "v6");
}

/* The whole ruleset (replacing ours) into path. */
static int ruleset_write(const struct bench_opts *o, const struct bl_result *res, const char *path)
{
	int fam = res->family;
	const char *type = fam == AF_INET ? "ipv4_addr" : "ipv6_addr";
	const char *l3 = fam == AF_INET ? "ip" : "ip6";
	const char *tmo = o->bl_timeout ? "\t\tflags timeout\n\t\ttimeout 1d\n" : "";
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	/* create-then-delete: removes them whether or not they exist, in the
	 * same transaction as the new ones */
	fprintf(f, "table inet bl\ndelete table inet bl\ntable inet blprobe\n"
		   "delete table inet blprobe\ntable inet bl {\n");
	if (res->addrs) {
		fprintf(f, "\tset %s {\n\t\ttype %s\n%s\t\telements = { ", set_name(fam, false), type,
			tmo);
		for (size_t i = 0; i < res->addrs; i++) {
			if (i)
				fputs(i % 8 ? ", " : ",\n\t\t\t", f);
			put_addr(f, fam, A_ELEM, (uint32_t)i);
		}
		fprintf(f, " }\n\t}\n");
	}
	if (res->nets) {
		fprintf(f, "\tset %s {\n\t\ttype %s\n\t\tflags interval%s\n%s\t\telements = { ",
			set_name(fam, true), type, o->bl_timeout ? ", timeout" : "",
			o->bl_timeout ? "\t\ttimeout 1d\n" : "");
		for (size_t i = 0; i < res->nets; i++) {
			if (i)
				fputs(i % 8 ? ", " : ",\n\t\t\t", f);
			put_addr(f, fam, A_NET, (uint32_t)i);
			fputs(fam == AF_INET ? "/28" : "/64", f);
		}
		fprintf(f, " }\n\t}\n");
	}
	fprintf(f, "\tchain pre {\n\t\ttype filter hook prerouting priority -10; policy accept;\n");
	/* the probe port first, with the same sets and verdict: what is
	 * dropped does not change, but the fast path's per-rule counters
	 * (status rules[]) tell probe drops from flood drops */
	if (res->addrs)
		fprintf(f, "\t\tudp dport %d %s saddr @%s counter drop\n", PROBE_PORT, l3,
			set_name(fam, false));
	if (res->nets)
		fprintf(f, "\t\tudp dport %d %s saddr @%s counter drop\n", PROBE_PORT, l3,
			set_name(fam, true));
	if (res->addrs)
		fprintf(f, "\t\t%s saddr @%s counter drop\n", l3, set_name(fam, false));
	if (res->nets)
		fprintf(f, "\t\t%s saddr @%s counter drop\n", l3, set_name(fam, true));
	/* the probe port's counter last: the chain's last rule is read by
	 * position (nfo_nft_rule_counter) */
	fprintf(f, "\t}\n}\ntable inet blprobe {\n\tchain pre {\n"
		   "\t\ttype filter hook prerouting priority 10; policy accept;\n"
		   "\t\tudp dport %d counter\n\t\tudp dport %d counter\n\t}\n}\n", DROP_PORT,
		PROBE_PORT);
	return fclose(f) != 0 ? -errno : 0;
}

/* ---- memory ---------------------------------------------------------------------- */

static uint64_t proc_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	uint64_t v = 0;
	size_t kl = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			v = strtoull(line + kl + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

/* map_id and memlock of a BPF map fd, from /proc/PID/fdinfo/FD
 * (kernel/bpf/syscall.c, bpf_map_show_fdinfo); 0: not a map. */
static uint32_t fdinfo_map(pid_t pid, const char *fd, uint64_t *ret_memlock)
{
	char path[PATH_MAX], line[256];
	uint32_t id = 0;
	uint64_t memlock = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", (int)pid, fd);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "memlock:", 8))
			memlock = strtoull(line + 8, NULL, 10);
		else if (!strncmp(line, "map_id:", 7))
			id = (uint32_t)strtoul(line + 7, NULL, 10);
	}
	if (f)
		fclose(f);
	*ret_memlock = memlock;
	return id;
}

static bool seen(const uint32_t *ids, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/*
 * The memory of the daemon's BPF maps: every map it holds an fd of, and
 * every map its attached program uses (it may keep those only pinned);
 * each counted once, as the kernel charges it (fdinfo's memlock: what
 * `bpftool map show` reports as bytes_memlock).
 */
static int map_memory(struct env *e, uint32_t prog_id, uint64_t *ret_bytes, unsigned *ret_n)
{
	uint32_t ids[1024], prog_maps[256];
	uint64_t sum = 0, ml;
	size_t n = 0;
	char path[64];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo", (int)e->daemon_pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)) && n < ARRAY_SIZE(ids)) {
		uint32_t id;

		if (de->d_name[0] == '.')
			continue;
		id = fdinfo_map(e->daemon_pid, de->d_name, &ml);
		if (!id || seen(ids, n, id))
			continue;
		ids[n++] = id;
		sum += ml;
	}
	closedir(d);
	if (prog_id) {
		struct bpf_prog_info info = {};
		uint32_t len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(prog_id);

		info.nr_map_ids = ARRAY_SIZE(prog_maps);
		info.map_ids = (uint64_t)(uintptr_t)prog_maps;
		if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
			for (uint32_t i = 0; i < info.nr_map_ids && i < ARRAY_SIZE(prog_maps) &&
					     n < ARRAY_SIZE(ids); i++) {
				int mfd;
				char s[16];

				if (seen(ids, n, prog_maps[i]))
					continue;
				mfd = bpf_map_get_fd_by_id(prog_maps[i]);
				if (mfd < 0)
					continue;
				snprintf(s, sizeof(s), "%d", mfd);
				if (fdinfo_map(getpid(), s, &ml)) {
					ids[n++] = prog_maps[i];
					sum += ml;
				}
				close(mfd);
			}
		}
		if (fd >= 0)
			close(fd);
	}
	*ret_bytes = sum;
	*ret_n = (unsigned)n;
	return 0;
}

/*
 * daemon_status, retried while the daemon is busy: today it answers only
 * between updates, which take tens of seconds at a million elements.
 */
static int status_patient(struct env *e, struct dstatus *ret)
{
	double t0 = now_s();
	int r;

	while ((r = daemon_status(e, ret)) < 0 && !bench_interrupted &&
	       now_s() - t0 < e->daemon_wait_s)
		log_info("bench: the daemon has not answered status yet (%s): asking again",
			 strerror(-r));
	return r;
}

/* ---- the daemon's view ------------------------------------------------------------ */

/*
 * Waits until no set is being read any more: the fast path is live before
 * the sets are read whole (stream), and the elements not read yet pass.
 * Returns how long it took.
 */
static int wait_loaded(struct env *e, double *ret_s)
{
	double t0 = now_s();
	int r;

	for (;;) {
		struct nfo_buf b = {};
		bool loading;

		r = nfo_ctl_request(e->daemon_dir, NFO_CTL_STATUS " " NFO_CTL_JSON, NULL, 60000, &b);
		loading = r < 0 || !b.s || strstr(b.s, "\"loading\":true");
		nfo_buf_free(&b);
		if (!loading)
			break;
		if (now_s() - t0 > e->daemon_wait_s)
			return log_error_errno(-ETIMEDOUT, "bench: the sets were still being read "
					       "after %.0f s", e->daemon_wait_s);
		r = sleep_s(0.01);
		if (r < 0)
			return r;
	}
	*ret_s = now_s() - t0;
	return 0;
}

/* What status says of set name's place in the fast path ("maps",
 * "diagram", "not offloaded", "unused"). */
static void set_where(struct env *e, const char *name, char *buf, size_t len)
{
	struct nfo_buf b = {};
	char pat[64];
	const char *p;

	snprintf(buf, len, "?");
	if (nfo_ctl_request(e->daemon_dir, NFO_CTL_STATUS " " NFO_CTL_JSON, NULL, 60000, &b) < 0)
		goto out;
	snprintf(pat, sizeof(pat), "\"name\":\"%s\"", name);
	p = b.s ? strstr(b.s, "\"sets\":") : NULL;
	p = p ? strstr(p, pat) : NULL;
	p = p ? json_at(p, "fast_path") : NULL;
	if (p && *p == '"')
		snprintf(buf, len, "%.*s", (int)strcspn(p + 1, "\""), p + 1);
out:
	nfo_buf_free(&b);
}

/*
 * Waits until status shows a generation newer than s0's live (and no
 * added element waiting for its expiry), counting
 * from t_ret (`nft` returned); notes whether it saw the fast path off.
 */
static int wait_live(struct env *e, const struct dstatus *s0, double t_ret, double *ret_ms,
		     bool *off_seen, struct dstatus *ret)
{
	struct dstatus s;
	int r;

	for (;;) {
		r = daemon_status(e, &s);
		if (r == 0) {
			if (!s.enabled)
				*off_seen = true;
			/* with the elements added to a set with timeouts live:
			 * their expiries answered */
			if (s.generation > s0->generation && s.updates > s0->updates && s.enabled &&
			    !s.expiry_pending)
				break;
		}
		if (now_s() - t_ret > e->daemon_wait_s)
			return log_error_errno(-ETIMEDOUT, "bench: the change was not live within "
					       "%.0f s of nft returning", e->daemon_wait_s);
		r = sleep_s(0.001);
		if (r < 0)
			return r;
	}
	*ret_ms = (now_s() - t_ret) * 1e3;
	*ret = s;
	return 0;
}

/* `nft add|delete element inet bl SET { ADDR }`, then wait_live. */
static int one_element(struct env *e, struct bl_result *res, bool add, uint32_t i, double *ret_ms)
{
	char addr[INET6_ADDRSTRLEN], elem[INET6_ADDRSTRLEN + 4];
	uint8_t a[16];
	struct dstatus s0, s;
	double t_ret;
	int r;

	r = status_patient(e, &s0);
	if (r < 0)
		return log_error_errno(r, "bench: status: %s", strerror(-r));
	bl_addr(res->family, A_ONE, i, 0, a);
	inet_ntop(res->family, a, addr, sizeof(addr));
	snprintf(elem, sizeof(elem), "{ %s }", addr);
	r = RUN(e, e->rx_ns, NULL, "nft", add ? "add" : "delete", "element", "inet", "bl",
		set_name(res->family, false), elem);
	t_ret = now_s();
	if (r < 0)
		return r;
	r = wait_live(e, &s0, t_ret, ret_ms, &res->upd_off_seen, &s);
	if (r < 0)
		return r;
	log_info("bench: IPv%d: element %s %s: live %.1f ms after nft returned%s",
		 res->family == AF_INET ? 4 : 6, addr, add ? "added" : "deleted", *ret_ms,
		 res->upd_off_seen ? " (fast path seen off)" : "");
	return 0;
}

static int single_updates(struct env *e, struct bl_result *res)
{
	struct dstatus s0, s1;
	int r;

	r = status_patient(e, &s0);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < e->o->runs; i++) {
		r = sleep_s(0.2);
		if (r == 0)
			r = one_element(e, res, true, i, &res->add_ms[res->nadd]);
		if (r < 0)
			return r;
		res->nadd++;
		r = sleep_s(0.2);
		if (r == 0)
			r = one_element(e, res, false, i, &res->del_ms[res->ndel]);
		if (r < 0)
			return r;
		res->ndel++;
	}
	r = status_patient(e, &s1);
	if (r < 0)
		return r;
	/* no probes here: every frame the fast path ran on is the flood's */
	res->upd_sent = (s1.dropped + s1.passed) - (s0.dropped + s0.passed);
	res->upd_dropped = s1.dropped - s0.dropped;
	res->upd_passed_off = s1.passed_disabled - s0.passed_disabled;
	return 0;
}

/*
 * Frames the veth lost between the generator and the receiver's XDP
 * program: its ring full (xdp_xmit_errors) or dropped on receive
 * (rx_queue_N_drops; not xdp_drops, which are the fast path's), on both
 * ends; and in ret_xdp the frames the receiving end ran its XDP program on
 * (rx_queue_N_xdp_packets: every frame taken off its ring while a program
 * is attached) (drivers/net/veth.c, veth_get_ethtool_stats).
 */
static uint64_t veth_lost(struct env *e, uint64_t *ret_xdp)
{
	uint64_t sum = 0, xdp = 0;

	for (int i = 0; i < 2; i++) {
		struct nfo_buf out = {};

		if (RUN(e, i ? e->rx_ns : e->tx_ns, &out, "ethtool", "-S", i ? e->if_rx : e->if_tx) == 0 &&
		    out.s) {
			for (char *l = strtok(out.s, "\n"); l; l = strtok(NULL, "\n")) {
				char *colon = strchr(l, ':');

				if (!colon)
					continue;
				if (strstr(l, "xdp_xmit_errors") ||
				    (strstr(l, "_drops") && !strstr(l, "xdp_drops")))
					sum += strtoull(colon + 1, NULL, 10);
				else if (i && strstr(l, "rx_queue_") && strstr(l, "_xdp_packets"))
					xdp += strtoull(colon + 1, NULL, 10);
			}
		}
		nfo_buf_free(&out);
	}
	if (ret_xdp)
		*ret_xdp = xdp;
	return sum;
}

/*
 * Everything the churn's accounting needs, read at one moment: what the
 * generator sent, what the veth lost and ran XDP on, the fast path's own
 * totals and its per-rule drops in bl/pre (the probe rules come first, see
 * ruleset_write), nftables' counters of the same rules (what it dropped of
 * what the fast path passed) and blprobe's (what neither dropped).
 */
struct blcount {
	uint64_t sent, probe_sent;
	uint64_t veth_lost, xdp_packets;
	uint64_t fp_dropped, fp_passed, fp_passed_off;
	uint64_t fp_probe_drops, fp_flood_drops;
	uint64_t fp_flood_by[2]; /* of those: by the rule of the address set, the prefix set */
	uint64_t nft_probe_drops, probe_seen;
	uint64_t nft_flood_drops, flood_seen; /* the flood the fast path passed */
	uint64_t wd_trips;       /* the watchdog turned the fast path off */
};

static int bl_count(struct env *e, const struct bl_result *res, struct blcount *ret)
{
	unsigned nprobe = !!res->addrs + !!res->nets, k = 0;
	uint64_t handles[4] = {}, flood_seen_handle = 0;
	struct nfo_nft_rule_counter c;
	struct nfo_buf b = {};
	struct blcount x = {};
	const char *p, *end, *t;
	int r;

	/* ethtool first (a process of its own): the generator's count and the
	 * fast path's totals as close together as can be */
	x.veth_lost = veth_lost(e, &x.xdp_packets);
	x.sent = gen_sent(e);
	x.probe_sent = gen_probe_sent(e);
	r = nfo_ctl_request(e->daemon_dir, NFO_CTL_STATUS " " NFO_CTL_JSON, NULL,
			    e->status_timeout_ms ? e->status_timeout_ms : 10000, &b);
	if (r < 0)
		goto out;
	r = -EBADMSG;
	t = b.s ? json_at(b.s, "totals") : NULL;
	if (json_u64(t, "dropped", &x.fp_dropped) < 0 || json_u64(t, "passed", &x.fp_passed) < 0)
		goto out;
	(void)json_u64(t, "fast_path_disabled", &x.fp_passed_off);
	(void)json_u64(json_at(b.s, "watchdog"), "trips", &x.wd_trips);
	/* rules[] comes before sets[]; its objects are flat */
	p = json_at(b.s, "rules");
	end = p ? json_at(p, "sets") : NULL;
	if (!p || !end)
		goto out;
	while ((p = json_at(p, "family")) && p < end) {
		const char *tb = json_at(p, "table"), *ch = json_at(p, "chain");
		uint64_t handle, packets;

		if (!tb || !ch || json_u64(p, "handle", &handle) < 0 ||
		    json_u64(p, "packets", &packets) < 0)
			goto out;
		if (!strncmp(tb, "\"blprobe\"", 9) && !flood_seen_handle)
			flood_seen_handle = handle;
		if (strncmp(tb, "\"bl\"", 4) || strncmp(ch, "\"pre\"", 5) || k == 2 * nprobe)
			continue;
		handles[k] = handle;
		if (k < nprobe) {
			x.fp_probe_drops += packets;
		} else {
			x.fp_flood_drops += packets;
			x.fp_flood_by[res->addrs && k == nprobe ? 0 : 1] += packets;
		}
		k++;
	}
	if (k != nprobe * 2 || !flood_seen_handle)
		goto out;
	for (unsigned i = 0; i < k; i++) {
		r = nfo_nft_rule_counter(e->nl, NFPROTO_INET, "bl", "pre", handles[i], &c);
		if (r < 0)
			goto out;
		*(i < nprobe ? &x.nft_probe_drops : &x.nft_flood_drops) += c.packets;
	}
	r = nfo_nft_rule_counter(e->nl, NFPROTO_INET, "blprobe", "pre", flood_seen_handle, &c);
	if (r < 0)
		goto out;
	x.flood_seen = c.packets;
	r = nfo_nft_rule_counter(e->nl, NFPROTO_INET, "blprobe", "pre", 0, &c);
	if (r < 0)
		goto out;
	x.probe_seen = c.packets;
	*ret = x;
out:
	nfo_buf_free(&b);
	return r;
}

/* ---- churn ------------------------------------------------------------------------ */

struct churn {
	int family;
	size_t addrs;
	uint32_t init_deletable; /* set elements 0..this-1 go first, then churn adds */
	uint64_t adds, dels;     /* so far */
	/* the adds and deletes of recent batches, with the time nft returned */
	struct stamp {
		uint32_t add0, nadd;  /* churn adds add0.. */
		uint64_t del0;
		uint32_t ndel;        /* deletes del0.. (see del_addr) */
		double t;
	} *log;
	size_t nlog;
	uint8_t (*stable)[16];
	size_t nstable;
	uint8_t (*srcs)[16];
};

/* The d-th element the churn deletes: the set's own first, oldest first,
 * then the churn's adds, oldest first. */
static void del_addr(const struct churn *c, uint64_t d, uint8_t *ret)
{
	if (d < c->init_deletable)
		bl_addr(c->family, A_ELEM, (uint32_t)d, 0, ret);
	else
		bl_addr(c->family, A_CHURN, (uint32_t)(d - c->init_deletable), 0, ret);
}

static void put_raw(FILE *f, int family, const uint8_t *a)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(family, a, s, sizeof(s));
	fputs(s, f);
}

/* One batch file: the next n churn adds, then the next n deletes. */
static int batch_write(const struct bench_opts *o, struct churn *c, const char *path, uint32_t n)
{
	const char *set = set_name(c->family, false);
	uint8_t a[16];
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	fprintf(f, "add element inet bl %s { ", set);
	for (uint32_t i = 0; i < n; i++) {
		bl_addr(c->family, A_CHURN, (uint32_t)c->adds + i, 0, a);
		fputs(i ? ", " : "", f);
		put_raw(f, c->family, a);
		if (o->bl_timeout)
			fputs(" timeout 4h", f);
	}
	fprintf(f, " }\ndelete element inet bl %s { ", set);
	for (uint32_t i = 0; i < n; i++) {
		del_addr(c, c->dels + i, a);
		fputs(i ? ", " : "", f);
		put_raw(f, c->family, a);
	}
	fprintf(f, " }\n");
	return fclose(f) != 0 ? -errno : 0;
}

/*
 * Points the generator at the sources of now: the flood from the stable
 * sources and the latest churn adds banned BANNED_FOR_S ago (unless the
 * coming batch of next deletes or the churn of the second after it deletes
 * them), the probes from the latest deleted UNBANNED_FOR_S ago. A source
 * counts as banned (unbanned) from the moment the `nft -f` that added
 * (deleted) it returned.
 */
static void publish(struct env *e, struct churn *c, double rate, uint32_t next)
{
	double now = now_s();
	size_t nf = c->nstable, np = 0;
	uint8_t probes[PROBES][16];

	memcpy(c->srcs, c->stable, c->nstable * sizeof(*c->stable));
	for (size_t k = c->nlog; k-- > 0;) {
		const struct stamp *b = &c->log[k];
		/* deleted by the coming batch or within a second after it */
		uint64_t soon = c->dels + next + (uint64_t)rate;

		if (now - b->t < UNBANNED_FOR_S)
			continue;
		for (uint32_t i = b->nadd; i-- > 0 && nf < c->nstable + RECENT_ADDS;) {
			uint64_t as_del = (uint64_t)c->init_deletable + b->add0 + i;

			if (now - b->t >= BANNED_FOR_S && as_del >= soon)
				bl_addr(c->family, A_CHURN, b->add0 + i, 0, c->srcs[nf++]);
		}
		for (uint32_t i = b->ndel; i-- > 0 && np < PROBES;)
			del_addr(c, b->del0 + i, probes[np++]);
	}
	gen_srcs_set(e, false, (const uint8_t(*)[16])c->srcs, nf);
	gen_srcs_set(e, true, (const uint8_t(*)[16])probes, np);
}

/*
 * The churn's figures from two readings. Exact, frame by frame: the fast
 * path ran on fp_seen frames (its own totals; the rest of what was sent the
 * veth lost); of each stream that reached it, it dropped what its counters
 * of that stream's rules say, and nftables' counters of the same rules and
 * blprobe's say what became of the rest (nothing drops between XDP_PASS
 * and prerouting). What else it saw is not the generator's (IPv6 neighbour
 * discovery and the like).
 */
static void bl_account(struct bl_result *res, const struct blcount *a, const struct blcount *b)
{
	uint64_t seen = (b->fp_dropped + b->fp_passed) - (a->fp_dropped + a->fp_passed);

	res->flood_sent = (b->sent - b->probe_sent) - (a->sent - a->probe_sent);
	res->probe_sent = b->probe_sent - a->probe_sent;
	res->fp_seen = seen;
	res->xdp_packets = b->xdp_packets - a->xdp_packets;
	res->veth_lost = b->veth_lost - a->veth_lost;
	res->passed = b->fp_passed - a->fp_passed;
	res->passed_off = b->fp_passed_off - a->fp_passed_off;
	res->wd_trips = b->wd_trips - a->wd_trips;
	res->probe_fp_dropped = b->fp_probe_drops - a->fp_probe_drops;
	res->probe_nft_dropped = b->nft_probe_drops - a->nft_probe_drops;
	res->probe_seen = b->probe_seen - a->probe_seen;
	res->probe_reached = res->probe_fp_dropped + res->probe_nft_dropped + res->probe_seen;
	res->flood_dropped = b->fp_flood_drops - a->fp_flood_drops;
	res->flood_nft_dropped = b->nft_flood_drops - a->nft_flood_drops;
	res->flood_seen = b->flood_seen - a->flood_seen;
	res->flood_reached = res->flood_dropped + res->flood_nft_dropped + res->flood_seen;
	for (int i = 0; i < 2; i++)
		res->flood_dropped_by[i] = b->fp_flood_by[i] - a->fp_flood_by[i];
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static long file_size(const char *path)
{
	FILE *f = fopen(path, "re");
	long n = -1;

	if (f && fseek(f, 0, SEEK_END) == 0)
		n = ftell(f);
	if (f)
		fclose(f);
	return n;
}

/*
 * Where the daemon's time went per element update during the churn: its
 * log lines from offset off on (daemon-update.c: total from the first
 * notification read to live, then queued, model (GETSETELEM included),
 * maps); and how often it lost notifications or read a set again.
 */
static void daemon_phases(struct env *e, long off, struct bl_result *res)
{
	double v[6][4096], a[4][4096];
	size_t n = 0, na = 0;
	char line[1024];
	FILE *f = fopen(e->daemon_log, "re");

	if (!f || off < 0 || fseek(f, off, SEEK_SET) < 0)
		goto out;
	while (fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "updated in place:");
		double t[6];

		if (strstr(line, "notifications were lost"))
			res->d_lost++;
		if (strstr(line, "set(s) read"))
			res->d_rereads++;
		if (p && strstr(p, "expiries of set ")) {
			/* the adds of a set with timeouts, live with their answer */
			p = strstr(p, " map entries, ");
			if (p && na < ARRAY_SIZE(a[0]) &&
			    sscanf(p, " map entries, %lf ms after the notification (asked after %lf, "
				      "GETSETELEM %lf, maps %lf)", &t[0], &t[1], &t[2], &t[3]) == 4) {
				for (int k = 0; k < 4; k++)
					a[k][na] = t[k];
				na++;
			}
			continue;
		}
		p = p ? strstr(p, " map entries, ") : NULL;
		if (!p || n == ARRAY_SIZE(v[0]) ||
		    sscanf(p, " map entries, %lf ms (queued %lf, model %lf of which GETSETELEM %lf, "
			      "%lf of it on the CPU, maps %lf)", &t[0], &t[1], &t[2], &t[3], &t[5],
			   &t[4]) != 6)
			continue;
		for (int k = 0; k < 6; k++)
			v[k][n] = t[k];
		n++;
	}
	res->d_updates = n;
	for (int k = 0; n && k < 6; k++) {
		qsort(v[k], n, sizeof(double), cmp_double);
		res->d_med[k] = v[k][n / 2];
		res->d_max[k] = v[k][n - 1];
	}
	res->a_updates = na;
	for (int k = 0; na && k < 4; k++) {
		qsort(a[k], na, sizeof(double), cmp_double);
		res->a_med[k] = a[k][na / 2];
		res->a_max[k] = a[k][na - 1];
	}
out:
	if (f)
		fclose(f);
}

static int churn_run(struct env *e, struct bl_result *res, struct churn *c)
{
	const struct bench_opts *o = e->o;
	double rate = o->bl_churn, t0, dur = o->duration;
	size_t maxb = (size_t)(dur / BATCH_S) + 2, nb = 0;
	_cleanup_free_ double *bms = calloc(maxb, sizeof(*bms));
	struct blcount b0, b1;
	struct dstatus s0, s1;
	char path[PATH_MAX];
	long log_off;
	int r;

	c->log = calloc(maxb, sizeof(*c->log));
	if (!bms || !c->log)
		return -ENOMEM;
	if ((uint64_t)(rate * dur) + 1 >= MAX_CHURN)
		return log_error_errno(-EINVAL, "bench: --churn %.0f for %.0f s: more than %u adds",
				       rate, dur, MAX_CHURN);
	snprintf(path, sizeof(path), "%s/batch.nft", e->tmp);
	r = status_patient(e, &s0);
	if (r == 0)
		r = bl_count(e, res, &b0);
	if (r < 0)
		return log_error_errno(r, "bench: reading the counters: %s", strerror(-r));
	log_off = file_size(e->daemon_log);
	t0 = now_s();
	/* every 10 ms, or as soon as the previous `nft -f` returned if it took
	 * longer, a batch of what is due by now (a bouncer batches what came
	 * in meanwhile) */
	for (uint64_t k = 0;; k++) {
		double ts = t0 + (double)k * BATCH_S, tb, now;
		uint64_t want;
		uint32_t n;

		if (now_s() < ts && (r = sleep_s(ts - now_s())) < 0)
			return r;
		now = now_s();
		if (now - t0 >= dur || nb == maxb)
			break;
		if (now > ts + BATCH_S)
			k = (uint64_t)((now - t0) / BATCH_S);
		want = (uint64_t)(rate * (now - t0 + BATCH_S));
		n = (uint32_t)(want - c->adds);
		/* right before the batch: its deletes leave the flood first */
		publish(e, c, rate, n);
		if (!n)
			continue;
		r = batch_write(o, c, path, n);
		if (r < 0)
			return r;
		tb = now_s();
		r = RUN(e, e->rx_ns, NULL, "nft", "-f", path);
		bms[nb] = (now_s() - tb) * 1e3;
		res->batches++;
		if (r < 0) {
			/* its elements are in an unknown state now: stop */
			res->batches_failed++;
			return log_error_errno(r, "bench: a churn batch failed");
		}
		c->log[nb] = (struct stamp){ .add0 = (uint32_t)c->adds, .nadd = n, .del0 = c->dels,
					     .ndel = n, .t = now_s() };
		nb++;
		c->nlog = nb;
		c->adds += n;
		c->dels += n;
	}
	res->churn_s = now_s() - t0;
	/* the flood ends with the churn: the daemon may answer status only
	 * after a long update, and counts what its fast path dropped until
	 * then; the frames sent last need a moment to cross the veth */
	r = gen_stop(e);
	if (r == 0)
		r = sleep_s(0.1);
	if (r < 0)
		return r;
	r = status_patient(e, &s1);
	if (r == 0)
		r = bl_count(e, res, &b1);
	if (r < 0)
		return log_error_errno(r, "bench: status after the churn: %s", strerror(-r));
	res->churn_adds = c->adds;
	res->churn_dels = c->dels;
	res->updates = s1.updates - s0.updates;
	res->set_updates = s1.set_updates - s0.set_updates;
	bl_account(res, &b0, &b1);
	daemon_phases(e, log_off, res);
	if (nb) {
		qsort(bms, nb, sizeof(*bms), cmp_double);
		res->batch_ms_med = bms[nb / 2];
		res->batch_ms_max = bms[nb - 1];
	}
	return 0;
}

/* ---- one family --------------------------------------------------------------------- */

/* IPv6 on the receiving veth, without addresses of its own (no DAD, no
 * address events for the daemon to rebuild on): the probes must reach
 * nftables' prerouting hook (ip6_rcv_core drops on a device with IPv6 off). */
static int ipv6_on(struct env *e)
{
	char path[PATH_MAX];
	int r;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/addr_gen_mode", e->if_rx);
	r = ns_write(e->rx_ns, path, "1");
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", e->if_rx);
	if (r == 0)
		r = ns_write(e->rx_ns, path, "0");
	if (r < 0)
		return log_error_errno(r, "bench: cannot enable IPv6 on %s", e->if_rx);
	return 0;
}

/* The stable flood sources: the last set elements (the churn deletes the
 * first ones first) and hosts spread over the prefixes. */
static int stable_sources(struct churn *c, const struct bl_result *res)
{
	size_t na = res->addrs / 4 < STABLE_ADDRS ? res->addrs / 4 : STABLE_ADDRS;
	size_t nn = res->nets < STABLE_NETS ? res->nets : STABLE_NETS;

	if (res->addrs && !na)
		na = 1;
	c->stable = calloc(na + nn, sizeof(*c->stable));
	c->srcs = calloc(na + nn + RECENT_ADDS, sizeof(*c->srcs));
	if (!c->stable || !c->srcs)
		return -ENOMEM;
	for (size_t i = 0; i < na; i++)
		bl_addr(res->family, A_ELEM, (uint32_t)(res->addrs - 1 - i), 0, c->stable[i]);
	for (size_t i = 0; i < nn; i++)
		bl_addr(res->family, A_NET, (uint32_t)(i * res->nets / nn),
			1 + (uint32_t)(i % 14), c->stable[na + i]);
	c->nstable = na + nn;
	c->init_deletable = (uint32_t)(res->addrs - na);
	return 0;
}

static void churn_free(struct churn *c)
{
	free(c->log);
	free(c->stable);
	free(c->srcs);
}

/* The flood's share the fast path dropped over a second of nothing
 * changing, of the frames it ran on (no probes yet), and what the veth
 * lost before it meanwhile. */
static int idle_share(struct env *e, double *ret, uint64_t *ret_sent, uint64_t *ret_lost)
{
	struct dstatus s0, s1;
	uint64_t f0, f1, seen;
	int r;

	r = status_patient(e, &s0);
	f0 = gen_sent(e);
	if (r == 0)
		r = sleep_s(1);
	if (r == 0)
		r = status_patient(e, &s1);
	f1 = gen_sent(e);
	if (r < 0)
		return r;
	seen = (s1.dropped + s1.passed) - (s0.dropped + s0.passed);
	*ret = seen ? (double)(s1.dropped - s0.dropped) / (double)seen : 0;
	*ret_sent = f1 - f0;
	/* approximate at the edges: frames in flight at either reading */
	*ret_lost = f1 - f0 > seen ? f1 - f0 - seen : 0;
	return 0;
}

static int family_run(struct env *e, struct bl_result *res)
{
	const struct bench_opts *o = e->o;
	struct churn c = { .family = res->family, .addrs = res->addrs };
	size_t elems = res->addrs + res->nets;
	char path[PATH_MAX];
	struct dstatus s;
	double t;
	int r;

	log_info("bench: IPv%d: %zu addresses, %zu prefixes%s", res->family == AF_INET ? 4 : 6,
		 res->addrs, res->nets, o->bl_timeout ? ", flags timeout" : "");
	snprintf(path, sizeof(path), "%s/blocklist.nft", e->tmp);
	r = ruleset_write(o, res, path);
	if (r < 0)
		return log_error_errno(r, "bench: writing %s: %s", path, strerror(-r));
	if (res->family == AF_INET6 && (r = ipv6_on(e)) < 0)
		return r;
	t = now_s();
	r = RUN(e, e->rx_ns, NULL, "nft", "-f", path);
	res->nft_load_s = now_s() - t;
	if (r < 0)
		return r;
	log_info("bench: nft -f: %.2f s", res->nft_load_s);
	/* generous: today the daemon reads and compiles everything */
	e->daemon_wait_s = 120 + 600 * (double)elems / 1e6;
	e->status_timeout_ms = 60000;
	r = daemon_start(e, M_XDP, 0);
	if (r < 0)
		return r;
	res->start_s = e->daemon_live_s;
	log_info("bench: daemon start -> fast path live: %.2f s", res->start_s);
	/* the figures below are of the whole sets */
	r = wait_loaded(e, &res->loaded_s);
	if (r < 0)
		goto out;
	log_info("bench: sets read whole %.2f s later", res->loaded_s);
	if (res->addrs)
		set_where(e, set_name(res->family, false), res->where[0], sizeof(res->where[0]));
	if (res->nets)
		set_where(e, set_name(res->family, true), res->where[1], sizeof(res->where[1]));
	res->rss_kb = proc_kb(e->daemon_pid, "VmRSS");
	r = status_patient(e, &s);
	if (r == 0)
		r = map_memory(e, s.prog_id, &res->map_bytes, &res->nmaps);
	if (r < 0)
		goto out;

	r = stable_sources(&c, res);
	if (r < 0)
		goto out;
	gen_frame(e, res->family);
	gen_srcs_set(e, false, (const uint8_t(*)[16])c.stable, c.nstable);
	e->gen_rate = o->bl_rate;
	/* attaching XDP may have made a new NAPI thread */
	r = pin_napi(e);
	if (r < 0)
		goto out;
	r = gen_start(e);
	if (r < 0)
		goto out;
	r = sleep_s(0.3);
	if (r == 0)
		r = idle_share(e, &res->idle_share, &res->idle_sent, &res->idle_lost);
	if (r == 0 && res->addrs)
		r = single_updates(e, res);
	if (r == 0 && res->addrs && o->bl_churn > 0)
		r = churn_run(e, res, &c);
	if (r == 0)
		r = gen_stop(e);
	else
		(void)gen_stop(e);
	if (r < 0)
		goto out;
	res->rss_after_kb = proc_kb(e->daemon_pid, "VmRSS");
	res->ran = true;
out:
	churn_free(&c);
	gen_srcs_set(e, false, NULL, 0);
	gen_srcs_set(e, true, NULL, 0);
	/* the figures stand even if the daemon does not exit cleanly */
	if (daemon_stop(e) < 0)
		log_warn("bench: the daemon did not stop cleanly");
	return r;
}

int blocklist(struct env *e, struct bl_result *ret_v4, struct bl_result *ret_v6)
{
	const struct bench_opts *o = e->o;
	int r = 0;

	/* the daemon and nft get every CPU; the generator keeps its own */
	if (sched_setaffinity(0, sizeof(e->allowed), &e->allowed) < 0)
		return -errno;
	*ret_v4 = (struct bl_result){ .family = AF_INET, .addrs = o->bl_v4, .nets = o->bl_nets };
	*ret_v6 = (struct bl_result){ .family = AF_INET6, .addrs = o->bl_v6, .nets = o->bl_nets6 };
	if (o->bl_v4 || o->bl_nets)
		r = family_run(e, ret_v4);
	if (r == 0 && (o->bl_v6 || o->bl_nets6))
		r = family_run(e, ret_v6);
	return r;
}

/* ---- output ---------------------------------------------------------------------------- */

static struct summary ms_of(const double *v, unsigned n)
{
	return summarize(v, n);
}

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0;
}

#define ROW "  %-46s "

void bl_print(const struct bench_opts *o, const struct machine *m, const struct bl_result *r,
	      size_t n)
{
	printf("nft-offload-bench --blocklist: %s, %d CPUs, %s, nft-offload %s (%s)\n", m->cpu,
	       m->cpus, m->kernel, NFO_VERSION, NFO_BENCH_COMMIT);
	printf("flood: %.0f frames/s from banned sources (%d stable ones and the latest churn "
	       "adds banned\n>10 ms earlier); 1 frame in %d a probe from sources deleted >1 ms "
	       "earlier\n", o->bl_rate, STABLE_ADDRS + STABLE_NETS, PROBE_EVERY);
	for (size_t i = 0; i < n; i++) {
		const struct bl_result *x = &r[i];
		struct summary a = ms_of(x->add_ms, x->nadd), d = ms_of(x->del_ms, x->ndel);
		size_t elems = x->addrs + x->nets;
		char buf[128];

		if (!x->ran)
			continue;
		printf("\nIPv%d: set %s of %zu addresses, set %s of %zu /%d prefixes (flags "
		       "interval)%s\n", x->family == AF_INET ? 4 : 6, set_name(x->family, false),
		       x->addrs, set_name(x->family, true), x->nets, x->family == AF_INET ? 28 : 64,
		       o->bl_timeout ? ", both flags timeout" : "");
		printf(ROW "%.2f s\n", "nft -f of the ruleset", x->nft_load_s);
		printf(ROW "%.2f s (sets read whole %.2f s later)\n", "daemon start -> fast path live",
		       x->start_s, x->loaded_s);
		printf(ROW "%s: %s, %s: %s\n", "sets in the fast path (status)",
		       set_name(x->family, false), x->addrs ? x->where[0] : "-",
		       set_name(x->family, true), x->nets ? x->where[1] : "-");
		printf(ROW "%.1f%% (of frames it ran on; %" PRIu64 " of %" PRIu64 " sent lost "
		       "before it)\n", "flood dropped in the fast path, no changes",
		       100 * x->idle_share, x->idle_lost, x->idle_sent);
		if (x->nadd) {
			printf(ROW "%.1f ms median (%.1f-%.1f) of %u\n",
			       "one element added: nft returned -> live", a.med, a.min, a.max, x->nadd);
			printf(ROW "%.1f ms median (%.1f-%.1f) of %u\n",
			       "one element deleted: nft returned -> live", d.med, d.min, d.max, x->ndel);
			snprintf(buf, sizeof(buf), "%s; %" PRIu64 " packets passed as \"disabled\"",
				 x->upd_off_seen ? "yes, status showed it" : "not seen in status",
				 x->upd_passed_off);
			printf(ROW "%s\n", "fast path off during those updates", buf);
			printf(ROW "%.1f%% (%" PRIu64 " of %" PRIu64 " it ran on)\n",
			       "flood dropped in the fast path meanwhile", pct(x->upd_dropped, x->upd_sent),
			       x->upd_dropped, x->upd_sent);
		}
		if (x->batches) {
			printf(ROW "%.0f adds + %.0f deletes/s asked; done %.0f + %.0f/s over "
			       "%.1f s\n", "churn: nft -f every 10 ms", o->bl_churn, o->bl_churn,
			       (double)x->churn_adds / x->churn_s, (double)x->churn_dels / x->churn_s,
			       x->churn_s);
			printf(ROW "%" PRIu64 ", nft -f %.1f ms median, %.1f max\n", "  batches",
			       x->batches, x->batch_ms_med, x->batch_ms_max);
			printf(ROW "%" PRIu64 " of %" PRIu64 " sent (%.2f%%; veth: %" PRIu64 " lost, "
			       "%" PRIu64 " run through XDP)\n", "  frames lost before the fast path",
			       x->flood_sent + x->probe_sent - x->fp_seen, x->flood_sent + x->probe_sent,
			       pct(x->flood_sent + x->probe_sent - x->fp_seen, x->flood_sent + x->probe_sent),
			       x->veth_lost, x->xdp_packets);
			printf(ROW "%.2f%% (%" PRIu64 " of %" PRIu64 " that reached it; %" PRIu64 " "
			       "sent)\n", "  flood dropped in the fast path",
			       pct(x->flood_dropped, x->flood_reached), x->flood_dropped,
			       x->flood_reached, x->flood_sent);
			printf(ROW "%" PRIu64 " by @%s, %" PRIu64 " by @%s\n", "    of which",
			       x->flood_dropped_by[0], set_name(x->family, false),
			       x->flood_dropped_by[1], set_name(x->family, true));
			printf(ROW "%" PRIu64 ": nftables dropped %" PRIu64 ", passed %" PRIu64 " "
			       "(%" PRIu64 " of all frames passed as \"disabled\")\n",
			       "  flood the fast path passed to nftables",
			       x->flood_nft_dropped + x->flood_seen, x->flood_nft_dropped, x->flood_seen,
			       x->passed_off);
			printf(ROW "%" PRIu64 "\n", "  other frames the fast path saw",
			       x->fp_seen - x->flood_reached - x->probe_reached);
			printf(ROW "%" PRIu64 " (%" PRIu64 " element-only); watchdog trips %" PRIu64 "\n",
			       "  fast path updates completed", x->updates, x->set_updates, x->wd_trips);
			if (x->d_updates)
				printf(ROW "%.2f ms median, %.2f max (queued %.2f/%.2f, model %.2f/%.2f, "
				       "of it GETSETELEM %.2f/%.2f, %.2f/%.2f on the CPU, maps "
				       "%.2f/%.2f) over %zu; notifications lost %u times, sets read "
				       "again %u times\n", "  daemon: notification read -> live",
				       x->d_med[0], x->d_max[0], x->d_med[1], x->d_max[1], x->d_med[2],
				       x->d_max[2], x->d_med[3], x->d_max[3], x->d_med[5], x->d_max[5],
				       x->d_med[4], x->d_max[4], x->d_updates, x->d_lost, x->d_rereads);
			if (x->a_updates)
				printf(ROW "%.2f ms median, %.2f max (asked after %.2f/%.2f, "
				       "GETSETELEM %.2f/%.2f, maps %.2f/%.2f) over %zu\n",
				       "  daemon: notification read -> adds live", x->a_med[0],
				       x->a_max[0], x->a_med[1], x->a_max[1], x->a_med[2], x->a_max[2],
				       x->a_med[3], x->a_max[3], x->a_updates);
			printf(ROW "%" PRIu64 " of %" PRIu64 " that reached it (%" PRIu64 " sent); "
			       "nftables dropped %" PRIu64 "\n",
			       "  probes (unbanned >1 ms) dropped in the fast path", x->probe_fp_dropped,
			       x->probe_reached, x->probe_sent, x->probe_nft_dropped);
		}
		printf(ROW "%.1f MB (%.1f MB at the end)\n", "daemon RSS (VmRSS)",
		       (double)x->rss_kb / 1024, (double)x->rss_after_kb / 1024);
		printf(ROW "%.1f MB in %u maps, %.0f bytes per element\n",
		       "BPF map memory (memlock)", (double)x->map_bytes / (1 << 20), x->nmaps,
		       elems ? (double)x->map_bytes / (double)elems : 0);
	}
	printf("\nlive: status --json shows a newer generation with the fast path enabled, polled\n"
	       "every ms through the control socket. Banned (unbanned): from the moment the\n"
	       "`nft -f` that added (deleted) the source returned. Churn shares are of the\n"
	       "frames the fast path ran on (its own totals); probe and flood drops apart by\n"
	       "its per-rule counters (the probe port has rules of its own, same sets, same\n"
	       "verdict).\n");
}

static void json_ms(struct nfo_json *j, const char *key, const double *v, unsigned n)
{
	struct summary s = summarize(v, n);

	nfo_json_key(j, key);
	nfo_json_obj_begin(j);
	nfo_json_kdouble(j, "median", s.med);
	nfo_json_kdouble(j, "min", s.min);
	nfo_json_kdouble(j, "max", s.max);
	nfo_json_ku64(j, "n", n);
	nfo_json_obj_end(j);
}

void bl_print_json(const struct bench_opts *o, const struct machine *m,
		   const struct bl_result *r, size_t n)
{
	struct nfo_buf b = {};
	struct nfo_json j;

	nfo_json_init(&j, &b);
	nfo_json_obj_begin(&j);
	nfo_json_kstr(&j, "version", NFO_VERSION);
	nfo_json_kstr(&j, "commit", NFO_BENCH_COMMIT);
	nfo_json_kstr(&j, "nft_offload", o->daemon_bin);
	nfo_json_key(&j, "machine");
	nfo_json_obj_begin(&j);
	nfo_json_kstr(&j, "cpu", m->cpu);
	nfo_json_ki64(&j, "cpus", m->cpus);
	nfo_json_kstr(&j, "kernel", m->kernel);
	nfo_json_obj_end(&j);
	nfo_json_key(&j, "setup");
	nfo_json_obj_begin(&j);
	nfo_json_kdouble(&j, "flood_pps", o->bl_rate);
	nfo_json_kdouble(&j, "churn_per_s", o->bl_churn);
	nfo_json_kdouble(&j, "churn_s", o->duration);
	nfo_json_kbool(&j, "timeout", o->bl_timeout);
	nfo_json_ki64(&j, "probe_every", PROBE_EVERY);
	nfo_json_obj_end(&j);
	nfo_json_key(&j, "blocklist");
	nfo_json_arr_begin(&j);
	for (size_t i = 0; i < n; i++) {
		const struct bl_result *x = &r[i];
		size_t elems = x->addrs + x->nets;

		if (!x->ran)
			continue;
		nfo_json_obj_begin(&j);
		nfo_json_ki64(&j, "ip", x->family == AF_INET ? 4 : 6);
		nfo_json_ku64(&j, "addresses", x->addrs);
		nfo_json_ku64(&j, "prefixes", x->nets);
		nfo_json_kdouble(&j, "nft_load_s", x->nft_load_s);
		nfo_json_kdouble(&j, "start_to_live_s", x->start_s);
		nfo_json_kdouble(&j, "live_to_loaded_s", x->loaded_s);
		nfo_json_kstr(&j, "addresses_fast_path", x->addrs ? x->where[0] : NULL);
		nfo_json_kstr(&j, "prefixes_fast_path", x->nets ? x->where[1] : NULL);
		nfo_json_kdouble(&j, "idle_dropped_share", x->idle_share);
		json_ms(&j, "add_ms", x->add_ms, x->nadd);
		json_ms(&j, "delete_ms", x->del_ms, x->ndel);
		nfo_json_kbool(&j, "updates_fast_path_off_seen", x->upd_off_seen);
		nfo_json_ku64(&j, "updates_passed_disabled", x->upd_passed_off);
		nfo_json_ku64(&j, "updates_flood_sent", x->upd_sent);
		nfo_json_ku64(&j, "updates_flood_dropped", x->upd_dropped);
		nfo_json_key(&j, "churn");
		if (x->batches) {
			nfo_json_obj_begin(&j);
			nfo_json_kdouble(&j, "seconds", x->churn_s);
			nfo_json_ku64(&j, "adds", x->churn_adds);
			nfo_json_ku64(&j, "deletes", x->churn_dels);
			nfo_json_ku64(&j, "batches", x->batches);
			nfo_json_kdouble(&j, "batch_ms_median", x->batch_ms_med);
			nfo_json_kdouble(&j, "batch_ms_max", x->batch_ms_max);
			nfo_json_ku64(&j, "flood_sent", x->flood_sent);
			nfo_json_ku64(&j, "flood_dropped", x->flood_dropped);
			nfo_json_kdouble(&j, "flood_dropped_share",
					 x->flood_reached ? (double)x->flood_dropped / (double)x->flood_reached : 0);
			nfo_json_ku64(&j, "passed", x->passed);
			nfo_json_ku64(&j, "passed_disabled", x->passed_off);
			nfo_json_ku64(&j, "updates", x->updates);
			nfo_json_ku64(&j, "set_updates", x->set_updates);
			nfo_json_ku64(&j, "watchdog_trips", x->wd_trips);
			nfo_json_ku64(&j, "daemon_updates", x->d_updates);
			nfo_json_kdouble(&j, "daemon_update_ms_median", x->d_med[0]);
			nfo_json_kdouble(&j, "daemon_update_ms_max", x->d_max[0]);
			nfo_json_kdouble(&j, "daemon_queued_ms_median", x->d_med[1]);
			nfo_json_kdouble(&j, "daemon_model_ms_median", x->d_med[2]);
			nfo_json_kdouble(&j, "daemon_getsetelem_ms_median", x->d_med[3]);
			nfo_json_kdouble(&j, "daemon_getsetelem_cpu_ms_median", x->d_med[5]);
			nfo_json_kdouble(&j, "daemon_maps_ms_median", x->d_med[4]);
			nfo_json_ku64(&j, "daemon_notifications_lost", x->d_lost);
			nfo_json_ku64(&j, "daemon_answers", x->a_updates);
			nfo_json_kdouble(&j, "daemon_adds_live_ms_median", x->a_med[0]);
			nfo_json_kdouble(&j, "daemon_adds_live_ms_max", x->a_max[0]);
			nfo_json_kdouble(&j, "daemon_answer_getsetelem_ms_median", x->a_med[2]);
			nfo_json_ku64(&j, "daemon_set_rereads", x->d_rereads);
			nfo_json_ku64(&j, "fast_path_seen", x->fp_seen);
			nfo_json_ku64(&j, "xdp_packets", x->xdp_packets);
			nfo_json_ku64(&j, "flood_reached", x->flood_reached);
			nfo_json_ku64(&j, "flood_passed_nft_dropped", x->flood_nft_dropped);
			nfo_json_ku64(&j, "flood_passed_delivered", x->flood_seen);
			nfo_json_ku64(&j, "flood_dropped_addresses", x->flood_dropped_by[0]);
			nfo_json_ku64(&j, "flood_dropped_prefixes", x->flood_dropped_by[1]);
			nfo_json_ku64(&j, "probes_sent", x->probe_sent);
			nfo_json_ku64(&j, "probes_reached", x->probe_reached);
			nfo_json_ku64(&j, "probes_dropped_fast_path", x->probe_fp_dropped);
			nfo_json_ku64(&j, "probes_dropped_nftables", x->probe_nft_dropped);
			nfo_json_ku64(&j, "probes_delivered", x->probe_seen);
			nfo_json_ku64(&j, "veth_lost", x->veth_lost);
			nfo_json_obj_end(&j);
		} else {
			nfo_json_null(&j);
		}
		nfo_json_ku64(&j, "rss_kb", x->rss_kb);
		nfo_json_ku64(&j, "rss_end_kb", x->rss_after_kb);
		nfo_json_ku64(&j, "map_bytes", x->map_bytes);
		nfo_json_ku64(&j, "maps", x->nmaps);
		nfo_json_kdouble(&j, "map_bytes_per_element",
				 elems ? (double)x->map_bytes / (double)elems : 0);
		nfo_json_obj_end(&j);
	}
	nfo_json_arr_end(&j);
	nfo_json_obj_end(&j);
	nfo_buf_put(&b, "\n", 1);
	if (b.s)
		fputs(b.s, stdout);
	nfo_buf_free(&b);
}
