/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: regressions found by the review of the series, one test
 * per finding.  fork() is the specification: where a test can, it runs
 * the same steps after fork() and after odfork() and wants the same
 * result.
 *
 * - migrate_while_unmapping: pages of a shared table migrate between
 *   nodes while both holders unmap the range or exit.  A table that
 *   every holder has unlinked can still hold migration entries that the
 *   migration could not restore; the last holder's zap must not treat
 *   them as live (a BUG in the migration-entry code before the fix).
 *   Needs two NUMA nodes.
 * - migrate_while_copy_retries: the same for an unshare copy that must be
 *   undone (its table was never linked) while the other process migrates
 *   the table's pages: before the fix, the retries of
 *   unshare_many_maybe_pinned undid copies holding migration entries
 *   whose migration had completed (BUG in the migration-entry code).
 *   Needs two NUMA nodes.
 * - unshare_many_maybe_pinned: the first write into a shared table whose
 *   copy must duplicate two "maybe pinned" pages (more references than
 *   GUP_PIN_COUNTING_BIAS, in an mm marked as pinning) finishes; before
 *   the fix it retried forever with one preallocated page.
 * - move_pages_needs_privilege: an unprivileged move_pages(2) or
 *   mbind(MPOL_MF_MOVE) moves no page that another process maps through
 *   a shared table, as after fork() (EACCES).  Needs two NUMA nodes.
 * - zap_racing_writer: MADV_DONTNEED of a table waiting for its last
 *   holder to take it back, while a thread writes a page that a pipe
 *   references from before the fork: the pipe keeps the fork-time data.
 * - takeback_then_vmsplice: after the other process exited, vmsplice a
 *   page, write it, read the pipe: fork-time data, as after fork().
 * - procfs_write_checked_at_write: a /proc/<pid>/odfork descriptor
 *   opened while its opener could ptrace the target stops writing once
 *   it cannot (the target became non-dumpable, as a setuid exec makes
 *   it).
 * - inherit_cleared_by_secure_exec: ODFORK_MODE_INHERIT does not survive
 *   the exec of a setuid program.
 * - seccomp_filters: a seccomp filter that denies clone/clone3/fork/vfork
 *   stops every fork but the odfork syscall, which is a system call of
 *   its own (odfork(2), SECURITY NOTES): a filter must name it too, and
 *   then stops it.  A fork armed with ODFORK_MODE_NEXT (what libodfork
 *   does) is a clone, and the filter stops it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"
#include "mmutil.h"

#ifndef MPOL_BIND
#define MPOL_BIND	2
#endif
#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE	(1 << 1)
#endif

/* GUP_PIN_COUNTING_BIAS is 1024: more references look pinned. */
#define MANY_REFS	1100
#define PIPE_BYTES	(1 << 20)	/* pipe-max-size: 256 slots */
#define MAX_PIPES	16
#define UNSHARE_WAIT_MS	30000
#define MW_NT		2		/* migrate_while_unmapping: 4 MiB */
#define MW_ROUNDS	48
#define MW_CHUNK	64		/* pages per move_pages(2) query */
#define MW_MOVE		256		/* pages per mover's move_pages(2) */
#define ZR_ROUNDS	40

static char *page_at(void *r, size_t i)
{
	return (char *)r + i * MU_PAGE;
}

static int online_nodes(void)
{
	return access("/sys/devices/system/node/node1", F_OK) == 0 ? 2 : 1;
}

/* move_pages(2) of n pages from p of this process to node (-1: query
 * only); status[] filled.  Returns move_pages' result. */
static long move_n(char *p, size_t n, int node, int *status)
{
	void *pages[MW_MOVE];
	int nodes[MW_MOVE];
	size_t i;

	KT_ASSERT(n <= MW_MOVE);
	for (i = 0; i < n; i++) {
		pages[i] = page_at(p, i);
		nodes[i] = node;
	}
	return syscall(__NR_move_pages, 0, n, pages, node < 0 ? NULL : nodes,
		       status, MPOL_MF_MOVE);
}

/* The node page p is on (move_pages query). */
static int node_of(char *p)
{
	int st = -1;

	KT_EQ(move_n(p, 1, -1, &st), 0);
	KT_GE(st, 0);
	return st;
}

/* How many of n pages from p are on node. */
static size_t count_on(char *p, size_t n, int node)
{
	int st[MW_CHUNK];
	size_t i, j, c = 0;

	for (i = 0; i < n; i += MW_CHUNK) {
		size_t k = n - i < MW_CHUNK ? n - i : MW_CHUNK;

		KT_EQ(move_n(p + i * MU_PAGE, k, -1, st), 0);
		for (j = 0; j < k; j++)
			c += st[j] == node;
	}
	return c;
}

/* ------------------------------------------------------------------ */
/* Migration while every holder unmaps (finding 1) */

struct mover {
	char *r;
	size_t n;
	atomic_int stop;
	pthread_t th;
	int st[MW_MOVE];
};

/* Move the pages between nodes 0 and 1, chunk by chunk, until told to
 * stop; errors (the range went away) are expected. */
static void *mover_main(void *arg)
{
	struct mover *m = arg;
	unsigned int k = 0;
	size_t i;

	while (!m->stop) {
		for (i = 0; i < m->n && !m->stop; i += MW_MOVE)
			(void)move_n(page_at(m->r, i), MW_MOVE, (int)(k & 1),
				     m->st);
		k++;
	}
	return NULL;
}

static void mover_start(struct mover *m, char *r, size_t n)
{
	m->r = r;
	m->n = n;
	m->stop = 0;
	mu_thread(&m->th, mover_main, m);
}

static void mover_stop(struct mover *m)
{
	m->stop = 1;
	KT_EQ(pthread_join(m->th, NULL), 0);
}

struct mw_round {
	char *r;
	int child_exits;	/* the child exits instead of unmapping */
	atomic_int *go;		/* MAP_SHARED: both unmap when it is set */
};

/* Both processes run their movers for a while, then unmap at once. */
static void mw_wait_go(struct mw_round *w)
{
	while (!*w->go)
		;
}

static void mw_child(struct mu_peer *self, void *arg)
{
	struct mw_round *w = arg;
	struct mover m;

	mover_start(&m, w->r, MW_NT * MU_PPT);
	mu_sync(self, 'g');
	mw_wait_go(w);
	if (w->child_exits)
		_exit(0);	/* exit_mmap() drops the tables */
	KT_EQ(munmap(w->r, MW_NT * MU_TABLE), 0);
	mover_stop(&m);
}

KT_TEST(test_migrate_while_unmapping)
{
	struct kt_snap a, b;
	struct mw_round w;
	struct mu_peer p;
	struct mover m;
	int round;

	kt_sysctl_set(1);
	w.go = mmap(NULL, MU_PAGE, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	KT_ASSERT(w.go != MAP_FAILED);
	for (round = 0; round < MW_ROUNDS; round++) {
		w.r = kt_map_tables(MW_NT);
		w.child_exits = round & 1;
		*w.go = 0;
		mu_fill(w.r, MW_NT * MU_PPT, 1);
		kt_snap(&a);
		mu_odfork(&p, mw_child, &w);
		mover_start(&m, w.r, MW_NT * MU_PPT);
		mu_sync(&p, 'g');
		mu_msleep(10 + 5 * (round % 4));
		*w.go = 1;
		KT_EQ(munmap(w.r, MW_NT * MU_TABLE), 0);
		mover_stop(&m);
		KT_EQ(mu_end(&p), 0);
		kt_snap(&b);
		KT_GE(kt_moved(&a, &b, KT_C_SHARED), MW_NT);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* An unshare that must copy several maybe-pinned pages (finding 2) */

struct refs {
	int fd[MAX_PIPES][2];
	int n;
};

/* Take `count` references on page pg with vmsplice, into pipes of
 * PIPE_BYTES (opened as needed). */
static void take_refs(struct refs *rf, char *pg, int count)
{
	struct iovec iov = { pg, MU_PAGE };
	int i = 0;

	while (i < count) {
		ssize_t n = -1;

		if (rf->n > 0)
			n = vmsplice(rf->fd[rf->n - 1][1], &iov, 1,
				     SPLICE_F_NONBLOCK);
		if (n == (ssize_t)MU_PAGE) {
			i++;
			continue;
		}
		KT_ASSERT(rf->n == 0 || errno == EAGAIN);
		KT_ASSERT(rf->n < MAX_PIPES);
		KT_EQ(pipe2(rf->fd[rf->n], O_CLOEXEC | O_NONBLOCK), 0);
		KT_EQ(fcntl(rf->fd[rf->n][1], F_SETPIPE_SZ, PIPE_BYTES),
		      PIPE_BYTES);
		rf->n++;
	}
}

struct mp_arg {
	char *r;
	size_t x, y, z;		/* two referenced pages, one to write */
};

/* Pin a buffer of our own (io_uring fixed buffer: FOLL_PIN), which
 * marks the mm as pinning, then write into the shared table. */
static void mp_child(struct mu_peer *self, void *arg)
{
	struct mp_arg *ma = arg;
	struct io_uring ring;
	struct iovec iov;
	char *buf = kt_map_tables(1);

	memset(buf, 'b', MU_PAGE);
	iov.iov_base = buf;
	iov.iov_len = MU_PAGE;
	KT_EQ(io_uring_queue_init(4, &ring, 0), 0);
	KT_EQ(io_uring_register_buffers(&ring, &iov, 1), 0);
	mu_wait(self, 'w');
	mu_fill(page_at(ma->r, ma->z), 1, 2);
	mu_check(page_at(ma->r, ma->x), 1, 1);
	mu_check(page_at(ma->r, ma->y), 1, 1);
	mu_fill(page_at(ma->r, ma->x), 1, 3);
	mu_send(self, 'k');
	mu_wait(self, 'q');
	io_uring_queue_exit(&ring);
}

/* Odfork a child that pins, then have it write the shared table while
 * the parent migrates that table's pages (move: 1) or not (0). */
static void unshare_many(int move)
{
	struct mp_arg ma = { .x = 5, .y = 300, .z = 100 };
	struct mover m;
	struct pollfd pfd;
	struct refs rf = { .n = 0 };
	struct kt_snap a, b;
	struct mu_peer p;
	char got[MU_PAGE];
	char k;

	kt_sysctl_set(1);
	ma.r = kt_map_tables(1);
	mu_fill(ma.r, MU_PPT, 1);
	take_refs(&rf, page_at(ma.r, ma.x), MANY_REFS);
	take_refs(&rf, page_at(ma.r, ma.y), MANY_REFS);
	kt_snap(&a);
	mu_odfork(&p, mp_child, &ma);
	if (move)
		mover_start(&m, ma.r, MU_PPT);
	mu_send(&p, 'w');
	pfd.fd = p.rx;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, UNSHARE_WAIT_MS) != 1)
		kt_fail(__FILE__, __LINE__, "the child's first write did not "
			"finish in %d ms", UNSHARE_WAIT_MS);
	KT_EQ(read(p.rx, &k, 1), 1);
	KT_EQ(k, 'k');
	if (move)
		mover_stop(&m);
	kt_snap(&b);
	KT_GE(kt_moved(&a, &b, KT_C_SHARED), 1);
	KT_GE(kt_moved(&a, &b, KT_C_COPIED), 1);
	mu_check(ma.r, MU_PPT, 1);
	KT_EQ(read(rf.fd[0][0], got, MU_PAGE), (ssize_t)MU_PAGE);
	KT_ASSERT(memcmp(got, page_at(ma.r, ma.x), MU_PAGE) == 0);
	mu_send(&p, 'q');
	KT_EQ(mu_end(&p), 0);
	while (rf.n-- > 0) {
		close(rf.fd[rf.n][0]);
		close(rf.fd[rf.n][1]);
	}
	KT_EQ(munmap(ma.r, MU_TABLE), 0);
}

KT_TEST(test_unshare_many_maybe_pinned)
{
	kt_sysctl_set(1);
	unshare_many(0);
	return 0;
}

KT_TEST(test_migrate_while_copy_retries)
{
	int round;

	kt_sysctl_set(1);
	for (round = 0; round < 4; round++)
		unshare_many(1);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Unprivileged migration of pages another process maps (finding 3) */

#define MV_PAGES	MW_CHUNK

static void mv_child(struct mu_peer *self, void *arg)
{
	(void)arg;
	mu_wait(self, 'q');
}

/* As nobody: after fork() (kind 0) or odfork() (1), move_pages(2) and
 * mbind(MPOL_MF_MOVE) of the shared pages to the other node; returns
 * how many pages moved. */
static int mv_moved(int od)
{
	int st[MV_PAGES];
	unsigned long mask;
	struct kt_snap a, b;
	struct mu_peer p;
	char *r = kt_map_tables(1);
	int from, to;
	size_t moved;

	mu_fill(r, MU_PPT, 1);
	from = node_of(r);
	to = !from;
	KT_EQ(count_on(r, MV_PAGES, from), MV_PAGES);
	kt_snap(&a);
	if (od)
		mu_odfork(&p, mv_child, NULL);
	else
		mu_fork(&p, mv_child, NULL);
	kt_snap(&b);
	if (od)
		KT_GE(kt_moved(&a, &b, KT_C_SHARED), 1);
	(void)move_n(r, MV_PAGES, to, st);
	moved = count_on(r, MV_PAGES, to);
	mask = 1UL << to;
	(void)syscall(__NR_mbind, r, MV_PAGES * MU_PAGE, MPOL_BIND, &mask,
		      8 * sizeof(mask), MPOL_MF_MOVE);
	moved += count_on(r, MV_PAGES, to);
	mu_check(r, MU_PPT, 1);
	mu_send(&p, 'q');
	KT_EQ(mu_end(&p), 0);
	KT_EQ(munmap(r, MU_TABLE), 0);
	return (int)moved;
}

static int mv_nobody(void *arg)
{
	int fork_moved = mv_moved(0);
	int odfork_moved = mv_moved(1);

	(void)arg;
	if (fork_moved != odfork_moved)
		kt_fail(__FILE__, __LINE__, "unprivileged move_pages+mbind "
			"moved %d pages after fork(), %d after odfork()",
			fork_moved, odfork_moved);
	return 0;
}

KT_TEST(test_move_pages_needs_privilege)
{
	kt_sysctl_set(1);
	KT_EQ(kt_run_as(KT_NOBODY, mv_nobody, NULL), 0);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Take-backs leave entries as fork() leaves them (findings 4, 5) */

/* Expect the pipe's next page to be `want`. */
static int pipe_holds(int fd, const char *want)
{
	char got[MU_PAGE];

	KT_EQ(read(fd, got, MU_PAGE), (ssize_t)MU_PAGE);
	return memcmp(got, want, MU_PAGE) == 0;
}

static void splice_one(int fd, char *pg)
{
	struct iovec iov = { pg, MU_PAGE };

	KT_EQ(vmsplice(fd, &iov, 1, 0), (ssize_t)MU_PAGE);
}

/* Fork (od: odfork) a child that exits at once, and reap it. */
static void fork_exit(int od)
{
	pid_t pid;

	fflush(NULL);
	pid = od ? kt_odfork(0) : fork();
	KT_ASSERT(pid >= 0);
	if (pid == 0)
		_exit(0);
	KT_EQ(kt_wait(pid), 0);
}

struct zr {
	volatile char *pg;
	atomic_int go, stop;
	pthread_t th;
};

static void *zr_writer(void *arg)
{
	struct zr *z = arg;

	while (!z->go)
		;
	while (!z->stop)
		z->pg[100] = 'w';
	return NULL;
}

KT_TEST(test_zap_racing_writer)
{
	char old[MU_PAGE];
	struct kt_snap a, b;
	int round, bad = 0, fd[2];
	struct zr z;

	kt_sysctl_set(1);
	for (round = 0; round < ZR_ROUNDS; round++) {
		char *r = kt_map_tables(1);
		char *x = page_at(r, MU_PPT - 1);

		mu_fill(r, MU_PPT, 1);
		memcpy(old, x, MU_PAGE);
		KT_EQ(pipe2(fd, O_CLOEXEC), 0);
		splice_one(fd[1], x);
		kt_snap(&a);
		fork_exit(1);
		kt_snap(&b);
		KT_GE(kt_moved(&a, &b, KT_C_SHARED), 1);
		z.pg = x;
		z.go = 0;
		z.stop = 0;
		mu_thread(&z.th, zr_writer, &z);
		z.go = 1;
		KT_EQ(madvise(r, MU_TABLE, MADV_DONTNEED), 0);
		z.stop = 1;
		KT_EQ(pthread_join(z.th, NULL), 0);
		bad += !pipe_holds(fd[0], old);
		close(fd[0]);
		close(fd[1]);
		KT_EQ(munmap(r, MU_TABLE), 0);
	}
	if (bad)
		kt_fail(__FILE__, __LINE__, "%d of %d rounds: the pipe shows "
			"a write made after the fork", bad, ZR_ROUNDS);
	return 0;
}

/* After fork() (od 0) or odfork() and the child's exit: vmsplice page
 * 7, write it, and say whether the pipe still holds the old data. */
static int takeback_vmsplice(int od)
{
	char old[MU_PAGE];
	char *r = kt_map_tables(1);
	char *x = page_at(r, 7);
	struct kt_snap a, b;
	int fd[2], same;

	mu_fill(r, MU_PPT, 1);
	memcpy(old, x, MU_PAGE);
	kt_snap(&a);
	fork_exit(od);
	kt_snap(&b);
	if (od)
		KT_GE(kt_moved(&a, &b, KT_C_SHARED), 1);
	KT_EQ(pipe2(fd, O_CLOEXEC), 0);
	splice_one(fd[1], x);
	mu_fill(x, 1, 2);
	same = pipe_holds(fd[0], old);
	close(fd[0]);
	close(fd[1]);
	KT_EQ(munmap(r, MU_TABLE), 0);
	return same;
}

KT_TEST(test_takeback_then_vmsplice)
{
	int after_fork, after_odfork;

	kt_sysctl_set(1);
	after_fork = takeback_vmsplice(0);
	after_odfork = takeback_vmsplice(1);
	if (after_fork != after_odfork)
		kt_fail(__FILE__, __LINE__, "pipe holds the %s data after "
			"fork(), the %s data after odfork()",
			after_fork ? "old" : "new",
			after_odfork ? "old" : "new");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Interface hardening (finding 6) */

/* A process of uid nobody that others of that uid may ptrace ('r' once
 * it is); on 'd' it makes itself non-dumpable (as a setuid exec would). */
static void target_main(int cmd, int rep)
{
	char c = 'r';

	if (kt_drop_to(KT_NOBODY) != 0)
		_exit(2);
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	if (write(rep, &c, 1) != 1)
		_exit(3);
	while (read(cmd, &c, 1) == 1) {
		if (c == 'd')
			prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		if (write(rep, &c, 1) != 1)
			_exit(3);
	}
	_exit(0);
}

struct pw {
	pid_t target;
	int cmd, rep;
};

static int pw_nobody(void *arg)
{
	struct pw *w = arg;
	char path[64], c = 'd';
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/odfork", (int)w->target);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	KT_ASSERT(fd >= 0);
	KT_EQ(write(fd, "2\n", 2), 2);
	KT_EQ(write(w->cmd, &c, 1), 1);
	KT_EQ(read(w->rep, &c, 1), 1);
	KT_FAILS(write(fd, "0\n", 2), EPERM);
	close(fd);
	return 0;
}

KT_TEST(test_procfs_write_checked_at_write)
{
	int cmd[2], rep[2];
	char path[64], c;
	struct pw w;
	pid_t pid;

	KT_EQ(pipe2(cmd, O_CLOEXEC), 0);
	KT_EQ(pipe2(rep, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	KT_ASSERT(pid >= 0);
	if (pid == 0) {
		close(cmd[1]);
		close(rep[0]);
		target_main(cmd[0], rep[1]);
	}
	close(cmd[0]);
	close(rep[1]);
	KT_EQ(read(rep[0], &c, 1), 1);
	KT_EQ(c, 'r');
	w.target = pid;
	w.cmd = cmd[1];
	w.rep = rep[0];
	KT_EQ(kt_run_as(KT_NOBODY, pw_nobody, &w), 0);
	snprintf(path, sizeof(path), "/proc/%d/odfork", (int)pid);
	KT_EQ(kt_read_mode_file(path), ODFORK_MODE_PROCESS);
	close(cmd[1]);
	KT_EQ(kt_wait(pid), 0);
	close(rep[0]);
	return 0;
}

/* Copy kt-getmode to a setuid-root file in a fresh tmpfs under dir. */
static void make_suid_getmode(const char *dir, char *out, size_t size)
{
	const char *src = getenv("KT_GETMODE");
	char buf[65536];
	int in, o;
	ssize_t n;

	KT_ASSERT(src != NULL);
	KT_EQ(mount("kt-suid", dir, "tmpfs", 0, "mode=0755"), 0);
	snprintf(out, size, "%s/kt-getmode", dir);
	in = open(src, O_RDONLY | O_CLOEXEC);
	o = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	KT_ASSERT(in >= 0 && o >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		KT_EQ(write(o, buf, (size_t)n), n);
	KT_EQ(n, 0);
	close(in);
	KT_EQ(fchmod(o, 04755), 0);
	close(o);
}

/* As nobody with PROCESS|INHERIT, exec path; the mode it prints. */
static int exec_mode_as_nobody(const char *path)
{
	char out[32] = "";
	int fd[2], len = 0;
	ssize_t n;
	pid_t pid;

	KT_EQ(pipe2(fd, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	KT_ASSERT(pid >= 0);
	if (pid == 0) {
		if (kt_drop_to(KT_NOBODY) != 0 ||
		    kt_set_mode(ODFORK_MODE_PROCESS | ODFORK_MODE_INHERIT) ||
		    dup2(fd[1], 1) != 1)
			_exit(2);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	while (len < (int)sizeof(out) - 1 &&
	       (n = read(fd[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (int)n;
	close(fd[0]);
	KT_EQ(kt_wait(pid), 0);
	return atoi(out);
}

KT_TEST(test_inherit_cleared_by_secure_exec)
{
	char dir[] = "/tmp/kt-suid.XXXXXX";
	char path[sizeof(dir) + 16];
	int plain, suid;

	KT_ASSERT(mkdtemp(dir) != NULL);
	make_suid_getmode(dir, path, sizeof(path));
	plain = exec_mode_as_nobody(getenv("KT_GETMODE"));
	suid = exec_mode_as_nobody(path);
	umount(dir);
	rmdir(dir);
	KT_EQ(plain, ODFORK_MODE_PROCESS | ODFORK_MODE_INHERIT);
	KT_EQ(suid, ODFORK_MODE_OFF);
	return 0;
}

/* ------------------------------------------------------------------ */
/* seccomp (finding 6) */

/* Install a filter that fails the n syscalls nrs[] with EPERM. */
static void deny_syscalls(const int *nrs, int n)
{
	struct sock_filter f[16];
	struct sock_fprog prog;
	int i, k = 0;

	KT_ASSERT(n + 5 <= 16);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		offsetof(struct seccomp_data, arch));
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
		AUDIT_ARCH_X86_64, 1, 0);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
		SECCOMP_RET_KILL_PROCESS);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		offsetof(struct seccomp_data, nr));
	for (i = 0; i < n; i++)
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
			(unsigned int)nrs[i], (unsigned char)(n - i), 0);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
		SECCOMP_RET_ALLOW);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
		SECCOMP_RET_ERRNO | EPERM);
	prog.len = (unsigned short)k;
	prog.filter = f;
	KT_EQ(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	KT_EQ(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0), 0);
}

/* A fork of this process ends in 0 (child exits 0) or -errno. */
static int try_fork(int raw)
{
	pid_t pid;

	fflush(NULL);
	pid = raw ? kt_odfork(0) : fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(0);
	return kt_wait(pid);
}

static int seccomp_body(void *arg)
{
	const int forks[] = { __NR_clone, __NR_clone3, __NR_fork, __NR_vfork };
	const int odf[] = { __NR_odfork };

	(void)arg;
	deny_syscalls(forks, 4);
	KT_EQ(try_fork(0), -EPERM);
	KT_EQ(kt_set_mode(ODFORK_MODE_NEXT), 0);
	KT_EQ(try_fork(0), -EPERM);
	/* The odfork syscall is not a clone: a filter must name it. */
	KT_EQ(try_fork(1), 0);
	deny_syscalls(odf, 1);
	KT_EQ(try_fork(1), -EPERM);
	return 0;
}

KT_TEST(test_seccomp_filters)
{
	kt_sysctl_set(1);
	KT_EQ(kt_wait(kt_spawn(seccomp_body, NULL)), 0);
	return 0;
}

int main(void)
{
	const struct CMUnitTest all[] = {
		cmocka_unit_test(test_unshare_many_maybe_pinned),
		cmocka_unit_test(test_zap_racing_writer),
		cmocka_unit_test(test_takeback_then_vmsplice),
		cmocka_unit_test(test_procfs_write_checked_at_write),
		cmocka_unit_test(test_inherit_cleared_by_secure_exec),
		cmocka_unit_test(test_seccomp_filters),
		/* two NUMA nodes from here on */
		cmocka_unit_test(test_move_pages_needs_privilege),
		cmocka_unit_test(test_migrate_while_unmapping),
		cmocka_unit_test(test_migrate_while_copy_retries),
	};
	size_t n = sizeof(all) / sizeof(all[0]);

	kt_init();
	if (getenv("KT_FILTER"))
		cmocka_set_test_filter(getenv("KT_FILTER"));
	if (online_nodes() < 2) {
		fprintf(stderr, "SKIP: the NUMA tests (one node online)\n");
		n -= 3;
	}
	return _cmocka_run_group_tests("review", all, n, NULL, NULL);
}
