#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The churn of a blocklist bouncer, driven for churn.sh.

  churn.py SECONDS

One nfo-setelem (tests/tools: element batches over netlink, as a bouncer
sends them) in the receiver namespace gets a line every 10 ms (each line
is one transaction; it answers "ok GENID" once the kernel committed it): 4 new
addresses added to @v4, 4 added earlier deleted.
Meanwhile a flood from sources whose addition was committed more than
BANNED_S earlier (and whose deletion is not written yet) goes to port 9 of
the receiver, and every second the sender's own address is banned, then
unbanned, and 100 packets from it (the probes) are sent to port 10 once the
daemon made the unban's generation live (status: the generation it
publishes once an in-place update is written; how long after the commit is
printed, "unban_live_ms"). Prints one JSON line: what was sent,
what arrived, the status and the rule counters (the fast path's and
nftables', by comment: "probe", "bl", "probe-seen") before and after, the
transactions written.

Environment (lib.sh exports it): NFO_BIN, NFO_RUN, NFO_NS_S, NFO_NS_R,
NFO_IF_S, NFO_MAC_S, NFO_MAC_R, NFO_S4, NFO_R4; NFO_SETELEM (meson).
"""

import ipaddress
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import pkt  # noqa: E402
import nfo_check  # noqa: E402

E = os.environ
BANNED_S = 0.010    # the flood: sources banned more than this long ago
PROBE_PORT = 10


def status():
    """status --json, with "counts": per rule comment its fast-path packets
    ("packets") and nftables' ("nft_packets")."""
    st = nfo_check.status()
    view = nfo_check.View(st, nfo_check.nft_rules())
    st["counts"] = {c: {"packets": view.rule(c)["packets"],
                        "nft_packets": view.rule(c)["nft_packets"] or 0}
                    for c in ("probe", "bl", "probe-seen")}
    return st


def main():
    seconds = float(sys.argv[1])
    nft = subprocess.Popen(["ip", "netns", "exec", E["NFO_NS_R"], E["NFO_SETELEM"],
                            "inet", "bl", "v4"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           text=True)
    lock = threading.Lock()
    cv = threading.Condition(lock)
    wlock = threading.Lock()
    live = []   # [commit time or None, address], oldest first
    pending = []  # per written transaction not committed yet: its live entries
    stop = threading.Event()
    res = {"txns": 0, "committed": 0, "errors": 0, "flood_sent": 0, "unban_sent": 0, "unban_arrived": 0,
           "cycles": 0, "unban_live_ms": [], "unban_not_live": 0}
    s4 = E["NFO_S4"]

    def write(line, entries=()):
        """Writes one transaction; returns its number."""
        # not under lock: the tool may wait for the reader, which takes it
        with wlock:
            with lock:
                pending.append(list(entries))
                n = res["txns"]
                res["txns"] += 1
            nft.stdin.write(line + "\n")
            nft.stdin.flush()
        return n

    gens = {}  # transaction number -> the generation read after its commit

    def reader():
        for out in nft.stdout:
            if out.startswith("error"):
                res["errors"] += 1
            elif not out.startswith("ok"):
                continue
            now = time.monotonic()
            with lock:
                for e in pending.pop(0) if pending else []:
                    e[0] = now
                if out.startswith("ok"):
                    gens[res["committed"]] = int(out.split()[1])
                res["committed"] += 1
                cv.notify_all()

    def wait_committed(n):
        """Waits for transaction n's commit; returns its generation (or a
        later one), None if it failed."""
        with lock:
            cv.wait_for(lambda: res["committed"] > n, timeout=30)
            return gens.get(n)

    def churn():
        base = int(ipaddress.ip_address("12.0.0.0"))
        n = 0
        t0 = time.monotonic()
        k = 0
        while not stop.is_set():
            k += 1
            new = [str(ipaddress.ip_address(base + n + i)) for i in range(4)]
            n += 4
            with lock:
                old = [a for _, a in live[:4]] if len(live) >= 400 else []
                del live[:len(old)]
                entries = [[None, a] for a in new]
                live.extend(entries)
            write(" ".join(["+" + a for a in new] + ["-" + a for a in old]), entries)
            delay = t0 + k * 0.010 - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def flood():
        snd = pkt.Sender(E["NFO_IF_S"], ns=E["NFO_NS_S"])
        i = 0
        t0 = time.monotonic()
        while not stop.is_set():
            now = time.monotonic()
            with lock:
                # banned > BANNED_S ago; deletion starts at 400 live, ~1 s
                ok = [a for t, a in live if t is not None and now - t > BANNED_S]
            if not ok:
                time.sleep(0.01)
                continue
            src = ok[i % len(ok)]
            spec = pkt.PacketSpec(src, E["NFO_R4"], "udp", dport=9, payload=b"nfo:flood:x")
            res["flood_sent"] += snd.send(pkt.build_frames(spec, E["NFO_MAC_S"], E["NFO_MAC_R"]))
            i += 1
            # about 1000 packets per second
            delay = t0 + i * 0.001 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        snd.close()

    before = status()
    threads = [threading.Thread(target=churn, daemon=True), threading.Thread(target=flood, daemon=True)]
    threading.Thread(target=reader, daemon=True).start()
    for t in threads:
        t.start()
    rcv = pkt.Receiver(protos=("udp",), families=(4,), ns=E["NFO_NS_R"], src=s4)
    snd = pkt.Sender(E["NFO_IF_S"], ns=E["NFO_NS_S"])
    end = time.monotonic() + seconds
    try:
        unban_cycles(res, rcv, snd, write, wait_committed, end, s4)
    finally:
        stop.set()
    for t in threads:
        t.join()
    with wlock:
        nft.stdin.close()
    nft.wait(timeout=60)
    time.sleep(0.5)
    res["before"] = before
    res["after"] = status()
    snd.close()
    rcv.close()
    print(json.dumps(res))


def unban_cycles(res, rcv, snd, write, wait_committed, end, s4):
    while time.monotonic() < end - 1.0:
        write("+" + s4)
        time.sleep(0.3)
        gen = wait_committed(write("-" + s4))
        # From the moment the daemon made the unban's generation (or a
        # later one) live, the fast path must not drop the source. How long
        # that takes after the commit is the bench's to measure: a loaded
        # machine may take tens of ms (this test once asserted 2 ms).
        t0 = time.monotonic()
        while gen is not None and time.monotonic() - t0 < 30:
            try:
                st = nfo_check.status()
            except nfo_check.CheckError:
                st = {}
            if st.get("fast_path") == "enabled" and (st.get("generation") or 0) >= gen:
                res["unban_live_ms"].append(round((time.monotonic() - t0) * 1000, 1))
                break
            time.sleep(0.002)
        else:
            res["unban_not_live"] += 1
        tag = "unban%d" % res["cycles"]
        spec = pkt.PacketSpec(s4, E["NFO_R4"], "udp", dport=PROBE_PORT,
                              payload=("nfo:%s:x" % tag).encode())
        res["unban_sent"] += snd.send(pkt.build_frames(spec, E["NFO_MAC_S"], E["NFO_MAC_R"]),
                                      count=100, rate=5000)
        rcv.wait_for({"tag/" + tag: 100}, 1.0)
        res["unban_arrived"] += rcv.get("tag/" + tag)
        res["cycles"] += 1
        time.sleep(0.5)


if __name__ == "__main__":
    main()
