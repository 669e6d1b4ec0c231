/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: ODFORK_MODE_NEXT arms the calling thread's next fork only,
 * measured through odfork_forks with vm.odfork=1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"

#define NEXT		ODFORK_MODE_NEXT
#define PROCESS		ODFORK_MODE_PROCESS

/* One fork() takes the on-demand path, the next one does not. */
KT_TEST(test_next_consumed_by_one_fork)
{
	kt_sysctl_set(1);
	KT_EQ(kt_fork_delta(KT_FORK), 0);
	KT_EQ(kt_set_mode(NEXT), 0);
	KT_EQ(kt_get_mode(), NEXT);
	KT_EQ(kt_fork_delta(KT_FORK), 1);
	KT_EQ(kt_get_mode(), 0);
	KT_EQ(kt_fork_delta(KT_FORK), 0);
	return 0;
}

/* The odfork(2) syscall consumes NEXT too (one on-demand fork, not two). */
KT_TEST(test_next_consumed_by_odfork_syscall)
{
	kt_sysctl_set(1);
	KT_EQ(kt_set_mode(NEXT), 0);
	KT_EQ(kt_fork_delta(KT_ODFORK), 1);
	KT_EQ(kt_get_mode(), 0);
	KT_EQ(kt_fork_delta(KT_FORK), 0);
	return 0;
}

/* NEXT armed in thread A: a fork in thread B neither uses nor consumes
 * it; A's own fork then does. */
KT_TEST(test_next_other_thread_fork)
{
	struct kt_agent b;

	kt_sysctl_set(1);
	kt_agent_thread(&b);		/* B exists before A arms NEXT */
	KT_EQ(kt_set_mode(NEXT), 0);
	KT_EQ(kt_agent_ask(&b, 'm'), 0);
	KT_EQ(kt_agent_ask(&b, 'f'), 0);
	KT_EQ(kt_agent_ask(&b, 'm'), 0);
	KT_EQ(kt_get_mode(), NEXT);
	KT_EQ(kt_agent_stop(&b), 0);
	KT_EQ(kt_fork_delta(KT_FORK), 1);
	KT_EQ(kt_get_mode(), 0);
	return 0;
}

/* vfork() shares the mm: it neither uses nor consumes NEXT. */
KT_TEST(test_next_not_consumed_by_vfork)
{
	kt_sysctl_set(1);
	KT_EQ(kt_set_mode(NEXT), 0);
	KT_EQ(kt_fork_delta(KT_VFORK), 0);
	KT_EQ(kt_get_mode(), NEXT);
	KT_EQ(kt_fork_delta(KT_FORK), 1);
	KT_EQ(kt_get_mode(), 0);
	return 0;
}

static int thread_mode(void *arg)
{
	(void)arg;
	return kt_get_mode();
}

/* Neither a thread nor a CLONE_VM process uses or consumes NEXT, and a
 * thread created while NEXT is armed does not start with it. */
KT_TEST(test_next_not_consumed_by_clone_vm)
{
	long long before;

	kt_sysctl_set(1);
	KT_EQ(kt_set_mode(NEXT), 0);
	before = kt_forks();
	KT_EQ(kt_in_thread(thread_mode, NULL), 0);
	KT_EQ(kt_forks() - before, 0);
	KT_EQ(kt_get_mode(), NEXT);
	KT_EQ(kt_fork_delta(KT_CLONE_VM), 0);
	KT_EQ(kt_get_mode(), NEXT);
	KT_EQ(kt_fork_delta(KT_FORK), 1);
	KT_EQ(kt_get_mode(), 0);
	return 0;
}

/*
 * As uid 65534 with a soft RLIMIT_NPROC of 0, fork() fails with EAGAIN
 * (copy_process() counts the uid's processes; root would be exempt).
 * The failed fork consumes NEXT: after raising the limit back, the next
 * fork is a plain one.
 */
static int failed_fork_as_nobody(void *arg)
{
	struct rlimit rl;

	(void)arg;
	KT_EQ(getrlimit(RLIMIT_NPROC, &rl), 0);
	KT_ASSERT(rl.rlim_max > 0);
	rl.rlim_cur = 0;
	KT_EQ(setrlimit(RLIMIT_NPROC, &rl), 0);
	KT_EQ(kt_set_mode(NEXT), 0);
	KT_FAILS(fork(), EAGAIN);
	KT_EQ(kt_get_mode(), 0);
	rl.rlim_cur = rl.rlim_max;
	KT_EQ(setrlimit(RLIMIT_NPROC, &rl), 0);
	KT_EQ(kt_fork_delta(KT_FORK), 0);
	return 0;
}

KT_TEST(test_next_consumed_by_failed_fork)
{
	kt_sysctl_set(1);
	KT_EQ(kt_run_as(KT_NOBODY, failed_fork_as_nobody, NULL), 0);
	return 0;
}

/* execve() clears NEXT, with or without a process mode. */
KT_TEST(test_next_cleared_by_exec)
{
	static const unsigned long next[] = { NEXT };
	static const unsigned long process_next[] = { PROCESS, NEXT };

	KT_EQ(kt_exec_getmode(NULL, 0), 0);
	KT_EQ(kt_exec_getmode(next, 1), 0);
	KT_EQ(kt_exec_getmode(process_next, 2), 0);
	return 0;
}

static int child_mode(void *arg)
{
	(void)arg;
	return kt_get_mode();
}

/* The child of a fork that used NEXT starts with NEXT clear and mode
 * OFF (the parent's mode has no INHERIT). */
KT_TEST(test_next_child_starts_clear)
{
	kt_sysctl_set(1);
	KT_EQ(kt_set_mode(NEXT), 0);
	KT_EQ(kt_wait(kt_spawn(child_mode, NULL)), 0);
	KT_EQ(kt_get_mode(), 0);
	KT_EQ(kt_set_mode(PROCESS), 0);
	KT_EQ(kt_set_mode(NEXT), 0);
	KT_EQ(kt_get_mode(), PROCESS | NEXT);
	KT_EQ(kt_wait(kt_spawn(child_mode, NULL)), 0);
	KT_EQ(kt_get_mode(), PROCESS);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_consumed_by_one_fork),
		cmocka_unit_test(test_next_consumed_by_odfork_syscall),
		cmocka_unit_test(test_next_other_thread_fork),
		cmocka_unit_test(test_next_not_consumed_by_vfork),
		cmocka_unit_test(test_next_not_consumed_by_clone_vm),
		cmocka_unit_test(test_next_consumed_by_failed_fork),
		cmocka_unit_test(test_next_cleared_by_exec),
		cmocka_unit_test(test_next_child_starts_clear),
	};

	kt_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
