#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Runs inside the test VM (kernel/vm-run.sh, started by run.sh): the
# kernel's mm selftests, built by build.sh, once per vm.odfork value.
#   tests/selftests/run-mm.sh [--ci] [--modes "0 2"] [--only NAME,...]
#                             [--timeout SEC] BINDIR
# Sets up zram swap, THP (madvise), hugetlb pages and the sysctls the tests
# want, copies the programs to a tmpfs and runs each with its output on the
# tmpfs (a process that writes to a 9p file pins pages and forks
# classically from then on), under a timeout.  Per test and mode it records
# the result (kselftest exit codes: 0 pass, 4 skip; 124 timeout), the run
# time, the /proc/vmstat odfork_* deltas and whether the kernel log grew a
# BUG/WARNING; a test that fails runs once more (at every value alike) and
# the second result counts, marked.  Results go to /run/odfork-out:
#   results.tsv     mode test result rc seconds subtests counters dmesg try
#   logs/MODE/TEST.log, setup.log
set -uo pipefail

out=/run/odfork-out
work=/tmp/odfork-selftests
ci=0
modes="0 2"
only=
tmo=600

while [ $# -gt 1 ]; do
	case $1 in
	--ci) ci=1; shift ;;
	--modes) modes=$2; shift 2 ;;
	--only) only=,$2,; shift 2 ;;
	--timeout) tmo=$2; shift 2 ;;
	*) break ;;
	esac
done
[ $# = 1 ] || { sed -n '5,7p' "$0" >&2; exit 2; }
bindir=$1

# The tests: NAME TIMEOUT CI COMMAND (run in the tmpfs copy of BINDIR).
# CI = 1 marks the subset run.sh --ci runs (most fork/COW/GUP coverage).
# Arguments follow run_vmtests.sh, sized down where it runs for minutes
# under TCG.
tests() {
	cat <<'EOF'
harness			60	1	true
cow			600	1	./cow
gup_test-ct		120	1	./gup_test -ct -F 0x1 0 19 0x1000
gup_test-u		300	0	./gup_test -u
gup_test-a		300	0	./gup_test -a
gup_longterm		300	1	./gup_longterm
madv_populate		300	1	./madv_populate
mkdirty			300	1	./mkdirty
mremap_test		300	1	./mremap_test
mremap_test-t64		300	0	./mremap_test -t 64
mremap_dontunmap	120	1	./mremap_dontunmap
ksm_functional_tests	300	1	./ksm_functional_tests
ksm_tests-M		300	0	./ksm_tests -M -p 10
ksm_tests-U		300	0	./ksm_tests -U
ksm_tests-Z0		300	0	./ksm_tests -Z -p 10 -z 0
ksm_tests-Z1		300	0	./ksm_tests -Z -p 10 -z 1
ksm_tests-P		300	0	./ksm_tests -P -s 32
ksm_tests-H		300	0	./ksm_tests -H -s 32
ksm_tests-N1		300	0	./ksm_tests -N -m 1
ksm_tests-N0		300	0	./ksm_tests -N -m 0
uffd-unit-tests		600	0	./uffd-unit-tests
uffd-unit-tests-fork	300	1	./uffd-unit-tests -f wp-fork
uffd-stress-anon	300	0	./uffd-stress anon 20 16
uffd-stress-shmem	300	0	./uffd-stress shmem 20 16
mlock2-tests		120	0	./mlock2-tests
mlock-random-test	300	0	./mlock-random-test
soft-dirty		300	0	./soft-dirty
pagemap_ioctl		300	0	./pagemap_ioctl
migration		300	0	./migration
khugepaged		300	0	./khugepaged
khugepaged-s2		300	0	./khugepaged -s 2
split_huge_page_test	300	0	./split_huge_page_test
transhuge-stress	120	0	./transhuge-stress -d 20 64
droppable		120	1	./droppable
mrelease_test		300	1	./mrelease_test
map_populate		120	1	./map_populate
map_fixed_noreplace	120	0	./map_fixed_noreplace
mdwe_test		120	0	./mdwe_test
mseal_test		120	0	./mseal_test
seal_elf		120	0	./seal_elf
memfd_secret		120	0	./memfd_secret
compaction_test		300	0	./compaction_test
virtual_address_range	300	0	./virtual_address_range
hugepage-mmap		120	0	./hugepage-mmap
hugepage-shm		120	0	./hugepage-shm
map_hugetlb		120	0	./map_hugetlb
hugepage-mremap		120	0	./hugepage-mremap
hugepage-vmemmap	120	0	./hugepage-vmemmap
hugetlb-madvise		120	0	./hugetlb-madvise
hugetlb_dio		120	0	./hugetlb_dio
hugetlb_madv_vs_map	120	0	./hugetlb_madv_vs_map
thuge-gen		120	0	./thuge-gen
EOF
}

log() { echo "run-mm.sh: $*"; }

setup() {
	local n

	# Swap on zram, for the tests that page out (cow, madv_populate...).
	if [ -e /sys/block/zram0/disksize ] &&
	   ! grep -q zram0 /proc/swaps; then
		echo 1G > /sys/block/zram0/disksize &&
		mkswap /dev/zram0 >/dev/null && swapon /dev/zram0 &&
		log "swap: zram0 1G"
	fi
	# THP on request (MADV_HUGEPAGE): the THP tests ask for it, and the
	# other tests' memory stays PTE-mapped, which is what gets shared.
	if [ -d /sys/kernel/mm/transparent_hugepage ]; then
		echo madvise > /sys/kernel/mm/transparent_hugepage/enabled
		echo madvise > /sys/kernel/mm/transparent_hugepage/defrag
		log "thp: $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
	fi
	# 256 MiB of 2 MiB hugetlb pages where the kernel has hugetlbfs.
	if [ -w /proc/sys/vm/nr_hugepages ]; then
		echo 128 > /proc/sys/vm/nr_hugepages
		log "hugetlb: $(cat /proc/sys/vm/nr_hugepages) pages"
		mkdir -p /dev/hugepages
		mount -t hugetlbfs none /dev/hugepages 2>/dev/null || true
	else
		log "hugetlb: not in this kernel"
	fi
	# As run_vmtests.sh: room for hugepage-shm's segment.
	echo 268435456 > /proc/sys/kernel/shmmax
	echo 4194304 > /proc/sys/kernel/shmall
	n=$(ls -d /sys/devices/system/node/node* 2>/dev/null | wc -l)
	log "numa nodes: $n, cpus: $(nproc)"
	grep -E 'MemTotal|SwapTotal' /proc/meminfo
}

# /proc/vmstat into the array named $1, with builtins only: a fork here
# would add the runner's own forks to the test's counter deltas.
snapshot() { mapfile -t "$1" < /proc/vmstat; }

# The counters that moved between two counters() snapshots, as
# "shared=N,copied=N,...", or "-".
counter_deltas() {
	awk 'NR == FNR { a[$1] = $2; next }
	     { d = $2 - a[$1]; if (d) { sub("odfork_(tables_)?", "", $1);
	       s = s (s ? "," : "") $1 "=" d } }
	     END { print s ? s : "-" }' "$1" "$2"
}

# Subtest counts of a kselftest (TAP) log: "passed/failed/skipped".
subtests() {
	local p f s
	p=$(grep -cE '^ok [0-9]+' "$1")
	s=$(grep -cE '^ok [0-9]+.*# SKIP' "$1")
	f=$(grep -cE '^not ok [0-9]+' "$1")
	echo "$((p - s))/$f/$s"
}

bad_log='BUG:|WARNING:|INFO:|Oops|kernel BUG|Bad rss-counter|bad pmd|'
bad_log+='Bad page|non-zero pgtables_bytes|general protection|'
bad_log+='possible (circular|recursive) locking|inconsistent lock state'

# run_one MODE NAME TIMEOUT TRY COMMAND...: sets res.
run_one() {
	local mode=$1 name=$2 t=$3 try=$4 rc start secs lines dm c0 c1
	shift 4
	local tlog=$work/logs/$mode/$name.log

	lines=$(dmesg | wc -l)
	# As run_vmtests.sh: virtual_address_range maps far more than RAM.
	[ "$name" = virtual_address_range ] &&
		echo 1 > /proc/sys/vm/overcommit_memory
	start=$EPOCHREALTIME
	snapshot c0
	(cd $work/bin && exec timeout -k 10 "$t" "$@") > "$tlog" 2>&1 \
		< /dev/null
	rc=$?
	snapshot c1
	secs=$EPOCHREALTIME
	echo 0 > /proc/sys/vm/overcommit_memory
	secs=$(echo "$secs $start" | awk '{ printf "%.1f", $1 - $2 }')
	printf '%s\n' "${c0[@]}" | grep '^odfork_' > $work/c0
	printf '%s\n' "${c1[@]}" | grep '^odfork_' > $work/c1
	case $rc in
	0) res=pass ;;
	4) res=skip ;;
	124|137) res=timeout ;;
	*) res=fail ;;
	esac
	dm=clean
	if dmesg | tail -n +"$((lines + 1))" | grep -aEq "$bad_log"; then
		dm=BAD
		dmesg | tail -n +"$((lines + 1))" >> "$tlog"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$name" \
		"$res" "$rc" "$secs" "$(subtests "$tlog")" \
		"$(counter_deltas $work/c0 $work/c1)" "$dm" "$try" \
		>> $work/results.tsv
	log "odfork=$mode $name: $res ($rc) ${secs}s try $try" \
	    "$(counter_deltas $work/c0 $work/c1) dmesg $dm"
	# cp, not a redirection: this shell stays free of 9p writes.
	cp "$tlog" "$out/logs/$mode/"
	cp $work/results.tsv "$out/results.tsv"
}

mkdir -p $work
mount -t tmpfs -o size=512M tmpfs $work
mkdir -p $work/bin $work/logs "$out/logs"
cp -a "$bindir"/. $work/bin/
setup > $work/setup.log 2>&1
cat $work/setup.log
cp $work/setup.log "$out/"
printf 'mode\ttest\tresult\trc\tseconds\tsubtests\tcounters\tdmesg\ttry\n' \
	> $work/results.tsv

for mode in $modes; do
	mkdir -p $work/logs/"$mode" "$out/logs/$mode"
done
# Each test at every mode in turn, so that a run cut short still pairs
# its results.  "harness" runs true(1) the same way: the forks and
# classic copies that the runner itself adds to every delta.
while read -r name t in_ci cmd; do
	[ -z "$name" ] && continue
	[ $ci = 1 ] && [ "$in_ci" != 1 ] && continue
	[ -n "$only" ] && [[ $only != *",$name,"* ]] &&
		[ "$name" != harness ] && continue
	[ "$t" -gt "$tmo" ] && t=$tmo
	for mode in $modes; do
		echo "$mode" > /proc/sys/vm/odfork || exit 1
		# shellcheck disable=SC2086 # cmd is a word list
		run_one "$mode" "$name" "$t" 1 $cmd
		# A failed test gets a second try, at every value alike: some
		# (ksm_tests -N) depend on timing under TCG.  The table shows
		# the second result, marked.
		# shellcheck disable=SC2086
		[ "$res" != fail ] || run_one "$mode" "$name" "$t" 2 $cmd
	done
done < <(tests)
echo 1 > /proc/sys/vm/odfork
cp $work/results.tsv "$out/results.tsv"
