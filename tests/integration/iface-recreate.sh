#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# An attached interface deleted and created again under the same name (new
# ifindex): the daemon shows it "not found" while it is gone, keeps running,
# and attaches to the new one. Twice: for an interface that existed when the
# daemon started (learned from the initial rtnetlink dump) and for one that
# appeared later (learned from a notification); an `iif` rule stops
# matching the re-created interface, in nftables and in the fast path. Then: an MTU change does
# not rebuild the fast path, and a link deleted and created again under the
# same ifindex, MAC and addresses gets its program back.
. "$(dirname "$0")/lib.sh"

MODE=${1:-xdp}
NFO_TEST="iface-recreate-$MODE"
nfo_init
nfo_pair_ns

nfo_nft <<'EOF2'
table inet t {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport 9 drop comment "d9"
	}
}
EOF2

# recreate N: deletes IF_R, checks it is reported gone, creates it again
# with another ifindex and checks it is attached and drops.
recreate() {
	local ifx
	ifx=$(nfo_get "iface('$IF_R')['ifindex']")
	ip -n "$NS_R" link del "$IF_R"
	if nfo_wait "not iface('$IF_R')['attached'] and iface('$IF_R')['ifindex'] == 0 and 'not found' in (iface('$IF_R')['note'] or '') and st['fast_path'] == 'enabled'" 30; then
		ok "$1: deleted interface shown not found"
	else
		fail "$1: deleted interface (was ifindex $ifx) not shown as not found"
	fi
	nfo_alive "$DAEMON_PID" || die "daemon exited after the interface was deleted"
	# A throwaway pair makes sure the new interface gets another ifindex.
	ip -n "$NS_R" link add "xa$1${NFO_ID: -4}" type veth peer name "xb$1${NFO_ID: -4}"
	nfo_pair_link
	if nfo_wait "iface('$IF_R')['attached'] and iface('$IF_R')['ifindex'] not in (0, $ifx) and st['fast_path'] == 'enabled'" 30; then
		ok "$1: re-attached to the re-created interface (ifindex $ifx -> $(nfo_get "iface('$IF_R')['ifindex']"))"
		# its addresses and link up come as more notifications, maybe
		# read after the attach: each a rebuild (passing everything)
		nfo_settle || fail "$1: fast path not settled after the re-creation"
		nfo_case "$1: re-created interface drops" "drop=d9 --dport 9" "pass --dport 10"
	else
		fail "$1: not attached to the re-created $IF_R"
		ip -n "$NS_R" link show | sed 's/^/  /'
		nfo_daemon_log
	fi
}

# 1. present at start. `iif` is resolved to the ifindex when the rule is
# added: once the interface is re-created under another ifindex, nftables
# no longer matches it, and neither may the fast path (pass --dport 10 in
# recreate).
nfo_pair_link
ip netns exec "$NS_R" nft add rule inet t input iif "$IF_R" udp dport 10 drop comment \"iif10\"
nfo_daemon_start --attach "$IF_R:$MODE" -v
nfo_case "present at start: drops" "drop=d9 --dport 9" "drop=iif10 --dport 10" "pass --dport 11"
recreate first

# 2. the same again: this time the deleted interface was learned from a
# notification (it appeared while the daemon ran).
if nfo_get "iface('$IF_R')['attached']" | nfo_has true; then
	recreate second
else
	fail "second: not run, $IF_R is not attached after the first re-creation"
fi

# 3. A link change the fast path does not depend on (the MTU) does not
# rebuild it (no window where nftables alone decides). A ruleset change
# after it is a marker: once the marker's generation is live, the MTU
# notification (sent before it) has been handled, and exactly one update
# (the marker's) must have happened.
if ! nfo_get "iface('$IF_R')['attached']" | nfo_has true; then
	fail "MTU and same-ifindex checks not run: $IF_R is not attached"
else
	u=$(nfo_get "st['updates']")
	ip -n "$NS_R" link set "$IF_R" mtu 1400
	ip netns exec "$NS_R" nft add rule inet t input udp dport 99 drop comment \"marker\"
	if ! nfo_wait "rule('marker')['offloaded'] and st['fast_path'] == 'enabled'" 30; then
		fail "MTU change: the marker rule never went live"
	elif [ "$(nfo_get "st['updates']")" = $((u + 1)) ]; then
		ok "MTU change: no rebuild (one update, the marker's)"
	else
		fail "MTU change: updates $u -> $(nfo_get "st['updates']") (want $((u + 1)))"
	fi

	# 4. Deleted and created again with the same ifindex, MAC and
	# addresses, at once: identical links, but the program went with the
	# old device and must be attached again. The daemon is stopped
	# meanwhile, as a loaded machine may keep it from running (seen: then
	# the links it reads after both notifications look as before, and it
	# kept the link that went with the old device).
	ifx=$(nfo_get "iface('$IF_R')['ifindex']")
	kill -STOP "$DAEMON_PID"
	ip -n "$NS_R" link del "$IF_R"
	ip -n "$NS_R" link add "$IF_R" index "$ifx" address "$MAC_R" type veth \
		peer name "$IF_S" netns "$NS_S" address "$MAC_S"
	ip -n "$NS_R" link set "$IF_R" mtu 1400
	ip -n "$NS_S" addr add "$S4/24" dev "$IF_S"
	ip -n "$NS_S" addr add "$S6/64" dev "$IF_S" nodad
	ip -n "$NS_R" addr add "$R4/24" dev "$IF_R"
	ip -n "$NS_R" addr add "$R4B/24" dev "$IF_R"
	ip -n "$NS_R" addr add "$R6/64" dev "$IF_R" nodad
	ip -n "$NS_R" addr add "$R6B/64" dev "$IF_R" nodad
	ip -n "$NS_S" link set "$IF_S" up
	ip -n "$NS_R" link set "$IF_R" up
	kill -CONT "$DAEMON_PID"
	if nfo_wait "iface('$IF_R')['attached'] and iface('$IF_R')['ifindex'] == $ifx and st['fast_path'] == 'enabled'" 30; then
		ok "same ifindex: attached again (ifindex $ifx)"
		nfo_settle || fail "same ifindex: fast path not settled"
		f0=$NFO_FAILED
		nfo_case "same ifindex: drops" "drop=d9 --dport 9" "pass --dport 10"
		if [ "$NFO_FAILED" != "$f0" ]; then
			# which program the device runs, if any, and its addresses
			echo "  status: program $(nfo_get "iface('$IF_R')['prog_id']") attached; the kernel:"
			ip -n "$NS_R" -d link show dev "$IF_R" | sed 's/^/  /'
			ip -n "$NS_R" addr show dev "$IF_R" | sed 's/^/  /'
		fi
	else
		fail "same ifindex: $IF_R not attached again"
		nfo_daemon_log
	fi
fi

nfo_daemon_stop
nfo_done
