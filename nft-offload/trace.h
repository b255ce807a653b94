/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `nft-offload trace`: the messages between the daemon (daemon-trace.c),
 * which alone reads the programs' trace ring, and a tracer (trace.c), over
 * the control socket.
 *
 * The tracer sends one line, `trace [drops] [passed] [rule=F:T:C:H]...
 * [iface=NAME]... [rate=PPS] [snaplen=BYTES]`, and keeps the connection
 * open: the daemon streams messages (a struct nfo_trace_msg, then len bytes)
 * until the tracer shuts its side down (or dies), then sends STATS and
 * closes. The connection is the trace: when it closes, the programs stop
 * tracing for it.
 */
#ifndef NFO_TRACE_PROTO_H
#define NFO_TRACE_PROTO_H

#include <net/if.h>
#include <stdint.h>

#define NFO_TRACE_DEFAULT_RATE 1000
#define NFO_TRACE_MAX_RATE 1000000
#define NFO_TRACE_DEFAULT_SNAPLEN 128

enum nfo_trace_msg_type {
	NFO_TRACE_MSG_READY = 1,  /* tracing: no payload */
	NFO_TRACE_MSG_ERROR,      /* text: why not; the daemon closes */
	NFO_TRACE_MSG_PACKET,     /* struct nfo_trace_packet, then caplen bytes */
	NFO_TRACE_MSG_STATS,      /* struct nfo_trace_stats; the daemon closes */
};

struct nfo_trace_msg {
	uint32_t type;
	uint32_t len; /* bytes that follow */
};

struct nfo_trace_packet {
	uint64_t time_ns; /* CLOCK_REALTIME */
	uint32_t ifindex;
	uint32_t len;     /* of the frame */
	uint32_t caplen;  /* bytes of it that follow */
	uint8_t dropped;
	uint8_t pad[3];
	char ifname[IF_NAMESIZE];
	/* dropped: the rule's counter key ("inet fw input 5", "inet fw input
	 * policy", "": no rule known); passed: why (status' passed_by_reason) */
	char what[128];
};

struct nfo_trace_stats {
	uint64_t sent;         /* packets sent to this tracer */
	uint64_t rate_limited; /* matched, over this tracer's rate */
	uint64_t slow;         /* matched, but the tracer did not keep up */
	/* in the programs, while this trace ran (shared by all tracers) */
	uint64_t kernel_matched;
	uint64_t kernel_rate_limited;
	uint64_t kernel_ring_full;
	uint32_t max_tracers;  /* tracers at once, at most, while it ran */
	uint32_t pad;
};

/* The command (trace.c). */
int nfo_trace_main(int argc, char **argv);

#endif
