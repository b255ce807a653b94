#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A set changed in place, then written whole with the same plan. Element
# operations applied in place wait beside a set's keys until they are many
# (setdelta.c); a transaction on a set the packet path fills is written
# whole (the plan stays, every set of it encoded again into the other half).
# That write must encode the model with those operations: a port deleted in
# place must stay deleted, or the fast path drops what nftables accepts.
#
# The keys hold the port first (a full update reads the set anew, as a
# resync after a watchdog trip or lost notifications does), then it is
# deleted in place, then the packet-path set changes.
. "$(dirname "$0")/lib.sh"

nfo_init
nfo_pair

nfo_nft <<'EOF'
table inet fw {
	set ports {
		type inet_service
		elements = { 7 }
	}
	set meter4 {
		type ipv4_addr
		flags dynamic, timeout
		timeout 1m
	}
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport @ports drop comment "ports"
		ip saddr @meter4 counter drop comment "meter"
		udp dport 7777 add @meter4 { ip saddr } comment "fill"
	}
}
EOF
nfo_daemon_start --attach "$IF_R:xdp"

nfo_assert "nset('ports')['fast_path'] == 'maps' and nset('meter4')['fast_path'] == 'maps'" \
	"ports and the packet-path set: in the set maps"
nfo_case "initial" "drop=ports --dport 7" "pass --dport 9"

nfo_elements add element inet fw ports "{ 9 }"
nfo_case "port 9 added in place" "drop=ports --dport 9" "drop=ports --dport 7"

# A full update: the model's ports are read again, 9 among its keys.
GEN=$(nfo_get 'st["generation"]')
U=$(nfo_get 'st["updates"]')
ip netns exec "$NS_R" nft add rule inet fw input udp dport 12 drop comment '"d12"'
# (an added drop: the running fast path stays on while the new one builds,
# the generation is published before; live once updates moved)
nfo_wait "st['generation'] != $GEN and st['updates'] > $U and st['fast_path'] == 'enabled'" 30 ||
	{ nfo_daemon_log; die "the daemon did not follow the new rule"; }
nfo_case "after a full update" "drop=ports --dport 9" "drop=d12 --dport 12"

IP=$(nfo_get 'st["set_updates_in_place"]')
nfo_elements delete element inet fw ports "{ 9 }"
nfo_assert "st['set_updates_in_place'] == $IP + 1" "port 9 deleted in place"
nfo_case "port 9 deleted in place" "pass --dport 9" "drop=ports --dport 7"

# The packet-path set changes: every set of the plan written whole.
RR=$(nfo_get 'st["set_rereads"]')
IP=$(nfo_get 'st["set_updates_in_place"]')
nfo_elements add element inet fw meter4 "{ 192.0.2.50 }"
nfo_assert "st['set_rereads'] == $RR + 1 and st['set_updates_in_place'] == $IP" \
	"the packet-path set was read and the sets written whole"
nfo_case "after the whole write" "pass --dport 9" "drop=ports --dport 7" \
	"drop=meter --src 192.0.2.50 --dport 10"

# The same after a resync the watchdog asks for (the daemon stopped for over
# a second, as a loaded machine may stop it): what sets.sh once saw.
nfo_elements add element inet fw ports "{ 11 }"
nfo_case "port 11 added in place" "drop=ports --dport 11"
U=$(nfo_get 'st["updates"]')
T=$(nfo_get 'st["watchdog"]["trips"]')
kill -STOP "$DAEMON_PID"
sleep 2
kill -CONT "$DAEMON_PID"
nfo_wait "st['watchdog']['trips'] > $T and st['updates'] > $U and st['fast_path'] == 'enabled'" 30 ||
	{ nfo_daemon_log; die "no resync after the watchdog tripped"; }
IP=$(nfo_get 'st["set_updates_in_place"]')
nfo_elements delete element inet fw ports "{ 11 }"
nfo_assert "st['set_updates_in_place'] == $IP + 1" "port 11 deleted in place"
RR=$(nfo_get 'st["set_rereads"]')
nfo_elements add element inet fw meter4 "{ 192.0.2.51 }"
nfo_assert "st['set_rereads'] == $RR + 1" "the sets written whole again"
nfo_case "after a watchdog resync and the whole write" "pass --dport 11" "pass --dport 9" \
	"drop=ports --dport 7"

nfo_daemon_stop
nfo_done
