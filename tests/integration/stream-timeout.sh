#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A large set with timeouts (CrowdSec's shape) whose lookups only lead to
# drop is offloaded before it is read whole, like a plain one (stream.sh):
# 200,000 addresses banned for an hour and a few for a short time. The
# fast path goes live with the set loading (status says so), the elements
# read later carry their expiry (a lower bound of the kernel's: the clock
# is read before each dump request), so a short ban stops being dropped in
# the fast path no later than nftables lets it go; an element added once
# the set is read drops at once. A second such set (NB elements) gets an
# element while it loads: that is applied in place (its expiry asked for,
# no pass-everything window) and the set is read on.
. "$(dirname "$0")/lib.sh"

N=${NFO_STREAM_ELEMENTS:-200000}
NB=${NFO_STREAM_ELEMENTS_B:-60000}
# Short bans: long enough for the set to be read on a loaded machine (seen:
# 93 s with two watchdog resyncs, each reading the sets again), short
# enough to expire within the test.
TMO=${NFO_STREAM_SHORT_S:-150}
SHORT=(10.99.0.1 11.250.0.1 11.250.0.2 11.250.0.3)

nfo_init
nfo_pair

python3 - "$N" "$NB" "$TMO" "${SHORT[@]}" >"$NFO_T/big.nft" <<'EOF'
import ipaddress, sys
n, nb, tmo, short = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
print("""table inet bl {
	set v4 { type ipv4_addr; flags timeout; timeout 1h; }
	set v4b { type ipv4_addr; flags timeout; timeout 1h; }
	chain pre {
		type filter hook prerouting priority -10; policy accept;
		ip saddr @v4 counter drop comment "v4"
		ip saddr @v4b counter drop comment "v4b"
	}
}""")
def adds(name, base, count):
    b = int(ipaddress.IPv4Address(base))
    for i in range(0, count, 10000):
        print("add element inet bl %s { %s }" % (name, ", ".join(
            str(ipaddress.IPv4Address(b + j)) for j in range(i, min(count, i + 10000)))))
adds("v4", "11.0.0.0", n)
adds("v4b", "13.0.0.0", nb)
print("add element inet bl v4 { %s }" % ", ".join("%s timeout %ds" % (a, tmo) for a in short))
EOF
ip netns exec "$NS_R" nft -f "$NFO_T/big.nft" || die "nft -f of the set failed"
T0=$(python3 -c "import time; print(time.clock_gettime(time.CLOCK_MONOTONIC))")
secs() { # since T0
	python3 -c "import time; print(round(time.clock_gettime(time.CLOCK_MONOTONIC) - $T0, 2))"
}
# in_set ADDR: nftables still holds ADDR in v4 (read whole first: grep -q
# leaving early would fail nft with SIGPIPE).
in_set() {
	local out
	out=$(ip netns exec "$NS_R" nft list set inet bl v4) || die "nft list set failed"
	grep -qw -- "$1" <<<"$out"
}

export NFO_RUN="$NFO_T/run"
# The first status answer with the fast path enabled.
python3 - "$NFO_T/first.json" <<'EOF' &
import json, os, socket, sys, time
out, run = sys.argv[1], os.environ["NFO_RUN"]
t0 = time.monotonic()
while time.monotonic() - t0 < 600:
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(os.path.join(run, "control.sock"))
        s.sendall(b"status json\n")
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        st = json.loads(data.decode())
    except (OSError, ValueError):
        time.sleep(0.01)
        continue
    if st.get("fast_path") == "enabled" and st.get("interfaces") and \
       all(i["attached"] for i in st["interfaces"]):
        json.dump({"t": time.monotonic() - t0,
                   "sets": {x["name"]: x for x in st.get("sets", [])}}, open(out, "w"))
        break
    time.sleep(0.01)
EOF
POLLER=$!
NFO_PIDS+=("$POLLER")

nfo_daemon_start --nowait --attach "$IF_R:xdp"
wait "$POLLER" || die "the poller failed"
[ -s "$NFO_T/first.json" ] || { nfo_daemon_log; die "the fast path did not go live"; }
python3 - "$NFO_T/first.json" "$N" <<'EOF' || NFO_FAILED=$((NFO_FAILED + 1))
import json, sys
f, n = json.load(open(sys.argv[1])), int(sys.argv[2])
v4 = f["sets"]["v4"]
print("live after %.2f s: v4 %d elements (loading %s, %s)"
      % (f["t"], v4["elements"], v4["loading"], v4["fast_path"]))
if not v4["loading"] or v4["elements"] >= n or v4["fast_path"] != "maps":
    print("FAIL: the fast path should be live with v4 in the maps and still loading")
    sys.exit(1)
EOF

# An element added to v4b while the sets load (one is read at a time). A
# watchdog trip meanwhile (the daemon stalled over a second, as a loaded
# machine may stall it during the load) is a full resync: the sets are read
# again from the start, the element with them, passed to nftables (which
# drops it) until read. Such an attempt tells nothing: it is made again with
# another element, at most 3 times; an attempt without a trip must drop.
[ "$(nfo_get "nset('v4b')['loading']")" = true ] || log "v4b was read before the add: not the case meant"
ADDED=0
for try in 1 2 3; do
	B=12.0.0.$((try + 1))
	TRIPS=$(nfo_get "st['watchdog']['trips']")
	GEN=$(nfo_get 'st["generation"]')
	SIP=$(nfo_get 'st["set_updates_in_place"]')
	RR=$(nfo_get 'st["set_rereads"]')
	echo "add element inet bl v4b { $B }" | nfo_nft
	ADDED=$((ADDED + 1))
	nfo_wait "st['generation'] != $GEN and st['fast_path'] == 'enabled' and \
st['set_expiry_pending'] == 0" 120 ||
		{ nfo_daemon_log; die "the daemon did not follow the add during the load"; }
	inplace=0 dropped=0
	python3 "$CHECK" assert "st['set_updates_in_place'] == $SIP + 1 and st['set_rereads'] == $RR and \
st['set_updates_disabled'] == 0" && inplace=1
	python3 "$CHECK" case "during the load: an element added to a loading set drops" \
		"drop=v4b --dport 9 --src $B" && dropped=1
	if [ "$inplace" = 1 ] && [ "$dropped" = 1 ]; then
		ok "the add during the load ($B): applied in place, the set not read whole"
		break
	fi
	if [ "$(nfo_get "st['watchdog']['trips']")" = "$TRIPS" ] || [ "$try" = 3 ]; then
		fail "an element added to a loading set ($B, attempt $try): in place $inplace, dropped $dropped"
		break
	fi
	log "the watchdog tripped during attempt $try (a full resync): again with another element"
done

nfo_wait "st['fast_path'] == 'enabled' and not any(s.get('loading') for s in st['sets'])" 300 ||
	{ nfo_daemon_log; die "the set did not finish loading"; }
log "v4 read whole $(secs) s after nft -f"
# no notification came: the daemon holds every element the dump returned
nfo_assert "nset('v4')['elements'] == $N + ${#SHORT[@]}" "v4 loaded: all $((N + ${#SHORT[@]})) elements"
nfo_assert "nset('v4b')['elements'] == $NB + $ADDED" "v4b read on after the add: all $((NB + ADDED)) elements"
nfo_case "after the load: v4b's elements drop" "drop=v4b --dport 9 --src 13.0.200.1" \
	"drop=v4b --dport 9 --src $B"
nfo_case "after the load: banned for 1h" "drop=v4 --dport 9 --src 11.0.3.7" \
	"drop=v4 --dport 9 --src 11.2.191.63"
DT=$(secs)
python3 -c "import sys; sys.exit(0 if $DT < $TMO - 5 else 1)" ||
	die "the set was read $DT s after the short bans were added, of their $TMO s: too slow to tell"
nfo_case "after the load: a short ban drops in the fast path" "drop=v4 --dport 9"
nfo_case "after the load: another address passes" "pass --dport 9 --src 14.0.0.1"

# Wait for nftables itself to let the short bans go (no notification).
for _ in $(seq 2400); do
	in_set "$S4" || break
	sleep 0.05
done
in_set "$S4" && die "nftables still holds $S4 two minutes after its $TMO s timeout"
ok "nftables expired $S4 $(secs) s after the add"
nfo_case "expired in nftables: delivered, by the fast path's own clock" \
	"pass --why decided_by_nftables --dport 9" "drop=v4 --dport 9 --src 11.0.3.7"
nfo_case "the other short bans too" "pass --dport 9 --src 11.250.0.2"

# A notified element on a set read whole: read whole again (the smaller
# set: that read blocks the event loop, and the watchdog turns the fast
# path off when it lasts a second), then dropped.
GEN=$(nfo_get 'st["generation"]')
U=$(nfo_get 'st["updates"]')
echo "add element inet bl v4b { 12.0.0.1 }" | nfo_nft
# (written whole: the generation is published before, live once updates moved)
nfo_wait "st['generation'] != $GEN and st['updates'] > $U and st['fast_path'] == 'enabled' and \
st['set_expiry_pending'] == 0 and not any(s.get('loading') for s in st['sets'])" 120 ||
	{ nfo_daemon_log; die "the daemon did not follow the add"; }
nfo_case "added after the load: dropped" "drop=v4b --dport 9 --src 12.0.0.1"
nfo_daemon_stop
nfo_done
