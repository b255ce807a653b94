/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the running kernel offers the fast path, found by loading tiny
 * programs: a kernel that lacks something is told in one line naming what is
 * missing and the kernel version, before any program of ours is loaded (a
 * verifier dump says neither).
 */
#ifndef NFO_PROBE_H
#define NFO_PROBE_H

#include <stdbool.h>
#include <stddef.h>

enum nfo_feature {
	NFO_FEAT_BTF,           /* /sys/kernel/btf/vmlinux: kfuncs are found by BTF id */
	NFO_FEAT_PROG_XDP,
	NFO_FEAT_PROG_SCHED_CLS,
	NFO_FEAT_DYNPTR_FROM_XDP,
	NFO_FEAT_DYNPTR_FROM_SKB,
	NFO_FEAT_DYNPTR_SLICE,
	NFO_FEAT_XDP_CT_LOOKUP,
	NFO_FEAT_SKB_CT_LOOKUP,
	NFO_FEAT_FIB_LOOKUP,    /* bpf_fib_lookup in XDP and tc: TCP resets (reset leaves) */
	NFO_FEAT_XDP_STORE,     /* bpf_xdp_store_bytes: XDP writes the RST */
	NFO_FEAT_TCX,           /* tcx ingress links: tc mode only */
	NFO_FEAT_PROG_CGROUP_SKB,    /* per-service filters only */
	NFO_FEAT_DYNPTR_CGROUP_SKB,  /* bpf_dynptr_from_skb in cgroup_skb programs */
	_NFO_FEAT_MAX,
};

#define NFO_FEAT_MASK(f) (1u << (f))
/* What every mode needs: the loader loads the XDP and the TC program. */
#define NFO_FEAT_CORE (NFO_FEAT_MASK(NFO_FEAT_TCX) - 1)
/* What per-service filters (cgroup_skb programs) need on top. */
#define NFO_FEAT_SERVICES \
	(NFO_FEAT_MASK(NFO_FEAT_PROG_CGROUP_SKB) | NFO_FEAT_MASK(NFO_FEAT_DYNPTR_CGROUP_SKB))

struct nfo_probe {
	unsigned have;      /* NFO_FEAT_MASK() of what the kernel offers */
	char kernel[65];    /* uname -r */
};

/* Fills ret. Returns 0, or -EPERM when not allowed to load programs (then
 * nothing can be told). */
int nfo_probe(struct nfo_probe *ret);

const char *nfo_feature_name(int feature);

/*
 * Writes "missing: a, b (kernel X)" for what need asks and p lacks. Returns
 * how many are missing (0: buf holds "").
 */
int nfo_probe_missing(const struct nfo_probe *p, unsigned need, char *buf, size_t len);

/*
 * The daemon's check: everything every mode needs, tcx when tc mode is
 * configured, cgroup_skb with dynptrs when services are. 0, or -ENOTSUP /
 * -EPERM with the one line in err.
 */
int nfo_probe_check(bool need_tcx, bool need_services, char *err, size_t errlen);

#endif
