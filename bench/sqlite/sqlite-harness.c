// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * sqlite-harness: a fork-per-test harness over a large in-memory SQLite
 * database, timed with fork() and with odfork().
 *
 *   sqlite-harness [--mib N] [--tests N] [--csv FILE] [--summary FILE]
 *                  [--table] [--require-odfork]
 *
 * Builds an in-memory database of about N MiB (default 256): a table of
 * rows with an indexed key and a 200-byte payload.  Then runs N test cases
 * (default 30) in a fork() of the harness each, then the same N in an
 * odfork() each, as a harness that uses one way to fork does (switching
 * from one to the other at every test would make odfork share the tables
 * anew each time, after fork had made the parent take them back).  A test
 * is a query (an indexed range scan), an update (rewrites the payload of
 * some rows) or a delete (a range of rows), done and checked by the child; the
 * parent never sees the child's changes, and checks at the end that its
 * database is as it was.
 *
 * Both modes enter the kernel through syscall(2), as in the
 * micro-benchmarks (bench_fork(), bench.h): fork is syscall(SYS_fork),
 * odfork syscall(__NR_odfork, 0).  Per test and
 * mode it records the fork time (just before the call to its return in
 * the parent) and the total time (just before the call to waitpid()'s
 * return: the child's work and its exit, page tables torn down included).
 *
 * Output: CSV of every test (stdout, or --csv FILE),
 *   mode,test,kind,fork_us,total_us
 * a CSV summary per mode with --summary FILE,
 *   mode,tests,db_bytes,fork_min_us,fork_median_us,total_min_us,
 *   total_median_us,total_ms,tables_shared_per_fork
 * and a table for people on stderr (stdout with --table).  The last column
 * is how much /proc/vmstat odfork_tables_shared moved per fork of the mode:
 * a number, "NA" without the counter, "unavailable" without odfork(2).
 *
 * Exit status: 0, 1 on an error (a test failed, or the parent's database
 * changed), 2 on a bad command line, 3 with --require-odfork when odfork(2)
 * is unavailable.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench.h"

#define PROG		"sqlite-harness"
#define DEFAULT_MIB	256
#define DEFAULT_TESTS	30
#define MAX_TESTS	100000
#define ROW_BYTES	270	/* a row and its index entry, about */

enum kind {
	KIND_QUERY,
	KIND_UPDATE,
	KIND_DELETE,
	NR_KINDS,
};

static const char *const kind_name[NR_KINDS] = { "query", "update", "delete" };

struct opts {
	long mib;
	int tests;
	FILE *csv;
	FILE *summary;		/* NULL: none */
	FILE *table;		/* stderr, or stdout with --table */
	bool require_odfork;
};

/* The times of one mode. */
struct times {
	double *fork_us, *total_us;
	int n;
	long long shared;	/* odfork_tables_shared moved; -1: no counter */
};

static sqlite3 *db;
static long long nr_rows;

/* --- the database -------------------------------------------------------- */

static void exec_sql(const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		bench_die("%s: %s", sql, err ? err : sqlite3_errmsg(db));
}

/* Run SQL with up to two integer parameters; the first column of the
 * first row, or -1 without a row. */
static long long query_int(const char *sql, long long a, long long b)
{
	sqlite3_stmt *st;
	long long ret = -1;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		bench_die("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_bind_parameter_count(st) >= 1)
		sqlite3_bind_int64(st, 1, a);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, b);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		bench_die("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return ret;
}

static void db_build(long mib)
{
	struct timespec start, end;
	char sql[512];

	clock_gettime(CLOCK_MONOTONIC, &start);
	if (sqlite3_open(":memory:", &db) != SQLITE_OK)
		bench_die("sqlite3_open: %s", sqlite3_errmsg(db));
	nr_rows = ((long long)mib << 20) / ROW_BYTES;
	exec_sql("PRAGMA page_size = 4096");
	exec_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, "
		 "grp INTEGER, payload BLOB)");
	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL "
		 "SELECT x + 1 FROM c WHERE x + 1 < %lld) "
		 "INSERT INTO t SELECT x, x * 2654435761 %% %lld, x %% 1000, "
		 "randomblob(200) FROM c", nr_rows, nr_rows);
	/* ids 0..rows-1; k = id * p mod rows with p prime: a permutation */
	exec_sql("BEGIN");
	exec_sql(sql);
	exec_sql("CREATE INDEX t_k ON t (k)");
	exec_sql("COMMIT");
	clock_gettime(CLOCK_MONOTONIC, &end);
	bench_note("%lld rows, %.1f MiB in SQLite, built in %.1f s", nr_rows,
		   sqlite3_memory_used() / 1048576.0,
		   bench_us(&start, &end) / 1e6);
}

/* A checksum of the whole table, to see that the parent's never changes. */
static long long db_checksum(void)
{
	return query_int("SELECT count(*) * 1000003 + sum(k) + "
			 "sum(length(payload)) + sum(unicode(payload)) FROM t",
			 0, 0);
}

/* --- the tests ----------------------------------------------------------- */

/* Test i in the child: 0 when the database did what it should. */
static int test_run(int i)
{
	long long lo = (long long)i * 7919 % nr_rows, n, left;

	switch ((enum kind)(i % NR_KINDS)) {
	case KIND_QUERY:
		/* 1000 keys: each key is one row's. */
		n = query_int("SELECT count(*) FROM t WHERE k BETWEEN ? AND ?",
			      lo, lo + 999);
		return n != (lo + 1000 <= nr_rows ? 1000 : nr_rows - lo);
	case KIND_UPDATE:
		n = query_int("SELECT count(*) FROM t WHERE grp = ?",
			      i % 1000, 0);
		query_int("UPDATE t SET payload = randomblob(200) "
			  "WHERE grp = ?", i % 1000, 0);
		return sqlite3_changes(db) != n || n <= 0;
	case KIND_DELETE:
		query_int("DELETE FROM t WHERE id BETWEEN ? AND ?", lo,
			  lo + 499);
		left = query_int("SELECT count(*) FROM t WHERE id BETWEEN ? "
				 "AND ?", lo, lo + 499);
		return sqlite3_changes(db) <= 0 || left != 0;
	default:
		return 1;
	}
}

/* Test i in a child of the mode; records its times. */
static void test_fork(int i, enum bench_mode mode, struct times *t)
{
	struct timespec start, forked, end;
	int status;
	long pid;

	fflush(NULL);
	clock_gettime(CLOCK_MONOTONIC, &start);
	pid = bench_fork(mode);
	if (pid == 0)
		_exit(test_run(i));
	clock_gettime(CLOCK_MONOTONIC, &forked);
	if (pid < 0)
		bench_die("%s: %s", bench_mode_name[mode], strerror(errno));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			bench_die("waitpid: %s", strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &end);
	t->total_us[t->n] = bench_us(&start, &end);
	t->fork_us[t->n++] = bench_us(&start, &forked);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		bench_die("test %d (%s) failed in its %s child (status %#x)",
			  i, kind_name[i % NR_KINDS], bench_mode_name[mode],
			  status);
}

/* --- measuring and reporting --------------------------------------------- */

static void fmt_shared(const struct times *t, char *buf, size_t len)
{
	if (!t->n)
		snprintf(buf, len, "unavailable");
	else if (t->shared < 0)
		snprintf(buf, len, "NA");
	else
		snprintf(buf, len, "%.1f", (double)t->shared / t->n);
}

static void report(const struct opts *o, enum bench_mode m,
		   struct times *t)
{
	const char *name = bench_mode_name[m];
	struct bench_stats fork, total;
	char shared[32];
	double sum = 0;
	int i;

	fmt_shared(t, shared, sizeof(shared));
	if (!t->n) {
		fprintf(o->table, "%-7s unavailable (%s)\n", name,
			bench_odfork_missing());
		if (o->summary)
			fprintf(o->summary, "%s,0,%lld,,,,,,%s\n", name,
				sqlite3_memory_used(), shared);
		return;
	}
	for (i = 0; i < t->n; i++)
		sum += t->total_us[i];
	bench_stats(t->fork_us, t->n, &fork);
	bench_stats(t->total_us, t->n, &total);
	fprintf(o->table, "%-7s %5d %12.1f %12.1f %12.1f %12.1f %10.1f  %s\n",
		name, t->n, fork.min, fork.median, total.min, total.median,
		sum / 1e3, shared);
	if (o->summary)
		fprintf(o->summary, "%s,%d,%lld,%.1f,%.1f,%.1f,%.1f,%.1f,%s\n",
			name, t->n, sqlite3_memory_used(), fork.min,
			fork.median, total.min, total.median, sum / 1e3,
			shared);
}

static void run_tests(const struct opts *o, struct times *t)
{
	long long before, after;
	int m, i;

	fprintf(o->csv, "mode,test,kind,fork_us,total_us\n");
	for (m = 0; m < BENCH_NR_MODES; m++) {
		if (m == BENCH_ODFORK && bench_odfork_missing())
			continue;
		before = bench_vmstat("odfork_tables_shared");
		for (i = 0; i < o->tests; i++) {
			test_fork(i, m, &t[m]);
			fprintf(o->csv, "%s,%d,%s,%.1f,%.1f\n",
				bench_mode_name[m], i, kind_name[i % NR_KINDS],
				t[m].fork_us[i], t[m].total_us[i]);
		}
		after = bench_vmstat("odfork_tables_shared");
		t[m].shared = before < 0 || after < 0 ? -1 : after - before;
	}
	fflush(o->csv);
}

/* --- command line -------------------------------------------------------- */

static void usage(FILE *f)
{
	fputs("Usage: " PROG " [--mib N] [--tests N] [--csv FILE]\n"
	      "                      [--summary FILE] [--table] [--require-odfork]\n"
	      "\n"
	      "  -m, --mib N           size of the database in MiB (default 256)\n"
	      "  -n, --tests N         test cases, each run with fork and odfork\n"
	      "                        (default 30)\n"
	      "  -o, --csv FILE        the CSV of every test to FILE, not stdout\n"
	      "  -s, --summary FILE    a CSV summary per mode to FILE\n"
	      "  -t, --table           print the table on stdout, not stderr\n"
	      "                        (the CSV then only with --csv)\n"
	      "  -r, --require-odfork  exit 3 when odfork(2) is unavailable\n"
	      "  -h, --help            print this help\n", f);
}

static FILE *open_out(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		bench_die("%s: %s", path, strerror(errno));
	return f;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "mib", required_argument, NULL, 'm' },
		{ "tests", required_argument, NULL, 'n' },
		{ "csv", required_argument, NULL, 'o' },
		{ "summary", required_argument, NULL, 's' },
		{ "table", no_argument, NULL, 't' },
		{ "require-odfork", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "m:n:o:s:trh", lopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			o->mib = bench_parse_int(optarg, 1, 1L << 20);
			break;
		case 'n':
			o->tests = bench_parse_int(optarg, 1, MAX_TESTS);
			break;
		case 'o':
			o->csv = open_out(optarg);
			break;
		case 's':
			o->summary = open_out(optarg);
			break;
		case 't':
			o->table = stdout;
			break;
		case 'r':
			o->require_odfork = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return BENCH_EXIT_USAGE;
		}
	}
	if (o->mib < 1 || o->tests < 1 || optind < argc) {
		fprintf(stderr, PROG ": bad --mib, --tests or argument\n");
		usage(stderr);
		return BENCH_EXIT_USAGE;
	}
	if (!o->csv)
		o->csv = o->table == stdout ? NULL : stdout;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { DEFAULT_MIB, DEFAULT_TESTS, NULL, NULL, stderr,
			  false };
	struct times t[BENCH_NR_MODES];
	const char *missing;
	long long sum;
	FILE *devnull = NULL;
	int m, rc;

	bench_prog = PROG;
	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc;
	if (!o.csv)
		o.csv = devnull = open_out("/dev/null");
	missing = bench_odfork_missing();
	if (missing && o.require_odfork) {
		fprintf(stderr, PROG ": odfork unavailable: %s\n", missing);
		return BENCH_EXIT_NO_ODFORK;
	}
	memset(t, 0, sizeof(t));
	for (m = 0; m < BENCH_NR_MODES; m++) {
		t[m].fork_us = calloc(o.tests, sizeof(double));
		t[m].total_us = calloc(o.tests, sizeof(double));
		if (!t[m].fork_us || !t[m].total_us)
			bench_die("out of memory");
	}
	db_build(o.mib);
	sum = db_checksum();
	fprintf(o.table, PROG ": %d tests per mode, odfork: %s%s\n", o.tests,
		missing ? "unavailable: " : "available", missing ? missing : "");
	run_tests(&o, t);
	if (db_checksum() != sum)
		bench_die("the parent's database changed: a child's changes leaked");
	fprintf(o.table, "%-7s %5s %12s %12s %12s %12s %10s  %s\n", "mode",
		"tests", "fork min us", "fork med us", "total min us",
		"total med us", "total ms", "tables shared/fork");
	if (o.summary)
		fprintf(o.summary, "mode,tests,db_bytes,fork_min_us,"
			"fork_median_us,total_min_us,total_median_us,total_ms,"
			"tables_shared_per_fork\n");
	for (m = 0; m < BENCH_NR_MODES; m++)
		report(&o, m, &t[m]);
	if (o.summary && fclose(o.summary))
		bench_die("summary: %s", strerror(errno));
	if (devnull)
		fclose(devnull);
	sqlite3_close(db);
	return 0;
}
