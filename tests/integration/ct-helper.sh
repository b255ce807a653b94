#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Conntrack helpers, in MODE (xdp, tc): a ruleset that assigns the FTP
# helper makes RELATED possible for packets without a conntrack entry (the
# helper's expectations). A passive FTP data connection opens to a port
# nothing else accepts: its SYN has no entry, the kernel finds the
# expectation and `ct state related` accepts it. The fast path, whose
# lookup finds no entry, must not drop it by the chain's drop policy.
. "$(dirname "$0")/lib.sh"

MODE=${1:-xdp}
NFO_TEST="ct-helper-$MODE"
nfo_init
nfo_pair

nfo_nft <<'EOF2'
table inet filter {
	ct helper ftp-std {
		type "ftp" protocol tcp
	}
	chain pre {
		type filter hook prerouting priority filter; policy accept;
		tcp dport 21 ct helper set "ftp-std"
	}
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept comment "er"
		iif "lo" accept
		tcp dport 21 accept comment "ftp"
	}
}
EOF2
nfo_daemon_start --attach "$IF_R:$MODE"

# The server: an FTP control connection that answers PASV with a data port,
# then sends 100000 bytes on the data connection.
ip netns exec "$NS_R" python3 - "$R4" <<'PY' >"$NFO_T/ftpd.log" 2>&1 &
import socket, sys
addr = sys.argv[1]
ctl = socket.socket(); ctl.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ctl.bind((addr, 21)); ctl.listen(1)
data = socket.socket(); data.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
data.bind((addr, 50000)); data.listen(1)
c, _ = ctl.accept()
c.sendall(b"220 ready\r\n")
assert c.recv(100).startswith(b"PASV")
h = addr.replace(".", ",")
c.sendall(b"227 Entering Passive Mode (%s,195,80)\r\n" % h.encode())
d, _ = data.accept()
d.sendall(b"f" * 100000)
d.close()
c.close()
PY
NFO_PIDS+=($!)
nfo_poll 30 bash -c "ip netns exec $NS_R ss -Hltn 'sport = :21' | grep -q ." ||
	die "the FTP server did not start: $(cat "$NFO_T/ftpd.log")"

DROPPED=$(nfo_get "st['totals']['dropped']")
CLIENT='
import socket, sys, re
c = socket.create_connection((sys.argv[1], 21), timeout=10)
f = c.makefile("rb")
assert f.readline().startswith(b"220")
c.sendall(b"PASV\r\n")
m = re.search(rb"\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)", f.readline())
port = int(m.group(5)) * 256 + int(m.group(6))
d = socket.create_connection((sys.argv[1], port), timeout=10)
got = b""
while True:
    x = d.recv(65536)
    if not x: break
    got += x
assert got == b"f" * 100000, len(got)
print("OK")'
if out=$(ip netns exec "$NS_S" timeout 60 python3 -c "$CLIENT" "$R4" 2>&1) && [ "$out" = OK ]; then
	ok "passive FTP: the data connection (RELATED through the helper's expectation) opens and carries data"
else
	fail "passive FTP data connection: $out; server: $(cat "$NFO_T/ftpd.log")"
fi
nfo_assert "st['totals']['dropped'] == $DROPPED" "the fast path dropped none of it"

nfo_daemon_stop
nfo_done
