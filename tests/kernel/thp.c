/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: transparent huge pages around an on-demand fork.
 *
 * THPs mapped by a PMD have no PTE table and are copied classically; the
 * tests make PTE-mapped large folios instead and share their tables:
 * - split_khugepaged: 2 MiB THPs split by an mprotect of one page (and
 *   back: one VMA again), shared by the fork; a khugepaged pass (sleep 0,
 *   two full scans) leaves the shared tables alone while it collapses a
 *   private control range of the parent; MADV_COLLAPSE of shared tables
 *   sees fork()'s write protection and fails with EINVAL without a copy
 *   (nothing writable, as right after fork()); after a write it
 *   collapses (a copy in the parent, a take-back in the child); each
 *   process keeps its snapshot and its own writes.
 * - khugepaged_after_fork, khugepaged_while_shared: khugepaged over
 *   ranges that parent and child map, after fork() and after an
 *   on-demand fork: the same decisions (max_ptes_shared, counted in
 *   thp_scan_exceed_share_pte; nothing writable in the child) and, after
 *   one write per table, the same collapses in the parent.
 * - mthp: 64 kB mTHP folios (hugepages-64kB/enabled=always) in shared
 *   tables; writes into them and a munmap of half a folio in the child.
 * The group setup saves every sysfs setting the tests change, the group
 * teardown restores them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

#define THP		"/sys/kernel/mm/transparent_hugepage"
#define KHP		THP "/khugepaged"
#define M64		THP "/hugepages-64kB"
#define M2M		THP "/hugepages-2048kB"
#define NT		4
#define NPAGES		(NT * MU_PPT)
#define SCAN_WAIT_S	60

static char *tab(void *r, int t)
{
	return (char *)r + (size_t)t * MU_TABLE;
}

/* AnonHugePages of the VMA containing addr in pid, in kB. */
static long anon_huge_kb(pid_t pid, const void *addr)
{
	char path[64];
	char line[256];
	unsigned long lo, hi, a = (unsigned long)(uintptr_t)addr;
	long kb = -1;
	int in = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		kt_fail(__FILE__, __LINE__, "open %s", path);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = lo <= a && a < hi;
		else if (in && sscanf(line, "AnonHugePages: %ld", &kb) == 1)
			break;
	}
	fclose(f);
	if (kb < 0)
		kt_fail(__FILE__, __LINE__, "no VMA at %p in %s", addr, path);
	return kb;
}

/* n tables, 2 MiB aligned, THP allowed. */
static char *map_thp(size_t n)
{
	char *r = kt_reserve(n * MU_TABLE, 0);

	if (mmap(r, n * MU_TABLE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != r)
		kt_fail(__FILE__, __LINE__, "mmap");
	return r;
}

/* Fill n tables with generation gen (THP faults) and split every PMD
 * mapping by an mprotect round trip of one page per table. */
static char *map_split_thps(size_t n, unsigned int gen)
{
	char *r = map_thp(n);
	size_t t;

	mu_fill(r, n * MU_PPT, gen);
	KT_EQ(anon_huge_kb(getpid(), r), (long)n * 2048);
	for (t = 0; t < n; t++) {
		KT_EQ(mprotect(tab(r, t) + MU_PAGE, MU_PAGE, PROT_READ), 0);
		KT_EQ(mprotect(tab(r, t) + MU_PAGE, MU_PAGE,
			       PROT_READ | PROT_WRITE), 0);
	}
	KT_EQ(anon_huge_kb(getpid(), r), 0);
	return r;
}

/* A per-size (mTHP) setting: absent on kernels without those sizes. */
static int is_mthp(const char *path)
{
	return strncmp(path, THP "/hugepages-", strlen(THP "/hugepages-")) == 0;
}

static int thp_setup(void **state)
{
	static const char *const paths[] = {
		THP "/enabled", THP "/defrag", KHP "/scan_sleep_millisecs",
		KHP "/alloc_sleep_millisecs", KHP "/pages_to_scan",
		KHP "/max_ptes_shared",
		M64 "/enabled", M2M "/enabled",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (mu_save(paths[i]) != 0 && !is_mthp(paths[i]))
			return -1;
	return 0;
}

static int thp_teardown(void **state)
{
	(void)state;
	return mu_restore_all();
}

/* One khugepaged pass over everything: wait for two more full scans. */
static void khugepaged_pass(void)
{
	long long start = mu_get_num(KHP "/full_scans");
	double end = mu_now() + SCAN_WAIT_S;

	mu_set(KHP "/pages_to_scan", "65536");
	mu_set(KHP "/alloc_sleep_millisecs", "0");
	mu_set(KHP "/scan_sleep_millisecs", "0");
	while (mu_get_num(KHP "/full_scans") < start + 2) {
		if (mu_now() > end)
			kt_fail(__FILE__, __LINE__, "khugepaged: no 2 full "
				"scans in %d s", SCAN_WAIT_S);
		mu_msleep(20);
	}
	mu_set(KHP "/scan_sleep_millisecs", "100000");
}

struct sk {
	char *r;
};

static void sk_child(struct mu_peer *self, void *arg)
{
	struct sk *a = arg;

	mu_wait(self, '1');
	mu_check(a->r, NPAGES, 0);
	mu_fill(tab(a->r, 3), MU_PPT, 2);
	mu_sync(self, '2');
	/* Table 2: the parent copied it (write-protecting the entries);
	 * we take it back at a write and collapse it. */
	mu_fill(tab(a->r, 2), 1, 6);
	KT_EQ(madvise(tab(a->r, 2), MU_TABLE, MADV_COLLAPSE), 0);
	KT_EQ(anon_huge_kb(getpid(), a->r), 2048);
	mu_check(a->r, 2 * MU_PPT, 0);
	mu_check(tab(a->r, 2), 1, 6);
	mu_check(tab(a->r, 2) + MU_PAGE, MU_PPT - 1, 0);
	mu_check(tab(a->r, 3), MU_PPT, 2);
	mu_sync(self, '3');
}

KT_TEST(test_split_khugepaged)
{
	struct sk a;
	struct mu_peer c;
	struct kt_snap s;
	char *ctl;

	mu_set(THP "/enabled", "always");
	mu_set(THP "/defrag", "madvise");
	a.r = map_split_thps(NT, 0);
	kt_snap(&s);
	mu_odfork(&c, sk_child, &a);
	KT_STEP(&s, .forks = 1, .shared = NT,
		.fallback = KT_ANY);

	/* A private control range of split THPs, then a khugepaged pass. */
	ctl = map_split_thps(1, 5);
	khugepaged_pass();
	KT_EQ(anon_huge_kb(getpid(), ctl), 2048);
	KT_EQ(anon_huge_kb(getpid(), a.r), 0);
	KT_EQ(anon_huge_kb(c.pid, a.r), 0);
	mu_check(ctl, MU_PPT, 5);
	KT_STILL(&s);

	/*
	 * MADV_COLLAPSE of the shared tables 0-1 sees them as fork() would
	 * have left them: every entry write-protected for COW, so there is
	 * nothing writable to collapse (SCAN_PAGE_RO): EINVAL, as right
	 * after fork(), and nothing copied.  After one write into each
	 * (a copy each), they collapse.
	 */
	KT_FAILS(madvise(a.r, 2 * MU_TABLE, MADV_COLLAPSE), EINVAL);
	KT_STILL(&s);
	KT_EQ(anon_huge_kb(getpid(), a.r), 0);
	mu_fill(a.r, 1, 1);
	mu_fill(tab(a.r, 1), 1, 1);
	KT_STEP(&s, .copied = 2);
	KT_EQ(madvise(a.r, 2 * MU_TABLE, MADV_COLLAPSE), 0);
	KT_STILL(&s);
	KT_EQ(anon_huge_kb(getpid(), a.r), 4096);
	mu_check(a.r, 1, 1);
	mu_check(a.r + MU_PAGE, MU_PPT - 1, 0);
	mu_check(tab(a.r, 1), 1, 1);
	mu_check(tab(a.r, 1) + MU_PAGE, 3 * MU_PPT - 1, 0);
	mu_fill(a.r, 3 * MU_PPT, 1);
	KT_STEP(&s, .copied = 1);
	mu_send(&c, '1');
	mu_wait(&c, '2');
	KT_STEP(&s, .copied = 1);
	mu_check(a.r, 3 * MU_PPT, 1);
	mu_check(tab(a.r, 3), MU_PPT, 0);
	mu_send(&c, '2');
	mu_wait(&c, '3');
	KT_STEP(&s, .reused = 1);
	mu_send(&c, '3');
	KT_EQ(mu_end(&c), 0);
	/* The child was the last holder of tables 0-1 (freed), we of table 3. */
	KT_STEP(&s, .freed = 2);
	/* The parent's table 3: pending reuse, taken back at the write. */
	mu_fill(tab(a.r, 3), MU_PPT, 4);
	KT_STEP(&s, .reused = 1);
	mu_check(a.r, 3 * MU_PPT, 1);
	mu_check(tab(a.r, 3), MU_PPT, 4);
	return 0;
}

/* ------------------------------------------------------------------ */

static void kl_child(struct mu_peer *self, void *arg)
{
	char *r = arg;

	mu_wait(self, '1');
	mu_check(r, NPAGES, 0);
	mu_sync(self, '2');
}

/*
 * khugepaged after a fork of NT tables of split THPs.  Every page is
 * mapped by both processes: each range exceeds max_ptes_shared (255), in
 * both processes, and is counted in thp_scan_exceed_share_pte.  After
 * one write per table in the parent and max_ptes_shared 511, the
 * parent's ranges collapse; the child's stay (nothing writable).
 */
static void khugepaged_after(bool on_demand)
{
	struct mu_peer c;
	struct kt_snap s;
	long long exceed;
	char *r;
	int t;

	mu_set(THP "/enabled", "always");
	mu_set(THP "/defrag", "madvise");
	mu_set(KHP "/max_ptes_shared", "255");
	r = map_split_thps(NT, 0);
	kt_snap(&s);
	if (on_demand) {
		mu_odfork(&c, kl_child, r);
		KT_STEP(&s, .forks = 1, .shared = NT, .fallback = KT_ANY);
	} else {
		mu_fork(&c, kl_child, r);
	}
	exceed = kt_vmstat("thp_scan_exceed_share_pte");
	khugepaged_pass();
	KT_ASSERT(kt_vmstat("thp_scan_exceed_share_pte") - exceed >= 2 * NT);
	KT_EQ(anon_huge_kb(getpid(), r), 0);
	KT_EQ(anon_huge_kb(c.pid, r), 0);
	KT_STILL(&s);

	for (t = 0; t < NT; t++)
		mu_fill(tab(r, t), 1, 1);
	if (on_demand)
		KT_STEP(&s, .copied = NT);
	mu_set(KHP "/max_ptes_shared", "511");
	khugepaged_pass();
	KT_EQ(anon_huge_kb(getpid(), r), NT * 2048);
	KT_EQ(anon_huge_kb(c.pid, r), 0);
	KT_STILL(&s);
	for (t = 0; t < NT; t++) {
		mu_check(tab(r, t), 1, 1);
		mu_check(tab(r, t) + MU_PAGE, MU_PPT - 1, 0);
	}
	mu_send(&c, '1');
	mu_wait(&c, '2');
	mu_send(&c, '2');
	KT_EQ(mu_end(&c), 0);
	/* The child was the last holder of every table: it freed them. */
	if (on_demand)
		KT_STEP(&s, .freed = NT);
	KT_STILL(&s);
	KT_EQ(munmap(r, NT * MU_TABLE), 0);
}

KT_TEST(test_khugepaged_after_fork)
{
	khugepaged_after(false);
	return 0;
}

KT_TEST(test_khugepaged_while_shared)
{
	khugepaged_after(true);
	return 0;
}

/* ------------------------------------------------------------------ */

struct mt {
	char *r;
};

static void mt_child(struct mu_peer *self, void *arg)
{
	struct mt *a = arg;
	size_t i;

	mu_wait(self, '1');
	mu_check(a->r, NPAGES, 0);
	/* One page of every 64 kB folio of table 0; half a folio away. */
	for (i = 0; i < MU_PPT; i += 16)
		mu_fill(a->r + (i + 3) * MU_PAGE, 1, 1);
	KT_EQ(munmap(tab(a->r, 1) + 8 * MU_PAGE, 8 * MU_PAGE), 0);
	mu_send(self, '2');
	mu_wait(self, '3');
	for (i = 0; i < MU_PPT; i++)
		mu_check(a->r + i * MU_PAGE, 1, i % 16 == 3 ? 1 : 0);
	mu_check(tab(a->r, 1), 8, 0);
	mu_check(tab(a->r, 1) + 16 * MU_PAGE, 3 * MU_PPT - 16, 0);
}

KT_TEST(test_mthp)
{
	struct mt a;
	struct mu_peer c;
	struct kt_snap s;
	long long allocs;

	/* Every x86-64 kernel since 6.8 has the 64 kB anonymous size. */
	KT_EQ(access(M64 "/enabled", F_OK), 0);
	mu_set(THP "/enabled", "never");
	mu_set(M2M "/enabled", "never");
	mu_set(M64 "/enabled", "always");
	allocs = mu_get_num(M64 "/stats/anon_fault_alloc");
	a.r = map_thp(NT);
	mu_fill(a.r, NPAGES, 0);
	KT_EQ(mu_get_num(M64 "/stats/anon_fault_alloc") - allocs, NPAGES / 16);

	kt_snap(&s);
	mu_odfork(&c, mt_child, &a);
	KT_STEP(&s, .forks = 1, .shared = NT,
		.fallback = KT_ANY);
	mu_send(&c, '1');
	mu_wait(&c, '2');
	/* Table 0 written, table 1 partly unmapped: both copied. */
	KT_STEP(&s, .copied = 2);
	mu_check(a.r, NPAGES, 0);
	mu_fill(a.r, MU_PPT, 2);
	mu_fill(tab(a.r, 2), MU_PPT, 2);
	KT_STEP(&s, .reused = 1, .copied = 1);
	mu_send(&c, '3');
	KT_EQ(mu_end(&c), 0);
	mu_check(a.r, MU_PPT, 2);
	mu_check(tab(a.r, 1), MU_PPT, 0);
	mu_check(tab(a.r, 2), MU_PPT, 2);
	mu_check(tab(a.r, 3), MU_PPT, 0);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_khugepaged),
		cmocka_unit_test(test_khugepaged_after_fork),
		cmocka_unit_test(test_khugepaged_while_shared),
		cmocka_unit_test(test_mthp),
	};

	kt_init();
	return cmocka_run_group_tests(tests, thp_setup, thp_teardown);
}
