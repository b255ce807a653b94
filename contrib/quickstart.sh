#!/bin/bash
# nft-offload in five steps, on its own network namespaces:
#   1. install dependencies, 2. build, 3. two namespaces joined by a veth and a
#   sample nftables ruleset, 4. the daemon attached in XDP mode, 5. traffic,
#   then `nft-offload status`. Everything is removed at the end (--keep to
#   leave the namespaces and the daemon running for a look around).
set -euo pipefail
cd "$(dirname "$0")/.."
keep=0
[ "${1:-}" = "--keep" ] && keep=1

if [ "$(id -u)" != 0 ]; then
	echo "quickstart: run as root (sudo contrib/quickstart.sh)" >&2
	exit 1
fi

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "1/5 installing dependencies"
contrib/install-deps.sh

step "2/5 building"
if [ -f build/build.ninja ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
ninja -C build >/dev/null
BIN=$PWD/build/nft-offload/nft-offload

CLIENT=nfo-qs-client SERVER=nfo-qs-server RUN=/run/nft-offload-quickstart
cleanup() {
	[ "$keep" = 1 ] && return
	[ -n "${DAEMON:-}" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null || true
	ip netns del "$CLIENT" 2>/dev/null || true
	ip netns del "$SERVER" 2>/dev/null || true
}
trap cleanup EXIT

step "3/5 namespaces $CLIENT <-> $SERVER and a sample ruleset in $SERVER"
ip netns del "$CLIENT" 2>/dev/null || true
ip netns del "$SERVER" 2>/dev/null || true
ip netns add "$CLIENT"
ip netns add "$SERVER"
ip link add qs0 netns "$CLIENT" type veth peer name qs1 netns "$SERVER"
ip -n "$CLIENT" link set lo up; ip -n "$CLIENT" link set qs0 up
ip -n "$SERVER" link set lo up; ip -n "$SERVER" link set qs1 up
ip -n "$CLIENT" addr add 192.0.2.1/24 dev qs0
ip -n "$SERVER" addr add 192.0.2.2/24 dev qs1
ip netns exec "$SERVER" nft -f - <<'NFT'
table inet filter {
	set blocked { type inet_service; elements = { 9, 19, 123 } }
	chain input {
		type filter hook input priority filter; policy accept;
		udp dport @blocked counter drop
		tcp dport 23 drop
		ip saddr 198.51.100.0/24 drop
		meta mark 0x2a drop
	}
}
NFT
ip netns exec "$SERVER" nft list ruleset

step "4/5 nft-offload daemon --attach qs1:xdp (in $SERVER)"
ip netns exec "$SERVER" "$BIN" daemon --attach qs1:xdp --run-dir "$RUN" &
DAEMON=$!
for _ in $(seq 100); do
	if ip netns exec "$SERVER" "$BIN" status --json --run-dir "$RUN" 2>/dev/null |
		grep -q '"fast_path":"enabled"'; then break; fi
	sleep 0.1
done

step "5/5 traffic: 20000 UDP packets to port 9 (blocked) and 200 to port 5353 (allowed)"
RECVOUT=$(mktemp)
ip netns exec "$SERVER" python3 - >"$RECVOUT" <<'PY' &
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5353)); s.settimeout(3)
n = 0
try:
    while n < 200:
        s.recv(2048); n += 1
except socket.timeout:
    pass
print(f"server: received {n} of 200 packets on port 5353")
PY
RECV=$!
sleep 0.3
ip netns exec "$CLIENT" python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(20000):
    s.sendto(b"flood", ("192.0.2.2", 9))
for i in range(200):
    s.sendto(b"hello", ("192.0.2.2", 5353))
print("client: sent 20000 packets to port 9 and 200 to port 5353")
PY
wait "$RECV"
cat "$RECVOUT"; rm -f "$RECVOUT"

printf '\n$ nft-offload status\n'
ip netns exec "$SERVER" "$BIN" status --run-dir "$RUN"
printf '\nThe drops on port 9 happened in XDP, before the kernel built an skb: the nft\n'
printf 'counter on that rule did not move (nft list ruleset in %s):\n' "$SERVER"
ip netns exec "$SERVER" nft list ruleset | grep "counter"
if [ "$keep" = 1 ]; then
	printf '\nLeft running (--keep). Try:\n'
	printf '  sudo ip netns exec %s %s status --run-dir %s\n' "$SERVER" "$BIN" "$RUN"
	printf '  sudo ip netns exec %s nft insert rule inet filter input udp dport 9 accept\n' "$SERVER"
	printf 'Clean up: sudo kill %s; sudo ip netns del %s; sudo ip netns del %s\n' "$DAEMON" "$CLIENT" "$SERVER"
fi
