// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * Helpers shared by the benchmark programs; see bench.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "syscall.h"	/* __NR_odfork, from lib/ */

#define THP_SYSFS	"/sys/kernel/mm/transparent_hugepage/enabled"
#define PROGRESS_STEP	((size_t)1 << 30)

const char *bench_prog = "bench";

const char *const bench_mode_name[BENCH_NR_MODES] = { "fork", "odfork" };

void bench_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", bench_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* One write per line: concurrent forkers share stderr. */
void bench_note(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int len;

	len = snprintf(line, sizeof(line), "%s: ", bench_prog);
	va_start(ap, fmt);
	vsnprintf(line + len, sizeof(line) - len - 1, fmt, ap);
	va_end(ap);
	len = strlen(line);
	line[len++] = '\n';
	if (write(STDERR_FILENO, line, len) < 0)
		return;	/* nowhere to say so */
}

/* --- time and statistics ------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void bench_stats(double *v, int n, struct bench_stats *s)
{
	qsort(v, n, sizeof(v[0]), cmp_double);
	s->n = n;
	s->min = v[0];
	s->max = v[n - 1];
	s->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* --- forking ------------------------------------------------------------- */

static char odfork_missing[128];
static bool odfork_probed;

/* Why odfork(2) cannot be used here, or "" when it can. */
static void probe_odfork(void)
{
#ifdef __NR_odfork
	int err = odfork_syscall_check();

	if (err == ODFORK_SYSCALL_FORKED)
		snprintf(odfork_missing, sizeof(odfork_missing),
			 "syscall %d is not odfork(2)", __NR_odfork);
	else if (err)
		snprintf(odfork_missing, sizeof(odfork_missing),
			 "syscall %d: %s", __NR_odfork, strerror(err));
#else
	snprintf(odfork_missing, sizeof(odfork_missing),
		 "odfork(2) is not wired up on this architecture");
#endif
}

const char *bench_odfork_missing(void)
{
	if (!odfork_probed) {
		probe_odfork();
		odfork_probed = true;
	}
	return odfork_missing[0] ? odfork_missing : NULL;
}

long bench_fork(enum bench_mode mode)
{
	if (mode == BENCH_FORK)
		return syscall(SYS_fork);
#ifdef __NR_odfork
	return syscall(__NR_odfork, 0UL);
#else
	errno = ENOSYS;
	return -1;
#endif
}

void bench_reap(long pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			bench_die("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		bench_die("child %ld did not exit with 0 (status %#x)", pid,
			  status);
}

double bench_time_fork(enum bench_mode mode)
{
	struct timespec start, end;
	long pid;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &start);
	pid = bench_fork(mode);
	if (pid == 0)
		_exit(0);
	err = errno;
	clock_gettime(CLOCK_MONOTONIC, &end);
	if (pid < 0)
		bench_die("%s: %s", bench_mode_name[mode], strerror(err));
	bench_reap(pid);
	return bench_us(&start, &end);
}

/* --- memory -------------------------------------------------------------- */

char *bench_map(size_t size, bool thp)
{
	size_t len = size + BENCH_PMD_SIZE, head;
	char *raw, *mem;

	raw = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		bench_die("mmap %zu bytes: %s", len, strerror(errno));
	mem = (char *)(((uintptr_t)raw + BENCH_PMD_SIZE - 1) &
		       ~(uintptr_t)(BENCH_PMD_SIZE - 1));
	head = mem - raw;
	if (head)
		munmap(raw, head);
	munmap(mem + size, BENCH_PMD_SIZE - head);
	if (madvise(mem, size, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		bench_die("madvise(%s): %s",
			  thp ? "MADV_HUGEPAGE" : "MADV_NOHUGEPAGE",
			  strerror(errno));
	return mem;
}

void bench_unmap(char *mem, size_t size)
{
	if (munmap(mem, size))
		bench_die("munmap: %s", strerror(errno));
}

void bench_populate(char *mem, size_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	struct timespec start, end;
	char name[32], done[32];
	size_t off;

	bench_fmt_size(size, name, sizeof(name));
	bench_note("populating %s ...", name);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (off = 0; off < size; off += page) {
		mem[off] = 1;
		if (off && !(off % PROGRESS_STEP))
			bench_note("  %s of %s",
				   bench_fmt_size(off, done, sizeof(done)),
				   name);
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	bench_note("%s populated in %.1f s", name, bench_us(&start, &end) / 1e6);
}

const char *bench_thp_missing(void)
{
	char line[128] = "";
	FILE *f;

	f = fopen(THP_SYSFS, "r");
	if (!f)
		return "no THP in this kernel";
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	if (strstr(line, "[never]"))
		return "THP disabled (" THP_SYSFS " is never)";
	return NULL;
}

long long bench_huge_bytes(const char *mem)
{
	unsigned long start = (uintptr_t)mem, lo, hi;
	long long kib = -1, val;
	bool in = false;
	char line[256];
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = lo == start;
		else if (in && sscanf(line, "AnonHugePages: %lld kB", &val) == 1)
			kib = val;
	}
	fclose(f);
	return kib < 0 ? -1 : kib << 10;
}

/* --- /proc --------------------------------------------------------------- */

long long bench_vmstat(const char *name)
{
	long long val, ret = -1;
	char key[64];
	FILE *f;

	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", key, &val) == 2)
		if (!strcmp(key, name))
			ret = val;
	fclose(f);
	return ret;
}

long bench_minflt(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		bench_die("getrusage: %s", strerror(errno));
	return ru.ru_minflt;
}

void bench_describe(char *buf, size_t len)
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
	snprintf(buf, len, "kernel %s, vm.odfork %s, page size %ld",
		 u.release, sysctl, sysconf(_SC_PAGESIZE));
}

/* --- command line -------------------------------------------------------- */

size_t bench_parse_size(const char *s)
{
	const char *units = "KMGT", *u;
	unsigned long long val;
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

/*
 * A comma list, parsed in place: ITEM(tok, i, ctx) parses item i, false
 * for a bad one.  The count, or -1 for no item, more than MAX or a bad one.
 */
static int bench_parse_list(char *list, int max,
			    bool (*item)(const char *tok, int i, void *ctx),
			    void *ctx)
{
	char *tok, *save = NULL;
	int n = 0;

	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (n == max || !item(tok, n, ctx))
			return -1;
		n++;
	}
	return n ? n : -1;
}

static bool bench_size_item(const char *tok, int i, void *ctx)
{
	size_t *sizes = ctx;

	sizes[i] = bench_parse_size(tok);
	return sizes[i] != 0;
}

int bench_parse_sizes(char *list, size_t *sizes, int max)
{
	return bench_parse_list(list, max, bench_size_item, sizes);
}

long bench_parse_int(const char *s, long lo, long hi)
{
	char *end;
	long val;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	val = strtol(s, &end, 10);
	if (errno || *end || val < lo || val > hi)
		return -1;
	return val;
}

struct bench_ints {
	int *vals;
	int lo, hi;
};

static bool bench_int_item(const char *tok, int i, void *ctx)
{
	const struct bench_ints *r = ctx;

	r->vals[i] = (int)bench_parse_int(tok, r->lo, r->hi);
	return r->vals[i] >= 0;
}

int bench_parse_ints(char *list, int *vals, int max, int lo, int hi)
{
	struct bench_ints r = { vals, lo, hi };

	return bench_parse_list(list, max, bench_int_item, &r);
}

const char *bench_fmt_size(size_t size, char *buf, size_t len)
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

/* --- command line -------------------------------------------------------- */

static const struct bench_cmd *bench_cur_cmd;

static const struct option bench_common_opts[] = {
	{ "csv",		required_argument, NULL, 'o' },
	{ "table",		no_argument,	   NULL, 't' },
	{ "require-odfork",	no_argument,	   NULL, 'r' },
	{ "help",		no_argument,	   NULL, 'h' },
};

#define NR_COMMON_OPTS	(sizeof(bench_common_opts) / sizeof(bench_common_opts[0]))
#define MAX_OWN_OPTS	12

static void bench_usage(FILE *f)
{
	fputs(bench_cur_cmd->usage, f);
	fputs("  -o, --csv FILE        write the CSV to FILE, not to stdout\n"
	      "  -t, --table           print the table on stdout, not stderr\n"
	      "                        (the CSV then only with --csv)\n"
	      "  -r, --require-odfork  exit 3 when odfork(2) is unavailable\n"
	      "  -h, --help            print this help\n", f);
	if (bench_cur_cmd->usage_tail)
		fputs(bench_cur_cmd->usage_tail, f);
}

int bench_usage_errorf(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", bench_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	bench_usage(stderr);
	return BENCH_EXIT_USAGE;
}

int bench_usage_error(const char *msg, const char *arg)
{
	return bench_usage_errorf("%s: %s", msg, arg);
}

int bench_opt_int(const char *what, const char *arg, int lo, int hi,
		  int *val)
{
	long v = bench_parse_int(arg, lo, hi);

	if (v < 0)
		return bench_usage_errorf("%s must be %d to %d: %s", what, lo,
					  hi, arg);
	*val = (int)v;
	return 0;
}

int bench_opt_size(const char *arg, size_t *size)
{
	size_t v = bench_parse_size(arg);

	if (!v || v % BENCH_PMD_SIZE)
		return bench_usage_error("bad size (a multiple of 2M)", arg);
	*size = v;
	return 0;
}

/* The common options and then CMD's own, in OPTS and SHORT_OPTS. */
static void bench_merge_opts(const struct bench_cmd *cmd, struct option *opts,
			     char *short_opts, size_t len)
{
	size_t n;

	for (n = 0; cmd->long_opts[n].name; n++) {
		if (n == MAX_OWN_OPTS)
			bench_die("too many options");
		opts[n] = cmd->long_opts[n];
	}
	memcpy(opts + n, bench_common_opts, sizeof(bench_common_opts));
	memset(opts + n + NR_COMMON_OPTS, 0, sizeof(*opts));
	snprintf(short_opts, len, "%sotrh", cmd->short_opts);
}

/*
 * Parse the command line of CMD into CTX and OUT (its CSV file opened);
 * 0, or the exit status to return from main().
 */
static int bench_parse_args(const struct bench_cmd *cmd, int argc,
			    char **argv, void *ctx, struct bench_out *out)
{
	struct option opts[MAX_OWN_OPTS + NR_COMMON_OPTS + 1];
	const char *csv = NULL;
	char short_opts[64];
	int c, ret;

	bench_cur_cmd = cmd;
	bench_prog = cmd->name;
	bench_merge_opts(cmd, opts, short_opts, sizeof(short_opts));
	memset(out, 0, sizeof(*out));
	out->table = stderr;
	while ((c = getopt_long(argc, argv, short_opts, opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			csv = optarg;
			break;
		case 't':
			out->table = stdout;
			break;
		case 'r':
			out->require_odfork = true;
			break;
		case 'h':
			bench_usage(stdout);
			exit(0);
		case '?':
			bench_usage(stderr);
			return BENCH_EXIT_USAGE;
		default:
			ret = cmd->parse(c, optarg, ctx);
			if (ret)
				return ret;
		}
	}
	if (optind < argc)
		return bench_usage_error("unexpected argument", argv[optind]);
	ret = cmd->check ? cmd->check(ctx) : 0;
	if (ret)
		return ret;
	out->csv = out->table == stdout ? NULL : stdout;
	if (csv) {
		out->csv = fopen(csv, "w");
		if (!out->csv)
			bench_die("%s: %s", csv, strerror(errno));
	}
	return 0;
}

/* The header line; BENCH_EXIT_NO_ODFORK when odfork(2) is required. */
static int bench_start(const struct bench_out *out, const char *what)
{
	const char *missing = bench_odfork_missing();
	char desc[256];

	bench_describe(desc, sizeof(desc));
	fprintf(out->table, "%s: %s, %s, odfork: %s\n", bench_prog, desc,
		what, missing ? "unavailable" : "available");
	if (missing)
		fprintf(out->table, "%s: odfork unavailable: %s\n", bench_prog,
			missing);
	return out->require_odfork && missing ? BENCH_EXIT_NO_ODFORK : 0;
}

static void bench_end(struct bench_out *out)
{
	if (out->csv && out->csv != stdout && fclose(out->csv))
		bench_die("writing the CSV: %s", strerror(errno));
	out->csv = NULL;
}

int bench_main(const struct bench_cmd *cmd, int argc, char **argv,
	       void *ctx, struct bench_out *out)
{
	char what[256];
	int ret;

	ret = bench_parse_args(cmd, argc, argv, ctx, out);
	if (ret)
		return ret;
	cmd->what(ctx, what, sizeof(what));
	ret = bench_start(out, what);
	if (ret)
		return ret;
	cmd->run(ctx);
	bench_end(out);
	return 0;
}
