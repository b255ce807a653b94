#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A typical server ruleset with conntrack, in MODE (xdp, tc):
#
#     ct state invalid drop; ct state established,related accept;
#     iif lo accept; tcp dport {22, 443} accept; icmp echo-request accept;
#     policy drop
#
#  - a SYN flood to closed ports (IPv4 and IPv6, many source ports) is
#    dropped in the fast path (conntrack lookups find no entry: NEW or
#    INVALID, both dropped), credited to the chain policy;
#  - real TCP connections to the open ports complete and carry data both
#    ways; so do connections the server opens itself (their replies come
#    back), UDP requests it makes get their answers, and ICMP errors about
#    its live flows reach its sockets;
#  - the fast path never drops what nftables delivers.
. "$(dirname "$0")/lib.sh"

MODE=${1:-xdp}
NFO_TEST="conntrack-$MODE"
nfo_init
nfo_pair

nfo_nft <<'EOF2'
table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state invalid counter drop comment "invalid"
		ct state established,related accept comment "est"
		iif "lo" accept
		tcp dport { 22, 443 } accept comment "open"
		icmp type echo-request accept
		icmpv6 type { echo-request, nd-neighbor-solicit, nd-neighbor-advert } accept
	}
}
EOF2
nfo_daemon_start --attach "$IF_R:$MODE"
nfo_assert "rule('est')['offloaded'] and rule('invalid')['offloaded']" \
	"ct state rules are evaluated by the fast path"

# --- SYN flood to closed ports: dropped in the fast path -----------------------
POL="policy:inet/filter/input"
nfo_case "SYN flood, IPv4" "drop=$POL --proto tcp --dport 80 --sport 1111 --count 200" \
	"drop=$POL --proto tcp --dport 8080 --sport 2222 --count 200"
nfo_case "SYN flood, IPv6" "drop=$POL -6 --proto tcp --dport 80 --sport 3333 --count 200"
# many flows: every source port is a conntrack miss
python3 - <<'PY'
import os, sys
sys.path.insert(0, os.path.join(os.environ["NFO_SRC"], "tests", "tools"))
import pkt
e = os.environ
frames = []
for sport in range(20000, 22000):
    spec = pkt.PacketSpec(src=e["NFO_S4"], dst=e["NFO_R4"], proto="tcp", sport=sport,
                          dport=25, tcp_flags="S")
    frames += pkt.build_frames(spec, e["NFO_MAC_S"], e["NFO_MAC_R"])
s = pkt.Sender(e["NFO_IF_S"], ns=e["NFO_NS_S"])
s.send(frames)
s.close()
PY
# >=: the policy also drops what the sender's stack sends on its own (MLD)
nfo_wait "policy('inet/filter/input')['packets'] >= 2600" 10 &&
	ok "2000 SYNs from 2000 source ports: dropped in the fast path" ||
	fail "SYN flood from many ports not dropped in the fast path: $(nfo_get "policy('inet/filter/input')")"
nfo_assert "rule('invalid')['packets'] == 0" \
	"the drops are credited to the policy (NEW), not to 'ct state invalid drop'"

# --- real traffic: nothing nftables delivers is lost ----------------------------
DROPPED=$(nfo_get "st['totals']['dropped']")
ip netns exec "$NS_S" python3 - "$R4" "$R6" <<'PY' >"$NFO_T/listen-s.log" 2>&1 &
# The sender side: a TCP echo server (for connections the receiver opens)
# and a UDP echo server.
import socket, sys, threading
def sock(fam, kind):
    s = socket.socket(fam, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    return s
def tcp(fam, addr):
    l = sock(fam, socket.SOCK_STREAM)
    l.bind((addr, 8000)); l.listen(8)
    while True:
        c, _ = l.accept()
        # echo until the client closes: one recv may return part of what
        # it sent, and closing with data unread would reset the connection
        threading.Thread(target=echo, args=(c,), daemon=True).start()
def echo(c):
    with c:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
def udp(fam, addr):
    u = sock(fam, socket.SOCK_DGRAM); u.bind((addr, 5300))
    while True:
        d, a = u.recvfrom(65536); u.sendto(d, a)
for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    threading.Thread(target=tcp, args=(fam, addr), daemon=True).start()
    threading.Thread(target=udp, args=(fam, addr), daemon=True).start()
threading.Event().wait()
PY
NFO_PIDS+=($!)
ip netns exec "$NS_R" python3 - <<'PY' >"$NFO_T/listen-r.log" 2>&1 &
# The receiver side (the server we protect): echo on 22 and 443.
import socket, threading
def tcp(fam, addr, port):
    l = socket.socket(fam, socket.SOCK_STREAM)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        l.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    l.bind((addr, port)); l.listen(8)
    while True:
        c, _ = l.accept()
        data = b""
        while len(data) < 1000:  # the client sends 1000 bytes
            d = c.recv(65536)
            if not d:
                break
            data += d
        c.sendall(data * 100); c.close()
for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    for port in (22, 443):
        threading.Thread(target=tcp, args=(fam, addr, port), daemon=True).start()
threading.Event().wait()
PY
NFO_PIDS+=($!)
listening() { # NS PORT...: every port has a TCP listener
	local ns=$1 p
	shift
	for p in "$@"; do
		ip netns exec "$ns" ss -Hltn "sport = :$p" | nfo_has . || return 1
	done
}
nfo_poll 30 listening "$NS_S" 8000 && nfo_poll 30 listening "$NS_R" 22 443 ||
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

CLIENT='
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
for port in (22, 443):
    s = socket.create_connection((sys.argv[1], port), timeout=10)
    s.sendall(b"x" * 1000)
    got = b""
    while len(got) < 100000:
        d = s.recv(65536)
        if not d: break
        got += d
    assert got == b"x" * 100000, (port, len(got))
print("OK")'
check "TCP to open ports 22 and 443 completes, 1000 bytes up, 100000 down (IPv4)" "$NS_S" "$CLIENT" "$R4"
check "TCP to open ports 22 and 443 completes (IPv6)" "$NS_S" "$CLIENT" "$R6"

OUT='
import socket, sys
s = socket.create_connection((sys.argv[1], 8000), timeout=10)
s.sendall(b"y" * 50000)
got = b""
while len(got) < 50000:
    d = s.recv(65536)
    if not d: break
    got += d
assert got == b"y" * 50000, len(got)
print("OK")'
check "the server opens a TCP connection: the replies come back (IPv4)" "$NS_R" "$OUT" "$S4"
check "the server opens a TCP connection: the replies come back (IPv6)" "$NS_R" "$OUT" "$S6"

UDP='
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
u = socket.socket(fam, socket.SOCK_DGRAM); u.settimeout(10)
for i in range(20):
    u.sendto(b"q%d" % i, (sys.argv[1], 5300))
    assert u.recvfrom(100)[0] == b"q%d" % i
print("OK")'
check "UDP request/response: the answers come back (IPv4)" "$NS_R" "$UDP" "$S4"
check "UDP request/response: the answers come back (IPv6)" "$NS_R" "$UDP" "$S6"

# Answers larger than the MTU come back as fragments: no transport header
# (and no conntrack lookup) in all but the first; only the reassembled
# datagram is established to nftables.
BIG='
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
u = socket.socket(fam, socket.SOCK_DGRAM); u.settimeout(10)
for i in range(5):
    q = b"%d" % i + b"b" * 4000
    u.sendto(q, (sys.argv[1], 5300))
    assert u.recvfrom(8000)[0] == q
print("OK")'
check "UDP answers of 4000 bytes (fragmented) come back (IPv4)" "$NS_R" "$BIG" "$S4"
check "UDP answers of 4000 bytes (fragmented) come back (IPv6)" "$NS_R" "$BIG" "$S6"

ICMPERR='
import socket, sys, errno
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
u = socket.socket(fam, socket.SOCK_DGRAM); u.settimeout(10)
u.connect((sys.argv[1], 5399))   # nothing listens: port unreachable
u.send(b"ping")
try:
    u.recv(100)
    print("no error")
except ConnectionRefusedError:
    print("OK")
except socket.timeout:
    print("timeout: the ICMP error did not arrive")'
check "ICMP port unreachable for a live UDP flow reaches its socket (IPv4)" "$NS_R" "$ICMPERR" "$S4"
check "ICMPv6 port unreachable for a live UDP flow reaches its socket (IPv6)" "$NS_R" "$ICMPERR" "$S6"

nfo_assert "st['totals']['dropped'] == $DROPPED" "the fast path dropped none of the real traffic"
nfo_assert "st['totals']['passed_by_reason']['decided_by_nftables'] > 0" \
	"real traffic went to nftables"

# --- flood while a connection is established: the connection survives -----------
# Connect to 22, send 2000 SYNs to a closed port from the same host while the
# connection is open and idle, then use it: the request goes up, the reply
# (100 times larger) comes down.
P0=$(nfo_get "policy('inet/filter/input')['packets']")
HELD='
import os, socket, sys
sys.path.insert(0, os.path.join(os.environ["NFO_SRC"], "tests", "tools"))
import pkt
e = os.environ
s = socket.create_connection((sys.argv[1], 22), timeout=10)
frames = []
for sport in range(30000, 32000):
    spec = pkt.PacketSpec(src=e["NFO_S4"], dst=e["NFO_R4"], proto="tcp", sport=sport,
                          dport=25, tcp_flags="S")
    frames += pkt.build_frames(spec, e["NFO_MAC_S"], e["NFO_MAC_R"])
tx = pkt.Sender(e["NFO_IF_S"], ns=e["NFO_NS_S"])
tx.send(frames)
tx.close()
s.sendall(b"z" * 1000)
got = b""
while len(got) < 100000:
    d = s.recv(65536)
    if not d: break
    got += d
assert got == b"z" * 100000, len(got)
print("OK")'
check "a connection open during a SYN flood carries data afterwards" "$NS_S" "$HELD" "$R4"
nfo_wait "policy('inet/filter/input')['packets'] >= $P0 + 2000" 10 &&
	ok "the flood during the connection was dropped in the fast path" ||
	fail "the flood during the connection: $(nfo_get "policy('inet/filter/input')") (before: $P0)"

nfo_daemon_stop
nfo_done
