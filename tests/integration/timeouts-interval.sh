#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Interval sets with timeouts (flags interval,timeout): each range is dropped
# in the fast path until a margin before nftables expires it, adjacent ranges
# keep their own expiries, and once nftables has let a range go (nft list
# set no longer shows it) its packets arrive again with no notification and
# no new generation, while the range next to it is still dropped. In a set
# with a default timeout, end elements expire too, and a lookup that meets
# an expired element at exactly its key fails: the first address of a range
# with no live end element there is left to nftables.
#
#   timeouts-interval.sh [xdp|tc]
. "$(dirname "$0")/lib.sh"

MODE=${1:-xdp}

nfo_init
nfo_pair

nfo_nft <<'RULESET'
table inet bl {
	set nets {
		type ipv4_addr
		flags interval, timeout
	}
	set nets2 {
		type ipv4_addr
		flags interval, timeout
		timeout 1h
	}
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr @nets counter drop comment "nets"
		ip saddr @nets2 counter drop comment "nets2"
	}
}
RULESET
nfo_daemon_start --attach "$IF_R:$MODE"

nfo_assert "nset('nets')['fast_path'] == 'maps' and nset('nets2')['fast_path'] == 'maps'" \
	"interval sets with timeouts: in the set maps"
nfo_assert "rule('nets')['offloaded'] and 'expire' in rule('nets')['note']" \
	"their rule is offloaded, with a note"

in_set() {
	local out
	out=$(ip netns exec "$NS_R" nft list set inet bl "$1") || die "nft list set $1 failed"
	grep -qF -- "$2" <<<"$out"
}

# A long range, and how long adding one and checking it takes here: the
# short timeout must outlive that.
T0=$(nfo_mono)
nfo_elements add element inet bl nets "{ 198.51.100.0/28 timeout 1h }"
nfo_case "a /28 banned for 1h" "drop=nets --src 198.51.100.5" "pass --src 198.51.100.16"
D=$(nfo_secs "$T0")
TMO=$(python3 -c "import math; print(max(5, math.ceil(3 * $D + 2)))")
log "adding and checking a range took $D s: the short timeout is $TMO s"

# The /28 right after it expires first; a range that is no prefix, for 1h.
T0=$(nfo_mono)
nfo_elements add element inet bl nets \
	"{ 198.51.100.16/28 timeout ${TMO}s, 198.51.100.40-198.51.100.50 timeout 1h }"
nfo_case "adjacent ranges, their own expiries" \
	"drop=nets --src 198.51.100.15" "drop=nets --src 198.51.100.16" \
	"drop=nets --src 198.51.100.20" "drop=nets --src 198.51.100.40" \
	"drop=nets --src 198.51.100.50" "pass --src 198.51.100.51" "pass --src 198.51.100.32"
DT=$(nfo_secs "$T0")
python3 -c "import sys; sys.exit(0 if $DT < $TMO - 0.5 else 1)" ||
	fail "the banned case ended $DT s after the add, of the $TMO s timeout: too slow to tell"
UPDATES=$(nfo_get 'st["updates"]')

for _ in $(seq 1200); do
	in_set nets "198.51.100.16/28" || break
	sleep 0.05
done
in_set nets "198.51.100.16/28" && die "nftables still holds 198.51.100.16/28 a minute after its timeout"
ok "nftables expired 198.51.100.16/28 $(nfo_secs "$T0") s after the add"
nfo_case "expired in nftables: delivered, by the fast path's own clock" \
	"pass --why decided_by_nftables --src 198.51.100.20" \
	"pass --why decided_by_nftables --src 198.51.100.16" \
	"pass --why decided_by_nftables --src 198.51.100.31" \
	"drop=nets --src 198.51.100.15" "drop=nets --src 198.51.100.0" \
	"drop=nets --src 198.51.100.45"
nfo_assert "st['updates'] == $UPDATES and st['fast_path'] == 'enabled'" \
	"no new generation and no pass-everything window for the expiry"

# The set's default timeout gives end elements an expiry: the start key of a
# range with no end element read there is nftables' to drop, the rest of
# the range the fast path's.
nfo_elements add element inet bl nets2 "{ 203.0.113.0/28, 203.0.113.16/28 timeout 2h }"
nfo_case "a default timeout: start keys to nftables" \
	"kdrop=nets2 --src 203.0.113.0" "drop=nets2 --src 203.0.113.1" \
	"drop=nets2 --src 203.0.113.15" "drop=nets2 --src 203.0.113.16" \
	"drop=nets2 --src 203.0.113.31"

# --- in place: the set is read again with a clock reading before the dump
# and its ranges diffed with their expiries; the difference is written into
# the live maps while a flood (from a source no range holds) arrives. The
# flood runs only while the daemon follows (the cases count packets exactly).
SUD0=$(nfo_get 'st["set_updates_disabled"]')
# 5 minutes: long enough that neither expires before the checks below on a
# slow machine (the re-add below shortens the /28's)
T1=$(nfo_mono)
nfo_inplace add element inet bl nets "{ 192.0.2.128/28 timeout 300s, 192.0.2.144-192.0.2.150 timeout 300s }"
nfo_case "ranges added with a 300s timeout: dropped in the fast path" \
	"drop=nets --src 192.0.2.128" "drop=nets --src 192.0.2.143" \
	"drop=nets --src 192.0.2.144" "drop=nets --src 192.0.2.150" "pass --src 192.0.2.151"
# The re-add's timeout outlives an in-place change (its flood started and
# drained) and a case here, measured as TMO is.
D=$(nfo_secs "$T1")
TMO2=$(python3 -c "import math; print(max($TMO, math.ceil(3 * $D + 2)))")
T0=$(nfo_mono)
nfo_inplace add element inet bl nets "{ 192.0.2.128/28 timeout ${TMO2}s }"
nfo_case "re-added with a ${TMO2}s timeout: still dropped" "drop=nets --src 192.0.2.130"
DT=$(nfo_secs "$T0")
python3 -c "import sys; sys.exit(0 if $DT < $TMO2 - 0.5 else 1)" ||
	fail "the re-added case ended $DT s after the re-add, of the $TMO2 s timeout: too slow to tell"
for _ in $(seq 1200); do
	in_set nets "192.0.2.128/28" || break
	sleep 0.05
done
in_set nets "192.0.2.128/28" && die "nftables still holds 192.0.2.128/28 a minute after its ${TMO2}s timeout"
ok "nftables expired 192.0.2.128/28 $(nfo_secs "$T0") s after the re-add"
nfo_case "the shorter timeout counts: the fast path lets go no later than nftables" \
	"pass --why decided_by_nftables --src 192.0.2.130" "drop=nets --src 192.0.2.144"
nfo_assert "st['set_updates_disabled'] == $SUD0" "no element change disabled the fast path"

nfo_inplace delete element inet bl nets "{ 192.0.2.144-192.0.2.150 }"
nfo_case "deleted: delivered" "pass --why decided_by_nftables --src 192.0.2.144" \
	"pass --why decided_by_nftables --src 192.0.2.150" "drop=nets --src 198.51.100.45"

# A default timeout: a range added right after another has that range's end
# element at its start key (the start key counts, until the earlier of the
# two); once the range before is deleted, its end element goes, and the
# start key is nftables' to drop again.
nfo_inplace add element inet bl nets2 "{ 203.0.113.32/28 }"
nfo_case "added after a range: its start key follows that range's end" \
	"drop=nets2 --src 203.0.113.32" "drop=nets2 --src 203.0.113.33" \
	"drop=nets2 --src 203.0.113.47" "kdrop=nets2 --src 203.0.113.0"
nfo_inplace delete element inet bl nets2 "{ 203.0.113.16/28 }"
nfo_case "the range before deleted: start key to nftables" \
	"kdrop=nets2 --src 203.0.113.32" "drop=nets2 --src 203.0.113.33" \
	"pass --src 203.0.113.20" "drop=nets2 --src 203.0.113.15"
nfo_assert "st['set_updates_disabled'] == $SUD0" "no element change disabled the fast path"

nfo_daemon_stop
nfo_done
