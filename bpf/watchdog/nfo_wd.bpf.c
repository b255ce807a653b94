// SPDX-License-Identifier: GPL-2.0-only
/*
 * The watchdog: a BPF timer that turns the fast path off when the daemon
 * stops beating (stopped, hung, stuck in a loop), so a ruleset change it
 * cannot follow leaves a stale fast path for at most about a second.
 *
 * It is its own object, loaded beside each program set and sharing that
 * set's nfo_ctl (the loader reuses the fd): the packet path reads
 * nfo_ctl.state as it always did and pays nothing for it. The timer lives in
 * nfo_wd_timers, which only the daemon's fds keep alive: when the daemon
 * exits the map's last user reference goes and the kernel cancels the timer
 * (bpf_map_put_uref() calls the array's map_release_uref, which frees its
 * timers: kernel/bpf/syscall.c, arraymap.c), as it detaches the unpinned
 * links.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "nfo_abi.h"

#define CLOCK_MONOTONIC 1 /* include/uapi/linux/time.h */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct nfo_ctl);
} nfo_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nfo_wd_timer);
} nfo_wd_timers SEC(".maps");

static int nfo_wd_fire(void *map, __u32 *key, struct nfo_wd_timer *t)
{
	__u32 zero = 0, state;
	struct nfo_ctl *ctl = bpf_map_lookup_elem(&nfo_ctl, &zero);
	__u64 now = bpf_ktime_get_ns(), hb;

	if (ctl) {
		ctl->checked = now;
		__sync_fetch_and_add(&ctl->checks, 1);
		state = *(volatile __u32 *)&ctl->state;
		hb = *(volatile __u64 *)&ctl->heartbeat;
		/* Signed: a beat between reading now and the heartbeat makes
		 * the difference negative, which is fresh. */
		if (ctl->stale_ns && state != NFO_STATE_DISABLED &&
		    (__s64)(now - hb) > (__s64)ctl->stale_ns &&
		    /* Only the state read here: if the daemon switched it
		     * meanwhile it is alive and this check is moot. */
		    __sync_val_compare_and_swap(&ctl->state, state, NFO_STATE_DISABLED) == state)
			__sync_fetch_and_add(&ctl->trips, 1);
	}
	bpf_timer_start(&t->timer, NFO_WD_PERIOD_NS, 0);
	return 0;
}

/* Run once per program set (BPF_PROG_TEST_RUN); 0 when the timer runs. */
SEC("syscall")
int nfo_wd_arm(void *args)
{
	__u32 zero = 0;
	struct nfo_wd_timer *t = bpf_map_lookup_elem(&nfo_wd_timers, &zero);
	int r;

	if (!t)
		return -1;
	r = bpf_timer_init(&t->timer, &nfo_wd_timers, CLOCK_MONOTONIC);
	if (r)
		return r;
	r = bpf_timer_set_callback(&t->timer, nfo_wd_fire);
	if (r)
		return r;
	return bpf_timer_start(&t->timer, NFO_WD_PERIOD_NS, 0);
}

/* The daemon's heartbeat, in the timer's own clock. */
SEC("syscall")
int nfo_wd_beat(struct nfo_wd_args *a)
{
	__u32 zero = 0;
	struct nfo_ctl *ctl = bpf_map_lookup_elem(&nfo_ctl, &zero);
	__u64 now = bpf_ktime_get_ns();

	a->now = now;
	if (a->beat && ctl)
		ctl->heartbeat = now;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
