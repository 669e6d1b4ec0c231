# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
# shellcheck shell=sh
#
# Sourced by the workload steps in the guest (redis, afl, sqlite; see
# bench/README.md, "Steps"), which set STEP to their name first.  They run
# ordinary programs and verify what those did: each verification is a
# "PASS ..." or "FAIL ..." line of STEP-checks.txt, and a failed one makes
# the step exit 1 at the end, after its results are written.
#
# Everything the measured processes write goes to BENCH_TMP, on the
# guest's tmpfs: I/O on the 9p share pins user pages while it runs (a
# table that maps a pinned page is copied at fork, odfork(7)).  Only cp
# writes to BENCH_OUT, at the end (gl_finish).

# A failed command is a check's business, not the end of the step.
set +e
set -u

gl_checks=$BENCH_TMP/$STEP-checks.txt
gl_info=$BENCH_TMP/$STEP-info.txt
gl_failed=0
: >"$gl_checks"
: >"$gl_info"

log() { echo "$STEP: $*" >&2; }

# check STATUS MESSAGE...: PASS when STATUS is 0.
check() {
	gl_st=$1
	shift
	if [ "$gl_st" = 0 ]; then
		echo "PASS $*" >>"$gl_checks"
	else
		echo "FAIL $*" >>"$gl_checks"
		log "FAIL $*"
		gl_failed=1
	fi
}

# vmstat NAME: a /proc/vmstat counter.
vmstat() { awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat; }

# record KEY VALUE...: a "KEY: VALUE" line of STEP-info.txt, for the
# report.
record() {
	gl_key=$1
	shift
	echo "$gl_key: $*" >>"$gl_info"
}

# need PROGRAM...: skip the step (exit 77) when one is not installed.
need() {
	for gl_p; do
		command -v "$gl_p" >/dev/null && continue
		log "$gl_p is not installed (tools/install-deps.sh): skipped"
		exit 77
	done
}

# gl_finish FILE...: copy the files, the checks and the info into
# BENCH_OUT (a missing file is a failed check), print the checks; exit 1
# when one failed.
gl_finish() {
	for gl_f; do
		if [ -s "$gl_f" ]; then
			cp "$gl_f" "$BENCH_OUT/"
		else
			check 1 "the step wrote $(basename "$gl_f")"
		fi
	done
	cp "$gl_checks" "$gl_info" "$BENCH_OUT/" || exit 1
	cat "$gl_checks" >&2
	exit $gl_failed
}
