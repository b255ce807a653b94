#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# reject with tcp reset in the fast path (docs/SEMANTICS.md section 4.1):
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
# connect() below: full checksums in the SYN (a veth peer would leave a
# partial one the fast path cannot verify; the kernel trusts it)
ip netns exec "$NS_S" ethtool -K "$IF_S" tx off >/dev/null
# a sender the route back to goes out of another interface
ip -n "$NS_R" link add nfod0 type veth peer name nfod1
ip -n "$NS_R" link set nfod0 up
ip -n "$NS_R" link set nfod1 up
ip -n "$NS_R" route add 10.99.7.7/32 dev nfod0

nfo_nft <<'EOF2'
table inet t {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport 23 counter reject with tcp reset comment "rst"
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

# NAME|EXPECT|PROBE-ARGS: EXPECT is sent (the fast path answers), silent
# (the fast path drops, nobody answers) or passed (nftables decides).
CASES=(
	"a SYN with options|$SENT|--flags S --seq 1000 --tcp-options 020405b40402080a000000010000000001030307"
	"a segment with ACK and data|$SENT|--flags PA --seq 5000 --ack 777777 --payload-len 10"
	"a SYN with data, seq wrapping|$SENT|--flags S --seq 4294967290 --payload-len 8 --sport 41001"
	"a FIN without ACK|$SENT|--flags F --seq 10 --sport 41002"
	"a bad TCP checksum|passed|--flags S --seq 20 --bad-csum --sport 41003"
	"an incoming RST|$SILENT|--flags R --seq 30 --sport 41004"
	"a route back out of another interface|passed|--flags S --seq 40 --src 10.99.7.7 --sport 41005"
	"a segment of more than 64 bytes|passed|--flags PA --seq 50 --ack 9 --payload-len 100 --sport 41006"
)

declare -A ALONE
for c in "${CASES[@]}"; do
	IFS='|' read -r name _ args <<<"$c"
	# shellcheck disable=SC2086
	ALONE[$name]=$(probe $args)
	log "$name, nftables alone: ${ALONE[$name]}"
done
refused=$(probe --connect)
[ "$(echo "$refused" | python3 -c 'import json,sys; print(json.load(sys.stdin)["refused"])')" = True ] ||
	fail "connect() without the daemon: $refused"

nfo_daemon_start --attach "$IF_R:$MODE"
if [ "$SENT" = sent ]; then
	nfo_assert "rule('rst')['offload'] == 'partial' and 'IPv6' in rule('rst')['reason']" \
		"rst: decided in the fast path for IPv4 (inet: IPv6 left to nftables)"
else
	nfo_assert "rule('rst')['offload'] == 'none'" "rst: left to nftables (native XDP on a veth)"
fi

for c in "${CASES[@]}"; do
	IFS='|' read -r name expect args <<<"$c"
	k0=$(nft_packets rst)
	f0=$(nfo_get "rule('rst')['packets']")
	# shellcheck disable=SC2086
	with=$(probe $args)
	log "$name, with the fast path: $with"
	k1=$(nft_packets rst)
	f1=$(nfo_get "rule('rst')['packets']")
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

"$NFO_BIN" explain --run-dir "$NFO_RUN" >"$NFO_T/explain.txt" 2>&1 || true
if [ "$SENT" = sent ]; then
	text="reject with tcp reset: IPv4 answered here"
else
	text="native XDP on a veth"
fi
if grep -q "$text" "$NFO_T/explain.txt"; then
	ok "explain says how the reset is carried out"
else
	cat "$NFO_T/explain.txt"
	fail "explain does not describe the reset"
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
nfo_wait "rule('rst')['offload'] == 'none'" ||
	fail "an output chain that may drop the RST: the reset is still followed"
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

nfo_daemon_stop
nfo_done
