#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The fast path follows ruleset changes: a rule inserted in front of an
# offloaded drop makes its packets arrive again; adding, removing rules keeps
# the counters of the rules that still exist (same handle); a rule deleted and
# added again (new handle) starts from zero.
. "$(dirname "$0")/lib.sh"

nfo_init
nfo_pair

nfo_nft <<'EOF'
table inet t {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport 9 drop comment "d9"
	}
}
EOF
nfo_daemon_start --attach "$IF_R:xdp"

# nft_handle COMMENT: the rule's handle in the receiver's ruleset.
nft_handle() {
	ip netns exec "$NS_R" nft -a list chain inet t input |
		sed -n "s/.*comment \"$1\" # handle \([0-9]*\)$/\1/p"
}

# change NFT-COMMAND...: runs it and waits for the daemon to have applied it.
# The generation is published when the rebuild starts, and a transaction
# that only adds drops keeps the running fast path enabled meanwhile: the
# new one is live once updates moved.
change() {
	local gen upd
	gen=$(nfo_get 'st["generation"]')
	upd=$(nfo_get 'st["updates"]')
	ip netns exec "$NS_R" nft "$@"
	nfo_wait "st['generation'] != $gen and st['updates'] > $upd and st['fast_path'] == 'enabled'" ||
		die "the daemon did not follow: nft $*"
	ok "applied: nft $* (generation $gen -> $(nfo_get 'st["generation"]'))"
}

H9=$(nft_handle d9)
nfo_case "offloaded drop" "drop=d9 --dport 9" "drop=d9 -6 --dport 9" "pass --dport 10"
nfo_assert "rule('d9')['packets'] == 10" "d9 counted 10"

UPD=$(nfo_get 'st["updates"]')
LIVE=$(nfo_get 'st["live_updates"]')
change add rule inet t input udp dport 10 drop comment '"d10"'
# A rule that can only drop more: the old fast path stays live meanwhile.
nfo_assert "st['live_updates'] == $LIVE + 1" "a drop rule added without a pass-everything window"
nfo_assert "rule('d9')['packets'] == 10 and rule('d9')['handle'] == $H9" \
	"d9 keeps its counter (10) and handle $H9 after a rule was added"
nfo_assert "st['updates'] > $UPD" "status counts the update"
nfo_case "added rule drops, old one still does" "drop=d10 --dport 10" "drop=d9 --dport 9" \
	"pass --dport 11"
nfo_assert "rule('d9')['packets'] == 15 and rule('d10')['packets'] == 5" "d9 15, d10 5"

change insert rule inet t input udp dport 9 accept comment '"a9"'
nfo_assert "st['live_updates'] == $LIVE + 1" "an accept rule: passes everything until it is live"
nfo_case "accept inserted in front of the drop" "pass --dport 9" "pass -6 --dport 9" \
	"drop=d10 --dport 10"
nfo_assert "rule('d9')['packets'] == 15 and rule('a9')['offloaded']" \
	"d9 unchanged (15), a9 offloaded"

change delete rule inet t input handle "$(nft_handle a9)"
nfo_case "accept removed: dropped again" "drop=d9 --dport 9" "pass --dport 11"
nfo_assert "rule('d9')['packets'] == 20 and rule('d10')['packets'] == 10" \
	"counters kept across three updates: d9 20, d10 10"

change delete rule inet t input handle "$(nft_handle d10)"
nfo_case "deleted rule no longer drops" "pass --dport 10" "drop=d9 --dport 9"
nfo_assert "rule('d9')['packets'] == 25" "d9 25"

# Deleted and added again: a new rule (new handle), a new counter.
change delete rule inet t input handle "$H9"
nfo_case "no rule left" "pass --dport 9"
change add rule inet t input udp dport 9 drop comment '"d9"'
H9B=$(nft_handle d9)
if [ "$H9B" != "$H9" ]; then ok "re-added rule has a new handle ($H9 -> $H9B)"; else fail "handle reused"; fi
nfo_assert "rule('d9')['packets'] == 0" "the re-added rule starts from zero"
nfo_case "re-added rule drops" "drop=d9 --dport 9"

# A transaction of several commands is applied as one.
change -f - <<'EOF'
add rule inet t input udp dport 20 drop comment "d20"
insert rule inet t input udp dport 20 ip saddr 10.99.0.1 accept comment "a20"
add chain inet t other { type filter hook prerouting priority -5; policy accept; }
add rule inet t other tcp dport 21 drop comment "d21"
EOF
nfo_case "transaction" "pass --dport 20" "drop=d20 --dport 20 --src 10.99.0.7" \
	"drop=d21 --proto tcp --dport 21" "drop=d9 --dport 9"

# Flushing the ruleset: nothing dropped any more.
change flush ruleset
nfo_assert "st['rules'] == [] and st['interfaces'][0]['attached']" "flushed: no rules, still attached"
nfo_case "after flush" "pass --dport 9" "pass --dport 20" "pass --proto tcp --dport 21"

nfo_daemon_stop
nfo_done
