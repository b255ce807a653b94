#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""svc_peer.py: the sockets of the per-service filter tests (services.sh).

Runs as a process of the cgroup under test (or outside it), so its sockets
are the ones the cgroup_skb programs see. Standard library only.

  svc_peer.py recv --ports 7001,7002 --out FILE [--ready FILE]
      UDP on every port, IPv4 and IPv6; on SIGTERM writes
      {"PORT": {"SOURCE": N, ...}, ...} to FILE. Touches --ready when bound.

  svc_peer.py send --dst ADDR --port P [--src ADDR] [--count N]
      UDP datagrams; prints {"sent": N, "eperm": N, "other": N}.

  svc_peer.py raw --spec JSON
      IP packets built by tests/tools/pkt.py (build_l3: fragments, options,
      truncated headers; JSON: PacketSpec's arguments, payload a string,
      ip_options base64) sent through a raw IPPROTO_RAW socket (header
      included); prints one result per packet: "ok", "EPERM" or an errno name.
"""

import argparse
import base64
import errno
import json
import os
import select
import signal
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))


def cmd_recv(a):
    socks = []
    for port in [int(p) for p in a.ports.split(",")]:
        for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
            s = socket.socket(fam, socket.SOCK_DGRAM)
            if fam == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((addr, port))
            s.setblocking(False)
            socks.append((port, s))
    counts = {}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    if a.ready:
        open(a.ready, "w").close()
    fds = {s.fileno(): (port, s) for port, s in socks}
    while not stop:
        try:
            r, _, _ = select.select(list(fds), [], [], 0.2)
        except InterruptedError:
            continue
        for fd in r:
            port, s = fds[fd]
            while True:
                try:
                    _, src = s.recvfrom(65536)
                except BlockingIOError:
                    break
                c = counts.setdefault(str(port), {})
                c[src[0]] = c.get(src[0], 0) + 1
    with open(a.out + ".tmp", "w") as f:
        json.dump(counts, f)
    os.rename(a.out + ".tmp", a.out)


def cmd_send(a):
    fam = socket.AF_INET6 if ":" in a.dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if a.src:
        s.bind((a.src, 0))
    res = {"sent": 0, "eperm": 0, "other": 0}
    for _ in range(a.count):
        try:
            s.sendto(b"svc test", (a.dst, a.port))
            res["sent"] += 1
        except PermissionError:
            res["eperm"] += 1
        except OSError:
            res["other"] += 1
    print(json.dumps(res))


def cmd_raw(a):
    import pkt  # tests/tools/pkt.py

    spec = json.loads(a.spec)
    if "payload" in spec:
        spec["payload"] = spec["payload"].encode()
    if "ip_options" in spec:  # base64
        spec["ip_options"] = base64.b64decode(spec["ip_options"])
    ps = pkt.PacketSpec(**spec)
    pkts = pkt.build_l3(ps)  # frag_select applied
    fam = socket.AF_INET6 if ps.family == 6 else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_RAW)
    out = []
    for p in pkts:
        try:
            s.sendto(p, (str(ps.dst), 0))
            out.append("ok")
        except OSError as e:
            out.append("EPERM" if e.errno == errno.EPERM else errno.errorcode.get(e.errno, str(e.errno)))
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("recv")
    r.add_argument("--ports", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--ready")
    s = sub.add_parser("send")
    s.add_argument("--dst", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--src")
    s.add_argument("--count", type=int, default=1)
    w = sub.add_parser("raw")
    w.add_argument("--spec", required=True)
    a = ap.parse_args()
    {"recv": cmd_recv, "send": cmd_send, "raw": cmd_raw}[a.cmd](a)


if __name__ == "__main__":
    main()
