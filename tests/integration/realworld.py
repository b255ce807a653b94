#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The real-world corpus (tests/data/realworld/) against the daemon.

  realworld.py check EXAMPLES --out JSON [--mode MODE] [--no-daemon]
      Sends every example packet of EXAMPLES (NAME.pkts, beside NAME.nft,
      whose ruleset the caller loaded into the receiver) into the receiver,
      one example at a time, and writes what happened to JSON. Without
      --no-daemon the daemon must be running on the receiver's interface.
      Fails (exit 1) when an accepted example is not delivered or the fast
      path dropped any of it (unsound), when a blocked example is delivered
      (the example is wrong), or when the fast path did not drop a blocked
      example although explain says it decides its way (below).
  realworld.py ct-flush
      Empties the receiver's conntrack table.
  realworld.py report JSON... [--markdown]
      Per ruleset: the blocked examples, those the fast path dropped, and why
      not the rest (explain's reason, see decider()); then the
      totals, DROP and REJECT apart, and the reasons ranked by how many blocked
      examples each one costs.

An example is one line of NAME.pkts, four fields separated by "|":

  VERDICT | BY | PACKET | WHY

VERDICT  accept, drop or reject: what nftables does with the packet.
BY       for drop/reject, what decides it: "policy FAMILY/TABLE/CHAIN" (the
         chain's policy) or "rule FAMILY/TABLE/CHAIN TEXT" (the one rule of
         that chain whose `nft -a list chain` text contains TEXT); "-" for
         accept.
PACKET   tests/tools/pkt.py send options (--proto, --dport, --sport,
         --tcp-flags, --icmp-type, --src, --dst, ...) plus -4 (default) / -6
         and --ct new (default: no conntrack entry) or --ct est (the packet
         answers a flow the receiver opened first: UDP from dst:dport to
         src:sport, or an ICMP echo request with the packet's id; the
         packet is then the reply of an established connection).
         Addresses default to the test pair's: sender -> receiver.
WHY      free text: why the ruleset accepts or blocks it.

Blank lines and lines starting with # are ignored. Packets come in on the
receiver's interface, which the rulesets call eth0 (the caller renames it).

"The fast path decides" a blocked example (explain claims it) when the rule
in BY is offloaded in full (`status --json`, as `explain` shows it), and so
is every rule the packet may meet before it: base chain by base chain in
hook (ingress, prerouting, input, forward) and priority order, into every
chain a rule may jump or go to (rules that test the other IP family left
out); for a policy, every rule of its chain too. And, for a packet without
a conntrack entry, none of those rules tests a ct key: the fast path knows
only "new or invalid" for such a packet (SEMANTICS.md, conntrack), so a
rule offloaded in full may still be UNKNOWN for it; and a frame not sent
to the interface's own MAC is decided only by ingress chains. Dropped in the fast
path: the daemon's drop counter moved by every frame sent and it passed
none of them to the kernel (so no nftables counter could move). A reject
example is sent REJECT_COUNT times: the fast path passes nftables the
frames the kernel could still answer with an ICMP error (counted as
rejected_within_icmp_limits) and drops the excess; it is dropped in the
fast path when the rest was dropped there and nothing passed for another
reason. The way
is the ruleset's, not the packet's: a rule on it that cannot match the
packet still counts, so a reason may name a rule the packet never meets.

Environment (lib.sh sets it): NFO_BIN, NFO_RUN, NFO_NS_S, NFO_NS_R,
NFO_IF_S, NFO_MAC_S, NFO_MAC_R, NFO_S4, NFO_R4, NFO_S6, NFO_R6.
"""

import argparse
import json
import os
import re
import shlex
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
sys.path.insert(0, HERE)
import pkt  # noqa: E402
from nfo_check import CheckError, env, status  # noqa: E402

COUNT = 2  # frames sent per example
# A reject the fast path carries out passes to nftables the frames the
# kernel could still answer (its ICMP limits, times a margin: SEMANTICS.md
# 4.1) and drops the rest: a reject example is sent as a burst larger than
# one sender's share, so that the fast path's part shows.
REJECT_COUNT = 40
WITHIN_LIMITS = "rejected_within_icmp_limits"


class Example:
    def __init__(self, line, lineno, name):
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 4:
            raise CheckError("%s:%d: need VERDICT | BY | PACKET | WHY" % (name, lineno))
        self.verdict, self.by, packet, self.why = parts
        self.lineno = lineno
        if self.verdict not in ("accept", "drop", "reject"):
            raise CheckError("%s:%d: verdict %r" % (name, lineno, self.verdict))
        if self.blocked and not re.match(r"(policy|rule) \S+/\S+/\S+", self.by):
            raise CheckError("%s:%d: BY must be 'policy F/T/C' or 'rule F/T/C TEXT'" %
                             (name, lineno))
        self.packet = packet
        p = argparse.ArgumentParser(prog="example", add_help=False)
        p.add_argument("-4", dest="v6", action="store_false", default=False)
        p.add_argument("-6", dest="v6", action="store_true")
        p.add_argument("--ct", choices=("new", "est"), default="new")
        pkt.add_send_arguments(p)
        for act in p._actions:
            if act.dest in ("src", "dst", "dst_mac"):
                act.required = False
        try:
            a = p.parse_args(shlex.split(packet))
        except SystemExit:
            raise CheckError("%s:%d: bad packet options %r" % (name, lineno, packet))
        fam = "6" if a.v6 else "4"
        a.src = a.src or env("NFO_S" + fam)
        a.dst = a.dst or env("NFO_R" + fam)
        a.dst_mac = a.dst_mac or env("NFO_MAC_R")
        a.tag = "%s.%d" % (re.sub(r"[^A-Za-z0-9_.-]", "_", name), lineno)
        if a.proto == "tcp" and a.ct == "est":
            raise CheckError("%s:%d: --ct est is for UDP and ICMP echo" % (name, lineno))
        self.a = a
        self.spec = pkt.spec_from_args(a)
        self.frames = pkt.build_frames(self.spec, a.src_mac or env("NFO_MAC_S"), a.dst_mac,
                                       a.vlan or ())
        self.key = "tag/" + a.tag

    @property
    def blocked(self):
        return self.verdict != "accept"


def parse(path):
    name = os.path.basename(path).rsplit(".", 1)[0]
    out = []
    with open(path) as f:
        for i, line in enumerate(f, 1):
            s = line.strip()
            if s and not s.startswith("#"):
                out.append(Example(s, i, name))
    return name, out


def open_flow(ex):
    """From the receiver, opens the flow ex answers (conntrack: established)."""
    a = ex.a
    fam = socket.AF_INET6 if a.v6 else socket.AF_INET
    with pkt.netns(env("NFO_NS_R")):
        if a.proto == "udp":
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((a.dst, a.dport))
            s.sendto(b"open", (a.src, a.sport))
        elif a.proto in ("icmp", "icmpv6"):
            if a.v6:
                s = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
                msg = struct.pack("!BBHHH", 128, 0, 0, a.icmp_id, a.icmp_seq) + b"open"
            else:
                s = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_ICMP)
                msg = struct.pack("!BBHHH", 8, 0, 0, a.icmp_id, a.icmp_seq) + b"open"
                msg = msg[:2] + struct.pack("!H", pkt.checksum(msg)) + msg[4:]
            s.bind((a.dst, 0))
            s.sendto(msg, (a.src, 0))
        else:
            raise CheckError("--ct est: protocol %s" % a.proto)
    s.close()


def cmd_ct_flush(a):
    """Empties the receiver's conntrack table (all families), so that no
    flow of an earlier ruleset's examples makes a later one established:
    IPCTNL_MSG_CT_DELETE without attributes (ctnetlink_flush_conntrack)."""
    NETLINK_NETFILTER, NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_DELETE = 12, 1, 2
    NLM_F_REQUEST, NLM_F_ACK, NLMSG_ERROR = 1, 4, 2
    with pkt.netns(env("NFO_NS_R")):
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    try:
        body = struct.pack("BBH", socket.AF_UNSPEC, 0, 0)  # struct nfgenmsg
        hdr = struct.pack("=IHHII", 16 + len(body),
                          (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE,
                          NLM_F_REQUEST | NLM_F_ACK, 1, 0)
        s.send(hdr + body)
        ans = s.recv(4096)
        _, typ, _, _, _ = struct.unpack("=IHHII", ans[:16])
        err = struct.unpack("=i", ans[16:20])[0] if typ == NLMSG_ERROR else 0
        if err:
            raise CheckError("conntrack flush: %s" % os.strerror(-err))
    finally:
        s.close()
    return 0


def chain_rules(fam, table, chain):
    """[(handle, text)] of a chain, as `nft -a list chain` prints it."""
    r = subprocess.run(["ip", "netns", "exec", env("NFO_NS_R"), "nft", "-a", "list", "chain",
                        fam, table, chain], capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        raise CheckError("nft list chain %s %s %s: %s" % (fam, table, chain, r.stderr.strip()))
    out = []
    for line in r.stdout.splitlines():
        m = re.match(r"\s*(.*?)\s*# handle (\d+)$", line)
        if m and not re.match(r"(chain|type) ", m.group(1)):
            out.append((int(m.group(2)), re.sub(r"counter packets \d+ bytes \d+", "counter",
                                                m.group(1))))
    return out


class Ruleset:
    """The receiver's ruleset as `nft -j list ruleset` has it: base chains,
    rules in order, the chains each rule may jump or go to (through verdict
    maps too), and each rule's text."""

    HOOKS = {"ingress": 0, "prerouting": 1, "input": 2, "forward": 3}

    def __init__(self):
        r = subprocess.run(["ip", "netns", "exec", env("NFO_NS_R"), "nft", "-j", "list",
                            "ruleset"], capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise CheckError("nft -j list ruleset: %s" % r.stderr.strip())
        self.base = []      # (hook order, priority, family, table, chain)
        self.rules = {}     # (family, table, chain) -> [(handle, targets)]
        self.ct = set()     # (family, table, chain, handle) of rules testing a ct key
        maps = {}
        objs = json.loads(r.stdout)["nftables"]
        for o in objs:
            if "chain" in o:
                c = o["chain"]
                self.rules.setdefault((c["family"], c["table"], c["name"]), [])
                if c.get("hook") in self.HOOKS:
                    self.base.append((self.HOOKS[c["hook"]], c.get("prio", 0), c["family"],
                                      c["table"], c["name"]))
            elif "map" in o:
                m = o["map"]
                maps[(m["family"], m["table"], m["name"])] = _targets(m.get("elem", []))
        for o in objs:
            if "rule" in o:
                rl = o["rule"]
                t = _targets(rl["expr"])
                for ref in _refs(rl["expr"]):
                    t += maps.get((rl["family"], rl["table"], ref), [])
                self.rules[(rl["family"], rl["table"], rl["chain"])].append((rl["handle"], t))
                if _has_ct(rl["expr"]):
                    self.ct.add((rl["family"], rl["table"], rl["chain"], rl["handle"]))
        self.base.sort(key=lambda b: (b[0], b[1]))
        self.texts = {}

    def text(self, fam, table, chain, handle):
        key = (fam, table, chain)
        if key not in self.texts:
            self.texts[key] = dict(chain_rules(*key))
        return self.texts[key].get(handle, "handle %d" % handle)

    def walk(self, families, goal):
        """The rules a packet of families meets on its way to goal (a
        (family, table, chain, handle) or (family, table, chain, "policy")),
        base chain by base chain in hook and priority order, into every
        chain a rule may jump to. None if goal is not on that way."""
        seen, out = set(), []

        def visit(fam, table, chain):
            if (fam, table, chain) in seen:
                return False
            seen.add((fam, table, chain))
            for handle, targets in self.rules.get((fam, table, chain), []):
                if (fam, table, chain, handle) == goal:
                    return True
                out.append((fam, table, chain, handle))
                for t in targets:
                    if visit(fam, table, t):
                        return True
            return (fam, table, chain, "policy") == goal

        for hook, _, fam, table, chain in self.base:
            if fam in families and visit(fam, table, chain):
                self.goal_hook = hook
                return out
        return None


def _targets(x):
    """The chains named by jump/goto verdicts anywhere in x."""
    out = []
    if isinstance(x, dict):
        for k, v in x.items():
            if k in ("jump", "goto") and isinstance(v, dict) and "target" in v:
                out.append(v["target"])
            else:
                out += _targets(v)
    elif isinstance(x, list):
        for v in x:
            out += _targets(v)
    return out


def _has_ct(x):
    """x tests a conntrack key (ct state, ct status, ...)."""
    if isinstance(x, dict):
        return "ct" in x or any(_has_ct(v) for v in x.values())
    if isinstance(x, list):
        return any(_has_ct(v) for v in x)
    return False


def _refs(x):
    """The named sets and maps ("@name") x refers to."""
    if isinstance(x, str):
        return [x[1:]] if x.startswith("@") else []
    if isinstance(x, dict):
        return [r for v in x.values() for r in _refs(v)]
    if isinstance(x, list):
        return [r for v in x for r in _refs(v)]
    return []


NOT_FOR_MAC = ("a frame not for the interface's own MAC (broadcast, multicast): "
              "only ingress chains are decided for it without decide-broadcast yes")
CT_UNKNOWN = ("a ct test on its way, for a packet without a conntrack entry "
              "(the fast path knows only: new or invalid)")
CT_NO_LOOKUP = ("a ct test on its way, for a packet the fast path makes no conntrack "
                "lookup for (ICMP, other protocols: any state)")


def other_family(text, v6):
    """The rule text tests the other IP family: it cannot match the packet
    (an IPv6-only reverse-path rule is no obstacle for IPv4)."""
    if v6:
        return bool(re.search(r"nfproto ipv4|\bip (saddr|daddr|protocol)|\bicmp type", text))
    return bool(re.search(r"nfproto ipv6|\bip6 |\bicmpv6 ", text))


def decider(ex, st, rs):
    """(claimed, reason, text) for the rule or policy that blocks ex.

    Claimed: the rule is offloaded in full, so is every rule the packet may
    meet before it (Ruleset.walk) and can match it (other_family), and
    for a new flow none of them tests a ct key. Otherwise the reason
    is that of the blocking rule if it is not offloaded in full, else that
    of the first rule on the way that is not, or the first ct test on it."""
    kind, rest = ex.by.split(" ", 1)
    path, _, sub = rest.partition(" ")
    fam, table, chain = path.split("/", 2)  # kube-proxy's chain names hold "/"
    status_of = {(r["family"], r["table"], r["chain"], r["handle"]): r
                 for r in st.get("rules", [])}
    if kind == "policy":
        goal, text, own = (fam, table, chain, "policy"), "policy", None
    else:
        handles = [h for h, _ in rs.rules.get((fam, table, chain), [])
                   if sub in rs.text(fam, table, chain, h)]
        if len(handles) != 1:
            raise CheckError("line %d: %d rules of %s contain %r" %
                             (ex.lineno, len(handles), path, sub))
        goal = (fam, table, chain, handles[0])
        text = rs.text(*goal)
        own = status_of.get(goal)
        if own is None:
            raise CheckError("line %d: status has no rule %s handle %d" %
                             (ex.lineno, path, handles[0]))
        if own["offload"] != "full":
            return False, own["reason"] or "", text
    families = {"inet", "netdev", "ip6" if ex.a.v6 else "ip"}
    way = rs.walk(families, goal)
    if way is None:
        raise CheckError("line %d: no base chain leads to %s" % (ex.lineno, ex.by))
    # the fast path's L2HOST gate (SEMANTICS.md 3): prerouting and input
    # only for frames to the interface's MAC
    if rs.goal_hook >= rs.HOOKS["prerouting"] and ex.a.dst_mac.lower() != env("NFO_MAC_R").lower():
        return False, NOT_FOR_MAC, text
    for k in way:
        r = status_of.get(k)
        if r and r["offload"] != "full" and not other_family(rs.text(*k), ex.a.v6):
            return False, r["reason"] or "", "%s, behind '%s' (%s %s %s)" % (
                text, rs.text(*k), k[0], k[1], k[2])
    if ex.a.ct == "new":
        for k in way + ([goal] if kind != "policy" else []):
            if k in rs.ct and not other_family(rs.text(*k), ex.a.v6):
                why = CT_UNKNOWN if ex.a.proto in ("tcp", "udp") else CT_NO_LOOKUP
                return False, why, "%s, behind '%s' (%s %s %s)" % (
                    text, rs.text(*k), k[0], k[1], k[2])
    return True, "", text


def passed_total(st):
    return sum(st["totals"]["passed_by_reason"].values())


def cmd_check(a):
    name, examples = parse(a.examples)
    protos = sorted({"udp", "tcp", "icmp"} | {str(e.spec.proto) for e in examples})
    with pkt.netns(env("NFO_NS_R")):
        rx = pkt.Receiver(protos)
    tx = pkt.Sender(env("NFO_IF_S"), env("NFO_NS_S"))
    daemon = not a.no_daemon
    fails, results = [], []
    rs = Ruleset() if not a.no_daemon else None
    st = status() if daemon else None
    for ex in examples:
        if ex.a.ct == "est":
            open_flow(ex)
            time.sleep(0.02)
        count = REJECT_COUNT if ex.verdict == "reject" else COUNT
        frames = count * len(ex.frames)
        st0 = st
        tx.send(ex.frames, count)
        dropped = passed = 0
        reasons = {}
        if daemon:
            # every frame is counted once, dropped or passed (the bound is
            # for a failure only: a loaded machine may take seconds)
            deadline = time.monotonic() + 30
            while True:
                st = status()
                dropped = st["totals"]["dropped"] - st0["totals"]["dropped"]
                passed = passed_total(st) - passed_total(st0)
                if dropped + passed >= frames or time.monotonic() > deadline:
                    break
                rx.poll(0.02)
            reasons = {k: v - st0["totals"]["passed_by_reason"][k]
                       for k, v in st["totals"]["passed_by_reason"].items()
                       if v != st0["totals"]["passed_by_reason"][k]}
        if ex.blocked:
            # the stack handles a frame from the veth within the sender's
            # softirq; late arrivals are caught by the check after the loop
            rx.poll(0.05)
        else:
            rx.wait_for({ex.key: COUNT}, 30)
        rx.poll(0)
        got = rx.get(ex.key)
        res = {"line": ex.lineno, "verdict": ex.verdict, "by": ex.by, "packet": ex.packet,
               "why": ex.why, "arrived": got, "sent": count, "frames": frames,
               "fast_dropped": dropped, "passed": passed, "passed_by_reason": reasons}
        where = "%s:%d [%s | %s]" % (name, ex.lineno, ex.verdict, ex.packet)
        if not ex.blocked:
            if got != COUNT:
                fails.append("%s: %d of %d delivered (an accepted example)" % (where, got, COUNT))
            if dropped:
                fails.append("%s: UNSOUND: the fast path dropped %d frames of an accepted "
                             "example" % (where, dropped))
        else:
            if got:
                fails.append("%s: %d of %d delivered, the example says %s" %
                             (where, got, count, ex.verdict))
            if daemon:
                claimed, reason, text = decider(ex, st, rs)
                # a reject: dropped beyond the limits, the rest left to
                # nftables to answer, nothing passed for another reason
                within = reasons.get(WITHIN_LIMITS, 0)
                if ex.verdict == "reject" and within:
                    fast = dropped > 0 and within == passed
                else:
                    fast = dropped == frames and passed == 0
                res.update(claimed=claimed, reason=reason, rule=text,
                           dropped_in_fast_path=fast, within_icmp_limits=within)
                if dropped + passed != frames:
                    fails.append("%s: the fast path counted %d frames, %d were sent" %
                                 (where, dropped + passed, frames))
                elif claimed and not res["dropped_in_fast_path"]:
                    fails.append("%s: explain says the fast path decides '%s' but it passed "
                                 "%d of %d frames (%s)" % (where, text, passed, frames,
                                                           json.dumps(reasons)))
                elif 0 < dropped < frames and not within:
                    fails.append("%s: the fast path dropped %d of %d frames" %
                                 (where, dropped, frames))
        results.append(res)
    rx.poll(0.2)
    for ex, res in zip(examples, results):
        got = rx.get(ex.key)
        if ex.blocked and got and not res["arrived"]:
            res["arrived"] = got
            fails.append("%s:%d [%s | %s]: %d of %d delivered late, the example says %s" %
                         (name, ex.lineno, ex.verdict, ex.packet, got, res["sent"], ex.verdict))
    rx.close()
    tx.close()
    with open(a.out, "w") as f:
        json.dump({"ruleset": name, "mode": a.mode if daemon else "none",
                   "examples": results}, f, indent=1)
    nb = sum(1 for r in results if r["verdict"] != "accept")
    if daemon:
        nd = sum(1 for r in results if r.get("dropped_in_fast_path"))
        print("%s (%s): %d accepted delivered, %d blocked, %d dropped in the fast path" %
              (name, a.mode, len(results) - nb, nb, nd))
    else:
        print("%s (no daemon): %d accepted, %d blocked examples checked against nftables" %
              (name, len(results) - nb, nb))
    for f in fails:
        print("FAIL: " + f)
    return 1 if fails else 0


# ---- report ---------------------------------------------------------------------

def short_reason(r):
    """The reason a blocked example was not dropped, without per-rule detail."""
    if r.get("dropped_in_fast_path"):
        return None
    reason = r.get("reason") or ""
    if not reason:
        return "explain gives no reason (passed: %s)" % ", ".join(sorted(r["passed_by_reason"]))
    return reason


def brief(reason):
    """A reason short enough for a table cell."""
    reason = re.sub(r": decided only for TCP and UDP packets NAT cannot change \(.*\)$",
                    ": only TCP and UDP that NAT cannot change are decided", reason)
    return re.sub(r"^(effect the fast path cannot reproduce|not evaluated by the fast path): ",
                  "", reason)


def cmd_report(a):
    runs = []
    for p in a.json:
        with open(p) as f:
            runs.append(json.load(f))
    runs.sort(key=lambda r: (r["ruleset"], r["mode"]))
    modes = sorted({r["mode"] for r in runs})
    by_rs = {}
    for r in runs:
        by_rs.setdefault(r["ruleset"], {})[r["mode"]] = r
    md = a.markdown
    tot = {m: {"drop": [0, 0], "reject": [0, 0]} for m in modes}
    causes = {m: {} for m in modes}
    identical = True
    lines = []
    if md:
        lines.append("| ruleset | blocked (drop + reject) | dropped in the fast path | why not the rest |")
        lines.append("|---|---|---|---|")
    for name in sorted(by_rs):
        per = by_rs[name]
        ref = per[modes[0]]
        sig = None
        for m in modes:
            ex = [e for e in per[m]["examples"] if e["verdict"] != "accept"]
            for e in ex:
                t = tot[m][e["verdict"]]
                t[0] += 1
                t[1] += bool(e.get("dropped_in_fast_path"))
                why = short_reason(e)
                if why:
                    c = causes[m].setdefault(why, [0, set()])
                    c[0] += 1
                    c[1].add(name)
            s = [(e["line"], bool(e.get("dropped_in_fast_path"))) for e in ex]
            if sig is not None and s != sig:
                identical = False
            sig = s
        ex = [e for e in ref["examples"] if e["verdict"] != "accept"]
        nacc = len(ref["examples"]) - len(ex)
        nd = sum(1 for e in ex if e["verdict"] == "drop")
        nr = len(ex) - nd
        dd = sum(1 for e in ex if e["verdict"] == "drop" and e.get("dropped_in_fast_path"))
        dr = sum(1 for e in ex if e["verdict"] == "reject" and e.get("dropped_in_fast_path"))
        whys = {}
        for e in ex:
            w = short_reason(e)
            if w:
                whys[w] = whys.get(w, 0) + 1
        if md:
            cell = "<br>".join("%d: %s" % (n, brief(w).replace("|", "\\|"))
                               for w, n in sorted(whys.items(), key=lambda x: -x[1]))
            lines.append("| %s | %d (%d + %d) | %d (%d + %d) | %s |" %
                         (name, len(ex), nd, nr, dd + dr, dd, dr, cell or "-"))
        else:
            lines.append("")
            lines.append("== %s (%s): %d accepted examples delivered; blocked %d (%d drop, %d "
                         "reject), dropped in the fast path %d (%d drop, %d reject)" %
                         (name, modes[0], nacc, len(ex), nd, nr, dd + dr, dd, dr))
            for e in ex:
                lines.append("  %-6s %-44s %s" % (
                    e["verdict"], e["packet"][:44],
                    "FAST-PATH DROP" if e.get("dropped_in_fast_path") else
                    "passed: %s [%s]" % (short_reason(e), e.get("rule"))))
    print("\n".join(lines))
    for m in modes:
        t = tot[m]
        nb = t["drop"][0] + t["reject"][0]
        nd = t["drop"][1] + t["reject"][1]
        print("\n%s%s: %d rulesets, %d blocked examples, %d dropped in the fast path (%.0f%%): "
              "DROP %d of %d, REJECT %d of %d" % (
                  "**total** " if md else "total ", m, len(by_rs), nb, nd,
                  100.0 * nd / nb if nb else 0, t["drop"][1], t["drop"][0], t["reject"][1],
                  t["reject"][0]))
    if len(modes) > 1:
        print("\nmodes %s: %s" % (" and ".join(modes), "identical per example" if identical
                                  else "DIFFERENT"))
    print("\nreasons, by blocked examples not dropped (%s):" % modes[0])
    for w, (n, names) in sorted(causes[modes[0]].items(), key=lambda x: -x[1][0]):
        print("%s%3d  %s  [%s]" % ("- " if md else "  ", n, w, ", ".join(sorted(names))))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="realworld.py", description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("examples")
    c.add_argument("--out", required=True)
    c.add_argument("--mode", default="xdp")
    c.add_argument("--no-daemon", action="store_true")
    sub.add_parser("ct-flush")
    r = sub.add_parser("report")
    r.add_argument("json", nargs="+")
    r.add_argument("--markdown", action="store_true")
    a = ap.parse_args(argv)
    try:
        return {"check": cmd_check, "report": cmd_report, "ct-flush": cmd_ct_flush}[a.cmd](a)
    except CheckError as e:
        print("FAIL: %s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
