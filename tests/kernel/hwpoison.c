/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: a hardware-poisoned page in a shared PTE table.  Memory
 * failure unmaps it from every mm that maps it, including through a table
 * shared with an on-demand fork child (patch 0018: global TLB flush, RSS
 * to the table's accounting owner), as after fork(): each process that
 * touches the page gets SIGBUS, the other pages keep their data, and the
 * RSS counters stay exact ("Bad rss-counter" fails the VM run).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"

#define NTABLES		2
#define PAGE		4096UL
#define POISONED	5	/* page index in table 0 */

/* Every page of [p, p + len) but the poisoned one still reads c. */
static void expect_intact(const unsigned char *p, size_t len, int c)
{
	size_t i;

	for (i = 0; i < len; i += PAGE)
		if (i != POISONED * PAGE)
			KT_EQ(p[i], c);
}

/* The child poisons a page of a shared table, the parent meets it. */
KT_TEST(test_hwpoison_shared_table)
{
	size_t len = NTABLES * KT_TABLE_SIZE;
	unsigned char *p = kt_map_tables(NTABLES);
	struct kt_snap a, b;
	int status;
	pid_t pid;

	memset(p, 'P', len);
	kt_sysctl_set(1);
	kt_snap(&a);
	pid = kt_odfork(0);
	KT_ASSERT(pid >= 0);
	if (pid == 0) {
		if (madvise(p + POISONED * PAGE, PAGE, MADV_HWPOISON))
			_exit(2);
		_exit(kt_read_faults(p + POISONED * PAGE) ? 0 : 3);
	}
	/* Memory failure kills the injecting process, as for a real error. */
	status = kt_wait(pid);
	KT_ASSERT(status == 128 + SIGBUS || status == 0);
	kt_snap(&b);
	/* Shared at fork; MADV_HWPOISON's page reference unshared table 0. */
	KT_ASSERT(kt_moved(&a, &b, KT_C_SHARED) >= NTABLES);
	KT_ASSERT(kt_moved(&a, &b, KT_C_COPIED) >= 1);

	/* The parent's table 0 was shared when the page was unmapped. */
	KT_ASSERT(kt_read_faults(p + POISONED * PAGE));
	expect_intact(p, len, 'P');
	memset(p + (POISONED + 1) * PAGE, 'W', PAGE);
	KT_EQ(p[(POISONED + 1) * PAGE], 'W');
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hwpoison_shared_table),
	};

	kt_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
