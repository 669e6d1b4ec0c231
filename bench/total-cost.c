// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * total-cost: fork, then the child accesses part of the memory (the paper's
 * Fig. 8): does on-demand fork pay back its cheap fork in later faults?
 *
 *   total-cost [--size SIZE] [--access LIST] [--writes LIST] [--runs N]
 *              [--csv FILE] [--table] [--require-odfork]
 *
 * Maps SIZE (default 1G) of private anonymous memory, 2 MiB aligned, with
 * 4 KiB pages, and writes every page.  Then for each access percentage X
 * (default 0,25,50,75,100), each write mix W (percent of the accessed pages
 * that are written, the rest are read; default 0,25,50,75,100) and each
 * mode (fork, odfork), N times (default 5): the parent reads the clock and
 * forks; the child touches one byte in each of the first X% of the pages,
 * writing W% of them spread evenly (page i is written when
 * floor((i + 1) * W / 100) > floor(i * W / 100)), reads the clock and sends
 * the time since the parent's reading through a pipe, then exits.  So the
 * time is fork + the child's accesses, not the child's exit.  With writes
 * spread evenly every 2 MiB range the child writes to has its table copied
 * under odfork.  The parent never writes after populating.
 *
 * Output: CSV on stdout (or in FILE), one row per mode, X and W,
 *   mode,size_bytes,access_pct,write_pct,runs,min_us,median_us,max_us,
 *   tables_copied_per_run
 * (one line) and a table on stderr (stdout with --table).  The last column
 * is how much /proc/vmstat odfork_tables_copied moved per run ("NA" when
 * the kernel has no such counter).  Without odfork(2) the odfork rows are
 * "unavailable" (runs 0, no times).
 *
 * Exit status: 0, 1 on an error, 2 on a bad command line, 3 with
 * --require-odfork when odfork(2) is unavailable.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define DEFAULT_SIZE	"1G"
#define DEFAULT_PCTS	"0,25,50,75,100"
#define DEFAULT_RUNS	5
#define MAX_RUNS	100
#define MAX_PCTS	11
#define CSV_HEADER	"mode,size_bytes,access_pct,write_pct,runs,min_us," \
			"median_us,max_us,tables_copied_per_run\n"

struct opts {
	size_t size;
	int access[MAX_PCTS], nr_access;
	int writes[MAX_PCTS], nr_writes;
	int runs;
	struct bench_out out;
};

/* One row: a mode at an access percentage and a write mix. */
struct result {
	enum bench_mode mode;
	int access, writes;
	double t[MAX_RUNS];
	int n;
	long long copied;	/* -1: no counter */
};

/* --- the child ----------------------------------------------------------- */

/* The child's work; never returns. */
static void child(char *mem, size_t size, int access, int writes,
		  const struct timespec *start, int fd)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t i, n = size / page * access / 100;
	struct timespec end;
	volatile char *p;
	double us;

	for (i = 0; i < n; i++) {
		p = mem + i * page;
		if ((i + 1) * writes / 100 > i * writes / 100)
			*p = 3;
		else
			(void)*p;
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	us = bench_us(start, &end);
	_exit(write(fd, &us, sizeof(us)) == sizeof(us) ? 0 : 1);
}

/* One run: fork, the child's accesses; the time in microseconds. */
static double run_once(const struct result *r, char *mem, size_t size)
{
	struct timespec start;
	double us;
	int fd[2];
	long pid;

	if (pipe(fd))
		bench_die("pipe: %s", strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &start);
	pid = bench_fork(r->mode);
	if (pid == 0)
		child(mem, size, r->access, r->writes, &start, fd[1]);
	if (pid < 0)
		bench_die("%s: %s", bench_mode_name[r->mode], strerror(errno));
	close(fd[1]);
	if (read(fd[0], &us, sizeof(us)) != sizeof(us))
		bench_die("no time from the child");
	close(fd[0]);
	bench_reap(pid);
	return us;
}

/* --- output -------------------------------------------------------------- */

static void print_row(const struct opts *o, struct result *r)
{
	struct bench_stats s;
	char cp[16] = "NA";

	if (!r->n) {
		if (o->out.csv)
			fprintf(o->out.csv, "%s,%zu,%d,%d,0,,,,unavailable\n",
				bench_mode_name[r->mode], o->size, r->access,
				r->writes);
		fprintf(o->out.table, "%-7s %4d%% %4d%%  unavailable (%s)\n",
			bench_mode_name[r->mode], r->access, r->writes,
			bench_odfork_missing());
		return;
	}
	bench_stats(r->t, r->n, &s);
	if (r->copied >= 0)
		snprintf(cp, sizeof(cp), "%.1f", (double)r->copied / r->n);
	if (o->out.csv)
		fprintf(o->out.csv, "%s,%zu,%d,%d,%d,%.1f,%.1f,%.1f,%s\n",
			bench_mode_name[r->mode], o->size, r->access,
			r->writes, r->n, s.min, s.median, s.max, cp);
	fprintf(o->out.table, "%-7s %4d%% %4d%% %4d %12.1f %12.1f %12.1f %9s\n",
		bench_mode_name[r->mode], r->access, r->writes, r->n, s.min,
		s.median, s.max, cp);
	if (o->out.csv)
		fflush(o->out.csv);
	fflush(o->out.table);
}

/* --- the benchmark ------------------------------------------------------- */

/* N runs of each mode at one access percentage and write mix, interleaved. */
static void bench_mix(const struct opts *o, char *mem, int access,
		      int writes)
{
	struct result r[BENCH_NR_MODES];
	long long before;
	int i, m;

	memset(r, 0, sizeof(r));
	for (m = 0; m < BENCH_NR_MODES; m++) {
		r[m].mode = m;
		r[m].access = access;
		r[m].writes = writes;
	}
	for (i = 0; i < o->runs; i++) {
		for (m = 0; m < BENCH_NR_MODES; m++) {
			if (m == BENCH_ODFORK && bench_odfork_missing())
				continue;
			before = bench_vmstat("odfork_tables_copied");
			r[m].t[r[m].n++] = run_once(&r[m], mem, o->size);
			r[m].copied = before < 0 || r[m].copied < 0 ? -1 :
				r[m].copied + bench_vmstat("odfork_tables_copied") -
				before;
		}
	}
	for (m = 0; m < BENCH_NR_MODES; m++)
		print_row(o, &r[m]);
}

static void run(const void *ctx)
{
	const struct opts *o = ctx;
	char *mem = bench_map(o->size, false);
	int a, w;

	bench_populate(mem, o->size);
	if (o->out.csv)
		fputs(CSV_HEADER, o->out.csv);
	fprintf(o->out.table, "%-7s %5s %5s %4s %12s %12s %12s %9s\n", "mode",
		"acc", "wr", "runs", "min us", "median us", "max us",
		"copied");
	for (a = 0; a < o->nr_access; a++) {
		bench_note("access %d%% of the memory (%d of %d)",
			   o->access[a], a + 1, o->nr_access);
		for (w = 0; w < o->nr_writes; w++)
			bench_mix(o, mem, o->access[a], o->writes[w]);
	}
	bench_unmap(mem, o->size);
}

/* --- command line -------------------------------------------------------- */

static const struct option long_opts[] = {
	{ "size",		required_argument, NULL, 's' },
	{ "access",		required_argument, NULL, 'a' },
	{ "writes",		required_argument, NULL, 'w' },
	{ "runs",		required_argument, NULL, 'n' },
	{ NULL,			0,		   NULL, 0 },
};

/* A list of percentages (ARG, parsed in place) into PCTS and *NR. */
static int parse_pcts(char *arg, int *pcts, int *nr)
{
	int n = bench_parse_ints(arg, pcts, MAX_PCTS, 0, 100);

	if (n < 0)
		return bench_usage_error("bad percentage list", arg);
	*nr = n;
	return 0;
}

static int parse_opt(int c, char *arg, void *ctx)
{
	struct opts *o = ctx;

	switch (c) {
	case 's':
		return bench_opt_size(arg, &o->size);
	case 'a':
		return parse_pcts(arg, o->access, &o->nr_access);
	case 'w':
		return parse_pcts(arg, o->writes, &o->nr_writes);
	default:	/* 'n' */
		return bench_opt_int("runs", arg, 1, MAX_RUNS, &o->runs);
	}
}

static void what(const void *ctx, char *buf, size_t len)
{
	const struct opts *o = ctx;

	snprintf(buf, len, "%zu MiB, %d runs per mode", o->size >> 20,
		 o->runs);
}

static const struct bench_cmd cmd = {
	.name = "total-cost",
	.usage =
	"Usage: total-cost [--size SIZE] [--access LIST] [--writes LIST]\n"
	"                  [--runs N] [--csv FILE] [--table]\n"
	"                  [--require-odfork]\n"
	"\n"
	"  -s, --size SIZE       memory to fork with (K, M, G: powers of\n"
	"                        1024; default " DEFAULT_SIZE ")\n"
	"  -a, --access LIST     percentages of the pages the child\n"
	"                        touches (default " DEFAULT_PCTS ")\n"
	"  -w, --writes LIST     percentages of those it writes\n"
	"                        (default " DEFAULT_PCTS ")\n"
	"  -n, --runs N          runs per mode and mix (1 to 100,\n"
	"                        default 5)\n",
	.short_opts = "s:a:w:n:",
	.long_opts = long_opts,
	.parse = parse_opt,
	.what = what,
	.run = run,
};

int main(int argc, char **argv)
{
	char access[] = DEFAULT_PCTS, writes[] = DEFAULT_PCTS;
	struct opts o = { .runs = DEFAULT_RUNS };

	o.size = bench_parse_size(DEFAULT_SIZE);
	o.nr_access = bench_parse_ints(access, o.access, MAX_PCTS, 0, 100);
	o.nr_writes = bench_parse_ints(writes, o.writes, MAX_PCTS, 0, 100);
	return bench_main(&cmd, argc, argv, &o, &o.out);
}
