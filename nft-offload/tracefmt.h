/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What `nft-offload trace` writes for a traced packet (trace.h): a text
 * line, or pcap-ng blocks (section header, one interface block per
 * interface seen, an enhanced packet block per packet with its rule as the
 * comment). Pure: into a buffer, for the command and the unit tests.
 */
#ifndef NFO_TRACEFMT_H
#define NFO_TRACEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "trace.h"

/* "drop rule inet fw input handle 5", "drop policy inet fw input",
 * "pass decided_by_nftables". */
void nfo_trace_verdict(const struct nfo_trace_packet *p, char *buf, size_t len);
/* The frame's headers as far as its n captured bytes go: "ip 10.0.0.1.40000
 * > 10.0.0.2.9 udp", "ip6 ... tcp flags [S]", "ip ... icmp type 8 code 0". */
void nfo_trace_describe(const uint8_t *frame, uint32_t n, char *buf, size_t len);
/* One line: local time, interface, verdict, headers, frame length. */
void nfo_trace_line(struct nfo_buf *out, const struct nfo_trace_packet *p,
		    const uint8_t *data);

#define NFO_PCAPNG_MAX_IFACES 64

struct nfo_pcapng {
	uint32_t snaplen;
	uint32_t ifindex[NFO_PCAPNG_MAX_IFACES]; /* interface id -> ifindex */
	size_t nifs;
};

/* The section header block. */
void nfo_pcapng_begin(struct nfo_pcapng *pc, struct nfo_buf *out, uint32_t snaplen);
/* The packet's block, after its interface's block the first time. */
void nfo_pcapng_packet(struct nfo_pcapng *pc, struct nfo_buf *out,
		       const struct nfo_trace_packet *p, const uint8_t *data);

#endif
