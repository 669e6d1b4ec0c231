/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * test-fallback.c - ODFORK_FORCE_FALLBACK=1: the library acts as if the
 * kernel had no support, whatever the kernel is.  Run with the variable set
 * (meson does); without it the test fails rather than test nothing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "odfork.h"
#include "helpers.h"

static void test_env_is_set(void **state)
{
	const char *val = getenv(ODFORK_ENV_FALLBACK);

	(void)state;
	assert_non_null(val);
	assert_string_not_equal(val, "");
	assert_string_not_equal(val, "0");
}

static void test_no_features(void **state)
{
	(void)state;
	assert_int_equal(odfork_probe(), 0);
	assert_int_equal(odfork_available(), 0);
}

static void test_interfaces_enosys(void **state)
{
	(void)state;
	assert_int_equal(odfork_get_mode(), -ENOSYS);
	assert_int_equal(odfork_set_mode(ODFORK_MODE_OFF), -ENOSYS);
	assert_int_equal(odfork_set_mode(ODFORK_MODE_NEXT), -ENOSYS);
	assert_int_equal(odfork_sysctl(), -ENOSYS);
	assert_int_equal(odfork_get_pid_mode(getpid()), -ENOSYS);
	assert_int_equal(odfork_set_pid_mode(getpid(), 0), -ENOSYS);
}

/* Argument errors come first and do not depend on kernel support. */
static void test_argument_errors(void **state)
{
	(void)state;
	assert_int_equal(odfork_set_mode(ODFORK_MODE_INHERIT), -EINVAL);
	assert_int_equal(odfork_set_mode(8), -EINVAL);
	assert_int_equal(odfork_get_pid_mode(0), -EINVAL);
	assert_int_equal(odfork_set_pid_mode(getpid(), 3), -EINVAL);
	assert_int_equal(odfork_get_pid_mode(dead_pid()), -ESRCH);
}

static void test_odfork_is_fork(void **state)
{
	pid_t pid;

	(void)state;
	pid = odfork();
	if (pid == 0)
		_exit(7);
	assert_true(pid > 0);
	assert_int_equal(wait_status(pid), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_is_set),
		cmocka_unit_test(test_no_features),
		cmocka_unit_test(test_interfaces_enosys),
		cmocka_unit_test(test_argument_errors),
		cmocka_unit_test(test_odfork_is_fork),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
