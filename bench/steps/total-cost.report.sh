#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# The total-cost section of the report (see report-lib.sh): Fig. 8 as
# tables and a plot, and its target.
. "$(dirname "$0")/report-lib.sh"
report_csv total-cost.csv

echo "## Total cost: fork + the child's accesses (Fig. 8)"
echo
runs=$(awk -F, 'NR == 2 { print $5 }' "$CSV")
mem=$(awk -F, "$AWK_LIB"'NR == 2 { print size($2) }' "$CSV")
echo "\`total-cost\`: $runs runs per mode and mix on $mem of 4 KiB pages;"
echo "the time from just before the fork to the end of the child's accesses"
echo "(the first X% of the pages, W% of them written, spread evenly over"
echo "them; the rest read), not the child's exit.  The parent never writes."
echo "odfork / fork of the medians, rows X (accessed), columns W (written):"
echo

awk -F, '
NR == 1 { next }
{
	if (!($3 in sa)) { sa[$3] = 1; acc[++na] = $3 }
	if (!($4 in sw)) { sw[$4] = 1; wr[++nw] = $4 }
	med[$1, $3, $4] = $7
}
END {
	printf "| accessed \\ written |"
	for (j = 1; j <= nw; j++) printf " %s%% |", wr[j]
	printf "\n|---|"
	for (j = 1; j <= nw; j++) printf "---:|"
	printf "\n"
	for (i = 1; i <= na; i++) {
		printf "| %s%% |", acc[i]
		for (j = 1; j <= nw; j++) {
			f = med["fork", acc[i], wr[j]]
			o = med["odfork", acc[i], wr[j]]
			r = "-"
			if (f != "" && o != "" && f > 0)
				r = sprintf("%.2f", o / f)
			printf " %s |", r
		}
		printf "\n"
	}
}' "$CSV"

echo
echo "Milliseconds (medians, with the minimums in parentheses):"
echo
awk -F, '
function ms(v) { return v == "" ? "-" : sprintf("%.1f", v / 1000) }
NR == 1 { next }
{
	k = $3 "," $4
	if (!(k in seen)) { seen[k] = 1; key[++n] = k }
	min[$1, k] = $6; med[$1, k] = $7; cp[$1, k] = $9
}
END {
	print "| accessed | written | fork | odfork | odfork / fork" \
	      " | tables copied per odfork run |"
	print "|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= n; i++) {
		k = key[i]; split(k, aw, ",")
		f = med["fork", k]; o = med["odfork", k]
		r = "-"
		if (f != "" && o != "" && f > 0)
			r = sprintf("%.2f", o / f)
		printf "| %s%% | %s%% | %s (%s) | %s (%s) | %s | %s |\n",
			aw[1], aw[2], ms(f), ms(min["fork", k]), ms(o),
			ms(min["odfork", k]), r, cp["odfork", k]
	}
}' "$CSV"

fm=$(awk -F, '$1 == "fork" && $3 == 100 && $4 == 100 { print $7 }' "$CSV")
om=$(awk -F, '$1 == "odfork" && $3 == 100 && $4 == 100 && $5 > 0 {
	print $7 }' "$CSV")
what="write-everything total cost of odfork <= 1.05x fork's"
if [ -n "$fm" ] && [ -n "$om" ]; then
	r=$(awk -v a="$om" -v b="$fm" 'BEGIN { printf "%.3f", a / b }')
	v=$(awk -v r="$r" 'BEGIN { print (r <= 1.05 ? "met" : "missed (" \
		sprintf("%.1f%%", 100 * (r - 1.05) / 1.05) " over)") }')
	target "$what" "${r}x (medians: $om / $fm us)" "$v"
else
	target "$what"
fi

echo
plot total-cost <<GP
set title 'fork + access X% of the memory (Fig. 8)'
set xlabel 'memory accessed by the child (%)'
set ylabel 'fork + accesses (ms)'
set key top left
set grid
set xrange [-5:105]
d(m, w) = sprintf("< awk -F, '\$1 == \"%s\" && \$4 == %d' '$CSV'", m, w)
plot for [w in "0 25 50 75 100"] d('fork', w+0) using 3:(\$7/1000) \
	with linespoints dt 2 lc (w/25+1) title sprintf('fork, %s%% writes', w), \
     for [w in "0 25 50 75 100"] d('odfork', w+0) using 3:(\$7/1000) \
	with linespoints lw 2 lc (w/25+1) title sprintf('odfork, %s%% writes', w)
GP
