/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * The two small helpers every example uses: a clock and a hash.
 * Header-only, so that an example still builds from its own source file
 * alone (cc, or afl-clang-fast for fuzz-target: see its README.md).
 */
#ifndef ODFORK_EXAMPLES_COMMON_H
#define ODFORK_EXAMPLES_COMMON_H

#include <stdint.h>
#include <time.h>

/* Microseconds on CLOCK_MONOTONIC. */
static inline double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* splitmix64's finalizer: a bijection, with mix64(0) == 0. */
static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

#endif /* ODFORK_EXAMPLES_COMMON_H */
