/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * test-version.c - the run-time version matches the headers and the
 * project version meson passes in as EXPECTED_VERSION.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "odfork.h"

static void test_version_string(void **state)
{
	(void)state;
	assert_string_equal(odfork_version(), EXPECTED_VERSION);
	assert_string_equal(ODFORK_VERSION_STRING, EXPECTED_VERSION);
}

static void test_version_numbers(void **state)
{
	char buf[32];

	(void)state;
	assert_int_equal(odfork_version_major(), ODFORK_VERSION_MAJOR);
	assert_int_equal(odfork_version_minor(), ODFORK_VERSION_MINOR);
	snprintf(buf, sizeof(buf), "%d.%d.", odfork_version_major(),
		 odfork_version_minor());
	assert_memory_equal(odfork_version(), buf, strlen(buf));
}

static void test_check_version(void **state)
{
	(void)state;
	assert_true(ODFORK_CHECK_VERSION(ODFORK_VERSION_MAJOR,
					 ODFORK_VERSION_MINOR));
	assert_true(ODFORK_CHECK_VERSION(ODFORK_VERSION_MAJOR, 0));
	assert_true(ODFORK_CHECK_VERSION(ODFORK_VERSION_MAJOR - 1, 99));
	assert_false(ODFORK_CHECK_VERSION(ODFORK_VERSION_MAJOR,
					  ODFORK_VERSION_MINOR + 1));
	assert_false(ODFORK_CHECK_VERSION(ODFORK_VERSION_MAJOR + 1, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_string),
		cmocka_unit_test(test_version_numbers),
		cmocka_unit_test(test_check_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
