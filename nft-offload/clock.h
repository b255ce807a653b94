/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel's jiffies64, the clock nf_tables set element timeouts count in
 * (bpf/clock/nfo_jiffies.bpf.c), and its rate. A syscall program run with
 * BPF_PROG_TEST_RUN reads it in about a microsecond.
 */
#ifndef NFO_CLOCK_H
#define NFO_CLOCK_H

#include <stdint.h>

struct nfo_clock;

/*
 * Loads the program and measures HZ (about 100 ms: jiffies against
 * CLOCK_MONOTONIC). sysconf(_SC_CLK_TCK) is USER_HZ, not the kernel's HZ,
 * and the kernel config is not always readable.
 */
int nfo_clock_new(struct nfo_clock **ret);
void nfo_clock_free(struct nfo_clock **c);

/* get_jiffies_64() now. */
int nfo_clock_jiffies(struct nfo_clock *c, uint64_t *ret);
/* The kernel's HZ (ticks of jiffies per second). */
uint32_t nfo_clock_hz(const struct nfo_clock *c);

/* HZ from a measurement: jiffies dj counted within an interval of which
 * the shortest it can have lasted is min_ns and the longest max_ns. The
 * configurable values (kernel/Kconfig.hz) within the measurement's bounds;
 * if none, the lowest the measurement allows. 0 if it tells nothing. */
uint32_t nfo_clock_hz_from(uint64_t dj, uint64_t min_ns, uint64_t max_ns);

#endif
