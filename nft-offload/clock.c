// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/nfo_abi.h"
#include "clock.h"
#include "common/util.h"

#include "nfo_jiffies.skel.h"

struct nfo_clock {
	struct nfo_jiffies *skel;
	int fd;
	uint32_t hz;
};

int nfo_clock_jiffies(struct nfo_clock *c, uint64_t *ret)
{
	struct nfo_clock_args args = {};
	/* a syscall program's context is copied back into ctx_in
	 * (bpf_prog_test_run_syscall refuses ctx_out) */
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &args, .ctx_size_in = sizeof(args));

	if (bpf_prog_test_run_opts(c->fd, &opts) < 0)
		return -errno;
	if (!args.jiffies)
		return -EIO;
	*ret = args.jiffies;
	return 0;
}

uint32_t nfo_clock_hz(const struct nfo_clock *c)
{
	return c->hz;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint32_t nfo_clock_hz_from(uint64_t dj, uint64_t min_ns, uint64_t max_ns)
{
	/* kernel/Kconfig.hz, plus values some architectures allow */
	static const uint32_t known[] = { 24, 32, 48, 64, 100, 128, 200, 250, 256, 300, 500,
					  1000, 1024, 1200 };
	uint64_t lo, hi;

	if (!max_ns || max_ns < min_ns)
		return 0;
	/* dj jiffies fit in the interval: between dj - 1 and dj + 1 periods of
	 * it elapsed (each end may sit anywhere within a tick) */
	lo = dj ? (dj - 1) * 1000000000ull / max_ns : 0;
	hi = min_ns ? (dj + 1) * 1000000000ull / min_ns + 1 : UINT32_MAX;
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (known[i] >= lo && known[i] <= hi)
			return known[i];
	return lo > UINT32_MAX ? 0 : (uint32_t)lo;
}

static int measure_hz(struct nfo_clock *c)
{
	uint64_t t0, t1, t2, t3, j0, j1;
	int r;

	/* 100 ms: at HZ=100 that is 10 +- 1 ticks, enough to tell 100 from
	 * the neighbouring values; a longer sleep (a loaded machine) only
	 * sharpens it */
	t0 = now_ns();
	r = nfo_clock_jiffies(c, &j0);
	t1 = now_ns();
	if (r < 0)
		return r;
	nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
	t2 = now_ns();
	r = nfo_clock_jiffies(c, &j1);
	t3 = now_ns();
	if (r < 0)
		return r;
	c->hz = nfo_clock_hz_from(j1 - j0, t2 - t1, t3 - t0);
	return c->hz ? 0 : -EIO;
}

int nfo_clock_new(struct nfo_clock **ret)
{
	struct nfo_clock *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->skel = nfo_jiffies__open_and_load();
	if (!c->skel) {
		r = -errno;
		free(c);
		return r ? r : -EINVAL;
	}
	c->fd = bpf_program__fd(c->skel->progs.nfo_clock_read);
	r = measure_hz(c);
	if (r < 0) {
		nfo_clock_free(&c);
		return r;
	}
	*ret = c;
	return 0;
}

void nfo_clock_free(struct nfo_clock **cp)
{
	struct nfo_clock *c = *cp;

	if (!c)
		return;
	nfo_jiffies__destroy(c->skel);
	free(c);
	*cp = NULL;
}
