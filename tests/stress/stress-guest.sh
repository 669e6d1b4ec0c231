#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Runs inside the test VM (started by tests/stress/run.sh through
# kernel/vm-run.sh): stress-ng's fork and VM stressors with --verify, one
# step at a time, under vm.odfork=2 (every fork shares page tables), with
# zram swap, KSM and (where the kernel has it) NUMA balancing on.
#   tests/stress/stress-guest.sh [--ci] [--odfork N] [STEP...]
#     --ci        5 s per step and smaller mappings (30 s otherwise)
#     --odfork N  vm.odfork for the run (default 2; 0 for a baseline)
#     STEP...     only these steps (default: all, see step_args)
#
# For every step it records the odfork_* counters of /proc/vmstat before and
# after, stress-ng's exit status, its "fail:" lines and the bogo ops of its
# YAML report.  Everything is written to a tmpfs first: a process that
# writes into a file on the 9p share pins pages and forks classically from
# then on, and stress-ng's children would inherit nothing of interest.  The
# files are copied to /run/odfork-out at the end; the host (run.sh) turns
# results.tsv into the table and decides pass or fail.
set -eu

secs=30 big=512M small=128M odfork=2 steps=
while [ $# -gt 0 ]; do
	case $1 in
	--ci) secs=5 big=64M small=32M ;;
	--odfork) odfork=$2; shift ;;
	*) steps="$steps $1" ;;
	esac
	shift
done
out=/run/odfork-out
work=/run/stress
scratch=$work/scratch
cg=/sys/fs/cgroup/odfork-stress
counters="forks tables_shared tables_copied tables_reused tables_dropped
tables_fallback tables_freed"

mkdir -p $work

# Swap on zram0; a small ext4 on a second zram device as stress-ng's
# --temp-path (the swap stressor needs a file system that takes swap files;
# tmpfs does not).
setup_zram() {
	echo 1536M > /sys/block/zram0/disksize
	mkswap -q /dev/zram0
	swapon /dev/zram0
	dev=zram$(cat /sys/class/zram-control/hot_add)
	echo 256M > /sys/block/$dev/disksize
	mkfs.ext4 -q /dev/$dev
	mkdir -p $scratch
	mount /dev/$dev $scratch
}

setup_kernel() {
	echo $odfork > /proc/sys/vm/odfork
	echo 1 > /sys/kernel/mm/ksm/run
	echo 20 > /sys/kernel/mm/ksm/sleep_millisecs
	echo 1000 > /sys/kernel/mm/ksm/pages_to_scan
	if [ -w /proc/sys/kernel/numa_balancing ]; then
		echo 1 > /proc/sys/kernel/numa_balancing
	fi
	# A memory cgroup that the swap step runs in, so that it swaps
	# without pushing the whole guest into reclaim.  memory.high, not
	# memory.max: above it the group is reclaimed (to swap) and
	# throttled, never OOM-killed.  Reclaim leaves pages of shared
	# tables resident (README, limits), and the swap stressor's swapoff
	# brings its pages back in: under a hard limit that is an OOM kill.
	echo +memory > /sys/fs/cgroup/cgroup.subtree_control
	mkdir -p $cg
	echo 96M > $cg/memory.high
	# Steps run as "nobody" write their logs here and in $scratch.
	chmod 1777 $work $scratch
}

# vmstat_get FILE NAME: value of NAME in a saved copy of /proc/vmstat.
vmstat_get() {
	awk -v n="$2" '$1 == n { print $2 }' "$1"
}

# run_step NAME HOW STRESS-NG-ARGS...: one stress-ng run, bounded by
# --timeout, with its counters, log and YAML kept under $work.  HOW: "-",
# "cg" (in the memory cgroup) or "nobody" (without root's capabilities).
run_step() {
	name=$1
	how=$2
	shift 2
	cp /proc/vmstat $work/$name.vmstat-before
	t0=$(date +%s.%N)
	rc=0
	procs=/dev/null
	user=
	case $how in
	cg) procs=$cg/cgroup.procs ;;
	nobody) user="setpriv --reuid=65534 --regid=65534 --clear-groups" ;;
	esac
	# The swap step does a fixed amount of work (--clone-ops,
	# --swap-ops; see step_args) however fast the host is: its clone
	# worker fills 128 MiB under memory.high before its first clone.
	# The timeout only bounds a step that hangs.
	t=$secs
	if [ "$name" = swap ]; then
		t=600
	fi
	# The inner shell moves itself into the cgroup, then becomes stress-ng.
	(cd $scratch && exec sh -c 'echo $$ > "$0" && exec "$@"' $procs \
		$user stress-ng --verify --metrics --timeout "${t}s" \
		--temp-path $scratch --yaml $work/$name.yaml \
		--log-file $work/$name.log "$@") > $work/$name.out 2>&1 || rc=$?
	t1=$(date +%s.%N)
	cp /proc/vmstat $work/$name.vmstat-after
	record "$name" "$rc" "$t0" "$t1" "$*"
}

# record NAME RC T0 T1 ARGS: one line of results.tsv.
record() {
	seconds=$(awk -v a="$3" -v b="$4" 'BEGIN { printf "%.1f", b - a }')
	fails=$(grep -c ' fail: ' $work/$1.log || true)
	skips=$(grep -c ' skip: \|skipping' $work/$1.log || true)
	ops=$(awk '/- stressor:/ { s = $3 } /bogo-ops:/ { printf "%s%s=%s", sep, s, $2; sep = "," }' \
		$work/$1.yaml 2>/dev/null || true)
	line="$1	$2	$seconds	${fails:-0}	${skips:-0}	${ops:-none}"
	for c in $counters; do
		b=$(vmstat_get $work/$1.vmstat-before odfork_$c)
		a=$(vmstat_get $work/$1.vmstat-after odfork_$c)
		line="$line	$((a - b))"
	done
	for c in pswpout pswpin; do
		b=$(vmstat_get $work/$1.vmstat-before $c)
		a=$(vmstat_get $work/$1.vmstat-after $c)
		line="$line	$((a - b))"
	done
	echo "$line	$5" >> $work/results.tsv
	echo "stress-guest: $1: rc $2, ${seconds}s, fail lines ${fails:-0}, $ops"
}

setup_zram
setup_kernel
echo "stress-guest: $(stress-ng --version)"
echo "stress-guest: vm.odfork=$(cat /proc/sys/vm/odfork)," \
	"NUMA nodes: $(ls -d /sys/devices/system/node/node* | wc -l)," \
	"$secs s per step"
printf 'step\trc\tseconds\tfail_lines\tskip_lines\tbogo_ops' > $work/results.tsv
for c in $counters; do
	printf '\t%s' "$c" >> $work/results.tsv
done
printf '\tpswpout\tpswpin\targs\n' >> $work/results.tsv

# The steps: NAME CGROUP STRESS-NG-ARGS.  $big/$small scale the mappings.
step_args() {
	case $1 in
	# fork/clone family: the forking process owns what is shared.
	# clone's parent populates 128 MiB, then clones without CLONE_VM;
	# fork's children (--fork-vm) madvise everything they inherited.
	fork) echo - --fork 4 --fork-max 8 --fork-vm ;;
	clone) echo - --clone 2 ;;
	# vforkmany's child reads (never writes) 64 MiB before it forks:
	# zero-page mappings without an anon_vma, so nothing is shared.
	vforkmany) echo - --vforkmany 2 --vforkmany-vm ;;
	# VM stressors map their memory after stress-ng's last fork of the
	# process and never fork again: no table of theirs is shared.
	vm) echo - --vm 4 --vm-bytes $big --vm-method all ;;
	# mmap: $small, since each bogo op maps, fills, checks and unmaps
	# all of it (512 MiB took a whole 30 s step under TCG).
	mmap) echo - --mmap 4 --mmap-bytes $small ;;
	mremap) echo - --mremap 4 --mremap-bytes $big ;;
	# As nobody: as root the madvise stressor injects memory failures
	# (MADV_HWPOISON, MADV_SOFT_OFFLINE) that kill its own workers at
	# random, at vm.odfork=0 too.  tests/kernel/hwpoison.c covers
	# memory failure in shared tables.
	madvise) echo nobody --madvise 4 ;;
	mprotect) echo - --mprotect 4 ;;
	userfaultfd) echo - --userfaultfd 2 --userfaultfd-bytes $small ;;
	vm-rw) echo - --vm-rw 2 --vm-rw-bytes $small ;;
	brk) echo - --brk 2 ;;
	stack) echo - --stack 2 --stack-fill ;;
	remap) echo - --remap 2 ;;
	# KSM merges while fork --fork-vm children madvise(MADV_MERGEABLE)
	# the ranges they share with their parent.
	ksm) echo - --vm 2 --vm-bytes $small --vm-keep \
		--vm-madvise mergeable --fork 2 --fork-vm ;;
	# In a memory cgroup whose memory.high (96 MiB) is below the clone
	# parent's 128 MiB: its pages go to swap between clones, so clones
	# share tables with swap entries; the swap stressor's files get a
	# higher swap priority than zram0 while they are on, and its
	# swapoff walks every mm, shared tables included.  A fixed number of
	# bogo ops (not a time) so that a slow host still clones and swaps.
	swap) echo cg --swap 1 --swap-ops 4 --clone 1 --clone-ops 3 ;;
	*) return 1 ;;
	esac
}
all_steps="fork clone vforkmany vm mmap mremap madvise mprotect userfaultfd
vm-rw brk stack remap ksm swap"
steps=${steps:-$all_steps}

for name in $steps; do
	args=$(step_args $name) || { echo "stress-guest: no step $name"; exit 2; }
	if [ $name = ksm ]; then
		ksm_before=$(cat /sys/kernel/mm/ksm/full_scans)
	fi
	# shellcheck disable=SC2086
	run_step $name $args
	if [ $name = ksm ]; then
		echo "stress-guest: ksm full scans during the ksm step:" \
			"$(($(cat /sys/kernel/mm/ksm/full_scans) - ksm_before))," \
			"pages_sharing now $(cat /sys/kernel/mm/ksm/pages_sharing)" |
			tee $work/ksm.txt
	fi
done

swapoff /dev/zram0
grep -E '^(odfork_|pswp|thp_|numa_)' /proc/vmstat > $work/vmstat-end
cp $work/results.tsv $work/vmstat-end $out/
[ ! -f $work/ksm.txt ] || cp $work/ksm.txt $out/
for f in $work/*.log $work/*.yaml $work/*.out; do
	cp "$f" $out/
done
