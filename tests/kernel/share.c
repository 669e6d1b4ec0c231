/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: PTE tables shared by an on-demand fork (DESIGN.md 4).
 *
 * Each test first asserts, through the /proc/vmstat counters, that the
 * fork shared the tables and that every later step copied, reused,
 * dropped or freed exactly the tables it should; then it checks what the
 * processes see: each one only its own writes, and the fork-time values
 * elsewhere.
 *
 * Most tests drive "agents": processes that act on command over a
 * SOCK_SEQPACKET socket, so that the body can order every step of every
 * process and read the counters between steps.  A root agent is forked
 * (classically) by the body and maps a region of whole PTE tables
 * (2 MiB each, 2 MiB aligned, MADV_NOHUGEPAGE, every page written); an
 * agent creates children with the raw odfork(0) syscall.  Page i of a
 * region holds FORK_VAL(i) in its first word and its complement in its
 * last word; a writer replaces them with CANARY(id, i) on the pages it
 * owns.  An agent that sees something wrong prints why and exits 1; the
 * body then fails on the closed socket.
 */
#include <fcntl.h>
#include <malloc.h>
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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"

#define TS		KT_TABLE_SIZE
#define TP		KT_TABLE_PAGES
#define PS		KT_PAGE_SIZE
#define MiB		(1UL << 20)
#define ISO_TABLES	64	/* isolation tests: 128 MiB */
#define PATH_TABLES	8	/* tests of one path: 16 MiB */
#define SIBLINGS	16
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define FORK_VAL(i)	(0x0df0000000000000ULL | (uint64_t)(i))
#define CANARY(id, i)	(0xca00000000000000ULL | \
			 ((uint64_t)(id) << 32) | (uint64_t)(i))
#define PG(t, p)	((long)(t) * TP + (p))	/* page index in a region */

/* Which pages a writer owns: page `slot` (or every page) of each
 * stride-th table in [t0, t1). */
struct wr {
	int id;
	int t0, t1;
	int stride;
	int slot;
};

#define ALL_PAGES	(-1)
#define MAXW		8

static struct wr W(int id, int t0, int t1)
{
	struct wr w = { id, t0, t1, 1, (id * 29 + 7) % TP };

	return w;
}

static struct wr W_EVEN(int id, int t0, int t1)
{
	struct wr w = W(id, t0, t1);

	w.stride = 2;
	return w;
}

static struct wr W_ALL(int id, int t0, int t1)
{
	struct wr w = W(id, t0, t1);

	w.slot = ALL_PAGES;
	return w;
}

/* ------------------------------------------------------------------ */
/* The agent side. */

enum op_code {
	OP_REGION = 'R',	/* arg0 tables, arg1 REGION_*: base */
	OP_WRITE = 'W',		/* arg0 base; w[0] */
	OP_VERIFY = 'V',	/* arg0 addr of page arg1, arg2 pages; view */
	OP_ZERO = 'Z',		/* arg0 addr, arg1 pages: all zero */
	OP_FREED = 'Y',		/* as OP_VERIFY (no view): value or zero */
	OP_READ = 'X',		/* arg0 addr, arg1 pages: read them */
	OP_FORK = 'O',		/* odfork(0); the child serves the passed fd */
	OP_SYS = 'S',		/* arg0 SYS_*, arg1..5: ret, errno */
	OP_QUIT = 'Q',		/* _exit(0), no reply */
};

enum sys_code {
	SYS_MMAP, SYS_MUNMAP, SYS_MPROTECT, SYS_MADVISE, SYS_MLOCK,
	SYS_MLOCK2, SYS_MUNLOCK, SYS_MREMAP, SYS_MINCORE,
};

#define REGION_TAIL	1	/* a PROT_NONE table-sized hole after it */
#define REGION_POPULATE	2	/* MAP_POPULATE; only even tables written */

struct op {
	int code;
	int nw;
	long arg[6];
	struct wr w[MAXW];
};

struct reply {
	long ret;
	int err;
};

static uint64_t *word(uintptr_t addr, long page, int w)
{
	return (uint64_t *)(addr + (uintptr_t)page * PS) + w;
}

static int wr_has(const struct wr *w, long i)
{
	long t = i / TP;

	if (t < w->t0 || t >= w->t1 || (t - w->t0) % w->stride)
		return 0;
	return w->slot == ALL_PAGES || w->slot == i % TP;
}

/* The value page i holds in a process that saw the writes of view. */
static uint64_t expected(long i, const struct wr *view, int nw)
{
	uint64_t v = FORK_VAL(i);
	int k;

	for (k = 0; k < nw; k++)
		if (wr_has(&view[k], i))
			v = CANARY(view[k].id, i);
	return v;
}

static void put(uintptr_t addr, long page, uint64_t v)
{
	*word(addr, page, 0) = v;
	*word(addr, page, TP - 1) = ~v;
}

static void check_page(uintptr_t addr, long j, long i, uint64_t want)
{
	uint64_t first = *word(addr, j, 0);
	uint64_t last = *word(addr, j, TP - 1);

	if (first != want || last != ~want)
		kt_fail(__FILE__, __LINE__,
			"page %ld (table %ld, page %ld) at %#lx: %#llx/%#llx, "
			"want %#llx", i, i / TP, i % TP,
			(unsigned long)(addr + (uintptr_t)j * PS),
			(unsigned long long)first, (unsigned long long)last,
			(unsigned long long)want);
}

static uintptr_t region_map(long n, long flags)
{
	size_t len = (size_t)n * TS;
	uintptr_t a = (uintptr_t)kt_reserve(len + TS, 0);
	int mflags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

	if (flags & REGION_POPULATE)
		mflags |= MAP_POPULATE;
	if (mmap((void *)a, len, PROT_READ | PROT_WRITE, mflags, -1, 0) !=
	    (void *)a || madvise((void *)a, len, MADV_NOHUGEPAGE) != 0)
		kt_fail(__FILE__, __LINE__, "region of %ld tables", n);
	if (!(flags & REGION_TAIL) && munmap((void *)(a + len), TS) != 0)
		kt_fail(__FILE__, __LINE__, "munmap tail");
	return a;
}

static long op_region(const struct op *op)
{
	long n = op->arg[0];
	uintptr_t a = region_map(n, op->arg[1]);
	long i;

	for (i = 0; i < n * TP; i++)
		if (!(op->arg[1] & REGION_POPULATE) || (i / TP) % 2 == 0)
			put(a, i, FORK_VAL(i));
	return (long)a;
}

static long op_write(const struct op *op)
{
	const struct wr *w = &op->w[0];
	long i;

	for (i = (long)w->t0 * TP; i < (long)w->t1 * TP; i++)
		if (wr_has(w, i))
			put((uintptr_t)op->arg[0], i, CANARY(w->id, i));
	return 0;
}

static long op_verify(const struct op *op)
{
	long j;

	for (j = 0; j < op->arg[2]; j++)
		check_page((uintptr_t)op->arg[0], j, op->arg[1] + j,
			   expected(op->arg[1] + j, op->w, op->nw));
	return 0;
}

static long op_zero(const struct op *op)
{
	static const uint64_t zero[TP];
	long j;

	for (j = 0; j < op->arg[1]; j++)
		if (memcmp(word((uintptr_t)op->arg[0], j, 0), zero, PS) != 0)
			kt_fail(__FILE__, __LINE__, "page at %#lx not zero",
				(unsigned long)op->arg[0] + j * PS);
	return 0;
}

static long op_freed(const struct op *op)
{
	uintptr_t a = (uintptr_t)op->arg[0];
	long j;

	for (j = 0; j < op->arg[2]; j++)
		if (*word(a, j, 0) || *word(a, j, TP - 1))
			check_page(a, j, op->arg[1] + j,
				   FORK_VAL(op->arg[1] + j));
	return 0;
}

static long op_read(const struct op *op)
{
	uint64_t sum = 0;
	long j;

	for (j = 0; j < op->arg[1]; j++)
		sum += *(volatile uint64_t *)word((uintptr_t)op->arg[0], j, 0);
	return (long)(sum & 1);
}

static long op_sys(const struct op *op)
{
	static unsigned char vec[PATH_TABLES * 2 * TP];
	const long *a = op->arg;
	void *p = (void *)a[1];

	switch (a[0]) {
	case SYS_MMAP:
		return (long)mmap(p, a[2], (int)a[3], (int)a[4], -1, 0);
	case SYS_MUNMAP:
		return munmap(p, a[2]);
	case SYS_MPROTECT:
		return mprotect(p, a[2], (int)a[3]);
	case SYS_MADVISE:
		return madvise(p, a[2], (int)a[3]);
	case SYS_MLOCK:
		return mlock(p, a[2]);
	case SYS_MLOCK2:
		return mlock2(p, a[2], (unsigned int)a[3]);
	case SYS_MUNLOCK:
		return munlock(p, a[2]);
	case SYS_MREMAP:
		return (long)mremap(p, a[2], a[3], (int)a[4], (void *)a[5]);
	case SYS_MINCORE:
		if ((size_t)a[2] / PS > sizeof(vec))
			return -2;
		return mincore(p, a[2], vec);
	}
	return -2;
}

static void agent_serve(int fd);

static long op_fork(int fd, int newfd)
{
	pid_t pid;

	if (newfd < 0)
		kt_fail(__FILE__, __LINE__, "OP_FORK without a socket");
	pid = kt_odfork(0);
	if (pid < 0)
		kt_fail(__FILE__, __LINE__, "odfork");
	if (pid == 0) {
		close(fd);
		agent_serve(newfd);
	}
	close(newfd);
	return pid;
}

/* Receive one op (and the fd passed with it, or -1); 0 at EOF. */
static int recv_op(int fd, struct op *op, int *newfd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { op, sizeof(*op) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	ssize_t n;

	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	if (n != (ssize_t)sizeof(*op))
		kt_fail(__FILE__, __LINE__, "short op (%zd bytes)", n);
	*newfd = -1;
	c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(newfd, CMSG_DATA(c), sizeof(int));
	return 1;
}

static long agent_do(int fd, const struct op *op, int newfd)
{
	switch (op->code) {
	case OP_REGION:
		return op_region(op);
	case OP_WRITE:
		return op_write(op);
	case OP_VERIFY:
		return op_verify(op);
	case OP_ZERO:
		return op_zero(op);
	case OP_FREED:
		return op_freed(op);
	case OP_READ:
		return op_read(op);
	case OP_FORK:
		return op_fork(fd, newfd);
	case OP_SYS:
		return op_sys(op);
	case OP_QUIT:
		_exit(0);
	}
	kt_fail(__FILE__, __LINE__, "unknown op %d", op->code);
}

static void agent_serve(int fd)
{
	struct op op;
	struct reply rep;
	int newfd;

	while (recv_op(fd, &op, &newfd)) {
		errno = 0;
		rep.ret = agent_do(fd, &op, newfd);
		rep.err = errno;
		if (send(fd, &rep, sizeof(rep), MSG_NOSIGNAL) !=
		    (ssize_t)sizeof(rep))
			_exit(1);
	}
	_exit(0);
}

/* ------------------------------------------------------------------ */
/* The body side. */

struct ag {
	pid_t pid;
	int fd;
	int root;	/* forked by the body (classically) */
	int last;	/* op in flight */
};

static int body_fds[2 + SIBLINGS * 2];
static int body_nfds;

static void ag_track(int fd)
{
	KT_ASSERT(body_nfds < (int)ARRAY_SIZE(body_fds));
	body_fds[body_nfds++] = fd;
}

/* A root agent: forked by the body, THP off, children auto-reaped. */
static void ag_root(struct ag *a)
{
	int sv[2];
	int i;

	KT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	fflush(NULL);
	a->pid = fork();
	KT_ASSERT(a->pid >= 0);
	if (a->pid == 0) {
		for (i = 0; i < body_nfds; i++)
			close(body_fds[i]);
		close(sv[0]);
		KT_EQ(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0), 0);
		signal(SIGCHLD, SIG_IGN);
		agent_serve(sv[1]);
	}
	close(sv[1]);
	a->fd = sv[0];
	a->root = 1;
	ag_track(a->fd);
}

static void ag_send(struct ag *a, const struct op *op, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { (void *)op, sizeof(*op) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (fd >= 0) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	a->last = op->code;
	if (sendmsg(a->fd, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(*op))
		kt_fail(__FILE__, __LINE__, "agent %d gone before op '%c'",
			(int)a->pid, a->last);
}

static struct reply ag_reply(struct ag *a)
{
	struct reply rep;
	ssize_t n;

	do
		n = recv(a->fd, &rep, sizeof(rep), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(rep))
		kt_fail(__FILE__, __LINE__,
			"agent %d died in op '%c' (its message is above)",
			(int)a->pid, a->last);
	return rep;
}

static long ag_call(struct ag *a, const struct op *op)
{
	ag_send(a, op, -1);
	return ag_reply(a).ret;
}

/* odfork a child agent of parent into *c. */
static void ag_fork(struct ag *parent, struct ag *c)
{
	struct op op = { .code = OP_FORK };
	int sv[2];

	KT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	ag_send(parent, &op, sv[1]);
	close(sv[1]);
	c->pid = (pid_t)ag_reply(parent).ret;
	KT_ASSERT(c->pid > 0);
	c->fd = sv[0];
	c->root = 0;
	ag_track(c->fd);
}

/* Quit and wait until the agent's mm is gone (its socket closes after
 * exit_mm() in do_exit()). */
static void ag_quit(struct ag *a)
{
	struct op op = { .code = OP_QUIT };
	char c;
	int i;

	ag_send(a, &op, -1);
	for (;;) {
		ssize_t n = recv(a->fd, &c, 1, 0);

		if (n == 0)
			break;
		if (n < 0 && errno != EINTR)
			kt_fail(__FILE__, __LINE__, "recv from agent %d",
				(int)a->pid);
	}
	close(a->fd);
	for (i = 0; i < body_nfds; i++)
		if (body_fds[i] == a->fd)
			body_fds[i] = body_fds[--body_nfds];
	if (a->root)
		KT_EQ(kt_wait(a->pid), 0);
}

static uintptr_t ag_region(struct ag *a, long n, long flags)
{
	struct op op = { .code = OP_REGION, .arg = { n, flags } };

	return (uintptr_t)ag_call(a, &op);
}

static struct op write_op(uintptr_t base, struct wr w)
{
	struct op op = { .code = OP_WRITE, .nw = 1, .arg = { (long)base } };

	op.w[0] = w;
	return op;
}

static void ag_write(struct ag *a, uintptr_t base, struct wr w)
{
	struct op op = write_op(base, w);

	ag_call(a, &op);
}

static struct op verify_op(uintptr_t addr, long first, long n,
			   const struct wr *view, int nw)
{
	struct op op = { .code = OP_VERIFY, .nw = nw,
			 .arg = { (long)addr, first, n } };

	KT_ASSERT(nw <= MAXW);
	if (nw)
		memcpy(op.w, view, (size_t)nw * sizeof(*view));
	return op;
}

/* Pages [first, first + n) of a region, at addr, as the view says. */
static void ag_verify(struct ag *a, uintptr_t addr, long first, long n,
		      const struct wr *view, int nw)
{
	struct op op = verify_op(addr, first, n, view, nw);

	ag_call(a, &op);
}

#define VIEW(...)	((const struct wr[]){ __VA_ARGS__ }),		\
			(int)ARRAY_SIZE(((const struct wr[]){ __VA_ARGS__ }))
#define NOVIEW		NULL, 0

static void ag_zero(struct ag *a, uintptr_t addr, long n)
{
	struct op op = { .code = OP_ZERO, .arg = { (long)addr, n } };

	ag_call(a, &op);
}

static void ag_read(struct ag *a, uintptr_t addr, long n)
{
	struct op op = { .code = OP_READ, .arg = { (long)addr, n } };

	ag_call(a, &op);
}

static long ag_sys(struct ag *a, int *err, long code, long a1, long a2,
		   long a3, long a4, long a5)
{
	struct op op = { .code = OP_SYS,
			 .arg = { code, a1, a2, a3, a4, a5 } };
	struct reply rep;

	ag_send(a, &op, -1);
	rep = ag_reply(a);
	*err = rep.err;
	return rep.ret;
}

/* A system call in agent a that must succeed; its return value. */
#define SYS_OK(a, code, ...)	sys_ok(__FILE__, __LINE__, a, #code,	\
				       code, __VA_ARGS__)

static long sys_ok(const char *file, int line, struct ag *a,
		   const char *name, long code, long a1, long a2, long a3,
		   long a4, long a5)
{
	int err;
	long r = ag_sys(a, &err, code, a1, a2, a3, a4, a5);

	if (r == -1 || (code == SYS_MMAP && r == (long)MAP_FAILED)) {
		errno = err;
		kt_fail(file, line, "%s in agent %d", name, (int)a->pid);
	}
	return r;
}

/* [addr, addr + len) must not be mapped in agent a. */
static void ag_unmapped(struct ag *a, uintptr_t addr, size_t len)
{
	int err;

	KT_EQ(ag_sys(a, &err, SYS_MINCORE, (long)addr, (long)len, 0, 0, 0),
	      -1);
	KT_EQ(err, ENOMEM);
}

/* Agent parent odforks child agent *c, and the fork shares n tables (the
 * counters checked against *s, then taken again). */
#define FORK_SHARING(parent, c, n, s)					\
	fork_sharing(__FILE__, __LINE__, (parent), (c), (n), (s))

static void fork_sharing(const char *file, int line, struct ag *parent,
			 struct ag *c, long n, struct kt_snap *s)
{
	ag_fork(parent, c);
	kt_step(file, line, s, (struct kt_delta){
		.forks = 1, .shared = n, .fallback = KT_ANY });
}

/* With vm.odfork=1, a root agent with a region of n tables, and an
 * odforked child: the fork shares every table of the region. */
#define PAIR(a, b, n, flags, s)						\
	pair(__FILE__, __LINE__, (a), (b), (n), (flags), (s))

static uintptr_t pair(const char *file, int line, struct ag *a,
		      struct ag *b, long n, long flags, struct kt_snap *s)
{
	uintptr_t base;

	kt_sysctl_set(1);
	ag_root(a);
	base = ag_region(a, n, flags);
	kt_snap(s);
	fork_sharing(file, line, a, b, n, s);
	return base;
}

#define ALL(base, n)	(base), 0, (long)(n) * TP	/* a whole region */
#define TABLE(base, t)	(base) + (uintptr_t)(t) * TS, PG(t, 0), TP

/* ------------------------------------------------------------------ */
/* Isolation: each process sees its own writes only, in every order. */

/* The child writes first, then the parent; the child exits first. */
KT_TEST(test_share_isolation_child_writes_first)
{
	const int n = ISO_TABLES;
	struct ag a, b;
	struct kt_snap s;
	uintptr_t base;

	base = PAIR(&a, &b, n, 0, &s);
	ag_write(&b, base, W(1, 0, n));
	KT_STEP(&s, .copied = n);
	ag_write(&a, base, W(0, 0, n));
	KT_STEP(&s, .reused = n);
	ag_verify(&b, ALL(base, n), VIEW(W(1, 0, n)));
	ag_verify(&a, ALL(base, n), VIEW(W(0, 0, n)));
	ag_quit(&b);
	KT_STILL(&s);		/* b held private copies only */
	ag_verify(&a, ALL(base, n), VIEW(W(0, 0, n)));
	ag_quit(&a);
	return 0;
}

/* The parent writes first, then the child; the parent exits first. */
KT_TEST(test_share_isolation_parent_writes_first)
{
	const int n = ISO_TABLES;
	struct ag a, b;
	struct kt_snap s;
	uintptr_t base;

	base = PAIR(&a, &b, n, 0, &s);
	ag_write(&a, base, W(0, 0, n));
	KT_STEP(&s, .copied = n);
	ag_verify(&b, ALL(base, n), NOVIEW);
	ag_write(&b, base, W(1, 0, n));
	KT_STEP(&s, .reused = n);
	ag_verify(&a, ALL(base, n), VIEW(W(0, 0, n)));
	ag_quit(&a);
	KT_STILL(&s);
	ag_verify(&b, ALL(base, n), VIEW(W(1, 0, n)));
	ag_quit(&b);
	return 0;
}

/* The child only reads and exits: it drops every table, the parent
 * then takes them back without a copy. */
KT_TEST(test_share_isolation_child_exits_unwritten)
{
	const int n = ISO_TABLES;
	struct ag a, b;
	struct kt_snap s;
	uintptr_t base;

	base = PAIR(&a, &b, n, 0, &s);
	ag_verify(&b, ALL(base, n), NOVIEW);
	KT_STILL(&s);
	ag_quit(&b);
	KT_STEP(&s, .dropped = n);
	ag_verify(&a, ALL(base, n), NOVIEW);
	ag_write(&a, base, W(0, 0, n));
	KT_STEP(&s, .reused = n);
	ag_verify(&a, ALL(base, n), VIEW(W(0, 0, n)));
	ag_quit(&a);
	return 0;
}

/* The child writes and exits before the parent writes: the parent still
 * sees the fork-time values, then reuses its tables. */
KT_TEST(test_share_isolation_child_exits_before_parent_writes)
{
	const int n = ISO_TABLES;
	struct ag a, b;
	struct kt_snap s;
	uintptr_t base;

	base = PAIR(&a, &b, n, 0, &s);
	ag_write(&b, base, W(1, 0, n));
	KT_STEP(&s, .copied = n);
	ag_verify(&b, ALL(base, n), VIEW(W(1, 0, n)));
	ag_quit(&b);
	KT_STILL(&s);
	ag_verify(&a, ALL(base, n), NOVIEW);
	ag_write(&a, base, W(0, 0, n));
	KT_STEP(&s, .reused = n);
	ag_verify(&a, ALL(base, n), VIEW(W(0, 0, n)));
	ag_quit(&a);
	return 0;
}

/* The parent (the tables' accounting owner) writes half the tables and
 * exits first; the child keeps the fork-time values and takes every
 * table over. */
KT_TEST(test_share_isolation_parent_exits_first)
{
	const int n = ISO_TABLES;
	struct ag a, b;
	struct kt_snap s;
	uintptr_t base;

	base = PAIR(&a, &b, n, 0, &s);
	ag_write(&a, base, W_EVEN(0, 0, n));
	KT_STEP(&s, .copied = n / 2);
	ag_verify(&a, ALL(base, n), VIEW(W_EVEN(0, 0, n)));
	ag_quit(&a);
	KT_STEP(&s, .dropped = n / 2);
	ag_verify(&b, ALL(base, n), NOVIEW);
	ag_write(&b, base, W(1, 0, n));
	KT_STEP(&s, .reused = n);
	ag_verify(&b, ALL(base, n), VIEW(W(1, 0, n)));
	ag_quit(&b);
	return 0;
}

/*
 * Three generations.  b writes the even tables, then odforks c, which
 * shares b's private copies and the odd tables still shared with a.
 * Every later write: a copy where another process still holds the
 * table, a reuse where the writer is its last holder.
 */
KT_TEST(test_share_isolation_three_generations)
{
	const int n = ISO_TABLES;
	struct ag a, b, c;
	struct kt_snap s;
	uintptr_t base;

	base = PAIR(&a, &b, n, 0, &s);
	ag_write(&b, base, W_EVEN(1, 0, n));
	KT_STEP(&s, .copied = n / 2);
	FORK_SHARING(&b, &c, n, &s);
	ag_write(&c, base, W(2, 0, n));
	KT_STEP(&s, .copied = n);
	ag_write(&b, base, W(3, 0, n));
	KT_STEP(&s, .copied = n / 2, .reused = n / 2);
	ag_write(&a, base, W(0, 0, n));
	KT_STEP(&s, .reused = n);
	ag_verify(&a, ALL(base, n), VIEW(W(0, 0, n)));
	ag_verify(&b, ALL(base, n), VIEW(W_EVEN(1, 0, n), W(3, 0, n)));
	ag_verify(&c, ALL(base, n), VIEW(W_EVEN(1, 0, n), W(2, 0, n)));
	ag_quit(&b);	/* the middle generation first */
	ag_verify(&c, ALL(base, n), VIEW(W_EVEN(1, 0, n), W(2, 0, n)));
	ag_verify(&a, ALL(base, n), VIEW(W(0, 0, n)));
	ag_quit(&c);
	ag_verify(&a, ALL(base, n), VIEW(W(0, 0, n)));
	KT_STILL(&s);
	ag_quit(&a);
	return 0;
}

/* Three generations that only read: the middle one exits first and drops
 * its references; the others then copy and reuse. */
KT_TEST(test_share_isolation_generations_middle_exits)
{
	const int n = ISO_TABLES;
	struct ag a, b, c;
	struct kt_snap s;
	uintptr_t base;

	base = PAIR(&a, &b, n, 0, &s);
	FORK_SHARING(&b, &c, n, &s);
	ag_read(&b, base, n * TP);
	ag_read(&c, base, n * TP);
	KT_STILL(&s);
	ag_quit(&b);
	KT_STEP(&s, .dropped = n);
	ag_write(&a, base, W(0, 0, n));
	KT_STEP(&s, .copied = n);
	ag_verify(&c, ALL(base, n), NOVIEW);
	ag_write(&c, base, W(2, 0, n));
	KT_STEP(&s, .reused = n);
	ag_verify(&a, ALL(base, n), VIEW(W(0, 0, n)));
	ag_quit(&a);
	ag_verify(&c, ALL(base, n), VIEW(W(2, 0, n)));
	ag_quit(&c);
	return 0;
}

static void send_all(struct ag *ags, int from, int to, const struct op *op)
{
	int i;

	for (i = from; i < to; i++)
		ag_send(&ags[i], &op[i], -1);
}

static void reply_all(struct ag *ags, int from, int to)
{
	int i;

	for (i = from; i < to; i++)
		ag_reply(&ags[i]);
}

/*
 * 16 siblings.  1..8 write concurrently while the parent still holds
 * every table (copies), the parent writes (copies: 9..16 hold them),
 * then 9..16, which only read, exit one by one: each drops its
 * references, the last one takes the tables back and zaps them.
 */
KT_TEST(test_share_isolation_siblings)
{
	const int n = ISO_TABLES, half = SIBLINGS / 2;
	struct ag a, kid[SIBLINGS + 1];
	struct op op[SIBLINGS + 1];
	struct kt_snap s;
	uintptr_t base;
	int k;

	kt_sysctl_set(1);
	ag_root(&a);
	base = ag_region(&a, n, 0);
	kt_snap(&s);
	for (k = 1; k <= SIBLINGS; k++)
		ag_fork(&a, &kid[k]);
	KT_STEP(&s, .forks = SIBLINGS, .shared = SIBLINGS * n,
		.fallback = KT_ANY);
	for (k = 1; k <= half; k++)
		op[k] = write_op(base, W(k, 0, n));
	send_all(kid, 1, half + 1, op);
	reply_all(kid, 1, half + 1);
	KT_STEP(&s, .copied = half * n);
	ag_write(&a, base, W(0, 0, n));
	KT_STEP(&s, .copied = n);
	for (k = 1; k <= SIBLINGS; k++)
		op[k] = k <= half ? verify_op(ALL(base, n), VIEW(W(k, 0, n)))
				  : verify_op(ALL(base, n), NOVIEW);
	send_all(kid, 1, SIBLINGS + 1, op);
	ag_verify(&a, ALL(base, n), VIEW(W(0, 0, n)));
	reply_all(kid, 1, SIBLINGS + 1);
	for (k = half + 1; k < SIBLINGS; k++)
		ag_quit(&kid[k]);
	KT_STEP(&s, .dropped = (half - 1) * n);
	ag_quit(&kid[SIBLINGS]);
	KT_STEP(&s, .freed = n);
	for (k = 1; k <= half; k++)
		ag_verify(&kid[k], ALL(base, n), VIEW(W(k, 0, n)));
	for (k = 1; k <= half; k++)
		ag_quit(&kid[k]);
	KT_STILL(&s);
	ag_verify(&a, ALL(base, n), VIEW(W(0, 0, n)));
	ag_quit(&a);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Copy, reuse and drop, one table at a time. */

/*
 * Reads copy nothing; the first write in a table copies it once, more
 * writes in it copy nothing; the other holder's write then reuses it;
 * after the child exits, the parent's write reuses.
 */
KT_TEST(test_share_first_write_copies_once)
{
	const int n = PATH_TABLES;
	struct ag a, b;
	struct kt_snap s;
	uintptr_t base;

	base = PAIR(&a, &b, n, 0, &s);
	ag_read(&b, base, n * TP);
	ag_read(&a, base, n * TP);
	ag_verify(&b, ALL(base, n), NOVIEW);
	KT_STILL(&s);
	ag_write(&b, base, W(1, 3, 4));
	KT_STEP(&s, .copied = 1);
	ag_write(&b, base, W_ALL(2, 3, 4));
	ag_write(&b, base, W(1, 3, 4));
	KT_STILL(&s);
	ag_write(&a, base, W(0, 3, 4));
	KT_STEP(&s, .reused = 1);
	ag_verify(&b, ALL(base, n), VIEW(W_ALL(2, 3, 4), W(1, 3, 4)));
	ag_verify(&a, ALL(base, n), VIEW(W(0, 3, 4)));
	ag_quit(&b);
	KT_STEP(&s, .dropped = n - 1);
	ag_write(&a, base, W(0, 5, 6));
	KT_STEP(&s, .reused = 1);
	ag_verify(&a, ALL(base, n), VIEW(W(0, 3, 4), W(0, 5, 6)));
	ag_quit(&a);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The first write's private page and the other threads' TLBs. */

#define SPIN_S		10	/* a reader gives up after this long */

struct spinner {
	const volatile uint64_t *word;
	uint64_t want;
	atomic_int ready;
	int seen;		/* it read want */
};

static void *spinner_main(void *arg)
{
	struct spinner *r = arg;
	struct timespec t0, t;

	(void)*r->word;		/* the old translation, cached */
	atomic_store(&r->ready, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (*r->word == r->want) {
			r->seen = 1;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < SPIN_S);
	return NULL;
}

/*
 * The first write into a shared table makes the writer's private page in
 * the same fault that copies the table: a thread of the writer that has
 * been reading that page through the shared table (its CPU caching the
 * translation to the old page) must see the write, and the child keeps
 * the fork-time values.  One table after the other, a reader thread spins
 * on a word while the main thread writes it.
 */
KT_TEST(test_share_first_write_seen_by_reader)
{
	const int n = PATH_TABLES;
	uint64_t *base = kt_map_tables(n);
	struct timespec nap = { 0, 10 * 1000 * 1000 };
	struct kt_snap s;
	int go[2], t;
	long i, p;
	pid_t pid;
	char c;

	for (i = 0; i < (long)n * TP; i++)
		base[i * (PS / sizeof(*base))] = FORK_VAL(i);
	kt_sysctl_set(1);
	KT_EQ(pipe(go), 0);
	kt_snap(&s);
	fflush(NULL);
	pid = kt_odfork(0);
	KT_ASSERT(pid >= 0);
	if (pid == 0) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		for (i = 0; i < (long)n * TP; i++)
			if (base[i * (PS / sizeof(*base))] != FORK_VAL(i))
				_exit(3);
		_exit(0);
	}
	close(go[0]);
	KT_STEP(&s, .forks = 1, .shared = n, .fallback = KT_ANY);
	for (t = 0; t < n; t++) {
		struct spinner r = { .want = 0 };
		pthread_t th;

		p = PG(t, (t * 37 + 11) % TP);
		r.word = &base[p * (PS / sizeof(*base))];
		r.want = CANARY(0, p);
		atomic_init(&r.ready, 0);
		KT_EQ(pthread_create(&th, NULL, spinner_main, &r), 0);
		while (!atomic_load(&r.ready))
			nanosleep(&nap, NULL);
		nanosleep(&nap, NULL);
		*(volatile uint64_t *)r.word = r.want;
		KT_EQ(pthread_join(th, NULL), 0);
		if (!r.seen)
			kt_fail(__FILE__, __LINE__, "table %d: a reader thread "
				"did not see the first write in %d s", t,
				SPIN_S);
	}
	KT_STEP(&s, .copied = n);
	KT_EQ(write(go[1], "g", 1), 1);
	close(go[1]);
	KT_EQ(kt_wait(pid), 0);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Paths that change mappings in one process while the other shares. */

/* Reserve len bytes of PROT_NONE address space in agent a, starting off
 * bytes after a table boundary. */
static uintptr_t ag_reserve(struct ag *a, size_t len, size_t off)
{
	uintptr_t r = (uintptr_t)SYS_OK(a, SYS_MMAP, 0, (long)(len + off + TS),
					PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
					MAP_NORESERVE, 0);

	return ((r + TS - 1) & ~(TS - 1)) + off;
}

/*
 * munmap of a whole table drops the reference; of part of a table (or
 * across tables), copies the tables at the ends first.  The other
 * process keeps everything.
 */
KT_TEST(test_share_munmap)
{
	const int n = PATH_TABLES;
	struct ag a, b;
	struct kt_snap s;
	uintptr_t base;

	base = PAIR(&a, &b, n, 0, &s);
	SYS_OK(&b, SYS_MUNMAP, base + TS, TS, 0, 0, 0);
	KT_STEP(&s, .dropped = 1);
	ag_unmapped(&b, base + TS, TS);
	ag_verify(&b, TABLE(base, 0), NOVIEW);
	ag_verify(&b, base + 2 * TS, PG(2, 0), 6 * TP, NOVIEW);
	ag_verify(&a, ALL(base, n), NOVIEW);

	SYS_OK(&b, SYS_MUNMAP, base + 3 * TS + 200 * PS, 100 * PS, 0, 0, 0);
	KT_STEP(&s, .copied = 1);
	ag_unmapped(&b, base + 3 * TS + 200 * PS, 100 * PS);
	ag_verify(&b, base + 3 * TS, PG(3, 0), 200, NOVIEW);
	ag_verify(&b, base + 3 * TS + 300 * PS, PG(3, 300), TP - 300, NOVIEW);
	ag_verify(&a, ALL(base, n), NOVIEW);

	/* [4.5, 6.5) tables: copies 4 and 6, drops 5 */
	SYS_OK(&b, SYS_MUNMAP, base + 4 * TS + TS / 2, 2 * TS, 0, 0, 0);
	KT_STEP(&s, .copied = 2, .dropped = 1);
	ag_unmapped(&b, base + 4 * TS + TS / 2, 2 * TS);
	ag_verify(&b, base + 4 * TS, PG(4, 0), TP / 2, NOVIEW);
	ag_verify(&b, base + 6 * TS + TS / 2, PG(6, TP / 2), TP / 2, NOVIEW);
	ag_verify(&a, ALL(base, n), NOVIEW);

	/* The parent (accounting owner) unmaps a table the child keeps. */
	SYS_OK(&a, SYS_MUNMAP, base + 7 * TS, TS, 0, 0, 0);
	KT_STEP(&s, .dropped = 1);
	ag_verify(&b, TABLE(base, 7), NOVIEW);
	ag_write(&b, base, W(1, 7, 8));
	KT_STEP(&s, .reused = 1);
	ag_verify(&b, TABLE(base, 7), VIEW(W(1, 7, 8)));

	/* Tables 0 and 2 are still shared; b gave up the others. */
	ag_write(&a, base, W(0, 0, 7));
	KT_STEP(&s, .copied = 2, .reused = 5);
	ag_verify(&a, base, 0, 7 * TP, VIEW(W(0, 0, 7)));
	ag_verify(&b, TABLE(base, 0), NOVIEW);
	ag_verify(&b, TABLE(base, 2), NOVIEW);
	ag_quit(&b);
	KT_STEP(&s, .freed = 2);	/* b was the last holder of 0 and 2 */
	ag_quit(&a);
	return 0;
}

static long mremap_in(struct ag *a, uintptr_t old, size_t old_len,
		      size_t new_len, long flags, uintptr_t dst)
{
	return SYS_OK(a, SYS_MREMAP, (long)old, (long)old_len, (long)new_len,
		      flags, (long)dst);
}

#define MOVE		(MREMAP_MAYMOVE | MREMAP_FIXED)

/*
 * mremap in the child: growing in place and moving whole aligned tables
 * keep them shared (the table moves, nothing is copied); moving or
 * shrinking part of a table copies it; shrinking by a whole table drops
 * it.  The parent keeps the fork-time values throughout.
 */
KT_TEST(test_share_mremap)
{
	const int n = PATH_TABLES;
	struct ag a, b;
	struct kt_snap s;
	uintptr_t base, dst;

	base = PAIR(&a, &b, n, REGION_TAIL, &s);
	SYS_OK(&b, SYS_MUNMAP, base + n * TS, TS, 0, 0, 0);
	KT_EQ(mremap_in(&b, base, n * TS, n * TS + MiB, 0, 0), base);
	ag_zero(&b, base + n * TS, MiB / PS);
	ag_verify(&b, ALL(base, n), NOVIEW);
	KT_STILL(&s);

	/* tables 2..3, aligned */
	dst = ag_reserve(&b, 2 * TS, 0);
	KT_EQ(mremap_in(&b, base + 2 * TS, 2 * TS, 2 * TS, MOVE, dst), dst);
	KT_STILL(&s);
	ag_unmapped(&b, base + 2 * TS, 2 * TS);
	ag_verify(&b, dst, PG(2, 0), 2 * TP, NOVIEW);
	ag_verify(&a, ALL(base, n), NOVIEW);
	ag_write(&b, dst - 2 * TS, W(1, 2, 3));
	KT_STEP(&s, .copied = 1);	/* still shared after the move */
	ag_verify(&b, dst, PG(2, 0), 2 * TP, VIEW(W(1, 2, 3)));

	/* half a MiB from the middle of table 5, to a misaligned place */
	dst = ag_reserve(&b, MiB, 16 * PS);
	KT_EQ(mremap_in(&b, base + 5 * TS + MiB, MiB / 2, MiB / 2, MOVE, dst),
	      dst);
	KT_STEP(&s, .copied = 1);
	ag_verify(&b, dst, PG(5, 256), 128, NOVIEW);
	ag_unmapped(&b, base + 5 * TS + MiB, MiB / 2);
	ag_verify(&b, base + 5 * TS, PG(5, 0), 256, NOVIEW);
	ag_verify(&b, base + 5 * TS + 3 * MiB / 2, PG(5, 384), 128, NOVIEW);
	ag_verify(&a, ALL(base, n), NOVIEW);

	/* tables 6..7 grow by a table while they move */
	dst = ag_reserve(&b, 3 * TS, 0);
	KT_EQ(mremap_in(&b, base + 6 * TS, 2 * TS, 3 * TS, MOVE, dst), dst);
	KT_STILL(&s);
	ag_verify(&b, dst, PG(6, 0), 2 * TP, NOVIEW);
	ag_zero(&b, dst + 2 * TS, TP);
	ag_write(&b, dst - 6 * TS, W(1, 7, 8));
	KT_STEP(&s, .copied = 1);
	ag_verify(&b, dst, PG(6, 0), 2 * TP, VIEW(W(1, 7, 8)));

	/* tables 0..1 shrink by a table, then by half of one */
	KT_EQ(mremap_in(&b, base, 2 * TS, TS, 0, 0), base);
	KT_STEP(&s, .dropped = 1);
	KT_EQ(mremap_in(&b, base, TS, MiB, 0, 0), base);
	KT_STEP(&s, .copied = 1);
	ag_verify(&b, base, 0, MiB / PS, NOVIEW);
	ag_unmapped(&b, base + MiB, 3 * MiB);
	ag_verify(&a, ALL(base, n), NOVIEW);
	ag_quit(&b);
	ag_quit(&a);
	return 0;
}

/*
 * mprotect of (part of) a shared table copies it first (all holders of
 * a table keep the same protection); the other process keeps writing
 * and reading its own view.
 */
KT_TEST(test_share_mprotect)
{
	const int n = PATH_TABLES;
	const int rw = PROT_READ | PROT_WRITE;
	struct ag a, b;
	struct kt_snap s;
	uintptr_t base;

	base = PAIR(&a, &b, n, 0, &s);
	SYS_OK(&b, SYS_MPROTECT, base + TS, TS, PROT_READ, 0, 0);
	KT_STEP(&s, .copied = 1);
	ag_verify(&b, TABLE(base, 1), NOVIEW);
	ag_write(&a, base, W(0, 1, 2));
	KT_STEP(&s, .reused = 1);
	ag_verify(&b, TABLE(base, 1), NOVIEW);
	SYS_OK(&b, SYS_MPROTECT, base + TS, TS, rw, 0, 0);
	ag_write(&b, base, W(1, 1, 2));
	KT_STILL(&s);

	/* PROT_NONE on 10 pages of table 2, then back */
	SYS_OK(&b, SYS_MPROTECT, base + 2 * TS + 10 * PS, 10 * PS,
	       PROT_NONE, 0, 0);
	KT_STEP(&s, .copied = 1);
	ag_verify(&b, base + 2 * TS, PG(2, 0), 10, NOVIEW);
	ag_verify(&b, base + 2 * TS + 20 * PS, PG(2, 20), TP - 20, NOVIEW);
	SYS_OK(&b, SYS_MPROTECT, base + 2 * TS + 10 * PS, 10 * PS, rw, 0, 0);
	KT_STILL(&s);
	ag_verify(&b, TABLE(base, 2), NOVIEW);

	/* the parent makes tables 3..4 read-only; the child writes them */
	SYS_OK(&a, SYS_MPROTECT, base + 3 * TS, 2 * TS, PROT_READ, 0, 0);
	KT_STEP(&s, .copied = 2);
	ag_write(&b, base, W(1, 3, 5));
	KT_STEP(&s, .reused = 2);
	ag_verify(&a, base + 3 * TS, PG(3, 0), 2 * TP, NOVIEW);
	SYS_OK(&a, SYS_MPROTECT, base + 3 * TS, 2 * TS, rw, 0, 0);
	ag_write(&a, base, W(0, 3, 5));
	KT_STILL(&s);

	/* PROT_NONE on a whole table, then back */
	SYS_OK(&b, SYS_MPROTECT, base + 5 * TS, TS, PROT_NONE, 0, 0);
	KT_STEP(&s, .copied = 1);
	SYS_OK(&b, SYS_MPROTECT, base + 5 * TS, TS, rw, 0, 0);
	KT_STILL(&s);
	ag_verify(&a, ALL(base, n), VIEW(W(0, 1, 2), W(0, 3, 5)));
	ag_verify(&b, ALL(base, n), VIEW(W(1, 1, 2), W(1, 3, 5)));
	ag_quit(&b);
	ag_quit(&a);
	return 0;
}

/*
 * MADV_DONTNEED of whole tables drops them: zero-filled afterwards in
 * that process only.  Of part of a table: copies it first.
 */
KT_TEST(test_share_madv_dontneed)
{
	const int n = PATH_TABLES;
	struct ag a, b;
	struct kt_snap s;
	uintptr_t base;

	base = PAIR(&a, &b, n, 0, &s);
	SYS_OK(&b, SYS_MADVISE, base + TS, TS, MADV_DONTNEED, 0, 0);
	KT_STEP(&s, .dropped = 1);
	ag_zero(&b, base + TS, TP);
	ag_verify(&a, ALL(base, n), NOVIEW);
	KT_STILL(&s);
	ag_write(&a, base, W(0, 1, 2));
	KT_STEP(&s, .reused = 1);

	SYS_OK(&b, SYS_MADVISE, base + 2 * TS + 100 * PS, 100 * PS,
	       MADV_DONTNEED, 0, 0);
	KT_STEP(&s, .copied = 1);
	ag_zero(&b, base + 2 * TS + 100 * PS, 100);
	ag_verify(&b, base + 2 * TS, PG(2, 0), 100, NOVIEW);
	ag_verify(&b, base + 2 * TS + 200 * PS, PG(2, 200), TP - 200, NOVIEW);
	ag_verify(&a, TABLE(base, 2), NOVIEW);

	/* the parent (accounting owner) drops table 3; the child keeps it */
	SYS_OK(&a, SYS_MADVISE, base + 3 * TS, TS, MADV_DONTNEED, 0, 0);
	KT_STEP(&s, .dropped = 1);
	ag_zero(&a, base + 3 * TS, TP);
	ag_verify(&b, TABLE(base, 3), NOVIEW);
	ag_write(&b, base, W(1, 3, 4));
	KT_STEP(&s, .reused = 1);
	ag_verify(&b, TABLE(base, 3), VIEW(W(1, 3, 4)));

	/* [4.5, 6.5) tables: copies 4 and 6, drops 5 */
	SYS_OK(&b, SYS_MADVISE, base + 4 * TS + TS / 2, 2 * TS,
	       MADV_DONTNEED, 0, 0);
	KT_STEP(&s, .copied = 2, .dropped = 1);
	ag_zero(&b, base + 4 * TS + TS / 2, 2 * TP);
	ag_verify(&b, base + 4 * TS, PG(4, 0), TP / 2, NOVIEW);
	ag_verify(&b, base + 6 * TS + TS / 2, PG(6, TP / 2), TP / 2, NOVIEW);
	ag_verify(&a, base + 4 * TS, PG(4, 0), 4 * TP, NOVIEW);
	ag_verify(&a, base, 0, 3 * TP, VIEW(W(0, 1, 2)));
	ag_verify(&b, TABLE(base, 0), NOVIEW);
	ag_quit(&b);
	ag_quit(&a);
	return 0;
}

/* Check pages [first, first + n) at addr: fork-time value or zero. */
static void ag_freed(struct ag *a, uintptr_t addr, long first, long n)
{
	struct op op = { .code = OP_FREED, .arg = { (long)addr, first, n } };

	ag_call(a, &op);
}

/* MADV_FREE copies the table first: the other process's pages are not
 * its to free. */
KT_TEST(test_share_madv_free)
{
	const int n = PATH_TABLES;
	struct ag a, b;
	struct kt_snap s;
	uintptr_t base;

	base = PAIR(&a, &b, n, 0, &s);
	SYS_OK(&b, SYS_MADVISE, base + TS, TS, MADV_FREE, 0, 0);
	KT_STEP(&s, .copied = 1);
	ag_freed(&b, TABLE(base, 1));
	ag_verify(&a, ALL(base, n), NOVIEW);
	SYS_OK(&b, SYS_MADVISE, base + 2 * TS + 10 * PS, 20 * PS, MADV_FREE,
	       0, 0);
	KT_STEP(&s, .copied = 1);
	ag_freed(&b, TABLE(base, 2));
	ag_verify(&a, ALL(base, n), NOVIEW);
	ag_write(&b, base, W_ALL(1, 1, 3));
	KT_STILL(&s);
	ag_write(&a, base, W(0, 1, 3));
	KT_STEP(&s, .reused = 2);
	ag_verify(&b, ALL(base, n), VIEW(W_ALL(1, 1, 3)));
	ag_verify(&a, ALL(base, n), VIEW(W(0, 1, 3)));
	ag_quit(&b);
	ag_quit(&a);
	return 0;
}

/* MADV_COLD and MADV_PAGEOUT skip shared tables: nothing is copied,
 * nothing changes, and the tables stay shared. */
KT_TEST(test_share_madv_cold_pageout)
{
	const int n = PATH_TABLES;
	struct ag a, b;
	struct kt_snap s;
	uintptr_t base;

	base = PAIR(&a, &b, n, 0, &s);
	SYS_OK(&b, SYS_MADVISE, base, n * TS, MADV_COLD, 0, 0);
	SYS_OK(&b, SYS_MADVISE, base, n * TS, MADV_PAGEOUT, 0, 0);
	SYS_OK(&a, SYS_MADVISE, base, n * TS, MADV_COLD, 0, 0);
	SYS_OK(&a, SYS_MADVISE, base, n * TS, MADV_PAGEOUT, 0, 0);
	ag_verify(&a, ALL(base, n), NOVIEW);
	ag_verify(&b, ALL(base, n), NOVIEW);
	KT_STILL(&s);
	ag_write(&b, base, W(1, 0, n));
	KT_STEP(&s, .copied = n);
	ag_verify(&a, ALL(base, n), NOVIEW);
	ag_verify(&b, ALL(base, n), VIEW(W(1, 0, n)));
	ag_quit(&b);
	ag_quit(&a);
	return 0;
}

/* mlock (and mlock2 ONFAULT) of (part of) a shared table copies it;
 * munlock copies nothing. */
KT_TEST(test_share_mlock)
{
	const int n = PATH_TABLES;
	struct ag a, b;
	struct kt_snap s;
	uintptr_t base;

	base = PAIR(&a, &b, n, 0, &s);
	SYS_OK(&b, SYS_MLOCK, base + TS, TS, 0, 0, 0);
	KT_STEP(&s, .copied = 1);
	ag_verify(&b, TABLE(base, 1), NOVIEW);
	SYS_OK(&b, SYS_MUNLOCK, base + TS, TS, 0, 0, 0);
	SYS_OK(&b, SYS_MLOCK, base + 2 * TS + 100 * PS, 100 * PS, 0, 0, 0);
	KT_STEP(&s, .copied = 1);
	SYS_OK(&b, SYS_MUNLOCK, base + 2 * TS + 100 * PS, 100 * PS, 0, 0, 0);
	SYS_OK(&b, SYS_MLOCK2, base + 3 * TS, TS, MLOCK_ONFAULT, 0, 0);
	KT_STEP(&s, .copied = 1);
	SYS_OK(&b, SYS_MUNLOCK, base + 3 * TS, TS, 0, 0, 0);
	KT_STILL(&s);
	ag_verify(&b, ALL(base, n), NOVIEW);

	SYS_OK(&a, SYS_MLOCK, base + 4 * TS, TS, 0, 0, 0);
	KT_STEP(&s, .copied = 1);
	ag_write(&b, base, W(1, 4, 5));
	KT_STEP(&s, .reused = 1);
	ag_write(&a, base, W(0, 4, 5));
	SYS_OK(&a, SYS_MUNLOCK, base + 4 * TS, TS, 0, 0, 0);
	KT_STILL(&s);
	ag_verify(&a, ALL(base, n), VIEW(W(0, 4, 5)));
	ag_verify(&b, ALL(base, n), VIEW(W(1, 4, 5)));
	ag_quit(&b);
	ag_quit(&a);
	return 0;
}

/* Even tables of a REGION_POPULATE region hold the fork-time values, odd
 * ones the zeros MAP_POPULATE left. */
static void verify_populated(struct ag *a, uintptr_t base, int t0, int t1)
{
	int t;

	for (t = t0; t < t1; t++)
		if (t % 2)
			ag_zero(a, base + (uintptr_t)t * TS, TP);
		else
			ag_verify(a, TABLE(base, t), NOVIEW);
}

/*
 * A MAP_POPULATE region shares like any other.  MADV_POPULATE_READ
 * copies nothing, MADV_POPULATE_WRITE copies (a write through GUP), and
 * a MAP_FIXED|MAP_POPULATE mapping over whole tables drops them.
 */
KT_TEST(test_share_populate)
{
	const int n = PATH_TABLES;
	const int fixed = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |
			  MAP_POPULATE;
	struct ag a, b;
	struct kt_snap s;
	uintptr_t base;

	base = PAIR(&a, &b, n, REGION_POPULATE, &s);
	verify_populated(&b, base, 0, n);
	SYS_OK(&b, SYS_MADVISE, base, n * TS, MADV_POPULATE_READ, 0, 0);
	KT_STILL(&s);
	SYS_OK(&b, SYS_MADVISE, base + TS, 2 * TS, MADV_POPULATE_WRITE, 0, 0);
	KT_STEP(&s, .copied = 2);
	verify_populated(&b, base, 1, 3);
	SYS_OK(&b, SYS_MMAP, base + 3 * TS, 2 * TS, PROT_READ | PROT_WRITE,
	       fixed, 0);
	KT_STEP(&s, .dropped = 2);
	ag_zero(&b, base + 3 * TS, 2 * TP);
	ag_write(&b, base, W(1, 0, 1));
	KT_STEP(&s, .copied = 1);
	ag_write(&a, base, W(0, 2, 3));
	KT_STEP(&s, .reused = 1);
	verify_populated(&a, base, 3, n);
	ag_verify(&a, TABLE(base, 2), VIEW(W(0, 2, 3)));
	ag_verify(&a, TABLE(base, 0), NOVIEW);
	ag_verify(&b, TABLE(base, 0), VIEW(W(1, 0, 1)));
	ag_verify(&b, TABLE(base, 2), NOVIEW);
	ag_quit(&b);
	ag_quit(&a);
	return 0;
}

/* ------------------------------------------------------------------ */
/* RSS (I8): the parent keeps counting shared tables, the child counts
 * the tables it copies or takes over. */

#define RSS_SLACK_KB	1024	/* per-CPU counter drift, stacks, heap */
#define TABLE_KB	((long)(TS >> 10))

static long rss_anon(struct ag *a)
{
	return kt_status_kb(a->pid, "RssAnon");
}

#define NEAR(got, want)	((got) >= (want) - RSS_SLACK_KB &&		\
			 (got) <= (want) + RSS_SLACK_KB)

KT_TEST(test_share_rss)
{
	const int n = 16;
	struct ag a, b;
	struct kt_snap s;
	uintptr_t base;
	long a0, a1, b0, got;

	kt_sysctl_set(1);
	ag_root(&a);
	a0 = rss_anon(&a);
	base = ag_region(&a, n, 0);
	a1 = rss_anon(&a);
	KT_GE(a1 - a0, n * TABLE_KB - RSS_SLACK_KB);
	kt_snap(&s);
	ag_fork(&a, &b);
	KT_STEP(&s, .forks = 1, .shared = n, .fallback = KT_ANY);
	got = rss_anon(&a);
	KT_ASSERT(NEAR(got, a1));
	b0 = rss_anon(&b);
	KT_SHARING(NEAR(b0, a0), "child's RssAnon %ld kB right after the "
		   "fork, want about %ld kB (none of the %d shared tables)",
		   b0, a0, n);
	got = kt_status_kb(b.pid, "VmRSS");
	KT_SHARING(got < kt_status_kb(a.pid, "VmRSS") - n * TABLE_KB / 2,
		   "child's VmRSS %ld kB counts the shared tables", got);

	ag_write(&b, base, W(1, 0, 4));
	KT_STEP(&s, .copied = 4);
	got = rss_anon(&b);
	KT_SHARING(NEAR(got, b0 + 4 * TABLE_KB), "child's RssAnon %ld kB "
		   "after copying 4 tables, want about %ld kB",
		   got, b0 + 4 * TABLE_KB);
	ag_write(&b, base, W(1, 4, 8));
	KT_STEP(&s, .copied = 4);
	got = rss_anon(&b);
	KT_SHARING(NEAR(got, b0 + 8 * TABLE_KB), "child's RssAnon %ld kB "
		   "after copying 8 tables, want about %ld kB",
		   got, b0 + 8 * TABLE_KB);
	got = rss_anon(&a);
	KT_ASSERT(NEAR(got, a1));

	/*
	 * The owner exits: it drops the 8 tables the child still shares,
	 * and frees the 8 the child has copied (it is their last holder).
	 */
	ag_quit(&a);
	KT_STEP(&s, .dropped = n - 8, .freed = 8);
	ag_write(&b, base, W(1, 8, n));
	KT_STEP(&s, .reused = n - 8);
	got = rss_anon(&b);
	KT_SHARING(NEAR(got, b0 + n * TABLE_KB), "child's RssAnon %ld kB "
		   "after taking all %d tables, want about %ld kB",
		   got, n, b0 + n * TABLE_KB);
	ag_verify(&b, ALL(base, n), VIEW(W(1, 0, n)));
	ag_quit(&b);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Threads writing in the parent while it forks. */

#define WRITERS		4
#define WRITER_STACK	(64 * 1024)	/* far below a table: not shared */

struct writer {
	pthread_t th;
	uint64_t *base;
	long pages;
	int j;
	atomic_long passes;
	atomic_int *stop;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	uint64_t seq = 0;
	long p;

	while (!atomic_load(w->stop)) {
		seq++;
		for (p = 0; p < w->pages; p++)
			((volatile uint64_t *)w->base)[p * TP + w->j] = seq;
		atomic_store(&w->passes, (long)seq);
	}
	return NULL;
}

static void writers_start(struct writer *w, uint64_t *base, long pages,
			  atomic_int *stop)
{
	pthread_attr_t attr;
	int j;

	KT_EQ(pthread_attr_init(&attr), 0);
	KT_EQ(pthread_attr_setstacksize(&attr, WRITER_STACK), 0);
	for (j = 0; j < WRITERS; j++) {
		w[j].base = base;
		w[j].pages = pages;
		w[j].j = j;
		w[j].stop = stop;
		atomic_init(&w[j].passes, 0);
		KT_EQ(pthread_create(&w[j].th, &attr, writer_main, &w[j]), 0);
	}
	pthread_attr_destroy(&attr);
}

/* Wait until every writer has finished `passes` passes. */
static void writers_wait(struct writer *w, long passes)
{
	struct timespec ts = { 0, 1000 * 1000 };
	int j;

	for (j = 0; j < WRITERS; j++)
		while (atomic_load(&w[j].passes) < passes)
			nanosleep(&ts, NULL);
}

/* Child: the sequence numbers writer j left, page by page, must be one
 * pass (non-increasing, at most one apart) and non-zero. */
static int snapshot_sane(const uint64_t *snap, long pages)
{
	long j, p;

	for (j = 0; j < WRITERS; j++) {
		const uint64_t *v = snap + j * pages;

		if (v[pages - 1] == 0 || v[0] - v[pages - 1] > 1)
			return 0;
		for (p = 1; p < pages; p++)
			if (v[p] > v[p - 1])
				return 0;
	}
	return 1;
}

static void take_snapshot(uint64_t *snap, const uint64_t *base, long pages)
{
	long j, p;

	for (j = 0; j < WRITERS; j++)
		for (p = 0; p < pages; p++)
			snap[j * pages + p] =
				((const volatile uint64_t *)base)[p * TP + j];
}

/* The child's view right after the fork, and again once the parent's
 * writers have rewritten everything twice. */
static void snapshot_child(const uint64_t *base, long pages, uint64_t *snap,
			   int to_parent, int from_parent)
{
	size_t len = (size_t)WRITERS * pages;
	char c = 'r';

	take_snapshot(snap, base, pages);
	if (!snapshot_sane(snap, pages))
		_exit(3);
	if (write(to_parent, &c, 1) != 1 || read(from_parent, &c, 1) != 1)
		_exit(4);
	take_snapshot(snap + len, base, pages);
	_exit(memcmp(snap, snap + len, len * sizeof(*snap)) ? 5 : 0);
}

/*
 * Four threads write sequence numbers over 8 tables without pause while
 * the main thread odforks.  The fork shares the 8 tables, the writers
 * copy each exactly once, and the child's snapshot never changes.
 */
KT_TEST(test_share_threads_writing)
{
	const int n = PATH_TABLES;
	const long pages = (long)n * TP;
	struct writer w[WRITERS];
	atomic_int stop;
	struct kt_snap a, b;
	uint64_t *base, *snap;
	long after;
	int up[2], down[2];
	char c = 'g';
	pid_t pid;
	int j;

	kt_sysctl_set(1);
	base = kt_map_tables(n);
	memset(base, 0, (size_t)n * TS);
	snap = mmap(NULL, 2 * WRITERS * pages * sizeof(*snap),
		    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KT_ASSERT(snap != MAP_FAILED);
	KT_EQ(pipe(up), 0);
	KT_EQ(pipe(down), 0);
	atomic_init(&stop, 0);
	writers_start(w, base, pages, &stop);
	writers_wait(w, 2);
	kt_snap(&a);
	pid = kt_odfork(0);
	KT_ASSERT(pid >= 0);
	if (pid == 0)
		snapshot_child(base, pages, snap, up[1], down[0]);
	/*
	 * A writer's pass after the one it is in now started after the
	 * fork returned, and each pass writes into every table.
	 */
	after = atomic_load(&w[0].passes);
	kt_snap(&b);
	KT_EXPECT(&a, &b, .forks = 1, .shared = n, .fallback = KT_ANY,
		  .copied = KT_ANY);
	KT_EQ(read(up[0], &c, 1), 1);
	writers_wait(w, after + 2);
	kt_snap(&b);
	KT_EXPECT(&a, &b, .forks = 1, .shared = n, .fallback = KT_ANY,
		  .copied = n);
	KT_EQ(write(down[1], &c, 1), 1);
	KT_EQ(kt_wait(pid), 0);
	atomic_store(&stop, 1);
	for (j = 0; j < WRITERS; j++)
		KT_EQ(pthread_join(w[j].th, NULL), 0);
	KT_STEP(&b, .freed = n);	/* the child was the last holder */
	return 0;
}

/* ------------------------------------------------------------------ */
/* A large malloc heap, grown by brk. */

#define HEAP_MIN	(10UL << 20)
#define HEAP_BLOCK	1000
#define HEAP_MAX_BLOCKS	16384

struct heap {
	unsigned char **blk;
	int *tag;	/* each block's fill tag */
	int n;
};

static void blk_fill(struct heap *h, int i, int tag)
{
	memset(h->blk[i], (i * 7 + tag) & 0xff, HEAP_BLOCK);
	memcpy(h->blk[i], &i, sizeof(i));
	h->tag[i] = tag;
}

static int blk_ok(const struct heap *h, int i)
{
	const unsigned char *b = h->blk[i];
	unsigned char c = (unsigned char)((i * 7 + h->tag[i]) & 0xff);
	int k, v;

	memcpy(&v, b, sizeof(v));
	if (v != i)
		return 0;
	for (k = sizeof(v); k < HEAP_BLOCK; k++)
		if (b[k] != c)
			return 0;
	return 1;
}

static void heap_check(const struct heap *h, int line)
{
	int i;

	for (i = 0; i < h->n; i++)
		if (h->blk[i] && !blk_ok(h, i))
			kt_fail(__FILE__, line, "heap block %d at %p", i,
				(void *)h->blk[i]);
}

/* Whole tables inside [lo, hi). */
static long whole_tables(uintptr_t lo, uintptr_t hi)
{
	uintptr_t first = (lo + TS - 1) & ~(TS - 1);
	uintptr_t end = hi & ~(TS - 1);

	return end > first ? (long)((end - first) / TS) : 0;
}

/*
 * The brk heap: its extent [*lo, *hi) and how many whole tables its
 * VMAs hold (a forked process's old heap VMA and its new brk area are
 * separate VMAs: different anon_vma chains).
 */
static long heap_scan(uintptr_t *lo, uintptr_t *hi)
{
	char line[512];
	uintptr_t l, h;
	long tables = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	KT_ASSERT(f != NULL);
	*lo = UINTPTR_MAX;
	*hi = 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, "[heap]") ||
		    sscanf(line, "%lx-%lx", &l, &h) != 2)
			continue;
		*lo = l < *lo ? l : *lo;
		*hi = h > *hi ? h : *hi;
		tables += whole_tables(l, h);
	}
	fclose(f);
	KT_ASSERT(*hi > *lo);
	return tables;
}

static void heap_build(struct heap *h)
{
	size_t len = HEAP_MAX_BLOCKS * (sizeof(*h->blk) + sizeof(*h->tag));
	unsigned char *start = sbrk(0);
	void *arrays = mmap(NULL, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	KT_ASSERT(arrays != MAP_FAILED);
	h->blk = arrays;
	h->tag = (int *)(h->blk + HEAP_MAX_BLOCKS);
	for (h->n = 0; (unsigned char *)sbrk(0) - start < (long)HEAP_MIN;
	     h->n++) {
		KT_ASSERT(h->n < HEAP_MAX_BLOCKS);
		h->blk[h->n] = malloc(HEAP_BLOCK);
		KT_ASSERT(h->blk[h->n] != NULL);
		blk_fill(h, h->n, 'P');
	}
}

/* Child: rewrite half the blocks, shrink the heap by brk, grow it. */
static int heap_child(struct heap *h)
{
	int i, top = h->n - h->n / 4;

	heap_check(h, __LINE__);
	for (i = 0; i < h->n; i += 2) {
		free(h->blk[i]);
		h->blk[i] = NULL;
	}
	for (i = 0; i < h->n; i += 2) {
		h->blk[i] = malloc(HEAP_BLOCK);
		KT_ASSERT(h->blk[i] != NULL);
		blk_fill(h, i, 'C');
	}
	heap_check(h, __LINE__);
	for (i = top; i < h->n; i++)
		free(h->blk[i]);
	h->n = top;
	malloc_trim(0);
	heap_check(h, __LINE__);
	for (i = top; i < h->n + h->n / 8; i++) {
		h->blk[i] = malloc(HEAP_BLOCK);
		KT_ASSERT(h->blk[i] != NULL);
		blk_fill(h, i, 'D');
	}
	h->n = i;
	heap_check(h, __LINE__);
	return 0;
}

/*
 * More than 10 MiB of small malloc blocks, on the brk heap: its whole
 * tables are shared.  The child frees, reallocates and trims (brk
 * shrinks), then grows the heap again; the parent's blocks never change.
 */
KT_TEST(test_share_brk_heap)
{
	struct heap h;
	struct kt_snap a, b;
	uintptr_t lo, hi;
	long want;
	int go[2];
	char c = 'g';
	pid_t pid;

	kt_sysctl_set(1);
	KT_EQ(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0), 0);
	heap_build(&h);
	heap_scan(&lo, &hi);
	KT_GE(hi - lo, HEAP_MIN);
	KT_EQ(madvise((void *)lo, hi - lo, MADV_NOHUGEPAGE), 0);
	want = heap_scan(&lo, &hi);
	KT_GE(want, 4);
	KT_EQ(pipe(go), 0);
	kt_snap(&a);
	fflush(NULL);
	pid = kt_odfork(0);
	KT_ASSERT(pid >= 0);
	if (pid == 0) {
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(heap_child(&h));
	}
	kt_snap(&b);
	/*
	 * kt_snap()'s fopen() allocates from this very heap, and the child
	 * runs meanwhile: either may write into a shared range of the heap
	 * (where depends on ASLR) and copy its table before b is taken.
	 * The ranges at the heap's two ends are shared too when the heap
	 * covers at least half of them (0031), which ASLR decides.
	 */
	KT_EXPECT(&a, &b, .forks = 1, .shared = KT_ANY, .fallback = KT_ANY,
		  .copied = KT_ANY);
	KT_SHARING(kt_moved(&a, &b, KT_C_SHARED) >= want &&
		   kt_moved(&a, &b, KT_C_SHARED) <= want + 2,
		   "%lld tables shared, want the heap's %ld whole ones and at "
		   "most its two ends", kt_moved(&a, &b, KT_C_SHARED), want);
	KT_EQ(write(go[1], &c, 1), 1);
	KT_EQ(kt_wait(pid), 0);
	kt_snap(&a);
	KT_SHARING(kt_moved(&b, &a, KT_C_COPIED) >= 1,
		   "the child's heap writes copied no table");
	heap_check(&h, __LINE__);
	free(h.blk[1]);
	h.blk[1] = malloc(HEAP_BLOCK);
	KT_ASSERT(h.blk[1] != NULL);
	blk_fill(&h, 1, 'Q');
	heap_check(&h, __LINE__);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_share_isolation_child_writes_first),
		cmocka_unit_test(test_share_isolation_parent_writes_first),
		cmocka_unit_test(test_share_isolation_child_exits_unwritten),
		cmocka_unit_test(
			test_share_isolation_child_exits_before_parent_writes),
		cmocka_unit_test(test_share_isolation_parent_exits_first),
		cmocka_unit_test(test_share_isolation_three_generations),
		cmocka_unit_test(test_share_isolation_generations_middle_exits),
		cmocka_unit_test(test_share_isolation_siblings),
		cmocka_unit_test(test_share_first_write_copies_once),
		cmocka_unit_test(test_share_munmap),
		cmocka_unit_test(test_share_mremap),
		cmocka_unit_test(test_share_mprotect),
		cmocka_unit_test(test_share_madv_dontneed),
		cmocka_unit_test(test_share_madv_free),
		cmocka_unit_test(test_share_madv_cold_pageout),
		cmocka_unit_test(test_share_mlock),
		cmocka_unit_test(test_share_populate),
		cmocka_unit_test(test_share_rss),
		cmocka_unit_test(test_share_threads_writing),
		cmocka_unit_test(test_share_first_write_seen_by_reader),
		cmocka_unit_test(test_share_brk_heap),
	};

	kt_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
