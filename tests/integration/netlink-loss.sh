#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Lost nftables notifications (the socket buffer overflowed: ENOBUFS) must
# not leave a stale fast path: the daemon passes everything and reads the
# whole ruleset again. Provoked with a small --netlink-rcvbuf, the daemon
# stopped (SIGSTOP) across a transaction of a few thousand rules.
. "$(dirname "$0")/lib.sh"

nfo_init
nfo_pair

nfo_nft <<'EOF2'
table inet t {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport 9 drop comment "d9"
	}
}
EOF2
nfo_daemon_start --attach "$IF_R:xdp" --netlink-rcvbuf 8192
nfo_case "before" "drop=d9 --dport 9" "pass --dport 10"
GEN=$(nfo_get 'st["generation"]')
U=$(nfo_get 'st["updates"]')

kill -STOP "$DAEMON_PID"
{
	echo "flush chain inet t input"
	for p in $(seq 20000 22999); do echo "add rule inet t input tcp dport $p drop"; done
	echo "add rule inet t input udp dport 10 drop comment \"d10\""
} | ip netns exec "$NS_R" nft -f -
kill -CONT "$DAEMON_PID"

nfo_wait "st['generation'] != $GEN and st['updates'] > $U and st['fast_path'] == 'enabled'" 60 ||
	die "the daemon did not catch up after losing notifications"
grep -q "notifications were lost" "$DAEMON_LOG" && ok "the daemon noticed the loss" ||
	fail "no loss reported in the log (the buffer did not overflow?)"
nfo_case "after the resync: the new ruleset" "drop=d10 --dport 10" "pass --dport 9"
nfo_assert "rule('d10')['offloaded'] and len(st['rules']) == 3001" "status shows the whole new ruleset"
nfo_daemon_stop
nfo_done
