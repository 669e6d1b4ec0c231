#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Tests of sqlite-harness on the host, any kernel: a tiny database, every
# test case passes in its child, the parent's database stays unchanged
# (the harness fails otherwise), the CSVs' shape, and odfork either
# measured or reported unavailable (never measured as fork).
#
# Usage: sqlite-harness-test.sh SQLITE_HARNESS CASE
#
# Exit status: 0 pass, 1 fail (meson's convention).

PROG=$1
CASE=$2
TESTS=6
HEADER=mode,test,kind,fork_us,total_us
SUMMARY=mode,tests,db_bytes,fork_min_us,fork_median_us,total_min_us,total_median_us,total_ms,tables_shared_per_fork

if [ ! -x "$PROG" ] || [ -z "$CASE" ]; then
	echo "usage: $0 SQLITE_HARNESS CASE" >&2
	exit 1
fi

T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT

fail() {
	echo "FAIL ($CASE): $*" >&2
	cat "$T/err" >&2 2>/dev/null
	exit 1
}

case $CASE in
csv)
	"$PROG" --mib 4 --tests $TESTS --csv "$T/csv" --summary "$T/sum" \
		2>"$T/err" || fail "exit status $?"
	[ "$(head -n 1 "$T/csv")" = $HEADER ] || fail "bad CSV header"
	[ "$(head -n 1 "$T/sum")" = $SUMMARY ] || fail "bad summary header"
	[ "$(grep -c '^fork,' "$T/csv")" = $TESTS ] || fail "fork rows"
	# the three kinds of test, each with times
	for k in query update delete; do
		grep -Eq "^fork,[0-9]+,$k,[0-9.]+,[0-9.]+$" "$T/csv" ||
			fail "no fork row for a $k test"
	done
	grep -Eq "^fork,$TESTS,[0-9]+,[0-9.]+,[0-9.]+,[0-9.]+,[0-9.]+,[0-9.]+," \
		"$T/sum" || fail "bad fork summary"
	odfork=$(grep -c '^odfork,' "$T/csv")
	if grep -q '^odfork,0,.*,unavailable$' "$T/sum"; then
		[ "$odfork" = 0 ] || fail "odfork rows though unavailable"
		"$PROG" --mib 1 --tests 1 --require-odfork >/dev/null 2>&1
		[ $? = 3 ] || fail "--require-odfork did not exit 3"
	else
		[ "$odfork" = $TESTS ] || fail "odfork rows: $odfork"
		grep -Eq "^odfork,$TESTS," "$T/sum" || fail "odfork summary"
	fi
	;;
bad-args)
	for args in "--mib 0" "--tests x" "--bogus" "extra"; do
		# shellcheck disable=SC2086
		"$PROG" $args >/dev/null 2>"$T/err"
		[ $? = 2 ] || fail "'$args' did not exit 2"
	done
	;;
*)
	echo "$0: unknown case $CASE" >&2
	exit 1
	;;
esac
echo "PASS ($CASE)"
