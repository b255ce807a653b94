#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A daemon alive but not running (SIGSTOP here; a hang alike) must not leave
# its fast path stale for long: the watchdog timer turns it off about a
# second after the last heartbeat, whatever nftables does meanwhile. When the
# daemon runs again it resyncs and the fast path follows the new ruleset. A
# daemon that runs is never tripped, and its timer goes with it.
#
# Usage: watchdog.sh xdp|tc
. "$(dirname "$0")/lib.sh"

MODE=${1:-xdp}
nfo_init
nfo_pair

nfo_nft <<'EOF2'
table inet t {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport 9 drop comment "d9"
		udp dport 10 drop comment "d10"
	}
}
EOF2
nfo_daemon_start --attach "$IF_R:$MODE"
nfo_case "before" "drop=d9 --dport 9" "drop=d10 --dport 10" "pass --dport 11"
nfo_assert "st['watchdog']['armed'] and st['watchdog']['bound_ms'] == 1000 and st['watchdog']['error'] is None" \
	"the watchdog is armed (1000 ms)"
# Several timer periods and heartbeats: a running daemon is never tripped.
sleep 1.5
# Heartbeat fresh: younger than the bound (a beat every 200 ms; a loaded
# machine may run the daemon a few hundred ms late, which is no trip).
nfo_assert "st['watchdog']['trips'] == 0 and st['watchdog']['checks'] >= 10 and 0 <= st['watchdog']['heartbeat_age_ms'] < st['watchdog']['bound_ms'] and st['fast_path'] == 'enabled'" \
	"running: the timer runs (>= 10 checks), heartbeat fresh, never tripped"

# The daemon's timer map, to see it go with the daemon.
WD_MAPS=()
for f in /proc/"$DAEMON_PID"/fdinfo/*; do
	id=$(sed -n 's/^map_id:[[:space:]]*//p' "$f" 2>/dev/null) || continue
	[ -n "$id" ] || continue
	bpftool map show id "$id" 2>/dev/null | nfo_has 'name nfo_wd_timers' && WD_MAPS+=("$id")
done
[ "${#WD_MAPS[@]}" -eq 1 ] && ok "the daemon holds one watchdog timer map (id ${WD_MAPS[0]})" ||
	fail "expected one nfo_wd_timers map held by the daemon, found ${#WD_MAPS[@]}"

# Stopped: nobody follows nftables. The accept inserted in front of d9 must
# win within about a second: the fast path passes everything. The sockets
# are opened first, so that the time measured is the fast path's, from
# SIGSTOP to the first frame delivered.
python3 - "$DAEMON_PID" <<'PY' || fail "the stopped daemon's fast path kept dropping what nftables accepts"
import os, signal, subprocess, sys, time
sys.path.insert(0, os.path.join(os.environ["NFO_SRC"], "tests", "tools"))
import pkt

spec = pkt.PacketSpec(src=os.environ["NFO_S4"], dst=os.environ["NFO_R4"], proto="udp", dport=9,
                      payload=pkt.tagged("wd"))
frames = pkt.build_frames(spec, os.environ["NFO_MAC_S"], os.environ["NFO_MAC_R"])
with pkt.netns(os.environ["NFO_NS_R"]):
    rx = pkt.Receiver(("udp",))
tx = pkt.Sender(os.environ["NFO_IF_S"], os.environ["NFO_NS_S"])

t0 = time.monotonic()
os.kill(int(sys.argv[1]), signal.SIGSTOP)
subprocess.run(["ip", "netns", "exec", os.environ["NFO_NS_R"], "nft", "insert", "rule", "inet",
                "t", "input", "udp", "dport", "9", "accept", "comment", '"a9"'], check=True)
changed = (time.monotonic() - t0) * 1000
sent = 0
# 3 s from the change made (starting nft may take a while on a loaded
# machine): the bound is the fast path's, about a second after SIGSTOP.
while time.monotonic() - t0 < 3.0 + changed / 1000:
    tx.send(frames)
    sent += 1
    rx.poll(0.02)
    if rx.get("tag/wd"):
        break
got = rx.get("tag/wd")
ms = (time.monotonic() - t0) * 1000
if not got:
    print("FAIL: nothing arrived within %.0f ms of SIGSTOP (change made at %.0f ms, %d sent)"
          % (ms, changed, sent))
    sys.exit(1)
# The frames before the first arrival met the stale fast path: how many
# depends on how long the change took to make on this machine.
print("ok: fast path off %.0f ms after SIGSTOP (change made at %.0f ms; %d of %d frames "
      "sent after it were still dropped by the stale fast path)" % (ms, changed, sent - got, sent))
PY

kill -CONT "$DAEMON_PID"
nfo_wait "st['fast_path'] == 'enabled' and st['watchdog']['trips'] >= 1 and rule('a9')['offloaded']" 10 ||
	die "the daemon did not resync after the watchdog tripped"
grep -q "watchdog: no heartbeat" "$DAEMON_LOG" && ok "the daemon said the watchdog tripped" ||
	fail "the log does not say the watchdog tripped"
nfo_case "after the resync: the accept is honored, d10 still offloaded" \
	"pass --dport 9" "drop=d10 --dport 10" "pass --dport 11"

# Running again: no trip but the one of the stop, over several bounds.
sleep 2.5
nfo_assert "st['watchdog']['trips'] == 1 and st['fast_path'] == 'enabled'" \
	"running again: no further trip (1 in all)"

nfo_daemon_stop
for id in "${WD_MAPS[@]}"; do
	if nfo_poll 30 sh -c "! bpftool map show id $id >/dev/null 2>&1"; then
		ok "the watchdog timer map went with the daemon"
	else
		fail "the watchdog timer map $id outlived the daemon"
	fi
done
nfo_done
