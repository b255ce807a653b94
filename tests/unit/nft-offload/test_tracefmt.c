// SPDX-License-Identifier: GPL-2.0-only
/*
 * What `nft-offload trace` writes (nft-offload/tracefmt.c): the verdict as
 * nft names the rule, the headers of IPv4/IPv6/VLAN/fragment/truncated
 * frames, the text line, and pcap-ng blocks walked back as a reader would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "nft-offload/tracefmt.h"

static struct nfo_trace_packet packet(int dropped, const char *what)
{
	struct nfo_trace_packet p = { .dropped = (uint8_t)dropped, .ifindex = 2 };

	snprintf(p.what, sizeof(p.what), "%s", what);
	snprintf(p.ifname, sizeof(p.ifname), "eth0");
	return p;
}

static void test_verdict(void **state)
{
	struct nfo_trace_packet p;
	char buf[256];

	(void)state;
	p = packet(1, "inet fw input 5");
	nfo_trace_verdict(&p, buf, sizeof(buf));
	assert_string_equal(buf, "drop rule inet fw input handle 5");
	p = packet(1, "ip6 filter in-put policy");
	nfo_trace_verdict(&p, buf, sizeof(buf));
	assert_string_equal(buf, "drop policy ip6 filter in-put");
	p = packet(1, "");
	nfo_trace_verdict(&p, buf, sizeof(buf));
	assert_string_equal(buf, "drop (rule unknown)");
	p = packet(0, "decided_by_nftables");
	nfo_trace_verdict(&p, buf, sizeof(buf));
	assert_string_equal(buf, "pass decided_by_nftables");
}

/* Ethernet (+ tags) + IPv4 (20 bytes) or IPv6 (40) + transport bytes. */
static size_t frame(uint8_t *f, uint16_t et, int vlans, int proto, const uint8_t *l4,
		    size_t l4len, uint16_t frag)
{
	size_t o = 12;

	memset(f, 0, 256);
	for (int i = 0; i < vlans; i++) {
		f[o] = 0x81;
		f[o + 1] = 0x00;
		f[o + 3] = 7;
		o += 4;
	}
	f[o] = (uint8_t)(et >> 8);
	f[o + 1] = (uint8_t)et;
	o += 2;
	if (et == 0x0800) {
		f[o] = 0x45;
		f[o + 6] = (uint8_t)(frag >> 8);
		f[o + 7] = (uint8_t)frag;
		f[o + 9] = (uint8_t)proto;
		memcpy(f + o + 12, (uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
		o += 20;
	} else if (et == 0x86dd) {
		f[o] = 0x60;
		f[o + 6] = (uint8_t)proto;
		f[o + 8] = 0x20;
		f[o + 9] = 0x01;
		f[o + 23] = 1;
		f[o + 24] = 0x20;
		f[o + 25] = 0x01;
		f[o + 39] = 2;
		o += 40;
	}
	if (l4len)
		memcpy(f + o, l4, l4len);
	return o + l4len;
}

static void test_describe(void **state)
{
	static const uint8_t udp[] = { 0x9c, 0x40, 0x00, 0x09, 0, 8, 0, 0 };
	static const uint8_t tcp[] = { 0x30, 0x39, 0x00, 0x16, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x12 };
	static const uint8_t icmp[] = { 8, 0, 0, 0 };
	uint8_t f[256];
	char buf[256];
	size_t n;

	(void)state;
	n = frame(f, 0x0800, 0, 17, udp, sizeof(udp), 0);
	nfo_trace_describe(f, (uint32_t)n, buf, sizeof(buf));
	assert_string_equal(buf, "ip 10.0.0.1.40000 > 10.0.0.2.9 udp");
	n = frame(f, 0x0800, 0, 6, tcp, sizeof(tcp), 0x4000 /* DF */);
	nfo_trace_describe(f, (uint32_t)n, buf, sizeof(buf));
	assert_string_equal(buf, "ip 10.0.0.1.12345 > 10.0.0.2.22 tcp flags [SA]");
	/* the flags byte not captured */
	nfo_trace_describe(f, (uint32_t)n - 1, buf, sizeof(buf));
	assert_string_equal(buf, "ip 10.0.0.1.12345 > 10.0.0.2.22 tcp");
	n = frame(f, 0x86dd, 0, 17, udp, sizeof(udp), 0);
	nfo_trace_describe(f, (uint32_t)n, buf, sizeof(buf));
	assert_string_equal(buf, "ip6 2001::1.40000 > 2001::2.9 udp");
	n = frame(f, 0x86dd, 0, 58, icmp, sizeof(icmp), 0);
	nfo_trace_describe(f, (uint32_t)n, buf, sizeof(buf));
	assert_string_equal(buf, "ip6 2001::1 > 2001::2 icmpv6 type 8 code 0");
	n = frame(f, 0x0800, 2, 1, icmp, sizeof(icmp), 0);
	nfo_trace_describe(f, (uint32_t)n, buf, sizeof(buf));
	assert_string_equal(buf, "ip 10.0.0.1 > 10.0.0.2 icmp type 8 code 0");
	/* a later fragment: its bytes are not a transport header */
	n = frame(f, 0x0800, 0, 17, udp, sizeof(udp), 0x00b9);
	nfo_trace_describe(f, (uint32_t)n, buf, sizeof(buf));
	assert_string_equal(buf, "ip 10.0.0.1 > 10.0.0.2 udp (fragment)");
	/* the transport header not captured */
	n = frame(f, 0x0800, 0, 17, udp, sizeof(udp), 0);
	nfo_trace_describe(f, 14 + 20 + 3, buf, sizeof(buf));
	assert_string_equal(buf, "ip 10.0.0.1 > 10.0.0.2 udp");
	n = frame(f, 0x0800, 0, 47, udp, sizeof(udp), 0);
	nfo_trace_describe(f, (uint32_t)n, buf, sizeof(buf));
	assert_string_equal(buf, "ip 10.0.0.1 > 10.0.0.2 proto 47");
	nfo_trace_describe(f, 14 + 19, buf, sizeof(buf));
	assert_string_equal(buf, "ethertype 0x0800");
	n = frame(f, 0x0806, 0, 0, NULL, 0, 0);
	nfo_trace_describe(f, (uint32_t)n, buf, sizeof(buf));
	assert_string_equal(buf, "arp");
	nfo_trace_describe(f, 13, buf, sizeof(buf));
	assert_string_equal(buf, "(truncated frame)");
	nfo_trace_describe(f, 0, buf, sizeof(buf));
	assert_string_equal(buf, "(truncated frame)");
}

static void test_line(void **state)
{
	static const uint8_t udp[] = { 0x9c, 0x40, 0x00, 0x09, 0, 8, 0, 0 };
	struct nfo_trace_packet p = packet(1, "inet fw input 5");
	struct nfo_buf b = {};
	uint8_t f[256];

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	p.len = 60;
	p.caplen = (uint32_t)frame(f, 0x0800, 0, 17, udp, sizeof(udp), 0);
	p.time_ns = 1700000000ull * 1000000000 + 123456789; /* 22:13:20 UTC */
	nfo_trace_line(&b, &p, f);
	assert_string_equal(b.s, "22:13:20.123456 eth0 drop rule inet fw input handle 5: "
				 "ip 10.0.0.1.40000 > 10.0.0.2.9 udp, length 60\n");
	nfo_buf_free(&b);
}

static uint32_t u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint16_t u16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

/* The value of option code in options opts[0..len), or NULL. */
static const uint8_t *option(const uint8_t *opts, size_t len, uint16_t code, uint16_t *ret_len)
{
	for (size_t o = 0; o + 4 <= len;) {
		uint16_t c = u16(opts + o), l = u16(opts + o + 2);

		if (c == 0)
			return NULL;
		if (c == code) {
			*ret_len = l;
			return opts + o + 4;
		}
		o += 4 + (size_t)(l + 3) / 4 * 4;
	}
	return NULL;
}

static void test_pcapng(void **state)
{
	static const uint8_t data[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	struct nfo_trace_packet p[3] = { packet(1, "inet fw input 5"), packet(0, "vlan"),
					 packet(1, "ip t c policy") };
	const char *comments[3] = { "drop rule inet fw input handle 5", "pass vlan",
				    "drop policy ip t c" };
	struct nfo_pcapng pc;
	struct nfo_buf b = {};
	size_t off = 0, nidb = 0, nepb = 0;

	(void)state;
	p[1].ifindex = 7;
	snprintf(p[1].ifname, sizeof(p[1].ifname), "veth-long-name1");
	for (int i = 0; i < 3; i++) {
		p[i].time_ns = 0x0000000100000002ull + (uint64_t)i;
		p[i].caplen = (uint32_t)(13 + i);
		p[i].len = 1500;
	}
	nfo_pcapng_begin(&pc, &b, 64);
	for (int i = 0; i < 3; i++)
		nfo_pcapng_packet(&pc, &b, &p[i], data);
	assert_false(b.oom);

	while (off < b.len) {
		const uint8_t *blk = (const uint8_t *)b.s + off;
		uint32_t type = u32(blk), total = u32(blk + 4);
		uint16_t ol;
		const uint8_t *v;

		assert_true(total % 4 == 0 && total >= 12 && off + total <= b.len);
		assert_int_equal(u32(blk + total - 4), total);
		if (off == 0) {
			assert_int_equal(type, 0x0A0D0D0A);
			assert_int_equal(u32(blk + 8), 0x1A2B3C4D);
			assert_int_equal(u16(blk + 12), 1);
		} else if (type == 1) {
			const char *want = nidb ? "veth-long-name1" : "eth0";

			assert_int_equal(u16(blk + 8), 1); /* Ethernet */
			assert_int_equal(u32(blk + 12), 64);
			v = option(blk + 16, total - 20, 2, &ol);
			assert_non_null(v);
			assert_int_equal(ol, strlen(want));
			assert_memory_equal(v, want, ol);
			v = option(blk + 16, total - 20, 9, &ol);
			assert_non_null(v);
			assert_int_equal(v[0], 9);
			nidb++;
		} else {
			uint32_t cap;

			assert_int_equal(type, 6);
			assert_true(nepb < 3);
			/* interface ids: eth0, the other, eth0 again */
			assert_int_equal(u32(blk + 8), nepb == 1 ? 1 : 0);
			assert_int_equal(u32(blk + 12), 1);
			assert_int_equal(u32(blk + 16), 2 + nepb);
			cap = u32(blk + 20);
			assert_int_equal(cap, 13 + nepb);
			assert_int_equal(u32(blk + 24), 1500);
			assert_memory_equal(blk + 28, data, cap);
			v = option(blk + 28 + (cap + 3) / 4 * 4, total - 32 - (cap + 3) / 4 * 4, 1, &ol);
			assert_non_null(v);
			assert_int_equal(ol, strlen(comments[nepb]));
			assert_memory_equal(v, comments[nepb], ol);
			nepb++;
		}
		off += total;
	}
	assert_int_equal(off, b.len);
	assert_int_equal(nidb, 2);
	assert_int_equal(nepb, 3);
	nfo_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_pcapng),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
