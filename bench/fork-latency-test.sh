#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Tests of fork-latency on the host, any kernel: a tiny size, the CSV's
# columns, fork numbers, odfork measured where the kernel has odfork(2) and
# reported unavailable (not measured as fork) where it does not, and the
# fork-thp row measured on THP memory where the kernel has THP.
#
# Usage: fork-latency-test.sh FORK_LATENCY CASE
#
# Exit status: 0 pass, 1 fail (meson's convention).

PROG=$1
CASE=$2
NAME=fork-latency
HEADER=mode,size_bytes,runs,min_us,median_us,max_us,tables_shared_per_fork,huge_pct

if [ ! -x "$PROG" ] || [ -z "$CASE" ]; then
	echo "usage: $0 FORK_LATENCY CASE" >&2
	exit 1
fi

T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT

# shellcheck source=tests/cmdtest.sh
. "$(dirname "$0")/../tests/cmdtest.sh"
# shellcheck source=bench/test-lib.sh
. "$(dirname "$0")/test-lib.sh"

# check_row FILE MODE SIZE: the row is there, with 8 columns; fork rows
# and available odfork and fork-thp rows carry $RUNS runs with
# min <= median <= max.
RUNS=5
check_row() {
	row=$(grep "^$2,$3," "$1") || fail "no $2 row for $3 bytes"
	[ "$(echo "$row" | wc -l)" -eq 1 ] || fail "several $2 rows for $3"
	echo "$row" | awk -F, 'NF != 8 { exit 1 }' ||
		fail "row '$row' does not have 8 columns"
	if { [ "$2" = odfork ] && ! has_odfork; } ||
	   { [ "$2" = fork-thp ] && ! has_thp; }; then
		[ "$row" = "$2,$3,0,,,,unavailable," ] ||
			fail "$2 measured without support: '$row'"
		return
	fi
	echo "$row" | awk -F, -v runs="$RUNS" '
		$3 != runs { exit 1 }
		$4 !~ /^[0-9]+\.[0-9]$/ || $5 !~ /^[0-9]+\.[0-9]$/ { exit 1 }
		$6 !~ /^[0-9]+\.[0-9]$/ { exit 1 }
		$4 + 0 > $5 + 0 || $5 + 0 > $6 + 0 { exit 1 }
		$7 !~ /^([0-9]+\.[0-9]|NA|no sharing)$/ { exit 1 }
		$8 !~ /^[0-9]+\.[0-9]$/ { exit 1 }' ||
		fail "bad numbers in '$row'"
}

# 4 KiB rows have no huge pages; the THP row has some where THP is on
# (4M is two aligned 2 MiB ranges; a fault falls back to 4 KiB pages when
# no huge page is free, so at least one of them).
check_huge() {
	awk -F, '$1 ~ /^(od)?fork$/ && $3 > 0 && $8 != "0.0" { exit 1 }' "$1" ||
		fail "huge pages in a 4 KiB row"
	has_thp || return 0
	awk -F, '$1 == "fork-thp" && $8 + 0 < 50 { exit 1 }' "$1" ||
		fail "fork-thp row without huge pages"
}

check_csv() {
	[ "$(head -n 1 "$1")" = "$HEADER" ] || fail "CSV header is not $HEADER"
	[ "$(wc -l <"$1")" -eq 6 ] || fail "CSV does not have 6 lines"
	check_row "$1" fork 65536
	check_row "$1" odfork 65536
	grep -q '^fork-thp,65536,' "$1" && fail "a THP row for the baseline"
	for mode in fork odfork fork-thp; do
		check_row "$1" $mode 4194304
	done
	check_huge "$1"
	expect_header "kernel .*, vm.odfork .*, $RUNS runs per mode${PASSES:+ in $PASSES passes}, odfork: "
	check_probe
}

case $CASE in
csv)
	run "$PROG" --sizes 4M --runs 5
	expect_rc 0
	check_csv "$T/out"
	expect_err 'populating 4M'
	;;
table)
	run "$PROG" --sizes 4M --runs 5 --csv "$T/csv" --table
	expect_rc 0
	check_csv "$T/csv"
	grep -q '^size .*median us' "$T/out" || fail "no table on stdout"
	grep -q '^64K (empty) *fork *5 ' "$T/out" || fail "no baseline row"
	grep -q -e '^mode,' -e '^fork,' -e '^odfork,' "$T/out" &&
		fail "CSV on stdout with --table"
	;;
passes)
	# 7 runs over 3 sweeps of the sizes: 3, 2 and 2; rows at the end.
	RUNS=7 PASSES=3
	run "$PROG" --sizes 4M --runs 7 --passes 3
	expect_rc 0
	check_csv "$T/out"
	expect_err 'pass 1 of 3, 3 runs'
	expect_err 'pass 3 of 3, 2 runs'
	;;
require)
	run "$PROG" --sizes 4M --runs 5 --require-odfork
	expect_required
	;;
merge)
	# Three boots' CSVs (steps/fork-latency.merge.sh, run.sh's bench-boots)
	# into one: runs summed, least minimum, greatest maximum, the median
	# of the medians; a column that differs lists every boot's value.
	steps=$(dirname "$0")/steps
	G=1073741824
	for b in 1 2 3; do
		{
			echo "$HEADER"
			echo "fork,65536,15,400.$b,450.0,900.0,0.0,0.0"
			echo "odfork,65536,15,390.0,44$b.0,800.0,no sharing,0.0"
			case $b in
			1) echo "fork,$G,15,25000.0,26000.0,30000.0,0.0,0.0"
			   echo "odfork,$G,15,350.0,520.0,900.0,512.0,0.0" ;;
			2) echo "fork,$G,15,24000.0,25000.0,31000.0,0.0,0.0"
			   echo "odfork,$G,15,300.0,400.0,950.0,512.0,0.0" ;;
			3) echo "fork,$G,15,26000.0,27000.0,29000.0,0.0,0.0"
			   echo "odfork,$G,15,320.0,300.0,990.0,511.0,0.0" ;;
			esac
			echo "fork-thp,$G,0,,,,unavailable,"
		} > "$T/fork-latency.boot$b.csv"
	done
	run "$steps/fork-latency.merge.sh" "$T"
	expect_rc 0
	cat > "$T/want" <<-EOF
	$HEADER
	fork,65536,45,400.1,450.0,900.0,0.0,0.0
	odfork,65536,45,390.0,442.0,800.0,no sharing,0.0
	fork,$G,45,24000.0,26000.0,31000.0,0.0,0.0
	odfork,$G,45,300.0,400.0,990.0,512.0/512.0/511.0,0.0
	fork-thp,$G,0,,,,unavailable,
	EOF
	diff "$T/want" "$T/fork-latency.csv" >&2 || fail "merged CSV differs"
	# The targets use the merged medians; each boot's ratio is listed.
	run env BENCH_TARGETS="$T/targets" sh "$steps/fork-latency.report.sh" "$T"
	expect_rc 0
	grep -q '^in 3 boots of the same kernel' "$T/out" ||
		fail "the report does not say it merged 3 boots"
	grep -q '^| 2 | 25000.0 | 400.0 | 62.50 |' "$T/out" ||
		fail "no row for boot 2"
	grep -q "| 65.0x (medians of 3 boots' medians: 26000.0 / 400.0 us); 80.0x (mins) | met |" \
		"$T/targets" || { cat "$T/targets" >&2; fail "1 GiB target"; }
	rm "$T/fork-latency.boot2.csv"
	run "$steps/fork-latency.merge.sh" "$T"
	grep -q "^odfork,$G,30,320.0,410.0,990.0,512.0/511.0,0.0$" \
		"$T/fork-latency.csv" || fail "two boots: not the mean of the medians"
	rm "$T"/fork-latency.boot*.csv
	run "$steps/fork-latency.merge.sh" "$T"
	expect_rc 1
	;;
bad-args)
	for args in "--runs 4" "--runs 1001" "--runs x" "--sizes 0" \
		    "--sizes 1X" "--sizes ,," "--sizes 99999999T" \
		    "--passes 0" "--runs 5 --passes 6" "--bogus" "extra"; do
		# shellcheck disable=SC2086
		run "$PROG" $args
		expect_usage_error
	done
	;;
*)
	echo "unknown case $CASE" >&2
	exit 1
	;;
esac
exit 0
