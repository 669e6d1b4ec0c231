#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Tests of fault-cost, total-cost and concurrent-fork on the host, any
# kernel, with tiny sizes (reclaim, which needs root, memory cgroups and
# swap, only for bad-args and help): the CSV's rows and columns, numbers where the
# mode can run, "unavailable" (never a number measured another way) for
# odfork without odfork(2) and for THP without THP, exit statuses.
#
# Usage: micro-test.sh PROGRAM CASE   (CASE: csv, require, bad-args, help)
#
# Exit status: 0 pass, 1 fail (meson's convention).

PROG=$1
CASE=$2
NAME=$(basename "$PROG")

if [ ! -x "$PROG" ] || [ -z "$CASE" ]; then
	echo "usage: $0 PROGRAM CASE" >&2
	exit 1
fi

T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT

TEST_NAME=$NAME
# shellcheck source=tests/cmdtest.sh
. "$(dirname "$0")/../tests/cmdtest.sh"
# shellcheck source=bench/test-lib.sh
. "$(dirname "$0")/test-lib.sh"

# rows PATTERN: the CSV rows whose first column matches PATTERN.
rows() {
	awk -F, -v p="^($1)\$" 'NR > 1 && $1 ~ p' "$T/out"
}

# Times: three columns from $2 with min <= median <= max.
check_times() {
	echo "$1" | awk -F, -v c="$2" '
		{ a = $c; b = $(c + 1); m = $(c + 2) }
		a !~ /^[0-9]+\.[0-9]+$/ || b !~ /^[0-9]+\.[0-9]+$/ { exit 1 }
		m !~ /^[0-9]+\.[0-9]+$/ || a + 0 > b + 0 || b + 0 > m + 0 {
			exit 1
		}' || fail "bad times in '$1'"
}

# check_modes FORK ODFORK COLUMN UNAVAILABLE WHAT: the fork row that
# starts with FORK has times from COLUMN; so has the odfork row that starts
# with ODFORK where the kernel has odfork(2), else it is UNAVAILABLE.  WHAT
# names them in messages.
check_modes() {
	row=$(rows fork | grep "^$1") || fail "no fork row for $5"
	check_times "$row" "$3"
	row=$(rows odfork | grep "^$2") || fail "no odfork row for $5"
	if has_odfork; then
		check_times "$row" "$3"
	else
		[ "$row" = "$4" ] || fail "odfork measured without odfork(2)"
	fi
}

check_header() {
	[ "$(head -n 1 "$T/out")" = "$1" ] || fail "CSV header is not $1"
	[ "$(wc -l <"$T/out")" -eq "$2" ] || fail "CSV does not have $2 lines"
}

# fault-cost --size 4M --rounds 2: 2 ranges x 2 rounds = 4 samples a case.
check_fault_cost() {
	check_header case,samples,min_us,median_us,max_us,minflt_per_sample,copied_per_sample,reused_per_sample,note 9
	for c in timer fork-read fork-cow thp-cow odfork-read odfork-copy \
		 odfork-cow odfork-reuse; do
		row=$(rows "$c")
		[ "$(echo "$row" | awk -F, 'NF == 9' | wc -l)" -eq 1 ] ||
			fail "no single 9-column row for $c"
		case $c in
		odfork-*) has_odfork ;;
		thp-cow) has_thp ;;
		*) true ;;
		esac || {
			echo "$row" | grep -q "^$c,0,,,,,,,unavailable: " ||
				fail "$c measured without support: '$row'"
			continue
		}
		echo "$row" | grep -q "^$c,4," || fail "$c: not 4 samples"
		check_times "$row" 3
	done
	# A COW write faults once per sample; a read of a mapped page never.
	rows 'fork-cow|odfork-copy|odfork-cow|odfork-reuse' |
		awk -F, '$2 > 0 && $6 < 1 { exit 1 }' ||
		fail "a write case without a fault per sample"
	rows 'timer|fork-read|odfork-read' |
		awk -F, '$2 > 0 && $6 >= 0.5 { exit 1 }' ||
		fail "faults in a case that must not fault"
	rows 'odfork-.*' | awk -F, '$2 > 0 && $9 != "ok" { exit 1 }' ||
		fail "an odfork case without sharing"
}

# total-cost --size 4M --access 0,100 --writes 0,100 --runs 2
check_total_cost() {
	check_header mode,size_bytes,access_pct,write_pct,runs,min_us,median_us,max_us,tables_copied_per_run 9
	for a in 0 100; do
		for w in 0 100; do
			check_modes "fork,4194304,$a,$w,2," \
				"odfork,4194304,$a,$w," 6 \
				"odfork,4194304,$a,$w,0,,,,unavailable" \
				"$a% $w%"
		done
	done
}

# concurrent-fork --forkers 2 --size 4M --runs 5
check_concurrent_fork() {
	check_header mode,forkers,size_bytes,samples,min_us,median_us,max_us,tables_shared_per_fork 5
	for k in 1 2; do
		check_modes "fork,$k,4194304,$((5 * k))," \
			"odfork,$k,4194304," 5 \
			"odfork,$k,4194304,0,,,,unavailable" "$k forkers"
	done
}

small_args() {
	case $NAME in
	fault-cost) echo --size 4M --rounds 2 ;;
	total-cost) echo --size 4M --access 0,100 --writes 0,100 --runs 2 ;;
	concurrent-fork) echo --forkers 2 --size 4M --runs 5 ;;
	*) fail "unknown program" ;;
	esac
}

bad_args() {
	echo "--bogus|extra|--size 0|--size 3M|--size 1X|--csv"
	case $NAME in
	fault-cost) echo "--rounds 0|--rounds 1001|--size 2M" ;;
	total-cost) echo "--runs 0|--access 101|--writes 1,,x|--access -1" ;;
	concurrent-fork) echo "--runs 4|--forkers 0|--forkers 17" ;;
	reclaim) echo "--runs 0|--runs 101" ;;
	esac
}

case $CASE in
csv)
	# shellcheck disable=SC2046
	run "$PROG" $(small_args)
	expect_rc 0
	check_probe
	case $NAME in
	fault-cost) check_fault_cost ;;
	total-cost) check_total_cost ;;
	concurrent-fork) check_concurrent_fork ;;
	esac
	grep -q "^$NAME: populating 4M" "$T/err" || fail "no progress line"
	;;
require)
	# shellcheck disable=SC2046
	run "$PROG" $(small_args) --require-odfork
	expect_required
	;;
bad-args)
	bad_args | tr '|' '\n' | while read -r args; do
		# shellcheck disable=SC2086
		run "$PROG" $args
		expect_usage_error
	done || exit 1
	;;
help)
	run "$PROG" --help
	expect_rc 0
	grep -q "^Usage: $NAME " "$T/out" || fail "no usage on stdout"
	;;
*)
	echo "unknown case $CASE" >&2
	exit 1
	;;
esac
exit 0
