# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
# shellcheck shell=sh
#
# Helpers for the shell tests of the benchmark programs (sourced after
# tests/cmdtest.sh): what the program's header line says about odfork(2),
# what the kernel offers, and the checks every program shares.  The
# sourcing script sets NAME, the program's name.

# The header (stderr, or stdout with --table) has HEADER-PATTERN.
expect_header() {
	cat "$T/out" "$T/err" | grep -q -e "^$NAME: $1" ||
		fail "no header line '$1'"
}

# The kernel's odfork(2) as the program sees it, from its header.
has_odfork() {
	cat "$T/out" "$T/err" | grep -q "^$NAME: .*odfork: available$"
}

# THP as the kernel offers it.
has_thp() {
	[ -r /sys/kernel/mm/transparent_hugepage/enabled ] &&
		! grep -q '\[never\]' /sys/kernel/mm/transparent_hugepage/enabled
}

# The series adds vm.odfork with the syscall: the probe must agree.
check_probe() {
	if [ -e /proc/sys/vm/odfork ]; then
		has_odfork || fail "odfork(2) unavailable with vm.odfork there"
	else
		has_odfork && fail "odfork(2) available without vm.odfork"
		expect_header 'odfork unavailable: syscall'
	fi
}

# After a run with --require-odfork: exit 0 where odfork(2) is there,
# else exit 3 with nothing on stdout.
expect_required() {
	check_probe
	if has_odfork; then
		expect_rc 0
	else
		expect_rc 3
		[ ! -s "$T/out" ] || fail "output despite missing odfork(2)"
	fi
}

# After a run with bad arguments: exit 2, the usage on stderr only.
expect_usage_error() {
	expect_rc 2
	expect_no_out
	expect_err 'Usage:'
}
