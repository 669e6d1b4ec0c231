/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: swap and shared PTE tables (DESIGN.md 4: unshare first on
 * faults of swap entries and in swapoff; reclaim swaps out pages through
 * shared tables, for every holder at once).
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
 * - reclaim_like_fork: the same program after fork() and after odfork(),
 *   in a memory cgroup: MADV_PAGEOUT in either process leaves pages both
 *   map (fork's mapcount rule) and takes a page only the parent maps (a
 *   table pending reuse is taken back); memory.reclaim frees at least 90%
 *   of what it frees after fork(), from shared tables that stay shared;
 *   swap-in gives each process its own data.
 * - squeeze_while_busy: memory.max far below the processes' memory while
 *   both read and write; each keeps its own data.
 * - swapoff_after_shared_reclaim: swapoff(2) finds the swap entries that
 *   reclaim put into tables both processes share, through either mm.
 * - hwpoison_swapcache_like_fork: memory failure of a swap-cache page
 *   mapped through a shared table unmaps it to its swap entry, as after
 *   fork() (it used to fail, and memory offlining retried it forever).
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

/*
 * test_reclaim_like_fork: one scenario, run after fork() and after
 * odfork() in a fresh memory cgroup each time; the numbers must agree.
 * RT tables for reclaim, then NT more for the pending-reuse step.
 */
#define RT		16
#define RPAGES		(RT * MU_PPT)
#define ALLPAGES	(RPAGES + NPAGES)
#define RECLAIM_BYTES	((long long)(RPAGES * MU_PAGE * 3 / 4))

struct rcl {
	char *r;		/* RT + NT tables, private anonymous */
	size_t *child_out;	/* MAP_SHARED: what the child's PAGEOUT did */
};

struct rcl_result {
	size_t pageout_parent;	/* pages PAGEOUT swapped, every table shared */
	size_t pageout_child;
	size_t pageout_reuse;	/* ... in the parent, after the child wrote */
	long long freed;	/* bytes memory.reclaim took from the cgroup */
	size_t both;		/* pages swapped out in both processes */
	int rounds;
};

static void rcl_child(struct mu_peer *self, void *arg)
{
	struct rcl *a = arg;
	int t;

	mu_wait(self, '1');
	KT_EQ(madvise(a->r, ALLPAGES * MU_PAGE, MADV_PAGEOUT), 0);
	*a->child_out = mu_count_pm(0, a->r, ALLPAGES, MU_PM_SWAPPED);
	/* Page 0 of each extra table: a copy of that table after odfork. */
	for (t = RT; t < RT + NT; t++)
		mu_fill(tab(a->r, t), 1, 1);
	mu_send(self, '2');
	mu_wait(self, '3');
	/* Swap-in: the child still sees its own data. */
	mu_check(a->r, RPAGES, 0);
	for (t = RT; t < RT + NT; t++) {
		mu_check(tab(a->r, t), 1, 1);
		mu_check(tab(a->r, t) + MU_PAGE, MU_PPT - 1, 0);
	}
	mu_fill(a->r, MU_PPT, 2);
	mu_sync(self, '4');
}

/* Pages both processes have swapped out, of the first n. */
static size_t both_swapped(const char *r, size_t n, pid_t child)
{
	static uint64_t pe[ALLPAGES], ce[ALLPAGES];
	size_t i, got = 0;

	mu_pagemap_range(0, r, n, pe);
	mu_pagemap_range(child, r, n, ce);
	for (i = 0; i < n; i++)
		got += !!(pe[i] & ce[i] & MU_PM_SWAPPED);
	return got;
}

/*
 * memory.reclaim until the cgroup shrank by RECLAIM_BYTES.  Pages that
 * failed to go once are on the active list; the memcg's LRU sizes that
 * decide to deactivate them are flushed every 2 s: pause between rounds.
 */
static long long reclaim_cg(const char *cg, int *rounds)
{
	char cur[160], path[160], amount[32];
	long long before, now = 0;
	int r, i;

	snprintf(cur, sizeof(cur), "%s/memory.current", cg);
	snprintf(path, sizeof(path), "%s/memory.reclaim", cg);
	snprintf(amount, sizeof(amount), "%lld", RECLAIM_BYTES);
	before = mu_get_num(cur);
	for (i = 0; i < RECLAIM_TRIES; i++) {
		if (i)
			mu_msleep(RECLAIM_PAUSE_MS);
		r = kt_write_file(path, amount);
		KT_ASSERT(r == 0 || r == -EAGAIN);
		now = mu_get_num(cur);
		if (before - now >= RECLAIM_BYTES)
			break;
	}
	*rounds = i + 1;
	return before - now;
}

static void reclaim_scenario(int odf, struct rcl_result *res)
{
	struct rcl a;
	struct mu_peer c;
	struct kt_snap s;
	char cg[128];
	int t;

	mu_cg_enter(cg, sizeof(cg), CG_NAME);
	a.r = kt_map_tables(RT + NT);
	a.child_out = mmap(NULL, MU_PAGE, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	KT_ASSERT(a.child_out != MAP_FAILED);
	mu_fill(a.r, ALLPAGES, 0);
	kt_snap(&s);
	(odf ? mu_odfork : mu_fork)(&c, rcl_child, &a);
	KT_STEP(&s, .forks = odf, .shared = odf ? RT + NT : 0,
		.fallback = KT_ANY);

	/* Every page is mapped by both: PAGEOUT in either leaves it. */
	KT_EQ(madvise(a.r, ALLPAGES * MU_PAGE, MADV_PAGEOUT), 0);
	res->pageout_parent = mu_count_pm(0, a.r, ALLPAGES, MU_PM_SWAPPED);
	mu_send(&c, '1');
	mu_wait(&c, '2');
	res->pageout_child = *a.child_out;
	KT_STEP(&s, .copied = odf ? NT : 0);

	/*
	 * The child wrote page 0 of each extra table: that page is the
	 * parent's alone now, and goes (the parent takes the table back).
	 */
	KT_EQ(madvise(tab(a.r, RT), NPAGES * MU_PAGE, MADV_PAGEOUT), 0);
	res->pageout_reuse = mu_count_pm(0, tab(a.r, RT), NPAGES,
					 MU_PM_SWAPPED);
	KT_STEP(&s, .reused = odf ? NT : 0);

	/* Reclaim takes pages both map, from both, tables still shared. */
	res->freed = reclaim_cg(cg, &res->rounds);
	res->both = both_swapped(a.r, RPAGES, c.pid);
	KT_STILL(&s);

	/* Swap-in on both sides, each with its own data. */
	mu_check(a.r, RPAGES, 0);
	for (t = RT; t < RT + NT; t++)
		mu_check(tab(a.r, t), MU_PPT, 0);
	mu_send(&c, '3');
	mu_wait(&c, '4');
	mu_check(a.r, RPAGES, 0);
	mu_send(&c, '4');
	KT_EQ(mu_end(&c), 0);
	KT_EQ(munmap(a.r, (RT + NT) * MU_TABLE), 0);
	KT_EQ(munmap(a.child_out, MU_PAGE), 0);
	mu_cg_remove(cg);
}

KT_TEST(test_reclaim_like_fork)
{
	struct rcl_result f = { 0 }, o = { 0 };

	reclaim_scenario(0, &f);
	reclaim_scenario(1, &o);
	fprintf(stderr, "# fork:   pageout %zu/%zu/%zu, reclaim freed %lld "
		"KiB in %d rounds, %zu pages swapped in both\n",
		f.pageout_parent, f.pageout_child, f.pageout_reuse,
		f.freed >> 10, f.rounds, f.both);
	fprintf(stderr, "# odfork: pageout %zu/%zu/%zu, reclaim freed %lld "
		"KiB in %d rounds, %zu pages swapped in both\n",
		o.pageout_parent, o.pageout_child, o.pageout_reuse,
		o.freed >> 10, o.rounds, o.both);
	/* PAGEOUT: fork()'s answer, page for page. */
	KT_EQ(o.pageout_parent, f.pageout_parent);
	KT_EQ(o.pageout_child, f.pageout_child);
	KT_EQ(o.pageout_reuse, f.pageout_reuse);
	KT_EQ(f.pageout_reuse, NT);
	/* Reclaim frees what fork's does (at least 90%). */
	KT_ASSERT(f.freed >= RECLAIM_BYTES / 2);
	KT_ASSERT(o.freed * 10 >= f.freed * 9);
	KT_ASSERT(o.both > 0);
	return 0;
}

/*
 * In a new cgroup (its path in CG, LEN bytes): RT tables of pattern 0 at
 * a->r, odforked into *c running FN(a); the fork shared every table (*s:
 * the counters from before it).
 */
static void rcl_fork(struct rcl *a, struct mu_peer *c, struct kt_snap *s,
		     mu_child_fn fn, char *cg, size_t len)
{
	mu_cg_enter(cg, len, CG_NAME);
	a->r = kt_map_tables(RT);
	mu_fill(a->r, RPAGES, 0);
	kt_snap(s);
	mu_odfork(c, fn, a);
	KT_STEP(s, .forks = 1, .shared = RT, .fallback = KT_ANY);
}

/*
 * test_squeeze_while_busy: memory.max far below what the two processes
 * use, while each reads the half the other writes and writes its own:
 * reclaim takes pages from the shared tables and from the copies, and
 * every read gives each process its own data.
 */
#define SQ_PASSES	3
#define SQ_MAX		"12M"

static void sq_child(struct mu_peer *self, void *arg)
{
	struct rcl *a = arg;
	unsigned int i;

	mu_wait(self, '1');
	for (i = 1; i <= SQ_PASSES; i++) {
		mu_check(tab(a->r, RT / 2), RPAGES / 2, 0);
		mu_fill(a->r, RPAGES / 2, i);
		mu_check(a->r, RPAGES / 2, i);
	}
	mu_send(self, '2');
}

KT_TEST(test_squeeze_while_busy)
{
	struct rcl a;
	struct mu_peer c;
	struct kt_snap s;
	char cg[128], max[160];
	long long out;
	unsigned int i;

	rcl_fork(&a, &c, &s, sq_child, cg, sizeof(cg));
	out = kt_vmstat("pswpout");
	snprintf(max, sizeof(max), "%s/memory.max", cg);
	mu_set(max, SQ_MAX);
	mu_send(&c, '1');
	for (i = 1; i <= SQ_PASSES; i++) {
		mu_check(a.r, RPAGES / 2, 0);
		mu_fill(tab(a.r, RT / 2), RPAGES / 2, 100 + i);
		mu_check(tab(a.r, RT / 2), RPAGES / 2, 100 + i);
	}
	mu_wait(&c, '2');
	KT_EQ(mu_end(&c), 0);
	/* Everything was written by someone: each table copied once. */
	KT_STEP(&s, .copied = RT, .reused = KT_ANY, .dropped = KT_ANY,
		.freed = KT_ANY);
	KT_ASSERT(kt_vmstat("pswpout") - out >= RPAGES / 2);
	mu_set(max, "max");
	KT_EQ(munmap(a.r, RT * MU_TABLE), 0);
	mu_cg_remove(cg);
	return 0;
}

/*
 * test_swapoff_after_shared_reclaim: swap entries that reclaim put into
 * tables both processes still share (not there at the fork): swapoff(2)
 * finds them through either mm (fork put both on swapoff's list), unshares
 * the tables and swaps everything in; each process keeps its data.
 */
static void sar_child(struct mu_peer *self, void *arg)
{
	struct rcl *a = arg;

	mu_wait(self, '1');
	KT_EQ(mu_count_pm(0, a->r, RPAGES, MU_PM_SWAPPED), 0);
	mu_check(a->r, RPAGES, 0);
	mu_send(self, '2');
}

KT_TEST(test_swapoff_after_shared_reclaim)
{
	struct rcl a;
	struct mu_peer c;
	struct kt_snap s;
	char cg[128];
	int rounds;

	rcl_fork(&a, &c, &s, sar_child, cg, sizeof(cg));
	KT_ASSERT(reclaim_cg(cg, &rounds) >= RECLAIM_BYTES / 2);
	KT_ASSERT(both_swapped(a.r, RPAGES, c.pid) >= RPAGES / 4);
	KT_STILL(&s);

	KT_EQ(swapoff(ZRAM_DEV), 0);
	KT_STEP(&s, .copied = KT_ANY, .reused = KT_ANY);
	KT_EQ(mu_count_pm(0, a.r, RPAGES, MU_PM_SWAPPED), 0);
	KT_EQ(kt_status_kb(getpid(), "VmSwap"), 0);
	mu_check(a.r, RPAGES, 0);
	mu_send(&c, '1');
	mu_wait(&c, '2');
	KT_EQ(mu_end(&c), 0);
	KT_EQ(munmap(a.r, RT * MU_TABLE), 0);
	mu_cg_remove(cg);
	return 0;
}

/*
 * test_hwpoison_swapcache_like_fork: memory failure of a page that is in
 * the swap cache and mapped (through a shared table after odfork) unmaps
 * it to its swap entry, keeping the page in the swap cache; as after
 * fork(), the injection succeeds and both processes then get SIGBUS on
 * that page and their data elsewhere.
 */
#define HWP_PAGE	7

struct hwp_result {
	int odf;		/* run with odfork (else fork) */
	int madvise_err;	/* MADV_HWPOISON in the child: 0 or errno */
	int child_faults;	/* the child's read of the page: SIGBUS */
	int parent_faults;
	int child_status;
	long long shared;	/* tables shared by the fork */
};

/* Runs in a process of its own: memory failure may kill its processes. */
static int hwp_run(void *arg)
{
	struct hwp_result *res = arg;
	const int odf = res->odf;
	char *r = kt_map_tables(1), *x = r + HWP_PAGE * MU_PAGE;
	struct kt_snap a, b;
	int hold[2], i;
	pid_t h, c;
	char ch;

	mu_fill(r, MU_PPT, 0);
	for (i = 0; i < PAGEOUT_TRIES && !(mu_pagemap(0, x) & MU_PM_SWAPPED);
	     i++)
		madvise(x, MU_PAGE, MADV_PAGEOUT);
	if (!(mu_pagemap(0, x) & MU_PM_SWAPPED))
		return 3;
	/*
	 * A second reference to the swap entry (a plain fork()ed helper)
	 * makes the swap-in go through the swap cache: the page stays
	 * there, mapped, after the helper exits.
	 */
	if (pipe(hold) != 0)
		return 4;
	h = fork();
	if (h == 0) {
		close(hold[1]);
		_exit(read(hold[0], &ch, 1) < 0);
	}
	close(hold[0]);
	mu_check(x, 1, 0);
	close(hold[1]);
	if (kt_wait(h) != 0)
		return 5;

	kt_snap(&a);
	c = odf ? kt_odfork(0) : fork();
	if (c < 0)
		return 6;
	if (c == 0) {
		res->madvise_err = madvise(x, MU_PAGE, MADV_HWPOISON) ? errno
								       : 0;
		res->child_faults = kt_read_faults((unsigned char *)x);
		_exit(mu_holds(r, 0) && mu_holds(x + MU_PAGE, 0) ? 0 : 7);
	}
	res->child_status = kt_wait(c);
	kt_snap(&b);
	res->shared = kt_moved(&a, &b, KT_C_SHARED);
	res->parent_faults = kt_read_faults((unsigned char *)x);
	if (!mu_holds(r, 0) || !mu_holds(x + MU_PAGE, 0))
		return 8;
	return 0;
}

static void hwp_scenario(int odf, struct hwp_result *out)
{
	struct hwp_result *res;

	/* MAP_SHARED: the runner and its child write their results here. */
	res = mmap(NULL, MU_PAGE, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	KT_ASSERT(res != MAP_FAILED);
	res->odf = odf;
	KT_EQ(kt_wait(kt_spawn(hwp_run, res)), 0);
	*out = *res;
	KT_EQ(munmap(res, MU_PAGE), 0);
}

KT_TEST(test_hwpoison_swapcache_like_fork)
{
	struct hwp_result f, o;

	kt_sysctl_set(1);
	hwp_scenario(0, &f);
	hwp_scenario(1, &o);
	fprintf(stderr, "# fork:   madvise %d, child %d/%d, parent %d\n",
		f.madvise_err, f.child_faults, f.child_status,
		f.parent_faults);
	fprintf(stderr, "# odfork: madvise %d, child %d/%d, parent %d, "
		"%lld tables shared\n", o.madvise_err, o.child_faults,
		o.child_status, o.parent_faults, o.shared);
	KT_EQ(o.shared, 1);
	KT_EQ(f.madvise_err, 0);
	KT_EQ(o.madvise_err, f.madvise_err);
	KT_EQ(o.child_faults, f.child_faults);
	KT_EQ(o.child_status, f.child_status);
	KT_EQ(o.parent_faults, f.parent_faults);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_swapped_before_fork,
						swap_setup, swap_teardown),
		cmocka_unit_test_setup_teardown(test_reclaim_like_fork,
						swap_setup, swap_teardown),
		cmocka_unit_test_setup_teardown(test_squeeze_while_busy,
						swap_setup, swap_teardown),
		cmocka_unit_test_setup_teardown(
			test_swapoff_after_shared_reclaim,
			swap_setup, swap_teardown),
		cmocka_unit_test_setup_teardown(
			test_hwpoison_swapcache_like_fork,
			swap_setup, swap_teardown),
	};

	kt_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
