// SPDX-License-Identifier: GPL-2.0-only
/*
 * What every part of nft-offload-bench shares: the frames' MAC addresses,
 * the names of modes and layouts, the interrupt flag and the clock. Here
 * and not in main.c, so that the parts main.c drives never call back
 * into it.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>

#include "bench.h"

const uint8_t bench_mac_tx[6] = { 0x02, 0x6e, 0x66, 0x6f, 0x00, 0x01 };
const uint8_t bench_mac_rx[6] = { 0x02, 0x6e, 0x66, 0x6f, 0x00, 0x02 };

const char *const mode_id[_M_MAX] = {
	[M_NFT_INPUT] = "nft-input",
	[M_NFT_INGRESS] = "nft-ingress",
	[M_XDP] = "nft-offload-xdp",
	[M_TC] = "nft-offload-tc",
	[M_REF] = "hand-written-xdp",
	[M_SINK] = "xdp-drop",
};
const char *const mode_label[_M_MAX] = {
	[M_NFT_INPUT] = "nft input",
	[M_NFT_INGRESS] = "nft ingress",
	[M_XDP] = "nft-offload xdp",
	[M_TC] = "nft-offload tc",
	[M_REF] = "hand-written xdp filter",
	[M_SINK] = "xdp drop-all, reads no packet byte",
};
const char *const layout_id[_LAYOUT_MAX] = {
	[LAYOUT_LINEAR] = "linear",
	[LAYOUT_SET] = "set",
};

volatile sig_atomic_t bench_interrupted;

double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* -EINTR when the user interrupted us. */
int sleep_s(double s)
{
	double end = now_s() + s;

	for (;;) {
		double left = end - now_s();
		struct timespec ts;

		if (bench_interrupted)
			return -EINTR;
		if (left <= 0)
			return 0;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		(void)nanosleep(&ts, NULL);
	}
}
