#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Step of bench/run.sh, in the guest: AFL++'s fork server with fork and
# with on-demand fork.  Fuzzes examples/fuzz-target built with AFL++'s
# compiler (bench/afl/meson.build: a STATE MiB state built once before the
# deferred forkserver starts) with Debian's afl-fuzz for SECONDS, ROUNDS
# times per mode, alternating: "plain" (afl-fuzz as is) and "odfork"
# (afl-fuzz under odfork-run, whose mode the forkserver in the target
# inherits, so that its fork() per input is on demand).  Environment: see
# bench/README.md ("Steps").
# bench-title: AFL++ fork-server exec/s over a 512 MiB state, plain vs odfork-run
# bench-quick: yes
# bench-mem-mib: 3072 3072
# bench-timeout-s: 900 1800
# bench-build: tools/odfork-run/odfork-run bench/afl/fuzz-target-afl
#
# Writes into BENCH_OUT:
#   afl.csv          one row per afl-fuzz run:
#                    mode,round,state_mib,seconds,execs_done,execs_per_sec,
#                    steady_execs_per_sec,odfork_forks,tables_shared,
#                    tables_copied,saved_crashes
#                    execs_per_sec is afl-fuzz's (fuzzer_stats: over the
#                    whole run, the state's build included);
#                    steady_execs_per_sec is from plot_data, between its
#                    first and last rows (after the forkserver is up;
#                    NA when it has fewer than two rows)
#   afl-checks.txt   what was verified (guest-lib.sh)
#   afl-info.txt     the parameters, afl++'s version, the target's compiler
# Exit status: 0, 1 when a check failed (the results are written anyway),
# 77 without afl-fuzz or without the target (meson found no AFL++
# compiler).

STEP=afl
. "$(dirname "$0")/guest-lib.sh"

if [ "$BENCH_QUICK" = 1 ]; then
	state=256
	seconds=20
	rounds=1
else
	state=512
	seconds=60
	rounds=2
fi
tmp=$BENCH_TMP
odfork_run=$BENCH_BUILD/tools/odfork-run/odfork-run
target=$BENCH_BUILD/bench/afl/fuzz-target-afl
seeds=examples/fuzz-target/seeds

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
	need afl-fuzz
	if [ ! -x "$target" ]; then
		log "no $target (meson found no afl-clang-fast or" \
		    "afl-gcc-fast): skipped"
		exit 77
	fi
	echo core >/proc/sys/kernel/core_pattern
	record afl++ "$(dpkg-query -W -f '${Version}' afl++ 2>/dev/null ||
		echo '?')"
	# meson builds it with afl-clang-fast, or afl-gcc-fast without it.
	cc=$(readelf -p .comment "$target" 2>/dev/null |
		grep -o -m 1 'clang version [^ ]*')
	record compiler "$([ -n "$cc" ] && echo "afl-clang-fast ($cc)" ||
		echo afl-gcc-fast)"
	record state_mib "$state"
	record seconds "$seconds"
	record rounds "$rounds"
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
	gl_finish "$tmp/afl.csv"
}

main
