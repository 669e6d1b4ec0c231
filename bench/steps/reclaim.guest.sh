#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Step of bench/run.sh, in the guest: memory.reclaim of a process whose
# child of fork() or odfork() still maps all its memory, on zram swap.
# Environment: see bench/README.md ("Steps").
# bench-title: memory.reclaim after fork vs odfork: MiB reclaimed per second
# bench-quick: yes
# bench-mem-mib: 3072 3072
# bench-timeout-s: 300 600
# bench-build: bench/reclaim
set -e

if [ "$BENCH_QUICK" = 1 ]; then
	set -- --size 256M --runs 3
else
	set -- --size 512M --runs 7
fi
# zram swap for the run (the bench config has CONFIG_ZRAM); whatever swap
# the guest had stays as it was.
echo 1G > /sys/block/zram0/disksize
mkswap /dev/zram0 >/dev/null
swapon /dev/zram0
rc=0
"$BENCH_BIN/reclaim" "$@" --csv "$BENCH_TMP/reclaim.csv" --table \
	--require-odfork || rc=$?
swapoff /dev/zram0
echo 1 > /sys/block/zram0/reset
[ "$rc" = 0 ] || exit "$rc"
cp "$BENCH_TMP/reclaim.csv" "$BENCH_OUT/"
