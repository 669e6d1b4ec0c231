/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: libodfork on the patched kernel.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"

#define NEXT		ODFORK_MODE_NEXT
#define PROCESS		ODFORK_MODE_PROCESS
#define INHERIT		ODFORK_MODE_INHERIT
#define ALL_FEATURES	(ODFORK_FEAT_SYSCALL | ODFORK_FEAT_PRCTL | \
			 ODFORK_FEAT_PROCFS | ODFORK_FEAT_SYSCTL)
#define ERRNO_CANARY	4242

KT_TEST(test_lib_probe_all_features)
{
	kt_sysctl_set(1);
	KT_EQ(odfork_probe() & ALL_FEATURES, ALL_FEATURES);
	KT_EQ(odfork_probe() & ALL_FEATURES, ALL_FEATURES);	/* cached */
	KT_EQ(odfork_available(), 1);
	return 0;
}

/* odfork() and a child that reports its mode; returns odfork_forks'
 * delta.  The caller's NEXT is clear afterwards. */
static long long lib_odfork_delta(int child_mode)
{
	long long before = kt_forks();
	pid_t pid = odfork();

	if (pid == 0)
		_exit(kt_get_mode() == child_mode ? 0 : 1);
	KT_ASSERT(pid > 0);
	KT_EQ(kt_wait(pid), 0);
	KT_EQ(kt_get_mode() & NEXT, 0);
	return kt_forks() - before;
}

/* odfork() is one on-demand fork, NEXT is not left armed, and the
 * process mode is kept. */
KT_TEST(test_lib_odfork_counts_once)
{
	kt_sysctl_set(1);
	KT_EQ(lib_odfork_delta(0), 1);
	KT_EQ(kt_get_mode(), 0);
	KT_EQ(lib_odfork_delta(0), 1);
	KT_EQ(kt_fork_delta(KT_FORK), 0);
	KT_EQ(kt_set_mode(PROCESS), 0);
	KT_EQ(lib_odfork_delta(0), 1);
	KT_EQ(kt_get_mode(), PROCESS);
	KT_EQ(kt_set_mode(PROCESS | INHERIT), 0);
	KT_EQ(lib_odfork_delta(PROCESS | INHERIT), 1);
	KT_EQ(kt_get_mode(), PROCESS | INHERIT);
	return 0;
}

/* vm.odfork=0: odfork() still forks, nothing is counted. */
KT_TEST(test_lib_odfork_sysctl_0)
{
	kt_sysctl_set(0);
	KT_EQ(lib_odfork_delta(0), 0);
	KT_EQ(kt_get_mode(), 0);
	return 0;
}

/* Set the mode through the library; it and the prctl agree, and errno
 * is left alone. */
static void lib_set_get(unsigned int mode, int want)
{
	errno = ERRNO_CANARY;
	KT_EQ(odfork_set_mode(mode), 0);
	KT_EQ(odfork_get_mode(), want);
	KT_EQ(errno, ERRNO_CANARY);
	KT_EQ(kt_get_mode(), want);
}

KT_TEST(test_lib_mode_round_trip)
{
	lib_set_get(PROCESS, PROCESS);
	lib_set_get(PROCESS | INHERIT, PROCESS | INHERIT);
	lib_set_get(NEXT, PROCESS | INHERIT | NEXT);
	lib_set_get(ODFORK_MODE_OFF, 0);
	lib_set_get(NEXT, NEXT);
	lib_set_get(ODFORK_MODE_OFF, 0);
	lib_set_get(PROCESS, PROCESS);
	errno = ERRNO_CANARY;
	KT_EQ(odfork_set_mode(8), -EINVAL);
	KT_EQ(odfork_set_mode(INHERIT), -EINVAL);
	KT_EQ(odfork_set_mode(NEXT | PROCESS), -EINVAL);
	KT_EQ(errno, ERRNO_CANARY);
	KT_EQ(odfork_get_mode(), PROCESS);
	return 0;
}

static int lib_poke_root_process(void *arg)
{
	const pid_t *pid = arg;

	KT_EQ(odfork_set_pid_mode(*pid, PROCESS), -EPERM);
	return 0;
}

KT_TEST(test_lib_pid_mode)
{
	struct kt_agent a;

	kt_agent_spawn(&a, (uid_t)-1);
	KT_EQ(odfork_get_pid_mode(a.pid), 0);
	KT_EQ(odfork_set_pid_mode(a.pid, PROCESS), 0);
	KT_EQ(odfork_get_pid_mode(a.pid), PROCESS);
	KT_EQ(kt_agent_ask(&a, 'm'), PROCESS);
	KT_EQ(odfork_set_pid_mode(a.pid, PROCESS | INHERIT), 0);
	KT_EQ(odfork_get_pid_mode(a.pid), PROCESS | INHERIT);
	KT_EQ(odfork_set_pid_mode(a.pid, 99), -EINVAL);
	KT_EQ(odfork_set_pid_mode(a.pid, NEXT | PROCESS), -EINVAL);
	KT_EQ(odfork_get_pid_mode(a.pid), PROCESS | INHERIT);
	KT_EQ(kt_run_as(KT_NOBODY, lib_poke_root_process, &a.pid), 0);
	KT_EQ(kt_agent_ask(&a, 'm'), PROCESS | INHERIT);
	KT_EQ(odfork_set_pid_mode(a.pid, ODFORK_MODE_OFF), 0);
	KT_EQ(kt_agent_ask(&a, 'm'), 0);
	KT_EQ(kt_set_mode(PROCESS), 0);
	KT_EQ(odfork_get_pid_mode(getpid()), PROCESS);
	KT_EQ(kt_agent_stop(&a), 0);
	KT_ASSERT(odfork_get_pid_mode(a.pid) < 0);	/* reaped: gone */
	return 0;
}

KT_TEST(test_lib_sysctl)
{
	int v;

	for (v = 0; v <= 2; v++) {
		kt_sysctl_set(v);
		KT_EQ(odfork_sysctl(), v);
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lib_probe_all_features),
		cmocka_unit_test(test_lib_odfork_counts_once),
		cmocka_unit_test(test_lib_odfork_sysctl_0),
		cmocka_unit_test(test_lib_mode_round_trip),
		cmocka_unit_test(test_lib_pid_mode),
		cmocka_unit_test(test_lib_sysctl),
	};

	kt_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
