#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# A fork-per-test harness over SQLite with fork and with on-demand fork:
# sqlite-harness (bench/sqlite/sqlite-harness.c) in one run of the bench
# kernel under QEMU (see bench/README.md).  Prints a markdown summary and
# writes NAME.csv (every test), NAME-summary.csv (per mode) and NAME.md
# into the results directory; NAME is sqlite, or sqlite-quick with --quick.
#
#   bench/sqlite/run.sh [options]
#     --quick            a 64 MiB database, 12 tests
#     --mib N            size of the database (default 256)
#     --tests N          test cases, each with fork and odfork (default 30)
#     --mem SIZE         guest memory (default 3G)
#   and --kernel, --build, --results, --timeout, --log, --out (see
#   bench/workload-lib.sh).
#
# Exit status: 0; 1 when the run failed, a test failed in its child, the
# parent's database changed, or odfork did not share page tables.
set -euo pipefail

NAME=sqlite
# shellcheck source=bench/workload-lib.sh
. "$(dirname "$0")/../workload-lib.sh"
mib=
tests=
mem=3G

usage() {
	sed -n '10,16p' "$0" >&2
	exit 2
}

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		--mib) mib=${2:-}; shift 2 || usage ;;
		--tests) tests=${2:-}; shift 2 || usage ;;
		--mem) mem=${2:-}; shift 2 || usage ;;
		*) wl_option "$@" || usage; shift "$wl_shift" ;;
		esac
	done
	if [ "$quick" = 1 ]; then
		mib=${mib:-64}
		tests=${tests:-12}
	fi
	mib=${mib:-256}
	tests=${tests:-30}
	wl_number --mib "$mib"
	wl_number --tests "$tests"
	timeout=${timeout:-1800}
}

guest_command() {
	cat <<-EOF
	uname -rv > /run/odfork-out/uname
	sh bench/sqlite/guest.sh --out /run/odfork-out \\
		--harness '$build/bench/sqlite/sqlite-harness' \\
		--mib $mib --tests $tests
	EOF
}

summarize() {
	echo "## SQLite: a fork-per-test harness with fork and on-demand fork"
	echo
	echo "$(wl_date), kernel \`$(cat "$out/uname")\`, QEMU TCG, 2 vCPUs," \
	     "guest memory $mem; SQLite $(pkg-config --modversion sqlite3 \
	     2>/dev/null || echo '?')."
	echo "An in-memory database of $mib MiB; $tests test cases (indexed" \
	     "range queries, updates, deletes in turn), each run in a"
	echo "\`fork()\` child, then each in an \`odfork()\` child (raw" \
	     "syscalls); the child does its work and exits; the parent"
	echo "checks at the end that its database did not change.  Fork:" \
	     "the call until it returns in the parent; total: the call"
	echo "until \`waitpid()\` returns (the child's work and exit included)." \
	     "Microseconds, except the sum."
	wl_host_load
	echo
	echo "| mode | tests | DB MiB | fork min | fork median | total min |" \
	     "total median | sum of totals (ms) | tables shared per fork |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	awk -F, 'NR > 1 {
		printf "| %s | %s | %.0f | %s | %s | %s | %s | %s | %s |\n",
			$1, $2, $3 / 1048576, $4, $5, $6, $7, $8, $9
		fm[$1] = $5; tm[$1] = $7; ts[$1] = $8
	}
	END {
		if (!fm["odfork"] || !tm["odfork"] || !ts["odfork"])
			exit
		rf = fm["fork"] / fm["odfork"]; rt = tm["fork"] / tm["odfork"]
		rs = ts["fork"] / ts["odfork"]
		printf "\nfork / odfork: fork time (medians) **%.1fx**, total" \
		       " time per test (medians) **%.2fx**, whole run %.2fx.\n",
		       rf, rt, rs
	}' "$1"
	echo
	if grep -q '^FAIL' "$out/sqlite-checks.txt"; then
		echo "**Checks failed:**"
	else
		echo "Checks (all passed):"
	fi
	echo
	sed 's/^/- /' "$out/sqlite-checks.txt"
}

main() {
	local rc=0 name

	parse_args "$@"
	wl_build tools/odfork-run/odfork-run
	[ -x "$build/bench/sqlite/sqlite-harness" ] ||
		ninja -C "$build" bench/sqlite/sqlite-harness >&2 ||
		die "no sqlite-harness: install libsqlite3-dev" \
		    "(tools/install-deps.sh) and reconfigure $build"
	ninja -C "$build" bench/sqlite/sqlite-harness >&2
	wl_kernel
	out=${out:-$top/build/vm/$NAME}
	mkdir -p "$out"
	rm -f "$out"/sqlite*.csv "$out/sqlite-checks.txt"
	wl_run_vm "$mem" "$(guest_command)" || rc=$?
	[ -s "$out/sqlite-summary.csv" ] && [ -s "$out/sqlite-checks.txt" ] ||
		die "the guest wrote no results (exit $rc), see $log"
	name=$(wl_result_name)
	mkdir -p "$results"
	cp "$out/sqlite.csv" "$results/$name.csv"
	cp "$out/sqlite-summary.csv" "$results/$name-summary.csv"
	summarize "$results/$name-summary.csv" | tee "$results/$name.md"
	echo "$NAME: results in $results/$name.{csv,md}" >&2
	[ $rc = 0 ] || die "the guest's checks failed (exit $rc)"
}

main "$@"
