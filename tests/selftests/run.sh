#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# The kernel's mm selftests under on-demand fork: build them (build.sh),
# boot the debug kernel in QEMU and run each test with vm.odfork=0 and with
# vm.odfork=2 (every fork on demand), then print the table and write it to
# build/selftests/results.md (results-ci.md for --ci, and -only before
# .md for --only, so that a subset never replaces a whole run's table).
#   tests/selftests/run.sh [--ci] [--kernel BZIMAGE] [--out DIR]
#                          [--log FILE] [--only NAME,...]
#     --ci      the fork/COW/GUP subset (about 12 minutes of VM time)
#     --kernel  default build/kernel/obj-debug/arch/x86/boot/bzImage
#               (kernel/build.sh debug)
# Fails when a test passes at 0 and fails at 2, when a test makes the
# kernel log a BUG/WARNING, or when the guest log is not clean.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
kernel=$top/build/kernel/obj-debug/arch/x86/boot/bzImage
out=$top/build/selftests/vm
log=$top/build/selftests/serial.log
args=()
ci=
only=
vm_timeout=5400

while [ $# -gt 0 ]; do
	case $1 in
	--ci) args+=(--ci); ci=-ci; vm_timeout=1500; shift ;;
	--kernel) kernel=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--only) args+=(--only "$2"); only=-only; shift 2 ;;
	*) sed -n '9,13p' "$0" >&2; exit 2 ;;
	esac
done
cd "$top"

bindir=$(tests/selftests/build.sh)
rm -rf "$out"
mkdir -p "$out"
vm_rc=0
kernel/vm-run.sh --kernel "$kernel" --log "$log" --out "$out" \
	--timeout "$vm_timeout" --smp 4 --numa 2 --mem 4G -- \
	"tests/selftests/run-mm.sh ${args[*]} ${bindir#"$top"/}" || vm_rc=$?

[ -s "$out/results.tsv" ] || {
	echo "selftests/run.sh: no results (vm-run.sh exit $vm_rc)" >&2
	exit 1
}
md=$top/build/selftests/results$ci$only.md
table_rc=0
tests/selftests/table.py "$out/results.tsv" "$md" || table_rc=$?
echo "selftests/run.sh: table in $md, logs in $out/logs" >&2
if [ "$vm_rc" != 0 ]; then
	echo "selftests/run.sh: the VM run failed (exit $vm_rc)" >&2
	exit 1
fi
exit $table_rc
