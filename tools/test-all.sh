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
#   tools/test-all.sh [--full]
set -euo pipefail

ci=--ci
case ${1:-} in
'') ;;
--full) ci= ;;
*) sed -n '13,14p' "$0" >&2; exit 2 ;;
esac

top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build/meson
cd "$top"

step() { printf '\n=== %s\n' "$*"; }

step "dependencies"
tools/install-deps.sh

step "userspace build"
# -Dwerror=true: the project's own CI treats warnings as errors
# (distributions build with the default, werror off).
[ -f "$build/build.ninja" ] || meson setup -Dwerror=true "$build" "$top"
ninja -C "$build"

step "unit suite (host kernel $(uname -r))"
rm -f "$build/meson-logs/testlog.json"
meson test -C "$build" --suite unit --print-errorlogs ||
	{ tests/summary.py "$build/meson-logs/testlog.json"; exit 1; }
cp "$build/meson-logs/testlog.json" "$top/build/testlog-unit.json"

step "debug kernel"
kernel=$(kernel/build.sh debug)

step "kernel suite in the VM"
rm -f build/vm/out/testlog-*.json
vm_rc=0
kernel/vm-run.sh --kernel "$kernel" --timeout 2400 \
	--smp 4 --numa 2 --mem 4G -- \
	tests/vm-suite.sh "$build" kernel || vm_rc=$?

step "kernel mm selftests in the VM, vm.odfork=0 and 2 (${ci:-full})"
st_rc=0
tests/selftests/run.sh ${ci:+"$ci"} --kernel "$kernel" || st_rc=$?

step "stress-ng --verify in the VM, vm.odfork=2 (${ci:-full})"
sn_rc=0
tests/stress/run.sh ${ci:+"$ci"} --kernel "$kernel" || sn_rc=$?

step "summary"
logs=("$top/build/testlog-unit.json")
[ -f build/vm/out/testlog-kernel.json ] &&
	logs+=("$top/build/vm/out/testlog-kernel.json")
sum_rc=0
tests/summary.py "${logs[@]}" || sum_rc=$?
if [ $vm_rc != 0 ]; then
	echo "test-all.sh: the VM run failed (exit $vm_rc)" >&2
	exit 1
fi
if [ $st_rc != 0 ]; then
	echo "test-all.sh: the mm selftests failed (exit $st_rc)" >&2
	exit 1
fi
if [ $sn_rc != 0 ]; then
	echo "test-all.sh: stress-ng failed (exit $sn_rc)" >&2
	exit 1
fi
exit $sum_rc
