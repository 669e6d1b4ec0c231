#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Run benchmark steps (bench/steps/NAME.guest.sh) in one boot of the bench
# kernel under QEMU, collect their CSVs and write the report (see
# README.md).  Prints the report on stdout; progress goes to stderr.
#
#   bench/run.sh [options]
#     --quick          the quick variant of each step, and only the steps
#                      marked for it (sizes up to 1 GiB, Redis small: a
#                      few minutes, tools/demo.sh)
#     --only LIST      these steps, comma separated (see --list)
#     --list           list the steps and exit
#     --sizes LIST     fork-latency sizes (default 64M,256M,1G,2G,4G)
#     --runs N         fork-latency forks per mode and size, >= 5
#     --kernel PATH    bzImage (default: build it with kernel/build.sh bench)
#     --build DIR      meson build directory (default: build/meson)
#     --results DIR    where the CSVs and plots go (default: bench/results)
#     --report FILE    the markdown report (default: bench/RESULTS.md, or
#                      RESULTS.md in --results DIR when that is given)
#     --vmdir DIR      serial log and guest share (default: build/vm/bench)
#     --mem SIZE       guest memory (default: what the steps ask for)
#     --timeout SEC    the whole VM run (default: what the steps ask for)
#     --verbose        show the whole serial console, not only the run
#
# Exit status: 0; 1 when the VM run or a step failed (the report is
# written for the steps that finished); 2 on a bad command line; 3 when the
# kernel has no odfork(2).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
steps_dir=$here/steps
# The micro-benchmarks first, then the workloads, in this order; other
# steps after them.
order="fork-latency fault-cost total-cost concurrent-fork reclaim redis afl sqlite"
quick=0
only=
sizes=
runs=
kernel=
build=$top/build/meson
results=
report=
vmdir=$top/build/vm/bench
mem=
timeout=
verbose=0
args="$*"

die() { echo "run.sh: error: $1" >&2; exit "${2:-1}"; }

usage() {
	sed -n '8,25p' "$0" >&2
	exit 2
}

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		--quick) quick=1; shift ;;
		--verbose) verbose=1; shift ;;
		--list) list_steps; exit 0 ;;
		--only|--sizes|--runs|--kernel|--build|--results|--report|\
		--vmdir|--mem|--timeout)
			[ $# -ge 2 ] || usage
			set_opt "$1" "$2"
			shift 2 ;;
		*) usage ;;
		esac
	done
	case $sizes in
	*[!0-9KMGTkmgt,]*) die "bad --sizes '$sizes'" 2 ;;
	esac
	case $runs in
	*[!0-9]*) die "bad --runs '$runs'" 2 ;;
	esac
	[ -z "$runs" ] || [ "$runs" -ge 5 ] || die "--runs must be at least 5" 2
	case $timeout in
	*[!0-9]*) die "bad --timeout '$timeout'" 2 ;;
	esac
	if [ -z "$report" ]; then
		if [ -z "$results" ]; then
			report=$here/RESULTS.md
		else
			report=$results/RESULTS.md
		fi
	fi
	results=${results:-$here/results}
}

set_opt() {
	case $1 in
	--only) only=$2 ;;
	--sizes) sizes=$2 ;;
	--runs) runs=$2 ;;
	--kernel) kernel=$2 ;;
	--build) build=$2 ;;
	--results) results=$2 ;;
	--report) report=$2 ;;
	--vmdir) vmdir=$2 ;;
	--mem) mem=$2 ;;
	--timeout) timeout=$2 ;;
	esac
}

# --- steps ---------------------------------------------------------------

# A field of a step's header: "# bench-FIELD: VALUE".
step_field() {
	sed -n "s/^# bench-$2: *//p" "$steps_dir/$1.guest.sh" | head -n 1
}

# Every step, the micro-benchmarks first.
all_steps() {
	local s f

	for s in $order; do
		[ -f "$steps_dir/$s.guest.sh" ] && echo "$s"
	done
	for f in "$steps_dir"/*.guest.sh; do
		s=$(basename "$f" .guest.sh)
		case " $order " in
		*" $s "*) ;;
		*) echo "$s" ;;
		esac
	done
}

list_steps() {
	local s

	for s in $(all_steps); do
		printf '%-20s quick: %-3s  %s\n' "$s" \
			"$(step_field "$s" quick)" \
			"$(step_field "$s" title)"
	done
}

# The steps of this run, one per line.
select_steps() {
	local s

	if [ -n "$only" ]; then
		for s in ${only//,/ }; do
			[ -f "$steps_dir/$s.guest.sh" ] ||
				die "no step '$s' (see --list)" 2
			echo "$s"
		done
		return
	fi
	for s in $(all_steps); do
		if [ $quick = 0 ] || [ "$(step_field "$s" quick)" = yes ]; then
			echo "$s"
		fi
	done
}

# A "QUICK FULL" header field of a step: the value for this run's variant.
step_variant_field() {
	step_field "$1" "$2" | awk -v q=$quick '{ print q ? $1 : $2 }'
}

# That field of each step of this run, one a line; $2 for a step that
# does not say.
steps_variant_field() {
	local s v

	for s in $steps; do
		v=$(step_variant_field "$s" "$1")
		echo "${v:-$2}"
	done
}

# Guest memory: --mem, or in MiB the most any step asks for ("# bench-mem-mib:
# QUICK FULL"), and for fork-latency with --sizes the largest size plus
# 2 GiB.
guest_mem() {
	local need max=3072

	if [ -n "$mem" ]; then
		echo "$mem"
		return
	fi
	for need in $(steps_variant_field mem-mib 0); do
		[ "$need" -le "$max" ] || max=$need
	done
	if [ -n "$sizes" ]; then
		need=$(echo "$sizes" | tr ',' '\n' | awk '
			BEGIN { mib["K"] = 1 / 1024; mib["M"] = 1
				mib["G"] = 1024; mib["T"] = 1048576 }
			{
				u = toupper(substr($0, length($0)))
				m = $0 * (u in mib ? mib[u] : 1 / 1048576)
				if (m > max)
					max = m
			}
			END { print int(max + 2048.5) }')
		[ "$need" -le "$max" ] || max=$need
	fi
	echo "${max}M"
}

# The VM run's time limit: --timeout, or 300 s for the boot and the rest
# plus what each step asks for ("# bench-timeout-s: QUICK FULL"; 600 s
# when it does not say).
vm_timeout() {
	local t sum=300

	if [ -n "$timeout" ]; then
		echo "$timeout"
		return
	fi
	for t in $(steps_variant_field timeout-s 600); do
		sum=$((sum + t))
	done
	echo $sum
}

# --- the run -------------------------------------------------------------

# Build what the steps use ("# bench-build: TARGET...", meson targets).  A
# target this configuration lacks (afl++ or libsqlite3-dev was missing
# when it was set up) is left out: its step skips in the guest.
build_userspace() {
	local s t targets=

	[ -f "$build/build.ninja" ] || meson setup "$build" "$top" >&2
	ninja -C "$build" build.ninja >&2
	for s in $steps; do
		for t in $(step_field "$s" build); do
			if ninja -C "$build" -t query "$t" >/dev/null 2>&1; then
				targets="$targets $t"
			else
				echo "run.sh: $s: $build has no $t" \
				     "(tools/install-deps.sh, then reconfigure):" \
				     "the step will skip" >&2
			fi
		done
	done
	# shellcheck disable=SC2086
	[ -z "$targets" ] || ninja -C "$build" $targets >&2
	build=$(cd "$build" && pwd)
}

# The command the guest runs (sh -e, in the repository root).
guest_command() {
	local res=/run/odfork-out/results

	cat <<-EOF
	if [ ! -e /proc/sys/vm/odfork ]; then
		echo 'run.sh: this kernel has no odfork (no vm.odfork)' >&2
		exit 3
	fi
	echo 1 > /proc/sys/vm/odfork
	mkdir -p $res
	{
		echo "uname: \$(uname -rv)"
		echo "cmdline: \$(cat /proc/cmdline)"
		echo "cpus: \$(nproc)"
		echo "memory: \$(grep MemTotal /proc/meminfo | tr -s ' ')"
		echo "thp: \$(cat /sys/kernel/mm/transparent_hugepage/enabled)"
		echo "clocksource: \$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
		echo "vm.odfork: \$(cat /proc/sys/vm/odfork)"
	} > $res/guest-info.txt
	i=0
	for step in $steps; do
		i=\$((i + 1))
		echo "bench: step \$i of $nr_steps: \$step"
		mkdir -p /tmp/bench/\$step
		t0=\$(date +%s)
		rc=0
		BENCH_BIN='$build/bench' BENCH_BUILD='$build' \\
		BENCH_OUT=$res BENCH_TMP=/tmp/bench/\$step \\
		BENCH_QUICK=$quick BENCH_SIZES='$sizes' BENCH_RUNS='$runs' \\
			sh -e bench/steps/\$step.guest.sh || rc=\$?
		t=\$((\$(date +%s) - t0))
		echo "\$step \$rc \$t" >> $res/steps.txt
		echo "bench: \$step: exit \$rc after \$t s"
	done
	EOF
}

# The guest's console, less the kernel's boot messages.
show_console() {
	if [ $verbose = 1 ]; then
		cat
	else
		sed -nu '/^odfork-vm: /,/^odfork-vm: command exited/p'
	fi
}

run_vm() {
	local rc=0 share=$vmdir/share log=$vmdir/${vmlog:-serial.log}

	mkdir -p "$share"
	rm -rf "$share/results"
	echo "run.sh: $kernel, steps: $(echo $steps), guest memory" \
		"$(guest_mem), time limit $(vm_timeout) s," \
		"log $log" >&2
	"$top/kernel/vm-run.sh" --kernel "$kernel" --mem "$(guest_mem)" \
		--out "$share" --log "$log" \
		--timeout "$(vm_timeout)" \
		-- "$(guest_command)" | show_console >&2 || rc=$?
	case $rc in
	0) ;;
	3) die "$kernel has no odfork(2): build it with kernel/build.sh bench" 3 ;;
	*) echo "run.sh: the VM run failed (exit $rc), see" \
		"$log" >&2 ;;
	esac
	[ -s "$share/results/steps.txt" ] || die "no step ran in the guest"
	return $rc
}

# What the report says about the machine and the run (key: value).
run_info() {
	local commit dirty=

	commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo ?)
	# The default results are written into the tree: not a change.
	git -C "$top" diff --quiet HEAD -- . ':!bench/results' \
		':!bench/RESULTS.md' 2>/dev/null ||
		dirty=" with uncommitted changes"
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "command: bench/run.sh${args:+ $args}"
	echo "variant: $([ $quick = 1 ] && echo quick || echo full)"
	echo "repository: $commit$dirty"
	echo "kernel: $kernel ($(date -u -r "$kernel" '+%Y-%m-%d %H:%M UTC'))"
	echo "series: $(ls "$top"/kernel/patches/*.patch | wc -l) patches," \
	     "last $(basename "$(ls "$top"/kernel/patches/*.patch | tail -n 1)")"
	echo "config: kernel/configs/base.config + kernel/configs/bench.config"
	echo "host cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
	echo "host cpus: $(nproc)"
	echo "host memory: $(free -g | awk '/^Mem:/ { print $2 " GiB" }')"
	echo "qemu: $(qemu-system-x86_64 --version | head -n 1)"
	echo "accel: ${ODFORK_VM_ACCEL:-tcg}"
	echo "guest memory: $(guest_mem)"
	echo "guest vcpus: 2"
}

collect() {
	local s

	mkdir -p "$results"
	for s in $steps; do
		rm -f "$results/$s".* "$results/$s"-*
	done
	cp "$vmdir"/share/results/* "$results/"
}

# keep_boot STEP N FROM: STEP's files in FROM (STEP.EXT) as STEP.bootN.EXT
# in the results.
keep_boot() {
	local f name

	for f in "$3/$1".*; do
		[ -e "$f" ] || continue
		name=$(basename "$f")
		case $name in
		"$1".boot[0-9]*) continue ;;
		esac
		cp "$f" "$results/$1.boot$2.${name#"$1".}"
	done
}

# A step that asks for more boots ("# bench-boots: QUICK FULL") runs alone
# in each further boot, since one boot's page-table layout and QEMU's
# state move its times more than the samples within a boot do (README.md,
# "Boots"); every boot's files are kept as STEP.bootN.* and
# steps/STEP.merge.sh makes STEP's own files from them.  The steps table
# lists the further boots as STEP@N.
more_boots() {
	local all=$steps s b n rc=0

	for s in $all; do
		n=$(step_variant_field "$s" boots)
		[ "${n:-1}" -gt 1 ] || continue
		[ -x "$steps_dir/$s.merge.sh" ] || die "$s: no steps/$s.merge.sh"
		keep_boot "$s" 1 "$results"
		for ((b = 2; b <= n; b++)); do
			echo "run.sh: $s: boot $b of $n" >&2
			steps=$s
			nr_steps=1
			vmlog=serial.$s@$b.log
			run_vm || rc=1
			keep_boot "$s" "$b" "$vmdir/share/results"
			sed "s/^$s /$s@$b /" "$vmdir/share/results/steps.txt" \
				>> "$results/steps.txt"
		done
		"$steps_dir/$s.merge.sh" "$results" || rc=1
	done
	steps=$all
	vmlog=
	return $rc
}

main() {
	local rc=0 load0

	parse_args "$@"
	steps=$(select_steps) || exit
	[ -n "$steps" ] || die "no steps selected" 2
	# One line: the guest's command lists them.
	steps=$(echo $steps)
	nr_steps=$(echo $steps | wc -w)
	cd "$top"
	build_userspace
	if [ -z "$kernel" ]; then
		kernel=$(kernel/build.sh bench)
	fi
	[ -r "$kernel" ] || die "no kernel at $kernel"
	kernel=$(cd "$(dirname "$kernel")" && pwd)/$(basename "$kernel")
	load0=$(cut -d' ' -f1-3 /proc/loadavg)
	run_vm || rc=1
	collect
	more_boots || rc=1
	{
		run_info
		echo "host load before: $load0"
		echo "host load after: $(cut -d' ' -f1-3 /proc/loadavg)"
	} > "$results/run-info.txt"
	"$here/report.sh" "$results" "$report"
	cat "$report"
	echo "run.sh: results in $results, report $report" >&2
	if awk '$2 != 0 && $2 != 77 { bad = 1 } END { exit !bad }' \
		"$results/steps.txt"; then
		echo "run.sh: failed steps:" \
		     "$(awk '$2 != 0 && $2 != 77 { print $1 }' \
			"$results/steps.txt")" >&2
		rc=1
	fi
	return $rc
}

main "$@"
