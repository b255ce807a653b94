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
static void frame_build(uint8_t *f)
{
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint16_t c;

	memset(f, 0, FRAME_LEN);
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
			.data_size_in = sizeof(e->frame),
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
	r = nfo_gen__load(e->gen);
	if (r < 0)
		return log_error_errno(r, "bench: Linux %s refused the traffic generator, an XDP "
				       "program using bpf_xdp_store_bytes and bpf_redirect (%s); "
				       "-v shows libbpf's log", u.release, strerror(-r));
	frame_build(e->frame);
	return 0;
}

int gen_start(struct env *e)
{
	int r;

	atomic_store(&e->gen_stop, false);
	atomic_store(&e->gen_done, false);
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
