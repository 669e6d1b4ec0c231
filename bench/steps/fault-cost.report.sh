#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# The fault-cost section of the report (see report-lib.sh): Table 1 and its
# target.
. "$(dirname "$0")/report-lib.sh"
report_csv fault-cost.csv

echo "## Fault costs (Table 1)"
echo
echo "\`fault-cost\`: one access into each 2 MiB range of a populated"
echo "4 KiB-page region, timed alone (CLOCK_MONOTONIC around the access),"
echo "in the parent while the child waits; the THP case on fresh"
echo "MADV_HUGEPAGE memory each round.  Microseconds; \"x fork-cow\" is the"
echo "median over fork-cow's median.  Minor faults, tables copied and tables"
echo "reused are per sample (getrusage, /proc/vmstat), the proof that each"
echo "case did what it says."
echo

awk -F, "$AWK_LIB"'
BEGIN {
	what["timer"] = "nothing (the two clock reads)"
	what["fork-read"] = "read after fork"
	what["fork-cow"] = "first write after fork: 4 KiB COW"
	what["thp-cow"] = "first write after fork, THP memory"
	what["odfork-read"] = "read after odfork"
	what["odfork-copy"] = "first write after odfork: copies the table (worst case)"
	what["odfork-cow"] = "write after odfork, table already copied: 4 KiB COW"
	what["odfork-reuse"] = "first write after the odfork child exited: reuse"
}
NR == 1 { next }
{ row[++n] = $0; med[$1] = $4 }
END {
	print "| case | access | samples | min | median | max" \
	      " | x fork-cow | minor faults | tables copied | tables reused" \
	      " | note |"
	print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	for (i = 1; i <= n; i++) {
		split(row[i], f, ",")
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			f[1], what[f[1]], f[2], cell(f[3]), cell(f[4]),
			cell(f[5]), cell(ratio(f[4], med["fork-cow"])),
			cell(f[6]), cell(f[7]), cell(f[8]), f[9]
	}
}' "$CSV"

# median CASE
median() {
	awk -F, -v c="$1" '$1 == c && $2 > 0 { print $4 }' "$CSV"
}

cow=$(median fork-cow)
copy=$(median odfork-copy)
timer=$(median timer)
if [ -n "$cow" ] && [ -n "$copy" ]; then
	r=$(awk -v a="$copy" -v b="$cow" 'BEGIN { printf "%.1f", a / b }')
	net=$(awk -v a="$copy" -v b="$cow" -v t="$timer" \
		'BEGIN { printf "%.1f", (a - t) / (b - t) }')
	v=$(awk -v r="$r" 'BEGIN { print (r <= 5 ? "met" : "missed (" \
		sprintf("%.0f%%", 100 * (r - 5) / 5) " over)") }')
	target "worst-case first-write fault <= 5x a classic COW fault" \
		"${r}x (medians: odfork-copy $copy / fork-cow $cow us)" "$v"
	echo
	echo "odfork-copy / fork-cow: ${r}x (medians), ${net}x without the" \
	     "timer's own ${timer} us."
else
	target "worst-case first-write fault <= 5x a classic COW fault"
fi
