/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: soft-dirty tracking and fork-special neighbours of
 * shared PTE tables.
 * - softdirty_clear_after_fork: "4" written to /proc/PID/clear_refs of
 *   each process while it holds shared tables (the parent's copies, the
 *   child's take-backs), then writes: the pagemap soft-dirty bit (55) is
 *   set on exactly the pages each process wrote.
 * - softdirty_clear_before_fork: clear_refs in the parent, then the
 *   fork shares the clean tables; each side's soft-dirty bits are
 *   exactly its own writes after the fork.
 * - neighbours: MADV_DONTFORK, MADV_WIPEONFORK and MAP_DROPPABLE
 *   mappings in half of a 2 MiB range next to ordinary memory and in
 *   ranges of their own: the child never sees their contents (DONTFORK:
 *   not mapped, WIPEONFORK and DROPPABLE: zeros), the mixed ranges are
 *   copied classically (fallback) and every whole ordinary range is
 *   still shared.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"
#include "mmutil.h"

#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE	0x08
#endif

#define NT		4
#define NPAGES		(NT * MU_PPT)
#define HALF		(MU_TABLE / 2)

static void clear_refs(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
	KT_EQ(kt_write_file(path, "4"), 0);
}

/* Pages a process writes: who 0 (parent) or 1 (child). */
static int writes(int who, size_t i)
{
	return who ? i % 7 == 3 || i / MU_PPT == 2 : i % 11 == 5;
}

static void write_mine(char *r, int who)
{
	size_t i;

	for (i = 0; i < NPAGES; i++)
		if (writes(who, i))
			mu_fill(r + i * MU_PAGE, 1, 1 + who);
}

/* Soft-dirty exactly on my writes; the data mine and fork-time. */
static void check_mine(const char *r, int who)
{
	size_t i;

	for (i = 0; i < NPAGES; i++) {
		int sd = !!(mu_pagemap(0, r + i * MU_PAGE) & MU_PM_SOFTDIRTY);

		if (sd != writes(who, i))
			kt_fail(__FILE__, __LINE__, "%s page %zu: soft-dirty "
				"%d, written %d", who ? "child" : "parent",
				i, sd, writes(who, i));
		mu_check(r + i * MU_PAGE, 1, writes(who, i) ? 1 + who : 0);
	}
}

static void sd_child(struct mu_peer *self, void *arg)
{
	char *r = arg;

	mu_wait(self, '1');
	write_mine(r, 1);
	check_mine(r, 1);
	mu_sync(self, '2');
}

KT_TEST(test_softdirty_clear_after_fork)
{
	char *r = kt_map_tables(NT);
	struct mu_peer c;
	struct kt_snap s;

	mu_fill(r, NPAGES, 0);
	kt_snap(&s);
	mu_odfork(&c, sd_child, r);
	KT_STEP(&s, .forks = 1, .shared = NT,
		.fallback = KT_ANY);
	/* Each process's clear_refs unshares all its tables. */
	clear_refs(getpid());
	KT_STEP(&s, .copied = NT);
	clear_refs(c.pid);
	KT_STEP(&s, .reused = NT);
	KT_EQ(mu_count_pm(0, r, NPAGES, MU_PM_SOFTDIRTY), 0);
	KT_EQ(mu_count_pm(c.pid, r, NPAGES, MU_PM_SOFTDIRTY), 0);
	mu_send(&c, '1');
	write_mine(r, 0);
	check_mine(r, 0);
	mu_wait(&c, '2');
	mu_send(&c, '2');
	KT_EQ(mu_end(&c), 0);
	KT_STILL(&s);
	return 0;
}

KT_TEST(test_softdirty_clear_before_fork)
{
	char *r = kt_map_tables(NT);
	struct mu_peer c;
	struct kt_snap s;

	mu_fill(r, NPAGES, 0);
	clear_refs(getpid());
	KT_EQ(mu_count_pm(0, r, NPAGES, MU_PM_SOFTDIRTY), 0);
	kt_snap(&s);
	mu_odfork(&c, sd_child, r);
	KT_STEP(&s, .forks = 1, .shared = NT,
		.fallback = KT_ANY);
	KT_EQ(mu_count_pm(c.pid, r, NPAGES, MU_PM_SOFTDIRTY), 0);
	mu_send(&c, '1');
	mu_wait(&c, '2');
	/* The child wrote into every table: copies. */
	KT_STEP(&s, .copied = NT);
	write_mine(r, 0);
	KT_STEP(&s, .reused = NT);
	check_mine(r, 0);
	mu_send(&c, '2');
	KT_EQ(mu_end(&c), 0);
	KT_STILL(&s);
	return 0;
}

/* ------------------------------------------------------------------ */

/*
 * Layout, in 2 MiB ranges:
 *   0-1  ordinary                      shared
 *   2    ordinary | special (1 MiB)    copied classically (fallback)
 *   3    special                       not copied at all
 *   4-5  ordinary                      shared
 * special: DONTFORK, WIPEONFORK or DROPPABLE.
 */
enum kind { DONTFORK, WIPEONFORK, DROPPABLE };

struct nb {
	char *r;
	enum kind kind;
};

#define NB_TABLES	6

static char *rng(const struct nb *a, int t)
{
	return a->r + (size_t)t * MU_TABLE;
}

static int mapped(const void *p)
{
	unsigned char v;

	return mincore((void *)p, MU_PAGE, &v) == 0 ? 1 :
	       errno == ENOMEM ? 0 : -1;
}

static void nb_child(struct mu_peer *self, void *arg)
{
	struct nb *a = arg;
	static const unsigned char zero[MU_PAGE];
	size_t off;

	mu_wait(self, '1');
	mu_check(rng(a, 0), 2 * MU_PPT + MU_PPT / 2, 0);
	mu_check(rng(a, 4), 2 * MU_PPT, 0);
	for (off = HALF; off < 2 * MU_TABLE; off += MU_PAGE) {
		const char *p = rng(a, 2) + off;

		if (a->kind == DONTFORK)
			KT_EQ(mapped(p), 0);
		else if (memcmp(p, zero, MU_PAGE) != 0)
			kt_fail(__FILE__, __LINE__, "kind %d: page at %p "
				"not zero in the child", a->kind, p);
	}
	/* Our writes stay ours. */
	mu_fill(rng(a, 1), MU_PPT, 1);
	mu_fill(rng(a, 2), 1, 1);
	mu_fill(rng(a, 4), 1, 1);
	mu_sync(self, '2');
}

static void nb_special(struct nb *a, char *p, size_t len)
{
	if (a->kind == DROPPABLE) {
		if (mmap(p, len, PROT_READ | PROT_WRITE,
			 MAP_DROPPABLE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != p)
			kt_fail(__FILE__, __LINE__, "MAP_DROPPABLE");
		KT_EQ(madvise(p, len, MADV_NOHUGEPAGE), 0);
		return;
	}
	KT_EQ(madvise(p, len, a->kind == DONTFORK ? MADV_DONTFORK :
		      MADV_WIPEONFORK), 0);
}

static void neighbours(enum kind kind)
{
	long long base = mu_probe_fallback();
	struct nb a = { kt_map_tables(NB_TABLES), kind };
	struct mu_peer c;
	struct kt_snap s;

	nb_special(&a, rng(&a, 2) + HALF, HALF + MU_TABLE);
	mu_fill(a.r, NB_TABLES * MU_PPT, 0);
	kt_snap(&s);
	mu_odfork(&c, nb_child, &a);
	KT_STEP(&s, .forks = 1, .shared = 4, .fallback = base + 1);
	mu_send(&c, '1');
	mu_wait(&c, '2');
	/* Tables 1 and 4 copied; table 2 was never shared. */
	KT_STEP(&s, .copied = 2);
	mu_check(a.r, NB_TABLES * MU_PPT, 0);
	mu_send(&c, '2');
	KT_EQ(mu_end(&c), 0);
	/* The child dropped its still shared tables 0 and 5. */
	KT_STEP(&s, .dropped = 2);
	mu_check(a.r, NB_TABLES * MU_PPT, 0);
}

KT_TEST(test_neighbour_dontfork)
{
	neighbours(DONTFORK);
	return 0;
}

KT_TEST(test_neighbour_wipeonfork)
{
	neighbours(WIPEONFORK);
	return 0;
}

KT_TEST(test_neighbour_droppable)
{
	neighbours(DROPPABLE);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_softdirty_clear_after_fork),
		cmocka_unit_test(test_softdirty_clear_before_fork),
		cmocka_unit_test(test_neighbour_dontfork),
		cmocka_unit_test(test_neighbour_wipeonfork),
		cmocka_unit_test(test_neighbour_droppable),
	};

	kt_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
