#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Checks for the integration tests (lib.sh calls these; see its header).

  nfo_check.py wait --expr EXPR [--timeout S] [--pid PID]
      Polls `nft-offload status --json` until EXPR is true. Fails at the
      timeout, or at once if process PID (the daemon) is gone.
  nfo_check.py assert EXPR [--msg TEXT]
      Evaluates EXPR once against the daemon's status and the ruleset.
  nfo_check.py get EXPR
      Prints EXPR's value (strings bare, anything else as JSON).
  nfo_check.py case NAME [--count N] STEP...
      Sends packets and checks where they went (below).

EXPR is Python over:
  st                 the status JSON of the daemon (dict)
  rule(C)            st's entry of the rule whose nft comment is C (it adds
                     "nft_packets"/"nft_bytes": the rule's own nft counter)
  policy("f/t/c")    st's entry of base chain c of table t, family f
  iface(NAME)        st's entry of interface NAME
  nset(NAME)         st's entry of the named set NAME (one table only)
  nft(C)             the rule with comment C from `nft -j list ruleset`

A STEP is one shell word: "KIND[=TARGET] [pkt.py send options]". Addresses
default to the pair's (-4, the default, or -6); --dst overrides.
  drop=T   the fast path drops them: T's fast-path counter (T: rule comment
           or policy:f/t/c) moves by exactly the frames sent, bytes by their
           IP length, and nothing arrives
  kdrop=C  nftables drops them (rule C needs a `counter`): its nft counter
           moves by exactly N, the fast path drops none, nothing arrives
  gone=C   dropped by one of them (sound either way): fast-path + nft counter
           of C move by N together, nothing arrives
  pass     they arrive: the receiver counts exactly N, the fast path drops none
  sent     the fast path drops none (where they go is not checked)
A step may add --why REASON: the fast path passed its frames for that
reason: totals.passed_by_reason[REASON] moves by exactly the frames sent
(by all steps naming REASON).
With --no-daemon (no daemon running) only pass steps are allowed.
Every packet carries a payload tag so that only its own arrivals count.
Drops are sent first and waited for (their counters prove they were
processed); the passes after them.

Environment (lib.sh sets it): NFO_BIN, NFO_RUN, NFO_NS_S, NFO_NS_R,
NFO_IF_S, NFO_MAC_S, NFO_MAC_R, NFO_S4, NFO_R4, NFO_S6, NFO_R6.
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import pkt  # noqa: E402


class CheckError(Exception):
    pass


def env(k):
    v = os.environ.get(k)
    if not v:
        raise CheckError("environment variable %s is not set (use lib.sh)" % k)
    return v


def status(run_dir=None):
    try:
        r = subprocess.run([env("NFO_BIN"), "status", "--json", "--run-dir",
                            run_dir or env("NFO_RUN")],
                           capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        raise CheckError("nft-offload status timed out")
    if r.returncode != 0:
        raise CheckError("nft-offload status failed (%d): %s" % (r.returncode, r.stderr.strip()))
    try:
        return json.loads(r.stdout)
    except ValueError as e:
        raise CheckError("nft-offload status --json printed no JSON (%s): %r" % (e, r.stdout[:500]))


def nft_rules(ns=None):
    """comment -> nft rule object (with "counter": {packets, bytes} if any)."""
    # -t: without set elements (the rules and their counters are all we need)
    r = subprocess.run(["ip", "netns", "exec", ns or env("NFO_NS_R"), "nft", "-t", "-j", "list",
                        "ruleset"], capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        raise CheckError("nft -j list ruleset: %s" % r.stderr.strip())
    out = {}
    for obj in json.loads(r.stdout).get("nftables", []):
        rl = obj.get("rule")
        if not rl or "comment" not in rl:
            continue
        for e in rl.get("expr", []):
            if isinstance(e, dict) and "counter" in e and isinstance(e["counter"], dict):
                rl["counter"] = e["counter"]
        if rl["comment"] in out:
            raise CheckError("two rules have the comment %r" % rl["comment"])
        out[rl["comment"]] = rl
    return out


class View:
    """The names EXPR sees."""

    def __init__(self, st, rules):
        self.st = st
        self.rules = rules

    def nft(self, comment):
        if comment not in self.rules:
            raise CheckError("no nft rule has the comment %r" % comment)
        return self.rules[comment]

    def rule(self, comment):
        n = self.nft(comment)
        for r in self.st.get("rules", []):
            if (r["family"], r["table"], r["chain"], r["handle"]) == \
                    (n["family"], n["table"], n["chain"], n["handle"]):
                r = dict(r)
                r["nft_packets"] = n.get("counter", {}).get("packets")
                r["nft_bytes"] = n.get("counter", {}).get("bytes")
                return r
        raise CheckError("status --json has no rule %s %s %s handle %d (comment %r)" %
                         (n["family"], n["table"], n["chain"], n["handle"], comment))

    def policy(self, path):
        fam, table, chain = path.split("/")
        for p in self.st.get("policies", []):
            if (p["family"], p["table"], p["chain"]) == (fam, table, chain):
                return p
        raise CheckError("status --json has no base chain %s" % path)

    def iface(self, name):
        for i in self.st.get("interfaces", []):
            if i["name"] == name:
                return i
        raise CheckError("status --json has no interface %s" % name)

    def nset(self, name):
        found = [s for s in self.st.get("sets", []) if s["name"] == name]
        if len(found) != 1:
            raise CheckError("status --json has %d sets named %s" % (len(found), name))
        return found[0]

    def names(self):
        return {"st": self.st, "rule": self.rule, "policy": self.policy,
                "iface": self.iface, "nft": self.nft, "nset": self.nset}


def evaluate(expr, st, need_rules):
    rules = nft_rules() if need_rules else {}
    return eval(expr, {"__builtins__": __builtins__}, View(st, rules).names())


def _needs_rules(expr):
    return bool(re.search(r"\b(rule|nft)\(", expr))


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by the shell) is gone too.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def cmd_wait(a):
    deadline = time.monotonic() + a.timeout
    need_rules = _needs_rules(a.expr)
    last, err = None, None
    while True:
        try:
            last = status()
            if evaluate(a.expr, last, need_rules):
                return 0
            err = None
        except CheckError as e:
            err = str(e)
        if a.pid and not pid_alive(a.pid):
            print("FAIL: the daemon (pid %d) exited while waiting for: %s" % (a.pid, a.expr))
            return 1
        if time.monotonic() > deadline:
            print("FAIL: timed out after %.0fs waiting for: %s" % (a.timeout, a.expr))
            if err:
                print("  last error: %s" % err)
            if last is not None:
                print("  last status: %s" % json.dumps(last, sort_keys=True)[:4000])
            return 1
        time.sleep(0.05)


def cmd_assert(a):
    st = status()
    try:
        ok = evaluate(a.expr, st, _needs_rules(a.expr))
    except (KeyError, IndexError, TypeError) as e:
        ok = False
        print("  error evaluating: %r" % e)
    if ok:
        return 0
    print("FAIL: %s%s" % (a.msg + ": " if a.msg else "", a.expr))
    print("  status: %s" % json.dumps(st, sort_keys=True)[:4000])
    return 1


def cmd_get(a):
    st = status()
    v = evaluate(a.expr, st, _needs_rules(a.expr))
    print(v if isinstance(v, str) else json.dumps(v))
    return 0


# ---- cases --------------------------------------------------------------------

def _step_parser():
    p = argparse.ArgumentParser(prog="step", add_help=False)
    p.add_argument("-4", dest="v6", action="store_false", default=False)
    p.add_argument("-6", dest="v6", action="store_true")
    p.add_argument("--count", type=int, default=None)
    p.add_argument("--why", default=None)
    pkt.add_send_arguments(p)
    for act in p._actions:
        if act.dest in ("src", "dst", "dst_mac"):
            act.required = False
    return p


class Step:
    def __init__(self, text, idx, case, default_count):
        kind, _, rest = text.strip().partition(" ")
        self.kind, _, self.target = kind.partition("=")
        if self.kind not in ("drop", "kdrop", "gone", "pass", "sent"):
            raise CheckError("step %r: kind must be drop=T, kdrop=C, gone=C, pass or sent" % text)
        if self.kind not in ("pass", "sent") and not self.target:
            raise CheckError("step %r: %s needs a target" % (text, self.kind))
        self.text = text
        try:
            a = _step_parser().parse_args(shlex.split(rest))
        except SystemExit:
            raise CheckError("step %r: bad packet options" % text)
        fam = "6" if a.v6 else "4"
        a.src = a.src or env("NFO_S" + fam)
        a.dst = a.dst or env("NFO_R" + fam)
        a.dst_mac = a.dst_mac or env("NFO_MAC_R")
        self.tagged = a.payload_hex is None
        if self.tagged:
            a.tag = re.sub(r"[^A-Za-z0-9_.-]", "_", "%s.%d" % (case, idx))
        self.count = a.count if a.count is not None else default_count
        self.why = a.why
        self.spec = pkt.spec_from_args(a)
        self.frames = pkt.build_frames(self.spec, a.src_mac or env("NFO_MAC_S"), a.dst_mac,
                                       a.vlan or ())
        vl = 4 * len(a.vlan or ())
        self.l3lens = [len(f) - 14 - vl for f in self.frames]
        self.key = ("tag/" + a.tag) if self.tagged else self.spec.recv_key()

    def sent_frames(self):
        return self.count * len(self.frames)

    def sent_bytes(self):
        return self.count * sum(self.l3lens)


def _fast(view, target):
    """(packets, bytes) of a fast-path counter: rule comment or policy:f/t/c."""
    if target.startswith("policy:"):
        p = view.policy(target[len("policy:"):])
    else:
        p = view.rule(target)
    return p["packets"], p["bytes"]


def _nft(view, comment):
    c = view.nft(comment).get("counter")
    if c is None:
        raise CheckError("rule %r has no nft counter (add `counter` to it)" % comment)
    return c["packets"], c["bytes"]


def cmd_case(a):
    steps = [Step(t, i, a.name, a.count) for i, t in enumerate(a.steps)]
    protos = {"udp", "tcp", "icmp"} | {str(s.spec.proto) for s in steps}
    need_rules = any(s.kind not in ("pass", "sent") for s in steps)

    if a.no_daemon and any(s.kind != "pass" for s in steps):
        raise CheckError("--no-daemon: only pass steps can be checked")
    get_status = (lambda: {"totals": {"dropped": 0}}) if a.no_daemon else status
    v0 = View(get_status(), nft_rules() if need_rules else {})
    before = {}
    for s in steps:
        if s.kind in ("drop", "gone"):
            before[("fast", s.target)] = _fast(v0, s.target)
        if s.kind in ("kdrop", "gone"):
            before[("nft", s.target)] = _nft(v0, s.target)
            if s.kind == "kdrop" and not s.target.startswith("policy:"):
                before[("fast", s.target)] = _fast(v0, s.target)
    dropped0 = v0.st["totals"]["dropped"]
    for s in steps:
        if s.why:
            reasons = v0.st["totals"]["passed_by_reason"]
            if s.why not in reasons:
                raise CheckError("--why %s: not a passed_by_reason key (%s)" %
                                 (s.why, ", ".join(sorted(reasons))))
            before[("why", s.why)] = (reasons[s.why], None)

    with pkt.netns(env("NFO_NS_R")):
        rx = pkt.Receiver(sorted(protos))
    tx = pkt.Sender(env("NFO_IF_S"), env("NFO_NS_S"))

    # Expected deltas per counter.
    want = {}
    for s in steps:
        if s.kind == "drop":
            k = ("fast", s.target)
            p, b = want.get(k, (0, 0))
            want[k] = (p + s.sent_frames(), b + s.sent_bytes())
        elif s.kind == "kdrop":
            k = ("nft", s.target)
            p, b = want.get(k, (0, 0))
            want[k] = (p + s.count, None)
            want.setdefault(("fast", s.target), (0, 0))
        elif s.kind == "gone":
            k = ("gone", s.target)
            want[k] = (want.get(k, (0, None))[0] + s.count, None)
        if s.why:
            k = ("why", s.why)
            want[k] = (want.get(k, (0, None))[0] + s.sent_frames(), None)

    for s in steps:
        if s.kind != "pass":
            tx.send(s.frames, s.count)

    def deltas(view):
        d = {}
        for k in want:
            if k[0] == "why":
                d[k] = (view.st["totals"]["passed_by_reason"][k[1]] - before[k][0], None)
            elif k[0] == "gone":
                fp, _ = _fast(view, k[1])
                npk, _ = _nft(view, k[1])
                d[k] = (fp - before[("fast", k[1])][0] + npk - before[("nft", k[1])][0], None)
            else:
                p, b = (_fast if k[0] == "fast" else _nft)(view, k[1])
                d[k] = (p - before[k][0], b - before[k][1])
        return d

    # Wait until every drop was counted where it is expected.
    deadline = time.monotonic() + a.timeout
    while True:
        view = View(get_status(), nft_rules() if need_rules else {})
        d = deltas(view)
        if all(d[k][0] >= w[0] for k, w in want.items()):
            break
        if time.monotonic() > deadline:
            break
        rx.poll(0.05)

    # Arrivals expected per key (untagged steps may share one).
    arrive = {}
    for s in steps:
        if s.kind == "pass":
            arrive[s.key] = arrive.get(s.key, 0) + s.count
    for s in steps:
        if s.kind not in ("pass", "sent") and s.key in arrive:
            raise CheckError("step %r: receive key %s is also one of a pass step (use a tag)"
                             % (s.text, s.key))
    for s in steps:
        if s.kind == "pass":
            tx.send(s.frames, s.count)
    rx.wait_for(arrive, a.timeout)
    rx.poll(0)

    view = View(get_status(), nft_rules() if need_rules else {})
    d = deltas(view)
    fails = []
    for k, (wp, wb) in want.items():
        gp, gb = d[k]
        what = {"fast": "fast-path counter", "nft": "nft counter",
                "gone": "fast-path + nft counter",
                "why": "totals.passed_by_reason"}[k[0]]
        if gp != wp:
            fails.append("%s of %s moved by %d packets, expected %d" % (what, k[1], gp, wp))
        elif wb is not None and k[0] == "fast" and gb != wb:
            fails.append("%s of %s moved by %d bytes, expected %d" % (what, k[1], gb, wb))
    fast_expected = sum(w[0] for k, w in want.items() if k[0] == "fast")
    fast_expected += sum(_fast(view, k[1])[0] - before[("fast", k[1])][0]
                         for k in want if k[0] == "gone")
    dd = view.st["totals"]["dropped"] - dropped0
    if dd != fast_expected:
        fails.append("totals.dropped moved by %d, expected %d" % (dd, fast_expected))
    for k, n in arrive.items():
        got = rx.get(k)
        if got != n:
            fails.append("[%s] %d of %d arrived, all expected" % (
                "; ".join(s.text for s in steps if s.key == k), got, n))
    for s in steps:
        got = rx.get(s.key)
        if s.kind not in ("pass", "sent") and got:
            fails.append("[%s] %d of %d arrived, none expected" % (s.text, got, s.count))
    rx.close()
    tx.close()

    if fails:
        print("FAIL: %s" % a.name)
        for f in fails:
            print("  " + f)
        print("  received: %s" % json.dumps(rx.counts, sort_keys=True))
        print("  status: %s" % json.dumps(view.st, sort_keys=True)[:6000])
        return 1
    print("ok: %s (%s)" % (a.name, "; ".join(
        "%s%s x%d" % (s.kind, "=" + s.target if s.target else "", s.count) for s in steps)))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="nfo_check.py", description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("wait")
    w.add_argument("--expr", required=True)
    w.add_argument("--timeout", type=float, default=10)
    w.add_argument("--pid", type=int, default=0)
    s = sub.add_parser("assert")
    s.add_argument("expr")
    s.add_argument("--msg", default="")
    g = sub.add_parser("get")
    g.add_argument("expr")
    c = sub.add_parser("case")
    c.add_argument("name")
    c.add_argument("--count", type=int, default=5)
    # Only a failing case waits this long: drops stop the wait once counted,
    # passes once arrived. A loaded machine (two suites at once, softirqs
    # deferred to ksoftirqd) may take seconds to process what was sent.
    c.add_argument("--timeout", type=float, default=30)
    c.add_argument("--no-daemon", action="store_true",
                   help="no daemon is running: check arrivals only (pass steps)")
    c.add_argument("steps", nargs="+")
    a = ap.parse_args(argv)
    try:
        return {"wait": cmd_wait, "assert": cmd_assert, "get": cmd_get, "case": cmd_case}[a.cmd](a)
    except CheckError as e:
        print("FAIL: %s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
