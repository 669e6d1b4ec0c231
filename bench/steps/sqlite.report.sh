#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# The sqlite section of the report (see report-lib.sh): fork and total
# times per test by mode, and the checks.  The issue sets this workload no
# target.
. "$(dirname "$0")/report-lib.sh"
report_csv sqlite-summary.csv

echo "## SQLite: a fork-per-test harness with fork and on-demand fork"
echo
echo "\`sqlite-harness\`, SQLite $(step_info sqlite sqlite): an in-memory" \
     "database of $(step_info sqlite mib) MiB;"
echo "$(step_info sqlite tests) test cases (indexed range queries, updates," \
     "deletes in turn), each run in a \`fork()\`"
echo "child, then each in an \`odfork()\` child (raw syscalls); the child"
echo "does its work and exits; the parent checks at the end that its"
echo "database did not change.  Fork: the call until it returns in the"
echo "parent; total: the call until \`waitpid()\` returns (the child's work"
echo "and exit included).  Microseconds, except the sum; every test is in"
echo "\`sqlite.csv\`."
echo
echo "| mode | tests | DB MiB | fork min | fork median | total min |" \
     "total median | sum of totals (ms) | tables shared per fork |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
awk -F, 'NR > 1 {
	printf "| %s | %s | %.0f | %s | %s | %s | %s | %s | %s |\n",
		$1, $2, $3 / 1048576, $4, $5, $6, $7, $8, $9
	fn[$1] = $4; fm[$1] = $5; tm[$1] = $7; ts[$1] = $8
}
END {
	if (!fm["odfork"] || !tm["odfork"] || !ts["odfork"])
		exit
	printf "\nfork / odfork: fork time (medians) **%.1fx**, (minimums)" \
	       " %.1fx; total time per test (medians) **%.2fx**, whole run" \
	       " %.2fx.\n", fm["fork"] / fm["odfork"], fn["fork"] / fn["odfork"],
	       tm["fork"] / tm["odfork"], ts["fork"] / ts["odfork"]
}' "$CSV"
echo
checks sqlite
