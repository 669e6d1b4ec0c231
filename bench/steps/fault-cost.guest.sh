#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Step of bench/run.sh, in the guest: the cost of the first access after
# fork and odfork, the paper's Table 1.  Environment: see bench/README.md
# ("Steps").
# bench-title: the first access after fork and odfork: COW, table copy, reuse, read (Table 1)
# bench-quick: yes
# bench-mem-mib: 3072 3072
# bench-timeout-s: 300 600
# bench-build: bench/fault-cost
set -e

if [ "$BENCH_QUICK" = 1 ]; then
	set -- --size 64M --rounds 8
else
	set -- --size 128M --rounds 16
fi
"$BENCH_BIN/fault-cost" "$@" --csv "$BENCH_TMP/fault-cost.csv" --table \
	--require-odfork
cp "$BENCH_TMP/fault-cost.csv" "$BENCH_OUT/"
