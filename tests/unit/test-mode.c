/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * test-mode.c - the mode, pid-mode and sysctl API against the running
 * kernel.  What is asserted depends on what the probe found, so the test
 * means something on both an unpatched and a patched kernel.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "odfork.h"
#include "helpers.h"

#define SENTINEL	4242

static const unsigned int bad_modes[] = {
	ODFORK_MODE_INHERIT,
	ODFORK_MODE_NEXT | ODFORK_MODE_INHERIT,
	ODFORK_MODE_NEXT | ODFORK_MODE_PROCESS,
	ODFORK_MODE_NEXT | ODFORK_MODE_PROCESS | ODFORK_MODE_INHERIT,
	8, 0x10, 0x80000000u, ~0u,
};

#define NR_BAD	(sizeof(bad_modes) / sizeof(bad_modes[0]))

static int has(unsigned int feat)
{
	return !!(odfork_probe() & feat);
}

static void test_set_mode_einval(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NR_BAD; i++) {
		assert_int_equal(odfork_set_mode(bad_modes[i]), -EINVAL);
		assert_int_equal(odfork_set_pid_mode(getpid(), bad_modes[i]),
				 -EINVAL);
	}
}

static void test_get_mode(void **state)
{
	int ret;

	(void)state;
	if (!has(ODFORK_FEAT_PRCTL)) {
		assert_int_equal(odfork_get_mode(), -ENOSYS);
		return;
	}
	/* whatever mode we were started with, NEXT is clear after execve */
	ret = odfork_get_mode();
	assert_true(ret >= 0);
	assert_int_equal(ret & ~(ODFORK_MODE_PROCESS | ODFORK_MODE_INHERIT), 0);
}

static const unsigned int good_modes[] = {
	ODFORK_MODE_PROCESS,
	ODFORK_MODE_PROCESS | ODFORK_MODE_INHERIT,
	ODFORK_MODE_OFF,
};

static void test_set_mode(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		if (!has(ODFORK_FEAT_PRCTL)) {
			assert_int_equal(odfork_set_mode(good_modes[i]),
					 -ENOSYS);
			continue;
		}
		assert_int_equal(odfork_set_mode(good_modes[i]), 0);
		assert_int_equal(odfork_get_mode(), good_modes[i]);
	}
}

/* NEXT leaves the process mode alone; OFF clears both. */
static void test_set_mode_next(void **state)
{
	unsigned int proc = ODFORK_MODE_PROCESS;

	(void)state;
	if (!has(ODFORK_FEAT_PRCTL)) {
		assert_int_equal(odfork_set_mode(ODFORK_MODE_NEXT), -ENOSYS);
		return;
	}
	assert_int_equal(odfork_set_mode(proc), 0);
	assert_int_equal(odfork_set_mode(ODFORK_MODE_NEXT), 0);
	assert_int_equal(odfork_get_mode(), proc | ODFORK_MODE_NEXT);
	assert_int_equal(odfork_set_mode(ODFORK_MODE_OFF), 0);
	assert_int_equal(odfork_get_mode(), ODFORK_MODE_OFF);
}

static void test_pid_mode_einval(void **state)
{
	(void)state;
	assert_int_equal(odfork_get_pid_mode(0), -EINVAL);
	assert_int_equal(odfork_get_pid_mode(-1), -EINVAL);
	assert_int_equal(odfork_get_pid_mode(INT_MIN), -EINVAL);
	assert_int_equal(odfork_set_pid_mode(0, ODFORK_MODE_OFF), -EINVAL);
	assert_int_equal(odfork_set_pid_mode(-1, ODFORK_MODE_OFF), -EINVAL);
}

static void test_pid_mode_esrch(void **state)
{
	pid_t pid = dead_pid();

	(void)state;
	assert_int_equal(odfork_get_pid_mode(pid), -ESRCH);
	assert_int_equal(odfork_set_pid_mode(pid, ODFORK_MODE_OFF), -ESRCH);
	assert_int_equal(odfork_get_pid_mode(INT_MAX), -ESRCH);
}

static void test_pid_mode_self(void **state)
{
	(void)state;
	if (!has(ODFORK_FEAT_PROCFS)) {
		assert_int_equal(odfork_get_pid_mode(getpid()), -ENOSYS);
		assert_int_equal(odfork_set_pid_mode(getpid(), 0), -ENOSYS);
		return;
	}
	assert_int_equal(odfork_set_pid_mode(getpid(), ODFORK_MODE_PROCESS), 0);
	assert_int_equal(odfork_get_pid_mode(getpid()), ODFORK_MODE_PROCESS);
	if (has(ODFORK_FEAT_PRCTL))
		assert_int_equal(odfork_get_mode(), ODFORK_MODE_PROCESS);
	assert_int_equal(odfork_set_pid_mode(getpid(), ODFORK_MODE_OFF), 0);
	assert_int_equal(odfork_get_pid_mode(getpid()), ODFORK_MODE_OFF);
}

/* User nobody may not change the mode of a root process. */
static void pid_mode_eperm_child(void *arg)
{
	pid_t target = *(pid_t *)arg;
	int ret;

	if (drop_root())
		_exit(EXIT_SKIP);
	ret = odfork_set_pid_mode(target, ODFORK_MODE_OFF);
	if (!has(ODFORK_FEAT_PROCFS))
		CHECK(ret == -ENOSYS);
	else
		CHECK(ret == -EPERM || ret == -EACCES);
}

static void test_pid_mode_eperm(void **state)
{
	pid_t target = getpid();

	(void)state;
	if (getuid() != 0)
		skip();	/* no process of another user we may touch */
	assert_child_ok(pid_mode_eperm_child, &target);
}

static void test_sysctl(void **state)
{
	int val = odfork_sysctl();

	(void)state;
	if (!has(ODFORK_FEAT_SYSCTL)) {
		assert_int_equal(val, -ENOSYS);
		return;
	}
	assert_in_range(val, 0, 2);
}

/* No function but odfork() touches errno, on success or failure. */
static void test_errno_untouched(void **state)
{
	pid_t dead = dead_pid();

	(void)state;
#define KEEPS_ERRNO(call)					\
	do {							\
		errno = SENTINEL;				\
		(void)(call);					\
		assert_int_equal(errno, SENTINEL);		\
	} while (0)
	KEEPS_ERRNO(odfork_probe());
	KEEPS_ERRNO(odfork_available());
	KEEPS_ERRNO(odfork_sysctl());
	KEEPS_ERRNO(odfork_get_mode());
	KEEPS_ERRNO(odfork_set_mode(ODFORK_MODE_OFF));
	KEEPS_ERRNO(odfork_set_mode(~0u));
	KEEPS_ERRNO(odfork_get_pid_mode(getpid()));
	KEEPS_ERRNO(odfork_get_pid_mode(dead));
	KEEPS_ERRNO(odfork_get_pid_mode(-1));
	KEEPS_ERRNO(odfork_set_pid_mode(getpid(), ODFORK_MODE_OFF));
	KEEPS_ERRNO(odfork_set_pid_mode(dead, ODFORK_MODE_OFF));
	KEEPS_ERRNO(odfork_set_pid_mode(getpid(), ~0u));
	KEEPS_ERRNO(odfork_version());
	KEEPS_ERRNO(odfork_version_major());
	KEEPS_ERRNO(odfork_version_minor());
#undef KEEPS_ERRNO
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_mode_einval),
		cmocka_unit_test(test_get_mode),
		cmocka_unit_test(test_set_mode),
		cmocka_unit_test(test_set_mode_next),
		cmocka_unit_test(test_pid_mode_einval),
		cmocka_unit_test(test_pid_mode_esrch),
		cmocka_unit_test(test_pid_mode_self),
		cmocka_unit_test(test_pid_mode_eperm),
		cmocka_unit_test(test_sysctl),
		cmocka_unit_test(test_errno_untouched),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
