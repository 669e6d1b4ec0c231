/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: the odfork_* counters of /proc/vmstat.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"

#define REGION_SIZE	(8u << 20)	/* 8 MiB: at least 4 PTE tables */
#define NCOUNTERS	5

static const char *const names[NCOUNTERS] = {
	KT_FORKS, KT_SHARED, KT_COPIED, KT_REUSED, KT_FALLBACK,
};

enum { FORKS, SHARED, COPIED, REUSED, FALLBACK };

struct snap {
	long long v[NCOUNTERS];
};

static void take_snap(struct snap *s)
{
	int i;

	for (i = 0; i < NCOUNTERS; i++) {
		s->v[i] = kt_vmstat(names[i]);
		if (s->v[i] < 0)
			kt_fail(__FILE__, __LINE__, "no %s", names[i]);
	}
}

static long long moved(const struct snap *a, const struct snap *b, int i)
{
	return b->v[i] - a->v[i];
}

static void check_none_moved(const struct snap *a, const struct snap *b)
{
	int i;

	for (i = 0; i < NCOUNTERS; i++)
		if (moved(a, b, i) != 0)
			kt_fail(__FILE__, __LINE__, "%s moved by %lld",
				names[i], moved(a, b, i));
}

/* A touched, private anonymous region mapped with 4 KiB pages. */
static unsigned char *touched_region(void)
{
	unsigned char *p = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	KT_ASSERT(p != MAP_FAILED);
	KT_EQ(madvise(p, REGION_SIZE, MADV_NOHUGEPAGE), 0);
	memset(p, 'P', REGION_SIZE);
	return p;
}

/* Fork a child of the given kind that checks and rewrites the region;
 * returns its exit status. */
static int fork_and_touch(enum kt_fork_kind kind, unsigned char *p)
{
	pid_t pid;
	size_t i;

	pid = kind == KT_ODFORK ? kt_odfork(0) : fork();
	if (pid == 0) {
		for (i = 0; i < REGION_SIZE; i += 4096)
			if (p[i] != 'P')
				_exit(3);
		memset(p, 'C', REGION_SIZE);
		_exit(0);
	}
	KT_ASSERT(pid > 0);
	return kt_wait(pid);
}

KT_TEST(test_counters_exist)
{
	int i;

	for (i = 0; i < NCOUNTERS; i++)
		if (kt_vmstat(names[i]) < 0)
			kt_fail(__FILE__, __LINE__, "no %s in /proc/vmstat",
				names[i]);
	return 0;
}

/*
 * Foundation state of the series: the sharing mechanism does not exist
 * yet, so an on-demand fork copies every PTE table classically and counts
 * it in odfork_tables_fallback; nothing is shared, copied or reused.
 * The issue that adds the mechanism replaces this test with one that
 * asserts odfork_tables_shared moved instead.
 */
KT_TEST(test_foundation_copies_classically)
{
	unsigned char *p;
	struct snap a, b;

	kt_sysctl_set(1);
	p = touched_region();
	take_snap(&a);
	KT_EQ(fork_and_touch(KT_ODFORK, p), 0);
	take_snap(&b);
	KT_EQ(moved(&a, &b, FORKS), 1);
	KT_GE(moved(&a, &b, FALLBACK), REGION_SIZE >> 21);
	KT_EQ(moved(&a, &b, SHARED), 0);
	KT_EQ(moved(&a, &b, COPIED), 0);
	KT_EQ(moved(&a, &b, REUSED), 0);
	return 0;
}

/* A plain fork (vm.odfork=1, mode OFF) moves no counter. */
KT_TEST(test_counters_plain_fork_moves_none)
{
	unsigned char *p;
	struct snap a, b;

	kt_sysctl_set(1);
	p = touched_region();
	take_snap(&a);
	KT_EQ(fork_and_touch(KT_FORK, p), 0);
	memset(p, 'Q', REGION_SIZE);
	take_snap(&b);
	check_none_moved(&a, &b);
	return 0;
}

/* vm.odfork=0: no counter moves, whatever asks for sharing. */
KT_TEST(test_counters_sysctl_0_moves_none)
{
	unsigned char *p;
	struct snap a, b;

	kt_sysctl_set(0);
	p = touched_region();
	take_snap(&a);
	KT_EQ(fork_and_touch(KT_ODFORK, p), 0);
	KT_EQ(kt_set_mode(ODFORK_MODE_NEXT), 0);
	KT_EQ(fork_and_touch(KT_FORK, p), 0);
	KT_EQ(kt_set_mode(ODFORK_MODE_PROCESS | ODFORK_MODE_INHERIT), 0);
	KT_EQ(fork_and_touch(KT_FORK, p), 0);
	memset(p, 'Q', REGION_SIZE);
	take_snap(&b);
	check_none_moved(&a, &b);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_exist),
		cmocka_unit_test(test_foundation_copies_classically),
		cmocka_unit_test(test_counters_plain_fork_moves_none),
		cmocka_unit_test(test_counters_sysctl_0_moves_none),
	};

	kt_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
