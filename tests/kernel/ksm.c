/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: KSM and shared PTE tables.
 *
 * Pages here hold a pattern that fills the whole page and depends on a
 * group (page index % GROUPS) and a generation, so that KSM finds many
 * identical pages; a page at the wrong place or of the wrong generation
 * is still caught by the check.
 * - mergeable_not_shared: a VM_MERGEABLE range is copied classically at
 *   an on-demand fork (fallback counter), both sides see their data.
 * - merge_after_fork, merge_while_shared: MADV_MERGEABLE after the fork,
 *   in the parent, on pages the child maps too: ksmd merges the parent's
 *   pages (ksm_merging_pages, pages_sharing) after fork() and, copying
 *   the parent's tables first, after an on-demand fork; writes after
 *   merging stay private on both sides, MADV_UNMERGEABLE gives the
 *   parent its data back.
 * The group setup saves the ksm settings; the teardown unmerges
 * everything (run=2) and restores them.
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

#define KSM		"/sys/kernel/mm/ksm"
#define NT		4
#define NPAGES		(NT * MU_PPT)
#define GROUPS		4
#define SCAN_WAIT_S	40

static uint64_t pat(size_t i, unsigned int gen)
{
	return 0x6b736d0000000000ULL | ((uint64_t)gen << 16) |
	       (uint64_t)(i % GROUPS);
}

static void fill(char *r, size_t i0, size_t n, unsigned int gen)
{
	size_t i, w;

	for (i = i0; i < i0 + n; i++) {
		uint64_t *p = (uint64_t *)(r + i * MU_PAGE);

		for (w = 0; w < MU_PAGE / 8; w++)
			p[w] = pat(i, gen);
	}
}

#define check(r, i0, n, gen)	check_at(__LINE__, r, i0, n, gen)
static void check_at(int line, const char *r, size_t i0, size_t n,
		     unsigned int gen)
{
	size_t i, w;

	for (i = i0; i < i0 + n; i++) {
		const volatile uint64_t *p = (const void *)(r + i * MU_PAGE);

		for (w = 0; w < MU_PAGE / 8; w += 255)
			if (p[w] != pat(i, gen))
				kt_fail(__FILE__, line, "page %zu word %zu: "
					"%#llx, want %#llx", i, w,
					(unsigned long long)p[w],
					(unsigned long long)pat(i, gen));
	}
}

static long merging_pages(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ksm_merging_pages", (int)pid);
	return (long)mu_get_num(path);
}

/* Let ksmd do at least n more full scans. */
static void ksm_scans(int n)
{
	long long start = mu_get_num(KSM "/full_scans");
	double end = mu_now() + SCAN_WAIT_S;

	while (mu_get_num(KSM "/full_scans") < start + n) {
		if (mu_now() > end)
			kt_fail(__FILE__, __LINE__, "ksmd: no %d full scans "
				"in %d s", n, SCAN_WAIT_S);
		mu_msleep(20);
	}
}

static void ksm_start(void)
{
	mu_set(KSM "/pages_to_scan", "20000");
	mu_set(KSM "/sleep_millisecs", "0");
	mu_set(KSM "/run", "1");
}

static int ksm_setup(void **state)
{
	(void)state;
	if (mu_save(KSM "/run") != 0 || mu_save(KSM "/pages_to_scan") != 0 ||
	    mu_save(KSM "/sleep_millisecs") != 0)
		return -1;
	return 0;
}

static int ksm_teardown(void **state)
{
	(void)state;
	if (kt_write_file(KSM "/run", "2") != 0)
		fprintf(stderr, "ksm: cannot unmerge (run=2)\n");
	return mu_restore_all();
}

/* ------------------------------------------------------------------ */

static void mns_child(struct mu_peer *self, void *arg)
{
	char *r = arg;

	mu_wait(self, '1');
	check(r, 0, NPAGES, 0);
	fill(r, 0, NPAGES, 1);
	check(r, 0, NPAGES, 1);
}

KT_TEST(test_mergeable_not_shared)
{
	long long base = mu_probe_fallback();
	char *r = kt_map_tables(NT);
	struct mu_peer c;
	struct kt_snap s;

	fill(r, 0, NPAGES, 0);
	KT_EQ(madvise(r, NT * MU_TABLE, MADV_MERGEABLE), 0);
	kt_snap(&s);
	mu_odfork(&c, mns_child, r);
	KT_STEP(&s, .forks = 1, .shared = 0, .fallback = base + NT);
	mu_send(&c, '1');
	KT_EQ(mu_end(&c), 0);
	check(r, 0, NPAGES, 0);
	KT_STILL(&s);
	return 0;
}

/* ------------------------------------------------------------------ */

static void mws_child(struct mu_peer *self, void *arg)
{
	char *r = arg;

	mu_wait(self, '1');
	KT_EQ(merging_pages(getpid()), 0);
	check(r, 0, NPAGES, 0);
	fill(r, 2 * MU_PPT + 7, 1, 3);
	mu_send(self, '2');
	mu_wait(self, '3');
	check(r, 0, 2 * MU_PPT + 7, 0);
	check(r, 2 * MU_PPT + 7, 1, 3);
	check(r, 2 * MU_PPT + 8, 2 * MU_PPT - 8, 0);
}

/* Let ksmd merge at least half of the parent's pages of r. */
static void ksm_merge_half(void)
{
	double end = mu_now() + SCAN_WAIT_S;
	long m;

	while ((m = merging_pages(getpid())) < NPAGES / 2) {
		if (mu_now() > end)
			kt_fail(__FILE__, __LINE__, "ksm merged %ld pages of "
				"%d", m, NPAGES);
		ksm_scans(1);
	}
	fprintf(stderr, "# ksm_merging_pages %ld, pages_sharing %lld\n", m,
		mu_get_num(KSM "/pages_sharing"));
	KT_ASSERT(mu_get_num(KSM "/pages_sharing") > 0);
}

/*
 * MADV_MERGEABLE after the fork, in the parent only, on pages the child
 * maps too.  After fork() ksmd merges the parent's pages (the child keeps
 * its own mappings); after an on-demand fork it copies the parent's
 * tables to do the same.  Writes after merging stay private.
 */
static void merge_after(bool on_demand)
{
	char *r = kt_map_tables(NT);
	struct mu_peer c;
	struct kt_snap s;

	fill(r, 0, NPAGES, 0);
	kt_snap(&s);
	if (on_demand) {
		mu_odfork(&c, mws_child, r);
		KT_STEP(&s, .forks = 1, .shared = NT, .fallback = KT_ANY);
	} else {
		mu_fork(&c, mws_child, r);
	}
	KT_EQ(madvise(r, NT * MU_TABLE, MADV_MERGEABLE), 0);
	ksm_start();
	ksm_merge_half();
	/* Every table has pages to merge: the parent copied each one. */
	if (on_demand)
		KT_STEP(&s, .copied = NT);
	check(r, 0, NPAGES, 0);

	fill(r, MU_PPT + 5, 2, 2);
	check(r, MU_PPT + 1, 4, 0);
	check(r, MU_PPT + 5, 2, 2);
	check(r, MU_PPT + 7, MU_PPT - 7, 0);
	mu_send(&c, '1');
	mu_wait(&c, '2');
	/* The child took back table 2 (the parent has its copy). */
	if (on_demand)
		KT_STEP(&s, .reused = 1);
	check(r, 2 * MU_PPT + 1, MU_PPT - 1, 0);
	mu_send(&c, '3');
	KT_EQ(mu_end(&c), 0);
	/* The child was the last holder of the other tables: it freed them. */
	if (on_demand)
		KT_STEP(&s, .freed = NT - 1);
	KT_STILL(&s);
	KT_EQ(madvise(r, NT * MU_TABLE, MADV_UNMERGEABLE), 0);
	check(r, 0, MU_PPT + 5, 0);
	check(r, MU_PPT + 5, 2, 2);
	check(r, MU_PPT + 7, 3 * MU_PPT - 7, 0);
	KT_EQ(munmap(r, NT * MU_TABLE), 0);
}

KT_TEST(test_merge_after_fork)
{
	merge_after(false);
	return 0;
}

KT_TEST(test_merge_while_shared)
{
	merge_after(true);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mergeable_not_shared),
		cmocka_unit_test(test_merge_after_fork),
		cmocka_unit_test(test_merge_while_shared),
	};

	kt_init();
	return cmocka_run_group_tests(tests, ksm_setup, ksm_teardown);
}
