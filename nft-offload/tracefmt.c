// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tracefmt.h"

static const char *proto_name(int p, char *buf, size_t len)
{
	switch (p) {
	case 1:
		return "icmp";
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 58:
		return "icmpv6";
	case 132:
		return "sctp";
	}
	snprintf(buf, len, "proto %d", p);
	return buf;
}

void nfo_trace_verdict(const struct nfo_trace_packet *p, char *buf, size_t len)
{
	char f[32], t[64], c[64], h[24];

	if (!p->dropped) {
		snprintf(buf, len, "pass %.*s", (int)sizeof(p->what), p->what);
		return;
	}
	/* the counter key: "FAMILY TABLE CHAIN HANDLE|policy" */
	if (sscanf(p->what, "%31s %63s %63s %23s", f, t, c, h) != 4) {
		snprintf(buf, len, "drop (rule unknown)");
		return;
	}
	if (!strcmp(h, "policy"))
		snprintf(buf, len, "drop policy %s %s %s", f, t, c);
	else
		snprintf(buf, len, "drop rule %s %s %s handle %s", f, t, c, h);
}

static void tcp_flags(uint8_t fl, char *buf)
{
	static const char names[] = "FSRPAUEC";
	size_t k = 0;

	for (int b = 0; b < 8; b++)
		if (fl & (1 << b))
			buf[k++] = names[b];
	buf[k] = '\0';
}

void nfo_trace_describe(const uint8_t *d, uint32_t n, char *buf, size_t len)
{
	uint32_t off = 14, l4off;
	bool l4 = true; /* a transport header follows (not a later fragment) */
	uint16_t et;
	int proto;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], pb[16];
	const char *fam;

	if (n < 14) {
		snprintf(buf, len, "(truncated frame)");
		return;
	}
	et = (uint16_t)(d[12] << 8 | d[13]);
	while ((et == 0x8100 || et == 0x88a8) && off + 4 <= n) {
		et = (uint16_t)(d[off + 2] << 8 | d[off + 3]);
		off += 4;
	}
	if (et == 0x0800 && off + 20 <= n) {
		fam = "ip";
		inet_ntop(AF_INET, d + off + 12, src, sizeof(src));
		inet_ntop(AF_INET, d + off + 16, dst, sizeof(dst));
		proto = d[off + 9];
		l4off = off + (uint32_t)(d[off] & 0xf) * 4;
		/* later fragments carry no transport header */
		l4 = !(d[off + 6] & 0x1f) && !d[off + 7];
	} else if (et == 0x86dd && off + 40 <= n) {
		fam = "ip6";
		inet_ntop(AF_INET6, d + off + 8, src, sizeof(src));
		inet_ntop(AF_INET6, d + off + 24, dst, sizeof(dst));
		proto = d[off + 6];
		l4off = off + 40;
	} else if (et == 0x0806) {
		snprintf(buf, len, "arp");
		return;
	} else {
		snprintf(buf, len, "ethertype 0x%04x", et);
		return;
	}
	if ((proto == 6 || proto == 17 || proto == 132) && l4 && l4off + 4 <= n) {
		char fl[9] = "";

		if (proto == 6 && l4off + 14 <= n)
			tcp_flags(d[l4off + 13], fl);
		snprintf(buf, len, "%s %s.%u > %s.%u %s%s%s%s", fam, src, d[l4off] << 8 | d[l4off + 1],
			 dst, d[l4off + 2] << 8 | d[l4off + 3], proto_name(proto, pb, sizeof(pb)),
			 proto == 6 && l4off + 14 <= n ? " flags [" : "", fl,
			 proto == 6 && l4off + 14 <= n ? "]" : "");
		return;
	}
	if ((proto == 1 || proto == 58) && l4 && l4off + 2 <= n) {
		snprintf(buf, len, "%s %s > %s %s type %u code %u", fam, src, dst,
			 proto_name(proto, pb, sizeof(pb)), d[l4off], d[l4off + 1]);
		return;
	}
	snprintf(buf, len, "%s %s > %s %s%s", fam, src, dst, proto_name(proto, pb, sizeof(pb)),
		 l4 ? "" : " (fragment)");
}

void nfo_trace_line(struct nfo_buf *out, const struct nfo_trace_packet *p, const uint8_t *data)
{
	char when[32], verdict[256], what[256];
	time_t sec = (time_t)(p->time_ns / 1000000000);
	struct tm tm;

	localtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	nfo_trace_verdict(p, verdict, sizeof(verdict));
	nfo_trace_describe(data, p->caplen, what, sizeof(what));
	nfo_buf_printf(out, "%s.%06llu %.*s %s: %s, length %u\n", when,
		       (unsigned long long)(p->time_ns % 1000000000) / 1000,
		       (int)sizeof(p->ifname), p->ifname, verdict, what, p->len);
}

/* ---- pcap-ng (draft-ietf-opsawg-pcapng), little-endian as written ---------- */

static void put_u16(struct nfo_buf *b, uint16_t v)
{
	nfo_buf_put(b, (const char *)&v, 2);
}

static void put_u32(struct nfo_buf *b, uint32_t v)
{
	nfo_buf_put(b, (const char *)&v, 4);
}

static void put_pad(struct nfo_buf *b, size_t len)
{
	static const char zero[4];

	nfo_buf_put(b, zero, (4 - len % 4) % 4);
}

static void put_opt(struct nfo_buf *b, uint16_t code, const void *v, size_t len)
{
	put_u16(b, code);
	put_u16(b, (uint16_t)len);
	if (len)
		nfo_buf_put(b, v, len);
	put_pad(b, len);
}

/* A block's total length is written before and after its body. */
static size_t block_begin(struct nfo_buf *b, uint32_t type)
{
	put_u32(b, type);
	put_u32(b, 0);
	return b->len - 8;
}

static void block_end(struct nfo_buf *b, size_t start)
{
	uint32_t total = (uint32_t)(b->len - start + 4);

	put_u32(b, total);
	if (!b->oom)
		memcpy(b->s + start + 4, &total, 4);
}

void nfo_pcapng_begin(struct nfo_pcapng *pc, struct nfo_buf *out, uint32_t snaplen)
{
	size_t blk = block_begin(out, 0x0A0D0D0A);

	*pc = (struct nfo_pcapng){ .snaplen = snaplen };
	put_u32(out, 0x1A2B3C4D); /* byte-order magic */
	put_u16(out, 1);
	put_u16(out, 0);
	put_u32(out, UINT32_MAX); /* section length: unknown (-1) */
	put_u32(out, UINT32_MAX);
	put_opt(out, 4 /* shb_userappl */, "nft-offload trace", 17);
	put_opt(out, 0, NULL, 0);
	block_end(out, blk);
}

static uint32_t iface_id(struct nfo_pcapng *pc, struct nfo_buf *out,
			 const struct nfo_trace_packet *p)
{
	static const uint8_t tsresol = 9; /* nanoseconds */
	size_t blk;

	for (size_t i = 0; i < pc->nifs; i++)
		if (pc->ifindex[i] == p->ifindex)
			return (uint32_t)i;
	if (pc->nifs == NFO_PCAPNG_MAX_IFACES)
		return 0;
	blk = block_begin(out, 1);
	put_u16(out, 1); /* LINKTYPE_ETHERNET */
	put_u16(out, 0);
	put_u32(out, pc->snaplen);
	put_opt(out, 2 /* if_name */, p->ifname, strnlen(p->ifname, sizeof(p->ifname)));
	put_opt(out, 9 /* if_tsresol */, &tsresol, 1);
	put_opt(out, 0, NULL, 0);
	block_end(out, blk);
	pc->ifindex[pc->nifs] = p->ifindex;
	return (uint32_t)pc->nifs++;
}

void nfo_pcapng_packet(struct nfo_pcapng *pc, struct nfo_buf *out,
		       const struct nfo_trace_packet *p, const uint8_t *data)
{
	uint32_t id = iface_id(pc, out, p);
	char verdict[256];
	size_t blk;

	nfo_trace_verdict(p, verdict, sizeof(verdict));
	blk = block_begin(out, 6);
	put_u32(out, id);
	put_u32(out, (uint32_t)(p->time_ns >> 32));
	put_u32(out, (uint32_t)p->time_ns);
	put_u32(out, p->caplen);
	put_u32(out, p->len);
	nfo_buf_put(out, (const char *)data, p->caplen);
	put_pad(out, p->caplen);
	put_opt(out, 1 /* opt_comment */, verdict, strlen(verdict));
	put_opt(out, 0, NULL, 0);
	block_end(out, blk);
}
