/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: the odfork_* counters of /proc/vmstat, and which PTE
 * tables an on-demand fork shares (DESIGN.md 4, I6): a table is shared
 * when its whole 2 MiB range lies in one touched private anonymous VMA
 * that is not mlocked, mergeable, uffd-registered, DONTFORK or
 * WIPEONFORK, and the table maps no page that may be pinned.  Every
 * other table that fork copies is counted in odfork_tables_fallback.
 *
 * /proc/<pid>/odfork_stat counts the same events per process, and the
 * tables a process holds (per_process).
 *
 * The process has tables of its own (stack, heap, libraries), so fork
 * deltas are compared with a baseline fork made just before: what a
 * region adds to it is exact.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/userfaultfd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"

#define REGION_SIZE	(8u << 20)	/* 8 MiB: at least 3 whole tables */
#define NTABLES		4		/* eligible tables of a test region */
#define MiB		(1UL << 20)

/* A touched, private anonymous region mapped with 4 KiB pages. */
static unsigned char *touched_region(void)
{
	unsigned char *p = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	KT_ASSERT(p != MAP_FAILED);
	KT_EQ(madvise(p, REGION_SIZE, MADV_NOHUGEPAGE), 0);
	memset(p, 'P', REGION_SIZE);
	return p;
}

/* n whole, touched, eligible tables. */
static unsigned char *touched_tables(size_t n)
{
	unsigned char *p = kt_map_tables(n);

	memset(p, 'T', n * KT_TABLE_SIZE);
	return p;
}

/* Fork a child of the given kind that checks and rewrites the region;
 * returns its exit status. */
static int fork_and_touch(enum kt_fork_kind kind, unsigned char *p)
{
	pid_t pid;
	size_t i;

	fflush(NULL);
	pid = kind == KT_ODFORK ? kt_odfork(0) : fork();
	if (pid == 0) {
		for (i = 0; i < REGION_SIZE; i += 4096)
			if (p[i] != 'P')
				_exit(3);
		memset(p, 'C', REGION_SIZE);
		_exit(0);
	}
	KT_ASSERT(pid > 0);
	return kt_wait(pid);
}

/* Fork a child of the given kind that exits at once: the counters before
 * the fork in *a, after the child is gone in *b. */
static void fork_exit(enum kt_fork_kind kind, struct kt_snap *a,
		      struct kt_snap *b)
{
	pid_t pid;

	kt_snap(a);
	fflush(NULL);
	pid = kind == KT_ODFORK ? kt_odfork(0) : fork();
	if (pid == 0)
		_exit(0);
	KT_ASSERT(pid > 0);
	KT_EQ(kt_wait(pid), 0);
	kt_snap(b);
}

/*
 * What one on-demand fork shared and copied classically, and what the
 * child's exit did with the shared tables: the parent still holds each
 * of them, so the child drops its reference (dropped == shared).
 */
struct fork_count {
	long long shared;
	long long fallback;
};

static struct fork_count odfork_count(const char *file, int line,
				      enum kt_fork_kind kind)
{
	struct kt_snap a, b;
	struct fork_count c;

	fork_exit(kind, &a, &b);
	c.shared = kt_moved(&a, &b, KT_C_SHARED);
	c.fallback = kt_moved(&a, &b, KT_C_FALLBACK);
	kt_expect(file, line, &a, &b, (struct kt_delta){
		.forks = 1, .shared = KT_ANY, .fallback = KT_ANY,
		.dropped = c.shared });
	return c;
}

/* A fork of the given kind must share `shared` tables and copy
 * `fallback` tables more than the previous fork *prev; *prev := it. */
static void check_adds(const char *file, int line, enum kt_fork_kind kind,
		       struct fork_count *prev, long long shared,
		       long long fallback)
{
	struct kt_snap a, b;

	fork_exit(kind, &a, &b);
	kt_expect(file, line, &a, &b, (struct kt_delta){
		.forks = 1,
		.shared = prev->shared + shared,
		.fallback = prev->fallback + fallback,
		.dropped = prev->shared + shared });
	prev->shared = kt_moved(&a, &b, KT_C_SHARED);
	prev->fallback = kt_moved(&a, &b, KT_C_FALLBACK);
}

#define BASELINE(kind)		odfork_count(__FILE__, __LINE__, (kind))
#define ADDS(kind, prev, shared, fallback)				\
	check_adds(__FILE__, __LINE__, (kind), (prev), (shared), (fallback))

KT_TEST(test_counters_exist)
{
	int i;

	for (i = 0; i < KT_NCOUNTERS; i++)
		if (kt_vmstat(kt_counter_names[i]) < 0)
			kt_fail(__FILE__, __LINE__, "no %s in /proc/vmstat",
				kt_counter_names[i]);
	return 0;
}

/*
 * Every way of asking for an on-demand fork shares each whole table of
 * a touched private anonymous region: exactly NTABLES more than the
 * baseline, and no more fallback copies.
 */
KT_TEST(test_counters_share_eligible)
{
	struct fork_count prev;

	kt_sysctl_set(1);
	prev = BASELINE(KT_ODFORK);
	touched_tables(NTABLES);
	ADDS(KT_ODFORK, &prev, NTABLES, 0);
	/* The same tables again: pending reuse in the parent, shared. */
	ADDS(KT_ODFORK, &prev, 0, 0);
	KT_EQ(kt_set_mode(ODFORK_MODE_NEXT), 0);
	ADDS(KT_FORK, &prev, 0, 0);
	KT_EQ(kt_set_mode(ODFORK_MODE_PROCESS), 0);
	ADDS(KT_FORK, &prev, 0, 0);
	KT_EQ(kt_set_mode(ODFORK_MODE_OFF), 0);
	kt_sysctl_set(2);
	ADDS(KT_FORK, &prev, 0, 0);
	return 0;
}

/* Map len bytes starting off bytes after a table boundary, with nothing
 * else in the tables they meet; touch them all. */
static unsigned char *touched_at(size_t len, size_t off, int prot_flags)
{
	size_t span = (off + len + KT_TABLE_SIZE - 1) & ~(KT_TABLE_SIZE - 1);
	unsigned char *t = kt_reserve(span, 0), *a = t + off;

	KT_ASSERT(mmap(a, len, PROT_READ | PROT_WRITE,
		       prot_flags | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == a);
	/* Nothing else in the mapping's tables: holes around it. */
	KT_EQ(off ? munmap(t, off) : 0, 0);
	KT_EQ(span > off + len ? munmap(a + len, span - off - len) : 0, 0);
	KT_EQ(madvise(a, len, MADV_NOHUGEPAGE), 0);
	memset(a, 'I', len);
	return a;
}

static unsigned char *touched_private_file(size_t len)
{
	char path[] = "/tmp/kt-counters-XXXXXX";
	unsigned char *a = kt_reserve(len, 0);
	int fd = mkstemp(path);

	KT_ASSERT(fd >= 0);
	KT_EQ(unlink(path), 0);
	KT_EQ(ftruncate(fd, (off_t)len), 0);
	KT_ASSERT(mmap(a, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_FIXED, fd, 0) == a);
	close(fd);
	memset(a, 'F', len);	/* anonymous COW copies: an anon_vma */
	return a;
}

static void uffd_register(void *p, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)p, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	int fd = (int)syscall(__NR_userfaultfd, O_CLOEXEC);

	KT_ASSERT(fd >= 0);
	KT_EQ(ioctl(fd, UFFDIO_API, &api), 0);
	KT_EQ(ioctl(fd, UFFDIO_REGISTER, &reg), 0);
	/* fd stays open: the registration must exist at the next fork. */
}

/*
 * Ineligible tables are copied classically and counted in fallback;
 * VMAs that fork does not copy at all add to neither counter.  One fork
 * per kind, each compared with the fork before it.
 */
KT_TEST(test_counters_fallback_ineligible)
{
	const size_t two = 2 * KT_TABLE_SIZE;
	struct fork_count prev;
	unsigned char *p;

	kt_sysctl_set(1);
	prev = BASELINE(KT_ODFORK);
	/*
	 * Two tables a mapping covers a quarter of each, holes around it
	 * (less than half: copied, 0031): [1.5M, 2.5M).
	 */
	touched_at(MiB, 3 * MiB / 2, MAP_PRIVATE);
	ADDS(KT_ODFORK, &prev, 0, 2);
	/* [1.5M, 6M): one table a quarter covered, then two whole ones. */
	touched_at(9 * MiB / 2, 3 * MiB / 2, MAP_PRIVATE);
	ADDS(KT_ODFORK, &prev, 2, 1);
	/* [1M, 3M): half of each of two tables, holes around: shared. */
	touched_at(KT_TABLE_SIZE, MiB, MAP_PRIVATE);
	ADDS(KT_ODFORK, &prev, 2, 0);
	/* mlocked */
	p = touched_tables(2);
	KT_EQ(mlock(p, two), 0);
	ADDS(KT_ODFORK, &prev, 0, 2);
	/* MADV_MERGEABLE (ksmd is not running: nothing merges) */
	p = touched_tables(2);
	KT_EQ(madvise(p, two, MADV_MERGEABLE), 0);
	ADDS(KT_ODFORK, &prev, 0, 2);
	/* registered with userfaultfd */
	p = touched_tables(2);
	uffd_register(p, two);
	ADDS(KT_ODFORK, &prev, 0, 2);
	/* a written private file mapping (not anonymous) */
	touched_private_file(two);
	ADDS(KT_ODFORK, &prev, 0, 2);
	/* Not copied at fork at all: MAP_SHARED, DONTFORK, WIPEONFORK. */
	touched_at(two, 0, MAP_SHARED);
	ADDS(KT_ODFORK, &prev, 0, 0);
	p = touched_tables(2);
	KT_EQ(madvise(p, two, MADV_DONTFORK), 0);
	ADDS(KT_ODFORK, &prev, 0, 0);
	p = touched_tables(2);
	KT_EQ(madvise(p, two, MADV_WIPEONFORK), 0);
	ADDS(KT_ODFORK, &prev, 0, 0);
	return 0;
}

/* Pin buf (one page) with io_uring fixed buffers: MMF_HAS_PINNED. */
static void pin_a_page(void *buf)
{
	struct io_uring_params params;
	struct iovec iov;
	int fd;

	memset(&params, 0, sizeof(params));
	fd = (int)syscall(__NR_io_uring_setup, 4, &params);
	KT_ASSERT(fd >= 0);
	iov.iov_base = buf;
	iov.iov_len = 4096;
	KT_EQ(syscall(__NR_io_uring_register, fd, IORING_REGISTER_BUFFERS,
		      &iov, 1), 0);
}

/* Pins are decided per table: the one table that maps a pinned page is
 * copied classically, the others are shared as before the pin. */
KT_TEST(test_counters_pinned_table_copied_rest_shared)
{
	struct fork_count prev;
	unsigned char *p;

	kt_sysctl_set(1);
	prev = BASELINE(KT_ODFORK);
	p = touched_tables(NTABLES);
	ADDS(KT_ODFORK, &prev, NTABLES, 0);
	pin_a_page(p + KT_TABLE_SIZE + 5 * 4096);
	ADDS(KT_ODFORK, &prev, -1, 1);
	return 0;
}

/* A plain fork (vm.odfork=1, mode OFF) moves no counter. */
KT_TEST(test_counters_plain_fork_moves_none)
{
	unsigned char *p;
	struct kt_snap a, b;

	kt_sysctl_set(1);
	touched_tables(NTABLES);
	p = touched_region();
	kt_snap(&a);
	KT_EQ(fork_and_touch(KT_FORK, p), 0);
	memset(p, 'Q', REGION_SIZE);
	kt_snap(&b);
	KT_EXPECT(&a, &b, .forks = 0);	/* nothing moved */
	return 0;
}

/* vm.odfork=0: no counter moves, whatever asks for sharing. */
KT_TEST(test_counters_sysctl_0_moves_none)
{
	unsigned char *p;
	struct kt_snap a, b;

	kt_sysctl_set(0);
	touched_tables(NTABLES);
	p = touched_region();
	kt_snap(&a);
	KT_EQ(fork_and_touch(KT_ODFORK, p), 0);
	KT_EQ(kt_set_mode(ODFORK_MODE_NEXT), 0);
	KT_EQ(fork_and_touch(KT_FORK, p), 0);
	KT_EQ(kt_set_mode(ODFORK_MODE_PROCESS | ODFORK_MODE_INHERIT), 0);
	KT_EQ(fork_and_touch(KT_FORK, p), 0);
	memset(p, 'Q', REGION_SIZE);
	kt_snap(&b);
	KT_EXPECT(&a, &b, .forks = 0);	/* nothing moved */
	return 0;
}

/*
 * /proc/<pid>/odfork_stat: the same events, counted for the process that
 * caused them (forks, shared and fallback for the forking parent, copied,
 * reused, dropped and freed for the process that unshares or unmaps), and
 * the tables it holds now.  Read with read(2) into the stack, so that
 * reading moves nothing (no stdio buffer on a shared heap table).
 */
enum { PS_FORKS, PS_SHARED, PS_COPIED, PS_REUSED, PS_DROPPED, PS_FALLBACK,
       PS_FREED, PS_HELD, PS_N };

static void read_pid_stat(pid_t pid, long long *v)
{
	static const char *const names[PS_N] = {
		"odfork_forks", "odfork_tables_shared", "odfork_tables_copied",
		"odfork_tables_reused", "odfork_tables_dropped",
		"odfork_tables_fallback", "odfork_tables_freed",
		"odfork_tables_held",
	};
	char path[64], buf[512], *line, *save = NULL;
	char name[64];
	long long val;
	int fd, i, seen = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/odfork_stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	KT_ASSERT(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	KT_ASSERT(n > 0);
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		KT_EQ(sscanf(line, "%63s %lld", name, &val), 2);
		for (i = 0; i < PS_N; i++)
			if (!strcmp(name, names[i])) {
				v[i] = val;
				seen |= 1 << i;
			}
	}
	KT_EQ(seen, (1 << PS_N) - 1);
}

/* The child of test_counters_per_process: exit status 0 if all held. */
static int per_process_child(unsigned char *p, long long shared)
{
	long long a[PS_N], b[PS_N];
	size_t t;

	read_pid_stat(getpid(), a);
	/* A new mm: no events of its own; it holds what the fork shared. */
	if (a[PS_FORKS] || a[PS_SHARED] || a[PS_FALLBACK] || a[PS_REUSED] ||
	    a[PS_DROPPED] || a[PS_FREED] ||
	    a[PS_HELD] + a[PS_COPIED] != shared)
		return 10;
	for (t = 0; t < NTABLES; t++)
		p[t * KT_TABLE_SIZE] = 'C';
	read_pid_stat(getpid(), b);
	if (b[PS_COPIED] - a[PS_COPIED] != NTABLES ||
	    a[PS_HELD] - b[PS_HELD] != NTABLES)
		return 11;
	return 0;
}

KT_TEST(test_counters_per_process)
{
	unsigned char *p = touched_tables(NTABLES);
	long long a[PS_N], b[PS_N], c[PS_N];
	int out[2];
	size_t t;
	pid_t pid;
	char go;

	read_pid_stat(getpid(), a);
	KT_EQ(pipe(out), 0);
	fflush(NULL);
	pid = kt_odfork(0);
	KT_ASSERT(pid >= 0);
	if (pid == 0) {
		close(out[1]);
		/* Wait until the parent read its counters. */
		if (read(out[0], &go, 1) != 1)
			_exit(12);
		_exit(per_process_child(p, go));
	}
	close(out[0]);
	read_pid_stat(getpid(), b);
	KT_EQ(b[PS_FORKS] - a[PS_FORKS], 1);
	KT_GE(b[PS_SHARED] - a[PS_SHARED], NTABLES);
	KT_GE(b[PS_HELD], NTABLES);
	/* The child gets the number of tables shared; small in this test. */
	KT_ASSERT(b[PS_SHARED] - a[PS_SHARED] < 128);
	go = (char)(b[PS_SHARED] - a[PS_SHARED]);
	KT_EQ(write(out[1], &go, 1), 1);
	close(out[1]);
	KT_EQ(kt_wait(pid), 0);

	/* The child copied ours and dropped the rest: all ours wait for us. */
	read_pid_stat(getpid(), b);
	for (t = 0; t < NTABLES; t++)
		p[t * KT_TABLE_SIZE] = 'P';
	read_pid_stat(getpid(), c);
	KT_EQ(c[PS_REUSED] - b[PS_REUSED], NTABLES);
	KT_EQ(b[PS_HELD] - c[PS_HELD], NTABLES);
	KT_EQ(c[PS_COPIED], b[PS_COPIED]);
	KT_EQ(munmap(p, NTABLES * KT_TABLE_SIZE), 0);
	return 0;
}

/*
 * The child of test_counters_per_process_freed: once the parent has
 * unmapped the region, the child is its tables' last holder, and its own
 * munmap() frees them.  Exit status 0 if its counters say so.
 */
static int freed_child(unsigned char *p, int in)
{
	long long a[PS_N], b[PS_N];
	char go;

	if (read(in, &go, 1) != 1)
		return 12;
	read_pid_stat(getpid(), a);
	if (munmap(p, NTABLES * KT_TABLE_SIZE))
		return 13;
	read_pid_stat(getpid(), b);
	if (b[PS_FREED] - a[PS_FREED] != NTABLES)
		return 14;
	if (b[PS_DROPPED] != a[PS_DROPPED] || b[PS_REUSED] != a[PS_REUSED] ||
	    b[PS_COPIED] != a[PS_COPIED])
		return 15;
	return 0;
}

/*
 * Unmapping shared tables: the first holder to unmap drops its
 * references (dropped, not freed), the last one frees the tables (freed,
 * not dropped, and no take-back in reused).
 */
KT_TEST(test_counters_per_process_freed)
{
	unsigned char *p = touched_tables(NTABLES);
	long long a[PS_N], b[PS_N];
	int in[2];
	pid_t pid;

	KT_EQ(pipe(in), 0);
	fflush(NULL);
	pid = kt_odfork(0);
	KT_ASSERT(pid >= 0);
	if (pid == 0) {
		close(in[1]);
		_exit(freed_child(p, in[0]));
	}
	close(in[0]);
	read_pid_stat(getpid(), a);
	KT_EQ(munmap(p, NTABLES * KT_TABLE_SIZE), 0);
	read_pid_stat(getpid(), b);
	KT_EQ(b[PS_DROPPED] - a[PS_DROPPED], NTABLES);
	KT_EQ(b[PS_FREED], a[PS_FREED]);
	KT_EQ(b[PS_REUSED], a[PS_REUSED]);
	KT_EQ(write(in[1], "g", 1), 1);
	close(in[1]);
	KT_EQ(kt_wait(pid), 0);
	return 0;
}

/* As uid 65534: another user's counters need ptrace-read (EACCES). */
static int read_root_stat(void *arg)
{
	const pid_t *pid = arg;
	long long own[PS_N];
	char path[64], buf[64];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/odfork_stat", (int)*pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	KT_ASSERT(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	KT_EQ(n, -1);
	KT_EQ(errno, EACCES);
	close(fd);
	read_pid_stat(getpid(), own);
	return 0;
}

KT_TEST(test_counters_per_process_denied)
{
	pid_t self = getpid();

	KT_EQ(kt_run_as(KT_NOBODY, read_root_stat, &self), 0);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_exist),
		cmocka_unit_test(test_counters_share_eligible),
		cmocka_unit_test(test_counters_fallback_ineligible),
		cmocka_unit_test(test_counters_pinned_table_copied_rest_shared),
		cmocka_unit_test(test_counters_plain_fork_moves_none),
		cmocka_unit_test(test_counters_sysctl_0_moves_none),
		cmocka_unit_test(test_counters_per_process),
		cmocka_unit_test(test_counters_per_process_freed),
		cmocka_unit_test(test_counters_per_process_denied),
	};

	kt_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
