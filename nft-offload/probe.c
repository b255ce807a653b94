// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel feature probes. Each kfunc is probed by loading a program of a few
 * instructions that calls it by its BTF id, with the arguments the verifier
 * wants, so "present" means what the fast path needs: the function exists,
 * is allowed for that program type and this caller may use it (a kfunc can
 * be in BTF and still be refused, e.g. for unprivileged or non-GPL callers).
 * No verifier log is asked for: a refusal is one bit.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "common/util.h"
#include "probe.h"

/* include/uapi/linux/bpf.h (Linux >= 6.6); older headers lack it. */
#define PROBE_BPF_TCX_INGRESS 46

static const struct {
	const char *name;
	const char *needs; /* what brings it */
} features[_NFO_FEAT_MAX] = {
	[NFO_FEAT_BTF] = { "kernel BTF", "CONFIG_DEBUG_INFO_BTF" },
	[NFO_FEAT_PROG_XDP] = { "XDP programs", "CONFIG_BPF_SYSCALL and CONFIG_BPF_JIT" },
	[NFO_FEAT_PROG_SCHED_CLS] = { "tc (SCHED_CLS) programs", "CONFIG_NET_CLS_ACT" },
	[NFO_FEAT_DYNPTR_FROM_XDP] = { "bpf_dynptr_from_xdp", "Linux 6.4 or newer" },
	[NFO_FEAT_DYNPTR_FROM_SKB] = { "bpf_dynptr_from_skb", "Linux 6.4 or newer" },
	[NFO_FEAT_DYNPTR_SLICE] = { "bpf_dynptr_slice", "Linux 6.4 or newer" },
	[NFO_FEAT_XDP_CT_LOOKUP] = { "bpf_xdp_ct_lookup",
				     "CONFIG_NF_CONNTRACK with BTF (Linux 6.0 or newer)" },
	[NFO_FEAT_SKB_CT_LOOKUP] = { "bpf_skb_ct_lookup",
				     "CONFIG_NF_CONNTRACK with BTF (Linux 6.0 or newer)" },
	[NFO_FEAT_FIB_LOOKUP] = { "bpf_fib_lookup", "CONFIG_INET (Linux 4.18 or newer)" },
	[NFO_FEAT_XDP_STORE] = { "bpf_xdp_store_bytes", "Linux 5.18 or newer" },
	[NFO_FEAT_TCX] = { "tcx", "Linux 6.6 or newer; use xdp mode" },
	[NFO_FEAT_PROG_CGROUP_SKB] = { "cgroup_skb programs", "CONFIG_CGROUP_BPF" },
	[NFO_FEAT_DYNPTR_CGROUP_SKB] = { "bpf_dynptr_from_skb in cgroup_skb programs",
					 "Linux 6.6 or newer" },
};

const char *nfo_feature_name(int feature)
{
	if (feature < 0 || feature >= _NFO_FEAT_MAX)
		return NULL;
	return features[feature].name;
}

#define R0 0
#define R1 1
#define R2 2
#define R3 3
#define R4 4
#define R5 5
#define R6 6
#define R10 10

static struct bpf_insn mov_imm(int dst, int imm)
{
	return (struct bpf_insn){ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = dst, .imm = imm };
}

static struct bpf_insn mov_reg(int dst, int src)
{
	return (struct bpf_insn){ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = dst,
				  .src_reg = src };
}

static struct bpf_insn add_imm(int dst, int imm)
{
	return (struct bpf_insn){ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = dst, .imm = imm };
}

static struct bpf_insn st_zero(int off)
{
	return (struct bpf_insn){ .code = BPF_ST | BPF_MEM | BPF_DW, .dst_reg = R10, .off = off };
}

static struct bpf_insn exit_insn(void)
{
	return (struct bpf_insn){ .code = BPF_JMP | BPF_EXIT };
}

/* A kfunc found in BTF: its id, and in which BTF (fd_array slot, 0: vmlinux). */
struct kfunc {
	int id;
	int btf_slot;
};

static struct bpf_insn call_kfunc(struct kfunc k)
{
	return (struct bpf_insn){ .code = BPF_JMP | BPF_CALL, .src_reg = BPF_PSEUDO_KFUNC_CALL,
				  .off = (short)k.btf_slot, .imm = k.id };
}

struct probe_ctx {
	struct btf *vmlinux;
	/* fd_array for kfuncs in module BTF (kernel/bpf/verifier.c,
	 * add_kfunc_call(): insn->off indexes it; slot 0 is never used). */
	int fd_array[2];
};

/*
 * Finds name in vmlinux BTF, else in the loaded modules' BTF (nf_conntrack
 * may be a module). -ENOENT when nowhere.
 */
static int kfunc_find(struct probe_ctx *c, const char *name, struct kfunc *ret)
{
	__u32 id = 0;
	int r;

	r = btf__find_by_name_kind(c->vmlinux, name, BTF_KIND_FUNC);
	if (r > 0) {
		*ret = (struct kfunc){ .id = r, .btf_slot = 0 };
		return 0;
	}
	while (bpf_btf_get_next_id(id, &id) == 0) {
		char mod[64] = "";
		struct bpf_btf_info info = { .name = (__u64)(unsigned long)mod,
					     .name_len = sizeof(mod) };
		__u32 len = sizeof(info);
		struct btf *btf;
		int fd = bpf_btf_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0 || !info.kernel_btf ||
		    !strcmp(mod, "vmlinux")) {
			close(fd);
			continue;
		}
		btf = btf__load_from_kernel_by_id_split(id, c->vmlinux);
		r = btf ? btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) : -ENOENT;
		btf__free(btf);
		if (r > 0) {
			if (c->fd_array[1] >= 0 && c->fd_array[1] != fd)
				close(c->fd_array[1]);
			c->fd_array[1] = fd;
			*ret = (struct kfunc){ .id = r, .btf_slot = 1 };
			return 0;
		}
		close(fd);
	}
	return -ENOENT;
}

/* 0 when the kernel accepts the program, else -errno. */
static int load(struct probe_ctx *c, enum bpf_prog_type type, const struct bpf_insn *insns,
		size_t n)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .fd_array = c->fd_array);
	int fd = bpf_prog_load(type, "nfo_probe", "GPL", insns, n, &opts);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* from(ctx, 0, &dp) on the stack at -16, then optionally a slice of it. */
static int probe_dynptr(struct probe_ctx *c, enum bpf_prog_type type, const char *from,
			const char *slice)
{
	struct kfunc kf, ks = {};
	struct bpf_insn insns[16];
	size_t n = 0;

	if (kfunc_find(c, from, &kf) < 0 || (slice && kfunc_find(c, slice, &ks) < 0))
		return -ENOENT;
	insns[n++] = mov_imm(R2, 0);
	insns[n++] = mov_reg(R3, R10);
	insns[n++] = add_imm(R3, -16);
	insns[n++] = call_kfunc(kf);
	if (slice) {
		insns[n++] = mov_reg(R1, R10);
		insns[n++] = add_imm(R1, -16);
		insns[n++] = mov_imm(R2, 0);
		insns[n++] = mov_imm(R3, 0);  /* buffer__opt: none */
		insns[n++] = mov_imm(R4, 14); /* buffer__szk: a constant */
		insns[n++] = call_kfunc(ks);
	}
	/* XDP_PASS; TC_ACT_SHOT; never run. cgroup_skb allows 0 or 1 only. */
	insns[n++] = mov_imm(R0, type == BPF_PROG_TYPE_CGROUP_SKB ? 1 : 2);
	insns[n++] = exit_insn();
	return load(c, type, insns, n);
}

/* lookup(ctx, &tuple, 12, &opts, 16) on zeroed stack, released when found. */
static int probe_ct(struct probe_ctx *c, enum bpf_prog_type type, const char *lookup)
{
	struct kfunc kl, kr;
	struct bpf_insn insns[24];
	size_t n = 0;

	if (kfunc_find(c, lookup, &kl) < 0 || kfunc_find(c, "bpf_ct_release", &kr) < 0 ||
	    kl.btf_slot != kr.btf_slot)
		return -ENOENT;
	insns[n++] = mov_reg(R6, R1);
	insns[n++] = st_zero(-8);
	insns[n++] = st_zero(-16); /* struct bpf_sock_tuple (ipv4: 12 bytes) */
	insns[n++] = st_zero(-24);
	insns[n++] = st_zero(-32); /* struct bpf_ct_opts */
	insns[n++] = mov_reg(R1, R6);
	insns[n++] = mov_reg(R2, R10);
	insns[n++] = add_imm(R2, -16);
	insns[n++] = mov_imm(R3, 12);
	insns[n++] = mov_reg(R4, R10);
	insns[n++] = add_imm(R4, -32);
	insns[n++] = mov_imm(R5, 16);
	insns[n++] = call_kfunc(kl);
	insns[n++] = (struct bpf_insn){ .code = BPF_JMP | BPF_JEQ | BPF_K, .dst_reg = R0, .off = 2 };
	insns[n++] = mov_reg(R1, R0);
	insns[n++] = call_kfunc(kr);
	insns[n++] = mov_imm(R0, 2);
	insns[n++] = exit_insn();
	return load(c, type, insns, n);
}

/* BPF_PROG_QUERY of tcx ingress on lo (every network namespace has it):
 * kernels without tcx reject the attach type (EINVAL). */
static bool probe_tcx(void)
{
	__u32 ids[1], cnt = 1;

	if (bpf_prog_query(1, PROBE_BPF_TCX_INGRESS, 0, NULL, ids, &cnt) == 0)
		return true;
	return errno == ENOSPC; /* more programs than ids: tcx exists */
}

int nfo_probe(struct nfo_probe *ret)
{
	struct probe_ctx c = { .fd_array = { -1, -1 } };
	const struct bpf_insn ret0[] = { mov_imm(R0, 2), exit_insn() };
	/* cgroup_skb programs may return only 0 or 1 */
	const struct bpf_insn ret1[] = { mov_imm(R0, 1), exit_insn() };
	struct nfo_probe p = {};
	struct utsname u;
	int r;

	if (uname(&u) == 0)
		snprintf(p.kernel, sizeof(p.kernel), "%s", u.release);

	r = load(&c, BPF_PROG_TYPE_XDP, ret0, ARRAY_SIZE(ret0));
	if (r == -EPERM)
		return r;
	if (r == 0)
		p.have |= NFO_FEAT_MASK(NFO_FEAT_PROG_XDP);
	if (load(&c, BPF_PROG_TYPE_SCHED_CLS, ret0, ARRAY_SIZE(ret0)) == 0)
		p.have |= NFO_FEAT_MASK(NFO_FEAT_PROG_SCHED_CLS);
	if (probe_tcx())
		p.have |= NFO_FEAT_MASK(NFO_FEAT_TCX);
	/* The programs call these helpers at reset leaves (bpf/classify.h):
	 * without them they would not load at all. */
	if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_fib_lookup, NULL) == 1 &&
	    libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_fib_lookup, NULL) == 1)
		p.have |= NFO_FEAT_MASK(NFO_FEAT_FIB_LOOKUP);
	if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_xdp_store_bytes, NULL) == 1)
		p.have |= NFO_FEAT_MASK(NFO_FEAT_XDP_STORE);
	if (load(&c, BPF_PROG_TYPE_CGROUP_SKB, ret1, ARRAY_SIZE(ret1)) == 0)
		p.have |= NFO_FEAT_MASK(NFO_FEAT_PROG_CGROUP_SKB);

	c.vmlinux = btf__load_vmlinux_btf();
	if (c.vmlinux) {
		p.have |= NFO_FEAT_MASK(NFO_FEAT_BTF);
		if (probe_dynptr(&c, BPF_PROG_TYPE_XDP, "bpf_dynptr_from_xdp", NULL) == 0)
			p.have |= NFO_FEAT_MASK(NFO_FEAT_DYNPTR_FROM_XDP);
		if (probe_dynptr(&c, BPF_PROG_TYPE_SCHED_CLS, "bpf_dynptr_from_skb", NULL) == 0)
			p.have |= NFO_FEAT_MASK(NFO_FEAT_DYNPTR_FROM_SKB);
		if (probe_dynptr(&c, BPF_PROG_TYPE_XDP, "bpf_dynptr_from_xdp", "bpf_dynptr_slice") == 0)
			p.have |= NFO_FEAT_MASK(NFO_FEAT_DYNPTR_SLICE);
		/* The service programs read packets the same way; the kernel
		 * allows bpf_dynptr_from_skb there since 6.6 only. */
		if (probe_dynptr(&c, BPF_PROG_TYPE_CGROUP_SKB, "bpf_dynptr_from_skb",
				 "bpf_dynptr_slice") == 0)
			p.have |= NFO_FEAT_MASK(NFO_FEAT_DYNPTR_CGROUP_SKB);
		if (probe_ct(&c, BPF_PROG_TYPE_XDP, "bpf_xdp_ct_lookup") == 0)
			p.have |= NFO_FEAT_MASK(NFO_FEAT_XDP_CT_LOOKUP);
		if (probe_ct(&c, BPF_PROG_TYPE_SCHED_CLS, "bpf_skb_ct_lookup") == 0)
			p.have |= NFO_FEAT_MASK(NFO_FEAT_SKB_CT_LOOKUP);
		btf__free(c.vmlinux);
	}
	if (c.fd_array[1] >= 0)
		close(c.fd_array[1]);
	*ret = p;
	return 0;
}

int nfo_probe_missing(const struct nfo_probe *p, unsigned need, char *buf, size_t len)
{
	size_t off = 0;
	int n = 0;

	if (len)
		buf[0] = '\0';
	for (int f = 0; f < _NFO_FEAT_MAX; f++) {
		if (!(need & NFO_FEAT_MASK(f)) || (p->have & NFO_FEAT_MASK(f)))
			continue;
		off += (size_t)snprintf(buf + (off < len ? off : len), off < len ? len - off : 0,
					"%s%s", n ? ", " : "missing: ", features[f].name);
		n++;
	}
	if (n)
		(void)snprintf(buf + (off < len ? off : len), off < len ? len - off : 0,
			       " (kernel %s)", p->kernel);
	return n;
}

int nfo_probe_check(bool need_tcx, bool need_services, char *err, size_t errlen)
{
	unsigned need = NFO_FEAT_CORE | (need_tcx ? NFO_FEAT_MASK(NFO_FEAT_TCX) : 0) |
			(need_services ? NFO_FEAT_SERVICES : 0);
	struct nfo_probe p;
	char missing[384];
	int r, first;

	r = nfo_probe(&p);
	if (r == -EPERM) {
		snprintf(err, errlen, "not allowed to load BPF programs: run as root "
				      "(CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN)");
		return r;
	}
	if (!nfo_probe_missing(&p, need, missing, sizeof(missing)))
		return 0;
	for (first = 0; first < _NFO_FEAT_MAX; first++)
		if ((need & NFO_FEAT_MASK(first)) && !(p.have & NFO_FEAT_MASK(first)))
			break;
	unsigned lack = need & ~p.have;
	const char *what = (lack & NFO_FEAT_CORE) ? "nft-offload" :
			   !(lack & NFO_FEAT_SERVICES) ? "tc mode" :
			   !(lack & NFO_FEAT_MASK(NFO_FEAT_TCX)) ? "per-service filters" :
								    "tc mode and per-service filters";

	snprintf(err, errlen, "this kernel cannot run %s: %s; %s needs %s", what, missing,
		 features[first].name, features[first].needs);
	return -ENOTSUP;
}
