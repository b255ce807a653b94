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

  svc_peer.py latency --pin PIN NFT-COMMAND...
      Runs each nft command (one argument each) and measures how long after
      nft returned the service program at PIN runs the new generation;
      prints the milliseconds as a JSON list.

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
    # After SIGTERM, what is still queued or on its way (a loaded machine
    # delivers late) is counted too: read until quiet for 0.5 s.
    while True:
        draining = bool(stop)
        try:
            r, _, _ = select.select(list(fds), [], [], 0.5 if draining else 0.2)
        except InterruptedError:
            continue
        if draining and not r:
            break
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


# ---- latency: the generation a pinned service program runs --------------------
# bpf(2) through ctypes (x86-64 and arm64 syscall numbers): the program's
# nfo_ctl map is found through its map ids, as the daemon does.
_SYS_BPF = {"x86_64": 321, "aarch64": 280}


def _bpf(cmd, attr):
    import ctypes
    import platform
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(bytes(attr), 128)
    r = libc.syscall(_SYS_BPF[platform.machine()], cmd, buf, 128)
    if r < 0:
        raise OSError(ctypes.get_errno(), "bpf(%d)" % cmd)
    return r, buf


def _ctl_map(pin):
    import ctypes
    import struct
    path = ctypes.create_string_buffer(pin.encode())
    pfd, _ = _bpf(7, struct.pack("=Q", ctypes.addressof(path)))  # BPF_OBJ_GET
    ids = (ctypes.c_uint32 * 32)()
    info = ctypes.create_string_buffer(256)
    struct.pack_into("=IQ", info, 52, 32, ctypes.addressof(ids))  # nr_map_ids, map_ids
    _bpf(15, struct.pack("=IIQ", pfd, 256, ctypes.addressof(info)))  # OBJ_GET_INFO_BY_FD
    n = struct.unpack_from("=I", info, 52)[0]
    for i in range(min(n, 32)):
        mfd, _ = _bpf(14, struct.pack("=I", ids[i]))  # BPF_MAP_GET_FD_BY_ID
        mi = ctypes.create_string_buffer(128)
        _bpf(15, struct.pack("=IIQ", mfd, 128, ctypes.addressof(mi)))
        if mi.raw[24:40].split(b"\0")[0] == b"nfo_ctl":
            return mfd, struct.unpack_from("=I", mi, 12)[0]  # value_size
        os.close(mfd)
    raise OSError(errno.ENOENT, "no nfo_ctl map")


def _generation(ctl):
    import ctypes
    import struct
    mfd, vsz = ctl
    key = ctypes.c_uint32(0)
    # struct nfo_ctl grows (watchdog, trace): the kernel writes value_size
    # bytes, state and generation stay first (bpf/nfo_abi.h)
    val = ctypes.create_string_buffer(max(vsz, 16))
    _bpf(1, struct.pack("=IIQQ", mfd, 0, ctypes.addressof(key), ctypes.addressof(val)))
    state, _, gen = struct.unpack_from("=IIQ", val.raw)
    return state, gen


def cmd_latency(a):
    """Runs each nft command, then polls the program's live generation: how
    long after nft returned the change was live, in ms."""
    import subprocess
    import time
    ctl = _ctl_map(a.pin)
    out = []
    for cmd in a.nft:
        _, g0 = _generation(ctl)
        subprocess.run(["nft"] + cmd.split(), check=True)
        t0 = time.monotonic()
        while _generation(ctl)[1] == g0:
            if time.monotonic() - t0 > 10:
                break
        out.append(round((time.monotonic() - t0) * 1000, 2))
        time.sleep(a.gap)
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
    t = sub.add_parser("latency")
    t.add_argument("--pin", required=True)
    t.add_argument("--gap", type=float, default=0.2)
    t.add_argument("nft", nargs="+", help="nft commands, one word list each")
    a = ap.parse_args()
    {"recv": cmd_recv, "send": cmd_send, "raw": cmd_raw, "latency": cmd_latency}[a.cmd](a)


if __name__ == "__main__":
    main()
