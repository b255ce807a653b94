#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""pkt.py: craft and send Ethernet frames, count what a namespace receives.

Standard library only. Two commands:

  pkt.py send -i IFACE --dst-mac MAC --src ADDR --dst ADDR [--proto udp] ...
      Builds Ethernet [+ VLAN tags] + IPv4/IPv6 [+ options / extension
      headers] + UDP/TCP/ICMP/ICMPv6/any protocol, with correct checksums,
      optionally fragmented, and writes it COUNT times to an AF_PACKET socket
      bound to IFACE (at RATE frames per second).

  pkt.py recv [--proto udp,tcp,icmp] [--expect KEY=N ...] [--timeout S]
      Opens raw IP sockets (AF_INET/AF_INET6, SOCK_RAW, one per protocol).
      They see a packet only after the netfilter input hook accepted it and
      (for fragments) after reassembly: ip_local_deliver_finish() ->
      raw_local_deliver(), ip6_protocol_deliver_rcu() -> raw6_local_deliver().
      Prints {"counts": {KEY: N, ...}, "total": N} as JSON when all
      expectations are met, at the timeout, or on SIGTERM/SIGINT.

Receive keys: "ip/udp/DPORT", "ip/tcp/DPORT", "ip/sctp/DPORT", "ip/icmp/TYPE",
"ip6/udp/DPORT", "ip6/tcp/DPORT", "ip6/sctp/DPORT", "ip6/icmpv6/TYPE", and
"ip/proto/N", "ip6/proto/N" for any other protocol; a packet whose payload
(after the transport header) starts with "nfo:TAG:" is counted under "tag/TAG"
too (send --tag TAG).
`pkt.py send --print-key` prints the key of what it sends.

Both commands take --netns NAME (a name under /run/netns, as `ip netns`
makes): the sockets are created in that network namespace (setns(2)).

As a library:

    import pkt
    spec = pkt.PacketSpec(src="10.0.0.1", dst="10.0.0.2", proto="udp", dport=9)
    frames = pkt.build_frames(spec, src_mac="02:..", dst_mac="02:..")
    with pkt.netns("sender"):
        tx = pkt.Sender("veth0")           # socket lives in "sender"
    tx.send(frames, count=10)
    with pkt.netns("receiver"):
        rx = pkt.Receiver(protos=("udp",))
    rx.wait_for({spec.recv_key(): 10}, timeout=5)
    print(rx.counts)
"""

import argparse
import contextlib
import ctypes
import errno
import fcntl
import ipaddress
import json
import os
import select
import signal
import socket
import struct
import sys
import time

__all__ = [
    "PacketSpec", "build_frames", "build_l3", "ether_header", "ipv4_header",
    "ipv6_header", "udp_header", "tcp_header", "icmp_message", "checksum",
    "fragment_ipv4", "fragment_ipv6", "parse_mac", "iface_mac", "netns",
    "Sender", "Receiver", "PROTO_NUMBERS", "recv_key", "tagged", "spec_from_args",
    "add_send_arguments", "sctp_header", "crc32c",
]

PROTO_NUMBERS = {
    "icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51,
    "icmpv6": 58, "sctp": 132, "udplite": 136,
}
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
ETH_P_8021Q = 0x8100

# IPv6 extension headers (RFC 8200 section 4; the kernel walks the same set in
# ipv6_find_hdr()).
EXT_NUMBERS = {"hbh": 0, "rt": 43, "frag": 44, "ah": 51, "dst": 60}

# A payload starting with b"nfo:TAG:" is also counted under "tag/TAG", so a
# test can tell its packets from any others with the same ports.
TAG_PREFIX = b"nfo:"

TCP_FLAG_BITS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10,
                 "U": 0x20, "E": 0x40, "C": 0x80}


# ---- checksums and headers -------------------------------------------------

def checksum(data):
    """RFC 1071 Internet checksum of data (bytes)."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def _pseudo_header(src, dst, proto, length):
    if src.version == 4:
        return struct.pack("!4s4sBBH", src.packed, dst.packed, 0, proto, length)
    return struct.pack("!16s16sIxxxB", src.packed, dst.packed, length, proto)


def _l4_checksum(src, dst, proto, segment):
    c = checksum(_pseudo_header(src, dst, proto, len(segment)) + segment)
    if proto == 17 and c == 0:
        c = 0xFFFF  # RFC 768: a computed zero is sent as all ones
    return c


def parse_mac(mac):
    """'02:00:00:00:00:01' -> 6 bytes."""
    parts = mac.replace("-", ":").split(":")
    if len(parts) != 6:
        raise ValueError("bad MAC address %r" % mac)
    return bytes(int(p, 16) for p in parts)


def ether_header(dst_mac, src_mac, ethertype, vlans=()):
    """Ethernet header; vlans: list of (vid, tpid) outermost first."""
    h = parse_mac(dst_mac) + parse_mac(src_mac)
    for vid, tpid in vlans:
        h += struct.pack("!HH", tpid, vid & 0x0FFF)
    return h + struct.pack("!H", ethertype)


def ipv4_header(src, dst, proto, payload_len, ttl=64, tos=0, ident=0,
                flags_frag=0, options=b""):
    """IPv4 header with checksum. flags_frag: the 16-bit flags+offset field."""
    if len(options) % 4:
        options += b"\0" * (4 - len(options) % 4)
    ihl = 5 + len(options) // 4
    h = struct.pack("!BBHHHBBH4s4s", (4 << 4) | ihl, tos, ihl * 4 + payload_len,
                    ident, flags_frag, ttl, proto, 0, src.packed, dst.packed)
    h += options
    c = checksum(h)
    return h[:10] + struct.pack("!H", c) + h[12:]


def ipv6_header(src, dst, nexthdr, payload_len, hlim=64, tclass=0, flow=0):
    return struct.pack("!IHBB16s16s", (6 << 28) | (tclass << 20) | flow,
                       payload_len, nexthdr, hlim, src.packed, dst.packed)


def udp_header(src, dst, sport, dport, payload):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    c = _l4_checksum(src, dst, 17, seg)
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def tcp_flags(flags):
    """'S', 'SA', 'FA', or a number."""
    if isinstance(flags, int):
        return flags
    if flags.isdigit() or flags.startswith("0x"):
        return int(flags, 0)
    v = 0
    for ch in flags.upper():
        if ch not in TCP_FLAG_BITS:
            raise ValueError("bad TCP flag %r (use F S R P A U E C)" % ch)
        v |= TCP_FLAG_BITS[ch]
    return v


def tcp_header(src, dst, sport, dport, payload, flags="S", seq=1, ack=0,
               window=65535, options=b""):
    if len(options) % 4:
        options += b"\x01" * (4 - len(options) % 4)  # NOP padding
    doff = 5 + len(options) // 4
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4,
                      tcp_flags(flags), window, 0, 0) + options + payload
    c = _l4_checksum(src, dst, 6, seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_CRC32C = _crc32c_table()


def crc32c(data):
    """CRC32c (Castagnoli), as SCTP's checksum (RFC 9260 appendix A)."""
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def sctp_header(sport, dport, payload, vtag=1, tsn=1):
    """SCTP common header + one DATA chunk carrying payload (RFC 9260 3, 3.3.1),
    with its CRC32c checksum."""
    chunk = struct.pack("!BBHIHHI", 0, 0x03, 16 + len(payload), tsn, 0, 0, 0) + payload
    if len(chunk) % 4:
        chunk += b"\0" * (4 - len(chunk) % 4)
    seg = struct.pack("!HHII", sport, dport, vtag, 0) + chunk
    # The CRC is stored in little-endian byte order (RFC 9260 appendix A).
    return seg[:8] + struct.pack("<I", crc32c(seg)) + seg[12:]


def icmp_message(src, dst, icmp_type, code, ident, seq, payload, v6):
    msg = struct.pack("!BBHHH", icmp_type, code, 0, ident, seq) + payload
    if v6:
        c = _l4_checksum(src, dst, 58, msg)
    else:
        c = checksum(msg)
    return msg[:2] + struct.pack("!H", c) + msg[4:]


def _ext_header(kind, nexthdr, frag_offset=0, more=False, ident=0):
    """One IPv6 extension header (8 bytes; AH 16) with the given next header."""
    if kind in ("hbh", "dst"):
        # PadN option of 4 bytes fills the 8-byte header (RFC 8200 4.2).
        return struct.pack("!BB", nexthdr, 0) + b"\x01\x04\0\0\0\0"
    if kind == "rt":
        # Type 0 with segments left 0: ipv6_rthdr_rcv() skips such a header
        # and goes on with the next one.
        return struct.pack("!BBBB", nexthdr, 0, 0, 0) + b"\0" * 4
    if kind == "frag":
        return struct.pack("!BBHI", nexthdr, 0,
                           (frag_offset & ~7) | (1 if more else 0), ident)
    if kind == "ah":
        # Payload length in 4-byte units minus 2: 16 bytes -> 2.
        return struct.pack("!BBHII", nexthdr, 2, 0, 0x100, 1) + b"\0" * 4
    raise ValueError("unknown extension header %r (hbh rt frag ah dst)" % kind)


def _chain_ext(exts, final_nh, frag_kw=None):
    """Extension headers exts (names, outermost first) in front of final_nh:
    returns (first next-header value, header bytes)."""
    out = b""
    nh = final_nh
    for kind in reversed(exts):
        kw = frag_kw if (kind == "frag" and frag_kw) else {}
        out = _ext_header(kind, nh, **kw) + out
        nh = EXT_NUMBERS[kind]
    return nh, out


# ---- packet description -----------------------------------------------------

def _proto_number(proto):
    if isinstance(proto, int):
        return proto
    p = str(proto).lower()
    if p.isdigit():
        return int(p)
    if p not in PROTO_NUMBERS:
        raise ValueError("unknown protocol %r" % proto)
    return PROTO_NUMBERS[p]


def tagged(tag, payload=b""):
    """A payload Receiver also counts under "tag/TAG"."""
    return TAG_PREFIX + tag.encode() + b":" + payload


def recv_key(family, proto, port_or_type=None):
    """Key under which Receiver counts a packet."""
    fam = "ip" if family == 4 else "ip6"
    if proto in (6, 17, 132):
        return "%s/%s/%d" % (fam, {6: "tcp", 17: "udp", 132: "sctp"}[proto], port_or_type)
    if proto == 1 and family == 4:
        return "ip/icmp/%d" % port_or_type
    if proto == 58 and family == 6:
        return "ip6/icmpv6/%d" % port_or_type
    return "%s/proto/%d" % (fam, proto)


class PacketSpec:
    """What to send. Addresses decide the family (IPv4 or IPv6).

    proto: "udp", "tcp", "sctp" (common header + one DATA chunk), "icmp",
           "icmpv6" or a number (then payload only).
    ip_options: raw IPv4 option bytes (padded to 4 bytes with EOL).
    ext: IPv6 extension headers in front of the transport header, outermost
         first, from "hbh", "rt", "dst", "frag" (an atomic fragment: offset 0,
         no more fragments), "ah".
    frag: split the IP packet into fragments carrying at most this many
          payload bytes each (rounded down to a multiple of 8); IPv6 adds a
          fragment header after the extension headers in ext.
    frag_select: indexes of the fragments to send (default all), in order,
          or "reverse": all of them, last first.
    payload: bytes after the transport header.
    flow: IPv6 flow label (20 bits).
    ack: TCP acknowledgment number.
    tcp_options: raw TCP option bytes (padded to 4 bytes with NOP).
    truncate: cut the transport segment (header included) to this many bytes;
          the IP length covers only what is left (a truncated header).
    """

    def __init__(self, src, dst, proto="udp", sport=40000, dport=9,
                 tcp_flags="S", seq=1, icmp_type=None, icmp_code=0,
                 icmp_id=1, icmp_seq=1, payload=b"nft-offload test",
                 ttl=64, tos=0, ident=None, dont_frag=False,
                 ip_options=b"", ext=(), frag=0, frag_select=None, flow=0,
                 ack=0, truncate=None, tcp_options=b""):
        self.src = ipaddress.ip_address(src)
        self.dst = ipaddress.ip_address(dst)
        if self.src.version != self.dst.version:
            raise ValueError("source and destination are not the same family")
        self.family = self.src.version
        self.proto_name = str(proto).lower()
        self.proto = _proto_number(proto)
        if self.family == 6 and self.proto == 1:
            raise ValueError("icmp over IPv6: use icmpv6")
        if self.family == 4 and self.proto == 58:
            raise ValueError("icmpv6 over IPv4: use icmp")
        self.sport, self.dport = sport, dport
        self.tcp_flags, self.seq = tcp_flags, seq
        if icmp_type is None:
            icmp_type = 8 if self.family == 4 else 128  # echo request
        self.icmp_type, self.icmp_code = icmp_type, icmp_code
        self.icmp_id, self.icmp_seq = icmp_id, icmp_seq
        self.payload = payload
        self.ttl, self.tos = ttl, tos
        self.ident = ident if ident is not None else (os.getpid() & 0xFFFF)
        self.dont_frag = dont_frag
        self.ip_options = ip_options
        if self.ip_options and self.family != 4:
            raise ValueError("IP options are IPv4 only (use ext for IPv6)")
        self.ext = list(ext)
        if self.ext and self.family != 6:
            raise ValueError("extension headers are IPv6 only")
        for e in self.ext:
            if e not in EXT_NUMBERS:
                raise ValueError("unknown extension header %r" % e)
        self.frag = frag
        self.frag_select = frag_select
        self.flow = flow & 0xFFFFF
        self.ack = ack
        self.truncate = truncate
        self.tcp_options = tcp_options

    def l4(self):
        """The transport segment (header + payload) with its checksum."""
        v6 = self.family == 6
        if self.proto == 17:
            return udp_header(self.src, self.dst, self.sport, self.dport, self.payload)
        if self.proto == 6:
            return tcp_header(self.src, self.dst, self.sport, self.dport,
                              self.payload, self.tcp_flags, self.seq, self.ack,
                              options=self.tcp_options)
        if self.proto == 132:
            return sctp_header(self.sport, self.dport, self.payload)
        if self.proto in (1, 58):
            return icmp_message(self.src, self.dst, self.icmp_type, self.icmp_code,
                                self.icmp_id, self.icmp_seq, self.payload, v6)
        return self.payload

    def recv_key(self):
        """Receiver key of this packet (as the kernel delivers it)."""
        if self.proto in (6, 17, 132):
            return recv_key(self.family, self.proto, self.dport)
        if self.proto in (1, 58):
            return recv_key(self.family, self.proto, self.icmp_type)
        return recv_key(self.family, self.proto)


def build_l3(spec):
    """The IP packets (one, or the fragments) of spec, as bytes."""
    seg = spec.l4()
    if spec.truncate is not None:
        seg = seg[:spec.truncate]
    if spec.family == 4:
        if spec.frag:
            return fragment_ipv4(spec, seg, spec.frag)
        ff = 0x4000 if spec.dont_frag else 0
        return [ipv4_header(spec.src, spec.dst, spec.proto, len(seg), spec.ttl,
                            spec.tos, spec.ident, ff, spec.ip_options) + seg]
    if spec.frag:
        return fragment_ipv6(spec, seg, spec.frag)
    nh, ext = _chain_ext(spec.ext, spec.proto)
    return [ipv6_header(spec.src, spec.dst, nh, len(ext) + len(seg), spec.ttl,
                        spec.tos, spec.flow) + ext + seg]


def _select(frags, select):
    if select is None:
        return frags
    if select == "reverse":
        return frags[::-1]
    return [frags[i] for i in select]


def fragment_ipv4(spec, seg, size):
    """Fragments of the IPv4 packet carrying seg (RFC 791). Options whose copy
    flag is set go into every fragment, the others into the first only."""
    size &= ~7
    if size <= 0:
        raise ValueError("fragment size must be at least 8")
    copied = b""
    o = spec.ip_options
    i = 0
    while i < len(o):
        t = o[i]
        if t in (0, 1):
            i += 1
            continue
        ln = o[i + 1] if i + 1 < len(o) else 0
        if ln < 2:
            break
        if t & 0x80:
            copied += o[i:i + ln]
        i += ln
    frags = []
    off = 0
    while True:
        chunk = seg[off:off + size]
        more = off + len(chunk) < len(seg)
        ff = (0x4000 if spec.dont_frag else 0) | (0x2000 if more else 0) | (off >> 3)
        opts = spec.ip_options if off == 0 else copied
        frags.append(ipv4_header(spec.src, spec.dst, spec.proto, len(chunk), spec.ttl,
                                 spec.tos, spec.ident, ff, opts) + chunk)
        off += len(chunk)
        if not more:
            break
    return _select(frags, spec.frag_select)


def fragment_ipv6(spec, seg, size):
    """Fragments of the IPv6 packet (RFC 8200 4.5): the headers in spec.ext
    are the unfragmentable part; a fragment header follows them."""
    size &= ~7
    if size <= 0:
        raise ValueError("fragment size must be at least 8")
    exts = [e for e in spec.ext if e != "frag"]
    frags = []
    off = 0
    while True:
        chunk = seg[off:off + size]
        more = off + len(chunk) < len(seg)
        nh, ext = _chain_ext(exts + ["frag"], spec.proto,
                             frag_kw={"frag_offset": off, "more": more,
                                      "ident": spec.ident})
        frags.append(ipv6_header(spec.src, spec.dst, nh, len(ext) + len(chunk),
                                 spec.ttl, spec.tos, spec.flow) + ext + chunk)
        off += len(chunk)
        if not more:
            break
    return _select(frags, spec.frag_select)


def build_frames(spec, src_mac, dst_mac, vlans=()):
    """Ethernet frames (list of bytes) carrying spec; vlans: [(vid, tpid)]."""
    et = ETH_P_IP if spec.family == 4 else ETH_P_IPV6
    eh = ether_header(dst_mac, src_mac, et, vlans)
    return [eh + p for p in build_l3(spec)]


# ---- namespaces and sockets -------------------------------------------------

_CLONE_NEWNET = 0x40000000
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)  # asm-generic/socket.h
_libc = None


def _setns(fd):
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: %s" % os.strerror(e))


@contextlib.contextmanager
def netns(name):
    """Run the block in network namespace name (a file under /run/netns, or
    a path). Sockets created inside stay in that namespace. name None: no-op."""
    if not name:
        yield
        return
    path = name if "/" in name else os.path.join("/run/netns", name)
    old = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        new = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(new)
        finally:
            os.close(new)
        try:
            yield
        finally:
            _setns(old)
    finally:
        os.close(old)


def iface_mac(ifname, ns=None):
    """MAC address of ifname (in namespace ns) as 'aa:bb:..'."""
    SIOCGIFHWADDR = 0x8927
    with netns(ns):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        r = fcntl.ioctl(s.fileno(), SIOCGIFHWADDR,
                        struct.pack("16s16s", ifname.encode(), b""))
    finally:
        s.close()
    return ":".join("%02x" % b for b in r[18:24])


class Sender:
    """An AF_PACKET socket bound to ifname (in namespace ns)."""

    def __init__(self, ifname, ns=None):
        with netns(ns):
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
            self.sock.bind((ifname, 0))
        self.ifname = ifname

    def send(self, frames, count=1, rate=0.0):
        """Writes every frame, count times, at most rate frames/s (0: as fast
        as possible). Retries when the device queue is full. Returns frames
        sent."""
        n = 0
        gap = 1.0 / rate if rate else 0.0
        t0 = time.monotonic()
        for _ in range(count):
            for f in frames:
                if gap:
                    delay = t0 + n * gap - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                while True:
                    try:
                        self.sock.send(f)
                        break
                    except OSError as e:
                        if e.errno not in (errno.ENOBUFS, errno.EAGAIN):
                            raise
                        time.sleep(0.001)
                n += 1
        return n

    def close(self):
        self.sock.close()


class Receiver:
    """Counts packets delivered to local sockets, per recv_key().

    One raw socket per (family, protocol): the kernel hands it a copy of each
    packet of that protocol delivered locally, after the input hook and after
    reassembly. src (optional) restricts counting to one source address.
    """

    def __init__(self, protos=("udp", "tcp", "icmp"), families=(4, 6), ns=None,
                 src=None, rcvbuf=1 << 22):
        self.counts = {}
        self.total = 0
        self.src = ipaddress.ip_address(src) if src else None
        self.socks = []
        with netns(ns):
            for fam in families:
                for p in protos:
                    num = _proto_number(p)
                    if fam == 4 and num == 58:
                        continue
                    if fam == 6 and num == 1:
                        num = 58  # "icmp" means ICMPv6 for IPv6
                    if any(f == fam and q == num for _, f, q in self.socks):
                        continue
                    af = socket.AF_INET if fam == 4 else socket.AF_INET6
                    s = socket.socket(af, socket.SOCK_RAW, num)
                    s.setblocking(False)
                    try:
                        s.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, rcvbuf)
                    except OSError:
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
                    self.socks.append((s, fam, num))

    def _account(self, data, fam, proto, addr):
        if self.src is not None and ipaddress.ip_address(addr[0].split("%")[0]) != self.src:
            return
        if fam == 4:
            # IPv4 raw sockets get the IP header (ip_local_deliver has
            # reassembled fragments by then).
            if len(data) < 20:
                return
            ihl = (data[0] & 0x0F) * 4
            l4 = data[ihl:]
        else:
            l4 = data  # IPv6 raw sockets get the payload after the headers
        if proto in (6, 17, 132):
            if len(l4) < 4:
                return
            key = recv_key(fam, proto, struct.unpack("!H", l4[2:4])[0])
            if proto == 17:
                data = l4[8:]
            elif proto == 132:
                data = l4[28:]  # common header + DATA chunk header
            else:
                data = l4[(l4[12] >> 4) * 4:] if len(l4) > 12 else b""
        elif proto in (1, 58):
            if len(l4) < 1:
                return
            key = recv_key(fam, proto, l4[0])
            data = l4[8:]
        else:
            key = recv_key(fam, proto)
            data = l4
        self.counts[key] = self.counts.get(key, 0) + 1
        self.total += 1
        if data.startswith(TAG_PREFIX):
            tag = data[len(TAG_PREFIX):].split(b":", 1)[0].decode("ascii", "replace")
            k = "tag/" + tag
            self.counts[k] = self.counts.get(k, 0) + 1

    def poll(self, timeout=0.0):
        """Reads what is queued, waiting up to timeout for the first packet."""
        if not self.socks:
            return
        r, _, _ = select.select([s for s, _, _ in self.socks], [], [], timeout)
        for s, fam, proto in self.socks:
            if s not in r:
                continue
            while True:
                try:
                    data, addr = s.recvfrom(65535)
                except BlockingIOError:
                    break
                self._account(data, fam, proto, addr)

    def wait_for(self, expect, timeout):
        """Reads until every key in expect has at least its count, or timeout.
        Returns True if the expectations were met."""
        deadline = time.monotonic() + timeout
        while True:
            self.poll(0)
            if all(self.counts.get(k, 0) >= n for k, n in expect.items()):
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.poll(min(left, 0.2))

    def get(self, key):
        return self.counts.get(key, 0)

    def close(self):
        for s, _, _ in self.socks:
            s.close()
        self.socks = []


# ---- command line -------------------------------------------------------------

def _int(s):
    return int(s, 0)


def _vlan(s):
    vid, _, tpid = s.partition(":")
    return (int(vid, 0), int(tpid, 0) if tpid else ETH_P_8021Q)


def _payload(args):
    if args.tag is not None:
        return tagged(args.tag, _raw_payload(args))
    return _raw_payload(args)


def _raw_payload(args):
    if args.payload_hex is not None:
        return bytes.fromhex(args.payload_hex)
    if args.payload_len is not None:
        return bytes((i * 7 + 1) & 0xFF for i in range(args.payload_len))
    return args.payload.encode()


def spec_from_args(args):
    """PacketSpec from parsed `send` arguments (for tools reusing the CLI)."""
    ext = []
    for e in args.ext or []:
        ext.extend(x for x in e.split(",") if x)
    sel = None
    if args.frag_select == "reverse":
        sel = "reverse"
    elif args.frag_select:
        sel = [int(x) for x in args.frag_select.split(",") if x != ""]
    return PacketSpec(
        src=args.src, dst=args.dst, proto=args.proto, sport=args.sport,
        dport=args.dport, tcp_flags=args.tcp_flags, seq=args.seq,
        icmp_type=args.icmp_type, icmp_code=args.icmp_code, icmp_id=args.icmp_id,
        icmp_seq=args.icmp_seq, payload=_payload(args), ttl=args.ttl, tos=args.tos,
        ident=args.ident, dont_frag=args.df,
        ip_options=bytes.fromhex(args.ip_options) if args.ip_options else b"",
        ext=ext, frag=args.frag, frag_select=sel, flow=args.flow, ack=args.ack,
        truncate=args.truncate,
        tcp_options=bytes.fromhex(args.tcp_options) if args.tcp_options else b"")


def add_send_arguments(p):
    """The packet options of `send` (reusable by other tools' parsers)."""
    g = p.add_argument_group("packet")
    g.add_argument("--src", required=True, help="source IPv4 or IPv6 address")
    g.add_argument("--dst", required=True, help="destination address (same family)")
    g.add_argument("--proto", default="udp",
                   help="udp, tcp, sctp, icmp, icmpv6, a name (gre...) or a number "
                        "(then only the payload follows the IP headers); default udp")
    g.add_argument("--sport", type=_int, default=40000, help="source port (default 40000)")
    g.add_argument("--dport", type=_int, default=9, help="destination port (default 9)")
    g.add_argument("--tcp-flags", default="S",
                   help="TCP flags as letters FSRPAUEC or a number (default S)")
    g.add_argument("--seq", type=_int, default=1, help="TCP sequence number")
    g.add_argument("--ack", type=_int, default=0, help="TCP acknowledgment number")
    g.add_argument("--icmp-type", type=_int, default=None,
                   help="ICMP/ICMPv6 type (default echo request: 8 / 128)")
    g.add_argument("--icmp-code", type=_int, default=0, help="ICMP code (default 0)")
    g.add_argument("--icmp-id", type=_int, default=1, help="ICMP echo identifier")
    g.add_argument("--icmp-seq", type=_int, default=1, help="ICMP echo sequence")
    g.add_argument("--payload", default="nft-offload test", help="payload text")
    g.add_argument("--payload-hex", default=None, help="payload as hex bytes")
    g.add_argument("--payload-len", type=_int, default=None,
                   help="payload of N pattern bytes")
    g.add_argument("--tag", default=None,
                   help="start the payload with nfo:TAG: (recv counts it as tag/TAG)")
    g.add_argument("--ttl", type=_int, default=64, help="TTL / hop limit")
    g.add_argument("--tos", type=_int, default=0, help="TOS / traffic class")
    g.add_argument("--ident", type=_int, default=None,
                   help="IPv4 id / IPv6 fragment id (default: pid)")
    g.add_argument("--df", action="store_true", help="IPv4: set Don't Fragment")
    g.add_argument("--flow", type=_int, default=0, help="IPv6 flow label")
    g.add_argument("--truncate", type=_int, default=None, metavar="N",
                   help="cut the transport segment to N bytes (a truncated header)")
    g.add_argument("--tcp-options", default=None, metavar="HEX",
                   help="TCP options as hex bytes (NOP-padded to 4), e.g. 020400c8 (MSS 200)")
    g.add_argument("--ip-options", default=None, metavar="HEX",
                   help="IPv4 options as hex bytes, e.g. 01010100 (NOP NOP NOP EOL)")
    g.add_argument("--ext", action="append", metavar="LIST",
                   help="IPv6 extension headers before the transport header, "
                        "outermost first, comma separated: hbh, rt, dst, frag "
                        "(atomic fragment), ah; repeatable")
    g.add_argument("--frag", type=_int, default=0, metavar="SIZE",
                   help="fragment: at most SIZE payload bytes per fragment "
                        "(multiple of 8)")
    g.add_argument("--frag-select", default=None, metavar="I,J,...|reverse",
                   help="send only these fragments (0-based indexes, in this order; "
                        "the others are not sent), or all of them in reverse order")
    f = p.add_argument_group("frame")
    f.add_argument("--dst-mac", required=True, help="destination MAC address")
    f.add_argument("--src-mac", default=None,
                   help="source MAC address (default: the interface's)")
    f.add_argument("--vlan", action="append", type=_vlan, metavar="VID[:TPID]",
                   help="802.1Q tag (TPID default 0x8100), outermost first; repeatable")


def cmd_send(args):
    spec = spec_from_args(args)
    if args.print_key:
        print(spec.recv_key())
        return 0
    src_mac = args.src_mac or iface_mac(args.interface, args.netns)
    frames = build_frames(spec, src_mac, args.dst_mac, args.vlan or ())
    if args.hexdump:
        for f in frames:
            print(f.hex())
        return 0
    tx = Sender(args.interface, args.netns)
    n = tx.send(frames, args.count, args.rate)
    tx.close()
    if args.json:
        print(json.dumps({"sent": n, "frames_per_packet": len(frames),
                          "key": spec.recv_key(),
                          "l3_lengths": [len(f) - 14 - 4 * len(args.vlan or ())
                                         for f in frames]}))
    return 0


def cmd_recv(args):
    protos = [p for x in args.proto for p in x.split(",") if p]
    fams = (4, 6) if args.family == "both" else ((4,) if args.family == "4" else (6,))
    expect = {}
    for e in args.expect or []:
        k, _, n = e.rpartition("=")
        if not k:
            raise SystemExit("pkt.py recv: --expect wants KEY=N, got %r" % e)
        expect[k] = int(n)
    rx = Receiver(protos, fams, args.netns, args.from_addr)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(args.ready_file + ".tmp", args.ready_file)
    deadline = time.monotonic() + args.timeout
    met = False
    while not stop:
        rx.poll(0)
        if expect and all(rx.get(k) >= n for k, n in expect.items()):
            met = True
            if args.linger:
                end = time.monotonic() + args.linger
                while time.monotonic() < end:
                    rx.poll(end - time.monotonic())
            break
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            rx.poll(min(left, 0.1))
        except InterruptedError:
            pass
    out = {"counts": rx.counts, "total": rx.total}
    if expect:
        out["expect_met"] = met
    print(json.dumps(out, sort_keys=True), flush=True)
    rx.close()
    return 0 if (met or not expect) else 1


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="pkt.py",
        description="Craft and send Ethernet frames; count packets delivered locally.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("As a library:")[0].split("\n", 2)[2])
    sub = ap.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("send", help="build frames and write them to an interface",
                       description="Build Ethernet/IP frames and write them to IFACE "
                                   "through an AF_PACKET socket.")
    s.add_argument("-i", "--interface", required=True, help="interface to send on")
    s.add_argument("--netns", default=None, help="network namespace (name under /run/netns)")
    s.add_argument("-c", "--count", type=_int, default=1, help="send the packet N times")
    s.add_argument("--rate", type=float, default=0.0,
                   help="frames per second (default: as fast as possible)")
    s.add_argument("--json", action="store_true",
                   help="print {sent, frames_per_packet, key, l3_lengths} as JSON")
    s.add_argument("--print-key", action="store_true",
                   help="print the receiver key of the packet and send nothing")
    s.add_argument("--hexdump", action="store_true",
                   help="print the frames as hex and send nothing")
    add_send_arguments(s)

    r = sub.add_parser("recv", help="count packets delivered to this namespace",
                       description="Count packets the kernel delivers locally (raw IP "
                                   "sockets: after the input hook, after reassembly) and "
                                   "print the counts as JSON.")
    r.add_argument("--netns", default=None, help="network namespace (name under /run/netns)")
    r.add_argument("--proto", action="append", default=None,
                   help="protocols to count, comma separated (names or numbers; "
                        "icmp means ICMPv6 for IPv6); default udp,tcp,icmp")
    r.add_argument("--family", choices=("4", "6", "both"), default="both")
    r.add_argument("--from", dest="from_addr", default=None,
                   help="count only packets from this source address")
    r.add_argument("--timeout", type=float, default=5.0,
                   help="stop after this many seconds (default 5)")
    r.add_argument("--expect", action="append", metavar="KEY=N",
                   help="stop as soon as KEY was counted N times (all of them); "
                        "exit 1 if not met by the timeout")
    r.add_argument("--linger", type=float, default=0.0,
                   help="after the expectations are met, keep counting this long")
    r.add_argument("--ready-file", default=None,
                   help="create this file once the sockets are open")
    args = ap.parse_args(argv)
    if args.cmd == "recv" and args.proto is None:
        args.proto = ["udp,tcp,icmp"]
    try:
        return cmd_send(args) if args.cmd == "send" else cmd_recv(args)
    except (OSError, ValueError) as e:
        print("pkt.py %s: %s" % (args.cmd, e), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
