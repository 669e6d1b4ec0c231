// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * reclaim: how fast memory.reclaim frees a process's memory while a child
 * of fork() or of odfork() still maps all of it.
 *
 *   reclaim [--size SIZE] [--runs N] [--csv FILE] [--table]
 *           [--require-odfork]
 *
 * Needs root, cgroup v2 (mounted at /sys/fs/cgroup if it is not) and
 * active swap.  Each run, fork first then odfork, alternating: the process
 * enters a new memory cgroup, maps SIZE (default 512M) of private
 * anonymous memory with 4 KiB pages, writes every page, forks a child
 * that only waits, and asks memory.reclaim for 3/4 of SIZE at once (one
 * write; the kernel retries on its own and fails with EAGAIN when it could
 * not take it all).  Timed: that write.  Reclaimed: what memory.current
 * lost.  Then the child exits and the cgroup goes.
 *
 * After fork() the pages are mapped by both processes and reclaim unmaps
 * them from both; after odfork() they are mapped once, through the shared
 * tables, and reclaim must free them as well (no page swapped out and kept).
 *
 * Output: CSV on stdout (or in FILE), one row per mode,
 *   mode,size_bytes,runs,min_mib_s,median_mib_s,max_mib_s,
 *   reclaimed_pct_median,tables_shared_per_fork
 * (MiB reclaimed per second of the write; reclaimed_pct: of what was
 * asked) and a table on stderr (stdout with --table).  odfork without
 * odfork(2): "unavailable", never measured with fork.
 *
 * Exit status: 0, 1 on an error (no root, no swap, no cgroup v2), 2 on a
 * bad command line, 3 with --require-odfork when odfork(2) is unavailable.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "bench.h"

#define DEFAULT_SIZE	"512M"
#define DEFAULT_RUNS	5
#define MAX_RUNS	100
#define CG_ROOT		"/sys/fs/cgroup"
#define CG_DIR		CG_ROOT "/odfork-bench-reclaim"
#define CGROUP2_MAGIC	0x63677270
#define CSV_HEADER	"mode,size_bytes,runs,min_mib_s,median_mib_s," \
			"max_mib_s,reclaimed_pct_median,tables_shared_per_fork\n"

struct opts {
	size_t size;
	int runs;
	struct bench_out out;
};

struct sample {
	double mib_s;		/* reclaimed MiB per second of the write */
	double pct;		/* reclaimed, % of what was asked */
	long long shared;	/* odfork_tables_shared moved by the fork */
};

/* --- cgroup files -------------------------------------------------------- */

static void put(const char *path, const char *text, bool may_fail)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		bench_die("%s: %s", path, strerror(errno));
	n = write(fd, text, strlen(text));
	if (n < 0 && !(may_fail && errno == EAGAIN))
		bench_die("writing %s to %s: %s", text, path, strerror(errno));
	close(fd);
}

static long long get_num(const char *path)
{
	FILE *f = fopen(path, "r");
	long long v;

	if (!f)
		bench_die("%s: %s", path, strerror(errno));
	if (fscanf(f, "%lld", &v) != 1)
		bench_die("%s: not a number", path);
	fclose(f);
	return v;
}

static void cg_enter(void)
{
	char pid[32];
	struct statfs sf;

	if (statfs(CG_ROOT, &sf) != 0 || sf.f_type != CGROUP2_MAGIC) {
		if (mount("none", CG_ROOT, "cgroup2", 0, NULL) != 0)
			bench_die("no cgroup v2 at " CG_ROOT ": %s",
				  strerror(errno));
	}
	put(CG_ROOT "/cgroup.subtree_control", "+memory", false);
	if (mkdir(CG_DIR, 0755) != 0 && errno != EEXIST)
		bench_die(CG_DIR ": %s", strerror(errno));
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	put(CG_DIR "/cgroup.procs", pid, false);
}

static void cg_leave(void)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	put(CG_ROOT "/cgroup.procs", pid, false);
	if (rmdir(CG_DIR) != 0)
		bench_die("rmdir " CG_DIR ": %s", strerror(errno));
}

/* Free swap in bytes, from /proc/meminfo. */
static long long swap_free(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	long long kb = -1;

	if (!f)
		bench_die("/proc/meminfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SwapFree: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? 0 : kb << 10;
}

/* --- one run ------------------------------------------------------------- */

static void run_one(const struct opts *o, enum bench_mode mode,
		    struct sample *s)
{
	long long ask = (long long)(o->size / 4 * 3), before, after, sh0;
	struct timespec t0, t1;
	char amount[32], c = 'q';
	int go[2];
	char *mem;
	long pid;

	cg_enter();
	mem = bench_map(o->size, false);
	bench_populate(mem, o->size);
	if (pipe(go) != 0)
		bench_die("pipe: %s", strerror(errno));
	fflush(NULL);
	sh0 = bench_vmstat("odfork_tables_shared");
	pid = bench_fork(mode);
	if (pid < 0)
		bench_die("%s: %s", bench_mode_name[mode], strerror(errno));
	if (pid == 0) {
		close(go[1]);
		_exit(read(go[0], &c, 1) == 1 ? 0 : 1);
	}
	close(go[0]);
	s->shared = sh0 < 0 ? -1 : bench_vmstat("odfork_tables_shared") - sh0;

	snprintf(amount, sizeof(amount), "%lld", ask);
	before = get_num(CG_DIR "/memory.current");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	put(CG_DIR "/memory.reclaim", amount, true);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	after = get_num(CG_DIR "/memory.current");
	s->pct = 100.0 * (double)(before - after) / (double)ask;
	s->mib_s = (double)(before - after) / (1 << 20) /
		   (bench_us(&t0, &t1) / 1e6);

	if (write(go[1], &c, 1) != 1)
		bench_die("waking the child: %s", strerror(errno));
	close(go[1]);
	bench_reap(pid);
	bench_unmap(mem, o->size);
	cg_leave();
}

/* --- the runs ------------------------------------------------------------ */

static void report(const struct opts *o, enum bench_mode mode,
		   struct sample *s, int n)
{
	double rate[MAX_RUNS], pct[MAX_RUNS];
	struct bench_stats r, p;
	const char *name = bench_mode_name[mode];
	char shared[32];
	int i;

	if (!n) {
		if (o->out.csv)
			fprintf(o->out.csv, "%s,%zu,0,,,,,unavailable\n", name,
				o->size);
		fprintf(o->out.table, "%-7s unavailable\n", name);
		return;
	}
	for (i = 0; i < n; i++) {
		rate[i] = s[i].mib_s;
		pct[i] = s[i].pct;
	}
	bench_stats(rate, n, &r);
	bench_stats(pct, n, &p);
	if (s[0].shared < 0)
		snprintf(shared, sizeof(shared), "NA");
	else if (mode == BENCH_ODFORK && s[0].shared == 0)
		snprintf(shared, sizeof(shared), "no sharing");
	else
		snprintf(shared, sizeof(shared), "%lld", s[0].shared);
	if (o->out.csv)
		fprintf(o->out.csv, "%s,%zu,%d,%.1f,%.1f,%.1f,%.1f,%s\n", name,
			o->size, n, r.min, r.median, r.max, p.median, shared);
	fprintf(o->out.table, "%-7s %5d %10.1f %10.1f %10.1f %10.1f%%  %s\n",
		name, n, r.min, r.median, r.max, p.median, shared);
}

static void run(const void *ctx)
{
	static struct sample s[BENCH_NR_MODES][MAX_RUNS];
	const struct opts *o = ctx;
	bool odfork_ok = !bench_odfork_missing();
	int i, m, n[BENCH_NR_MODES] = { 0 };

	if (geteuid() != 0)
		bench_die("needs root (memory cgroups)");
	if (swap_free() < (long long)o->size)
		bench_die("needs at least %zu MiB of free swap (swapon)",
			  o->size >> 20);
	for (i = 0; i < o->runs; i++)
		for (m = 0; m < BENCH_NR_MODES; m++) {
			if (m == BENCH_ODFORK && !odfork_ok)
				continue;
			run_one(o, m, &s[m][n[m]++]);
		}
	if (o->out.csv)
		fputs(CSV_HEADER, o->out.csv);
	fprintf(o->out.table, "%-7s %5s %10s %10s %10s %11s  %s\n", "mode", "runs",
		"min MiB/s", "median", "max", "reclaimed", "tables shared/fork");
	for (m = 0; m < BENCH_NR_MODES; m++)
		report(o, m, s[m], n[m]);
}

/* --- command line -------------------------------------------------------- */

static const struct option long_opts[] = {
	{ "size",		required_argument, NULL, 's' },
	{ "runs",		required_argument, NULL, 'n' },
	{ NULL,			0,		   NULL, 0 },
};

static int parse_opt(int c, char *arg, void *ctx)
{
	struct opts *o = ctx;

	if (c == 's')
		return bench_opt_size(arg, &o->size);
	return bench_opt_int("runs", arg, 1, MAX_RUNS, &o->runs);
}

static void what(const void *ctx, char *buf, size_t len)
{
	const struct opts *o = ctx;

	snprintf(buf, len, "%zu MiB, %d runs", o->size >> 20, o->runs);
}

static const struct bench_cmd cmd = {
	.name = "reclaim",
	.usage =
	"Usage: reclaim [--size SIZE] [--runs N] [--csv FILE] [--table]\n"
	"               [--require-odfork]\n"
	"\n"
	"  -s, --size SIZE       memory of the process (K, M, G: powers\n"
	"                        of 1024, a multiple of 2M; default "
	DEFAULT_SIZE ")\n"
	"  -n, --runs N          runs per mode (1 to 100, default 5)\n",
	.usage_tail = "\nNeeds root, cgroup v2 and free swap of at least SIZE.\n",
	.short_opts = "s:n:",
	.long_opts = long_opts,
	.parse = parse_opt,
	.what = what,
	.run = run,
};

int main(int argc, char **argv)
{
	struct opts o = { .runs = DEFAULT_RUNS };

	o.size = bench_parse_size(DEFAULT_SIZE);
	return bench_main(&cmd, argc, argv, &o, &o.out);
}
