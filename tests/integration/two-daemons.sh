#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Two daemons in two namespaces at once, different --run-dir, one bpffs:
# each attaches to its own interface, follows its own ruleset, keeps its own
# pins and counters; stopping one leaves the other working. A second daemon
# on a run directory in use refuses to start.
. "$(dirname "$0")/lib.sh"

nfo_init

# Pair A and pair B (nfo_pair sets the current pair's variables; keep both).
nfo_pair a
A=("$NS_S" "$NS_R" "$IF_S" "$IF_R" "$MAC_S" "$MAC_R")
nfo_pair b
B=("$NS_S" "$NS_R" "$IF_S" "$IF_R" "$MAC_S" "$MAC_R")

use() { # a|b: make that pair current
	local -n p=${1^^}
	NS_S=${p[0]} NS_R=${p[1]} IF_S=${p[2]} IF_R=${p[3]} MAC_S=${p[4]} MAC_R=${p[5]}
	export NFO_NS_S=$NS_S NFO_NS_R=$NS_R NFO_IF_S=$IF_S NFO_MAC_S=$MAC_S NFO_MAC_R=$MAC_R
	local -n pid=PID_${1^^}
	DAEMON_PID=${pid:-0}
	DAEMON_LOG="$NFO_T/run-$1.log"
	export NFO_RUN="$NFO_T/run-$1"
}

# The same table names in both namespaces, different rules.
use a
nfo_nft <<'EOF'
table inet t {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport 9 drop comment "d9"
	}
}
EOF
use b
nfo_nft <<'EOF'
table inet t {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport 10 drop comment "d10"
	}
}
EOF

use a
nfo_daemon_start --run "$NFO_T/run-a" --attach "${A[3]}:xdp"
# shellcheck disable=SC2034 # PID_A, PID_B: read by use() through a nameref
PID_A=$DAEMON_PID
use b
nfo_daemon_start --run "$NFO_T/run-b" --attach "${B[3]}:tc"
# shellcheck disable=SC2034
PID_B=$DAEMON_PID

use a
nfo_assert "len(st['interfaces']) == 1 and iface('${A[3]}')['attached'] and iface('${A[3]}')['mode'] == 'xdp'" \
	"daemon A: its own interface, xdp"
nfo_case "A drops its port only" "drop=d9 --dport 9" "pass --dport 10"
use b
nfo_assert "len(st['interfaces']) == 1 and iface('${B[3]}')['attached'] and iface('${B[3]}')['mode'] == 'tc'" \
	"daemon B: its own interface, tc"
nfo_case "B drops its port only" "drop=d10 --dport 10" "drop=d10 --dport 10" "pass --dport 9"
nfo_assert "st['totals']['dropped'] == 10 and rule('d10')['packets'] == 10" "B counted its own 10"
use a
nfo_assert "st['totals']['dropped'] == 5 and rule('d9')['packets'] == 5" "A counted its own 5"

use a
PINS_A=$(nfo_get "st['pin_dir']")
use b
PINS_B=$(nfo_get "st['pin_dir']")
if [ "$PINS_A" != "$PINS_B" ] && [ -e "$PINS_A/counters" ] && [ -e "$PINS_B/counters" ]; then
	ok "separate pin directories ($PINS_A, $PINS_B)"
else
	fail "pin directories: $(ls -R "$NFO_BPFFS/nft-offload")"
fi

# A change in A's ruleset does not touch B.
use b
GEN_B=$(nfo_get 'st["generation"]')
UPD_B=$(nfo_get 'st["updates"]')
use a
GEN_A=$(nfo_get 'st["generation"]')
UPD_A=$(nfo_get 'st["updates"]')
ip netns exec "${A[1]}" nft add rule inet t input udp dport 11 drop comment '"d11"'
# (an added drop: the running fast path stays on while the new one builds,
# the generation is published before; live once updates moved)
nfo_wait "st['generation'] != $GEN_A and st['updates'] > $UPD_A and st['fast_path'] == 'enabled'" ||
	die "A did not follow its ruleset"
nfo_case "A follows its ruleset" "drop=d11 --dport 11"
use b
nfo_assert "st['generation'] == $GEN_B and st['updates'] == $UPD_B" "B did not rebuild for A's change"
nfo_case "B unaffected" "pass --dport 11" "drop=d10 --dport 10"

# A second daemon on A's run directory refuses to start, and A keeps going.
use a
out=$(ip netns exec "${A[1]}" "$NFO_BIN" daemon --run-dir "$NFO_T/run-a" --bpffs "$NFO_BPFFS" \
	--config "$NFO_T/empty.conf" --attach "${A[3]}" 2>&1) && rc=0 || rc=$?
if [ "$rc" -ne 0 ] && grep -q "another nft-offload daemon" <<<"$out"; then
	ok "second daemon on the same run directory refused (exit $rc): $out"
else
	fail "second daemon on the same run directory: exit $rc: $out"
fi
nfo_case "A still works" "drop=d9 --dport 9"

# Stop A: B is untouched.
nfo_daemon_stop
nfo_poll 30 nfo_nothing_attached "${A[1]}" "${A[3]}" && ok "A detached" || fail "A still attached"
use b
nfo_assert "iface('${B[3]}')['attached'] and st['fast_path'] == 'enabled' and rule('d10')['packets'] == 15" \
	"B still attached with its counters"
[ -e "$PINS_B/counters" ] && ok "B's pins still there" || fail "B's pins gone"
nfo_case "B still drops" "drop=d10 --dport 10" "pass --dport 9"
nfo_daemon_stop
nfo_poll 30 nfo_nothing_attached "${B[1]}" "${B[3]}" && ok "B detached" || fail "B still attached"
nfo_done
