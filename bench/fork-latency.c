// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * fork-latency: how long fork() and odfork() hold the parent, by the size of
 * its memory (the paper's Fig. 7).
 *
 *   fork-latency [--sizes LIST] [--runs N] [--csv FILE] [--table]
 *                [--require-odfork]
 *
 * For a 64 KiB baseline ("empty") and then each size in LIST (default
 * 64M,256M,1G,2G), maps that much private anonymous memory with 4 KiB pages
 * (MADV_NOHUGEPAGE), writes every page, and times N forks (default 7, at
 * least 5) of each mode: "fork" and "odfork".  The time is from just before
 * the call to its return in the parent; the child exits at once and the
 * parent reaps it.  The memory is not touched between forks.
 *
 * Both modes enter the kernel through syscall(2), so that they differ in
 * the kernel only: fork is syscall(SYS_fork), odfork syscall(__NR_odfork, 0).
 * A kernel without odfork(2) makes that mode "unavailable", never fork.
 *
 * Output: CSV on stdout (or in FILE), one row per size and mode,
 *   mode,size_bytes,runs,min_us,median_us,max_us,tables_shared_per_fork
 * and a table for people on stderr (on stdout with --table).  The last
 * column is how much /proc/vmstat odfork_tables_shared moved per fork: a
 * number, "no sharing" for an odfork row where it did not move, "NA" when
 * the kernel has no such counter, "unavailable" when odfork(2) is missing.
 *
 * Exit status: 0, 1 on an error, 2 on a bad command line, 3 with
 * --require-odfork when odfork(2) is unavailable.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "syscall.h"	/* __NR_odfork, from lib/ */

#define PROG		"fork-latency"
#define DEFAULT_SIZES	"64M,256M,1G,2G"
#define DEFAULT_RUNS	7
#define MIN_RUNS	5
#define MAX_RUNS	1000
#define MAX_SIZES	32
#define EMPTY_SIZE	((size_t)64 << 10)
#define EXIT_USAGE	2
#define EXIT_NO_ODFORK	3
#define CSV_HEADER	"mode,size_bytes,runs,min_us,median_us,max_us,tables_shared_per_fork\n"

enum mode {
	MODE_FORK,
	MODE_ODFORK,
	NR_MODES,
};

static const char *const mode_name[NR_MODES] = { "fork", "odfork" };

struct opts {
	size_t sizes[MAX_SIZES];
	int nr_sizes;
	int runs;
	FILE *csv;		/* NULL: no CSV */
	FILE *table;		/* stderr, or stdout with --table */
	bool require_odfork;
};

/* One row of output: a mode at a size. */
struct result {
	enum mode mode;
	size_t size;
	int runs;		/* 0: not measured */
	double min, median, max;
	long long shared;	/* odfork_tables_shared moved; -1: no counter */
};

/* Why odfork(2) cannot be measured; empty when it can. */
static char odfork_missing[128];

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

/* --- the two ways to fork ------------------------------------------------ */

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

/*
 * odfork(2) rejects unknown flags with EINVAL without forking; ENOSYS (or
 * anything else) means this kernel does not have it.  Should some other
 * syscall 500 fork, the child leaves at once and the parent reaps it.
 */
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
			 "syscall %d: %s%s", __NR_odfork,
			 err == ENOSYS ? "ENOSYS, " : "", strerror(err));
	}
#else
	snprintf(odfork_missing, sizeof(odfork_missing),
		 "odfork(2) is not wired up on this architecture");
#endif
}

/* --- measuring ----------------------------------------------------------- */

/* odfork_tables_shared from /proc/vmstat, or -1 without it. */
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

static double elapsed_us(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1e6 + (b->tv_nsec - a->tv_nsec) / 1e3;
}

static void reap(long pid, enum mode mode)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		die("%s child %ld did not exit with 0 (status %#x)",
		    mode_name[mode], pid, status);
}

/* One fork, timed in the parent; the child exits at once. */
static double time_fork(enum mode mode)
{
	struct timespec start, end;
	long pid;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &start);
	pid = do_fork(mode);
	if (pid == 0)
		_exit(0);
	err = errno;
	clock_gettime(CLOCK_MONOTONIC, &end);
	if (pid < 0)
		die("%s: %s", mode_name[mode], strerror(err));
	reap(pid, mode);
	return elapsed_us(&start, &end);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void measure(struct result *r, int runs)
{
	double t[MAX_RUNS];
	long long before;
	int i;

	before = tables_shared();
	for (i = 0; i < runs; i++)
		t[i] = time_fork(r->mode);
	r->shared = before < 0 ? -1 : tables_shared() - before;
	qsort(t, runs, sizeof(t[0]), cmp_double);
	r->runs = runs;
	r->min = t[0];
	r->max = t[runs - 1];
	r->median = runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
}

/* --- memory -------------------------------------------------------------- */

static const char *fmt_size(size_t size, char *buf, size_t len)
{
	static const char unit[] = "KMGT";
	int u = -1;

	while (u < 3 && size && !(size & 1023)) {
		size >>= 10;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%zu", size);
	else
		snprintf(buf, len, "%zu%c", size, unit[u]);
	return buf;
}

/* Map SIZE bytes of 4 KiB pages and write every page. */
static char *populate(size_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	struct timespec start, end;
	char name[32];
	size_t off;
	char *mem;

	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap %zu bytes: %s", size, strerror(errno));
	if (madvise(mem, size, MADV_NOHUGEPAGE))
		fprintf(stderr, PROG ": madvise(MADV_NOHUGEPAGE): %s\n",
			strerror(errno));
	fmt_size(size, name, sizeof(name));
	fprintf(stderr, PROG ": populating %s ...\n", name);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (off = 0; off < size; off += page)
		mem[off] = 1;
	clock_gettime(CLOCK_MONOTONIC, &end);
	fprintf(stderr, PROG ": %s populated in %.1f s\n", name,
		elapsed_us(&start, &end) / 1e6);
	return mem;
}

/* --- output -------------------------------------------------------------- */

static void fmt_shared(const struct result *r, char *buf, size_t len)
{
	if (!r->runs)
		snprintf(buf, len, "unavailable");
	else if (r->shared < 0)
		snprintf(buf, len, "NA");
	else if (r->mode == MODE_ODFORK && !r->shared)
		snprintf(buf, len, "no sharing");
	else
		snprintf(buf, len, "%.1f", (double)r->shared / r->runs);
}

static void print_csv(FILE *f, const struct result *r)
{
	char shared[32];

	fmt_shared(r, shared, sizeof(shared));
	if (r->runs)
		fprintf(f, "%s,%zu,%d,%.1f,%.1f,%.1f,%s\n", mode_name[r->mode],
			r->size, r->runs, r->min, r->median, r->max, shared);
	else
		fprintf(f, "%s,%zu,0,,,,%s\n", mode_name[r->mode], r->size,
			shared);
	fflush(f);
}

static void print_table_head(FILE *f)
{
	fprintf(f, "%-12s %-7s %4s %12s %12s %12s  %s\n", "size", "mode",
		"runs", "min us", "median us", "max us", "tables shared/fork");
}

static void print_row(FILE *f, const struct result *r)
{
	char size[40], shared[32];

	fmt_size(r->size, size, sizeof(size));
	if (r->size == EMPTY_SIZE)
		strcat(size, " (empty)");
	fmt_shared(r, shared, sizeof(shared));
	if (r->runs)
		fprintf(f, "%-12s %-7s %4d %12.1f %12.1f %12.1f  %s\n", size,
			mode_name[r->mode], r->runs, r->min, r->median,
			r->max, shared);
	else
		fprintf(f, "%-12s %-7s %4s %12s %12s %12s  unavailable (%s)\n",
			size, mode_name[r->mode], "-", "-", "-", "-",
			odfork_missing);
	fflush(f);
}

static void report(const struct opts *o, const struct result *r)
{
	if (o->csv)
		print_csv(o->csv, r);
	print_row(o->table, r);
}

/* --- the benchmark ------------------------------------------------------- */

static void bench_size(const struct opts *o, size_t size)
{
	struct result r;
	char *mem;
	int m;

	mem = populate(size);
	for (m = 0; m < NR_MODES; m++) {
		memset(&r, 0, sizeof(r));
		r.mode = m;
		r.size = size;
		if (m != MODE_ODFORK || !odfork_missing[0])
			measure(&r, o->runs);
		report(o, &r);
	}
	if (munmap(mem, size))
		die("munmap: %s", strerror(errno));
}

static void print_header(const struct opts *o)
{
	char sysctl[16] = "absent";
	struct utsname u;
	FILE *f;

	f = fopen("/proc/sys/vm/odfork", "r");
	if (f) {
		if (!fgets(sysctl, sizeof(sysctl), f))
			snprintf(sysctl, sizeof(sysctl), "?");
		sysctl[strcspn(sysctl, "\n")] = 0;
		fclose(f);
	}
	uname(&u);
	fprintf(o->table,
		PROG ": kernel %s, vm.odfork %s, page size %ld, %d runs per mode, odfork: %s\n",
		u.release, sysctl, sysconf(_SC_PAGESIZE), o->runs,
		odfork_missing[0] ? "unavailable" : "available");
	if (odfork_missing[0])
		fprintf(o->table, PROG ": odfork unavailable: %s\n",
			odfork_missing);
}

/* --- command line -------------------------------------------------------- */

static void usage(FILE *f)
{
	fputs("Usage: " PROG " [--sizes LIST] [--runs N] [--csv FILE]\n"
	      "                    [--table] [--require-odfork]\n"
	      "\n"
	      "  -s, --sizes LIST      sizes to fork with, e.g. 64M,1G (K, M, G,\n"
	      "                        T: powers of 1024); default\n"
	      "                        " DEFAULT_SIZES "\n"
	      "  -n, --runs N          forks per mode and size (>= 5, default 7)\n"
	      "  -o, --csv FILE        write the CSV to FILE, not to stdout\n"
	      "  -t, --table           print the table on stdout, not stderr\n"
	      "                        (the CSV then only with --csv)\n"
	      "  -r, --require-odfork  exit 3 when odfork(2) is unavailable\n"
	      "  -h, --help            print this help\n", f);
}

static int usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, PROG ": %s: %s\n", msg, arg);
	usage(stderr);
	return EXIT_USAGE;
}

/* "64M" and the like; 0 for anything else. */
static size_t parse_size(const char *s)
{
	unsigned long long val;
	const char *units = "KMGT", *u;
	char *end;

	if (*s < '0' || *s > '9')
		return 0;
	errno = 0;
	val = strtoull(s, &end, 10);
	if (errno)
		return 0;
	if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u || end[1])
			return 0;
		if (val > ((size_t)-1 >> (10 * (u - units + 1))))
			return 0;
		val <<= 10 * (u - units + 1);
	}
	return val == (size_t)val ? val : 0;
}

static int parse_sizes(char *list, struct opts *o)
{
	char *tok, *save = NULL;

	o->nr_sizes = 0;
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (o->nr_sizes == MAX_SIZES)
			return -1;
		o->sizes[o->nr_sizes] = parse_size(tok);
		if (!o->sizes[o->nr_sizes++])
			return -1;
	}
	return o->nr_sizes ? 0 : -1;
}

static int parse_runs(const char *s, int *runs)
{
	char *end;
	long val;

	errno = 0;
	val = strtol(s, &end, 10);
	if (errno || end == s || *end || val < MIN_RUNS || val > MAX_RUNS)
		return -1;
	*runs = val;
	return 0;
}

static const struct option long_opts[] = {
	{ "sizes",		required_argument, NULL, 's' },
	{ "runs",		required_argument, NULL, 'n' },
	{ "csv",		required_argument, NULL, 'o' },
	{ "table",		no_argument,	   NULL, 't' },
	{ "require-odfork",	no_argument,	   NULL, 'r' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ NULL,			0,		   NULL, 0 },
};

/* One option; 0, or an exit status. */
static int parse_opt(int c, struct opts *o, const char **csv)
{
	switch (c) {
	case 's':
		if (parse_sizes(optarg, o))
			return usage_error("bad size list", optarg);
		return 0;
	case 'n':
		if (parse_runs(optarg, &o->runs))
			return usage_error("runs must be 5 to 1000", optarg);
		return 0;
	case 'o':
		*csv = optarg;
		return 0;
	case 't':
		o->table = stdout;
		return 0;
	case 'r':
		o->require_odfork = true;
		return 0;
	case 'h':
		usage(stdout);
		exit(0);
	default:
		usage(stderr);
		return EXIT_USAGE;
	}
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	char defaults[] = DEFAULT_SIZES;
	const char *csv = NULL;
	int c, ret;

	parse_sizes(defaults, o);
	o->runs = DEFAULT_RUNS;
	o->table = stderr;
	while ((c = getopt_long(argc, argv, "s:n:o:trh", long_opts,
				NULL)) != -1) {
		ret = parse_opt(c, o, &csv);
		if (ret)
			return ret;
	}
	if (optind < argc)
		return usage_error("unexpected argument", argv[optind]);
	o->csv = o->table == stdout ? NULL : stdout;
	if (csv) {
		o->csv = fopen(csv, "w");
		if (!o->csv)
			die("%s: %s", csv, strerror(errno));
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	int i, ret;

	memset(&o, 0, sizeof(o));
	ret = parse_args(argc, argv, &o);
	if (ret)
		return ret;
	probe_odfork();
	print_header(&o);
	if (o.require_odfork && odfork_missing[0])
		return EXIT_NO_ODFORK;
	if (o.csv)
		fputs(CSV_HEADER, o.csv);
	print_table_head(o.table);
	bench_size(&o, EMPTY_SIZE);
	for (i = 0; i < o.nr_sizes; i++)
		bench_size(&o, o.sizes[i]);
	if (o.csv && o.csv != stdout && fclose(o.csv))
		die("writing the CSV: %s", strerror(errno));
	return 0;
}
