#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `nft-offload trace`: under a flood, --count N prints N lines naming the
# rule; --pcap writes pcap-ng that tcpdump reads back with the sent bytes up
# to the snaplen, the interface and the rule; --rate caps what is captured
# and the rest is reported as not captured; --passed shows passed packets
# with the reason; several tracers at once each get their own rule's
# packets; a non-root tracer is refused; a tracer killed with SIGKILL
# leaves the programs' trace switch off.
. "$(dirname "$0")/lib.sh"

nfo_init
nfo_pair
command -v tcpdump >/dev/null || die "tcpdump is not installed (contrib/install-deps.sh)"

nfo_nft <<'NFT'
table inet fw {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport 9 drop comment "d9"
		tcp dport 22 drop comment "d22"
	}
}
NFT
send() { # pkt.py send options, from the sender to the receiver
	nfo_pkt send --netns "$NS_S" -i "$IF_S" --dst-mac "$MAC_R" --src "$S4" --dst "$R4" "$@"
}
nfo_daemon_start --attach "$IF_R:xdp"
H9=$(nfo_get "rule('d9')['handle']")
H22=$(nfo_get "rule('d22')['handle']")
# the frames pkt.py sends by default: their length
LEN=$(($(send --proto udp --dport 9 --hexdump | tr -d '\n' | wc -c) / 2))

# trace_bg OUT ERR TRACE-OPTIONS...: a tracer in the receiver's namespace;
# waits until it traces. Sets TP.
trace_bg() {
	local out=$1 err=$2
	shift 2
	ip netns exec "$NS_R" "$NFO_BIN" trace --run-dir "$NFO_RUN" "$@" >"$out" 2>"$err" &
	TP=$!
	NFO_PIDS+=("$TP")
	nfo_poll 30 grep -q 'tracing' "$err" || { cat "$err"; die "the tracer did not start"; }
}
# trace_switch: the nfo_ctl.trace word of the daemon's running XDP program.
trace_switch() {
	local id
	id=$(nfo_get "st['interfaces'][0]['prog_id']")
	bpftool -j prog show id "$id" | python3 -c '
import json, subprocess, sys
for m in json.load(sys.stdin)["map_ids"]:
    d = json.loads(subprocess.run(["bpftool", "-j", "map", "dump", "id", str(m)],
                                  capture_output=True, text=True).stdout or "[]")
    info = json.loads(subprocess.run(["bpftool", "-j", "map", "show", "id", str(m)],
                                     capture_output=True, text=True).stdout)
    if info.get("name") == "nfo_ctl":
        print(d[0]["formatted"]["value"]["trace"])
        break
'
}

# trace_off: the switch reads 0 (a function: nfo_poll runs it again each
# time, where `nfo_poll N test "$(trace_switch)" = 0` would test one reading)
trace_off() { [ "$(trace_switch)" = 0 ]; }
# passed3: the tracer wrote the 3 passed UDP packets
passed3() { [ "$(grep -c "udp" "$NFO_T/pass.txt")" -ge 3 ]; }

[ "$(trace_switch)" = 0 ] && ok "no tracer: the trace switch is off" ||
	fail "trace switch before any tracer: $(trace_switch)"

# --count 100 during a flood of 20,000 packets (and other drops around them).
trace_bg "$NFO_T/c.txt" "$NFO_T/c.err" --count 100 --rule "inet:fw:input:$H9"
[ "$(trace_switch)" = 1 ] && ok "a tracer runs: the trace switch is on" || fail "trace switch with a tracer: $(trace_switch)"
send --proto tcp --dport 22 --count 50 >/dev/null
send --proto udp --dport 9 --count 20000 >/dev/null
rc=0
nfo_wait_exit "$TP" 20 || rc=$?
[ "$rc" = 0 ] || { cat "$NFO_T/c.err"; fail "trace --count 100 exited $rc"; }
n=$(wc -l <"$NFO_T/c.txt")
bad=$(grep -cvE "^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6} $IF_R drop rule inet fw input handle $H9: ip $S4\.40000 > $R4\.9 udp, length $LEN\$" "$NFO_T/c.txt" || true)
if [ "$n" = 100 ] && [ "$bad" = 0 ]; then
	ok "trace --count 100 under a 20,000-packet flood: 100 lines naming rule inet fw input handle $H9"
else
	head -3 "$NFO_T/c.txt"
	fail "trace --count 100: $n lines, $bad not as expected"
fi
if python3 -c '
import re, sys
m = re.match(r"100 packets captured, (\d+) matched, (\d+) not captured \((\d+) rate limit, (\d+) ring full, (\d+) tracer too slow\)$", sys.argv[1])
assert m, sys.argv[1]
matched, missed, a, b, c = map(int, m.groups())
assert 100 + missed == matched and missed >= a + b + c
' "$(tail -1 "$NFO_T/c.err")"; then
	ok "summary: $(tail -1 "$NFO_T/c.err")"
else
	cat "$NFO_T/c.err"
	fail "trace --count 100: summary"
fi
nfo_poll 10 trace_off && ok "tracer done: the trace switch is off again" ||
	fail "trace switch after the tracer ended: $(trace_switch)"

# --pcap: pcap-ng that tcpdump reads, with the frames' bytes up to the snaplen.
trace_bg "$NFO_T/p.out" "$NFO_T/p.err" --count 20 --snaplen 64 --pcap "$NFO_T/t.pcapng"
send --proto udp --dport 9 --sport 1234 --payload-len 200 --ident 4660 --count 20 >/dev/null
nfo_wait_exit "$TP" 10 || { cat "$NFO_T/p.err"; fail "trace --pcap did not end"; }
send --proto udp --dport 9 --sport 1234 --payload-len 200 --ident 4660 --hexdump >"$NFO_T/frame.hex"
if tcpdump -nr "$NFO_T/t.pcapng" -xx >"$NFO_T/p.dump" 2>"$NFO_T/p.tcpdump.err"; then
	python3 - "$NFO_T/p.dump" "$NFO_T/frame.hex" "$NFO_T/t.pcapng" "$IF_R" "$H9" <<'PYEOF' &&
import re, struct, sys
dump, hexfile, pcapng, ifname, handle = sys.argv[1:]
want = bytes.fromhex(open(hexfile).read().split()[0])
packets, cur = [], None
for line in open(dump):
    m = re.match(r"\s+0x[0-9a-f]+:\s+((?:[0-9a-f]{4}\s?)+)", line)
    if m:
        cur += bytes.fromhex(m.group(1).replace(" ", ""))
    else:
        if cur is not None:
            packets.append(cur)
        cur = b""
if cur:
    packets.append(cur)
assert len(packets) == 20, "%d packets in the pcap" % len(packets)
assert len(want) > 64, "the frame (%d bytes) is longer than the snaplen" % len(want)
for p in packets:
    assert p == want[:64], "captured %s, sent %s" % (p.hex(), want[:64].hex())
# the blocks: interface name, rule per packet, original length
data = open(pcapng, "rb").read()
off, names, comments, lens = 0, [], [], []
while off < len(data):
    btype, blen = struct.unpack_from("<II", data, off)
    body = data[off + 8:off + blen - 4]
    if btype == 1:
        opts = body[8:]
    elif btype == 6:
        caplen, origlen = struct.unpack_from("<II", body, 12)
        lens.append((caplen, origlen))
        opts = body[20 + (caplen + 3) // 4 * 4:]
    else:
        opts = b""
    o = 0
    while o + 4 <= len(opts):
        code, olen = struct.unpack_from("<HH", opts, o)
        if code == 0:
            break
        v = opts[o + 4:o + 4 + olen]
        if btype == 1 and code == 2:
            names.append(v.decode())
        if btype == 6 and code == 1:
            comments.append(v.decode())
        o += 4 + (olen + 3) // 4 * 4
    off += blen
assert names == [ifname], "interfaces %s" % names
assert comments == ["drop rule inet fw input handle %s" % handle] * 20, comments[:2]
assert lens == [(64, len(want))] * 20, lens[:2]
print("20 packets, %d bytes each up to the snaplen 64; interface %s; rule per packet" % (len(want), ifname))
PYEOF
		ok "pcap-ng read back by tcpdump: the sent bytes up to the snaplen, interface, rule" ||
		fail "pcap-ng contents"
else
	cat "$NFO_T/p.tcpdump.err"
	fail "tcpdump cannot read the pcap-ng file"
fi
# to standard output, into tcpdump
ip netns exec "$NS_R" "$NFO_BIN" trace --run-dir "$NFO_RUN" --count 5 --pcap - 2>"$NFO_T/pipe.err" |
	tcpdump -nr - >"$NFO_T/pipe.txt" 2>/dev/null &
PIPE=$!
nfo_poll 30 grep -q 'tracing' "$NFO_T/pipe.err" || { cat "$NFO_T/pipe.err"; die "the tracer did not start"; }
send --proto udp --dport 9 --count 5 >/dev/null
wait "$PIPE" || true
[ "$(grep -c "IP $S4.40000 > $R4.9: UDP" "$NFO_T/pipe.txt")" = 5 ] &&
	ok "trace --pcap - | tcpdump -r -: 5 packets" || { cat "$NFO_T/pipe.txt"; fail "pcap to stdout"; }

# --rate 1000 during a flood of 5,000 packets per second for 4 s: about
# 1,000 a second from the first to the last packet captured (plus the
# bucket's depth, 100), the rest reported as not captured.
trace_bg "$NFO_T/r.txt" "$NFO_T/r.err" --rate 1000
send --proto udp --dport 9 --count 20000 --rate 5000 >/dev/null
sleep 0.5
kill -INT "$TP"
nfo_wait_exit "$TP" 10 || { cat "$NFO_T/r.err"; fail "trace --rate: exit on SIGINT"; }
python3 - "$NFO_T/r.txt" "$NFO_T/r.err" <<'PYEOF' && ok "trace --rate 1000: $(tail -1 "$NFO_T/r.err")" || fail "trace --rate 1000"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
summary = open(sys.argv[2]).read().strip().split("\n")[-1]
def secs(line):
    h, m, s = line.split()[0].split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)
# the flood outruns the rate: captures span it from its first packet to its last
span = secs(lines[-1]) - secs(lines[0])
want = 1000 * span + 100
print("%d lines over %.2f s, expected about %d" % (len(lines), span, want))
assert span > 2, "the flood lasted %.2f s" % span
assert abs(len(lines) - want) <= 0.2 * want, "%d captured, expected %d +- 20%%" % (len(lines), want)
m = re.match(r"(\d+) packets captured, (\d+) matched, (\d+) not captured \((\d+) rate limit", summary)
assert m, summary
captured, matched, missed, limited = map(int, m.groups())
assert captured == len(lines) and matched == 20000 and captured + missed == matched, summary
assert limited > 0, summary
PYEOF

# --passed: passed packets, with the reason (the receiver's ARP exchange
# for its ICMP errors passes too).
trace_bg "$NFO_T/pass.txt" "$NFO_T/pass.err" --passed --interface "$IF_R"
send --proto udp --dport 10 --count 3 >/dev/null
nfo_poll 30 passed3 || true
kill -INT "$TP"
nfo_wait_exit "$TP" 10 || fail "trace --passed did not end on SIGINT"
if [ "$(grep -cE "$IF_R pass decided_by_nftables: ip $S4\.40000 > $R4\.10 udp, length $LEN\$" "$NFO_T/pass.txt")" = 3 ] &&
	! grep -qv " pass decided_by_nftables: " "$NFO_T/pass.txt"; then
	ok "trace --passed: the 3 passed packets, with the reason"
else
	cat "$NFO_T/pass.txt"
	fail "trace --passed"
fi

# Several tracers at once, each with its own rule.
trace_bg "$NFO_T/m9.txt" "$NFO_T/m9.err" --count 10 --rule "inet:fw:input:$H9"
TP9=$TP
trace_bg "$NFO_T/m22.txt" "$NFO_T/m22.err" --count 10 --rule "inet:fw:input:$H22" --snaplen 54
TP22=$TP
for i in 1 2 3; do
	send --proto udp --dport 9 --count 5 >/dev/null
	send --proto tcp --dport 22 --count 5 >/dev/null
done
nfo_wait_exit "$TP9" 10 && nfo_wait_exit "$TP22" 10 || fail "two tracers did not end"
if [ "$(grep -c "handle $H9: .* udp" "$NFO_T/m9.txt")" = 10 ] && [ "$(wc -l <"$NFO_T/m9.txt")" = 10 ] &&
	[ "$(grep -c "handle $H22: .* tcp flags \[S\]" "$NFO_T/m22.txt")" = 10 ] && [ "$(wc -l <"$NFO_T/m22.txt")" = 10 ]; then
	ok "two tracers at once: each its own rule's 10 packets"
else
	head -3 "$NFO_T/m9.txt" "$NFO_T/m22.txt"
	fail "two tracers at once"
fi

# Errors: a rule the fast path does not drop for, a non-root user.
rc=0
ip netns exec "$NS_R" "$NFO_BIN" trace --run-dir "$NFO_RUN" --rule inet:fw:input:9999 >/dev/null 2>"$NFO_T/e.err" || rc=$?
[ "$rc" = 1 ] && grep -q 'rule inet:fw:input:9999: the fast path drops nothing for it' "$NFO_T/e.err" &&
	ok "unknown rule: $(cat "$NFO_T/e.err")" || { cat "$NFO_T/e.err"; fail "unknown rule: exit $rc"; }
rc=0
ip netns exec "$NS_R" setpriv --reuid 65534 --regid 65534 --clear-groups \
	"$NFO_BIN" trace --run-dir "$NFO_RUN" >/dev/null 2>"$NFO_T/u.err" || rc=$?
[ "$rc" = 1 ] && grep -q 'needs root' "$NFO_T/u.err" &&
	ok "non-root: refused ($(cat "$NFO_T/u.err"))" || { cat "$NFO_T/u.err"; fail "non-root tracer: exit $rc"; }

# The daemon refuses a non-root tracer itself (here one that bypasses the
# command's own check, on a socket opened up for the test).
chmod 0755 "$NFO_T" "$NFO_RUN"
chmod 0666 "$NFO_RUN/control.sock"
out=$(ip netns exec "$NS_R" setpriv --reuid 65534 --regid 65534 --clear-groups /usr/bin/python3 - "$NFO_RUN/control.sock" <<'PYEOF'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b"trace drops\n")
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
typ, n = struct.unpack_from("=II", data)
print(typ, data[8:8 + n].decode())
PYEOF
) 2>&1 || true
chmod 0600 "$NFO_RUN/control.sock"
chmod 0700 "$NFO_T" "$NFO_RUN"
[ "$out" = "2 tracing shows packets' contents: it needs root" ] &&
	ok "the daemon refuses a non-root tracer: $out" || fail "daemon, non-root tracer: '$out'"
[ "$(trace_switch)" = 0 ] || fail "trace switch after a refused tracer: $(trace_switch)"

# A tracer killed with SIGKILL: the daemon sees its connection close and
# turns tracing off.
trace_bg "$NFO_T/k.txt" "$NFO_T/k.err"
[ "$(trace_switch)" = 1 ] || fail "trace switch with a tracer: $(trace_switch)"
kill -KILL "$TP"
nfo_wait_exit "$TP" 10 || true
nfo_poll 10 trace_off && ok "tracer killed: the trace switch is off" ||
	fail "trace switch after SIGKILL of the tracer: $(trace_switch)"
before=$(nfo_get "st['totals']['dropped']")
send --proto udp --dport 9 --count 10 >/dev/null
nfo_wait "st['totals']['dropped'] == $before + 10" && ok "the fast path drops as before" ||
	fail "drops after the traces"

nfo_daemon_stop
nfo_done
