// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * What sharing a table for the first time costs beside sharing it again
 * (bench/README.md, "Diagnostics"), in the guest:
 *
 *   first-share SIZE ROUNDS again|first
 *
 * odfork()s a populated region of SIZE (a multiple of 2M) ROUNDS times;
 * the child exits at once.  With "again" the tables are still shared,
 * waiting for the parent to take them back, at the next odfork: each is
 * shared again (one more reference).  With "first" the parent writes once
 * into each 2 MiB range before each odfork, taking its tables back: each
 * is shared for the first time.  Prints the median and the minimum of
 * the odfork() calls in microseconds.
 */
#include <stdlib.h>
#include <string.h>

#include "../bench.h"

int main(int argc, char **argv)
{
	struct bench_stats st;
	size_t size, off;
	long rounds, r;
	double *us;
	bool first;
	char *mem;

	bench_prog = "first-share";
	if (argc != 4)
		bench_die("usage: first-share SIZE ROUNDS again|first");
	size = bench_parse_size(argv[1]);
	rounds = bench_parse_int(argv[2], 1, 1000000);
	first = !strcmp(argv[3], "first");
	if (!size || size % BENCH_PMD_SIZE || rounds < 0 ||
	    (!first && strcmp(argv[3], "again")))
		bench_die("bad arguments (SIZE a multiple of 2M, ROUNDS >= 1, again or first)");
	if (bench_odfork_missing())
		bench_die("no odfork(2): %s", bench_odfork_missing());
	us = calloc(rounds, sizeof(*us));
	if (!us)
		bench_die("out of memory");
	mem = bench_map(size, false);
	bench_populate(mem, size);
	for (r = 0; r < rounds; r++) {
		if (first)
			for (off = 0; off < size; off += BENCH_PMD_SIZE)
				mem[off]++;
		us[r] = bench_time_fork(BENCH_ODFORK);
	}
	bench_stats(us, rounds, &st);
	printf("%zu MiB, %s: median %.1f us, min %.1f us\n", size >> 20,
	       first ? "first share" : "shared again", st.median, st.min);
	return 0;
}
