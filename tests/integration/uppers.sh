#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# What a packet's path depends on besides the ruleset, changed while the
# daemon runs, in MODE (xdp, tc):
#  - locality: an input-chain drop applies to local destinations only. An
#    address removed from the host makes packets to it forwarded traffic
#    (the input chain never sees them): the fast path must stop dropping
#    them; added back, it drops them again.
#  - a bridge port: once the attached interface is enslaved to a bridge,
#    nftables' inet chains see its packets with iif br0, and a prerouting
#    `iifname "br0" accept` in front of a drop policy accepts them. The fast
#    path must not evaluate prerouting/input as if the port were the L3
#    interface (it would drop them by policy).
. "$(dirname "$0")/lib.sh"

MODE=${1:-xdp}
NFO_TEST="uppers-$MODE"
nfo_init
nfo_pair
ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1

nfo_nft <<EOF2
table inet t {
	chain input {
		type filter hook input priority 0; policy accept;
		ip daddr $R4B udp dport 9 drop comment "inb"
	}
}
EOF2
nfo_daemon_start --attach "$IF_R:$MODE"

# --- locality --------------------------------------------------------------
nfo_case "$R4B local: input drop in the fast path" "drop=inb --dst $R4B --dport 9" "pass --dport 9"

U=$(nfo_get "st['updates']")
ip -n "$NS_R" addr del "$R4B/24" dev "$IF_R"
nfo_wait "st['updates'] > $U and st['fast_path'] == 'enabled'" 30 ||
	fail "no update after $R4B was removed"
# `sent` frames go first, the pass after them on the same veth: when the
# pass arrives, the sent ones were seen, and no fast-path counter moved.
nfo_case "$R4B removed: forwarded now, not dropped by the fast path" \
	"sent --dst $R4B --dport 9" "pass --dport 9"

U=$(nfo_get "st['updates']")
ip -n "$NS_R" addr add "$R4B/24" dev "$IF_R"
nfo_wait "st['updates'] > $U and st['fast_path'] == 'enabled'" 30 ||
	fail "no update after $R4B was added back"
nfo_case "$R4B added back: dropped again" "drop=inb --dst $R4B --dport 9" "pass --dport 9"

# --- bridge port -----------------------------------------------------------
BR="br${NFO_ID: -4}"
nfo_nft <<EOF2
flush ruleset
table inet t {
	chain pre {
		type filter hook prerouting priority 0; policy drop;
		iifname "$BR" accept comment "br"
		iifname "lo" accept
		udp dport 7 accept comment "p7"
	}
}
EOF2
nfo_wait "rule('p7')['offloaded'] and st['fast_path'] == 'enabled'" 30 ||
	fail "the bridge ruleset did not go live"
nfo_case "before the bridge: prerouting policy drops in the fast path" \
	"drop=policy:inet/t/pre --dport 9" "pass --dport 7"

U=$(nfo_get "st['updates']")
ip -n "$NS_R" link add "$BR" type bridge
ip -n "$NS_R" addr flush dev "$IF_R"
ip -n "$NS_R" link set "$IF_R" master "$BR"
ip -n "$NS_R" addr add "$R4/24" dev "$BR"
ip -n "$NS_R" link set "$BR" up
nfo_poll 30 nfo_has_addr "$NS_R" "$BR" "$R4" || fail "$R4 not on $BR"
if nfo_wait "st['updates'] > $U and iface('$IF_R')['scope'] == 'ingress' and st['fast_path'] == 'enabled'" 30; then
	ok "bridge port: only ingress chains decided ($(nfo_get "iface('$IF_R')['note']"))"
else
	fail "bridge port: scope $(nfo_get "iface('$IF_R')['scope']")"
fi
nfo_settle || fail "fast path not settled after the bridge"
nfo_assert "rule('p7')['offload'] == 'none' and 'not decided on $IF_R: port of' in rule('p7')['reason']" \
	"status: the prerouting rule is not decided on the bridge port, and says why"
nfo_case "bridge port: iifname $BR accepts, the fast path drops nothing" \
	"pass --dport 9" "pass --dport 7"

nfo_daemon_stop
nfo_done
