// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * The first write into each 2 MiB range after fork() or odfork(), over
 * and over, for perf in the guest (first-write-profile.sh; bench/README.md,
 * "Diagnostics").  Not a benchmark: bench/fault-cost times single faults.
 *
 *   first-write-profile MIB ROUNDS MODE    (MODE 0: fork, 1: odfork)
 *
 * Prints the mean time of one first write in microseconds.
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

int main(int argc, char **argv)
{
	size_t size, off;
	double spent = 0, t;
	int rounds, mode, r, fds[2];
	char *p, c;
	pid_t pid;

	if (argc != 4 || atoi(argv[1]) < 2 || atoi(argv[2]) < 1) {
		fprintf(stderr, "usage: %s MIB ROUNDS 0|1\n", argv[0]);
		return 2;
	}
	size = (size_t)atoi(argv[1]) << 20 & ~(RANGE - 1);
	rounds = atoi(argv[2]);
	mode = atoi(argv[3]);
	p = mmap(NULL, size + RANGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	p = (char *)(((unsigned long)p + RANGE - 1) & ~(RANGE - 1));
	madvise(p, size, MADV_NOHUGEPAGE);
	memset(p, 1, size);
	for (r = 0; r < rounds; r++) {
		if (pipe(fds)) {
			perror("pipe");
			return 1;
		}
		pid = mode ? odfork() : fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (!pid) {	/* hold the tables until the parent wrote */
			close(fds[1]);
			_exit(read(fds[0], &c, 1) < 0);
		}
		close(fds[0]);
		t = now_us();
		for (off = 4096 * (r % 512); off < size; off += RANGE)
			p[off]++;
		spent += now_us() - t;
		close(fds[1]);
		waitpid(pid, NULL, 0);
	}
	printf("%s: %.2f us per first write (%d rounds of %zu ranges)\n",
	       mode ? "odfork" : "fork", spent / rounds / (size / RANGE),
	       rounds, size / RANGE);
	return 0;
}
