#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `nft-offload explain`: every chain with its hook and priority, every rule
# with its handle, its text as `nft list` prints it, offloaded / partly /
# not, and why. Texts are checked against nft's own listing; offload states
# against status; explain works from another network namespace; while the
# ruleset keeps changing, explain never shows a text of another generation.
. "$(dirname "$0")/lib.sh"

nfo_init
nfo_pair

nfo_nft <<EOF
table inet fw {
	set blocklist {
		type ipv4_addr
		flags interval
		elements = { 192.0.2.0/24, 198.51.100.0/24,
			     203.0.113.0/24 }
	}
	chain input {
		type filter hook input priority 0; policy drop;
		ct state established,related accept
		ip saddr @blocklist drop comment "bl { # handle 99 }"
		meta mark 1 drop
		tcp dport 22 log prefix "ssh } " accept
		udp dport { 53, 123 } counter accept
		jump more
	}
	chain more {
		tcp dport vmap { 80 : accept, 443 : accept, 8080 : drop }
	}
	chain out {
		type filter hook output priority 0; policy accept;
		tcp dport 25 drop
	}
}
table netdev nd {
	chain ing {
		type filter hook ingress device "$IF_R" priority 0; policy accept;
		udp dport 9 drop
	}
}
EOF
nfo_daemon_start --attach "$IF_R:xdp"

EXPLAIN="$NFO_T/explain.json"
"$NFO_BIN" explain --json --run-dir "$NFO_RUN" >"$EXPLAIN" || die "explain --json failed"

# check_explain FILE NS: texts equal nft's listing, states equal status.
check_explain() {
	python3 - "$1" "$2" <<'EOF'
import json, re, subprocess, sys, os
ex = json.load(open(sys.argv[1]))
ns = sys.argv[2]
st = json.loads(subprocess.run([os.environ["NFO_BIN"], "status", "--json", "--run-dir",
                                os.environ["NFO_RUN"]], capture_output=True, text=True,
                               check=True).stdout)
assert ex["text_unavailable"] is None, "text unavailable: %s" % ex["text_unavailable"]
assert ex["generation"] == st["generation"], "generations differ"
status = {(r["family"], r["table"], r["chain"], r["handle"]): r for r in st["rules"]}
n = 0
for c in ex["chains"]:
    listing = subprocess.run(["ip", "netns", "exec", ns, "nft", "-a", "-s", "list", "chain",
                              c["family"], c["table"], c["chain"]],
                             capture_output=True, text=True, check=True).stdout
    want = {}
    for line in listing.splitlines():
        m = re.match(r"^\t\t(.*) # handle (\d+)$", line)
        if m:
            want[int(m.group(2))] = m.group(1)
    assert sorted(want) == sorted(r["handle"] for r in c["rules"]), \
        "%s: handles %s, nft lists %s" % (c["chain"], [r["handle"] for r in c["rules"]], sorted(want))
    for r in c["rules"]:
        assert r["text"] == want[r["handle"]], "handle %d: %r, nft: %r" % (
            r["handle"], r["text"], want[r["handle"]])
        s = status[(c["family"], c["table"], c["chain"], r["handle"])]
        assert r["offload"] == s["offload"] and r["reason"] == s["reason"], \
            "handle %d: explain %s/%s, status %s/%s" % (r["handle"], r["offload"], r["reason"],
                                                         s["offload"], s["reason"])
        assert (r["offload"] == "full") == (r["reason"] is None), "handle %d" % r["handle"]
        n += 1
print("%d rules in %d chains: texts as nft lists them, states as status says" %
      (n, len(ex["chains"])))
EOF
}
out=$(check_explain "$EXPLAIN" "$NS_R") && ok "$out" || fail "explain: $out"

# The expected verdict per rule, by its text.
python3 - "$EXPLAIN" <<'EOF' && ok "offload state and reason per rule as expected" || fail "offload states"
import json, sys
ex = json.load(open(sys.argv[1]))
rules = {r["text"]: r for c in ex["chains"] for r in c["rules"]}
want = {
    "ct state established,related accept": ("full", None),
    'ip saddr @blocklist drop comment "bl { # handle 99 }"': ("full", None),
    "meta mark 0x00000001 drop": ("partial", "meta mark"),
    'tcp dport 22 log prefix "ssh } " accept': ("none", "log"),
    "udp dport { 53, 123 } counter accept": ("full", None),
    "jump more": ("full", None),
    "tcp dport vmap { 80 : accept, 443 : accept, 8080 : drop }": ("full", None),
    "tcp dport 25 drop": ("none", "not decided on receive"),
    "udp dport 9 drop": ("full", None),
}
bad = 0
for text, (state, why) in want.items():
    r = rules.get(text)
    if r is None:
        print("no rule %r in explain (have %s)" % (text, sorted(rules)))
        bad += 1
    elif r["offload"] != state or (why and why not in (r["reason"] or "")):
        print("%r: %s (%s), want %s (%s)" % (text, r["offload"], r["reason"], state, why))
        bad += 1
# a ct test is decided for TCP and UDP only: explain says so on that rule alone
for text, r in rules.items():
    says = "known for TCP and UDP only" in (r.get("conntrack") or "")
    if says != text.startswith("ct state"):
        print("%r: conntrack note %r" % (text, r.get("conntrack")))
        bad += 1
chains = {(c["table"], c["chain"]): c for c in ex["chains"]}
if not (chains[("fw", "input")]["hook"] == "input" and chains[("fw", "input")]["priority"] == 0
        and chains[("fw", "input")]["policy"] == "drop" and chains[("fw", "input")]["considered"]):
    print("fw input chain: %s" % chains[("fw", "input")])
    bad += 1
if chains[("fw", "out")]["considered"] or not chains[("fw", "out")]["reason"]:
    print("fw out should not be considered, with a reason: %s" % chains[("fw", "out")])
    bad += 1
if chains[("nd", "ing")]["hook"] != "ingress" or not chains[("nd", "ing")]["considered"]:
    print("nd ing: %s" % chains[("nd", "ing")])
    bad += 1
sys.exit(1 if bad else 0)
EOF

# The text form: each rule's line, and the reason under it.
"$NFO_BIN" explain --run-dir "$NFO_RUN" >"$NFO_T/explain.txt"
if grep -q '^inet fw input: hook input priority 0, policy drop$' "$NFO_T/explain.txt" &&
	grep -q '^  partial handle [0-9]* *meta mark 0x00000001 drop$' "$NFO_T/explain.txt" &&
	grep -q '^ *\^ not evaluated by the fast path: meta mark$' "$NFO_T/explain.txt"; then
	ok "text form: chain header, rule text, reason"
else
	cat "$NFO_T/explain.txt"
	fail "text form"
fi

# From another network namespace (here: the sender's), through the socket.
ip netns exec "$NS_S" "$NFO_BIN" explain --json --run-dir "$NFO_RUN" >"$NFO_T/explain-s.json" ||
	die "explain from another namespace failed"
out=$(check_explain "$NFO_T/explain-s.json" "$NS_R") &&
	ok "from another namespace: $out" || fail "explain from another namespace: $out"

# While rules keep being added: texts are complete for the generation
# explain reports, or absent with a reason; never of another generation.
(
	for i in $(seq 1 60); do
		ip netns exec "$NS_R" nft add rule inet fw more udp dport $((20000 + i)) drop
	done
) &
CHURN=$!
good=0 unavailable=0
for i in $(seq 1 15); do
	"$NFO_BIN" explain --json --run-dir "$NFO_RUN" >"$NFO_T/churn.json" || die "explain failed"
	r=$(python3 - "$NFO_T/churn.json" <<'EOF'
import json, sys
ex = json.load(open(sys.argv[1]))
rules = [r for c in ex["chains"] for r in c["rules"]]
if ex["text_unavailable"]:
    print("unavailable" if all(r["text"] is None for r in rules) else "BAD texts despite: " + ex["text_unavailable"])
elif all(r["text"] for r in rules):
    print("good")
else:
    print("BAD missing texts: %s" % [r["handle"] for r in rules if not r["text"]])
EOF
	)
	case $r in
	good) good=$((good + 1)) ;;
	unavailable) unavailable=$((unavailable + 1)) ;;
	*) fail "explain during changes: $r" ;;
	esac
done
wait "$CHURN"
ok "explain during 60 rule additions: $good complete, $unavailable without texts (ruleset moved)"
nfo_wait "st['fast_path'] == 'enabled'" || die "daemon did not settle"
"$NFO_BIN" explain --json --run-dir "$NFO_RUN" >"$EXPLAIN"
out=$(check_explain "$EXPLAIN" "$NS_R") && ok "after the changes: $out" || fail "explain: $out"

nfo_daemon_stop
nfo_done
