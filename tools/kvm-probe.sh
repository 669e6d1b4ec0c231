#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Does KVM work here?  Prints "kvm" or "tcg" on stdout (the value for
# ODFORK_VM_ACCEL, see kernel/vm-run.sh) and, for tcg, one line on stderr
# saying why.
#
#   tools/kvm-probe.sh [--accel kvm|tcg] [--timeout SEC]
#     --accel    the accelerator to try (default kvm; tcg checks the probe)
#     --timeout  give up after SEC seconds (default 10)
#
# /dev/kvm existing is not enough: in a nested VM without nested
# virtualization, KVM_RUN can hang for good, and a host's KVM can refuse
# the vCPU model that kernel/vm-run.sh asks for (seen: "failed to set MSR
# 0x10a" for -cpu max, and QEMU aborts, while QEMU's default model runs).
# So the probe boots, with vm-run.sh's vCPU model (VM_CPU below), a guest
# whose whole firmware is three instructions at the reset vector (write 42
# to QEMU's isa-debug-exit port, which makes QEMU exit with 2 * 42 + 1 =
# 85), in the background, and waits at most SEC seconds for it.  A probe
# that does not finish is killed (and left behind if even SIGKILL cannot
# stop it), and the answer is tcg.
# Environment: ODFORK_KVM_DEV (default /dev/kvm), for the tests.
set -uo pipefail

accel=kvm
limit=10
# The -cpu of kernel/vm-run.sh (tests/tool/scripts-test.sh checks that
# they agree).
VM_CPU=max
dev=${ODFORK_KVM_DEV:-/dev/kvm}

while [ $# -gt 0 ]; do
	case $1 in
	--accel) [ $# -ge 2 ] || exit 2; accel=$2; shift 2 ;;
	--timeout) [ $# -ge 2 ] || exit 2; limit=$2; shift 2 ;;
	*) sed -n '8,10p' "$0" >&2; exit 2 ;;
	esac
done
case $accel in
kvm|tcg) ;;
*) echo "kvm-probe.sh: --accel must be kvm or tcg" >&2; exit 2 ;;
esac
case $limit in
''|*[!0-9]*|0) echo "kvm-probe.sh: bad --timeout" >&2; exit 2 ;;
esac

tcg() {
	echo "kvm-probe.sh: $*: QEMU will use TCG (slower)" >&2
	echo tcg
	exit 0
}

if [ "$accel" = kvm ] && { [ ! -r "$dev" ] || [ ! -w "$dev" ]; }; then
	tcg "no usable $dev"
fi
command -v qemu-system-x86_64 > /dev/null || tcg "no qemu-system-x86_64"

tmp=$(mktemp -d) || tcg "no temporary directory"
trap 'rm -rf "$tmp"' EXIT

# A 64 KiB firmware (QEMU wants a multiple of 64 KiB), mapped below 4 GiB
# so that its last 16 bytes hold the reset vector:
#   b0 2a   mov $42, %al
#   e6 f4   out %al, $0xf4
#   f4      hlt
#   eb fd   jmp back to the hlt
head -c 65520 /dev/zero > "$tmp/fw.bin"
printf '\xb0\x2a\xe6\xf4\xf4\xeb\xfd\x00\x00\x00\x00\x00\x00\x00\x00\x00' \
	>> "$tmp/fw.bin"

# All output to a file: a probe left behind must not hold our stdout (a
# caller's $(...) would wait for it).  Until the probe is reaped, stderr
# goes nowhere: bash would report a probe that died of a signal (QEMU
# aborts when KVM refuses the vCPU model) there, and the log says why.
exec 3>&2 2> /dev/null
timeout -k 2 "$limit" qemu-system-x86_64 -machine pc -accel "$accel" \
	-cpu "$VM_CPU" -m 16 -nodefaults -no-user-config -display none \
	-bios "$tmp/fw.bin" -device isa-debug-exit,iobase=0xf4,iosize=0x01 \
	< /dev/null > "$tmp/qemu.log" 2>&1 &
pid=$!
for ((i = 0; i < limit + 3; i++)); do
	kill -0 "$pid" || break
	sleep 1
done
if kill -0 "$pid"; then
	kill -9 "$pid"
	exec 2>&3 3>&-
	tcg "the $accel probe did not finish in ${limit}s"
fi
wait "$pid"
rc=$?
exec 2>&3 3>&-
case $rc in
85) ;;
124|137) tcg "the $accel probe did not finish in ${limit}s" ;;
*)
	tcg "the $accel probe failed (exit $rc:" \
	    "$(head -c 200 "$tmp/qemu.log" | tr '\n' ' '))" ;;
esac
echo "$accel"
