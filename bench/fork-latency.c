// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * fork-latency: how long fork() and odfork() hold the parent, by the size of
 * its memory (the paper's Fig. 7).
 *
 *   fork-latency [--sizes LIST] [--runs N] [--passes P] [--csv FILE]
 *                [--table] [--require-odfork]
 *
 * For a 64 KiB baseline ("empty") and then each size in LIST (default
 * 64M,256M,1G,2G), maps that much private anonymous memory with 4 KiB pages
 * (MADV_NOHUGEPAGE), writes every page, and times N forks (default 7, at
 * least 5) of each mode, one mode after the other: "fork" and "odfork"
 * (alternating them would let the deferred frees of a fork child's tables,
 * after an RCU grace period, land in the next odfork's time).  Then, as a
 * reference, the same size again as transparent huge pages (MADV_HUGEPAGE)
 * and "fork-thp": fork() of THP memory copies one PMD entry per 2 MiB.  The
 * time is from just before the call to its return in the parent; the child
 * exits at once and the parent reaps it.  The memory is not touched between
 * forks.
 *
 * With --passes P the N forks of each mode and size are split over P
 * sweeps of all sizes (each maps and populates the memory afresh), so that
 * a slow window of a shared host lands in part of every size's samples
 * instead of in all of one size's; the rows come after the last pass.
 *
 * Both modes enter the kernel through syscall(2), so that they differ in
 * the kernel only: fork is syscall(SYS_fork), odfork syscall(__NR_odfork, 0).
 * A kernel without odfork(2) makes that mode "unavailable", never fork; so
 * does a kernel without THP for fork-thp.
 *
 * Output: CSV on stdout (or in FILE), one row per size and mode,
 *   mode,size_bytes,runs,min_us,median_us,max_us,tables_shared_per_fork,
 *   huge_pct
 * (one line) and a table for people on stderr (on stdout with --table).
 * tables_shared_per_fork is how much /proc/vmstat odfork_tables_shared moved
 * per fork: a number, "no sharing" for an odfork row where it did not move,
 * "NA" when the kernel has no such counter, "unavailable" when the mode
 * cannot run here.  huge_pct is the share of the memory that
 * /proc/self/smaps counts as AnonHugePages.
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

#define DEFAULT_SIZES	"64M,256M,1G,2G"
#define DEFAULT_RUNS	7
#define MIN_RUNS	5
#define MAX_RUNS	1000
#define MAX_SIZES	32
#define EMPTY_SIZE	((size_t)64 << 10)
#define CSV_HEADER	"mode,size_bytes,runs,min_us,median_us,max_us," \
			"tables_shared_per_fork,huge_pct\n"

enum row_mode {
	ROW_FORK = BENCH_FORK,
	ROW_ODFORK = BENCH_ODFORK,
	ROW_FORK_THP,
	NR_ROW_MODES,
};

static const char *const row_name[NR_ROW_MODES] = {
	"fork", "odfork", "fork-thp"
};

struct opts {
	size_t sizes[MAX_SIZES];
	int nr_sizes;
	int runs;
	int passes;		/* sweeps over the sizes, 1 to runs */
	struct bench_out out;
};

/* One row of output: a mode at a size, with its samples of every pass. */
struct result {
	enum row_mode mode;
	size_t size;
	double samples[MAX_RUNS];
	int nr_samples;
	struct bench_stats t;	/* t.n == 0: not measured */
	long long shared;	/* odfork_tables_shared moved; -1: no counter */
	double huge_pct;	/* -1: unknown */
	const char *missing;	/* why not measured */
};

/* --- measuring ----------------------------------------------------------- */

/* N more forks of each mode in R, one mode after the other. */
static void measure(struct result *r, int nr, int runs)
{
	enum bench_mode mode;
	long long before;
	int i, m;

	for (m = 0; m < nr; m++) {
		if (r[m].missing)
			continue;
		mode = r[m].mode == ROW_ODFORK ? BENCH_ODFORK : BENCH_FORK;
		before = bench_vmstat("odfork_tables_shared");
		for (i = 0; i < runs; i++)
			r[m].samples[r[m].nr_samples++] = bench_time_fork(mode);
		if (before < 0 || r[m].shared < 0)
			r[m].shared = -1;
		else
			r[m].shared += bench_vmstat("odfork_tables_shared") -
				       before;
	}
}

/* --- output -------------------------------------------------------------- */

static void fmt_shared(const struct result *r, char *buf, size_t len)
{
	if (!r->t.n)
		snprintf(buf, len, "unavailable");
	else if (r->shared < 0)
		snprintf(buf, len, "NA");
	else if (r->mode == ROW_ODFORK && !r->shared)
		snprintf(buf, len, "no sharing");
	else
		snprintf(buf, len, "%.1f", (double)r->shared / r->t.n);
}

static void print_csv(FILE *f, const struct result *r)
{
	char shared[32], huge[16] = "";

	fmt_shared(r, shared, sizeof(shared));
	if (r->huge_pct >= 0)
		snprintf(huge, sizeof(huge), "%.1f", r->huge_pct);
	if (r->t.n)
		fprintf(f, "%s,%zu,%d,%.1f,%.1f,%.1f,%s,%s\n",
			row_name[r->mode], r->size, r->t.n, r->t.min,
			r->t.median, r->t.max, shared, huge);
	else
		fprintf(f, "%s,%zu,0,,,,%s,\n", row_name[r->mode], r->size,
			shared);
	fflush(f);
}

static void print_table_head(FILE *f)
{
	fprintf(f, "%-12s %-8s %4s %12s %12s %12s  %s\n", "size", "mode",
		"runs", "min us", "median us", "max us", "tables shared/fork");
}

static void print_row(FILE *f, const struct result *r)
{
	char size[40], shared[32];

	bench_fmt_size(r->size, size, sizeof(size));
	if (r->size == EMPTY_SIZE)
		strcat(size, " (empty)");
	fmt_shared(r, shared, sizeof(shared));
	if (r->t.n && r->mode == ROW_FORK_THP)
		fprintf(f, "%-12s %-8s %4d %12.1f %12.1f %12.1f  %s (%.0f%% huge)\n",
			size, row_name[r->mode], r->t.n, r->t.min,
			r->t.median, r->t.max, shared, r->huge_pct);
	else if (r->t.n)
		fprintf(f, "%-12s %-8s %4d %12.1f %12.1f %12.1f  %s\n", size,
			row_name[r->mode], r->t.n, r->t.min, r->t.median,
			r->t.max, shared);
	else
		fprintf(f, "%-12s %-8s %4s %12s %12s %12s  unavailable (%s)\n",
			size, row_name[r->mode], "-", "-", "-", "-",
			r->missing);
	fflush(f);
}

static void report(const struct opts *o, const struct result *r)
{
	if (o->out.csv)
		print_csv(o->out.csv, r);
	print_row(o->out.table, r);
}

/* --- the benchmark ------------------------------------------------------- */

static double huge_pct(const char *mem, size_t size)
{
	long long huge = bench_huge_bytes(mem);

	return huge < 0 ? -1 : 100.0 * huge / size;
}

/* Every row of the run: per size (the empty baseline first) its modes. */
static struct result rows[MAX_SIZES + 1][NR_ROW_MODES];

static void init_row(struct result *r, enum row_mode mode, size_t size)
{
	r->mode = mode;
	r->size = size;
	r->huge_pct = -1;
	if (mode == ROW_ODFORK)
		r->missing = bench_odfork_missing();
	else if (mode == ROW_FORK_THP)
		r->missing = bench_thp_missing();
}

/* Populate SIZE bytes (THP or not) and time RUNS forks of each row in R. */
static void bench_memory(struct result *r, int nr, bool thp, int runs)
{
	size_t size = r[0].size;
	char *mem;
	int m;

	mem = bench_map(size, thp);
	bench_populate(mem, size);
	for (m = 0; m < nr; m++)
		r[m].huge_pct = huge_pct(mem, size);
	measure(r, nr, runs);
	bench_unmap(mem, size);
}

/* One size of one pass: fork and odfork, then fork of THP memory. */
static void bench_size(struct result *r, int runs)
{
	bench_memory(r, 2, false, runs);
	if (r[0].size != EMPTY_SIZE && !r[ROW_FORK_THP].missing)
		bench_memory(&r[ROW_FORK_THP], 1, true, runs);
}

static void report_size(const struct opts *o, struct result *r)
{
	int m, nr = r[0].size == EMPTY_SIZE ? 2 : NR_ROW_MODES;

	for (m = 0; m < nr; m++) {
		if (r[m].nr_samples)
			bench_stats(r[m].samples, r[m].nr_samples, &r[m].t);
		report(o, &r[m]);
	}
}

static void run_passes(const struct opts *o)
{
	int nr = o->nr_sizes + 1, i, m, p, runs;

	for (i = 0; i < nr; i++)
		for (m = 0; m < NR_ROW_MODES; m++)
			init_row(&rows[i][m], m,
				 i ? o->sizes[i - 1] : EMPTY_SIZE);
	for (p = 0; p < o->passes; p++) {
		runs = o->runs / o->passes + (p < o->runs % o->passes);
		if (o->passes > 1)
			fprintf(stderr, "%s: pass %d of %d, %d runs\n",
				bench_prog, p + 1, o->passes, runs);
		for (i = 0; i < nr; i++) {
			bench_size(rows[i], runs);
			if (o->passes == 1)
				report_size(o, rows[i]);
		}
	}
	if (o->passes > 1)
		for (i = 0; i < nr; i++)
			report_size(o, rows[i]);
}

/* --- command line -------------------------------------------------------- */

static const struct option long_opts[] = {
	{ "sizes",		required_argument, NULL, 's' },
	{ "runs",		required_argument, NULL, 'n' },
	{ "passes",		required_argument, NULL, 'p' },
	{ NULL,			0,		   NULL, 0 },
};

static int parse_opt(int c, char *arg, void *ctx)
{
	struct opts *o = ctx;

	switch (c) {
	case 's':
		o->nr_sizes = bench_parse_sizes(arg, o->sizes, MAX_SIZES);
		if (o->nr_sizes < 0)
			return bench_usage_error("bad size list", arg);
		return 0;
	case 'n':
		return bench_opt_int("runs", arg, MIN_RUNS, MAX_RUNS, &o->runs);
	default:	/* 'p' */
		return bench_opt_int("passes", arg, 1, MAX_RUNS, &o->passes);
	}
}

static int check_opts(void *ctx)
{
	struct opts *o = ctx;

	if (o->passes <= o->runs)
		return 0;
	return bench_usage_errorf("--passes %d is more than --runs %d",
				  o->passes, o->runs);
}

static void what(const void *ctx, char *buf, size_t len)
{
	const struct opts *o = ctx;

	if (o->passes > 1)
		snprintf(buf, len, "%d runs per mode in %d passes", o->runs,
			 o->passes);
	else
		snprintf(buf, len, "%d runs per mode", o->runs);
}

static void run(const void *ctx)
{
	const struct opts *o = ctx;

	if (o->out.csv)
		fputs(CSV_HEADER, o->out.csv);
	print_table_head(o->out.table);
	run_passes(o);
}

static const struct bench_cmd cmd = {
	.name = "fork-latency",
	.usage =
	"Usage: fork-latency [--sizes LIST] [--runs N] [--passes P]\n"
	"                    [--csv FILE] [--table] [--require-odfork]\n"
	"\n"
	"  -s, --sizes LIST      sizes to fork with, e.g. 64M,1G (K, M, G,\n"
	"                        T: powers of 1024); default\n"
	"                        " DEFAULT_SIZES "\n"
	"  -n, --runs N          forks per mode and size (>= 5, default 7)\n"
	"  -p, --passes P        split them over P sweeps of the sizes\n"
	"                        (1 to N, default 1)\n",
	.short_opts = "s:n:p:",
	.long_opts = long_opts,
	.parse = parse_opt,
	.check = check_opts,
	.what = what,
	.run = run,
};

int main(int argc, char **argv)
{
	char defaults[] = DEFAULT_SIZES;
	struct opts o = { .runs = DEFAULT_RUNS, .passes = 1 };

	o.nr_sizes = bench_parse_sizes(defaults, o.sizes, MAX_SIZES);
	return bench_main(&cmd, argc, argv, &o, &o.out);
}
