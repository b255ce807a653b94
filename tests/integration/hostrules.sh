#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Constructs of real hosts' rulesets the fast path decides, in MODE (xdp,
# tc), with the real nft and real packets (docs/SEMANTICS.md):
#
#  - ct state tests planned jointly: `ct state invalid drop` then
#    `ct state new tcp flags & (fin|syn|rst|ack) != syn drop` drops a
#    non-SYN without conntrack entry in the fast path (invalid or new, it
#    is dropped either way); a SYN (new goes on to the open port) and the
#    packets of a real connection (established) are delivered. A SYN whose
#    header and checksum the fast path checked is certainly new:
#    `ct state new tcp dport 80 drop` alone drops it in the fast path,
#    while an ACK (new or invalid) is left to nftables.
#  - fib saddr/daddr type from the local routing table: wg-quick's guard
#    `ip daddr X fib saddr type != local drop` (and its ip6 twin), and `fib
#    daddr type { local, broadcast, multicast }` (local, subnet broadcast,
#    and a local prefix route added while the daemon runs) are dropped in
#    the fast path, IPv4 and IPv6; an IPv6 policy rule (`ip -6 rule add`)
#    makes the IPv6 answer a route lookup the daemon does not follow: IPv6
#    goes back to nftables until the rule is deleted, IPv4 stays.
#  - tcp option maxseg: `size 1-535` drops SYNs with a tiny MSS (after NOPs,
#    past an end-of-options byte, IPv4 and IPv6); a normal MSS, a short
#    option, no option pass; `missing` holds for UDP too (nft adds no
#    protocol dependency), checked against nftables itself first.
#  - verdict maps keyed by concatenations, as kube-proxy's nftables mode
#    builds them (`ip daddr . meta l4proto . th dport vmap @service-ips`,
#    `@no-endpoint-services`, an anonymous one): a published service is
#    delivered, a service without endpoints and unknown ports are dropped
#    in the fast path; elements moved between the maps while the daemon
#    runs (endpoints gone, back, a new service on a dropped port) change
#    what is dropped, and nothing accepted is ever dropped.
#  - broadcast frames at input: with `decide-broadcast yes`, a subnet
#    broadcast and 255.255.255.255 in ff:ff:ff:ff:ff:ff frames are decided
#    by the input chains (`meta pkttype host` false for them, `meta pkttype
#    broadcast` true); a multicast destination is left to nftables, and so
#    are subnet broadcasts while net.ipv4.conf.all.bc_forwarding is set.
#    Without the setting such frames pass; broadcast addresses in frames
#    for the interface's MAC are decided either way.
. "$(dirname "$0")/lib.sh"

MODE=${1:-xdp}
NFO_TEST="hostrules-$MODE"
nfo_init
nfo_pair

# --- joint ct state tests -------------------------------------------------------
nfo_nft <<'EOF2'
table inet filter {
	chain input {
		type filter hook input priority filter; policy accept;
		ct state established,related accept comment "est"
		ct state invalid counter drop comment "invalid"
		ct state new tcp flags & (fin|syn|rst|ack) != syn counter drop comment "newnosyn"
		tcp dport 22 accept
	}
}
EOF2
nfo_daemon_start --attach "$IF_R:$MODE"
nfo_case "non-SYN without entry" \
	"drop=newnosyn --proto tcp --dport 80 --tcp-flags A --sport 5001" \
	"drop=newnosyn --proto tcp --dport 22 --tcp-flags FA --sport 5002" \
	"drop=newnosyn -6 --proto tcp --dport 443 --tcp-flags PA --sport 5003" \
	"pass --proto tcp --dport 22 --tcp-flags S --sport 5004" \
	"pass --proto udp --dport 53"
nfo_assert "rule('invalid')['packets'] == 0 and rule('invalid')['nft_packets'] == 0" \
	"credited to the likely state's rule (new), nftables saw none"
# A real connection: its packets have an entry (established possible).
ip netns exec "$NS_R" python3 -c '
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 22)); l.listen(4)
while True:
    c, _ = l.accept(); c.sendall(c.recv(100)); c.close()
' >/dev/null 2>&1 &
NFO_PIDS+=($!)
for _ in $(seq 300); do
	ip netns exec "$NS_R" ss -Hltn "sport = :22" | nfo_has . && break
	sleep 0.1
done
if ip netns exec "$NS_S" python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 22), timeout=5)
s.sendall(b"hello"); assert s.recv(100) == b"hello"
' "$R4"; then
	ok "a real TCP connection to the open port works"
else
	fail "a real TCP connection to port 22 failed"
fi
nfo_daemon_stop
ip netns exec "$NS_R" nft flush ruleset

nfo_nft <<'EOF2'
table inet filter {
	chain input {
		type filter hook input priority filter; policy accept;
		ct state new tcp dport 80 counter drop comment "newsyn"
	}
}
EOF2
nfo_daemon_start --attach "$IF_R:$MODE"
nfo_case "a checked SYN is new" \
	"drop=newsyn --proto tcp --dport 80 --tcp-flags S --sport 6001" \
	"drop=newsyn -6 --proto tcp --dport 80 --tcp-flags S --sport 6002" \
	"kdrop=newsyn --proto tcp --dport 80 --tcp-flags A --sport 6003" \
	"pass --proto tcp --dport 81 --tcp-flags S --sport 6004"
nfo_daemon_stop
ip netns exec "$NS_R" nft flush ruleset

# --- fib ... type ----------------------------------------------------------------
nfo_nft <<EOF2
table ip wg {
	chain preraw {
		type filter hook prerouting priority raw; policy accept;
		ip daddr $R4B fib saddr type != local counter drop comment "wg"
	}
}
table ip6 wg {
	chain preraw {
		type filter hook prerouting priority raw; policy accept;
		ip6 daddr $R6B fib saddr type != local counter drop comment "wg6"
	}
}
table inet f {
	chain pre {
		type filter hook prerouting priority 0; policy accept;
		fib daddr type { local, broadcast, multicast } tcp dport 22 counter drop comment "fl"
	}
}
EOF2
nfo_daemon_start --attach "$IF_R:$MODE"
nfo_assert "rule('wg')['offloaded'] and rule('wg6')['offloaded'] and rule('fl')['offloaded']" \
	"fib type rules are offloaded"
nfo_case "fib type" \
	"drop=wg --dst $R4B --proto udp --dport 9" \
	"drop=wg6 -6 --dst $R6B --proto udp --dport 9" \
	"drop=fl --proto tcp --dport 22" \
	"drop=fl --proto tcp --dport 22 --dst 10.99.0.255" \
	"drop=fl -6 --proto tcp --dport 22" \
	"drop=fl -6 --proto tcp --dport 22 --dst ff02::1" \
	"pass --proto udp --dport 9" \
	"pass --proto tcp --dport 23" \
	"pass -6 --proto udp --dport 9" \
	"pass -6 --proto tcp --dport 23"
# An IPv6 policy rule: the lookup may now meet another table first.
ip -n "$NS_R" -6 rule add from fd00:77::/64 lookup 100 pref 100
nfo_settle || fail "fast path not settled after the rule was added"
nfo_case "IPv6 policy rule: IPv6 to nftables" \
	"kdrop=wg6 -6 --dst $R6B --proto udp --dport 9" \
	"kdrop=fl -6 --proto tcp --dport 22" \
	"drop=wg --dst $R4B --proto udp --dport 9" \
	"drop=fl --proto tcp --dport 22"
ip -n "$NS_R" -6 rule del pref 100
nfo_settle || fail "fast path not settled after the rule was deleted"
nfo_case "IPv6 policy rule deleted" \
	"drop=wg6 -6 --dst $R6B --proto udp --dport 9" \
	"drop=fl -6 --proto tcp --dport 22"
# A local route for a whole prefix (AnyIP): the daemon follows the table.
nfo_case "before the local route" "sent --dst 10.77.0.5 --proto tcp --dport 22"
U=$(nfo_get "st['updates']")
ip -n "$NS_R" route add local 10.77.0.0/24 dev lo
# settled from a build that follows the route (not the one before it, on a
# machine where the notification is read late)
nfo_wait "st['updates'] > $U and st['fast_path'] == 'enabled'" || fail "no rebuild after the route change"
nfo_settle || fail "fast path not settled after the route change"
nfo_case "local prefix route" "drop=fl --dst 10.77.0.5 --proto tcp --dport 22" \
	"pass --dst 10.77.0.5 --proto udp --dport 9"
U=$(nfo_get "st['updates']")
ip -n "$NS_R" route del local 10.77.0.0/24 dev lo
nfo_wait "st['updates'] > $U and st['fast_path'] == 'enabled'" || fail "no rebuild after the route removal"
nfo_settle || fail "fast path not settled after the route removal"
nfo_case "local route removed" "sent --dst 10.77.0.5 --proto tcp --dport 22"
nfo_daemon_stop
ip netns exec "$NS_R" nft flush ruleset

# --- tcp option maxseg -------------------------------------------------------------
nfo_nft <<'EOF2'
table inet m {
	chain pre {
		type filter hook prerouting priority 0; policy accept;
		tcp option maxseg size 1-535 counter drop comment "mss"
		tcp option maxseg missing udp dport 98 counter drop comment "missing"
	}
	chain seen {
		type filter hook prerouting priority -1; policy accept;
		counter
	}
}
EOF2
# What nftables itself does (no daemon yet): `missing` on UDP; the walk
# past an end-of-options byte; a 3-byte option has no size.
send_r4() { nfo_pkt send --netns "$NS_S" -i "$IF_S" --dst-mac "$MAC_R" --src "$S4" --dst "$R4" "$@" >/dev/null; }
send_r4 --proto udp --dport 98 --count 3
send_r4 --proto tcp --dport 81 --tcp-options 0000020400640000 --count 2
send_r4 --proto tcp --dport 82 --tcp-options 02030064 --count 2
# Read once nftables saw all 7 (chain seen counts them): a loaded machine
# may still hold some in a softirq backlog when the sender returns.
seen7() { ip netns exec "$NS_R" nft list chain inet m seen | nfo_has 'counter packets 7 '; }
nfo_poll 10 seen7 || fail "nftables did not see the 7 packets sent: $(ip netns exec "$NS_R" nft list chain inet m seen)"
RS=$(ip netns exec "$NS_R" nft list chain inet m pre)
ip netns exec "$NS_R" nft delete chain inet m seen
if grep -q 'counter packets 3 .*comment "missing"' <<<"$RS" &&
	grep -q 'counter packets 2 .*comment "mss"' <<<"$RS"; then
	ok "nftables: missing holds for UDP, EOL does not end the walk, a short option has no size"
else
	fail "nftables' tcp option semantics differ from the fast path's: $RS"
fi
nfo_daemon_start --attach "$IF_R:$MODE"
nfo_assert "rule('mss')['offloaded'] and rule('missing')['offloaded']" "tcp option rules are offloaded"
nfo_case "tcp option maxseg" \
	"drop=mss --proto tcp --dport 80 --tcp-options 02040064" \
	"drop=mss -6 --proto tcp --dport 80 --tcp-options 0101020400c8" \
	"drop=mss --proto tcp --dport 81 --tcp-options 0000020400640000" \
	"drop=missing --proto udp --dport 98" \
	"pass --proto tcp --dport 80 --tcp-options 020405b4" \
	"pass --proto tcp --dport 82 --tcp-options 02030064" \
	"pass --proto tcp --dport 83" \
	"pass --proto udp --dport 97"
nfo_daemon_stop
ip netns exec "$NS_R" nft flush ruleset

# --- verdict maps keyed by concatenations (kube-proxy) --------------------------------
nfo_nft <<EOF2
table ip kp {
	map service-ips {
		type ipv4_addr . inet_proto . inet_service : verdict
		elements = { $R4 . tcp . 8080 : goto svc-web }
	}
	map no-endpoint-services {
		type ipv4_addr . inet_proto . inet_service : verdict
		elements = { $R4 . tcp . 8443 : goto no-endpoints }
	}
	chain filter-input {
		type filter hook input priority -110; policy accept;
		ct state new jump service-endpoints-check
		ip daddr . meta l4proto . th dport vmap @service-ips
		meta l4proto . th dport vmap { udp . 53 : accept, tcp . 9999 : drop } comment "anon"
		tcp dport 8000-8999 counter drop comment "unknown"
	}
	chain service-endpoints-check {
		ip daddr . meta l4proto . th dport vmap @no-endpoint-services
	}
	chain no-endpoints {
		counter drop comment "noep"
	}
	chain svc-web {
		accept
	}
}
EOF2
nfo_daemon_start --attach "$IF_R:$MODE"
nfo_assert "rule('noep')['offloaded'] and rule('anon')['offloaded'] and rule('unknown')['offloaded']" \
	"rules behind concatenated verdict maps are offloaded"
# (the key is the whole concatenation: $R4B:8443 is no service)
nfo_case "concatenated verdict maps" \
	"drop=noep --proto tcp --dport 8443 --tcp-flags S --sport 7001" \
	"drop=unknown --proto tcp --dport 8500 --tcp-flags S --sport 7002" \
	"drop=anon --proto tcp --dport 9999 --sport 7003" \
	"pass --proto tcp --dport 8080 --tcp-flags S --sport 7004" \
	"pass --proto udp --dport 53" \
	"drop=unknown --dst $R4B --proto tcp --dport 8443 --tcp-flags S --sport 7005"
# The service loses its endpoints: kube-proxy moves it to the other map.
# (settled from the generation of the change: the daemon may read it late)
G=$(nfo_get "st['generation']")
U=$(nfo_get "st['updates']")
nfo_nft <<EOF2
delete element ip kp service-ips { $R4 . tcp . 8080 }
add element ip kp no-endpoint-services { $R4 . tcp . 8080 : goto no-endpoints }
EOF2
nfo_wait "st['generation'] != $G and st['updates'] > $U and st['fast_path'] == 'enabled'" || fail "the element change not followed"
nfo_settle || fail "fast path not settled after the element change"
nfo_case "endpoints gone" \
	"drop=noep --proto tcp --dport 8080 --tcp-flags S --sport 7011" \
	"drop=noep --proto tcp --dport 8443 --tcp-flags S --sport 7012"
# Endpoints back, and a new service on a port the chain drops otherwise.
G=$(nfo_get "st['generation']")
U=$(nfo_get "st['updates']")
nfo_nft <<EOF2
delete element ip kp no-endpoint-services { $R4 . tcp . 8080, $R4 . tcp . 8443 }
add element ip kp service-ips { $R4 . tcp . 8080 : goto svc-web, $R4 . tcp . 8500 : goto svc-web }
EOF2
nfo_wait "st['generation'] != $G and st['updates'] > $U and st['fast_path'] == 'enabled'" || fail "the element change not followed"
nfo_settle || fail "fast path not settled after the element change"
nfo_case "endpoints back, a new service" \
	"pass --proto tcp --dport 8080 --tcp-flags S --sport 7021" \
	"pass --proto tcp --dport 8500 --tcp-flags S --sport 7022" \
	"drop=unknown --proto tcp --dport 8443 --tcp-flags S --sport 7023" \
	"drop=unknown --proto tcp --dport 8501 --tcp-flags S --sport 7024"
nfo_daemon_stop
ip netns exec "$NS_R" nft flush ruleset

# --- broadcast frames at input -------------------------------------------------------
nfo_nft <<'EOF2'
table inet bc {
	chain input {
		type filter hook input priority 0; policy accept;
		meta pkttype host udp dport 137 accept
		udp dport 137 counter drop comment "netbios"
		meta pkttype broadcast udp dport 5678 counter drop comment "smurf"
		udp dport 139 counter drop comment "nb139"
	}
}
EOF2
BC_FWD=$(ip netns exec "$NS_R" sysctl -n net.ipv4.conf.all.bc_forwarding)
ip netns exec "$NS_R" sysctl -qw net.ipv4.conf.all.bc_forwarding=0
BCAST=ff:ff:ff:ff:ff:ff
# By default only frames for the interface's MAC meet the IP-layer chains
# in the fast path (a macvlan elsewhere may take copies of the others); a
# subnet broadcast address in such a frame is delivered locally.
nfo_daemon_start --attach "$IF_R:$MODE"
nfo_case "broadcast frames, by default" \
	"kdrop=netbios --dst 10.99.0.255 --dst-mac $BCAST --proto udp --dport 137" \
	"drop=nb139 --dst 10.99.0.255 --proto udp --dport 139" \
	"drop=nb139 --dst 255.255.255.255 --proto udp --dport 139"
nfo_daemon_stop
printf 'decide-broadcast yes\n' >"$NFO_T/bcast.conf"
nfo_daemon_start --config "$NFO_T/bcast.conf" --attach "$IF_R:$MODE"
nfo_case "broadcast frames" \
	"drop=netbios --dst 10.99.0.255 --dst-mac $BCAST --proto udp --dport 137" \
	"drop=netbios --dst 255.255.255.255 --dst-mac $BCAST --proto udp --dport 137" \
	"drop=smurf --dst 10.99.0.255 --dst-mac $BCAST --proto udp --dport 5678" \
	"drop=netbios --dst-mac $BCAST --proto udp --dport 137" \
	"pass --proto udp --dport 137" \
	"pass --proto udp --dport 5678" \
	"sent --dst 224.0.0.251 --dst-mac 01:00:5e:00:00:fb --proto udp --dport 137"
# bc_forwarding set: subnet broadcasts may be forwarded (here they are not:
# the device's own is off, so nftables still drops them).
# The daemon reads the sysctl once a second and rebuilds when it changed:
# wait for that build (a fixed delay misses it on a loaded machine).
U=$(nfo_get "st['updates']")
ip netns exec "$NS_R" sysctl -qw net.ipv4.conf.all.bc_forwarding=1
nfo_wait "st['updates'] > $U and st['fast_path'] == 'enabled'" || fail "no rebuild after bc_forwarding changed"
nfo_settle || fail "fast path not settled after bc_forwarding changed"
nfo_case "bc_forwarding on" \
	"kdrop=netbios --dst 10.99.0.255 --dst-mac $BCAST --proto udp --dport 137" \
	"drop=netbios --dst 255.255.255.255 --dst-mac $BCAST --proto udp --dport 137"
ip netns exec "$NS_R" sysctl -qw net.ipv4.conf.all.bc_forwarding="$BC_FWD"
nfo_daemon_stop
ip netns exec "$NS_R" nft flush ruleset

nfo_done
