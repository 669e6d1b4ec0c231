#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Run by bench/run.sh when fork-latency ran in several boots (see
# "# bench-boots" in fork-latency.guest.sh): writes RESULTS_DIR/
# fork-latency.csv from every fork-latency.bootN.csv there, one row per mode
# and size as the program writes it, with runs summed, the minimum of the
# minimums, the maximum of the maximums and, as the median, the median of
# the boots' medians (the middle one of an odd count, the mean of the two
# middle ones of an even count).  A tables-shared or THP column that differs
# between boots lists each boot's value, joined with "/".
#
#   fork-latency.merge.sh RESULTS_DIR
set -eu

res=${1:?usage: fork-latency.merge.sh RESULTS_DIR}
set -- "$res"/fork-latency.boot*.csv
[ -s "$1" ] || { echo "fork-latency.merge.sh: no $res/fork-latency.boot*.csv" >&2; exit 1; }

awk -F, '
function median(list, n,    v, i, j, t) {
	n = split(list, v, " ")
	for (i = 2; i <= n; i++)		# insertion sort, n is the boots
		for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
		}
	return n % 2 ? v[(n + 1) / 2] : sprintf("%.1f", (v[n / 2] + v[n / 2 + 1]) / 2)
}
# The column of every boot so far (ALL), or one value while they agree.
function same(one, all, new) { return one == new ? one : all "/" new }
FNR == 1 { if (NR == 1) print; next }
{
	k = $1 SUBSEP $2
	if (!(k in runs)) {
		order[++n] = k; mode[k] = $1; size[k] = $2
		runs[k] = 0; min[k] = ""; max[k] = ""
		shared[k] = sh_all[k] = $7; huge[k] = hu_all[k] = $8
	} else {
		shared[k] = same(shared[k], sh_all[k], $7)
		huge[k] = same(huge[k], hu_all[k], $8)
		sh_all[k] = sh_all[k] "/" $7; hu_all[k] = hu_all[k] "/" $8
	}
	if ($3 + 0 == 0)		# not measured in this boot
		next
	runs[k] += $3
	if (min[k] == "" || $4 + 0 < min[k] + 0) min[k] = $4
	if (max[k] == "" || $6 + 0 > max[k] + 0) max[k] = $6
	med[k] = med[k] " " $5
}
END {
	for (i = 1; i <= n; i++) {
		k = order[i]
		if (!runs[k])
			printf "%s,%s,0,,,,%s,\n", mode[k], size[k], shared[k]
		else
			printf "%s,%s,%d,%s,%s,%s,%s,%s\n", mode[k], size[k],
				runs[k], min[k], median(med[k]), max[k],
				shared[k], huge[k]
	}
}' "$@" > "$res/fork-latency.csv"
