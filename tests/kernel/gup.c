/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: get_user_pages and memory pressure on shared PTE tables
 * (DESIGN.md I7, I9).
 *
 * No software write, pin or reference-taking GUP may go through a shared
 * table: the kernel unshares (copies) the table first, so the result is
 * exactly that of a classic fork.  Every test first asserts that
 * odfork_tables_shared moved (the range really was shared), then drives
 * one GUP user into the shared range and checks fork semantics on both
 * sides: /proc/pid/mem, process_vm_writev/readv, vmsplice, O_DIRECT on a
 * loop device, io_uring fixed buffers, futexes, MADV_POPULATE_WRITE.
 * Pins are decided per table: an on-demand fork copies a table that maps
 * a pinned page, as fork() copies the page, and shares the others.
 * The memcg tests make unsharing fail for lack of memory: the writer gets
 * the classic COW-under-memcg result (OOM kill); mprotect/munmap of part
 * of a table reserve the copy's table page and succeed (or fail with
 * ENOMEM where fork() could too), and the other sharer's data stays
 * exactly intact.
 *
 * Page contents follow pat(tag, index): every byte of page `index` (of
 * a region, a buffer, a device) is tag + 31 * index, so different tags
 * differ on every page and a page at the wrong place is caught.
 */
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <liburing.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"

#define PAGE		4096UL
#define TABLE		(2UL << 20)	/* one PTE table maps 2 MiB */
#define PPT		(TABLE / PAGE)	/* pages per table */
#define NT		4		/* tables of most regions */
#define BUF_PAGES	16		/* O_DIRECT / io_uring buffers */
#define DEV_PAGES	256		/* loop device: 1 MiB */
#define OOM_TABLES	64		/* 128 MiB shared */
#define OOM_LIMIT	"512K"		/* memory.max of the writer */
#define EN_TABLES	8		/* mprotect/munmap under ENOMEM */
#define EN_FIRST	4		/* first page of each that they hit */
#define EN_PAGES	8
#define CG_ROOT		"/sys/fs/cgroup"
#define STUCK_S		60		/* a child under memory.max=0 */

/* ------------------------------------------------------------------ */
/* Counters */

/* How far counter c moved since the snapshot a; fails without it. */
static long long snap_delta(const struct kt_snap *a, enum kt_counter c,
			    int line)
{
	struct kt_snap b;

	kt_snap(&b);
	if (a->v[c] < 0 || b.v[c] < 0)
		kt_fail(__FILE__, line, "no %s in /proc/vmstat",
			kt_counter_names[c]);
	return kt_moved(a, &b, c);
}

/* Counter c moved by at least min since a: the path under test ran. */
static void expect_moved_at(const struct kt_snap *a, enum kt_counter c,
			    long long min, int line)
{
	long long d = snap_delta(a, c, line);

	if (d < min)
		kt_fail(__FILE__, line, "%s moved by %lld, want >= %lld",
			kt_counter_names[c], d, min);
}

static void expect_still_at(const struct kt_snap *a, enum kt_counter c,
			    int line)
{
	long long d = snap_delta(a, c, line);

	if (d != 0)
		kt_fail(__FILE__, line, "%s moved by %lld, want 0",
			kt_counter_names[c], d);
}

#define expect_moved(a, c, min)	expect_moved_at(a, c, min, __LINE__)
#define expect_still(a, c)	expect_still_at(a, c, __LINE__)

/* ------------------------------------------------------------------ */
/* Page patterns */

static unsigned char pat(unsigned char tag, size_t idx)
{
	return (unsigned char)(tag + 31 * idx);
}

/* Pages idx0 .. idx0 + n - 1 of a pattern, written at p. */
static void fill(unsigned char *p, size_t n, unsigned char tag, size_t idx0)
{
	size_t i;

	for (i = 0; i < n; i++)
		memset(p + i * PAGE, pat(tag, idx0 + i), PAGE);
}

static int page_is(const unsigned char *pg, unsigned char b)
{
	const uint64_t *w = (const uint64_t *)(const void *)pg;
	uint64_t want = b * 0x0101010101010101ULL;
	size_t i;

	for (i = 0; i < PAGE / sizeof(*w); i++)
		if (w[i] != want)
			return 0;
	return 1;
}

/* The first page of p[0 .. n) that is not pattern pages idx0..., or -1. */
static long find_bad(const unsigned char *p, size_t n, unsigned char tag,
		     size_t idx0)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!page_is(p + i * PAGE, pat(tag, idx0 + i)))
			return (long)i;
	return -1;
}

/* Pages [first, first + n) of base hold pattern pages of the same index. */
static void expect_pages_at(const unsigned char *base, size_t first,
			    size_t n, unsigned char tag, int line)
{
	long bad = find_bad(base + first * PAGE, n, tag, first);

	if (bad >= 0)
		kt_fail(__FILE__, line,
			"page %zu: byte 0x%02x, want '%c' data 0x%02x",
			first + (size_t)bad,
			base[(first + (size_t)bad) * PAGE],
			tag, pat(tag, first + (size_t)bad));
}

/* Like expect_pages(), for a buffer holding pattern pages idx0... */
static void expect_buf_at(const unsigned char *p, size_t n,
			  unsigned char tag, size_t idx0, int line)
{
	long bad = find_bad(p, n, tag, idx0);

	if (bad >= 0)
		kt_fail(__FILE__, line,
			"buffer page %ld: byte 0x%02x, want '%c' data 0x%02x",
			bad, p[(size_t)bad * PAGE], tag,
			pat(tag, idx0 + (size_t)bad));
}

#define expect_pages(base, first, n, tag) \
	expect_pages_at(base, first, n, tag, __LINE__)
#define expect_buf(p, n, tag, idx0) expect_buf_at(p, n, tag, idx0, __LINE__)

/* The whole region is pattern `tag`, except pages [hole, hole + n). */
static void expect_around_at(const unsigned char *base, size_t total,
			     unsigned char tag, size_t hole, size_t n,
			     int line)
{
	expect_pages_at(base, 0, hole, tag, line);
	expect_pages_at(base, hole + n, total - hole - n, tag, line);
}

#define expect_around(base, total, tag, hole, n) \
	expect_around_at(base, total, tag, hole, n, __LINE__)

/*
 * ntables 2 MiB-aligned, touched PTE tables of 4 KiB pages in one private
 * anonymous VMA, filled with pattern `tag`: eligible for sharing.
 */
static unsigned char *region_map(size_t ntables, unsigned char tag)
{
	size_t len = (ntables + 1) * TABLE;
	unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *p;

	KT_ASSERT(m != MAP_FAILED);
	KT_EQ(madvise(m, len, MADV_NOHUGEPAGE), 0);
	p = (unsigned char *)(((uintptr_t)m + TABLE - 1) & ~(TABLE - 1));
	fill(p, ntables * PPT, tag, 0);
	return p;
}

/* A private, page-aligned buffer holding pattern pages idx0... */
static unsigned char *buf_new(size_t n, unsigned char tag, size_t idx0)
{
	unsigned char *p = aligned_alloc(PAGE, n * PAGE);

	KT_ASSERT(p != NULL);
	fill(p, n, tag, idx0);
	return p;
}

/* ------------------------------------------------------------------ */
/* A parent and its on-demand forked child, talking over two pipes */

struct peer {
	pid_t pid;	/* the child, in the parent; 0 in the child */
	int tx;		/* to the other side */
	int rx;		/* from the other side */
};

/* fork() with ODFORK_MODE_NEXT armed; returns 0 in the child. */
static pid_t peer_fork(struct peer *pr)
{
	int down[2], up[2];

	KT_EQ(pipe2(down, O_CLOEXEC), 0);
	KT_EQ(pipe2(up, O_CLOEXEC), 0);
	KT_EQ(kt_set_mode(ODFORK_MODE_NEXT), 0);
	fflush(NULL);
	pr->pid = fork();
	KT_ASSERT(pr->pid >= 0);
	if (pr->pid == 0) {
		close(down[1]);
		close(up[0]);
		pr->rx = down[0];
		pr->tx = up[1];
	} else {
		close(down[0]);
		close(up[1]);
		pr->rx = up[0];
		pr->tx = down[1];
	}
	return pr->pid;
}

static void peer_send(struct peer *pr, char c)
{
	if (write(pr->tx, &c, 1) != 1)
		kt_fail(__FILE__, __LINE__, "peer_send('%c')", c);
}

static void peer_expect_at(struct peer *pr, char c, int line)
{
	char got = 0;
	ssize_t n;

	do
		n = read(pr->rx, &got, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1 && got == c)
		return;
	if (pr->pid == 0)
		kt_fail(__FILE__, line, "child: waiting for '%c'", c);
	if (n == 1)
		kill(pr->pid, SIGKILL);
	kt_fail(__FILE__, line, "waiting for '%c': %s, child status %d", c,
		n == 1 ? "wrong byte" : "EOF", kt_wait(pr->pid));
}

#define peer_expect(pr, c) peer_expect_at(pr, c, __LINE__)

#define peer_odfork(pr, s, n)	peer_odfork_at(pr, s, n, __LINE__)

/*
 * peer_fork() after a snapshot of the counters in *s: returns 0 in the
 * child; in the parent the child's pid, once the fork has shared at
 * least n tables.
 */
static pid_t peer_odfork_at(struct peer *pr, struct kt_snap *s, long long n,
			    int line)
{
	kt_snap(s);
	if (peer_fork(pr) == 0)
		return 0;
	expect_moved_at(s, KT_C_SHARED, n, line);
	return pr->pid;
}

#define peer_ask(pr, c)	peer_ask_at(pr, c, __LINE__)

/* Send c, then wait for the other side's 'k'. */
static void peer_ask_at(struct peer *pr, char c, int line)
{
	peer_send(pr, c);
	peer_expect_at(pr, 'k', line);
}

/* In the parent: the child must exit 0. */
static void peer_end(struct peer *pr)
{
	close(pr->tx);
	close(pr->rx);
	KT_EQ(kt_wait(pr->pid), 0);
}

/* In the child: on 'w', write pattern 'C' over the region of NT tables at
 * r and check it, answer 'k' and exit. */
static void __attribute__((noreturn)) child_writes_all(struct peer *pr,
						       unsigned char *r)
{
	peer_expect(pr, 'w');
	fill(r, NT * PPT, 'C', 0);
	expect_pages(r, 0, NT * PPT, 'C');
	peer_send(pr, 'k');
	_exit(0);
}

/* ------------------------------------------------------------------ */
/* /proc/<pid>/mem */

static void mem_write(pid_t pid, const void *buf, size_t len, void *addr)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDWR | O_CLOEXEC);
	KT_ASSERT(fd >= 0);
	KT_EQ(pwrite(fd, buf, len, (off_t)(uintptr_t)addr), (ssize_t)len);
	KT_EQ(close(fd), 0);
}

/*
 * The parent writes two pages across the boundary of tables 0 and 1 of
 * the child through /proc/<child>/mem: the child sees them, the parent's
 * memory keeps the fork-time data.
 */
KT_TEST(test_procmem_parent_writes_child)
{
	size_t hole = PPT - 1;
	unsigned char *r = region_map(NT, 'P');
	unsigned char *w = buf_new(2, 'W', hole);
	struct peer pr;
	struct kt_snap s;

	kt_sysctl_set(1);
	if (peer_odfork(&pr, &s, NT) == 0) {
		peer_expect(&pr, 'w');
		expect_pages(r, hole, 2, 'W');
		expect_around(r, NT * PPT, 'P', hole, 2);
		peer_send(&pr, 'k');
		_exit(0);
	}
	kt_snap(&s);
	mem_write(pr.pid, w, 2 * PAGE, r + hole * PAGE);
	expect_moved(&s, KT_C_COPIED, 2);
	peer_ask(&pr, 'w');
	expect_pages(r, 0, NT * PPT, 'P');
	peer_end(&pr);
	return 0;
}

/* The reverse: the child writes the parent's memory through
 * /proc/<ppid>/mem; the child keeps the fork-time data. */
KT_TEST(test_procmem_child_writes_parent)
{
	size_t hole = 2 * PPT - 1;
	unsigned char *r = region_map(NT, 'P');
	unsigned char *w = buf_new(2, 'W', hole);
	struct peer pr;
	struct kt_snap s;

	kt_sysctl_set(1);
	if (peer_odfork(&pr, &s, NT) == 0) {
		peer_expect(&pr, 'w');
		mem_write(getppid(), w, 2 * PAGE, r + hole * PAGE);
		peer_send(&pr, 'k');
		peer_expect(&pr, 'c');
		expect_pages(r, 0, NT * PPT, 'P');
		peer_send(&pr, 'k');
		_exit(0);
	}
	kt_snap(&s);
	peer_ask(&pr, 'w');
	expect_moved(&s, KT_C_COPIED, 2);
	expect_pages(r, hole, 2, 'W');
	expect_around(r, NT * PPT, 'P', hole, 2);
	peer_ask(&pr, 'c');
	peer_end(&pr);
	return 0;
}

/* ------------------------------------------------------------------ */
/* process_vm_writev / process_vm_readv */

/* Cross-memory attach is a config option (CONFIG_CROSS_MEMORY_ATTACH). */
static void need_cross_memory_attach(void)
{
	if (process_vm_readv(getpid(), NULL, 0, NULL, 0, 0) != 0)
		kt_fail(__FILE__, __LINE__, "process_vm_readv: the kernel "
			"needs CONFIG_CROSS_MEMORY_ATTACH=y");
}

/*
 * The parent writes one page in table 0 and one in table 2 of the child
 * with process_vm_writev: only the child sees them.  process_vm_readv of
 * the child's whole region returns the child's view, before and after.
 */
KT_TEST(test_process_vm_writev_child)
{
	size_t a = 5, b = 2 * PPT + 7;
	unsigned char *r = region_map(NT, 'P');
	unsigned char *wa = buf_new(1, 'W', a), *wb = buf_new(1, 'W', b);
	unsigned char *all;
	struct iovec local[2] = { { wa, PAGE }, { wb, PAGE } };
	struct iovec remote[2] = {
		{ r + a * PAGE, PAGE }, { r + b * PAGE, PAGE },
	};
	struct iovec lall, rall = { r, NT * TABLE };
	struct iovec l3, r3 = { r + 3 * TABLE, TABLE };
	struct peer pr;
	struct kt_snap s;

	kt_sysctl_set(1);
	need_cross_memory_attach();
	if (peer_odfork(&pr, &s, NT) == 0) {
		peer_expect(&pr, 'w');
		expect_pages(r, a, 1, 'W');
		expect_pages(r, b, 1, 'W');
		expect_around(r, b, 'P', a, 1);
		expect_pages(r, b + 1, NT * PPT - b - 1, 'P');
		peer_send(&pr, 'k');
		peer_expect(&pr, 'q');	/* stay until the last readv */
		_exit(0);
	}
	/* Read table 3 only: readv pins, so it unshares what it reads. */
	all = buf_new(NT * PPT, 'Z', 0);
	lall = (struct iovec){ all, NT * TABLE };
	l3 = (struct iovec){ all + 3 * TABLE, TABLE };
	KT_EQ(process_vm_readv(pr.pid, &l3, 1, &r3, 1, 0), TABLE);
	expect_buf(all + 3 * TABLE, PPT, 'P', 3 * PPT);
	kt_snap(&s);
	KT_EQ(process_vm_writev(pr.pid, local, 2, remote, 2, 0), 2 * PAGE);
	expect_moved(&s, KT_C_COPIED, 2);
	peer_ask(&pr, 'w');
	expect_pages(r, 0, NT * PPT, 'P');
	KT_EQ(process_vm_readv(pr.pid, &lall, 1, &rall, 1, 0), NT * TABLE);
	expect_buf(all + a * PAGE, 1, 'W', a);
	expect_buf(all + b * PAGE, 1, 'W', b);
	expect_around(all, b, 'P', a, 1);
	expect_pages(all, b + 1, NT * PPT - b - 1, 'P');
	peer_send(&pr, 'q');
	peer_end(&pr);
	return 0;
}

/* ------------------------------------------------------------------ */
/* vmsplice (FOLL_GET: a reference without a pin) */

/* A pipe to vmsplice into: non-blocking, for expect_pipe_page(). */
static void splice_pipe(int p[2])
{
	KT_EQ(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
}

static void splice_page(int pipefd, unsigned char *page)
{
	struct iovec iov = { page, PAGE };

	KT_EQ(vmsplice(pipefd, &iov, 1, 0), (ssize_t)PAGE);
}

/* The pipe holds exactly fork-time page idx of pattern 'P'. */
static void expect_pipe_page(int pipefd, size_t idx)
{
	unsigned char *got = buf_new(1, 'Z', 0);
	char extra;
	ssize_t n;

	KT_EQ(read(pipefd, got, PAGE), (ssize_t)PAGE);
	expect_buf(got, 1, 'P', idx);
	n = read(pipefd, &extra, 1);
	KT_ASSERT(n == 0 || (n < 0 && errno == EAGAIN));
	free(got);
}

/*
 * The child vmsplices a page of its shared range into a pipe and exits;
 * the parent then writes that page.  The pipe must return the fork-time
 * data, not the parent's post-fork write (the CVE-2020-29374 class: a
 * reference taken through a shared table, then reuse of the table).
 */
KT_TEST(test_vmsplice_child_then_parent_writes)
{
	size_t idx = PPT + 9;
	unsigned char *r = region_map(NT, 'P');
	struct peer pr;
	struct kt_snap s;
	int p[2];

	kt_sysctl_set(1);
	splice_pipe(p);
	if (peer_odfork(&pr, &s, NT) == 0) {
		peer_expect(&pr, 'v');
		splice_page(p[1], r + idx * PAGE);
		peer_send(&pr, 'k');
		_exit(0);
	}
	close(p[1]);
	kt_snap(&s);
	peer_ask(&pr, 'v');
	expect_moved(&s, KT_C_COPIED, 1);
	peer_end(&pr);
	fill(r, NT * PPT, 'W', 0);
	expect_pipe_page(p[0], idx);
	expect_pages(r, 0, NT * PPT, 'W');
	return 0;
}

/*
 * The symmetric case: the parent vmsplices, the child writes the page and
 * exits, then the parent writes it too: the pipe keeps the fork-time data.
 */
KT_TEST(test_vmsplice_parent_then_both_write)
{
	size_t idx = 2 * PPT + 3;
	unsigned char *r = region_map(NT, 'P');
	struct peer pr;
	struct kt_snap s;
	int p[2];

	kt_sysctl_set(1);
	splice_pipe(p);
	if (peer_odfork(&pr, &s, NT) == 0)
		child_writes_all(&pr, r);
	kt_snap(&s);
	splice_page(p[1], r + idx * PAGE);
	expect_moved(&s, KT_C_COPIED, 1);
	peer_ask(&pr, 'w');
	peer_end(&pr);
	expect_pages(r, 0, NT * PPT, 'P');
	fill(r, NT * PPT, 'W', 0);
	expect_pipe_page(p[0], idx);
	expect_pages(r, 0, NT * PPT, 'W');
	return 0;
}

/*
 * A reference taken before the fork, through a private table.  The parent
 * unmaps its side, then the child writes everything: the child is the last
 * holder and takes the tables back, and the pipe must still return the
 * fork-time data, as after fork(), where the child's write copies the
 * referenced page (the mm selftest cow: "vmsplice() before fork(), unmap
 * in parent after fork()").
 */
KT_TEST(test_vmsplice_before_fork_parent_unmaps)
{
	size_t idx = PPT + 17;
	unsigned char *r = region_map(NT, 'P');
	struct peer pr;
	struct kt_snap s;
	int p[2];

	kt_sysctl_set(1);
	splice_pipe(p);
	splice_page(p[1], r + idx * PAGE);
	if (peer_odfork(&pr, &s, NT) == 0)
		child_writes_all(&pr, r);
	close(p[1]);
	kt_snap(&s);
	KT_EQ(munmap(r, NT * TABLE), 0);
	expect_moved(&s, KT_C_DROPPED, NT);
	peer_ask(&pr, 'w');
	peer_end(&pr);
	expect_moved(&s, KT_C_REUSED, NT);
	expect_pipe_page(p[0], idx);
	return 0;
}

/*
 * The same reference, but the child exits untouched and the parent takes
 * the tables back by writing: the referenced page is copied on write, as
 * after fork(), so the pipe keeps the fork-time data.  Every page is
 * write-protected by the take-back, as fork() leaves it: the parent
 * faults once per page, as after fork() and the child's exit (a page
 * left writable would let a vmsplice() taken after the take-back see
 * the next write, see review.c test_takeback_then_vmsplice).
 */
KT_TEST(test_vmsplice_before_fork_child_exits)
{
	size_t idx = 2 * PPT + 5;
	unsigned char *r = region_map(NT, 'P');
	struct rusage ru0, ru1;
	struct peer pr;
	struct kt_snap s;
	long faults;
	int p[2];

	kt_sysctl_set(1);
	splice_pipe(p);
	splice_page(p[1], r + idx * PAGE);
	if (peer_odfork(&pr, &s, NT) == 0) {
		peer_expect(&pr, 'q');
		_exit(0);
	}
	close(p[1]);
	peer_send(&pr, 'q');
	peer_end(&pr);
	kt_snap(&s);
	KT_EQ(getrusage(RUSAGE_SELF, &ru0), 0);
	fill(r, NT * PPT, 'W', 0);
	KT_EQ(getrusage(RUSAGE_SELF, &ru1), 0);
	expect_moved(&s, KT_C_REUSED, NT);
	expect_still(&s, KT_C_COPIED);
	expect_pipe_page(p[0], idx);
	expect_pages(r, 0, NT * PPT, 'W');
	faults = ru1.ru_minflt - ru0.ru_minflt;
	if (faults < (long)(NT * PPT))
		kt_fail(__FILE__, __LINE__, "%ld faults writing %lu pages: "
			"fork() write-protects every page", faults, NT * PPT);
	return 0;
}

/* ------------------------------------------------------------------ */
/* O_DIRECT on a loop device (FOLL_PIN) */

/* A memfd of DEV_PAGES pattern pages 'D'. */
static int backing_file(void)
{
	unsigned char *pg = buf_new(1, 'D', 0);
	int fd = memfd_create("kt-gup-loop", MFD_CLOEXEC);
	size_t i;

	KT_ASSERT(fd >= 0);
	for (i = 0; i < DEV_PAGES; i++) {
		fill(pg, 1, 'D', i);
		KT_EQ(pwrite(fd, pg, PAGE, (off_t)(i * PAGE)), (ssize_t)PAGE);
	}
	free(pg);
	return fd;
}

/* Attach file to a free loop device (autoclear); returns its path's fd
 * opened with O_DIRECT, or -1 when the device was taken meanwhile. */
static int loop_try(int file)
{
	struct loop_config cfg;
	char path[32];
	int ctl, n, lfd, dfd;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	KT_ASSERT(ctl >= 0);
	n = ioctl(ctl, LOOP_CTL_GET_FREE);
	KT_ASSERT(n >= 0);
	close(ctl);
	snprintf(path, sizeof(path), "/dev/loop%d", n);
	lfd = open(path, O_RDWR | O_CLOEXEC);
	KT_ASSERT(lfd >= 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = (unsigned int)file;
	cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
	if (ioctl(lfd, LOOP_CONFIGURE, &cfg) != 0) {
		KT_EQ(errno, EBUSY);
		close(lfd);
		return -1;
	}
	dfd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
	KT_ASSERT(dfd >= 0);
	close(lfd);
	return dfd;
}

/* An O_DIRECT descriptor of a loop device holding DEV_PAGES pages 'D'. */
static int loop_open(void)
{
	int file = backing_file();
	int dfd = -1;
	int i;

	for (i = 0; i < 10 && dfd < 0; i++)
		dfd = loop_try(file);
	KT_ASSERT(dfd >= 0);
	close(file);
	return dfd;
}

static void direct_read(int dfd, unsigned char *dst, size_t dev_page)
{
	KT_EQ(pread(dfd, dst, BUF_PAGES * PAGE, (off_t)(dev_page * PAGE)),
	      (ssize_t)(BUF_PAGES * PAGE));
}

/*
 * The child O_DIRECT-reads device pages into its shared range (across the
 * boundary of tables 0 and 1) and O_DIRECT-writes fork-time pages of table
 * 3 to the device.  The child gets the device data, the parent keeps the
 * fork-time data, and the device gets the child's pages.
 */
KT_TEST(test_odirect_child)
{
	size_t hole = PPT - BUF_PAGES / 2, out = 3 * PPT + 1;
	size_t dev_out = DEV_PAGES - BUF_PAGES;
	unsigned char *r = region_map(NT, 'P');
	unsigned char *back = buf_new(BUF_PAGES, 'Z', 0);
	int dfd = loop_open();
	struct peer pr;
	struct kt_snap s;

	kt_sysctl_set(1);
	if (peer_odfork(&pr, &s, NT) == 0) {
		peer_expect(&pr, 'd');
		direct_read(dfd, r + hole * PAGE, 0);
		KT_EQ(pwrite(dfd, r + out * PAGE, BUF_PAGES * PAGE,
			     (off_t)(dev_out * PAGE)),
		      (ssize_t)(BUF_PAGES * PAGE));
		expect_buf(r + hole * PAGE, BUF_PAGES, 'D', 0);
		expect_around(r, NT * PPT, 'P', hole, BUF_PAGES);
		peer_send(&pr, 'k');
		_exit(0);
	}
	kt_snap(&s);
	peer_ask(&pr, 'd');
	expect_moved(&s, KT_C_COPIED, 3);
	expect_pages(r, 0, NT * PPT, 'P');
	peer_end(&pr);
	direct_read(dfd, back, dev_out);
	expect_buf(back, BUF_PAGES, 'P', out);
	close(dfd);
	return 0;
}

/* The parent O_DIRECT-reads into its shared range while the child holds
 * it: the child keeps the fork-time data. */
KT_TEST(test_odirect_parent)
{
	size_t hole = 2 * PPT - BUF_PAGES / 2;
	unsigned char *r = region_map(NT, 'P');
	int dfd = loop_open();
	struct peer pr;
	struct kt_snap s;

	kt_sysctl_set(1);
	if (peer_odfork(&pr, &s, NT) == 0) {
		peer_expect(&pr, 'c');
		expect_pages(r, 0, NT * PPT, 'P');
		peer_send(&pr, 'k');
		_exit(0);
	}
	kt_snap(&s);
	direct_read(dfd, r + hole * PAGE, 0);
	expect_moved(&s, KT_C_COPIED, 2);
	expect_buf(r + hole * PAGE, BUF_PAGES, 'D', 0);
	expect_around(r, NT * PPT, 'P', hole, BUF_PAGES);
	peer_ask(&pr, 'c');
	peer_end(&pr);
	close(dfd);
	return 0;
}

/* ------------------------------------------------------------------ */
/* io_uring registered buffers (FOLL_PIN | FOLL_LONGTERM) */

/* A memfd of BUF_PAGES pattern pages 'F'. */
static int file_f(void)
{
	unsigned char *b = buf_new(BUF_PAGES, 'F', 0);
	int fd = memfd_create("kt-gup-uring", MFD_CLOEXEC);

	KT_ASSERT(fd >= 0);
	KT_EQ(pwrite(fd, b, BUF_PAGES * PAGE, 0),
	      (ssize_t)(BUF_PAGES * PAGE));
	free(b);
	return fd;
}

/* Register [buf, buf + BUF_PAGES) as fixed buffer 0 of a new ring. */
static void ring_register(struct io_uring *ring, unsigned char *buf)
{
	struct iovec iov = { buf, BUF_PAGES * PAGE };

	KT_EQ(io_uring_queue_init(4, ring, 0), 0);
	KT_EQ(io_uring_register_buffers(ring, &iov, 1), 0);
}

/* READ_FIXED of the whole file fd into fixed buffer 0 at buf. */
static void ring_read_fixed(struct io_uring *ring, int fd, unsigned char *buf)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;

	KT_ASSERT(sqe != NULL);
	io_uring_prep_read_fixed(sqe, fd, buf, BUF_PAGES * PAGE, 0, 0);
	KT_EQ(io_uring_submit(ring), 1);
	KT_EQ(io_uring_wait_cqe(ring, &cqe), 0);
	KT_EQ(cqe->res, (int)(BUF_PAGES * PAGE));
	io_uring_cqe_seen(ring, cqe);
}

/*
 * Registering fixed buffers pins pages, and pins are decided per table:
 * a later on-demand fork copies the table with the pinned buffer
 * classically (fork copies the pinned pages for the child) and shares the
 * other tables (the child maps NT - 1 tables' worth through shared
 * tables).  Fork semantics hold: READ_FIXED lands in the parent's pinned
 * page and the child does not see it, and the child's writes do not reach
 * the parent.
 */
KT_TEST(test_uring_pinned_table_copied)
{
	size_t at = PPT + 20;
	unsigned char *r = region_map(NT, 'P');
	int fd = file_f();
	struct io_uring ring;
	struct peer pr;
	struct kt_snap s;
	long kb;

	kt_sysctl_set(1);
	ring_register(&ring, r + at * PAGE);
	if (peer_odfork(&pr, &s, NT - 1) == 0) {
		peer_expect(&pr, 'r');
		expect_pages(r, 0, NT * PPT, 'P');
		fill(r, NT * PPT, 'C', 0);
		peer_send(&pr, 'k');
		_exit(0);
	}
	expect_moved(&s, KT_C_FALLBACK, 1);
	kb = kt_status_kb(pr.pid, "RssOdfork");
	KT_SHARING(kb >= (long)((NT - 1) * TABLE / 1024),
		   "child's RssOdfork %ld kB, want >= %lu kB", kb,
		   (NT - 1) * TABLE / 1024);
	ring_read_fixed(&ring, fd, r + at * PAGE);
	peer_ask(&pr, 'r');
	expect_buf(r + at * PAGE, BUF_PAGES, 'F', 0);
	expect_around(r, NT * PPT, 'P', at, BUF_PAGES);
	peer_end(&pr);
	io_uring_queue_exit(&ring);
	return 0;
}

/*
 * A pin that ended (an O_DIRECT read: FOLL_PIN for the I/O only) leaves
 * nothing pinned: the next on-demand fork shares every table, also the
 * one the read went into, and the child sees the data read before it.
 */
KT_TEST(test_odirect_done_then_shared)
{
	size_t hole = PPT - BUF_PAGES / 2;
	unsigned char *r = region_map(NT, 'P');
	int dfd = loop_open();
	struct peer pr;
	struct kt_snap s;
	long kb;

	kt_sysctl_set(1);
	direct_read(dfd, r + hole * PAGE, 0);
	if (peer_odfork(&pr, &s, NT) == 0) {
		peer_expect(&pr, 'c');
		expect_buf(r + hole * PAGE, BUF_PAGES, 'D', 0);
		expect_around(r, NT * PPT, 'P', hole, BUF_PAGES);
		peer_send(&pr, 'k');
		_exit(0);
	}
	kb = kt_status_kb(pr.pid, "RssOdfork");
	KT_SHARING(kb >= (long)(NT * TABLE / 1024),
		   "child's RssOdfork %ld kB, want >= %lu kB", kb,
		   NT * TABLE / 1024);
	peer_ask(&pr, 'c');
	peer_end(&pr);
	close(dfd);
	return 0;
}

/* Child side of test_uring_register_in_child. */
static void uring_child(struct peer *pr, unsigned char *r, size_t at, int fd)
{
	struct io_uring ring;

	peer_expect(pr, 'r');
	ring_register(&ring, r + at * PAGE);
	peer_send(pr, 'k');
	peer_expect(pr, 'x');
	expect_pages(r, 0, NT * PPT, 'P');
	ring_read_fixed(&ring, fd, r + at * PAGE);
	expect_buf(r + at * PAGE, BUF_PAGES, 'F', 0);
	expect_around(r, NT * PPT, 'P', at, BUF_PAGES);
	peer_send(pr, 'k');
	_exit(0);
}

/*
 * The child registers a buffer in its shared range: the pin unshares the
 * table first (copied moves).  The parent then writes the same pages, the
 * child's pinned pages keep the fork-time data, and the child's READ_FIXED
 * does not reach the parent's memory.
 */
KT_TEST(test_uring_register_in_child)
{
	size_t at = 2 * PPT - BUF_PAGES / 2;
	unsigned char *r = region_map(NT, 'P');
	int fd = file_f();
	struct peer pr;
	struct kt_snap s;

	kt_sysctl_set(1);
	if (peer_odfork(&pr, &s, NT) == 0)
		uring_child(&pr, r, at, fd);
	kt_snap(&s);
	peer_ask(&pr, 'r');
	expect_moved(&s, KT_C_COPIED, 2);
	fill(r + at * PAGE, BUF_PAGES, 'Q', at);
	peer_ask(&pr, 'x');
	expect_pages(r, at, BUF_PAGES, 'Q');
	expect_around(r, NT * PPT, 'P', at, BUF_PAGES);
	peer_end(&pr);
	return 0;
}

/* ------------------------------------------------------------------ */
/* futex */

static long futex(uint32_t *uaddr, int op, uint32_t val,
		  const struct timespec *ts, uint32_t *uaddr2, uint32_t val3)
{
	return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

struct waiter {
	uint32_t *word;
	int err;		/* 0 (woken) or errno */
	int done;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	struct timespec ts = { .tv_sec = 20 };

	/* Shared (not PRIVATE): the key lookup takes a page reference. */
	w->err = futex(w->word, FUTEX_WAIT, 7, &ts, NULL, 0) ? errno : 0;
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* FUTEX_WAIT in a thread on a word of table 1 (value 7), woken after the
 * main thread sets it to 8. */
static void futex_wait_wake(uint32_t *word)
{
	struct waiter w = { .word = word };
	struct timespec nap = { .tv_nsec = 100 * 1000 * 1000 };
	pthread_t th;

	KT_EQ(pthread_create(&th, NULL, waiter_main, &w), 0);
	nanosleep(&nap, NULL);
	__atomic_store_n(word, 8, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&w.done, __ATOMIC_ACQUIRE)) {
		KT_ASSERT(futex(word, FUTEX_WAKE, 1, NULL, NULL, 0) >= 0);
		nanosleep(&nap, NULL);
	}
	KT_EQ(pthread_join(th, NULL), 0);
	KT_ASSERT(w.err == 0 || w.err == EAGAIN);
	KT_EQ(*word, 8);
}

/* The child's futex operations, one word in each of tables 0, 1, 2. */
static void futex_child(struct peer *pr, uint32_t **w)
{
	uint32_t tid = (uint32_t)gettid();

	peer_expect(pr, 'f');
	/* LOCK_PI writes the owner's tid: a kernel write fault. */
	KT_EQ(futex(w[0], FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), 0);
	KT_EQ(*w[0] & FUTEX_TID_MASK, tid);
	peer_send(pr, 'l');
	peer_expect(pr, 'u');
	KT_EQ(futex(w[0], FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0), 0);
	KT_EQ(*w[0], 0);
	futex_wait_wake(w[1]);
	/* WAKE_OP sets *uaddr2 = 42 atomically, in the kernel. */
	KT_EQ(futex(w[1], FUTEX_WAKE_OP_PRIVATE, 0, NULL, w[2],
		    FUTEX_OP(FUTEX_OP_SET, 42, FUTEX_OP_CMP_EQ, 0)), 0);
	KT_EQ(*w[2], 42);
	peer_send(pr, 'k');
	_exit(0);
}

/*
 * Futex operations of the child on words of its shared range work (PI
 * lock and unlock, wait/wake, WAKE_OP) and leave the parent's words at
 * their fork-time values.
 */
KT_TEST(test_futex_child)
{
	unsigned char *r = region_map(NT, 'P');
	uint32_t *w[3];
	unsigned char *save = buf_new(3, 'Z', 0);
	struct peer pr;
	struct kt_snap s;
	int i;

	kt_sysctl_set(1);
	for (i = 0; i < 3; i++) {
		w[i] = (uint32_t *)(void *)(r + ((size_t)i * PPT + 3) * PAGE);
		*w[i] = i == 0 ? 0 : i == 1 ? 7 : 5;
		memcpy(save + i * PAGE, r + ((size_t)i * PPT + 3) * PAGE, PAGE);
	}
	if (peer_odfork(&pr, &s, NT) == 0)
		futex_child(&pr, w);
	kt_snap(&s);
	peer_send(&pr, 'f');
	peer_expect(&pr, 'l');
	expect_moved(&s, KT_C_COPIED, 1);
	KT_EQ(*w[0], 0);
	peer_ask(&pr, 'u');
	expect_moved(&s, KT_C_COPIED, 3);
	peer_end(&pr);
	for (i = 0; i < 3; i++) {
		size_t pg = (size_t)i * PPT + 3;

		KT_EQ(memcmp(r + pg * PAGE, save + i * PAGE, PAGE), 0);
		expect_pages(r, (size_t)i * PPT, 3, 'P');
		expect_pages(r, pg + 1, PPT - 4, 'P');
	}
	expect_pages(r, 3 * PPT, (NT - 3) * PPT, 'P');
	return 0;
}

/* ------------------------------------------------------------------ */
/* MADV_POPULATE_WRITE (GUP with FOLL_WRITE, no reference) */

/*
 * MADV_POPULATE_WRITE over tables 1 and 2 of the child unshares them
 * (copied moves) without changing data; the child's writes afterwards do
 * not reach the parent.  MADV_POPULATE_READ over table 3 changes nothing.
 */
KT_TEST(test_populate_write_child)
{
	unsigned char *r = region_map(NT, 'P');
	struct peer pr;
	struct kt_snap s;

	kt_sysctl_set(1);
	if (peer_odfork(&pr, &s, NT) == 0) {
		peer_expect(&pr, 'p');
		KT_EQ(madvise(r + TABLE, 2 * TABLE, MADV_POPULATE_WRITE), 0);
		KT_EQ(madvise(r + 3 * TABLE, TABLE, MADV_POPULATE_READ), 0);
		expect_pages(r, 0, NT * PPT, 'P');
		peer_send(&pr, 'k');
		peer_expect(&pr, 'w');
		fill(r + TABLE, 2 * PPT, 'C', PPT);
		expect_pages(r, PPT, 2 * PPT, 'C');
		peer_send(&pr, 'k');
		_exit(0);
	}
	kt_snap(&s);
	peer_ask(&pr, 'p');
	expect_moved(&s, KT_C_COPIED, 2);
	peer_ask(&pr, 'w');
	expect_pages(r, 0, NT * PPT, 'P');
	peer_end(&pr);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Memory cgroup pressure (I9) */

struct memcg {
	char dir[96];
};

static void cg_write(const struct memcg *g, const char *file,
		     const char *text)
{
	char path[160];
	int r;

	snprintf(path, sizeof(path), "%s/%s", g->dir, file);
	r = kt_write_file(path, text);
	if (r != 0) {
		errno = -r;
		kt_fail(__FILE__, __LINE__, "write \"%s\" to %s", text, path);
	}
}

/* A new child group of the cgroup2 root with the memory controller,
 * no swap, and memory.max = max. */
static void cg_create(struct memcg *g, const char *max)
{
	static int seq;
	struct statfs sf;
	char path[160];

	if (statfs(CG_ROOT, &sf) != 0 || sf.f_type != CGROUP2_SUPER_MAGIC)
		KT_EQ(mount("none", CG_ROOT, "cgroup2", 0, NULL), 0);
	KT_EQ(kt_write_file(CG_ROOT "/cgroup.subtree_control", "+memory"), 0);
	snprintf(g->dir, sizeof(g->dir), CG_ROOT "/kt-gup-%d-%d",
		 (int)getpid(), seq++);
	KT_EQ(mkdir(g->dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/memory.swap.max", g->dir);
	if (access(path, F_OK) == 0)
		cg_write(g, "memory.swap.max", "0");
	cg_write(g, "memory.max", max);
}

static void cg_enter(const struct memcg *g, pid_t pid)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	cg_write(g, "cgroup.procs", buf);
}

/* Remove the (by now empty) group; a killed task may take a moment. */
static void cg_remove(const struct memcg *g)
{
	struct timespec nap = { .tv_nsec = 20 * 1000 * 1000 };
	int i;

	for (i = 0; i < 250; i++) {
		if (rmdir(g->dir) == 0)
			return;
		KT_EQ(errno, EBUSY);
		nanosleep(&nap, NULL);
	}
	kt_fail(__FILE__, __LINE__, "rmdir %s", g->dir);
}

/* Write one byte in every table (each needs a table copy and a page),
 * then every page: far beyond OOM_LIMIT. */
static void write_all(unsigned char *r, size_t ntables)
{
	size_t k;

	for (k = 0; k < ntables; k++)
		r[k * TABLE] = pat('C', k * PPT);
	fill(r, ntables * PPT, 'C', 0);
}

static void expect_oom_killed(int status)
{
	if (status != 128 + SIGKILL && status != 128 + SIGBUS)
		kt_fail(__FILE__, __LINE__,
			"writer status %d, want 128 + SIGKILL or SIGBUS",
			status);
}

/*
 * 64 tables shared; the child, in a memory cgroup far too small for its
 * copies, writes them all.  It gets the classic COW-under-memcg result
 * (OOM kill or SIGBUS), and the parent's data is exactly intact; the
 * parent can then take its tables back and write them.
 */
KT_TEST(test_memcg_child_write_oom)
{
	size_t n = OOM_TABLES * PPT;
	unsigned char *r = region_map(OOM_TABLES, 'P');
	struct memcg g;
	struct peer pr;
	struct kt_snap s;

	kt_sysctl_set(1);
	if (peer_odfork(&pr, &s, OOM_TABLES) == 0) {
		peer_expect(&pr, 'g');
		write_all(r, OOM_TABLES);
		_exit(0);
	}
	cg_create(&g, OOM_LIMIT);
	cg_enter(&g, pr.pid);
	peer_send(&pr, 'g');
	expect_oom_killed(kt_wait(pr.pid));
	close(pr.tx);
	close(pr.rx);
	expect_pages(r, 0, n, 'P');
	fill(r, n, 'W', 0);
	expect_pages(r, 0, n, 'W');
	cg_remove(&g);
	return 0;
}

/* Holder side of test_memcg_parent_write_oom: wait for the writer (our
 * parent) to die, then check and write the region; report on res. */
static void oom_holder(struct peer *pr, unsigned char *r, int res)
{
	size_t n = OOM_TABLES * PPT;
	ssize_t got;
	char c;

	do
		got = read(pr->rx, &c, 1);
	while (got > 0 || (got < 0 && errno == EINTR));
	KT_EQ(got, 0);
	expect_pages(r, 0, n, 'P');
	fill(r, n, 'H', 0);
	expect_pages(r, 0, n, 'H');
	KT_EQ(write(res, "k", 1), 1);
	_exit(0);
}

/* Writer side: map, fork the holder, report its pid, wait for 'g' on go,
 * then write everything (and be OOM-killed). */
static void oom_writer(int res, int go)
{
	unsigned char *r = region_map(OOM_TABLES, 'P');
	struct peer pr;
	int pid;
	char c;

	if (peer_fork(&pr) == 0)
		oom_holder(&pr, r, res);
	pid = (int)pr.pid;
	KT_EQ(write(res, &pid, sizeof(pid)), (ssize_t)sizeof(pid));
	KT_EQ(read(go, &c, 1), 1);
	write_all(r, OOM_TABLES);
	_exit(0);
}

/*
 * The reverse: the process that forked is the one in the tight group and
 * writes; it is OOM-killed and the child that held the tables keeps its
 * fork-time data exactly, then takes the tables back and writes them.
 */
KT_TEST(test_memcg_parent_write_oom)
{
	int res[2], go[2];
	int holder = 0;
	pid_t writer;
	struct memcg g;
	struct kt_snap s;
	char c = 0;

	kt_sysctl_set(1);
	KT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	KT_EQ(pipe2(res, O_CLOEXEC), 0);
	KT_EQ(pipe2(go, O_CLOEXEC), 0);
	kt_snap(&s);
	writer = fork();
	KT_ASSERT(writer >= 0);
	if (writer == 0) {
		close(res[0]);
		close(go[1]);
		oom_writer(res[1], go[0]);
	}
	close(res[1]);
	close(go[0]);
	KT_EQ(read(res[0], &holder, sizeof(holder)), (ssize_t)sizeof(holder));
	expect_moved(&s, KT_C_SHARED, OOM_TABLES);
	cg_create(&g, OOM_LIMIT);
	cg_enter(&g, writer);
	KT_EQ(write(go[1], "g", 1), 1);
	expect_oom_killed(kt_wait(writer));
	KT_EQ(read(res[0], &c, 1), 1);
	KT_EQ(c, 'k');
	KT_EQ(kt_wait(holder), 0);
	cg_remove(&g);
	return 0;
}

/* What the child of test_memcg_enomem_mprotect_munmap did, in a shared
 * (MAP_SHARED) page that it touched before the limit. */
struct en_result {
	int ret[EN_TABLES];
	int err[EN_TABLES];
	long bad;		/* first page without fork-time data, or -1 */
	int done;
};

/* mprotect(PROT_READ) (even tables) or munmap (odd tables) of pages
 * EN_FIRST .. EN_FIRST + EN_PAGES - 1 of each table. */
static void en_ops(unsigned char *r, size_t ntables, struct en_result *res)
{
	size_t k;

	for (k = 0; k < ntables; k++) {
		unsigned char *a = r + k * TABLE + EN_FIRST * PAGE;

		errno = 0;
		res->ret[k] = k & 1 ? munmap(a, EN_PAGES * PAGE) :
				      mprotect(a, EN_PAGES * PAGE, PROT_READ);
		res->err[k] = res->ret[k] ? errno : 0;
	}
}

/* Every page still mapped holds its fork-time data ('P'). */
static long en_verify(const unsigned char *r, size_t ntables,
		      const struct en_result *res)
{
	size_t k, i;

	for (k = 0; k < ntables; k++)
		for (i = 0; i < PPT; i++) {
			size_t pg = k * PPT + i;
			int gone = (k & 1) && res->ret[k] == 0 &&
				   i >= EN_FIRST && i < EN_FIRST + EN_PAGES;

			if (!gone && !page_is(r + pg * PAGE, pat('P', pg)))
				return (long)pg;
		}
	return -1;
}

/* Touch what the real run will write, and run its code once, so that
 * under memory.max=0 nothing but the operations themselves allocates. */
static void __attribute__((noinline)) en_prefault(struct en_result *res)
{
	volatile unsigned char stack[64 * 1024];
	unsigned char *d = region_map(2, 'P');
	size_t i;

	for (i = 0; i < sizeof(stack); i += PAGE)
		stack[i] = 1;
	en_ops(d, 2, res);
	res->bad = en_verify(d, 2, res);
	KT_EQ(res->bad, -1);
	memset(res, 0, sizeof(*res));
	errno = 0;
}

/* The child: unkillable by the OOM killer, so a failed charge is ENOMEM
 * (and never a kill); it reports through res and its exit status. */
static void en_child(struct peer *pr, unsigned char *r, struct en_result *res)
{
	peer_expect(pr, 'g');
	KT_EQ(kt_write_file("/proc/self/oom_score_adj", "-1000"), 0);
	en_prefault(res);
	peer_send(pr, 'p');
	peer_expect(pr, 'o');
	en_ops(r, EN_TABLES, res);
	res->bad = en_verify(r, EN_TABLES, res);
	res->done = 1;
	_exit(0);
}

/* kt_wait() with a deadline: a child stuck retrying a fault that cannot
 * be charged is killed and fails the test. */
static int wait_deadline(pid_t pid, int seconds)
{
	struct timespec nap = { .tv_nsec = 10 * 1000 * 1000 };
	time_t end = time(NULL) + seconds;
	pid_t r;
	int st;

	while ((r = waitpid(pid, &st, WNOHANG)) != pid) {
		KT_ASSERT(r == 0 || errno == EINTR);
		if (time(NULL) > end) {
			kill(pid, SIGKILL);
			kt_wait(pid);
			kt_fail(__FILE__, __LINE__, "child stuck for %d s",
				seconds);
		}
		nanosleep(&nap, NULL);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * Each operation succeeded or failed with ENOMEM.  The unshare that a cut
 * through a shared table needs no longer fails (its table page is
 * reserved, as munmap must not fail for it), so all may succeed; what is
 * left to fail is the kernel's own allocations (a VMA split), as after
 * fork().
 */
static void en_check(const struct en_result *res)
{
	int k, nomem = 0;

	KT_EQ(res->done, 1);
	for (k = 0; k < EN_TABLES; k++) {
		if (res->ret[k] != 0 &&
		    (res->ret[k] != -1 || res->err[k] != ENOMEM))
			kt_fail(__FILE__, __LINE__,
				"table %d: %s returned %d errno %d", k,
				k & 1 ? "munmap" : "mprotect", res->ret[k],
				res->err[k]);
		nomem += res->ret[k] != 0;
	}
	fprintf(stderr, "mprotect/munmap under memory.max=0: %d of %d ENOMEM\n",
		nomem, EN_TABLES);
	KT_EQ(res->bad, -1);
}

/*
 * mprotect and munmap of part of shared tables, in a child whose memory
 * cgroup cannot charge anything more (memory.max=0): each either succeeds
 * or fails with ENOMEM, and the mapping stays intact and readable with
 * the fork-time data, in the child and in the parent.
 */
KT_TEST(test_memcg_enomem_mprotect_munmap)
{
	unsigned char *r = region_map(EN_TABLES, 'P');
	struct en_result *res = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct memcg g;
	struct peer pr;
	struct kt_snap s;

	kt_sysctl_set(1);
	KT_ASSERT(res != MAP_FAILED);
	memset(res, 0, sizeof(*res));
	if (peer_odfork(&pr, &s, EN_TABLES) == 0)
		en_child(&pr, r, res);
	cg_create(&g, "max");
	cg_enter(&g, pr.pid);
	peer_send(&pr, 'g');
	peer_expect(&pr, 'p');
	cg_write(&g, "memory.max", "0");
	peer_send(&pr, 'o');
	KT_EQ(wait_deadline(pr.pid, STUCK_S), 0);
	close(pr.tx);
	close(pr.rx);
	en_check(res);
	expect_pages(r, 0, EN_TABLES * PPT, 'P');
	cg_remove(&g);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_procmem_parent_writes_child),
		cmocka_unit_test(test_procmem_child_writes_parent),
		cmocka_unit_test(test_process_vm_writev_child),
		cmocka_unit_test(test_vmsplice_child_then_parent_writes),
		cmocka_unit_test(test_vmsplice_parent_then_both_write),
		cmocka_unit_test(test_vmsplice_before_fork_parent_unmaps),
		cmocka_unit_test(test_vmsplice_before_fork_child_exits),
		cmocka_unit_test(test_odirect_child),
		cmocka_unit_test(test_odirect_parent),
		cmocka_unit_test(test_uring_pinned_table_copied),
		cmocka_unit_test(test_odirect_done_then_shared),
		cmocka_unit_test(test_uring_register_in_child),
		cmocka_unit_test(test_futex_child),
		cmocka_unit_test(test_populate_write_child),
		cmocka_unit_test(test_memcg_child_write_oom),
		cmocka_unit_test(test_memcg_parent_write_oom),
		cmocka_unit_test(test_memcg_enomem_mprotect_munmap),
	};

	kt_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
