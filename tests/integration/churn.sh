#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A blocklist that a bouncer keeps changing (issue 8): 100,000 addresses in
# one set, then ~10 s of one transaction every 10 ms adding 4 addresses and
# deleting 4, while a flood comes from sources banned more than 10 ms
# earlier and the sender's own address is banned and unbanned every second.
# Element-only transactions are applied in place: the fast path never
# passes everything, drops the flood from banned sources, and drops nothing
# an unbanned source sends once the daemon made the unban live (its
# generation published; how soon after the commit is printed, the bench
# measures it).
#
# Counted exactly, frame by frame: the probes (the unbanned source's) go to
# a port with a drop rule of its own ahead of the flood's (same set, same
# verdict), so the fast path's per-rule counters tell its probe drops from
# its flood drops; nftables' counters of that rule and of a counting rule
# after it say what became of the probes it passed; the flood that reached
# the fast path is the rest of what its totals saw (a frame the veth lost
# is not one the fast path passed).
. "$(dirname "$0")/lib.sh"

nfo_init
nfo_pair

python3 - "$NFO_T/bl.nft" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("table inet bl {\n set v4 {\n  type ipv4_addr\n  elements = { ")
    f.write(", ".join("11.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255) for i in range(100000)))
    f.write(" }\n }\n")
    f.write(' chain input {\n  type filter hook input priority 0; policy accept;\n'
            '  udp dport 10 ip saddr @v4 counter drop comment "probe"\n'
            '  ip saddr @v4 counter drop comment "bl"\n'
            '  udp dport 10 counter comment "probe-seen"\n }\n}\n')
PY
ip netns exec "$NS_R" nft -f "$NFO_T/bl.nft"
nfo_daemon_start --nowait --attach "$IF_R:xdp"
nfo_wait 'st["fast_path"] == "enabled" and all(i["attached"] for i in st["interfaces"])' 60 ||
	{ nfo_daemon_log; die "daemon did not become ready"; }
# live before the set is read whole (stream.sh): the rest follows
nfo_wait "not nset('v4')['loading']" 120 || { nfo_daemon_log; die "the set did not finish loading"; }
nfo_assert "nset('v4')['fast_path'] == 'maps' and nset('v4')['elements'] == 100000" \
	"100,000 elements in the set maps"

python3 "$(dirname "$0")/churn.py" 10 >"$NFO_T/churn.json" || die "churn.py failed"
python3 - "$NFO_T/churn.json" <<'PY' || fail "churn results"
import json, sys
r = json.load(open(sys.argv[1]))
b, a = r["before"], r["after"]
def d(rule, key="packets"):
    return a["counts"][rule][key] - b["counts"][rule][key]
dis = a["totals"]["passed_by_reason"]["fast_path_disabled"] - \
      b["totals"]["passed_by_reason"]["fast_path_disabled"]
seen = (a["totals"]["dropped"] + a["totals"]["passed"]) - \
       (b["totals"]["dropped"] + b["totals"]["passed"])
probe_fp, probe_nft, probe_seen = d("probe"), d("probe", "nft_packets"), d("probe-seen", "nft_packets")
probe_reached = probe_fp + probe_nft + probe_seen
flood_reached = seen - probe_reached
flood_fp = d("bl")
print("transactions %d (%d committed), set updates %d (%d disabled), last set update %.2f ms" %
      (r["txns"], r["committed"], a["set_updates"] - b["set_updates"], a["set_updates_disabled"],
       a["last_set_update_ms"]))
print("flood: %d sent, %d reached the fast path, %d dropped there (%.2f%%)" %
      (r["flood_sent"], flood_reached, flood_fp, 100.0 * flood_fp / max(flood_reached, 1)))
lat = r["unban_live_ms"]
print("unbans live %s ms after their commit (as the test saw them, by status)" %
      (("%.1f-%.1f" % (min(lat), max(lat))) if lat else "never"))
print("probes: %d sent in %d cycles, %d reached the fast path: %d dropped there, %d by nftables, "
      "%d passed on (%d received)" % (r["unban_sent"], r["cycles"], probe_reached, probe_fp,
                                      probe_nft, probe_seen, r["unban_arrived"]))
ok = True
def check(cond, what):
    global ok
    print(("ok: " if cond else "FAIL: ") + what)
    ok &= bool(cond)
check(r["txns"] >= 500 and r["errors"] == 0, "at least 500 transactions, none refused")
check(a["set_updates"] - b["set_updates"] >= 100, "element updates applied in place")
check(a["set_updates_disabled"] == 0, "no element update disabled the fast path")
check(a["updates"] - b["updates"] == a["set_updates"] - b["set_updates"],
      "no full update during the churn")
check(dis == 0, "the fast path never passed everything (%d passed as disabled)" % dis)
check(a["fast_path"] == "enabled", "fast path enabled at the end")
check(r["flood_sent"] >= 1000 and flood_reached >= 0.5 * r["flood_sent"],
      "flood sent and reached the fast path (%d of %d)" % (flood_reached, r["flood_sent"]))
# margin for a loaded machine: a source banned 10 ms earlier whose update
# the daemon had not made live yet passes to nftables, which drops it
check(flood_fp >= 0.97 * flood_reached and flood_fp <= flood_reached,
      "flood from sources banned >10 ms dropped in the fast path (%d of %d)" %
      (flood_fp, flood_reached))
check(r["cycles"] >= 5 and probe_reached >= 0.5 * r["unban_sent"],
      "probes reached the fast path (%d of %d)" % (probe_reached, r["unban_sent"]))
check(r["unban_not_live"] == 0, "every unban went live (%d not within 30 s)" % r["unban_not_live"])
check(probe_fp == 0, "no probe from a source whose unban was live dropped in the fast path "
      "(%d of %d)" % (probe_fp, probe_reached))
sys.exit(0 if ok else 1)
PY
nfo_assert "nset('v4')['elements'] == $(ip netns exec "$NS_R" nft -j list set inet bl v4 |
	python3 -c 'import json,sys; print(sum(len(x["set"].get("elem", [])) for x in json.load(sys.stdin)["nftables"] if "set" in x))')" \
	"the model holds what nftables holds"
grep -q "updated in place" "$DAEMON_LOG" || fail "no in-place update in the daemon log"
nfo_daemon_stop
nfo_done
