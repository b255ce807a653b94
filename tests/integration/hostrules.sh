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
#    packets of a real connection (established) are delivered.
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
for _ in $(seq 50); do
	ip netns exec "$NS_R" ss -Hltn "sport = :22" | grep -q . && break
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

nfo_done
