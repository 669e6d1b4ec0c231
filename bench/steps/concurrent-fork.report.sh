#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# The concurrent-fork section of the report (see report-lib.sh).
. "$(dirname "$0")/report-lib.sh"
report_csv concurrent-fork.csv

n=$(awk -F, 'NR > 1 { if ($2 > n) n = $2 } END { print n }' "$CSV")
mem=$(awk -F, "$AWK_LIB"'NR == 2 { print size($3) }' "$CSV")
echo "## Concurrent forkers"
echo
echo "\`concurrent-fork\`: $n processes with $mem each (4 KiB pages); in"
echo "each round they are woken together and each forks once (the fork"
echo "rounds, then the odfork ones); one forker alone first, as the baseline."
echo "Microseconds from the call to its return in the forking process, over"
echo "all forkers' samples.  The guest has 2 vCPUs: with more forkers, one"
echo "waits for a CPU, inside its fork or before it."
echo
awk -F, '
NR == 1 { next }
{ row[++n] = $0; med[$1, $2] = $6; min[$1, $2] = $5 }
END {
	print "| mode | forkers | samples | min | median | max" \
	      " | fork/odfork (median) | vs. 1 forker (median)" \
	      " | tables shared per fork |"
	print "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= n; i++) {
		split(row[i], f, ",")
		r = "-"; s = "-"
		if (f[1] == "odfork" && med["odfork", f[2]] > 0)
			r = sprintf("%.1f", med["fork", f[2]] / med["odfork", f[2]])
		if (f[6] != "" && med[f[1], 1] > 0)
			s = sprintf("%.2f", f[6] / med[f[1], 1])
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			f[1], f[2], f[4], f[5] == "" ? "-" : f[5],
			f[6] == "" ? "-" : f[6], f[7] == "" ? "-" : f[7],
			r, s, f[8]
	}
}' "$CSV"
