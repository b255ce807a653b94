#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A large set read while it changes, then changed in place. A set whose
# lookups only lead to drop is read while the fast path runs (stream.sh):
# the part read before going live comes after the generation check, and a
# dump that spans transactions may send an element twice (nf_tables walks
# the set from its start for each message and skips what it sent; an
# element inserted ahead of that position shifts the rest by one). The
# model must hold each key once: a key held twice keeps one copy when it is
# deleted and the deletes are folded into the keys, and then the fast path
# misses it when nftables adds it again (a missed drop), or gets it back
# from the model in a whole write (a drop of what nftables accepts).
#
# Here the set is read under a flood of additions twice: when the daemon
# starts, and in the full resync after a watchdog trip (the daemon stopped
# for over a second, as a loaded machine may stop it). Then every element
# nft holds is checked through the daemon's XDP program (BPF_PROG_TEST_RUN
# on the live maps, tests/tools/nfo-xdpcheck.c), half of them deleted and
# added again in place, the other half deleted and the maps written whole
# (an address added: a rebuild from the model), each step checked the same
# way for every address.
. "$(dirname "$0")/lib.sh"

N=${NFO_RESYNC_ELEMENTS:-40000}
: "${NFO_XDPCHECK:?NFO_XDPCHECK: path of the built nfo-xdpcheck}"
: "${NFO_SETELEM:?NFO_SETELEM: path of the built nfo-setelem}"

nfo_init
nfo_pair

python3 - "$N" >"$NFO_T/big.nft" <<'PY'
import sys
n = int(sys.argv[1])
a = lambda i: "11.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255)
print("table inet bl {\n set v4 {\n  type ipv4_addr\n }")
print(' chain pre {\n  type filter hook prerouting priority -10; policy accept;\n'
      '  ip saddr @v4 counter drop comment "v4"\n }\n}')
for i in range(0, n, 10000):
    print("add element inet bl v4 { %s }" % ", ".join(a(j) for j in range(i, min(n, i + 10000))))
PY
ip netns exec "$NS_R" nft -f "$NFO_T/big.nft" || die "nft -f of the set failed"

# Additions of new addresses (12/8), 10 a transaction every 5 ms, until
# $NFO_T/churn.stop exists, through nfo-setelem (straight netlink).
churn_start() {
	rm -f "$NFO_T/churn.stop"
	python3 - "$NFO_T/churn.stop" <<'PY' | ip netns exec "$NS_R" "$NFO_SETELEM" inet bl v4 >"$NFO_T/churn.out" &
import os, sys, time
stop, k = sys.argv[1], 0
while not os.path.exists(stop) and k < 200000:
    print(" ".join("+12.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255) for i in range(k, k + 10)),
          flush=True)
    k += 10
    time.sleep(0.005)
PY
	CHURN=$!
	NFO_PIDS+=("$CHURN")
}
churn_stop() {
	touch "$NFO_T/churn.stop"
	wait "$CHURN" || die "the additions failed"
	if nfo_has -Ev '^ok( [0-9]+)?$' "$NFO_T/churn.out"; then
		die "an addition failed: $(grep -Ev '^ok( [0-9]+)?$' "$NFO_T/churn.out" | head -1)"
	fi
	log "$(wc -l <"$NFO_T/churn.out") transactions of additions"
}

# nft's elements of v4, one address a line, into FILE
nft_elems() {
	ip netns exec "$NS_R" nft -j list set inet bl v4 |
		python3 -c 'import json,sys; [print(e) for o in json.load(sys.stdin)["nftables"] if "set" in o for e in o["set"].get("elem", [])]' >"$1"
}

# the model holds exactly nft's elements, and the fast path drops each
check_all() {
	nft_elems "$NFO_T/elems.txt"
	nfo_assert "nset('v4')['elements'] == $(wc -l <"$NFO_T/elems.txt") and not nset('v4')['loading']" \
		"$1: the daemon holds nft's $(wc -l <"$NFO_T/elems.txt") elements"
	nfo_xdpcheck "$1" "$NFO_T/elems.txt" drop
}

# elements FILE add|delete: one element-only transaction, applied in place
elements() {
	python3 - "$1" "$2" >"$NFO_T/txn.nft" <<'PY'
import sys
e = open(sys.argv[1]).read().split()
for i in range(0, len(e), 5000):
    print("%s element inet bl v4 { %s }" % (sys.argv[2], ", ".join(e[i:i + 5000])))
PY
	local ip
	ip=$(nfo_get 'st["set_updates_in_place"]')
	nfo_elements -f "$NFO_T/txn.nft"
	nfo_assert "st['set_updates_in_place'] == $ip + 1" "$2 of $(wc -l <"$1") elements applied in place"
}

churn_start
sleep 0.3
nfo_daemon_start --nowait --attach "$IF_R:xdp"
nfo_wait 'st["fast_path"] == "enabled" and all(i["attached"] for i in st["interfaces"])' 60 ||
	{ nfo_daemon_log; die "the daemon did not become ready"; }
nfo_assert "nset('v4')['fast_path'] == 'maps'" "v4 in the set maps"

# The daemon stops for 1.5 s while the additions go on: the watchdog turns
# the fast path off, and the daemon reads everything again, the set again
# while it changes.
sleep 0.5
U=$(nfo_get 'st["updates"]')
kill -STOP "$DAEMON_PID"
sleep 1.5
kill -CONT "$DAEMON_PID"
nfo_wait "st['watchdog']['trips'] >= 1 and st['updates'] > $U and \
st['fast_path'] == 'enabled'" 60 ||
	{ nfo_daemon_log; die "no resync after the watchdog tripped"; }
# Live again: the part read before going live was read under additions.
# They stop now, so that the next pass over the set sees none and reads it
# whole (a set that changes through every pass may lack an element).
churn_stop
nfo_wait "st['fast_path'] == 'enabled' and not any(s.get('loading') for s in st['sets'])" 120 ||
	{ nfo_daemon_log; die "the set did not finish loading"; }
check_all "read while changing"

# Half the elements deleted and added again, in place.
nft_elems "$NFO_T/all.txt"
split -n l/2 "$NFO_T/all.txt" "$NFO_T/half."
elements "$NFO_T/half.aa" delete
nfo_xdpcheck "deleted in place" "$NFO_T/half.aa" pass
elements "$NFO_T/half.aa" add
check_all "deleted and added again in place"

# The other half deleted, then the maps written whole from the model.
elements "$NFO_T/half.ab" delete
U=$(nfo_get 'st["updates"]')
ip -n "$NS_R" addr add 10.99.0.9/24 dev "$IF_R"
nfo_wait "st['updates'] > $U and st['fast_path'] == 'enabled'" 30 ||
	{ nfo_daemon_log; die "no rebuild after an address was added"; }
nfo_xdpcheck "deleted, then written whole" "$NFO_T/half.ab" pass
check_all "written whole"

nfo_daemon_stop
nfo_done
