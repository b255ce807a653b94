// SPDX-License-Identifier: GPL-2.0-only
/*
 * nfo-xdpcheck PROG_ID IFNAME DST_MAC DST_IP DPORT drop|pass: what the
 * running fast path decides for one UDP frame per IPv4 source address on
 * stdin (one a line), without sending any: each frame goes through the
 * daemon's XDP program (found by its id, as status reports it) with
 * BPF_PROG_TEST_RUN, on the live maps, as if it had arrived on IFNAME (run
 * it in IFNAME's network namespace). Prints how many were dropped and
 * passed, and the first sources whose verdict is not the expected one; exit
 * status 1 if there is any, 2 on a usage or system error. Checks every
 * element of a large set in seconds, where real packets would take minutes
 * and could not say which address was missed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#define SHOW_MAX 20

static uint16_t csum(const uint8_t *b, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Ethernet, IPv4 and UDP to dport with 8 bytes of payload: 50 bytes. */
static size_t frame(uint8_t *f, const uint8_t *dmac, uint32_t src, uint32_t dst, uint16_t dport)
{
	static const uint8_t smac[6] = { 0x02, 0, 0, 0, 0, 1 };
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint16_t c;

	memset(f, 0, 50);
	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = 36; /* total length */
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	c = csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	udp[0] = 0x9c; /* sport 40000 */
	udp[1] = 0x40;
	udp[2] = (uint8_t)(dport >> 8);
	udp[3] = (uint8_t)dport;
	udp[5] = 16; /* length; checksum 0: none */
	return 50;
}

int main(int argc, char **argv)
{
	uint8_t dmac[6], f[64];
	unsigned m[6];
	struct in_addr dst;
	unsigned long id, dport;
	unsigned ifindex;
	size_t drop = 0, pass = 0, other = 0, bad = 0;
	char line[128];
	bool want_drop;
	int fd;

	if (argc != 7 || sscanf(argv[3], "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4],
				&m[5]) != 6 ||
	    inet_pton(AF_INET, argv[4], &dst) != 1 ||
	    (strcmp(argv[6], "drop") && strcmp(argv[6], "pass"))) {
		fprintf(stderr, "usage: %s PROG_ID IFNAME DST_MAC DST_IP DPORT drop|pass < sources\n",
			argv[0]);
		return 2;
	}
	for (int i = 0; i < 6; i++)
		dmac[i] = (uint8_t)m[i];
	id = strtoul(argv[1], NULL, 0);
	dport = strtoul(argv[5], NULL, 0);
	want_drop = !strcmp(argv[6], "drop");
	ifindex = if_nametoindex(argv[2]);
	if (!ifindex) {
		fprintf(stderr, "nfo-xdpcheck: %s: %s\n", argv[2], strerror(errno));
		return 2;
	}
	fd = bpf_prog_get_fd_by_id((uint32_t)id);
	if (fd < 0) {
		fprintf(stderr, "nfo-xdpcheck: program %lu: %s\n", id, strerror(errno));
		return 2;
	}
	while (fgets(line, sizeof(line), stdin)) {
		struct in_addr src;
		struct xdp_md ctx = { .ingress_ifindex = ifindex };
		size_t len;

		line[strcspn(line, " \t\r\n")] = '\0';
		if (!line[0])
			continue;
		if (inet_pton(AF_INET, line, &src) != 1) {
			fprintf(stderr, "nfo-xdpcheck: not an IPv4 address: %s\n", line);
			return 2;
		}
		len = frame(f, dmac, src.s_addr, dst.s_addr, (uint16_t)dport);
		ctx.data_end = (uint32_t)len;
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = (uint32_t)len,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);
		if (bpf_prog_test_run_opts(fd, &o) < 0) {
			fprintf(stderr, "nfo-xdpcheck: test run: %s\n", strerror(errno));
			return 2;
		}
		if (o.retval == XDP_DROP)
			drop++;
		else if (o.retval == XDP_PASS)
			pass++;
		else
			other++;
		if ((o.retval == XDP_DROP) != want_drop) {
			if (bad++ < SHOW_MAX)
				printf("%s: %s\n", line, o.retval == XDP_DROP ? "dropped" :
							 o.retval == XDP_PASS ? "passed" : "other");
		}
	}
	printf("dropped %zu passed %zu other %zu: %zu not %s\n", drop, pass, other, bad,
	       want_drop ? "dropped" : "passed");
	return bad ? 1 : 0;
}
