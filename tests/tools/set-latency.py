#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Element add/delete -> live latency of the fast path (issue 8's figure).

  set-latency.py NS N [ELEMENTS]

Run as root, with a daemon already following namespace NS. Creates table
inet nfolat with a set of ELEMENTS addresses (default 100000) read by one
drop rule, waits until the daemon holds them, then N times: `nft add
element` of a new address, and from the moment nft returns, polls the
daemon's set stores (the bucket tables of nfo_xstores, found by name through
the bpf syscall, looked up as bpf/nfo_store.h does) until the key is there;
the same for `nft delete element` until it is gone.
Prints the median and the worst of both. The table is deleted at the end.
"""

import ctypes
import ipaddress
import os
import statistics
import struct
import subprocess
import sys
import time

SYS_BPF = 321  # x86_64
BPF_MAP_LOOKUP_ELEM, BPF_MAP_GET_NEXT_ID, BPF_MAP_GET_FD_BY_ID, BPF_OBJ_GET_INFO_BY_FD = 1, 12, 14, 15
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def bpf(cmd, attr):
    return libc.syscall(SYS_BPF, cmd, ctypes.byref(attr), ctypes.sizeof(attr))


class Attr(ctypes.Structure):
    _fields_ = [("a", ctypes.c_uint32), ("b", ctypes.c_uint32), ("c", ctypes.c_uint64),
                ("d", ctypes.c_uint64), ("e", ctypes.c_uint64), ("pad", ctypes.c_uint8 * 96)]


class MapInfo(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint32), ("id", ctypes.c_uint32), ("key_size", ctypes.c_uint32),
                ("value_size", ctypes.c_uint32), ("max_entries", ctypes.c_uint32),
                ("map_flags", ctypes.c_uint32), ("name", ctypes.c_char * 16),
                ("pad", ctypes.c_uint8 * 128)]


def xstores_fds():
    """Every map named nfo_xstores (the daemons' program sets)."""
    fds, cur = [], 0
    while True:
        a = Attr(a=cur)
        if bpf(BPF_MAP_GET_NEXT_ID, a) < 0:
            return fds
        cur = a.b
        a = Attr(a=cur)
        fd = bpf(BPF_MAP_GET_FD_BY_ID, a)
        if fd < 0:
            continue
        info = MapInfo()
        ia = Attr(a=fd, b=ctypes.sizeof(info), c=ctypes.addressof(info))
        if bpf(BPF_OBJ_GET_INFO_BY_FD, ia) == 0 and info.name == b"nfo_xstores":
            fds.append(fd)
        else:
            os.close(fd)


def lookup(fd, key, vsize):
    k = ctypes.create_string_buffer(key, len(key))
    v = ctypes.create_string_buffer(vsize)
    a = Attr(a=fd, c=ctypes.addressof(k), d=ctypes.addressof(v))
    return v.raw if bpf(BPF_MAP_LOOKUP_ELEM, a) == 0 else None


M32 = 0xffffffff


def mix(h):
    """nfo_table_mix() of bpf/nfo_store.h"""
    h ^= h >> 16
    h = (h * 0x7feb352d) & M32
    h ^= h >> 15
    h = (h * 0x846ca68b) & M32
    h ^= h >> 16
    return h


def table_has(fd, words):
    """nfo_table_member() of bpf/classify.h on the table map fd."""
    hdr = lookup(fd, struct.pack("I", 0), 64)
    if hdr is None:
        return False
    mask, seed, kw, nslots, has_exp = struct.unpack_from("5I", hdr)
    if kw != len(words):
        return False
    h = seed
    for i, w in enumerate(words):
        h = (mix(h ^ w) + i) & M32
    base = nslots * 2 if has_exp else 0
    for b in (1 + (h & mask), 1 + (mix(h ^ 0x9e3779b9) & mask)):
        bucket = lookup(fd, struct.pack("I", b), 64)
        occ = struct.unpack_from("I", bucket)[0]
        for i in range(nslots):
            if occ >> i & 1 and all(struct.unpack_from("I", bucket, 8 + 4 * (base + i * kw + j))[0]
                                    == words[j] for j in range(kw)):
                return True
    return False


def present(fds, addr):
    """Whether addr is in any store (table) of any program set."""
    words = list(struct.unpack("I", addr.packed))
    for fd in fds:
        for store in range(16):
            v = lookup(fd, struct.pack("I", store), 4)
            if v is None:
                continue
            tfd = bpf(BPF_MAP_GET_FD_BY_ID, Attr(a=struct.unpack("I", v)[0]))
            if tfd < 0:
                continue
            try:
                if table_has(tfd, words):
                    return True
            finally:
                os.close(tfd)
    return False


def nft(ns, *args, stdin=None):
    subprocess.run(["ip", "netns", "exec", ns, "nft"] + list(args), input=stdin, text=True,
                   check=True)


def wait(fds, addr, want, timeout=30.0):
    t0 = time.monotonic()
    while present(fds, addr) != want:
        if time.monotonic() - t0 > timeout:
            raise SystemExit("timed out waiting for %s" % addr)
    return (time.monotonic() - t0) * 1e3


def main():
    ns, n = sys.argv[1], int(sys.argv[2])
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 100000
    elems = ", ".join(str(ipaddress.ip_address(0x0b000000 + i)) for i in range(size))
    nft(ns, "-f", "-", stdin="table inet nfolat {\n set v4 { type ipv4_addr; elements = { %s } }\n"
        " chain pre { type filter hook prerouting priority -10; policy accept;\n"
        "  ip saddr @v4 counter drop\n }\n}\n" % elems)
    try:
        fds = []
        last = ipaddress.ip_address(0x0b000000 + size - 1)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 600:
            fds = xstores_fds()
            if fds and present(fds, last):
                break
            time.sleep(0.2)
        print("set of %d elements live after %.1f s" % (size, time.monotonic() - t0))
        adds, dels = [], []
        for i in range(n):
            a = ipaddress.ip_address(0x0d000000 + i)
            nft(ns, "add", "element", "inet", "nfolat", "v4", "{ %s }" % a)
            adds.append(wait(fds, a, True))
            time.sleep(0.1)
            nft(ns, "delete", "element", "inet", "nfolat", "v4", "{ %s }" % a)
            dels.append(wait(fds, a, False))
            time.sleep(0.1)
        print("add -> live: median %.2f ms, max %.2f ms (n=%d)" %
              (statistics.median(adds), max(adds), n))
        print("delete -> gone: median %.2f ms, max %.2f ms (n=%d)" %
              (statistics.median(dels), max(dels), n))
    finally:
        nft(ns, "delete", "table", "inet", "nfolat")


if __name__ == "__main__":
    main()
