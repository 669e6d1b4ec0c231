/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * helpers.h - shared helpers of the 'kernel' test suite
 *
 * The kernel suite runs as root inside a VM booted with the patched kernel.
 * Every test body runs in a child process of the cmocka runner (kt_run()),
 * in its own process group, so that a test can change its modes, threads,
 * credentials and rlimits freely and cannot leak them into the next test.
 * Bodies check with the KT_* macros, which print and _exit(1) on failure
 * (cmocka's assertions must not be used outside the runner process).
 * kt_run() saves vm.odfork and vm.odfork_unshare_ahead before a body and
 * restores them afterwards.
 */
#ifndef KT_HELPERS_H
#define KT_HELPERS_H

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include <odfork.h>

#include "syscall.h"	/* __NR_odfork, from lib/ */

#define KT_SKIP			77	/* exit status: test skipped */
#define KT_BODY_TIMEOUT_S	90	/* one test body, in the slow VM */
#define KT_NOBODY		65534	/* unprivileged uid and gid */
#define KT_SYSCTL_PATH		"/proc/sys/vm/odfork"

/* The /proc/vmstat counters of the series. */
#define KT_FORKS		"odfork_forks"
#define KT_SHARED		"odfork_tables_shared"
#define KT_COPIED		"odfork_tables_copied"
#define KT_REUSED		"odfork_tables_reused"
#define KT_FALLBACK		"odfork_tables_fallback"
#define KT_DROPPED		"odfork_tables_dropped"
#define KT_FREED		"odfork_tables_freed"
#define KT_AHEAD		"odfork_tables_unshared_ahead"
#define KT_HELD			"odfork_tables_held"
#define KT_AHEAD_PATH		"/proc/sys/vm/odfork_unshare_ahead"

/* One PTE table maps KT_TABLE_SIZE bytes: KT_TABLE_PAGES pages. */
#define KT_PAGE_SIZE		4096UL
#define KT_TABLE_SIZE		(2UL << 20)
#define KT_TABLE_PAGES		512

enum kt_fork_kind {
	KT_FORK,	/* glibc fork() */
	KT_ODFORK,	/* the raw odfork(0) syscall */
	KT_VFORK,	/* vfork() */
	KT_CLONE_VM,	/* clone(CLONE_VM | SIGCHLD): a process on our mm */
};

/* Skip (exit 77) unless the kernel has the odfork interface and we are root;
 * then make the runner a child subreaper. Call first in main(). */
void kt_init(void);

/* Fail the current body: print where and why, then _exit(1). */
void kt_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

#define KT_ASSERT(cond)							\
	do {								\
		if (!(cond))						\
			kt_fail(__FILE__, __LINE__, "%s", #cond);	\
	} while (0)

#define KT_EQ(a, b)							\
	do {								\
		long long kt_a_ = (long long)(a);			\
		long long kt_b_ = (long long)(b);			\
		if (kt_a_ != kt_b_)					\
			kt_fail(__FILE__, __LINE__,			\
				"%s == %s: %lld != %lld",		\
				#a, #b, kt_a_, kt_b_);			\
	} while (0)

#define KT_GE(a, b)							\
	do {								\
		long long kt_a_ = (long long)(a);			\
		long long kt_b_ = (long long)(b);			\
		if (kt_a_ < kt_b_)					\
			kt_fail(__FILE__, __LINE__,			\
				"%s >= %s: %lld < %lld",		\
				#a, #b, kt_a_, kt_b_);			\
	} while (0)

/* expr must return -1 and set errno to err. */
#define KT_FAILS(expr, err)						\
	do {								\
		long long kt_r_;					\
		int kt_e_;						\
		errno = 0;						\
		kt_r_ = (long long)(expr);				\
		kt_e_ = errno;						\
		if (kt_r_ != -1 || kt_e_ != (err))			\
			kt_fail(__FILE__, __LINE__,			\
				"%s: got %lld errno %d, want -1 errno %d", \
				#expr, kt_r_, kt_e_, (err));		\
	} while (0)

/*
 * KT_TEST(name) { ... return 0; } defines the body and a cmocka test
 * function `name` that runs it with kt_run().  Needs <cmocka.h>.
 */
#define KT_TEST(name)							\
	static int name##_body(void);					\
	static void name(void **state)					\
	{								\
		(void)state;						\
		assert_int_equal(kt_run(name##_body), 0);		\
	}								\
	static int name##_body(void)

/* Run body in a child process (own process group, default signal
 * handlers), kill whatever it left behind, restore vm.odfork and
 * vm.odfork_unshare_ahead.
 * Returns 0 when the body passed, its exit status or 128 + signal
 * otherwise, 124 on timeout. */
int kt_run(int (*body)(void));

/* Kernel interface, raw. */
long kt_prctl(int option, unsigned long arg2, unsigned long arg3,
	      unsigned long arg4, unsigned long arg5);
int kt_get_mode(void);			/* PR_GET_ODFORK, or -errno */
int kt_set_mode(unsigned long mode);	/* PR_SET_ODFORK: 0 or -errno */
pid_t kt_odfork(unsigned long flags);	/* raw syscall, -1 + errno */

/* A /proc/vmstat counter, or -1 when it does not exist. */
long long kt_vmstat(const char *name);
/* odfork_forks; fails the body when it is missing. */
long long kt_forks(void);

/*
 * All odfork_* counters at once.  A counter that is not in /proc/vmstat
 * reads -1.  kt_expect() compares how much each one moved between two
 * snapshots with what the test wants (KT_ANY: not checked) and fails the
 * body with one line per counter that is off: these are the assertions
 * that sharing (and copying, reuse, dropping, freeing) really happened.
 */
enum kt_counter {
	KT_C_FORKS,
	KT_C_SHARED,
	KT_C_COPIED,
	KT_C_REUSED,
	KT_C_DROPPED,
	KT_C_FALLBACK,
	KT_C_FREED,
	KT_NCOUNTERS
};

#define KT_ANY			LLONG_MIN

struct kt_snap {
	long long v[KT_NCOUNTERS];
};

struct kt_delta {
	long long forks, shared, copied, reused, dropped, fallback, freed;
};

extern const char *const kt_counter_names[KT_NCOUNTERS];

void kt_snap(struct kt_snap *s);
long long kt_moved(const struct kt_snap *a, const struct kt_snap *b,
		   enum kt_counter c);
void kt_expect(const char *file, int line, const struct kt_snap *a,
	       const struct kt_snap *b, struct kt_delta want);
/* Take a snapshot, check the movement since *s, and make it the new *s. */
void kt_step(const char *file, int line, struct kt_snap *s,
	     struct kt_delta want);

/* Unlisted counters must not move: KT_STEP(&s, .shared = 4). */
#define KT_EXPECT(a, b, ...)						\
	kt_expect(__FILE__, __LINE__, (a), (b),				\
		  (struct kt_delta){ __VA_ARGS__ })
#define KT_STEP(s, ...)							\
	kt_step(__FILE__, __LINE__, (s), (struct kt_delta){ __VA_ARGS__ })
/* No counter moved since *s. */
#define KT_STILL(s)		KT_STEP((s), .forks = 0)

/* Like KT_ASSERT, for a consequence of sharing other than a counter
 * (e.g. RSS): when cond is false, print "sharing: <message>" and fail
 * the body. */
void kt_sharing(const char *file, int line, int ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define KT_SHARING(cond, ...)						\
	kt_sharing(__FILE__, __LINE__, !!(cond), __VA_ARGS__)

/*
 * Memory.  kt_map_tables(): n * KT_TABLE_SIZE bytes of private anonymous
 * read-write memory starting at a KT_TABLE_SIZE boundary, MADV_NOHUGEPAGE,
 * nothing touched.  kt_reserve(): len bytes of PROT_NONE address space
 * starting off bytes after a KT_TABLE_SIZE boundary, to map MAP_FIXED
 * over.  Both fail the body on error.
 */
void *kt_map_tables(size_t n);
void *kt_reserve(size_t len, size_t off);

/* A "Key:   <n> kB" line of /proc/<pid>/status, in kB; fails the body
 * when it is missing. */
long kt_status_kb(pid_t pid, const char *key);

/* A line of /proc/<pid>/odfork_stat; fails the body when it is missing. */
long long kt_pid_stat(pid_t pid, const char *name);

/* vm.odfork: value, -EINVAL when the text is not "<decimal>\n", or
 * -errno; write text: 0 or -errno. */
int kt_sysctl_get(void);
int kt_sysctl_write(const char *text);
/* Set vm.odfork in a body (fails the body on error). */
void kt_sysctl_set(int value);
/* The same for any integer sysctl file (KT_AHEAD_PATH). */
int kt_sysctl_get_at(const char *path);
void kt_sysctl_set_at(const char *path, int value);

/* Whole-file I/O in one open: bytes read (buf NUL-terminated) / 0 for a
 * complete write, or -errno from open, read or write. */
int kt_read_file(const char *path, char *buf, size_t size);
int kt_write_file(const char *path, const char *text);
/* A mode file (/proc/.../odfork) parsed: value or -errno; fails the
 * body when the text is not "<decimal>\n". */
int kt_read_mode_file(const char *path);

/* Processes.  kt_wait(): exit status, 128 + signal, or -1. */
pid_t kt_spawn(int (*fn)(void *), void *arg);
int kt_wait(pid_t pid);
/* Read p[0]: 1 if that raised SIGBUS (caught), 0 if it did not. */
int kt_read_faults(volatile unsigned char *p);
/* setgroups(none), setgid, setuid: 0 or -errno. */
int kt_drop_to(uid_t uid);
/* Run fn in a child as uid; returns kt_wait()'s status. */
int kt_run_as(uid_t uid, int (*fn)(void *), void *arg);
/* Run fn in a new thread and return its result. */
int kt_in_thread(int (*fn)(void *), void *arg);

/* Create a process (or thread) of the given kind whose child exits 0 at
 * once, reap it, and return how much odfork_forks moved meanwhile. */
long long kt_fork_delta(enum kt_fork_kind kind);

/* Fork a child that applies modes[0..n-1] with PR_SET_ODFORK, then
 * execs the kt-getmode helper; returns the PR_GET_ODFORK value the
 * helper printed after the exec.  Fails the body on any error. */
int kt_exec_getmode(const unsigned long *modes, int n);

/*
 * An agent is a thread or a process that waits for one-letter commands
 * on a pipe: 'm' reports PR_GET_ODFORK, 'f' reports kt_fork_delta(KT_FORK),
 * 'q' (or EOF) ends it.
 */
struct kt_agent {
	pid_t pid;		/* process agent, or 0 */
	pid_t tid;		/* its thread id (== pid for a process) */
	pthread_t thread;	/* a thread agent's thread */
	int cmd;		/* write end of the command pipe */
	int rep;		/* read end of the report pipe */
};

/* A process agent.  uid (uid_t)-1 keeps root; any other uid drops to it
 * and then makes itself dumpable and ptraceable by any process of that
 * uid (PR_SET_DUMPABLE, Yama's PR_SET_PTRACER_ANY). */
void kt_agent_spawn(struct kt_agent *a, uid_t uid);
void kt_agent_thread(struct kt_agent *a);
int kt_agent_ask(struct kt_agent *a, char cmd);
/* Stop it: for a process, its kt_wait() status; for a thread, 0. */
int kt_agent_stop(struct kt_agent *a);

#endif /* KT_HELPERS_H */
