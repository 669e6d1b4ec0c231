// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * What sharing a table for the first time costs beside sharing it again
 * (bench/README.md, "Diagnostics"), in the guest:
 *
 *   first-share MIB ROUNDS TOUCH
 *
 * odfork()s a populated MIB region ROUNDS times; the child exits at once.
 * With TOUCH 0 the tables are still shared, waiting for the parent to take
 * them back, at the next odfork: each is shared again (one more
 * reference).  With TOUCH 1 the parent writes once into each 2 MiB range
 * before each odfork, taking its tables back: each is shared for the first
 * time.  Prints the median and the minimum of the odfork() calls in
 * microseconds.  Build it as first-write-profile.c (its .sh has the
 * command).
 */
#include <odfork.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RANGE (2UL << 20)

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	size_t size, off;
	int rounds, touch, r;
	double *us, t;
	pid_t pid;
	char *p;

	if (argc != 4 || atoi(argv[1]) < 2 || atoi(argv[2]) < 1) {
		fprintf(stderr, "usage: %s MIB ROUNDS 0|1\n", argv[0]);
		return 2;
	}
	size = (size_t)atoi(argv[1]) << 20 & ~(RANGE - 1);
	rounds = atoi(argv[2]);
	touch = atoi(argv[3]);
	us = calloc(rounds, sizeof(*us));
	p = mmap(NULL, size + RANGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!us || p == MAP_FAILED) {
		perror("first-share");
		return 1;
	}
	p = (char *)(((unsigned long)p + RANGE - 1) & ~(RANGE - 1));
	madvise(p, size, MADV_NOHUGEPAGE);
	memset(p, 1, size);
	for (r = 0; r < rounds; r++) {
		if (touch)
			for (off = 0; off < size; off += RANGE)
				p[off]++;
		t = now_us();
		pid = odfork();
		if (!pid)
			_exit(0);
		us[r] = now_us() - t;
		if (pid < 0) {
			perror("odfork");
			return 1;
		}
		waitpid(pid, NULL, 0);
	}
	qsort(us, rounds, sizeof(*us), cmp_double);
	printf("%zu MiB, %s: median %.1f us, min %.1f us\n", size >> 20,
	       touch ? "first share" : "shared again", us[rounds / 2], us[0]);
	return 0;
}
