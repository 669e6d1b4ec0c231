// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * concurrent-fork: fork() vs odfork() latency when several processes, each
 * with its own large memory, fork at the same time.
 *
 *   concurrent-fork [--forkers N] [--size SIZE] [--runs N] [--csv FILE]
 *                   [--table] [--require-odfork]
 *
 * Starts N worker processes (default 3); each maps SIZE (default 1G) of
 * private anonymous memory, 2 MiB aligned, with 4 KiB pages, and writes
 * every page.  Then, for 1 worker alone and for all N together, R rounds
 * (default 7, at least 5) of each mode, fork first: in a round the
 * coordinator wakes the workers one after the other through pipes, each
 * times one fork of the mode (just before the call to its return in the
 * worker; its child exits at once) and reports the time.  The workers'
 * forks overlap as far as the CPUs allow.
 *
 * Output: CSV on stdout (or in FILE), one row per mode and worker count,
 *   mode,forkers,size_bytes,samples,min_us,median_us,max_us,
 *   tables_shared_per_fork
 * (one line; samples = rounds * forkers) and a table on stderr (stdout
 * with --table).  The last column is as in fork-latency: how much
 * /proc/vmstat odfork_tables_shared moved per fork, "no sharing" for odfork
 * rows where it did not move, "NA" without the counter, "unavailable"
 * without odfork(2).
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

#define DEFAULT_FORKERS	3
#define MAX_FORKERS	16
#define DEFAULT_SIZE	"1G"
#define DEFAULT_RUNS	7
#define MIN_RUNS	5
#define MAX_RUNS	1000
#define CMD_QUIT	'q'
#define CSV_HEADER	"mode,forkers,size_bytes,samples,min_us,median_us," \
			"max_us,tables_shared_per_fork\n"

struct opts {
	int forkers;
	size_t size;
	int runs;
	struct bench_out out;
};

/* The coordinator's ends of one worker's pipes. */
struct worker {
	long pid;
	int cmd;		/* write: a mode, or CMD_QUIT */
	int res;		/* read: one double per fork, after "ready" */
};

static struct worker workers[MAX_FORKERS];

/* --- the workers --------------------------------------------------------- */

static void send_all(int fd, const void *buf, size_t len)
{
	if (write(fd, buf, len) != (ssize_t)len)
		bench_die("write to pipe: %s", strerror(errno));
}

/* A worker: populate, say ready, then fork on each command. */
static void worker_main(size_t size, int cmd, int res)
{
	char *mem = bench_map(size, false);
	double us = 0;
	char c;

	bench_populate(mem, size);
	send_all(res, &us, sizeof(us));
	while (read(cmd, &c, 1) == 1 && c != CMD_QUIT) {
		us = bench_time_fork((enum bench_mode)c);
		send_all(res, &us, sizeof(us));
	}
	_exit(0);
}

static void start_worker(struct worker *w, size_t size)
{
	struct worker *other;
	int cmd[2], res[2];

	if (pipe(cmd) || pipe(res))
		bench_die("pipe: %s", strerror(errno));
	w->pid = fork();
	if (w->pid < 0)
		bench_die("fork: %s", strerror(errno));
	if (w->pid == 0) {
		for (other = workers; other < w; other++) {
			close(other->cmd);
			close(other->res);
		}
		close(cmd[1]);
		close(res[0]);
		worker_main(size, cmd[0], res[1]);
	}
	close(cmd[0]);
	close(res[1]);
	w->cmd = cmd[1];
	w->res = res[0];
}

static double receive(struct worker *w)
{
	double us;

	if (read(w->res, &us, sizeof(us)) != sizeof(us))
		bench_die("worker %ld stopped", w->pid);
	return us;
}

/* --- the coordinator ----------------------------------------------------- */

/* One row: a mode with K workers forking together. */
struct result {
	enum bench_mode mode;
	int forkers;
	double *t;
	int n;
	long long shared;	/* -1: no counter */
};

/* One round: K workers fork in MODE at once. */
static void round_k(struct result *r)
{
	char c = r->mode;
	long long before = bench_vmstat("odfork_tables_shared");
	int w;

	for (w = 0; w < r->forkers; w++)
		send_all(workers[w].cmd, &c, 1);
	for (w = 0; w < r->forkers; w++)
		r->t[r->n++] = receive(&workers[w]);
	if (before < 0 || r->shared < 0)
		r->shared = -1;
	else
		r->shared += bench_vmstat("odfork_tables_shared") - before;
}

static void print_row(const struct opts *o, struct result *r)
{
	const char *mode = bench_mode_name[r->mode];
	struct bench_stats s;
	char shared[32];

	if (!r->n) {
		if (o->out.csv)
			fprintf(o->out.csv, "%s,%d,%zu,0,,,,unavailable\n", mode,
				r->forkers, o->size);
		fprintf(o->out.table, "%-7s %7d  unavailable (%s)\n", mode,
			r->forkers, bench_odfork_missing());
		return;
	}
	bench_stats(r->t, r->n, &s);
	if (r->shared < 0)
		snprintf(shared, sizeof(shared), "NA");
	else if (r->mode == BENCH_ODFORK && !r->shared)
		snprintf(shared, sizeof(shared), "no sharing");
	else
		snprintf(shared, sizeof(shared), "%.1f",
			 (double)r->shared / r->n);
	if (o->out.csv)
		fprintf(o->out.csv, "%s,%d,%zu,%d,%.1f,%.1f,%.1f,%s\n", mode,
			r->forkers, o->size, r->n, s.min, s.median, s.max,
			shared);
	fprintf(o->out.table, "%-7s %7d %7d %12.1f %12.1f %12.1f  %s\n", mode,
		r->forkers, r->n, s.min, s.median, s.max, shared);
}

/* R rounds of each mode with K workers, one mode after the other. */
static void bench_k(const struct opts *o, int k)
{
	struct result r[BENCH_NR_MODES];
	int i, m;

	bench_note("%d forker%s, %d rounds", k, k > 1 ? "s" : "", o->runs);
	memset(r, 0, sizeof(r));
	for (m = 0; m < BENCH_NR_MODES; m++) {
		r[m].mode = m;
		r[m].forkers = k;
		r[m].t = calloc(o->runs * k, sizeof(double));
		if (!r[m].t)
			bench_die("out of memory");
	}
	for (m = 0; m < BENCH_NR_MODES; m++)
		for (i = 0; i < o->runs; i++)
			if (m != BENCH_ODFORK || !bench_odfork_missing())
				round_k(&r[m]);
	for (m = 0; m < BENCH_NR_MODES; m++) {
		print_row(o, &r[m]);
		free(r[m].t);
	}
}

static void run(const void *ctx)
{
	const struct opts *o = ctx;
	char quit = CMD_QUIT;
	int w;

	fflush(NULL);
	for (w = 0; w < o->forkers; w++)
		start_worker(&workers[w], o->size);
	for (w = 0; w < o->forkers; w++)
		receive(&workers[w]);
	if (o->out.csv)
		fputs(CSV_HEADER, o->out.csv);
	fprintf(o->out.table, "%-7s %7s %7s %12s %12s %12s  %s\n", "mode",
		"forkers", "samples", "min us", "median us", "max us",
		"tables shared/fork");
	bench_k(o, 1);
	if (o->forkers > 1)
		bench_k(o, o->forkers);
	for (w = 0; w < o->forkers; w++) {
		send_all(workers[w].cmd, &quit, 1);
		bench_reap(workers[w].pid);
	}
}

/* --- command line -------------------------------------------------------- */

static const struct option long_opts[] = {
	{ "forkers",		required_argument, NULL, 'f' },
	{ "size",		required_argument, NULL, 's' },
	{ "runs",		required_argument, NULL, 'n' },
	{ NULL,			0,		   NULL, 0 },
};

static int parse_opt(int c, char *arg, void *ctx)
{
	struct opts *o = ctx;

	switch (c) {
	case 'f':
		return bench_opt_int("forkers", arg, 1, MAX_FORKERS,
				     &o->forkers);
	case 's':
		return bench_opt_size(arg, &o->size);
	default:	/* 'n' */
		return bench_opt_int("runs", arg, MIN_RUNS, MAX_RUNS, &o->runs);
	}
}

static void what(const void *ctx, char *buf, size_t len)
{
	const struct opts *o = ctx;

	snprintf(buf, len, "%d forkers of %zu MiB, %d rounds", o->forkers,
		 o->size >> 20, o->runs);
}

static const struct bench_cmd cmd = {
	.name = "concurrent-fork",
	.usage =
	"Usage: concurrent-fork [--forkers N] [--size SIZE] [--runs N]\n"
	"                       [--csv FILE] [--table] [--require-odfork]\n"
	"\n"
	"  -f, --forkers N       processes forking at once (1 to 16,\n"
	"                        default 3)\n"
	"  -s, --size SIZE       memory of each (K, M, G: powers of 1024;\n"
	"                        default " DEFAULT_SIZE ")\n"
	"  -n, --runs N          rounds per mode (>= 5, default 7)\n",
	.short_opts = "f:s:n:",
	.long_opts = long_opts,
	.parse = parse_opt,
	.what = what,
	.run = run,
};

int main(int argc, char **argv)
{
	struct opts o = { .forkers = DEFAULT_FORKERS, .runs = DEFAULT_RUNS };

	o.size = bench_parse_size(DEFAULT_SIZE);
	return bench_main(&cmd, argc, argv, &o, &o.out);
}
