#!/bin/bash
# Captures real nftables element transactions for the unit tests: loads
# base.nft in a fresh network namespace, dumps it (00-base.nlmsg), then for
# each line of steps runs that nft -f input while recording the
# notifications (NN-NAME-notify.nlmsg) and dumps the result (NN-NAME.nlmsg).
# Needs root and a build (tests/tools/nfo-capture).
#
#   tests/data/elements/capture.sh [BUILD_DIR]
set -euo pipefail

dir=$(cd "$(dirname "$0")" && pwd)
build=${1:-$dir/../../../build}
capture=$build/tests/tools/nfo-capture
ns="nfo-elem-$$"
mon=""
cleanup() {
	[ -n "$mon" ] && kill "$mon" 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT

echo "$(nft --version), kernel $(uname -r)"
ip netns add "$ns"
ip netns exec "$ns" nft -f "$dir/base.nft"
# (getelem-tmo.nlmsg is getelem.sh's, not rewritten here)
rm -f "$dir"/[0-9][0-9]-*.nlmsg
ip netns exec "$ns" "$capture" "$dir/00-base.nlmsg"
i=0
while IFS=$'\t' read -r name cmds; do
	case "$name" in ''|'#'*) continue ;; esac
	i=$((i + 1))
	f=$(printf '%02d-%s' "$i" "$name")
	coproc CAP { exec ip netns exec "$ns" "$capture" --monitor "$dir/$f-notify.nlmsg"; }
	mon=$CAP_PID
	read -r ready <&"${CAP[0]}"
	[ "$ready" = ready ]
	tr ';' '\n' <<<"$cmds" | ip netns exec "$ns" nft -f -
	sleep 0.2
	kill -TERM "$mon"
	wait "$mon" || true
	mon=""
	ip netns exec "$ns" "$capture" "$dir/$f.nlmsg"
	echo "$f: $(stat -c %s "$dir/$f-notify.nlmsg") bytes of notifications"
done <"$dir/steps"
