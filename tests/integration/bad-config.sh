#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A bad configuration file (or --attach) makes the daemon print one clear
# line naming the file and line, and exit non-zero, before it touches
# anything. A good one attaches what it says.
. "$(dirname "$0")/lib.sh"

nfo_init
nfo_pair

# bad_config NAME LINE FILE-CONTENT [EXTRA-ARGS...]: the daemon must exit
# non-zero within 10 s, with exactly one line on stderr naming FILE:LINE
# (LINE 0: the file without a line number; LINE "--attach": the option),
# and leave no control socket.
bad_config() {
	local name=$1 line=$2 content=$3 f="$NFO_T/$1.conf" run="$NFO_T/run-$1" out rc want
	shift 3
	printf '%b' "$content" >"$f"
	rc=0
	out=$(timeout 10 ip netns exec "$NS_R" "$NFO_BIN" daemon --config "$f" --run-dir "$run" \
		--bpffs "$NFO_BPFFS" "$@" 2>&1 >/dev/null) || rc=$?
	case $line in
	0) want="$f: " ;;
	--attach) want="--attach: " ;;
	*) want="$f:$line: " ;;
	esac
	if [ "$rc" -eq 124 ]; then
		fail "$name: the daemon kept running with a bad config"
	elif [ "$rc" -eq 0 ]; then
		fail "$name: exit 0 with a bad config"
	elif [ "$(printf '%s\n' "$out" | wc -l)" -ne 1 ]; then
		fail "$name: expected one line on stderr, got: $out"
	elif [[ "$out" != *"$want"* ]]; then
		fail "$name: message does not name $want: $out"
	else
		ok "$name: exit $rc: $out"
	fi
	if [ -e "$run/control.sock" ]; then
		fail "$name: control socket left behind"
	fi
	if ! nfo_nothing_attached "$NS_R" "$IF_R"; then
		fail "$name: something got attached (XDP or tc)"
	fi
}

bad_config unknown-setting 3 "# nft-offload\n\ninterfce $IF_R\n"
bad_config unknown-mode 2 "max-counters 100\ninterface $IF_R mode fast\n"
bad_config bad-option 1 "interface $IF_R speed xdp\n"
bad_config missing-mode 1 "interface $IF_R mode\n"
bad_config bad-number 2 "interface $IF_R\nmax-counters lots\n"
bad_config zero 1 "max-diagram-edges 0\n"
bad_config twice 4 "interface $IF_R\n\n# again\ninterface $IF_R mode tc\n"
bad_config bad-name 1 "interface a/b\n"
bad_config too-many-words 1 "interface $IF_R mode xdp extra words\n"
bad_config nul-bytes 0 "interface $IF_R\n\0\n"
bad_config twice-with-attach --attach "interface $IF_R\n" --attach "$IF_R"

# A missing file given with --config.
out=$(timeout 10 ip netns exec "$NS_R" "$NFO_BIN" daemon --config "$NFO_T/nonexistent.conf" \
	--run-dir "$NFO_T/run-x" --bpffs "$NFO_BPFFS" 2>&1 >/dev/null) && rc=0 || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] &&
	[[ "$out" == *"$NFO_T/nonexistent.conf"* ]]; then
	ok "missing config file: exit $rc: $out"
else
	fail "missing config file: exit $rc: $out"
fi

# A bad --attach mode.
out=$(timeout 10 ip netns exec "$NS_R" "$NFO_BIN" daemon --config "$NFO_T/empty.conf" \
	--run-dir "$NFO_T/run-y" --bpffs "$NFO_BPFFS" --attach "$IF_R:turbo" 2>&1 >/dev/null) && rc=0 || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] &&
	[[ "$out" == *turbo* ]]; then
	ok "bad --attach mode: exit $rc: $out"
else
	fail "bad --attach mode: exit $rc: $out"
fi

# A good file: the interface it names is attached in the mode it says,
# comments and blank lines are fine.
printf '# test\n\ninterface %s mode tc   # trailing comment\nmax-counters 1000\n' "$IF_R" >"$NFO_T/good.conf"
nfo_nft <<'EOF'
table inet t {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport 9 drop comment "d9"
	}
}
EOF
nfo_daemon_start --config "$NFO_T/good.conf"
nfo_assert "iface('$IF_R')['attached'] and iface('$IF_R')['mode'] == 'tc'" "good config: $IF_R attached in tc mode"
nfo_case "good config drops" "drop=d9 --dport 9" "pass --dport 10"
nfo_daemon_stop
nfo_done
