# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Helpers for the shell tests of a command (sourced): run it keeping its
# output, check the exit status and what it printed, fail with both
# outputs shown.  The sourcing script sets T (a temporary directory it
# removes) and CASE, and may set TEST_NAME, which prefixes CASE in
# messages.

# fail MSG...: the test fails, with the last command and its output.
fail() {
	echo "FAIL (${TEST_NAME:+$TEST_NAME }$CASE): $*" >&2
	echo "--- command: $CMD" >&2
	echo "--- stdout:" >&2
	cat "$T/out" >&2
	echo "--- stderr:" >&2
	cat "$T/err" >&2
	exit 1
}

# run CMD...: run it, keeping stdout, stderr and the exit status ($rc).
run() {
	CMD="$*"
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
}

expect_rc() {
	[ "$rc" -eq "$1" ] || fail "exit status $rc, expected $1"
}

expect_out() {
	grep -q -e "$1" "$T/out" || fail "stdout lacks '$1'"
}

expect_err() {
	grep -q -e "$1" "$T/err" || fail "stderr lacks '$1'"
}

expect_no_out() {
	[ ! -s "$T/out" ] || fail "stdout is not empty"
}

expect_no_err() {
	[ ! -s "$T/err" ] || fail "stderr is not empty"
}
