#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# The main job: build libodfork, the benchmarks and the bench kernel (the
# series without debug options), boot it in QEMU and measure fork() against
# odfork(): latency by memory size up to 1 GiB, the cost of the faults that
# follow, fork + accesses, and Redis BGSAVE on a small dataset (about
# 110 MiB), in a few minutes; then print the report.  Run as root on
# Debian 12 from the repository root:
#
#   tools/demo.sh [--full] [--kernel BZIMAGE] [--build DIR]
#     --full            every benchmark at full size (64 MiB to 4 GiB, 1 GiB
#                       total cost, 3 concurrent forkers, Redis with about
#                       1 GiB, AFL++ over a 512 MiB state, SQLite with a
#                       1 GiB database; a few hours in TCG)
#     --kernel BZIMAGE  use this bench kernel instead of building one
#     --build DIR       meson build directory (default: build/meson)
#
# Results and the report go to build/demo/ (bench/run.sh writes the
# committed bench/RESULTS.md).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build/meson
kernel=
variant=--quick

usage() {
	sed -n '11,18p' "$0" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--full) variant=; shift ;;
	--kernel) [ $# -ge 2 ] || usage; kernel=$2; shift 2 ;;
	--build) [ $# -ge 2 ] || usage; build=$2; shift 2 ;;
	*) usage ;;
	esac
done
cd "$top"

tools/install-deps.sh
[ -f "$build/build.ninja" ] || meson setup "$build" "$top"
ninja -C "$build"
if [ -z "$kernel" ]; then
	kernel=$(kernel/build.sh bench)
fi

# shellcheck disable=SC2086
bench/run.sh $variant --kernel "$kernel" --build "$build" \
	--results "$top/build/demo" --vmdir "$top/build/vm/demo"
