// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "watchdog.h"
#include "common/errbuf.h"

#include "nfo_wd.skel.h"

struct nfo_watchdog {
	struct nfo_wd *skel;
	struct nfo_ctl *ctl; /* the program set's, mmapped by the loader */
	uint32_t bound_ms;
};

/* Runs nfo_wd_beat: the BPF clock's now, and with beat the heartbeat. A
 * syscall program's context is copied back into ctx_in (the kernel refuses
 * ctx_out for them: bpf_prog_test_run_syscall). */
static int run_beat(struct nfo_wd *skel, bool beat, uint64_t *ret_now)
{
	struct nfo_wd_args a = { .beat = beat };
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &a, .ctx_size_in = sizeof(a));

	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.nfo_wd_beat), &o) < 0)
		return -errno;
	if (ret_now)
		*ret_now = a.now;
	return 0;
}

static int arm(struct nfo_wd *skel, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);

	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.nfo_wd_arm), &o) < 0)
		return nfo_seterr_errno(err, errlen, -errno, "cannot start the watchdog timer");
	if (o.retval != 0)
		return nfo_seterr(err, errlen, (int)o.retval < 0 ? (int)o.retval : -EINVAL,
			      "the kernel refused the watchdog timer (bpf_timer: %d)", (int)o.retval);
	return 0;
}

/* Opens and loads the object; ctl_fd < 0: with a private nfo_ctl. */
static int load(struct nfo_wd **ret, int ctl_fd, char *err, size_t errlen)
{
	struct nfo_wd *skel = nfo_wd__open();
	int r;

	if (!skel)
		return nfo_seterr_errno(err, errlen, -errno, "cannot open the watchdog object");
	if (ctl_fd >= 0 && bpf_map__reuse_fd(skel->maps.nfo_ctl, ctl_fd) < 0) {
		r = nfo_seterr_errno(err, errlen, -errno, "cannot share the control map with the watchdog");
		nfo_wd__destroy(skel);
		return r;
	}
	r = nfo_wd__load(skel);
	if (r < 0) {
		nfo_wd__destroy(skel);
		return nfo_seterr(err, errlen, r, "the kernel refused the watchdog program (bpf_timer "
			      "in a syscall program needs Linux 5.15 or newer): %s", strerror(-r));
	}
	*ret = skel;
	return 0;
}

int nfo_watchdog_new(struct nfo_watchdog **ret, int ctl_fd, struct nfo_ctl *ctl,
		     uint32_t bound_ms, char *err, size_t errlen)
{
	struct nfo_watchdog *w;
	int r;

	if (!bound_ms)
		return nfo_seterr(err, errlen, -EINVAL, "watchdog bound of 0 ms");
	w = calloc(1, sizeof(*w));
	if (!w)
		return nfo_seterr(err, errlen, -ENOMEM, "out of memory");
	w->ctl = ctl;
	w->bound_ms = bound_ms;
	r = load(&w->skel, ctl_fd, err, errlen);
	if (r < 0)
		goto fail;
	/* Fresh before the first check, so the new set never trips at once. */
	r = run_beat(w->skel, true, NULL);
	if (r < 0) {
		nfo_seterr_errno(err, errlen, r, "cannot run the watchdog heartbeat");
		goto fail;
	}
	__atomic_store_n(&ctl->stale_ns, (uint64_t)bound_ms * 1000000, __ATOMIC_SEQ_CST);
	r = arm(w->skel, err, errlen);
	if (r < 0) {
		__atomic_store_n(&ctl->stale_ns, 0, __ATOMIC_SEQ_CST);
		goto fail;
	}
	*ret = w;
	return 0;
fail:
	nfo_watchdog_free(&w);
	return r;
}

void nfo_watchdog_free(struct nfo_watchdog **wp)
{
	struct nfo_watchdog *w = *wp;

	if (!w)
		return;
	/* The timer map's last user reference: the kernel cancels the timer. */
	nfo_wd__destroy(w->skel);
	free(w);
	*wp = NULL;
}

int nfo_watchdog_beat(struct nfo_watchdog *w)
{
	if (!w)
		return 0;
	return run_beat(w->skel, true, NULL);
}

int nfo_watchdog_read(struct nfo_watchdog *w, struct nfo_watchdog_info *ret)
{
	struct nfo_watchdog_info info = { .heartbeat_age_ms = -1, .check_age_ms = -1 };
	uint64_t now, hb, checked;
	int r;

	if (!w) {
		*ret = info;
		return 0;
	}
	r = run_beat(w->skel, false, &now);
	if (r < 0)
		return r;
	hb = __atomic_load_n(&w->ctl->heartbeat, __ATOMIC_SEQ_CST);
	checked = __atomic_load_n(&w->ctl->checked, __ATOMIC_SEQ_CST);
	info.armed = true;
	info.bound_ms = w->bound_ms;
	info.checks = __atomic_load_n(&w->ctl->checks, __ATOMIC_SEQ_CST);
	info.heartbeat_age_ms = (double)(int64_t)(now - hb) / 1e6;
	if (checked)
		info.check_age_ms = (double)(int64_t)(now - checked) / 1e6;
	*ret = info;
	return 0;
}

int nfo_watchdog_probe(char *err, size_t errlen)
{
	struct nfo_wd *skel = NULL;
	int r;

	r = load(&skel, -1, err, errlen);
	if (r < 0)
		return r;
	r = arm(skel, err, errlen);
	nfo_wd__destroy(skel);
	return r;
}
