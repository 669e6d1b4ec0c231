#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Tests of the fuzz-target example.
#
#   test-fuzz-target.sh TARGET SEEDS CASE [EXPECT_ODFORK ODFORK_RUN]
#
# CASE: normal (a seed parses, from a file and from standard input), magic
# (the planted bug aborts), replay (the forkserver-like mode reports the
# crash), kernel (replay under odfork-run on the patched kernel: every
# fork is on demand; needs EXPECT_ODFORK and ODFORK_RUN).
# Exit status: 0 pass, 1 fail, 77 skip (meson's convention).
# Under "meson test --setup valgrind" the target runs in $ODFORK_TEST_WRAPPER.

# shellcheck disable=SC2086
TARGET=$1
SEED=$2/queries.txt
CASE=$3
EXPECT_ODFORK=$4
ODFORK_RUN=$5
MIB=8
W=${ODFORK_TEST_WRAPPER:-}		# a command line: unquoted where used

if [ ! -x "$TARGET" ] || [ ! -r "$SEED" ] || [ -z "$CASE" ]; then
	echo "usage: $0 TARGET SEEDS CASE [EXPECT_ODFORK ODFORK_RUN]" >&2
	exit 1
fi

T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
# The crashes we cause leave no core files (dash and bash have -c).
# shellcheck disable=SC3045
ulimit -c 0
printf 'at 1\nhas 64\nODF!\n' >"$T/magic"
printf 'ODF?\nODFx\nODF\n' >"$T/near"

fail() {
	echo "FAIL ($CASE): $*" >&2
	cat "$T/out" "$T/err" >&2 2>/dev/null
	exit 1
}

# run STATUS CMD...: run it, expecting exit status STATUS.
run() {
	want=$1
	shift
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	[ "$rc" -eq "$want" ] || fail "$* exited with $rc, expected $want"
}

case $CASE in
normal)
	run 0 $W "$TARGET" --state-mib $MIB "$SEED"
	grep -q '^fuzz-target: 5 lines, 141 hits' "$T/out" || fail "bad result"
	run 0 $W "$TARGET" --state-mib $MIB <"$SEED"
	grep -q '^fuzz-target: 5 lines, 141 hits' "$T/out" || fail "bad result"
	run 0 $W "$TARGET" --state-mib $MIB "$T/near"
	run 2 $W "$TARGET" --state-mib 0 "$SEED"
	;;
magic)
	# 128 + SIGABRT (6), as the shell reports a death by signal.
	run 134 $W "$TARGET" --state-mib $MIB "$T/magic"
	run 134 $W "$TARGET" --state-mib $MIB <"$T/magic"
	;;
replay)
	run 3 $W "$TARGET" --state-mib $MIB --replay "$SEED" "$T/magic" "$SEED"
	[ "$(grep -c 'exit status 0' "$T/out")" -eq 2 ] ||
		fail "seeds did not pass"
	grep -q "magic: CRASH, signal 6" "$T/out" || fail "crash not reported"
	;;
kernel)
	if [ ! -x "$ODFORK_RUN" ] || [ ! -r "$EXPECT_ODFORK" ]; then
		fail "needs EXPECT_ODFORK and ODFORK_RUN"
	fi
	# Plain fork() in the target, on demand through odfork-run.
	sh "$EXPECT_ODFORK" 3 3 "$ODFORK_RUN" --require -- "$TARGET" \
		--state-mib 64 --replay "$SEED" "$T/magic" "$SEED"
	exit $?
	;;
*)
	echo "$0: unknown case $CASE" >&2
	exit 1
	;;
esac
echo "PASS ($CASE)"
