/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: PTE tables that several VMAs, or a VMA and a hole, share
 * (DESIGN.md I6 and I10 as kernel/MECHANISM.md states them since 0031).
 *
 * The region: R_TABLES tables, every page written with generation 1, then
 * cut into VMAs: a read-only piece in the middle of table CUT_T (three
 * VMAs in it) and a hole of HOLE bytes in table HOLE_T (two VMAs and the
 * hole).  An on-demand fork shares every table of it, the cut ones too.
 *
 *  - test_spans_shared: both cut tables are shared; each process sees its
 *    own writes in every piece and the fork-time data elsewhere; the
 *    child's RssOdfork counts each shared table once.
 *  - test_spans_file_into_hole: a file mapped into the hole gets the
 *    parent a private table at mmap time, before any fault (a driver's
 *    mmap may insert pages right away); the child's view is unchanged.
 *  - test_spans_mremap_into_hole: the same for memory moved there by
 *    mremap().
 *  - test_spans_munmap_piece: unmapping one VMA of a shared table copies
 *    the table for the parent; the child still sees that piece.
 *  - test_spans_sparse_copied: a range that its VMAs cover less than half
 *    of is copied at fork, not shared.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"
#include "mmutil.h"

#define R_TABLES	6
#define CUT_T		1		/* read-only piece inside */
#define CUT_OFF		(64UL << 10)
#define CUT_LEN		(64UL << 10)
#define HOLE_T		3		/* a hole inside */
#define HOLE_OFF	(256UL << 10)
#define HOLE		(64UL << 10)
#define HOLE_PAGES	(HOLE / MU_PAGE)
#define MOVED(i)	(0x4d0e0000ULL + (i))	/* mremap test's pages */

static char *tab(char *r, int t)
{
	return r + (size_t)t * MU_TABLE;
}

static char *hole(char *r)
{
	return tab(r, HOLE_T) + HOLE_OFF;
}

/* Pages of table t outside the hole, checked with generation gen. */
static void check_table(char *r, int t, unsigned int gen)
{
	if (t != HOLE_T) {
		mu_check(tab(r, t), MU_PPT, gen);
		return;
	}
	mu_check(tab(r, t), HOLE_OFF / MU_PAGE, gen);
	mu_check(hole(r) + HOLE, MU_PPT - (HOLE_OFF + HOLE) / MU_PAGE, gen);
}

/* Every table of the region holds the fork-time data. */
static void check_all(char *r)
{
	int t;

	for (t = 0; t < R_TABLES; t++)
		check_table(r, t, 1);
}

/* Whether [p, p + len) is unmapped in this process (mincore: ENOMEM). */
static int unmapped(void *p, size_t len)
{
	unsigned char vec[HOLE_PAGES];

	return len <= sizeof(vec) * MU_PAGE && mincore(p, len, vec) == -1 &&
	       errno == ENOMEM;
}

/* The region, cut; the fallback count of a fork made before it. */
static char *cut_region(long long *fallback)
{
	char *r;

	kt_sysctl_set(1);
	*fallback = mu_probe_fallback();
	r = kt_map_tables(R_TABLES);
	mu_fill(r, (size_t)R_TABLES * MU_PPT, 1);
	KT_EQ(mprotect(tab(r, CUT_T) + CUT_OFF, CUT_LEN, PROT_READ), 0);
	KT_EQ(munmap(hole(r), HOLE), 0);
	return r;
}

/* The child: check the fork-time data, write its own, check again. */
static void writer_child(struct mu_peer *self, void *arg)
{
	char *r = arg;

	check_all(r);
	mu_sync(self, 'r');
	mu_wait(self, 'g');
	mu_fill(tab(r, CUT_T), CUT_OFF / MU_PAGE, 2);
	mu_fill(tab(r, HOLE_T), HOLE_OFF / MU_PAGE, 2);
	mu_sync(self, 'w');
	mu_wait(self, 'c');
	mu_check(tab(r, CUT_T), CUT_OFF / MU_PAGE, 2);
	mu_check(tab(r, CUT_T) + CUT_OFF, CUT_LEN / MU_PAGE, 1);
	mu_check(tab(r, HOLE_T), HOLE_OFF / MU_PAGE, 2);
	if (!unmapped(hole(r), HOLE))
		kt_fail(__FILE__, __LINE__, "child: the hole is mapped");
	mu_sync(self, 'd');
	mu_wait(self, 'q');
}

/*
 * The end of a test: once the child is done, check the parent's tables of
 * r (if given), let the child exit, reap it; its exit drops what it still
 * shared with us, and frees what it held last.
 */
static void end_child(struct mu_peer *peer, struct kt_snap *s, char *r)
{
	mu_sync(peer, 'd');
	if (r)
		check_all(r);
	mu_send(peer, 'q');
	KT_EQ(mu_end(peer), 0);
	KT_STEP(s, .dropped = KT_ANY, .freed = KT_ANY);
}

KT_TEST(test_spans_shared)
{
	long long fallback;
	struct mu_peer peer;
	struct kt_snap s;
	long want_kb, got_kb;
	char *r;

	r = cut_region(&fallback);
	kt_snap(&s);
	mu_odfork(&peer, writer_child, r);
	KT_STEP(&s, .forks = 1, .shared = R_TABLES, .fallback = fallback);
	mu_sync(&peer, 'r');
	/* Every table once, the hole's pages not: fork()'s VmRSS. */
	want_kb = (long)((R_TABLES * MU_PPT - HOLE_PAGES) * MU_PAGE >> 10);
	got_kb = kt_status_kb(peer.pid, "RssOdfork");
	KT_SHARING(got_kb == want_kb, "child's RssOdfork %ld kB, want %ld",
		   got_kb, want_kb);
	mu_send(&peer, 'g');
	mu_sync(&peer, 'w');
	KT_STEP(&s, .copied = 2);
	mu_fill(tab(r, CUT_T) + CUT_OFF + CUT_LEN, 4, 3);
	KT_STEP(&s, .reused = 1);
	check_table(r, HOLE_T, 1);
	mu_check(tab(r, CUT_T), CUT_OFF / MU_PAGE, 1);
	mu_check(tab(r, CUT_T) + CUT_OFF, CUT_LEN / MU_PAGE, 1);
	mu_send(&peer, 'c');
	end_child(&peer, &s, NULL);
	return 0;
}

/* The child of the hole tests: fork-time data, and no mapping in the
 * hole, before and after the parent fills it. */
static void hole_child(struct mu_peer *self, void *arg)
{
	char *r = arg;

	check_all(r);
	mu_sync(self, 'm');
	check_all(r);
	if (!unmapped(hole(r), HOLE))
		kt_fail(__FILE__, __LINE__, "child: the hole is mapped");
	mu_sync(self, 'd');
	mu_wait(self, 'q');
}


KT_TEST(test_spans_file_into_hole)
{
	long long fallback;
	struct mu_peer peer;
	struct kt_snap s;
	char *r, *file;
	int fd;

	r = cut_region(&fallback);
	fd = memfd_create("spans", 0);
	KT_ASSERT(fd >= 0);
	KT_EQ(ftruncate(fd, HOLE), 0);
	kt_snap(&s);
	mu_odfork(&peer, hole_child, r);
	KT_STEP(&s, .forks = 1, .shared = R_TABLES, .fallback = fallback);
	mu_wait(&peer, 'm');
	/*
	 * At mmap time, before any fault: a driver's mmap could insert
	 * pages right away (vm_insert_pages(), remap_pfn_range()).
	 */
	file = mmap(hole(r), HOLE, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_FIXED, fd, 0);
	KT_ASSERT(file == hole(r));
	KT_STEP(&s, .copied = 1);
	memset(file, 0x5a, HOLE);
	KT_STILL(&s);
	KT_EQ(file[HOLE - 1], 0x5a);
	mu_send(&peer, 'm');
	end_child(&peer, &s, r);
	KT_EQ(munmap(file, HOLE), 0);
	KT_EQ(close(fd), 0);
	return 0;
}

KT_TEST(test_spans_mremap_into_hole)
{
	long long fallback;
	struct mu_peer peer;
	struct kt_snap s;
	char *r, *src, *moved;
	size_t i;

	r = cut_region(&fallback);
	src = mmap(NULL, HOLE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KT_ASSERT(src != MAP_FAILED);
	kt_snap(&s);
	mu_odfork(&peer, hole_child, r);
	KT_STEP(&s, .forks = 1, .shared = R_TABLES, .fallback = fallback);
	mu_wait(&peer, 'm');
	for (i = 0; i < HOLE_PAGES; i++)
		((volatile uint64_t *)src)[i * MU_PAGE / 8] = MOVED(i);
	KT_STILL(&s);
	/* move_ptes() into the hole: a private table first. */
	moved = mremap(src, HOLE, HOLE, MREMAP_MAYMOVE | MREMAP_FIXED,
		       hole(r));
	KT_ASSERT(moved == hole(r));
	KT_STEP(&s, .copied = 1);
	for (i = 0; i < HOLE_PAGES; i++)
		KT_EQ(((volatile uint64_t *)moved)[i * MU_PAGE / 8], MOVED(i));
	mu_send(&peer, 'm');
	end_child(&peer, &s, r);
	return 0;
}

/* The child of the munmap test: it still sees the piece the parent
 * unmapped. */
static void piece_child(struct mu_peer *self, void *arg)
{
	char *r = arg;

	mu_sync(self, 'u');
	mu_check(tab(r, CUT_T), MU_PPT, 1);
	mu_sync(self, 'd');
	mu_wait(self, 'q');
}

KT_TEST(test_spans_munmap_piece)
{
	long long fallback;
	struct mu_peer peer;
	struct kt_snap s;
	char *r;

	r = cut_region(&fallback);
	kt_snap(&s);
	mu_odfork(&peer, piece_child, r);
	KT_STEP(&s, .forks = 1, .shared = R_TABLES, .fallback = fallback);
	mu_wait(&peer, 'u');
	KT_EQ(munmap(tab(r, CUT_T) + CUT_OFF, CUT_LEN), 0);
	KT_STEP(&s, .copied = 1);
	KT_ASSERT(unmapped(tab(r, CUT_T) + CUT_OFF, CUT_LEN));
	mu_check(tab(r, CUT_T), CUT_OFF / MU_PAGE, 1);
	mu_check(tab(r, CUT_T) + CUT_OFF + CUT_LEN,
		 MU_PPT - (CUT_OFF + CUT_LEN) / MU_PAGE, 1);
	mu_send(&peer, 'u');
	end_child(&peer, &s, NULL);
	return 0;
}

static void quiet_child(struct mu_peer *self, void *arg)
{
	(void)arg;
	mu_wait(self, 'q');
}

KT_TEST(test_spans_sparse_copied)
{
	long long fallback;
	struct mu_peer peer;
	struct kt_snap s;
	char *r;

	kt_sysctl_set(1);
	fallback = mu_probe_fallback();
	/* One table's range, 3/8 of it mapped at its start: copied. */
	r = kt_map_tables(1);
	KT_EQ(munmap(r + (768UL << 10), MU_TABLE - (768UL << 10)), 0);
	mu_fill(r, (768UL << 10) / MU_PAGE, 1);
	kt_snap(&s);
	mu_odfork(&peer, quiet_child, NULL);
	KT_STEP(&s, .forks = 1, .fallback = fallback + 1);
	mu_send(&peer, 'q');
	KT_EQ(mu_end(&peer), 0);
	KT_STILL(&s);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spans_shared),
		cmocka_unit_test(test_spans_file_into_hole),
		cmocka_unit_test(test_spans_mremap_into_hole),
		cmocka_unit_test(test_spans_munmap_piece),
		cmocka_unit_test(test_spans_sparse_copied),
	};

	kt_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
