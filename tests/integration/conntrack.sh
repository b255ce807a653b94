#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `ct state established,related accept` in front of a drop: the fast path
# cannot know the conntrack state, so it drops nothing (the drop is UNKNOWN
# for it); nftables drops new packets, and packets of an established flow
# still arrive.
. "$(dirname "$0")/lib.sh"

MODE=${1:-xdp}
NFO_TEST="conntrack-$MODE"
nfo_init
nfo_pair

nfo_nft <<'EOF'
table inet t {
	chain input {
		type filter hook input priority 0; policy accept;
		ct state established,related accept comment "ct_est"
		udp dport 6001 counter drop comment "ct_drop"
		tcp dport 6002 counter drop comment "ct_drop_tcp"
	}
}
EOF
nfo_daemon_start --attach "$IF_R:$MODE"

nfo_assert "rule('ct_est')['offloaded'] is False and rule('ct_est')['reason']" \
	"ct_est not offloaded, with a reason ($(nfo_get "rule('ct_est')['reason']"))"

nfo_case "new flows: nftables drops, the fast path does not" "kdrop=ct_drop --dport 6001" \
	"kdrop=ct_drop -6 --dport 6001" "kdrop=ct_drop_tcp --proto tcp --dport 6002" "pass --dport 6000"

# An established flow: the receiver sends from port 6001 (conntrack confirms
# the entry on output), the sender's replies come back to 6001.
ip netns exec "$NS_R" python3 - "$R4" "$S4" "$R6" "$S6" <<'EOF'
import socket, sys
r4, s4, r6, s6 = sys.argv[1:]
for fam, src, dst in ((socket.AF_INET, r4, s4), (socket.AF_INET6, r6, s6)):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((src, 6001))
    s.sendto(b"hello", (dst, 7777))
    s.close()
EOF
nfo_case "established flow arrives" "pass --sport 7777 --dport 6001" \
	"pass -6 --sport 7777 --dport 6001" "kdrop=ct_drop --sport 7778 --dport 6001"

nfo_assert "st['totals']['dropped'] == 0 and rule('ct_drop')['packets'] == 0" \
	"the fast path dropped nothing"
nfo_assert "rule('ct_drop')['nft_packets'] == 15 and rule('ct_drop_tcp')['nft_packets'] == 5" \
	"nftables dropped the new packets (ct_drop 15, ct_drop_tcp 5)"

nfo_daemon_stop
nfo_done
