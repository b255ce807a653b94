#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `nft-offload probe` on a kernel that has everything (the one the tests
# run on, Linux 6.6 or newer with BTF and conntrack): every feature
# present, exit 0, nothing on stderr. As nobody: one line saying to run as
# root, exit 1, never a verifier dump. Run inside a fresh namespace too: the
# tcx probe queries lo, which every namespace has.
. "$(dirname "$0")/lib.sh"

nfo_init
nfo_netns NS probe

check_all_present() {
	local where=$1 out err rc=0
	shift
	err="$NFO_T/probe-$where.err"
	out=$("$@" "$NFO_BIN" probe 2>"$err") || rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "$where: exit $rc: $(cat "$err")"
	elif [ -s "$err" ]; then
		fail "$where: stderr not empty: $(cat "$err")"
	elif ! grep -q "^kernel $(uname -r)\$" <<<"$out"; then
		fail "$where: no kernel line: $out"
	elif grep -qv -e '^kernel ' -e '^present ' <<<"$out"; then
		fail "$where: something missing or unexpected: $out"
	else
		local f
		for f in "kernel BTF" "XDP programs" "tc (SCHED_CLS) programs" bpf_dynptr_from_xdp \
			bpf_dynptr_from_skb bpf_dynptr_slice bpf_xdp_ct_lookup bpf_skb_ct_lookup tcx \
			"cgroup_skb programs" "bpf_dynptr_from_skb in cgroup_skb programs"; do
			grep -qxF "present  $f" <<<"$out" || fail "$where: '$f' not reported present: $out"
		done
		ok "$where: all $(grep -c '^present ' <<<"$out") features present"
	fi
}

check_all_present host env
check_all_present netns ip netns exec "$NS"

rc=0
err=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$NFO_BIN" probe 2>&1 >/dev/null) || rc=$?
if [ "$rc" -ne 1 ]; then
	fail "as nobody: exit $rc, expected 1"
elif [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ] || [[ "$err" != *root* ]]; then
	fail "as nobody: expected one line saying to run as root, got: $err"
else
	ok "as nobody: $err"
fi

nfo_done
