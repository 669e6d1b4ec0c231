#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Step of bench/run.sh, in the guest: sqlite-harness, a fork-per-test
# harness whose test cases each run in a fork() and in an odfork() of a
# process holding a large in-memory SQLite database.  Environment: see
# bench/README.md ("Steps").
# bench-title: SQLite fork-per-test harness over a large in-memory database, fork vs odfork
# bench-quick: yes
# bench-mem-mib: 3072 4096
# bench-timeout-s: 600 2400
# bench-build: bench/sqlite/sqlite-harness
#
# Writes into BENCH_OUT: sqlite.csv (every test: mode,test,kind,fork_us,
# total_us), sqlite-summary.csv (per mode, see sqlite-harness.c),
# sqlite-checks.txt (what was verified, guest-lib.sh) and sqlite-info.txt
# (the parameters and SQLite's version).  Exit status: 0, 1 when the
# harness or a check failed, 77 without the harness (meson found no
# libsqlite3-dev).

STEP=sqlite
. "$(dirname "$0")/guest-lib.sh"

if [ "$BENCH_QUICK" = 1 ]; then
	mib=64
	tests=12
else
	mib=1024
	tests=30
fi
harness=$BENCH_BIN/sqlite/sqlite-harness
tmp=$BENCH_TMP

if [ ! -x "$harness" ]; then
	log "no $harness (meson found no libsqlite3-dev): skipped"
	exit 77
fi
record sqlite "$(pkg-config --modversion sqlite3 2>/dev/null || echo '?')"
record mib "$mib"
record tests "$tests"
"$harness" --mib "$mib" --tests "$tests" --csv "$tmp/sqlite.csv" \
	--summary "$tmp/sqlite-summary.csv" --table --require-odfork
check $? "every test passed in its fork and odfork child, and the" \
	"parent's database did not change (sqlite-harness exit status)"
# tables_shared_per_fork: the 9th column of the summary.
awk -F, '$1 == "odfork" && $9 + 0 > 0 { ok = 1 } END { exit !ok }' \
	"$tmp/sqlite-summary.csv" 2>/dev/null
check $? "odfork shared page tables (odfork_tables_shared moved)"
awk -F, '$1 == "fork" && $9 == "0.0" { ok = 1 } END { exit !ok }' \
	"$tmp/sqlite-summary.csv" 2>/dev/null
check $? "fork shared none (odfork_tables_shared did not move)"
gl_finish "$tmp/sqlite.csv" "$tmp/sqlite-summary.csv"
