#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Step of bench/run.sh, in the guest: fork vs odfork (and fork of THP
# memory) latency by size, the paper's Fig. 7.  Environment: see
# bench/README.md ("Steps").
# bench-title: fork vs odfork latency by memory size, fork of THP memory as a reference (Fig. 7)
# bench-quick: yes
# bench-mem-mib: 3072 6144
# bench-timeout-s: 300 1200
# bench-boots: 1 3
# bench-build: bench/fork-latency
set -e

if [ "$BENCH_QUICK" = 1 ]; then
	sizes=64M,256M,1G
	runs=5
else
	sizes=64M,256M,1G,2G,4G
	runs=15
fi
# The CSV goes to tmpfs first: I/O on the 9p share pins user pages while
# it runs, and a table that maps a pinned page is copied at fork.
"$BENCH_BIN/fork-latency" --sizes "${BENCH_SIZES:-$sizes}" \
	--runs "${BENCH_RUNS:-$runs}" --csv "$BENCH_TMP/fork-latency.csv" \
	--table --require-odfork
cp "$BENCH_TMP/fork-latency.csv" "$BENCH_OUT/"
