#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# stress-ng's fork and VM stressors with --verify under vm.odfork=2, in the
# VM on the debug kernel (tests/stress/stress-guest.sh runs the steps).
#
#   tests/stress/run.sh [--ci] [--kernel BZIMAGE] [--dir DIR] [--odfork N]
#                       [STEP...]
#     --ci            5 s per step instead of 30, smaller mappings
#     --kernel PATH   bzImage (default: kernel/vm-run.sh's, the debug build)
#     --dir DIR       serial log, guest output and results.md
#                     (default: build/stress)
#     --odfork N      vm.odfork in the guest (default 2; 0 gives a baseline,
#                     where nothing must be shared)
#     STEP...         only these steps (stress-guest.sh's step_args)
#
# Fails when a step's stress-ng fails (exit status, a "fail:" line from
# --verify, a skipped stressor, a stressor without bogo ops), when the guest
# log is not clean (vm-run.sh), when a step that forks a process with whole
# 2 MiB tables of private memory shared none, when the swap step did not
# swap, or when the counters do not balance at the end
# (odfork_tables_copied + odfork_tables_dropped == odfork_tables_shared once
# no process holds a shared table).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
ci=
odfork=2
steps=()
kernel=()
dir=$top/build/stress

usage() {
	sed -n '7,16p' "$0" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--ci) ci=--ci; shift ;;
	--kernel) kernel=(--kernel "$2"); shift 2 ;;
	--dir) dir=$2; shift 2 ;;
	--odfork) odfork=$2; shift 2 ;;
	-*) usage ;;
	*) steps+=("$1"); shift ;;
	esac
done
command -v stress-ng > /dev/null ||
	{ echo "run.sh: stress-ng missing (tools/install-deps.sh)" >&2; exit 2; }

# Steps whose forking process owns whole 2 MiB tables of private anonymous
# memory when it forks (see stress-guest.sh): these must share.
must_share=" fork clone ksm swap "
[ "$odfork" = 2 ] || must_share=

mkdir -p "$dir"
timeout=900
[ -n "$ci" ] || timeout=2400
rc=0
# --numa 2: two nodes where the kernel has ACPI NUMA (NUMA balancing and
# migration between nodes); a kernel without it sees one node.
"$top/kernel/vm-run.sh" "${kernel[@]}" --smp 4 --mem 4G --numa 2 \
	--log "$dir/serial.log" --out "$dir/out" --timeout $timeout \
	-- tests/stress/stress-guest.sh $ci --odfork "$odfork" "${steps[@]}" ||
	rc=$?
tsv=$dir/out/results.tsv
if [ ! -s "$tsv" ]; then
	echo "run.sh: no results from the guest (vm-run.sh exit $rc)" >&2
	exit 1
fi

# results.tsv columns: step rc seconds fail_lines skip_lines bogo_ops
# forks shared copied reused dropped fallback freed pswpout pswpin args
bad=$(awk -F'\t' -v must="$must_share" '
	NR == 1 { next }
	{
		why = ""
		if ($2 != 0) why = why " exit status " $2 ";"
		if ($4 != 0) why = why " " $4 " fail lines;"
		if ($5 != 0) why = why " " $5 " skip lines;"
		n = split($6, ops, ",")
		if ($6 == "none") why = why " no YAML metrics;"
		for (i = 1; i <= n; i++)
			if (ops[i] ~ /=0$/) why = why " " ops[i] ";"
		if (index(must, " " $1 " ") && $8 == 0)
			why = why " no table shared;"
		if ($1 == "swap" && $14 == 0) why = why " nothing swapped out;"
		if (why != "") print "run.sh: step " $1 ":" why
	}' "$tsv")
end=$dir/out/vmstat-end
if [ -s "$end" ]; then
	balance=$(awk '
		$1 == "odfork_tables_shared" { s = $2 }
		$1 == "odfork_tables_copied" { c = $2 }
		$1 == "odfork_tables_dropped" { d = $2 }
		END { if (c + d != s) print "run.sh: at the end copied " c \
			" + dropped " d " != shared " s }' "$end")
	bad+=$balance
else
	bad+="run.sh: no vmstat-end from the guest"
fi

# The table for tests/README.md.
{
	echo "| step | seconds | bogo ops | verify | forks | shared | copied | reused | dropped | fallback | freed | pswpout |"
	echo "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	awk -F'\t' 'NR > 1 {
		ok = ($2 == 0 && $4 == 0 && $5 == 0) ? "pass" : "FAIL"
		ops = $6; gsub(/,/, ", ", ops)
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			$1, $3, ops, ok, $7, $8, $9, $10, $11, $12, $13, $14
	}' "$tsv"
} > "$dir/results.md"
cat "$dir/results.md"
[ -s "$dir/out/ksm.txt" ] && cat "$dir/out/ksm.txt"

if [ -n "$bad" ]; then
	echo "$bad" >&2
	exit 1
fi
if [ $rc != 0 ]; then
	echo "run.sh: vm-run.sh failed ($rc; see $dir/serial.log)" >&2
	exit 1
fi
echo "run.sh: all steps passed"
