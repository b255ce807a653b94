#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A blocklist that a bouncer keeps changing (issue 8): 100,000 addresses in
# one set, then ~10 s of one transaction every 10 ms adding 4 addresses and
# deleting 4, while a flood comes from sources banned at least 50 ms
# earlier and the sender's own address is banned and unbanned every second.
# Element-only transactions are applied in place: the fast path never
# passes everything, drops the flood from banned sources, and delivers
# what an unbanned source sends right after the unban.
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
            '  ip saddr @v4 counter drop comment "bl"\n }\n}\n')
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
dis = a["totals"]["passed_by_reason"]["fast_path_disabled"] - \
      b["totals"]["passed_by_reason"]["fast_path_disabled"]
dropped = a["totals"]["dropped"] - b["totals"]["dropped"]
print("transactions %d (%d committed), set updates %d (%d disabled), flood %d sent, %d dropped in the fast "
      "path; unban: %d of %d delivered in %d cycles; last set update %.2f ms" %
      (r["txns"], r["committed"], a["set_updates"] - b["set_updates"], a["set_updates_disabled"],
       r["flood_sent"], dropped, r["unban_arrived"], r["unban_sent"], r["cycles"],
       a["last_set_update_ms"]))
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
check(dis == 0, "no packet passed because the fast path was off (%d)" % dis)
check(a["fast_path"] == "enabled", "fast path enabled at the end")
check(r["flood_sent"] >= 1000, "flood sent")
check(dropped >= 0.99 * r["flood_sent"] and dropped <= r["flood_sent"],
      "flood from banned sources dropped in the fast path (%d of %d)" % (dropped, r["flood_sent"]))
check(r["cycles"] >= 5 and r["unban_arrived"] == r["unban_sent"],
      "every packet of an unbanned source delivered (%d of %d)" % (r["unban_arrived"], r["unban_sent"]))
sys.exit(0 if ok else 1)
PY
nfo_assert "nset('v4')['elements'] == $(ip netns exec "$NS_R" nft -j list set inet bl v4 |
	python3 -c 'import json,sys; print(sum(len(x["set"].get("elem", [])) for x in json.load(sys.stdin)["nftables"] if "set" in x))')" \
	"the model holds what nftables holds"
grep -q "updated in place" "$DAEMON_LOG" || fail "no in-place update in the daemon log"
nfo_daemon_stop
nfo_done
