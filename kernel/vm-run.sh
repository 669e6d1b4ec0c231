#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a kernel under QEMU (TCG unless ODFORK_VM_ACCEL=kvm) with the
# host's / as a read-only 9p root, run a shell command in the guest, and
# fail if the guest kernel log shows a BUG, WARNING, Oops, lockdep report,
# "Bad rss-counter", "bad pmd" or a taint.
#
#   kernel/vm-run.sh [options] -- COMMAND...
#     --kernel PATH   bzImage (default: build/kernel/obj-debug/.../bzImage)
#     --log FILE      serial log (default: build/vm/serial.log)
#     --out DIR       directory shared with the guest (default: build/vm/out)
#     --timeout SEC   whole run, boot included (default: 1800)
#     --mem SIZE      guest memory (default: 3G)
#     --smp N         guest CPUs (default: 2)
#     --numa N        split memory and CPUs into N NUMA nodes (default: 1)
#     --append ARGS   extra kernel command line
#
# COMMAND runs with "sh -e" in the repository root inside the guest, as root.
# The exit status is COMMAND's, or 1 if the log is not clean, or 124 if the
# guest did not finish in time.  The guest is always powered off.
#
# Environment (for tools/demo.sh and tools/test-all.sh, which reach this
# script also through bench/run.sh, tests/selftests/run.sh and
# tests/stress/run.sh):
#   ODFORK_VM_ACCEL=kvm       run QEMU with KVM (default tcg; probe first
#                             with tools/kvm-probe.sh: nested KVM can hang)
#   ODFORK_VM_CONSOLE=log     the serial console goes to the log only, not
#                             to stdout; a progress line (elapsed time and
#                             the console's last line) goes to stderr every
#                             ODFORK_VM_PROGRESS seconds (default 30), and a
#                             summary line with the log's path at the end
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
kernel=$top/build/kernel/obj-debug/arch/x86/boot/bzImage
vmdir=$top/build/vm
log=
out=
timeout=1800
mem=3G
smp=2
numa=1
append=
accel=${ODFORK_VM_ACCEL:-tcg}
console=${ODFORK_VM_CONSOLE:-tee}
progress=${ODFORK_VM_PROGRESS:-30}

usage() {
	sed -n '8,17p' "$0" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--numa) numa=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--) shift; break ;;
	*) usage ;;
	esac
done
[ $# -gt 0 ] || usage
[ -r "$kernel" ] || { echo "vm-run.sh: no kernel at $kernel" >&2; exit 2; }
case $accel in
tcg|kvm) ;;
*) echo "vm-run.sh: ODFORK_VM_ACCEL must be tcg or kvm" >&2; exit 2 ;;
esac
case $console in
tee|log) ;;
*) echo "vm-run.sh: ODFORK_VM_CONSOLE must be tee or log" >&2; exit 2 ;;
esac
case $progress in
''|*[!0-9]*|0) echo "vm-run.sh: bad ODFORK_VM_PROGRESS" >&2; exit 2 ;;
esac
log=${log:-$vmdir/serial.log}
out=${out:-$vmdir/out}

# --numa N: N memory backends of equal size, CPUs split in contiguous runs
# (a node gets none when there are fewer CPUs than nodes).
numa_args=()
if [ "$numa" -gt 1 ]; then
	case $mem in
	*G) mem_mib=$(( ${mem%G} * 1024 )) ;;
	*M) mem_mib=${mem%M} ;;
	*) echo "vm-run.sh: --numa needs --mem in M or G" >&2; exit 2 ;;
	esac
	node_mib=$(( mem_mib / numa ))
	mem=$(( node_mib * numa ))M
	for ((n = 0; n < numa; n++)); do
		first=$(( n * smp / numa ))
		last=$(( (n + 1) * smp / numa - 1 ))
		node="node,nodeid=$n,memdev=m$n"
		[ "$last" -ge "$first" ] && node+=",cpus=$first-$last"
		numa_args+=(-object "memory-backend-ram,id=m$n,size=${node_mib}M"
			    -numa "$node")
	done
	# One socket per node: CPUs of one last-level cache on two nodes
	# make the guest warn at boot (topology_sane).
	if [ $(( smp % numa )) -eq 0 ]; then
		smp="$smp,sockets=$numa"
	fi
fi

mkdir -p "$(dirname "$log")" "$out"
rm -f "$out/cmd" "$out/rc" "$out/dmesg" "$out/tainted"
printf '%s\n' "$*" > "$out/cmd"

cmdline="console=ttyS0 root=hostroot rootfstype=9p ro"
cmdline+=" rootflags=trans=virtio,version=9p2000.L,msize=262144,cache=loose"
cmdline+=" init=$here/vm/init odfork_top=$top panic=-1 oops=panic"
# TCG runs the debug kernel 5-10x slower than hardware: the soft-lockup
# detector reports a CPU that did not schedule for 2 * watchdog_thresh
# seconds (the maximum, 60: 120 s), where hardware would take 20 s.  A
# real livelock or a hung task (120 s) still shows.
cmdline+=" init_on_free=1 watchdog_thresh=60 $append"

qemu() {
	timeout -k 15 "$timeout" qemu-system-x86_64 \
		-accel "$accel" -cpu max -m "$mem" -smp "$smp" "${numa_args[@]}" \
		-display none -monitor none -serial stdio -no-reboot \
		-kernel "$kernel" -append "$cmdline" \
		-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
		-virtfs "local,path=$out,mount_tag=odfork-out,security_model=none" \
		< /dev/null 2>&1
}

# m:ss of a number of seconds.
mmss() { printf '%d:%02d' $(($1 / 60)) $(($1 % 60)); }

# The console's last non-empty line, printable characters only, shortened.
last_line() {
	tail -c 2048 "$log" 2>/dev/null | tr -d '\r' | grep -av '^[[:space:]]*$' |
		tail -n 1 | tr -cd '[:print:]\t' | cut -c 1-100
}

# Log mode: QEMU writes to the log only; every $progress seconds a line on
# stderr says how long the guest has run and what it printed last.
run_logged() {
	local pid t0=$SECONDS next=$((SECONDS + progress))

	echo "vm-run.sh: guest running ($accel, $smp CPUs, $mem), console in $log" >&2
	qemu > "$log" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		[ $SECONDS -ge $next ] || continue
		next=$((next + progress))
		echo "vm-run.sh: $(mmss $((SECONDS - t0))) in the guest: $(last_line)" >&2
	done
	wait "$pid"
}

# Log mode: one line at the end, with the log's path when the run failed
# (called by the EXIT trap).
# shellcheck disable=SC2317
summary() {
	local rc=$1

	if [ "$rc" = 0 ]; then
		echo "vm-run.sh: guest done in $(mmss $((SECONDS - vm_t0))), command exit 0, log clean" >&2
	else
		echo "vm-run.sh: guest run failed (exit $rc) after $(mmss $((SECONDS - vm_t0))); serial log: $log" >&2
	fi
}

rc=0
vm_t0=$SECONDS
if [ "$console" = log ]; then
	trap 'summary $?' EXIT
	run_logged || rc=$?
else
	qemu | tee "$log" || rc=$?
fi

# Scan the serial log and the guest's dmesg for signs of a kernel bug.
# (lockdep reports start with "WARNING:" or "INFO:"; "BUG:" covers
# sleeping-in-atomic, bad page state and KASAN-style reports.)
bad='BUG:|WARNING:|INFO:|Oops|Kernel panic|kernel BUG|'
bad+='possible (circular|recursive) locking|inconsistent lock state|'
bad+='suspicious RCU usage|DEBUG_LOCKS_WARN_ON|lockdep is turned off|'
bad+='Bad rss-counter|bad pmd|Bad page|non-zero pgtables_bytes|'
bad+='general protection|Tainted:'
# Only files that exist: with pipefail, grep's exit 2 for a missing dmesg
# (a guest that died early) would hide the matches it found in the log.
scan=("$log")
[ -f "$out/dmesg" ] && scan+=("$out/dmesg")
if grep -aEn "$bad" "${scan[@]}" | sed 's/^/vm-run.sh: bad log: /' >&2; then
	echo "vm-run.sh: guest log is not clean (see $log)" >&2
	exit 1
fi
if [ -s "$out/tainted" ] && [ "$(cat "$out/tainted")" != 0 ]; then
	echo "vm-run.sh: guest kernel tainted: $(cat "$out/tainted")" >&2
	exit 1
fi
if [ ! -s "$out/rc" ]; then
	[ $rc = 124 ] && echo "vm-run.sh: guest timed out after ${timeout}s" >&2
	echo "vm-run.sh: guest did not finish its command" >&2
	exit 124
fi
exit "$(cat "$out/rc")"
