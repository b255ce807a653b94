#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# forms.sh MODE (xdp, xdp-generic or tc): every supported match form, in a
# netdev ingress chain, an inet prerouting chain, an inet input chain and
# chains with policy drop. For each: packets it must drop (the rule's
# fast-path counter moves by exactly what was sent and none arrives) and
# packets it must let through (all arrive, nothing dropped).
. "$(dirname "$0")/lib.sh"

MODE=${1:-xdp}
case $MODE in
xdp | xdp-generic | tc) ;;
*) echo "usage: $0 xdp|xdp-generic|tc"; exit 2 ;;
esac
NFO_TEST="forms-$MODE"

nfo_init
nfo_pair

nfo_nft <<EOF
table netdev nfo_nd {
	chain ing {
		type filter hook ingress device "$IF_R" priority 0; policy accept;
		udp dport 1001 drop comment "nd_udp"
		tcp dport 1002 drop comment "nd_tcp"
	}
}
table inet nfo_pre {
	chain pre {
		type filter hook prerouting priority 0; policy accept;
		ip protocol 253 drop comment "pre_ipproto"
		ip6 nexthdr 253 drop comment "pre_nexthdr"
		udp dport 1101 drop comment "pre_udp"
	}
}
table inet nfo_in {
	chain input {
		type filter hook input priority 0; policy accept;
		meta l4proto 252 drop comment "in_l4proto"
		udp dport 1201 drop comment "in_udp_eq"
		udp dport 1203 udp sport != 5555 drop comment "in_udp_ne"
		udp dport 1204 udp sport != 2000-3000 drop comment "in_udp_ne_range"
		tcp dport 2001-2010 drop comment "in_tcp_range"
		tcp sport 3000-3010 drop comment "in_tcp_sport_range"
		tcp sport 4100 tcp dport != 2200 drop comment "in_tcp_ne"
		udp dport { 1601, 1603, 1605 } drop comment "in_set"
		tcp dport { 2301-2305, 2310 } drop comment "in_interval_set"
		udp sport { 6001, 6003 } drop comment "in_sport_set"
		tcp dport 2400 tcp flags & (syn | ack) == syn drop comment "in_tcp_flags"
		ip saddr 10.99.0.0/28 udp dport 1700 drop comment "in_saddr_prefix"
		ip6 saddr fd00:99::/120 udp dport 1700 drop comment "in_saddr6_prefix"
		icmp type echo-request drop comment "in_icmp"
		icmpv6 type echo-request drop comment "in_icmpv6"
	}
}
table ip nfo_pol {
	chain input {
		type filter hook input priority 10; policy drop;
		ip daddr != $R4B accept comment "pol_other_addr"
		udp dport 7000 accept comment "pol_open"
	}
}
table ip6 nfo_pol6 {
	chain input {
		type filter hook input priority 10; policy drop;
		ip6 daddr != $R6B accept comment "pol6_other_addr"
		udp dport 7000 accept comment "pol6_open"
	}
}
EOF

nfo_daemon_start --attach "$IF_R:$MODE"

# The mode the status reports, and what the kernel says is attached.
nfo_assert "iface('$IF_R')['mode'] == '$MODE' and iface('$IF_R')['attached'] and iface('$IF_R')['prog_id'] > 0" \
	"status reports $IF_R attached in mode $MODE with a program id"
PROG_ID=$(nfo_get "iface('$IF_R')['prog_id']")
LINK=$(ip -n "$NS_R" -d link show dev "$IF_R")
case $MODE in
xdp)
	if grep -q "prog/xdp id $PROG_ID" <<<"$LINK" && ! grep -q xdpgeneric <<<"$LINK"; then
		ok "ip link: native XDP program $PROG_ID"
	else
		fail "ip link does not show native XDP program $PROG_ID: $LINK"
	fi ;;
xdp-generic)
	if grep -q xdpgeneric <<<"$LINK" && grep -q "prog/xdp id $PROG_ID" <<<"$LINK"; then
		ok "ip link: generic XDP program $PROG_ID"
	else
		fail "ip link does not show generic XDP program $PROG_ID: $LINK"
	fi ;;
tc)
	# bpftool 7.1 predates tcx: it lists the link as "type 11" (BPF_LINK_TYPE_TCX).
	if bpftool link show | nfo_has -E "^[0-9]+: (tcx|type 11) +prog $PROG_ID( |\$)" &&
		! grep -q 'prog/xdp' <<<"$LINK"; then
		ok "bpftool link: tcx link of program $PROG_ID, no XDP"
	else
		fail "no tcx link of program $PROG_ID: $(bpftool link show) / $LINK"
	fi ;;
esac

# Every rule above is offloaded (the accept rules of the policy chains too).
nfo_assert "all(r['offloaded'] and r['offload'] == 'full' and r['reason'] is None for r in st['rules'])" \
	"every rule is offloaded, no reason given"
nfo_assert "all(p['packets'] == 0 for p in st['policies']) and st['totals']['dropped'] == 0" \
	"counters start at zero"

# netdev ingress chain
nfo_case "netdev udp dport" "drop=nd_udp --dport 1001" "pass --dport 1000"
nfo_case "netdev udp dport ip6" "drop=nd_udp -6 --dport 1001" "pass -6 --dport 1000"
nfo_case "netdev tcp dport" "drop=nd_tcp --proto tcp --dport 1002" "pass --proto tcp --dport 1003"

# prerouting
nfo_case "ip protocol" "drop=pre_ipproto --proto 253" "pass --proto 254" "pass -6 --proto 253 --ext hbh"
nfo_case "ip6 nexthdr" "drop=pre_nexthdr -6 --proto 253" "pass -6 --proto 254" "pass --proto 254"
nfo_case "prerouting udp dport" "drop=pre_udp --dport 1101" "drop=pre_udp -6 --dport 1101" "pass --dport 1102"

# input
nfo_case "meta l4proto" "drop=in_l4proto --proto 252" "drop=in_l4proto -6 --proto 252" \
	"pass --proto 251" "pass -6 --proto 251"
nfo_case "meta l4proto past ip6 extension headers" "drop=in_l4proto -6 --proto 252 --ext hbh,dst" \
	"pass -6 --proto 251 --ext hbh,dst"
nfo_case "udp dport ==" "drop=in_udp_eq --dport 1201" "drop=in_udp_eq -6 --dport 1201" \
	"pass --dport 1202" "pass -6 --dport 1200"
nfo_case "udp sport !=" "drop=in_udp_ne --dport 1203 --sport 4444" "pass --dport 1203 --sport 5555" \
	"pass -6 --dport 1203 --sport 5555"
nfo_case "udp sport != range" "drop=in_udp_ne_range --dport 1204 --sport 1999" \
	"drop=in_udp_ne_range --dport 1204 --sport 3001" "pass --dport 1204 --sport 2000" \
	"pass --dport 1204 --sport 3000" "pass --dport 1204 --sport 2500"
nfo_case "tcp dport range" "drop=in_tcp_range --proto tcp --dport 2001" \
	"drop=in_tcp_range --proto tcp --dport 2010" "drop=in_tcp_range -6 --proto tcp --dport 2005" \
	"pass --proto tcp --dport 2000" "pass --proto tcp --dport 2011" "pass -6 --proto tcp --dport 2011"
nfo_case "tcp sport range" "drop=in_tcp_sport_range --proto tcp --sport 3005 --dport 80" \
	"pass --proto tcp --sport 3011 --dport 80" "pass --proto tcp --sport 2999 --dport 80"
nfo_case "tcp dport !=" "drop=in_tcp_ne --proto tcp --sport 4100 --dport 2201" \
	"pass --proto tcp --sport 4100 --dport 2200" "pass --proto tcp --sport 4101 --dport 2201"
nfo_case "anonymous set" "drop=in_set --dport 1603" "drop=in_set -6 --dport 1605" \
	"pass --dport 1602" "pass -6 --dport 1604"
nfo_case "interval set" "drop=in_interval_set --proto tcp --dport 2303" \
	"drop=in_interval_set --proto tcp --dport 2310" "pass --proto tcp --dport 2306" \
	"pass --proto tcp --dport 2309" "pass -6 --proto tcp --dport 2311"
nfo_case "udp sport set" "drop=in_sport_set --sport 6003 --dport 80" "pass --sport 6002 --dport 80"
nfo_case "tcp flags" "drop=in_tcp_flags --proto tcp --dport 2400 --tcp-flags S" \
	"pass --proto tcp --dport 2400 --tcp-flags SA" "pass --proto tcp --dport 2400 --tcp-flags A"
nfo_case "ip saddr prefix" "drop=in_saddr_prefix --dport 1700 --src 10.99.0.15" \
	"pass --dport 1700 --src 10.99.0.16" "pass --dport 1701"
nfo_case "ip6 saddr prefix" "drop=in_saddr6_prefix -6 --dport 1700 --src fd00:99::ff" \
	"pass -6 --dport 1700 --src fd00:99::100"
nfo_case "icmp type" "drop=in_icmp --proto icmp --icmp-type 8" "pass --proto icmp --icmp-type 13"
nfo_case "icmpv6 type" "drop=in_icmpv6 -6 --proto icmpv6 --icmp-type 128" \
	"pass -6 --proto icmpv6 --icmp-type 129"

# chain policy drop
nfo_case "ip policy drop" "drop=policy:ip/nfo_pol/input --dst $R4B --dport 7001" \
	"drop=policy:ip/nfo_pol/input --dst $R4B --proto tcp --dport 7000" \
	"pass --dst $R4B --dport 7000" "pass --dport 7001"
nfo_case "ip6 policy drop" "drop=policy:ip6/nfo_pol6/input -6 --dst $R6B --dport 7001" \
	"pass -6 --dst $R6B --dport 7000" "pass -6 --dport 7001"

# The sum of the rule and policy counters is what the fast path dropped.
nfo_assert "sum(r['packets'] for r in st['rules']) + sum(p['packets'] for p in st['policies']) == st['totals']['dropped'] > 0" \
	"rule + policy counters add up to totals.dropped"

nfo_daemon_stop
nfo_poll 30 nfo_nothing_attached "$NS_R" "$IF_R" "$PROG_ID" && ok "nothing attached after stop" ||
	fail "something still attached to $IF_R after stop: $(ip -n "$NS_R" -d link show dev "$IF_R")"
nfo_done
