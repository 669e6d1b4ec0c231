#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# The reclaim section of the report (see report-lib.sh) and its target.
. "$(dirname "$0")/report-lib.sh"
report_csv reclaim.csv

echo "## Reclaim after fork and odfork"
echo
echo "\`reclaim\`: a process in its own memory cgroup writes every page of"
echo "a private anonymous region (4 KiB pages), forks a child that only"
echo "waits, and writes 3/4 of the region's size to memory.reclaim once"
echo "(zram swap).  MiB per second: what memory.current lost over the time"
echo "of that write; reclaimed: of what was asked.  After odfork the pages"
echo "are reached through the shared tables (tables shared per fork)."
echo

awk -F, "$AWK_LIB"'
NR == 1 { next }
{
	if (!hdr++) {
		print "| mode | size | runs | min MiB/s | median MiB/s" \
		      " | max MiB/s | reclaimed (median) | tables shared/fork |"
		print "|---|---:|---:|---:|---:|---:|---:|---:|"
	}
	printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, size($2),
		$3, cell($4), cell($5), cell($6), cell($7 == "" ? "" : $7 "%"),
		$8
}' "$CSV"

# median MODE
median() {
	awk -F, -v m="$1" '$1 == m && $3 > 0 { print $5 }' "$CSV"
}

f=$(median fork)
o=$(median odfork)
what="memory.reclaim after odfork >= 0.9x the MiB/s after fork"
if [ -n "$f" ] && [ -n "$o" ]; then
	r=$(awk -v a="$o" -v b="$f" 'BEGIN { printf "%.2f", a / b }')
	v=$(awk -v r="$r" 'BEGIN { print (r >= 0.9 ? "met" : "missed") }')
	target "$what" "${r}x (medians: odfork $o / fork $f MiB/s)" "$v"
else
	target "$what"
fi
