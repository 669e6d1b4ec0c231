/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * helpers.h - shared by the unit tests
 *
 * cmocka's assertions must not run in a forked child (a failure would
 * longjmp back into cmocka's runner inside the child) nor in a thread.
 * Children use CHECK() and leave with _exit(); the parent asserts on the
 * exit status.
 */
#ifndef ODFORK_TEST_HELPERS_H
#define ODFORK_TEST_HELPERS_H

#include <stdio.h>
#include <unistd.h>

#define EXIT_SKIP	77

/*
 * The AddressSanitizer allocator of GCC 12 (LLVM's before version 16) is
 * not fork-safe: a child forked while another thread held one of its locks
 * deadlocks in malloc() (google/sanitizers#774).  glibc's malloc is, and it
 * is the one these checks are about, so children of multi-threaded parents
 * allocate only when it is glibc's.
 */
#if defined(__SANITIZE_ADDRESS__)
#define CHILD_MAY_MALLOC	0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CHILD_MAY_MALLOC	0
#endif
#endif
#ifndef CHILD_MAY_MALLOC
#define CHILD_MAY_MALLOC	1
#endif

/* In a child process: report the failed expression and exit 1. */
#define CHECK(expr)							\
	do {								\
		if (!(expr)) {						\
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n",	\
				__FILE__, __LINE__, #expr);		\
			_exit(1);					\
		}							\
	} while (0)

/*
 * Exit from a child forked by a multi-threaded parent, without a leak
 * check: the checker would report as lost the blocks that the parent's
 * other threads (gone in the child) held only in registers or on their
 * stacks.  Under valgrind, the child fails on the memory errors found so far
 * and leaves through execve(); elsewhere it leaves with exit_group(2),
 * which LeakSanitizer's _exit() interceptor does not see.
 */
void child_exit(int code) __attribute__((noreturn));

/*
 * 1 when this process runs under valgrind, which warns about syscalls it
 * does not know (odfork(2)): tests that issue one skip it there.
 */
int on_valgrind(void);

/* Wait for pid: its exit status, 128 + signal when killed, -1 on error. */
int wait_status(pid_t pid);

/* Run fn(arg) in a child made by plain fork(), which then exits 0. */
int run_in_child(void (*fn)(void *arg), void *arg);

/* Run fn(arg) in a child and cmocka-assert that it succeeded, turning
 * EXIT_SKIP into a cmocka skip. */
void assert_child_ok(void (*fn)(void *arg), void *arg);

/* Define the cmocka test TEST: assert_child_ok(FN, NULL). */
#define CHILD_TEST(test, fn)						\
	static void test(void **state)					\
	{								\
		(void)state;						\
		assert_child_ok(fn, NULL);				\
	}

/*
 * odfork_atfork() hooks that count their calls: prepare in hook_calls[0],
 * parent in hook_calls[1], child in hook_calls[2].
 */
extern int hook_calls[3];
void count_prepare(void *arg);
void count_parent(void *arg);
void count_child(void *arg);

/* In a child: become nobody when root.  0, or -1 when that fails. */
int drop_root(void);

/*
 * In a child: make fork() fail with EAGAIN (RLIMIT_NPROC as an unprivileged
 * user; root first becomes nobody).  Returns 0 when fork() now fails, -1
 * when this environment cannot make it fail.
 */
int make_fork_fail(void);

/* A pid that no process has: a child of ours, exited and reaped. */
pid_t dead_pid(void);

#endif /* ODFORK_TEST_HELPERS_H */
