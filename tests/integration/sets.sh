#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Named sets: their elements live in the set maps, so a transaction that only
# adds or deletes elements changes the maps in place (no new diagram), and
# the fast path follows at once: an added address drops, a deleted one
# arrives again, counters stay. A set with timeouts read only by a rule that
# drops on membership is in the maps too (timeouts.sh follows its expiries);
# a transaction that also changes rules is a full update.
. "$(dirname "$0")/lib.sh"

nfo_init
nfo_pair

nfo_nft <<'EOF'
table inet fw {
	set blocklist {
		type ipv4_addr
		flags interval
		elements = { 192.0.2.0/24 }
	}
	set block6 {
		type ipv6_addr
		flags interval
	}
	set ports {
		type inet_service
		elements = { 7 }
	}
	set pairs {
		type ipv4_addr . inet_service
		elements = { 10.99.0.1 . 5000 }
	}
	set tmp {
		type ipv4_addr
		flags timeout
	}
	map vm {
		type inet_service : verdict
		elements = { 22 : drop, 23 : accept }
	}
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr @blocklist drop comment "bl"
		ip6 saddr @block6 drop comment "bl6"
		udp dport @ports drop comment "ports"
		ip saddr . udp dport @pairs drop comment "pairs"
		ip saddr @tmp udp dport 8 counter drop comment "tmp"
		udp dport vmap @vm comment "vm"
		udp dport 23 drop comment "d23"
	}
}
EOF
nfo_daemon_start --attach "$IF_R:xdp"

nfo_assert "nset('blocklist')['fast_path'] == 'maps' and nset('blocklist')['elements'] == 1" \
	"blocklist: in the set maps, 1 element"
nfo_assert "nset('pairs')['fast_path'] == 'maps' and nset('ports')['fast_path'] == 'maps'" \
	"ports, pairs: in the set maps"
nfo_assert "nset('tmp')['fast_path'] == 'maps'" "tmp (timeouts, read by a drop rule): in the set maps"
nfo_assert "rule('bl')['offloaded'] and rule('pairs')['offloaded'] and rule('tmp')['offloaded']" \
	"rules on usable sets offloaded"
nfo_case "initial" "drop=ports --dport 7" "drop=pairs --dport 5000" "pass --dport 5001" \
	"pass --dport 9" "pass -6 --dport 9"

nfo_elements add element inet fw blocklist "{ $S4 }"
nfo_case "address added to the blocklist" "drop=bl --dport 9" "drop=bl --dport 7"
nfo_assert "nset('blocklist')['elements'] == 2" "blocklist: 2 elements"
nfo_elements delete element inet fw blocklist "{ $S4 }"
nfo_case "address deleted again" "pass --dport 9" "drop=ports --dport 7"
nfo_assert "rule('bl')['packets'] == 10 and rule('ports')['packets'] == 10" \
	"counters kept across element updates (bl 10, ports 10)"

nfo_elements add element inet fw ports "{ 9, 11 }"
nfo_case "ports added" "drop=ports --dport 9" "drop=ports -6 --dport 11" "pass --dport 10"
nfo_elements add element inet fw pairs "{ $S4 . 5001 }"
nfo_case "pair added" "drop=pairs --dport 5001" "pass --dport 5002"
nfo_elements add element inet fw block6 "{ fd00:99::/64 }"
nfo_case "IPv6 prefix added" "drop=bl6 -6 --dport 10" "pass --dport 10"

# One transaction, several sets.
nfo_elements -f - <<EOF
delete element inet fw ports { 9, 11 }
delete element inet fw block6 { fd00:99::/64 }
add element inet fw blocklist { $S4 }
EOF
nfo_case "three sets in one transaction" "drop=bl --dport 9" "pass -6 --dport 11"
nfo_elements flush set inet fw blocklist
nfo_assert "nset('blocklist')['elements'] == 0" "blocklist flushed"
nfo_case "blocklist flushed" "pass --dport 9" "drop=pairs --dport 5000"

# A set with timeouts: its elements are applied in place like any other.
nfo_elements add element inet fw tmp "{ $S4 timeout 1h }"
nfo_case "tmp element dropped in the fast path" "drop=tmp --dport 8" "pass --dport 9"

# A named verdict map lives in the diagram: changing its elements is a full
# update, and the new verdicts hold at once (22: drop -> accept; 23: accept
# -> no element, so the next rule, d23, drops it).
nfo_case "vmap before" "drop=vm --dport 22" "pass --dport 23"
GEN=$(nfo_get 'st["generation"]')
U=$(nfo_get 'st["updates"]')
ip netns exec "$NS_R" nft -f - <<EOF
delete element inet fw vm { 22, 23 }
add element inet fw vm { 22 : accept }
EOF
# live once updates moved (the generation may be published before the
# sets are written, with the running fast path still on)
nfo_wait "st['generation'] != $GEN and st['updates'] > $U and st['fast_path'] == 'enabled'" ||
	{ nfo_daemon_log; die "the daemon did not follow the vmap change"; }
nfo_case "vmap 22 now accept, 23 gone" "pass --dport 22" "drop=d23 --dport 23"

# Thousands of elements in one transaction.
python3 - "$NFO_T/many.nft" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("add element inet fw blocklist { ")
    f.write(", ".join("10.%d.%d.0/24" % (i // 128, 2 * (i % 128)) for i in range(100, 10100)))
    f.write(", 10.99.0.1 }\n")
EOF
nfo_elements -f "$NFO_T/many.nft"
nfo_assert "nset('blocklist')['elements'] >= 10001" "blocklist holds $(nfo_get "nset('blocklist')['elements']") elements"
nfo_case "after 10001 elements" "drop=bl --dport 9" "pass -6 --dport 9"

# Elements and a rule in one transaction: a full update, both applied.
SU=$(nfo_get 'st["set_updates"]')
GEN=$(nfo_get 'st["generation"]')
U=$(nfo_get 'st["updates"]')
ip netns exec "$NS_R" nft -f - <<EOF
flush set inet fw blocklist
add rule inet fw input udp dport 12 drop comment "d12"
EOF
nfo_wait "st['generation'] != $GEN and st['updates'] > $U and st['fast_path'] == 'enabled'" || die "not applied"
nfo_assert "st['set_updates'] == $SU" "elements + rule: a full update"
nfo_case "elements and rule together" "pass --dport 9" "drop=d12 --dport 12"

# Deleting a set (with its rules) is structural too.
ip netns exec "$NS_R" nft -a list chain inet fw input >"$NFO_T/chain"
H=$(sed -n 's/.*comment "pairs" # handle \([0-9]*\)$/\1/p' "$NFO_T/chain")
GEN=$(nfo_get 'st["generation"]')
U=$(nfo_get 'st["updates"]')
ip netns exec "$NS_R" nft -f - <<EOF
delete rule inet fw input handle $H
delete set inet fw pairs
EOF
nfo_wait "st['generation'] != $GEN and st['updates'] > $U and st['fast_path'] == 'enabled'" || die "not applied"
nfo_assert "not [s for s in st['sets'] if s['name'] == 'pairs']" "pairs gone from status"
nfo_case "set deleted" "pass --dport 5000"

grep -q "updated in place: .* on 1 set(s)" "$DAEMON_LOG" && ok "the daemon log names element updates" ||
	fail "no element update in the daemon log"
nfo_daemon_stop
nfo_done
