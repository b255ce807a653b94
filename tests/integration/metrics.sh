#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `nft-offload status --prometheus` and the daemon's --metrics-listen
# endpoint: the text is the Prometheus exposition format (parsed by the
# prometheus_client parser and checked strictly by hand: HELP and TYPE
# before each family's samples, names, label escaping, counters in _total),
# its values equal `status --json`, and a scrape of GET /metrics answers the
# same; other paths are 404, clients that never finish their request do not
# stall the daemon.
. "$(dirname "$0")/lib.sh"

nfo_init
nfo_pair

# nft strings take no escapes: a backslash is the one character of a
# comment the label must escape (unit tests cover quotes and newlines).
nfo_nft <<'NFT'
table inet fw {
	set blocked {
		type ipv4_addr
		elements = { 192.0.2.1, 192.0.2.2 }
	}
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr @blocked drop comment "blocked \ set"
		udp dport 9 drop comment "d9"
		udp dport 19 drop
		tcp dport 80 accept
	}
	chain forwarded {
		type filter hook forward priority 0; policy drop;
	}
}
NFT
PORT=9101
nfo_daemon_start --attach "$IF_R:xdp" --metrics-listen "127.0.0.1:$PORT"

nfo_case "drops" --count 7 "drop=d9 --dport 9" "pass --dport 10"
# a rule without a comment (nfo_case names rules by theirs)
nfo_pkt send --netns "$NS_S" -i "$IF_S" --dst-mac "$MAC_R" --src "$S4" --dst "$R4" \
	--proto udp --dport 19 --count 3
nfo_wait "st['totals']['dropped'] == 10" || fail "3 packets to port 19 not dropped"
nfo_settle

# A python that has the prometheus_client parser (the distribution's
# python3-prometheus-client, contrib/install-deps.sh installs it).
PY=
for p in python3 /usr/bin/python3; do
	if "$p" -c 'import prometheus_client.parser' 2>/dev/null; then
		PY=$p
		break
	fi
done
[ -n "$PY" ] || die "no python3 with prometheus_client (install python3-prometheus-client)"

"$NFO_BIN" status --prometheus --run-dir "$NFO_RUN" >"$NFO_T/metrics.txt" ||
	die "status --prometheus failed"
"$NFO_BIN" status --json --run-dir "$NFO_RUN" >"$NFO_T/status.json" || die "status --json failed"

# check_metrics FILE: the strict format check, then values against status.json.
check_metrics() {
	"$PY" - "$1" "$NFO_T/status.json" <<'PYEOF'
import json, re, sys
from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1]).read()
st = json.load(open(sys.argv[2]))

# Strict checks the library parser does not make.
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LVAL = r'"(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{%s=%s(,%s=%s)*\})? (\S+)$" % (NAME, NAME, LVAL, NAME, LVAL))
assert text.endswith("\n"), "no final newline"
families, seen, cur = {}, set(), None
for n, line in enumerate(text.split("\n")[:-1], 1):
    if line.startswith("# HELP "):
        name = line.split(" ")[2]
        assert re.fullmatch(NAME, name) and name.startswith("nft_offload_"), "line %d: %s" % (n, line)
        assert name not in families, "line %d: family %s twice" % (n, name)
        families[name] = None
        cur = name
    elif line.startswith("# TYPE "):
        _, _, name, typ = line.split(" ")
        assert name == cur and families[name] is None, "line %d: TYPE not after its HELP" % n
        assert typ in ("counter", "gauge"), "line %d: type %s" % (n, typ)
        assert (typ == "counter") == name.endswith("_total"), "line %d: counter names end in _total" % n
        families[name] = typ
    else:
        m = SAMPLE.match(line)
        assert m, "line %d: not a sample: %r" % (n, line)
        assert m.group(1) == cur and families[cur], "line %d: sample outside its family" % n
        float(m.group(4))
        series = line.rsplit(" ", 1)[0]
        assert series not in seen, "line %d: series twice" % n
        seen.add(series)

# The library parser, and the values.
vals = {}
for fam in text_string_to_metric_families(text):
    for s in fam.samples:
        vals.setdefault(s.name, []).append((s.labels, s.value))

def one(name, **labels):
    got = [v for l, v in vals.get(name, []) if l == labels]
    assert len(got) == 1, "%s%s: %d samples (%s)" % (name, labels, len(got), vals.get(name))
    return got[0]

assert one("nft_offload_fast_path_enabled") == (st["fast_path"] == "enabled")
assert one("nft_offload_generation") == st["generation"]
assert one("nft_offload_updates_total") == st["updates"]
assert one("nft_offload_set_updates_total") == st["set_updates"]
assert abs(one("nft_offload_last_update_seconds") * 1e3 - st["last_update_ms"]) < 0.001
assert one("nft_offload_diagram_edges") == st["diagram"]["edges"]
assert one("nft_offload_diagram_nodes") == st["diagram"]["nodes"]
for i in st["interfaces"]:
    assert one("nft_offload_interface_attached", interface=i["name"], mode=i["mode"],
               configured_mode=i["configured_mode"]) == i["attached"]
for s in st["sets"]:
    assert one("nft_offload_set_elements", family=s["family"], table=s["table"], set=s["name"],
               fast_path=s["fast_path"]) == s["elements"] == 2
comments = {"blocked \\ set", "d9"}
nrules = 0
for r in st["rules"]:
    l = dict(family=r["family"], table=r["table"], chain=r["chain"], handle=str(r["handle"]))
    c = [x for x in vals["nft_offload_rule_dropped_packets_total"] if
         {k: v for k, v in x[0].items() if k != "comment"} == l]
    assert len(c) == 1, "rule %s: %s" % (l, c)
    if "comment" in c[0][0]:
        l["comment"] = c[0][0]["comment"]
        comments.discard(l["comment"])
    assert one("nft_offload_rule_dropped_packets_total", **l) == r["packets"], l
    assert one("nft_offload_rule_dropped_bytes_total", **l) == r["bytes"], l
    assert one("nft_offload_rule_offloaded", **l) == r["offloaded"], l
    nrules += 1
assert nrules == 4 and not comments, "rules %d, comments not seen: %s" % (nrules, comments)
d9 = [r for r in st["rules"] if r["packets"] == 7]
assert len(d9) == 1 and d9[0]["bytes"] > 0, "d9 dropped 7: %s" % st["rules"]
assert 'comment="blocked \\\\ set"' in text, "backslash escaped in the label"
for p in st["policies"]:
    l = dict(family=p["family"], table=p["table"], chain=p["chain"], hook=p["hook"],
             policy=p["policy"])
    assert one("nft_offload_policy_dropped_packets_total", **l) == p["packets"]
    assert one("nft_offload_policy_dropped_bytes_total", **l) == p["bytes"]
t = st["totals"]
assert one("nft_offload_dropped_packets_total") == t["dropped"] == 10, t
assert one("nft_offload_dropped_bytes_total") == t["dropped_bytes"]
# Packets the host itself receives meanwhile (IPv6 neighbour discovery...)
# pass to nftables between the two reads: the metrics were read first.
for reason, n in t["passed_by_reason"].items():
    assert one("nft_offload_passed_packets_total", reason=reason) <= n, reason
assert sum(v for _, v in vals["nft_offload_passed_bytes_total"]) <= t["passed_bytes"]
assert one("nft_offload_passed_packets_total", reason="decided_by_nftables") >= 7
print("%d families, %d series; values as status --json says" % (len(families), len(seen)))
PYEOF
}
out=$(check_metrics "$NFO_T/metrics.txt" 2>&1) && ok "status --prometheus: $out" ||
	{ cat "$NFO_T/metrics.txt"; fail "status --prometheus: $out"; }

# The endpoint, from the daemon's namespace: the same text.
http() { # PATH [curl options]
	local path=$1
	shift
	ip netns exec "$NS_R" curl -sS --max-time 5 "$@" "http://127.0.0.1:$PORT$path"
}
http /metrics -D "$NFO_T/headers" -o "$NFO_T/scrape.txt" || die "GET /metrics failed"
if grep -qi '^HTTP/1\.[01] 200' "$NFO_T/headers" &&
	grep -qi '^Content-Type: text/plain; version=0.0.4' "$NFO_T/headers"; then
	ok "GET /metrics: 200, text format 0.0.4"
else
	cat "$NFO_T/headers"
	fail "GET /metrics headers"
fi
# The same text, but for what passed to nftables in between (the host's own
# background traffic): those counters may only have grown.
same_but_passed() {
	"$PY" - "$NFO_T/metrics.txt" "$NFO_T/scrape.txt" <<'PYEOF'
import sys
def split(path):
    fixed, passed = [], {}
    for line in open(path):
        if line.startswith("nft_offload_passed_"):
            k, v = line.rsplit(" ", 1)
            passed[k] = float(v)
        else:
            fixed.append(line)
    return fixed, passed
f1, p1 = split(sys.argv[1])
f2, p2 = split(sys.argv[2])
assert f1 == f2, "texts differ: %s" % [l for l in f2 if l not in f1][:5]
assert p1.keys() == p2.keys(), "passed series differ"
assert all(p2[k] >= p1[k] for k in p1), "a passed counter went down"
PYEOF
}
if out=$(same_but_passed 2>&1); then
	ok "GET /metrics answers what status --prometheus prints"
else
	diff "$NFO_T/metrics.txt" "$NFO_T/scrape.txt" | head -20 || true
	fail "GET /metrics differs from status --prometheus: $out"
fi
out=$(check_metrics "$NFO_T/scrape.txt" 2>&1) && ok "scrape: $out" || fail "scrape: $out"
code=$(http /other -o /dev/null -w '%{http_code}') || true
[ "$code" = 404 ] && ok "GET /other: 404" || fail "GET /other: $code, expected 404"
code=$(http /metrics -X POST -o /dev/null -w '%{http_code}') || true
[ "$code" = 405 ] && ok "POST /metrics: 405" || fail "POST /metrics: $code, expected 405"
code=$(http "/metrics?x=$(head -c 6000 /dev/zero | tr '\0' a)" -o /dev/null -w '%{http_code}') || true
[ "$code" = 431 ] && ok "oversized request: 431" || fail "oversized request: $code, expected 431"

# Clients that connect and never finish their request (more than the
# daemon serves at once): the daemon answers others meanwhile, and
# closes them after its timeout.
ip netns exec "$NS_R" python3 - "$PORT" >"$NFO_T/slow.out" 2>&1 <<'PYEOF' &
import socket, sys, time
socks = []
for i in range(20):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"GET /metrics HTTP/1.0\r\n")
    socks.append(s)
print("connected", flush=True)
t0 = time.monotonic()
closed = 0
for s in socks:
    s.settimeout(max(0.1, 10 - (time.monotonic() - t0)))
    try:
        closed += s.recv(100) == b""
    except (socket.timeout, ConnectionResetError):
        closed += 1
print("closed %d after %.1f s" % (closed, time.monotonic() - t0), flush=True)
PYEOF
SLOW=$!
NFO_PIDS+=("$SLOW")
nfo_poll 30 grep -q connected "$NFO_T/slow.out" || fail "idle clients did not connect"
if timeout 3 "$NFO_BIN" status --json --run-dir "$NFO_RUN" >/dev/null; then
	ok "status answers while 20 metrics clients stall"
else
	fail "status stalled by idle metrics clients"
fi
if http /metrics -o "$NFO_T/scrape2.txt" && [ -s "$NFO_T/scrape2.txt" ]; then
	ok "a scrape is answered while idle clients hold connections"
else
	fail "no scrape answered with idle clients"
fi
wait "$SLOW" || true
if grep -q '^closed 20 after' "$NFO_T/slow.out"; then
	ok "idle clients: $(tail -1 "$NFO_T/slow.out")"
else
	cat "$NFO_T/slow.out"
	fail "idle clients were not all closed"
fi

# The config file key; a port in use is a clear error.
cat >"$NFO_T/m.conf" <<CONF
interface $IF_R mode xdp
metrics-listen 127.0.0.1:$((PORT + 1))
CONF
nfo_daemon_stop
nfo_daemon_start --config "$NFO_T/m.conf"
# the daemon answers before its first fast path is live: poll for it
enabled=0
for _ in $(seq 100); do
	if ip netns exec "$NS_R" curl -sS --max-time 5 "http://127.0.0.1:$((PORT + 1))/metrics" |
		nfo_has '^nft_offload_fast_path_enabled 1$'; then
		enabled=1
		break
	fi
	sleep 0.1
done
if [ "$enabled" = 1 ]; then
	ok "metrics-listen in the configuration file"
else
	fail "metrics-listen in the configuration file"
fi
rc=0
ip netns exec "$NS_R" "$NFO_BIN" daemon --run-dir "$NFO_T/run2" --bpffs "$NFO_BPFFS" \
	--config "$NFO_T/empty.conf" --metrics-listen "127.0.0.1:$((PORT + 1))" \
	>"$NFO_T/busy.out" 2>&1 || rc=$?
if [ "$rc" -ne 0 ] && grep -q "cannot serve metrics on 127.0.0.1:$((PORT + 1)): Address already in use" "$NFO_T/busy.out"; then
	ok "port in use: exit $rc, a clear error"
else
	cat "$NFO_T/busy.out"
	fail "port in use: exit $rc"
fi
rc=0
"$NFO_BIN" daemon --metrics-listen localhost:80 >"$NFO_T/bad.out" 2>&1 || rc=$?
if [ "$rc" = 2 ] && grep -q 'IPV4:PORT or \[IPV6\]:PORT' "$NFO_T/bad.out"; then
	ok "--metrics-listen with a host name: refused"
else
	cat "$NFO_T/bad.out"
	fail "--metrics-listen localhost:80: exit $rc"
fi

nfo_daemon_stop
nfo_done
