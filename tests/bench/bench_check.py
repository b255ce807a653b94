#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Runs nft-offload-bench on a tiny configuration and checks its report.

    bench_check.py NFT_OFFLOAD_BENCH NFT_OFFLOAD

The run must complete; every mode must have dropped packets at a positive
rate; every BPF mode (nft-offload xdp and tc, the hand-written filter,
drop-all) must report a positive ns per packet; the update latency must be
there, the chart drawn, and the namespaces, temporary files and daemons gone
afterwards (gnuplot is a dependency: contrib/install-deps.sh). Rates and
times are printed, never compared: speed is the bench's business, on a quiet
machine, not the test's. `nft-offload bench --help` must reach the bench.

Then --blocklist on a tiny configuration (1,000 addresses and 100 prefixes
of each family, a second of churn): it must run and report every figure for
both families, with the machine and the commit.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

MODES = ["nft-input", "nft-ingress", "nft-offload-xdp", "nft-offload-tc", "hand-written-xdp",
         "xdp-drop"]
FIXED = ("hand-written-xdp", "xdp-drop")  # one figure, whatever the layout
BPF = ("nft-offload-xdp", "nft-offload-tc", "hand-written-xdp", "xdp-drop")
failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def main():
    bench, nfo = sys.argv[1], sys.argv[2]
    if os.geteuid() != 0:
        print("FAIL: the bench test needs root (namespaces, BPF, nft)")
        return 1
    tmp = tempfile.mkdtemp(prefix="nfo-bench-test.")
    chart = os.path.join(tmp, "bench.svg")
    try:
        # `nft-offload bench` runs nft-offload-bench from next to itself or PATH
        env = dict(os.environ, PATH=os.path.dirname(os.path.abspath(bench)) + ":" +
                   os.environ.get("PATH", ""))
        h = subprocess.run([nfo, "bench", "--help"], capture_output=True, text=True, env=env)
        check(h.returncode == 0 and "nft-offload-bench" in h.stdout
              and "hand-written" in h.stdout, "nft-offload bench --help runs the bench")

        cmd = [bench, "--nft-offload", nfo, "--rules", "1", "--duration", "0.2", "--runs", "1",
               "--latency-rules", "10", "--json", "--plot", chart]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = p.communicate(timeout=240)
        sys.stderr.write(err)
        check(p.returncode == 0, "bench exits 0 (got %d)" % p.returncode)
        if p.returncode != 0:
            return 1
        rep = json.loads(out)

        res = {(r["mode"], r["layout"]): r for r in rep["results"]}
        for m in MODES:
            layouts = [None] if m in FIXED else ["linear", "set"]
            for lay in layouts:
                r = res.get((m, lay))
                name = m + (" " + lay if lay else "")
                check(r is not None and r["rules"] == 1, "result for " + name)
                if r:
                    check(r["pps"]["median"] > 0, "%s: positive rate (%d pps)"
                          % (name, r["pps"]["median"]))
                    if m in BPF:
                        ns = r.get("ns_per_packet", {}).get("median", 0)
                        check(ns > 0, "%s: ns per packet inside the program (%.0f)" % (name, ns))
        for m in ("nft-offload-xdp", "nft-offload-tc"):
            check(res[(m, "linear")]["attach"] in ("xdp", "tc"),
                  "%s attached as %s" % (m, res[(m, "linear")]["attach"]))
        ref = res.get(("hand-written-xdp", None))
        check(ref is not None and ref["ns_per_packet"]["median"] > 0,
              "the hand-written reference is there, with its ns per packet")
        x = res[("nft-offload-xdp", "linear")]
        check("vs_hand_written" in x, "nft-offload xdp compared with the hand-written filter")
        nft = res[("nft-input", "linear")]["pps"]["median"]
        print("note: at 0.2 s per figure on %s: nft-offload xdp %.2f Mpps, %.0f ns/packet; "
              "hand-written %.2f Mpps, %.0f ns/packet; nftables input %.2f Mpps"
              % (rep["machine"]["cpu"], x["pps"]["median"] / 1e6, x["ns_per_packet"]["median"],
                 ref["pps"]["median"] / 1e6 if ref else 0,
                 ref["ns_per_packet"]["median"] if ref else 0, nft / 1e6))

        lat = rep["update_latency"]
        check(len(lat) == 1 and lat[0]["rules"] == 10, "update latency at 10 rules")
        if lat:
            check(lat[0]["daemon_ms"]["median"] > 0 and lat[0]["external_ms"]["median"] > 0,
                  "update latency: daemon %.1f ms, external %.1f ms"
                  % (lat[0]["daemon_ms"]["median"], lat[0]["external_ms"]["median"]))
        check(rep["machine"]["cpus"] >= 2 and rep["machine"]["kernel"].startswith("Linux")
              and rep["machine"]["cpu"], "machine described, CPU model named")
        with open(chart) as f:
            check("<svg" in f.read(), "chart drawn")

        ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        check("nfo-bench-%d-" % p.pid not in ns, "namespaces removed")
        m = re.search(r"files in (/tmp/nft-offload-bench\.\w+)", err)
        check(m is not None, "bench names its temporary directory")
        if m:
            check(not os.path.exists(m.group(1)), "temporary directory removed")
            left = []
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open("/proc/%s/cmdline" % pid, "rb") as f:
                        if m.group(1).encode() in f.read():
                            left.append(pid)
                except OSError:
                    pass
            check(not left, "no daemon left running")
        blocklist(bench, nfo)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


def blocklist(bench, nfo):
    cmd = [bench, "--nft-offload", nfo, "--blocklist", "--v4", "1000", "--nets", "100",
           "--v6", "1000", "--nets6", "100", "--churn", "200", "--duration", "1", "--runs", "1",
           "--json"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate(timeout=180)
    sys.stderr.write(err)
    check(p.returncode == 0, "bench --blocklist exits 0 (got %d)" % p.returncode)
    if p.returncode != 0:
        return
    rep = json.loads(out)
    check(rep["machine"]["cpu"] and rep["machine"]["kernel"].startswith("Linux")
          and rep["commit"], "blocklist: machine and commit named (%s, %s, %s)"
          % (rep["machine"]["cpu"], rep["machine"]["kernel"], rep["commit"]))
    fams = {r["ip"]: r for r in rep["blocklist"]}
    check(sorted(fams) == [4, 6], "blocklist: IPv4 and IPv6 reported")
    for ip, r in sorted(fams.items()):
        name = "blocklist IPv%d" % ip
        check(r["addresses"] == 1000 and r["prefixes"] == 100, name + ": the sizes asked")
        check(r["nft_load_s"] > 0 and r["start_to_live_s"] > 0,
              "%s: nft -f %.2f s, start to live %.2f s"
              % (name, r["nft_load_s"], r["start_to_live_s"]))
        check(r["addresses_fast_path"] and r["prefixes_fast_path"],
              "%s: where the sets are (%s, %s)"
              % (name, r["addresses_fast_path"], r["prefixes_fast_path"]))
        check(r["add_ms"]["n"] == 1 and r["delete_ms"]["n"] == 1
              and r["add_ms"]["median"] > 0 and r["delete_ms"]["median"] > 0,
              "%s: one element added (%.1f ms) and deleted (%.1f ms)"
              % (name, r["add_ms"]["median"], r["delete_ms"]["median"]))
        c = r["churn"]
        check(c is not None and c["batches"] > 0 and c["adds"] > 0
              and c["adds"] == c["deletes"], "%s: churn batches ran" % name)
        if c:
            check(c["flood_sent"] > 0 and c["probes_sent"] > 0,
                  "%s: flood (%d, %.1f%% dropped in the fast path) and probes (%d, %d "
                  "delivered) sent" % (name, c["flood_sent"], 100 * c["flood_dropped_share"],
                                       c["probes_sent"], c["probes_delivered"]))
            # counted frame by frame: what reached the fast path, per stream
            check(0 < c["flood_reached"] + c["probes_reached"] <= c["fast_path_seen"]
                  <= c["flood_sent"] + c["probes_sent"]
                  and c["probes_reached"] == c["probes_dropped_fast_path"]
                  + c["probes_dropped_nftables"] + c["probes_delivered"]
                  and c["flood_dropped"] <= c["flood_reached"],
                  "%s: the fast path ran on %d frames: flood %d (%d dropped there), probes %d "
                  "(%d dropped there)" % (name, c["fast_path_seen"], c["flood_reached"],
                                          c["flood_dropped"], c["probes_reached"],
                                          c["probes_dropped_fast_path"]))
        check(r["rss_kb"] > 0 and r["map_bytes"] > 0 and r["maps"] > 0,
              "%s: RSS %d kB, %d maps of %d bytes" % (name, r["rss_kb"], r["maps"],
                                                      r["map_bytes"]))
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    check("nfo-bench-%d-" % p.pid not in ns, "blocklist: namespaces removed")
    m = re.search(r"files in (/tmp/nft-offload-bench\.\w+)", err)
    check(m is not None and not os.path.exists(m.group(1)),
          "blocklist: temporary directory removed")


if __name__ == "__main__":
    sys.exit(main())
