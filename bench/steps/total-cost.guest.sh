#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Step of bench/run.sh, in the guest: fork + the child's accesses to X% of
# the memory with five read/write mixes, the paper's Fig. 8.  Environment:
# see bench/README.md ("Steps").
# bench-title: fork + the child accessing X% of 1 GiB, five read/write mixes (Fig. 8)
# bench-quick: yes
# bench-mem-mib: 3072 4096
# bench-timeout-s: 300 1200
# bench-build: bench/total-cost
set -e

if [ "$BENCH_QUICK" = 1 ]; then
	set -- --size 128M --access 0,50,100 --writes 0,50,100 --runs 3
else
	set -- --size 1G --runs 3
fi
"$BENCH_BIN/total-cost" "$@" --csv "$BENCH_TMP/total-cost.csv" --table \
	--require-odfork
cp "$BENCH_TMP/total-cost.csv" "$BENCH_OUT/"
