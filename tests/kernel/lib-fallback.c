/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: libodfork with ODFORK_FORCE_FALLBACK=1 on the patched
 * kernel behaves as a plain fork().
 *
 * The variable must be set before the library's first probe, so this
 * program makes sure it runs in a process exec'd with it set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"

KT_TEST(test_fallback_probe_reports_nothing)
{
	KT_EQ(odfork_probe(), 0);
	KT_EQ(odfork_available(), 0);
	return 0;
}

/* odfork() is a plain fork: nothing counted, NEXT not left armed. */
KT_TEST(test_fallback_odfork_is_plain_fork)
{
	long long before;
	pid_t pid;
	int i;

	kt_sysctl_set(1);
	for (i = 0; i < 2; i++) {
		before = kt_forks();
		pid = odfork();
		if (pid == 0)
			_exit(kt_get_mode() == 0 ? 42 : 43);
		KT_ASSERT(pid > 0);
		KT_EQ(kt_wait(pid), 42);
		KT_EQ(kt_forks() - before, 0);
		KT_EQ(kt_get_mode(), 0);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fallback_probe_reports_nothing),
		cmocka_unit_test(test_fallback_odfork_is_plain_fork),
	};
	const char *env = getenv(ODFORK_ENV_FALLBACK);

	(void)argc;
	kt_init();
	if (!env || strcmp(env, "1") != 0) {
		if (setenv(ODFORK_ENV_FALLBACK, "1", 1) != 0)
			return 1;
		execv("/proc/self/exe", argv);
		perror("execv /proc/self/exe");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
