#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""difftest.py: differential soundness test of nft-offload against the kernel.

The promise is "the fast path never drops a packet kernel nftables would
accept". This tool checks it on random rulesets and random packets, with the
real kernel as the reference.

 1. Rulesets. A grammar (class Gen) draws 1-3 tables of families inet, ip,
    ip6 and netdev; base chains at ingress (bound to the receiver's
    interface, sometimes to another), prerouting, input, forward and output,
    with random priorities (equal ones on purpose, NAT and conntrack
    priorities included) and accept/drop policies; regular chains reached by
    jump/goto (never in a loop) and left by return. Rules combine: meta
    l4proto, ip protocol, ip6 nexthdr; tcp/udp/sctp/th sport/dport with ==,
    !=, <, >, <=, >=, ranges, anonymous and negated sets, named sets (plain,
    interval, with timeouts), concatenations (ip saddr . tcp dport @s, ip
    saddr . ip daddr @s, anonymous ones); ip/ip6 saddr/daddr as addresses,
    prefixes (/0 to /32, /0 to /128), ranges and sets; icmp/icmpv6 type and
    code; tcp flags (syn, == syn, & (syn|ack) == syn, ...); tcp option
    maxseg (size ranges, sets, exists, missing); iif/iifname
    (wildcards, the real interface and others); meta nfproto and protocol;
    verdict maps (anonymous and named, with jump/goto); counter; reject with
    an ICMP error (decided where the kernel would not answer: the lanes turn
    the kernel's ICMP limits off, so the fast path passes nearly all of
    them, but drops what the kernel never answers, such as ICMP errors). And
    what the fast path decides only in some places or not at all: ct
    state/status (TCP and UDP only)/mark/direction, log, limit (decided in
    front of a block), quota, reject with tcp reset (answered by the fast
    path at input where it can send the kernel's RST: the outcome compared
    is the RST itself), meta mark and meta mark set, ct mark set, notrack,
    ip ttl, ip6 hoplimit, masked address compares, fib (type of
    saddr/daddr, which it decides for IPv4 and for IPv6 with the default
    policy rules, and the route lookups),
    pkttype, meta length, set updates from the packet path, NAT chains.
    One ruleset in five also gets a stateful server table (established
    accepted, a few services open, policy drop) so that conntrack state
    decides many packets. Every ruleset must load: one nft rejects is a
    generator bug, printed and counted as a failure.

    Half of the rulesets are also tested after element updates (nft
    add/delete element on named sets and maps) made while the daemon runs:
    the daemon's incremental path.

 2. Packets (class PacketGen), near the ruleset's constants: every port x-1,
    x, x+1; prefix and range edges inside and outside; ICMP types around the
    ones used; TCP flag combinations (the masks used, invalid ones); TCP
    options (MSS near the sizes used, after NOPs, window scale, timestamps
    or EOL, short, past the header); UDP,
    TCP, SCTP, ICMP, ICMPv6 and other protocols; IPv4 options (valid,
    malformed, source routes); IPv6 extension headers (hop-by-hop, routing,
    destination options, AH, atomic fragment, more than 8); fragments (all
    in order, reversed, shuffled, or a lone first, middle or last one);
    VLAN and QinQ tags; truncated transport headers; ARP; another
    EtherType; frames to another MAC, to broadcast, to multicast; local
    destinations, forwarded ones, unreachable ones. Flows: later packets
    continue earlier ones (same addresses and ports), SYNs to listening
    ports and echo requests make the receiver answer (so conntrack has
    established entries), ICMP errors quote the receiver's answers (related).

 3. Lanes: identical topologies (same interface names, MACs, addresses,
    routes) in separate namespaces, every packet sent into each:
      base         no ruleset (what the stack itself delivers)
      off          the ruleset, no fast path
      xdp, xdp-generic, tc
                   the ruleset and `nft-offload daemon --attach nfdr0:MODE`
    Each lane is S:nfds0 ==veth== nfdr0:R:nfdf0 ==veth== nfdg0:F. R holds
    the ruleset (and the daemon); S sends crafted frames with AF_PACKET; R
    forwards everything not local to F (ip_forward is on: input-chain
    verdicts wrongly applied to forwarded packets would show).

    What became of a packet: delivered locally (raw IP sockets in R, one per
    protocol: they see a packet after the input hook and after reassembly),
    forwarded (a packet socket in F), or answered (ICMP errors, TCP RST and
    SYN-ACK, echo replies, ARP replies, seen in F or S: a `reject` is a side
    effect a silent drop would lose). For every frame sent into a fast-path
    lane, the fast path's own counters (the pinned per-CPU `stats` map, read
    with bpf(2) after each frame) say whether it dropped that frame; the sum
    is checked against `nft-offload status` totals.

    An outcome the "off" lane had and a fast-path lane lacks is a candidate.
    It is re-checked before being reported: the packet alone in both lanes
    (ruleset reloaded, conntrack flushed), then the whole sequence again
    (conntrack state from earlier packets, quotas). Confirmed (and dropped by
    the fast path, or lost twice without `limit` in the ruleset, i.e. a side
    effect an earlier fast-path drop prevented) it is an UNSOUND DROP: the
    run fails and prints the seed, the ruleset (and element updates), the
    packet (hex and decoded), expected and observed outcomes, the fast-path
    counter that moved, and a minimized ruleset (tables, chains, sets,
    rules, matches, elements removed while the drop persists; earlier
    packets too when the sequence matters). With --artifacts DIR it writes
    ruleset.nft, minimal.nft, mutation.nft, packet.json, frames.hex, and
    `difftest.py --repro DIR --mode MODE` replays them.

Identification. Every packet gets a unique id (1..65535) carried where no
rule of the grammar looks: the IPv4 identification (kept by reassembly and
forwarding), the IPv6 flow label (read back with IPV6_FLOWINFO), the TCP
sequence and acknowledgment numbers (RSTs and SYN-ACKs echo them), the ICMP
sequence, the ARP sender hardware address. A fragmented packet counts as
delivered when its reassembly is (every fragment passed), and frame by frame
when forwarded. Replays use fresh ids, so fragments never meet the
reassembly queues of an earlier try.

Determinism. Conntrack is flushed (ctnetlink) and the ruleset reloaded
(quota, limit and counters start again) before every run; TCP window
tracking is liberal (the sender cannot know the receiver's ISN); ICMP and
out-of-window TCP rate limits are off, and there are no IPv4 unreachable
routes (their errors are rate limited by a global sysctl); the routes are
static (/32 and /128 local addresses, a default route through a static
neighbour to F, static neighbours wherever answers go), so there is no ARP
or ND of R's own; DAD is off; automatic IPv6 flow labels are off (kernel
packets carry label 0, never an id); rp_filter is off. S and F have no
addresses and send nothing on their own, so every frame the fast path counts
is one we sent. `limit` makes outcomes depend on timing (the fast-path lanes
wait for each frame to be counted, the others do not): such mismatches do
not survive the re-checks and are counted as noise.

Coverage, per mode: packets the fast path dropped / packets the "off" lane
did not deliver (no outcome at all); and the same restricted to packets the
"base" lane delivered (what nftables itself dropped).

Usage (root; NFO_BIN: the built nft-offload):
  difftest.py [--seed N] [--rulesets N] [--packets N]
              [--mode xdp|xdp-generic|tc|all] [--time-budget S]
              [--artifacts DIR] [--no-minimize] [--only I] [-v]
  difftest.py --repro DIR [--mode MODE]   replay an artifact directory
  difftest.py --self-test ...             plant a drop in the fast-path lanes
                                          only: the run must report it
  difftest.py --check-generator N         load N generated rulesets, send nothing

  meson test -C BUILD --suite difftest --print-errorlogs     (CI: bounded)
  sudo NFO_BIN=BUILD/nft-offload/nft-offload tests/difftest/difftest.py \\
       --rulesets 500 --seed 7                                (a long run)

Ruleset I of seed N (default $NFO_DIFFTEST_SEED, else 1) is generated from
random.Random("N:I"), packets included, so `--seed N --only I` reruns
exactly that ruleset.
"""

import argparse
import collections
import ctypes
import errno
import ipaddress
import json
import os
import random
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import pkt  # noqa: E402

# ---- topology (identical in every lane) --------------------------------------

IF_S, IF_R, IF_RF, IF_F = "nfds0", "nfdr0", "nfdf0", "nfdg0"
MAC_S = "02:00:00:00:01:01"
MAC_R = "02:00:00:00:02:02"
MAC_RF = "02:00:00:00:03:03"
MAC_F = "02:00:00:00:04:04"
MAC_OTHER = "02:00:00:00:09:09"
MAC_BCAST = "ff:ff:ff:ff:ff:ff"
S4, R4, R4B, RF4, GW4 = "10.99.0.1", "10.99.0.2", "10.99.0.3", "10.97.0.1", "10.97.0.2"
S6, R6, R6B, RF6 = "fd00:99::1", "fd00:99::2", "fd00:99::3", "fd00:97::1"
LL_S, LL_R, LL_RF, LL_GW = "fe80::1", "fe80::2", "fe80::3", "fe80::4"
LOCAL4 = [R4, R4B, RF4]
LOCAL6 = [R6, R6B, RF6, LL_R]
LISTEN_PORTS = [22, 80, 443, 8080]   # TCP listeners in the receiver (SYN-ACKs)
UDP_BOUND_PORTS = [53]              # bound UDP sockets (no port unreachable)

V4_POOL = [S4, R4, R4B, RF4, "10.99.0.9", "10.99.0.255", "10.98.0.7", "10.98.1.200",
           "192.0.2.5", "198.51.100.9", "203.0.113.7", "10.0.0.1", "172.16.5.4",
           "224.0.0.1", "255.255.255.255", "10.97.0.2", "8.8.8.8"]
V6_POOL = [S6, R6, R6B, RF6, LL_S, LL_R, "fd00:99::9", "fd00:98::7", "fd00:98:1::1",
           "2001:db8:1::5", "2001:db8:2::9", "2001:db8:3::7", "ff02::1", "fd00:97::2",
           "2a00::1"]
PORT_BASE = [0, 1, 7, 9, 22, 53, 80, 123, 443, 1023, 1024, 1025, 2000, 8080, 32768,
             65534, 65535]
OTHER_PROTOS = [47, 50, 51, 99, 136, 253, 254]
RAW_PROTOS = [1, 6, 17, 132] + OTHER_PROTOS   # raw sockets opened (58 for IPv6)

ICMP4_NAMES = {0: "echo-reply", 3: "destination-unreachable", 4: "source-quench",
               5: "redirect", 8: "echo-request", 9: "router-advertisement",
               10: "router-solicitation", 11: "time-exceeded", 12: "parameter-problem",
               13: "timestamp-request", 14: "timestamp-reply", 15: "info-request",
               16: "info-reply", 17: "address-mask-request", 18: "address-mask-reply"}
ICMP6_NAMES = {1: "destination-unreachable", 2: "packet-too-big", 3: "time-exceeded",
               4: "parameter-problem", 128: "echo-request", 129: "echo-reply",
               130: "mld-listener-query", 131: "mld-listener-report",
               132: "mld-listener-done", 133: "nd-router-solicit", 134: "nd-router-advert",
               135: "nd-neighbor-solicit", 136: "nd-neighbor-advert", 137: "nd-redirect",
               138: "router-renumbering", 143: "mld2-listener-report"}
TCP_FLAG_NAMES = ["fin", "syn", "rst", "psh", "ack", "urg", "ecn", "cwr"]
TCP_FLAG_COMBOS = ["S", "SA", "A", "PA", "FA", "R", "RA", "F", "SF", "SR", "U", "",
                   "FSRPAUEC", "SE", "SEC", "FPU", "AU", "SAE"]
L4NAMES = {6: "tcp", 17: "udp", 132: "sctp", 1: "icmp", 58: "icmpv6"}

ETH_P_ARP = 0x0806
ETH_P_OTHER = 0x88B5   # IEEE local experimental

VERBOSE = 0


def log(msg):
    print(msg, flush=True)


def vlog(msg):
    if VERBOSE:
        print("  . " + msg, flush=True)


class DiffError(Exception):
    pass


def sh(cmd, check=True, ns=None, input=None, timeout=60):
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=timeout)
    if check and r.returncode != 0:
        raise DiffError("%s: exit %d: %s" % (" ".join(cmd), r.returncode,
                                              (r.stderr or r.stdout).strip()))
    return r


# ---- netlink: nftables generation, conntrack flush ----------------------------

NETLINK_NETFILTER = 12
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
NFNL_SUBSYS_CTNETLINK, NFNL_SUBSYS_NFTABLES = 1, 10
IPCTNL_MSG_CT_DELETE = 2
NFT_MSG_GETGEN, NFT_MSG_NEWGEN = 16, 15
NFTA_GEN_ID = 1


class Netfilter:
    """A NETLINK_NETFILTER socket in one namespace."""

    def __init__(self, ns):
        with pkt.netns(ns):
            self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.s.bind((0, 0))
        self.s.settimeout(5)
        self.seq = 0

    def _request(self, mtype, flags, family=socket.AF_UNSPEC, version=0):
        self.seq += 1
        body = struct.pack("BBH", family, version, 0)
        self.s.send(struct.pack("=LHHLL", 16 + len(body), mtype, flags, self.seq, 0) + body)
        out = []
        while True:
            data = self.s.recv(65536)
            off = 0
            while off + 16 <= len(data):
                ln, t, _, seq, _ = struct.unpack_from("=LHHLL", data, off)
                if seq == self.seq:
                    out.append((t, data[off + 16:off + ln]))
                off += (ln + 3) & ~3
            if out:
                return out

    def generation(self):
        for t, p in self._request((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN, NLM_F_REQUEST):
            if t == NLMSG_ERROR:
                raise DiffError("GETGEN: error %d" % struct.unpack_from("=i", p)[0])
            if t == (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN:
                off = 4
                while off + 4 <= len(p):
                    ln, at = struct.unpack_from("=HH", p, off)
                    if at & 0x3FFF == NFTA_GEN_ID:
                        return struct.unpack_from("!I", p, off + 4)[0]
                    off += (ln + 3) & ~3
        raise DiffError("GETGEN: no generation in the answer")

    def flush_conntrack(self):
        # ctnetlink_del_conntrack() without a tuple flushes the table (version
        # 0: every family).
        for t, p in self._request((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE,
                                  NLM_F_REQUEST | NLM_F_ACK):
            if t == NLMSG_ERROR:
                e = struct.unpack_from("=i", p)[0]
                if e not in (0, -errno.ENOENT):
                    raise DiffError("conntrack flush: %s" % os.strerror(-e))

    def close(self):
        self.s.close()


# ---- the fast path's per-CPU statistics map, read with bpf(2) -----------------

_NR_BPF = {"x86_64": 321, "aarch64": 280, "riscv64": 280, "ppc64le": 361, "s390x": 351}
BPF_MAP_LOOKUP_ELEM, BPF_OBJ_GET, BPF_OBJ_GET_INFO_BY_FD = 1, 7, 15


def _possible_cpus():
    with open("/sys/devices/system/cpu/possible") as f:
        n = 0
        for part in f.read().strip().split(","):
            lo, _, hi = part.partition("-")
            n = max(n, int(hi or lo) + 1)
        return n


class BpfStats:
    """nfo_stats (pinned as <pin_dir>/stats): per-CPU {packets, bytes} per
    reason; entry 0 counts drops, every frame the program sees counts once
    (bpf/classify.h nfo_run)."""

    def __init__(self, path):
        nr = _NR_BPF.get(os.uname().machine)
        if nr is None:
            raise DiffError("bpf(2) syscall number unknown on %s" % os.uname().machine)
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.syscall.restype = ctypes.c_long
        self.libc.syscall.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                                      ctypes.c_ulong]
        self.nr = nr
        p = ctypes.create_string_buffer(path.encode())
        attr = ctypes.create_string_buffer(128)
        struct.pack_into("=Q", attr, 0, ctypes.addressof(p))
        self.fd = self._bpf(BPF_OBJ_GET, attr)
        info = ctypes.create_string_buffer(256)
        attr = ctypes.create_string_buffer(128)
        struct.pack_into("=IIQ", attr, 0, self.fd, 256, ctypes.addressof(info))
        self._bpf(BPF_OBJ_GET_INFO_BY_FD, attr)
        _, _, ksz, vsz, nent = struct.unpack_from("=IIIII", info, 0)
        if ksz != 4 or vsz < 8:
            raise DiffError("%s: unexpected map layout (key %d, value %d)" % (path, ksz, vsz))
        self.nent = nent
        self.ncpu = _possible_cpus()
        self.vsz = (vsz + 7) & ~7
        self.key = ctypes.create_string_buffer(4)
        self.val = ctypes.create_string_buffer(self.vsz * self.ncpu)
        self.attr = ctypes.create_string_buffer(128)
        struct.pack_into("=IIQQQ", self.attr, 0, self.fd, 0, ctypes.addressof(self.key),
                         ctypes.addressof(self.val), 0)

    def _bpf(self, cmd, attr):
        r = self.libc.syscall(self.nr, cmd, ctypes.addressof(attr), len(attr))
        if r < 0:
            e = ctypes.get_errno()
            raise OSError(e, "bpf(%d): %s" % (cmd, os.strerror(e)))
        return r

    def read(self):
        """(frames seen, frames dropped)."""
        seen = dropped = 0
        for i in range(self.nent):
            struct.pack_into("=I", self.key, 0, i)
            self._bpf(BPF_MAP_LOOKUP_ELEM, self.attr)
            n = sum(struct.unpack_from("=Q", self.val, c * self.vsz)[0] for c in range(self.ncpu))
            seen += n
            if i == 0:
                dropped = n
        return seen, dropped

    def close(self):
        os.close(self.fd)


# ---- lanes ----------------------------------------------------------------------

class Lane:
    """Sender, receiver and sink namespaces, wired identically in every lane:

        S:nfds0 ==veth== nfdr0:R:nfdf0 ==veth== nfdg0:F

    R holds the ruleset (and the daemon in fast-path lanes); S sends crafted
    frames; F is where R forwards (default route) and sends its replies."""

    def __init__(self, name, mode, prefix, tmp, nfo_bin, bpffs):
        self.name, self.mode = name, mode
        self.ns_s, self.ns_r, self.ns_f = ("%s-%s-%s" % (prefix, name, x) for x in "srf")
        self.tmp, self.nfo_bin, self.bpffs = tmp, nfo_bin, bpffs
        self.run_dir = os.path.join(tmp, "run-" + name)
        self.daemon = None
        self.daemon_log = None
        self.stats = None
        self.nf = None
        self.tx = None
        self.socks = []
        self.ruleset_loaded = None

    # -- setup --
    def create(self):
        for ns in (self.ns_s, self.ns_r, self.ns_f):
            sh(["ip", "netns", "add", ns])
        r = self.ns_r
        sysctls = {
            self.ns_s: ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"],
            self.ns_f: ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"],
            r: ["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
                "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
                "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.default.send_redirects=0",
                "net.ipv4.icmp_ratelimit=0", "net.ipv4.icmp_msgs_per_sec=1000000",
                "net.ipv4.icmp_msgs_burst=1000000", "net.ipv6.icmp.ratelimit=0",
                "net.ipv6.auto_flowlabels=0", "net.ipv4.ipfrag_time=5",
                "net.ipv6.ip6frag_time=5", "net.netfilter.nf_conntrack_tcp_be_liberal=1",
                "net.netfilter.nf_conntrack_frag6_timeout=5",
                # no per-socket rate limit on answers to out-of-window segments
                "net.ipv4.tcp_invalid_ratelimit=0"],
        }
        for ns, kv in sysctls.items():
            sh(["sysctl", "-qw"] + kv, ns=ns)
        sh(["ip", "link", "add", IF_S, "address", MAC_S, "netns", self.ns_s, "type", "veth",
            "peer", "name", IF_R, "address", MAC_R, "netns", r])
        sh(["ip", "link", "add", IF_RF, "address", MAC_RF, "netns", r, "type", "veth",
            "peer", "name", IF_F, "address", MAC_F, "netns", self.ns_f])
        cmds = [
            (self.ns_s, "link set lo up"), (self.ns_s, "link set %s up" % IF_S),
            (self.ns_f, "link set lo up"), (self.ns_f, "link set %s up" % IF_F),
            (r, "link set lo up"),
            (r, "link set %s addrgenmode none" % IF_R),
            (r, "link set %s addrgenmode none" % IF_RF),
            (r, "addr add %s/32 dev %s" % (R4, IF_R)),
            (r, "addr add %s/32 dev %s" % (R4B, IF_R)),
            (r, "addr add %s/128 dev %s nodad" % (R6, IF_R)),
            (r, "addr add %s/128 dev %s nodad" % (R6B, IF_R)),
            (r, "addr add %s/64 dev %s nodad" % (LL_R, IF_R)),
            (r, "addr add %s/32 dev %s" % (RF4, IF_RF)),
            (r, "addr add %s/128 dev %s nodad" % (RF6, IF_RF)),
            (r, "addr add %s/64 dev %s nodad" % (LL_RF, IF_RF)),
            (r, "link set %s up" % IF_R), (r, "link set %s up" % IF_RF),
            (r, "neigh add %s lladdr %s dev %s nud permanent" % (GW4, MAC_F, IF_RF)),
            (r, "neigh add %s lladdr %s dev %s nud permanent" % (LL_GW, MAC_F, IF_RF)),
            (r, "neigh add %s lladdr %s dev %s nud permanent" % (LL_S, MAC_S, IF_R)),
            (r, "route add default via %s dev %s onlink" % (GW4, IF_RF)),
            (r, "-6 route add default via %s dev %s" % (LL_GW, IF_RF)),
            # IPv4 routing errors (ip_error()) are rate limited per source
            # by route/error_cost, a global sysctl: no IPv4 unreachable or
            # prohibit routes, their ICMP errors would depend on timing.
            (r, "route add blackhole 198.51.100.0/24"),
            (r, "-6 route add unreachable 2001:db8:1::/48"),
            (r, "-6 route add blackhole 2001:db8:2::/48"),
            (r, "-6 route add prohibit 2001:db8:3::/48"),
        ]
        for ns, c in cmds:
            sh(["ip", "-n", ns] + c.split())
        for ifc in (IF_R, IF_RF):
            sh(["sysctl", "-qw", "net.ipv4.conf.%s.rp_filter=0" % ifc,
                "net.ipv4.conf.%s.send_redirects=0" % ifc], ns=r)
        sh(["nft", "flush", "ruleset"], ns=r)
        self.nf = Netfilter(r)
        self.tx = pkt.Sender(IF_S, self.ns_s)
        self._open_sockets()

    def _open_sockets(self):
        """Raw IP sockets in R (local deliveries), packet sockets on the far
        ends (forwarded frames and R's replies), listeners in R."""
        rcv = 1 << 23
        with pkt.netns(self.ns_r):
            for fam, af in ((4, socket.AF_INET), (6, socket.AF_INET6)):
                for p in RAW_PROTOS + [58]:
                    if fam == 4 and p == 58:
                        continue
                    if fam == 6 and p == 1:
                        continue
                    s = socket.socket(af, socket.SOCK_RAW, p)
                    if fam == 6:
                        s.setsockopt(socket.IPPROTO_IPV6, 11, 1)  # IPV6_FLOWINFO
                    self._add(s, "raw", fam, rcv)
            self.listeners = []
            for port in LISTEN_PORTS:
                s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("::", port))
                s.listen(4096)
                self.listeners.append(s)
            for port in UDP_BOUND_PORTS:
                s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                s.bind(("::", port))
                self._add(s, "udp", 0, rcv)
        for ns, ifc, where in ((self.ns_f, IF_F, "far"), (self.ns_s, IF_S, "near")):
            with pkt.netns(ns):
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
                s.bind((ifc, 0x0003))
            self._add(s, where, 0, rcv)

    def _add(self, s, kind, fam, rcv):
        s.setblocking(False)
        try:
            s.setsockopt(socket.SOL_SOCKET, 33, rcv)  # SO_RCVBUFFORCE
        except OSError:
            pass
        self.socks.append((s, kind, fam))

    def destroy(self):
        self.stop_daemon()
        for s, _, _ in self.socks:
            s.close()
        self.socks = []
        for s in getattr(self, "listeners", []):
            s.close()
        if self.tx:
            self.tx.close()
        if self.nf:
            self.nf.close()
        for ns in (self.ns_s, self.ns_r, self.ns_f):
            sh(["ip", "netns", "del", ns], check=False)

    # -- ruleset and daemon --
    def load(self, text):
        """Loads text (which starts with flush ruleset) in R. Returns the nft
        error or None."""
        r = sh(["nft", "-f", "-"], ns=self.ns_r, input=text, check=False)
        if r.returncode != 0:
            return r.stderr.strip() or ("nft exit %d" % r.returncode)
        self.ruleset_loaded = text
        return None

    def status(self):
        r = sh([self.nfo_bin, "status", "--json", "--run-dir", self.run_dir], check=False,
               timeout=10)
        if r.returncode != 0:
            raise DiffError("%s: nft-offload status: %s" % (self.name, r.stderr.strip()))
        return json.loads(r.stdout)

    def start_daemon(self):
        os.makedirs(self.run_dir, exist_ok=True)
        conf = os.path.join(self.tmp, "empty.conf")
        open(conf, "a").close()
        self.daemon_log = os.path.join(self.tmp, "daemon-%s.log" % self.name)
        lf = open(self.daemon_log, "a")
        self.daemon = subprocess.Popen(
            ["ip", "netns", "exec", self.ns_r, self.nfo_bin, "daemon", "--run-dir",
             self.run_dir, "--bpffs", self.bpffs, "--config", conf, "--attach",
             "%s:%s" % (IF_R, self.mode)], stdout=lf, stderr=subprocess.STDOUT)
        lf.close()
        st = self.wait_sync(timeout=30)
        self.stats = None
        try:
            self.stats = BpfStats(os.path.join(st["pin_dir"], "stats"))
            self.stats.read()
        except (OSError, KeyError, TypeError) as e:
            # Without it no drop can be attributed to the fast path.
            raise DiffError("%s: cannot read the fast path's stats map: %s" % (self.name, e))

    def daemon_alive(self):
        return self.daemon is not None and self.daemon.poll() is None

    def wait_sync(self, timeout=20):
        """Waits until the daemon's fast path reflects the current nftables
        generation and the interface is attached."""
        deadline = time.monotonic() + timeout
        gen = self.nf.generation()
        last = None
        while True:
            if not self.daemon_alive():
                raise DiffError("%s: the daemon exited (status %s); log:\n%s" % (
                    self.name, self.daemon.poll() if self.daemon else None, self.log_tail()))
            try:
                st = self.status()
                last = st
                ifs = st.get("interfaces") or []
                if st.get("generation") == gen and ifs and all(
                        i.get("attached") for i in ifs) and (
                        st.get("fast_path") == "enabled" or st.get("error")):
                    return st
            except (DiffError, ValueError, subprocess.TimeoutExpired):
                pass
            if time.monotonic() > deadline:
                # A fast path that stays disabled would pass everything
                # and make the run look sound: a failure, not a warning.
                raise DiffError("%s: the fast path did not catch up with nftables generation "
                                "%d in %ds; last status: %s\nlog:\n%s" % (
                                    self.name, gen, timeout, json.dumps(last)[:1500],
                                    self.log_tail()))
            time.sleep(0.01)

    def log_tail(self, n=40):
        try:
            with open(self.daemon_log) as f:
                return "".join(f.readlines()[-n:])
        except (OSError, TypeError):
            return ""

    def stop_daemon(self):
        if self.stats:
            self.stats.close()
            self.stats = None
        if self.daemon is None:
            return
        if self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(10)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        self.daemon = None

    # -- sending --
    def send(self, frames):
        """Sends frames; in a fast-path lane waits for the fast path to count
        each one and returns how many it dropped (None: unknown)."""
        if self.stats is None:
            for f in frames:
                self.tx.send([f])
            return None
        dropped = 0
        seen, d0 = self.stats.read()
        for f in frames:
            self.tx.send([f])
            deadline = time.monotonic() + 0.2
            while True:
                s, d = self.stats.read()
                if s > seen:
                    break
                if time.monotonic() > deadline:
                    vlog("%s: the fast path did not count a frame in 200 ms" % self.name)
                    return None
            if s != seen + 1:
                vlog("%s: fast path counted %d frames for one" % (self.name, s - seen))
            dropped += d - d0
            seen, d0 = s, d
        return dropped


# ---- packets ---------------------------------------------------------------------

def _mac(b):
    return ":".join("%02x" % x for x in b)


def _payload(n):
    return bytes((i * 31 + 7) & 0xFF for i in range(n))


class Packet:
    """A packet template (a JSON-able dict) and its frames for one id.

    kind "ip": fam, src, dst, proto (number), sport, dport, flags, icmp_type,
        icmp_code, icmp_id, ttl, ip_options (hex), ext, frag, frag_select,
        truncate, payload_len, df; kind "arp": op, spa, tpa; kind "raw": an
        EtherType with a payload. All: dst_mac, vlans ([[vid, tpid]...]),
        follows (index of the packet whose flow this one continues)."""

    def __init__(self, d):
        self.d = d
        self.uid = None
        self.frames = []
        self.fam = d.get("fam", 0)
        self.src = self.dst = None
        if d["kind"] == "ip":
            self.src = ipaddress.ip_address(d["src"]).packed
            self.dst = ipaddress.ip_address(d["dst"]).packed
        self.proto = d.get("proto")
        self.sport = d.get("sport")

    def build(self, uid):
        d = self.d
        self.uid = uid
        tag = b"nfo:%d:" % uid
        vlans = [tuple(v) for v in d.get("vlans", [])]
        if d["kind"] == "arp":
            sha = bytes([0x02, 0xA0, 0, 0, uid >> 8, uid & 0xFF])
            arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, d["op"], sha,
                              ipaddress.ip_address(d["spa"]).packed, b"\0" * 6,
                              ipaddress.ip_address(d["tpa"]).packed)
            self.frames = [pkt.ether_header(d["dst_mac"], _mac(sha), ETH_P_ARP, vlans) + arp]
        elif d["kind"] == "raw":
            self.frames = [pkt.ether_header(d["dst_mac"], MAC_S, d["ethertype"], vlans) + tag +
                           _payload(d.get("payload_len", 16))]
        else:
            body = tag + _payload(d.get("payload_len", 8))
            q = d.get("quote")
            if q:
                # An ICMP error about a packet the receiver sent (a reply of
                # an earlier flow): conntrack calls it related.
                inner = pkt.PacketSpec(src=q["src"], dst=q["dst"], proto=q["proto"],
                                       sport=q["sport"], dport=q["dport"], tcp_flags="SA",
                                       payload=b"", ident=1)
                body = pkt.build_l3(inner)[0][:(20 if d["fam"] == 4 else 40) + 8] + body
            spec = pkt.PacketSpec(
                src=d["src"], dst=d["dst"], proto=d["proto"], sport=d.get("sport", 40000),
                dport=d.get("dport", 9), tcp_flags=pkt.tcp_flags(d.get("flags", "S")),
                seq=(uid << 16) | 0x100, ack=(uid << 16) | 0x8000,
                icmp_type=d.get("icmp_type"), icmp_code=d.get("icmp_code", 0),
                icmp_id=d.get("icmp_id", 1), icmp_seq=uid,
                payload=body, ttl=d.get("ttl", 64),
                ident=uid, dont_frag=d.get("df", False),
                ip_options=bytes.fromhex(d.get("ip_options", "")), ext=d.get("ext", ()),
                frag=d.get("frag", 0), frag_select=d.get("frag_select"), flow=uid,
                truncate=d.get("truncate"),
                tcp_options=bytes.fromhex(d.get("tcp_options", "")))
            self.frames = pkt.build_frames(spec, MAC_S, d["dst_mac"], vlans)
        return self.frames

    def describe(self):
        d = self.d
        l2 = "to %s" % {MAC_R: "receiver", MAC_BCAST: "broadcast", MAC_OTHER: "other MAC"}.get(
            d["dst_mac"], d["dst_mac"])
        if d.get("vlans"):
            l2 += " vlan " + ",".join("%d/0x%04x" % (v, t) for v, t in d["vlans"])
        if d["kind"] == "arp":
            return "ARP %s %s -> %s (%s)" % ("request" if d["op"] == 1 else "reply",
                                            d["spa"], d["tpa"], l2)
        if d["kind"] == "raw":
            return "EtherType 0x%04x (%s)" % (d["ethertype"], l2)
        p = d["proto"]
        name = L4NAMES.get(p, "proto %d" % p)
        s = "IPv%d %s %s -> %s" % (d["fam"], name, d["src"], d["dst"])
        if p in (6, 17, 132):
            s += " sport %d dport %d" % (d["sport"], d["dport"])
        if p == 6:
            s += " flags %s" % (d.get("flags") or "none")
            if d.get("tcp_options"):
                s += " tcp-options %s" % d["tcp_options"]
        if p in (1, 58):
            s += " type %d code %d id %d" % (d.get("icmp_type"), d.get("icmp_code", 0),
                                             d.get("icmp_id", 1))
        if d.get("ttl", 64) != 64:
            s += " ttl %d" % d["ttl"]
        if d.get("ip_options"):
            s += " ip-options %s" % d["ip_options"]
        if d.get("ext"):
            s += " ext %s" % ",".join(d["ext"])
        if d.get("frag"):
            s += " fragments of %d bytes%s" % (d["frag"], (" sent %s" % (d["frag_select"],))
                                              if d.get("frag_select") is not None else "")
        if d.get("truncate") is not None:
            s += " transport truncated to %d bytes" % d["truncate"]
        if d.get("df"):
            s += " DF"
        if d.get("quote"):
            q = d["quote"]
            s += " quoting %s %s:%d -> %s:%d" % (L4NAMES.get(q["proto"], q["proto"]), q["src"],
                                                q["sport"], q["dst"], q["dport"])
        if d.get("follows") is not None:
            s += " (continues the flow of packet #%d)" % d["follows"]
        return s + " (%s)" % l2

    def hexdump(self):
        return "\n".join(f.hex() for f in self.frames)


# ---- what became of each packet ------------------------------------------------

def _ip4(b):
    if len(b) < 20 or b[0] >> 4 != 4:
        return None
    ihl = (b[0] & 0xF) * 4
    ident, = struct.unpack_from("!H", b, 4)
    return {"id": ident, "proto": b[9], "src": b[12:16], "dst": b[16:20],
            "l4": b[ihl:], "frag": struct.unpack_from("!H", b, 6)[0] & 0x3FFF}


def _ip6(b):
    if len(b) < 40 or b[0] >> 4 != 6:
        return None
    w, = struct.unpack_from("!I", b, 0)
    nh = b[6]
    off = 40
    frag = False
    for _ in range(12):
        if nh in (0, 43, 60) and len(b) >= off + 2:
            nh, off = b[off], off + (b[off + 1] + 1) * 8
        elif nh == 44 and len(b) >= off + 8:
            frag = True
            nh, off = b[off], off + 8
        else:
            break
    return {"flow": w & 0xFFFFF, "proto": nh, "src": b[8:24], "dst": b[24:40],
            "l4": b[off:], "frag": frag}


def _tcpflags(f):
    return "".join(c for c, bit in zip("FSRPAUEC", range(8)) if f & (1 << bit)) or "-"


class Observer:
    """Reads every lane's sockets and files each packet under (lane, id)."""

    def __init__(self, lanes):
        self.ep = select.epoll()
        self.fds = {}
        for lane in lanes:
            for s, kind, fam in lane.socks:
                self.fds[s.fileno()] = (lane.name, s, kind, fam)
                self.ep.register(s.fileno(), select.EPOLLIN)
        self.index = {}
        self.obs = collections.defaultdict(collections.Counter)
        self.last = time.monotonic()

    def reset(self, packets):
        self.drain(0)
        self.index = {p.uid: p for p in packets}
        self.obs = collections.defaultdict(collections.Counter)

    def note(self, lane, p, what):
        self.obs[(lane, p.uid)][what] += 1
        self.last = time.monotonic()

    def drain(self, timeout):
        """Reads what is queued, waiting up to timeout for something."""
        for fd, _ in self.ep.poll(timeout):
            lane, s, kind, fam = self.fds[fd]
            while True:
                try:
                    if kind == "raw" and fam == 6:
                        data, anc, _, addr = s.recvmsg(65535, 64)
                    else:
                        data, addr = s.recvfrom(65535)
                        anc = None
                except (BlockingIOError, InterruptedError):
                    break
                if kind == "raw":
                    self._local(lane, fam, data, anc, addr)
                elif kind in ("far", "near"):
                    if addr[2] != socket.PACKET_OUTGOING:
                        self._frame(lane, data)

    def settle(self, quiet=0.15, least=0.25, most=2.0):
        """Reads until nothing of ours arrived for `quiet` seconds."""
        t0 = time.monotonic()
        self.last = t0
        while True:
            now = time.monotonic()
            if now - t0 >= most or (now - t0 >= least and now - self.last >= quiet):
                return
            self.drain(0.03)

    def _local(self, lane, fam, data, anc, addr):
        if fam == 4:
            h = _ip4(data)
            if not h:
                return
            p = self.index.get(h["id"])
            if p and p.fam == 4 and p.src == h["src"]:
                self.note(lane, p, "local")
            return
        flow = None
        for lvl, typ, v in anc or ():
            if lvl == socket.IPPROTO_IPV6 and typ == 11 and len(v) >= 4:
                flow = struct.unpack("!I", v[:4])[0] & 0xFFFFF
        p = self.index.get(flow)
        if p and p.fam == 6 and p.src == ipaddress.ip_address(addr[0].split("%")[0]).packed:
            self.note(lane, p, "local")

    def _frame(self, lane, f):
        if len(f) < 14:
            return
        et, off = struct.unpack_from("!H", f, 12)[0], 14
        while et in (0x8100, 0x88A8) and len(f) >= off + 4:
            et, off = struct.unpack_from("!H", f, off + 2)[0], off + 4
        b = f[off:]
        if et == ETH_P_ARP:
            if len(b) >= 28 and struct.unpack_from("!H", b, 6)[0] == 2 and b[18:20] == b"\x02\xa0":
                p = self.index.get((b[22] << 8) | b[23])
                if p and p.d["kind"] == "arp":
                    self.note(lane, p, "arp-reply")
            return
        if et == 0x0800:
            h = _ip4(b)
            if not h:
                return
            p = self.index.get(h["id"])
            if p and p.fam == 4 and p.src == h["src"] and p.dst == h["dst"] and \
                    p.proto == h["proto"]:
                self.note(lane, p, "forwarded")
                return
            self._reply(lane, 4, h, (3, 4, 5, 11, 12), (0, 14, 16, 18), 1, _ip4, "id")
        elif et == 0x86DD:
            h = _ip6(b)
            if not h:
                return
            p = self.index.get(h["flow"])
            if p and p.fam == 6 and p.src == h["src"] and p.dst == h["dst"]:
                self.note(lane, p, "forwarded")
                return
            self._reply(lane, 6, h, (1, 2, 3, 4), (129,), 58, _ip6, "flow")

    def _reply(self, lane, fam, h, errors, answers, icmp_proto, parse, key):
        l4 = h["l4"]
        if h["proto"] == icmp_proto and len(l4) >= 8 and not h["frag"]:
            t, c = l4[0], l4[1]
            if t in errors:
                inner = parse(l4[8:])
                if inner:
                    p = self.index.get(inner[key])
                    if p and p.fam == fam and p.src == inner["src"]:
                        self.note(lane, p, "icmp-error %d/%d" % (t, c))
            elif t in answers:
                p = self.index.get(struct.unpack_from("!H", l4, 6)[0])
                if p and p.fam == fam and p.proto == icmp_proto and p.src == h["dst"]:
                    self.note(lane, p, "icmp-answer %d" % t)
        elif h["proto"] == 6 and len(l4) >= 14 and not h["frag"]:
            sport, dport, seq, ack = struct.unpack_from("!HHII", l4, 0)
            for cand in (seq >> 16, ack >> 16):
                p = self.index.get(cand)
                if p and p.fam == fam and p.proto == 6 and p.src == h["dst"] and \
                        p.sport == dport:
                    self.note(lane, p, "tcp %s" % _tcpflags(l4[13]))
                    return


# ---- rulesets --------------------------------------------------------------------

class Rule:
    def __init__(self, items, verdict=None):
        self.items = list(items)   # matches and statements, in order
        self.verdict = verdict     # "drop", "jump c0", "tcp dport vmap {...}", ... or None

    def text(self):
        return " ".join(self.items + ([self.verdict] if self.verdict else [])) or "counter"


class Chain:
    def __init__(self, name, hook=None, prio=0, policy="accept", device=None, ctype="filter"):
        self.name, self.hook, self.prio, self.policy = name, hook, prio, policy
        self.device, self.ctype = device, ctype
        self.rules = []

    def text(self):
        out = ["\tchain %s {" % self.name]
        if self.hook:
            dev = ' device "%s"' % self.device if self.device else ""
            out.append("\t\ttype %s hook %s%s priority %d; policy %s;" % (
                self.ctype, self.hook, dev, self.prio, self.policy))
        out += ["\t\t" + r.text() for r in self.rules]
        out.append("\t}")
        return "\n".join(out)


class NamedSet:
    def __init__(self, name, kw, stype, flags=(), elements=(), extra=""):
        self.name, self.kw, self.stype = name, kw, stype
        self.flags, self.elements, self.extra = list(flags), list(elements), extra

    def text(self):
        s = "\t%s %s {\n\t\ttype %s;\n" % (self.kw, self.name, self.stype)
        if self.flags:
            s += "\t\tflags %s;\n" % ",".join(self.flags)
        if self.extra:
            s += "\t\t%s;\n" % self.extra
        if self.elements:
            s += "\t\telements = { %s }\n" % ", ".join(self.elements)
        return s + "\t}"


class Table:
    def __init__(self, family, name):
        self.family, self.name = family, name
        self.sets = []
        self.chains = []

    def text(self):
        body = [s.text() for s in self.sets] + [c.text() for c in self.chains]
        return "table %s %s {\n%s\n}" % (self.family, self.name, "\n".join(body))


class Ruleset:
    def __init__(self, tables):
        self.tables = tables

    def text(self):
        return "flush ruleset\n" + "\n".join(t.text() for t in self.tables) + "\n"

    def clone(self):
        return _clone(self)

    def nrules(self):
        return sum(len(c.rules) for t in self.tables for c in t.chains)


def _clone(rs):
    tables = []
    for t in rs.tables:
        nt = Table(t.family, t.name)
        nt.sets = [NamedSet(s.name, s.kw, s.stype, s.flags, s.elements, s.extra) for s in t.sets]
        for c in t.chains:
            nc = Chain(c.name, c.hook, c.prio, c.policy, c.device, c.ctype)
            nc.rules = [Rule(r.items, r.verdict) for r in c.rules]
            nt.chains.append(nc)
        tables.append(nt)
    return Ruleset(tables)


class Consts:
    """Constants the ruleset compares against: packets are made near them."""

    def __init__(self):
        self.ports = set()
        self.v4 = []   # (lo, hi) integer intervals
        self.v6 = []
        self.icmp = set()
        self.icmp6 = set()
        self.protos = set()
        self.flags = set()
        self.mss = set()   # tcp option maxseg sizes compared
        self.l4 = collections.Counter()
        self.fams = collections.Counter()


def _net(addr, plen):
    return ipaddress.ip_network("%s/%d" % (addr, plen), strict=False)


def _pfx_text(n):
    return str(n.network_address) if n.prefixlen == n.max_prefixlen else str(n)


class Gen:
    """Random rulesets from the grammar (see the module docstring). Every
    choice is drawn from self.r, so a seed gives the same ruleset."""

    def __init__(self, rng):
        self.r = rng
        self.k = Consts()
        r = rng
        self.hot_ports = r.sample(PORT_BASE, 5) + [r.randint(1, 65535) for _ in range(3)] + \
            [r.choice(LISTEN_PORTS)]
        self.hot4 = r.sample(V4_POOL, 7) + [S4, R4] + [
            str(ipaddress.IPv4Address(r.getrandbits(32))) for _ in range(2)]
        self.hot6 = r.sample(V6_POOL, 7) + [S6, R6] + [
            str(ipaddress.IPv6Address(r.getrandbits(128))) for _ in range(2)]
        self.nset = 0

    # -- small pieces --
    def chance(self, p):
        return self.r.random() < p

    def wchoice(self, pairs):
        tot = sum(w for _, w in pairs)
        x = self.r.uniform(0, tot)
        for v, w in pairs:
            x -= w
            if x <= 0:
                return v
        return pairs[-1][0]

    def port(self):
        p = self.r.choice(self.hot_ports) if self.chance(0.8) else self.r.randint(0, 65535)
        self.k.ports.add(p)
        return p

    def port_range(self):
        a = self.port()
        b = min(65535, a + self.r.choice([0, 1, 2, 5, 10, 100, 1000, 20000]))
        self.k.ports.add(b)
        return a, b

    def port_elem(self, allow_range=True):
        if allow_range and self.chance(0.3):
            a, b = self.port_range()
            return ("%d-%d" % (a, b) if a != b else str(a)), a, b
        p = self.port()
        return str(p), p, p

    def addr(self, fam):
        hot = self.hot4 if fam == 4 else self.hot6
        if self.chance(0.85):
            return ipaddress.ip_address(self.r.choice(hot))
        if fam == 4:
            return ipaddress.IPv4Address(self.r.getrandbits(32))
        return ipaddress.IPv6Address(self.r.getrandbits(128))

    def _note(self, fam, lo, hi):
        (self.k.v4 if fam == 4 else self.k.v6).append((int(lo), int(hi)))

    def addr_elem(self, fam, allow_interval=True):
        """(text, lo, hi): an address, a prefix or a range."""
        a = self.addr(fam)
        form = self.wchoice([("one", 4), ("prefix", 5 if allow_interval else 0),
                             ("range", 2 if allow_interval else 0)])
        if form == "prefix":
            plens = [8, 12, 16, 20, 23, 24, 25, 28, 30, 31, 32, 0] if fam == 4 else \
                [16, 32, 48, 56, 60, 64, 96, 112, 120, 126, 127, 128, 0]
            plen = self.r.choice(plens[:-1]) if self.chance(0.97) else 0
            n = _net(a, plen)
            self._note(fam, n.network_address, n.broadcast_address)
            return _pfx_text(n), int(n.network_address), int(n.broadcast_address)
        if form == "range":
            span = self.r.choice([1, 2, 7, 100, 300, 70000])
            hi = min(int(a) + span, (1 << (32 if fam == 4 else 128)) - 1)
            b = ipaddress.ip_address(hi) if fam == 4 else ipaddress.IPv6Address(hi)
            self._note(fam, a, b)
            return "%s-%s" % (a, b), int(a), hi
        self._note(fam, a, a)
        return str(a), int(a), int(a)

    @staticmethod
    def _disjoint(elems):
        """Keeps elements whose (lo, hi) do not overlap an earlier one."""
        out = []
        for e in elems:
            if all(e[2] < o[1] or e[1] > o[2] for o in out):
                out.append(e)
        return out

    def icmp_type(self, v6):
        return self.icmp_pair(v6)[1]

    def icmp_pair(self, v6):
        """(number, text) of an ICMP or ICMPv6 type."""
        names = ICMP6_NAMES if v6 else ICMP4_NAMES
        t = self.r.choice(list(names)) if self.chance(0.85) else self.r.randint(0, 255)
        (self.k.icmp6 if v6 else self.k.icmp).add(t)
        return t, (names[t] if (t in names and self.chance(0.6)) else str(t))

    def icmp_types(self, v6, n):
        d = {}
        for _ in range(n):
            num, txt = self.icmp_pair(v6)
            d.setdefault(num, txt)
        return [d[k] for k in sorted(d)]

    # -- named sets --
    def named_sets(self, t):
        fam = t.family
        f4 = fam in ("ip", "inet", "netdev")
        f6 = fam in ("ip6", "inet", "netdev")
        kinds = ["ports", "ports-interval", "timeout"]
        if f4:
            kinds += ["v4", "v4-interval", "c4p", "c4p-interval", "c4a", "vmap4", "dyn4"]
        if f6:
            kinds += ["v6", "v6-interval", "c6p", "dyn6"]
        kinds += ["vmap-ports"]
        n = self.wchoice([(0, 3), (1, 3), (2, 3), (3, 2), (4, 1)])
        for kind in self.r.sample(kinds, min(n, len(kinds))):
            self.nset += 1
            name = "s%d" % self.nset
            ne = self.r.choice([0, 1, 2, 3, 4, 6]) if self.chance(0.95) else 0
            s = None
            if kind in ("ports", "ports-interval"):
                iv = kind == "ports-interval"
                el = self._disjoint([self.port_elem(iv) for _ in range(ne)])
                s = NamedSet(name, "set", "inet_service", ["interval"] if iv else [],
                             [e[0] for e in el])
            elif kind == "timeout":
                el = self._disjoint([self.port_elem(False) for _ in range(max(ne, 1))])
                s = NamedSet(name, "set", "inet_service", ["timeout"],
                             ["%s timeout 1h" % e[0] for e in el])
            elif kind in ("v4", "v4-interval", "v6", "v6-interval"):
                f = 4 if kind.startswith("v4") else 6
                iv = kind.endswith("interval")
                el = self._disjoint([self.addr_elem(f, iv) for _ in range(ne)])
                s = NamedSet(name, "set", "ipv4_addr" if f == 4 else "ipv6_addr",
                             ["interval"] if iv else [], [e[0] for e in el])
            elif kind in ("c4p", "c4p-interval", "c6p"):
                f = 6 if kind == "c6p" else 4
                iv = kind.endswith("interval")
                seen, els = [], []
                for _ in range(ne):
                    a = self.addr_elem(f, iv)
                    p = self.port_elem(iv)
                    if any(not (a[2] < o[0][1] or a[1] > o[0][2]) and
                           not (p[2] < o[1][1] or p[1] > o[1][2]) for o in seen):
                        continue
                    seen.append((a, p))
                    els.append("%s . %s" % (a[0], p[0]))
                s = NamedSet(name, "set", "%s . inet_service" % (
                    "ipv4_addr" if f == 4 else "ipv6_addr"), ["interval"] if iv else [], els)
            elif kind == "c4a":
                els = sorted({"%s . %s" % (self.addr_elem(4, False)[0], self.addr_elem(4, False)[0])
                              for _ in range(ne)})
                s = NamedSet(name, "set", "ipv4_addr . ipv4_addr", [], els)
            elif kind in ("dyn4", "dyn6"):
                s = NamedSet(name, "set", "ipv4_addr" if kind == "dyn4" else "ipv6_addr",
                             ["dynamic", "timeout"] if self.chance(0.5) else ["dynamic"],
                             extra="timeout 1m" if self.chance(0.3) else "")
                if "timeout" in s.flags and not s.extra:
                    s.extra = "timeout 1m"
            elif kind == "vmap4":
                el = self._disjoint([self.addr_elem(4) for _ in range(max(ne, 1))])
                s = NamedSet(name, "map", "ipv4_addr : verdict", ["interval"],
                             ["%s : %s" % (e[0], self.map_verdict(t, None)) for e in el])
            elif kind == "vmap-ports":
                el = self._disjoint([self.port_elem(True) for _ in range(max(ne, 1))])
                s = NamedSet(name, "map", "inet_service : verdict",
                             ["interval"] if any("-" in e[0] for e in el) else [],
                             ["%s : %s" % (e[0], self.map_verdict(t, None)) for e in el])
            s.kind = kind
            t.sets.append(s)

    def new_element(self, s):
        """One more element for named set s (map verdicts without jumps)."""
        k = s.kind
        iv = "interval" in s.flags
        if k in ("ports", "ports-interval"):
            return self.port_elem(iv)[0]
        if k == "timeout":
            return "%s timeout 1h" % self.port_elem(False)[0]
        if k in ("v4", "v4-interval", "v6", "v6-interval"):
            return self.addr_elem(4 if k.startswith("v4") else 6, iv)[0]
        if k in ("c4p", "c4p-interval", "c6p"):
            return "%s . %s" % (self.addr_elem(6 if k == "c6p" else 4, iv)[0], self.port_elem(iv)[0])
        if k == "c4a":
            return "%s . %s" % (self.addr_elem(4, False)[0], self.addr_elem(4, False)[0])
        verdict = self.wchoice([("accept", 2), ("drop", 3), ("continue", 1), ("return", 1)])
        if k == "vmap4":
            return "%s : %s" % (self.addr_elem(4)[0], verdict)
        if k == "vmap-ports":
            return "%s : %s" % (self.port_elem("interval" in s.flags)[0], verdict)
        return None

    def mutation(self, rs):
        """nft commands adding and deleting elements of named sets and maps
        (None if the ruleset has none)."""
        r = self.r
        sets = [(t, s) for t in rs.tables for s in t.sets
                if getattr(s, "kind", None) not in (None, "dyn4", "dyn6")]
        if not sets:
            return None
        lines = []
        for t, s in r.sample(sets, min(len(sets), r.randint(1, 2))):
            where = "%s %s %s" % (t.family, t.name, s.name)
            dels = r.sample(s.elements, r.randint(0, min(2, len(s.elements))))
            if dels:
                keys = [e.split(" : ")[0].split(" timeout ")[0] for e in dels]
                lines.append("delete element %s { %s }" % (where, ", ".join(keys)))
            have = {e.split(" : ")[0].split(" timeout ")[0] for e in s.elements}
            adds = []
            for _ in range(r.randint(0 if dels else 1, 3)):
                e = self.new_element(s)
                key = e.split(" : ")[0].split(" timeout ")[0] if e else None
                if e and key not in have:
                    have.add(key)
                    adds.append(e)
            if adds:
                lines.append("add element %s { %s }" % (where, ", ".join(adds)))
        return "\n".join(lines) + "\n" if lines else None

    def sets_of(self, t, *kinds):
        return [s for s in t.sets if getattr(s, "kind", None) in kinds]

    def map_verdict(self, t, chain_idx):
        """A verdict for a map element: in a base chain (chain_idx None) any
        regular chain can be a target, in regular chain i only later ones
        (no loops)."""
        regs = [c.name for c in getattr(self, "_regs", [])]
        if chain_idx is not None:
            regs = regs[chain_idx + 1:]
        opts = [("accept", 3), ("drop", 4), ("continue", 1), ("return", 1)]
        if regs:
            opts += [("jump " + self.r.choice(regs), 2), ("goto " + self.r.choice(regs), 1)]
        return self.wchoice(opts)

    # -- the ruleset --
    def ruleset(self):
        r = self.r
        n = self.wchoice([(1, 4), (2, 4), (3, 2)])
        tables = []
        for i in range(n):
            fam = self.wchoice([("inet", 4), ("ip", 2), ("ip6", 2), ("netdev", 2)])
            tables.append(self.table(fam, "t%d" % i))
        server = self.chance(0.2)
        if server:
            tables.insert(r.randint(0, len(tables)), self.server_table("srv"))
        # a server with port forwards (firewalld, Docker): ct status dnat
        if self.chance(0.06) or (server and self.chance(0.3)):
            tables.append(self.nat_table(r.choice(["ip", "ip6"]), "nat%d" % n))
        return Ruleset(tables)

    def server_table(self, name):
        """The stateful firewall of a server: established flows, then a few
        open services, the rest dropped; conntrack state decides most
        packets (the lazy ct lookup of the fast path)."""
        r = self.r
        fam = r.choice(["inet", "inet", "ip", "ip6"])
        t = Table(fam, name)
        self._regs = []
        hook = r.choice(["input", "input", "prerouting"])
        prio = r.choice([0, 0, -150, -200, -201, -300, 10]) if hook == "prerouting" else \
            r.choice([0, 0, -1, 10])
        c = Chain("%s_%s" % (name, hook), hook, prio, "drop" if self.chance(0.8) else "accept")
        ports = sorted(set(r.sample(LISTEN_PORTS, r.randint(1, 3))) | {self.port()})
        self.k.ports.update(ports)
        if self.chance(0.2):
            # fw4's form: one verdict map on the state
            rules = [Rule(["ct state vmap { established : accept, related : accept%s }"
                           % (", invalid : drop" if self.chance(0.6) else "")])]
        else:
            rules = [Rule([r.choice(["ct state established,related", "ct state { established, related }",
                                     "ct state established"])], "accept")]
            if self.chance(0.6):
                rules.append(Rule(["ct state invalid"], r.choice(["drop", "counter drop"])))
        if self.chance(0.4):
            # planned jointly with the invalid drop: a non-SYN without entry
            # is dropped as invalid or as new
            rules.append(Rule([r.choice(["ct state new tcp flags & (fin|syn|rst|ack) != syn",
                                         "tcp flags & (fin|syn|rst|ack) != syn ct state new",
                                         "ct state new tcp flags != syn"])], "drop"))
        if self.chance(0.4):
            # firewalld: forwarded ports are accepted before the zone's rules
            rules.append(Rule(["ct status dnat"], "accept"))
        rules.append(Rule(['iif "lo"'], "accept"))
        svc = "tcp dport { %s }" % ", ".join(map(str, ports))
        rules.append(Rule(([r.choice(["ct state new", "tcp flags syn", "tcp flags & (syn|ack) == syn"])]
                           if self.chance(0.5) else []) + [svc], "accept"))
        if fam in ("inet", "ip") and self.chance(0.7):
            rules.append(Rule(["icmp type echo-request"], "accept"))
            self.k.icmp.add(8)
        if fam in ("inet", "ip6") and self.chance(0.7):
            rules.append(Rule(["icmpv6 type { echo-request, nd-neighbor-solicit }"], "accept"))
            self.k.icmp6.update([128, 135])
        if self.chance(0.5):
            rules.append(Rule(["udp dport %d" % self.port()], "accept"))
        for _ in range(r.randint(0, 2)):
            rules.insert(r.randint(1, len(rules)), self.rule(t, c, None))
        c.rules = rules
        t.chains.append(c)
        return t

    def nat_table(self, fam, name):
        t = Table(fam, name)
        c = Chain("pre", "prerouting", self.r.choice([-100, -100, -150, -99, 0]), "accept",
                  ctype="nat")
        if fam == "ip":
            rules = [Rule(["ip daddr 10.98.0.7"], "dnat to %s" % R4B),
                     Rule(["tcp dport %d" % self.port()], "redirect to :%d" % self.r.choice(
                         LISTEN_PORTS)),
                     Rule(["ip daddr %s udp dport %d" % (R4, self.port())], "dnat to 10.98.0.9")]
            self._note(4, ipaddress.ip_address("10.98.0.7"), ipaddress.ip_address("10.98.0.7"))
        else:
            rules = [Rule(["ip6 daddr fd00:98::7"], "dnat to %s" % R6B),
                     Rule(["tcp dport %d" % self.port()], "redirect to :%d" % self.r.choice(
                         LISTEN_PORTS))]
            self._note(6, ipaddress.ip_address("fd00:98::7"), ipaddress.ip_address("fd00:98::7"))
        c.rules = self.r.sample(rules, self.r.randint(1, len(rules)))
        t.chains.append(c)
        return t

    def table(self, fam, name):
        r = self.r
        t = Table(fam, name)
        nreg = self.wchoice([(0, 3), (1, 3), (2, 2), (3, 1)])
        self._regs = [Chain("c%d" % i) for i in range(nreg)]
        self.named_sets(t)
        if fam == "netdev":
            hooks = [("ingress", 1)]
        elif fam == "inet":
            hooks = [("ingress", 2), ("prerouting", 4), ("input", 6), ("forward", 1),
                     ("output", 1)]
        else:
            hooks = [("prerouting", 4), ("input", 6), ("forward", 1), ("output", 1)]
        nbase = self.wchoice([(1, 4), (2, 4), (3, 2)])
        bases = []
        used_prio = collections.defaultdict(list)
        for i in range(nbase):
            hook = self.wchoice(hooks)
            if used_prio[hook] and self.chance(0.35):
                prio = r.choice(used_prio[hook])          # equal priorities
            else:
                prio = r.choice([-400, -300, -200, -150, -101, -100, -99, -10, -1, 0, 0, 0, 1,
                                 10, 100, 300])
            used_prio[hook].append(prio)
            dev = None
            if hook == "ingress":
                dev = IF_R if self.chance(0.9) else r.choice(["lo", IF_RF])
            policy = "drop" if self.chance(0.25 if hook in ("input", "forward", "output")
                                          else 0.12) else "accept"
            bases.append(Chain("b%d_%s" % (i, hook), hook, prio, policy, dev))
        for c in bases:
            c.rules = [self.rule(t, c, None) for _ in range(self.wchoice(
                [(0, 1), (1, 2), (2, 3), (3, 3), (4, 3), (6, 2), (9, 1)]))]
        for i, c in enumerate(self._regs):
            c.rules = [self.rule(t, c, i) for _ in range(self.wchoice(
                [(0, 1), (1, 3), (2, 3), (3, 2), (5, 1)]))]
        t.chains = bases + self._regs
        return t

    # -- rules --
    def rule(self, t, chain, idx):
        """A rule for chain (idx: index among the regular chains, None for a
        base chain)."""
        r = self.r
        fam = t.family
        if fam == "ip":
            fctx = 4
        elif fam == "ip6":
            fctx = 6
        else:
            fctx = self.wchoice([(None, 2), (4, 1), (6, 1)])
        l4 = self.wchoice([(None, 5), ("tcp", 5), ("udp", 4), ("sctp", 1), ("icmp", 2),
                           ("icmpv6", 2), ("other", 1)])
        if l4 == "icmp":
            if fctx == 6:
                l4 = "udp"
            else:
                fctx = 4
        if l4 == "icmpv6":
            if fctx == 4:
                l4 = "tcp"
            else:
                fctx = 6
        self.k.l4[l4] += 1
        self.k.fams[fctx] += 1
        ctx = {"t": t, "chain": chain, "idx": idx, "fam": fctx, "l4": l4,
               "ct": fam != "netdev", "base": chain.hook is not None}
        makers = [(self.m_l4proto, 3), (self.m_ports, 6 if l4 in ("tcp", "udp", "sctp") else 1),
                  (self.m_addr, 5 if fctx else 0), (self.m_icmp, 4 if l4 in ("icmp", "icmpv6") else 0),
                  (self.m_tcpflags, 3 if l4 == "tcp" else 0), (self.m_iface, 1.5),
                  (self.m_tcpopt, 1.5 if l4 == "tcp" else 0.3),
                  (self.m_meta, 1), (self.m_concat, 2 if fctx and l4 in ("tcp", "udp", "sctp") else 0),
                  (self.m_unsupported, 1.6)]
        items = []
        for _ in range(self.wchoice([(0, 0.6), (1, 5), (2, 5), (3, 3), (4, 1)])):
            items += self.wchoice(makers)(ctx)
        if l4 not in (None, "other") and not any(
                x.startswith(("tcp ", "udp ", "sctp ", "icmp ", "icmpv6 ", "meta l4proto",
                              "ip protocol", "ip6 nexthdr")) for x in items) and self.chance(0.7):
            items = self.m_l4proto(ctx) + items
        for _ in range(self.wchoice([(0, 6), (1, 3), (2, 1)])):
            st = self.statement(ctx)
            if st:
                items.insert(r.randint(0, len(items)), st)
        v = self.verdict(ctx)
        if not items and v and v.startswith(("drop", "reject")) and self.chance(0.7):
            v = self.r.choice(["accept", None, "continue"])    # not always "drop all"
        return Rule(items, v)

    def m_l4proto(self, ctx):
        l4, fam = ctx["l4"], ctx["fam"]
        if ctx.get("l4term"):
            return []
        ctx["l4term"] = True
        if l4 in (None, "other"):
            p = self.r.choice(OTHER_PROTOS + ["tcp", "udp", "icmp", "sctp"]) if l4 is None \
                else self.r.choice(OTHER_PROTOS)
            if l4 is None and p in ("icmp",) and fam == 6:
                p = "udp"
            name = str(p)
        else:
            name = l4
        self.k.protos.add(pkt.PROTO_NUMBERS.get(name, None) or int(name))
        # nft reads a set of protocols as a conflict with a later tcp/udp/...
        # match: sets only where none follows.
        neg = l4 is None and self.chance(0.3)
        other = self.r.choice(["udp", "tcp", "253", "sctp", "51"])
        val = "{ %s, %s }" % (name, other) if (l4 in (None, "other") and self.chance(0.3) and
                                              other != name and not neg) else name
        forms = [("meta l4proto", 4)]
        if fam == 4:
            forms.append(("ip protocol", 2))
        if fam == 6:
            forms.append(("ip6 nexthdr", 2))
        key = self.wchoice(forms)
        return ["%s %s%s" % (key, "!= " if neg else "", val)]

    def _op_ports(self, key, t, named_ok=True):
        r = self.r
        forms = [("eq", 5), ("ne", 2), ("lt", 1), ("gt", 1), ("le", 0.5), ("ge", 0.5),
                 ("range", 3), ("nrange", 1), ("set", 3), ("nset", 1)]
        sets = self.sets_of(t, "ports", "ports-interval", "timeout") if named_ok else []
        if sets:
            forms += [("named", 3), ("nnamed", 1)]
        f = self.wchoice(forms)
        if f in ("eq", "ne", "lt", "gt", "le", "ge"):
            op = {"eq": "", "ne": "!= ", "lt": "< ", "gt": "> ", "le": "<= ", "ge": ">= "}[f]
            return "%s %s%d" % (key, op, self.port())
        if f in ("range", "nrange"):
            a, b = self.port_range()
            if a == b:
                b = min(65535, a + 1)
                self.k.ports.add(b)
            if a == b:
                a -= 1
                self.k.ports.add(a)
            return "%s %s%d-%d" % (key, "!= " if f == "nrange" else "", a, b)
        if f in ("set", "nset"):
            els = sorted({self.port_elem()[0] for _ in range(r.randint(1, 5))})
            return "%s %s{ %s }" % (key, "!= " if f == "nset" else "", ", ".join(els))
        s = r.choice(sets)
        return "%s %s@%s" % (key, "!= " if f == "nnamed" else "", s.name)

    def m_ports(self, ctx):
        l4 = ctx["l4"]
        kw = l4 if l4 in ("tcp", "udp", "sctp") and self.chance(0.85) else "th"
        return [self._op_ports("%s %s" % (kw, self.r.choice(["dport", "dport", "sport"])),
                               ctx["t"])]

    def m_addr(self, ctx):
        r = self.r
        fam = ctx["fam"]
        key = "%s %s" % ("ip" if fam == 4 else "ip6", r.choice(["saddr", "daddr", "daddr"]))
        forms = [("one", 3), ("neg", 2), ("set", 2), ("nset", 1)]
        sets = self.sets_of(ctx["t"], "v4", "v4-interval") if fam == 4 else \
            self.sets_of(ctx["t"], "v6", "v6-interval")
        if sets:
            forms += [("named", 3), ("nnamed", 1)]
        f = self.wchoice(forms)
        if f in ("one", "neg"):
            return ["%s %s%s" % (key, "!= " if f == "neg" else "", self.addr_elem(fam)[0])]
        if f in ("set", "nset"):
            els = sorted({self.addr_elem(fam)[0] for _ in range(r.randint(1, 4))})
            return ["%s %s{ %s }" % (key, "!= " if f == "nset" else "", ", ".join(els))]
        return ["%s %s@%s" % (key, "!= " if f == "nnamed" else "", r.choice(sets).name)]

    def m_concat(self, ctx):
        fam, l4, t = ctx["fam"], ctx["l4"], ctx["t"]
        sets = self.sets_of(t, "c4p", "c4p-interval") if fam == 4 else self.sets_of(t, "c6p")
        ip = "ip" if fam == 4 else "ip6"
        if not sets:
            if fam == 4 and self.sets_of(t, "c4a"):
                s = self.r.choice(self.sets_of(t, "c4a"))
                return ["ip saddr . ip daddr %s@%s" % ("!= " if self.chance(0.2) else "", s.name)]
            # an anonymous concatenation
            a, p = self.addr_elem(fam, False), self.port_elem(False)
            return ["%s %s . %s dport { %s . %s }" % (ip, self.r.choice(["saddr", "daddr"]), l4,
                                                     a[0], p[0])]
        s = self.r.choice(sets)
        return ["%s %s . %s %s %s@%s" % (ip, self.r.choice(["saddr", "daddr"]), l4,
                                         self.r.choice(["dport", "dport", "sport"]),
                                         "!= " if self.chance(0.2) else "", s.name)]

    def m_icmp(self, ctx):
        v6 = ctx["l4"] == "icmpv6"
        kw = "icmpv6" if v6 else "icmp"
        f = self.wchoice([("type", 5), ("ntype", 1), ("set", 2), ("code", 1), ("typecode", 1)])
        if f == "type":
            return ["%s type %s" % (kw, self.icmp_type(v6))]
        if f == "ntype":
            return ["%s type != %s" % (kw, self.icmp_type(v6))]
        if f == "set":
            return ["%s type { %s }" % (kw, ", ".join(self.icmp_types(v6, self.r.randint(1, 4))))]
        code = self.r.choice([0, 0, 1, 3, 4, 13])
        if f == "code":
            return ["%s code %d" % (kw, code)]
        return ["%s type %s %s code %d" % (kw, self.icmp_type(v6), kw, code)]

    def m_tcpflags(self, ctx):
        r = self.r
        names = ["syn", "ack", "fin", "rst", "psh", "urg"]
        a = r.choice(names)
        b = r.choice([n for n in names if n != a])
        f = self.wchoice([("bare", 3), ("eq", 3), ("mask", 4), ("ne", 1), ("set", 1),
                          ("mask2", 1)])
        bit = {n: 1 << i for i, n in enumerate(TCP_FLAG_NAMES)}
        self.k.flags.update([bit[a], bit[a] | bit[b]])
        if f == "bare":
            return ["tcp flags %s" % a]
        if f == "eq":
            return ["tcp flags == %s" % (a if self.chance(0.6) else "%s|%s" % (a, b))]
        if f == "ne":
            return ["tcp flags != %s" % a]
        if f == "set":
            return ["tcp flags { %s, %s|%s }" % (a, a, b)]
        if f == "mask2":
            return ["tcp flags & (fin|syn|rst|ack) == %s" % r.choice(["syn", "ack", "syn|ack",
                                                                     "rst", "fin|ack"])]
        return ["tcp flags & (%s|%s) == %s" % (a, b, r.choice([a, b, "%s|%s" % (a, b)]))]

    def m_tcpopt(self, ctx):
        # tcp option maxseg (no protocol dependency: `missing` holds for UDP)
        r = self.r
        a = r.choice([1, 88, 535, 536, 1220, 1460])
        b = r.choice([535, 1000, 1460, 65535])
        lo, hi = min(a, b), max(a, b)
        self.k.mss.update([a, b])
        return [self.wchoice([
            ("tcp option maxseg size %d-%d" % (lo, hi), 3), ("tcp option maxseg size < %d" % a, 1),
            ("tcp option maxseg size != %d" % a, 1), ("tcp option maxseg size %d" % a, 1),
            ("tcp option maxseg size { %d, %d }" % (a, b), 1),
            ("tcp option maxseg exists", 1), ("tcp option maxseg missing", 1)])]

    def m_iface(self, ctx):
        r = self.r
        return [self.wchoice([
            ('iif "%s"' % IF_R, 3), ('iif != "%s"' % IF_R, 1), ('iif "lo"', 1),
            ('iif "%s"' % IF_RF, 1), ('iif { "lo", "%s" }' % IF_R, 1),
            ('iifname "%s"' % IF_R, 2), ('iifname "nfd*"' , 2), ('iifname "nfdr*"', 1),
            ('iifname "eth*"', 1), ('iifname != "%s"' % IF_R, 1), ('iifname "other0"', 1),
            ('iifname { "lo", "%s" }' % r.choice([IF_R, IF_RF]), 1), ('iifname != "lo"', 1)])]

    def m_meta(self, ctx):
        fam, t = ctx["fam"], ctx["t"]
        out = []
        if t.family == "inet" and self.chance(0.6):
            if fam:
                out.append("meta nfproto %s%s" % ("!= " if self.chance(0.1) else "",
                                                  "ipv4" if fam == 4 else "ipv6"))
            elif ctx["l4"] in (None, "tcp", "udp", "sctp", "other"):
                out.append("meta nfproto %s" % self.r.choice(["ipv4", "ipv6"]))
            return out
        if fam == 4:
            return ["meta protocol ip"]
        if fam == 6:
            return ["meta protocol ip6"]
        if ctx["l4"] is None:
            v = self.r.choice(["ip", "ip6", "arp", "vlan", "0x88b5", "{ ip, arp }"])
            if v not in ("ip", "ip6"):
                ctx["nonip"] = True    # nft cannot reject such frames
            return ["meta protocol %s" % v]
        return ["meta protocol %s" % self.r.choice(["ip", "ip6"])]

    def m_unsupported(self, ctx):
        r = self.r
        fam, l4 = ctx["fam"], ctx["l4"]
        opts = [("meta mark 0x00000000", 2), ("meta mark 0x1", 1), ("meta mark != 0x7", 1),
                ("meta length > %d" % r.choice([40, 60, 80, 100]), 1),
                ("meta pkttype %s" % r.choice(["host", "broadcast", "multicast", "other"]), 2)]
        if ctx["ct"]:
            opts += [("ct state %s" % r.choice(["new", "established", "related", "invalid",
                                                "untracked"]), 4),
                     ("ct state { %s }" % r.choice(["established, related", "new, invalid",
                                                    "new, established"]), 3),
                     ("ct state != %s" % r.choice(["established", "new", "invalid"]), 2),
                     ("ct status %s" % r.choice(["dnat", "snat", "dnat,snat", "expected",
                                                 "seen-reply", "assured", "confirmed"]), 1),
                     ("ct status & %s == 0" % r.choice(["dnat", "(snat|dnat)", "seen-reply"]), 0.5),
                     ("ct status != dnat", 0.3), ("ct mark 0", 0.5),
                     ("ct direction original", 0.5)]
        if ctx["base"] and ctx["chain"].hook in ("prerouting", "input", "forward", "output"):
            opts.append(("fib daddr type %slocal" % ("!= " if r.random() < 0.3 else ""), 1))
            # decided from the local table (wg-quick, containers, fw4); IPv6 too
            # while the policy rules are the kernel's two
            opts += [("fib saddr type %slocal" % ("!= " if r.random() < 0.6 else ""), 1),
                     ("fib daddr type %s{ local, broadcast, multicast }"
                      % ("!= " if r.random() < 0.4 else ""), 1),
                     ("fib daddr type %s" % r.choice(["broadcast", "multicast", "unicast",
                                                      "{ broadcast, multicast }"]), 0.5)]
            if ctx["chain"].hook != "output":   # iif: nft_fib_validate
                opts += [("fib saddr . mark . iif oif missing", 0.3),
                         ("fib daddr . iif type local", 0.3)]
        if fam == 4:
            a = ipaddress.ip_address(r.choice(self.hot4))
            opts += [("ip ttl %s%d" % (r.choice(["", "!= ", "< ", "> "]), r.choice([1, 2, 63, 64, 255])), 2),
                     ("ip saddr & 255.255.0.255 == %s" % ipaddress.ip_address(int(a) & 0xFFFF00FF), 1),
                     ("ip daddr & 0.0.0.255 == 0.0.0.%d" % r.choice([1, 2, 3, 255]), 1),
                     ("ip dscp %s" % r.choice(["cs0", "cs1", "ef"]), 0.5)]
        if fam == 6:
            opts += [("ip6 hoplimit %s%d" % (r.choice(["", "!= ", "< "]), r.choice([1, 64, 255])), 2),
                     ("ip6 daddr & ffff:ffff:: == fd00:99::", 1)]
        if l4 == "udp":
            opts.append(("udp length < %d" % r.choice([9, 20, 30]), 1))
        if l4 == "tcp":
            opts.append(("tcp option window exists", 0.5))
        return [self.wchoice(opts)]

    def statement(self, ctx):
        r = self.r
        opts = [("counter", 6), ("log", 1), ('log prefix "nfd "', 1),
                ("limit rate %d/second" % r.choice([1, 10, 1000]), 1),
                ("limit rate over %d/second burst %d packets" % (r.choice([1, 5, 100]),
                                                                  r.choice([1, 5])), 1),
                ("quota %d bytes" % r.choice([100, 1000, 5000]), 0.5),
                ("quota over %d bytes" % r.choice([200, 2000]), 0.5),
                ("meta mark set 0x%x" % r.choice([1, 2]), 1), ("notrack", 0.5)]
        if ctx["ct"]:
            opts.append(("ct mark set 0x1", 0.5))
        fam = ctx["fam"]
        dyn = self.sets_of(ctx["t"], "dyn4" if fam == 4 else "dyn6") if fam else []
        if dyn:
            opts.append(("%s @%s { %s saddr }" % (r.choice(["update", "add"]), r.choice(dyn).name,
                                                 "ip" if fam == 4 else "ip6"), 1))
        return self.wchoice(opts)

    def verdict(self, ctx):
        r = self.r
        regs = [c.name for c in self._regs]
        if ctx["idx"] is not None:
            regs = regs[ctx["idx"] + 1:]
        opts = [("accept", 4), ("drop", 7), (None, 2), ("continue", 0.5), ("vmap", 2),
                ("reject", 0 if ctx.get("nonip") else 1.2)]
        if regs:
            opts += [("jump", 3), ("goto", 1)]
        if ctx["idx"] is not None:
            opts.append(("return", 1.5))
        elif self.chance(0.1):
            opts.append(("return", 1))
        v = self.wchoice(opts)
        if v in ("jump", "goto"):
            return "%s %s" % (v, r.choice(regs))
        if v == "vmap":
            return self.vmap(ctx)
        if v == "reject":
            return self.reject(ctx)
        return v

    def reject(self, ctx):
        r = self.r
        fam, l4, tfam = ctx["fam"], ctx["l4"], ctx["t"].family
        opts = [("reject", 3)]
        if l4 == "tcp" and tfam != "netdev":
            opts.append(("reject with tcp reset", 2))
        if fam == 4 and tfam in ("ip", "inet"):
            opts.append(("reject with icmp type %s" % r.choice(
                ["host-unreachable", "port-unreachable", "admin-prohibited", "net-unreachable"]), 1))
        if fam == 6 and tfam in ("ip6", "inet"):
            opts.append(("reject with icmpv6 type %s" % r.choice(
                ["no-route", "admin-prohibited", "addr-unreachable", "port-unreachable"]), 1))
        if tfam in ("inet", "netdev"):
            opts.append(("reject with icmpx type %s" % r.choice(
                ["port-unreachable", "admin-prohibited", "host-unreachable", "no-route"]), 1))
        return self.wchoice(opts)

    def vmap(self, ctx):
        r = self.r
        fam, l4, t = ctx["fam"], ctx["l4"], ctx["t"]
        if ctx["idx"] is None and self.chance(0.35):
            named = self.sets_of(t, "vmap-ports") if l4 in ("tcp", "udp", "sctp") else []
            if fam == 4:
                named += self.sets_of(t, "vmap4")
            if named:
                s = r.choice(named)
                if s.kind == "vmap4":
                    return "ip %s vmap @%s" % (r.choice(["saddr", "daddr"]), s.name)
                return "%s %s vmap @%s" % (l4, r.choice(["dport", "sport"]), s.name)
        keys = []
        if l4 in ("tcp", "udp", "sctp"):
            keys.append("ports")
        if fam:
            keys.append("addr")
        if l4 in ("icmp", "icmpv6"):
            keys.append("icmp")
        if l4 is None:
            keys.append("l4proto")
        keys.append("th")
        k = r.choice(keys)
        n = r.randint(1, 4)
        if k in ("ports", "th"):
            els = self._disjoint([self.port_elem() for _ in range(n)])
            key = "%s %s" % (l4 if k == "ports" else "th", r.choice(["dport", "sport"]))
        elif k == "addr":
            els = self._disjoint([self.addr_elem(fam) for _ in range(n)])
            key = "%s %s" % ("ip" if fam == 4 else "ip6", r.choice(["saddr", "daddr"]))
        elif k == "icmp":
            v6 = l4 == "icmpv6"
            els = [(x, 0, 0) for x in self.icmp_types(v6, n)]
            key = "%s type" % l4
        else:
            ps = sorted({r.choice(["tcp", "udp", "icmp", "sctp", "253", "51"]) for _ in range(n)})
            for p in ps:
                self.k.protos.add(pkt.PROTO_NUMBERS.get(p) or int(p))
            els = [(x, 0, 0) for x in ps]
            key = "meta l4proto"
        return "%s vmap { %s }" % (key, ", ".join(
            "%s : %s" % (e[0], self.map_verdict(t, ctx["idx"])) for e in els))


# ---- packets near the ruleset's constants -------------------------------------

IP_OPTIONS = ["01010100", "94040000", "4408050000000000", "0707040000000000",
              "830704%s00" % ipaddress.ip_address(R4).packed.hex(), "44020000", "00000000"]


class PacketGen:
    def __init__(self, rng, k):
        self.r = rng
        self.k = k

    def chance(self, p):
        return self.r.random() < p

    def wchoice(self, pairs):
        return Gen.wchoice(self, pairs)

    def edge(self, fam):
        """An address at, just inside or just outside a constant's interval."""
        r = self.r
        ivs = self.k.v4 if fam == 4 else self.k.v6
        top = (1 << (32 if fam == 4 else 128)) - 1
        lo, hi = r.choice(ivs)
        x = r.choice([lo - 1, lo, lo + 1, hi - 1, hi, hi + 1, r.randint(lo, hi)])
        x = min(max(x, 0), top)
        return str(ipaddress.IPv4Address(x) if fam == 4 else ipaddress.IPv6Address(x))

    def src(self, fam):
        ivs = self.k.v4 if fam == 4 else self.k.v6
        x = self.r.random()
        if ivs and x < 0.45:
            a = self.edge(fam)
            # a local IPv4 source is a martian (fib_validate_source()): rarely
            if fam == 6 or a not in LOCAL4 or self.chance(0.1):
                return a
        if x < 0.8:
            return S4 if fam == 4 else self.r.choice([S6, S6, S6, LL_S])
        return self.r.choice(V4_POOL if fam == 4 else V6_POOL)

    def dst(self, fam):
        ivs = self.k.v4 if fam == 4 else self.k.v6
        x = self.r.random()
        if x < 0.55:
            loc = LOCAL4 if fam == 4 else LOCAL6
            return loc[0] if self.chance(0.6) else self.r.choice(loc)
        if ivs and x < 0.8:
            return self.edge(fam)
        return self.r.choice(V4_POOL if fam == 4 else V6_POOL)

    def port(self):
        r = self.r
        if self.k.ports and self.chance(0.75):
            x = r.choice(sorted(self.k.ports)) + r.choice([-1, 0, 0, 1])
            return min(max(x, 0), 65535)
        return r.choice(LISTEN_PORTS + [r.randint(1, 65535), 40000, 53])

    def flags(self):
        r = self.r
        if self.k.flags and self.chance(0.4):
            v = r.choice(sorted(self.k.flags)) ^ (r.choice([0, 0, 0x10, 0x01, 0x02, 0x04]))
            return "".join(c for c, bit in zip("FSRPAUEC", range(8)) if v & (1 << bit))
        return r.choice(TCP_FLAG_COMBOS)

    def tcp_options(self):
        """Option bytes (hex) with an MSS near the ruleset's, after other
        options, or malformed: short, past the header, after EOL."""
        r = self.r
        v = r.choice(sorted(self.k.mss)) + r.choice([-1, 0, 0, 1]) if self.k.mss and \
            self.chance(0.7) else r.choice([0, 1, 536, 1460, 65535])
        v = min(max(v, 0), 65535)
        mss = "0204%04x" % v
        return self.wchoice([(mss, 4), ("0101" + mss, 2), ("030307" + mss, 1),
                             ("0000" + mss, 1), ("0203%04x" % v, 1), ("02%02x" % r.choice([0, 1, 2]), 1),
                             ("010101" + "02", 1), ("080a0000000100000000" + mss, 1), ("", 1)])

    def icmp(self, v6):
        ts = self.k.icmp6 if v6 else self.k.icmp
        if ts and self.chance(0.6):
            t = self.r.choice(sorted(ts)) + self.r.choice([-1, 0, 0, 0, 1])
            return min(max(t, 0), 255)
        return self.r.choice([128, 129, 1, 135, 136, 2] if v6 else [8, 0, 3, 11, 13, 17, 5])

    def packets(self, n):
        out = []
        for i in range(n):
            x = self.r.random()
            flows = [j for j, p in enumerate(out) if p.d.get("proto") in (6, 17, 132, 1, 58)
                     and p.d["kind"] == "ip" and not p.d.get("frag")
                     and p.d.get("truncate") is None]
            if flows and x < 0.2:
                out.append(self.follow(out, self.r.choice(flows)))
            elif x < 0.23:
                out.append(self.arp())
            elif x < 0.24:
                out.append(Packet({"kind": "raw", "ethertype": ETH_P_OTHER, "dst_mac": MAC_R,
                                   "payload_len": 20}))
            elif x < 0.31:
                out.append(self.starter())
            elif x < 0.34 and any(out[j].d["proto"] in (6, 17, 132) for j in flows):
                q = out[self.r.choice([j for j in flows if out[j].d["proto"] in (6, 17, 132)])].d
                out.append(self.related(q))
            else:
                out.append(self.ip())
        return out

    def starter(self):
        """A packet the receiver answers (SYN to a listener, echo request):
        conntrack sees a reply, so the flow's later packets are established."""
        r = self.r
        fam = r.choice([4, 6])
        d = {"kind": "ip", "fam": fam, "src": S4 if fam == 4 else r.choice([S6, S6, LL_S]),
             "dst": r.choice(LOCAL4[:2] if fam == 4 else LOCAL6[:2]), "dst_mac": MAC_R,
             "payload_len": r.randint(0, 20), "ttl": 64}
        if self.chance(0.6):
            d.update(proto=6, sport=r.randint(1024, 65535), dport=r.choice(LISTEN_PORTS),
                     flags="S")
        else:
            d.update(proto=1 if fam == 4 else 58, icmp_type=8 if fam == 4 else 128,
                     icmp_code=0, icmp_id=r.randint(1, 65535))
        return Packet(d)

    def related(self, q):
        """An ICMP error about the receiver's answer to flow q."""
        v6 = q["fam"] == 6
        return Packet({"kind": "ip", "fam": q["fam"], "src": q["src"], "dst": q["dst"],
                       "proto": 58 if v6 else 1, "icmp_type": 1 if v6 else 3,
                       "icmp_code": self.r.choice([4, 3, 1] if v6 else [3, 1, 13]),
                       "icmp_id": 0, "dst_mac": MAC_R, "payload_len": 0, "ttl": 64,
                       "quote": {"src": q["dst"], "dst": q["src"], "proto": q["proto"],
                                 "sport": q["dport"], "dport": q["sport"]}})

    def arp(self):
        r = self.r
        return Packet({"kind": "arp", "op": 1 if self.chance(0.85) else 2,
                       "spa": S4 if self.chance(0.7) else self.src(4),
                       "tpa": r.choice(LOCAL4 + LOCAL4 + [S4, "10.99.0.9", "10.98.0.7"]),
                       "dst_mac": MAC_BCAST if self.chance(0.7) else MAC_R,
                       "vlans": [[100, 0x8100]] if self.chance(0.03) else []})

    def follow(self, out, j):
        r = self.r
        q = dict(out[j].d)
        d = {"kind": "ip", "fam": q["fam"], "src": q["src"], "dst": q["dst"], "proto": q["proto"],
             "sport": q.get("sport"), "dport": q.get("dport"), "icmp_id": q.get("icmp_id", 1),
             "icmp_type": q.get("icmp_type"), "icmp_code": q.get("icmp_code", 0),
             "dst_mac": q["dst_mac"], "payload_len": r.randint(0, 40), "follows": j, "ttl": 64}
        if q["proto"] == 6:
            d["flags"] = r.choice(["A", "PA", "PA", "FA", "R", "S", "SA", "RA"])
        return Packet(d)

    def ip(self):
        r = self.r
        fams = self.k.fams
        p4 = 0.5 if not (fams[4] or fams[6]) else (fams[4] + 1) / (fams[4] + fams[6] + 2)
        fam = 4 if r.random() < p4 else 6
        proto = self.wchoice([(6, 30), (17, 25), (1 if fam == 4 else 58, 14), (132, 6), ("o", 10)])
        if proto == "o":
            pool = sorted((self.k.protos & set(OTHER_PROTOS)) or set(OTHER_PROTOS))
            proto = r.choice(pool) if self.chance(0.8) else r.choice(OTHER_PROTOS)
        d = {"kind": "ip", "fam": fam, "src": self.src(fam), "dst": self.dst(fam), "proto": proto,
             "payload_len": r.randint(0, 48), "ttl": 64}
        if proto in (6, 17, 132):
            d["sport"], d["dport"] = self.port(), self.port()
            if self.chance(0.5):
                d["sport"] = r.choice([40000, 1024, 12345])
        if proto == 6:
            d["flags"] = self.flags()
            if self.chance(0.4):
                d["tcp_options"] = self.tcp_options()
        if proto in (1, 58):
            d["icmp_type"] = self.icmp(proto == 58)
            d["icmp_code"] = 0 if self.chance(0.8) else r.choice([1, 3, 4, 13, 255])
            d["icmp_id"] = r.randint(1, 65535)
        x = r.random()
        d["ttl"] = 64 if x < 0.9 else (1 if x < 0.95 else 255)
        # L2
        dst = ipaddress.ip_address(d["dst"])
        if dst.is_multicast and self.chance(0.7):
            d["dst_mac"] = "01:00:5e:00:00:01" if fam == 4 else "33:33:00:00:00:01"
        else:
            d["dst_mac"] = self.wchoice([(MAC_R, 88), (MAC_BCAST, 4), (MAC_OTHER, 4),
                                         ("01:00:5e:00:00:01" if fam == 4 else "33:33:00:00:00:01", 2)])
        if self.chance(0.04):
            d["vlans"] = r.choice([[[100, 0x8100]], [[100, 0x88A8], [200, 0x8100]], [[0, 0x8100]]])
        # IPv4 options, IPv6 extension headers
        if fam == 4 and self.chance(0.06):
            d["ip_options"] = r.choice(IP_OPTIONS)
        if fam == 6 and self.chance(0.15):
            if self.chance(0.05):
                d["ext"] = ["dst"] * r.choice([8, 9, 10])
            else:
                exts = r.sample(["hbh", "rt", "dst", "frag", "ah"], r.randint(1, 3))
                if "hbh" in exts and self.chance(0.7):
                    exts.remove("hbh")
                    exts.insert(0, "hbh")
                d["ext"] = exts
        # fragments or a truncated transport header
        x = r.random()
        if x < 0.10:
            d["frag"] = r.choice([8, 16, 24, 32])
            d["payload_len"] = r.randint(d["frag"] + 8, 3 * d["frag"] + 8)
            if fam == 6 and "frag" in d.get("ext", []):
                d["ext"] = [e for e in d["ext"] if e != "frag"]
            total = len(Packet(d).build(1))
            y = r.random()
            if y < 0.45 or total < 2:
                d["frag_select"] = None
            elif y < 0.6:
                d["frag_select"] = "reverse"
            elif y < 0.75:
                order = list(range(total))
                r.shuffle(order)
                d["frag_select"] = order
            else:   # a lone first, middle or last fragment
                d["frag_select"] = [r.choice([0, total - 1, total // 2])]
        elif x < 0.14:
            d["truncate"] = r.choice([0, 1, 2, 3, 4, 7, 8, 12, 13, 19])
        if fam == 4 and self.chance(0.05):
            d["df"] = True
        return Packet(d)


# ---- running, comparing, confirming --------------------------------------------

COUNTED = ("local", "forwarded")


def outcome_text(c):
    return "{%s}" % ", ".join("%s%s" % (k, " x%d" % n if n > 1 else "")
                              for k, n in sorted(c.items())) if c else "nothing"


def lost(off, on):
    """Outcomes the off lane had that the fast-path lane lacks."""
    out = {}
    for k, n in off.items():
        m = on.get(k, 0)
        if k not in COUNTED:
            n, m = min(n, 1), min(m, 1)
        if m < n:
            out[k] = (n, m)
    return out


def fp_counters(st):
    c = {}
    for r in st.get("rules", []):
        c["%s %s %s handle %s" % (r["family"], r["table"], r["chain"], r["handle"])] = r["packets"]
    for p in st.get("policies", []):
        c["%s %s %s policy %s" % (p["family"], p["table"], p["chain"], p["policy"])] = p["packets"]
    return c


# --self-test: the fast-path lanes get this extra table, the "off" lane does
# not, so the fast path drops packets the kernel without it delivers. The run
# must report unsound drops: it shows the whole chain (detection,
# confirmation, minimization, report) works.
SELF_TEST_BUG = """table netdev nfd_selftest {
\tchain c {
\t\ttype filter hook ingress device "%s" priority -1000; policy accept;
\t\tmeta l4proto udp drop
\t}
}
""" % IF_R


class Runner:
    def __init__(self, a):
        self.a = a
        self.modes = ["xdp", "xdp-generic", "tc"] if a.mode == "all" else [a.mode]
        self.tmp = tempfile.mkdtemp(prefix="nfo-difftest.")
        self.bpffs = os.path.join(self.tmp, "bpffs")
        self.prefix = "nfd%d%04x" % (os.getpid() % 100000, random.getrandbits(16))
        self.lanes = {}
        self.minimized = {}
        self.uid = 0
        self.obs = None
        self.stats = {"rulesets": 0, "discarded": [], "packets": 0, "frames": 0,
                      "unsound": [], "noise": 0, "candidates": 0, "extra": 0,
                      "fp_unknown": collections.Counter(), "kd": 0, "nd": 0,
                      "fpd": collections.Counter(), "fpnd": collections.Counter(),
                      "kd_frames": 0, "fp_frames_status": collections.Counter(),
                      "fp_frames": collections.Counter(), "outcomes": collections.Counter(),
                      "attribution_mismatch": 0, "mutations": 0, "noise_fp": 0}

    # -- setup / teardown --
    def setup(self, lanes=None):
        os.makedirs(self.bpffs)
        sh(["mount", "-t", "bpf", "bpf", self.bpffs])
        names = lanes or (["base", "off"] + self.modes)
        for n in names:
            mode = n if n in ("xdp", "xdp-generic", "tc") else None
            self.lanes[n] = Lane(n, mode, self.prefix, self.tmp, self.a.nfo_bin, self.bpffs)
        for lane in self.lanes.values():
            lane.create()
        for lane in self.on_lanes():
            lane.start_daemon()
        self.obs = Observer(list(self.lanes.values()))

    def teardown(self):
        for lane in self.lanes.values():
            try:
                lane.destroy()
            except Exception as e:  # keep cleaning up
                log("warning: cleanup of lane %s: %s" % (lane.name, e))
        if os.path.ismount(self.bpffs):
            sh(["umount", self.bpffs], check=False)
        if self.a.keep:
            log("kept %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def on_lanes(self):
        return [self.lanes[m] for m in self.modes if m in self.lanes]

    def next_uid(self):
        self.uid = self.uid % 65535 + 1
        return self.uid

    # -- one ruleset in some lanes --
    def load(self, text, lanes, mutation=None):
        """Loads text everywhere in lanes, waits for the fast paths; then, if
        mutation is given, applies it (element changes: the daemon's
        incremental path) and waits again. Returns the first nft error."""
        for lane in lanes:
            err = lane.load(text + (SELF_TEST_BUG if self.a.self_test and lane.mode else ""))
            if err:
                return "%s: %s" % (lane.name, err)
        for lane in lanes:
            if lane.mode:
                lane.wait_sync()
        if mutation:
            for lane in lanes:
                r = sh(["nft", "-f", "-"], ns=lane.ns_r, input=mutation, check=False)
                if r.returncode != 0:
                    return "%s: %s" % (lane.name, r.stderr.strip())
            for lane in lanes:
                if lane.mode:
                    lane.wait_sync()
        return None

    def run(self, packets, lanes):
        """Sends packets (fresh ids) into lanes. Returns (outcomes[lane][i],
        fast-path dropped frames[lane][i] or None)."""
        for p in packets:
            p.build(self.next_uid())
        for lane in lanes:
            lane.nf.flush_conntrack()
        self.obs.reset(packets)
        fp = {lane.name: [] for lane in lanes}
        for p in packets:
            for lane in lanes:
                fp[lane.name].append(lane.send(p.frames))
            self.obs.drain(0)
        self.obs.settle()
        res = {lane.name: [self.obs.obs.get((lane.name, p.uid), collections.Counter())
                           for p in packets] for lane in lanes}
        return res, fp

    def one_ruleset(self, idx):
        a = self.a
        rng = random.Random("%d:%d" % (a.seed, idx))
        gen = Gen(rng)
        rs = gen.ruleset()
        packets = PacketGen(rng, gen.k).packets(a.packets)
        text = rs.text()
        off = self.lanes["off"]
        t0 = time.monotonic()
        err = self.load(text, [off])
        if err:
            self.stats["discarded"].append((idx, err, text))
            log("GENERATOR BUG: nft rejected ruleset %d of seed %d (counted as a failure):\n%s\n%s"
                % (idx, a.seed, err, text))
            return
        err = self.load(text, self.on_lanes())
        if err:
            raise DiffError("ruleset %d loads in the off lane but not in %s" % (idx, err))
        self.stats["rulesets"] += 1
        self.evaluate(idx, rs, None, packets, time.monotonic() - t0)
        # Element changes while the daemon runs (its incremental path),
        # then packets near the new elements.
        if rng.random() < 0.5:
            for _ in range(3):
                mutation = gen.mutation(rs)
                if not mutation:
                    break
                t0 = time.monotonic()
                lanes = [off] + self.on_lanes()
                err = None
                for lane in lanes:
                    r = sh(["nft", "-f", "-"], ns=lane.ns_r, input=mutation, check=False)
                    if r.returncode != 0:
                        err = r.stderr.strip()
                        break
                if err:
                    # overlapping intervals and the like: reload, try another
                    vlog("ruleset %d: element update rejected (%s), trying another" % (
                        idx, err.splitlines()[0]))
                    self.load(text, lanes)
                    continue
                for lane in self.on_lanes():
                    lane.wait_sync()
                self.stats["mutations"] += 1
                packets2 = PacketGen(rng, gen.k).packets(max(1, a.packets // 2))
                self.evaluate(idx, rs, mutation, packets2, time.monotonic() - t0)
                break

    def evaluate(self, idx, rs, mutation, packets, tload):
        """Sends packets in every lane (the ruleset is loaded), files the
        statistics and checks the candidates."""
        a = self.a
        S = self.stats
        st0 = {lane.name: lane.status() for lane in self.on_lanes()}
        lanes = [self.lanes["base"], self.lanes["off"]] + self.on_lanes()
        t1 = time.monotonic()
        res, fp = self.run(packets, lanes)
        t2 = time.monotonic()
        S["packets"] += len(packets)
        S["frames"] += sum(len(p.frames) for p in packets)
        for lane in self.on_lanes():
            st = lane.status()
            dd = st["totals"]["dropped"] - st0[lane.name]["totals"]["dropped"]
            S["fp_frames_status"][lane.name] += dd
            mine = sum(x for x in fp[lane.name] if x)
            if lane.stats and None not in fp[lane.name] and mine != dd:
                S["attribution_mismatch"] += 1
                log("warning: %s: the stats map says the fast path dropped %d frames, status "
                    "says %d (has nfo_stats changed? entry 0 is taken as drops)" % (
                        lane.name, mine, dd))
        cands = []
        for i, p in enumerate(packets):
            o_off = res["off"][i]
            for k in o_off:
                S["outcomes"][k] += 1
            if not o_off:
                S["kd"] += 1
                S["kd_frames"] += len(p.frames)
                if res["base"][i]:
                    S["nd"] += 1
            for lane in self.on_lanes():
                n = lane.name
                d = fp[n][i]
                if d is None:
                    S["fp_unknown"][n] += 1
                elif d:
                    S["fp_frames"][n] += d
                    if not o_off:
                        S["fpd"][n] += 1
                        if res["base"][i]:
                            S["fpnd"][n] += 1
                if lost(o_off, res[n][i]):
                    cands.append((i, n))
                elif lost(res[n][i], o_off):
                    S["extra"] += 1
                    vlog("ruleset %d packet %d: %s delivered more than off (%s vs %s): noise" % (
                        idx, i, n, outcome_text(res[n][i]), outcome_text(o_off)))
        if a.verbose:
            vlog("ruleset %d%s: %d packets (load+sync %.2fs, send+settle %.2fs), off lane gave "
                 "no outcome for %d, fast path dropped %s" % (
                     idx, " after element updates" if mutation else "", len(packets), tload,
                     t2 - t1, sum(1 for x in res["off"] if not x),
                     ", ".join("%s %d" % (n, sum(1 for x in fp[n] if x)) for n in fp if
                               self.lanes[n].mode)))
        seen = set()
        for i, n in cands:
            if (i, n) in seen:
                continue
            seen.add((i, n))
            S["candidates"] += 1
            if S["candidates"] > a.max_candidates:
                log("warning: more than %d candidates, not checking the rest" % a.max_candidates)
                break
            self.check(idx, rs, mutation, packets, i, self.lanes[n], res["off"][i], res[n][i],
                       fp[n][i])

    # -- a candidate --
    def check(self, idx, rs, mutation, packets, i, lane, o_off, o_on, fpd):
        p = packets[i]
        off = self.lanes["off"]
        vlog("candidate: ruleset %d packet %d in %s: off %s, %s %s, fast path dropped %s frame(s)"
             % (idx, i, lane.name, outcome_text(o_off), lane.name, outcome_text(o_on), fpd))
        text = rs.text()
        how = None
        detail = None
        for attempt in ("alone", "sequence"):
            self.load(text, [off, lane], mutation)
            st0 = lane.status()
            pk = [p] if attempt == "alone" else packets
            j = 0 if attempt == "alone" else i
            res, fp = self.run(pk, [off, lane])
            st1 = lane.status()
            lo = lost(res["off"][j], res[lane.name][j])
            d = fp[lane.name][j]
            if lo and (d is None or d > 0):
                how = attempt
                c0, c1 = fp_counters(st0), fp_counters(st1)
                moved = {k: c1[k] - c0.get(k, 0) for k in c1 if c1[k] != c0.get(k, 0)}
                detail = {"off": res["off"][j], "on": res[lane.name][j], "dropped": d,
                          "frames": len(p.frames), "counters": moved}
                break
            if lo:
                vlog("  %s: lost again but the fast path did not drop it (%s)" % (attempt, d))
                if attempt == "sequence":
                    how = "sequence-indirect"
                    detail = {"off": res["off"][j], "on": res[lane.name][j], "dropped": d,
                              "frames": len(p.frames), "counters": {}}
        if how is None:
            if fpd and not ("limit rate" in text or "quota" in text):
                # The fast path's own counter said it dropped a packet the
                # kernel delivered, and nothing in the ruleset depends on
                # timing: unsound even if it does not happen twice.
                how = "first run only"
                detail = {"off": o_off, "on": o_on, "dropped": fpd,
                          "frames": len(p.frames), "counters": {}}
                self.report(idx, rs, mutation, packets, i, lane, how, detail)
                return
            self.stats["noise"] += 1
            if fpd:
                self.stats["noise_fp"] += 1
            vlog("  not reproduced: noise")
            return
        if how == "sequence-indirect":
            # Lost twice without a fast-path drop of this packet: either an
            # earlier fast-path drop lost a side effect (quota, conntrack:
            # unsound all the same) or `limit` saw other timing (the fast
            # path lanes wait for each frame to be counted).
            if "limit rate" in text:
                self.stats["noise"] += 1
                vlog("  lost without a fast-path drop, ruleset has limit: timing noise")
                return
            how = "sequence"
        self.report(idx, rs, mutation, packets, i, lane, how, detail)

    def minimize(self, rs, mutation, packets, i, lane, how):
        """Smallest ruleset (and packet prefix) that still shows the drop."""
        off = self.lanes["off"]
        deadline = time.monotonic() + self.a.minimize_time
        seq = list(range(i + 1)) if how == "sequence" else [i]
        tests = [0]

        def bad(cand, seq_):
            if time.monotonic() > deadline:
                return False
            tests[0] += 1
            text = cand.text()
            if self.load(text, [off], mutation) or self.load(text, [lane], mutation):
                return False
            pk = [packets[k] for k in seq_]
            res, fp = self.run(pk, [off, lane])
            j = len(pk) - 1
            d = fp[lane.name][j]
            return bool(lost(res["off"][j], res[lane.name][j])) and (d is None or d > 0)

        cur = rs.clone()
        if how == "sequence" and bad(cur, [i]):
            seq = [i]
        # the same finding in another mode: start from its minimal ruleset
        prev = self.minimized.get((id(rs), mutation, i))
        if prev and bad(prev[0], prev[1]):
            cur, seq = prev[0].clone(), list(prev[1])
        changed = True
        while changed and time.monotonic() < deadline:
            changed = False
            for cand in self._shrinks(cur):
                if bad(cand, seq):
                    cur = cand
                    changed = True
                    break
            if not changed and len(seq) > 1:
                # drop earlier packets, biggest chunks first
                n = len(seq) - 1
                size = max(1, n // 2)
                while size >= 1 and not changed:
                    for s0 in range(0, n, size):
                        trial = seq[:s0] + seq[s0 + size:]
                        if trial and trial[-1] == i and bad(cur, trial):
                            seq = trial
                            changed = True
                            break
                    size //= 2
        timed_out = time.monotonic() >= deadline
        self.minimized[(id(rs), mutation, i)] = (cur, seq)
        return cur, seq, tests[0], timed_out

    def _shrinks(self, rs):
        """Candidates one step smaller than rs, biggest steps first."""
        T = rs.tables
        for ti in range(len(T)):
            c = rs.clone()
            del c.tables[ti]
            yield c
        for ti, t in enumerate(T):
            for ci, ch in enumerate(t.chains):
                c = rs.clone()
                name = ch.name
                del c.tables[ti].chains[ci]
                for och in c.tables[ti].chains:
                    och.rules = [r for r in och.rules if not _refers(r, name)]
                yield c
        for ti, t in enumerate(T):
            for si, s in enumerate(t.sets):
                c = rs.clone()
                del c.tables[ti].sets[si]
                for och in c.tables[ti].chains:
                    och.rules = [r for r in och.rules if "@" + s.name not in r.text().split()
                                 and "@%s" % s.name not in r.text()]
                yield c
        for ti, t in enumerate(T):
            for ci, ch in enumerate(t.chains):
                for ri in range(len(ch.rules)):
                    c = rs.clone()
                    del c.tables[ti].chains[ci].rules[ri]
                    yield c
        for ti, t in enumerate(T):
            for ci, ch in enumerate(t.chains):
                if ch.hook and ch.policy == "drop":
                    c = rs.clone()
                    c.tables[ti].chains[ci].policy = "accept"
                    yield c
                for ri, r in enumerate(ch.rules):
                    for ii in range(len(r.items)):
                        c = rs.clone()
                        del c.tables[ti].chains[ci].rules[ri].items[ii]
                        yield c
                    if r.verdict and r.verdict not in ("drop", "accept"):
                        for v in ("drop", "accept", None):
                            c = rs.clone()
                            c.tables[ti].chains[ci].rules[ri].verdict = v
                            yield c
        for ti, t in enumerate(T):
            for si, s in enumerate(t.sets):
                for ei in range(len(s.elements)):
                    c = rs.clone()
                    del c.tables[ti].sets[si].elements[ei]
                    yield c
        for ti, t in enumerate(T):
            for ci, ch in enumerate(t.chains):
                if ch.hook and ch.prio != 0:
                    c = rs.clone()
                    c.tables[ti].chains[ci].prio = 0
                    yield c

    def report(self, idx, rs, mutation, packets, i, lane, how, detail):
        a = self.a
        p = packets[i]
        log("")
        log("=" * 78)
        log("UNSOUND DROP: mode %s, seed %d, ruleset %d, packet #%d (%s)" % (
            lane.name, a.seed, idx, i,
            {"alone": "confirmed with the packet alone",
             "sequence": "confirmed by replaying the packet sequence"}.get(
                 how, "the fast path's counter shows the drop; did not happen again")))
        log("  packet:   %s" % p.describe())
        log("  frames:   %s" % p.hexdump().replace("\n", "\n            "))
        log("  expected (no fast path): %s" % outcome_text(detail["off"]))
        log("  got (fast path %s):  %s; the fast path dropped %s of %d frame(s)" % (
            lane.name, outcome_text(detail["on"]), detail["dropped"], detail["frames"]))
        if detail["counters"]:
            log("  fast-path counters that moved: %s" % ", ".join(
                "%s +%d" % kv for kv in sorted(detail["counters"].items())))
        log("  ruleset (%d rules):" % rs.nrules())
        log("    " + rs.text().replace("\n", "\n    "))
        if mutation:
            log("  then, with the fast path live, these element updates:")
            log("    " + mutation.strip().replace("\n", "\n    "))
        out = None
        if a.artifacts:
            out = os.path.join(a.artifacts, "seed%d-rs%d-%s-p%d" % (a.seed, idx, lane.name, i))
            os.makedirs(out, exist_ok=True)
            with open(os.path.join(out, "ruleset.nft"), "w") as f:
                f.write(rs.text())
            if mutation:
                with open(os.path.join(out, "mutation.nft"), "w") as f:
                    f.write(mutation)
        minimal, seq = rs, [i] if how == "alone" else list(range(i + 1))
        if how not in ("alone", "sequence"):
            log("  (not minimized: it did not happen again)")
        elif a.no_minimize or len(self.stats["unsound"]) >= a.minimize_first:
            log("  (not minimized: --no-minimize, or %d findings minimized already)" %
                a.minimize_first)
        else:
            t0 = time.monotonic()
            minimal, seq, ntests, timed_out = self.minimize(rs, mutation, packets, i, lane, how)
            log("  minimal ruleset (%d rules, %d tests in %.0fs%s)%s:" % (
                minimal.nrules(), ntests, time.monotonic() - t0,
                ", stopped at the time limit" if timed_out else "",
                "" if len(seq) == 1 else ", with %d earlier packets: %s" % (
                    len(seq) - 1, ", ".join("#%d" % k for k in seq[:-1]))))
            log("    " + minimal.text().replace("\n", "\n    "))
            for k in seq[:-1]:
                log("    earlier packet #%d: %s" % (k, packets[k].describe()))
            # the handles, for the counters above
            self.load(minimal.text(), [lane], mutation)
            r = sh(["nft", "-a", "list", "ruleset"], ns=lane.ns_r, check=False)
            log("  with handles (nft -a list ruleset):")
            log("    " + r.stdout.strip().replace("\n", "\n    "))
        if out:
            with open(os.path.join(out, "minimal.nft"), "w") as f:
                f.write(minimal.text())
            with open(os.path.join(out, "packet.json"), "w") as f:
                json.dump({"packets": [packets[k].d for k in seq], "mode": lane.name,
                           "seed": a.seed, "ruleset": idx, "packet": i}, f, indent=1)
            with open(os.path.join(out, "frames.hex"), "w") as f:
                f.write(p.hexdump() + "\n")
            log("  artifacts: %s" % out)
            log("  replay:    %s --repro %s --mode %s" % (sys.argv[0], out, lane.name))
        log("  rerun:     %s --seed %d --only %d --mode %s --packets %d%s%s" % (
            sys.argv[0], a.seed, idx, lane.name, a.packets,
            " --self-test" if a.self_test else "",
            " (found after the element updates)" if mutation else ""))
        log("=" * 78)
        self.stats["unsound"].append((idx, i, lane.name, how))


def _refers(rule, chain):
    t = " %s " % rule.text().replace(",", " ").replace("}", " ")
    return (" jump %s " % chain) in t or (" goto %s " % chain) in t


# ---- entry points ------------------------------------------------------------------

def summary(R, elapsed):
    S = R.stats
    a = R.a
    log("")
    log("difftest summary (seed %d, modes %s, %.0fs)" % (a.seed, ",".join(R.modes), elapsed))
    log("  rulesets:      %d tried, %d discarded because nft rejected them (generator bugs)" % (
        S["rulesets"] + len(S["discarded"]), len(S["discarded"])))
    log("  packets:       %d (%d frames), each sent without the fast path and in %d fast-path "
        "mode(s); %d rulesets also tested after element updates" % (
            S["packets"], S["frames"], len(R.modes), S["mutations"]))
    log("  outcomes without the fast path: %s" % ", ".join(
        "%s %d" % kv for kv in sorted(S["outcomes"].items())))
    log("  candidates:    %d (outcome lost with the fast path), %d not reproduced (noise); "
        "%d packets had more outcomes with the fast path (noise)" % (
            S["candidates"], S["noise"], S["extra"]))
    if S["noise_fp"]:
        log("  of the noise: %d packet(s) the fast path dropped once, in rulesets with limit "
            "or quota" % S["noise_fp"])
    if S["attribution_mismatch"]:
        log("  FAILURE: per-frame drop attribution disagreed with status %d time(s)" %
            S["attribution_mismatch"])
    log("  UNSOUND DROPS: %d" % len(S["unsound"]))
    for idx, i, n, how in S["unsound"]:
        log("    ruleset %d packet #%d mode %s (%s)" % (idx, i, n, how))
    log("  coverage = packets the fast path dropped / packets not delivered without it "
        "(%d; %d of them delivered with no ruleset at all, i.e. dropped by nftables):" % (
            S["kd"], S["nd"]))
    for n in R.modes:
        unk = S["fp_unknown"][n]
        if S["kd"]:
            cov = "%5d/%d %5.1f%%" % (S["fpd"][n], S["kd"], 100.0 * S["fpd"][n] / S["kd"])
        else:
            cov = "n/a"
        ncov = "%5.1f%%" % (100.0 * S["fpnd"][n] / S["nd"]) if S["nd"] else "n/a"
        extra = ""
        if unk:
            extra = " (%d packets unattributed; status: %d frames dropped of %d not delivered)" % (
                unk, S["fp_frames_status"][n], S["kd_frames"])
        log("    %-12s %s   of nftables' drops: %s   frames dropped %d (status says %d)%s" % (
            n, cov, ncov, S["fp_frames"][n], S["fp_frames_status"][n], extra))


def main(argv=None):
    global VERBOSE
    ap = argparse.ArgumentParser(prog="difftest.py", description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("NFO_DIFFTEST_SEED", "1")),
                    help="random seed (default $NFO_DIFFTEST_SEED, else 1)")
    ap.add_argument("--rulesets", type=int, default=20, help="rulesets to try (default 20)")
    ap.add_argument("--packets", type=int, default=120, help="packets per ruleset (default 120)")
    ap.add_argument("--mode", default="all", choices=("xdp", "xdp-generic", "tc", "all"))
    ap.add_argument("--only", type=int, default=None, help="run only ruleset I of the seed")
    ap.add_argument("--first", type=int, default=0, help="start at ruleset I")
    ap.add_argument("--time-budget", type=float, default=0,
                    help="start no new ruleset after this many seconds (0: no limit)")
    ap.add_argument("--artifacts", default=None,
                    help="directory for the files of unsound drops (default: none written)")
    ap.add_argument("--no-minimize", action="store_true", help="do not minimize rulesets")
    ap.add_argument("--minimize-time", type=float, default=300,
                    help="seconds spent minimizing one finding (default 300)")
    ap.add_argument("--minimize-first", type=int, default=3, metavar="N",
                    help="minimize only the first N findings (default 3)")
    ap.add_argument("--max-candidates", type=int, default=50,
                    help="candidates re-checked per ruleset at most")
    ap.add_argument("--repro", default=None, metavar="DIR",
                    help="replay an artifact directory (minimal.nft or ruleset.nft, packet.json)")
    ap.add_argument("--check-generator", type=int, default=0, metavar="N",
                    help="only load N generated rulesets into nft (no daemon, no packets)")
    ap.add_argument("--nfo-bin", default=os.environ.get("NFO_BIN"),
                    help="nft-offload binary (default $NFO_BIN)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--self-test", action="store_true",
                    help="add a drop rule in the fast-path lanes only: the run must find "
                         "unsound drops (exit 0 if it does, 1 if not)")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    VERBOSE = a.verbose
    if os.geteuid() != 0:
        print("difftest.py: needs root (namespaces, BPF, nft)", file=sys.stderr)
        return 1
    for t in ("ip", "nft", "sysctl", "mount"):
        if not shutil.which(t):
            print("difftest.py: %s is not installed" % t, file=sys.stderr)
            return 1
    if a.check_generator:
        return check_generator(a)
    if not a.nfo_bin or not os.access(a.nfo_bin, os.X_OK):
        print("difftest.py: NFO_BIN / --nfo-bin: the built nft-offload binary is needed "
              "(got %r)" % a.nfo_bin, file=sys.stderr)
        return 1
    a.nfo_bin = os.path.abspath(a.nfo_bin)
    if a.repro:
        a.mode = a.mode if a.mode != "all" else json.load(
            open(os.path.join(a.repro, "packet.json"))).get("mode", "xdp")

    def stop(sig, _):
        raise KeyboardInterrupt("signal %d" % sig)
    signal.signal(signal.SIGTERM, stop)

    R = Runner(a)
    t0 = time.monotonic()
    rc = 0
    try:
        if a.repro:
            R.setup(["off", a.mode])
            return repro(R, a)
        R.setup()
        log("difftest: seed %d, %s rulesets x %d packets, modes %s (lanes in %s-*)" % (
            a.seed, a.only if a.only is not None else a.rulesets, a.packets, ",".join(R.modes),
            R.prefix))
        todo = [a.only] if a.only is not None else range(a.first, a.first + a.rulesets)
        for n, idx in enumerate(todo):
            if a.time_budget and time.monotonic() - t0 > a.time_budget:
                log("time budget of %.0fs reached after %d rulesets" % (a.time_budget, n))
                break
            R.one_ruleset(idx)
            if (n + 1) % 10 == 0:
                log("  %d rulesets, %d packets, %d unsound, %.0fs" % (
                    n + 1, R.stats["packets"], len(R.stats["unsound"]), time.monotonic() - t0))
            for lane in R.on_lanes():
                if not lane.daemon_alive():
                    raise DiffError("the %s daemon died; log:\n%s" % (lane.name, lane.log_tail()))
    except DiffError as e:
        log("difftest: ERROR: %s" % e)
        rc = 1
    except KeyboardInterrupt as e:
        log("difftest: interrupted (%s)" % e)
        rc = 130
    finally:
        if not a.repro:
            summary(R, time.monotonic() - t0)
        R.teardown()
    if a.self_test and not rc:
        ok = bool(R.stats["unsound"]) and not R.stats["discarded"]
        log("self-test: %s" % ("the injected bug was found" if ok else
                               "FAIL: the injected bug was not found"))
        return 0 if ok else 1
    if R.stats["unsound"] or R.stats["discarded"]:
        rc = rc or 1
    if not a.repro and not a.check_generator:
        for why in hollow(R):
            log("difftest: FAIL: %s" % why)
            rc = rc or 1
    return rc


def hollow(R):
    """Why a run without unsound drops proves less than it seems: a fast path
    that drops nothing is trivially sound."""
    S = R.stats
    out = []
    if S["attribution_mismatch"]:
        out.append("the stats map and status disagreed on fast-path drops %d time(s)" %
                   S["attribution_mismatch"])
    if S["candidates"] > R.a.max_candidates:
        out.append("more than %d candidates: the rest were not checked" % R.a.max_candidates)
    for n in R.modes:
        if S["nd"] >= 50 and not S["fpnd"][n]:
            out.append("%s: the fast path dropped none of the %d packets nftables dropped" %
                       (n, S["nd"]))
    return out


def repro(R, a):
    d = a.repro
    path = os.path.join(d, "minimal.nft")
    if not os.path.exists(path):
        path = os.path.join(d, "ruleset.nft")
    text = open(path).read()
    info = json.load(open(os.path.join(d, "packet.json")))
    packets = [Packet(x) for x in info["packets"]]
    lane = R.lanes[a.mode]
    mutation = None
    if os.path.exists(os.path.join(d, "mutation.nft")):
        mutation = open(os.path.join(d, "mutation.nft")).read()
    err = R.load(text, [R.lanes["off"], lane], mutation)
    if err:
        log("repro: the ruleset does not load: %s" % err)
        return 1
    st0 = lane.status()
    res, fp = R.run(packets, [R.lanes["off"], lane])
    st1 = lane.status()
    j = len(packets) - 1
    log("repro: %s\n%s" % (path, text))
    if mutation:
        log("then:\n%s" % mutation)
    for k, p in enumerate(packets):
        log("packet %d: %s\n  frames: %s" % (k, p.describe(), p.hexdump()))
        log("  off: %s   %s: %s   fast path dropped %s of %d frame(s)" % (
            outcome_text(res["off"][k]), a.mode, outcome_text(res[a.mode][k]), fp[a.mode][k],
            len(p.frames)))
    c0, c1 = fp_counters(st0), fp_counters(st1)
    log("fast-path counters that moved: %s" % (", ".join(
        "%s +%d" % (k, c1[k] - c0.get(k, 0)) for k in sorted(c1) if c1[k] != c0.get(k, 0))
        or "none"))
    bad = lost(res["off"][j], res[a.mode][j])
    log("repro: %s" % ("UNSOUND DROP reproduced" if bad else "not reproduced"))
    return 1 if bad else 0


def check_generator(a):
    """Loads generated rulesets into a scratch namespace: every one must load."""
    ns = "nfdgen%d" % os.getpid()
    sh(["ip", "netns", "add", ns])
    bad = 0
    try:
        sh(["ip", "-n", ns, "link", "add", IF_R, "type", "veth", "peer", "name", IF_RF])
        sh(["ip", "-n", ns, "link", "set", "lo", "up"])
        for idx in range(a.first, a.first + a.check_generator):
            rng = random.Random("%d:%d" % (a.seed, idx))
            gen = Gen(rng)
            rs = gen.ruleset()
            PacketGen(rng, gen.k).packets(a.packets)
            text = rs.text()
            r = sh(["nft", "-f", "-"], ns=ns, input=text, check=False)
            if r.returncode != 0:
                bad += 1
                log("ruleset %d of seed %d does not load:\n%s\n%s" % (idx, a.seed,
                                                                     r.stderr.strip(), text))
    finally:
        sh(["ip", "netns", "del", ns], check=False)
    log("check-generator: %d rulesets, %d rejected by nft" % (a.check_generator, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
