#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Build everything and run every test suite:
#   1. the 'unit' suite on this machine (any kernel);
#   2. the debug kernel of kernel/patches, booted in QEMU (4 vCPUs, 2 NUMA
#      nodes), running the 'kernel' suite with a clean guest log required;
#   3. the kernel's own mm selftests in the VM at vm.odfork=0 and 2:
#      identical pass sets required (tests/selftests/run.sh);
#   4. stress-ng with --verify under vm.odfork=2 (tests/stress/run.sh).
# Steps 3 and 4 run their CI-sized subsets (--ci), or everything with
# --full (about an hour more in TCG).  See tests/README.md.
# Run as root on Debian 12 from the repository root:
#   tools/test-all.sh [--full] [--plan]
#     --plan   print what it would do (time, disk, memory) and exit
#
# It prints its plan first (steps, time, disk, memory), then a banner per
# step with the elapsed time and a progress line at least every 30 s.
# Each step's messages go to build/logs/test-all/STEP.log, the guests'
# serial consoles to their serial logs (kernel/vm-run.sh with
# ODFORK_VM_CONSOLE=log); a failing step shows the end of its log and the
# paths.  QEMU uses KVM when tools/kvm-probe.sh finds that it works, TCG
# otherwise (or what ODFORK_VM_ACCEL says).
set -euo pipefail

ci=--ci
plan_only=0
for a in "$@"; do
	case $a in
	--full) ci= ;;
	--plan) plan_only=1 ;;
	*) sed -n '14,15p' "$0" >&2; exit 2 ;;
	esac
done

top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build/meson
logs=$top/build/logs/test-all
cd "$top"
mkdir -p "$logs"
# shellcheck source=tools/common.sh
. tools/common.sh

plan() {
	say "tools/test-all.sh${ci:+ (CI subsets; --full runs everything)}: this will"
	say "  1. install the Debian packages the tests need (tools/install-deps.sh test)"
	say "  2. build libodfork, odfork-run and the tests (meson, build/meson)"
	say "     and run the unit suite on this kernel ($(uname -r))"
	say "  3. build the debug kernel (kernel/build.sh debug, build/kernel)"
	plan_kernel debug
	say "  4. boot it in QEMU (4 vCPUs, 2 NUMA nodes, 4 GiB) for the kernel suite,"
	say "     the kernel's mm selftests at vm.odfork=0 and 2, and stress-ng"
	if [ -n "$ci" ]; then
		say "     (CI subsets): about 25-35 minutes on 2 cores with TCG"
	else
		say "     (everything): about 1.5-2 hours on 2 cores with TCG"
	fi
	say "  QEMU uses KVM if a 10-second probe after step 1 finds that it works"
	say "  (much faster), TCG otherwise"
	plan_resources 2.5 5
	say "  logs: $logs/; the guests' serial consoles: build/vm/serial.log,"
	say "  build/selftests/serial.log, build/stress/serial.log"
}

step "plan"
plan
[ $plan_only = 0 ] || exit 0

step "1. dependencies"
run_step "$logs/install-deps.log" tools/install-deps.sh test
# After the install: the probe needs qemu-system-x86_64.
choose_accel

step "2. userspace build and unit suite (host kernel $(uname -r))"
# -Dwerror=true: the project's own CI treats warnings as errors
# (distributions build with the default, werror off).
[ -f "$build/build.ninja" ] ||
	run_step "$logs/meson-setup.log" \
		meson setup -Dwerror=true "$build" "$top" > /dev/null
run_step "$logs/ninja.log" ninja -C "$build" > "$logs/ninja.out" ||
	{ tail -n 15 "$logs/ninja.out" >&2; exit 1; }
rm -f "$build/meson-logs/testlog.json"
if ! run_step "$logs/unit.log" \
	meson test -C "$build" --suite unit --print-errorlogs > "$logs/unit.out"; then
	tests/summary.py "$build/meson-logs/testlog.json"
	say "test-all.sh: the unit suite failed; meson's log: $build/meson-logs/testlog.txt"
	exit 1
fi
cp "$build/meson-logs/testlog.json" "$top/build/testlog-unit.json"

step "3. debug kernel"
kernel=$(run_step "$logs/kernel-build.log" kernel/build.sh debug)

step "4a. kernel suite in the VM"
rm -f build/vm/out/testlog-*.json
vm_rc=0
run_step "$logs/kernel-suite.log" \
	kernel/vm-run.sh --kernel "$kernel" --timeout 2400 \
	--smp 4 --numa 2 --mem 4G -- \
	tests/vm-suite.sh "$build" kernel || vm_rc=$?

step "4b. kernel mm selftests in the VM, vm.odfork=0 and 2 (${ci:-full})"
st_rc=0
run_step "$logs/selftests.log" \
	tests/selftests/run.sh ${ci:+"$ci"} --kernel "$kernel" > "$logs/selftests.out" ||
	st_rc=$?

step "4c. stress-ng --verify in the VM, vm.odfork=2 (${ci:-full})"
sn_rc=0
run_step "$logs/stress.log" \
	tests/stress/run.sh ${ci:+"$ci"} --kernel "$kernel" > "$logs/stress.out" ||
	sn_rc=$?

step "summary"
logs_json=("$top/build/testlog-unit.json")
[ -f build/vm/out/testlog-kernel.json ] &&
	logs_json+=("$top/build/vm/out/testlog-kernel.json")
sum_rc=0
tests/summary.py "${logs_json[@]}" || sum_rc=$?
echo
echo "mm selftests (vm.odfork=0 vs 2; table in build/selftests/results${ci:+-ci}.md):"
cat "$logs/selftests.out" 2>/dev/null || true
echo
echo "stress-ng (build/stress/results.md):"
cat "$logs/stress.out" 2>/dev/null || true
echo
say "total time $(hms $((SECONDS - common_t0))); step logs in $logs"
if [ $vm_rc != 0 ]; then
	say "test-all.sh: the VM run failed (exit $vm_rc); see $logs/kernel-suite.log and build/vm/serial.log"
	exit 1
fi
if [ $st_rc != 0 ]; then
	say "test-all.sh: the mm selftests failed (exit $st_rc); see $logs/selftests.log and build/selftests/serial.log"
	exit 1
fi
if [ $sn_rc != 0 ]; then
	say "test-all.sh: stress-ng failed (exit $sn_rc); see $logs/stress.log and build/stress/serial.log"
	exit 1
fi
exit $sum_rc
