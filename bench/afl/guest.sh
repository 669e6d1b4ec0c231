#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# The guest half of the AFL++ benchmark (bench/afl/run.sh boots the VM and
# runs this as root, with vm.odfork available).  Fuzzes TARGET (the
# examples/fuzz-target program built with afl-clang-fast: a STATE MiB
# state built once before the deferred forkserver starts) with afl-fuzz for
# SECONDS, ROUNDS times per mode, alternating: "plain" (afl-fuzz as is) and
# "odfork" (afl-fuzz under odfork-run, whose mode the forkserver in the
# target inherits, so that its fork() per input is on demand).
#
#   guest.sh --out DIR --odfork-run PATH --target PATH --seeds DIR
#            [--state-mib N] [--seconds N] [--rounds N]
#
# Writes into DIR:
#   afl.csv          one row per afl-fuzz run:
#                    mode,round,state_mib,seconds,execs_done,execs_per_sec,
#                    steady_execs_per_sec,odfork_forks,tables_shared,
#                    tables_copied,saved_crashes
#                    execs_per_sec is afl-fuzz's (fuzzer_stats: over the
#                    whole run, the state's build included);
#                    steady_execs_per_sec is from plot_data, between its
#                    first and last rows (after the forkserver is up;
#                    NA when it has fewer than two rows)
#   afl-checks.txt   what was verified, one "PASS ..."/"FAIL ..." a line
# Exit status: 0, 1 when a check failed (the results are written anyway),
# 2 on a bad command line.
#
# afl-fuzz's output directories are on the guest's tmpfs: a process that
# ever wrote to a file on the 9p share has pinned pages and forks
# classically from then on (odfork(7)).

set -u

out=
odfork_run=
target=
seeds=
state=512
seconds=60
rounds=1
tmp=/tmp/afl-bench

die() { echo "afl guest: error: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	--odfork-run) odfork_run=$2; shift 2 ;;
	--target) target=$2; shift 2 ;;
	--seeds) seeds=$2; shift 2 ;;
	--state-mib) state=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	*) die "unknown argument '$1'" ;;
	esac
done
[ -d "$out" ] || die "--out DIR is needed"
[ -x "$odfork_run" ] || die "--odfork-run PATH is needed"
[ -x "$target" ] || die "--target PATH is needed"
[ -d "$seeds" ] || die "--seeds DIR is needed"
for n in "$state" "$seconds" "$rounds"; do
	case $n in
	''|*[!0-9]*) die "bad number '$n'" ;;
	esac
done

rm -rf "$tmp"
mkdir -p "$tmp"
checks=$tmp/afl-checks.txt
: >"$checks"
failed=0

log() { echo "afl guest: $*" >&2; }

check() {	# check STATUS MESSAGE...: PASS when STATUS is 0
	st=$1
	shift
	if [ "$st" = 0 ]; then
		echo "PASS $*" >>"$checks"
	else
		echo "FAIL $*" >>"$checks"
		log "FAIL $*"
		failed=1
	fi
}

vmstat() { awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat; }

stat_field() {	# stat_field FILE FIELD: a field of fuzzer_stats
	awk -F: -v k="$2" '{ gsub(/ /, "", $1) } $1 == k {
		gsub(/ /, "", $2); print $2 }' "$1"
}

# Executions per second between the first and the last row of plot_data
# (relative_time, ..., execs_per_sec, total_execs, ...).
steady_rate() {
	awk -F, '/^#/ { next }
		{ t = $1 + 0; e = $12 + 0 }
		!n++ { t0 = t; e0 = e }
		END {
			if (t > t0)
				printf "%.1f\n", (e - e0) / (t - t0)
			else
				print "NA"
		}' "$1"
}

# fuzz MODE ROUND: one afl-fuzz run; appends a row to afl.csv.
fuzz() {
	dir=$tmp/$1-$2
	rm -rf "$dir"
	prefix=
	[ "$1" = plain ] || prefix="$odfork_run --require --"
	forks=$(vmstat odfork_forks)
	shared=$(vmstat odfork_tables_shared)
	copied=$(vmstat odfork_tables_copied)
	log "$1 round $2: afl-fuzz for $seconds s, state $state MiB"
	# shellcheck disable=SC2086
	AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 \
	AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CRASHES=1 \
	AFL_FORKSRV_INIT_TMOUT=600000 AFL_NO_CRASH_README=1 \
		$prefix afl-fuzz -i "$seeds" -o "$dir" -V "$seconds" \
		-t 5000 -- "$target" --state-mib "$state" \
		>"$tmp/$1-$2.log" 2>&1 </dev/null
	rc=$?
	forks=$(($(vmstat odfork_forks) - forks))
	shared=$(($(vmstat odfork_tables_shared) - shared))
	copied=$(($(vmstat odfork_tables_copied) - copied))
	stats=$dir/default/fuzzer_stats
	if [ $rc != 0 ] || [ ! -s "$stats" ]; then
		tail -n 30 "$tmp/$1-$2.log" >&2
		check 1 "$1 round $2: afl-fuzz ran (exit $rc)"
		return
	fi
	execs=$(stat_field "$stats" execs_done)
	echo "$1,$2,$state,$seconds,$execs,$(stat_field "$stats" \
	     execs_per_sec),$(steady_rate "$dir/default/plot_data"),$(
	     )$forks,$shared,$copied,$(stat_field "$stats" saved_crashes)" \
		>>"$tmp/afl.csv"
	log "$1 round $2: $execs execs, $(stat_field "$stats" execs_per_sec)" \
	    "execs/s; odfork_forks +$forks, tables shared +$shared," \
	    "copied +$copied"
	if [ "$1" = odfork ]; then
		# One on-demand fork per execution, each sharing the state's
		# tables ($state MiB / 2 MiB of them, less one at each end).
		[ "$forks" -ge "$execs" ] &&
			[ "$shared" -ge $((execs * (state / 2 - 2))) ]
		check $? "odfork round $2: the forkserver forked on demand" \
			"($forks on-demand forks for $execs executions) and" \
			"shared the state's page tables ($shared tables shared)"
	else
		[ "$forks" = 0 ] && [ "$shared" = 0 ]
		check $? "plain round $2: no fork was on demand" \
			"(odfork_forks +$forks, tables shared +$shared)"
	fi
}

main() {
	echo 1 >/proc/sys/vm/odfork
	echo core >/proc/sys/kernel/core_pattern
	echo "mode,round,state_mib,seconds,execs_done,execs_per_sec,$(
	     )steady_execs_per_sec,odfork_forks,tables_shared,tables_copied,$(
	     )saved_crashes" >"$tmp/afl.csv"
	r=1
	while [ $r -le "$rounds" ]; do
		if [ $((r % 2)) = 1 ]; then
			fuzz plain $r
			fuzz odfork $r
		else
			fuzz odfork $r
			fuzz plain $r
		fi
		r=$((r + 1))
	done
	cp "$tmp/afl.csv" "$checks" "$out/"
	cat "$checks" >&2
	return $failed
}

main
