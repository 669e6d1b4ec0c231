#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# check-readme-numbers.sh SCRIPT README RESULTS_DIR
#
# The README's numbers are those of bench/results (SCRIPT --check), and the
# check can fail: it must reject a README whose table shows another
# number, one that states a ratio outside the generated block, one without
# the block, and results whose RESULTS.md comes from another run.
set -u

script=$1 readme=$2 results=$3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
status=0

fail()
{
	echo "check-readme-numbers: $*" >&2
	status=1
}

# expect_fail WHAT ARGS...: SCRIPT ARGS must exit 1.
expect_fail()
{
	what=$1
	shift
	"$script" "$@" >"$tmp/out" 2>&1
	rc=$?
	if [ $rc -ne 1 ]; then
		fail "$what: --check exited $rc, not 1"
		cat "$tmp/out" >&2
	fi
}

if ! "$script" --results "$results" --check "$readme"; then
	fail "$readme and $results disagree (see above)"
fi

# A number of the generated table changed by hand.
sed 's/^| 1 GiB | \([0-9]*\) |/| 1 GiB | 1\1 |/' "$readme" >"$tmp/table.md"
if cmp -s "$readme" "$tmp/table.md"; then
	fail "found no 1 GiB row in $readme to perturb"
else
	expect_fail "a changed table" --results "$results" \
		--check "$tmp/table.md"
fi

# A ratio in the prose, outside the block.
sed 's/^## Status$/## Status\n\nodfork is about 70-80x faster than fork./' \
	"$readme" >"$tmp/prose.md"
expect_fail "a ratio outside the block" --results "$results" \
	--check "$tmp/prose.md"

# No block at all.
grep -v 'readme-numbers' "$readme" >"$tmp/noblock.md"
expect_fail "a README without the block" --results "$results" \
	--check "$tmp/noblock.md"

# RESULTS.md of another run than the CSVs.
mkdir "$tmp/bench"
cp -r "$results" "$tmp/bench/results"
cp "$(dirname "$results")/RESULTS.md" "$tmp/bench/RESULTS.md"
sed -i 's/^date: .*/date: 1999-01-01 00:00 UTC/' \
	"$tmp/bench/results/run-info.txt"
expect_fail "RESULTS.md from another run" --results "$tmp/bench/results" \
	--check "$readme"

# --update repairs a changed table.
cp "$tmp/table.md" "$tmp/fixed.md"
if ! "$script" --results "$results" --update "$tmp/fixed.md" ||
   ! cmp -s "$readme" "$tmp/fixed.md"; then
	fail "--update did not restore the README"
fi

exit $status
