#!/bin/bash
# Regenerates tests/data/NAME.nlmsg from tests/data/rulesets/NAME.nft: loads
# each ruleset with the real nft in a fresh network namespace and captures
# the kernel's dump of it with nfo-capture. Needs root.
#
#   tests/data/regenerate.sh [BUILD_DIR [NAME...]]   (default: build, all)
#
# The unit tests (tests/unit/netlink/test_nft.c, tests/unit/nft-offload/) read the captures;
# rerun this after changing a ruleset, check the tests, and commit the .nlmsg
# files with the ruleset.
set -euo pipefail

data=$(cd "$(dirname "$0")" && pwd)
build=${1:-$data/../../build}
[ $# -gt 0 ] && shift
capture=$build/tests/tools/nfo-capture

if [ ! -x "$capture" ]; then
	echo "regenerate.sh: $capture not found: build first (meson setup $build && ninja -C $build)" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "regenerate.sh: run as root: it creates network namespaces" >&2
	exit 1
fi

ns=""
cleanup() {
	if [ -n "$ns" ]; then
		ip netns del "$ns" 2>/dev/null || true
	fi
}
trap cleanup EXIT

# How nft encodes a match depends on its version: say which one made the data.
echo "$(nft --version), kernel $(uname -r)"
if [ $# -gt 0 ]; then
	files=()
	for n in "$@"; do files+=("$data/rulesets/$n.nft"); done
else
	files=("$data"/rulesets/*.nft)
fi
for nft in "${files[@]}"; do
	name=$(basename "$nft" .nft)
	# Unique per run so concurrent runs and other tests never collide.
	ns="nfo-regen-$$-$name"
	ip netns add "$ns"
	# A device besides lo for netdev chains to name (kernels before 6.16
	# refuse absent ones); veth because not every kernel has dummy.
	ip -n "$ns" link add nfoveth0 type veth peer name nfoveth1
	ip netns exec "$ns" nft -f "$nft"
	ip netns exec "$ns" "$capture" "$data/$name.nlmsg.tmp"
	mv "$data/$name.nlmsg.tmp" "$data/$name.nlmsg"
	ip netns del "$ns"
	ns=""
	echo "$name.nlmsg: $(stat -c %s "$data/$name.nlmsg") bytes"
done
