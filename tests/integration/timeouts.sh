#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Sets with timeouts (CrowdSec's shape: flags timeout, a drop rule) and sets
# the packet path fills (fail2ban-ish: add @set from a rule). A banned source
# is dropped in the fast path while its element lives; once nftables has
# expired the element (nft list set no longer shows it) packets from it
# arrive again, although nothing was notified and no generation was built:
# the fast path lets each element go a margin before the kernel's expiry.
# Elements the packet path adds are nftables' to drop; those nft adds are
# the fast path's too, and explain says so. Adds, re-adds with a shorter
# timeout and deletes on a set with timeouts are applied in place (no
# pass-everything window, checked with a flood) and a shortened expiry
# counts at once.
#
# The short timeout adapts to the machine: it is a few times what adding and
# checking one element took, so a loaded machine does not see the element
# expire before its packets are sent.
#
#   timeouts.sh [xdp|tc]
. "$(dirname "$0")/lib.sh"

MODE=${1:-xdp}
BAN_A=192.0.2.10 # the short set default timeout
BAN_B=192.0.2.11 # its own, 1h
NFT_BAN=192.0.2.20

nfo_init
nfo_pair

nfo_nft <<'RULESET'
table inet bl {
	set ban {
		type ipv4_addr
		flags timeout
	}
	set meter4 {
		type ipv4_addr
		flags dynamic, timeout
		timeout 1m
	}
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr @ban counter drop comment "ban"
		ip saddr @meter4 counter drop comment "meter"
		udp dport 7 add @meter4 { ip saddr } comment "fill"
	}
}
RULESET
nfo_daemon_start --attach "$IF_R:$MODE"

nfo_assert "nset('ban')['fast_path'] == 'maps' and nset('meter4')['fast_path'] == 'maps'" \
	"timeout set and packet-path set: in the set maps"
nfo_assert "rule('ban')['offloaded'] and 'expire' in rule('ban')['note']" \
	"the timeout set's rule is offloaded, with a note"
nfo_assert "rule('meter')['offloaded'] and 'filled by the packet path' in rule('meter')['note']" \
	"the packet-path set's rule is offloaded, with a note saying so"
ip netns exec "$NS_R" "$NFO_BIN" explain --run-dir "$NFO_RUN" >"$NFO_T/explain" 2>&1 || true
if grep -q "note: set meter4 is also filled by the packet path" "$NFO_T/explain"; then
	ok "explain names the packet path"
else
	cat "$NFO_T/explain"
	fail "explain has no note on meter4"
fi

# in_set SET ADDR: nftables still holds ADDR in SET (the listing is read
# whole first: grep -q leaving early would fail nft with SIGPIPE).
in_set() {
	local out
	out=$(ip netns exec "$NS_R" nft list set inet bl "$1") || die "nft list set $1 failed"
	grep -qw -- "$2" <<<"$out"
}

# An element with its own timeout (1h), and how long adding one and
# checking it takes here: the short timeout below must outlive that.
T0=$(nfo_mono)
nfo_elements add element inet bl ban "{ $BAN_B timeout 1h }"
nfo_case "banned for 1h" "drop=ban --src $BAN_B" "pass --src 192.0.2.12"
D=$(nfo_secs "$T0")
TMO=$(python3 -c "import math; print(max(4, math.ceil(2.5 * $D + 2)))")
log "adding and checking an element took $D s: the short timeout is $TMO s"

# A set whose default timeout is short, and an element that has it (the
# kernel then sends its expiration only).
GEN=$(nfo_get 'st["generation"]')
U=$(nfo_get 'st["updates"]')
nfo_nft <<RULES
add set inet bl ban2 { type ipv4_addr; flags timeout; timeout ${TMO}s; }
add rule inet bl input ip saddr @ban2 counter drop comment "ban2"
RULES
nfo_wait "st['generation'] != $GEN and st['updates'] > $U and st['fast_path'] == 'enabled'" 30 ||
	{ nfo_daemon_log; die "the daemon did not follow the new set"; }
T0=$(nfo_mono)
nfo_elements add element inet bl ban2 "{ $BAN_A }"
nfo_case "banned for ${TMO}s (the set's default)" "drop=ban2 --src $BAN_A" "drop=ban --src $BAN_B"
DT=$(nfo_secs "$T0")
python3 -c "import sys; sys.exit(0 if $DT < $TMO - 0.5 else 1)" ||
	fail "the banned case ended $DT s after the add, of the $TMO s timeout: too slow to tell"
UPDATES=$(nfo_get 'st["updates"]')

# Wait for nftables itself to let go of BAN_A (no notification comes).
for _ in $(seq 1200); do
	in_set ban2 "$BAN_A" || break
	sleep 0.05
done
in_set ban2 "$BAN_A" && die "nftables still holds $BAN_A a minute after its $TMO s timeout"
DT=$(nfo_secs "$T0")
python3 -c "import sys; sys.exit(0 if $DT >= $TMO - 0.1 else 1)" ||
	fail "nftables expired $BAN_A after $DT s, expected $TMO s"
ok "nftables expired $BAN_A $DT s after the add"
in_set ban "$BAN_B" || fail "$BAN_B (1h) is gone from nftables too"
nfo_case "expired in nftables: delivered, by the fast path's own clock" \
	"pass --why decided_by_nftables --src $BAN_A" "drop=ban --src $BAN_B"
nfo_assert "st['updates'] == $UPDATES and st['fast_path'] == 'enabled'" \
	"no new generation and no pass-everything window for the expiry"

# --- in place: an add, a re-add with a shorter timeout and a delete on a
# set with timeouts go live from the notification and one GETSETELEM per
# added key, while a flood (from a source no rule drops) arrives: not one
# of its packets passes because the fast path was off. The flood runs only
# while the daemon follows (the cases count packets exactly).
# inplace CMD...: nfo_inplace, and an add asked for the added keys' expiries.
inplace() {
	local sx
	sx=$(nfo_get 'st["set_expiry_reads"]')
	nfo_inplace "$@"
	if [[ "$*" == "add "* ]]; then
		nfo_assert "st['set_expiry_reads'] > $sx" "the added keys' expiries were asked for"
	fi
}
SUD0=$(nfo_get 'st["set_updates_disabled"]')
# 5 minutes: long enough that neither expires before the checks below on a
# slow machine (the re-add below shortens 192.0.2.30's)
T1=$(nfo_mono)
inplace add element inet bl ban "{ 192.0.2.30 timeout 300s, 192.0.2.31 timeout 300s }"
nfo_case "added with a 300s timeout: dropped in the fast path" \
	"drop=ban --src 192.0.2.30" "drop=ban --src 192.0.2.31"
# The re-add's timeout outlives an in-place change (its flood started and
# drained) and a case here, measured as TMO is.
D=$(nfo_secs "$T1")
TMO2=$(python3 -c "import math; print(max($TMO, math.ceil(2.5 * $D + 2)))")
T0=$(nfo_mono)
inplace add element inet bl ban "{ 192.0.2.30 timeout ${TMO2}s }"
nfo_case "re-added with a ${TMO2}s timeout: still dropped" "drop=ban --src 192.0.2.30"
DT=$(nfo_secs "$T0")
python3 -c "import sys; sys.exit(0 if $DT < $TMO2 - 0.5 else 1)" ||
	fail "the re-added case ended $DT s after the re-add, of the $TMO2 s timeout: too slow to tell"
for _ in $(seq 1200); do
	in_set ban 192.0.2.30 || break
	sleep 0.05
done
in_set ban 192.0.2.30 && die "nftables still holds 192.0.2.30 a minute after its ${TMO2}s timeout"
ok "nftables expired 192.0.2.30 $(nfo_secs "$T0") s after the re-add"
nfo_case "the shorter timeout counts: the fast path lets go no later than nftables" \
	"pass --why decided_by_nftables --src 192.0.2.30" "drop=ban --src 192.0.2.31"
inplace delete element inet bl ban "{ 192.0.2.31 }"
nfo_case "deleted: delivered" "pass --why decided_by_nftables --src 192.0.2.31" \
	"drop=ban --src $BAN_B"
# Added and deleted by transactions back to back: the delete is written at
# once while the add's expiry may still be asked for; whatever that answer
# says when it comes, the later delete wins (the key must not come back).
GEN=$(nfo_get 'st["generation"]')
for _ in $(seq 20); do
	ip netns exec "$NS_R" nft add element inet bl ban "{ 192.0.2.32 timeout 300s }"
	ip netns exec "$NS_R" nft delete element inet bl ban "{ 192.0.2.32 }"
done
nfo_wait "st['generation'] - $GEN >= 40 and st['fast_path'] == 'enabled' and \
st['set_expiry_pending'] == 0" 30 ||
	{ nfo_daemon_log; die "the daemon did not follow the adds and deletes"; }
nfo_case "added and deleted 20 times back to back: delivered" \
	"pass --why decided_by_nftables --src 192.0.2.32" "drop=ban --src $BAN_B"
nfo_assert "st['set_updates_disabled'] == $SUD0" "no element change disabled the fast path"

# The packet path adds the sender to @meter4: nftables drops it from then
# on, the fast path does not know it (it drops less, never more).
nfo_case "packet path fills meter4" "pass --dport 7 --count 1"
in_set meter4 "$S4" || die "the packet path did not add $S4 to meter4"
nfo_case "added by the packet path: nftables drops" "kdrop=meter --dport 9"
# An element nft adds is the fast path's, and reading the set again for it
# takes in what the packet path added meanwhile: the kernel holds it then.
nfo_elements add element inet bl meter4 "{ $NFT_BAN }"
nfo_case "added by nft: the fast path drops" "drop=meter --src $NFT_BAN" "drop=meter --dport 9"

nfo_daemon_stop
nfo_done
