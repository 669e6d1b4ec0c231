/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: ODFORK_MODE_PROCESS and ODFORK_MODE_INHERIT, measured
 * through odfork_forks with vm.odfork=1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helpers.h"

#define NEXT		ODFORK_MODE_NEXT
#define PROCESS		ODFORK_MODE_PROCESS
#define INHERIT		ODFORK_MODE_INHERIT

/* Every fork of a PROCESS-mode process takes the on-demand path. */
KT_TEST(test_process_every_fork_counts)
{
	long long before;

	kt_sysctl_set(1);
	KT_EQ(kt_set_mode(PROCESS), 0);
	before = kt_forks();
	KT_EQ(kt_fork_delta(KT_FORK), 1);
	KT_EQ(kt_fork_delta(KT_FORK), 1);
	KT_EQ(kt_forks() - before, 2);
	KT_EQ(kt_get_mode(), PROCESS);
	/* Not a fork that copies the mm: not counted. */
	KT_EQ(kt_fork_delta(KT_VFORK), 0);
	return 0;
}

/* ...including forks of its other threads, old and new. */
KT_TEST(test_process_other_threads_count)
{
	struct kt_agent old, young;

	kt_sysctl_set(1);
	kt_agent_thread(&old);
	KT_EQ(kt_set_mode(PROCESS), 0);
	kt_agent_thread(&young);
	KT_EQ(kt_agent_ask(&old, 'm'), PROCESS);
	KT_EQ(kt_agent_ask(&young, 'm'), PROCESS);
	KT_EQ(kt_agent_ask(&old, 'f'), 1);
	KT_EQ(kt_agent_ask(&young, 'f'), 1);
	KT_EQ(kt_agent_ask(&old, 'f'), 1);
	KT_EQ(kt_agent_stop(&old), 0);
	KT_EQ(kt_agent_stop(&young), 0);
	return 0;
}

/* Child: check its own mode, and how much its own fork counts. */
static int child_check(void *arg)
{
	const int *want = arg;		/* { mode, fork delta } */

	KT_EQ(kt_get_mode(), want[0]);
	KT_EQ(kt_fork_delta(KT_FORK), want[1]);
	return 0;
}

/* Without INHERIT the child's mode is OFF and its forks do not count. */
KT_TEST(test_process_child_without_inherit)
{
	static const int want[] = { 0, 0 };
	long long before;

	kt_sysctl_set(1);
	KT_EQ(kt_set_mode(PROCESS), 0);
	before = kt_forks();
	KT_EQ(kt_wait(kt_spawn(child_check, (void *)want)), 0);
	KT_EQ(kt_forks() - before, 1);		/* our fork only */
	return 0;
}

/* With INHERIT the child keeps PROCESS|INHERIT and its forks count. */
KT_TEST(test_process_child_with_inherit)
{
	static const int want[] = { PROCESS | INHERIT, 1 };
	long long before;

	kt_sysctl_set(1);
	KT_EQ(kt_set_mode(PROCESS | INHERIT), 0);
	before = kt_forks();
	KT_EQ(kt_wait(kt_spawn(child_check, (void *)want)), 0);
	KT_EQ(kt_forks() - before, 2);		/* ours and the child's */
	return 0;
}

static int middle_child(void *arg)
{
	KT_EQ(kt_get_mode(), PROCESS | INHERIT);
	return kt_wait(kt_spawn(child_check, arg));
}

/* INHERIT reaches the grandchildren. */
KT_TEST(test_process_grandchild_inherits)
{
	static const int want[] = { PROCESS | INHERIT, 1 };
	long long before;

	kt_sysctl_set(1);
	KT_EQ(kt_set_mode(PROCESS | INHERIT), 0);
	before = kt_forks();
	KT_EQ(kt_wait(kt_spawn(middle_child, (void *)want)), 0);
	KT_EQ(kt_forks() - before, 3);
	return 0;
}

/* execve() keeps the process mode with INHERIT and resets it without;
 * NEXT never survives it. */
KT_TEST(test_process_exec)
{
	static const unsigned long inherit[] = { PROCESS | INHERIT };
	static const unsigned long inherit_next[] = { PROCESS | INHERIT, NEXT };
	static const unsigned long process[] = { PROCESS };
	static const unsigned long process_next[] = { PROCESS, NEXT };

	KT_EQ(kt_exec_getmode(inherit, 1), PROCESS | INHERIT);
	KT_EQ(kt_exec_getmode(inherit_next, 2), PROCESS | INHERIT);
	KT_EQ(kt_exec_getmode(process, 1), 0);
	KT_EQ(kt_exec_getmode(process_next, 2), 0);
	/* Inherited across fork, then across execve. */
	KT_EQ(kt_set_mode(PROCESS | INHERIT), 0);
	KT_EQ(kt_exec_getmode(NULL, 0), PROCESS | INHERIT);
	KT_EQ(kt_set_mode(PROCESS), 0);
	KT_EQ(kt_exec_getmode(NULL, 0), 0);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_process_every_fork_counts),
		cmocka_unit_test(test_process_other_threads_count),
		cmocka_unit_test(test_process_child_without_inherit),
		cmocka_unit_test(test_process_child_with_inherit),
		cmocka_unit_test(test_process_grandchild_inherits),
		cmocka_unit_test(test_process_exec),
	};

	kt_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
