#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A large set whose lookups only lead to drop is offloaded before it is read
# whole (the kernel's element dump is quadratic: a million elements take
# tens of seconds); the daemon reads the rest while the fast path runs. Here
# 200,000 addresses (more than the 32,768 read before going live): the
# fast path must go live with the set still loading, drop from an element a
# notification added meanwhile, deliver everything else (a deleted element,
# an address in an accept set ahead of it), and end with exactly nft's
# elements although elements were added and deleted during the load. A
# large set read by an accept rule is read whole before it is offloaded.
# status answers throughout.
. "$(dirname "$0")/lib.sh"

N=${NFO_STREAM_ELEMENTS:-200000}
NA=${NFO_STREAM_ALLOW:-140000}

nfo_init
nfo_pair

# v4: N addresses from 11.0.0.0 up; allow: NA from 13.0.0.0 up and 11.0.0.1.
python3 - "$N" "$NA" >"$NFO_T/big.nft" <<'EOF'
import ipaddress, sys
n, na = int(sys.argv[1]), int(sys.argv[2])
print("""table inet bl {
	set v4 { type ipv4_addr; }
	set allow { type ipv4_addr; }
	chain pre {
		type filter hook prerouting priority -10; policy accept;
		ip saddr @allow accept comment "allow"
		ip saddr @v4 counter drop comment "v4"
	}
}""")
def adds(name, base, count, chunk=10000):
    b = int(ipaddress.IPv4Address(base))
    for i in range(0, count, chunk):
        print("add element inet bl %s { %s }" % (name, ", ".join(
            str(ipaddress.IPv4Address(b + j)) for j in range(i, min(count, i + chunk)))))
adds("v4", "11.0.0.0", n)
adds("allow", "13.0.0.0", na)
print("add element inet bl allow { 11.0.0.1 }")
EOF
ip netns exec "$NS_R" nft -f "$NFO_T/big.nft" || die "nft -f of the sets failed"

# Changes made while the set loads: S4 added, 2,000 elements deleted and
# 2,000 new ones added, in batches, one element deleted then added again.
python3 - >"$NFO_T/churn.nft" <<'EOF'
import ipaddress
a = lambda s, i: str(ipaddress.IPv4Address(int(ipaddress.IPv4Address(s)) + i))
for k in range(10):
    print("delete element inet bl v4 { %s }" % ", ".join(a("11.0.1.0", k * 200 + j) for j in range(200)))
    print("add element inet bl v4 { %s }" % ", ".join(a("12.0.0.0", k * 200 + j) for j in range(200)))
print("delete element inet bl v4 { 11.0.0.50 }")
print("delete element inet bl v4 { 11.0.0.60 }")
print("add element inet bl v4 { 11.0.0.60 }")
EOF

export NFO_RUN="$NFO_T/run"
# The poller: status json on the control socket every 10 ms from the
# daemon's start until no set is loading; records the first answer with
# the fast path enabled, and every answer's time.
python3 - "$NFO_T/poll.stop" "$NFO_T/poll.json" "$NFO_T/live" <<'EOF' &
import json, os, socket, sys, time
stop, out, live = sys.argv[1], sys.argv[2], sys.argv[3]
run = os.environ["NFO_RUN"]
lat, first, errors, last = [], None, [], None
t0 = time.monotonic()

def ask(req):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(os.path.join(run, "control.sock"))
    s.sendall(req)
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    return data.decode()

while not os.path.exists(stop) and time.monotonic() - t0 < 600:
    t = time.monotonic()
    try:
        st = json.loads(ask(b"status json\n"))
    except (OSError, ValueError) as e:
        if first is not None:
            errors.append("status json: %s" % e)
        time.sleep(0.01)
        continue
    lat.append(time.monotonic() - t)
    sets = {x["name"]: x for x in st.get("sets", [])}
    if first is None and st.get("fast_path") == "enabled" and st.get("interfaces") and \
       all(i["attached"] for i in st["interfaces"]):
        first = {"t": t - t0, "sets": sets}
        open(live, "w").close()
    last = sets
    if first is not None and sets and not any(x.get("loading") for x in sets.values()):
        break
    time.sleep(0.01)
json.dump({"lat": lat, "first": first, "last": last, "errors": errors}, open(out, "w"))
EOF
POLLER=$!
NFO_PIDS+=("$POLLER")

nfo_daemon_start --nowait --attach "$IF_R:xdp"
for i in $(seq 1200); do
	[ -e "$NFO_T/live" ] && break
	nfo_alive "$DAEMON_PID" || { nfo_daemon_log; die "the daemon exited"; }
	sleep 0.1
done
[ -e "$NFO_T/live" ] || { nfo_daemon_log; die "the fast path did not go live"; }
log "fast path live"

# While the set loads: changes through nft, and the sender's address added
# (a notified element: in the fast path at once).
U=$(nfo_get 'st["updates"]')
echo "add element inet bl v4 { $S4 }" | nfo_nft
# live once the daemon read the notification (late on a loaded machine),
# and that while v4 still loads
nfo_wait "st['updates'] > $U and st['fast_path'] == 'enabled'" ||
	{ nfo_daemon_log; die "the added element did not go live"; }
nfo_assert "nset('v4')['loading']" "the added element went live while v4 still loads"
nfo_case "while loading: an added element drops in the fast path" "drop=v4 --dport 9"
ip netns exec "$NS_R" nft -f "$NFO_T/churn.nft" || die "the changes during the load failed"

wait "$POLLER" || die "the poller failed"
nfo_wait "st['fast_path'] == 'enabled' and not any(s.get('loading') for s in st['sets'])" 300 ||
	{ nfo_daemon_log; die "the set did not finish loading"; }

python3 - "$NFO_T/poll.json" "$N" "$NA" <<'EOF' || NFO_FAILED=$((NFO_FAILED + 1))
import json, sys
s = json.load(open(sys.argv[1]))
n, na = int(sys.argv[2]), int(sys.argv[3])
ok = True
def bad(msg):
    global ok
    print("FAIL: " + msg)
    ok = False
f = s["first"]
v4, allow = f["sets"]["v4"], f["sets"]["allow"]
print("live after %.2f s: v4 %d elements (loading %s), allow %d (loading %s)"
      % (f["t"], v4["elements"], v4["loading"], allow["elements"], allow["loading"]))
if not v4["loading"] or v4["elements"] >= n or v4["fast_path"] != "maps":
    bad("the fast path should be live with v4 in the maps and still loading")
if allow["loading"] or allow["elements"] != na + 1:
    bad("allow (read by an accept rule) must be whole before it is offloaded")
for e in s["errors"]:
    bad(e)
lat = s["lat"]
print("status json: %d answers, max %.1f ms, mean %.1f ms"
      % (len(lat), max(lat) * 1e3, sum(lat) / len(lat) * 1e3))
if max(lat) > 1.0:
    bad("a status answer took %.0f ms (target 100 ms, limit here 1 s)" % (max(lat) * 1e3))
sys.exit(0 if ok else 1)
EOF

# The same elements as nft.
WANT=$(ip netns exec "$NS_R" nft -j list set inet bl v4 |
	python3 -c 'import json,sys; print(sum(len(o["set"].get("elem", [])) for o in json.load(sys.stdin)["nftables"] if "set" in o))')
nfo_assert "nset('v4')['elements'] == $WANT and not nset('v4')['loading']" \
	"v4 loaded: the daemon holds nft's $WANT elements"
nfo_case "after the load: an element added during it" "drop=v4 --dport 9 --src 12.0.7.207"
nfo_case "after the load: an element deleted during it passes" "pass --dport 9 --src 11.0.0.50"
nfo_case "after the load: deleted and added again drops" "drop=v4 --dport 9 --src 11.0.0.60"
nfo_case "after the load: allowed ahead of the drop passes" "pass --dport 9 --src 11.0.0.1"
nfo_case "after the load: another address passes" "pass --dport 9 --src 14.0.0.1"
nfo_daemon_stop
nfo_done
