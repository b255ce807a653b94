#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Stopping the daemon leaves nothing behind, in every mode:
#  - SIGTERM: exit 0, no XDP/tcx program on the interface, no BPF link or
#    program of ours left, control socket and pinned maps removed;
#  - SIGKILL: nothing attached either (links are not pinned: the kernel
#    detaches them when the process dies); the pinned counters stay, and a
#    new daemon on the same run directory starts (stale socket) and keeps
#    counting from them.
. "$(dirname "$0")/lib.sh"

nfo_init
nfo_pair

nfo_nft <<'EOF'
table inet t {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport 9 drop comment "d9"
	}
}
EOF

PIN_DIR=   # from status: <bpffs>/nft-offload/<netns inode>/<run dir>
SOCK="$NFO_T/run/control.sock"

attached_check() { # MODE PROG_ID
	local link
	link=$(ip -n "$NS_R" -d link show dev "$IF_R")
	case $1 in
	xdp) grep -q "prog/xdp id $2" <<<"$link" && ! grep -q xdpgeneric <<<"$link" ;;
	xdp-generic) grep -q "xdpgeneric" <<<"$link" && grep -q "prog/xdp id $2" <<<"$link" ;;
	tc) bpftool link show | nfo_has -E "^[0-9]+: (tcx|type 11) +prog $2( |\$)" ;;
	esac
}

pins_present() { [ -e "$PIN_DIR/counters" ] && [ -e "$PIN_DIR/stats" ]; }

for MODE in xdp xdp-generic tc; do
	log "mode $MODE: SIGTERM"
	nfo_daemon_start --attach "$IF_R:$MODE"
	PROG=$(nfo_get "iface('$IF_R')['prog_id']")
	PIN_DIR=$(nfo_get "st['pin_dir']")
	case $PIN_DIR in "$NFO_BPFFS/nft-offload/"*) ;; *) fail "$MODE: pin dir $PIN_DIR not under our bpffs" ;; esac
	nfo_assert "iface('$IF_R')['mode'] == '$MODE'" "$MODE: status reports mode $MODE"
	attached_check "$MODE" "$PROG" && ok "$MODE: kernel shows program $PROG attached" ||
		fail "$MODE: program $PROG not attached as $MODE: $(ip -n "$NS_R" -d link show dev "$IF_R")"
	[ -S "$SOCK" ] && ok "$MODE: control socket exists" || fail "$MODE: no control socket $SOCK"
	pins_present && ok "$MODE: counters pinned in $PIN_DIR" || fail "$MODE: no pinned maps in $PIN_DIR"
	nfo_case "$MODE: drops" "drop=d9 --dport 9" "pass --dport 10"

	nfo_daemon_stop TERM
	nfo_poll 30 nfo_nothing_attached "$NS_R" "$IF_R" "$PROG" &&
		ok "$MODE: SIGTERM: nothing attached, program $PROG unloaded" ||
		fail "$MODE: SIGTERM: still attached: $(ip -n "$NS_R" -d link show dev "$IF_R"; bpftool link show)"
	[ ! -e "$SOCK" ] && ok "$MODE: SIGTERM: control socket removed" || fail "$MODE: SIGTERM: $SOCK left behind"
	[ ! -e "$PIN_DIR" ] && ok "$MODE: SIGTERM: pins removed" ||
		fail "$MODE: SIGTERM: pins left behind: $(ls -la "$PIN_DIR")"
	nfo_case "$MODE: after SIGTERM traffic still flows" --no-daemon "pass --dport 10"
	grep -q "stopped" "$DAEMON_LOG" && ok "$MODE: daemon logged its stop" || fail "$MODE: no stop message in the log"

	log "mode $MODE: SIGKILL"
	nfo_daemon_start --attach "$IF_R:$MODE"
	PROG=$(nfo_get "iface('$IF_R')['prog_id']")
	nfo_assert "rule('d9')['packets'] == 0" "$MODE: a new daemon after SIGTERM counts from zero"
	nfo_case "$MODE: drops" "drop=d9 --dport 9 --count 7"
	nfo_daemon_stop KILL
	nfo_poll 30 nfo_nothing_attached "$NS_R" "$IF_R" "$PROG" &&
		ok "$MODE: SIGKILL: nothing attached, program $PROG unloaded" ||
		fail "$MODE: SIGKILL: still attached: $(ip -n "$NS_R" -d link show dev "$IF_R"; bpftool link show)"
	pins_present && ok "$MODE: SIGKILL: pinned counters stay" || fail "$MODE: SIGKILL: pins gone"

	# A new daemon: stale socket replaced, counters from the pins.
	nfo_daemon_start --attach "$IF_R:$MODE"
	nfo_assert "rule('d9')['packets'] == 7" "$MODE: restarted daemon keeps the pinned counter (7)"
	nfo_case "$MODE: restarted daemon drops" "drop=d9 --dport 9" "pass --dport 10"
	PROG=$(nfo_get "iface('$IF_R')['prog_id']")
	nfo_daemon_stop TERM
	nfo_poll 30 nfo_nothing_attached "$NS_R" "$IF_R" "$PROG" && ok "$MODE: nothing attached" ||
		fail "$MODE: still attached after the last stop"
	[ ! -e "$PIN_DIR" ] && [ ! -e "$SOCK" ] && ok "$MODE: pins and socket removed" ||
		fail "$MODE: pins or socket left behind"
done

# Nothing of ours anywhere: no nfo_ program attached in the namespace.
if ip netns exec "$NS_R" bpftool net show | nfo_has nfo_; then
	fail "bpftool net shows a program of ours: $(ip netns exec "$NS_R" bpftool net show)"
else
	ok "bpftool net show lists nothing of ours"
fi
nfo_done
