#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# --attach names an interface that does not exist yet: the daemon keeps
# running, status shows it not attached with a reason; when the interface
# appears it is attached. (iface-recreate.sh: deleted and created again.)
. "$(dirname "$0")/lib.sh"

MODE=${1:-xdp}
NFO_TEST="late-iface-$MODE"
nfo_init
nfo_pair_ns

nfo_nft <<'EOF'
table inet t {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport 9 drop comment "d9"
	}
}
EOF
nfo_daemon_start --nowait --attach "$IF_R:$MODE"
nfo_wait "st['fast_path'] == 'enabled' and st['generation'] is not None" ||
	{ nfo_daemon_log; die "daemon not ready"; }
nfo_assert "not iface('$IF_R')['attached'] and iface('$IF_R')['prog_id'] == 0 and iface('$IF_R')['ifindex'] == 0 and 'not found' in iface('$IF_R')['note']" \
	"missing interface: not attached, note: $(nfo_get "iface('$IF_R')['note']")"
nfo_assert "any(r['handle'] and r['offloaded'] for r in st['rules'])" "the ruleset is read anyway"
nfo_alive "$DAEMON_PID" && ok "daemon keeps running" || die "daemon exited: $(cat "$DAEMON_LOG")"
if grep -q "$IF_R" "$DAEMON_LOG"; then ok "daemon log names the missing interface"; else fail "nothing about $IF_R in the log"; fi

nfo_pair_link
nfo_wait "iface('$IF_R')['attached'] and iface('$IF_R')['prog_id'] > 0 and iface('$IF_R')['mode'] == '$MODE' and st['fast_path'] == 'enabled'" ||
	{ nfo_daemon_log; die "$IF_R not attached after it appeared"; }
IFX1=$(nfo_get "iface('$IF_R')['ifindex']")
ok "attached when the interface appeared (ifindex $IFX1)"
# its addresses and link up come as more notifications, maybe read after
# the attach: each a rebuild (passing everything meanwhile)
nfo_settle || fail "fast path not settled after the interface appeared"
nfo_case "late interface drops" "drop=d9 --dport 9" "drop=d9 -6 --dport 9" "pass --dport 10"

nfo_daemon_stop
nfo_poll 30 nfo_nothing_attached "$NS_R" "$IF_R" && ok "nothing attached after stop" ||
	fail "something still attached to $IF_R after stop"
nfo_done
