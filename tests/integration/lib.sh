# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Helpers for the real-kernel integration tests. A test script:
#
#     . "$(dirname "$0")/lib.sh"
#     nfo_init                       # root, temp dir, bpffs, cleanup trap
#     nfo_pair                       # sender + receiver namespaces, one veth
#     nfo_nft <<'EOF'                # ruleset of the receiver namespace
#     table inet t {
#         chain input {
#             type filter hook input priority 0; policy accept;
#             udp dport 9 drop comment "d9"
#         }
#     }
#     EOF
#     nfo_daemon_start --attach "$IF_R:xdp"   # waits: enabled + attached
#     nfo_case "udp dport" "drop=d9 --dport 9" "pass --dport 10" "pass -6 --dport 9"
#     nfo_assert "rule('d9')['packets'] == 5"
#     nfo_daemon_stop                # SIGTERM, must exit 0
#     nfo_done
#
# Rules are named by their nft comment; nfo_case steps and nfo_assert
# expressions are documented in nfo_check.py. Packets are sent and counted
# with tests/tools/pkt.py (a library and a CLI).
#
# Everything a test creates (namespaces, temp dir, bpffs mount, background
# processes) is removed by the EXIT trap, whatever happens. Names carry the
# shell's pid and a random suffix, so tests run side by side.
#
# Environment: NFO_BIN (the built nft-offload), NFO_SRC (source root).

set -Eeuo pipefail

# nfo_has GREP-ARGS...: the input matches. Reads all of it: with pipefail,
# `cmd | grep -q` fails at random when grep exits at the first match and the
# writer, still writing, dies of SIGPIPE (seen: bpftool map show).
nfo_has() { grep "$@" >/dev/null; }

: "${NFO_BIN:?NFO_BIN: path of the built nft-offload binary}"
: "${NFO_SRC:?NFO_SRC: path of the source tree}"
PKT="$NFO_SRC/tests/tools/pkt.py"
CHECK="$NFO_SRC/tests/integration/nfo_check.py"
export NFO_BIN
# The Python checks in the tests use assert: never optimized away.
unset PYTHONOPTIMIZE

NFO_TEST=$(basename "$0" .sh)
NFO_FAILED=0
NFO_T=
NFO_BPFFS=
NFO_ID=
NFO_NETNS=()    # namespaces to delete
NFO_PIDS=()     # background processes to stop

log() { printf '%s: %s\n' "$NFO_TEST" "$*"; }
ok() { printf 'ok: %s\n' "$*"; }

# Records a failure and goes on (the test exits 1 at nfo_done).
fail() {
	printf 'FAIL: %s\n' "$*"
	NFO_FAILED=$((NFO_FAILED + 1))
}

# A failure after which the test cannot go on.
die() {
	printf 'FAIL: %s\n' "$*"
	NFO_FAILED=$((NFO_FAILED + 1))
	exit 1
}

_nfo_on_err() {
	local rc=$? line=$1 cmd=$2
	printf 'FAIL: command failed (exit %d) at %s line %s: %s\n' "$rc" "${BASH_SOURCE[1]:-$0}" "$line" "$cmd"
	NFO_FAILED=$((NFO_FAILED + 1))
}

_nfo_cleanup() {
	local rc=$? pid ns i log
	set +eE
	trap - ERR
	# On failure, show what the daemons said (and how they ended).
	if [ "$rc" -ne 0 ] || [ "$NFO_FAILED" -ne 0 ]; then
		for log in "$NFO_T"/*.log; do
			[ -s "$log" ] || continue
			echo "---- $log ----"
			cat "$log"
		done
	fi
	for pid in "${NFO_PIDS[@]}"; do
		if [ -e "/proc/$pid" ] && ! nfo_alive "$pid"; then
			i=0
			wait "$pid" 2>/dev/null || i=$?
			echo "note: process $pid had exited on its own: status $i"
			continue
		fi
		if nfo_alive "$pid"; then
			kill -TERM "$pid" 2>/dev/null
			for i in $(seq 100); do
				nfo_alive "$pid" || break
				sleep 0.05
			done
			nfo_alive "$pid" && kill -KILL "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null
	done
	for ns in "${NFO_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$NFO_BPFFS" ] && mountpoint -q "$NFO_BPFFS"; then
		umount "$NFO_BPFFS" 2>/dev/null || umount -l "$NFO_BPFFS"
	fi
	[ -n "$NFO_T" ] && rm -rf "$NFO_T"
	if [ -n "$NFO_ID" ] && ip netns list | nfo_has -- "$NFO_ID"; then
		printf 'FAIL: namespaces left behind: %s\n' "$(ip netns list | grep -- "$NFO_ID" | tr '\n' ' ')"
		rc=1
	fi
	if [ "$rc" -eq 0 ] && [ "$NFO_FAILED" -ne 0 ]; then
		rc=1
	fi
	exit "$rc"
}

nfo_init() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "FAIL: $NFO_TEST needs root (namespaces, BPF, nft)"
		exit 1
	fi
	[ -x "$NFO_BIN" ] || { echo "FAIL: NFO_BIN=$NFO_BIN is not executable"; exit 1; }
	local t
	for t in ip nft python3 bpftool mountpoint; do
		command -v "$t" >/dev/null || { echo "FAIL: $t is not installed"; exit 1; }
	done
	NFO_ID="nfo$$$(printf '%04x' $((RANDOM)))"
	trap _nfo_cleanup EXIT
	trap 'exit 130' INT TERM
	trap '_nfo_on_err $LINENO "$BASH_COMMAND"' ERR
	NFO_T=$(mktemp -d "/tmp/nfo-integ-$NFO_TEST.XXXXXX")
	# A bpffs of our own: pins are visible (and removable) from here even
	# though the daemon runs under `ip netns exec`, which gives it its own
	# mount namespace (slave of ours) and its own /sys.
	NFO_BPFFS="$NFO_T/bpffs"
	mkdir "$NFO_BPFFS"
	mount -t bpf bpf "$NFO_BPFFS"
	: >"$NFO_T/empty.conf"
}

nfo_done() {
	if [ "$NFO_FAILED" -ne 0 ]; then
		echo "$NFO_TEST: $NFO_FAILED failure(s)"
		exit 1
	fi
	echo "$NFO_TEST: all checks passed"
	exit 0
}

# nfo_netns VAR SUFFIX: creates namespace "$NFO_ID-SUFFIX" (lo up) and
# stores its name in VAR.
nfo_netns() {
	local ns="$NFO_ID-$2"
	ip netns add "$ns"
	NFO_NETNS+=("$ns")
	# No duplicate address detection, link-local addresses included: an
	# address turning from tentative to permanent a second after the link
	# came up is an rtnetlink event the daemon rebuilds for (passing
	# everything meanwhile), in the middle of a test.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	# No router solicitations either: the peer's come at backed-off times
	# (the third about 11 s after link up) and the fast path passes them,
	# one more packet in a case that counts exact passes.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.router_solicitations=0 \
		net.ipv6.conf.default.router_solicitations=0
	ip -n "$ns" link set lo up
	printf -v "$1" '%s' "$ns"
}

nfo_mac() { # NS IFACE
	ip -n "$1" -j link show dev "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])'
}

# nfo_pair [SUFFIX]: a sender and a receiver namespace joined by a veth pair
# (nfo_pair_ns, then nfo_pair_link).
nfo_pair() {
	nfo_pair_ns "${1:-}"
	nfo_pair_link
}

# nfo_pair_ns [SUFFIX]: the two namespaces. Sets NS_S NS_R, the interface
# names IF_S IF_R (not created yet) and the addresses S4 R4 R4B S6 R6 R6B
# (R4B/R6B: a second address of the receiver).
nfo_pair_ns() {
	local sfx=${1:-}
	nfo_netns NS_S "s$sfx"
	nfo_netns NS_R "r$sfx"
	IF_S="vs$sfx${NFO_ID: -4}"
	IF_R="vr$sfx${NFO_ID: -4}"
	S4=10.99.0.1 R4=10.99.0.2 R4B=10.99.0.3
	S6=fd00:99::1 R6=fd00:99::2 R6B=fd00:99::3
	export NFO_NS_S=$NS_S NFO_NS_R=$NS_R NFO_IF_S=$IF_S
	export NFO_S4=$S4 NFO_R4=$R4 NFO_S6=$S6 NFO_R6=$R6
}

# nfo_pair_link: the veth pair IF_S (in NS_S) - IF_R (in NS_R), addressed
# and up. Sets MAC_S MAC_R and exports what nfo_check.py needs.
nfo_pair_link() {
	ip link add "$IF_S" netns "$NS_S" type veth peer name "$IF_R" netns "$NS_R"
	ip -n "$NS_S" addr add "$S4/24" dev "$IF_S"
	ip -n "$NS_S" addr add "$S6/64" dev "$IF_S" nodad
	ip -n "$NS_R" addr add "$R4/24" dev "$IF_R"
	ip -n "$NS_R" addr add "$R4B/24" dev "$IF_R"
	ip -n "$NS_R" addr add "$R6/64" dev "$IF_R" nodad
	ip -n "$NS_R" addr add "$R6B/64" dev "$IF_R" nodad
	# No link-local addresses: no router solicitations (sent 4 s apart after
	# the link comes up) cross the pair while a test counts what passed.
	ip -n "$NS_S" link set "$IF_S" addrgenmode none
	ip -n "$NS_R" link set "$IF_R" addrgenmode none
	ip -n "$NS_S" link set "$IF_S" up
	ip -n "$NS_R" link set "$IF_R" up
	MAC_S=$(nfo_mac "$NS_S" "$IF_S")
	MAC_R=$(nfo_mac "$NS_R" "$IF_R")
	export NFO_MAC_S=$MAC_S NFO_MAC_R=$MAC_R
	# Static neighbours: no ARP or neighbour solicitation crosses the pair
	# on its own (an entry going stale in a long test re-resolves it), so
	# the counters of what passed to nftables move only for what a test sent.
	local a
	for a in "$R4" "$R4B" "$R6" "$R6B"; do
		ip -n "$NS_S" neigh replace "$a" lladdr "$MAC_R" dev "$IF_S" nud permanent
	done
	for a in "$S4" "$S6"; do
		ip -n "$NS_R" neigh replace "$a" lladdr "$MAC_S" dev "$IF_R" nud permanent
	done
}

# nfo_nft [NS]: loads the ruleset on stdin into NS (default the receiver).
nfo_nft() {
	ip netns exec "${1:-$NS_R}" nft -f -
}

# nfo_daemon_start [--ns NS] [--run DIR] [--nowait] DAEMON-OPTIONS...
# Starts the daemon in NS (default the receiver) with run directory DIR
# (default $NFO_T/run), our bpffs and an empty config unless --config is
# given; waits until status says the fast path is enabled and every
# interface is attached (unless --nowait). Sets DAEMON_PID, DAEMON_LOG and
# NFO_RUN (exported).
nfo_daemon_start() {
	local ns=$NS_R run="$NFO_T/run" wait=1 cfg=("--config" "$NFO_T/empty.conf") a
	while [ $# -gt 0 ]; do
		case $1 in
		--ns) ns=$2; shift 2 ;;
		--run) run=$2; shift 2 ;;
		--nowait) wait=0; shift ;;
		*) break ;;
		esac
	done
	for a in "$@"; do
		[ "$a" = --config ] && cfg=()
	done
	DAEMON_LOG="$run.log"
	ip netns exec "$ns" "$NFO_BIN" daemon --run-dir "$run" --bpffs "$NFO_BPFFS" \
		"${cfg[@]}" "$@" >"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	NFO_PIDS+=("$DAEMON_PID")
	export NFO_RUN=$run
	if [ "$wait" = 1 ]; then
		# 30 s: loading and verifying the programs is CPU-bound, and a
		# CI machine running two suites at once may be slow at it
		nfo_wait 'st["fast_path"] == "enabled" and st["interfaces"] and all(i["attached"] and i["prog_id"] > 0 for i in st["interfaces"])' 30 ||
			{ nfo_daemon_log; die "daemon did not become ready"; }
	fi
}

nfo_daemon_log() {
	echo "---- daemon log ($DAEMON_LOG) ----"
	cat "$DAEMON_LOG" 2>/dev/null || true
	echo "----"
}

# nfo_pkt send|recv ...: tests/tools/pkt.py, for what nfo_case does not cover.
nfo_pkt() {
	python3 "$PKT" "$@"
}

# nfo_wait EXPR [TIMEOUT]: polls status until EXPR (see nfo_check.py) holds.
# 30 s by default: only a failure waits that long, and a rebuild (loading and
# verifying programs) on a loaded machine can take several seconds.
nfo_wait() {
	python3 "$CHECK" wait --expr "$1" --timeout "${2:-30}" --pid "${DAEMON_PID:-0}"
}

# nfo_assert EXPR [MESSAGE]: EXPR must hold now (a failure is recorded).
nfo_assert() {
	if python3 "$CHECK" assert "$1" --msg "${2:-}"; then
		ok "${2:-$1}"
	else
		NFO_FAILED=$((NFO_FAILED + 1))
	fi
}

# nfo_elements CMD...: an element-only `nft CMD...` transaction; waits until
# the daemon counted it applied with the fast path on (set_updates moves once
# the new elements are live; the generation is published before a whole
# write starts) and the elements added to sets with timeouts are live too
# (their expiries answered: set_expiry_pending), and asserts it took one
# update.
nfo_elements() {
	local su
	su=$(nfo_get 'st["set_updates"]')
	ip netns exec "$NS_R" nft "$@"
	nfo_wait "st['set_updates'] > $su and st['fast_path'] == 'enabled' and \
st['set_expiry_pending'] == 0" 30 ||
		{ nfo_daemon_log; die "the daemon did not follow: nft $*"; }
	nfo_assert "st['set_updates'] == $su + 1" \
		"element update: nft $* ($(nfo_get 'st["last_update_ms"]') ms)"
}

# nfo_inplace CMD...: an element-only `nft CMD...` transaction that must be
# applied in place, sent while a flood from $NFO_FLOOD_SRC (default
# 192.0.2.99: a source no rule drops) arrives: asserts one update, in place,
# and not one flood packet passed because the fast path was off. The flood
# runs only while the daemon follows (cases count packets exactly). LIVE:
# seconds from nft's return to the new generation live, with the elements
# added to sets with timeouts (their expiries answered).
nfo_inplace() {
	local src=${NFO_FLOOD_SRC:-192.0.2.99} su sip gen dis dec t0 flood
	su=$(nfo_get 'st["set_updates"]')
	sip=$(nfo_get 'st["set_updates_in_place"]')
	gen=$(nfo_get 'st["generation"]')
	dis=$(nfo_get 'st["totals"]["passed_by_reason"]["fast_path_disabled"]')
	dec=$(nfo_get 'st["totals"]["passed_by_reason"]["decided_by_nftables"]')
	python3 "$PKT" send -i "$IF_S" --netns "$NS_S" --src "$src" --dst "$R4" \
		--dst-mac "$MAC_R" --count 1000000 --rate 2000 >/dev/null 2>&1 &
	flood=$!
	NFO_PIDS+=("$flood")
	# The flood arrives before nft runs: a fixed delay is not enough, python
	# may take longer than that to start on a loaded machine.
	nfo_wait "st['totals']['passed_by_reason']['decided_by_nftables'] > $dec" 30 ||
		die "the flood from $src did not reach the fast path"
	ip netns exec "$NS_R" nft "$@"
	t0=$(nfo_mono)
	nfo_wait "st['generation'] != $gen and st['fast_path'] == 'enabled' and \
st['set_expiry_pending'] == 0" ||
		{ nfo_daemon_log; die "the daemon did not follow: nft $*"; }
	LIVE=$(nfo_secs "$t0")
	kill "$flood" 2>/dev/null || true
	wait "$flood" 2>/dev/null || true
	# What the veth still holds is processed after the sender is gone, later
	# on a loaded machine: the next case may count decided_by_nftables.
	nfo_quiet || fail "the flood's packets still arriving after the sender stopped"
	nfo_assert "st['set_updates'] == $su + 1 and st['set_updates_in_place'] == $sip + 1" \
		"applied in place, live $LIVE s after nft returned: nft $*"
	nfo_assert "st['totals']['passed_by_reason']['fast_path_disabled'] == $dis and \
st['totals']['passed_by_reason']['decided_by_nftables'] > $dec" \
		"the flood meanwhile: not one packet passed because the fast path was off"
}

# nfo_quiet [TIMEOUT_S]: waits until no packet reaches the fast path: its
# totals (dropped + passed) the same over 4 reads 0.1 s apart. For after a
# flood, whose last frames the veth may still hold. Fails at the timeout.
nfo_quiet() {
	local t=${1:-30} i n prev=x same=0
	for i in $(seq $((t * 10))); do
		n=$(nfo_get "st['totals']['dropped'] + st['totals']['passed']")
		if [ "$n" = "$prev" ]; then
			same=$((same + 1))
			[ "$same" -ge 3 ] && return 0
		else
			same=0
		fi
		prev=$n
		sleep 0.1
	done
	return 1
}

# nfo_mono: CLOCK_MONOTONIC in seconds; nfo_secs T: seconds since nfo_mono T.
nfo_mono() {
	python3 -c "import time; print(time.clock_gettime(time.CLOCK_MONOTONIC))"
}
nfo_secs() {
	python3 -c "import time; print(round(time.clock_gettime(time.CLOCK_MONOTONIC) - $1, 2))"
}

# nfo_addrs FILE A N: N IPv4 addresses A.0.0.0, A.0.0.1, ... one a line.
nfo_addrs() {
	python3 -c 'import sys
a, n = int(sys.argv[1]), int(sys.argv[2])
sys.stdout.write("".join("%d.%d.%d.%d\n" % (a, i >> 16, (i >> 8) & 255, i & 255) for i in range(n)))' \
		"$2" "$3" >"$1"
}

# nfo_elems_nft FILE VERB SET ADDRS...: `VERB element SET { ... }` commands
# (SET as "family table name") for the addresses in the files ADDRS, 10,000
# a command, for one `nft -f FILE` transaction.
nfo_elems_nft() {
	local f=$1 verb=$2 set=$3
	shift 3
	cat "$@" | python3 -c 'import sys
e = sys.stdin.read().split()
for i in range(0, len(e), 10000):
    print("%s element %s { %s }" % (sys.argv[1], sys.argv[2], ", ".join(e[i:i + 10000])))' \
		"$verb" "$set" >"$f"
}

# nfo_xdpcheck WHAT FILE drop|pass: the verdict of the first interface's
# XDP program on its live maps (BPF_PROG_TEST_RUN, tests/tools/nfo-xdpcheck)
# for a UDP packet to $R4 port 9 from every IPv4 source in FILE, one a line.
nfo_xdpcheck() {
	local prog done=passed
	[ "$3" = drop ] && done=dropped
	prog=$(nfo_get "st['interfaces'][0]['prog_id']")
	if ip netns exec "$NS_R" "$NFO_XDPCHECK" "$prog" "$IF_R" "$MAC_R" "$R4" 9 "$3" <"$2"; then
		ok "$1: all $(wc -l <"$2") addresses $done by the fast path"
	else
		fail "$1: addresses not $done by the fast path"
	fi
}

# nfo_get EXPR: prints EXPR's value.
nfo_get() {
	python3 "$CHECK" get "$1"
}

# nfo_case NAME [--count N] STEP...: see nfo_check.py (a failure is recorded).
nfo_case() {
	local name=$1
	shift
	python3 "$CHECK" case "$name" "$@" || NFO_FAILED=$((NFO_FAILED + 1))
}

# nfo_alive PID: the process exists and has not exited (a zombie has).
nfo_alive() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

# nfo_wait_exit PID [TIMEOUT_S]: waits for our child PID to exit and returns
# its exit status (124: still running at the timeout).
nfo_wait_exit() {
	local pid=$1 t=${2:-10} i rc
	for i in $(seq $((t * 20))); do
		nfo_alive "$pid" || break
		sleep 0.05
	done
	if nfo_alive "$pid"; then
		return 124
	fi
	rc=0
	wait "$pid" 2>/dev/null || rc=$?
	return "$rc"
}

# nfo_daemon_stop [SIGNAL]: stops the daemon (SIGTERM by default), checks
# that it exits (0 for SIGTERM) within 10 s.
nfo_daemon_stop() {
	local sig=${1:-TERM} rc=0
	if ! nfo_alive "$DAEMON_PID"; then
		wait "$DAEMON_PID" 2>/dev/null || rc=$?
		die "the daemon (pid $DAEMON_PID) died before it was stopped: exit status $rc$( [ "$rc" -gt 128 ] && echo " (signal $((rc - 128)))")"
	fi
	kill -"$sig" "$DAEMON_PID" 2>/dev/null
	nfo_wait_exit "$DAEMON_PID" 10 2>/dev/null || rc=$?
	if [ "$rc" = 124 ]; then
		nfo_daemon_log
		die "daemon (pid $DAEMON_PID) still running 10 s after SIG$sig"
	fi
	if [ "$sig" = TERM ]; then
		if [ "$rc" -eq 0 ]; then
			ok "daemon exited 0 on SIGTERM"
		else
			nfo_daemon_log
			fail "daemon exited $rc on SIGTERM, expected 0"
		fi
	fi
}

# nfo_poll TIMEOUT_S COMMAND...: runs COMMAND until it succeeds (every 50 ms).
nfo_poll() {
	local t=$1 i
	shift
	for i in $(seq $((t * 20))); do
		if "$@"; then
			return 0
		fi
		sleep 0.05
	done
	"$@"
}

# nfo_settle [TIMEOUT_S]: waits until the daemon has no change in flight:
# the fast path enabled and its update count the same over 5 reads 0.1 s
# apart (after link and address changes that come as several
# notifications). Fails at the timeout.
nfo_settle() {
	local t=${1:-10} i u prev=x same=0
	for i in $(seq $((t * 10))); do
		u=$(nfo_get "st['updates'] if st['fast_path'] == 'enabled' else -1") || u=-1
		if [ "$u" != -1 ] && [ "$u" = "$prev" ]; then
			same=$((same + 1))
			[ "$same" -ge 4 ] && return 0
		else
			same=0
		fi
		prev=$u
		sleep 0.1
	done
	echo "nfo_settle: the fast path did not settle in ${t}s: $(nfo_get "st['fast_path'], st['updates'], st['error']")" >&2
	return 1
}

# nfo_has_addr NS IFACE ADDR: ADDR is configured on IFACE.
nfo_has_addr() {
	ip -n "$1" addr show dev "$2" | nfo_has -w "${3%%/*}"
}

# Nothing of ours attached to IFACE in NS: no XDP program on the link, no tc
# (tcx) program in `bpftool net`, none of the given program ids still loaded.
nfo_nothing_attached() { # NS IFACE [PROG_ID...]
	local ns=$1 ifc=$2 id
	shift 2
	if ip -n "$ns" -d link show dev "$ifc" | nfo_has -E 'prog/xdp|xdpgeneric|xdpdrv| xdp '; then
		return 1
	fi
	if ip netns exec "$ns" bpftool net show dev "$ifc" 2>/dev/null | nfo_has -E 'nfo_|id [0-9]'; then
		return 1
	fi
	for id in "$@"; do
		if bpftool prog show id "$id" >/dev/null 2>&1; then
			return 1
		fi
		if bpftool link show 2>/dev/null | nfo_has -E "prog $id( |$)"; then
			return 1
		fi
	done
	return 0
}

# nfo_cgroup_init: a cgroup of this test, CG, under the cgroup v2 mount at
# /sys/fs/cgroup/unified (as on the CI machines); on exit its processes are
# killed and it is removed before lib.sh's own cleanup. Also puts the real
# python3 first in PATH: tests that run it many times call the interpreter
# itself, not a version manager's wrapper script in front of it.
nfo_cgroup_init() {
	local root=/sys/fs/cgroup/unified
	PATH="$(dirname "$(python3 -c 'import sys; print(sys.executable)')"):$PATH"
	[ -w "$root/cgroup.procs" ] || die "cgroup v2 is not mounted at $root"
	CG="$root/$NFO_ID"
	mkdir "$CG"
	trap _nfo_cgroup_cleanup EXIT
}

_nfo_cgroup_cleanup() {
	local rc=$?
	set +eE
	trap - ERR
	if [ -d "$CG" ]; then
		echo 1 >"$CG/cgroup.kill" 2>/dev/null
		for _ in $(seq 200); do
			[ -s "$CG/cgroup.procs" ] || break
			sleep 0.05
		done
		rmdir "$CG" 2>/dev/null
	fi
	(exit "$rc")
	_nfo_cleanup
}
