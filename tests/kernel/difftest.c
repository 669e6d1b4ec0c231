/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: differential tester, odfork() against fork().
 *
 * fork() is the specification of odfork(): whatever a program can observe
 * after one, it must observe after the other.  This tester checks that on
 * random programs.  A seed drives a PRNG (splitmix64) that generates a
 * program: a sequence of operations that a small tree of processes (at
 * most MAX_LIVE at a time) applies to one region of 4 to 8 whole PTE
 * tables (2 MiB each, 2 MiB aligned, MADV_NOHUGEPAGE):
 *
 *   write    store a pattern in pages (12 words spread over each page,
 *            every stride-th page of a range)
 *   read     hash pages (every stride-th page of a range)
 *   protect  mprotect PROT_NONE, PROT_READ or PROT_READ | PROT_WRITE
 *   unmap    munmap (leave a hole); munmap then mmap MAP_FIXED; mmap
 *            MAP_FIXED over; the same with MADV_POPULATE_WRITE
 *   mremap   to a scratch area and back (also with MREMAP_DONTUNMAP),
 *            elsewhere in the region, shrink, grow in place
 *   madvise  DONTNEED, FREE, COLD, PAGEOUT, WILLNEED, WIPEONFORK,
 *            KEEPONFORK, DONTFORK, DOFORK
 *   mlock    mlock, munlock, mlock2(MLOCK_ONFAULT)
 *   fork     a new process (a new role) that then runs its own ops
 *   exit     a process other than the first exits; its parent reaps it
 *   pvm      process_vm_readv / process_vm_writev with another process
 *   pmem     pread / pwrite of another process's /proc/<pid>/mem
 *   splice   vmsplice pages into the process's pipe (kept across steps,
 *            inherited by children)
 *   drain    read that pipe and hash what it returns
 *
 * Ranges are page-aligned: a few pages, up to a table, one whole table or
 * several whole tables.  Processes get role numbers in creation order (up
 * to MAX_ROLES per run).  A program starts with a sparse write of every
 * table and a fork, so that the odfork run shares tables at once, and
 * ends with the state of every live process (a hash of each table of the
 * region read through /proc/self/mem, the /proc/self/maps lines of the
 * region and their smaps VmFlags, what is left in its pipe), then exits.
 *
 * Every op logs one line: "step role op args = results", with return
 * values, errno names, hashes, and the SIGSEGV/SIGBUS (with si_code)
 * caught while touching memory.  Roles are numbered in creation order and
 * addresses are relative to the region, so that a log depends neither on
 * pids nor on ASLR.  Each program runs twice, every fork being
 * syscall(SYS_fork) in the first run and the raw odfork(0) syscall in the
 * second (vm.odfork = 1): the two logs must be equal line by line, and
 * the second run must have shared tables (odfork_tables_shared moved).
 *
 * Determinism: the driver (role 0) runs the program.  Every other process
 * waits on its command pipe, runs one op when told, and sends its log
 * text back on the common reply pipe: the program, not the scheduler,
 * orders the ops of all processes.  Everything runs on one CPU.  Results
 * that depend on timing rather than on fork semantics are not logged:
 * MADV_COLD, PAGEOUT and WILLNEED log their return value only, and
 * MADV_FREE rewrites every page of its range at once (a page it cannot
 * write is zapped with MADV_DONTNEED), so that no page is left whose
 * content would depend on reclaim.
 *
 * Tests: test_diff_ci runs CI_SEEDS seeds of CI_OPS ops in one body.
 * test_diff_long runs when KT_DIFF_SEEDS or KT_DIFF_SEED0 is set:
 * KT_DIFF_SEEDS seeds (default 1) from KT_DIFF_SEED0 (default 1), of
 * KT_DIFF_OPS ops each (default LONG_OPS), one body per seed (the body
 * time limit is per seed).  A difference fails the test with the seed,
 * the step and both lines.  To replay seed S of N ops:
 *
 *     KT_FILTER=test_diff_long KT_DIFF_SEED0=S KT_DIFF_OPS=N kt-difftest
 *
 * KT_DIFF_VERBOSE=1 also prints both logs.  The first k ops of a program
 * do not depend on its number of ops.
 *
 * Self-tests of the tester itself, on any kernel, before kt_init() (as
 * root, or as a user allowed to ptrace its own children):
 * KT_DIFF_SELFTEST=1 forks with fork() in both runs and wants no
 * difference; KT_DIFF_SELFTEST=2 also flips one byte of one write of the
 * second run and wants the difference found.  They take the KT_DIFF_*
 * variables above (default: SELFTEST_SEEDS seeds of CI_OPS ops).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"

#ifndef MADV_COLD
#define MADV_COLD		20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP	4
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT		1
#endif

#define PS		KT_PAGE_SIZE
#define TS		KT_TABLE_SIZE
#define TP		KT_TABLE_PAGES
#define WORDS		(PS / sizeof(uint64_t))
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define MIN_TABLES	4
#define MAX_TABLES	8
#define SCRATCH_TABLES	2	/* mremap round trips move up to 2 tables */
/* The reservation: a guard table, the region, a guard table, the scratch
 * area, a guard table. */
#define RES_TABLES(nt)	((nt) + SCRATCH_TABLES + 3)
#define MAX_ROLES	255	/* processes created by one run */
#define MAX_LIVE	4	/* processes alive at once: pipe slots */
#define MAX_XFER	16	/* pages of a pvm or pmem op */
#define MAX_SPLICE	4	/* pages of a vmsplice */
#define BUF_PAGES	16	/* the local buffer: a whole default pipe */
#define TEXT_MAX	(256 << 10)	/* log text of one op */
#define TEXT_SLACK	64	/* kept free for "truncated" */
#define OP_LINE_MAX	512	/* log room per ordinary op */
#define REPLY_MS	30000	/* a process answers a command within */
#define STEP_REAP	(-1)	/* command: reap a child */

#define CI_SEED0	1
#define CI_SEEDS	40
#define CI_OPS		60
#define LONG_OPS	200
#define SELFTEST_SEEDS	100
#define SELFTEST_REPORTS 3	/* differences printed in full by self-test 2 */

#define GOLDEN		0x9e3779b97f4a7c15ULL
#define HASH_MUL	0x100000001b3ULL
#define FAULT_MARK	0xfa17000000000000ULL
#define BAD_MARK	0xbad0000000000000ULL

/* ------------------------------------------------------------------ */
/* PRNG and hashes */

/* Keeps the compiler from moving memory accesses across it. */
static inline void barrier(void)
{
	__asm__ __volatile__("" ::: "memory");
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* splitmix64 */
static uint64_t rnd(uint64_t *s)
{
	*s += GOLDEN;
	return mix64(*s);
}

static unsigned int rnd_below(uint64_t *s, unsigned int n)
{
	return (unsigned int)(rnd(s) % n);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* Four independent lanes of multiply-xor over n words (a multiple of 4):
 * each step is a bijection of its lane, so any single changed word
 * changes the hash. */
static uint64_t hash_words(uint64_t h, const uint64_t *w, size_t n)
{
	uint64_t a = h, b = h ^ 1, c = h ^ 2, d = h ^ 3;
	size_t i;

	for (i = 0; i < n; i += 4) {
		a = (a ^ w[i]) * HASH_MUL;
		b = (b ^ w[i + 1]) * HASH_MUL;
		c = (c ^ w[i + 2]) * HASH_MUL;
		d = (d ^ w[i + 3]) * HASH_MUL;
	}
	return mix64(a ^ rotl(b, 16) ^ rotl(c, 32) ^ rotl(d, 48));
}

/* Any length: the tail is hashed zero-padded, then the length. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t len)
{
	uint64_t tail[4] = { 0 };
	size_t body = len & ~(sizeof(tail) - 1);

	h = hash_words(h, p, body / 8);
	memcpy(tail, (const char *)p + body, len - body);
	h = hash_words(h, tail, 4);
	return mix64(h ^ len);
}

/* ------------------------------------------------------------------ */
/* Programs */

enum op_kind {
	OP_WRITE, OP_READ, OP_PROTECT, OP_UNMAP, OP_MREMAP, OP_MADVISE,
	OP_MLOCK, OP_FORK, OP_EXIT, OP_PVM, OP_PMEM, OP_SPLICE, OP_DRAIN,
	OP_STATE,
};

enum { UNMAP_HOLE, UNMAP_REMAP, UNMAP_OVER, UNMAP_OVER_POP, UNMAP_NVAR };
enum { MR_ROUNDTRIP, MR_DONTUNMAP, MR_MOVE, MR_SHRINK, MR_GROW, MR_NVAR };
enum { MLOCK_LOCK, MLOCK_UNLOCK, MLOCK_ONFAULT_LOCK, MLOCK_NVAR };
enum { XFER_READ, XFER_WRITE, XFER_NVAR };

struct op {
	uint8_t kind;
	uint8_t role;	/* the process that runs it */
	uint8_t var;	/* variant */
	uint8_t peer;	/* OP_FORK: the child's role; OP_PVM, OP_PMEM: target */
	uint32_t page;	/* first page, an index into the region */
	uint32_t n;	/* pages */
	uint32_t page2;	/* pvm, pmem: page of the peer; mremap: see gen */
	uint32_t stride;
	uint64_t pat;	/* write pattern */
};

struct prog {
	uint64_t seed;
	unsigned int nt;	/* tables in the region */
	unsigned int nops;	/* requested ops */
	unsigned int nsteps;	/* with the final states and exits */
	struct op op[];
};

static const char *const kind_name[] = {
	"write", "read", "protect", "unmap", "mremap", "madvise", "mlock",
	"fork", "exit", "pvm", "pmem", "splice", "drain", "state",
};

static const struct {
	enum op_kind kind;
	unsigned int weight;
} op_weights[] = {
	{ OP_WRITE, 20 }, { OP_READ, 14 }, { OP_PROTECT, 8 },
	{ OP_UNMAP, 6 }, { OP_MREMAP, 6 }, { OP_MADVISE, 10 },
	{ OP_MLOCK, 4 }, { OP_FORK, 6 }, { OP_EXIT, 3 }, { OP_PVM, 5 },
	{ OP_PMEM, 5 }, { OP_SPLICE, 5 }, { OP_DRAIN, 4 },
};

/* mprotect variants, RW most often so that the region stays useful */
static const struct {
	const char *name;
	int prot;
	unsigned int weight;
} protects[] = {
	{ "none", PROT_NONE, 1 },
	{ "r", PROT_READ, 2 },
	{ "rw", PROT_READ | PROT_WRITE, 3 },
};

static const struct {
	const char *name;
	int advice;
} advices[] = {
	{ "dontneed", MADV_DONTNEED }, { "free", MADV_FREE },
	{ "cold", MADV_COLD }, { "pageout", MADV_PAGEOUT },
	{ "willneed", MADV_WILLNEED }, { "wipeonfork", MADV_WIPEONFORK },
	{ "keeponfork", MADV_KEEPONFORK }, { "dontfork", MADV_DONTFORK },
	{ "dofork", MADV_DOFORK },
};

static const char *const unmap_name[] = {
	"hole", "remap", "over", "over+populate",
};

static const char *const mremap_name[] = {
	"roundtrip", "dontunmap", "move", "shrink", "grow",
};

static const char *const mlock_name[] = {
	"mlock", "munlock", "mlock2-onfault",
};

static const char *const xfer_name[] = { "read", "write" };

/* The generator simulates the process tree: which roles are alive. */
struct gen {
	uint64_t s;
	unsigned int np;		/* pages in the region */
	unsigned int nroles;		/* roles created */
	unsigned int nlive;
	uint8_t live[MAX_LIVE];		/* live roles, ascending */
	uint32_t spl_page, spl_n;	/* the last vmsplice */
};

/* A few pages, up to a table, one whole table, or whole tables. */
static void gen_range(struct gen *g, struct op *o)
{
	unsigned int r = rnd_below(&g->s, 100);
	unsigned int nt = g->np / TP;
	unsigned int t;

	if (r >= 91) {
		t = rnd_below(&g->s, nt - 1);
		o->page = t * TP;
		o->n = (2 + rnd_below(&g->s, nt - t - 1)) * TP;
	} else if (r >= 75) {
		o->page = rnd_below(&g->s, nt) * TP;
		o->n = TP;
	} else {
		o->n = 1 + rnd_below(&g->s, r < 45 ? 8 : TP);
		o->page = rnd_below(&g->s, g->np - o->n + 1);
	}
}

static int kind_allowed(const struct gen *g, enum op_kind k)
{
	if (k == OP_FORK)
		return g->nlive < MAX_LIVE && g->nroles < MAX_ROLES;
	if (k == OP_EXIT)
		return g->nlive > 1;
	return 1;
}

static enum op_kind gen_kind(struct gen *g)
{
	unsigned int total = 0, r, i;

	for (i = 0; i < ARRAY_SIZE(op_weights); i++)
		total += op_weights[i].weight;
	for (;;) {
		r = rnd_below(&g->s, total);
		for (i = 0; r >= op_weights[i].weight; i++)
			r -= op_weights[i].weight;
		if (kind_allowed(g, op_weights[i].kind))
			return op_weights[i].kind;
	}
}

static unsigned int gen_protect(struct gen *g)
{
	unsigned int r = rnd_below(&g->s, 6), i;

	for (i = 0; r >= protects[i].weight; i++)
		r -= protects[i].weight;
	return i;
}

/* Large reads and writes touch every page only sometimes (the final
 * state reads every page anyway): it keeps a run short. */
static void gen_stride(struct gen *g, struct op *o)
{
	if (o->n > TP / 2 && rnd_below(&g->s, 4) != 0)
		o->stride = 2 + rnd_below(&g->s, 31);
	else if (o->kind == OP_WRITE && rnd_below(&g->s, 4) == 0)
		o->stride = 2 + rnd_below(&g->s, 15);
}

static void gen_write(struct gen *g, struct op *o)
{
	gen_stride(g, o);
	/* Often write what was just spliced into a pipe. */
	if (g->spl_n && rnd_below(&g->s, 3) == 0) {
		o->page = g->spl_page;
		o->n = g->spl_n;
	}
}

/* Two ranges of n pages that do not overlap: o->page and o->page2.  Whole
 * tables move to a table boundary (the kernel then moves PMD entries). */
static void gen_move(struct gen *g, struct op *o)
{
	unsigned int aligned, slots;

	if (o->n > g->np / 4)
		o->n = g->np / 4;
	aligned = o->page % TP == 0 && o->n % TP == 0;
	do {
		if (aligned) {
			slots = (g->np - o->n) / TP + 1;
			o->page2 = rnd_below(&g->s, slots) * TP;
		} else {
			o->page = rnd_below(&g->s, g->np - o->n + 1);
			o->page2 = rnd_below(&g->s, g->np - o->n + 1);
		}
	} while (o->page < o->page2 + o->n && o->page2 < o->page + o->n);
}

/* page2 is the destination of a move, the new size of a shrink or grow. */
static void gen_mremap(struct gen *g, struct op *o)
{
	o->var = rnd_below(&g->s, MR_NVAR);
	if (o->var == MR_SHRINK && o->n < 2)
		o->var = MR_GROW;
	switch (o->var) {
	case MR_ROUNDTRIP:
	case MR_DONTUNMAP:
		if (o->n > SCRATCH_TABLES * TP)
			o->n = SCRATCH_TABLES * TP;
		break;
	case MR_MOVE:
		gen_move(g, o);
		break;
	case MR_SHRINK:
		o->page2 = o->n / 2;
		break;
	case MR_GROW:
		o->page2 = o->n + 1 + rnd_below(&g->s, 16);
		break;
	}
}

/* A transfer between o->role and another live process (itself when it is
 * alone). */
static void gen_xfer(struct gen *g, struct op *o)
{
	unsigned int k;

	o->var = rnd_below(&g->s, XFER_NVAR);
	o->n = 1 + rnd_below(&g->s, MAX_XFER);
	o->page = rnd_below(&g->s, g->np - o->n + 1);
	o->page2 = rnd_below(&g->s, g->np - o->n + 1);
	o->peer = o->role;
	if (g->nlive > 1) {
		k = rnd_below(&g->s, g->nlive - 1);
		o->peer = g->live[k] == o->role ? g->live[g->nlive - 1] :
						    g->live[k];
	}
}

static void gen_exit(struct gen *g, struct op *o)
{
	unsigned int k = 1 + rnd_below(&g->s, g->nlive - 1);

	o->role = g->live[k];
	for (; k + 1 < g->nlive; k++)
		g->live[k] = g->live[k + 1];
	g->nlive--;
}

static void gen_op(struct gen *g, struct op *o)
{
	memset(o, 0, sizeof(*o));
	o->kind = gen_kind(g);
	o->role = g->live[rnd_below(&g->s, g->nlive)];
	o->pat = rnd(&g->s);
	o->stride = 1;
	gen_range(g, o);
	switch (o->kind) {
	case OP_WRITE:
		gen_write(g, o);
		break;
	case OP_READ:
		gen_stride(g, o);
		break;
	case OP_PROTECT:
		o->var = gen_protect(g);
		break;
	case OP_UNMAP:
		o->var = rnd_below(&g->s, UNMAP_NVAR);
		break;
	case OP_MREMAP:
		gen_mremap(g, o);
		break;
	case OP_MADVISE:
		o->var = rnd_below(&g->s, ARRAY_SIZE(advices));
		break;
	case OP_MLOCK:
		o->var = rnd_below(&g->s, MLOCK_NVAR);
		break;
	case OP_FORK:
		o->peer = g->nroles++;
		g->live[g->nlive++] = o->peer;	/* the largest role yet */
		break;
	case OP_EXIT:
		gen_exit(g, o);
		break;
	case OP_PVM:
	case OP_PMEM:
		gen_xfer(g, o);
		break;
	case OP_SPLICE:
		o->n = 1 + rnd_below(&g->s, MAX_SPLICE);
		o->page = rnd_below(&g->s, g->np - o->n + 1);
		g->spl_page = o->page;
		g->spl_n = o->n;
		break;
	default:
		break;
	}
}

static struct op *gen_add(struct prog *p, enum op_kind kind,
			  unsigned int role)
{
	struct op *o = &p->op[p->nsteps++];

	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->role = role;
	o->stride = 1;
	return o;
}

/*
 * The program of a seed: a sparse write of every table and a fork (the
 * odfork run shares the tables there), random ops, then the state of
 * every live process and the exits.  Only the random ops depend on nops,
 * and each one only on the ops before it.
 */
static struct prog *gen_program(uint64_t seed, unsigned int nops)
{
	struct gen g = { .s = seed };
	struct prog *p;
	struct op *o;
	unsigned int i;

	if (nops < 2)
		nops = 2;
	p = calloc(1, sizeof(*p) + (nops + 2 * MAX_LIVE) * sizeof(p->op[0]));
	KT_ASSERT(p);
	p->seed = seed;
	p->nops = nops;
	p->nt = MIN_TABLES + rnd_below(&g.s, MAX_TABLES - MIN_TABLES + 1);
	g.np = p->nt * TP;
	g.nroles = 2;
	g.nlive = 2;
	g.live[1] = 1;
	o = gen_add(p, OP_WRITE, 0);
	o->n = g.np;
	o->stride = 8 + rnd_below(&g.s, 25);
	o->pat = rnd(&g.s);
	o = gen_add(p, OP_FORK, 0);
	o->peer = 1;
	for (i = 2; i < nops; i++)
		gen_op(&g, &p->op[p->nsteps++]);
	for (i = 0; i < g.nlive; i++)
		gen_add(p, OP_STATE, g.live[i]);
	for (i = g.nlive - 1; i > 0; i--)
		gen_add(p, OP_EXIT, g.live[i]);
	return p;
}

/* ------------------------------------------------------------------ */
/* The state of every process of a run (set before its first fork) */

static const struct prog *P;	/* the program */
static int run_od;		/* forks are odfork(0), not fork() */
static int perturb_step = -1;	/* self-test 2: that write flips a byte */
static volatile int *flipped;	/* shared: it did */
static char *rres;		/* the reservation */
static size_t rres_len;
static char *rbase;		/* the region */
static char *rscratch;		/* the scratch area */
static int my_role;
static int my_slot;		/* the command pipe this process reads */
static int fork_slot;		/* OP_FORK: the child's slot */
static int cmd_fd[MAX_LIVE][2];	/* commands, by slot (0: the driver) */
static int rep_fd[2];		/* replies of all roles */
static int sp_fd[2] = { -1, -1 };	/* this process's vmsplice pipe */
static int perturb_now;
static volatile int cur_step;
static unsigned char xbuf[BUF_PAGES * PS] __attribute__((aligned(4096)));

/* What the current op logs. */
static struct {
	size_t len;
	int truncated;
	char buf[TEXT_MAX];
} out;

static char *pg(unsigned int i)
{
	return rbase + (size_t)i * PS;
}

static void out_printf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void out_printf(const char *fmt, ...)
{
	size_t room = TEXT_MAX - TEXT_SLACK - out.len;
	va_list ap;
	int n;

	if (out.truncated)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out.buf + out.len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		out.len += snprintf(out.buf + out.len, TEXT_SLACK + room,
				    "\n%04d r%d truncated\n", cur_step, my_role);
		out.truncated = 1;
		return;
	}
	out.len += (size_t)n;
}

static void out_reset(void)
{
	out.len = 0;
	out.truncated = 0;
}

static const char *err_name(int err)
{
	const char *s = strerrorname_np(err);

	return s ? s : "E?";
}

static void put_rc(const char *what, long rc, int err)
{
	if (rc < 0)
		out_printf(" %s%s", what, err_name(err));
	else
		out_printf(" %s%ld", what, rc);
}

/* The result of mmap or mremap, which should have returned want. */
static void put_map(const char *what, void *m, void *want, int err)
{
	if (m == MAP_FAILED)
		out_printf(" %s%s", what, err_name(err));
	else if (m == want)
		out_printf(" %sok", what);
	else
		out_printf(" %sat%+ld", what, (long)((char *)m - rbase));
}

/* "+0x200000" or "-0x200000": an address relative to the region. */
static void put_rel(const char *what, unsigned long addr)
{
	long d = (long)(addr - (unsigned long)rbase);

	out_printf("%s%c0x%lx", what, d < 0 ? '-' : '+',
		   (unsigned long)(d < 0 ? -d : d));
}

/* ------------------------------------------------------------------ */
/* Touching pages: SIGSEGV and SIGBUS become results */

static sigjmp_buf fault_jb;
static volatile sig_atomic_t fault_armed;
static volatile int fault_sig, fault_code;

struct rep {
	int role;
	int step;
	pid_t child;	/* OP_FORK: the new process */
	int status;	/* STEP_REAP: its status; < 0: this role crashed */
	unsigned int len;	/* log text that follows */
};

/* A fault outside a walk: report the crash to the driver as this op's
 * result and die. */
static void crash(int sig)
{
	struct rep h = { my_role, cur_step, 0, -sig, 0 };
	char text[64];
	int n;

	n = snprintf(text, sizeof(text), "%04d r%d crash %s\n", cur_step,
		     my_role, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
	if (my_role == 0) {
		if (write(STDERR_FILENO, text, (size_t)n) < 0)
			_exit(128 + sig);
		_exit(128 + sig);
	}
	h.len = (unsigned int)n;
	if (write(rep_fd[1], &h, sizeof(h)) == (ssize_t)sizeof(h) &&
	    write(rep_fd[1], text, (size_t)n) == n)
		_exit(128 + sig);
	_exit(128 + sig);
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!fault_armed)
		crash(sig);
	fault_armed = 0;
	fault_sig = sig;
	fault_code = si->si_code;
	siglongjmp(fault_jb, 1);
}

static void install_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL) != 0 ||
	    sigaction(SIGBUS, &sa, NULL) != 0)
		kt_fail(__FILE__, __LINE__, "sigaction");
	signal(SIGPIPE, SIG_IGN);
}

struct walk {
	unsigned int done;	/* pages done */
	unsigned int faults;	/* pages that faulted */
	unsigned int first;	/* the first of them */
	int sig, code;		/* its signal and si_code */
	unsigned int bad;	/* final state: pages that cannot be read */
	uint64_t h;
};

typedef void page_fn(struct walk *w, char *page, unsigned int idx,
		     uint64_t arg);
typedef void fault_fn(struct walk *w, unsigned int idx);
typedef void line_fn(char *line, void *arg);

/*
 * fn() every stride-th of n pages from base, whose region indices start
 * at first.  A page that faults is recorded (and passed to ffn), and the
 * walk goes on with the next one.
 */
static void walk_pages(struct walk *w, char *base, unsigned int first,
		       unsigned int n, unsigned int stride, page_fn *fn,
		       uint64_t arg, fault_fn *ffn)
{
	volatile unsigned int i = 0;

	if (sigsetjmp(fault_jb, 1)) {
		if (!w->faults++) {
			w->first = first + i;
			w->sig = fault_sig;
			w->code = fault_code;
		}
		w->h = mix64(w->h ^ FAULT_MARK ^ ((uint64_t)fault_sig << 40) ^
			     ((uint64_t)fault_code << 32) ^ (first + i));
		if (ffn)
			ffn(w, first + i);
		i += stride;
	}
	while (i < n) {
		fault_armed = 1;
		barrier();
		fn(w, base + (size_t)i * PS, first + i, arg);
		barrier();
		fault_armed = 0;
		w->done++;
		i += stride;
	}
}

static void put_walk(const struct walk *w, int hash)
{
	out_printf(" n=%u", w->done);
	if (hash)
		out_printf(" h=%016" PRIx64, w->h);
	if (w->faults)
		out_printf(" faults=%u first=%u %s/%d", w->faults, w->first,
			   sigabbrev_np(w->sig) ? sigabbrev_np(w->sig) : "?",
			   w->code);
}

/* Page idx of pattern pat: every word differs. */
static void fill_page(char *page, unsigned int idx, uint64_t pat)
{
	uint64_t *p = (uint64_t *)page;
	uint64_t v = mix64(pat ^ ((uint64_t)idx << 32));
	size_t k;

	for (k = 0; k < WORDS; k++)
		p[k] = v + k;
}

/* Words that a write op stores: the start, the middle and the end of a
 * page (storing whole pages would only cost time). */
static const unsigned short write_words[] = {
	0, 1, 2, 3, 252, 253, 254, 255, 508, 509, 510, 511,
};

static void write_page(struct walk *w, char *page, unsigned int idx,
		       uint64_t pat)
{
	uint64_t *p = (uint64_t *)page;
	uint64_t v = mix64(pat ^ ((uint64_t)idx << 32));
	size_t k;

	(void)w;
	for (k = 0; k < ARRAY_SIZE(write_words); k++)
		p[write_words[k]] = v + write_words[k];
	if (perturb_now) {
		((volatile char *)page)[5] ^= 1;
		perturb_now = 0;
		*flipped = 1;
	}
}

static void hash_page(struct walk *w, char *page, unsigned int idx,
		      uint64_t arg)
{
	(void)idx;
	(void)arg;
	w->h = hash_bytes(w->h, page, PS);
}

static void fill_walk(struct walk *w, char *page, unsigned int idx,
		      uint64_t pat)
{
	(void)w;
	fill_page(page, idx, pat);
}

/* ------------------------------------------------------------------ */
/* The ops */

static void describe(unsigned int step, const struct op *o)
{
	out_printf("%04u r%u %s", step, o->role, kind_name[o->kind]);
	switch (o->kind) {
	case OP_WRITE:
		out_printf(" %u+%u/%u", o->page, o->n, o->stride);
		break;
	case OP_READ:
		out_printf(" %u+%u/%u", o->page, o->n, o->stride);
		break;
	case OP_SPLICE:
		out_printf(" %u+%u", o->page, o->n);
		break;
	case OP_PROTECT:
		out_printf(" %s %u+%u", protects[o->var].name, o->page, o->n);
		break;
	case OP_UNMAP:
		out_printf(" %s %u+%u", unmap_name[o->var], o->page, o->n);
		break;
	case OP_MREMAP:
		out_printf(" %s %u+%u", mremap_name[o->var], o->page, o->n);
		if (o->var >= MR_MOVE)
			out_printf(" %s %u", o->var == MR_MOVE ? "to" : "len",
				   o->page2);
		break;
	case OP_MADVISE:
		out_printf(" %s %u+%u", advices[o->var].name, o->page, o->n);
		break;
	case OP_MLOCK:
		out_printf(" %s %u+%u", mlock_name[o->var], o->page, o->n);
		break;
	case OP_FORK:
		out_printf(" r%u", o->peer);
		break;
	case OP_PVM:
	case OP_PMEM:
		out_printf(" %s %u+%u r%u:%u", xfer_name[o->var], o->page,
			   o->n, o->peer, o->page2);
		break;
	default:
		break;
	}
	out_printf(" =");
}

static void exec_write(unsigned int step, const struct op *o)
{
	struct walk w = { 0 };

	perturb_now = (int)step == perturb_step;
	walk_pages(&w, pg(o->page), o->page, o->n, o->stride, write_page,
		   o->pat, NULL);
	perturb_now = 0;
	put_walk(&w, 0);
}

static void exec_read(const struct op *o)
{
	struct walk w = { 0 };

	walk_pages(&w, pg(o->page), o->page, o->n, o->stride, hash_page, 0,
		   NULL);
	put_walk(&w, 1);
}

static void exec_protect(const struct op *o)
{
	int r = mprotect(pg(o->page), (size_t)o->n * PS,
			 protects[o->var].prot);

	put_rc("", r, errno);
}

/* New anonymous memory over [a, a + len): no THP, so that its tables are
 * PTE tables that odfork can share. */
static void map_fresh(char *a, size_t len, int populate)
{
	void *m = mmap(a, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	int r;

	put_map("mmap=", m, a, errno);
	if (m == MAP_FAILED)
		return;
	r = madvise(a, len, MADV_NOHUGEPAGE);
	put_rc("nohuge=", r, errno);
	if (populate) {
		r = madvise(a, len, MADV_POPULATE_WRITE);
		put_rc("populate=", r, errno);
	}
}

static void exec_unmap(const struct op *o)
{
	size_t len = (size_t)o->n * PS;
	int r;

	if (o->var == UNMAP_HOLE || o->var == UNMAP_REMAP) {
		r = munmap(pg(o->page), len);
		put_rc("munmap=", r, errno);
	}
	if (o->var != UNMAP_HOLE)
		map_fresh(pg(o->page), len, o->var == UNMAP_OVER_POP);
}

/* Move the range to the scratch area, hash it there, move it back, and
 * reserve the scratch area again. */
static void exec_roundtrip(const struct op *o)
{
	size_t len = (size_t)o->n * PS;
	int flags = MREMAP_MAYMOVE | MREMAP_FIXED;
	struct walk w = { 0 };
	void *m;

	if (o->var == MR_DONTUNMAP)
		flags |= MREMAP_DONTUNMAP;
	m = mremap(pg(o->page), len, len, flags, rscratch);
	put_map("out=", m, rscratch, errno);
	if (m == MAP_FAILED)
		return;
	walk_pages(&w, rscratch, o->page, o->n, 1, hash_page, 0, NULL);
	put_walk(&w, 1);
	m = mremap(rscratch, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
		   pg(o->page));
	put_map("back=", m, pg(o->page), errno);
	if (m == MAP_FAILED)
		return;
	m = mmap(rscratch, SCRATCH_TABLES * TS, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
		 -1, 0);
	if (m != rscratch)
		put_map("scratch=", m, rscratch, errno);
}

static void exec_mremap(const struct op *o)
{
	size_t len = (size_t)o->n * PS;
	void *m;

	switch (o->var) {
	case MR_ROUNDTRIP:
	case MR_DONTUNMAP:
		exec_roundtrip(o);
		break;
	case MR_MOVE:
		m = mremap(pg(o->page), len, len,
			   MREMAP_MAYMOVE | MREMAP_FIXED, pg(o->page2));
		put_map("", m, pg(o->page2), errno);
		break;
	default:	/* shrink or grow in place */
		m = mremap(pg(o->page), len, (size_t)o->page2 * PS, 0);
		put_map("", m, pg(o->page), errno);
		break;
	}
}

static void zap_page(struct walk *w, unsigned int idx)
{
	(void)w;
	madvise(pg(idx), PS, MADV_DONTNEED);
}

/*
 * MADV_FREE leaves a page's content to reclaim: rewrite every page of the
 * range at once, and zap (to zero) the pages that cannot be written.
 */
static void exec_madvise(const struct op *o)
{
	int r = madvise(pg(o->page), (size_t)o->n * PS,
			advices[o->var].advice);
	struct walk w = { 0 };

	put_rc("", r, errno);
	if (advices[o->var].advice != MADV_FREE)
		return;
	walk_pages(&w, pg(o->page), o->page, o->n, 1, fill_walk, o->pat,
		   zap_page);
	out_printf(" rewritten=%u zapped=%u", w.done, w.faults);
}

static void exec_mlock(const struct op *o)
{
	size_t len = (size_t)o->n * PS;
	int r;

	if (o->var == MLOCK_LOCK)
		r = mlock(pg(o->page), len);
	else if (o->var == MLOCK_UNLOCK)
		r = munlock(pg(o->page), len);
	else
		r = mlock2(pg(o->page), len, MLOCK_ONFAULT);
	put_rc("", r, errno);
}

static void worker(void) __attribute__((noreturn));

/* fork() or odfork(): the child becomes role o->peer, reading the command
 * pipe of fork_slot. */
static pid_t exec_fork(const struct op *o)
{
	pid_t pid;

	if (run_od)
		pid = kt_odfork(0);
	else
		pid = (pid_t)syscall(SYS_fork);
	if (pid == 0) {
		my_role = o->peer;
		my_slot = fork_slot;
		worker();
	}
	if (pid < 0)
		put_rc("", -1, errno);
	else
		out_printf(" ok");
	return pid;
}

static void exec_pvm(const struct op *o, pid_t peer)
{
	size_t len = (size_t)o->n * PS;
	struct iovec l = { pg(o->page), len };
	struct iovec r = { pg(o->page2), len };
	struct walk w = { 0 };
	ssize_t n;

	if (o->var == XFER_READ)
		n = process_vm_readv(peer, &l, 1, &r, 1, 0);
	else
		n = process_vm_writev(peer, &l, 1, &r, 1, 0);
	put_rc("", n, errno);
	if (o->var == XFER_READ && n > 0) {
		walk_pages(&w, pg(o->page), o->page,
			   (unsigned int)(((size_t)n + PS - 1) / PS), 1,
			   hash_page, 0, NULL);
		put_walk(&w, 1);
	}
}

static void exec_pmem(const struct op *o, pid_t peer)
{
	size_t len = (size_t)o->n * PS;
	off_t off = (off_t)(uintptr_t)pg(o->page2);
	char path[48];
	unsigned int k;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)peer);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		put_rc("open=", -1, errno);
		return;
	}
	if (o->var == XFER_WRITE) {
		for (k = 0; k < o->n; k++)
			fill_page((char *)xbuf + k * PS, o->page + k, o->pat);
		n = pwrite(fd, xbuf, len, off);
		put_rc("", n, errno);
	} else {
		n = pread(fd, xbuf, len, off);
		put_rc("", n, errno);
		if (n > 0)
			out_printf(" h=%016" PRIx64,
				   hash_bytes(0, xbuf, (size_t)n));
	}
	close(fd);
}

static void exec_splice(const struct op *o)
{
	struct iovec iov = { pg(o->page), (size_t)o->n * PS };
	ssize_t n;

	if (sp_fd[0] < 0) {
		if (pipe2(sp_fd, O_NONBLOCK | O_CLOEXEC) != 0) {
			put_rc("pipe=", -1, errno);
			sp_fd[0] = -1;
			sp_fd[1] = -1;
			return;
		}
		out_printf(" new");
	}
	n = vmsplice(sp_fd[1], &iov, 1, SPLICE_F_NONBLOCK);
	put_rc("", n, errno);
}

/* Read what the pipe holds (a default pipe holds BUF_PAGES pages). */
static void exec_drain(void)
{
	ssize_t n;

	if (sp_fd[0] < 0) {
		out_printf(" none");
		return;
	}
	n = read(sp_fd[0], xbuf, sizeof(xbuf));
	put_rc("", n, errno);
	if (n > 0)
		out_printf(" h=%016" PRIx64, hash_bytes(0, xbuf, (size_t)n));
}

/* ------------------------------------------------------------------ */
/* The final state of a process */

/* Call fn on every line of a file (no stdio: nothing to mmap). */
static int read_lines(const char *path, line_fn *fn, void *arg)
{
	static char buf[16384];
	size_t have = 0;
	char *start, *nl;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (;;) {
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		start = buf;
		while ((nl = strchr(start, '\n'))) {
			*nl = '\0';
			fn(start, arg);
			start = nl + 1;
		}
		have -= (size_t)(start - buf);
		memmove(buf, start, have);
		if (have == sizeof(buf) - 1)
			have = 0;	/* a line longer than buf: dropped */
	}
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

struct vma_line {
	unsigned long s, e;
	char perms[8];
	unsigned long long off;
	char dev[16];
	unsigned long ino;
};

/* A maps line, or the header line of an smaps entry. */
static int parse_vma(const char *line, struct vma_line *v)
{
	return sscanf(line, "%lx-%lx %7s %llx %15s %lu", &v->s, &v->e,
		      v->perms, &v->off, v->dev, &v->ino) == 6;
}

/* Whether v overlaps the reservation; clip it to it. */
static int clip_vma(struct vma_line *v)
{
	unsigned long lo = (unsigned long)rres, hi = lo + rres_len;

	if (v->e <= lo || v->s >= hi)
		return 0;
	if (v->s < lo)
		v->s = lo;
	if (v->e > hi)
		v->e = hi;
	return 1;
}

/* The maps lines of the reservation, in address order. */
#define MAX_VMAS	(RES_TABLES(MAX_TABLES) * TP)
static struct vma_line vmas[MAX_VMAS];
static unsigned int nvmas;

static void maps_line(char *line, void *arg)
{
	struct vma_line v;

	(void)arg;
	if (parse_vma(line, &v) && clip_vma(&v) && nvmas < MAX_VMAS)
		vmas[nvmas++] = v;
}

/* The first VMA that ends above addr, or NULL. */
static const struct vma_line *vma_from(unsigned long addr)
{
	unsigned int k;

	for (k = 0; k < nvmas; k++)
		if (vmas[k].e > addr)
			return &vmas[k];
	return NULL;
}

static int mem_fd = -1;		/* /proc/self/mem, in exec_state() */

/* Hash n pages from idx, read through /proc/self/mem (which reads
 * PROT_NONE pages too) in chunks; a page that cannot be read is marked. */
static uint64_t hash_mem(uint64_t h, unsigned int idx, unsigned int n,
			 unsigned int *bad)
{
	unsigned int k, c;
	ssize_t got;

	for (; n; n -= c, idx += c) {
		c = n < BUF_PAGES ? n : BUF_PAGES;
		got = pread(mem_fd, xbuf, c * PS, (off_t)(uintptr_t)pg(idx));
		if (got < 0)
			got = 0;
		for (k = 0; k < c; k++) {
			if ((size_t)got >= (k + 1) * PS) {
				h = hash_bytes(h, xbuf + k * PS, PS);
				continue;
			}
			(*bad)++;
			h = mix64(h ^ BAD_MARK ^ (idx + k));
		}
	}
	return h;
}

/*
 * The hash of every page of table t, in order.  A page is read where the
 * maps lines have a VMA, and marked where they have a hole.  (Reading
 * with /proc/self/mem rather than direct loads takes no page-fault trap
 * per untouched page: much faster in a VM.)
 */
static uint64_t hash_table(unsigned int t, unsigned int *bad)
{
	unsigned int i = t * TP, end = i + TP, run, k;
	unsigned long a, stop;
	const struct vma_line *v;
	uint64_t h = t;

	*bad = 0;
	while (i < end) {
		a = (unsigned long)pg(i);
		v = vma_from(a);
		stop = !v ? (unsigned long)pg(end) : v->s > a ? v->s : v->e;
		run = (unsigned int)((stop - a) / PS);
		if (run > end - i)
			run = end - i;
		if (v && v->s <= a) {
			h = hash_mem(h, i, run, bad);
		} else {
			for (k = 0; k < run; k++)
				h = mix64(h ^ BAD_MARK ^ (i + k));
			*bad += run;
		}
		i += run;
	}
	return h;
}

struct smaps_ctx {
	int step;
	int in;			/* the current entry is in the window */
	struct vma_line v;
};

static void smaps_line(char *line, void *arg)
{
	struct smaps_ctx *c = arg;
	struct vma_line v;

	if (parse_vma(line, &v)) {
		c->v = v;
		c->in = clip_vma(&c->v);
		return;
	}
	if (!c->in || strncmp(line, "VmFlags:", 8) != 0)
		return;
	out_printf("%04d r%d state flags", c->step, my_role);
	put_rel(" ", c->v.s);
	put_rel("-", c->v.e);
	out_printf("%s\n", line + 8);
}

static void put_vmas(unsigned int step)
{
	const struct vma_line *v;

	for (v = vmas; v < vmas + nvmas; v++) {
		out_printf("%04u r%d state map", step, my_role);
		put_rel(" ", v->s);
		put_rel("-", v->e);
		out_printf(" %s %llx %s %lu\n", v->perms, v->off, v->dev,
			   v->ino);
	}
}

/* A hash of every table of the region, the maps lines and VmFlags of the
 * reservation, and what is left in the pipe. */
static void exec_state(unsigned int step, const struct op *o)
{
	struct smaps_ctx sc = { .step = (int)step };
	unsigned int t, bad;
	uint64_t h;
	int err;

	nvmas = 0;
	err = read_lines("/proc/self/maps", maps_line, NULL);
	if (err)
		kt_fail(__FILE__, __LINE__, "read /proc/self/maps");
	mem_fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	if (mem_fd < 0)
		kt_fail(__FILE__, __LINE__, "open /proc/self/mem");
	for (t = 0; t < P->nt; t++) {
		h = hash_table(t, &bad);
		out_printf("%04u r%u state table %u h=%016" PRIx64 " bad=%u\n",
			   step, o->role, t, h, bad);
	}
	close(mem_fd);
	mem_fd = -1;
	put_vmas(step);
	err = read_lines("/proc/self/smaps", smaps_line, &sc);
	if (err)
		out_printf("%04u r%u state smaps: %s\n", step, o->role,
			   err_name(-err));
	if (sp_fd[0] >= 0) {
		out_printf("%04u r%u state pipe =", step, o->role);
		exec_drain();
		out_printf("\n");
	}
}

/* Run op `step` here and put its log text in out.  *child: OP_FORK's
 * new process. */
static void exec_op(unsigned int step, pid_t peer, pid_t *child)
{
	const struct op *o = &P->op[step];

	cur_step = (int)step;
	out_reset();
	*child = 0;
	if (o->kind == OP_STATE) {
		exec_state(step, o);
		return;
	}
	if (o->kind == OP_EXIT)
		return;		/* the driver logs it once reaped */
	describe(step, o);
	switch (o->kind) {
	case OP_WRITE:
		exec_write(step, o);
		break;
	case OP_READ:
		exec_read(o);
		break;
	case OP_PROTECT:
		exec_protect(o);
		break;
	case OP_UNMAP:
		exec_unmap(o);
		break;
	case OP_MREMAP:
		exec_mremap(o);
		break;
	case OP_MADVISE:
		exec_madvise(o);
		break;
	case OP_MLOCK:
		exec_mlock(o);
		break;
	case OP_FORK:
		*child = exec_fork(o);
		break;
	case OP_PVM:
		exec_pvm(o, peer);
		break;
	case OP_PMEM:
		exec_pmem(o, peer);
		break;
	case OP_SPLICE:
		exec_splice(o);
		break;
	case OP_DRAIN:
		exec_drain();
		break;
	default:
		break;
	}
	out_printf("\n");
}

/* ------------------------------------------------------------------ */
/* Every process but the driver: one op per command */

struct cmd {
	int step;	/* an op, or STEP_REAP */
	pid_t peer;	/* the pid of the op's peer */
	pid_t reap;	/* STEP_REAP: the child to reap */
	int slot;	/* OP_FORK: the child's slot */
};

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void reply(int step, pid_t child, int status)
{
	struct rep h = { my_role, step, child, status,
			 (unsigned int)out.len };

	if (write_all(rep_fd[1], &h, sizeof(h)) != 0 ||
	    write_all(rep_fd[1], out.buf, out.len) != 0)
		_exit(3);
}

static void worker(void)
{
	struct cmd c;
	pid_t child;
	ssize_t n;

	for (;;) {
		n = read(cmd_fd[my_slot][0], &c, sizeof(c));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(c))
			_exit(3);	/* the driver is gone */
		if (c.step == STEP_REAP) {
			out_reset();
			reply(c.step, 0, kt_wait(c.reap));
			continue;
		}
		fork_slot = c.slot;
		exec_op((unsigned int)c.step, c.peer, &child);
		reply(c.step, child, 0);
		if (P->op[c.step].kind == OP_EXIT)
			_exit(0);
	}
}

/* ------------------------------------------------------------------ */
/* The driver: role 0, runs the program */

struct dt_log {
	size_t cap;
	size_t len;
	int flipped;	/* self-test 2: a byte was flipped */
	char text[];
};

static struct {
	struct dt_log *log;
	int live[MAX_ROLES];
	pid_t pid[MAX_ROLES];
	int parent[MAX_ROLES];	/* who reaps it: its parent, or role 0 */
	int slot[MAX_ROLES];	/* its command pipe */
	int slot_used[MAX_LIVE];
} D;

static void drv_kill_all(void)
{
	int r;

	for (r = 1; r < MAX_ROLES; r++)
		if (D.live[r])
			kill(D.pid[r], SIGKILL);
}

#define DRV_FAIL(...)							\
	do {								\
		drv_kill_all();						\
		kt_fail(__FILE__, __LINE__, __VA_ARGS__);		\
	} while (0)

static void log_out(void)
{
	if (D.log->len + out.len > D.log->cap)
		DRV_FAIL("seed %" PRIu64 ": the log is full", P->seed);
	memcpy(D.log->text + D.log->len, out.buf, out.len);
	D.log->len += out.len;
}

/* Read len bytes of a reply, waiting at most REPLY_MS. */
static void drv_read(void *buf, size_t len, int role, int step)
{
	struct pollfd pfd = { .fd = rep_fd[0], .events = POLLIN };
	char *p = buf;
	ssize_t n;

	while (len) {
		n = poll(&pfd, 1, REPLY_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			DRV_FAIL("seed %" PRIu64 " step %d: role %d did not "
				 "answer in %d ms", P->seed, step, role,
				 REPLY_MS);
		n = read(rep_fd[0], p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			DRV_FAIL("seed %" PRIu64 " step %d: reply of role %d",
				 P->seed, step, role);
		p += n;
		len -= (size_t)n;
	}
}

/* Send a command to role r and wait for its reply (text in out). */
static void drv_ask(int r, int step, pid_t peer, pid_t reap,
		    struct rep *h)
{
	struct cmd c = { step, peer, reap, fork_slot };

	if (write_all(cmd_fd[D.slot[r]][1], &c, sizeof(c)) != 0)
		DRV_FAIL("seed %" PRIu64 " step %d: command to role %d",
			 P->seed, step, r);
	drv_read(h, sizeof(*h), r, step);
	if (h->role != r || h->step != step || h->len > TEXT_MAX)
		DRV_FAIL("seed %" PRIu64 " step %d: role %d answered as "
			 "role %d for step %d", P->seed, step, r, h->role,
			 h->step);
	out_reset();
	drv_read(out.buf, h->len, r, step);
	out.len = h->len;
}

/* Role r has exited: its parent reaps it (role 0 reaps the orphans, as
 * their subreaper).  Returns kt_wait()'s status. */
static int drv_reap(int r)
{
	struct rep h;
	int p = D.parent[r];
	int st, c;

	if (p == 0) {
		st = kt_wait(D.pid[r]);
	} else {
		drv_ask(p, STEP_REAP, 0, D.pid[r], &h);
		st = h.status;
	}
	D.live[r] = 0;
	D.slot_used[D.slot[r]] = 0;
	for (c = 0; c < MAX_ROLES; c++)
		if (D.live[c] && D.parent[c] == r)
			D.parent[c] = 0;
	return st;
}

/* A command pipe for a new process (the generator keeps at most
 * MAX_LIVE processes alive). */
static int drv_free_slot(void)
{
	int k;

	for (k = 1; k < MAX_LIVE; k++)
		if (!D.slot_used[k])
			return k;
	DRV_FAIL("seed %" PRIu64 ": no free slot", P->seed);
}

static int has_peer(const struct op *o)
{
	return o->kind == OP_PVM || o->kind == OP_PMEM;
}

static void drv_step(unsigned int step)
{
	const struct op *o = &P->op[step];
	int r = o->role;
	pid_t peer = 0, child = 0;
	struct rep h = { 0 };

	if (!D.live[r] || (has_peer(o) && !D.live[o->peer])) {
		/* only after a failed fork, in both runs alike */
		out_reset();
		describe(step, o);
		out_printf(" %s gone\n", D.live[r] ? "peer" : "role");
		log_out();
		return;
	}
	if (has_peer(o))
		peer = D.pid[o->peer];
	if (o->kind == OP_FORK)
		fork_slot = drv_free_slot();
	if (r == 0)
		exec_op(step, peer, &child);
	else
		drv_ask(r, (int)step, peer, 0, &h);
	if (h.status < 0) {		/* it crashed: the text says so */
		log_out();
		drv_reap(r);
		return;
	}
	if (r != 0)
		child = h.child;
	if (o->kind == OP_FORK && child > 0) {
		D.live[o->peer] = 1;
		D.pid[o->peer] = child;
		D.parent[o->peer] = r;
		D.slot[o->peer] = fork_slot;
		D.slot_used[fork_slot] = 1;
	}
	if (o->kind == OP_EXIT) {
		h.status = drv_reap(r);
		out_reset();
		describe(step, o);
		out_printf(" %d\n", h.status);
	}
	log_out();
}

static void map_region(unsigned int nt)
{
	rres_len = RES_TABLES(nt) * TS;
	rres = kt_reserve(rres_len, 0);
	rbase = rres + TS;
	rscratch = rbase + (nt + 1) * TS;
	if (mmap(rbase, nt * TS, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != rbase)
		kt_fail(__FILE__, __LINE__, "mmap %u tables", nt);
	if (madvise(rbase, nt * TS, MADV_NOHUGEPAGE) != 0)
		kt_fail(__FILE__, __LINE__, "MADV_NOHUGEPAGE");
}

/* The driver process of one run: returns its exit status. */
static int driver_main(int od, struct dt_log *log)
{
	unsigned int step;
	int r;

	run_od = od;
	D.log = log;
	flipped = &log->flipped;
	my_role = 0;
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
		kt_fail(__FILE__, __LINE__, "PR_SET_CHILD_SUBREAPER");
	install_handlers();
	for (r = 1; r < MAX_LIVE; r++)
		if (pipe2(cmd_fd[r], O_CLOEXEC) != 0)
			kt_fail(__FILE__, __LINE__, "pipe2");
	if (pipe2(rep_fd, O_CLOEXEC) != 0)
		kt_fail(__FILE__, __LINE__, "pipe2");
	map_region(P->nt);
	D.live[0] = 1;
	D.pid[0] = getpid();
	for (step = 0; step < P->nsteps; step++)
		drv_step(step);
	for (r = 1; r < MAX_ROLES; r++)
		if (D.live[r])
			DRV_FAIL("seed %" PRIu64 ": role %d is still alive",
				 P->seed, r);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Two runs of a program, compared */

static struct dt_log *log_new(size_t cap)
{
	struct dt_log *l = mmap(NULL, sizeof(*l) + cap,
				PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE,
				-1, 0);

	if (l == MAP_FAILED)
		kt_fail(__FILE__, __LINE__, "mmap a log of %zu bytes", cap);
	l->cap = cap;
	l->len = 0;
	l->flipped = 0;
	return l;
}

static void log_free(struct dt_log *l)
{
	munmap(l, sizeof(*l) + l->cap);
}

static const char *run_name(int od)
{
	return od ? "odfork" : "fork";
}

static void run_once(int od, struct dt_log *log)
{
	pid_t pid;
	int st;

	log->len = 0;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		kt_fail(__FILE__, __LINE__, "fork");
	if (pid == 0)
		_exit(driver_main(od, log));
	st = kt_wait(pid);
	if (st != 0)
		kt_fail(__FILE__, __LINE__, "seed %" PRIu64 ": the driver of "
			"the %s run exited with status %d", P->seed,
			run_name(od), st);
}

/* Self-test 2 flips a byte in the last write of role 0: role 0 lives to
 * the end, so the final state sees it unless a later op drops it. */
static int last_write(const struct prog *p)
{
	int i;

	for (i = (int)p->nsteps - 1; i >= 0; i--)
		if (p->op[i].kind == OP_WRITE && p->op[i].role == 0)
			return i;
	return -1;
}

static size_t line_len(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? (size_t)(nl - p) : (size_t)(end - p);
}

static int report_limit = -1;	/* differences to print; < 0: all */

static void report(const struct prog *p, const char *name_b,
		   const char *la, int na, const char *lb, int nb,
		   const char *prev, int nprev)
{
	if (report_limit == 0)
		return;
	if (report_limit > 0)
		report_limit--;
	fprintf(stderr, "difftest: seed %" PRIu64 " (%u ops, %u tables): "
		"the runs differ at step %.4s\n"
		"  before: %.*s\n  fork:   %.*s\n  %-7s %.*s\n"
		"  replay: KT_FILTER=test_diff_long KT_DIFF_SEED0=%" PRIu64
		" KT_DIFF_OPS=%u (KT_DIFF_VERBOSE=1: both logs)\n",
		p->seed, p->nops, p->nt, na ? la : lb, nprev, prev,
		na, na ? la : "(end of log)", name_b,
		nb, nb ? lb : "(end of log)", p->seed, p->nops);
}

/* 0 when the logs are equal; else report the first difference, 1. */
static int compare(const struct prog *p, const char *name_b,
		   const struct dt_log *a, const struct dt_log *b)
{
	const char *pa = a->text, *ea = pa + a->len;
	const char *pb = b->text, *eb = pb + b->len;
	const char *prev = "(none)";
	size_t la, lb, lprev = 6;

	while (pa < ea || pb < eb) {
		la = pa < ea ? line_len(pa, ea) : 0;
		lb = pb < eb ? line_len(pb, eb) : 0;
		if (la != lb || memcmp(pa, pb, la) != 0 || pa >= ea ||
		    pb >= eb) {
			report(p, name_b, pa, (int)la, pb, (int)lb, prev,
			       (int)lprev);
			return 1;
		}
		prev = pa;
		lprev = la;
		pa += la + 1;
		pb += lb + 1;
	}
	return 0;
}

static int verbose(void)
{
	const char *v = getenv("KT_DIFF_VERBOSE");

	return v && *v && strcmp(v, "0") != 0;
}

/*
 * Run a seed's program with fork(), then with odfork() (od) or fork()
 * again, the second run flipping a byte of one write when perturb; 0 when
 * both logs are equal, else 1 after printing the first difference.  The
 * odfork run must share tables.  *perturbed: a byte was flipped.
 */
static int diff_seed(uint64_t seed, unsigned int nops, int od, int perturb,
		     int *perturbed)
{
	struct prog *p = gen_program(seed, nops);
	size_t cap = (size_t)p->nsteps * OP_LINE_MAX +
		     (MAX_LIVE + 1) * (size_t)TEXT_MAX;
	struct dt_log *a = log_new(cap), *b = log_new(cap);
	struct kt_snap s0, s1;
	int differ;

	P = p;
	perturb_step = -1;
	run_once(0, a);
	if (perturb)
		perturb_step = last_write(p);
	kt_snap(&s0);
	run_once(od, b);
	kt_snap(&s1);
	perturb_step = -1;
	if (perturbed)
		*perturbed = b->flipped;
	if (verbose())
		fprintf(stderr, "--- seed %" PRIu64 ", fork run:\n%.*s"
			"--- seed %" PRIu64 ", %s run:\n%.*s", seed,
			(int)a->len, a->text, seed, run_name(od),
			(int)b->len, b->text);
	differ = compare(p, od ? "odfork:" : "fork#2:", a, b);
	if (!differ && od && kt_moved(&s0, &s1, KT_C_SHARED) <= 0)
		kt_fail(__FILE__, __LINE__, "seed %" PRIu64 ": the odfork "
			"run shared no table (%s moved by %lld)", seed,
			KT_SHARED, kt_moved(&s0, &s1, KT_C_SHARED));
	log_free(a);
	log_free(b);
	free(p);
	P = NULL;
	return differ;
}

/* Run on one CPU, the one we are on. */
static void pin_cpu(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	CPU_ZERO(&set);
	CPU_SET(cpu < 0 ? 0 : cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		kt_fail(__FILE__, __LINE__, "sched_setaffinity cpu %d", cpu);
}

/* ------------------------------------------------------------------ */
/* Tests */

static unsigned long long env_num(const char *name, unsigned long long dflt)
{
	const char *v = getenv(name);
	unsigned long long n;
	char *end;

	if (!v || !*v)
		return dflt;
	errno = 0;
	n = strtoull(v, &end, 0);
	if (errno || *end) {
		fprintf(stderr, "%s=%s: not a number\n", name, v);
		exit(2);
	}
	return n;
}

static uint64_t g_seed;		/* the seed of long_body() */
static unsigned int g_ops;
static int g_mode;		/* self-test mode, or 0 */

/* Self-test outcome, shared with the runner. */
static struct selftest_out {
	int differ;
	int perturbed;
} *g_st;

KT_TEST(test_diff_ci)
{
	uint64_t seed;

	pin_cpu();
	kt_sysctl_set(1);
	for (seed = CI_SEED0; seed < CI_SEED0 + CI_SEEDS; seed++)
		if (diff_seed(seed, CI_OPS, 1, 0, NULL))
			kt_fail(__FILE__, __LINE__, "seed %" PRIu64 ": fork() "
				"and odfork() differ (see above)", seed);
	return 0;
}

static int long_body(void)
{
	pin_cpu();
	kt_sysctl_set(1);
	if (diff_seed(g_seed, g_ops, 1, 0, NULL))
		kt_fail(__FILE__, __LINE__, "seed %" PRIu64 ": fork() and "
			"odfork() differ (see above)", g_seed);
	return 0;
}

/* Each seed in a body of its own: the body time limit is per seed. */
static void test_diff_long(void **state)
{
	unsigned long long n, i, seed0;

	(void)state;
	if (!getenv("KT_DIFF_SEEDS") && !getenv("KT_DIFF_SEED0"))
		skip();
	n = env_num("KT_DIFF_SEEDS", 1);
	seed0 = env_num("KT_DIFF_SEED0", 1);
	g_ops = (unsigned int)env_num("KT_DIFF_OPS", LONG_OPS);
	for (i = 0; i < n; i++) {
		g_seed = seed0 + i;
		if (i && i % 100 == 0)
			fprintf(stderr, "difftest: %llu seeds of %u ops "
				"passed\n", i, g_ops);
		assert_int_equal(kt_run(long_body), 0);
	}
}

static int selftest_body(void)
{
	pin_cpu();
	g_st->differ = diff_seed(g_seed, g_ops, 0, g_mode == 2,
				 &g_st->perturbed);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * KT_DIFF_SELFTEST=1: fork() in both runs, no seed may differ.
 * KT_DIFF_SELFTEST=2: the second run flips a byte: every seed that has a
 * write to flip should differ (unless the flipped page is overwritten
 * or dropped before anything reads it).
 */
static int selftest(int mode)
{
	unsigned long long n = env_num("KT_DIFF_SEEDS", SELFTEST_SEEDS);
	unsigned long long seed0 = env_num("KT_DIFF_SEED0", 1), i;
	unsigned long long differ = 0, perturbed = 0, errors = 0;
	double t0 = now_s();
	int st;

	g_ops = (unsigned int)env_num("KT_DIFF_OPS", CI_OPS);
	g_mode = mode;
	g_st = mmap(NULL, sizeof(*g_st), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g_st == MAP_FAILED || mode < 1 || mode > 2)
		return 2;
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	for (i = 0; i < n; i++) {
		g_seed = seed0 + i;
		memset(g_st, 0, sizeof(*g_st));
		if (mode == 2)
			report_limit = differ < SELFTEST_REPORTS ? -1 : 0;
		st = kt_run(selftest_body);
		if (st != 0) {
			fprintf(stderr, "selftest: seed %llu: status %d\n",
				(unsigned long long)g_seed, st);
			errors++;
			continue;
		}
		differ += g_st->differ;
		perturbed += g_st->perturbed;
	}
	fprintf(stderr, "selftest %d: %llu seeds x %u ops from seed %llu in "
		"%.1f s: %llu differ, %llu with a flipped byte, %llu errors\n",
		mode, n, g_ops, seed0, now_s() - t0, differ, perturbed,
		errors);
	if (errors)
		return 1;
	return mode == 1 ? differ != 0 : differ == 0;
}

int main(void)
{
	const struct CMUnitTest all[] = {
		cmocka_unit_test(test_diff_ci),
		cmocka_unit_test(test_diff_long),
	};
	const char *st = getenv("KT_DIFF_SELFTEST");

	if (st && *st)
		return selftest(atoi(st));
	kt_init();
	if (getenv("KT_FILTER"))
		cmocka_set_test_filter(getenv("KT_FILTER"));
	return cmocka_run_group_tests_name("difftest", all, NULL, NULL);
}
