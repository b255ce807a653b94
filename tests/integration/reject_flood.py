#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""reject_flood.py: floods a rejected port from the sender namespace and
counts the ICMP errors that come back.

  reject_flood.py -4|-6 --dport P --count N --rate R [--wait S]

Sends N UDP packets from the sender's address to the receiver's (NFO_S4 ->
NFO_R4, or NFO_S6 -> NFO_R6) on NFO_IF_S, R per second, and counts the ICMP
destination unreachable (ICMPv6 type 1) messages the sender receives until S
seconds after the last one. Prints {"sent": N, "errors": E, "seconds": T}.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ["NFO_SRC"], "tests", "tools"))
import pkt  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    fam = ap.add_mutually_exclusive_group(required=True)
    fam.add_argument("-4", dest="v6", action="store_false")
    fam.add_argument("-6", dest="v6", action="store_true")
    ap.add_argument("--dport", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--rate", type=float, required=True)
    ap.add_argument("--wait", type=float, default=1.5)
    a = ap.parse_args()

    ns = os.environ["NFO_NS_S"]
    src = os.environ["NFO_S6" if a.v6 else "NFO_S4"]
    dst = os.environ["NFO_R6" if a.v6 else "NFO_R4"]
    spec = pkt.PacketSpec(src=src, dst=dst, proto="udp", dport=a.dport)
    frames = pkt.build_frames(spec, src_mac=os.environ["NFO_MAC_S"],
                              dst_mac=os.environ["NFO_MAC_R"])
    rx = pkt.Receiver(protos=("icmp",), families=(6,) if a.v6 else (4,), ns=ns,
                      src=dst)
    key = pkt.recv_key(6, 58, 1) if a.v6 else pkt.recv_key(4, 1, 3)
    tx = pkt.Sender(os.environ["NFO_IF_S"], ns=ns)
    t0 = time.monotonic()
    sent = 0
    # In slices, reading the errors as they come: the socket buffer stays small.
    while sent < a.count:
        n = min(500, a.count - sent)
        start = t0 + sent / a.rate
        delay = start - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sent += tx.send(frames, count=n, rate=a.rate)
        rx.poll(0)
    t = time.monotonic() - t0
    end = time.monotonic() + a.wait
    while time.monotonic() < end:
        rx.poll(0.1)
    tx.close()
    rx.close()
    print(json.dumps({"sent": sent, "errors": rx.get(key), "seconds": round(t, 3)}))


if __name__ == "__main__":
    main()
