#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Run an example on the patched kernel and check that it forked on demand.
#
#   expect-odfork.sh MIN_FORKS STATUS COMMAND [ARGS...]
#
# Runs COMMAND and fails unless it exits with STATUS and the /proc/vmstat
# counter odfork_forks grew by at least MIN_FORKS meanwhile.  Exits 77
# (skipped) on a kernel without odfork.  The counter is global: meson runs
# the tests that use this script alone (is_parallel : false).

MIN=$1
STATUS=$2
if [ $# -lt 3 ]; then
	echo "usage: $0 MIN_FORKS STATUS COMMAND [ARGS...]" >&2
	exit 1
fi
shift 2

if [ ! -e /proc/self/odfork ]; then
	echo "SKIP: no /proc/self/odfork: the kernel lacks odfork"
	exit 77
fi

forks() {
	awk '$1 == "odfork_forks" { print $2; found = 1 }
	     END { if (!found) print "none" }' /proc/vmstat
}

before=$(forks)
if [ "$before" = none ]; then
	echo "FAIL: /proc/vmstat has no odfork_forks" >&2
	exit 1
fi
"$@"
rc=$?
after=$(forks)

if [ "$rc" -ne "$STATUS" ]; then
	echo "FAIL: $1 exited with $rc, expected $STATUS" >&2
	exit 1
fi
if [ $((after - before)) -lt "$MIN" ]; then
	echo "FAIL: odfork_forks went from $before to $after, expected at" \
	     "least $MIN on-demand forks (vm.odfork is" \
	     "$(cat /proc/sys/vm/odfork 2>/dev/null || echo unknown))" >&2
	exit 1
fi
echo "PASS: $((after - before)) on-demand forks (odfork_forks $before ->" \
     "$after)"
