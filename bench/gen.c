// SPDX-License-Identifier: GPL-2.0-only
/* nft-offload-bench: the traffic generator, BPF_PROG_TEST_RUN in live-frames
 * mode on a thread of its own (bpf/bench/nfo_gen.bpf.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <linux/types.h>

#include "bpf/bench/nfo_gen.h"
#include "common/log.h"

#include "bench.h"
#include "nfo_gen.skel.h"

/* Every BPF_PROG_TEST_RUN call sets up and tears down its page pool and
 * memory model (net/bpf/test_run.c, xdp_test_run_setup/teardown); with calls
 * of 2^18 frames the receiver idled a third of the time. One long call,
 * interrupted by a signal when the run is over. */
#define GEN_FRAMES_PER_CALL (1u << 30)

static uint16_t ip_csum(const uint8_t *h, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Ethernet + IPv4 + UDP to the receiver's MAC and address, port DROP_PORT. */
static size_t frame_build4(uint8_t *f)
{
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint16_t c;

	memset(f, 0, FRAME_MAX);
	memcpy(f, bench_mac_rx, 6);
	memcpy(f + 6, bench_mac_tx, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = FRAME_LEN - 14;
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = 17;
	inet_pton(AF_INET, IP_TX, ip + 12);
	inet_pton(AF_INET, IP_RX, ip + 16);
	c = ip_csum(ip, 20);
	ip[10] = c >> 8;
	ip[11] = c & 0xff;
	udp[0] = SPORT0 >> 8;
	udp[1] = SPORT0 & 0xff;
	udp[3] = DROP_PORT;
	udp[5] = FRAME_LEN - 14 - 20; /* checksum 0: none (IPv4) */
	return FRAME_LEN;
}

/* Ethernet + IPv6 + UDP (whose checksum IPv6 requires: the source lists
 * carry it), port DROP_PORT. */
static size_t frame_build6(uint8_t *f)
{
	uint8_t *ip = f + 14, *udp = ip + 40;

	memset(f, 0, FRAME_MAX);
	memcpy(f, bench_mac_rx, 6);
	memcpy(f + 6, bench_mac_tx, 6);
	f[12] = 0x86;
	f[13] = 0xdd;
	ip[0] = 0x60;
	ip[5] = FRAME6_LEN - 14 - 40;
	ip[6] = 17;
	ip[7] = 64;
	inet_pton(AF_INET6, IP6_TX, ip + 8);
	inet_pton(AF_INET6, IP6_RX, ip + 24);
	udp[0] = SPORT0 >> 8;
	udp[1] = SPORT0 & 0xff;
	udp[3] = DROP_PORT;
	udp[5] = FRAME6_LEN - 14 - 40;
	return FRAME6_LEN;
}

/*
 * The frame every generator run starts from: IPv4 (family AF_INET) or IPv6,
 * and where the source lists write in it. Before gen_start.
 */
void gen_frame(struct env *e, int family)
{
	struct nfo_gen__bss *b = e->gen->bss;

	e->gen_family = family;
	if (family == AF_INET6) {
		e->frame_len = frame_build6(e->frame);
		b->saddr_off = 14 + 8;
		b->saddr_len = 16;
		b->csum_off = 14 + 40 + 6;
		b->dport_off = 14 + 40 + 2;
	} else {
		e->frame_len = frame_build4(e->frame);
		b->saddr_off = 14 + 12;
		b->saddr_len = 4;
		b->csum_off = 14 + 10;
		b->dport_off = 14 + 20 + 2;
	}
	__atomic_store_n(&b->flood_sel, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&b->probe_sel, 0, __ATOMIC_RELEASE);
}

/* The checksum field of e->frame with source address a and UDP
 * destination port dport. */
static void src_csum(const struct env *e, const uint8_t *a, uint16_t dport, uint8_t *ret)
{
	uint8_t h[FRAME_MAX];
	uint16_t c;

	if (e->gen_family == AF_INET6) {
		/* pseudo-header (RFC 8200 8.1) then the UDP header and payload */
		uint16_t ulen = (uint16_t)(e->frame_len - 14 - 40);
		size_t n = 0;

		memcpy(h, a, 16);
		memcpy(h + 16, e->frame + 14 + 24, 16);
		n = 32;
		h[n++] = 0, h[n++] = 0, h[n++] = ulen >> 8, h[n++] = ulen & 0xff;
		h[n++] = 0, h[n++] = 0, h[n++] = 0, h[n++] = 17;
		memcpy(h + n, e->frame + 14 + 40, ulen);
		h[n + 2] = dport >> 8;
		h[n + 3] = dport & 0xff;
		h[n + 6] = h[n + 7] = 0;
		n += ulen;
		if (n % 2)
			h[n++] = 0;
		c = ip_csum(h, n);
		if (!c)
			c = 0xffff; /* 0 would mean "no checksum" */
	} else {
		memcpy(h, e->frame + 14, 20);
		memcpy(h + 12, a, 4);
		h[10] = h[11] = 0;
		c = ip_csum(h, 20);
	}
	ret[0] = c >> 8;
	ret[1] = c & 0xff;
}

/*
 * Makes the generator send the flood (probe: the probe) from these n
 * source addresses (at most NFO_GEN_SRCS; each 16 bytes, IPv4 in the first
 * 4), from its next frame on; n == 0 stops that stream. Writes the half the
 * generator does not read, then flips to it. Not reentrant: one writer.
 */
void gen_srcs_set(struct env *e, bool probe, const uint8_t (*addrs)[16], size_t n)
{
	struct nfo_gen__bss *b = e->gen->bss;
	__u64 *sel = probe ? &b->probe_sel : &b->flood_sel;
	__u64 half = ((__atomic_load_n(sel, __ATOMIC_ACQUIRE) >> 32) & 1) ^ 1;
	struct nfo_gen_src *v = probe ? b->probe_srcs[half] : b->flood_srcs[half];

	if (n > NFO_GEN_SRCS)
		n = NFO_GEN_SRCS;
	for (size_t i = 0; i < n; i++) {
		memset(&v[i], 0, sizeof(v[i]));
		memcpy(v[i].addr, addrs[i], e->gen_family == AF_INET6 ? 16 : 4);
		src_csum(e, addrs[i], probe ? PROBE_PORT : DROP_PORT, v[i].csum);
	}
	__atomic_store_n(sel, half << 32 | n, __ATOMIC_RELEASE);
}

static void *gen_main(void *arg)
{
	struct env *e = arg;
	int fd = bpf_program__fd(e->gen->progs.nfo_gen);
	cpu_set_t set;
	sigset_t all;

	/* Signals are for the main thread, but for SIGUSR1, with which it
	 * stops us: BPF_PROG_TEST_RUN returns -EINTR when a signal is
	 * pending (net/bpf/test_run.c, bpf_test_timer_continue). */
	sigfillset(&all);
	sigdelset(&all, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	CPU_ZERO(&set);
	CPU_SET(e->gen_cpu, &set);
	/* the redirect target's ifindex is looked up in the namespace of the
	 * thread calling BPF_PROG_TEST_RUN (net/bpf/test_run.c: live frames
	 * arrive on that namespace's loopback) */
	if (sched_setaffinity(0, sizeof(set), &set) < 0 || setns(e->tx_ns, CLONE_NEWNET) < 0)
		e->gen_err = -errno;
	while (!e->gen_err && !atomic_load(&e->gen_stop)) {
		LIBBPF_OPTS(bpf_test_run_opts, o,
			.data_in = e->frame,
			.data_size_in = (uint32_t)e->frame_len,
			.repeat = GEN_FRAMES_PER_CALL,
			.flags = BPF_F_TEST_XDP_LIVE_FRAMES);

		if (bpf_prog_test_run_opts(fd, &o) < 0 && errno != EINTR)
			e->gen_err = -errno;
	}
	atomic_store(&e->gen_done, true);
	return NULL;
}

/*
 * Loads the generator: an XDP program that writes the frame with
 * bpf_xdp_store_bytes and redirects it, run by BPF_PROG_TEST_RUN with live
 * frames (Linux >= 5.18). One line if the kernel refuses it; libbpf's log
 * (the verifier's) is at debug level (-v).
 */
int gen_load(struct env *e)
{
	struct utsname u = {};
	int r;

	(void)uname(&u);
	e->gen = nfo_gen__open();
	if (!e->gen)
		return log_error_errno(-errno, "bench: cannot open the generator program: %m");
	e->gen->rodata->out_ifindex = (uint32_t)e->tx_ifindex;
	e->gen->rodata->sport_off = 14 + 20;
	e->gen->rodata->sport_base = SPORT0;
	e->gen->rodata->sport_mask = FLOWS - 1;
	e->gen->rodata->flood_dport = DROP_PORT;
	e->gen->rodata->probe_dport = PROBE_PORT;
	e->gen->rodata->probe_every = PROBE_EVERY - 1;
	r = nfo_gen__load(e->gen);
	if (r < 0)
		return log_error_errno(r, "bench: Linux %s refused the traffic generator, an XDP "
				       "program using bpf_xdp_store_bytes and bpf_redirect (%s); "
				       "-v shows libbpf's log", u.release, strerror(-r));
	gen_frame(e, AF_INET);
	return 0;
}

int gen_start(struct env *e)
{
	int r;

	atomic_store(&e->gen_stop, false);
	atomic_store(&e->gen_done, false);
	e->gen->bss->interval_ns = e->gen_rate > 0 ? (uint64_t)(1e9 / e->gen_rate) : 0;
	e->gen->bss->next_ns = 0;
	e->gen_err = 0;
	r = -pthread_create(&e->gen_thread, NULL, gen_main, e);
	if (r < 0)
		return r;
	e->gen_running = true;
	return 0;
}

int gen_stop(struct env *e)
{
	if (!e->gen_running)
		return 0;
	atomic_store(&e->gen_stop, true);
	/* again until it is out: a signal that lands just before it enters
	 * the next call is lost */
	while (!atomic_load(&e->gen_done)) {
		struct timespec ts = { 0, 5 * 1000 * 1000 };

		pthread_kill(e->gen_thread, SIGUSR1);
		(void)nanosleep(&ts, NULL);
	}
	pthread_join(e->gen_thread, NULL);
	e->gen_running = false;
	return e->gen_err;
}

uint64_t gen_sent(struct env *e)
{
	return __atomic_load_n(&e->gen->bss->sent, __ATOMIC_RELAXED);
}

/* Frames of the probe stream sent so far (the flood's: gen_sent minus
 * these). */
uint64_t gen_probe_sent(struct env *e)
{
	return __atomic_load_n(&e->gen->bss->probe_sent, __ATOMIC_RELAXED);
}
