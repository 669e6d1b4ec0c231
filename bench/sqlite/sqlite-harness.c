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
 * Both modes enter the kernel through syscall(2), as in fork-latency:
 * fork is syscall(SYS_fork), odfork syscall(__NR_odfork, 0).  Per test and
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
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "syscall.h"	/* __NR_odfork, from lib/ */

#define PROG		"sqlite-harness"
#define DEFAULT_MIB	256
#define DEFAULT_TESTS	30
#define MAX_TESTS	100000
#define ROW_BYTES	270	/* a row and its index entry, about */
#define EXIT_USAGE	2
#define EXIT_NO_ODFORK	3

enum mode {
	MODE_FORK,
	MODE_ODFORK,
	NR_MODES,
};

static const char *const mode_name[NR_MODES] = { "fork", "odfork" };

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
static char odfork_missing[128];	/* why odfork(2) is unavailable */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* --- the database -------------------------------------------------------- */

static void exec_sql(const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		die("%s: %s", sql, err ? err : sqlite3_errmsg(db));
}

/* Run SQL with up to two integer parameters; the first column of the
 * first row, or -1 without a row. */
static long long query_int(const char *sql, long long a, long long b)
{
	sqlite3_stmt *st;
	long long ret = -1;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		die("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_bind_parameter_count(st) >= 1)
		sqlite3_bind_int64(st, 1, a);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, b);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		die("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return ret;
}

static void db_build(long mib)
{
	double start = now_us();
	char sql[512];

	if (sqlite3_open(":memory:", &db) != SQLITE_OK)
		die("sqlite3_open: %s", sqlite3_errmsg(db));
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
	fprintf(stderr, PROG ": %lld rows, %.1f MiB in SQLite, built in "
		"%.1f s\n", nr_rows, sqlite3_memory_used() / 1048576.0,
		(now_us() - start) / 1e6);
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

static long do_fork(enum mode mode)
{
	if (mode == MODE_FORK)
		return syscall(SYS_fork);
#ifdef __NR_odfork
	return syscall(__NR_odfork, 0UL);
#else
	errno = ENOSYS;
	return -1;
#endif
}

/* See fork-latency.c: odfork(2) must reject unknown flags with EINVAL. */
static void probe_odfork(void)
{
#ifdef __NR_odfork
	long ret = syscall(__NR_odfork, (unsigned long)~0u);
	int err = errno;

	if (ret == 0)
		_exit(0);
	if (ret > 0) {
		waitpid(ret, NULL, 0);
		snprintf(odfork_missing, sizeof(odfork_missing),
			 "syscall %d is not odfork(2)", __NR_odfork);
	} else if (err != EINVAL) {
		snprintf(odfork_missing, sizeof(odfork_missing),
			 "syscall %d: %s", __NR_odfork, strerror(err));
	}
#else
	snprintf(odfork_missing, sizeof(odfork_missing),
		 "odfork(2) is not wired up on this architecture");
#endif
}

/* Test i in a child of the mode; records its times. */
static void test_fork(int i, enum mode mode, struct times *t)
{
	double start, forked;
	int status;
	long pid;

	fflush(NULL);
	start = now_us();
	pid = do_fork(mode);
	if (pid == 0)
		_exit(test_run(i));
	forked = now_us();
	if (pid < 0)
		die("%s: %s", mode_name[mode], strerror(errno));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	t->total_us[t->n] = now_us() - start;
	t->fork_us[t->n++] = forked - start;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		die("test %d (%s) failed in its %s child (status %#x)", i,
		    kind_name[i % NR_KINDS], mode_name[mode], status);
}

/* --- measuring and reporting --------------------------------------------- */

static long long tables_shared(void)
{
	long long val, ret = -1;
	char name[64];
	FILE *f;

	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", name, &val) == 2)
		if (!strcmp(name, "odfork_tables_shared"))
			ret = val;
	fclose(f);
	return ret;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts v. */
static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void fmt_shared(const struct times *t, char *buf, size_t len)
{
	if (!t->n)
		snprintf(buf, len, "unavailable");
	else if (t->shared < 0)
		snprintf(buf, len, "NA");
	else
		snprintf(buf, len, "%.1f", (double)t->shared / t->n);
}

static void report(const struct opts *o, enum mode m, struct times *t)
{
	double sum = 0, fmed, tmed;
	char shared[32];
	int i;

	fmt_shared(t, shared, sizeof(shared));
	if (!t->n) {
		fprintf(o->table, "%-7s unavailable (%s)\n", mode_name[m],
			odfork_missing);
		if (o->summary)
			fprintf(o->summary, "%s,0,%lld,,,,,,%s\n",
				mode_name[m], sqlite3_memory_used(), shared);
		return;
	}
	for (i = 0; i < t->n; i++)
		sum += t->total_us[i];
	fmed = median(t->fork_us, t->n);
	tmed = median(t->total_us, t->n);
	fprintf(o->table, "%-7s %5d %12.1f %12.1f %12.1f %12.1f %10.1f  %s\n",
		mode_name[m], t->n, t->fork_us[0], fmed, t->total_us[0], tmed,
		sum / 1e3, shared);
	if (o->summary)
		fprintf(o->summary, "%s,%d,%lld,%.1f,%.1f,%.1f,%.1f,%.1f,%s\n",
			mode_name[m], t->n, sqlite3_memory_used(), t->fork_us[0],
			fmed, t->total_us[0], tmed, sum / 1e3, shared);
}

static void run_tests(const struct opts *o, struct times *t)
{
	long long before, after;
	int m, i;

	fprintf(o->csv, "mode,test,kind,fork_us,total_us\n");
	for (m = 0; m < NR_MODES; m++) {
		if (m == MODE_ODFORK && odfork_missing[0])
			continue;
		before = tables_shared();
		for (i = 0; i < o->tests; i++) {
			test_fork(i, m, &t[m]);
			fprintf(o->csv, "%s,%d,%s,%.1f,%.1f\n", mode_name[m], i,
				kind_name[i % NR_KINDS], t[m].fork_us[i],
				t[m].total_us[i]);
		}
		after = tables_shared();
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
		die("%s: %s", path, strerror(errno));
	return f;
}

static long parse_num(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > max)
		return -1;
	return v;
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
			o->mib = parse_num(optarg, 1L << 20);
			break;
		case 'n':
			o->tests = parse_num(optarg, MAX_TESTS);
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
			return EXIT_USAGE;
		}
	}
	if (o->mib < 1 || o->tests < 1 || optind < argc) {
		fprintf(stderr, PROG ": bad --mib, --tests or argument\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!o->csv)
		o->csv = o->table == stdout ? NULL : stdout;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { DEFAULT_MIB, DEFAULT_TESTS, NULL, NULL, stderr,
			  false };
	struct times t[NR_MODES];
	long long sum;
	FILE *devnull = NULL;
	int m, rc;

	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc;
	if (!o.csv)
		o.csv = devnull = open_out("/dev/null");
	probe_odfork();
	if (odfork_missing[0] && o.require_odfork) {
		fprintf(stderr, PROG ": odfork unavailable: %s\n",
			odfork_missing);
		return EXIT_NO_ODFORK;
	}
	memset(t, 0, sizeof(t));
	for (m = 0; m < NR_MODES; m++) {
		t[m].fork_us = calloc(o.tests, sizeof(double));
		t[m].total_us = calloc(o.tests, sizeof(double));
		if (!t[m].fork_us || !t[m].total_us)
			die("out of memory");
	}
	db_build(o.mib);
	sum = db_checksum();
	fprintf(o.table, PROG ": %d tests per mode, odfork: %s%s\n", o.tests,
		odfork_missing[0] ? "unavailable: " : "available",
		odfork_missing);
	run_tests(&o, t);
	if (db_checksum() != sum)
		die("the parent's database changed: a child's changes leaked");
	fprintf(o.table, "%-7s %5s %12s %12s %12s %12s %10s  %s\n", "mode",
		"tests", "fork min us", "fork med us", "total min us",
		"total med us", "total ms", "tables shared/fork");
	if (o.summary)
		fprintf(o.summary, "mode,tests,db_bytes,fork_min_us,"
			"fork_median_us,total_min_us,total_median_us,total_ms,"
			"tables_shared_per_fork\n");
	for (m = 0; m < NR_MODES; m++)
		report(&o, m, &t[m]);
	if (o.summary && fclose(o.summary))
		die("summary: %s", strerror(errno));
	if (devnull)
		fclose(devnull);
	sqlite3_close(db);
	return 0;
}
