#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# reject in the fast path (docs/SEMANTICS.md section 4.1): a flood to a
# rejected port is mostly dropped in the fast path, and the sender gets as
# many ICMP errors as from nftables alone. Each flood is sent twice, without
# the daemon and with it, after the kernel's buckets refilled (a sender's
# holds 6 s of errors at most), under the default limits (the per-sender one
# bites) and with a global limit only. A `limit` in front of a reject whose
# chain drops the packets over the limit is followed the same way (both of
# its outcomes block the packet). Argument: the attach mode.
. "$(dirname "$0")/lib.sh"

MODE=${1:-xdp}
COUNT=4000
RATE=4000

nfo_init
nfo_pair

nfo_nft <<'EOF2'
table inet t {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport 7000 counter reject comment "rj"
		udp dport 7001 counter reject with icmpx type admin-prohibited comment "rjx"
	}
}
table inet lim {
	chain input {
		type filter hook input priority 10; policy drop;
		meta l4proto != udp accept
		udp dport != 7002 accept
		meta pkttype host limit rate 5/second counter reject with icmpx admin-prohibited comment "lim"
		counter comment "limover"
	}
}
EOF2

# nftables' own counters of the rules with comments $1 ("a+b": the sum): packets
nft_packets() {
	ip netns exec "$NS_R" nft -j list ruleset | python3 -c '
import json, sys
n = 0
for o in json.load(sys.stdin)["nftables"]:
    r = o.get("rule")
    if r and r.get("comment") in sys.argv[1].split("+"):
        for e in r["expr"]:
            if "counter" in e:
                n += e["counter"]["packets"]
print(n)' "$1"
}

flood() { # -4|-6 DPORT: prints the JSON of reject_flood.py
	python3 "$NFO_SRC/tests/integration/reject_flood.py" "$1" --dport "$2" --count "$COUNT" \
		--rate "$RATE"
}

# the receiver's sysctl $1
rsysctl() {
	ip netns exec "$NS_R" sysctl -n "$1"
}

# all_counted: scenario's flood ($sent frames) counted by the fast path
# (rule $rule, from $f0) and nftables (rules $nrules, from $k0)
all_counted() {
	[ $(($(nft_packets "$nrules") - k0 + $(nfo_get "rule('$rule')['packets']") - f0)) -ge "$sent" ]
}

# one scenario: NAME FAMILY DPORT COMMENT [NFT_COMMENTS], under the
# receiver's limits: the fast path credits the rule COMMENT, nftables counts
# what it was passed on the rules NFT_COMMENTS (default: COMMENT)
scenario() {
	local name=$1 fam=$2 port=$3 rule=$4 nrules=${5:-$4} lim alone with k0 k1 f0 f1 sent
	lim="$(rsysctl net.ipv4.icmp_msgs_per_sec) $(rsysctl net.ipv4.icmp_msgs_burst)"
	if [ "$fam" = -6 ]; then
		lim+=" $(rsysctl net.ipv6.icmp.ratelimit)"
	else
		lim+=" $(rsysctl net.ipv4.icmp_ratelimit)"
	fi
	sleep 7 # every bucket of the kernel full again
	alone=$(flood "$fam" "$port")
	echo "  $name, nftables alone: $alone"
	sleep 7
	nfo_daemon_start --attach "$IF_R:$MODE"
	k0=$(nft_packets "$nrules")
	f0=$(nfo_get "rule('$rule')['packets']")
	with=$(flood "$fam" "$port")
	echo "  $name, with the fast path: $with"
	# Every frame counted, by the fast path or by nftables, before the
	# counters are read: the flood's last frames may still be queued on a
	# loaded machine when its 1.5 s wait is over (the check below wants
	# their sum exactly).
	sent=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["sent"])' "$with")
	nfo_poll 30 all_counted || echo "  (not all $sent frames counted after 30 s)"
	k1=$(nft_packets "$nrules")
	f1=$(nfo_get "rule('$rule')['packets']")
	nfo_daemon_stop
	# shellcheck disable=SC2086
	python3 - "$alone" "$with" "$((k1 - k0))" "$((f1 - f0))" "$name" "$fam" $lim <<'PY' && ok "$name: same errors, flood dropped in the fast path" || NFO_FAILED=$((NFO_FAILED + 1))
import json, os, sys
alone, with_, knft, fast, name = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
v6 = sys.argv[6] == "-6"
rate, burst, peer_ms = (int(x) for x in sys.argv[7:10])
sent, secs = with_["sent"], with_["seconds"] + 0.2
# What the fast path may pass at most (nft-offload/reject.c): each CPU's
# buckets, NFO_REJECT_SLACK (4) times the kernel's; IPv6's per-sender
# interval taken 16 times shorter.
slack, cpus = 4, os.cpu_count()
most = slack * (burst + 1 + rate * secs)
if peer_ms:
    tmo = peer_ms / 1000 / (16 if v6 else 1)
    most = min(most, slack * (7 + secs / tmo))
most = int(cpus * most) + 1
bad = []
if alone["errors"] * 10 > alone["sent"]:
    bad.append("nftables alone answered %d of %d: the kernel did not rate-limit" % (alone["errors"], alone["sent"]))
if alone["errors"] == 0:
    bad.append("nftables alone sent no error")
# The same limits, the same flood: the counts differ only by timing. A
# flood that took longer (a busy machine) earns the errors of the extra
# time at the fastest rate the kernel's limits allow.
fastest = rate
if peer_ms:
    fastest = min(fastest, (16 if v6 else 1) * 1000 / peer_ms)
extra = abs(with_["seconds"] - alone["seconds"]) * fastest
if abs(with_["errors"] - alone["errors"]) > max(3, alone["errors"] // 4) + int(extra + 0.999):
    bad.append("%d errors with the fast path, %d without" % (with_["errors"], alone["errors"]))
if fast + knft != sent:
    bad.append("fast path %d + nftables %d != %d sent" % (fast, knft, sent))
if knft > most:
    bad.append("the fast path passed %d of %d, more than its buckets hold (%d)" % (knft, sent, most))
if fast * 2 < sent:
    bad.append("the fast path dropped only %d of %d" % (fast, sent))
for b in bad:
    print("FAIL: %s: %s" % (name, b))
sys.exit(1 if bad else 0)
PY
}

# The defaults: one error a second per sender (burst 6) bites first.
scenario "IPv4, default limits" -4 7000 rj
scenario "IPv6, default limits" -6 7001 rjx
# Under the rule's limit (5/s, burst 5) nftables rejects, over it the chain
# drops: the per-sender ICMP limit still bites first.
scenario "IPv4, limit in front of the reject" -4 7002 lim lim+limover
scenario "IPv6, limit in front of the reject" -6 7002 lim lim+limover

# No per-sender limit: the global one (shared by IPv4 and IPv6) bites.
ip netns exec "$NS_R" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 \
	net.ipv4.icmp_msgs_per_sec=200 net.ipv4.icmp_msgs_burst=20
scenario "IPv4, a global limit of 200/s" -4 7000 rj
scenario "IPv6, a global limit of 200/s" -6 7001 rjx

# status says how the rules are carried out, and with which limits
nfo_daemon_start --attach "$IF_R:$MODE"
nfo_assert "rule('rj')['offload'] == 'full'" "rj: decided in the fast path"
"$NFO_BIN" explain --run-dir "$NFO_RUN" >"$NFO_T/explain.txt" 2>&1 || true
if grep -q "reject with an ICMP error: dropped here only beyond" "$NFO_T/explain.txt"; then
	ok "explain says how the reject is carried out"
else
	cat "$NFO_T/explain.txt"
	echo "FAIL: explain does not describe the reject"
	NFO_FAILED=$((NFO_FAILED + 1))
fi
nfo_assert "rule('lim')['offload'] == 'full'" "lim: the limit in front of the reject is decided"
if grep -q "its limit statement only decides which blocked packets are answered" \
	"$NFO_T/explain.txt"; then
	ok "explain says what the limit in front of the reject decides"
else
	cat "$NFO_T/explain.txt"
	echo "FAIL: explain does not describe the limit"
	NFO_FAILED=$((NFO_FAILED + 1))
fi
"$NFO_BIN" status --run-dir "$NFO_RUN" >"$NFO_T/status.txt" 2>&1 || true
if grep -q "reject: ICMP errors limited to 200/s, burst 20" "$NFO_T/status.txt"; then
	ok "status shows the limits read from the sysctls"
else
	cat "$NFO_T/status.txt"
	echo "FAIL: status does not show the ICMP limits"
	NFO_FAILED=$((NFO_FAILED + 1))
fi
nfo_daemon_stop
nfo_done
