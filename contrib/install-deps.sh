#!/bin/sh
# Installs what nft-offload needs to build, run and test (Debian 12 or newer).
# Used by contrib/quickstart.sh and tests/run.sh; safe to run again.
set -eu

PKGS="meson ninja-build pkg-config gcc clang llvm bpftool
libbpf-dev libnftnl-dev libmnl-dev libnl-3-dev libnl-route-3-dev libcmocka-dev
nftables iproute2 procps python3 gnuplot-nox ethtool
python3-prometheus-client curl tcpdump"

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: run as root (sudo): it installs Debian packages" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps: apt-get not found; install by hand: $PKGS" >&2
	exit 1
fi

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "install-deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || true
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing
fi
