#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# traps.sh MODE: packets on which a naive fast path would be unsound
# (SEMANTICS.md section 5). What nftables accepts must arrive; what it drops
# must not, whoever drops it.
#  - IPv4/IPv6 non-first fragments whose data looks like a dropped port;
#  - fragmented datagrams to a dropped port (nftables sees them reassembled);
#  - IPv4 options, IPv6 extension headers (ip6 nexthdr vs meta l4proto);
#  - VLAN-tagged frames (XDP sees the tag: it must pass them).
. "$(dirname "$0")/lib.sh"

MODE=${1:-xdp}
NFO_TEST="traps-$MODE"
nfo_init
nfo_pair

nfo_nft <<'EOF'
table inet t {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport 1201 counter drop comment "t_udp"
		tcp dport 1300 counter drop comment "t_tcp"
		ip6 nexthdr 253 counter drop comment "t_nexthdr"
		meta l4proto 252 counter drop comment "t_l4proto"
	}
}
EOF
nfo_daemon_start --attach "$IF_R:$MODE"

# A UDP datagram to port 1200 (accepted) whose second 16-byte fragment starts
# with bytes that read as "sport 4000, dport 1201" (dropped) if taken for a
# transport header.
TRAP_PAYLOAD=0000000000000000$(printf '%04x%04x' 4000 1201)00000000aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb

# Fragments: one datagram per step (--count 1), each its own IP id.
nfo_case "ipv4 non-first fragment looking like a dropped port" \
	"pass --count 1 --ident 101 --dport 1200 --payload-hex $TRAP_PAYLOAD --frag 16" \
	"pass --count 1 --ident 102 --dport 1200 --payload-hex $TRAP_PAYLOAD --frag 16 --frag-select 2,1,0"
nfo_case "ipv6 non-first fragment looking like a dropped port" \
	"pass -6 --count 1 --ident 103 --dport 1200 --payload-hex $TRAP_PAYLOAD --frag 16" \
	"pass -6 --count 1 --ident 104 --dport 1200 --payload-hex $TRAP_PAYLOAD --frag 16 --frag-select 1,2,0"
nfo_case "fragmented datagrams to a dropped port" \
	"gone=t_udp --count 1 --ident 201 --dport 1201 --payload-len 40 --frag 16" \
	"gone=t_udp --count 1 --ident 202 --dport 1201 --payload-len 40 --frag 16 --frag-select reverse" \
	"gone=t_udp -6 --count 1 --ident 203 --dport 1201 --payload-len 40 --frag 16" \
	"pass --count 1 --ident 204 --dport 1202 --payload-len 40 --frag 16"
nfo_case "ipv6 atomic fragment to a dropped port" "gone=t_udp -6 --dport 1201 --ext frag" \
	"pass -6 --dport 1202 --ext frag"

# IPv4 options: the fast path passes (ihl > 5), nftables decides.
nfo_case "ipv4 options" "gone=t_udp --why ipv4_options --dport 1201 --ip-options 01010100" \
	"gone=t_tcp --why ipv4_options --proto tcp --dport 1300 --ip-options 01010100" \
	"pass --why ipv4_options --dport 1202 --ip-options 01010100"

# IPv6 extension headers: ip6 nexthdr reads the fixed header, meta l4proto
# and udp dport look past the extension headers.
nfo_case "ipv6 extension headers" "pass -6 --proto 253 --ext hbh" "pass -6 --proto 253 --ext dst" \
	"gone=t_nexthdr -6 --proto 253" "gone=t_l4proto -6 --proto 252 --ext hbh,dst" \
	"gone=t_udp -6 --dport 1201 --ext hbh,rt,dst" "pass -6 --dport 1202 --ext hbh,rt,dst"

# VLAN-tagged frames: nftables does not see them as IP on this device. There
# is no VLAN device here, so the kernel discards them anyway; in XDP the tag
# is still in the frame and the fast path must pass them. (At tc ingress the
# kernel has already moved the tag out of the frame: not checked there.)
if [ "$MODE" != tc ]; then
	nfo_case "vlan-tagged frames pass the fast path" "sent --why vlan --vlan 100 --dport 1201" \
		"sent --why vlan --vlan 100 -6 --dport 1201" "sent --why vlan --vlan 100 --vlan 200 --dport 1201"
fi

nfo_assert "rule('t_udp')['offloaded'] and rule('t_nexthdr')['offloaded']" "the trap rules are offloaded"
nfo_daemon_stop
nfo_done
