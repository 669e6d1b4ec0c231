/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: swap and shared PTE tables (DESIGN.md 4: unshare first on
 * faults of swap entries and in swapoff; reclaim and MADV_PAGEOUT leave
 * shared tables alone).
 *
 * Each test sets up its own swap on zram (/dev/zram0, a swap header
 * written by the test, swapon(2)) in the cmocka runner and takes it down
 * after the test, failed or not (swapoff, zram reset).  Regions are
 * NT 2 MiB-aligned tables, MADV_NOHUGEPAGE; every page holds a canary
 * derived from its address and a generation (mmutil.h).
 *
 * - swapped_before_fork: the fork shares tables full of swap entries;
 *   swap-in in the child copies its tables, in the parent the last
 *   holder takes them back; swapoff(2) unshares the tables still shared;
 *   both processes keep their own data and nothing stays swapped.
 * - pageout_while_shared: MADV_PAGEOUT and memcg memory.reclaim leave
 *   pages of shared tables resident (not even pending-reuse tables of
 *   the parent are touched); once both processes wrote into every table
 *   (private again), PAGEOUT swaps out the parent's own pages and
 *   memory.reclaim the pages both map; swap-in on both sides.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"
#include "mmutil.h"

#define NT		4
#define NPAGES		(NT * MU_PPT)
#define ZRAM_SIZE	(128UL << 20)
#define ZRAM_SYS	"/sys/block/zram0"
#define ZRAM_DEV	"/dev/zram0"
#define CG_NAME		"kt-swap"
#define PAGEOUT_TRIES	20
#define RECLAIM_TRIES	8
#define RECLAIM_PAUSE_MS	1000

static char *tab(void *r, int t)
{
	return (char *)r + (size_t)t * MU_TABLE;
}

/* ------------------------------------------------------------------ */
/* Swap on zram, in the runner. */

static int write_swap_header(void)
{
	unsigned char page[MU_PAGE];
	uint32_t *info = (uint32_t *)(page + 1024);
	int fd = open(ZRAM_DEV, O_WRONLY | O_CLOEXEC);
	int ok;

	if (fd < 0)
		return -1;
	memset(page, 0, sizeof(page));
	info[0] = 1;					/* version */
	info[1] = ZRAM_SIZE / MU_PAGE - 1;		/* last_page */
	info[2] = 0;					/* nr_badpages */
	memcpy(page + MU_PAGE - 10, "SWAPSPACE2", 10);
	ok = pwrite(fd, page, sizeof(page), 0) == (ssize_t)sizeof(page) &&
	     fsync(fd) == 0;
	close(fd);
	return ok ? 0 : -1;
}

static int swap_setup(void **state)
{
	char buf[32];

	(void)state;
	if (access(ZRAM_SYS, F_OK) != 0 &&
	    kt_read_file("/sys/class/zram-control/hot_add", buf,
			 sizeof(buf)) < 0) {
		fprintf(stderr, "no zram device\n");
		return -1;
	}
	/* A reset fails while the device is in use: then it is not ours. */
	snprintf(buf, sizeof(buf), "%lu", ZRAM_SIZE);
	if (kt_write_file(ZRAM_SYS "/reset", "1") != 0 ||
	    kt_write_file(ZRAM_SYS "/disksize", buf) != 0 ||
	    write_swap_header() != 0 || swapon(ZRAM_DEV, 0) != 0) {
		perror("zram swap setup");
		return -1;
	}
	return 0;
}

static int swap_teardown(void **state)
{
	char dir[64];
	int err = 0;

	(void)state;
	if (swapoff(ZRAM_DEV) != 0 && errno != EINVAL) {
		perror("swapoff " ZRAM_DEV);
		err = -1;
	}
	if (kt_write_file(ZRAM_SYS "/reset", "1") != 0) {
		fprintf(stderr, "cannot reset zram0\n");
		err = -1;
	}
	snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s", CG_NAME);
	if (rmdir(dir) != 0 && errno != ENOENT) {
		perror(dir);
		err = -1;
	}
	return err;
}

/* ------------------------------------------------------------------ */

/* MADV_PAGEOUT until every page of [p, p + n pages) is swapped out in
 * this process (folios still in a per-CPU LRU batch are skipped by one
 * call); the number of swapped pages. */
static size_t pageout_all(void *p, size_t n)
{
	size_t got = 0;
	int i;

	for (i = 0; i < PAGEOUT_TRIES; i++) {
		KT_EQ(madvise(p, n * MU_PAGE, MADV_PAGEOUT), 0);
		got = mu_count_pm(0, p, n, MU_PM_SWAPPED);
		if (got == n)
			break;
		mu_msleep(10);
	}
	return got;
}

struct sbf {
	char *r;
};

/* The child of test_swapped_before_fork. */
static void sbf_child(struct mu_peer *self, void *arg)
{
	struct sbf *a = arg;
	size_t i;

	mu_wait(self, '1');
	/* Swap-in of a shared table's entries in the child. */
	mu_check(tab(a->r, 0), 2 * MU_PPT, 0);
	for (i = 0; i < MU_PPT; i += 2)
		mu_fill(tab(a->r, 0) + i * MU_PAGE, 1, 1);
	mu_send(self, '2');
	mu_wait(self, '3');
	/* After swapoff: nothing of ours is swapped, data is ours. */
	KT_EQ(mu_count_pm(0, a->r, NPAGES, MU_PM_SWAPPED), 0);
	for (i = 0; i < MU_PPT; i++)
		mu_check(tab(a->r, 0) + i * MU_PAGE, 1, i % 2 ? 0 : 1);
	mu_check(tab(a->r, 1), 3 * MU_PPT, 0);
	mu_fill(tab(a->r, 3), MU_PPT, 2);
	mu_sync(self, '4');
	mu_check(tab(a->r, 3), MU_PPT, 2);
	mu_check(tab(a->r, 1), 2 * MU_PPT, 0);
}

KT_TEST(test_swapped_before_fork)
{
	struct sbf a = { kt_map_tables(NT) };
	struct mu_peer c;
	struct kt_snap s;

	mu_fill(a.r, NPAGES, 0);
	KT_EQ(pageout_all(a.r, NPAGES), NPAGES);
	KT_ASSERT(kt_status_kb(getpid(), "VmSwap") >= NPAGES * 4);

	kt_snap(&s);
	mu_odfork(&c, sbf_child, &a);
	KT_STEP(&s, .forks = 1, .shared = NT,
		.fallback = KT_ANY);
	KT_EQ(mu_count_pm(c.pid, a.r, NPAGES, MU_PM_SWAPPED), NPAGES);

	/* Child: reads tables 0-1 (copies both), writes half of table 0. */
	mu_send(&c, '1');
	mu_wait(&c, '2');
	KT_STEP(&s, .copied = 2);
	/* Parent: reads tables 1-2: takes 1 back, copies 2. */
	mu_check(tab(a.r, 1), 2 * MU_PPT, 0);
	KT_STEP(&s, .copied = 1, .reused = 1);
	KT_EQ(mu_count_pm(0, tab(a.r, 0), MU_PPT, MU_PM_SWAPPED), MU_PPT);
	KT_EQ(mu_count_pm(0, tab(a.r, 3), MU_PPT, MU_PM_SWAPPED), MU_PPT);

	/*
	 * swapoff with table 3 shared by both, table 0 pending reuse in
	 * the parent and table 2 in the child, all full of swap entries:
	 * one copy (table 3, whichever mm comes first), three take-backs.
	 */
	KT_EQ(swapoff(ZRAM_DEV), 0);
	KT_STEP(&s, .copied = 1, .reused = 3);
	KT_EQ(mu_count_pm(0, a.r, NPAGES, MU_PM_SWAPPED), 0);
	KT_EQ(kt_status_kb(getpid(), "VmSwap"), 0);
	mu_check(a.r, NPAGES, 0);
	mu_send(&c, '3');
	mu_wait(&c, '4');
	mu_check(a.r, NPAGES, 0);
	mu_fill(tab(a.r, 1), MU_PPT, 3);
	mu_send(&c, '4');
	KT_EQ(mu_end(&c), 0);
	mu_check(tab(a.r, 1), MU_PPT, 3);
	mu_check(tab(a.r, 3), MU_PPT, 0);
	KT_STEP(&s, .shared = 0);
	return 0;
}

/* ------------------------------------------------------------------ */

struct pws {
	char *r;
};

static void pws_child(struct mu_peer *self, void *arg)
{
	struct pws *a = arg;
	int t;

	mu_wait(self, '1');
	for (t = 0; t < NT; t++)
		mu_fill(tab(a->r, t), 1, 1);	/* page 0 of each table */
	mu_send(self, '2');
	mu_wait(self, '3');
	for (t = 0; t < NT; t++) {
		mu_check(tab(a->r, t), 1, 1);
		mu_check(tab(a->r, t) + MU_PAGE, MU_PPT - 1, 0);
	}
	mu_sync(self, '4');
}

/* Pages that both processes map (not page 0 or 1 of a table) and that
 * are swapped out in both. */
static size_t both_swapped(const struct pws *a, pid_t child)
{
	static uint64_t pe[NPAGES], ce[NPAGES];
	size_t i, n = 0;

	mu_pagemap_range(0, a->r, NPAGES, pe);
	mu_pagemap_range(child, a->r, NPAGES, ce);
	for (i = 0; i < NPAGES; i++)
		n += i % MU_PPT >= 2 && (pe[i] & ce[i] & MU_PM_SWAPPED);
	return n;
}

/* memory.reclaim of the whole region; EAGAIN: could not reclaim it all. */
static void reclaim(const char *cg)
{
	char path[128];
	char amount[32];
	int r;

	snprintf(path, sizeof(path), "%s/memory.reclaim", cg);
	snprintf(amount, sizeof(amount), "%lu",
		 (unsigned long)NPAGES * MU_PAGE);
	r = kt_write_file(path, amount);
	KT_ASSERT(r == 0 || r == -EAGAIN);
}

KT_TEST(test_pageout_while_shared)
{
	struct pws a;
	struct mu_peer c;
	struct kt_snap s;
	char cg[128];
	size_t pc = 0, cc;
	int t;

	mu_cg_enter(cg, sizeof(cg), CG_NAME);
	a.r = kt_map_tables(NT);
	mu_fill(a.r, NPAGES, 0);
	kt_snap(&s);
	mu_odfork(&c, pws_child, &a);
	KT_STEP(&s, .forks = 1, .shared = NT,
		.fallback = KT_ANY);

	/* Every table shared: nothing is paged out or reclaimed. */
	KT_EQ(madvise(a.r, NPAGES * MU_PAGE, MADV_PAGEOUT), 0);
	KT_EQ(mu_count_pm(0, a.r, NPAGES, MU_PM_SWAPPED), 0);
	reclaim(cg);
	KT_EQ(mu_count_pm(0, a.r, NPAGES, MU_PM_SWAPPED), 0);
	KT_EQ(mu_count_pm(c.pid, a.r, NPAGES, MU_PM_SWAPPED), 0);
	KT_STILL(&s);

	/* The child copies every table; the parent's are pending reuse and
	 * still left alone. */
	mu_send(&c, '1');
	mu_wait(&c, '2');
	KT_STEP(&s, .copied = NT);
	KT_EQ(madvise(a.r, NPAGES * MU_PAGE, MADV_PAGEOUT), 0);
	KT_EQ(mu_count_pm(0, a.r, NPAGES, MU_PM_SWAPPED), 0);
	/* The child's own page 0 copies may go, nothing the parent maps. */
	reclaim(cg);
	KT_EQ(mu_count_pm(0, a.r, NPAGES, MU_PM_SWAPPED), 0);
	for (t = 0; t < NT; t++)
		KT_EQ(mu_count_pm(c.pid, tab(a.r, t) + MU_PAGE, MU_PPT - 1,
				  MU_PM_SWAPPED), 0);
	KT_STILL(&s);

	/* The parent takes its tables back by writing page 1 of each. */
	for (t = 0; t < NT; t++)
		mu_fill(tab(a.r, t) + MU_PAGE, 1, 2);
	KT_STEP(&s, .reused = NT);
	/* PAGEOUT: only pages mapped by this process alone go. */
	KT_EQ(madvise(a.r, NPAGES * MU_PAGE, MADV_PAGEOUT), 0);
	for (t = 0; t < NT; t++)
		KT_ASSERT(mu_pagemap(0, tab(a.r, t) + MU_PAGE) &
			  MU_PM_SWAPPED);
	/*
	 * memcg reclaim takes pages both map, from both at once.  The failed
	 * rounds above put them on the active list; the memcg's LRU sizes
	 * that decide to deactivate them are flushed every 2 s: pause.
	 */
	for (t = 0; t < RECLAIM_TRIES && !(pc = both_swapped(&a, c.pid));
	     t++) {
		mu_msleep(RECLAIM_PAUSE_MS);
		reclaim(cg);
	}
	cc = mu_count_pm(c.pid, a.r, NPAGES, MU_PM_SWAPPED);
	fprintf(stderr, "# reclaim (%d rounds): %zu pages swapped out of "
		"both, %zu of the child's\n", t, pc, cc);
	KT_ASSERT(pc > 0);

	/* Swap-in on both sides. */
	mu_send(&c, '3');
	for (t = 0; t < NT; t++) {
		mu_check(tab(a.r, t), 1, 0);
		mu_check(tab(a.r, t) + MU_PAGE, 1, 2);
		mu_check(tab(a.r, t) + 2 * MU_PAGE, MU_PPT - 2, 0);
	}
	mu_wait(&c, '4');
	mu_send(&c, '4');
	KT_EQ(mu_end(&c), 0);
	KT_STEP(&s, .shared = 0);
	mu_cg_remove(cg);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_swapped_before_fork,
						swap_setup, swap_teardown),
		cmocka_unit_test_setup_teardown(test_pageout_while_shared,
						swap_setup, swap_teardown),
	};

	kt_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
