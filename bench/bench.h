/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * Helpers shared by the micro-benchmarks (fork-latency, fault-cost,
 * total-cost, concurrent-fork) and sqlite/sqlite-harness: the two ways to
 * fork, memory that can be shared, /proc readers, statistics and
 * command-line parsing.
 *
 * Errors in these helpers are fatal: they print "PROG: message" and exit 1,
 * so that a benchmark never reports a number it did not measure.
 */
#ifndef ODFORK_BENCH_H
#define ODFORK_BENCH_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#define BENCH_EXIT_USAGE	2	/* bad command line */
#define BENCH_EXIT_NO_ODFORK	3	/* --require-odfork without odfork(2) */
#define BENCH_PMD_SIZE		((size_t)2 << 20)

/* The program's name, for messages; set it first thing in main(). */
extern const char *bench_prog;

void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
						      noreturn));
void bench_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- time and statistics ------------------------------------------------- */

static inline double bench_us(const struct timespec *a,
			      const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1e6 + (b->tv_nsec - a->tv_nsec) / 1e3;
}

struct bench_stats {
	int n;
	double min, median, max;
};

/* Sorts V in place. */
void bench_stats(double *v, int n, struct bench_stats *s);

/* --- forking ------------------------------------------------------------- */

enum bench_mode {
	BENCH_FORK,
	BENCH_ODFORK,
	BENCH_NR_MODES,
};

extern const char *const bench_mode_name[BENCH_NR_MODES];

/*
 * Why odfork(2) cannot be measured here, or NULL when it can.  Probes once:
 * odfork(2) must reject unknown flags with EINVAL.
 */
const char *bench_odfork_missing(void);

/* syscall(SYS_fork) or syscall(__NR_odfork, 0): they differ in the kernel. */
long bench_fork(enum bench_mode mode);

/* Wait for PID; fatal unless it exited with 0. */
void bench_reap(long pid);

/* Microseconds of one fork in the parent; the child exits at once. */
double bench_time_fork(enum bench_mode mode);

/* --- memory -------------------------------------------------------------- */

/*
 * SIZE bytes of private anonymous memory, 2 MiB aligned, advised
 * MADV_HUGEPAGE (THP) or MADV_NOHUGEPAGE (4 KiB pages).
 */
char *bench_map(size_t size, bool thp);
void bench_unmap(char *mem, size_t size);

/* Write one byte into every page, with progress lines on stderr. */
void bench_populate(char *mem, size_t size);

/* Why THP cannot be used here (sysfs says never, or no THP), or NULL. */
const char *bench_thp_missing(void);

/* AnonHugePages of the mapping that starts at MEM, in bytes; -1 unknown. */
long long bench_huge_bytes(const char *mem);

/* --- /proc --------------------------------------------------------------- */

/* A /proc/vmstat counter, or -1 when the kernel has none by that name. */
long long bench_vmstat(const char *name);

/* Minor faults of this process so far. */
long bench_minflt(void);

/* "kernel R, vm.odfork V, page size P" for the header line. */
void bench_describe(char *buf, size_t len);

/* --- command line -------------------------------------------------------- */

/* The options every benchmark has: --csv, --table, --require-odfork. */
struct bench_out {
	FILE *csv;		/* NULL: no CSV */
	FILE *table;		/* stderr, or stdout with --table */
	bool require_odfork;
};

/* A benchmark's command line, apart from the common options. */
struct bench_cmd {
	const char *name;	/* becomes bench_prog */
	const char *usage;	/* "Usage: ..." and its own options' help */
	const char *usage_tail;	/* after the common options' help, or NULL */
	const char *short_opts;	/* its own, for getopt_long() */
	const struct option *long_opts;	/* its own, NULL-terminated */
	/*
	 * One of its own options (ARG: getopt's optarg, which it may parse
	 * in place): 0, or an exit status (bench_usage_error).
	 */
	int (*parse)(int c, char *arg, void *ctx);
	/* After the last option, or NULL: 0, or an exit status. */
	int (*check)(void *ctx);
	/* The WHAT of the header line ("128 MiB, 8 rounds") into BUF. */
	void (*what)(const void *ctx, char *buf, size_t len);
	/* The benchmark itself, on CTX as parsed (its bench_out included). */
	void (*run)(const void *ctx);
};

/*
 * All of main() after CTX's defaults: parse the command line of CMD into
 * CTX and OUT (its CSV file opened), print the header line on OUT's table
 * ("PROG: KERNEL..., WHAT, odfork: available", or "unavailable" and a line
 * with the reason), run CMD and close the CSV file (fatal if writing it
 * failed).  Returns main()'s exit status: 0; BENCH_EXIT_USAGE after a
 * message and the usage on stderr; BENCH_EXIT_NO_ODFORK with
 * --require-odfork and no odfork(2); or CMD's own.  Exits 0 after --help.
 */
int bench_main(const struct bench_cmd *cmd, int argc, char **argv,
	       void *ctx, struct bench_out *out);

/* "PROG: MSG: ARG" and the usage on stderr; returns BENCH_EXIT_USAGE. */
int bench_usage_error(const char *msg, const char *arg);

/* The same with a message of its own: "PROG: " and FMT's. */
int bench_usage_errorf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/*
 * For CMD's parse: *VAL from ARG, an integer in [LO, HI], and 0; or the
 * usage error "WHAT must be LO to HI: ARG" (*VAL unchanged).
 */
int bench_opt_int(const char *what, const char *arg, int lo, int hi,
		  int *val);

/*
 * The same for a size, a multiple of 2M (bench_parse_size()); the usage
 * error "bad size (a multiple of 2M): ARG".
 */
int bench_opt_size(const char *arg, size_t *size);

/* "64M" and the like (K, M, G, T: powers of 1024); 0 for anything else. */
size_t bench_parse_size(const char *s);

/* Parse a comma list of sizes; the count, or -1. */
int bench_parse_sizes(char *list, size_t *sizes, int max);

/* Parse a comma list of integers in [LO, HI]; the count, or -1. */
int bench_parse_ints(char *list, int *vals, int max, int lo, int hi);

/* An integer in [LO, HI]; -1 for anything else (LO must be >= 0). */
long bench_parse_int(const char *s, long lo, long hi);

const char *bench_fmt_size(size_t size, char *buf, size_t len);

#endif /* ODFORK_BENCH_H */
