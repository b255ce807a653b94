#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Element add/delete -> live latency of the fast path (issue 8's figure).

  set-latency.py NS N [ELEMENTS]

Run as root, with a daemon already following namespace NS. Creates table
inet nfolat with a set of ELEMENTS addresses (default 100000) read by one
drop rule, waits until the daemon holds them, then N times: `nft add
element` of a new address, and from the moment nft returns, polls the
daemon's set map (nfo_setkeys, found by name through the bpf syscall) until
the key is there; the same for `nft delete element` until it is gone.
Prints the median and the worst of both. The table is deleted at the end.
"""

import ctypes
import ipaddress
import os
import statistics
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


def setkeys_fds():
    """Every map named nfo_setkeys (the daemons' program sets)."""
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
        if bpf(BPF_OBJ_GET_INFO_BY_FD, ia) == 0 and info.name == b"nfo_setkeys":
            fds.append(fd)
        else:
            os.close(fd)


def present(fds, addr):
    """Whether addr is in any slot of any half (slot_half 0..15)."""
    key = ctypes.create_string_buffer(40)
    val = ctypes.create_string_buffer(8)
    for fd in fds:
        for sh in range(16):
            ctypes.memmove(key, sh.to_bytes(4, "little") + addr.packed + bytes(32), 40)
            a = Attr(a=fd, c=ctypes.addressof(key), d=ctypes.addressof(val))
            if bpf(BPF_MAP_LOOKUP_ELEM, a) == 0:
                return True
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
            fds = setkeys_fds()
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
