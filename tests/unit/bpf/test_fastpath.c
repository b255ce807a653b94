// SPDX-License-Identifier: GPL-2.0-only
/*
 * BPF_PROG_TEST_RUN tests of the real XDP and TC programs.
 *
 * Each test loads a ruleset with the real nft in a private network namespace,
 * reads it back over netlink, plans it for `lo` and loads a generation with
 * the real loader (nothing is attached), then runs crafted frames through
 * both programs and checks the verdicts, the per-rule counters and the
 * statistics. Expectations follow docs/SEMANTICS.md; where a case
 * depends on what the kernel's nftables does, the kernel function is named.
 *
 * Needs root (unshare, bpffs, BPF programs): without it the run fails.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_addr.h>
#include <linux/netfilter.h>

#include "netlink/nft.h"
#include "netlink/rtnl.h"
#include "nft-offload/clock.h"
#include "nft-offload/loader.h"
#include "nft-offload/plan.h"
#include "nft-offload/import.h"
#include "nft-offload/ruleset.h"
#include "nft-offload/watchdog.h"

/* XDP action values (enum xdp_action) and tcx return codes (enum tcx_action_base,
 * Linux >= 6.6; the uapi headers here predate it). */
#define V_XDP_DROP 1u
#define V_XDP_PASS 2u
#define V_TCX_NEXT ((uint32_t)-1)
#define V_TCX_DROP 2u

#define LO_IFINDEX 1

/* ---- environment: private netns + bpffs ----------------------------------- */

static char bpffs[64];
/* jiffies for set element expiries, as the daemon reads them */
static struct nfo_clock *clk;
static uint64_t margin_j;
static const char *nft_bin = "nft";
static struct nfo_rtnl *rtnl;
static unsigned fixture_seq;

static int lo_up(void)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		r = -errno;
	} else {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			r = -errno;
	}
	close(fd);
	return r;
}

static void env_cleanup(void)
{
	if (bpffs[0]) {
		umount2(bpffs, MNT_DETACH);
		rmdir(bpffs);
		bpffs[0] = '\0';
	}
}

static int read_clock(void *userdata, struct nfo_nft_jiffies *ret)
{
	uint64_t j;
	int r = nfo_clock_jiffies(userdata, &j);

	if (r == 0)
		*ret = (struct nfo_nft_jiffies){ .jiffies = j, .hz = nfo_clock_hz(userdata) };
	return r;
}

static int env_setup(void)
{
	static const char *const nfts[] = { "/usr/sbin/nft", "/sbin/nft", "/usr/local/sbin/nft" };

	if (geteuid() != 0) {
		fprintf(stderr, "test_fastpath: needs root (network namespace, bpffs, BPF programs)\n");
		return -EPERM;
	}
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0) {
		fprintf(stderr, "test_fastpath: unshare: %s\n", strerror(errno));
		return -errno;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		fprintf(stderr, "test_fastpath: making mounts private: %s\n", strerror(errno));
		return -errno;
	}
	snprintf(bpffs, sizeof(bpffs), "/tmp/nfo-bpf-test.XXXXXX");
	if (!mkdtemp(bpffs)) {
		fprintf(stderr, "test_fastpath: mkdtemp: %s\n", strerror(errno));
		bpffs[0] = '\0';
		return -errno;
	}
	if (mount("bpf", bpffs, "bpf", 0, "mode=0700") < 0) {
		int r = -errno;

		fprintf(stderr, "test_fastpath: mounting bpffs: %s\n", strerror(errno));
		rmdir(bpffs);
		bpffs[0] = '\0';
		return r;
	}
	atexit(env_cleanup);
	if (lo_up() < 0) {
		fprintf(stderr, "test_fastpath: bringing lo up failed\n");
		return -EIO;
	}
	for (size_t i = 0; i < sizeof(nfts) / sizeof(nfts[0]); i++)
		if (access(nfts[i], X_OK) == 0) {
			nft_bin = nfts[i];
			break;
		}
	if (nfo_rtnl_new(&rtnl) < 0) {
		fprintf(stderr, "test_fastpath: rtnetlink cache failed\n");
		return -EIO;
	}
	if (nfo_clock_new(&clk) < 0) {
		fprintf(stderr, "test_fastpath: cannot read the kernel's jiffies\n");
		return -EIO;
	}
	nfo_nft_set_clock(read_clock, clk);
	/* the daemon's default: 20 ms */
	margin_j = (20 * nfo_clock_hz(clk) + 999) / 1000;
	if (margin_j < 2)
		margin_j = 2;
	return 0;
}

/* ---- packets ----------------------------------------------------------------- */

#define MAX_FRAME 2048

struct pkt {
	uint8_t b[MAX_FRAME];
	size_t len;
	int l3;        /* 4, 6, 0: not IP */
	size_t l3off;
	size_t nh_off; /* the protocol / next header byte still to fill; 0: none */
	size_t l4off;  /* 0: no transport header to fix up */
	int l4proto;
	bool frag;     /* no transport checksum */
};

static const uint8_t MAC_LO[6] = { 0, 0, 0, 0, 0, 0 };
static const uint8_t MAC_OTHER[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t MAC_BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t MAC_MCAST4[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
static const uint8_t MAC_MCAST6[6] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };

static void put(struct pkt *p, const void *d, size_t n)
{
	assert_true(p->len + n <= MAX_FRAME);
	if (d)
		memcpy(p->b + p->len, d, n);
	else
		memset(p->b + p->len, 0, n);
	p->len += n;
}

static void put8(struct pkt *p, uint8_t v)
{
	put(p, &v, 1);
}

static void put16(struct pkt *p, uint16_t v)
{
	uint16_t be = htons(v);

	put(p, &be, 2);
}

static void put32(struct pkt *p, uint32_t v)
{
	uint32_t be = htonl(v);

	put(p, &be, 4);
}

static void set16(struct pkt *p, size_t off, uint16_t v)
{
	p->b[off] = (uint8_t)(v >> 8);
	p->b[off + 1] = (uint8_t)v;
}

static uint16_t get16(const struct pkt *p, size_t off)
{
	return (uint16_t)(p->b[off] << 8 | p->b[off + 1]);
}

static void set_nh(struct pkt *p, uint8_t proto)
{
	if (p->nh_off) {
		p->b[p->nh_off] = proto;
		p->nh_off = 0;
	}
}

static void pkt_eth(struct pkt *p, const uint8_t *dst, uint16_t type)
{
	static const uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0x02 };

	memset(p, 0, sizeof(*p));
	put(p, dst ? dst : MAC_LO, 6);
	put(p, src, 6);
	put16(p, type);
}

/* An 802.1Q / 802.1ad tag after pkt_eth(p, dst, tpid). */
static void pkt_vlan(struct pkt *p, uint16_t tci, uint16_t inner)
{
	put16(p, tci);
	put16(p, inner);
}

static void addr4(const char *s, uint8_t out[4])
{
	assert_int_equal(inet_pton(AF_INET, s, out), 1);
}

static void addr6(const char *s, uint8_t out[16])
{
	assert_int_equal(inet_pton(AF_INET6, s, out), 1);
}

/* IPv4 header with optlen bytes of options (NOPs, then EOL). */
static void pkt_ip4_opts(struct pkt *p, const char *src, const char *dst, size_t optlen)
{
	uint8_t a[4];

	assert_true(optlen % 4 == 0 && optlen <= 40);
	p->l3 = 4;
	p->l3off = p->len;
	put8(p, (uint8_t)(0x40 | (5 + optlen / 4)));
	put8(p, 0);         /* tos */
	put16(p, 0);        /* tot_len: pkt_finish */
	put16(p, 0x1234);   /* id */
	put16(p, 0);        /* frag_off */
	put8(p, 64);        /* ttl */
	p->nh_off = p->len;
	put8(p, 0);         /* protocol */
	put16(p, 0);        /* checksum */
	addr4(src, a);
	put(p, a, 4);
	addr4(dst, a);
	put(p, a, 4);
	for (size_t i = 0; i < optlen; i++)
		put8(p, i + 1 == optlen ? 0 /* EOL */ : 1 /* NOP */);
}

static void pkt_ip4(struct pkt *p, const char *src, const char *dst)
{
	pkt_ip4_opts(p, src, dst, 0);
}

/* off in bytes (a multiple of 8). */
static void pkt_ip4_frag(struct pkt *p, unsigned off, bool mf, bool df)
{
	set16(p, p->l3off + 6, (uint16_t)((df ? 0x4000 : 0) | (mf ? 0x2000 : 0) | (off / 8)));
	p->frag = mf || off;
}

static void pkt_ip6(struct pkt *p, const char *src, const char *dst)
{
	uint8_t a[16];

	p->l3 = 6;
	p->l3off = p->len;
	put32(p, 0x60000000);
	put16(p, 0);        /* payload_len: pkt_finish */
	p->nh_off = p->len;
	put8(p, 0);         /* next header */
	put8(p, 64);        /* hop limit */
	addr6(src, a);
	put(p, a, 16);
	addr6(dst, a);
	put(p, a, 16);
}

#define EH_HOP 0
#define EH_ROUTING 43
#define EH_FRAG 44
#define EH_AH 51
#define EH_DST 60

/* An IPv6 extension header (not the fragment header: pkt_frag6). */
static void pkt_ext6(struct pkt *p, uint8_t type)
{
	size_t start = p->len;

	set_nh(p, type);
	p->nh_off = start;
	switch (type) {
	case EH_HOP:
	case EH_DST:
		/* 8 bytes: next, hdrlen 0, PadN option of 4 bytes */
		put8(p, 0);
		put8(p, 0);
		put8(p, 1);
		put8(p, 4);
		put32(p, 0);
		break;
	case EH_ROUTING:
		/* type 253 (RFC 4727 experiment), segments left 0 */
		put8(p, 0);
		put8(p, 0);
		put8(p, 253);
		put8(p, 0);
		put32(p, 0);
		break;
	case EH_AH:
		/* 24 bytes: hdrlen 4 => (4 + 2) * 4, 12-byte ICV */
		put8(p, 0);
		put8(p, 4);
		put16(p, 0);
		put32(p, 0x100);    /* SPI */
		put32(p, 1);        /* sequence */
		put(p, NULL, 12);   /* ICV */
		break;
	default:
		fail_msg("pkt_ext6: unsupported extension header %u", type);
	}
}

/* off in bytes (a multiple of 8). */
static void pkt_frag6(struct pkt *p, unsigned off, bool more)
{
	size_t start = p->len;

	set_nh(p, EH_FRAG);
	p->nh_off = start;
	put8(p, 0);
	put8(p, 0);
	put16(p, (uint16_t)(off | (more ? 1 : 0)));
	put32(p, 0xabcd);
	p->frag = true;
}

static void pkt_udp(struct pkt *p, uint16_t sport, uint16_t dport, size_t paylen)
{
	set_nh(p, IPPROTO_UDP);
	p->l4off = p->len;
	p->l4proto = IPPROTO_UDP;
	put16(p, sport);
	put16(p, dport);
	put16(p, 0);
	put16(p, 0);
	for (size_t i = 0; i < paylen; i++)
		put8(p, 0xab);
}

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20
#define TH_ECE 0x40
#define TH_CWR 0x80

static void pkt_tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint8_t flags)
{
	set_nh(p, IPPROTO_TCP);
	p->l4off = p->len;
	p->l4proto = IPPROTO_TCP;
	put16(p, sport);
	put16(p, dport);
	put32(p, 1000);     /* seq */
	put32(p, flags & TH_ACK ? 2000 : 0);
	put8(p, 5 << 4);    /* data offset */
	put8(p, flags);
	put16(p, 65535);    /* window */
	put16(p, 0);        /* checksum */
	put16(p, 0);        /* urgent */
}

static void pkt_icmp(struct pkt *p, uint8_t type, uint8_t code)
{
	uint8_t proto = p->l3 == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;

	set_nh(p, proto);
	p->l4off = p->len;
	p->l4proto = proto;
	put8(p, type);
	put8(p, code);
	put16(p, 0);
	put16(p, 0x77);     /* id */
	put16(p, 1);        /* sequence */
	put(p, NULL, 8);
}

/* Transport bytes the parser must not interpret (fragments). */
static void pkt_l4raw(struct pkt *p, uint8_t proto, const void *d, size_t n)
{
	set_nh(p, proto);
	put(p, d, n);
}

static uint32_t csum_add(uint32_t sum, const uint8_t *d, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(d[i] << 8 | d[i + 1]);
	if (n & 1)
		sum += (uint32_t)d[n - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void ip4_csum(struct pkt *p)
{
	size_t ihl = (p->b[p->l3off] & 0x0f) * 4u;

	set16(p, p->l3off + 10, 0);
	if (p->l3off + ihl <= p->len)
		set16(p, p->l3off + 10, csum_fold(csum_add(0, p->b + p->l3off, ihl)));
}

static void l4_csum(struct pkt *p)
{
	size_t l4len = p->len - p->l4off;
	size_t coff = p->l4proto == IPPROTO_UDP ? 6 : p->l4proto == IPPROTO_TCP ? 16 : 2;
	uint32_t sum = 0;
	uint16_t c;

	set16(p, p->l4off + coff, 0);
	if (p->l4proto != IPPROTO_ICMP) {
		if (p->l3 == 4)
			sum = csum_add(sum, p->b + p->l3off + 12, 8);
		else
			sum = csum_add(sum, p->b + p->l3off + 8, 32);
		sum += (uint32_t)p->l4proto;
		sum += (uint32_t)l4len;
	}
	sum = csum_add(sum, p->b + p->l4off, l4len);
	c = csum_fold(sum);
	if (c == 0 && p->l4proto == IPPROTO_UDP)
		c = 0xffff;
	set16(p, p->l4off + coff, c);
}

/* Lengths and checksums; afterwards pkt_pad() adds Ethernet padding. */
static void pkt_finish(struct pkt *p)
{
	set_nh(p, 59 /* no next header */);
	if (p->l4off && p->l4proto == IPPROTO_UDP)
		set16(p, p->l4off + 4, (uint16_t)(p->len - p->l4off));
	if (p->l3 == 4)
		set16(p, p->l3off + 2, (uint16_t)(p->len - p->l3off));
	else if (p->l3 == 6)
		set16(p, p->l3off + 4, (uint16_t)(p->len - p->l3off - 40));
	if (p->l4off && !p->frag)
		l4_csum(p);
	if (p->l3 == 4)
		ip4_csum(p);
}

static void pkt_pad(struct pkt *p, size_t n)
{
	put(p, NULL, n);
}

static void ip4_set_totlen(struct pkt *p, uint16_t v)
{
	set16(p, p->l3off + 2, v);
	ip4_csum(p);
}

static void ip6_set_plen(struct pkt *p, uint16_t v)
{
	set16(p, p->l3off + 4, v);
}

/* Bytes nftables (and the fast path's counters) account for a frame. */
static uint64_t l3len(const struct pkt *p)
{
	if (p->l3 == 4)
		return get16(p, p->l3off + 2);
	if (p->l3 == 6)
		return 40u + get16(p, p->l3off + 4);
	return p->len - 14;
}

/* Common frames. */
static void udp4(struct pkt *p, const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	pkt_eth(p, NULL, 0x0800);
	pkt_ip4(p, src, dst);
	pkt_udp(p, sport, dport, 8);
	pkt_finish(p);
}

static void tcp4(struct pkt *p, const char *src, const char *dst, uint16_t sport, uint16_t dport,
		 uint8_t flags)
{
	pkt_eth(p, NULL, 0x0800);
	pkt_ip4(p, src, dst);
	pkt_tcp(p, sport, dport, flags);
	pkt_finish(p);
}

static void udp6(struct pkt *p, const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	pkt_eth(p, NULL, 0x86dd);
	pkt_ip6(p, src, dst);
	pkt_udp(p, sport, dport, 8);
	pkt_finish(p);
}

static void arp(struct pkt *p, const uint8_t *dst)
{
	static const uint8_t body[28] = {
		0, 1, 0x08, 0, 6, 4, 0, 1,           /* Ethernet/IPv4, request */
		0x02, 0, 0, 0, 0, 0x02, 10, 0, 0, 2, /* sender */
		0, 0, 0, 0, 0, 0, 127, 0, 0, 1,      /* target */
	};

	pkt_eth(p, dst, 0x0806);
	put(p, body, sizeof(body));
}

/* ---- nftables, plan, loader ---------------------------------------------------- */

struct fx {
	struct nfo_loader *l;
	struct nfo_ruleset *rs;
	struct nfo_plan *plan;
	char **keys;
	uint64_t genid;
	char pin[PATH_MAX];
	bool not_l3;  /* plan lo as a port (a bridge's, say): ingress chains only */
	bool none_up; /* plan with no interface up: no local addresses */
	size_t max_edges; /* 0: large */
	bool plan_error_ok; /* apply even a plan that could not be built */
	bool resets;  /* plan with the local routes and fib rules: TCP resets followed */
};

static void nft_run(const char *text)
{
	char cmd[PATH_MAX + 16];
	FILE *f;
	int st;

	snprintf(cmd, sizeof(cmd), "%s -f -", nft_bin);
	f = popen(cmd, "w");
	if (!f)
		fail_msg("popen %s: %s", cmd, strerror(errno));
	fputs(text, f);
	st = pclose(f);
	if (st != 0)
		fail_msg("nft -f - failed (status %d) on:\n%s", st, text);
}

static void nft_load(const char *ruleset)
{
	size_t n = strlen(ruleset) + 32;
	char *text = malloc(n);

	assert_non_null(text);
	snprintf(text, n, "flush ruleset\n%s", ruleset);
	nft_run(text);
	free(text);
}

/* The daemon's counter keys (nfo_plan_keys), one per plan target. */
static char **make_keys(const struct nfo_plan *p)
{
	char **keys = NULL;

	assert_int_equal(nfo_plan_keys(p, &keys), 0);
	return keys;
}

static struct fx *fx_new(void)
{
	struct nfo_loader_opts o = { .max_slots = 64, .margin_j = margin_j };
	struct fx *f = calloc(1, sizeof(*f));
	char err[256] = "";
	int r;

	assert_non_null(f);
	snprintf(f->pin, sizeof(f->pin), "%s/t%u", bpffs, ++fixture_seq);
	o.pin_dir = f->pin;
	r = nfo_loader_new(&f->l, &o, err, sizeof(err));
	if (r < 0)
		fail_msg("nfo_loader_new: %s (%d)", err, r);
	return f;
}

static void fx_free(struct fx **fp)
{
	struct fx *f = *fp;

	if (!f)
		return;
	nfo_loader_free(&f->l, true);
	if (f->plan)
		nfo_plan_keys_free(f->keys, f->plan->ntargets);
	nfo_plan_free(&f->plan);
	nfo_ruleset_free(&f->rs);
	free(f);
	*fp = NULL;
}

static int teardown_fx(void **state)
{
	struct fx *f = *state;

	fx_free(&f);
	*state = NULL;
	return 0;
}

#define LOC4 "127.0.0.1"       /* local */
#define LOC6 "::1"
#define REM4 "198.51.100.1"    /* not local */
#define REM6 "2001:db8:ff::99"
#define S4 "192.0.2.1"         /* the usual source */
#define S6 "2001:db8::1"

static bool has_addr(const struct nfo_addr *addrs, size_t n, int family, const char *s)
{
	uint8_t a[16] = {};

	assert_int_equal(inet_pton(family, s, a), 1);
	for (size_t i = 0; i < n; i++)
		if (addrs[i].family == family && addrs[i].ifindex == LO_IFINDEX &&
		    !memcmp(addrs[i].addr, a, family == AF_INET ? 4 : 16))
			return true;
	return false;
}

/* Plans the ruleset nftables holds now for lo and makes it the running
 * generation. */
static void fx_apply_current(struct fx *f)
{
	struct nfo_nft_dump *dump = NULL;
	struct nfo_ruleset *rs = NULL;
	struct nfo_link *links = NULL;
	struct nfo_addr *addrs = NULL;
	struct nfo_route *routes = NULL;
	size_t nlinks = 0, naddrs = 0, nup = 0;
	const struct nfo_link *lo;
	struct nfo_plan_iface pif = { .ifindex = LO_IFINDEX, .name = "lo", .l3 = true };
	struct nfo_plan *plan = NULL;
	struct nfo_plan_input in;
	int up[64];
	char **keys;
	char err[256] = "";
	int r;

	r = nfo_nft_read_ruleset(&dump, false, NULL);
	if (r < 0)
		fail_msg("nfo_nft_read_ruleset: %s", strerror(-r));
	r = nfo_ruleset_new(&rs, dump);
	nfo_nft_dump_free(&dump);
	if (r < 0)
		fail_msg("nfo_ruleset_new: %s", strerror(-r));

	assert_int_equal(nfo_rtnl_links(rtnl, &links, &nlinks), 0);
	assert_int_equal(nfo_rtnl_addrs(rtnl, &addrs, &naddrs), 0);
	lo = nfo_link_by_index(links, nlinks, LO_IFINDEX);
	assert_non_null(lo);
	assert_string_equal(lo->name, "lo");
	memcpy(pif.mac, lo->mac, 6);
	assert_memory_equal(pif.mac, MAC_LO, 6);
	/* lo's broadcast address is all zeros, its own: ff:ff:ff:ff:ff:ff is
	 * a multicast address there (eth_type_trans()) */
	memcpy(pif.bcast, lo->bcast, 6);
	assert_memory_equal(pif.bcast, MAC_LO, 6);
	/* The input-chain tests rely on these being local. */
	assert_true(has_addr(addrs, naddrs, AF_INET, LOC4));
	assert_true(has_addr(addrs, naddrs, AF_INET6, LOC6));
	for (size_t i = 0; i < nlinks && nup < 64 && !f->none_up; i++)
		if (links[i].up)
			up[nup++] = links[i].ifindex;
	if (f->not_l3) {
		pif.l3 = false;
		pif.why_not_l3 = "test: a port";
	}

	in = (struct nfo_plan_input){
		.rs = rs,
		.ifaces = &pif,
		.nifaces = 1,
		.addrs = addrs,
		.naddrs = naddrs,
		.up_ifindexes = up,
		.nup = nup,
		.max_edges = f->max_edges ? f->max_edges : 1u << 20,
	};
	if (f->resets) {
		assert_int_equal(nfo_rtnl_local_routes(rtnl, &routes, &in.nroutes), 0);
		in.routes = routes;
		in.have_routes = true;
		in.rules4_plain = nfo_rtnl_rules4_plain(rtnl) > 0;
		assert_true(in.rules4_plain);
		in.rst6_plain = nfo_rtnl_rst6_plain(rtnl) > 0;
		assert_true(in.rst6_plain);
	}
	r = nfo_plan_build(&in, &plan);
	free(links);
	free(addrs);
	free(routes);
	if (r < 0)
		fail_msg("nfo_plan_build: %s", strerror(-r));
	if (plan->error && !f->plan_error_ok)
		fail_msg("plan not built: %s", plan->error);
	assert_int_equal(plan->nroots, 1);

	keys = make_keys(plan);
	r = nfo_loader_apply(f->l, plan, keys, ++f->genid, NULL, 0, err, sizeof(err));
	if (r < 0)
		fail_msg("nfo_loader_apply: %s (%d)", err, r);
	assert_true(nfo_loader_enabled(f->l));

	if (f->plan)
		nfo_plan_keys_free(f->keys, f->plan->ntargets);
	nfo_plan_free(&f->plan);
	nfo_ruleset_free(&f->rs);
	f->plan = plan;
	f->keys = keys;
	f->rs = rs;
}

static void fx_apply(struct fx *f, const char *ruleset)
{
	nft_load(ruleset);
	fx_apply_current(f);
}

static struct fx *fx_with(void **state, const char *ruleset)
{
	struct fx *f = fx_new();

	*state = f;
	fx_apply(f, ruleset);
	return f;
}

static int family_of(const char *fam)
{
	if (!strcmp(fam, "inet"))
		return NFPROTO_INET;
	if (!strcmp(fam, "ip"))
		return NFPROTO_IPV4;
	if (!strcmp(fam, "ip6"))
		return NFPROTO_IPV6;
	if (!strcmp(fam, "netdev"))
		return NFPROTO_NETDEV;
	fail_msg("unknown family %s", fam);
	return -1;
}

static const struct nfo_chain *chain_of(const struct fx *f, const char *fam, const char *table,
					const char *chain)
{
	const struct nfo_chain *c = nfo_ruleset_find_chain(f->rs, family_of(fam), table, chain);

	if (!c)
		fail_msg("chain %s %s %s not in the ruleset", fam, table, chain);
	return c;
}

/* Counter key of the idx-th rule of a chain (0-based, in ruleset order). */
static const char *rk(const struct fx *f, const char *fam, const char *table, const char *chain,
		      size_t idx)
{
	static char ring[8][NFO_SLOT_KEY_LEN];
	static unsigned next;
	const struct nfo_chain *c = chain_of(f, fam, table, chain);
	char *buf = ring[next++ % 8];

	if (idx >= c->nrules)
		fail_msg("chain %s %s %s has %zu rules, not %zu", fam, table, chain, c->nrules,
			 idx + 1);
	assert_int_equal(nfo_rule_key(&c->rules[idx], buf, NFO_SLOT_KEY_LEN), 0);
	return buf;
}

/* Counter key of a chain's policy. */
static const char *pk(const struct fx *f, const char *fam, const char *table, const char *chain)
{
	static char ring[4][NFO_SLOT_KEY_LEN];
	static unsigned next;
	char *buf = ring[next++ % 4];

	chain_of(f, fam, table, chain);
	snprintf(buf, NFO_SLOT_KEY_LEN, "%s %s %s policy", fam, table, chain);
	return buf;
}

static uint64_t handle_of(const struct fx *f, const char *fam, const char *table,
			  const char *chain, size_t idx)
{
	const struct nfo_chain *c = chain_of(f, fam, table, chain);

	assert_true(idx < c->nrules);
	return c->rules[idx].handle;
}

/* ---- running the programs ---------------------------------------------------- */

/* The device frames arrive on. */
static int rx_ifindex = LO_IFINDEX;

static int run_xdp(const struct fx *f, const struct pkt *p, uint32_t *ret)
{
	struct xdp_md ctx = {
		.data = 0,
		.data_end = (uint32_t)p->len,
		.ingress_ifindex = (uint32_t)rx_ifindex,
		.rx_queue_index = 0,
	};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->b, .data_size_in = (uint32_t)p->len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);
	int fd = nfo_loader_prog_fd(f->l, NFO_MODE_XDP);

	assert_true(fd >= 0);
	if (bpf_prog_test_run_opts(fd, &o) < 0)
		return -errno;
	*ret = o.retval;
	return 0;
}

static int run_tc(const struct fx *f, const struct pkt *p, uint32_t *ret)
{
	/* bpf_prog_test_run_skb(): eth_type_trans() on the namespace's
	 * loopback device sets protocol and pkt_type, as on real ingress;
	 * ingress_ifindex becomes skb->skb_iif. */
	struct __sk_buff ctx = { .ingress_ifindex = (uint32_t)rx_ifindex, .ifindex = (uint32_t)rx_ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->b, .data_size_in = (uint32_t)p->len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);
	int fd = nfo_loader_prog_fd(f->l, NFO_MODE_TC);

	assert_true(fd >= 0);
	if (bpf_prog_test_run_opts(fd, &o) < 0)
		return -errno;
	*ret = o.retval;
	return 0;
}

/*
 * bpf_prog_test_run_skb() (net/bpf/test_run.c) of recent kernels, this one
 * included, refuses with EINVAL a frame whose EtherType is IPv4/IPv6 when
 * skb_headlen() is shorter than the IP header. Such frames run through XDP
 * only.
 */
static bool tc_can_run(const struct pkt *p)
{
	uint16_t type = p->len >= 14 ? get16(p, 12) : 0;

	if (type == 0x0800)
		return p->len >= 14 + 20;
	if (type == 0x86dd)
		return p->len >= 14 + 40;
	return true;
}

static const char *stat_name(int s)
{
	static const char *const names[] = {
		[NFO_STAT_DROPPED] = "DROPPED",
		[NFO_STAT_PASS_VERDICT] = "PASS_VERDICT",
		[NFO_STAT_PASS_DISABLED] = "PASS_DISABLED",
		[NFO_STAT_PASS_VLAN] = "PASS_VLAN",
		[NFO_STAT_PASS_MALFORMED] = "PASS_MALFORMED",
		[NFO_STAT_PASS_IPOPTS] = "PASS_IPOPTS",
		[NFO_STAT_PASS_EXTHDRS] = "PASS_EXTHDRS",
		[NFO_STAT_PASS_REJECT] = "PASS_REJECT",
		[NFO_STAT_PASS_FRAGMENT] = "PASS_FRAGMENT",
		[NFO_STAT_PASS_RESET] = "PASS_RESET",
	};

	return s >= 0 && s < _NFO_STAT_MAX ? names[s] : "?";
}

static void hexdump(const struct pkt *p, char *buf, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < p->len && o + 4 < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%02x%s", p->b[i],
				      (i + 1) % 16 == 0 ? "\n    " : " ");
	if (o < len)
		buf[o] = '\0';
}

struct snap {
	struct nfo_counter *c; /* per plan key */
	int *have;
	struct nfo_counter stats[_NFO_STAT_MAX];
};

static void snap_take(const struct fx *f, struct snap *s)
{
	size_t n = f->plan->ntargets;

	s->c = calloc(n ? n : 1, sizeof(*s->c));
	s->have = calloc(n ? n : 1, sizeof(*s->have));
	assert_non_null(s->c);
	assert_non_null(s->have);
	for (size_t i = 0; i < n; i++)
		s->have[i] = nfo_loader_counter(f->l, f->keys[i], &s->c[i]) == 0;
	assert_int_equal(nfo_loader_stats(f->l, s->stats), 0);
}

static void snap_free(struct snap *s)
{
	free(s->c);
	free(s->have);
}

#define FAILP(p, desc, where, fmt, ...)                                                    \
	do {                                                                               \
		char hx_[MAX_FRAME * 3 + 64];                                              \
		hexdump(p, hx_, sizeof(hx_));                                              \
		fail_msg("%s: %s: " fmt "\n  frame (%zu bytes):\n    %s", where, desc, \
			 ##__VA_ARGS__, (p)->len, hx_);                                    \
	} while (0)

/*
 * Runs p through the XDP and then the TC program. drop_key: the counter key
 * that must be credited (the frame must be dropped by both), or NULL: both
 * must pass it, counting it under pass_stat. Checks that exactly the expected
 * counter and statistic moved, by exactly one packet per program run.
 */
static void check(const struct fx *f, const struct pkt *p, const char *drop_key, int pass_stat,
		  const char *desc, const char *where)
{
	struct snap a, b;
	uint32_t xr = 0, tr = 0;
	size_t k = SIZE_MAX;
	bool tc = tc_can_run(p);
	uint64_t runs = tc ? 2 : 1;
	int r;
	int want = drop_key ? NFO_STAT_DROPPED : pass_stat;

	if (drop_key) {
		for (size_t i = 0; i < f->plan->ntargets; i++)
			if (!strcmp(f->keys[i], drop_key))
				k = i;
		if (k == SIZE_MAX)
			FAILP(p, desc, where, "expected a drop credited to \"%s\", but the plan has no such target",
			      drop_key);
	}
	snap_take(f, &a);
	r = run_xdp(f, p, &xr);
	if (r == 0 && tc) {
		r = run_tc(f, p, &tr);
	} else if (r == 0) {
		/* XDP only: the kernel refuses the frame for skb programs (see
		 * tc_can_run()); make sure it really does. */
		int e = run_tc(f, p, &tr);

		if (e != -EINVAL) {
			snap_take(f, &b);
			snap_free(&a);
			snap_free(&b);
			FAILP(p, desc, where, "expected BPF_PROG_TEST_RUN to refuse this frame for tc (EINVAL), got %s",
			      e ? strerror(-e) : "a run");
		}
	}
	snap_take(f, &b);
	if (r < 0) {
		snap_free(&a);
		snap_free(&b);
		FAILP(p, desc, where, "BPF_PROG_TEST_RUN failed: %s", strerror(-r));
	}

	if (xr != (drop_key ? V_XDP_DROP : V_XDP_PASS) ||
	    (tc && tr != (drop_key ? V_TCX_DROP : V_TCX_NEXT))) {
		snap_free(&a);
		snap_free(&b);
		FAILP(p, desc, where, "expected %s, got XDP %s (%u) and TC %s (%d)",
		      drop_key ? "DROP" : "PASS", xr == V_XDP_DROP ? "DROP" : xr == V_XDP_PASS ? "PASS" : "?",
		      xr, !tc ? "not run" : tr == V_TCX_DROP ? "DROP" : tr == V_TCX_NEXT ? "PASS" : "?",
		      (int)tr);
	}
	for (size_t i = 0; i < f->plan->ntargets; i++) {
		uint64_t dp = b.c[i].packets - a.c[i].packets, db = b.c[i].bytes - a.c[i].bytes;
		uint64_t wp = i == k ? runs : 0, wb = i == k ? runs * l3len(p) : 0;

		if (!b.have[i] || dp != wp || db != wb) {
			snap_free(&a);
			snap_free(&b);
			FAILP(p, desc, where, "counter \"%s\" moved by %llu packets / %llu bytes, expected %llu / %llu",
			      f->keys[i], (unsigned long long)dp, (unsigned long long)db,
			      (unsigned long long)wp, (unsigned long long)wb);
		}
	}
	for (int s = 0; s < _NFO_STAT_MAX; s++) {
		uint64_t dp = b.stats[s].packets - a.stats[s].packets;
		uint64_t wp = s == want ? runs : 0;

		if (dp != wp) {
			snap_free(&a);
			snap_free(&b);
			FAILP(p, desc, where, "statistic %s moved by %llu packets, expected %llu",
			      stat_name(s), (unsigned long long)dp, (unsigned long long)wp);
		}
		if (s == NFO_STAT_DROPPED && b.stats[s].bytes - a.stats[s].bytes != (drop_key ? runs * l3len(p) : 0)) {
			snap_free(&a);
			snap_free(&b);
			FAILP(p, desc, where, "statistic DROPPED moved by %llu bytes",
			      (unsigned long long)(b.stats[s].bytes - a.stats[s].bytes));
		}
	}
	snap_free(&a);
	snap_free(&b);
}


#define STR_(x) #x
#define STR(x) STR_(x)
/* One check written out in a test that is a sequence, not a table. */
#define DROP(f, p, key, desc) check(f, p, key, -1, desc, "line " STR(__LINE__))
#define PASS(f, p, desc) check(f, p, NULL, NFO_STAT_PASS_VERDICT, desc, "line " STR(__LINE__))
#define PASS_WHY(f, p, why, desc) check(f, p, NULL, why, desc, "line " STR(__LINE__))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- frames, expectations and cases as data --------------------------------------- */

struct frame;
typedef void frame_fn(struct pkt *p, const struct frame *fr);

/*
 * A frame to build: an Ethernet header (and VLAN tags), an IPv4 or IPv6
 * header (IPv4 options, IPv6 extension headers), then what build adds;
 * fix, if set, changes the finished frame (lengths, truncation, flags).
 */
struct frame {
	frame_fn *build;
	int ip;                /* 4 or 6 */
	const char *src, *dst;
	uint16_t sport, dport; /* ICMP: type and code */
	uint8_t flags;         /* TCP flags */
	const uint8_t *mac;    /* destination MAC; NULL: lo's */
	uint16_t eth;          /* EtherType with tags (the outer TPID), b_eth, b_llc */
	uint16_t vlan[2][2];   /* tags: TCI, then the EtherType after it */
	size_t nvlan;
	size_t opts;           /* IPv4 option bytes */
	const uint8_t *ext;    /* IPv6 extension headers, in order */
	size_t next;
	unsigned off;          /* fragments: offset in bytes, more fragments */
	bool more;
	uint8_t proto;         /* the transport protocol (b_ip, b_frag) */
	const uint8_t *raw;    /* b_ip: transport bytes of protocol proto, as given */
	size_t rawlen;
	size_t pay;            /* UDP payload bytes */
	frame_fn *fix;
	int v;                 /* the fix's value */
};

static void l3(struct pkt *p, const struct frame *fr)
{
	pkt_eth(p, fr->mac, fr->nvlan ? fr->eth : fr->ip == 6 ? 0x86dd : 0x0800);
	for (size_t i = 0; i < fr->nvlan; i++)
		pkt_vlan(p, fr->vlan[i][0], fr->vlan[i][1]);
	if (fr->ip == 6)
		pkt_ip6(p, fr->src, fr->dst);
	else
		pkt_ip4_opts(p, fr->src, fr->dst, fr->opts);
	for (size_t i = 0; i < fr->next; i++) {
		if (fr->ext[i] == EH_FRAG)
			pkt_frag6(p, fr->off, fr->more);
		else
			pkt_ext6(p, fr->ext[i]);
	}
}

/* The network headers, then by proto: UDP with pay bytes of payload, TCP,
 * ICMP (ICMPv6 over IPv6), the raw transport bytes given, or nothing. */
static void b_ip(struct pkt *p, const struct frame *fr)
{
	l3(p, fr);
	if (fr->raw)
		pkt_l4raw(p, fr->proto, fr->raw, fr->rawlen);
	else if (fr->proto == IPPROTO_UDP)
		pkt_udp(p, fr->sport, fr->dport, fr->pay);
	else if (fr->proto == IPPROTO_TCP)
		pkt_tcp(p, fr->sport, fr->dport, fr->flags);
	else if (fr->proto == IPPROTO_ICMP)
		pkt_icmp(p, (uint8_t)fr->sport, (uint8_t)fr->dport);
	pkt_finish(p);
}

/* A fragment. Non-first ones carry bytes that look like a transport header
 * for port 9 / 22: the parser must not read them as one. */
static void b_frag(struct pkt *p, const struct frame *fr)
{
	static const uint8_t fake[16] = { 0, 40, 0, 9, 0, 22, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0 };

	l3(p, fr);
	if (fr->off == 0 && fr->proto == IPPROTO_UDP)
		pkt_udp(p, 40, 9, 16);
	else if (fr->off == 0 && fr->proto == IPPROTO_TCP)
		pkt_tcp(p, 40, 22, TH_SYN);
	else
		pkt_l4raw(p, fr->proto, fake, sizeof(fake));
	if (fr->ip == 4)
		pkt_ip4_frag(p, fr->off, fr->more, false);
	pkt_finish(p);
}

static void b_arp(struct pkt *p, const struct frame *fr)
{
	arp(p, fr->mac ? fr->mac : MAC_LO);
}

/* Neither IP nor ARP: EtherType eth and 46 bytes of zeros. */
static void b_eth(struct pkt *p, const struct frame *fr)
{
	pkt_eth(p, fr->mac, fr->eth);
	put(p, NULL, 46);
}

/* An STP BPDU: 802.3 length (eth), LLC 42 42 03. */
static void b_llc(struct pkt *p, const struct frame *fr)
{
	static const uint8_t llc[3] = { 0x42, 0x42, 0x03 };

	pkt_eth(p, fr->mac, fr->eth);
	put(p, llc, sizeof(llc));
	put(p, NULL, 35);
}

/* Changes to a finished frame. */
static void fix_totlen(struct pkt *p, const struct frame *fr)
{
	ip4_set_totlen(p, (uint16_t)fr->v);
}

static void fix_totlen_past(struct pkt *p, const struct frame *fr)
{
	(void)fr;
	ip4_set_totlen(p, (uint16_t)(p->len - 14 + 1));
}

static void fix_plen(struct pkt *p, const struct frame *fr)
{
	ip6_set_plen(p, (uint16_t)fr->v);
}

static void fix_plen_past(struct pkt *p, const struct frame *fr)
{
	(void)fr;
	ip6_set_plen(p, (uint16_t)(p->len - 54 + 1));
}

/* The first IP header byte (version, IHL); IPv4 checksum recomputed. */
static void fix_ver_ihl4(struct pkt *p, const struct frame *fr)
{
	p->b[14] = (uint8_t)fr->v;
	ip4_csum(p);
}

static void fix_ver6(struct pkt *p, const struct frame *fr)
{
	p->b[14] = (uint8_t)fr->v;
}

static void fix_len(struct pkt *p, const struct frame *fr)
{
	p->len = (size_t)fr->v;
}

/* The hop-by-hop header claims 16 bytes with 8 in the payload. */
static void fix_hop_16(struct pkt *p, const struct frame *fr)
{
	(void)fr;
	p->b[p->l3off + 40] = IPPROTO_UDP;
	p->b[p->l3off + 41] = 1;
}

/* A SYN where TCP keeps its flags: the 14th transport byte. */
static void fix_synbyte(struct pkt *p, const struct frame *fr)
{
	(void)fr;
	p->b[p->l4off + 13] = TH_SYN;
	pkt_finish(p);
}

/* A wrong TCP checksum (conntrack calls such a packet invalid). */
static void fix_tcp_csum(struct pkt *p, const struct frame *fr)
{
	(void)fr;
	p->b[p->l4off + 16] ^= 0x5a;
}

/* v payload bytes after the TCP header. */
static void fix_tcp_payload(struct pkt *p, const struct frame *fr)
{
	put(p, NULL, (size_t)fr->v);
	pkt_finish(p);
}

static void fix_df(struct pkt *p, const struct frame *fr)
{
	(void)fr;
	pkt_ip4_frag(p, 0, false, true);
	ip4_csum(p);
}

/* 32 bytes of padding past an IP length of v bytes of payload. */
static void fix_pad_totlen(struct pkt *p, const struct frame *fr)
{
	pkt_pad(p, 32);
	ip4_set_totlen(p, (uint16_t)(20 + fr->v));
}

static void fix_pad_plen(struct pkt *p, const struct frame *fr)
{
	pkt_pad(p, 32);
	ip6_set_plen(p, (uint16_t)fr->v);
}

static void frame_build(struct pkt *p, const struct frame *fr)
{
	fr->build(p, fr);
	if (fr->fix)
		fr->fix(p, fr);
}

/* Frames; more fields can follow (.mac = ..., .fix = ..., .v = ...). */
#define IP_(v, s, d, pr) .build = b_ip, .ip = v, .src = s, .dst = d, .proto = pr
#define U4(s, d, sp, dp, ...) { IP_(4, s, d, IPPROTO_UDP), .sport = sp, .dport = dp, .pay = 8, __VA_ARGS__ }
#define U6(s, d, sp, dp, ...) { IP_(6, s, d, IPPROTO_UDP), .sport = sp, .dport = dp, .pay = 8, __VA_ARGS__ }
#define T4(s, d, sp, dp, fl, ...) { IP_(4, s, d, IPPROTO_TCP), .sport = sp, .dport = dp, .flags = fl, __VA_ARGS__ }
#define T6(s, d, sp, dp, fl, ...) { IP_(6, s, d, IPPROTO_TCP), .sport = sp, .dport = dp, .flags = fl, __VA_ARGS__ }
/* ICMP or ICMPv6 by the IP version: type and code */
#define I4(s, d, ty, co, ...) { IP_(4, s, d, IPPROTO_ICMP), .sport = ty, .dport = co, __VA_ARGS__ }
#define I6(s, d, ty, co, ...) { IP_(6, s, d, IPPROTO_ICMP), .sport = ty, .dport = co, __VA_ARGS__ }
#define ARP(m) { .build = b_arp, .mac = m }
/* A transport header of protocol pr given as bytes (SCTP: the verification
 * tag and checksum, not computed: nothing here reads them). */
#define RAW4(pr, bytes) { IP_(4, S4, LOC4, pr), .raw = bytes, .rawlen = sizeof(bytes) }
#define EXT(list) .ext = list, .next = sizeof(list)
#define EXTN(list, n) .ext = list, .next = n
/* An IPv6 TCP frame to port dport after the first n extension headers of list. */
#define EXT6_TCP(list, n, dp) T6(S6, LOC6, 40, dp, TH_SYN, EXTN(list, n))
#define FRAG4(s, o, mf, pr) \
	{ .build = b_frag, .ip = 4, .src = s, .dst = LOC4, .off = o, .more = mf, .proto = pr }
#define FRAG6(s, o, mf, pr) \
	{ .build = b_frag, .ip = 6, .src = s, .dst = LOC6, EXT(EH_HOP_FRAG), .off = o, .more = mf, .proto = pr }

static const uint8_t EH_HOP_FRAG[] = { EH_HOP, EH_FRAG };

/*
 * What must happen to a frame, in both programs: dropped with the drop
 * credited to rule `rule` (0-based, -1: the policy) of `chain` ("family
 * table chain"; NULL: the phase's chain), or passed and counted under `why`.
 * Exactly that counter and that statistic move, by one packet per run.
 */
struct expect {
	bool drop;
	const char *chain;
	int rule;
	int why;
};

#define DROPS(i) { .drop = true, .rule = (i) }
#define DROPS_IN(c, i) { .drop = true, .chain = (c), .rule = (i) }
#define POLICY(c) { .drop = true, .chain = (c), .rule = -1 }
#define PASSES { .why = NFO_STAT_PASS_VERDICT }
#define PASSES_WHY(s) { .why = (s) }
#define PASSES_FRAG PASSES_WHY(NFO_STAT_PASS_FRAGMENT)

struct row {
	struct frame fr;
	struct expect x;
	const char *desc;
};

static const char *expect_key(const struct fx *f, const char *def_chain, const struct expect *x)
{
	const char *c = x->chain ? x->chain : def_chain;
	char fam[16], table[32], chain[32];

	if (!x->drop)
		return NULL;
	assert_non_null(c);
	assert_int_equal(sscanf(c, "%15s %31s %31s", fam, table, chain), 3);
	return x->rule < 0 ? pk(f, fam, table, chain) : rk(f, fam, table, chain, (size_t)x->rule);
}

/* The one loop every table goes through. */
static void run_rows(const struct fx *f, const char *name, const char *chain,
		     const struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct row *w = &rows[i];
		char where[128];
		struct pkt p;

		snprintf(where, sizeof(where), "%s, row %zu", name, i);
		frame_build(&p, &w->fr);
		check(f, &p, expect_key(f, chain, &w->x), w->x.why, w->desc, where);
	}
}

/* A ruleset (loaded with the real nft, planned for lo, made the running
 * generation) and the rows to run against it. */
struct phase {
	const char *rules;
	const char *chain; /* default for DROPS() */
	const struct row *rows;
	size_t nrows;
	const struct nfo_reject_cfg *reject; /* the ICMP limits; NULL: off */
};

#define PHASE(r, c, tbl) { .rules = r, .chain = c, .rows = tbl, .nrows = ARRAY_SIZE(tbl) }
#define PHASE_REJECT(r, c, tbl, cfg) \
	{ .rules = r, .chain = c, .rows = tbl, .nrows = ARRAY_SIZE(tbl), .reject = cfg }

struct fp_case {
	const char *name;
	struct phase ph[2]; /* the second, if any, replaces the ruleset */
	bool not_l3;        /* plan lo as a port (a bridge's, say) */
	bool none_up;       /* plan with no interface up */
	bool plan_too_big;  /* max_edges 2: the plan cannot be built */
	bool resets;        /* TCP resets followed (fx.resets) */
};

static void run_case(void **state)
{
	const struct fp_case *c = *state;
	struct fx *f = fx_new();

	*state = f;
	f->not_l3 = c->not_l3;
	f->none_up = c->none_up;
	f->resets = c->resets;
	if (c->plan_too_big) {
		f->max_edges = 2;
		f->plan_error_ok = true;
	}
	for (size_t i = 0; i < ARRAY_SIZE(c->ph) && c->ph[i].rules; i++) {
		fx_apply(f, c->ph[i].rules);
		nfo_loader_set_reject(f->l, c->ph[i].reject ? c->ph[i].reject :
							      &(struct nfo_reject_cfg){});
		if (c->plan_too_big)
			assert_non_null(f->plan->error);
		run_rows(f, c->name, c->ph[i].chain, c->ph[i].rows, c->ph[i].nrows);
	}
}

#define CHAIN_C "inet t c"

/* The usual ruleset: one prerouting chain, inet t c, with these rules. */
#define INET_T_C(rules)                                  \
	"table inet t {\n"                              \
	"  chain c {\n"                                 \
	"    type filter hook prerouting priority 0;\n" \
	rules                                            \
	"  }\n"                                         \
	"}\n"

static const char RULES_L4_SADDR[] = INET_T_C(
	"    meta l4proto udp drop\n"
	"    ip saddr 10.0.0.0/8 drop\n"
	"    ip6 saddr 2001:db8::/32 drop\n");

/* ---- match forms ----------------------------------------------------------------- */

static const struct row rows_meta_l4proto[] = {
	{ U4(S4, LOC4, 1000, 53), DROPS(0), "IPv4 UDP" },
	{ U6(S6, LOC6, 1000, 53), DROPS(0), "IPv6 UDP" },
	{ T4(S4, LOC4, 1000, 53, TH_SYN), PASSES, "IPv4 TCP" },
	{ T6(S6, LOC6, 1000, 53, TH_SYN), PASSES, "IPv6 TCP" },
	{ I4(S4, LOC4, 8, 0), PASSES, "IPv4 ICMP" },
	{ ARP(MAC_LO), PASSES, "ARP" },
};

static const uint8_t EH_ONLY_HOP[] = { EH_HOP };

static const struct row rows_ip_protocol_ip6_nexthdr[] = {
	{ U4(S4, LOC4, 1000, 53), DROPS_IN("ip t4 c", 0), "IPv4 UDP, ip protocol udp" },
	{ T4(S4, LOC4, 1000, 53, TH_SYN), PASSES, "IPv4 TCP" },
	{ U6(S6, LOC6, 1000, 53), DROPS_IN("ip6 t6 c", 0), "IPv6 UDP, no extension header" },
	{ T6(S6, LOC6, 1000, 53, TH_SYN), PASSES, "IPv6 TCP" },
	/* ip6 nexthdr is the fixed header's field: 0 (hop-by-hop) here. */
	{ U6(S6, LOC6, 1000, 53, EXT(EH_ONLY_HOP)), PASSES,
	  "IPv6 hop-by-hop + UDP: ip6 nexthdr is 0" },
};

static const struct row rows_ports_eq_neq[] = {
	{ T4(S4, LOC4, 1234, 22, TH_SYN), DROPS(0), "tcp dport 22" },
	{ T4(S4, LOC4, 1234, 23, TH_SYN), PASSES, "tcp dport 23" },
	{ T4(S4, LOC4, 22, 1234, TH_SYN), PASSES, "tcp sport 22 (not dport)" },
	{ U4(S4, LOC4, 1234, 22), PASSES, "udp dport 22" },
	{ T6(S6, LOC6, 1234, 22, TH_SYN), DROPS(0), "IPv6 tcp dport 22" },
	{ U4(S4, LOC4, 53, 1234), DROPS(1), "udp sport 53" },
	{ U4(S4, LOC4, 54, 1234), PASSES, "udp sport 54" },
	{ U4(S4, LOC4, 1234, 53), PASSES, "udp dport 53 (not sport)" },
	{ T4(S4, LOC4, 53, 1234, TH_SYN), PASSES, "tcp sport 53" },
	{ U6(S6, LOC6, 53, 1234), DROPS(1), "IPv6 udp sport 53" },
	{ T4(S4, LOC4, 7000, 81, TH_SYN), DROPS(2), "tcp sport 7000 dport 81" },
	{ T4(S4, LOC4, 7000, 79, TH_SYN), DROPS(2), "tcp sport 7000 dport 79" },
	{ T4(S4, LOC4, 7000, 80, TH_SYN), PASSES, "tcp sport 7000 dport 80" },
	{ T4(S4, LOC4, 7001, 81, TH_SYN), PASSES, "tcp sport 7001 dport 81" },
};

/* sctp ports (with the l4proto dependency nft adds) and th ports, which nft
 * compiles to a bare load at transport offset 0/2 with no protocol check:
 * they match any protocol whose header is long enough, and none whose
 * header is shorter (the load fails, the rule does not match). */
static const uint8_t sctp9[12] = { 0x9c, 0x40, 0, 9, 0, 0, 0, 1 };
static const uint8_t sctp8[12] = { 0x9c, 0x40, 0, 8, 0, 0, 0, 1 };
static const uint8_t sctp10[12] = { 0x9c, 0x40, 0, 10, 0, 0, 0, 1 };
static const uint8_t sctp11[12] = { 0, 11, 0, 8, 0, 0, 0, 1 };
static const uint8_t raw10[4] = { 0, 0, 0, 10 };
static const uint8_t short10[3] = { 0, 0, 0 };

static const struct row rows_sctp_th[] = {
	{ RAW4(IPPROTO_SCTP, sctp9), DROPS(0), "sctp dport 9" },
	{ RAW4(IPPROTO_SCTP, sctp8), PASSES, "sctp dport 8" },
	{ U4(S4, LOC4, 40000, 9), PASSES, "udp dport 9 (sctp rule)" },
	{ RAW4(IPPROTO_SCTP, sctp10), DROPS(1), "th dport 10 on sctp" },
	{ U4(S4, LOC4, 40000, 10), DROPS(1), "th dport 10 on udp" },
	{ RAW4(253, raw10), DROPS(1), "th dport 10 on protocol 253 (no dependency)" },
	{ RAW4(253, short10), PASSES, "protocol 253, 3 transport bytes: th dport cannot load" },
	{ RAW4(IPPROTO_SCTP, sctp11), PASSES, "sctp sport 11 (th rule limited to tcp, udp)" },
	{ U4(S4, LOC4, 11, 8), DROPS(2), "udp sport 11" },
};

/* TCP headers with options (checksums not computed: nothing here reads
 * them): sport 40, dport 80 or 99, data offset in byte 12, SYN. */
#define TCPH(dp, doff) 0, 40, 0, dp, 0, 0, 0, 1, 0, 0, 0, 0, (doff) << 4, 0x02, 0xff, 0xff, 0, 0, 0, 0
static const uint8_t mss100[24] = { TCPH(80, 6), 2, 4, 0, 100 };
static const uint8_t mss1460[24] = { TCPH(80, 6), 2, 4, 0x05, 0xb4 };
static const uint8_t mss535[24] = { TCPH(80, 6), 2, 4, 0x02, 0x17 };
static const uint8_t mss536[24] = { TCPH(80, 6), 2, 4, 0x02, 0x18 };
/* NOP NOP, then the option */
static const uint8_t nop_mss200[28] = { TCPH(80, 7), 1, 1, 2, 4, 0, 200, 0, 0 };
/* nft walks on past an end-of-options byte */
static const uint8_t eol_mss100[28] = { TCPH(80, 7), 0, 0, 2, 4, 0, 100, 0, 0 };
/* length 3: present, no size (the size load breaks the rule) */
static const uint8_t short_mss[24] = { TCPH(99, 6), 2, 3, 0, 100 };
/* an option of another kind first, then MSS 100 */
static const uint8_t ws_mss100[28] = { TCPH(80, 7), 3, 3, 7, 2, 4, 0, 100, 0 };
/* the option runs past the header: none */
static const uint8_t over_mss[24] = { TCPH(99, 6), 1, 1, 2, 4 };
static const uint8_t no_opts99[20] = { TCPH(99, 5) };
/* a data offset of 8 with only 4 option bytes in the packet: unknown */
static const uint8_t trunc99[24] = { TCPH(99, 8), 2, 4, 0, 100 };
/* a data offset below 5: nft_tcp_header_pointer gives up (missing) */
static const uint8_t doff4_99[20] = { TCPH(99, 4) };

static const struct row rows_tcp_mss[] = {
	{ RAW4(IPPROTO_TCP, mss100), DROPS(0), "MSS 100" },
	{ RAW4(IPPROTO_TCP, mss535), DROPS(0), "MSS 535" },
	{ RAW4(IPPROTO_TCP, mss536), PASSES, "MSS 536" },
	{ RAW4(IPPROTO_TCP, mss1460), PASSES, "MSS 1460" },
	{ RAW4(IPPROTO_TCP, nop_mss200), DROPS(0), "NOP NOP MSS 200" },
	{ RAW4(IPPROTO_TCP, eol_mss100), DROPS(0), "EOL EOL MSS 100: nft walks past EOL" },
	{ RAW4(IPPROTO_TCP, ws_mss100), DROPS(0), "window scale, then MSS 100" },
	{ RAW4(IPPROTO_TCP, short_mss), PASSES, "MSS option of length 3, dport 99: not missing" },
	{ RAW4(IPPROTO_TCP, over_mss), DROPS(1), "MSS option past the header, dport 99: missing" },
	{ RAW4(IPPROTO_TCP, no_opts99), DROPS(1), "no options, dport 99: missing" },
	{ RAW4(IPPROTO_TCP, doff4_99), DROPS(1), "data offset 4, dport 99: missing" },
	{ RAW4(IPPROTO_TCP, trunc99), PASSES, "options past the packet: unknown" },
	{ T4(S4, LOC4, 40, 80, TH_SYN), PASSES, "no options, dport 80" },
	{ U4(S4, LOC4, 40, 98), DROPS(2), "udp dport 98: missing (not TCP)" },
	{ U4(S4, LOC4, 40, 97), PASSES, "udp dport 97" },
};

#define IN_1000_2000(port)                                                                 \
	{ T4(S4, LOC4, 40, port, TH_SYN), DROPS(0), "tcp dport in 1000-2000" },              \
	{ T6(S6, LOC6, 40, port, TH_SYN), DROPS(0), "IPv6 tcp dport in 1000-2000" }
#define OUT_1000_2000(port) { T4(S4, LOC4, 40, port, TH_SYN), PASSES, "tcp dport outside 1000-2000" }
#define IN_ANON(port) { U4(S4, LOC4, 40, port), DROPS(1), "udp dport in anonymous set" }
#define OUT_ANON(port) { U4(S4, LOC4, 40, port), PASSES, "udp dport outside anonymous set" }

static const struct row rows_ports_ranges_sets[] = {
	IN_1000_2000(1000), IN_1000_2000(1001), IN_1000_2000(1023), IN_1000_2000(1024),
	IN_1000_2000(1279), IN_1000_2000(1280), IN_1000_2000(1500), IN_1000_2000(1999),
	IN_1000_2000(2000),
	OUT_1000_2000(0), OUT_1000_2000(999), OUT_1000_2000(2001), OUT_1000_2000(2048),
	OUT_1000_2000(65535),
	{ U4(S4, LOC4, 40, 1500), PASSES, "udp dport 1500 (range is tcp)" },
	IN_ANON(53), IN_ANON(123), IN_ANON(5000), IN_ANON(5005), IN_ANON(5010),
	OUT_ANON(52), OUT_ANON(54), OUT_ANON(122), OUT_ANON(124), OUT_ANON(4999), OUT_ANON(5011),
	OUT_ANON(1000),
	{ T4(S4, LOC4, 40, 53, TH_SYN), PASSES, "tcp dport 53 (set is udp)" },
	{ T4(S4, LOC4, 40, 3306, TH_SYN), DROPS(2), "tcp dport @blocked 3306" },
	{ T6(S6, LOC6, 40, 5432, TH_SYN), DROPS(2), "IPv6 tcp dport @blocked 5432" },
	{ T4(S4, LOC4, 40, 3307, TH_SYN), PASSES, "tcp dport 3307" },
	{ U4(S4, LOC4, 1024, 7), DROPS(3), "udp sport 1024 (!= 1-1023) dport 7" },
	{ U4(S4, LOC4, 0, 7), DROPS(3), "udp sport 0 (!= 1-1023) dport 7" },
	{ U4(S4, LOC4, 1023, 7), PASSES, "udp sport 1023 dport 7" },
	{ U4(S4, LOC4, 1, 7), PASSES, "udp sport 1 dport 7" },
	{ T4(S4, LOC4, 40, 6000, TH_SYN), DROPS(4), "tcp dport @spans 6000" },
	{ T4(S4, LOC4, 40, 6100, TH_SYN), DROPS(4), "tcp dport @spans 6100" },
	{ T4(S4, LOC4, 40, 40001, TH_SYN), DROPS(4), "tcp dport @spans 40001" },
	{ T4(S4, LOC4, 40, 6101, TH_SYN), PASSES, "tcp dport 6101" },
	{ T4(S4, LOC4, 40, 40002, TH_SYN), PASSES, "tcp dport 40002" },
};

static const uint8_t EH_HOP_DST[] = { EH_HOP, EH_DST };

static const struct row rows_icmp_types[] = {
	{ I4(S4, LOC4, 8, 0), DROPS(0), "icmp echo-request" },
	{ I4(S4, LOC4, 0, 0), PASSES, "icmp echo-reply" },
	{ I4(S4, LOC4, 3, 3), DROPS(2), "icmp port unreachable" },
	{ I4(S4, LOC4, 3, 1), PASSES, "icmp host unreachable" },
	/* UDP whose first byte looks like an ICMP echo request type. */
	{ U4(S4, LOC4, 0x0800, 9), PASSES, "udp sport 0x0800" },
	{ I6(S6, LOC6, 128, 0), DROPS(1), "icmpv6 echo-request" },
	{ I6(S6, LOC6, 129, 0), PASSES, "icmpv6 echo-reply" },
	{ I6(S6, LOC6, 8, 0), PASSES, "icmpv6 type 8" },
	{ I6(S6, LOC6, 128, 0, EXT(EH_HOP_DST)), DROPS(1),
	  "hop-by-hop + dstopts + icmpv6 echo-request" },
	{ I6(S6, LOC6, 143, 0, EXT(EH_ONLY_HOP)), PASSES, "hop-by-hop + MLDv2 report" },
};

/* Named sets are looked up in maps, not compiled into the diagram: exact
 * keys (hash) including concatenations, ranges of one field (LPM), negated
 * lookups; past NFO_MAX_SETS slots a one-field set goes into the diagram. */
#define NAMED_SETS_CHAIN                                      \
	"  chain c {\n"                                       \
	"    type filter hook prerouting priority 0;\n"      \
	"    tcp dport @ports drop\n"                         \
	"    ip saddr @hosts drop\n"                          \
	"    ip saddr . udp dport @pairs drop\n"              \
	"    ip6 saddr . ip6 daddr . tcp dport @triples drop\n" \
	"    udp dport != @keep udp sport 7 drop\n"           \
	"  }\n"                                               \
	"}\n"

static const struct row rows_named_sets[] = {
	{ T4(S4, LOC4, 40, 22, TH_SYN), DROPS(0), "tcp 22 in @ports" },
	{ T4(S4, LOC4, 40, 65535, TH_SYN), DROPS(0), "tcp 65535 in @ports" },
	{ T4(S4, LOC4, 40, 23, TH_SYN), PASSES, "tcp 23 not in @ports" },
	{ U4("198.18.0.1", LOC4, 40, 5), DROPS(1), "198.18.0.1 in @hosts" },
	{ U4("198.18.0.2", LOC4, 40, 5), PASSES, "198.18.0.2 not in @hosts" },
	{ U4("198.18.1.1", LOC4, 40, 53), DROPS(2), "198.18.1.1 . 53 in @pairs" },
	{ U4("198.18.1.1", LOC4, 40, 54), PASSES, "198.18.1.1 . 54" },
	{ U4("198.18.1.2", LOC4, 40, 53), PASSES, "198.18.1.2 . 53" },
	{ T6(S6, LOC6, 40, 8080, TH_SYN), DROPS(3),
	  "2001:db8::1 . ::1 . 8080 in @triples (36-byte key)" },
	{ T6("2001:db8::2", LOC6, 40, 8080, TH_SYN), PASSES, "2001:db8::2 . ::1 . 8080" },
	{ T6(S6, LOC6, 40, 8081, TH_SYN), PASSES, "2001:db8::1 . ::1 . 8081" },
	{ U4(S4, LOC4, 7, 999), DROPS(4), "udp 999 not in @keep, sport 7" },
	{ U4(S4, LOC4, 7, 1000), PASSES, "udp 1000 in @keep" },
	{ U4(S4, LOC4, 7, 2000), DROPS(4), "udp 2000 not in @keep" },
};

/* the same elements changed: the diagram does not move, the maps do */
static const struct row rows_named_sets_changed[] = {
	{ T4(S4, LOC4, 40, 22, TH_SYN), PASSES, "tcp 22 no longer in @ports" },
	{ T4(S4, LOC4, 40, 23, TH_SYN), DROPS(0), "tcp 23 now in @ports" },
	{ U4("198.18.0.2", LOC4, 40, 5), DROPS(1), "198.18.0.2 now in @hosts" },
	{ U4("198.18.1.1", LOC4, 40, 54), DROPS(2), "198.18.1.1 . 54 now in @pairs" },
	{ T6(S6, LOC6, 40, 8080, TH_SYN), PASSES, "@triples empty" },
	{ U4(S4, LOC4, 7, 1500), DROPS(4), "udp 1500 no longer in @keep" },
	{ U4(S4, LOC4, 7, 999), PASSES, "udp 999 now in @keep" },
};

static const struct row rows_sets_maps_concat[] = {
	/* Concatenation: a lookup on 8 bytes of two fields. */
	{ T4("198.18.0.1", LOC4, 40, 22, TH_SYN), DROPS(0),
	  "198.18.0.1 . 22 (in the concatenated set)" },
	{ T4("198.18.0.1", LOC4, 40, 23, TH_SYN), PASSES, "198.18.0.1 . 23" },
	{ T4("198.18.0.2", LOC4, 40, 22, TH_SYN), PASSES, "198.18.0.2 . 22" },
	/* Verdict map. */
	{ U4("198.18.0.1", LOC4, 40, 9), DROPS(1), "udp 9 : drop" },
	{ U4("198.18.0.1", LOC4, 40, 10), PASSES, "udp 10 : accept" },
	{ U4("10.0.0.1", LOC4, 40, 10), PASSES, "udp 10 : accept, from 10/8" },
	{ I4("10.1.1.1", LOC4, 8, 0), DROPS(2), "@nets4 10.1.1.1" },
	{ I4("192.168.1.255", LOC4, 8, 0), DROPS(2), "@nets4 192.168.1.255" },
	{ I4("192.168.2.0", LOC4, 8, 0), PASSES, "192.168.2.0" },
	{ I4("192.168.0.255", LOC4, 8, 0), PASSES, "192.168.0.255" },
	{ I4("172.16.5.5", LOC4, 8, 0), DROPS(2), "@nets4 172.16.5.5" },
	{ I4("172.16.5.6", LOC4, 8, 0), PASSES, "172.16.5.6" },
	{ I4("172.16.5.4", LOC4, 8, 0), PASSES, "172.16.5.4" },
	{ I6("2001:db8:0:ffff::1", LOC6, 128, 0), DROPS(3), "@nets6 2001:db8:0:ffff::1" },
	{ I6("2001:db8:1::", LOC6, 128, 0), PASSES, "2001:db8:1::" },
	{ I6("fd00::1", LOC6, 128, 0), DROPS(3), "@nets6 fd00::1" },
	{ I6("fd00::2", LOC6, 128, 0), PASSES, "fd00::2" },
	{ I6("fd00::", LOC6, 128, 0), PASSES, "fd00::" },
	{ I4("203.0.113.0", LOC4, 8, 0), DROPS(4), "203.0.113.0" },
	{ I4("203.0.113.127", LOC4, 8, 0), DROPS(4), "203.0.113.127" },
	{ I4("203.0.113.128", LOC4, 8, 0), PASSES, "203.0.113.128" },
	{ I4("203.0.113.199", LOC4, 8, 0), PASSES, "203.0.113.199" },
	{ I4("203.0.113.200", LOC4, 8, 0), DROPS(4), "203.0.113.200" },
	{ I4("203.0.113.210", LOC4, 8, 0), DROPS(4), "203.0.113.210" },
	{ I4("203.0.113.211", LOC4, 8, 0), PASSES, "203.0.113.211" },
	{ I6("2001:dead::1", "2001:db8:aaaa:bbb0::", 128, 0), DROPS(5),
	  "daddr 2001:db8:aaaa:bbb0::" },
	{ I6("2001:dead::1", "2001:db8:aaaa:bbbf:ffff:ffff:ffff:ffff", 128, 0), DROPS(5),
	  "daddr 2001:db8:aaaa:bbbf:ffff:..." },
	{ I6("2001:dead::1", "2001:db8:aaaa:bbc0::", 128, 0), PASSES,
	  "daddr 2001:db8:aaaa:bbc0::" },
	{ I6("2001:dead::1", "2001:db8:aaaa:bbaf:ffff::", 128, 0), PASSES,
	  "daddr 2001:db8:aaaa:bbaf:ffff::" },
	{ I4("198.18.0.1", "100.100.255.255", 8, 0), DROPS(6), "daddr 100.100.255.255" },
	{ I4("198.18.0.1", "100.100.0.0", 8, 0), DROPS(6), "daddr 100.100.0.0" },
	{ I4("198.18.0.1", "100.101.0.0", 8, 0), PASSES, "daddr 100.101.0.0" },
	{ I4("198.18.0.1", "100.99.255.255", 8, 0), PASSES, "daddr 100.99.255.255" },
};

static const struct row rows_addresses[] = {
	{ U4("10.1.2.3", LOC4, 1, 2), DROPS(0), "saddr 10.1.2.3" },
	{ U4("10.255.255.255", LOC4, 1, 2), DROPS(0), "saddr 10.255.255.255" },
	{ U4("11.0.0.0", LOC4, 1, 2), PASSES, "saddr 11.0.0.0" },
	{ U4("9.255.255.255", LOC4, 1, 2), PASSES, "saddr 9.255.255.255" },
	{ U4("172.16.0.0", LOC4, 1, 2), DROPS(1), "saddr 172.16.0.0" },
	{ U4("172.31.255.255", LOC4, 1, 2), DROPS(1), "saddr 172.31.255.255" },
	{ U4("172.32.0.0", LOC4, 1, 2), PASSES, "saddr 172.32.0.0" },
	{ U4("172.15.255.255", LOC4, 1, 2), PASSES, "saddr 172.15.255.255" },
	{ U4("8.8.8.8", "192.0.2.77", 1, 2), DROPS(2), "daddr 192.0.2.77" },
	{ U4("192.0.2.77", "8.8.8.8", 1, 2), PASSES, "saddr 192.0.2.77 (rule is daddr)" },
	{ U4("8.8.8.8", "192.0.3.1", 1, 2), PASSES, "daddr 192.0.3.1" },
	{ U4("198.51.100.7", LOC4, 1, 2), DROPS(3), "saddr 198.51.100.7" },
	{ U4("198.51.100.8", LOC4, 1, 2), PASSES, "saddr 198.51.100.8" },
	{ U6("2001:db8:1::5", LOC6, 1, 2), DROPS(4), "saddr 2001:db8:1::5" },
	{ U6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", LOC6, 1, 2), DROPS(4),
	  "saddr 2001:db8:ffff:..." },
	{ U6("2001:db9::", LOC6, 1, 2), PASSES, "saddr 2001:db9::" },
	{ U6("2001:db7:ffff::", LOC6, 1, 2), PASSES, "saddr 2001:db7:ffff::" },
	{ U6("2001:dead::1", "fd00::1234", 1, 2), DROPS(5), "daddr fd00::1234" },
	{ U6("2001:dead::1", "fd00::1235", 1, 2), PASSES, "daddr fd00::1235" },
	{ U4("1.2.3.4", "203.0.113.5", 1, 2), DROPS(6), "saddr outside 100.64/10 to 203.0.113.5" },
	{ U4("100.64.1.1", "203.0.113.5", 1, 2), PASSES, "saddr inside 100.64/10 to 203.0.113.5" },
	{ U4("100.128.0.0", "203.0.113.5", 1, 2), DROPS(6), "saddr 100.128.0.0 to 203.0.113.5" },
	{ U4("1.2.3.4", "203.0.113.6", 1, 2), PASSES, "to 203.0.113.6" },
	{ U6("fe80::1", LOC6, 1, 2), DROPS(7), "fe80::1 -> ::1" },
	{ U6("fec0::1", LOC6, 1, 2), PASSES, "fec0::1 -> ::1" },
	/* The IPv4 rules do not apply to IPv6 and vice versa. */
	{ U6("::ffff:10.1.2.3", LOC6, 1, 2), PASSES, "IPv6 ::ffff:10.1.2.3" },
};

static const struct row rows_tcp_flags[] = {
	{ T4(S4, LOC4, 40, 1, TH_SYN), DROPS(0), "flags syn: SYN" },
	{ T4(S4, LOC4, 40, 1, TH_SYN | TH_ACK), DROPS(0), "flags syn: SYN|ACK" },
	{ T4(S4, LOC4, 40, 1, TH_SYN | TH_FIN), DROPS(0), "flags syn: SYN|FIN" },
	{ T4(S4, LOC4, 40, 1, TH_ACK), PASSES, "flags syn: ACK" },
	{ T4(S4, LOC4, 40, 1, 0), PASSES, "flags syn: none" },
	/* The 14th byte of a UDP datagram is payload. */
	{ { .build = b_ip, .ip = 4, .src = S4, .dst = LOC4, .proto = IPPROTO_UDP, .sport = 40, .dport = 1,
	    .pay = 12, .fix = fix_synbyte }, PASSES, "udp dport 1 with byte 13 = SYN" },
	{ T6(S6, LOC6, 40, 2, TH_SYN), DROPS(1), "flags == syn: SYN" },
	{ T6(S6, LOC6, 40, 2, TH_SYN | TH_ACK), PASSES, "flags == syn: SYN|ACK" },
	{ T6(S6, LOC6, 40, 2, TH_SYN | TH_ECE | TH_CWR), PASSES, "flags == syn: SYN|ECE|CWR" },
	{ T6(S6, LOC6, 40, 2, TH_RST), PASSES, "flags == syn: RST" },
	{ T4(S4, LOC4, 40, 3, TH_SYN), DROPS(2), "flags & (syn|ack) == syn: SYN" },
	{ T4(S4, LOC4, 40, 3, TH_SYN | TH_ECE | TH_CWR), DROPS(2),
	  "flags & (syn|ack) == syn: SYN|ECE|CWR" },
	{ T4(S4, LOC4, 40, 3, TH_SYN | TH_PSH | TH_URG | TH_FIN), DROPS(2),
	  "flags & (syn|ack) == syn: SYN|PSH|URG|FIN" },
	{ T4(S4, LOC4, 40, 3, TH_SYN | TH_ACK), PASSES, "flags & (syn|ack) == syn: SYN|ACK" },
	{ T4(S4, LOC4, 40, 3, TH_ACK), PASSES, "flags & (syn|ack) == syn: ACK" },
	{ T4(S4, LOC4, 40, 3, TH_FIN), PASSES, "flags & (syn|ack) == syn: FIN" },
};

static const struct row rows_nfproto_protocol[] = {
	{ U6(S6, LOC6, 40, 9), DROPS(0), "IPv6 udp 9" },
	{ U4(S4, LOC4, 40, 9), PASSES, "IPv4 udp 9" },
	{ T4(S4, LOC4, 40, 9, TH_SYN), DROPS(1), "IPv4 tcp 9" },
	{ T6(S6, LOC6, 40, 9, TH_SYN), PASSES, "IPv6 tcp 9" },
	{ ARP(MAC_LO), PASSES, "ARP" },
};

static const struct row rows_iif_iifname[] = {
	{ U4(S4, LOC4, 40, 9), DROPS(0), "iifname lo" },
	{ U4(S4, LOC4, 40, 10), PASSES, "iifname eth9" },
	{ U6(S6, LOC6, 40, 11), DROPS(2), "iif lo" },
	{ U4(S4, LOC4, 40, 12), PASSES, "iifname != lo" },
	{ U4(S4, LOC4, 40, 13), DROPS(4), "iifname l*" },
};

/* A plan that cannot be built (too big) passes everything. */
static const struct row rows_plan_too_big[] = {
	{ U4("10.0.0.1", LOC4, 40, 9), PASSES, "udp from 10/8, no plan" },
	{ U6(S6, LOC6, 40, 9), PASSES, "IPv6 udp, no plan" },
};

/* ---- hooks, gates, chains ---------------------------------------------------------- */

/* Ingress chains see every frame on the device, whatever its destination MAC. */
#define INGRESS_ANY_MAC(m)                                                                  \
	{ ARP(m), DROPS(0), "ARP" },                                                        \
	{ U4(S4, REM4, 40, 9, .mac = m), DROPS(1), "IPv4 udp 9" },                          \
	{ U6(S6, REM6, 40, 9, .mac = m), DROPS(1), "IPv6 udp 9" },                          \
	{ T4("10.9.9.9", REM4, 40, 10, TH_SYN, .mac = m), DROPS(2), "IPv4 from 10/8" },     \
	{ T6(S6, REM6, 40, 22, TH_SYN, .mac = m), DROPS_IN("inet ti i", 0), "IPv6 tcp 22 (inet ingress)" }, \
	{ T4(S4, REM4, 40, 9, TH_SYN, .mac = m), PASSES, "IPv4 tcp 9" }

static const struct row rows_netdev_ingress[] = {
	INGRESS_ANY_MAC(MAC_LO),
	INGRESS_ANY_MAC(MAC_OTHER),
	INGRESS_ANY_MAC(MAC_BCAST),
	INGRESS_ANY_MAC(MAC_MCAST4),
	INGRESS_ANY_MAC(MAC_MCAST6),
	/* Not IP, not ARP. */
	{ { .build = b_eth, .eth = 0x88b5 }, PASSES, "EtherType 0x88b5" },
};

static const struct row rows_prerouting_input_local[] = {
	{ U4(S4, LOC4, 40, 9), DROPS_IN("inet t pre", 0), "prerouting udp 9 to local" },
	{ U4(S4, REM4, 40, 9), DROPS_IN("inet t pre", 0), "prerouting udp 9 to non-local" },
	{ U6(S6, REM6, 40, 9), DROPS_IN("inet t pre", 0), "prerouting IPv6 udp 9 to non-local" },
	{ U4(S4, LOC4, 40, 7), DROPS_IN("inet t in", 0), "input udp 7 to 127.0.0.1" },
	{ U6(S6, LOC6, 40, 7), DROPS_IN("inet t in", 0), "input udp 7 to ::1" },
	{ T4(S4, LOC4, 40, 22, TH_SYN), DROPS_IN("inet t in", 1), "input tcp 22 to 127.0.0.1" },
	/* Input chains only see locally delivered packets. */
	{ U4(S4, REM4, 40, 7), PASSES, "input udp 7 to non-local IPv4" },
	{ U6(S6, REM6, 40, 7), PASSES, "input udp 7 to non-local IPv6" },
	{ T4(S4, "203.0.113.1", 40, 22, TH_SYN), PASSES, "input tcp 22 to non-local IPv4" },
	{ U4(S4, LOC4, 40, 8), PASSES, "udp 8 to local" },
};

/* ip_rcv() drops PACKET_OTHERHOST before prerouting; broadcast and
 * multicast frames do reach it, but not as this host's unicast: the
 * fast path does not claim to know, and passes. */
#define NOT_FOR_LO(m)                                                                        \
	{ U4(S4, LOC4, 40, 9, .mac = m), DROPS_IN("netdev n i", 0), "not for lo's MAC: ingress udp 9" }, \
	{ U4(S4, LOC4, 40, 10, .mac = m), PASSES, "not for lo's MAC: prerouting udp 10" },            \
	{ U4(S4, LOC4, 40, 11, .mac = m), PASSES, "not for lo's MAC: input udp 11" },                 \
	{ U6(S6, LOC6, 40, 10, .mac = m), PASSES, "not for lo's MAC: IPv6 prerouting udp 10" }

static const struct row rows_not_for_this_host[] = {
	{ U4(S4, LOC4, 40, 9), DROPS_IN("netdev n i", 0), "for lo's MAC: ingress udp 9" },
	{ U4(S4, LOC4, 40, 10), DROPS_IN("inet t pre", 0), "for lo's MAC: prerouting udp 10" },
	{ U4(S4, LOC4, 40, 11), DROPS_IN("inet t in", 0), "for lo's MAC: input udp 11" },
	NOT_FOR_LO(MAC_OTHER),
	NOT_FOR_LO(MAC_BCAST),
	NOT_FOR_LO(MAC_MCAST4),
	NOT_FOR_LO(MAC_MCAST6),
};

/* meta pkttype: skb->pkt_type as eth_type_trans() sets it from the
 * destination MAC (the device's address: host; its broadcast address,
 * all zeros on lo like its own, so never met: broadcast; another group
 * address: multicast; another unicast: otherhost). In prerouting and input
 * only host frames are decided, where pkttype is host. */
static const struct row rows_pkttype[] = {
	{ U4(S4, LOC4, 40, 9, .mac = MAC_BCAST), DROPS_IN("netdev n i", 1), "ff:ff:ff:ff:ff:ff on lo: pkttype multicast" },
	{ U4(S4, LOC4, 40, 9, .mac = MAC_MCAST4), DROPS_IN("netdev n i", 1), "IPv4 multicast MAC: pkttype multicast" },
	{ U6(S6, LOC6, 40, 9, .mac = MAC_MCAST6), DROPS_IN("netdev n i", 1), "IPv6 multicast MAC: pkttype multicast" },
	{ U4(S4, LOC4, 40, 9, .mac = MAC_OTHER), DROPS_IN("netdev n i", 2), "another host's MAC: pkttype other" },
	{ U4(S4, LOC4, 40, 9), PASSES, "lo's MAC: pkttype host, none of them" },
	{ U4(S4, LOC4, 40, 10), DROPS_IN("netdev n i", 3), "lo's MAC: pkttype host" },
	{ U4(S4, LOC4, 40, 10, .mac = MAC_BCAST), PASSES, "broadcast: not host" },
	{ U4(S4, LOC4, 40, 11), DROPS_IN("inet t in", 0), "input: pkttype != broadcast for a host frame" },
	{ U4(S4, LOC4, 40, 12), PASSES, "input: pkttype broadcast is false for a host frame" },
};

static const struct row rows_policy_drop_input[] = {
	{ U4(S4, LOC4, 40, 53), POLICY("inet t in"), "udp to 127.0.0.1: input policy drop" },
	{ U6(S6, LOC6, 40, 53), POLICY("inet t in"), "udp to ::1: input policy drop" },
	{ T4(S4, LOC4, 40, 23, TH_SYN), POLICY("inet t in"),
	  "tcp 23 to 127.0.0.1: input policy drop" },
	{ T4(S4, LOC4, 40, 22, TH_SYN), PASSES, "tcp 22 accepted" },
	{ U4("10.1.1.1", LOC4, 40, 53), PASSES, "from 10/8 accepted" },
	{ U4(S4, REM4, 40, 53), PASSES, "not local: input does not see it" },
	{ ARP(MAC_LO), PASSES, "ARP" },
};

static const struct row rows_policy_drop_prerouting[] = {
	{ T4(S4, REM4, 40, 80, TH_SYN), POLICY("ip t pre"), "IPv4 tcp: prerouting policy drop" },
	{ U4(S4, REM4, 40, 53), PASSES, "IPv4 udp 53 accepted" },
	{ T6(S6, REM6, 40, 80, TH_SYN), PASSES, "IPv6: ip table does not apply" },
	{ ARP(MAC_LO), PASSES, "ARP" },
};

static const struct row rows_chain_semantics[] = {
	{ U4(S4, LOC4, 40, 9), DROPS_IN("inet t sub", 0), "udp 9 via jump" },
	{ U4(S4, LOC4, 40, 10), PASSES, "udp 10 returns" },
	/* An accept ends its chain only: the next chain still runs. */
	{ T4(S4, LOC4, 40, 80, TH_SYN), DROPS_IN("inet t b", 0),
	  "tcp 80 accepted by a, dropped by b" },
	/* reject sends a reply: with the ICMP limits off, never dropped here. */
	{ T4(S4, LOC4, 40, 25, TH_SYN), PASSES_WHY(NFO_STAT_PASS_REJECT),
	  "tcp 25 rejected by nftables" },
	{ T4(S4, LOC4, 40, 23, TH_SYN), DROPS_IN("inet t b", 2), "tcp 23 counter drop" },
};

/*
 * Reject leaves (docs/SEMANTICS.md section 4.1). Each row runs twice (XDP,
 * then TC) against the same buckets. A sender's bucket holds 2 answers
 * and refills in 1000 s; the global one has room for all.
 */
#define NS_1000S 1000000000000ull
static const struct nfo_reject_cfg REJECT_PEER2 = {
	.flags = NFO_REJECT_ON,
	.global_cost_ns = 1,
	.global_burst_ns = 1000 * NS_1000S,
	.peer_cost_ns = { NS_1000S, NS_1000S },
	.peer_burst_ns = { 2 * NS_1000S, 2 * NS_1000S },
};

#define REJECTED PASSES_WHY(NFO_STAT_PASS_REJECT)

static const char RULES_REJECT[] =
	"table inet t {\n"
	"  chain c {\n"
	"    type filter hook prerouting priority 0;\n"
	"    tcp dport 25 reject\n"
	"    meta l4proto icmp reject with icmp type host-unreachable\n"
	"    meta l4proto ipv6-icmp reject with icmpv6 type admin-prohibited\n"
	"    udp dport 26 counter reject with icmpx type admin-prohibited\n"
	"    udp dport 27 reject with icmp type frag-needed\n"
	"    tcp dport 28 reject with tcp reset\n"
	"  }\n"
	"  chain i {\n"
	"    type filter hook input priority 0;\n"
	"    udp dport 29 reject\n"
	"  }\n"
	"}\n"
	"table netdev n {\n"
	"  chain i {\n"
	"    type filter hook ingress device lo priority 0;\n"
	"    udp dport 30 reject\n"
	"  }\n"
	"}\n";

static const struct row rows_reject_peer[] = {
	{ T4(S4, LOC4, 40, 25, TH_SYN), REJECTED, "first two from a sender: nftables answers" },
	{ T4(S4, LOC4, 41, 25, TH_SYN), DROPS(0), "its bucket is empty: dropped" },
	{ U4(S4, LOC4, 40, 26), DROPS(3), "the same sender, another reject rule" },
	{ T4("192.0.2.2", LOC4, 40, 25, TH_SYN), REJECTED, "another sender" },
	{ T6(S6, LOC6, 40, 25, TH_SYN), REJECTED, "an IPv6 sender" },
	{ T6(S6, LOC6, 41, 25, TH_SYN), DROPS(0), "its bucket is empty" },
	{ I4("192.0.2.3", LOC4, 8, 0), REJECTED, "echo request rejected: answered" },
	{ I4("192.0.2.4", LOC4, 3, 3), DROPS(1), "an ICMP error is never answered" },
	{ I4("192.0.2.4", LOC4, 12, 0), DROPS(1), "nor a parameter problem" },
	{ I4("192.0.2.4", LOC4, 8, 0), REJECTED, "they took no token" },
	{ I6("2001:db8::4", LOC6, 1, 4), DROPS(2), "an ICMPv6 error is never answered" },
	{ I6("2001:db8::4", LOC6, 128, 0), REJECTED, "an echo request is" },
	/* IPv4 to multicast: at prerouting the kernel answers (the route it
	 * checks is the one back to the sender): a token like any other. */
	{ T4("192.0.2.5", "224.0.0.5", 40, 25, TH_SYN), REJECTED, "IPv4 multicast: answered" },
	{ T4("192.0.2.5", "224.0.0.5", 41, 25, TH_SYN), DROPS(0), "its sender's bucket is empty" },
	{ T6("2001:db8::5", "ff02::1", 40, 25, TH_SYN), DROPS(0), "no error to IPv6 multicast" },
	{ FRAG4("192.0.2.6", 0, true, IPPROTO_ICMP), REJECTED, "a fragment: no token taken" },
	{ FRAG4("192.0.2.6", 0, true, IPPROTO_ICMP), REJECTED, "again" },
	{ I4("192.0.2.6", LOC4, 8, 0), REJECTED, "its sender still has two" },
	{ U4("192.0.2.7", LOC4, 40, 27), PASSES, "frag-needed is never rate-limited" },
	{ T4("192.0.2.7", LOC4, 40, 28, TH_SYN), PASSES, "a TCP reset is never rate-limited" },
	{ U4("192.0.2.7", LOC4, 40, 29), REJECTED, "input" },
	{ U4("192.0.2.7", LOC4, 41, 29), DROPS_IN("inet t i", 0), "input, bucket empty" },
	{ U4("192.0.2.8", LOC4, 40, 30), PASSES, "netdev: sent without limit" },
};

/*
 * Reset leaves (docs/SEMANTICS.md section 4.1): what the kernel answers
 * with nothing is dropped, what the fast path cannot answer as the kernel
 * would passes. lo does not forward, so bpf_fib_lookup finds no route back
 * (BPF_FIB_LKUP_RET_FWD_DISABLED) and every RST is left to nftables here;
 * tests/integration/reset.sh compares the RSTs sent with the kernel's.
 */
static const struct nfo_reject_cfg RESET_ON = {
	.flags = NFO_REJECT_ON | NFO_REJECT_RST4 | NFO_REJECT_RST6,
	.rst_ttl = 64,
	.rst_hl6 = 64,
};

#define RESET_PASSED PASSES_WHY(NFO_STAT_PASS_RESET)

static const char RULES_RESET[] =
	"table inet t {\n"
	"  chain c {\n"
	"    type filter hook input priority 0;\n"
	"    tcp dport 28 counter reject with tcp reset\n"
	"  }\n"
	"}\n";

static const struct row rows_reset[] = {
	{ T4(S4, LOC4, 40, 28, TH_RST), DROPS(0), "no RST for a RST: dropped" },
	{ T4(S4, LOC4, 40, 28, TH_RST | TH_ACK), DROPS(0), "RST|ACK too" },
	{ T4(S4, LOC4, 40, 28, TH_SYN), RESET_PASSED, "a SYN: no route back found (lo)" },
	{ T4(S4, LOC4, 41, 28, TH_SYN, .fix = fix_tcp_csum), RESET_PASSED,
	  "a bad checksum: the kernel may trust the device" },
	{ T4(S4, LOC4, 42, 28, TH_ACK, .fix = fix_tcp_payload, .v = 100), RESET_PASSED,
	  "120 bytes of segment: its checksum is not computed" },
	{ T6(S6, LOC6, 40, 28, TH_SYN), RESET_PASSED, "IPv6 to ::1: not followed (::/64)" },
	{ T6(S6, LOC6, 40, 28, TH_RST), DROPS(0), "IPv6: no RST for a RST" },
	{ T6(S6, LOC6, 40, 28, TH_RST | TH_ACK), DROPS(0), "IPv6: RST|ACK too" },
	{ T6(S6, LOC6, 41, 28, TH_SYN, .fix = fix_tcp_csum), RESET_PASSED, "IPv6: a bad checksum" },
	{ T6("::", LOC6, 40, 28, TH_SYN), DROPS(0),
	  "IPv6 from ::: not unicast, the kernel sends nothing" },
	{ EXT6_TCP(EH_HOP_FRAG, 1, 28), RESET_PASSED, "IPv6 with a hop-by-hop header: not followed" },
	{ FRAG4(S4, 0, true, IPPROTO_TCP), PASSES, "a first fragment: no ports, no leaf" },
	{ T4(S4, LOC4, 40, 29, TH_SYN), PASSES, "another port" },
};

/* ip_default_ttl unread (or fwmark_reflect): every reset passes. */
static const struct row rows_reset_off[] = {
	{ T4(S4, LOC4, 40, 28, TH_RST), RESET_PASSED, "even a RST" },
	{ T4(S4, LOC4, 40, 28, TH_SYN), RESET_PASSED, "a SYN" },
};

/* A global bucket of 4 answers, no per-sender limit. */
static const struct nfo_reject_cfg REJECT_GLOBAL4 = {
	.flags = NFO_REJECT_ON,
	.global_cost_ns = NS_1000S,
	.global_burst_ns = 4 * NS_1000S,
};

static const struct row rows_reject_global[] = {
	{ T4("192.0.2.10", LOC4, 40, 25, TH_SYN), REJECTED, "two answers" },
	{ T6("2001:db8::10", LOC6, 40, 25, TH_SYN), REJECTED, "IPv6 shares the bucket" },
	{ T4("192.0.2.11", LOC4, 40, 25, TH_SYN), DROPS(0), "empty, whoever sends" },
	{ T6("2001:db8::11", LOC6, 40, 25, TH_SYN), DROPS(0), "IPv6 too" },
};

/* net.ipv4.icmp_ratemask without destination unreachable. */
static const struct nfo_reject_cfg REJECT_UNLIMITED4 = {
	.flags = NFO_REJECT_ON | NFO_REJECT_UNLIMITED4,
	.global_cost_ns = NS_1000S,
	.global_burst_ns = 0,
};

static const struct row rows_reject_unlimited4[] = {
	{ T4("192.0.2.12", LOC4, 40, 25, TH_SYN), REJECTED, "IPv4: not limited, always passed" },
	{ T4("192.0.2.12", LOC4, 41, 25, TH_SYN), REJECTED, "again" },
	{ T6("2001:db8::12", LOC6, 40, 25, TH_SYN), DROPS(0), "IPv6: limited, bucket empty" },
};

static const struct row rows_nat_stops[] = {
	{ U4(S4, LOC4, 40, 9), DROPS_IN("inet t early", 0), "before IPv4 dnat" },
	/* No conntrack entry, and the one NAT statement cannot match: the NAT
	 * hook changes nothing (docs/SEMANTICS.md, NAT on the receive path). */
	{ U4(S4, LOC4, 40, 10), DROPS_IN("inet t late", 0), "after IPv4 nat (prerouting)" },
	{ U4(S4, LOC4, 40, 11), DROPS_IN("inet t in", 0), "after IPv4 nat (input)" },
	/* The DNAT may fire; ICMP has no lookup: an entry may rewrite it. */
	{ U4(S4, LOC4, 40, 12), PASSES, "udp 12: the dnat may fire" },
	{ I4(S4, LOC4, 8, 0), PASSES, "icmp after IPv4 nat: no conntrack lookup" },
	/* The nat table is ip only: IPv6 is not rewritten. */
	{ U6(S6, LOC6, 40, 10), DROPS_IN("inet t late", 0), "IPv6 prerouting" },
	{ U6(S6, LOC6, 40, 11), DROPS_IN("inet t in", 0), "IPv6 input" },
};

static const struct row rows_goto_return_jump[] = {
	/* goto: the end of g returns past c (to c's policy), not into c. */
	{ U4(S4, LOC4, 5, 9), PASSES, "udp 9 goto g, g falls off: c's policy accept" },
	{ U4(S4, LOC4, 1, 9), PASSES, "udp 9 goto g, accepted there" },
	/* jump: the end of j returns into c. */
	{ U4(S4, LOC4, 5, 10), DROPS(3), "udp 10 jump j, j falls off, next rule drops" },
	{ U4(S4, LOC4, 2, 10), PASSES, "udp 10 jump j, accepted in j" },
	{ U4(S4, LOC4, 3, 10), DROPS_IN("inet t j", 1), "udp 10 jump j, dropped in j" },
	/* goto from a jumped-to chain: the end of g returns into c. */
	{ U4(S4, LOC4, 4, 10), DROPS(3), "udp 10 jump j goto g, g falls off into c" },
	{ U4(S4, LOC4, 5, 11), PASSES, "udp 11 return from the base chain: policy accept" },
	{ U4(S4, LOC4, 5, 12), DROPS(7), "udp 12 continue" },
	{ U4(S4, LOC4, 5, 13), POLICY("inet t p"), "udp 13 return from a policy-drop base chain" },
	{ U4(S4, LOC4, 5, 14), POLICY("inet t p"), "udp 14 policy drop" },
};

static const struct row rows_chain_priorities[] = {
	{ U4(S4, LOC4, 40, 9), PASSES, "udp 9: logged by an earlier chain" },
	{ U4(S4, LOC4, 40, 10), PASSES, "udp 10: logged by a chain of the same priority" },
	{ U4(S4, LOC4, 40, 11), DROPS_IN("inet t same2", 2),
	  "udp 11: dropped before the later chain logs" },
	/* accept in one chain, policy drop in a later one */
	{ T4(S4, LOC4, 40, 22, TH_SYN), POLICY("inet t late"),
	  "tcp 22 accepted early, later policy drop" },
	{ U4(S4, LOC4, 40, 12), PASSES, "udp 12 accepted by the later chain" },
};

/* Chains of families that do not see IP packets on lo. */
static const struct row rows_other_families[] = {
	{ U4(S4, LOC4, 40, 9), PASSES, "IPv4 udp 9: bridge chains do not apply to lo" },
	{ U6(S6, REM6, 40, 9), PASSES, "IPv6 to a non-local address: forward is not decided" },
	{ ARP(MAC_LO), PASSES, "ARP: arp input is not decided here" },
	{ T4(S4, LOC4, 40, 22, TH_SYN), PASSES, "IPv4 to local: output/postrouting do not apply" },
};

/* A device that is a port (bridge, bond, VRF) or has upper devices: only
 * its ingress chains are decided. */
static const struct row rows_not_l3_device[] = {
	{ U4(S4, LOC4, 40, 9), DROPS_IN("netdev n i", 0), "ingress udp 9" },
	{ U4(S4, LOC4, 40, 10), PASSES, "prerouting udp 10 on a port" },
	{ U6(S6, LOC6, 40, 11), PASSES, "input policy drop on a port" },
};

/* Addresses of a device that is down are not local. */
static const struct row rows_no_local_addresses[] = {
	{ U4(S4, LOC4, 40, 10), DROPS_IN("inet t pre", 0), "prerouting udp 10" },
	{ U4(S4, LOC4, 40, 11), PASSES, "input udp 11 to 127.0.0.1, lo down in the plan" },
	{ U6(S6, LOC6, 40, 11), PASSES, "input udp 11 to ::1, lo down in the plan" },
};

static const struct row rows_negated_sets_unknown_meta[] = {
	{ T4(S4, LOC4, 40, 1, TH_SYN), PASSES, "meta mark: unknown to the fast path" },
	{ U4(S4, LOC4, 9, 54), DROPS(1), "udp 9 -> 54, not in the set" },
	{ U4(S4, LOC4, 9, 2001), DROPS(1), "udp 9 -> 2001, not in the set" },
	{ U4(S4, LOC4, 9, 53), PASSES, "udp 9 -> 53, in the set" },
	{ U4(S4, LOC4, 9, 1500), PASSES, "udp 9 -> 1500, in the set" },
	{ U4(S4, LOC4, 8, 54), PASSES, "udp 8 -> 54" },
	{ T4(S4, LOC4, 40, 2, TH_SYN), PASSES, "ip dscp: unknown" },
	{ T4(S4, LOC4, 40, 3, TH_SYN), PASSES, "ip ttl: unknown" },
	{ T4(S4, LOC4, 40, 4, TH_SYN), PASSES, "ether saddr: unknown" },
	/* a frame for lo's MAC: pkttype host (rows_pkttype has the rest) */
	{ T4(S4, LOC4, 40, 5, TH_SYN), DROPS(5), "meta pkttype host" },
};

/* ---- traps ------------------------------------------------------------------------- */

#define IPV4_OPTS(n)                                                                          \
	{ U4(S4, LOC4, 40, 9, .opts = n), PASSES_WHY(NFO_STAT_PASS_IPOPTS), "IPv4 options, udp" }, \
	{ T4("10.0.0.1", LOC4, 40, 9, TH_SYN, .opts = n), PASSES_WHY(NFO_STAT_PASS_IPOPTS),       \
	  "IPv4 options, from 10/8" }

static const struct row rows_ipv4_options[] = {
	{ U4(S4, LOC4, 40, 9), DROPS(0), "control: no options" },
	IPV4_OPTS(4),
	IPV4_OPTS(40),
};

#define MALFORMED PASSES_WHY(NFO_STAT_PASS_MALFORMED)
#define IHL(n) { U4("10.0.0.1", LOC4, 40, 9, .fix = fix_ver_ihl4, .v = 0x40 | (n)), MALFORMED, "ihl < 5" }

static const struct row rows_ipv4_malformed[] = {
	{ U4("10.0.0.1", LOC4, 40, 9), DROPS(0), "control" },
	{ U4("10.0.0.1", LOC4, 40, 9, .fix = fix_totlen_past), MALFORMED,
	  "tot_len one byte past the frame" },
	{ U4("10.0.0.1", LOC4, 40, 9, .fix = fix_totlen, .v = 1500), MALFORMED,
	  "tot_len 1500, short frame" },
	{ U4("10.0.0.1", LOC4, 40, 9, .fix = fix_totlen, .v = 19), MALFORMED, "tot_len 19" },
	{ U4("10.0.0.1", LOC4, 40, 9, .fix = fix_totlen, .v = 0), MALFORMED, "tot_len 0" },
	IHL(0), IHL(1), IHL(2), IHL(3), IHL(4),
	{ U4("10.0.0.1", LOC4, 40, 9, .fix = fix_ver_ihl4, .v = 0x65), MALFORMED,
	  "version 6 in an IPv4 frame" },
	/* The frame ends inside the IPv4 header. */
	{ U4("10.0.0.1", LOC4, 40, 9, .fix = fix_len, .v = 14 + 12), MALFORMED,
	  "12 bytes of IPv4 header" },
	{ U4("10.0.0.1", LOC4, 40, 9, .fix = fix_len, .v = 14), MALFORMED,
	  "EtherType IPv4, no header" },
};

static const uint8_t EH_ONLY_DST[] = { EH_DST };
static const uint8_t EH_ONLY_FRAG[] = { EH_FRAG };

static const struct row rows_ipv6_malformed[] = {
	{ U6(S6, LOC6, 40, 9), DROPS(0), "control" },
	{ U6(S6, LOC6, 40, 9, .fix = fix_plen, .v = 0), MALFORMED, "payload_len 0" },
	{ U6(S6, LOC6, 40, 9, .fix = fix_plen_past), MALFORMED,
	  "payload_len one byte past the frame" },
	{ U6(S6, LOC6, 40, 9, .fix = fix_ver6, .v = 0x40), MALFORMED,
	  "version 4 in an IPv6 frame" },
	{ U6(S6, LOC6, 40, 9, .fix = fix_len, .v = 14 + 39), MALFORMED, "39 bytes of IPv6 header" },
	{ { .build = b_ip, .ip = 6, .src = S6, .dst = LOC6, EXT(EH_ONLY_HOP), .fix = fix_hop_16 }, MALFORMED,
	  "truncated hop-by-hop header" },
	/* Destination options header past payload_len (frame has it). */
	{ U6(S6, LOC6, 40, 9, EXT(EH_ONLY_DST), .fix = fix_plen, .v = 4), MALFORMED,
	  "extension header cut by payload_len" },
	{ U6(S6, LOC6, 40, 9, EXT(EH_ONLY_FRAG), .more = true, .fix = fix_plen, .v = 2), MALFORMED,
	  "fragment header cut by payload_len" },
};

static const uint8_t EH_ROUTING_ONLY[] = { EH_ROUTING };
static const uint8_t EH_HOP_ROUTING[] = { EH_HOP, EH_ROUTING };
static const uint8_t EH_ROUTING_DST[] = { EH_ROUTING, EH_DST };
static const uint8_t EH_HOP_ROUTING_DST[] = { EH_HOP, EH_ROUTING, EH_DST };
static const uint8_t EH_DST_ROUTING_DST[] = { EH_DST, EH_ROUTING, EH_DST };
/* hop-by-hop, then destination options and routing alternating */
static const uint8_t EH_MANY[12] = { EH_HOP, EH_DST, EH_ROUTING, EH_DST, EH_ROUTING, EH_DST,
				     EH_ROUTING, EH_DST, EH_ROUTING, EH_DST, EH_ROUTING, EH_DST };

#define EXTHDRS_22_23(list)                                                                 \
	{ EXT6_TCP(list, sizeof(list), 22), DROPS(0), "extension headers + tcp dport 22" },  \
	{ EXT6_TCP(list, sizeof(list), 23), PASSES, "extension headers + tcp dport 23" }

static const struct row rows_ipv6_exthdrs[] = {
	EXTHDRS_22_23(EH_ONLY_HOP),
	EXTHDRS_22_23(EH_ROUTING_ONLY),
	EXTHDRS_22_23(EH_ONLY_DST),
	EXTHDRS_22_23(EH_HOP_DST),
	EXTHDRS_22_23(EH_HOP_ROUTING),
	EXTHDRS_22_23(EH_ROUTING_DST),
	EXTHDRS_22_23(EH_HOP_ROUTING_DST),
	EXTHDRS_22_23(EH_DST_ROUTING_DST),
	{ U6(S6, LOC6, 40, 9, EXT(EH_HOP_DST)), DROPS(1),
	  "hop-by-hop + dstopts + udp: meta l4proto" },
	/* NFO_IPV6_MAX_EXTHDRS (8) headers are walked; more pass. */
	{ EXT6_TCP(EH_MANY, NFO_IPV6_MAX_EXTHDRS, 22), DROPS(0),
	  "8 extension headers + tcp dport 22" },
	{ EXT6_TCP(EH_MANY, NFO_IPV6_MAX_EXTHDRS + 1, 22), PASSES_WHY(NFO_STAT_PASS_EXTHDRS),
	  "9 extension headers" },
	{ EXT6_TCP(EH_MANY, sizeof(EH_MANY), 22), PASSES_WHY(NFO_STAT_PASS_EXTHDRS),
	  "12 extension headers" },
};

/*
 * AH. nftables does not walk past it: nft_set_pktinfo_ipv6() and
 * __nft_set_pktinfo_ipv6_validate() (include/net/netfilter/nf_tables_ipv6.h)
 * call ipv6_find_hdr(skb, &thoff, -1, &frag_off, &flags) with
 * flags = IP6_FH_F_AUTH, and ipv6_find_hdr() (net/ipv6/exthdrs_core.c)
 * stops at NEXTHDR_AUTH when that flag is set and target < 0: meta l4proto
 * is 51 (ah) and th/tcp/udp payload loads read the AH header itself.
 */
static const uint8_t EH_HOP_AH_DST[] = { EH_HOP, EH_AH, EH_DST };
static const uint8_t EH_AH_ONLY[] = { EH_AH };

static const struct row rows_ipv6_ah[] = {
	{ EXT6_TCP(EH_HOP_AH_DST, 0, 22), DROPS(0), "control: tcp dport 22" },
	{ EXT6_TCP(EH_AH_ONLY, 1, 22), PASSES, "AH + tcp dport 22: nftables sees l4proto ah" },
	{ EXT6_TCP(EH_HOP_AH_DST, 2, 22), PASSES,
	  "hop-by-hop + AH + tcp dport 22: nftables sees l4proto ah" },
	{ EXT6_TCP(EH_HOP_AH_DST, 3, 22), PASSES,
	  "hop-by-hop + AH + dstopts + tcp dport 22: nftables sees l4proto ah" },
};

static const struct row rows_ipv6_ah_l4proto[] = {
	{ EXT6_TCP(EH_HOP_AH_DST, 2, 22), DROPS(0), "hop-by-hop + AH + tcp: meta l4proto ah" },
};

static const struct row rows_ipv6_nexthdr_vs_l4proto[] = {
	{ EXT6_TCP(EH_ONLY_HOP, 0, 22), DROPS(0), "plain TCP: ip6 nexthdr tcp" },
	{ EXT6_TCP(EH_ONLY_HOP, 1, 22), PASSES, "hop-by-hop + tcp: ip6 nexthdr is 0" },
	{ EXT6_TCP(EH_ROUTING_DST, 2, 22), PASSES, "routing + dstopts + tcp: ip6 nexthdr is 43" },
	{ EXT6_TCP(EH_HOP_ROUTING_DST, 3, 22), PASSES, "three extension headers + tcp" },
};

static const char RULES_UDP9_TCP22[] = INET_T_C(
	"    udp dport 9 drop\n"
	"    tcp dport 22 drop\n");

static const struct row rows_ipv4_fragments[] = {
	{ U4(S4, LOC4, 40, 9, .fix = fix_df), DROPS(0), "DF set: not a fragment" },
	{ T4(S4, LOC4, 40, 22, TH_SYN), DROPS(1), "control tcp 22" },
	/* Fragments have no transport fields for the fast path; a later
	 * fragment passes whatever it holds (parser.h). */
	{ FRAG4(S4, 0, true, IPPROTO_UDP), PASSES, "first fragment, udp dport 9" },
	{ FRAG4(S4, 0, true, IPPROTO_TCP), PASSES, "first fragment, tcp dport 22" },
	{ FRAG4(S4, 1480, false, IPPROTO_UDP), PASSES_FRAG, "last fragment, udp" },
	{ FRAG4(S4, 8, true, IPPROTO_UDP), PASSES_FRAG, "middle fragment, udp" },
	{ FRAG4(S4, 8, true, IPPROTO_TCP), PASSES_FRAG, "middle fragment, tcp" },
};

/* Network-layer fields hold for every fragment (nft_set_pktinfo_ipv4
 * sets tprot from iph->protocol whatever the offset); only a first fragment
 * is decided on them. */
static const struct row rows_ipv4_fragments_l3[] = {
	{ FRAG4(S4, 0, true, IPPROTO_UDP), DROPS(0), "first fragment: meta l4proto udp" },
	{ FRAG4(S4, 1480, false, IPPROTO_UDP), PASSES_FRAG, "last fragment: meta l4proto udp" },
	{ FRAG4("10.0.0.1", 0, true, IPPROTO_TCP), DROPS(1), "first fragment from 10/8" },
	{ FRAG4("10.0.0.1", 8, true, IPPROTO_TCP), PASSES_FRAG, "middle fragment from 10/8" },
	{ FRAG4(S4, 8, false, IPPROTO_TCP), PASSES_FRAG, "last fragment, tcp, other source" },
};

static const struct row rows_ipv6_fragments[] = {
	{ FRAG6(S6, 0, true, IPPROTO_UDP), PASSES, "first fragment, udp dport 9" },
	{ FRAG6(S6, 0, true, IPPROTO_TCP), PASSES, "first fragment, tcp dport 22" },
	{ FRAG6(S6, 1448, false, IPPROTO_UDP), PASSES_FRAG, "last fragment, udp" },
	{ FRAG6(S6, 8, true, IPPROTO_TCP), PASSES_FRAG, "middle fragment, tcp" },
};

static const struct row rows_ipv6_fragments_l3[] = {
	{ FRAG6("2001:db9::1", 0, true, IPPROTO_UDP), DROPS(0),
	  "first fragment: meta l4proto udp" },
	{ FRAG6("2001:db9::1", 1448, false, IPPROTO_UDP), PASSES_FRAG,
	  "last fragment: meta l4proto udp" },
	{ FRAG6(S6, 0, true, IPPROTO_TCP), DROPS(2), "first fragment from 2001:db8::/32" },
	{ FRAG6(S6, 8, true, IPPROTO_TCP), PASSES_FRAG, "middle fragment from 2001:db8::/32" },
	{ FRAG6("2001:db9::1", 8, true, IPPROTO_TCP), PASSES_FRAG,
	  "middle fragment, tcp, other source" },
	/* A non-first fragment whose next header is an extension header:
	 * ipv6_find_hdr() fails (-ENOENT), nftables has no l4proto. */
	{ FRAG6("2001:db9::1", 8, true, EH_DST), PASSES_FRAG, "middle fragment, next header dstopts" },
};

#define VLAN_TAGGED(tpid)                                                                     \
	{ U4("10.0.0.1", LOC4, 40, 9, .eth = tpid, .vlan = { { 100, 0x0800 } }, .nvlan = 1),        \
	  PASSES_WHY(NFO_STAT_PASS_VLAN), "VLAN-tagged IPv4 udp from 10/8" },                        \
	{ U6(S6, LOC6, 40, 9, .eth = tpid, .vlan = { { 0, 0x86dd } }, .nvlan = 1),                    \
	  PASSES_WHY(NFO_STAT_PASS_VLAN), "priority-tagged IPv6 udp" }

static const struct row rows_vlan[] = {
	{ U4("10.0.0.1", LOC4, 40, 9), DROPS_IN("netdev n i", 0), "control: untagged from 10/8" },
	{ U6(S6, LOC6, 40, 9), DROPS_IN("inet t c", 0), "control: untagged IPv6 udp" },
	VLAN_TAGGED(0x8100),
	VLAN_TAGGED(0x88a8),
	VLAN_TAGGED(0x9100),
	/* QinQ */
	{ U4("10.0.0.1", LOC4, 40, 9, .eth = 0x88a8, .vlan = { { 10, 0x8100 }, { 20, 0x0800 } }, .nvlan = 2),
	  PASSES_WHY(NFO_STAT_PASS_VLAN), "QinQ IPv4 udp" },
};

/* ip_rcv_core() / ip6_rcv_core() trim the skb to the IP length before
 * prerouting: bytes past it are padding to nftables. */
static const struct row rows_transport_past_ip_length[] = {
	{ U4(S4, LOC4, 40, 9, .fix = fix_pad_totlen, .v = 2), PASSES,
	  "IPv4 tot_len covers 2 bytes of UDP" },
	{ U4(S4, LOC4, 40, 9, .fix = fix_pad_totlen, .v = 3), PASSES,
	  "IPv4 tot_len covers 3 bytes of UDP" },
	{ U4(S4, LOC4, 40, 9, .fix = fix_pad_totlen, .v = 4), DROPS(0),
	  "IPv4 tot_len covers the ports" },
	{ T4(S4, LOC4, 40, 80, TH_SYN, .fix = fix_pad_totlen, .v = 13), PASSES,
	  "IPv4 tot_len stops before the TCP flags" },
	{ T4(S4, LOC4, 40, 80, TH_SYN, .fix = fix_pad_totlen, .v = 14), DROPS(1),
	  "IPv4 tot_len covers the TCP flags" },
	{ U6(S6, LOC6, 40, 9, .fix = fix_pad_plen, .v = 2), PASSES,
	  "IPv6 payload_len covers 2 bytes of UDP" },
	{ U6(S6, LOC6, 40, 9, .fix = fix_pad_plen, .v = 4), DROPS(0),
	  "IPv6 payload_len covers the ports" },
	{ T6(S6, LOC6, 40, 80, TH_SYN, .fix = fix_pad_plen, .v = 13), PASSES,
	  "IPv6 payload_len stops before the TCP flags" },
	/* Extension headers eat into the length too. */
	{ U6(S6, LOC6, 40, 9, EXT(EH_ONLY_DST), .fix = fix_pad_plen, .v = 8 + 3), PASSES,
	  "IPv6 dstopts + 3 bytes of UDP" },
};

static const struct row rows_effects_stop[] = {
	{ T4(S4, LOC4, 40, 22, TH_SYN), PASSES, "tcp 22 logged before the drop" },
	{ T6(S6, LOC6, 40, 22, TH_SYN), PASSES, "IPv6 tcp 22 logged before the drop" },
	{ U4(S4, LOC4, 40, 9), DROPS(2), "udp 9: log rule does not match" },
	{ T4(S4, LOC4, 40, 26, TH_SYN), PASSES, "tcp 26 limit" },
	{ U4(S4, LOC4, 40, 8), PASSES, "udp 8 after meta mark set" },
	{ T4(S4, LOC4, 40, 27, TH_SYN), DROPS(6), "tcp 27" },
};

static const struct row rows_unconditional_log[] = {
	{ U4(S4, LOC4, 40, 9), PASSES, "udp 9 after log" },
	{ U6(S6, LOC6, 40, 9), PASSES, "IPv6 udp 9 after log" },
};

/*
 * 802.3 frames: eth_type_trans() (net/ethernet/eth.c) sets skb->protocol,
 * which `meta protocol` reads, to ETH_P_802_2 (0x0004) or ETH_P_802_3
 * (0x0001) when the type/length field is below 0x0600 — not to the length.
 */
static const uint8_t MAC_STP[6] = { 0x01, 0x80, 0xc2, 0, 0, 0 };

static const struct row rows_llc_meta_protocol[] = {
	{ { .build = b_eth, .eth = 0x88b5 }, POLICY("netdev n i"), "control: EtherType 0x88b5" },
	{ U4(S4, LOC4, 40, 9), PASSES, "IPv4 accepted" },
	/* An STP BPDU: 802.3 length 38, LLC 42 42 03. */
	{ { .build = b_llc, .mac = MAC_STP, .eth = 38 }, PASSES,
	  "802.2 LLC frame: meta protocol is 0x0004, accepted" },
};

/* ---- the cases ------------------------------------------------------------------------ */

static const struct fp_case cases[] = {
	{ "meta_l4proto", { PHASE(INET_T_C(
		"    meta l4proto udp drop\n"), CHAIN_C, rows_meta_l4proto) } },
	{ "ip_protocol_ip6_nexthdr", { PHASE(
		"table ip t4 {\n"
		"  chain c {\n"
		"    type filter hook prerouting priority 0;\n"
		"    ip protocol udp drop\n"
		"  }\n"
		"}\n"
		"table ip6 t6 {\n"
		"  chain c {\n"
		"    type filter hook prerouting priority 0;\n"
		"    ip6 nexthdr udp drop\n"
		"  }\n"
		"}\n", NULL, rows_ip_protocol_ip6_nexthdr) } },
	{ "ports_eq_neq", { PHASE(INET_T_C(
		"    tcp dport 22 drop\n"
		"    udp sport 53 drop\n"
		"    tcp sport 7000 tcp dport != 80 drop\n"), CHAIN_C, rows_ports_eq_neq) } },
	{ "sctp_th", { PHASE(INET_T_C(
		"    sctp dport 9 drop\n"
		"    th dport 10 drop\n"
		"    meta l4proto { tcp, udp } th sport 11 drop\n"), CHAIN_C, rows_sctp_th) } },
	{ "tcp_mss", { PHASE(INET_T_C(
		"    tcp option maxseg size 1-535 drop\n"
		"    tcp option maxseg missing tcp dport 99 drop\n"
		"    tcp option maxseg missing udp dport 98 drop\n"), CHAIN_C, rows_tcp_mss) } },
	{ "ports_ranges_sets", { PHASE(
		"table inet t {\n"
		"  set blocked {\n"
		"    type inet_service\n"
		"    elements = { 3306, 5432 }\n"
		"  }\n"
		"  set spans {\n"
		"    type inet_service\n"
		"    flags interval\n"
		"    elements = { 6000-6100, 40000-40001 }\n"
		"  }\n"
		"  chain c {\n"
		"    type filter hook prerouting priority 0;\n"
		"    tcp dport 1000-2000 drop\n"
		"    udp dport { 53, 123, 5000-5010 } drop\n"
		"    tcp dport @blocked drop\n"
		"    udp sport != 1-1023 udp dport 7 drop\n"
		"    tcp dport @spans drop\n"
		"  }\n"
		"}\n", CHAIN_C, rows_ports_ranges_sets) } },
	{ "named_sets", {
		PHASE("table inet t {\n"
		      "  set ports { type inet_service; elements = { 22, 80, 65535 } }\n"
		      "  set hosts { type ipv4_addr; elements = { 198.18.0.1, 198.18.0.3 } }\n"
		      "  set pairs { type ipv4_addr . inet_service; elements = { 198.18.1.1 . 53 } }\n"
		      "  set triples { type ipv6_addr . ipv6_addr . inet_service;\n"
		      "                elements = { 2001:db8::1 . ::1 . 8080 } }\n"
		      "  set keep { type inet_service; flags interval; elements = { 1000-1999 } }\n"
		      NAMED_SETS_CHAIN, CHAIN_C, rows_named_sets),
		PHASE("table inet t {\n"
		      "  set ports { type inet_service; elements = { 23 } }\n"
		      "  set hosts { type ipv4_addr; elements = { 198.18.0.2 } }\n"
		      "  set pairs { type ipv4_addr . inet_service; elements = { 198.18.1.1 . 54 } }\n"
		      "  set triples { type ipv6_addr . ipv6_addr . inet_service; }\n"
		      "  set keep { type inet_service; flags interval; elements = { 0-999, 2000-65535 } }\n"
		      NAMED_SETS_CHAIN, CHAIN_C, rows_named_sets_changed) } },
	{ "icmp_types", { PHASE(INET_T_C(
		"    icmp type echo-request drop\n"
		"    icmpv6 type echo-request drop\n"
		"    icmp type destination-unreachable icmp code port-unreachable drop\n"),
		CHAIN_C, rows_icmp_types) } },
	{ "addresses", { PHASE(INET_T_C(
		"    ip saddr 10.0.0.0/8 drop\n"
		"    ip saddr 172.16.0.0/12 drop\n"
		"    ip daddr 192.0.2.0/24 drop\n"
		"    ip saddr 198.51.100.7 drop\n"
		"    ip6 saddr 2001:db8::/32 drop\n"
		"    ip6 daddr fd00::1234 drop\n"
		"    ip saddr != 100.64.0.0/10 ip daddr 203.0.113.5 drop\n"
		"    ip6 saddr fe80::/10 ip6 daddr ::1 drop\n"), CHAIN_C, rows_addresses) } },
	{ "sets_maps_concat", { PHASE(
		"table inet t {\n"
		"  set nets4 {\n"
		"    type ipv4_addr; flags interval\n"
		"    elements = { 10.0.0.0/8, 192.168.1.0/24, 172.16.5.5 }\n"
		"  }\n"
		"  set nets6 {\n"
		"    type ipv6_addr; flags interval\n"
		"    elements = { 2001:db8::/48, fd00::1 }\n"
		"  }\n"
		"  chain c {\n"
		"    type filter hook prerouting priority 0;\n"
		"    ip saddr . tcp dport { 198.18.0.1 . 22 } drop\n"
		"    udp dport vmap { 9 : drop, 10 : accept }\n"
		"    ip saddr @nets4 drop\n"
		"    ip6 saddr @nets6 drop\n"
		"    ip saddr { 203.0.113.0/25, 203.0.113.200-203.0.113.210 } drop\n"
		"    ip6 daddr 2001:db8:aaaa:bbb0::/60 drop\n"
		"    ip daddr 100.100.0.0/16 drop\n"
		"  }\n"
		"}\n", CHAIN_C, rows_sets_maps_concat) } },
	{ "plan_too_big", { PHASE(RULES_L4_SADDR, CHAIN_C, rows_plan_too_big) }, .plan_too_big = true },
	{ "tcp_flags", { PHASE(INET_T_C(
		"    tcp dport 1 tcp flags syn drop\n"
		"    tcp dport 2 tcp flags == syn drop\n"
		"    tcp dport 3 tcp flags & (syn|ack) == syn drop\n"), CHAIN_C, rows_tcp_flags) } },
	{ "nfproto_protocol", { PHASE(INET_T_C(
		"    meta nfproto ipv6 udp dport 9 drop\n"
		"    meta protocol ip tcp dport 9 drop\n"
		"    meta nfproto ipv4 meta protocol ip6 drop\n"), CHAIN_C, rows_nfproto_protocol) } },
	{ "iif_iifname", { PHASE(
		"table inet t {\n"
		"  chain c {\n"
		"    type filter hook prerouting priority 0;\n"
		"    iifname \"lo\" udp dport 9 drop\n"
		"    iifname \"eth9\" udp dport 10 drop\n"
		"    iif \"lo\" udp dport 11 drop\n"
		"    iifname != \"lo\" udp dport 12 drop\n"
		"    iifname \"l*\" udp dport 13 drop\n"
		"  }\n"
		"}\n", CHAIN_C, rows_iif_iifname) } },
	{ "netdev_ingress", { PHASE(
		"table netdev n {\n"
		"  chain i {\n"
		"    type filter hook ingress device lo priority 0;\n"
		"    meta protocol arp drop\n"
		"    udp dport 9 drop\n"
		"    ip saddr 10.0.0.0/8 drop\n"
		"  }\n"
		"}\n"
		"table inet ti {\n"
		"  chain i {\n"
		"    type filter hook ingress device lo priority 0;\n"
		"    tcp dport 22 drop\n"
		"  }\n"
		"}\n", "netdev n i", rows_netdev_ingress) } },
	{ "prerouting_input_local", { PHASE(
		"table inet t {\n"
		"  chain pre {\n"
		"    type filter hook prerouting priority 0;\n"
		"    udp dport 9 drop\n"
		"  }\n"
		"  chain in {\n"
		"    type filter hook input priority 0;\n"
		"    udp dport 7 drop\n"
		"    tcp dport 22 drop\n"
		"  }\n"
		"}\n", NULL, rows_prerouting_input_local) } },
	{ "not_for_this_host", { PHASE(
		"table netdev n {\n"
		"  chain i {\n"
		"    type filter hook ingress device lo priority 0;\n"
		"    udp dport 9 drop\n"
		"  }\n"
		"}\n"
		"table inet t {\n"
		"  chain pre {\n"
		"    type filter hook prerouting priority 0;\n"
		"    udp dport 10 drop\n"
		"  }\n"
		"  chain in {\n"
		"    type filter hook input priority 0;\n"
		"    udp dport 11 drop\n"
		"  }\n"
		"}\n", NULL, rows_not_for_this_host) } },
	{ "pkttype", { PHASE(
		"table netdev n {\n"
		"  chain i {\n"
		"    type filter hook ingress device lo priority 0;\n"
		"    udp dport 9 meta pkttype broadcast drop\n"
		"    udp dport 9 meta pkttype multicast drop\n"
		"    udp dport 9 meta pkttype other drop\n"
		"    udp dport 10 meta pkttype host drop\n"
		"  }\n"
		"}\n"
		"table inet t {\n"
		"  chain in {\n"
		"    type filter hook input priority 0;\n"
		"    udp dport 11 meta pkttype != broadcast drop\n"
		"    udp dport 12 meta pkttype { broadcast, multicast } drop\n"
		"  }\n"
		"}\n", NULL, rows_pkttype) } },
	{ "policy_drop_input", { PHASE(
		"table inet t {\n"
		"  chain in {\n"
		"    type filter hook input priority 0; policy drop;\n"
		"    tcp dport 22 accept\n"
		"    ip saddr 10.0.0.0/8 accept\n"
		"  }\n"
		"}\n", NULL, rows_policy_drop_input) } },
	{ "policy_drop_prerouting", { PHASE(
		"table ip t {\n"
		"  chain pre {\n"
		"    type filter hook prerouting priority 0; policy drop;\n"
		"    udp dport 53 accept\n"
		"  }\n"
		"}\n", NULL, rows_policy_drop_prerouting) } },
	{ "reject", { PHASE_REJECT(RULES_REJECT, CHAIN_C, rows_reject_peer, &REJECT_PEER2),
		      PHASE_REJECT(RULES_REJECT, CHAIN_C, rows_reject_global, &REJECT_GLOBAL4) } },
	{ "reset", { PHASE_REJECT(RULES_RESET, CHAIN_C, rows_reset, &RESET_ON),
		     PHASE_REJECT(RULES_RESET, CHAIN_C, rows_reset_off,
				  &(struct nfo_reject_cfg){ .flags = NFO_REJECT_ON }) },
	  .resets = true },
	{ "reject_unlimited", { PHASE_REJECT(RULES_REJECT, CHAIN_C, rows_reject_unlimited4,
					     &REJECT_UNLIMITED4) } },
	{ "chain_semantics", { PHASE(
		"table inet t {\n"
		"  chain sub {\n"
		"    udp dport 9 drop\n"
		"    return\n"
		"  }\n"
		"  chain a {\n"
		"    type filter hook prerouting priority -10;\n"
		"    tcp dport 80 accept\n"
		"    udp dport 9-10 jump sub\n"
		"  }\n"
		"  chain b {\n"
		"    type filter hook prerouting priority 0;\n"
		"    tcp dport 80 drop\n"
		"    tcp dport 25 reject\n"
		"    tcp dport 23 counter drop\n"
		"  }\n"
		"}\n", NULL, rows_chain_semantics) } },
	{ "nat_stops", { PHASE(
		"table ip nat {\n"
		"  chain pre {\n"
		"    type nat hook prerouting priority -100;\n"
		"    udp dport 12 dnat to 127.0.0.1:13\n"
		"  }\n"
		"}\n"
		"table inet t {\n"
		"  chain early {\n"
		"    type filter hook prerouting priority -150;\n"
		"    udp dport 9 drop\n"
		"  }\n"
		"  chain late {\n"
		"    type filter hook prerouting priority 0;\n"
		"    udp dport 10 drop\n"
		"  }\n"
		"  chain in {\n"
		"    type filter hook input priority 0;\n"
		"    udp dport 11 drop\n"
		"    udp dport 12 drop\n"
		"    icmp type echo-request drop\n"
		"  }\n"
		"}\n", NULL, rows_nat_stops) } },
	{ "goto_return_jump", { PHASE(
		"table inet t {\n"
		"  chain g {\n"
		"    udp sport 1 accept\n"
		"  }\n"
		"  chain j {\n"
		"    udp sport 2 accept\n"
		"    udp sport 3 drop\n"
		"    udp sport 4 goto g\n"
		"  }\n"
		"  chain c {\n"
		"    type filter hook prerouting priority 0;\n"
		"    udp dport 9 goto g\n"
		"    udp dport 9 drop\n"
		"    udp dport 10 jump j\n"
		"    udp dport 10 drop\n"
		"    udp dport 11 return\n"
		"    udp dport 11 drop\n"
		"    udp dport 12 continue\n"
		"    udp dport 12 drop\n"
		"  }\n"
		"  chain p {\n"
		"    type filter hook prerouting priority 10; policy drop;\n"
		"    udp dport 13 return\n"
		"    udp dport 9-12 accept\n"
		"    udp sport 1-4 accept\n"
		"  }\n"
		"}\n", CHAIN_C, rows_goto_return_jump) } },
	{ "chain_priorities", { PHASE(
		"table inet t {\n"
		"  chain early {\n"
		"    type filter hook prerouting priority -10;\n"
		"    udp dport 9 log\n"
		"    tcp dport 22 accept\n"
		"  }\n"
		"  chain same1 {\n"
		"    type filter hook prerouting priority 0;\n"
		"    udp dport 10 log\n"
		"  }\n"
		"  chain same2 {\n"
		"    type filter hook prerouting priority 0;\n"
		"    udp dport 10 drop\n"
		"    udp dport 9 drop\n"
		"    udp dport 11 drop\n"
		"  }\n"
		"  chain late {\n"
		"    type filter hook prerouting priority 10; policy drop;\n"
		"    udp dport 11 log\n"
		"    meta l4proto udp accept\n"
		"  }\n"
		"}\n", NULL, rows_chain_priorities) } },
	{ "other_families", { PHASE(
		"table bridge b {\n"
		"  chain pre {\n"
		"    type filter hook prerouting priority 0; policy drop;\n"
		"    udp dport 9 drop\n"
		"  }\n"
		"  chain in {\n"
		"    type filter hook input priority 0; policy drop;\n"
		"  }\n"
		"}\n"
		"table arp a {\n"
		"  chain in {\n"
		"    type filter hook input priority 0; policy drop;\n"
		"  }\n"
		"}\n"
		"table inet t {\n"
		"  chain c_output {\n"
		"    type filter hook output priority 0; policy drop;\n"
		"  }\n"
		"  chain c_forward {\n"
		"    type filter hook forward priority 0; policy drop;\n"
		"  }\n"
		"  chain c_postrouting {\n"
		"    type filter hook postrouting priority 0; policy drop;\n"
		"  }\n"
		"}\n", NULL, rows_other_families) } },
	{ "not_l3_device", { PHASE(
		"table netdev n {\n"
		"  chain i {\n"
		"    type filter hook ingress device lo priority 0;\n"
		"    udp dport 9 drop\n"
		"  }\n"
		"}\n"
		"table inet t {\n"
		"  chain pre {\n"
		"    type filter hook prerouting priority 0;\n"
		"    udp dport 10 drop\n"
		"  }\n"
		"  chain in {\n"
		"    type filter hook input priority 0; policy drop;\n"
		"  }\n"
		"}\n", NULL, rows_not_l3_device) }, .not_l3 = true },
	{ "no_local_addresses", { PHASE(
		"table inet t {\n"
		"  chain pre {\n"
		"    type filter hook prerouting priority 0;\n"
		"    udp dport 10 drop\n"
		"  }\n"
		"  chain in {\n"
		"    type filter hook input priority 0;\n"
		"    udp dport 11 drop\n"
		"  }\n"
		"}\n", NULL, rows_no_local_addresses) }, .none_up = true },
	{ "negated_sets_unknown_meta", { PHASE(INET_T_C(
		"    meta mark 0 tcp dport 1 drop\n"
		"    udp dport != { 53, 123, 1000-2000 } udp sport 9 drop\n"
		"    ip dscp cs1 tcp dport 2 drop\n"
		"    ip ttl 1 tcp dport 3 drop\n"
		"    ether saddr 02:00:00:00:00:02 tcp dport 4 drop\n"
		"    meta pkttype host tcp dport 5 drop\n"), CHAIN_C, rows_negated_sets_unknown_meta) } },
	{ "ipv4_options", { PHASE(RULES_L4_SADDR, CHAIN_C, rows_ipv4_options) } },
	{ "ipv4_malformed", { PHASE(RULES_L4_SADDR, CHAIN_C, rows_ipv4_malformed) } },
	{ "ipv6_malformed", { PHASE(RULES_L4_SADDR, CHAIN_C, rows_ipv6_malformed) } },
	{ "ipv6_exthdrs", { PHASE(INET_T_C(
		"    tcp dport 22 drop\n"
		"    meta l4proto udp drop\n"), CHAIN_C, rows_ipv6_exthdrs) } },
	{ "ipv6_ah", {
		PHASE(INET_T_C("    tcp dport 22 drop\n"), CHAIN_C, rows_ipv6_ah),
		PHASE(INET_T_C("    meta l4proto ah drop\n"), CHAIN_C, rows_ipv6_ah_l4proto) } },
	{ "ipv6_nexthdr_vs_l4proto", { PHASE(
		"table ip6 t {\n"
		"  chain c {\n"
		"    type filter hook prerouting priority 0;\n"
		"    ip6 nexthdr tcp drop\n"
		"  }\n"
		"}\n", "ip6 t c", rows_ipv6_nexthdr_vs_l4proto) } },
	{ "ipv4_fragments", { PHASE(RULES_UDP9_TCP22, CHAIN_C, rows_ipv4_fragments),
			      PHASE(RULES_L4_SADDR, CHAIN_C, rows_ipv4_fragments_l3) } },
	{ "ipv6_fragments", { PHASE(RULES_UDP9_TCP22, CHAIN_C, rows_ipv6_fragments),
			      PHASE(RULES_L4_SADDR, CHAIN_C, rows_ipv6_fragments_l3) } },
	{ "vlan", { PHASE(
		"table netdev n {\n"
		"  chain i {\n"
		"    type filter hook ingress device lo priority 0;\n"
		"    ip saddr 10.0.0.0/8 drop\n"
		"  }\n"
		"}\n"
		INET_T_C("    meta l4proto udp drop\n"), NULL, rows_vlan) } },
	{ "transport_past_ip_length", { PHASE(INET_T_C(
		"    udp dport 9 drop\n"
		"    tcp flags syn drop\n"), CHAIN_C, rows_transport_past_ip_length) } },
	{ "effects_stop", { PHASE(
		"table inet t {\n"
		"  chain c {\n"
		"    type filter hook prerouting priority 0;\n"
		"    tcp dport 22 log prefix \"ssh \"\n"
		"    tcp dport 22 drop\n"
		"    udp dport 9 drop\n"
		"    tcp dport 26 limit rate 1/second drop\n"
		"    udp dport 8 meta mark set 1\n"
		"    udp dport 8 drop\n"
		"    tcp dport 27 drop\n"
		"  }\n"
		"}\n", CHAIN_C, rows_effects_stop) } },
	{ "unconditional_log", { PHASE(INET_T_C(
		"    log\n"
		"    udp dport 9 drop\n"), CHAIN_C, rows_unconditional_log) } },
	{ "llc_meta_protocol", { PHASE(
		"table netdev n {\n"
		"  chain i {\n"
		"    type filter hook ingress device lo priority 0; policy drop;\n"
		"    meta protocol { ip, ip6, arp, 0x0004 } accept\n"
		"  }\n"
		"}\n", NULL, rows_llc_meta_protocol) } },
};

/* ---- cases whose ruleset or rows are generated ------------------------------------------- */

/* Runs rows made at run time; frees nothing (the caller owns them). */
#define RUN_ROWS(f, rows, n) run_rows(f, __func__, CHAIN_C, rows, n)

/* More named sets than slots: the rest go into the diagram, still exact. */
static void test_named_sets_overflow(void **state)
{
	struct row rows[NFO_MAX_SETS + 4];
	char rs[4096];
	size_t o = 0, n = 0;
	struct fx *f;

	o += (size_t)snprintf(rs + o, sizeof(rs) - o, "table inet t {\n");
	for (int i = 0; i < NFO_MAX_SETS + 3; i++)
		o += (size_t)snprintf(rs + o, sizeof(rs) - o,
				      "  set s%d { type inet_service; elements = { %d } }\n", i, 100 + i);
	o += (size_t)snprintf(rs + o, sizeof(rs) - o,
			      "  chain c {\n    type filter hook prerouting priority 0;\n");
	for (int i = 0; i < NFO_MAX_SETS + 3; i++)
		o += (size_t)snprintf(rs + o, sizeof(rs) - o, "    udp dport @s%d drop\n", i);
	snprintf(rs + o, sizeof(rs) - o, "  }\n}\n");
	f = fx_with(state, rs);
	for (int i = 0; i < NFO_MAX_SETS + 3; i++)
		rows[n++] = (struct row){ U4(S4, LOC4, 40, (uint16_t)(100 + i)), DROPS(i), "udp port in its set" };
	rows[n++] = (struct row){ U4(S4, LOC4, 40, 99), PASSES, "udp 99 in no set" };
	RUN_ROWS(f, rows, n);
	assert_int_equal(f->plan->nsets, NFO_MAX_SETS);
}

/* A set big enough for 16-bit radix sub-tables almost everywhere. */
static void test_big_port_set(void **state)
{
	struct row rows[3 * 43 + 3];
	size_t cap = 8192, n, k = 0;
	char *text = malloc(cap);
	struct fx *f;

	assert_non_null(text);
	n = (size_t)snprintf(text, cap,
			     "table inet t {\n"
			     "  set ports {\n"
			     "    type inet_service; flags interval\n"
			     "    elements = { ");
	for (unsigned i = 0; i < 300; i++)
		n += (size_t)snprintf(text + n, cap - n, "%s%u", i ? ", " : "", 1000 + 211 * i);
	n += (size_t)snprintf(text + n, cap - n, ", 65000-65535 }\n"
			      "  }\n"
			      "  chain c {\n"
			      "    type filter hook prerouting priority 0;\n"
			      "    udp dport @ports drop\n"
			      "  }\n"
			      "}\n");
	assert_true(n < cap);
	f = fx_with(state, text);
	free(text);

	for (unsigned i = 0; i < 300; i += 7) {
		uint16_t port = (uint16_t)(1000 + 211 * i);

		rows[k++] = (struct row){ U4(S4, LOC4, 40, port), DROPS(0), "udp dport in the set" };
		rows[k++] = (struct row){ U4(S4, LOC4, 40, (uint16_t)(port + 1)), PASSES, "udp dport + 1" };
		rows[k++] = (struct row){ U6(S6, LOC6, 40, (uint16_t)(port - 1)), PASSES, "IPv6 udp dport - 1" };
	}
	rows[k++] = (struct row){ U4(S4, LOC4, 40, 64999), PASSES, "udp dport 64999" };
	rows[k++] = (struct row){ U4(S4, LOC4, 40, 65000), DROPS(0), "udp dport 65000" };
	rows[k++] = (struct row){ U4(S4, LOC4, 40, 65535), DROPS(0), "udp dport 65535" };
	assert_true(k <= ARRAY_SIZE(rows));
	RUN_ROWS(f, rows, k);
}

/* More LPM edges than the loader's default-entry search looks at (64). */
static void test_many_addresses(void **state)
{
	char addrs[4 * 14][64];
	struct row rows[4 * 14];
	size_t cap = 16384, n, k = 0;
	char *text = malloc(cap);
	struct fx *f;

	assert_non_null(text);
	n = (size_t)snprintf(text, cap, "table inet t {\n  set s4 {\n    type ipv4_addr\n    elements = { ");
	for (unsigned i = 0; i < 150; i++)
		n += (size_t)snprintf(text + n, cap - n, "%s10.%u.%u.1", i ? ", " : "", i, i * 3 % 256);
	n += (size_t)snprintf(text + n, cap - n, " }\n  }\n  set s6 {\n    type ipv6_addr\n    elements = { ");
	for (unsigned i = 0; i < 150; i++)
		n += (size_t)snprintf(text + n, cap - n, "%s2001:db8:%x::%x", i ? ", " : "", i * 7, i + 1);
	n += (size_t)snprintf(text + n, cap - n,
			      " }\n  }\n"
			      "  chain c {\n"
			      "    type filter hook prerouting priority 0;\n"
			      "    ip saddr @s4 drop\n"
			      "    ip6 saddr @s6 drop\n"
			      "  }\n"
			      "}\n");
	assert_true(n < cap);
	f = fx_with(state, text);
	free(text);

	for (unsigned i = 0; i < 150; i += 11) {
		assert_true(k + 4 <= ARRAY_SIZE(rows));
		snprintf(addrs[k], sizeof(addrs[k]), "10.%u.%u.1", i, i * 3 % 256);
		rows[k] = (struct row){ U4(addrs[k], LOC4, 40, 9), DROPS(0), "source in a set of 150 addresses" };
		k++;
		snprintf(addrs[k], sizeof(addrs[k]), "10.%u.%u.2", i, i * 3 % 256);
		rows[k] = (struct row){ U4(addrs[k], LOC4, 40, 9), PASSES, "neighbour of a source in the set" };
		k++;
		snprintf(addrs[k], sizeof(addrs[k]), "2001:db8:%x::%x", i * 7, i + 1);
		rows[k] = (struct row){ U6(addrs[k], LOC6, 40, 9), DROPS(1), "IPv6 source in a set of 150 addresses" };
		k++;
		snprintf(addrs[k], sizeof(addrs[k]), "2001:db8:%x::%x", i * 7, i + 2);
		rows[k] = (struct row){ U6(addrs[k], LOC6, 40, 9), PASSES, "IPv6 neighbour of a source in the set" };
		k++;
	}
	RUN_ROWS(f, rows, k);
}

/*
 * Frames around the sizes where the parser switches between reading the
 * headers in one slice and one slice per header (NFO_HEAD4_LEN = 48,
 * 14 + NFO_HEAD6_LEN = 68): the same fields either way.
 */
static void test_frame_sizes(void **state)
{
	struct fx *f = fx_with(state, INET_T_C(
		"    udp sport 40 udp dport 9 drop\n"
		"    ip saddr 192.0.2.7 drop\n"
		"    ip6 saddr 2001:db8::7 drop\n"));
	/* payload n: an IPv4 frame of 42 + n bytes, an IPv6 one of 62 + n */
	static const struct {
		int ip;
		const char *src;
		uint16_t sport, dport;
		struct expect x;
		const char *what;
	} shapes[] = {
		{ 4, S4, 40, 9, DROPS(0), "port 9" },
		{ 4, S4, 40, 10, PASSES, "port 10" },
		{ 4, "192.0.2.7", 41, 10, DROPS(1), "source" },
		{ 6, S6, 40, 9, DROPS(0), "port 9" },
		{ 6, S6, 40, 10, PASSES, "port 10" },
		{ 6, "2001:db8::7", 41, 10, DROPS(2), "source" },
	};
	char descs[13 * ARRAY_SIZE(shapes)][96];
	struct row rows[13 * ARRAY_SIZE(shapes)];
	size_t k = 0;

	for (size_t n = 0; n <= 12; n++)
		for (size_t s = 0; s < ARRAY_SIZE(shapes); s++, k++) {
			int ip = shapes[s].ip;

			snprintf(descs[k], sizeof(descs[k]), "IPv%d udp, %zu-byte frame, %s", ip,
				 (ip == 4 ? 42 : 62) + n, shapes[s].what);
			rows[k] = (struct row){
				.fr = { .build = b_ip, .ip = ip, .src = shapes[s].src,
					.dst = ip == 4 ? LOC4 : LOC6, .proto = IPPROTO_UDP,
					.sport = shapes[s].sport, .dport = shapes[s].dport, .pay = n },
				.x = shapes[s].x,
				.desc = descs[k],
			};
		}
	RUN_ROWS(f, rows, k);
}

/* ---- sequences: devices, conntrack, generations and counters ------------------------------- */

static void shell(const char *cmd)
{
	int st = system(cmd);

	if (st != 0)
		fail_msg("%s: status %d", cmd, st);
}

static int teardown_veth(void **state)
{
	rx_ifindex = LO_IFINDEX;
	(void)system("ip link del nfo-t0 2>/dev/null");
	return teardown_fx(state);
}

/* Chains bound to another device do not apply on lo; frames on a device
 * the plan has no root for pass. */
static const struct row rows_other_device_lo[] = {
	{ U4(S4, LOC4, 40, 9), PASSES, "lo: ingress chain of nfo-t0" },
	{ U4(S4, LOC4, 40, 10), DROPS(0), "lo: prerouting udp 10" },
};

static const struct row rows_other_device_t0[] = {
	{ U4(S4, LOC4, 40, 9), PASSES_WHY(NFO_STAT_PASS_DISABLED), "nfo-t0 (no root): udp 9" },
	{ U4(S4, LOC4, 40, 10), PASSES_WHY(NFO_STAT_PASS_DISABLED), "nfo-t0 (no root): udp 10" },
};

/* The fd of the XDP program's map called name (the caller closes it). */
static int prog_map_fd(const struct fx *f, const char *name)
{
	uint32_t ids[64] = {}, n = ARRAY_SIZE(ids);
	struct bpf_prog_info pi = { .nr_map_ids = n, .map_ids = (uint64_t)(uintptr_t)ids };
	uint32_t len = sizeof(pi);
	int pfd = nfo_loader_prog_fd(f->l, NFO_MODE_XDP);

	assert_true(pfd >= 0);
	assert_int_equal(bpf_obj_get_info_by_fd(pfd, &pi, &len), 0);
	assert_true(pi.nr_map_ids <= n);
	for (uint32_t i = 0; i < pi.nr_map_ids; i++) {
		struct bpf_map_info mi = {};
		uint32_t mlen = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		assert_true(fd >= 0);
		assert_int_equal(bpf_obj_get_info_by_fd(fd, &mi, &mlen), 0);
		if (strcmp(mi.name, name) == 0)
			return fd;
		close(fd);
	}
	fail_msg("no map %s", name);
	return -1;
}

/* The program reads an interface's root from its nfo_rootcache slot (the
 * loader writes the slots through mmap): the slot the program sees holds
 * that interface as its owner and the same refs as nfo_roots. */
static void assert_rootcache(const struct fx *f, uint32_t ifindex)
{
	int roots = prog_map_fd(f, "nfo_roots"), cache = prog_map_fd(f, "nfo_rootcache");
	uint32_t slot = ifindex % NFO_ROOT_CACHE;
	struct nfo_root r, c;

	assert_int_equal(bpf_map_lookup_elem(roots, &ifindex, &r), 0);
	assert_int_equal(bpf_map_lookup_elem(cache, &slot, &c), 0);
	assert_int_equal(c.ifindex, ifindex);
	assert_memory_equal(&c, &r, offsetof(struct nfo_root, ifindex));
	close(roots);
	close(cache);
}

static void test_other_device(void **state)
{
	struct fx *f;
	int other;

	shell("ip link add nfo-t0 type veth peer name nfo-t1 && ip link set nfo-t0 up && ip link set nfo-t1 up");
	other = (int)if_nametoindex("nfo-t0");
	assert_true(other > 1);
	f = fx_with(state,
		"table netdev n {\n"
		"  chain i {\n"
		"    type filter hook ingress device nfo-t0 priority 0;\n"
		"    udp dport 9 drop\n"
		"  }\n"
		"}\n"
		INET_T_C("    udp dport 10 drop\n"));
	assert_rootcache(f, LO_IFINDEX);
	RUN_ROWS(f, rows_other_device_lo, ARRAY_SIZE(rows_other_device_lo));
	rx_ifindex = other;
	RUN_ROWS(f, rows_other_device_t0, ARRAY_SIZE(rows_other_device_t0));
	rx_ifindex = LO_IFINDEX;
}

/* An established TCP connection over lo in the test's namespace; its
 * conntrack entry stays after the sockets are gone (TIME_WAIT), and
 * fx_apply() replaces rulesets without flushing conntrack. */
static uint16_t tcp_flow_to(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int one = 1, l, c, a;

	l = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(l >= 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 1), 0);
	c = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	assert_int_equal(getsockname(c, (struct sockaddr *)&sa, &len), 0);
	assert_int_equal(write(c, "x", 1), 1);
	close(a);
	close(c);
	close(l);
	return ntohs(sa.sin_port);
}

/*
 * ct state from conntrack lookups (bpf_xdp_ct_lookup / bpf_skb_ct_lookup):
 * a flow with no entry is NEW or INVALID, never established or related (no
 * helper in the ruleset); one with an entry that saw a reply may be
 * established (or NEW, or INVALID: the kernel's tracker decides).
 */
static const struct row rows_ct_state[] = {
	/* no entry: NEW (or INVALID), so the port rule decides */
	{ T4(S4, LOC4, 40, 22, TH_SYN), DROPS(1), "tcp 22 SYN without conntrack entry" },
	{ T6(S6, LOC6, 40, 22, TH_ACK), DROPS(1), "IPv6 tcp 22 without conntrack entry" },
	/* certainly dropped by "invalid drop" or "udp dport 9 drop": credited
	 * to the likely one (NEW, so the port rule) */
	{ U4(S4, LOC4, 40, 9), DROPS(3), "udp 9 without entry: credited to udp dport 9 drop" },
	/* INVALID is always possible: dropped or accepted, nftables decides */
	{ T4(S4, LOC4, 40, 80, TH_SYN), PASSES, "tcp 80: ct state invalid drop is UNKNOWN" },
	/* ICMP has no conntrack lookup: UNKNOWN */
	{ I4(S4, LOC4, 8, 0), PASSES, "icmp: no conntrack lookup" },
	{ U4(S4, LOC4, 40, 10), DROPS_IN("inet t early", 0), "udp 10 in the earlier chain" },
};

/* `ct state new tcp dport 80 drop`, policy accept: only a SYN conntrack
 * cannot call invalid (good header and checksum, checked by the fast
 * path) is certainly new. */
static const struct row rows_ct_syn[] = {
	{ T4(S4, LOC4, 41, 80, TH_SYN), DROPS(0), "SYN with a good checksum: new" },
	{ T6(S6, LOC6, 41, 80, TH_SYN), DROPS(0), "IPv6 SYN with a good checksum: new" },
	{ T4(S4, LOC4, 42, 80, TH_SYN, .fix = fix_tcp_csum), PASSES,
	  "SYN with a bad checksum: invalid" },
	{ T4(S4, LOC4, 43, 80, TH_SYN | TH_ACK), PASSES, "SYN-ACK: new or invalid" },
	{ T4(S4, LOC4, 44, 80, TH_ACK), PASSES, "ACK: new or invalid" },
	{ T4(S4, LOC4, 45, 80, TH_SYN, .fix = fix_tcp_payload, .v = 16), DROPS(0),
	  "SYN with 16 data bytes" },
	{ T4(S4, LOC4, 46, 80, TH_SYN, .fix = fix_tcp_payload, .v = 60), PASSES,
	  "SYN of more than 64 bytes: not checked" },
	{ T4(S4, LOC4, 47, 81, TH_SYN), PASSES, "another port" },
};

static void test_ct_syn(void **state)
{
	struct fx *f = fx_with(state, INET_T_C("    ct state new tcp dport 80 drop\n"));

	RUN_ROWS(f, rows_ct_syn, ARRAY_SIZE(rows_ct_syn));
}

static void test_ct_state(void **state)
{
	struct fx *f = fx_with(state, INET_T_C(
		"    ct state established,related accept\n"));
	const char *ruleset =
		"table inet t {\n"
		"  chain early {\n"
		"    type filter hook prerouting priority -10;\n"
		"    udp dport 10 drop\n"
		"  }\n"
		"  chain c {\n"
		"    type filter hook prerouting priority 0;\n"
		"    ct state established,related accept\n"
		"    tcp dport 22 drop\n"
		"    ct state invalid drop\n"
		"    udp dport 9 drop\n"
		"  }\n"
		"}\n";
	uint16_t eph = tcp_flow_to(22);
	/* the live flow, both directions: established is possible */
	const struct row live[] = {
		{ T4(LOC4, LOC4, eph, 22, TH_ACK), PASSES, "tcp 22 of an established flow" },
		{ T4(LOC4, LOC4, 22, eph, TH_ACK), PASSES,
		  "the reply direction of an established flow" },
	};

	fx_apply(f, ruleset);
	RUN_ROWS(f, live, ARRAY_SIZE(live));
	RUN_ROWS(f, rows_ct_state, ARRAY_SIZE(rows_ct_state));
}

/* ---- generations and counters ------------------------------------------------------ */
static void test_disable(void **state)
{
	struct fx *f = fx_with(state, RULES_L4_SADDR);
	const char *k = rk(f, "inet", "t", "c", 0);
	struct nfo_counter before, after;
	struct pkt u, t;

	udp4(&u, "192.0.2.1", LOC4, 40, 9);
	tcp4(&t, "10.0.0.1", LOC4, 40, 22, TH_SYN);
	DROP(f, &u, k, "enabled: udp");
	assert_int_equal(nfo_loader_counter(f->l, k, &before), 0);
	assert_int_equal(before.packets, 2);

	assert_int_equal(nfo_loader_disable(f->l), 0);
	assert_false(nfo_loader_enabled(f->l));
	PASS_WHY(f, &u, NFO_STAT_PASS_DISABLED, "disabled: udp");
	PASS_WHY(f, &t, NFO_STAT_PASS_DISABLED, "disabled: from 10/8");
	udp6(&u, "2001:db8::1", LOC6, 40, 9);
	PASS_WHY(f, &u, NFO_STAT_PASS_DISABLED, "disabled: IPv6 udp");
	arp(&u, MAC_LO);
	PASS_WHY(f, &u, NFO_STAT_PASS_DISABLED, "disabled: ARP");
	assert_int_equal(nfo_loader_counter(f->l, k, &after), 0);
	assert_int_equal(after.packets, before.packets);
	assert_int_equal(after.bytes, before.bytes);

	/* The next generation runs again. */
	fx_apply_current(f);
	udp4(&u, "192.0.2.1", LOC4, 40, 9);
	DROP(f, &u, k, "re-enabled: udp");
	assert_int_equal(nfo_loader_counter(f->l, k, &after), 0);
	assert_int_equal(after.packets, before.packets + 2);
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * A set with timeouts (CrowdSec's shape): each element drops until shortly
 * before nftables expires it. Elements already within the margin count as
 * gone; one without a timeout never goes.
 */
static void test_timeout_set(void **state)
{
	struct fx *f = fx_new();
	const char *k;
	const struct nfo_set *s;
	double t0, t1, left;
	struct pkt p;

	*state = f;
	/* the programs first (verifying them takes seconds on a loaded
	 * machine), so that the 4 s below are the element's */
	fx_apply(f, INET_T_C("    udp dport 7 drop\n"));
	t0 = mono_s();
	fx_apply(f, "table inet t {\n"
		    "  set ban {\n"
		    "    type ipv4_addr; flags timeout; timeout 30s;\n"
		    "    elements = { 192.0.2.1 timeout 1h, 192.0.2.2 timeout 4s,\n"
		    "                 192.0.2.3 timeout 1h expires 10ms, 192.0.2.4 timeout 0s,\n"
		    "                 192.0.2.6 }\n"
		    "  }\n"
		    "  chain c {\n"
		    "    type filter hook prerouting priority 0;\n"
		    "    ip saddr @ban counter drop\n"
		    "  }\n"
		    "}\n");
	/* nft added the elements between t0 and t1: the 4 s one expires in
	 * the kernel by t1 + 4 s, maybe not before */
	t1 = mono_s();
	k = rk(f, "inet", "t", "c", 0);
	s = nfo_ruleset_find_set(f->rs, NFPROTO_INET, "t", "ban");
	assert_non_null(s);
	assert_true(s->usable);
	assert_true(s->drop_only);
	assert_non_null(s->expires);
	assert_int_equal(f->plan->nsets, 1);
	assert_non_null(f->rs->chains[0].rules[0].note);
	if (mono_s() - t0 > 3.0)
		fail_msg("the machine is too slow for a 4 s element (%.1f s to load)", mono_s() - t0);

	udp4(&p, "192.0.2.1", LOC4, 40, 9);
	DROP(f, &p, k, "1h left");
	udp4(&p, "192.0.2.2", LOC4, 40, 9);
	DROP(f, &p, k, "4 s left");
	udp4(&p, "192.0.2.3", LOC4, 40, 9);
	PASS(f, &p, "10 ms left, within the 20 ms margin");
	udp4(&p, "192.0.2.4", LOC4, 40, 9);
	DROP(f, &p, k, "timeout 0: never expires");
	udp4(&p, "192.0.2.6", LOC4, 40, 9);
	DROP(f, &p, k, "the set's default timeout, 30 s");
	udp4(&p, "192.0.2.5", LOC4, 40, 9);
	PASS(f, &p, "not in the set");

	/* past 4 s since the load: the 4 s element is gone in the fast path
	 * (which lets it go a margin before the kernel does), without any
	 * notification or new generation */
	left = 4.0 - (mono_s() - t1);
	if (left > 0)
		usleep((useconds_t)(left * 1e6));
	udp4(&p, "192.0.2.2", LOC4, 40, 9);
	PASS(f, &p, "4 s element expired");
	udp4(&p, "192.0.2.1", LOC4, 40, 9);
	DROP(f, &p, k, "1h element still there");
}

/*
 * A set whose elements go without a notification is offloaded only where
 * membership leads toward drop: read by an accept rule too, its lookups
 * are UNKNOWN (the fast path would drop what nftables accepts once an
 * element expires in the kernel only).
 */
static void test_timeout_set_accept(void **state)
{
	struct fx *f = fx_with(state,
			       "table inet t {\n"
			       "  set allow {\n"
			       "    type ipv4_addr; flags timeout;\n"
			       "    elements = { 192.0.2.1 timeout 1h }\n"
			       "  }\n"
			       "  chain c {\n"
			       "    type filter hook prerouting priority 0;\n"
			       "    ip saddr @allow accept\n"
			       "    udp dport 9 drop\n"
			       "  }\n"
			       "}\n");
	const struct nfo_set *s = nfo_ruleset_find_set(f->rs, NFPROTO_INET, "t", "allow");
	const struct nfo_rule *r = &f->rs->chains[0].rules[0];
	struct pkt p;

	assert_non_null(s);
	assert_false(s->usable);
	assert_non_null(strstr(s->why, "does not only drop on membership"));
	assert_int_equal(r->offload, NFO_OFFLOAD_PARTIAL);
	assert_non_null(strstr(r->reason, "set allow"));
	assert_int_equal(f->plan->nsets, 0);
	udp4(&p, "192.0.2.1", LOC4, 40, 9);
	PASS(f, &p, "maybe allowed: nftables decides");
	udp4(&p, "192.0.2.7", LOC4, 40, 9);
	PASS(f, &p, "maybe allowed too: the lookup is unknown for every address");
}

/* A meter-style ban (fail2ban-ish): rules add to the set from the packet
 * path; the lookup that drops on it is offloaded with what nft added. */
static void test_packet_path_set(void **state)
{
	struct fx *f = fx_with(state,
			       "table inet t {\n"
			       "  set ban {\n"
			       "    type ipv4_addr; flags dynamic, timeout; timeout 1m;\n"
			       "    elements = { 192.0.2.1 }\n"
			       "  }\n"
			       "  chain c {\n"
			       "    type filter hook prerouting priority 0;\n"
			       "    ip saddr @ban drop\n"
			       "    udp dport 22 limit rate over 10/second add @ban { ip saddr }\n"
			       "  }\n"
			       "}\n");
	const struct nfo_set *s = nfo_ruleset_find_set(f->rs, NFPROTO_INET, "t", "ban");
	const char *k = rk(f, "inet", "t", "c", 0);
	struct pkt p;

	assert_non_null(s);
	assert_true(s->usable);
	assert_true(s->pp_add);
	assert_true(s->drop_only);
	assert_non_null(strstr(f->rs->chains[0].rules[0].note, "filled by the packet path"));
	udp4(&p, "192.0.2.1", LOC4, 40, 9);
	DROP(f, &p, k, "banned by nft");
	udp4(&p, "192.0.2.2", LOC4, 40, 9);
	PASS(f, &p, "not banned (or banned by the packet path: nftables decides)");
}

static void run_n(const struct fx *f, const struct pkt *p, const char *key, int n)
{
	for (int i = 0; i < n; i++)
		check(f, p, key, -1, "drop", "run_n");
}

static void test_update_keeps_counters(void **state)
{
	struct fx *f = fx_with(state, RULES_UDP9_TCP22);
	char ku[NFO_SLOT_KEY_LEN], kt[NFO_SLOT_KEY_LEN], cmd[256];
	struct nfo_counter cu, ct;
	struct pkt u, t;

	snprintf(ku, sizeof(ku), "%s", rk(f, "inet", "t", "c", 0));
	snprintf(kt, sizeof(kt), "%s", rk(f, "inet", "t", "c", 1));
	udp4(&u, "192.0.2.1", LOC4, 40, 9);
	tcp4(&t, "192.0.2.1", LOC4, 40, 22, TH_SYN);
	run_n(f, &u, ku, 3);
	run_n(f, &t, kt, 2);
	assert_int_equal(nfo_loader_counter(f->l, ku, &cu), 0);
	assert_int_equal(nfo_loader_counter(f->l, kt, &ct), 0);
	assert_int_equal(cu.packets, 6);
	assert_int_equal(cu.bytes, 6 * l3len(&u));
	assert_int_equal(ct.packets, 4);
	assert_int_equal(ct.bytes, 4 * l3len(&t));

	/* A ruleset change: an accept before the udp drop. */
	snprintf(cmd, sizeof(cmd), "insert rule inet t c position %llu udp dport 9 accept\n",
		 (unsigned long long)handle_of(f, "inet", "t", "c", 0));
	nft_run(cmd);
	fx_apply_current(f);
	assert_string_equal(rk(f, "inet", "t", "c", 1), ku);
	assert_string_equal(rk(f, "inet", "t", "c", 2), kt);

	PASS(f, &u, "udp 9 accepted now");
	udp6(&u, "2001:db8::1", LOC6, 40, 9);
	PASS(f, &u, "IPv6 udp 9 accepted now");
	assert_int_equal(nfo_loader_counter(f->l, kt, &ct), 0);
	assert_int_equal(ct.packets, 4);
	DROP(f, &t, kt, "tcp 22 still dropped");
	assert_int_equal(nfo_loader_counter(f->l, kt, &ct), 0);
	assert_int_equal(ct.packets, 6);
	assert_int_equal(ct.bytes, 6 * l3len(&t));
}

/*
 * SEMANTICS.md section 6: counters are kept "across ruleset updates where the
 * rule still exists (matched by table, chain and rule handle)". The udp drop
 * rule still exists after the accept is inserted before it; it just cannot
 * drop anything any more.
 */
static void test_update_shadowed_rule_keeps_counter(void **state)
{
	struct fx *f = fx_with(state, RULES_UDP9_TCP22);
	char ku[NFO_SLOT_KEY_LEN], cmd[256];
	uint64_t h_accept;
	struct nfo_counter cu;
	struct pkt u;
	int r;

	snprintf(ku, sizeof(ku), "%s", rk(f, "inet", "t", "c", 0));
	udp4(&u, "192.0.2.1", LOC4, 40, 9);
	run_n(f, &u, ku, 3);

	snprintf(cmd, sizeof(cmd), "insert rule inet t c position %llu udp dport 9 accept\n",
		 (unsigned long long)handle_of(f, "inet", "t", "c", 0));
	nft_run(cmd);
	fx_apply_current(f);
	h_accept = handle_of(f, "inet", "t", "c", 0);
	PASS(f, &u, "udp 9 accepted now");

	r = nfo_loader_counter(f->l, ku, &cu);
	if (r < 0)
		fail_msg("counter of \"%s\" (the rule still exists) is gone after the update: %s",
			 ku, strerror(-r));
	assert_int_equal(cu.packets, 6);

	/* Back to the first ruleset: the drop's counter continues. */
	snprintf(cmd, sizeof(cmd), "delete rule inet t c handle %llu\n",
		 (unsigned long long)h_accept);
	nft_run(cmd);
	fx_apply_current(f);
	DROP(f, &u, ku, "udp 9 dropped again");
	assert_int_equal(nfo_loader_counter(f->l, ku, &cu), 0);
	assert_int_equal(cu.packets, 8);
}

/* The counter maps are pinned: a new loader on the same directory (a
 * restarted daemon) continues them. */
static void test_counters_survive_loader_restart(void **state)
{
	struct fx *f = fx_with(state, RULES_UDP9_TCP22);
	struct nfo_loader_opts o = { .pin_dir = f->pin, .max_slots = 64 };
	char ku[NFO_SLOT_KEY_LEN], err[256] = "";
	struct nfo_counter cu;
	struct pkt u;

	snprintf(ku, sizeof(ku), "%s", rk(f, "inet", "t", "c", 0));
	udp4(&u, "192.0.2.1", LOC4, 40, 9);
	run_n(f, &u, ku, 2);

	nfo_loader_free(&f->l, false);
	if (nfo_loader_new(&f->l, &o, err, sizeof(err)) < 0)
		fail_msg("nfo_loader_new: %s", err);
	fx_apply_current(f);
	assert_int_equal(nfo_loader_counter(f->l, ku, &cu), 0);
	assert_int_equal(cu.packets, 4);
	DROP(f, &u, ku, "udp 9 after restart");
	assert_int_equal(nfo_loader_counter(f->l, ku, &cu), 0);
	assert_int_equal(cu.packets, 6);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* A program set's watchdog: beaten, it never trips; left alone, it turns
 * the fast path off after its bound (plus at most one timer period); the
 * next generation runs again. */
static void test_watchdog(void **state)
{
	struct fx *f = fx_new();
	struct nfo_loader_opts o = { .pin_dir = f->pin, .max_slots = 64, .watchdog_ms = 300 };
	struct nfo_watchdog_info w;
	const char *why = NULL;
	char err[256] = "";
	struct timespec t0;
	const char *k;
	struct pkt u;
	double ms;

	*state = f;
	nfo_loader_free(&f->l, true);
	if (nfo_loader_new(&f->l, &o, err, sizeof(err)) < 0)
		fail_msg("nfo_loader_new: %s", err);
	fx_apply(f, RULES_L4_SADDR);
	k = rk(f, "inet", "t", "c", 0);
	udp4(&u, "192.0.2.1", LOC4, 40, 9);
	DROP(f, &u, k, "armed: udp");
	assert_int_equal(nfo_loader_watchdog(f->l, &w, &why), 0);
	if (!w.armed)
		fail_msg("watchdog not armed: %s", why);
	assert_int_equal(w.bound_ms, 300);

	for (int i = 0; i < 10; i++) {
		usleep(100 * 1000);
		assert_int_equal(nfo_loader_beat(f->l), 0);
	}
	assert_true(nfo_loader_enabled(f->l));
	assert_int_equal(nfo_loader_watchdog(f->l, &w, &why), 0);
	assert_int_equal(w.trips, 0);
	assert_true(w.checks >= 5);
	assert_true(w.heartbeat_age_ms >= 0 && w.heartbeat_age_ms < 100);
	DROP(f, &u, k, "beaten for 1 s: udp");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(nfo_loader_beat(f->l), 0);
	while (nfo_loader_enabled(f->l) && ms_since(&t0) < 3000)
		usleep(2 * 1000);
	ms = ms_since(&t0);
	print_message("watchdog (bound 300 ms): fast path off %.0f ms after the last beat\n", ms);
	assert_false(nfo_loader_enabled(f->l));
	assert_true(ms >= 295);
	assert_true(ms < 1000); /* 400 ms at most, with room for a loaded machine */
	assert_int_equal(nfo_loader_watchdog_trips(f->l), 1);
	PASS_WHY(f, &u, NFO_STAT_PASS_DISABLED, "tripped: udp");

	fx_apply_current(f);
	DROP(f, &u, k, "next generation: udp");
	usleep(100 * 1000);
	assert_true(nfo_loader_enabled(f->l));
	assert_int_equal(nfo_loader_watchdog_trips(f->l), 1);
}

/* ---- main -------------------------------------------------------------------------- */

#define T(fn) cmocka_unit_test_teardown(fn, teardown_fx)

/* Usage: test_fastpath [PATTERN]  (cmocka test name filter, e.g. "ipv6_*") */
int main(int argc, char **argv)
{
	static const struct CMUnitTest sequences[] = {
		T(test_named_sets_overflow),
		T(test_big_port_set),
		T(test_many_addresses),
		cmocka_unit_test_teardown(test_other_device, teardown_veth),
		T(test_frame_sizes),
		T(test_ct_state),
		T(test_ct_syn),
		T(test_disable),
		T(test_update_keeps_counters),
		T(test_update_shadowed_rule_keeps_counter),
		T(test_counters_survive_loader_restart),
		T(test_watchdog),
		T(test_timeout_set),
		T(test_timeout_set_accept),
		T(test_packet_path_set),
	};
	struct CMUnitTest tests[ARRAY_SIZE(cases) + ARRAY_SIZE(sequences)];
	size_t n = 0;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		tests[n++] = (struct CMUnitTest){
			.name = cases[i].name,
			.test_func = run_case,
			.teardown_func = teardown_fx,
			.initial_state = (void *)&cases[i],
		};
	for (size_t i = 0; i < ARRAY_SIZE(sequences); i++)
		tests[n++] = sequences[i];

	if (env_setup() < 0)
		return 1;
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	r = _cmocka_run_group_tests("fastpath", tests, n, NULL, NULL);
	nfo_rtnl_free(&rtnl);
	nfo_nft_set_clock(NULL, NULL);
	nfo_clock_free(&clk);
	env_cleanup();
	return r;
}
