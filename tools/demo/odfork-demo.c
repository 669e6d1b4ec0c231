// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * odfork-demo: fork() vs odfork() on a process with a large private heap.
 *
 *   odfork-demo [MIB] [RUNS]
 *
 * Maps MIB MiB (default 256) of private anonymous memory, writes every
 * page, then times RUNS (default 5) forks of each kind (the child exits at
 * once; the time is fork()'s return in the parent) and prints the min and
 * median, with the /proc/vmstat odfork_* counters moved by each kind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <odfork.h>

#define MAX_RUNS 100

static const char *const counters[] = {
	"odfork_forks", "odfork_tables_shared", "odfork_tables_copied",
	"odfork_tables_reused", "odfork_tables_dropped",
	"odfork_tables_fallback",
};
#define NR_COUNTERS (sizeof(counters) / sizeof(counters[0]))

static void read_counters(long long *val)
{
	char name[64];
	long long v;
	size_t i;
	FILE *f;

	for (i = 0; i < NR_COUNTERS; i++)
		val[i] = -1;
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return;
	while (fscanf(f, "%63s %lld", name, &v) == 2)
		for (i = 0; i < NR_COUNTERS; i++)
			if (!strcmp(name, counters[i]))
				val[i] = v;
	fclose(f);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Time one fork of the given kind; the child exits at once. */
static double time_fork(pid_t (*do_fork)(void))
{
	double start, end;
	int status;
	pid_t pid;

	start = now_us();
	pid = do_fork();
	if (pid == 0)
		_exit(0);
	end = now_us();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		fprintf(stderr, "odfork-demo: child %d failed\n", pid);
		exit(1);
	}
	return end - start;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void run(const char *name, pid_t (*do_fork)(void), int runs)
{
	long long before[NR_COUNTERS], after[NR_COUNTERS];
	double t[MAX_RUNS];
	size_t i;
	int r;

	read_counters(before);
	for (r = 0; r < runs; r++)
		t[r] = time_fork(do_fork);
	read_counters(after);
	qsort(t, runs, sizeof(t[0]), cmp_double);
	printf("%-8s min %10.1f us  median %10.1f us ", name, t[0],
	       t[runs / 2]);
	for (i = 0; i < NR_COUNTERS; i++)
		if (before[i] >= 0 && after[i] != before[i])
			printf(" %s+%lld", counters[i] + 7,
			       after[i] - before[i]);
	printf("\n");
}

int main(int argc, char **argv)
{
	long mib = argc > 1 ? atol(argv[1]) : 256;
	int runs = argc > 2 ? atoi(argv[2]) : 5;
	size_t len;
	char *mem;

	if (mib <= 0 || runs <= 0 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: odfork-demo [MIB] [RUNS<=%d]\n",
			MAX_RUNS);
		return 2;
	}
	len = (size_t)mib << 20;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	madvise(mem, len, MADV_NOHUGEPAGE);
	memset(mem, 0x5a, len);

	printf("odfork-demo: %ld MiB written, %d forks each, libodfork %s, "
	       "kernel support: %s\n", mib, runs, odfork_version(),
	       odfork_available() ? "yes" : "no (odfork() is fork())");
	run("fork", fork, runs);
	run("odfork", odfork, runs);
	return 0;
}
