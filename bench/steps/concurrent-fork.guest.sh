#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Step of bench/run.sh, in the guest: 3 processes of 1 GiB each forking at
# once, fork vs odfork.  Not in --quick runs unless asked for with --only.
# Environment: see bench/README.md ("Steps").
# bench-title: 3 processes of 1 GiB forking at once, fork vs odfork
# bench-quick: no
# bench-mem-mib: 3072 5120
# bench-timeout-s: 300 600
# bench-build: bench/concurrent-fork
set -e

if [ "$BENCH_QUICK" = 1 ]; then
	set -- --forkers 3 --size 256M --runs 5
else
	set -- --forkers 3 --size 1G --runs 9
fi
"$BENCH_BIN/concurrent-fork" "$@" --csv "$BENCH_TMP/concurrent-fork.csv" \
	--table --require-odfork
cp "$BENCH_TMP/concurrent-fork.csv" "$BENCH_OUT/"
