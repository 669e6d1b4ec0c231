// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * fault-cost: what one access costs right after fork() or odfork() (the
 * paper's Table 1).
 *
 *   fault-cost [--size SIZE] [--rounds N] [--csv FILE] [--table]
 *              [--require-odfork]
 *
 * Maps SIZE (default 128M) of private anonymous memory, 2 MiB aligned, with
 * 4 KiB pages, and writes every page.  Each round forks once and then times,
 * in the parent, one access into each 2 MiB range (a "sample"), from
 * CLOCK_MONOTONIC before the access to after it.  While the parent
 * measures, the child waits; the cases:
 *
 *   timer         nothing between the two clock reads (their own cost)
 *   fork-read     read after fork(): the page is mapped, no fault
 *   fork-cow      first write after fork(): a classic 4 KiB COW fault
 *   thp-cow       first write after fork() into THP memory (MADV_HUGEPAGE,
 *                 SIZE mapped afresh each round, as a written huge page is
 *                 split): the kernel's THP COW path
 *   odfork-read   read after odfork(): the shared table maps the page, no
 *                 fault is expected
 *   odfork-copy   first write into a shared range after odfork(): copies
 *                 the 2 MiB table, then the page (the worst case)
 *   odfork-cow    a second write into the same range, another page: the
 *                 table is the parent's own again, a classic COW fault
 *   odfork-reuse  first write after the odfork() child exited: the parent
 *                 is the last holder and takes the table back
 *
 * For each case the program also records minor faults per sample
 * (getrusage) and how much /proc/vmstat odfork_tables_copied and
 * odfork_tables_reused moved per sample, so that a reader can check that
 * each case did what it says.  Without odfork(2) the odfork cases are
 * "unavailable", without THP thp-cow is; they are never measured as
 * something else.
 *
 * Output: CSV on stdout (or in FILE), one row per case,
 *   case,samples,min_us,median_us,max_us,minflt_per_sample,
 *   copied_per_sample,reused_per_sample,note
 * (one line) and a table on stderr (stdout with --table).  note is "ok",
 * "unavailable: why", "no sharing" (an odfork case where the counters did
 * not move as the case requires) or "huge N%" for thp-cow.
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

#define DEFAULT_SIZE	"128M"
#define DEFAULT_ROUNDS	8
#define MAX_ROUNDS	1000
#define MIN_SIZE	(2 * BENCH_PMD_SIZE)
#define MAX_SAMPLES	(1 << 20)
#define SECOND_PAGE	(BENCH_PMD_SIZE / 2)	/* odfork-cow's page */
#define CSV_HEADER	"case,samples,min_us,median_us,max_us," \
			"minflt_per_sample,copied_per_sample," \
			"reused_per_sample,note\n"

enum kase {
	TIMER,
	FORK_READ,
	FORK_COW,
	THP_COW,
	ODFORK_READ,
	ODFORK_COPY,
	ODFORK_COW,
	ODFORK_REUSE,
	NR_CASES,
};

static const char *const case_name[NR_CASES] = {
	"timer", "fork-read", "fork-cow", "thp-cow", "odfork-read",
	"odfork-copy", "odfork-cow", "odfork-reuse",
};

struct opts {
	size_t size;
	int rounds;
	struct bench_out out;
};

/* Samples of one case and what the counters did meanwhile. */
struct result {
	double *t;
	int n;
	long minflt;
	long long copied, reused;	/* -1: no counter */
	char note[96];
};

static struct result results[NR_CASES];

/* The least AnonHugePages of the THP rounds' memory; -1: unknown. */
static long long thp_min_huge;

/* --- one sample per 2 MiB range ------------------------------------------ */

static inline void barrier(void)
{
	__asm__ __volatile__("" ::: "memory");
}

/*
 * Time one access at each 2 MiB range of MEM, offset OFF.  The stack and
 * the results are written first: after a fork they are COW too, and their
 * faults belong to no sample.
 */
static void sample(enum kase k, char *mem, size_t size, size_t off,
		   bool write)
{
	struct result *r = &results[k];
	size_t i, n = size / BENCH_PMD_SIZE;
	struct timespec a, b;
	volatile char *p;
	double *t;
	long flt;

	memset(r->t + r->n, 0, n * sizeof(r->t[0]));
	t = r->t + r->n;
	r->n += n;
	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_MONOTONIC, &b);
	flt = bench_minflt();	/* its own stack may fault: again */
	flt = bench_minflt();
	for (i = 0; i < n; i++) {
		p = mem + i * BENCH_PMD_SIZE + off;
		clock_gettime(CLOCK_MONOTONIC, &a);
		barrier();
		if (k != TIMER && write)
			*p = 2;
		else if (k != TIMER)
			(void)*p;
		barrier();
		clock_gettime(CLOCK_MONOTONIC, &b);
		t[i] = bench_us(&a, &b);
	}
	r->minflt += bench_minflt() - flt;
}

/* Counters around the samples of case K. */
static void count_begin(long long *c)
{
	c[0] = bench_vmstat("odfork_tables_copied");
	c[1] = bench_vmstat("odfork_tables_reused");
}

static void count_end(enum kase k, const long long *c)
{
	struct result *r = &results[k];

	if (c[0] < 0 || r->copied < 0) {
		r->copied = r->reused = -1;
		return;
	}
	r->copied += bench_vmstat("odfork_tables_copied") - c[0];
	r->reused += bench_vmstat("odfork_tables_reused") - c[1];
}

static void timed(enum kase k, char *mem, size_t size, size_t off, bool write)
{
	long long c[2];

	count_begin(c);
	sample(k, mem, size, off, write);
	count_end(k, c);
}

/* --- rounds -------------------------------------------------------------- */

/* Fork a child that waits until the parent closes *GATE, then exits. */
static long fork_waiting(enum bench_mode mode, int *gate)
{
	int fd[2];
	char c;
	long pid;

	if (pipe(fd))
		bench_die("pipe: %s", strerror(errno));
	pid = bench_fork(mode);
	if (pid < 0)
		bench_die("%s: %s", bench_mode_name[mode], strerror(errno));
	if (pid == 0) {
		close(fd[1]);
		while (read(fd[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(fd[0]);
	*gate = fd[1];
	return pid;
}

static void release(long pid, int gate)
{
	close(gate);
	bench_reap(pid);
}

/* fork(): the timer, a read, then the first write into each range. */
static void round_fork(char *mem, size_t size)
{
	int gate;
	long pid = fork_waiting(BENCH_FORK, &gate);

	timed(TIMER, mem, size, 0, false);
	timed(FORK_READ, mem, size, 0, false);
	timed(FORK_COW, mem, size, 0, true);
	release(pid, gate);
}

/*
 * fork() of fresh THP memory: a written huge page is split, so every round
 * maps and populates its own.
 */
static void round_thp(size_t size)
{
	char *thp = bench_map(size, true);
	long long huge;
	long pid;
	int gate;

	bench_populate(thp, size);
	huge = bench_huge_bytes(thp);
	if (huge < thp_min_huge)
		thp_min_huge = huge;
	pid = fork_waiting(BENCH_FORK, &gate);
	timed(THP_COW, thp, size, 0, true);
	release(pid, gate);
	bench_unmap(thp, size);
}

/*
 * odfork() with the child alive: a read, the table copy, a COW in the
 * copied table.  Then odfork() with the child gone: the reuse.
 */
static void round_odfork(char *mem, size_t size)
{
	int gate;
	long pid = fork_waiting(BENCH_ODFORK, &gate);

	timed(ODFORK_READ, mem, size, 0, false);
	timed(ODFORK_COPY, mem, size, 0, true);
	timed(ODFORK_COW, mem, size, SECOND_PAGE, true);
	release(pid, gate);

	pid = bench_fork(BENCH_ODFORK);
	if (pid < 0)
		bench_die("odfork: %s", strerror(errno));
	if (pid == 0)
		_exit(0);
	bench_reap(pid);
	timed(ODFORK_REUSE, mem, size, 0, true);
}

/* --- checks and output --------------------------------------------------- */

/* What the counters must show per sample for the odfork cases. */
static void check_sharing(enum kase k)
{
	struct result *r = &results[k];
	bool ok = true;

	if (r->copied < 0)
		return;
	if (k == ODFORK_COPY)
		ok = r->copied >= r->n;
	else if (k == ODFORK_REUSE)
		ok = r->reused >= r->n;
	if (!ok)
		snprintf(r->note, sizeof(r->note), "no sharing");
}

static void fmt_count(long long v, int n, char *buf, size_t len)
{
	if (v < 0)
		snprintf(buf, len, "NA");
	else
		snprintf(buf, len, "%.2f", (double)v / n);
}

static void print_row(const struct opts *o, enum kase k)
{
	struct result *r = &results[k];
	char flt[16], cp[16], ru[16];
	struct bench_stats s;

	if (!r->n) {
		if (o->out.csv)
			fprintf(o->out.csv, "%s,0,,,,,,,%s\n", case_name[k],
				r->note);
		fprintf(o->out.table, "%-13s %7s  %s\n", case_name[k], "-",
			r->note);
		return;
	}
	bench_stats(r->t, r->n, &s);
	snprintf(flt, sizeof(flt), "%.2f", (double)r->minflt / r->n);
	fmt_count(r->copied, r->n, cp, sizeof(cp));
	fmt_count(r->reused, r->n, ru, sizeof(ru));
	if (o->out.csv)
		fprintf(o->out.csv, "%s,%d,%.3f,%.3f,%.3f,%s,%s,%s,%s\n",
			case_name[k], r->n, s.min, s.median, s.max, flt, cp,
			ru, r->note);
	fprintf(o->out.table, "%-13s %7d %10.3f %10.3f %10.1f %7s %7s %7s  %s\n",
		case_name[k], r->n, s.min, s.median, s.max, flt, cp, ru,
		r->note);
}

static void print_results(const struct opts *o)
{
	int k;

	if (o->out.csv)
		fputs(CSV_HEADER, o->out.csv);
	fprintf(o->out.table, "%-13s %7s %10s %10s %10s %7s %7s %7s  %s\n",
		"case", "samples", "min us", "median us", "max us", "minflt",
		"copied", "reused", "note");
	for (k = 0; k < NR_CASES; k++) {
		if (k >= ODFORK_READ && results[k].n)
			check_sharing(k);
		print_row(o, k);
	}
}

/* --- the benchmark ------------------------------------------------------- */

static void init_results(const struct opts *o)
{
	int per_case = o->size / BENCH_PMD_SIZE * o->rounds, k;

	for (k = 0; k < NR_CASES; k++) {
		results[k].t = calloc(per_case, sizeof(double));
		if (!results[k].t)
			bench_die("out of memory");
		snprintf(results[k].note, sizeof(results[k].note), "ok");
	}
}

static void mark_missing(enum kase first, enum kase last, const char *why)
{
	enum kase k;

	for (k = first; k <= last; k++)
		snprintf(results[k].note, sizeof(results[k].note),
			 "unavailable: %s", why);
}

static void run(const void *ctx)
{
	const struct opts *o = ctx;
	const char *no_thp = bench_thp_missing();
	char *mem;
	int i;

	init_results(o);
	mem = bench_map(o->size, false);
	bench_populate(mem, o->size);
	if (no_thp)
		mark_missing(THP_COW, THP_COW, no_thp);
	if (bench_odfork_missing())
		mark_missing(ODFORK_READ, ODFORK_REUSE, bench_odfork_missing());
	thp_min_huge = o->size;
	for (i = 0; i < o->rounds; i++) {
		bench_note("round %d of %d", i + 1, o->rounds);
		round_fork(mem, o->size);
		if (!no_thp)
			round_thp(o->size);
		if (!bench_odfork_missing())
			round_odfork(mem, o->size);
	}
	if (!no_thp)
		snprintf(results[THP_COW].note, sizeof(results[THP_COW].note),
			 thp_min_huge < 0 ? "huge ?%%" : "huge %.0f%%",
			 100.0 * thp_min_huge / o->size);
	print_results(o);
}

/* --- command line -------------------------------------------------------- */

static const struct option long_opts[] = {
	{ "size",		required_argument, NULL, 's' },
	{ "rounds",		required_argument, NULL, 'n' },
	{ NULL,			0,		   NULL, 0 },
};

static bool size_ok(size_t size, int rounds)
{
	return size >= MIN_SIZE && !(size % BENCH_PMD_SIZE) &&
	       size / BENCH_PMD_SIZE * rounds <= MAX_SAMPLES;
}

static int parse_opt(int c, char *arg, void *ctx)
{
	struct opts *o = ctx;

	if (c == 's') {
		o->size = bench_parse_size(arg);
		if (!size_ok(o->size, 1))
			return bench_usage_error("bad size (4M or more, 2M multiple)",
						 arg);
		return 0;
	}
	return bench_opt_int("rounds", arg, 1, MAX_ROUNDS, &o->rounds);
}

static int check_opts(void *ctx)
{
	struct opts *o = ctx;

	if (!size_ok(o->size, o->rounds))
		return bench_usage_error("too many samples (size/2M * rounds)",
					 "> 1048576");
	return 0;
}

static void what(const void *ctx, char *buf, size_t len)
{
	const struct opts *o = ctx;

	snprintf(buf, len, "%zu MiB, %d rounds", o->size >> 20, o->rounds);
}

static const struct bench_cmd cmd = {
	.name = "fault-cost",
	.usage =
	"Usage: fault-cost [--size SIZE] [--rounds N] [--csv FILE]\n"
	"                  [--table] [--require-odfork]\n"
	"\n"
	"  -s, --size SIZE       memory to fork with, a multiple of 2M\n"
	"                        (K, M, G: powers of 1024; default "
	DEFAULT_SIZE ")\n"
	"                        one sample per 2 MiB range and round\n"
	"  -n, --rounds N        forks per case (1 to 1000, default 8)\n",
	.short_opts = "s:n:",
	.long_opts = long_opts,
	.parse = parse_opt,
	.check = check_opts,
	.what = what,
	.run = run,
};

int main(int argc, char **argv)
{
	struct opts o = { .rounds = DEFAULT_ROUNDS };

	o.size = bench_parse_size(DEFAULT_SIZE);
	return bench_main(&cmd, argc, argv, &o, &o.out);
}
