# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
# shellcheck shell=sh
#
# Sourced by the steps' report scripts (NAME.report.sh RESULTS_DIR, run by
# bench/report.sh with BENCH_REL, the results directory as the report links
# it, and BENCH_TARGETS, the file of target rows).

RES=$1
[ -d "$RES" ] || { echo "usage: $0 RESULTS_DIR" >&2; exit 2; }
REL=${BENCH_REL:-$RES}
TARGETS=${BENCH_TARGETS:-/dev/null}

# report_csv FILE: CSV=RES/FILE, or exit 0 (the report leaves the step's
# section out) when the step wrote no rows there.
report_csv() {
	CSV=$RES/$1
	[ -s "$CSV" ] || exit 0
}

# target WHAT MEASURED VERDICT: one row of the report's targets table;
# VERDICT is "met", "missed" or empty (not measured in this run).
target() {
	printf '| %s | %s | %s |\n' "$1" "${2:--}" \
		"${3:-not measured in this run}" >> "$TARGETS"
}

# plot NAME < GNUPLOT-SCRIPT: RES/NAME.png, linked from the report; a
# sentence instead when gnuplot is missing.
plot() {
	if ! command -v gnuplot >/dev/null; then
		cat >/dev/null
		echo "(No plot: gnuplot is not installed;" \
		     "tools/install-deps.sh installs gnuplot-nox.)"
		return
	fi
	{
		echo "set terminal pngcairo size 900,560 noenhanced" \
		     "font 'sans,10'"
		echo "set output '$RES/$1.png'"
		echo "set datafile separator ','"
		cat
	} | gnuplot 2>"$RES/$1.gnuplot-err"
	# A mode that did not run (odfork without odfork(2)) is an empty set.
	grep -v 'no valid points' "$RES/$1.gnuplot-err" >&2 || true
	rm -f "$RES/$1.gnuplot-err"
	[ -s "$RES/$1.png" ] && echo "![$1]($REL/$1.png)"
}

# The awk functions the reports share.
AWK_LIB='
function size(b) {
	if (b % 1073741824 == 0) return b / 1073741824 " GiB"
	if (b % 1048576 == 0) return b / 1048576 " MiB"
	if (b % 1024 == 0) return b / 1024 " KiB"
	return b " B"
}
function cell(v) { return v == "" ? "-" : v }
function ratio(a, b) {
	return (a == "" || b == "" || b + 0 == 0) ? "" : sprintf("%.2f", a / b)
}'

# step_info STEP KEY: a value of RES/STEP-info.txt (the parameters and
# versions a workload step records, see guest-lib.sh).
step_info() {
	sed -n "s/^$2: //p" "$RES/$1-info.txt" 2>/dev/null | head -n 1
}

# checks STEP: the list of RES/STEP-checks.txt, under whether all passed.
checks() {
	if [ ! -s "$RES/$1-checks.txt" ]; then
		echo "**No checks were recorded.**"
		return
	fi
	if grep -q '^FAIL' "$RES/$1-checks.txt"; then
		echo "**Checks failed:**"
	else
		echo "Checks (all passed):"
	fi
	echo
	sed 's/^/- /' "$RES/$1-checks.txt"
}
