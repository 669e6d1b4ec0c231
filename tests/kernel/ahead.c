/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: vm.odfork_unshare_ahead (kernel patch 0032).  With N > 0,
 * a process whose faults copy N shared tables after an on-demand fork has
 * the rest unshared in the background, and its later writes copy none;
 * below N, or with 0, nothing is unshared ahead.  Either way the child
 * sees the memory as it was at the fork (fork()'s semantics).
 * kt_run() restores vm.odfork_unshare_ahead after each body.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"

#define NTABLES		16	/* tables of the test region */
#define NWRITE		4	/* of them the parent writes first */
#define WAIT_S		60	/* for the work, in the slow VM */

static void ahead_set(int value)
{
	kt_sysctl_set_at(KT_AHEAD_PATH, value);
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * An odfork child that holds the tables of p until *go is closed, then
 * checks that every page still holds 'T' (exit 0) or not (exit 3).
 */
static pid_t holder(unsigned char *p, size_t len, int *go)
{
	int fds[2];
	char c;
	size_t i;
	pid_t pid;

	KT_EQ(pipe(fds), 0);
	fflush(NULL);
	pid = kt_odfork(0);
	if (pid == 0) {
		close(fds[1]);
		while (read(fds[0], &c, 1) < 0 && errno == EINTR)
			;
		for (i = 0; i < len; i += KT_PAGE_SIZE)
			if (p[i] != 'T')
				_exit(3);
		_exit(0);
	}
	KT_ASSERT(pid > 0);
	close(fds[0]);
	*go = fds[1];
	return pid;
}

static unsigned char *touched_tables(size_t n)
{
	unsigned char *p = kt_map_tables(n);

	memset(p, 'T', n * KT_TABLE_SIZE);
	return p;
}

/* Write one byte into each of tables [from, to) of p. */
static void write_tables(unsigned char *p, size_t from, size_t to)
{
	size_t t;

	for (t = from; t < to; t++)
		p[t * KT_TABLE_SIZE + 8] = 'W';
}

/*
 * A writer: after NWRITE tables copied by its own faults, the work
 * unshares all the others, and writing them copies nothing.
 */
KT_TEST(test_ahead_unshares_the_rest)
{
	unsigned char *p = touched_tables(NTABLES);
	pid_t self = getpid(), child;
	long long copied, ahead0, global0;
	time_t deadline;
	int go;

	ahead_set(NWRITE);
	ahead0 = kt_pid_stat(self, KT_AHEAD);
	global0 = kt_vmstat(KT_AHEAD);
	child = holder(p, NTABLES * KT_TABLE_SIZE, &go);
	KT_SHARING(kt_pid_stat(self, KT_HELD) >= NTABLES,
		   "the odfork shares the region's %d tables", NTABLES);
	write_tables(p, 0, NWRITE);
	deadline = time(NULL) + WAIT_S;
	while (kt_pid_stat(self, KT_HELD) > 0 && time(NULL) < deadline)
		nap_ms(10);
	KT_EQ(kt_pid_stat(self, KT_HELD), 0);
	KT_GE(kt_pid_stat(self, KT_AHEAD) - ahead0, NTABLES - NWRITE);
	KT_GE(kt_vmstat(KT_AHEAD) - global0,
	      kt_pid_stat(self, KT_AHEAD) - ahead0);
	copied = kt_pid_stat(self, KT_COPIED);
	write_tables(p, 0, NTABLES);
	KT_EQ(kt_pid_stat(self, KT_COPIED), copied);
	KT_EQ(p[8], 'W');
	KT_EQ(p[(NTABLES - 1) * KT_TABLE_SIZE], 'T');
	close(go);
	KT_EQ(kt_wait(child), 0);
	return 0;
}

/* Fewer copies than vm.odfork_unshare_ahead, or 0: nothing ahead. */
static void no_ahead(int value, size_t nwrite)
{
	unsigned char *p = touched_tables(NTABLES);
	pid_t self = getpid(), child;
	long long ahead0 = kt_pid_stat(self, KT_AHEAD);
	long long global0 = kt_vmstat(KT_AHEAD);
	int go;

	ahead_set(value);
	child = holder(p, NTABLES * KT_TABLE_SIZE, &go);
	write_tables(p, 0, nwrite);
	nap_ms(300);
	KT_EQ(kt_pid_stat(self, KT_AHEAD), ahead0);
	KT_EQ(kt_vmstat(KT_AHEAD), global0);
	KT_SHARING(kt_pid_stat(self, KT_HELD) >= (long long)(NTABLES - nwrite),
		   "the tables not written stay shared");
	close(go);
	KT_EQ(kt_wait(child), 0);
}

KT_TEST(test_ahead_below_threshold)
{
	no_ahead(64, NWRITE);
	return 0;
}

KT_TEST(test_ahead_off)
{
	no_ahead(0, NTABLES);
	return 0;
}

/*
 * The writer exits while the work may still run: the work stops, the
 * holder's memory is intact (a clean guest log says the rest).
 */
KT_TEST(test_ahead_writer_exits)
{
	unsigned char *p;
	pid_t writer, pid;
	int go, st, left = 2, i;

	KT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	ahead_set(1);
	for (i = 0; i < 8; i++) {
		fflush(NULL);
		writer = fork();
		if (writer == 0) {
			p = touched_tables(4 * NTABLES);
			holder(p, 4 * NTABLES * KT_TABLE_SIZE, &go);
			write_tables(p, 0, 2);
			_exit(0);	/* go closes: the holder checks */
		}
		KT_ASSERT(writer > 0);
		/* the writer and its holder, reparented to us */
		for (left = 2; left > 0; left--) {
			pid = waitpid(-1, &st, 0);
			KT_ASSERT(pid > 0);
			KT_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		}
	}
	return 0;
}

KT_TEST(test_ahead_sysctl_values)
{
	int before = kt_sysctl_get_at(KT_AHEAD_PATH);

	KT_ASSERT(before >= 0);
	KT_EQ(kt_write_file(KT_AHEAD_PATH, "-1\n"), -EINVAL);
	KT_EQ(kt_write_file(KT_AHEAD_PATH, "x\n"), -EINVAL);
	KT_EQ(kt_sysctl_get_at(KT_AHEAD_PATH), before);
	ahead_set(0);
	ahead_set(1000000);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ahead_sysctl_values),
		cmocka_unit_test(test_ahead_unshares_the_rest),
		cmocka_unit_test(test_ahead_below_threshold),
		cmocka_unit_test(test_ahead_off),
		cmocka_unit_test(test_ahead_writer_exits),
	};

	kt_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
