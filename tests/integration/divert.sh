#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tc ingress runs after XDP and before nftables; its filters and programs
# may redirect packets, which nftables then never decides. While the
# interface has an ingress/clsact qdisc, or a tcx program that is not ours,
# the fast path decides nothing there (scope "none", every frame passes);
# offload resumes when they go. A tcx program raises no notification: the
# daemon looks every second.
. "$(dirname "$0")/lib.sh"

nfo_init
nfo_pair

nfo_nft <<'EOF2'
table inet t {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport 9 counter drop comment "d9"
	}
}
EOF2
nfo_daemon_start --attach "$IF_R:xdp"
A_PID=$DAEMON_PID A_RUN=$NFO_RUN A_LOG=$DAEMON_LOG

nfo_case "offloaded" "drop=d9 --dport 9" "pass --dport 10"

ip netns exec "$NS_R" tc qdisc add dev "$IF_R" clsact
nfo_wait "iface('$IF_R')['scope'] == 'none' and 'qdisc' in iface('$IF_R')['note'] and st['fast_path'] == 'enabled'" ||
	fail "clsact qdisc: the interface is not marked as not offloaded"
nfo_case "clsact present: nftables decides" "kdrop=d9 --dport 9" "pass --dport 10"
nfo_assert "iface('$IF_R')['attached']" "still attached while blocked"
nfo_assert "rule('d9')['offload'] == 'none' and 'not decided on $IF_R' in rule('d9')['reason'] and 'qdisc' in rule('d9')['reason']" \
	"status: the rule is not decided, and names the interface and the qdisc"

ip netns exec "$NS_R" tc qdisc del dev "$IF_R" clsact
nfo_wait "iface('$IF_R')['scope'] == 'ingress, prerouting, input' and st['fast_path'] == 'enabled'" ||
	fail "offload did not resume after the qdisc went"
nfo_case "qdisc gone: offloaded again" "drop=d9 --dport 9" "pass --dport 10"
nfo_assert "rule('d9')['offload'] == 'full'" "status: full again"

# Another tcx program on the interface: a second daemon in tc mode.
nfo_daemon_start --run "$NFO_T/run-b" --attach "$IF_R:tc"
B_PID=$DAEMON_PID
DAEMON_PID=$A_PID NFO_RUN=$A_RUN DAEMON_LOG=$A_LOG
export NFO_RUN
nfo_wait "iface('$IF_R')['scope'] == 'none' and 'tc ingress program' in iface('$IF_R')['note']" 30 ||
	fail "a foreign tcx program was not noticed within the poll interval"
nfo_case "foreign tcx program: this fast path drops nothing" "sent --dport 9" "pass --dport 10"

kill -TERM "$B_PID"
nfo_wait_exit "$B_PID" || fail "second daemon did not stop"
nfo_wait "iface('$IF_R')['scope'] == 'ingress, prerouting, input' and st['fast_path'] == 'enabled'" 30 ||
	fail "offload did not resume after the other tcx program went"
nfo_case "tcx program gone: offloaded again" "drop=d9 --dport 9" "pass --dport 10"

nfo_daemon_stop
nfo_done
