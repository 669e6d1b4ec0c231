#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# AFL++ with fork and with on-demand fork: afl-fuzz (Debian's afl++) on
# examples/fuzz-target built with afl-clang-fast (a large state built once
# before the deferred forkserver), plain and under odfork-run, in one run
# of the bench kernel under QEMU (see bench/README.md).  Prints a markdown
# summary and writes NAME.csv (one row per afl-fuzz run) and NAME.md into
# the results directory; NAME is afl, or afl-quick with --quick.
#
#   bench/afl/run.sh [options]
#     --quick            256 MiB state, one 20 s run per mode
#     --state-mib N      the target's state (default 512)
#     --seconds N        each afl-fuzz run (afl-fuzz -V; default 60)
#     --rounds N         runs per mode, alternating (default 2)
#     --mem SIZE         guest memory (default 3G)
#   and --kernel, --build, --results, --timeout, --log, --out (see
#   bench/workload-lib.sh).
#
# Exit status: 0; 1 when the run failed or one of the guest's checks did
# (the odfork runs forked on demand once per execution and shared the
# state's page tables, the plain ones did not), after writing the results.
set -euo pipefail

NAME=afl
# shellcheck source=bench/workload-lib.sh
. "$(dirname "$0")/../workload-lib.sh"
state=
seconds=
rounds=
mem=3G
target=
cc_used=

usage() {
	sed -n '11,19p' "$0" >&2
	exit 2
}

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		--state-mib) state=${2:-}; shift 2 || usage ;;
		--seconds) seconds=${2:-}; shift 2 || usage ;;
		--rounds) rounds=${2:-}; shift 2 || usage ;;
		--mem) mem=${2:-}; shift 2 || usage ;;
		*) wl_option "$@" || usage; shift "$wl_shift" ;;
		esac
	done
	if [ "$quick" = 1 ]; then
		state=${state:-256}
		seconds=${seconds:-20}
		rounds=${rounds:-1}
	fi
	state=${state:-512}
	seconds=${seconds:-60}
	rounds=${rounds:-2}
	wl_number --state-mib "$state"
	wl_number --seconds "$seconds"
	wl_number --rounds "$rounds"
	# Boot, and per run the state's build, calibration and the run.
	timeout=${timeout:-$((300 + rounds * 2 * (seconds + 240)))}
}

# The target, built by AFL++'s compiler (which defines
# __AFL_HAVE_MANUAL_CONTROL: __AFL_INIT() starts the deferred forkserver).
build_target() {
	local cc src=$top/examples/fuzz-target/fuzz-target.c

	for cc in afl-clang-fast afl-gcc-fast; do
		command -v $cc >/dev/null || continue
		mkdir -p "$build/bench/afl"
		target=$build/bench/afl/fuzz-target-afl
		cc_used=$cc
		AFL_QUIET=1 $cc -O2 -o "$target" "$src" >&2 && return
	done
	die "neither afl-clang-fast nor afl-gcc-fast could build $src"
}

guest_command() {
	cat <<-EOF
	uname -rv > /run/odfork-out/uname
	sh bench/afl/guest.sh --out /run/odfork-out \\
		--odfork-run '$build/tools/odfork-run/odfork-run' \\
		--target '$target' --seeds examples/fuzz-target/seeds \\
		--state-mib $state --seconds $seconds --rounds $rounds
	EOF
}

summarize() {
	echo "## AFL++: fork-server executions with fork and on-demand fork"
	echo
	echo "$(wl_date), kernel \`$(cat "$out/uname")\`, QEMU TCG, 2 vCPUs," \
	     "guest memory $mem; Debian afl++ $(dpkg-query -W -f \
	     '${Version}' afl++ 2>/dev/null || echo '?'), target built with" \
	     "\`$cc_used\`."
	echo "examples/fuzz-target with a $state MiB state built before" \
	     "\`__AFL_INIT()\`, $rounds afl-fuzz run(s) of $seconds s per mode," \
	     "alternating; \"odfork\" is afl-fuzz under \`odfork-run\`."
	echo "execs/s: afl-fuzz's (fuzzer_stats, whole run); steady: from" \
	     "plot_data, once the forkserver is up."
	wl_host_load
	echo
	echo "| mode | round | execs | execs/s | steady execs/s |" \
	     "on-demand forks | tables shared per exec |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	awk -F, 'NR > 1 {
		mode = $1 == "plain" ? "fork" : "odfork"
		per = $5 > 0 ? $9 / $5 : 0
		printf "| %s | %s | %s | %s | %s | %s | %.1f |\n",
			mode, $2, $5, $6, $7, $8, per
		e[$1] += $6; n[$1]++
		if ($7 != "NA") { st[$1] += $7; ns[$1]++ }
	}
	END {
		if (!n["plain"] || !n["odfork"] || !e["plain"])
			exit
		fe = e["plain"] / n["plain"]; oe = e["odfork"] / n["odfork"]
		printf "\nMean execs/s: fork %.1f, odfork %.1f: **%.2fx**",
			fe, oe, oe / fe
		if (ns["plain"] && ns["odfork"] && st["plain"] > 0) {
			fs = st["plain"] / ns["plain"]
			os = st["odfork"] / ns["odfork"]
			printf "; steady: fork %.1f, odfork %.1f: **%.2fx**",
				fs, os, os / fs
		}
		print "."
	}' "$1"
	echo
	if grep -q '^FAIL' "$out/afl-checks.txt"; then
		echo "**Checks failed:**"
	else
		echo "Checks (all passed):"
	fi
	echo
	sed 's/^/- /' "$out/afl-checks.txt"
}

main() {
	local rc=0 name

	parse_args "$@"
	wl_need_programs afl-fuzz
	wl_build tools/odfork-run/odfork-run
	build_target
	wl_kernel
	out=${out:-$top/build/vm/$NAME}
	rm -f "$out/afl.csv" "$out/afl-checks.txt"
	mkdir -p "$out"
	wl_run_vm "$mem" "$(guest_command)" || rc=$?
	[ -s "$out/afl.csv" ] && [ -s "$out/afl-checks.txt" ] ||
		die "the guest wrote no results (exit $rc), see $log"
	name=$(wl_result_name)
	mkdir -p "$results"
	cp "$out/afl.csv" "$results/$name.csv"
	summarize "$results/$name.csv" | tee "$results/$name.md"
	echo "$NAME: results in $results/$name.{csv,md}" >&2
	[ $rc = 0 ] || die "the guest's checks failed (exit $rc)"
}

main "$@"
