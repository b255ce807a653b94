#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# reject with tcp reset in the fast path (docs/SEMANTICS.md section 4.1),
# IPv4 and IPv6, inet and ip6 families:
# the RST the fast path sends equals the kernel's, field by field; what it
# cannot answer exactly as the kernel would is passed to nftables. Each
# segment is sent twice, with nftables alone and with the daemon attached.
# Argument: the attach mode. Native XDP on a veth cannot send (XDP_TX
# reaches the peer only if the peer runs NAPI): there every reset is passed
# to nftables, which the xdp run checks.
. "$(dirname "$0")/lib.sh"

MODE=${1:-xdp}
SENT=sent SILENT=silent
[ "$MODE" = xdp ] && SENT=passed SILENT=passed

nfo_init
nfo_pair
# bpf_fib_lookup answers only on interfaces that forward
ip netns exec "$NS_R" sysctl -qw "net.ipv4.conf.$IF_R.forwarding=1"
ip netns exec "$NS_R" sysctl -qw "net.ipv6.conf.$IF_R.forwarding=1"
# the IPv6 RST's hop limit is the interface's (ip6_dst_hoplimit): not the default
ip netns exec "$NS_R" sysctl -qw "net.ipv6.conf.$IF_R.hop_limit=77"
# connect() below: full checksums in the SYN (a veth peer would leave a
# partial one the fast path cannot verify; the kernel trusts it)
ip netns exec "$NS_S" ethtool -K "$IF_S" tx off >/dev/null
# a sender the route back to goes out of another interface
ip -n "$NS_R" link add nfod0 type veth peer name nfod1
ip -n "$NS_R" link set nfod0 up
ip -n "$NS_R" link set nfod1 up
ip -n "$NS_R" route add 10.99.7.7/32 dev nfod0
ip -n "$NS_R" -6 route add fd00:77::7/128 dev nfod0

nfo_nft <<'EOF2'
table inet t {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport 23 counter reject with tcp reset comment "rst"
	}
}
table ip6 t6 {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport 24 counter reject with tcp reset comment "rst6"
	}
}
EOF2

# nftables' own counter of the rule with comment $1: packets
nft_packets() {
	ip netns exec "$NS_R" nft -j list ruleset | python3 -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    r = o.get("rule")
    if r and r.get("comment") == sys.argv[1]:
        for e in r["expr"]:
            if "counter" in e:
                print(e["counter"]["packets"])' "$1"
}

probe() {
	python3 "$NFO_SRC/tests/integration/reset_probe.py" --dport 23 "$@"
}

# NAME|EXPECT|RULE|PROBE-ARGS: EXPECT is sent (the fast path answers), silent
# (the fast path drops, nobody answers) or passed (nftables decides); RULE
# the comment of the rule that rejects it.
OPTS=020405b40402080a000000010000000001030307
CASES=(
	"a SYN with options|$SENT|rst|--flags S --seq 1000 --tcp-options $OPTS"
	"a segment with ACK and data|$SENT|rst|--flags PA --seq 5000 --ack 777777 --payload-len 10"
	"a SYN with data, seq wrapping|$SENT|rst|--flags S --seq 4294967290 --payload-len 8 --sport 41001"
	"a FIN without ACK|$SENT|rst|--flags F --seq 10 --sport 41002"
	"a bad TCP checksum|passed|rst|--flags S --seq 20 --bad-csum --sport 41003"
	"an incoming RST|$SILENT|rst|--flags R --seq 30 --sport 41004"
	"a route back out of another interface|passed|rst|--flags S --seq 40 --src 10.99.7.7 --sport 41005"
	"a segment of more than 64 bytes|passed|rst|--flags PA --seq 50 --ack 9 --payload-len 100 --sport 41006"
	# IPv6: a flow label and traffic class the RST must not copy (reset_probe.py)
	"IPv6: a SYN with options|$SENT|rst|--v6 --flags S --seq 1000 --tcp-options $OPTS --sport 42000"
	"IPv6: a segment with ACK and data|$SENT|rst|--v6 --flags PA --seq 5000 --ack 777777 --payload-len 10 --sport 42001"
	"IPv6: a FIN with data, seq wrapping|$SENT|rst|--v6 --flags F --seq 4294967295 --payload-len 4 --sport 42002"
	"IPv6: a bad TCP checksum|passed|rst|--v6 --flags S --bad-csum --sport 42003"
	"IPv6: an incoming RST|$SILENT|rst|--v6 --flags R --sport 42004"
	"IPv6: a hop-by-hop options header|passed|rst|--v6 --ext hbh --flags S --sport 42005"
	"IPv6: a route back out of another interface|passed|rst|--v6 --src fd00:77::7 --sport 42006"
	"IPv6: a segment of more than 64 bytes|passed|rst|--v6 --flags PA --payload-len 100 --sport 42007"
	"IPv6, ip6 family: a SYN|$SENT|rst6|--v6 --dport 24 --flags S --seq 77 --sport 42008"
)

declare -A ALONE
for c in "${CASES[@]}"; do
	IFS='|' read -r name _ _ args <<<"$c"
	# shellcheck disable=SC2086
	ALONE[$name]=$(probe $args)
	log "$name, nftables alone: ${ALONE[$name]}"
done
refused=$(probe --connect)
[ "$(echo "$refused" | python3 -c 'import json,sys; print(json.load(sys.stdin)["refused"])')" = True ] ||
	fail "connect() without the daemon: $refused"

nfo_daemon_start --attach "$IF_R:$MODE"
if [ "$SENT" = sent ]; then
	nfo_assert "rule('rst')['offload'] == 'full' and rule('rst6')['offload'] == 'full'" \
		"rst, rst6: decided in the fast path (inet: IPv4 and IPv6)"
else
	nfo_assert "rule('rst')['offload'] == 'none' and rule('rst6')['offload'] == 'none'" \
		"rst, rst6: left to nftables (native XDP on a veth)"
fi

for c in "${CASES[@]}"; do
	IFS='|' read -r name expect rule args <<<"$c"
	k0=$(nft_packets "$rule")
	f0=$(nfo_get "rule('$rule')['packets']")
	# shellcheck disable=SC2086
	with=$(probe $args)
	log "$name, with the fast path: $with"
	k1=$(nft_packets "$rule")
	f1=$(nfo_get "rule('$rule')['packets']")
	if python3 - "${ALONE[$name]}" "$with" "$expect" "$((k1 - k0))" "$((f1 - f0))" <<'PY'; then
import json, sys
alone, with_ = json.loads(sys.argv[1])["reply"], json.loads(sys.argv[2])["reply"]
expect, knft, fast = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
bad = []
if expect == "sent":
    if alone is None or with_ is None:
        bad.append("no RST: alone %r, with %r" % (alone, with_))
    else:
        # the kernel's TCP checksum may be a partial one here (a veth
        # peer's CHECKSUM_PARTIAL): ours must verify, every other field
        # must be the kernel's
        if not with_.pop("tcp_csum_ok"):
            bad.append("the fast path's RST has a bad TCP checksum")
        alone.pop("tcp_csum_ok")
        for k in sorted(alone):
            if alone[k] != with_.get(k):
                bad.append("%s: kernel %r, fast path %r" % (k, alone[k], with_.get(k)))
    if (knft, fast) != (0, 1):
        bad.append("counters: nftables %d, fast path %d (expected 0, 1)" % (knft, fast))
else:
    if alone != with_:
        bad.append("replies differ: alone %r, with %r" % (alone, with_))
    want = (0, 1) if expect == "silent" else (1, 0)
    if (knft, fast) != want:
        bad.append("counters: nftables %d, fast path %d (expected %d, %d)" % ((knft, fast) + want))
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
		ok "$name: $expect"
	else
		fail "$name"
	fi
done

# a real connection attempt is refused (by the fast path's RST)
f0=$(nfo_get "rule('rst')['packets']")
refused=$(probe --connect)
f1=$(nfo_get "rule('rst')['packets']")
want=1
[ "$SENT" = sent ] || want=0
if [ "$(echo "$refused" | python3 -c 'import json,sys; print(json.load(sys.stdin)["refused"])')" = True ] &&
	[ "$((f1 - f0))" = "$want" ]; then
	ok "connect() refused ($SENT)"
else
	fail "connect() with the fast path: $refused, fast path counter +$((f1 - f0))"
fi
f0=$(nfo_get "rule('rst')['packets']")
refused=$(probe --connect --v6)
f1=$(nfo_get "rule('rst')['packets']")
if [ "$(echo "$refused" | python3 -c 'import json,sys; print(json.load(sys.stdin)["refused"])')" = True ] &&
	[ "$((f1 - f0))" = "$want" ]; then
	ok "IPv6 connect() refused ($SENT)"
else
	fail "IPv6 connect() with the fast path: $refused, fast path counter +$((f1 - f0))"
fi

# What nftables accepts is delivered: a listener on another port answers.
ip netns exec "$NS_R" python3 -c '
import socket, time
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 8080))
s.listen(8)
s.settimeout(20)
try:
    while True:
        s.accept()[0].close()
except OSError:
    pass' &
LISTENER=$!
sleep 0.5
for v in "" --v6; do
	# shellcheck disable=SC2086
	conn=$(probe --connect --dport 8080 $v)
	if [ "$(echo "$conn" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("error"))')" = connected ]; then
		ok "accepted traffic delivered${v:+ (IPv6)}: connect() to a listener succeeds"
	else
		fail "connect() to a listener${v:+ (IPv6)}: $conn"
	fi
done
kill "$LISTENER" 2>/dev/null || true
wait "$LISTENER" 2>/dev/null || true

"$NFO_BIN" explain --run-dir "$NFO_RUN" >"$NFO_T/explain.txt" 2>&1 || true
if [ "$SENT" = sent ]; then
	text="reject with tcp reset: IPv4 and IPv6 answered here"
else
	text="native XDP on a veth"
fi
if grep -q "$text" "$NFO_T/explain.txt"; then
	ok "explain says how the reset is carried out"
else
	cat "$NFO_T/explain.txt"
	fail "explain does not describe the reset"
fi

# Two IPv6 routes of one prefix and metric out of two interfaces: the fast
# path's input lookup prefers the packet's interface, the kernel's output
# lookup does not: IPv6 resets go to nftables while they exist (followed
# through rtnetlink), IPv4 ones stay.
if [ "$SENT" = sent ]; then
	ip -n "$NS_R" -6 route add fd00:55::/64 dev nfod0 metric 700
	ip -n "$NS_R" -6 route append fd00:55::/64 dev "$IF_R" metric 700
	if nfo_wait "rule('rst6')['offload'] == 'none' and rule('rst')['offload'] == 'partial'"; then
		ok "ambiguous IPv6 routes: IPv6 resets left to nftables"
	else
		fail "ambiguous IPv6 routes: the IPv6 reset is still followed"
	fi
	ip -n "$NS_R" -6 route del fd00:55::/64 dev nfod0 metric 700
	if nfo_wait "rule('rst6')['offload'] == 'full' and rule('rst')['offload'] == 'full'"; then
		ok "one route left: IPv6 resets followed again"
	else
		fail "the IPv6 route ambiguity removed: the IPv6 reset is not followed again"
	fi
fi

# IPv4 forwarding off on the interface: bpf_fib_lookup answers nothing
# there, so IPv4 resets are nftables' (explain says why), IPv6 ones stay;
# the daemon reads the setting every second, and it comes back when on.
if [ "$SENT" = sent ]; then
	ip netns exec "$NS_R" sysctl -qw "net.ipv4.conf.$IF_R.forwarding=0"
	if nfo_wait "rule('rst')['offload'] == 'partial' and 'forwarding is off' in rule('rst')['reason'] and rule('rst6')['offload'] == 'full'"; then
		ok "IPv4 forwarding off: explain says IPv4 resets are left to nftables"
	else
		fail "IPv4 forwarding off: explain does not say so"
	fi
	k0=$(nft_packets rst)
	f0=$(nfo_get "rule('rst')['packets']")
	with=$(probe --flags S --seq 70 --sport 41070)
	k1=$(nft_packets rst)
	f1=$(nfo_get "rule('rst')['packets']")
	if [ "$with" != '{"reply": null}' ] && [ "$((k1 - k0))" = 1 ] && [ "$((f1 - f0))" = 0 ]; then
		ok "IPv4 forwarding off: the SYN passed to nftables, which sent the RST"
	else
		fail "IPv4 forwarding off: $with, nftables +$((k1 - k0)), fast path +$((f1 - f0))"
	fi
	ip netns exec "$NS_R" sysctl -qw "net.ipv4.conf.$IF_R.forwarding=1"
	if nfo_wait "rule('rst')['offload'] == 'full'"; then
		ok "IPv4 forwarding on again: IPv4 resets followed again"
	else
		fail "IPv4 forwarding on again: the IPv4 reset is not followed"
	fi
	nfo_wait 'st["fast_path"] == "enabled"'
	f0=$(nfo_get "rule('rst')['packets']")
	with=$(probe --flags S --seq 71 --sport 41071)
	f1=$(nfo_get "rule('rst')['packets']")
	if [ "$with" != '{"reply": null}' ] && [ "$((f1 - f0))" = 1 ]; then
		ok "IPv4 forwarding on again: the fast path answers"
	else
		fail "IPv4 forwarding on again: $with, fast path +$((f1 - f0))"
	fi
fi

# An output chain that could drop the RST: resets go to nftables.
nfo_nft <<'EOF2'
table ip o {
	chain out {
		type filter hook output priority 0; policy accept;
		tcp flags rst counter drop comment "odrop"
	}
}
EOF2
if [ "$SENT" = sent ]; then
	nfo_wait "rule('rst')['offload'] == 'partial' and 'IPv4' in rule('rst')['reason'] and rule('rst6')['offload'] == 'full'" ||
		fail "an ip output chain that may drop the RST: IPv4 resets still followed, or IPv6 ones not"
else
	nfo_wait "rule('rst')['offload'] == 'none'" ||
		fail "an output chain that may drop the RST: the reset is still followed"
fi
nfo_wait 'st["fast_path"] == "enabled"'
k0=$(nft_packets rst)
o0=$(nft_packets odrop)
f0=$(nfo_get "rule('rst')['packets']")
with=$(probe --flags S --seq 60 --sport 41007)
k1=$(nft_packets rst)
o1=$(nft_packets odrop)
f1=$(nfo_get "rule('rst')['packets']")
if [ "$with" = '{"reply": null}' ] && [ "$((k1 - k0))" = 1 ] && [ "$((o1 - o0))" = 1 ] &&
	[ "$((f1 - f0))" = 0 ]; then
	ok "an output chain that drops RSTs: passed to nftables, which sends none"
else
	fail "output chain: $with, nftables +$((k1 - k0)), output chain +$((o1 - o0)), fast path +$((f1 - f0))"
fi
# (its family's only: an IPv6 RST is still the fast path's)
f0=$(nfo_get "rule('rst6')['packets']")
with=$(probe --v6 --dport 24 --flags S --seq 61 --sport 42009)
f1=$(nfo_get "rule('rst6')['packets']")
if [ "$SENT" != sent ] || { [ "$with" != '{"reply": null}' ] && [ "$((f1 - f0))" = 1 ]; }; then
	ok "an ip output chain leaves IPv6 resets to the fast path"
else
	fail "IPv6 reset under an ip output chain: $with, fast path +$((f1 - f0))"
fi

# An ip6 output chain that could drop it: IPv6 resets go to nftables too.
nfo_nft <<'EOF2'
table ip6 o6 {
	chain out {
		type filter hook output priority 0; policy accept;
		tcp flags rst counter drop comment "odrop6"
	}
}
EOF2
nfo_wait "rule('rst6')['offload'] == 'none'" ||
	fail "an ip6 output chain that may drop the RST: the IPv6 reset is still followed"
nfo_wait 'st["fast_path"] == "enabled"'
k0=$(nft_packets rst6)
o0=$(nft_packets odrop6)
f0=$(nfo_get "rule('rst6')['packets']")
with=$(probe --v6 --dport 24 --flags S --seq 62 --sport 42010)
k1=$(nft_packets rst6)
o1=$(nft_packets odrop6)
f1=$(nfo_get "rule('rst6')['packets']")
if [ "$with" = '{"reply": null}' ] && [ "$((k1 - k0))" = 1 ] && [ "$((o1 - o0))" = 1 ] &&
	[ "$((f1 - f0))" = 0 ]; then
	ok "an ip6 output chain that drops RSTs: passed to nftables, which sends none"
else
	fail "ip6 output chain: $with, nftables +$((k1 - k0)), output chain +$((o1 - o0)), fast path +$((f1 - f0))"
fi

nfo_daemon_stop
nfo_done
