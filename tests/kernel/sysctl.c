/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: sysctl vm.odfork (0 never, 1 opt-in, 2 every fork).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"

#define NEXT		ODFORK_MODE_NEXT
#define PROCESS		ODFORK_MODE_PROCESS
#define INHERIT		ODFORK_MODE_INHERIT

KT_TEST(test_sysctl_accepts_0_1_2)
{
	static const char *const ok[] = { "0\n", "1\n", "2\n", "1", "0", "2" };
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		KT_EQ(kt_sysctl_write(ok[i]), 0);
		KT_EQ(kt_sysctl_get(), ok[i][0] - '0');
	}
	return 0;
}

static void check_rejected_at(int value)
{
	static const char *const bad[] = { "3\n", "3", "-1\n", "abc\n", "4" };
	size_t i;

	kt_sysctl_set(value);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		KT_EQ(kt_sysctl_write(bad[i]), -EINVAL);
		KT_EQ(kt_sysctl_get(), value);
	}
}

/* Out of range or not a number: EINVAL, value unchanged. */
KT_TEST(test_sysctl_rejects_invalid)
{
	check_rejected_at(1);
	check_rejected_at(0);
	check_rejected_at(2);
	return 0;
}

/* At 0 the syscall still forks (classically), nothing is counted, and
 * the modes can still be set. */
KT_TEST(test_sysctl_0_never_shares)
{
	kt_sysctl_set(0);
	KT_EQ(kt_fork_delta(KT_ODFORK), 0);
	KT_EQ(kt_set_mode(NEXT), 0);
	KT_EQ(kt_get_mode(), NEXT);
	KT_EQ(kt_fork_delta(KT_FORK), 0);
	KT_EQ(kt_get_mode(), 0);		/* consumed all the same */
	KT_EQ(kt_set_mode(PROCESS | INHERIT), 0);
	KT_EQ(kt_get_mode(), PROCESS | INHERIT);
	KT_EQ(kt_fork_delta(KT_FORK), 0);
	KT_EQ(kt_fork_delta(KT_FORK), 0);
	return 0;
}

/* The odfork(2) child at vm.odfork=0 runs and returns its status. */
KT_TEST(test_sysctl_0_syscall_child_runs)
{
	pid_t self = getpid();
	pid_t pid;

	kt_sysctl_set(0);
	pid = kt_odfork(0);
	if (pid == 0)
		_exit(getppid() == self ? 42 : 43);
	KT_ASSERT(pid > 0);
	KT_EQ(kt_wait(pid), 42);
	return 0;
}

/* At 1 (the default) a fork with mode OFF is a plain fork. */
KT_TEST(test_sysctl_1_plain_fork_not_counted)
{
	kt_sysctl_set(1);
	KT_EQ(kt_get_mode(), 0);
	KT_EQ(kt_fork_delta(KT_FORK), 0);
	KT_EQ(kt_fork_delta(KT_ODFORK), 1);
	return 0;
}

/* At 2 every fork that copies the mm counts, whatever the mode; vfork()
 * and CLONE_VM copy no mm and do not. */
KT_TEST(test_sysctl_2_every_fork_counts)
{
	kt_sysctl_set(2);
	KT_EQ(kt_get_mode(), 0);
	KT_EQ(kt_fork_delta(KT_FORK), 1);
	KT_EQ(kt_fork_delta(KT_FORK), 1);
	KT_EQ(kt_fork_delta(KT_ODFORK), 1);
	KT_EQ(kt_fork_delta(KT_VFORK), 0);
	KT_EQ(kt_fork_delta(KT_CLONE_VM), 0);
	KT_EQ(kt_set_mode(NEXT), 0);
	KT_EQ(kt_fork_delta(KT_FORK), 1);	/* once, not twice */
	KT_EQ(kt_get_mode(), 0);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sysctl_accepts_0_1_2),
		cmocka_unit_test(test_sysctl_rejects_invalid),
		cmocka_unit_test(test_sysctl_0_never_shares),
		cmocka_unit_test(test_sysctl_0_syscall_child_runs),
		cmocka_unit_test(test_sysctl_1_plain_fork_not_counted),
		cmocka_unit_test(test_sysctl_2_every_fork_counts),
	};

	kt_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
