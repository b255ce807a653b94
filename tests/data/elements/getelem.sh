#!/bin/bash
# Captures the kernel's answers to GETSETELEM requests for single elements
# (what the daemon asks for the keys a transaction added to a set with
# timeouts): loads base.nft in a fresh network namespace, adds to set tmo
# 1.1.1.1 with a timeout of 30s and 1.1.1.2 without one, then asks for
# 1.1.1.1, 1.1.1.2 and 1.1.1.3 (absent), sequence numbers 1000 to 1002, in
# one sendmsg (getelem-tmo.nlmsg). Needs root and a build
# (tests/tools/nfo-capture).
#
#   tests/data/elements/getelem.sh [BUILD_DIR]
set -euo pipefail

dir=$(cd "$(dirname "$0")" && pwd)
build=${1:-$dir/../../../build}
capture=$build/tests/tools/nfo-capture
ns="nfo-getelem-$$"
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT

echo "$(nft --version), kernel $(uname -r)"
ip netns add "$ns"
ip netns exec "$ns" nft -f "$dir/base.nft"
ip netns exec "$ns" nft add element inet bl tmo '{ 1.1.1.1 timeout 30s, 1.1.1.2 }'
ip netns exec "$ns" "$capture" --getelem "$dir/getelem-tmo.nlmsg" 1000 inet bl tmo \
	01010101 01010102 01010103
echo "getelem-tmo.nlmsg: $(stat -c %s "$dir/getelem-tmo.nlmsg") bytes"
