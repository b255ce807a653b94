#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Sets read right after a large transaction. nf_tables builds each message
# of an element dump by walking the set from its start and skipping what it
# sent; a hash set grows its table in a worker for some 50-100 ms after
# 100,000s of elements arrive, without a new generation, and a walk after a
# resize goes in another order: the dump sends some elements twice and
# leaves as many out (`nft list set` shows it too). Read then, a set whose
# lookups lead to accept would miss elements and the fast path would drop
# what nftables accepts; a set whose lookups lead to drop (streamed) would
# miss drops while status said it was read whole. This happened in CI: a
# watchdog trip during a 300,000-element load made the daemon read the set
# in that window and it held 282,396 of 300,002 elements for good.
#
# Each round: the table made again with empty sets (a set made in the
# transaction that fills it grows inside that transaction, and its last
# resize is over when nft returns; not so for one that exists), then one
# `nft -f` adds N elements to an allow set (lookups lead to accept ahead
# of a drop of their whole /8: read whole) and N to a drop set (streamed).
# The daemon's notification buffer is small, so it loses them and reads
# everything again as soon as a dump is consistent: the moment the
# transaction is committed, inside the resize. Then every element is
# checked through the live XDP program (nfo-xdpcheck): each allowed address
# passes, each banned one is dropped, and the daemon holds nft's count of
# each, read whole. Whether the kernel resized under the daemon's walk in a
# round is timing (printed: dumps_repeated; on the 2-CPU test VM about two
# rounds of three); the checks hold either way. The detection itself is
# tested without timing in tests/unit (test_elems_repeat).
. "$(dirname "$0")/lib.sh"

N=${NFO_RESIZE_ELEMENTS:-200000}
ROUNDS=${NFO_RESIZE_ROUNDS:-3}
: "${NFO_XDPCHECK:?NFO_XDPCHECK: path of the built nfo-xdpcheck}"

nfo_init
nfo_pair

nfo_addrs "$NFO_T/allow.txt" 11 "$N"
nfo_addrs "$NFO_T/ban.txt" 12 "$N"
nfo_elems_nft "$NFO_T/elems.nft" add "inet bl allow" "$NFO_T/allow.txt"
nfo_elems_nft "$NFO_T/v4.nft" add "inet bl v4" "$NFO_T/ban.txt"
cat "$NFO_T/v4.nft" >>"$NFO_T/elems.nft"
cat >"$NFO_T/empty.nft" <<'EOF'
table inet bl {
	set allow {
		type ipv4_addr
	}
	set v4 {
		type ipv4_addr
	}
	chain pre {
		type filter hook prerouting priority -10; policy accept;
		ip saddr @allow accept comment "allow"
		ip saddr @v4 drop comment "v4"
		ip saddr 11.0.0.0/8 drop comment "net"
	}
}
EOF
ip netns exec "$NS_R" nft -f "$NFO_T/empty.nft" || die "nft -f of the table failed"
# notifications lost at once: a full read as soon as the dump is
# consistent, i.e. the moment the transaction is committed
nfo_daemon_start --attach "$IF_R:xdp" --netlink-rcvbuf 8192

for r in $(seq 1 "$ROUNDS"); do
	# the sets made again empty (a set made in the transaction that
	# fills it grows inside the transaction: the last resize is over
	# when nft returns; not so for one that exists)
	U=$(nfo_get 'st["updates"]')
	{ echo "delete table inet bl"; cat "$NFO_T/empty.nft"; } | ip netns exec "$NS_R" nft -f - ||
		die "nft -f of the empty table failed"
	nfo_wait "st['updates'] > $U and st['fast_path'] == 'enabled' and \
nset('v4')['elements'] == 0" 30 || { nfo_daemon_log; die "round $r: the empty sets not followed"; }
	U=$(nfo_get 'st["updates"]')
	ip netns exec "$NS_R" nft -f "$NFO_T/elems.nft" || die "nft -f failed"
	nfo_wait "st['updates'] > $U and \
st['fast_path'] == 'enabled' and not st['busy'] and \
not any(s.get('loading') for s in st['sets'])" 180 ||
		{ nfo_daemon_log; die "round $r: the daemon did not read the sets again"; }
	# notifications lost again later in the transaction's stream make
	# another full read: settled when a second later nothing moved
	while :; do
		U=$(nfo_get 'st["updates"]')
		sleep 1
		nfo_wait "st['updates'] == $U and st['fast_path'] == 'enabled' and not st['busy'] and \
not any(s.get('loading') for s in st['sets'])" 180 ||
			{ nfo_daemon_log; die "round $r: the daemon did not settle"; }
		[ "$(nfo_get 'st["updates"]')" = "$U" ] && break
	done
	log "round $r: dumps read again because an element came twice so far: $(nfo_get 'st.get("dumps_repeated")')"
	nfo_assert "nset('allow')['elements'] == $N and nset('allow')['fast_path'] != 'not offloaded'" \
		"round $r: the daemon holds all $N allowed addresses"
	nfo_assert "nset('v4')['elements'] == $N and not nset('v4').get('incomplete')" \
		"round $r: the daemon holds all $N banned addresses, read whole"
	nfo_xdpcheck "round $r: allowed" "$NFO_T/allow.txt" pass
	nfo_xdpcheck "round $r: banned" "$NFO_T/ban.txt" drop
done

nfo_daemon_stop
nfo_done
