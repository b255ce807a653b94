#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# NAT-aware planning, in MODE (xdp, tc), on a host with Docker-like and
# Tailscale-like NAT (docs/SEMANTICS.md, "NAT on the receive path"):
#
#     ip nat prerouting:  tcp dport 8080 dnat to R4B:80   (a published port)
#     ip nat postrouting: jump ts-postrouting; ts-postrouting masquerades
#                         what leaves from R4B
#     inet filter input:  ct state established,related accept; a ban
#                         (ip saddr BANNED drop); tcp dport 80 accept;
#                         jump more (tcp dport 443 accept); policy drop
#
#  - the ban and the policy drop are decided in the fast path for packets
#    no NAT can change (fast-path counter moves, nftables' does not);
#  - a banned source to the published port passes to nftables (the DNAT
#    may fire) and nftables drops it;
#  - the published port reaches its DNAT target as without the daemon;
#  - replies of a masqueraded outbound connection (a conntrack entry with
#    NAT bindings) are not dropped;
#  - status says which rules are decided only for some packets, and why.
. "$(dirname "$0")/lib.sh"

MODE=${1:-xdp}
NFO_TEST="nat-$MODE"
nfo_init
nfo_pair
BANNED=10.99.0.77

nfo_nft <<EOF2
table ip nat {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		tcp dport 8080 dnat to $R4B:80
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		jump ts-postrouting
	}
	chain ts-postrouting {
		ip saddr $R4B oifname "$IF_R" masquerade
	}
}
table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept comment "est"
		ip saddr $BANNED counter drop comment "ban"
		tcp dport 80 accept comment "published"
		jump more
	}
	chain more {
		tcp dport 443 accept comment "more"
	}
}
EOF2

# The published port without the daemon: the reference behaviour.
ip netns exec "$NS_R" python3 - <<'PY' >"$NFO_T/listen-r.log" 2>&1 &
import socket, threading
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 80)); l.listen(8)
while True:
    c, _ = l.accept()
    c.sendall(b"pub:" + c.recv(1000)); c.close()
PY
NFO_PIDS+=($!)
ip netns exec "$NS_S" python3 - <<'PY' >"$NFO_T/listen-s.log" 2>&1 &
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 8000)); l.listen(8)
while True:
    c, a = l.accept()
    c.sendall(("from %s:" % a[0]).encode() + c.recv(1000) * 50); c.close()
PY
NFO_PIDS+=($!)
listening() { ip netns exec "$1" ss -Hltn "sport = :$2" | nfo_has .; }
nfo_poll 30 listening "$NS_R" 80 && nfo_poll 30 listening "$NS_S" 8000 ||
	die "the test's listeners did not start: $(cat "$NFO_T"/listen-*.log)"

check() { # DESC NS SCRIPT ARGS...: the script prints OK or fails
	local desc=$1 ns=$2 out
	shift 2
	if out=$(ip netns exec "$ns" timeout 60 python3 -c "$@" 2>&1) && [ "$out" = OK ]; then
		ok "$desc"
	else
		fail "$desc: $out"
	fi
}
PUB='
import socket, sys
s = socket.create_connection((sys.argv[1], 8080), timeout=10)
s.sendall(b"hello")
got = b""
while True:
    d = s.recv(1000)
    if not d: break
    got += d
assert got == b"pub:hello", got
print("OK")'
# Outbound from R4B, masqueraded to R4: the replies carry the NAT binding.
MASQ='
import socket, sys
s = socket.socket(); s.settimeout(10)
s.bind((sys.argv[2], 0))
s.connect((sys.argv[1], 8000))
s.sendall(b"z" * 1000)
got = b""
while True:
    d = s.recv(65536)
    if not d: break
    got += d
want = ("from %s:" % sys.argv[3]).encode() + b"z" * 50000
assert got == want, (len(got), got[:40])
print("OK")'
check "without the daemon: the published port 8080 reaches its DNAT target" "$NS_S" "$PUB" "$R4"
check "without the daemon: a masqueraded outbound connection gets its replies" \
	"$NS_R" "$MASQ" "$S4" "$R4B" "$R4"

nfo_daemon_start --attach "$IF_R:$MODE"

# --- decided in the fast path ----------------------------------------------------
nfo_case "a banned source on another port" \
	"drop=ban --proto tcp --src $BANNED --dport 22 --count 50"
nfo_case "a closed port: the input policy" \
	"drop=policy:inet/filter/input --proto tcp --dport 23 --count 50" \
	"drop=policy:inet/filter/input --proto udp --dport 53 --count 50"
nfo_assert "rule('ban')['nft_packets'] == 0" "nftables' counter of the ban did not move"
# --- what NAT may change passes to nftables ------------------------------------------
nfo_case "a banned source to the published port: the DNAT may fire" \
	"kdrop=ban --proto tcp --src $BANNED --dport 8080 --count 20"

# --- real traffic -----------------------------------------------------------------
DROPPED=$(nfo_get "st['totals']['dropped']")
check "the published port 8080 reaches its DNAT target" "$NS_S" "$PUB" "$R4"
check "a masqueraded outbound connection gets its replies" "$NS_R" "$MASQ" "$S4" "$R4B" "$R4"
nfo_assert "st['totals']['dropped'] == $DROPPED" "the fast path dropped none of the real traffic"

# --- status: decided only for some packets, and why --------------------------------
nfo_assert "rule('ban')['offload'] == 'partial' and 'NAT' in rule('ban')['reason']" \
	"status: the ban is decided for packets NAT cannot change, and says why"
nfo_assert "rule('published')['offload'] == 'partial' and 'NAT' in rule('published')['reason']" \
	"status: so is the accept of the published port"
nfo_assert "rule('more')['offload'] == 'partial' and 'NAT' in rule('more')['reason']" \
	"status: and a rule of a chain the input chain jumps to"

nfo_daemon_stop
nfo_done
