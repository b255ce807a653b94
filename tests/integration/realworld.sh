#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The real-world corpus: every ruleset of tests/data/realworld/ (firewalld,
# Docker, kube-proxy, OpenWrt fw4, ... as those tools leave a host), in each
# MODE given (default: xdp tc). Per ruleset:
#
#  - loaded with the real nft into the receiver, its eth0 renamed to the
#    receiver's end of the test pair;
#  - without the daemon, its examples (NAME.pkts) are checked against
#    nftables: the accepted ones are delivered, the blocked ones are not;
#  - with the daemon attached in each mode, sent again one at a time: every
#    accepted example is delivered and the fast path drops none of it; every
#    blocked example whose deciding rule explain says the fast path decides
#    is dropped in the fast path. The others are counted, with explain's
#    reason (realworld.py documents the examples and the checks).
#
# Then a table per ruleset and the totals (realworld.py report). With
# NFO_REALWORLD_OUT=DIR the per-run results are kept there (the README's
# table is made from them: realworld.py report --markdown DIR/*.json).
# NFO_REALWORLD_ONLY="NAME ..." runs only those rulesets;
# NFO_REALWORLD_DATA=DIR takes them from DIR (to try a variant of one).
. "$(dirname "$0")/lib.sh"

MODES=("$@")
[ ${#MODES[@]} -gt 0 ] || MODES=(xdp tc)
RW="$NFO_SRC/tests/integration/realworld.py"
DATA=${NFO_REALWORLD_DATA:-$NFO_SRC/tests/data/realworld}
nfo_init
nfo_pair
OUT=${NFO_REALWORLD_OUT:-$NFO_T/results}
mkdir -p "$OUT"

# Replies of the receiver (and answers to flows it opens) go back through
# the sender; examples come from any address, so the receiver routes them
# all there. The sender answers nothing: only what a test sends crosses.
ip -n "$NS_R" route add default via "$S4"
ip -n "$NS_R" -6 route add default via "$S6"
# Spoofed sources: the route back to these is not through the test pair
# (reverse-path checks fail for them, as for a bogon on a real uplink).
ip -n "$NS_R" route add blackhole 198.18.0.0/15
ip -n "$NS_R" -6 route add blackhole 2001:db8:bad::/48
# Some examples are forwarded (to a container or guest network).
ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1
nfo_nft "$NS_S" <<'EOF'
table inet sink {
	chain input {
		type filter hook input priority 0; policy drop;
	}
}
EOF

# ifaces add|del RULESET.nft: the interfaces its "# Test interfaces:" line
# names (NAME[=ADDR/LEN] ...; rules with iif/oif need them to exist), as
# bridges without ports in the receiver (the dummy driver may be missing). Forwarded examples are routed to them.
ifaces() {
	local spec name addr
	for spec in $(sed -n 's/^# Test interfaces: *//p' "$2"); do
		name=${spec%%=*}
		addr=${spec#*=}
		if [ "$1" = del ]; then
			ip -n "$NS_R" link del "$name"
			continue
		fi
		ip -n "$NS_R" link add "$name" type bridge
		[ "$addr" = "$spec" ] || ip -n "$NS_R" addr add "$addr" dev "$name"
		ip -n "$NS_R" link set "$name" up
	done
}

load() { # RULESET.nft
	{
		echo "flush ruleset"
		sed -E "s/\\beth0\\b/$IF_R/g" "$1"
	} | nfo_nft
}

n=0
for nft in "$DATA"/*.nft; do
	name=$(basename "$nft" .nft)
	if [ -n "${NFO_REALWORLD_ONLY:-}" ] && [[ " $NFO_REALWORLD_ONLY " != *" $name "* ]]; then
		continue
	fi
	pkts="$DATA/$name.pkts"
	[ -f "$pkts" ] || { fail "$name: no $name.pkts beside $name.nft"; continue; }
	n=$((n + 1))
	ifaces add "$nft"
	load "$nft" || { fail "$name: nft -f refused the ruleset"; ifaces del "$nft"; continue; }
	python3 "$RW" ct-flush
	python3 "$RW" check "$pkts" --no-daemon --out "$NFO_T/$name.none.json" ||
		fail "$name: the examples do not match what nftables does"
	for mode in "${MODES[@]}"; do
		# a fresh ruleset: its nft counters start at 0
		load "$nft"
		python3 "$RW" ct-flush
		nfo_daemon_start --attach "$IF_R:$mode"
		python3 "$RW" check "$pkts" --mode "$mode" --out "$OUT/$name.$mode.json" ||
			fail "$name ($mode)"
		nfo_daemon_stop
	done
	nfo_nft <<<"flush ruleset"
	ifaces del "$nft"
done
[ -n "${NFO_REALWORLD_ONLY:-}" ] || [ "$n" -ge 20 ] || fail "only $n rulesets in $DATA"
python3 "$RW" report "$OUT"/*.json
nfo_done
