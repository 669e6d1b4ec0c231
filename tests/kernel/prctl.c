/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: PR_SET_ODFORK / PR_GET_ODFORK.
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

/* Set mode and check what PR_GET_ODFORK reports afterwards. */
#define SET_GET(mode, want)						\
	do {								\
		KT_EQ(kt_set_mode(mode), 0);				\
		KT_EQ(kt_get_mode(), (want));				\
	} while (0)

/* A fresh process starts with mode OFF and NEXT clear. */
KT_TEST(test_prctl_get_initially_off)
{
	KT_EQ(kt_get_mode(), ODFORK_MODE_OFF);
	return 0;
}

KT_TEST(test_prctl_set_get_round_trip)
{
	SET_GET(NEXT, 1);
	SET_GET(ODFORK_MODE_OFF, 0);
	SET_GET(PROCESS, 2);
	SET_GET(PROCESS | INHERIT, 6);
	SET_GET(PROCESS, 2);
	/* NEXT leaves the process mode alone; GET ORs it in. */
	SET_GET(NEXT, 3);
	SET_GET(PROCESS | INHERIT, 7);
	SET_GET(ODFORK_MODE_OFF, 0);
	/*
	 * Setting the process mode leaves an armed NEXT alone: the spec
	 * only has OFF clear it.
	 */
	SET_GET(NEXT, 1);
	SET_GET(PROCESS, 3);
	return 0;
}

/* SET OFF clears both the process mode and this thread's NEXT. */
KT_TEST(test_prctl_off_clears_both)
{
	SET_GET(PROCESS | INHERIT, 6);
	SET_GET(NEXT, 7);
	SET_GET(ODFORK_MODE_OFF, 0);
	SET_GET(PROCESS, 2);
	SET_GET(NEXT, 3);
	SET_GET(ODFORK_MODE_OFF, 0);
	return 0;
}

static void check_rejected_from(unsigned long start_mode, int start_get)
{
	static const unsigned long bad[] = {
		8, 0x100, ~0UL, 0xffffffffUL, (1UL << 32) | PROCESS,
		INHERIT,			/* INHERIT without PROCESS */
		NEXT | INHERIT,
		NEXT | PROCESS,			/* two modes at once */
		NEXT | PROCESS | INHERIT,
		PROCESS | 8,
	};
	size_t i;

	KT_EQ(kt_set_mode(ODFORK_MODE_OFF), 0);
	KT_EQ(kt_set_mode(start_mode), 0);
	if (start_get & NEXT)
		KT_EQ(kt_set_mode(NEXT), 0);
	KT_EQ(kt_get_mode(), start_get);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		KT_FAILS(kt_prctl(PR_SET_ODFORK, bad[i], 0, 0, 0), EINVAL);
		KT_EQ(kt_get_mode(), start_get);
	}
}

/* Unknown bits and invalid combinations: EINVAL, nothing changes. */
KT_TEST(test_prctl_set_rejects_invalid_modes)
{
	check_rejected_from(ODFORK_MODE_OFF, 0);
	check_rejected_from(ODFORK_MODE_OFF, NEXT);
	check_rejected_from(PROCESS, 2);
	check_rejected_from(PROCESS | INHERIT, 7);
	return 0;
}

/* Non-zero arg3..arg5 of SET: EINVAL, nothing changes (not even OFF). */
KT_TEST(test_prctl_set_rejects_extra_args)
{
	SET_GET(PROCESS | INHERIT, 6);
	SET_GET(NEXT, 7);
	KT_FAILS(kt_prctl(PR_SET_ODFORK, ODFORK_MODE_OFF, 1, 0, 0), EINVAL);
	KT_FAILS(kt_prctl(PR_SET_ODFORK, ODFORK_MODE_OFF, 0, 1, 0), EINVAL);
	KT_FAILS(kt_prctl(PR_SET_ODFORK, ODFORK_MODE_OFF, 0, 0, 1), EINVAL);
	KT_FAILS(kt_prctl(PR_SET_ODFORK, PROCESS, ~0UL, 0, 0), EINVAL);
	KT_EQ(kt_get_mode(), 7);
	SET_GET(ODFORK_MODE_OFF, 0);
	KT_FAILS(kt_prctl(PR_SET_ODFORK, PROCESS, 0, 0, 1), EINVAL);
	KT_FAILS(kt_prctl(PR_SET_ODFORK, NEXT, 0, 1, 0), EINVAL);
	KT_EQ(kt_get_mode(), 0);
	return 0;
}

/* Non-zero arg2..arg5 of GET: EINVAL. */
KT_TEST(test_prctl_get_rejects_extra_args)
{
	SET_GET(PROCESS, 2);
	KT_FAILS(kt_prctl(PR_GET_ODFORK, 1, 0, 0, 0), EINVAL);
	KT_FAILS(kt_prctl(PR_GET_ODFORK, 0, 1, 0, 0), EINVAL);
	KT_FAILS(kt_prctl(PR_GET_ODFORK, 0, 0, 1, 0), EINVAL);
	KT_FAILS(kt_prctl(PR_GET_ODFORK, 0, 0, 0, 1), EINVAL);
	KT_FAILS(kt_prctl(PR_GET_ODFORK, ~0UL, ~0UL, ~0UL, ~0UL), EINVAL);
	KT_EQ(kt_get_mode(), 2);
	return 0;
}

static int set_off_in_thread(void *arg)
{
	(void)arg;
	KT_EQ(kt_get_mode(), 0);	/* NEXT is not this thread's */
	KT_EQ(kt_set_mode(ODFORK_MODE_OFF), 0);
	KT_EQ(kt_set_mode(PROCESS), 0);
	KT_EQ(kt_get_mode(), 2);
	return 0;
}

/* The process mode is shared by all threads, NEXT is per thread: OFF in
 * another thread does not disarm ours, PROCESS there shows here. */
KT_TEST(test_prctl_next_is_per_thread)
{
	SET_GET(NEXT, 1);
	KT_EQ(kt_in_thread(set_off_in_thread, NULL), 0);
	KT_EQ(kt_get_mode(), 3);
	SET_GET(ODFORK_MODE_OFF, 0);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prctl_get_initially_off),
		cmocka_unit_test(test_prctl_set_get_round_trip),
		cmocka_unit_test(test_prctl_off_clears_both),
		cmocka_unit_test(test_prctl_set_rejects_invalid_modes),
		cmocka_unit_test(test_prctl_set_rejects_extra_args),
		cmocka_unit_test(test_prctl_get_rejects_extra_args),
		cmocka_unit_test(test_prctl_next_is_per_thread),
	};

	kt_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
