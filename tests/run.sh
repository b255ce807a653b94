#!/bin/bash
# The project's test command: installs dependencies, builds, runs every test.
#
#   sudo tests/run.sh            everything (unit, bpf, integration, sanitizers)
#   sudo tests/run.sh --quick    unit tests only
#
# The bpf and integration suites load BPF programs and create network
# namespaces: they need root and a kernel with BPF, XDP and nf_tables
# (Linux 6.6 or newer). They fail, never skip, when they cannot run.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[ "${1:-}" = "--quick" ] && quick=1

if [ "$(id -u)" != 0 ]; then
	echo "tests/run.sh: run as root (sudo tests/run.sh): the tests install packages, load BPF programs and create network namespaces" >&2
	exit 1
fi

contrib/install-deps.sh

build=build
if [ -d "$build" ] && [ -f "$build/build.ninja" ]; then
	meson setup --reconfigure "$build" >/dev/null
else
	meson setup "$build"
fi
ninja -C "$build"

if [ "$quick" = 1 ]; then
	meson test -C "$build" --suite unit --print-errorlogs
	exit 0
fi

# Sanitizers on the unit tests (ASan + UBSan).
asan=build-asan
if [ -d "$asan" ] && [ -f "$asan/build.ninja" ]; then
	meson setup --reconfigure "$asan" >/dev/null
else
	meson setup "$asan" -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C "$asan"
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C "$asan" --suite unit --print-errorlogs

meson test -C "$build" --print-errorlogs --num-processes 2
