#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""reset_probe.py: sends one TCP segment from the sender namespace and
prints the TCP reset that comes back, field by field.

  reset_probe.py [--src A] [--sport P] --dport P [--flags F] [--seq N]
                 [--ack N] [--payload-len N] [--tcp-options HEX]
                 [--bad-csum] [--wait S]
  reset_probe.py --connect --dport P
  reset_probe.py --v6 ...: the same over IPv6 (NFO_S6 -> NFO_R6)

Sends the segment (NFO_S4 or --src -> NFO_R4, NFO_MAC_S -> NFO_MAC_R) out of
NFO_IF_S with an AF_PACKET socket and captures, on the same interface, the
first IPv4 TCP frame from NFO_R4 port P to it within S seconds. Prints
{"reply": null} or {"reply": {field: value, ...}} with the fields of the
Ethernet, IPv4 and TCP headers, "tcp_csum_ok" (the TCP checksum verifies)
and "len" (the IP packet's length).

With --v6 the fields are those of the Ethernet, IPv6 and TCP headers
("tclass", "flow", "plen", "nexthdr", "hlim" for the IPv6 header) and the
capture takes the first IPv6 TCP frame from NFO_R6 port P; --ext adds
extension headers (pkt.PacketSpec's names).

--connect: connect() to NFO_R4 (NFO_R6) port P from a socket of the sender namespace
instead; prints {"refused": true|false}.
"""
import argparse
import ipaddress
import json
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.environ["NFO_SRC"], "tests", "tools"))
import pkt  # noqa: E402

ETH_P_ALL = 0x0003


def fields(frame):
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    tot = struct.unpack("!H", ip[2:4])[0]
    tcp = ip[ihl:tot]
    pseudo = struct.pack("!4s4sBBH", ip[12:16], ip[16:20], 0, 6, len(tcp))
    seg_sum = pkt.checksum(pseudo + tcp)
    return {
        "dst_mac": frame[0:6].hex(), "src_mac": frame[6:12].hex(),
        "ethertype": struct.unpack("!H", frame[12:14])[0],
        "version_ihl": ip[0], "tos": ip[1], "len": tot,
        "ip_id": struct.unpack("!H", ip[4:6])[0],
        "frag": struct.unpack("!H", ip[6:8])[0], "ttl": ip[8], "proto": ip[9],
        "ip_csum_ok": pkt.checksum(ip[:ihl]) == 0,
        "src": socket.inet_ntoa(ip[12:16]), "dst": socket.inet_ntoa(ip[16:20]),
        "sport": struct.unpack("!H", tcp[0:2])[0], "dport": struct.unpack("!H", tcp[2:4])[0],
        "seq": struct.unpack("!I", tcp[4:8])[0], "ack": struct.unpack("!I", tcp[8:12])[0],
        "doff": tcp[12] >> 4, "flags": tcp[13],
        "window": struct.unpack("!H", tcp[14:16])[0],
        "urg": struct.unpack("!H", tcp[18:20])[0],
        "tcp_csum_ok": seg_sum == 0,
    }


def fields6(frame):
    ip = frame[14:]
    plen = struct.unpack("!H", ip[4:6])[0]
    tcp = ip[40:40 + plen]
    pseudo = ip[8:40] + struct.pack("!IxxxB", len(tcp), 6)
    word = struct.unpack("!I", ip[0:4])[0]
    return {
        "dst_mac": frame[0:6].hex(), "src_mac": frame[6:12].hex(),
        "ethertype": struct.unpack("!H", frame[12:14])[0],
        "version": word >> 28, "tclass": (word >> 20) & 0xFF, "flow": word & 0xFFFFF,
        "plen": plen, "nexthdr": ip[6], "hlim": ip[7],
        "src": socket.inet_ntop(socket.AF_INET6, ip[8:24]),
        "dst": socket.inet_ntop(socket.AF_INET6, ip[24:40]),
        "sport": struct.unpack("!H", tcp[0:2])[0], "dport": struct.unpack("!H", tcp[2:4])[0],
        "seq": struct.unpack("!I", tcp[4:8])[0], "ack": struct.unpack("!I", tcp[8:12])[0],
        "doff": tcp[12] >> 4, "flags": tcp[13],
        "window": struct.unpack("!H", tcp[14:16])[0],
        "urg": struct.unpack("!H", tcp[18:20])[0],
        "tcp_len": len(tcp),
        "tcp_csum_ok": pkt.checksum(pseudo + tcp) == 0,
    }


def connect(dport, v6):
    with pkt.netns(os.environ["NFO_NS_S"]):
        s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((os.environ["NFO_R6" if v6 else "NFO_R4"], dport))
        return {"refused": False, "error": "connected"}
    except ConnectionRefusedError:
        return {"refused": True}
    except OSError as e:
        return {"refused": False, "error": str(e)}
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src")
    ap.add_argument("--v6", action="store_true")
    ap.add_argument("--ext", action="append", default=[])
    ap.add_argument("--sport", type=int, default=41000)
    ap.add_argument("--dport", type=int, required=True)
    ap.add_argument("--flags", default="S")
    ap.add_argument("--seq", type=int, default=1000)
    ap.add_argument("--ack", type=int, default=0)
    ap.add_argument("--payload-len", type=int, default=0)
    ap.add_argument("--tcp-options", default="")
    ap.add_argument("--bad-csum", action="store_true")
    # how long a reply may take: a loaded machine may answer late, and a
    # late reply counted as none is a false "silent" (only silent probes
    # wait it all)
    ap.add_argument("--wait", type=float, default=3.0)
    ap.add_argument("--connect", action="store_true")
    a = ap.parse_args()
    if a.connect:
        print(json.dumps(connect(a.dport, a.v6)))
        return 0

    ns, ifname = os.environ["NFO_NS_S"], os.environ["NFO_IF_S"]
    r4 = os.environ["NFO_R6" if a.v6 else "NFO_R4"]
    if a.src is None:
        a.src = os.environ["NFO_S6" if a.v6 else "NFO_S4"]
    if a.v6:
        # (a flow label the RST must not copy)
        spec = pkt.PacketSpec(src=a.src, dst=r4, proto="tcp", sport=a.sport, dport=a.dport,
                              tcp_flags=a.flags, seq=a.seq, ack=a.ack,
                              payload=b"x" * a.payload_len, flow=0x12345, tos=0x28,
                              ext=tuple(a.ext), tcp_options=bytes.fromhex(a.tcp_options))
    else:
        spec = pkt.PacketSpec(src=a.src, dst=r4, proto="tcp", sport=a.sport, dport=a.dport,
                              tcp_flags=a.flags, seq=a.seq, ack=a.ack,
                              payload=b"x" * a.payload_len, ident=0x4242, dont_frag=True,
                              tcp_options=bytes.fromhex(a.tcp_options))
    frame = bytearray(pkt.build_frames(spec, src_mac=os.environ["NFO_MAC_S"],
                                       dst_mac=os.environ["NFO_MAC_R"])[0])
    if a.bad_csum:
        frame[14 + (40 if a.v6 else 20) + 16] ^= 0xFF  # (no extension headers)
    with pkt.netns(ns):
        cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        cap.bind((ifname, 0))
    cap.settimeout(0.1)
    tx = pkt.Sender(ifname, ns=ns)
    tx.send([bytes(frame)])
    reply = None
    end = time.monotonic() + a.wait
    while reply is None and time.monotonic() < end:
        try:
            data, addr = cap.recvfrom(65535)
        except socket.timeout:
            continue
        if addr[2] == socket.PACKET_OUTGOING or len(data) < (74 if a.v6 else 54):
            continue
        if a.v6:
            if data[12:14] != b"\x86\xdd" or data[14 + 6] != 6:
                continue
            f = fields6(data)
            if ipaddress.ip_address(f["src"]) != ipaddress.ip_address(r4) or \
                    ipaddress.ip_address(f["dst"]) != ipaddress.ip_address(a.src):
                continue
            f["src"], f["dst"] = r4, a.src
        elif data[12:14] != b"\x08\x00" or data[14 + 9] != 6:
            continue
        else:
            f = fields(data)
        if f["src"] == r4 and f["dst"] == a.src and f["sport"] == a.dport and \
                f["dport"] == a.sport:
            reply = f
    tx.close()
    cap.close()
    print(json.dumps({"reply": reply}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
