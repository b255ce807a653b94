#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Runs `nft-offload bench` on a tiny configuration and checks its report.

Every mode must have dropped packets at a positive rate, the update latency
must be there, the chart must be drawn, and the namespaces, temporary files
and daemons must be gone afterwards (gnuplot is a dependency:
contrib/install-deps.sh). Rates are printed, never asserted: speed is
the bench's business, on a quiet machine, not the test's.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

MODES = ["nft-input", "nft-ingress", "nft-offload-xdp", "nft-offload-tc", "xdp-drop"]
failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def main():
    nfo = sys.argv[1]
    if os.geteuid() != 0:
        print("FAIL: the bench test needs root (namespaces, BPF, nft)")
        return 1
    tmp = tempfile.mkdtemp(prefix="nfo-bench-test.")
    chart = os.path.join(tmp, "bench.svg")
    try:
        cmd = [nfo, "bench", "--rules", "1", "--duration", "0.2", "--runs", "1",
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
            layouts = [None] if m == "xdp-drop" else ["linear", "set"]
            for lay in layouts:
                r = res.get((m, lay))
                name = m + (" " + lay if lay else "")
                check(r is not None and r["rules"] == 1, "result for " + name)
                if r:
                    check(r["pps"]["median"] > 0, "%s: positive rate (%d pps)"
                          % (name, r["pps"]["median"]))
        for m in ("nft-offload-xdp", "nft-offload-tc"):
            check(res[(m, "linear")]["attach"] in ("xdp", "tc"),
                  "%s attached as %s" % (m, res[(m, "linear")]["attach"]))
        xdp = res[("nft-offload-xdp", "linear")]["pps"]["median"]
        nft = res[("nft-input", "linear")]["pps"]["median"]
        print("note: at 0.2 s per figure: nft-offload xdp %.2f Mpps, nftables input %.2f Mpps"
              % (xdp / 1e6, nft / 1e6))

        lat = rep["update_latency"]
        check(len(lat) == 1 and lat[0]["rules"] == 10, "update latency at 10 rules")
        if lat:
            check(lat[0]["daemon_ms"]["median"] > 0 and lat[0]["external_ms"]["median"] > 0,
                  "update latency: daemon %.1f ms, external %.1f ms"
                  % (lat[0]["daemon_ms"]["median"], lat[0]["external_ms"]["median"]))
        check(rep["machine"]["cpus"] >= 2 and rep["machine"]["kernel"].startswith("Linux"),
              "machine described")
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
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
