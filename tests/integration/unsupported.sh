#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A ruleset made only of rules the fast path cannot decide (ct mark, meta
# mark, log, limit): the fast path drops nothing (totals.dropped stays 0),
# status says why for each rule, and nftables still drops what it drops.
. "$(dirname "$0")/lib.sh"

nfo_init
nfo_pair

nfo_nft <<'EOF'
table inet t {
	chain input {
		type filter hook input priority 0; policy accept;
		ct mark 0 udp dport 5001 counter drop comment "u_ct"
		meta mark 0 udp dport 5002 counter drop comment "u_mark"
		udp dport 5003 log prefix "nfo-test " counter drop comment "u_log"
		udp dport 5004 limit rate 10000/second burst 1000 packets counter drop comment "u_limit"
		meta mark 0 tcp dport 5005 counter drop comment "u_mark_tcp"
	}
}
EOF
nfo_daemon_start --attach "$IF_R"

for c in u_ct u_mark u_log u_limit u_mark_tcp; do
	nfo_assert "rule('$c')['offloaded'] is False and rule('$c')['offload'] in ('partial', 'none') and rule('$c')['reason']" \
		"$c: not offloaded, with a reason ($(nfo_get "rule('$c')['offload'] + ': ' + str(rule('$c')['reason'])"))"
done

nfo_case "ct mark" "kdrop=u_ct --dport 5001" "kdrop=u_ct -6 --dport 5001" "pass --dport 5000"
nfo_case "meta mark" "kdrop=u_mark --dport 5002" "kdrop=u_mark_tcp --proto tcp --dport 5005" \
	"pass --proto tcp --dport 5002"
nfo_case "log" "kdrop=u_log --dport 5003" "kdrop=u_log -6 --dport 5003" "pass --dport 5006"
nfo_case "limit" "kdrop=u_limit --dport 5004" "pass --dport 5007"

nfo_assert "st['totals']['dropped'] == 0 and all(r['packets'] == 0 for r in st['rules'])" \
	"the fast path dropped nothing"
nfo_assert "st['totals']['passed'] > 0 and st['totals']['passed_by_reason']['decided_by_nftables'] > 0" \
	"the fast path saw the packets and passed them to nftables"

nfo_daemon_stop
nfo_done
