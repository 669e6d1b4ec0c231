#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# The fork-latency section of the report (see report-lib.sh): the table,
# its targets and the Fig. 7 plot.
. "$(dirname "$0")/report-lib.sh"
report_csv fork-latency.csv

echo "## fork vs odfork latency by size (Fig. 7)"
echo
echo "\`fork-latency\`: microseconds from the call to its return in the"
echo "parent; 4 KiB pages (MADV_NOHUGEPAGE) for fork and odfork (all forks"
echo "of one mode, then the other's); \"fork THP\" forks the same size populated"
echo "as transparent huge pages (MADV_HUGEPAGE), a reference: fork() of a"
echo "THP copies one PMD entry per 2 MiB, as odfork does for 4 KiB pages."
boots=$(ls "$RES"/fork-latency.boot*.csv 2>/dev/null | wc -l)
if [ "$boots" -gt 1 ]; then
	echo "$(awk -F, 'NR == 2 { print $3 }' "$CSV") forks per mode and size"
	echo "in $boots boots of the same kernel, the step alone in each boot after"
	echo "the first; a median is the median of the boots' medians, a minimum"
	echo "the least of all (per boot below the plot)."
else
	echo "$(awk -F, 'NR == 2 { print $3 }' "$CSV") forks per mode and size."
fi
echo

awk -F, "$AWK_LIB"'
NR == 1 { next }
{
	if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
	min[$1, $2] = $4; med[$1, $2] = $5; shared[$1, $2] = $7
	huge[$1, $2] = $8
}
END {
	print "| size | fork min | fork median | odfork min | odfork median" \
	      " | fork/odfork (median) | fork/odfork (min)" \
	      " | tables shared per odfork | fork THP min | fork THP median" \
	      " | THP huge |"
	print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= n; i++) {
		s = order[i]
		printf "| %s%s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			size(s), i == 1 ? " (empty)" : "",
			cell(min["fork", s]), cell(med["fork", s]),
			cell(min["odfork", s]), cell(med["odfork", s]),
			cell(ratio(med["fork", s], med["odfork", s])),
			cell(ratio(min["fork", s], min["odfork", s])),
			cell(shared["odfork", s]),
			cell(min["fork-thp", s]), cell(med["fork-thp", s]),
			huge["fork-thp", s] == "" ? "-" : huge["fork-thp", s] "%"
	}
}' "$CSV"

# value MODE SIZE COLUMN
value() {
	awk -F, -v m="$1" -v s="$2" -v c="$3" '$1 == m && $2 == s { print $c }' \
		"$CSV"
}

G=1073741824

# boot_csvs: each boot's CSV, in boot order (none after a one-boot run).
boot_csvs() {
	[ "$boots" -gt 1 ] && ls "$RES"/fork-latency.boot*.csv | sort -V
}

# over: how the medians were made, for the targets' cells.
if [ "$boots" -gt 1 ]; then
	over="medians of $boots boots' medians"
else
	over="medians"
fi

fm=$(value fork $G 5)
om=$(value odfork $G 5)
if [ -n "$fm" ] && [ -n "$om" ]; then
	r=$(awk -v a="$fm" -v b="$om" 'BEGIN { printf "%.1f", a / b }')
	rmin=$(awk -v a="$(value fork $G 4)" -v b="$(value odfork $G 4)" \
		'BEGIN { printf "%.1f", a / b }')
	v=$(awk -v r="$r" 'BEGIN { print (r >= 60 ? "met" : "missed (" \
		sprintf("%.0f%%", 100 * (60 - r) / 60) " short)") }')
	target "odfork(1 GiB) >= 60x faster than fork(1 GiB)" \
		"${r}x ($over: $fm / $om us); ${rmin}x (mins)" "$v"
else
	target "odfork(1 GiB) >= 60x faster than fork(1 GiB)"
fi
lo=$(value odfork 67108864 5)
hi=$(value odfork $((4 * G)) 5)
if [ -n "$lo" ] && [ -n "$hi" ]; then
	r=$(awk -v a="$hi" -v b="$lo" 'BEGIN { printf "%.2f", a / b }')
	rmin=$(awk -v a="$(value odfork $((4 * G)) 4)" \
		-v b="$(value odfork 67108864 4)" 'BEGIN { printf "%.2f", a / b }')
	v=$(awk -v r="$r" 'BEGIN { print (r <= 1.5 ? "met" : "missed (" \
		sprintf("%.0f%%", 100 * (r - 1.5) / 1.5) " over)") }')
	target "odfork(4 GiB) <= 1.5x odfork(64 MiB)" \
		"${r}x ($over: $hi / $lo us); ${rmin}x (mins)" "$v"
else
	target "odfork(4 GiB) <= 1.5x odfork(64 MiB)"
fi

# per_boot: each boot's medians and ratios for the two targets.
per_boot() {
	echo "| boot | fork(1 GiB) median | odfork(1 GiB) median | fork/odfork | odfork(64 MiB) median | odfork(4 GiB) median | 4 GiB / 64 MiB |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for f in $(boot_csvs); do
		CSV=$f
		f=${f##*/fork-latency.boot}
		awk -v b="${f%.csv}" -v f1="$(value fork $G 5)" \
			-v o1="$(value odfork $G 5)" \
			-v o64="$(value odfork 67108864 5)" \
			-v o4="$(value odfork $((4 * G)) 5)" "$AWK_LIB"'
		BEGIN {
			printf "| %s | %s | %s | %s | %s | %s | %s |\n", b,
				cell(f1), cell(o1), cell(ratio(f1, o1)),
				cell(o64), cell(o4), cell(ratio(o4, o64))
		}'
	done
	CSV=$RES/fork-latency.csv
}

# The plot: medians as lines, minimums as points, both axes logarithmic.
awk -F, 'NR > 1 && $3 > 0 && $2 > 65536 {
	print $1 "," $2 / 1048576 "," $4 "," $5
}' "$CSV" > "$RES/fork-latency.dat"
echo
plot fork-latency <<GP
set title 'fork latency by memory size (Fig. 7)'
set xlabel 'memory (MiB)'
set ylabel 'latency (us)'
set logscale xy
set key top left
set grid
p(m) = sprintf("< awk -F, '\$1 == \"%s\"' '$RES/fork-latency.dat'", m)
plot p('fork') using 2:4 with linespoints lw 2 lc 1 title 'fork, median', \
     p('fork') using 2:3 with points pt 2 lc 1 title 'fork, min', \
     p('odfork') using 2:4 with linespoints lw 2 lc 2 title 'odfork, median', \
     p('odfork') using 2:3 with points pt 2 lc 2 title 'odfork, min', \
     p('fork-thp') using 2:4 with linespoints lw 2 dt 2 lc 3 title 'fork of THP memory, median', \
     p('fork-thp') using 2:3 with points pt 2 lc 3 title 'fork of THP memory, min'
GP
if [ "$boots" -gt 1 ]; then
	echo
	echo "Each boot:"
	echo
	per_boot
fi
