/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: userfaultfd and shared PTE tables.
 * - register_after_fork: UFFDIO_REGISTER (MISSING, WP) on tables shared
 *   with a child copies them for the registering process; MISSING faults
 *   (UFFDIO_COPY) and write-protect faults (UFFDIO_WRITEPROTECT on anon)
 *   then work there, and the child sees none of it.
 * - registered_not_shared, _event_fork: a registered range is not shared
 *   at fork (fallback), the rest of the mapping is; with
 *   UFFD_FEATURE_EVENT_FORK the child's range stays registered on the
 *   fork event's descriptor and its MISSING faults are served there.
 * - move_from_shared: UFFDIO_MOVE out of a shared table unshares it; a
 *   page the child still maps cannot move (EBUSY, as after fork()), a
 *   page the parent wrote after the fork moves, the child keeps its own.
 * A monitor thread serves the events: MISSING with a page holding the
 * canary of generation 7 (UFFDIO_COPY), WP by removing the protection.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"
#include "mmutil.h"

/* Added in Linux 6.8; the build host's headers may be older. */
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE	(1 << 16)
#endif
#ifndef UFFDIO_MOVE
struct uffdio_move {
	__u64 dst;
	__u64 src;
	__u64 len;
	__u64 mode;
	__s64 move;
};
#define _UFFDIO_MOVE		(0x05)
#define UFFDIO_MOVE		_IOWR(UFFDIO, _UFFDIO_MOVE, \
				      struct uffdio_move)
#endif

#define NT		4
#define NPAGES		(NT * MU_PPT)
#define GEN_UFFD	7

static char *tab(void *r, int t)
{
	return (char *)r + (size_t)t * MU_TABLE;
}

static int uffd_open(uint64_t features)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	int fd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		kt_fail(__FILE__, __LINE__, "userfaultfd");
	KT_EQ(ioctl(fd, UFFDIO_API, &api), 0);
	return fd;
}

static void uffd_register(int fd, void *p, size_t len, uint64_t mode)
{
	struct uffdio_register reg = {
		.range = { (uintptr_t)p, len }, .mode = mode,
	};

	KT_EQ(ioctl(fd, UFFDIO_REGISTER, &reg), 0);
}

static void uffd_wp(int fd, void *p, size_t len, int on)
{
	struct uffdio_writeprotect wp = {
		.range = { (uintptr_t)p, len },
		.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	KT_EQ(ioctl(fd, UFFDIO_WRITEPROTECT, &wp), 0);
}

/* The monitor: serves fds[0..n-1] until stop; counts what it did. */
struct mon {
	int fds[4];
	atomic_int n;
	atomic_int stop;
	atomic_int missing, wp, forks;
	pthread_t th;
};

static void mon_missing(int fd, uint64_t addr)
{
	static char page[MU_PAGE] __attribute__((aligned(4096)));
	uintptr_t a = addr & ~(MU_PAGE - 1);
	uint64_t *w = (uint64_t *)page;
	struct uffdio_copy cp = { .dst = a, .src = (uintptr_t)page,
				  .len = MU_PAGE };

	memset(page, 0, sizeof(page));
	w[0] = mu_val((void *)a, GEN_UFFD);
	w[MU_PAGE / 8 - 1] = ~w[0];
	if (ioctl(fd, UFFDIO_COPY, &cp) != 0 && errno != EEXIST)
		kt_fail(__FILE__, __LINE__, "UFFDIO_COPY at %#lx",
			(unsigned long)a);
}

static void mon_event(struct mon *m, int fd, const struct uffd_msg *msg)
{
	uint64_t a = msg->arg.pagefault.address & ~(MU_PAGE - 1);

	switch (msg->event) {
	case UFFD_EVENT_PAGEFAULT:
		/* Count first: resolving wakes the faulting thread. */
		if (msg->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) {
			m->wp++;
			uffd_wp(fd, (void *)a, MU_PAGE, 0);
		} else {
			m->missing++;
			mon_missing(fd, a);
		}
		break;
	case UFFD_EVENT_FORK:
		m->fds[m->n] = (int)msg->arg.fork.ufd;
		m->n++;
		m->forks++;
		break;
	}
}

static void *mon_main(void *arg)
{
	struct mon *m = arg;
	struct uffd_msg msg;
	struct pollfd pf[4];
	int i, n;

	while (!m->stop) {
		n = m->n;
		for (i = 0; i < n; i++)
			pf[i] = (struct pollfd){ m->fds[i], POLLIN, 0 };
		if (poll(pf, n, 10) <= 0)
			continue;
		for (i = 0; i < n; i++)
			if ((pf[i].revents & POLLIN) &&
			    read(pf[i].fd, &msg, sizeof(msg)) ==
			    (ssize_t)sizeof(msg))
				mon_event(m, pf[i].fd, &msg);
	}
	return NULL;
}

static void mon_start(struct mon *m, int fd)
{
	memset(m, 0, sizeof(*m));
	m->fds[0] = fd;
	m->n = 1;
	mu_thread(&m->th, mon_main, m);
}

static void mon_stop(struct mon *m)
{
	m->stop = 1;
	pthread_join(m->th, NULL);
}

/* ------------------------------------------------------------------ */

static void raf_child(struct mu_peer *self, void *arg)
{
	char *r = arg;

	mu_wait(self, '1');
	mu_check(r, NPAGES, 0);
	mu_fill(tab(r, 3), 2, 2);
	mu_sync(self, '2');
}

KT_TEST(test_register_after_fork)
{
	char *r = kt_map_tables(NT);
	struct mu_peer c;
	struct kt_snap s;
	struct mon m;
	int fd;

	mu_fill(r, NPAGES, 0);
	kt_snap(&s);
	mu_odfork(&c, raf_child, r);
	KT_STEP(&s, .forks = 1, .shared = NT,
		.fallback = KT_ANY);

	fd = uffd_open(0);
	mon_start(&m, fd);
	uffd_register(fd, tab(r, 1), 2 * MU_TABLE,
		      UFFDIO_REGISTER_MODE_MISSING);
	KT_STEP(&s, .copied = 2);
	uffd_register(fd, tab(r, 3), MU_TABLE, UFFDIO_REGISTER_MODE_WP);
	KT_STEP(&s, .copied = 1);

	/* MISSING: a page dropped from our (copied) table 1. */
	KT_EQ(madvise(tab(r, 1) + 3 * MU_PAGE, MU_PAGE, MADV_DONTNEED), 0);
	KT_STILL(&s);
	mu_check(tab(r, 1) + 3 * MU_PAGE, 1, GEN_UFFD);
	KT_EQ(m.missing, 1);
	/* WP on anon memory in our (copied) table 3. */
	uffd_wp(fd, tab(r, 3), MU_TABLE, 1);
	mu_fill(tab(r, 3) + MU_PAGE, 1, 1);
	KT_EQ(m.wp, 1);
	mu_check(tab(r, 3) + MU_PAGE, 1, 1);

	/* The child saw none of it; its table 3 pending, taken back. */
	mu_send(&c, '1');
	mu_wait(&c, '2');
	KT_STEP(&s, .reused = 1);
	mu_check(tab(r, 3), 1, 0);
	mu_check(tab(r, 3) + 2 * MU_PAGE, MU_PPT - 2, 0);
	mu_check(tab(r, 0), MU_PPT + 3, 0);
	mu_check(tab(r, 1) + 4 * MU_PAGE, 2 * MU_PPT - 4, 0);
	mu_send(&c, '2');
	KT_EQ(mu_end(&c), 0);
	mon_stop(&m);
	KT_EQ(m.missing, 1);
	KT_EQ(m.wp, 1);
	close(fd);
	return 0;
}

/* ------------------------------------------------------------------ */

static void rns_child(struct mu_peer *self, void *arg)
{
	char *r = arg;

	mu_wait(self, '1');
	mu_check(r, NPAGES, 0);
	/* Registered in the child only with EVENT_FORK. */
	KT_EQ(madvise(r + 9 * MU_PAGE, MU_PAGE, MADV_DONTNEED), 0);
	mu_send(self, '2');
	mu_wait(self, '3');
	if (mu_holds(r + 9 * MU_PAGE, 0))
		kt_fail(__FILE__, __LINE__, "page 9 survived MADV_DONTNEED");
	mu_send(self, mu_holds(r + 9 * MU_PAGE, GEN_UFFD) ? 'u' : 'z');
	mu_fill(tab(r, 2), 1, 1);
	mu_check(tab(r, 2), 1, 1);
	mu_sync(self, '4');
}

static void registered_not_shared(int event_fork)
{
	struct mu_peer c;
	struct kt_snap s;
	struct mon m;
	long long base;
	char got, *r;
	int fd;

	fd = uffd_open(event_fork ? UFFD_FEATURE_EVENT_FORK : 0);
	mon_start(&m, fd);
	base = mu_probe_fallback();
	r = kt_map_tables(NT);
	mu_fill(r, NPAGES, 0);
	uffd_register(fd, r, 2 * MU_TABLE, UFFDIO_REGISTER_MODE_MISSING);
	kt_snap(&s);
	mu_odfork(&c, rns_child, r);
	KT_STEP(&s, .forks = 1, .shared = 2,
		.fallback = base + 2);
	mu_send(&c, '1');
	mu_wait(&c, '2');
	KT_EQ(m.forks, event_fork);
	mu_send(&c, '3');
	KT_EQ(read(c.rx, &got, 1), 1);
	KT_EQ(got, event_fork ? 'u' : 'z');
	KT_EQ(m.missing, event_fork);
	mu_wait(&c, '4');
	KT_STEP(&s, .copied = 1);
	mu_check(r, NPAGES, 0);
	mu_send(&c, '4');
	KT_EQ(mu_end(&c), 0);
	mon_stop(&m);
	close(fd);
}

KT_TEST(test_registered_not_shared)
{
	registered_not_shared(0);
	return 0;
}

KT_TEST(test_registered_not_shared_event_fork)
{
	registered_not_shared(1);
	return 0;
}

/* ------------------------------------------------------------------ */

static void mfs_child(struct mu_peer *self, void *arg)
{
	char *r = arg;

	mu_wait(self, '1');
	mu_check(r, NPAGES, 0);
	mu_sync(self, '2');
}

static int move(int fd, void *dst, void *src)
{
	struct uffdio_move mv = {
		.dst = (uintptr_t)dst, .src = (uintptr_t)src, .len = MU_PAGE,
	};

	return ioctl(fd, UFFDIO_MOVE, &mv);
}

KT_TEST(test_move_from_shared)
{
	char *r = kt_map_tables(NT);
	char *dst = kt_map_tables(1);
	struct mu_peer c;
	struct kt_snap s;
	int fd;

	mu_fill(r, NPAGES, 0);
	fd = uffd_open(UFFD_FEATURE_MOVE);
	uffd_register(fd, dst, MU_TABLE, UFFDIO_REGISTER_MODE_MISSING);
	kt_snap(&s);
	mu_odfork(&c, mfs_child, r);
	KT_STEP(&s, .forks = 1, .shared = NT,
		.fallback = KT_ANY);

	/* The child maps page 4: it cannot move; the table is ours now. */
	KT_FAILS(move(fd, dst, r + 4 * MU_PAGE), EBUSY);
	KT_STEP(&s, .copied = 1);
	mu_check(r, MU_PPT, 0);
	/* A page we wrote after the fork is ours alone: it moves. */
	mu_fill(r + 5 * MU_PAGE, 1, 1);
	KT_EQ(move(fd, dst, r + 5 * MU_PAGE), 0);
	KT_STILL(&s);
	KT_EQ(*(volatile uint64_t *)(r + 5 * MU_PAGE), 0);
	KT_EQ(((uint64_t *)dst)[0], mu_val(r + 5 * MU_PAGE, 1));
	mu_check(tab(r, 1), 3 * MU_PPT, 0);
	mu_send(&c, '1');
	mu_wait(&c, '2');
	mu_send(&c, '2');
	KT_EQ(mu_end(&c), 0);
	/* The child dropped tables 1-3 and freed table 0 (its last holder). */
	KT_STEP(&s, .dropped = NT - 1, .freed = 1);

	/*
	 * Table 1 is pending reuse (the child is gone): the move takes it
	 * back without a copy, and the take-back leaves its pages as fork()
	 * leaves them (not exclusive): EBUSY, as after a classic fork() and
	 * the child's exit, until we write the page; then it moves.
	 */
	KT_FAILS(move(fd, dst + MU_PAGE, tab(r, 1) + 6 * MU_PAGE), EBUSY);
	KT_STEP(&s, .reused = 1);
	mu_fill(tab(r, 1) + 6 * MU_PAGE, 1, 2);
	KT_EQ(move(fd, dst + MU_PAGE, tab(r, 1) + 6 * MU_PAGE), 0);
	KT_STILL(&s);
	KT_EQ(*(volatile uint64_t *)(tab(r, 1) + 6 * MU_PAGE), 0);
	KT_EQ(((uint64_t *)(dst + MU_PAGE))[0],
	      mu_val(tab(r, 1) + 6 * MU_PAGE, 2));
	mu_check(tab(r, 1) + 7 * MU_PAGE, 2 * MU_PPT - 7, 0);
	close(fd);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_after_fork),
		cmocka_unit_test(test_registered_not_shared),
		cmocka_unit_test(test_registered_not_shared_event_fork),
		cmocka_unit_test(test_move_from_shared),
	};

	kt_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
