#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# The main job: build libodfork, the benchmarks and the bench kernel (the
# series without debug options), boot it in QEMU and measure fork() against
# odfork(): latency by memory size up to 1 GiB, the cost of the faults that
# follow, fork + accesses, and Redis BGSAVE on a small dataset (about
# 110 MiB); then print the targets, the latency table and the paths of the
# report and the plots.  Run as root on Debian 12 from the repository root:
#
#   tools/demo.sh [--full] [--kernel BZIMAGE] [--build DIR] [--plan]
#     --full            every benchmark at full size (64 MiB to 4 GiB, 1 GiB
#                       total cost, 3 concurrent forkers, Redis with about
#                       1 GiB, AFL++ over a 512 MiB state, SQLite with a
#                       1 GiB database; about 30 minutes more in TCG)
#     --kernel BZIMAGE  use this bench kernel instead of building one
#     --build DIR       meson build directory (default: build/meson)
#     --plan            print what it would do (time, disk, memory), exit
#
# Results and the report go to build/demo/ (bench/run.sh writes the
# committed bench/RESULTS.md).  It prints its plan first (steps, time,
# disk, memory), a banner per step with the elapsed time and a progress
# line at least every 30 s; each step's messages go to build/logs/demo/,
# the guest's serial console to build/vm/demo/serial.log.  QEMU uses KVM
# when tools/kvm-probe.sh finds that it works, TCG otherwise (or what
# ODFORK_VM_ACCEL says).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build/meson
kernel=
variant=--quick
plan_only=0
results=$top/build/demo
logs=$top/build/logs/demo
vmdir=$top/build/vm/demo

usage() {
	sed -n '11,18p' "$0" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--full) variant=; shift ;;
	--kernel) [ $# -ge 2 ] || usage; kernel=$2; shift 2 ;;
	--build) [ $# -ge 2 ] || usage; build=$2; shift 2 ;;
	--plan) plan_only=1; shift ;;
	*) usage ;;
	esac
done
cd "$top"
mkdir -p "$logs"
# shellcheck source=tools/common.sh
. tools/common.sh

plan() {
	local deps=demo

	[ -n "$variant" ] || deps=full
	say "tools/demo.sh${variant:+ (quick; --full measures everything)}: this will"
	say "  1. install the Debian packages the demo needs (tools/install-deps.sh $deps)"
	say "  2. build libodfork, odfork-run and the benchmarks (meson, $build)"
	if [ -n "$kernel" ]; then
		say "  3. use the bench kernel $kernel"
	else
		say "  3. build the bench kernel (kernel/build.sh bench, build/kernel)"
		plan_kernel bench
	fi
	if [ -n "$variant" ]; then
		say "  4. boot it in QEMU (2 vCPUs, 3 GiB) and run the quick benchmarks:"
		say "     about 5-10 minutes with TCG (about 25 minutes in all from scratch)"
		plan_resources 2.5 4
	else
		say "  4. boot it in QEMU (2 vCPUs, 6 GiB) and run every benchmark at full"
		say "     size: about 30 minutes with TCG"
		plan_resources 2.5 7
	fi
	say "  QEMU uses KVM if a 10-second probe after step 1 finds that it works"
	say "  (much faster), TCG otherwise"
	say "  5. print the targets and the latency table; report and plots in"
	say "     ${results#"$top"/}/"
	say "  logs: ${logs#"$top"/}/; the guest's serial console: ${vmdir#"$top"/}/serial.log"
}

step "plan"
plan
[ $plan_only = 0 ] || exit 0

step "1. dependencies"
run_step "$logs/install-deps.log" tools/install-deps.sh "$([ -n "$variant" ] && echo demo || echo full)"
# After the install: the probe needs qemu-system-x86_64.
choose_accel

step "2. userspace build"
[ -f "$build/build.ninja" ] ||
	run_step "$logs/meson-setup.log" meson setup "$build" "$top" > /dev/null
run_step "$logs/ninja.log" ninja -C "$build" > "$logs/ninja.out" ||
	{ tail -n 15 "$logs/ninja.out" >&2; exit 1; }

step "3. bench kernel"
if [ -z "$kernel" ]; then
	kernel=$(run_step "$logs/kernel-build.log" kernel/build.sh bench)
fi

size=full
[ -z "$variant" ] || size=quick
step "4. benchmarks in the VM ($size)"
bench_rc=0
# shellcheck disable=SC2086
run_step "$logs/bench.log" \
	bench/run.sh $variant --kernel "$kernel" --build "$build" \
	--results "$results" --vmdir "$vmdir" > /dev/null || bench_rc=$?

step "5. results"
if [ -s "$results/RESULTS.md" ]; then
	tools/readme-numbers.py --body --results "$results" \
		--report "$results/RESULTS.md" || true
	echo
	echo "Report: $results/RESULTS.md"
	echo "Plots:"
	for p in "$results"/*.png; do
		[ -e "$p" ] && echo "  $p"
	done
else
	say "demo.sh: no report: see $logs/bench.log and $vmdir/serial.log"
fi
say "total time $(hms $((SECONDS - common_t0))); step logs in $logs"
if [ $bench_rc != 0 ]; then
	say "demo.sh: the benchmark run failed (exit $bench_rc); see $logs/bench.log and $vmdir/serial.log"
	exit 1
fi
