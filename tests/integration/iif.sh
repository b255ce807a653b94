#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# iif / iifname, resolved against the interface a packet arrives on: exact
# names, wildcards, negations, and ifindexes. Renaming the interface changes
# what iifname matches (nftables compares names per packet) but not iif (an
# ifindex): the daemon, configured for both names, follows the rename onto
# the same interface and decides with the new name.
. "$(dirname "$0")/lib.sh"

MODE=${1:-xdp}
NFO_TEST="iif-$MODE"
nfo_init
nfo_pair
NEW="xr${NFO_ID: -4}"

nfo_nft <<EOF
table inet t {
	chain input {
		type filter hook input priority 0; policy accept;
		iifname "vr*" udp dport 9 counter drop comment "glob"
		iif "$IF_R" udp dport 10 counter drop comment "iif"
		iifname != "$IF_R" udp dport 11 counter drop comment "notname"
		iifname "lo" udp dport 12 counter drop comment "lo"
		iifname { "$NEW", "other" } udp dport 13 counter drop comment "newname"
	}
}
EOF
nfo_daemon_start --nowait --attach "$IF_R:$MODE" --attach "$NEW:$MODE"
nfo_wait "st['fast_path'] == 'enabled' and iface('$IF_R')['attached']" ||
	{ nfo_daemon_log; die "not attached to $IF_R"; }
nfo_assert "not iface('$NEW')['attached']" "$NEW does not exist yet: not attached"
nfo_assert "rule('glob')['offloaded'] and rule('iif')['offloaded'] and rule('notname')['offloaded'] and rule('lo')['offloaded'] and rule('newname')['offloaded']" \
	"every iif/iifname rule offloaded"

nfo_case "as $IF_R" "drop=glob --dport 9" "drop=iif --dport 10" "pass --dport 11" \
	"pass --dport 12" "pass --dport 13" "drop=glob -6 --dport 9"

IFX=$(nfo_get "iface('$IF_R')['ifindex']")
ip -n "$NS_R" link set "$IF_R" down
ip -n "$NS_R" link set "$IF_R" name "$NEW"
ip -n "$NS_R" link set "$NEW" up
# Down removed the IPv6 addresses (keep_addr_on_down is off): put R6 back.
ip -n "$NS_R" addr replace "$R6/64" dev "$NEW" nodad
if nfo_wait "iface('$NEW')['attached'] and iface('$NEW')['ifindex'] == $IFX and not iface('$IF_R')['attached'] and st['fast_path'] == 'enabled'" 30; then
	ok "renamed $IF_R -> $NEW: attached under the new name (ifindex $IFX)"
else
	nfo_daemon_log
	die "not attached to $NEW after the rename"
fi
# The veth came back up with its addresses: the daemon rebuilds for each
# change; the cases below need the last of those builds live.
nfo_poll 30 nfo_has_addr "$NS_R" "$NEW" "$R6" || fail "$R6 not on $NEW"
nfo_settle || fail "fast path not settled after the rename"
nfo_case "as $NEW" "pass --dport 9" "drop=iif --dport 10" "drop=notname --dport 11" \
	"pass --dport 12" "drop=newname --dport 13" "drop=newname -6 --dport 13"

ip -n "$NS_R" link set "$NEW" down
ip -n "$NS_R" link set "$NEW" name "$IF_R"
ip -n "$NS_R" link set "$IF_R" up
nfo_wait "iface('$IF_R')['attached'] and not iface('$NEW')['attached'] and st['fast_path'] == 'enabled'" 30 ||
	{ nfo_daemon_log; die "not attached to $IF_R after renaming back"; }
if grep -q "another .* program is attached" "$DAEMON_LOG"; then
	nfo_daemon_log
	fail "a rename made the daemon trip over its own program"
else
	ok "no entry tripped over the program of the other name"
fi
nfo_settle || fail "fast path not settled after renaming back"
nfo_case "renamed back" "drop=glob --dport 9" "pass --dport 11" "pass --dport 13"

nfo_daemon_stop
nfo_done
