/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: page migration and compaction on shared PTE tables
 * (patch 0017: the entry keeps its class, every CPU is flushed).
 *
 * - migrate_shared: with nothing else running, move_pages(2) of the
 *   parent's pages, migrate_pages(2) of the parent, move_pages(2) and
 *   migrate_pages(2) through the child's pid, compaction: pages of shared
 *   tables are mapped by both processes, as after fork(), so
 *   MPOL_MF_MOVE leaves them (EACCES) and MPOL_MF_MOVE_ALL moves them;
 *   both processes see them on the target node, and no table is copied;
 *   after the parent wrote its table, its pages move and the child's
 *   stay.
 * - migrate_spin_*: the same moves, three times over, while a reader
 *   thread in one process spins over every page and fails on any canary
 *   that process must not see (a stale TLB entry of a migrated page would
 *   show the old page, freed and wiped), and a writer thread in the other
 *   process keeps writing new generations into its own table 0.
 * Needs two online NUMA nodes (exit 77 otherwise).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"
#include "mmutil.h"

#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE	(1 << 1)
#endif
#ifndef MPOL_MF_MOVE_ALL
#define MPOL_MF_MOVE_ALL	(1 << 2)
#endif

#define NT		4
#define NPAGES		(NT * MU_PPT)
#define WTABLE		0	/* the writer's table */
#define MIN_PASSES	2
#define SPIN_ROUNDS	3
/* migrate_shared: every page is migrated 5 times with a global TLB
 * flush each: keep it small for the emulated VM. */
#define MS_NT		2
#define MS_PAGES	(MS_NT * MU_PPT)

static char *tab(void *r, int t)
{
	return (char *)r + (size_t)t * MU_TABLE;
}

static int online_nodes(void)
{
	char buf[64];
	char *s = buf;
	int n = 0;

	if (kt_read_file("/sys/devices/system/node/online", buf,
			 sizeof(buf)) <= 0)
		return 1;
	while (*s && *s != '\n') {
		long a = strtol(s, &s, 10), b = a;

		if (*s == '-')
			b = strtol(s + 1, &s, 10);
		n += (int)(b - a + 1);
		if (*s == ',')
			s++;
	}
	return n;
}

/* move_pages(2) of n pages from p in pid to node (node < 0: query);
 * status[] filled; returns how many pages are on `want`. */
static size_t move_range_flags(pid_t pid, char *p, size_t n, int node,
			       int want, int flags)
{
	void **pages = calloc(n, sizeof(*pages));
	int *nodes = calloc(n, sizeof(*nodes));
	int *status = calloc(n, sizeof(*status));
	size_t i, on = 0;
	long r;

	KT_ASSERT(pages && nodes && status);
	for (i = 0; i < n; i++) {
		pages[i] = p + i * MU_PAGE;
		nodes[i] = node;
	}
	r = syscall(__NR_move_pages, pid, n, pages, node < 0 ? NULL : nodes,
		    status, flags);
	if (r < 0)
		kt_fail(__FILE__, __LINE__, "move_pages(%d, %zu pages, node "
			"%d)", (int)pid, n, node);
	for (i = 0; i < n; i++)
		on += status[i] == want;
	free(pages);
	free(nodes);
	free(status);
	return on;
}

static size_t move_range(pid_t pid, char *p, size_t n, int node, int want)
{
	return move_range_flags(pid, p, n, node, want, MPOL_MF_MOVE);
}

/* Pages other processes map too move only with MPOL_MF_MOVE_ALL (root). */
static size_t move_range_all(pid_t pid, char *p, size_t n, int node,
			     int want)
{
	return move_range_flags(pid, p, n, node, want, MPOL_MF_MOVE_ALL);
}

static void migrate_all(pid_t pid, int from, int to)
{
	unsigned long old = 1UL << from, new = 1UL << to;

	KT_ASSERT(syscall(__NR_migrate_pages, pid, 8 * sizeof(long) - 1,
			  &old, &new) >= 0);
}

/* Threads: the reader checks every page against what its process must
 * see; the writer rewrites table WTABLE with new generations. */
struct spin {
	char *r;
	int writes_here;	/* this process has the writer */
	atomic_int stop;
	atomic_long passes;
	pthread_t th;
};

static void *reader_main(void *arg)
{
	struct spin *sp = arg;

	while (!sp->stop) {
		/* The writer's table in the other process: fork-time data. */
		mu_check(sp->r, NPAGES, 0);
		sp->passes++;
	}
	return NULL;
}

static void *writer_main(void *arg)
{
	struct spin *sp = arg;
	unsigned int gen = 1;

	while (!sp->stop) {
		mu_fill(tab(sp->r, WTABLE), MU_PPT, gen);
		mu_check(tab(sp->r, WTABLE), MU_PPT, gen);
		sp->passes++;
		gen = gen % 60 + 1;
	}
	return NULL;
}

static void spin_start(struct spin *sp, char *r, int writer)
{
	memset(sp, 0, sizeof(*sp));
	sp->r = r;
	sp->writes_here = writer;
	mu_thread(&sp->th, writer ? writer_main : reader_main, sp);
	/* The writer's first pass unshared its table. */
	while (sp->passes < 1)
		mu_msleep(1);
}

static void spin_stop(struct spin *sp)
{
	long p = sp->passes;

	/* At least MIN_PASSES whole passes during the migrations. */
	while (sp->passes < p + MIN_PASSES)
		mu_msleep(1);
	sp->stop = 1;
	pthread_join(sp->th, NULL);
}

/* ------------------------------------------------------------------ */
/* Without concurrent faults: every step is exact. */

static void ms_child(struct mu_peer *self, void *arg)
{
	char *r = arg;

	mu_wait(self, '1');
	mu_check(r, MS_PAGES, 0);
	mu_send(self, '2');
	mu_wait(self, '3');
	mu_check(r, MS_PAGES, 0);
}

/* Progress, with the time since the first step, on stderr. */
static void step(const char *fmt, int arg)
{
	static double t0;

	if (!t0)
		t0 = mu_now();
	fprintf(stderr, "# %6.2f s: ", mu_now() - t0);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
}

/* All n pages from p are on node in both processes. */
static void expect_on(pid_t child, char *p, size_t n, int node)
{
	step("moved to node %d", node);
	KT_EQ(move_range(getpid(), p, n, -1, node), n);
	KT_EQ(move_range(child, p, n, -1, node), n);
}

KT_TEST(test_migrate_shared)
{
	char *r = kt_map_tables(MS_NT);
	struct mu_peer c;
	struct kt_snap s;

	mu_fill(r, MS_PAGES, 0);
	KT_EQ(move_range(0, r, MS_PAGES, 0, 0), MS_PAGES);
	kt_snap(&s);
	mu_odfork(&c, ms_child, r);
	KT_STEP(&s, .forks = 1, .shared = MS_NT, .fallback = KT_ANY);

	/*
	 * The pages of shared tables are mapped by both processes, as after
	 * fork(): MPOL_MF_MOVE leaves them (EACCES), MPOL_MF_MOVE_ALL (root)
	 * moves them, and both processes see them move.
	 */
	KT_EQ(move_range(0, r, MS_PAGES, 1, -EACCES), MS_PAGES);
	expect_on(c.pid, r, MS_PAGES, 0);
	KT_EQ(move_range_all(0, r, MS_PAGES, 1, 1), MS_PAGES);
	expect_on(c.pid, r, MS_PAGES, 1);
	migrate_all(getpid(), 1, 0);
	expect_on(c.pid, r, MS_PAGES, 0);
	KT_EQ(move_range_all(c.pid, r, MS_PAGES, 1, 1), MS_PAGES);
	expect_on(c.pid, r, MS_PAGES, 1);
	KT_EQ(kt_write_file("/proc/sys/vm/compact_memory", "1"), 0);
	step("compacted (%d)", 0);
	migrate_all(c.pid, 1, 0);
	expect_on(c.pid, r, MS_PAGES, 0);
	/* Migration copies no table. */
	KT_STILL(&s);
	mu_check(r, MS_PAGES, 0);
	mu_send(&c, '1');
	mu_wait(&c, '2');
	KT_STILL(&s);

	/* Our table 0, written: our pages move, the child's stay. */
	mu_fill(r, MU_PPT, 1);
	KT_STEP(&s, .copied = 1);
	KT_EQ(move_range(0, r, MU_PPT, 1, 1), MU_PPT);
	KT_EQ(move_range(c.pid, r, MU_PPT, -1, 0), MU_PPT);
	mu_check(r, MU_PPT, 1);
	mu_send(&c, '3');
	KT_EQ(mu_end(&c), 0);
	mu_check(tab(r, 1), MU_PPT, 0);
	return 0;
}

/* ------------------------------------------------------------------ */
/* With a reader and a writer spinning. */

struct mg {
	char *r;
	int child_writes;
};

static void mg_child(struct mu_peer *self, void *arg)
{
	struct mg *a = arg;
	struct spin sp;

	spin_start(&sp, a->r, a->child_writes);
	mu_send(self, '1');
	mu_wait(self, '2');
	spin_stop(&sp);
	if (!a->child_writes)
		mu_check(a->r, NPAGES, 0);
	mu_sync(self, '3');
}

/*
 * Move tables 1-3 back and forth, through both processes.  The reader
 * faults on migration entries, which unshares its tables (a fault on a
 * non-present entry of a shared table): after that, pages are mapped
 * twice; MPOL_MF_MOVE_ALL moves them anyway, but whether a given page
 * moved depends on the race, so nothing is asserted on where they end
 * up; only what each process reads.
 */
static void move_around(pid_t child, char *r)
{
	int i;

	for (i = 0; i < SPIN_ROUNDS; i++) {
		move_range_all(getpid(), tab(r, 1), 3 * MU_PPT, 1, 1);
		migrate_all(getpid(), 1, 0);
		move_range_all(child, tab(r, 1), 3 * MU_PPT, 1, 1);
		if (i == 0)
			KT_EQ(kt_write_file("/proc/sys/vm/compact_memory",
					    "1"), 0);
		migrate_all(child, 1, 0);
		step("round %d", i);
	}
}

static void migrations(int child_writes)
{
	struct mg a = { kt_map_tables(NT), child_writes };
	struct mu_peer c;
	struct kt_snap s, e;
	struct spin sp;

	mu_fill(a.r, NPAGES, 0);
	KT_EQ(move_range(0, a.r, NPAGES, 0, 0), NPAGES);
	kt_snap(&s);
	mu_odfork(&c, mg_child, &a);
	KT_STEP(&s, .forks = 1, .shared = NT, .fallback = KT_ANY);
	spin_start(&sp, a.r, !child_writes);
	mu_wait(&c, '1');
	/* The writer copied its table. */
	KT_STEP(&s, .copied = 1);

	move_around(c.pid, a.r);
	kt_snap(&e);
	KT_EXPECT(&s, &e, .copied = KT_ANY, .reused = KT_ANY);

	mu_send(&c, '2');
	spin_stop(&sp);
	mu_wait(&c, '3');
	fprintf(stderr, "# child %d: %s passes: %ld, tables copied %lld, "
		"reused %lld\n", (int)c.pid,
		child_writes ? "reader" : "writer", sp.passes,
		kt_moved(&s, &e, KT_C_COPIED), kt_moved(&s, &e, KT_C_REUSED));
	if (child_writes)
		mu_check(a.r, NPAGES, 0);
	else
		mu_check(tab(a.r, 1), 3 * MU_PPT, 0);
	mu_send(&c, '3');
	KT_EQ(mu_end(&c), 0);
}

KT_TEST(test_migrate_spin_parent_writes)
{
	migrations(0);
	return 0;
}

KT_TEST(test_migrate_spin_child_writes)
{
	migrations(1);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrate_shared),
		cmocka_unit_test(test_migrate_spin_parent_writes),
		cmocka_unit_test(test_migrate_spin_child_writes),
	};

	kt_init();
	if (online_nodes() < 2) {
		fprintf(stderr, "SKIP: fewer than 2 NUMA nodes online\n");
		return KT_SKIP;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
