#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# The afl section of the report (see report-lib.sh): executions of every
# afl-fuzz run, the checks and the exec/s target.
. "$(dirname "$0")/report-lib.sh"
report_csv afl.csv

state=$(step_info afl state_mib)
echo "## AFL++: fork-server executions with fork and on-demand fork"
echo
echo "Debian's afl++ $(step_info afl afl++), afl-fuzz on"
echo "examples/fuzz-target built with $(step_info afl compiler), a $state MiB"
echo "state built before \`__AFL_INIT()\`; $(step_info afl rounds) afl-fuzz" \
     "run(s) of $(step_info afl seconds) s per mode, alternating;"
echo "\"odfork\" is afl-fuzz under \`odfork-run --require\`, whose mode the"
echo "forkserver inherits.  execs/s: afl-fuzz's (fuzzer_stats, whole run,"
echo "the state's build included); steady: from plot_data, once the"
echo "forkserver is up (NA: the run was too short for two rows)."
echo
echo "| mode | round | execs | execs/s | steady execs/s |" \
     "on-demand forks | tables shared per exec |"
echo "|---|---:|---:|---:|---:|---:|---:|"
awk -F, 'NR > 1 {
	printf "| %s | %s | %s | %s | %s | %s | %.1f |\n",
		($1 == "plain" ? "fork" : "odfork"), $2, $5, $6, $7, $8,
		($5 > 0 ? $9 / $5 : 0)
}' "$CSV"

# "FORK ODFORK" mean execs/s, then the same of the steady rates, or NA.
means=$(awk -F, '
NR > 1 {
	e[$1] += $6; n[$1]++
	if ($7 != "NA") { st[$1] += $7; ns[$1]++ }
}
END {
	if (!n["plain"] || !n["odfork"])
		exit
	printf "%.1f %.1f", e["plain"] / n["plain"], e["odfork"] / n["odfork"]
	if (ns["plain"] && ns["odfork"])
		printf " %.1f %.1f\n", st["plain"] / ns["plain"],
			st["odfork"] / ns["odfork"]
	else
		print " NA NA"
}' "$CSV")
what="AFL++: exec/s higher with odfork (>= 512 MiB state)"
if [ -n "$means" ]; then
	# shellcheck disable=SC2086
	set -- $means
	r=$(awk -v a="$2" -v b="$1" \
		'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	echo
	printf 'Mean execs/s: fork %s, odfork %s: **%sx**' "$1" "$2" "$r"
	steady=
	if [ "$3" != NA ]; then
		rs=$(awk -v a="$4" -v b="$3" \
			'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
		printf '; steady: fork %s, odfork %s: **%sx**' "$3" "$4" "$rs"
		steady="; steady ${rs}x"
	fi
	echo .
	v=$(awk -v a="$2" -v b="$1" 'BEGIN { print (a > b ? "met" : "missed") }')
	m="${r}x (mean execs/s: fork $1, odfork $2$steady)"
	target "$what" "$m, $state MiB state" "$v"
else
	target "$what"
fi
echo
checks afl
