/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: what users and the kernel read about a process's memory
 * after an on-demand fork, against fork() (DESIGN.md I8).
 *
 *  - test_rss_owner_leaves: a shared table's pages are counted in the RSS
 *    of its accounting owner (the parent); when the owner copies a table,
 *    unmaps it or exits, another process that maps it counts them, at
 *    once, as after fork() (before: nobody did).
 *  - test_smaps_like_fork: smaps_rollup (Rss, Pss, Shared/Private) and the
 *    pagemap's "mapped once" bit of parent and child equal fork()'s.
 *  - test_oom_like_fork: in a memory cgroup, the OOM killer picks the
 *    process that holds most memory through tables its exited parent
 *    shared with it, as after fork(), not the one that asks for memory.
 *
 * VmRSS itself is not fork()'s: after odfork() the child does not count
 * the tables the parent still owns (odfork(7), "Memory accounting"); its
 * RssOdfork line of /proc/<pid>/status says how much that is.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"
#include "mmutil.h"

#define NT		32	/* tables of the RSS and smaps tests */
#define TABLE_KB	((long)(MU_TABLE >> 10))
#define SLACK_KB	1024	/* per-CPU counter drift, stacks, heap */

#define NEAR(got, want)	((got) >= (want) - SLACK_KB &&		\
			 (got) <= (want) + SLACK_KB)

static char *tab(void *r, int t)
{
	return (char *)r + (size_t)t * MU_TABLE;
}

static long rss_anon(pid_t pid)
{
	return kt_status_kb(pid, "RssAnon");
}

static void idle_child(struct mu_peer *self, void *arg)
{
	(void)arg;
	mu_wait(self, 'q');
}

KT_TEST(test_rss_owner_leaves)
{
	char *r = kt_map_tables(NT);
	struct mu_peer c;
	struct kt_snap s;
	long p0, c0, got;
	int t;

	mu_fill(r, NT * MU_PPT, 0);
	p0 = rss_anon(getpid());
	kt_snap(&s);
	mu_odfork(&c, idle_child, NULL);
	KT_STEP(&s, .forks = 1, .shared = NT, .fallback = KT_ANY);
	c0 = rss_anon(c.pid);
	KT_ASSERT(c0 < p0 - NT * TABLE_KB / 2);	/* the parent counts them */
	/* ... and the child's status says how much that is. */
	got = kt_status_kb(c.pid, "RssOdfork");
	KT_SHARING(NEAR(got, NT * TABLE_KB), "child's RssOdfork %ld kB, want "
		   "about %ld kB", got, NT * TABLE_KB);
	KT_EQ(kt_status_kb(getpid(), "RssOdfork"), 0);

	/* The owner's first writes copy 8 tables: the child counts those. */
	for (t = 0; t < 8; t++)
		mu_fill(tab(r, t), 1, 1);
	KT_STEP(&s, .copied = 8);
	got = rss_anon(c.pid);
	KT_SHARING(NEAR(got, c0 + 8 * TABLE_KB), "child's RssAnon %ld kB "
		   "after the parent copied 8 tables, want about %ld kB",
		   got, c0 + 8 * TABLE_KB);
	KT_ASSERT(NEAR(rss_anon(getpid()), p0));
	got = kt_status_kb(c.pid, "RssOdfork");
	KT_SHARING(NEAR(got, (NT - 8) * TABLE_KB), "child's RssOdfork %ld "
		   "kB after it came to own 8 tables, want about %ld kB", got,
		   (NT - 8) * TABLE_KB);

	/* The owner unmaps 8 more: the child counts them too. */
	KT_EQ(munmap(tab(r, 8), 8 * MU_TABLE), 0);
	KT_STEP(&s, .dropped = 8);
	got = rss_anon(c.pid);
	KT_SHARING(NEAR(got, c0 + 16 * TABLE_KB), "child's RssAnon %ld kB "
		   "after the parent unmapped 8 tables, want about %ld kB",
		   got, c0 + 16 * TABLE_KB);
	KT_ASSERT(NEAR(rss_anon(getpid()), p0 - 8 * TABLE_KB));

	mu_send(&c, 'q');
	KT_EQ(mu_end(&c), 0);
	KT_EQ(munmap(r, 8 * MU_TABLE), 0);
	KT_EQ(munmap(tab(r, 16), (NT - 16) * MU_TABLE), 0);
	return 0;
}

/* ------------------------------------------------------------------ */

/*
 * A process P maps n tables, forks (odf: odfork) a child C that only
 * waits, and exits: C holds the memory alone.  The caller is C's
 * subreaper.  Returns C's pid.
 */
static pid_t orphan_holder(int odf, int n)
{
	int fd[2];
	pid_t p, c = -1;

	KT_EQ(pipe(fd), 0);
	fflush(NULL);
	p = fork();
	KT_ASSERT(p >= 0);
	if (p == 0) {
		char *r;

		close(fd[0]);
		if (kt_write_file("/proc/self/oom_score_adj", "0") != 0)
			_exit(10);
		r = kt_map_tables(n);
		mu_fill(r, (size_t)n * MU_PPT, 0);
		c = odf ? kt_odfork(0) : fork();
		if (c == 0) {
			for (;;)
				pause();
		}
		if (c < 0 || write(fd[1], &c, sizeof(c)) != sizeof(c))
			_exit(11);
		_exit(0);	/* drops (or frees) its part */
	}
	close(fd[1]);
	KT_EQ(read(fd[0], &c, sizeof(c)), (ssize_t)sizeof(c));
	close(fd[0]);
	KT_EQ(kt_wait(p), 0);
	return c;
}

static void reap(pid_t c)
{
	kill(c, SIGKILL);
	KT_EQ(waitpid(c, NULL, 0), c);
}

KT_TEST(test_rss_owner_exits)
{
	const int n = 64;
	long long oom_f, oom_o;
	long rss_f, rss_o;
	char path[64];
	pid_t c;

	KT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	c = orphan_holder(0, n);
	rss_f = rss_anon(c);
	snprintf(path, sizeof(path), "/proc/%d/oom_score", (int)c);
	oom_f = mu_get_num(path);
	reap(c);

	c = orphan_holder(1, n);
	rss_o = rss_anon(c);
	snprintf(path, sizeof(path), "/proc/%d/oom_score", (int)c);
	oom_o = mu_get_num(path);
	reap(c);
	KT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);

	KT_ASSERT(rss_f >= n * TABLE_KB);
	KT_SHARING(NEAR(rss_o, rss_f), "RssAnon of a child whose parent "
		   "exited: %ld kB after odfork, %ld kB after fork", rss_o,
		   rss_f);
	KT_SHARING(oom_o >= oom_f - 2, "oom_score of that child: %lld after "
		   "odfork, %lld after fork", oom_o, oom_f);
	return 0;
}

/* ------------------------------------------------------------------ */

/* A "Key:   value kB" line of /proc/<pid>/smaps_rollup, in kB. */
static long rollup_kb(pid_t pid, const char *key)
{
	char path[64], buf[4096], *p;
	size_t len = strlen(key);
	long v;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	KT_ASSERT(kt_read_file(path, buf, sizeof(buf)) > 0);
	for (p = buf; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, key, len) && p[len] == ':') {
			KT_EQ(sscanf(p + len + 1, "%ld", &v), 1);
			return v;
		}
	}
	kt_fail(__FILE__, __LINE__, "no %s in %s", key, path);
	return -1;
}

static const char *const rollup_keys[] = {
	"Rss", "Pss", "Pss_Anon", "Shared_Dirty", "Private_Dirty",
	"Anonymous",
};
#define NKEYS	(sizeof(rollup_keys) / sizeof(rollup_keys[0]))

struct view {
	long parent[NKEYS], child[NKEYS];
	size_t excl_parent, excl_child;	/* region pages mapped once */
};

static void smaps_scenario(int odf, struct view *v)
{
	char *r = kt_map_tables(NT);
	struct mu_peer c;
	size_t k;

	mu_fill(r, NT * MU_PPT, 0);
	(odf ? mu_odfork : mu_fork)(&c, idle_child, NULL);
	for (k = 0; k < NKEYS; k++) {
		v->parent[k] = rollup_kb(getpid(), rollup_keys[k]);
		v->child[k] = rollup_kb(c.pid, rollup_keys[k]);
	}
	v->excl_parent = mu_count_pm(0, r, NT * MU_PPT, MU_PM_EXCL);
	v->excl_child = mu_count_pm(c.pid, r, NT * MU_PPT, MU_PM_EXCL);
	mu_send(&c, 'q');
	KT_EQ(mu_end(&c), 0);
	KT_EQ(munmap(r, NT * MU_TABLE), 0);
}

/* Within 1% or the slack. */
static int alike(long a, long b)
{
	long d = a > b ? a - b : b - a;

	return d <= SLACK_KB || d * 100 <= (a > b ? a : b);
}

KT_TEST(test_smaps_like_fork)
{
	struct view f, o;
	size_t k;

	smaps_scenario(0, &f);
	smaps_scenario(1, &o);
	/* After fork() the region is mapped twice: half of it in Pss. */
	KT_GE(f.parent[3], NT * TABLE_KB);	/* Shared_Dirty */
	KT_EQ(f.excl_parent, 0);
	for (k = 0; k < NKEYS; k++) {
		KT_SHARING(alike(o.parent[k], f.parent[k]), "parent's %s: "
			   "%ld kB after odfork, %ld kB after fork",
			   rollup_keys[k], o.parent[k], f.parent[k]);
		KT_SHARING(alike(o.child[k], f.child[k]), "child's %s: "
			   "%ld kB after odfork, %ld kB after fork",
			   rollup_keys[k], o.child[k], f.child[k]);
	}
	KT_SHARING(o.excl_parent == f.excl_parent &&
		   o.excl_child == f.excl_child, "pages mapped once (pagemap): "
		   "%zu/%zu after odfork, %zu/%zu after fork", o.excl_parent,
		   o.excl_child, f.excl_parent, f.excl_child);
	return 0;
}

/* ------------------------------------------------------------------ */

#define OOM_HOLD	128	/* tables the orphaned child holds: 256 MiB */
#define OOM_MAX		"384M"	/* the cgroup's limit */
#define OOM_ASK		(256UL << 20)	/* what the other process asks for */

/* Touch OOM_ASK bytes, page by page; exit 0 if all of it came. */
static int hog(void *arg)
{
	char *p;
	size_t i;

	(void)arg;
	if (kt_write_file("/proc/self/oom_score_adj", "0") != 0)
		return 10;
	p = mmap(NULL, OOM_ASK, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 11;
	for (i = 0; i < OOM_ASK; i += MU_PAGE)
		p[i] = 1;
	return 0;
}

struct oom_result {
	int holder_status;	/* wait status of the orphaned holder */
	int hog_status;		/* kt_wait() of the asking process */
};

static void oom_scenario(int odf, struct oom_result *res)
{
	char cg[128], path[160];
	pid_t c, h;

	mu_cg_enter(cg, sizeof(cg), "kt-rss-oom");
	snprintf(path, sizeof(path), "%s/memory.max", cg);
	mu_set(path, OOM_MAX);
	snprintf(path, sizeof(path), "%s/memory.swap.max", cg);
	if (access(path, F_OK) == 0)
		mu_set(path, "0");
	KT_EQ(kt_write_file("/proc/self/oom_score_adj", "-1000"), 0);
	KT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);

	c = orphan_holder(odf, OOM_HOLD);
	h = kt_spawn(hog, NULL);
	res->hog_status = kt_wait(h);
	if (waitpid(c, &res->holder_status, WNOHANG) != c) {
		res->holder_status = 0;		/* still alive */
		reap(c);
	}

	KT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
	KT_EQ(kt_write_file("/proc/self/oom_score_adj", "0"), 0);
	mu_cg_remove(cg);
}

KT_TEST(test_oom_like_fork)
{
	struct oom_result f, o;

	oom_scenario(0, &f);
	oom_scenario(1, &o);
	/* fork(): the holder has the most memory and is killed. */
	KT_ASSERT(WIFSIGNALED(f.holder_status) &&
		  WTERMSIG(f.holder_status) == SIGKILL);
	KT_EQ(f.hog_status, 0);
	KT_SHARING(WIFSIGNALED(o.holder_status) &&
		   WTERMSIG(o.holder_status) == SIGKILL && o.hog_status == 0,
		   "after odfork the OOM killer took the %s (holder status "
		   "%#x, asking process %d)", WIFSIGNALED(o.holder_status) ?
		   "holder" : "asking process", o.holder_status,
		   o.hog_status);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rss_owner_leaves),
		cmocka_unit_test(test_rss_owner_exits),
		cmocka_unit_test(test_smaps_like_fork),
		cmocka_unit_test(test_oom_like_fork),
	};

	kt_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
