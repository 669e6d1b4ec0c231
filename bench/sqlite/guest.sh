#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# The guest half of the SQLite benchmark (bench/sqlite/run.sh boots the VM
# and runs this as root): sets vm.odfork to 1 and runs sqlite-harness,
# whose test cases each run in a fork() and in an odfork() of a process
# holding a large in-memory database.
#
#   guest.sh --out DIR --harness PATH [--mib N] [--tests N]
#
# Writes into DIR: sqlite.csv (every test: mode,test,kind,fork_us,total_us),
# sqlite-summary.csv (per mode, see sqlite-harness.c) and sqlite-checks.txt
# (what was verified, one "PASS ..."/"FAIL ..." a line).  Exit status: 0,
# 1 when the harness or a check failed, 2 on a bad command line.
#
# The harness writes its CSVs to the guest's tmpfs: a process that ever
# wrote to a file on the 9p share has pinned pages and forks classically
# from then on (odfork(7)).

set -u

out=
harness=
mib=256
tests=30
tmp=/tmp/sqlite-bench

die() { echo "sqlite guest: error: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	--harness) harness=$2; shift 2 ;;
	--mib) mib=$2; shift 2 ;;
	--tests) tests=$2; shift 2 ;;
	*) die "unknown argument '$1'" ;;
	esac
done
[ -d "$out" ] || die "--out DIR is needed"
[ -x "$harness" ] || die "--harness PATH is needed"

rm -rf "$tmp"
mkdir -p "$tmp"
checks=$tmp/sqlite-checks.txt
failed=0

check() {	# check STATUS MESSAGE...: PASS when STATUS is 0
	st=$1
	shift
	if [ "$st" = 0 ]; then
		echo "PASS $*" >>"$checks"
	else
		echo "FAIL $*" >>"$checks"
		failed=1
	fi
}

echo 1 >/proc/sys/vm/odfork
"$harness" --mib "$mib" --tests "$tests" --csv "$tmp/sqlite.csv" \
	--summary "$tmp/sqlite-summary.csv" --table --require-odfork
check $? "every test passed in its fork and odfork child, and the" \
	"parent's database did not change (sqlite-harness exit status)"
# tables_shared_per_fork: the 9th column of the summary.
awk -F, '$1 == "odfork" && $9 + 0 > 0 { ok = 1 } END { exit !ok }' \
	"$tmp/sqlite-summary.csv" 2>/dev/null
check $? "odfork shared page tables (odfork_tables_shared moved)"
awk -F, '$1 == "fork" && $9 == "0.0" { ok = 1 } END { exit !ok }' \
	"$tmp/sqlite-summary.csv" 2>/dev/null
check $? "fork shared none (odfork_tables_shared did not move)"
cp "$tmp"/sqlite*.csv "$checks" "$out/" 2>/dev/null
cat "$checks" >&2
exit $failed
