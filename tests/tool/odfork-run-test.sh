#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Tests of odfork-run(1).
#
# Usage: odfork-run-test.sh ODFORK_RUN VERSION CASE
#
# Exit status: 0 pass, 1 fail, 77 skip (meson's convention).

TOOL=$1
VERSION=$2
CASE=$3

if [ ! -x "$TOOL" ] || [ -z "$VERSION" ] || [ -z "$CASE" ]; then
	echo "usage: $0 ODFORK_RUN VERSION CASE" >&2
	exit 1
fi

T=$(mktemp -d) || exit 1
SLEEPER=
cleanup() {
	[ -n "$SLEEPER" ] && kill "$SLEEPER" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# shellcheck source=tests/cmdtest.sh
. "$(dirname "$0")/../cmdtest.sh"

skip() {
	echo "SKIP ($CASE): $*"
	exit 77
}

expect_out_is() {
	[ "$(cat "$T/out")" = "$1" ] || fail "stdout is not '$1'"
}

expect_err_lines() {
	n=$(wc -l <"$T/err")
	[ "$n" -eq "$1" ] || fail "stderr has $n lines, expected $1"
}

# odfork-run's own failures exit 125 (env(1), timeout(1)).
EXIT_FAIL=125

# A bad command line: exit status 125, a reason and the usage on stderr
# only.
expect_usage_error() {
	expect_rc $EXIT_FAIL
	expect_no_out
	expect_err "$1"
	expect_err "^Usage: odfork-run"
}

fallback_env_set() {
	[ -n "$ODFORK_FORCE_FALLBACK" ] && [ "$ODFORK_FORCE_FALLBACK" != 0 ]
}

# The pid of a process that has exited and been reaped.
dead_pid() {
	sh -c 'exit 0' &
	pid=$!
	wait "$pid"
	echo "$pid"
}

case_help() {
	run "$TOOL" --help
	expect_rc 0
	expect_no_err
	expect_out "^Usage: odfork-run"
	expect_out "--require"
	grep -q -e "--no-inherit" "$T/out" && fail "stdout mentions --no-inherit"
	run "$TOOL" -h
	expect_rc 0
	expect_out "^Usage: odfork-run"
}

case_version() {
	run "$TOOL" --version
	expect_rc 0
	expect_no_err
	expect_out_is "odfork-run (odfork) $VERSION"
	run "$TOOL" -V
	expect_rc 0
	expect_out_is "odfork-run (odfork) $VERSION"
}

case_bad_option() {
	run "$TOOL" --no-such-option -- true
	expect_usage_error "unrecognized option"
	run "$TOOL" -Z true
	expect_usage_error "invalid option"
	run "$TOOL" --pid
	expect_usage_error "requires an argument"
}

case_no_program() {
	run "$TOOL"
	expect_usage_error "missing PROGRAM"
	run "$TOOL" -q --
	expect_usage_error "missing PROGRAM"
}

case_bad_mode() {
	for mode in bogus "" process+ 7x -1 99999999999; do
		run "$TOOL" --pid $$ --mode "$mode"
		expect_usage_error "unknown mode"
	done
	run "$TOOL" --pid $$ --set bogus
	expect_usage_error "unknown mode"
}

case_bad_pid() {
	for pid in 0 -5 abc 12x ""; do
		run "$TOOL" --pid "$pid"
		expect_usage_error "invalid pid"
	done
}

case_conflicts() {
	run "$TOOL" --mode off
	expect_usage_error "--mode needs --pid"
	run "$TOOL" --pid $$ true
	expect_usage_error "take no PROGRAM"
	run "$TOOL" --status true
	expect_usage_error "take no PROGRAM"
	run "$TOOL" --pid $$ --status
	expect_usage_error "exclude each other"
	run "$TOOL" --require --pid $$
	expect_usage_error "--require needs a PROGRAM or --status"
}

# --no-inherit was removed: an unknown option, and PROGRAM does not run.
case_no_inherit() {
	prog='echo ran > "$1"'
	run "$TOOL" --no-inherit -- sh -c "$prog" sh "$T/ran"
	expect_usage_error "unrecognized option.*--no-inherit"
	[ ! -e "$T/ran" ] || fail "PROGRAM ran despite an unknown option"
	run env ODFORK_FORCE_FALLBACK=1 "$TOOL" -q --no-inherit true
	expect_usage_error "unrecognized option.*--no-inherit"
	run "$TOOL" --no-inherit --pid $$
	expect_usage_error "unrecognized option.*--no-inherit"
}

# Without support: one warning line, and PROGRAM's own exit status.
case_fallback_warns() {
	run env ODFORK_FORCE_FALLBACK=1 "$TOOL" -- sh -c 'exit 7'
	expect_rc 7
	expect_no_out
	expect_err_lines 1
	expect_err "^odfork-run: warning: .*ODFORK_FORCE_FALLBACK.*running sh with plain fork()"
	[ -e /proc/self/odfork ] && return
	# An unpatched kernel, without the override.
	run env -u ODFORK_FORCE_FALLBACK "$TOOL" -- sh -c 'exit 7'
	expect_rc 7
	expect_err_lines 1
	expect_err "^odfork-run: warning: kernel has no on-demand fork support; running sh with plain fork()"
}

case_quiet() {
	run env ODFORK_FORCE_FALLBACK=1 "$TOOL" -q -- sh -c 'exit 7'
	expect_rc 7
	expect_no_out
	expect_no_err
	run env ODFORK_FORCE_FALLBACK=1 "$TOOL" --quiet sh -c 'echo hello'
	expect_rc 0
	expect_out_is hello
	expect_no_err
}

# --require must not run PROGRAM; the same command without it does.
case_require() {
	prog='echo ran > "$1"'
	run env ODFORK_FORCE_FALLBACK=1 "$TOOL" -q -- sh -c "$prog" sh "$T/ran"
	expect_rc 0
	[ -e "$T/ran" ] || fail "control: PROGRAM did not run without --require"
	rm -f "$T/ran"
	run env ODFORK_FORCE_FALLBACK=1 "$TOOL" --require -- sh -c "$prog" sh "$T/ran"
	expect_rc $EXIT_FAIL
	expect_err "not running sh (--require)"
	[ ! -e "$T/ran" ] || fail "PROGRAM ran despite --require"
	run env ODFORK_FORCE_FALLBACK=1 "$TOOL" -r -q -- sh -c "$prog" sh "$T/ran"
	expect_rc $EXIT_FAIL
	expect_err "not running sh"
	[ ! -e "$T/ran" ] || fail "PROGRAM ran despite -r"
}

# Options after PROGRAM belong to PROGRAM, with or without "--".
case_args() {
	run env ODFORK_FORCE_FALLBACK=1 "$TOOL" -q sh -c 'printf "%s|" "$@"' \
		x -q --require -- --pid
	expect_rc 0
	expect_out_is "-q|--require|--|--pid|"
	run env ODFORK_FORCE_FALLBACK=1 "$TOOL" -q -- sh -c 'exit 3' -q
	expect_rc 3
}

case_exec_fail() {
	run env ODFORK_FORCE_FALLBACK=1 "$TOOL" -q -- odfork-no-such-program-x
	expect_rc 127
	expect_err "odfork-no-such-program-x: No such file or directory"
	run env ODFORK_FORCE_FALLBACK=1 "$TOOL" -q -- "$T/missing/prog"
	expect_rc 127
	printf '#!/bin/sh\nexit 0\n' >"$T/noexec"
	chmod 644 "$T/noexec"
	run env ODFORK_FORCE_FALLBACK=1 "$TOOL" -q -- "$T/noexec"
	expect_rc 126
	expect_err "noexec: Permission denied"
}

case_dead_pid() {
	pid=$(dead_pid)
	[ -e "/proc/$pid" ] && skip "pid $pid was reused"
	run "$TOOL" --pid "$pid"
	[ "$rc" -ne 0 ] || fail "exit status 0 for a dead pid"
	expect_rc $EXIT_FAIL
	expect_no_out
	expect_err "^odfork-run: $pid: no such process"
	run "$TOOL" --pid "$pid" --mode process
	expect_rc $EXIT_FAIL
	expect_err "no such process"
}

# With the library's support disabled, --pid says so.
case_pid_no_support() {
	run env ODFORK_FORCE_FALLBACK=1 "$TOOL" --pid $$
	expect_rc $EXIT_FAIL
	expect_no_out
	expect_err "cannot read the mode of process $$: the kernel has no on-demand fork support"
	run env ODFORK_FORCE_FALLBACK=1 "$TOOL" --pid $$ --mode off
	expect_rc $EXIT_FAIL
	expect_err "cannot set the mode of process $$"
}

# The first line says whether forks share, and why not, in plain words;
# --require turns "no" into exit status 125.
case_status() {
	run "$TOOL" --status
	expect_rc 0
	expect_no_err
	head -n 1 "$T/out" | grep -q -e '^odfork: \(yes\|no\|unknown\): ' ||
		fail "the first line is not the verdict"
	verdict=$(head -n 1 "$T/out")
	run "$TOOL" --status --require
	case $verdict in
	"odfork: yes: "*) expect_rc 0 ;;
	*) expect_rc $EXIT_FAIL ;;
	esac
	[ "$(head -n 1 "$T/out")" = "$verdict" ] || fail "--require changed the verdict"
	run "$TOOL" --status
	expect_out "^kernel support: "
	expect_out "^vm.odfork: "
	expect_out "^mode: "
	expect_out "^counters:"
	if [ ! -e /proc/self/odfork ]; then
		expect_out "^odfork: no: kernel has no on-demand fork support$"
		expect_out "^kernel support: *none$"
		expect_out "^counters: *not available$"
	fi
	run env ODFORK_FORCE_FALLBACK=1 "$TOOL" -s
	expect_rc 0
	expect_out "^odfork: no: on-demand fork disabled by ODFORK_FORCE_FALLBACK$"
	expect_out "^kernel support: *none (fallback forced by ODFORK_FORCE_FALLBACK)$"
	expect_out "^mode: *not available"
	run env ODFORK_FORCE_FALLBACK=1 "$TOOL" -s -r
	expect_rc $EXIT_FAIL
	expect_no_err
}

# Mode of the shell PROGRAM runs, as /proc/<pid>/odfork shows it: $1 is
# odfork-run's options, $2 the shell's command ("; true" keeps a shell from
# exec'ing its last command).
expect_mode() {
	want=$1
	shift
	run "$@"
	expect_rc 0
	[ "$SYSCTL" = 0 ] || expect_no_err
	expect_out_is "$want"
}

expect_pid_mode() {
	[ "$(cat "/proc/$SLEEPER/odfork")" = "$1" ] ||
		fail "/proc/$SLEEPER/odfork is not $1"
}

kernel_run() {
	expect_mode 6 "$TOOL" -- sh -c 'cat /proc/$$/odfork; true'
	expect_mode 6 "$TOOL" -- \
		sh -c 'sh -c "cat /proc/\$\$/odfork; true"; true'
	# An exec in PROGRAM keeps process+inherit.
	expect_mode 6 "$TOOL" -- sh -c 'exec cat /proc/$$/odfork'
}

kernel_pid() {
	sleep 600 &
	SLEEPER=$!
	for step in "off:off (0)" "next:next (1)" "0:off (0)" \
		    "process:process (2)" "inherit:process+inherit (6)" \
		    "off:off (0)" "process+inherit:process+inherit (6)" \
		    "0x2:process (2)"; do
		run "$TOOL" --pid "$SLEEPER" --mode "${step%%:*}"
		expect_rc 0
		expect_out_is "$SLEEPER: ${step#*:}"
	done
	expect_pid_mode 2
	run "$TOOL" --pid "$SLEEPER"
	expect_rc 0
	expect_out_is "$SLEEPER: process (2)"
	run "$TOOL" --pid "$SLEEPER" --mode garbage
	expect_usage_error "unknown mode"
	expect_pid_mode 2
	run "$TOOL" --pid "$SLEEPER" --set 4
	expect_rc $EXIT_FAIL
	expect_err "invalid mode"
	expect_pid_mode 2
}

# An unprivileged caller cannot set the mode of a root-owned process.
kernel_denied() {
	if [ "$(id -u)" = 0 ]; then
		if ! command -v setpriv >/dev/null; then
			echo "note: no setpriv, unprivileged case not run"
			return
		fi
		set -- setpriv --reuid=65534 --regid=65534 --clear-groups
		target=$SLEEPER
	else
		[ "$(stat -c %u /proc/1)" = 0 ] || return
		# CapEff bit 19 is CAP_SYS_PTRACE: then we could change pid 1.
		capeff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
		[ $((0x$capeff >> 19 & 1)) = 0 ] || return
		set --
		target=1
	fi
	run "$@" "$TOOL" --version
	if [ "$rc" -ne 0 ]; then
		echo "note: odfork-run does not run unprivileged here, case not run"
		return
	fi
	run "$@" "$TOOL" --pid "$target" --mode off
	expect_rc $EXIT_FAIL
	expect_no_out
	expect_err "cannot set the mode of process $target"
	expect_err "CAP_SYS_PTRACE"
	expect_err "process $target runs as uid 0, you are uid"
	[ "$target" = 1 ] || expect_pid_mode 2
}

case_kernel() {
	[ -e /proc/self/odfork ] || skip "the kernel has no odfork support"
	fallback_env_set && skip "ODFORK_FORCE_FALLBACK is set"
	SYSCTL=$(cat /proc/sys/vm/odfork)
	run "$TOOL" --status
	expect_rc 0
	if [ "$SYSCTL" = 0 ]; then
		expect_out "^odfork: no: vm.odfork is 0: forks copy tables$"
	else
		expect_out "^odfork: yes: forks share page tables on demand$"
	fi
	expect_out "^kernel support: *syscall prctl procfs sysctl$"
	expect_out "^vm.odfork: *$SYSCTL "
	expect_out "^  odfork_forks [0-9]"
	kernel_run
	kernel_pid
	kernel_denied
}

case "$CASE" in
help | version | bad-option | no-inherit | no-program | bad-mode | \
bad-pid | conflicts | fallback-warns | quiet | require | args | exec-fail | \
dead-pid | pid-no-support | status | kernel)
	"case_$(echo "$CASE" | tr - _)"
	;;
*)
	echo "unknown case '$CASE'" >&2
	exit 1
	;;
esac
echo "PASS ($CASE)"
exit 0
