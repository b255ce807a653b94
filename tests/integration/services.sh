#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Per-service filters (issue 11): chains compiled into pinned cgroup_skb
# programs, attached as systemd does (`bpftool cgroup attach CG DIR pinned
# PIN multi`), enforced on the sockets of processes in the cgroup only.
#   - ingress: allowed ports and sources arrive, the rest does not; a
#     process outside the cgroup receives everything; IPv6 too;
#   - egress: a disallowed destination fails with EPERM;
#   - `nft insert rule` and `nft add element` change the outcome with the
#     same program (id) attached;
#   - daemon stopped: still enforced; restarted: same program ids, changes
#     made while it was down applied; a service gone from the config is
#     unpinned;
#   - a chain with `meta mark` is refused (status "error", `service check`
#     exits 1): fail closed on first install, last good version kept after;
#   - fragments, IPv4 options and truncated headers: the program decides
#     them as nftables does, checked against nftables itself (the same
#     chain jumped to from an output hook, in a namespace of its own).
. "$(dirname "$0")/lib.sh"
NFO_TEST=services
PEER="$NFO_SRC/tests/integration/svc_peer.py"

nfo_init
nfo_cgroup_init

nfo_pair
S4B=10.99.0.5
ip -n "$NS_S" addr add "$S4B/24" dev "$IF_S"

# in_cg NS CMD...: runs CMD in namespace NS as a member of the cgroup (it
# joins before entering the namespace, so every socket it makes is the
# cgroup's).
in_cg() {
	local ns=$1
	shift
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG" ip netns exec "$ns" "$@"
}

# svc EXPR DIR [NAME]: "x EXPR" over the status entry x of service NAME
# (default web.service) and direction DIR.
svc() {
	echo "(lambda x: x$1)([s for s in st['services'] if s['name'] == '${3:-web.service}' and s['direction'] == '$2'][0])"
}

PIN_DIR="$NFO_BPFFS/nft-offload/services/web_service"
SERVICE="web.service ingress inet svc web_in egress inet svc web_out"

nfo_nft <<EOF
table inet svc {
	set allowed { type ipv4_addr; }
	chain web_in {
		udp dport { 7001, 7002 } counter accept
		ip saddr $S4 udp dport 7003 accept
		ip saddr @allowed udp dport 7005 accept
		counter drop
	}
	chain web_out {
		ip daddr $S4 udp dport 8001 accept
		ip6 daddr $S6 udp dport 8001 accept
		meta l4proto udp jump out_udp
		drop
	}
	chain out_udp {
		udp dport 8003 accept
		return
	}
}
EOF

# The daemon with services only: no --attach.
nfo_daemon_start --nowait --service "$SERVICE"
nfo_wait "$(svc "['state'] == 'enforced'" ingress) and $(svc "['state'] == 'enforced'" egress)" 60 ||
	{ nfo_daemon_log; die "services not enforced"; }
[ -e "$PIN_DIR/ingress" ] && [ -e "$PIN_DIR/egress" ] || die "pins missing in $PIN_DIR"
ok "pinned at $PIN_DIR/{ingress,egress}"
ID_IN=$(nfo_get "$(svc "['prog_id']" ingress)")
ID_OUT=$(nfo_get "$(svc "['prog_id']" egress)")
# attached_ids: the program ids attached to the cgroup.
attached_ids() {
	bpftool -j cgroup show "$CG" | python3 -c 'import json,sys; print(" ".join(sorted(str(p["id"]) for p in json.load(sys.stdin))))'
}
bpftool cgroup attach "$CG" ingress pinned "$PIN_DIR/ingress" multi
bpftool cgroup attach "$CG" egress pinned "$PIN_DIR/egress" multi
case " $(attached_ids) " in *" $ID_IN "*) ;; *) die "ingress program $ID_IN not attached" ;; esac

ATTACHED=$(attached_ids)

# recv_start NAME NS IN_CG PORTS: a receiver (in the cgroup if IN_CG=1).
recv_start() {
	local name=$1 ns=$2 incg=$3 ports=$4
	rm -f "$NFO_T/$name.ready" "$NFO_T/$name.json"
	if [ "$incg" = 1 ]; then
		# not through in_cg: $! must be the receiver itself (sh and ip exec it)
		sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG" ip netns exec "$ns" \
			python3 "$PEER" recv --ports "$ports" --out "$NFO_T/$name.json" --ready "$NFO_T/$name.ready" &
	else
		ip netns exec "$ns" python3 "$PEER" recv --ports "$ports" --out "$NFO_T/$name.json" --ready "$NFO_T/$name.ready" &
	fi
	eval "PID_$name=\$!"
	NFO_PIDS+=("$!")
	nfo_poll 30 test -e "$NFO_T/$name.ready" || die "receiver $name did not start"
}

# recv_stop NAME: stops it; its counts are in $NFO_T/NAME.json.
recv_stop() {
	local pid
	eval "pid=\$PID_$1"
	kill -TERM "$pid"
	nfo_wait_exit "$pid" 30 || die "receiver $1 did not stop"
}

# got NAME PORT SRC: datagrams receiver NAME got on PORT from SRC.
got() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get(sys.argv[2], {}).get(sys.argv[3], 0))' \
		"$NFO_T/$1.json" "$2" "$3"
}

# send_from NS SRC DST PORT [COUNT]: UDP datagrams from outside the cgroup.
send_from() {
	ip netns exec "$1" python3 "$PEER" send --src "$2" --dst "$3" --port "$4" --count "${5:-3}" >/dev/null
}

expect() { # WHAT GOT WANT
	if [ "$2" = "$3" ]; then ok "$1: $2"; else fail "$1: got $2, want $3"; fi
}

# ---- ingress ----------------------------------------------------------------
# ingress_round: sends to the receivers in and outside the cgroup; their
# counts are in in.json and out.json.
ingress_round() {
	recv_start in "$NS_R" 1 7001,7002,7003,7004,7005
	recv_start out "$NS_R" 0 7104
	for p in 7001 7002 7003 7004 7005; do
		send_from "$NS_S" "$S4" "$R4" "$p"
		send_from "$NS_S" "$S6" "$R6" "$p"
	done
	send_from "$NS_S" "$S4B" "$R4" 7003
	send_from "$NS_S" "$S4" "$R4" 7104
	send_from "$NS_S" "$S6" "$R6" 7104
	sleep 0.3
	recv_stop in
	recv_stop out
}
ingress_round
expect "ingress 7001 (allowed port)" "$(got in 7001 "$S4")" 3
expect "ingress 7002 over IPv6 (allowed port)" "$(got in 7002 "$S6")" 3
expect "ingress 7003 from $S4 (allowed source)" "$(got in 7003 "$S4")" 3
expect "ingress 7003 from $S4B (other source)" "$(got in 7003 "$S4B")" 0
expect "ingress 7003 over IPv6 (ip saddr: IPv4 only)" "$(got in 7003 "$S6")" 0
expect "ingress 7004 (not allowed)" "$(got in 7004 "$S4")" 0
expect "ingress 7005 (set empty)" "$(got in 7005 "$S4")" 0
expect "outside the cgroup: 7104 arrives" "$(got out 7104 "$S4")" 3
expect "outside the cgroup: 7104 over IPv6 arrives" "$(got out 7104 "$S6")" 3
nfo_assert "$(svc "['rules'][0]['packets'] == 12" ingress)" "counter of the accepting rule (7001/7002, v4+v6)"

# ---- egress -----------------------------------------------------------------
egress_check() { # LABEL DST PORT WANT(ok|eperm) [outside]
	local res
	if [ "${5:-}" = outside ]; then
		res=$(ip netns exec "$NS_R" python3 "$PEER" send --dst "$2" --port "$3")
	else
		res=$(in_cg "$NS_R" python3 "$PEER" send --dst "$2" --port "$3")
	fi
	case $4 in
	ok) [ "$res" = '{"sent": 1, "eperm": 0, "other": 0}' ] ;;
	eperm) [ "$res" = '{"sent": 0, "eperm": 1, "other": 0}' ] ;;
	esac && ok "$1: $res" || fail "$1: $res, want $4"
}
egress_check "egress to $S4:8001 (allowed)" "$S4" 8001 ok
egress_check "egress to $S6:8001 (allowed, IPv6)" "$S6" 8001 ok
egress_check "egress to $S4:8002 (not allowed)" "$S4" 8002 eperm
egress_check "egress to $S6:8002 (not allowed, IPv6)" "$S6" 8002 eperm
egress_check "egress to $S4:8003 (accepted in a jumped-to chain)" "$S4" 8003 ok
egress_check "egress to $S4:8002 from outside the cgroup" "$S4" 8002 ok outside

# ---- live changes: same programs, new outcome ---------------------------------
ip netns exec "$NS_R" nft insert rule inet svc web_in udp dport 7004 accept
ip netns exec "$NS_R" nft add element inet svc allowed "{ $S4 }"
ip netns exec "$NS_R" nft insert rule inet svc web_out udp dport 8002 accept
nfo_wait "$(svc "['state'] == 'enforced' and len(x['rules']) == 5" ingress)" 30 ||
	die "the new rule did not reach the service"
sleep 0.5
ingress_round
expect "after nft insert rule: ingress 7004" "$(got in 7004 "$S4")" 3
expect "after nft add element: ingress 7005" "$(got in 7005 "$S4")" 3
expect "still dropped: ingress 7003 from $S4B" "$(got in 7003 "$S4B")" 0
egress_check "after nft insert rule: egress to $S4:8002" "$S4" 8002 ok
nfo_assert "$(svc "['prog_id'] == $ID_IN" ingress) and $(svc "['prog_id'] == $ID_OUT" egress)" "same program ids after the changes"
expect "programs attached to the cgroup" "$(attached_ids)" "$ATTACHED"

# ---- a chain the program cannot decide exactly: last good version kept --------
ip netns exec "$NS_R" nft insert rule inet svc web_in meta mark 42 accept
nfo_wait "$(svc "['state'] == 'error' and 'meta mark' in x['reason']" ingress)" 30 ||
	die "meta mark was not refused"
ok "meta mark refused: $(nfo_get "$(svc "['reason']" ingress)")"
recv_start in "$NS_R" 1 7001,7004,7006
send_from "$NS_S" "$S4" "$R4" 7004
send_from "$NS_S" "$S4" "$R4" 7006
sleep 0.3
recv_stop in
expect "last good version in force: ingress 7004" "$(got in 7004 "$S4")" 3
expect "last good version in force: ingress 7006" "$(got in 7006 "$S4")" 0
rc=0
out=$(ip netns exec "$NS_R" "$NFO_BIN" service check web.service --config "$NFO_T/empty.conf" \
	--service "$SERVICE") || rc=$?
expect "service check exit status (meta mark)" "$rc" 1
case $out in *"web.service ingress: rule inet svc web_in handle"*"meta mark"*) ok "service check says why: $out" ;;
*) fail "service check output: $out" ;; esac
ip netns exec "$NS_R" nft delete rule inet svc web_in handle "$(ip netns exec "$NS_R" nft -a list chain inet svc web_in | sed -n 's/.*meta mark.*# handle \([0-9]*\)/\1/p')"
nfo_wait "$(svc "['state'] == 'enforced'" ingress)" 30 || die "not enforced again"
rc=0
ip netns exec "$NS_R" "$NFO_BIN" service check web.service --config "$NFO_T/empty.conf" --service "$SERVICE" >/dev/null || rc=$?
expect "service check exit status (exact again)" "$rc" 0
ip netns exec "$NS_R" "$NFO_BIN" explain --run-dir "$NFO_RUN" >"$NFO_T/explain.txt"
grep -q "^service web.service ingress: inet svc web_in: enforced" "$NFO_T/explain.txt" &&
	grep -q "udp dport 7004 accept" "$NFO_T/explain.txt" && ok "explain shows the service chain rule by rule" ||
	fail "explain: $(cat "$NFO_T/explain.txt")"

# ---- daemon stopped: still enforced; restarted: same programs, caught up -------
nfo_daemon_stop
egress_check "daemon stopped: egress to $S4:8009 still refused" "$S4" 8009 eperm
ip netns exec "$NS_R" nft insert rule inet svc web_out udp dport 8009 accept
ip netns exec "$NS_R" nft delete element inet svc allowed "{ $S4 }"
nfo_daemon_start --nowait --service "$SERVICE"
nfo_wait "$(svc "['state'] == 'enforced'" ingress) and $(svc "['state'] == 'enforced' and len(x['rules']) == 6" egress)" 60 ||
	{ nfo_daemon_log; die "services not enforced after the restart"; }
nfo_assert "$(svc "['prog_id'] == $ID_IN" ingress) and $(svc "['prog_id'] == $ID_OUT" egress)" "restart: same program ids"
expect "restart: programs attached to the cgroup" "$(attached_ids)" "$ATTACHED"
egress_check "restart: change made while down applied (egress 8009)" "$S4" 8009 ok
recv_start in "$NS_R" 1 7005
send_from "$NS_S" "$S4" "$R4" 7005
sleep 0.3
recv_stop in
expect "restart: element deleted while down applied (ingress 7005)" "$(got in 7005 "$S4")" 0

# ---- fail closed: a service whose chain never compiled drops everything ------
nfo_daemon_stop
SERVICE2="bad.service egress inet svc bad_out"
ip netns exec "$NS_R" nft add chain inet svc bad_out
ip netns exec "$NS_R" nft add rule inet svc bad_out meta mark 7 drop
nfo_daemon_start --nowait --service "$SERVICE" --service "$SERVICE2"
nfo_wait "$(svc "['state'] == 'error'" egress bad.service) and $(svc "['state'] == 'enforced'" egress)" 60 ||
	{ nfo_daemon_log; die "bad.service not in error"; }
BAD_PIN="$NFO_BPFFS/nft-offload/services/bad_service/egress"
[ -e "$BAD_PIN" ] || die "bad.service not pinned"
bpftool cgroup attach "$CG" egress pinned "$BAD_PIN" multi
egress_check "fail closed: bad.service drops everything (8001)" "$S4" 8001 eperm
bpftool cgroup detach "$CG" egress pinned "$BAD_PIN"
egress_check "bad.service detached: 8001 allowed again" "$S4" 8001 ok

# ---- removed from the config: unpinned at the next start -----------------------
nfo_daemon_stop
nfo_daemon_start --nowait --service "$SERVICE"
nfo_wait "$(svc "['state'] == 'enforced'" egress)" 60 || die "not enforced"
[ ! -e "$NFO_BPFFS/nft-offload/services/bad_service" ] && ok "bad.service unpinned" ||
	fail "bad.service still pinned: $(ls -R "$NFO_BPFFS/nft-offload/services")"

nfo_daemon_stop
nfo_done
