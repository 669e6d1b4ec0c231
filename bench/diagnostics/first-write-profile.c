// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * The first write into each 2 MiB range after fork() or odfork(), over
 * and over, for perf in the guest (first-write-profile.sh; bench/README.md,
 * "Diagnostics").  Not a benchmark: bench/fault-cost times single faults.
 *
 *   first-write-profile SIZE ROUNDS fork|odfork
 *
 * SIZE is a multiple of 2M ("128M").  Prints the mean time of one first
 * write in microseconds.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "../bench.h"

int main(int argc, char **argv)
{
	struct timespec start, end;
	enum bench_mode mode;
	size_t size, off;
	double spent = 0;
	int fds[2], r;
	long rounds, pid;
	char *mem, c;

	bench_prog = "first-write-profile";
	if (argc != 4)
		bench_die("usage: first-write-profile SIZE ROUNDS fork|odfork");
	size = bench_parse_size(argv[1]);
	rounds = bench_parse_int(argv[2], 1, 1000000);
	mode = strcmp(argv[3], "odfork") ? BENCH_FORK : BENCH_ODFORK;
	if (!size || size % BENCH_PMD_SIZE || rounds < 0 ||
	    (mode == BENCH_FORK && strcmp(argv[3], "fork")))
		bench_die("bad arguments (SIZE a multiple of 2M, ROUNDS >= 1, fork or odfork)");
	if (mode == BENCH_ODFORK && bench_odfork_missing())
		bench_die("no odfork(2): %s", bench_odfork_missing());
	mem = bench_map(size, false);
	bench_populate(mem, size);
	for (r = 0; r < rounds; r++) {
		if (pipe(fds))
			bench_die("pipe: %s", strerror(errno));
		pid = bench_fork(mode);
		if (pid < 0)
			bench_die("%s: %s", bench_mode_name[mode],
				  strerror(errno));
		if (!pid) {	/* hold the tables until the parent wrote */
			close(fds[1]);
			_exit(read(fds[0], &c, 1) < 0);
		}
		close(fds[0]);
		clock_gettime(CLOCK_MONOTONIC, &start);
		for (off = 4096 * (r % 512); off < size; off += BENCH_PMD_SIZE)
			mem[off]++;
		clock_gettime(CLOCK_MONOTONIC, &end);
		spent += bench_us(&start, &end);
		close(fds[1]);
		bench_reap(pid);
	}
	printf("%s: %.2f us per first write (%ld rounds of %zu ranges)\n",
	       bench_mode_name[mode], spent / rounds / (size / BENCH_PMD_SIZE),
	       rounds, size / BENCH_PMD_SIZE);
	return 0;
}
