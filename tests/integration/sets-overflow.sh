#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Transactions with more element operations than the daemon follows one by
# one (65,536: a blocklist loaded or cleared in one `nft -f`). Which keys
# such a transaction deleted is lost, so the set must be read again.
#
# - A plain set (with timeouts too) every rule looks up toward drop is emptied in place and
#   read again while the fast path runs (status: set_restreams, the set
#   loading): never a full resync, the fast path never off, the watchdog
#   untouched; after a load every element is dropped, after a delete of
#   most of them (in one transaction too) every deleted one passes and
#   every kept one is dropped.
# - A set a rule looks up toward accept (`ip saddr @allow accept` ahead of
#   a drop of the whole /8) needs all its elements before the fast path
#   may use it: read whole as before; every allowed address passes.
# Every address is checked through the live XDP program (nfo-xdpcheck).
. "$(dirname "$0")/lib.sh"

N=${NFO_OVERFLOW_ELEMENTS:-100000}
: "${NFO_XDPCHECK:?NFO_XDPCHECK: path of the built nfo-xdpcheck}"

nfo_init
nfo_pair

nfo_addrs "$NFO_T/ban.txt" 12 "$N"
nfo_addrs "$NFO_T/allow.txt" 11 "$N"
nfo_addrs "$NFO_T/tv.txt" 13 "$N"
head -n $((N - 1000)) "$NFO_T/ban.txt" >"$NFO_T/gone.txt"
tail -n 1000 "$NFO_T/ban.txt" >"$NFO_T/kept.txt"
nfo_elems_nft "$NFO_T/ban.nft" add "inet bl v4" "$NFO_T/ban.txt"
nfo_elems_nft "$NFO_T/gone.nft" delete "inet bl v4" "$NFO_T/gone.txt"
nfo_elems_nft "$NFO_T/allow.nft" add "inet bl allow" "$NFO_T/allow.txt"
nfo_elems_nft "$NFO_T/tv.nft" add "inet bl tv" "$NFO_T/tv.txt"
nfo_elems_nft "$NFO_T/tv-del.nft" delete "inet bl tv" "$NFO_T/tv.txt"
nfo_nft <<'EOF'
table inet bl {
	set allow {
		type ipv4_addr
	}
	set v4 {
		type ipv4_addr
	}
	set tv {
		type ipv4_addr
		flags timeout
		timeout 1h
	}
	chain pre {
		type filter hook prerouting priority -10; policy accept;
		ip saddr @allow accept comment "allow"
		ip saddr @v4 drop comment "v4"
		ip saddr @tv drop comment "tv"
		ip saddr 11.0.0.0/8 drop comment "net"
	}
}
EOF
nfo_daemon_start --attach "$IF_R:xdp"

# big SET FILE WHAT UNDO: one `nft -f FILE` on SET, read again while the
# fast path runs. A loaded machine may stall the daemon past the watchdog (then it
# reads everything again: another path); such an attempt does not count,
# and is made again (up to 3 times) after FILE's inverse UNDO.
big() {
	local set=$1 f=$2 what=$3 undo=$4 try rs dis trips poll
	for try in 1 2 3; do
		rs=$(nfo_get 'st["set_restreams"]')
		dis=$(nfo_get 'st["set_updates_disabled"]')
		trips=$(nfo_get 'st["watchdog"]["trips"]')
		# the fast path's state as often as status answers, meanwhile
		rm -f "$NFO_T/poll.stop"
		python3 - "$NFO_T/poll.stop" "$NFO_BIN" "$NFO_RUN" >"$NFO_T/poll.out" <<'PY' &
import json, os, subprocess, sys
stop, nfo, run = sys.argv[1:4]
seen = set()
while not os.path.exists(stop):
    r = subprocess.run([nfo, "status", "--json", "--run-dir", run], capture_output=True, text=True)
    if r.returncode == 0:
        seen.add(json.loads(r.stdout)["fast_path"])
print(" ".join(sorted(seen)))
PY
		poll=$!
		NFO_PIDS+=("$poll")
		ip netns exec "$NS_R" nft -f "$NFO_T/$f" || die "nft -f $f failed"
		nfo_wait "st['set_restreams'] > $rs or st['set_updates_disabled'] > $dis or \
st['watchdog']['trips'] > $trips" 60 || { nfo_daemon_log; die "$what: the daemon did not follow it"; }
		nfo_wait "st['fast_path'] == 'enabled' and not nset('$set')['loading']" 120 ||
			{ nfo_daemon_log; die "$what: the set was not read again"; }
		touch "$NFO_T/poll.stop"
		wait "$poll"
		if [ "$(nfo_get 'st["watchdog"]["trips"]')" != "$trips" ]; then
			log "$what: the watchdog tripped (a loaded machine): again"
			ip netns exec "$NS_R" nft -f "$NFO_T/$undo" || die "nft -f $undo failed"
			nfo_wait "st['fast_path'] == 'enabled' and not nset('$set')['loading']" 120 ||
				die "$what: the daemon did not settle"
			continue
		fi
		log "$what: fast path states seen meanwhile: $(cat "$NFO_T/poll.out")"
		nfo_assert "st['set_restreams'] == $rs + 1 and st['set_updates_disabled'] == $dis" \
			"$what: read again while live, no full resync"
		if [ "$(cat "$NFO_T/poll.out")" = enabled ]; then
			ok "$what: the fast path stayed on"
		else
			fail "$what: the fast path was $(cat "$NFO_T/poll.out") meanwhile"
		fi
		return 0
	done
	die "$what: the watchdog tripped in every attempt"
}

big v4 ban.nft "$N elements added in one transaction" gone.nft
nfo_assert "nset('v4')['elements'] == $N and not nset('v4')['incomplete']" \
	"all $N elements held, read whole"
nfo_xdpcheck "added" "$NFO_T/ban.txt" drop

# (the inverse of deleting all but 1,000 is adding them back: ban.nft)
big v4 gone.nft "$((N - 1000)) of them deleted in one transaction" ban.nft
nfo_assert "nset('v4')['elements'] == 1000 and not nset('v4')['incomplete']" \
	"the 1000 kept elements held"
nfo_xdpcheck "deleted" "$NFO_T/gone.txt" pass
nfo_xdpcheck "kept" "$NFO_T/kept.txt" drop

# a set whose elements expire (CrowdSec's, fail2ban's): the same, each
# element read with its expiry
big tv tv.nft "$N elements with timeouts added in one transaction" tv-del.nft
nfo_assert "nset('tv')['elements'] == $N and not nset('tv')['incomplete']" \
	"all $N elements with timeouts held, read whole"
nfo_xdpcheck "added with timeouts" "$NFO_T/tv.txt" drop

# Two sets in one transaction (v4 filled again, tv emptied), then at once
# another such transaction on v4 while it still loads (all but the 1,000
# deleted again): each set streams beside the other, and v4 drops its
# stream and starts again from empty. Checked once all is read.
cat "$NFO_T/ban.nft" "$NFO_T/tv-del.nft" >"$NFO_T/both.nft"
rs=$(nfo_get 'st["set_restreams"]')
dis=$(nfo_get 'st["set_updates_disabled"]')
trips=$(nfo_get 'st["watchdog"]["trips"]')
ip netns exec "$NS_R" nft -f "$NFO_T/both.nft" || die "nft -f both.nft failed"
nfo_wait "st['set_restreams'] >= $rs + 2 or st['set_updates_disabled'] > $dis or \
st['watchdog']['trips'] > $trips" 60 || { nfo_daemon_log; die "two sets: the daemon did not follow it"; }
loading=$(nfo_get "nset('v4')['loading']")
ip netns exec "$NS_R" nft -f "$NFO_T/gone.nft" || die "nft -f gone.nft failed"
nfo_wait "st['fast_path'] == 'enabled' and not any(s.get('loading') for s in st['sets']) and \
nset('v4')['elements'] == 1000 and nset('tv')['elements'] == 0" 120 ||
	{ nfo_daemon_log; die "two sets, then v4 again: not read back"; }
log "v4 still loading when the next transaction came: $loading"
if [ "$(nfo_get 'st["watchdog"]["trips"]')" = "$trips" ]; then
	nfo_assert "st['set_restreams'] == $rs + 3 and st['set_updates_disabled'] == $dis" \
		"two sets in one transaction, then one of them again: three re-reads while live, no full resync"
else
	log "the watchdog tripped (a loaded machine): the re-reads were not counted"
fi
nfo_assert "not nset('v4')['incomplete'] and not nset('tv')['incomplete']" "both read whole"
nfo_xdpcheck "deleted again" "$NFO_T/gone.txt" pass
nfo_xdpcheck "kept again" "$NFO_T/kept.txt" drop
nfo_xdpcheck "timeouts deleted" "$NFO_T/tv.txt" pass

# a set read toward accept: whole, before the fast path uses it
R=$(nfo_get 'st["set_restreams"]')
U=$(nfo_get 'st["updates"] + st["set_updates"]')
ip netns exec "$NS_R" nft -f "$NFO_T/allow.nft" || die "nft -f allow.nft failed"
nfo_wait "st['updates'] + st['set_updates'] > $U and st['fast_path'] == 'enabled' and \
nset('allow')['elements'] == $N" 120 || { nfo_daemon_log; die "the allow set was not read"; }
nfo_assert "st['set_restreams'] == $R" "the allow set was not read while live"
nfo_xdpcheck "allowed" "$NFO_T/allow.txt" pass
nfo_xdpcheck "still banned" "$NFO_T/kept.txt" drop

nfo_daemon_stop
nfo_done
