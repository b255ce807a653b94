#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Per-service filters decide packets exactly as nftables does: the same
# chain is enforced by the service program (egress of a cgroup in the
# receiver namespace) and by nftables itself (jumped to from an output hook
# in the sender namespace); raw sockets send the same crafted packets
# through both, and each packet must get the same verdict (EPERM when
# dropped) from both, and the one the chain says:
#   - a first fragment has its ports; a later fragment is read where its
#     transport header would be (nft_payload_fast_eval() does not look at
#     fragoff): IPv4 reads the fragment's data, IPv6 the IPv6 header
#     (ipv6_find_hdr() leaves thoff 0 for a later fragment);
#   - IPv4 options move the transport header;
#   - a truncated UDP header: the source port is there, the destination
#     port is not;
#   - IPv6 with extension headers, first and later fragments.
. "$(dirname "$0")/lib.sh"
NFO_TEST=services-exact
PEER="$NFO_SRC/tests/integration/svc_peer.py"

nfo_init
nfo_cgroup_init
nfo_pair

CHAIN='
		udp sport 7777 drop
		udp dport 9999 drop
		udp dport 30840 drop
		udp dport != 5000 accept
		meta l4proto udp drop
		tcp dport 22 drop
		meta l4proto tcp accept
		drop'
LAT_RULES=$(for p in $(seq 20000 20099); do printf '\t\tudp dport %d accept\n' "$p"; done)
nfo_nft <<EOF
table inet svc {
	chain f_out {$CHAIN
	}
	chain lat_in {
$LAT_RULES
		drop
	}
}
EOF
nfo_nft "$NS_S" <<EOF
table inet ref {
	chain out {
		type filter hook output priority 0; policy accept;
		jump f_out
	}
	chain f_out {$CHAIN
	}
}
EOF

nfo_daemon_start --nowait --service "frag.service egress inet svc f_out" \
	--service "lat.service ingress inet svc lat_in"
nfo_wait "all(s['state'] == 'enforced' for s in st['services'])" 60 ||
	{ nfo_daemon_log; die "frag.service not enforced"; }
bpftool cgroup attach "$CG" egress pinned "$NFO_BPFFS/nft-offload/services/frag_service/egress" multi

# check NAME WANT SPEC-JSON: the packets of SPEC (pkt.PacketSpec arguments,
# "SRC"/"DST" filled in per side) get WANT (a JSON list of results) from
# the service program and from nftables.
check() {
	local name=$1 want=$2 spec=$3 svc ref s4=$R4 d4=$S4 s6=$R6 d6=$S6
	svc=$(sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG" ip netns exec "$NS_R" \
		python3 "$PEER" raw --spec "$(echo "$spec" | sed "s/SRC4/$s4/; s/DST4/$d4/; s/SRC6/$s6/; s/DST6/$d6/")")
	ref=$(ip netns exec "$NS_S" python3 "$PEER" raw \
		--spec "$(echo "$spec" | sed "s/SRC4/$d4/; s/DST4/$s4/; s/SRC6/$d6/; s/DST6/$s6/")")
	if [ "$svc" = "$want" ] && [ "$ref" = "$want" ]; then
		ok "$name: $svc"
	else
		fail "$name: service program $svc, nftables $ref, want $want"
	fi
}

check "udp dport 6000" '["ok"]' '{"src": "SRC4", "dst": "DST4", "dport": 6000}'
check "udp dport 9999" '["EPERM"]' '{"src": "SRC4", "dst": "DST4", "dport": 9999}'
check "udp dport 5000 (meta l4proto udp drop)" '["EPERM"]' '{"src": "SRC4", "dst": "DST4", "dport": 5000}'
check "tcp dport 22" '["EPERM"]' '{"src": "SRC4", "dst": "DST4", "proto": "tcp", "dport": 22}'
check "tcp dport 80" '["ok"]' '{"src": "SRC4", "dst": "DST4", "proto": "tcp", "dport": 80}'
check "icmp (end of chain: drop)" '["EPERM"]' '{"src": "SRC4", "dst": "DST4", "proto": "icmp"}'
# fragments of a 200-byte datagram, 64 bytes each: the first has the ports
check "first fragment, dport 6000" '["ok"]' \
	'{"src": "SRC4", "dst": "DST4", "dport": 6000, "payload": "'"$(printf 'x%.0s' $(seq 200))"'", "frag": 64, "frag_select": [0]}'
check "first fragment, dport 9999" '["EPERM"]' \
	'{"src": "SRC4", "dst": "DST4", "dport": 9999, "payload": "'"$(printf 'x%.0s' $(seq 200))"'", "frag": 64, "frag_select": [0]}'
# A later fragment's data read as ports: "xxxx" is dport 30840, "yyyy" 31097.
check "later fragment, data xxxx: udp dport 30840 drop" '["EPERM"]' \
	'{"src": "SRC4", "dst": "DST4", "dport": 6000, "payload": "'"$(printf 'x%.0s' $(seq 200))"'", "frag": 64, "frag_select": [1]}'
check "later fragment, data yyyy: udp dport != 5000 accept" '["ok"]' \
	'{"src": "SRC4", "dst": "DST4", "dport": 6000, "payload": "'"$(printf 'y%.0s' $(seq 200))"'", "frag": 64, "frag_select": [1]}'
check "later tcp fragment: tcp dport 30840, meta l4proto tcp accept" '["ok"]' \
	'{"src": "SRC4", "dst": "DST4", "proto": "tcp", "dport": 22, "payload": "'"$(printf 'x%.0s' $(seq 200))"'", "frag": 64, "frag_select": [1]}'
check "IPv4 options, dport 9999" '["EPERM"]' '{"src": "SRC4", "dst": "DST4", "dport": 9999, "ip_options": "AQEBAQ=="}'
check "IPv4 options, dport 6000" '["ok"]' '{"src": "SRC4", "dst": "DST4", "dport": 6000, "ip_options": "AQEBAQ=="}'
check "truncated udp header, sport 7777" '["EPERM"]' '{"src": "SRC4", "dst": "DST4", "sport": 7777, "dport": 6000, "truncate": 2}'
check "truncated udp header, sport 7000 (no dport)" '["EPERM"]' '{"src": "SRC4", "dst": "DST4", "sport": 7000, "dport": 6000, "truncate": 2}'
check "IPv6 udp dport 6000" '["ok"]' '{"src": "SRC6", "dst": "DST6", "dport": 6000}'
check "IPv6 udp dport 9999" '["EPERM"]' '{"src": "SRC6", "dst": "DST6", "dport": 9999}'
check "IPv6 hop-by-hop + dstopts, dport 6000" '["ok"]' '{"src": "SRC6", "dst": "DST6", "dport": 6000, "ext": ["hbh", "dst"]}'
check "IPv6 hop-by-hop + dstopts, dport 9999" '["EPERM"]' '{"src": "SRC6", "dst": "DST6", "dport": 9999, "ext": ["hbh", "dst"]}'
check "IPv6 first fragment, dport 6000" '["ok"]' \
	'{"src": "SRC6", "dst": "DST6", "dport": 6000, "payload": "'"$(printf 'x%.0s' $(seq 200))"'", "frag": 64, "frag_select": [0]}'
# An IPv6 later fragment is read from the IPv6 header: dport is the low 16
# bits of the flow label.
check "IPv6 later fragment, flow label 0: udp dport != 5000 accept" '["ok"]' \
	'{"src": "SRC6", "dst": "DST6", "dport": 6000, "payload": "'"$(printf 'x%.0s' $(seq 200))"'", "frag": 64, "frag_select": [1]}'
check "IPv6 later fragment, flow label 9999: udp dport 9999 drop" '["EPERM"]' \
	'{"src": "SRC6", "dst": "DST6", "dport": 6000, "flow": 9999, "payload": "'"$(printf 'x%.0s' $(seq 200))"'", "frag": 64, "frag_select": [1]}'

# ---- rule-change latency, 100-rule chain: nft returns -> new version live ----
LAT_PIN="$NFO_BPFFS/nft-offload/services/lat_service/ingress"
LAT_ID=$(nfo_get "[s for s in st['services'] if s['name'] == 'lat.service'][0]['prog_id']")
cmds=()
for i in $(seq 10); do
	cmds+=("insert rule inet svc lat_in udp dport $((30000 + i)) accept")
done
lat=$(ip netns exec "$NS_R" python3 "$PEER" latency --pin "$LAT_PIN" "${cmds[@]}")
log "rule-change latency (ms after nft returned, 100-rule chain): $lat"
nfo_assert "all(t < 10000 for t in $lat)" "every change went live (latencies $lat ms)"
nfo_wait "[s for s in st['services'] if s['name'] == 'lat.service'][0]['state'] == 'enforced' and len([s for s in st['services'] if s['name'] == 'lat.service'][0]['rules']) == 111" 30 ||
	fail "lat.service did not follow the inserts"
nfo_assert "[s for s in st['services'] if s['name'] == 'lat.service'][0]['prog_id'] == $LAT_ID" "same program after the inserts"

nfo_daemon_stop
nfo_done
