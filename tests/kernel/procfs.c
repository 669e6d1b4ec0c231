/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: /proc/<pid>/odfork and /proc/<pid>/task/<tid>/odfork.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"

#define NEXT		ODFORK_MODE_NEXT
#define PROCESS		ODFORK_MODE_PROCESS
#define INHERIT		ODFORK_MODE_INHERIT

/* Garbage and invalid modes: each write fails with EINVAL. */
static const char *const garbage[] = {
	"abc", "", "\n", "99", "2x", "-1", "x2", "2 2", "0x", "0x100",
	"3", "4", "5", "7", "8",
};

static void pid_path(char *buf, size_t size, pid_t pid)
{
	snprintf(buf, size, "/proc/%d/odfork", (int)pid);
}

static void task_path(char *buf, size_t size, pid_t pid, pid_t tid)
{
	snprintf(buf, size, "/proc/%d/task/%d/odfork", (int)pid, (int)tid);
}

/* Reading our own file gives what PR_GET_ODFORK gives. */
KT_TEST(test_procfs_read_own)
{
	static const unsigned long steps[] = {
		ODFORK_MODE_OFF, NEXT, PROCESS, NEXT, PROCESS | INHERIT,
		NEXT, ODFORK_MODE_OFF,
	};
	char buf[64], want[16];
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		KT_EQ(kt_set_mode(steps[i]), 0);
		snprintf(want, sizeof(want), "%d\n", kt_get_mode());
		KT_GE(kt_read_file("/proc/self/odfork", buf, sizeof(buf)), 0);
		KT_EQ(strcmp(buf, want), 0);
		KT_GE(kt_read_file("/proc/thread-self/odfork", buf,
				   sizeof(buf)), 0);
		KT_EQ(strcmp(buf, want), 0);
	}
	return 0;
}

/* Write `text` to the agent's file; the agent and the file then both
 * say `want`. */
static void write_and_check(struct kt_agent *a, const char *text, int want)
{
	char path[64];

	pid_path(path, sizeof(path), a->pid);
	KT_EQ(kt_write_file(path, text), 0);
	KT_EQ(kt_read_mode_file(path), want);
	KT_EQ(kt_agent_ask(a, 'm'), want);
}

/* Root reads and writes another root process's mode, in every accepted
 * number format, with the same meaning as PR_SET_ODFORK there. */
KT_TEST(test_procfs_root_writes_other)
{
	struct kt_agent a;

	kt_sysctl_set(1);
	kt_agent_spawn(&a, (uid_t)-1);
	write_and_check(&a, "2\n", PROCESS);
	KT_EQ(kt_agent_ask(&a, 'f'), 1);	/* the mode took effect */
	write_and_check(&a, "0", 0);
	KT_EQ(kt_agent_ask(&a, 'f'), 0);
	write_and_check(&a, "6", PROCESS | INHERIT);
	write_and_check(&a, "1\n", PROCESS | INHERIT | NEXT);
	write_and_check(&a, "0\n", 0);
	write_and_check(&a, "0x6\n", PROCESS | INHERIT);
	write_and_check(&a, "0", 0);
	write_and_check(&a, "02", PROCESS);
	write_and_check(&a, "0\n", 0);
	KT_EQ(kt_get_mode(), 0);		/* ours is untouched */
	KT_EQ(kt_agent_stop(&a), 0);
	return 0;
}

/* kernel/README.md: "surrounding white space allowed". */
KT_TEST(test_procfs_accepts_surrounding_space)
{
	struct kt_agent a;

	kt_agent_spawn(&a, (uid_t)-1);
	write_and_check(&a, "2 \n", PROCESS);
	write_and_check(&a, " 6\n", PROCESS | INHERIT);
	write_and_check(&a, "\t0 \n", 0);
	write_and_check(&a, "  0x2\t", PROCESS);
	KT_EQ(kt_agent_stop(&a), 0);
	return 0;
}

/* Writing 1 to a thread's file arms that thread's NEXT only. */
KT_TEST(test_procfs_task_arms_one_thread)
{
	char path[96];
	struct kt_agent t;
	pid_t self = getpid();

	kt_sysctl_set(1);
	kt_agent_thread(&t);
	task_path(path, sizeof(path), self, t.tid);
	KT_EQ(kt_write_file(path, "1\n"), 0);
	KT_EQ(kt_read_mode_file(path), NEXT);
	task_path(path, sizeof(path), self, self);
	KT_EQ(kt_read_mode_file(path), 0);
	pid_path(path, sizeof(path), self);
	KT_EQ(kt_read_mode_file(path), 0);
	KT_EQ(kt_get_mode(), 0);
	KT_EQ(kt_agent_ask(&t, 'm'), NEXT);
	KT_EQ(kt_agent_ask(&t, 'f'), 1);
	KT_EQ(kt_agent_ask(&t, 'm'), 0);
	KT_EQ(kt_agent_ask(&t, 'f'), 0);
	KT_EQ(kt_fork_delta(KT_FORK), 0);
	KT_EQ(kt_agent_stop(&t), 0);
	return 0;
}

static void check_garbage(const char *path, struct kt_agent *a, int mode)
{
	size_t i;

	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		if (kt_write_file(path, garbage[i]) != -EINVAL)
			kt_fail(__FILE__, __LINE__,
				"%s: \"%s\" gave %d, not -EINVAL", path,
				garbage[i], kt_write_file(path, garbage[i]));
		KT_EQ(kt_read_mode_file(path), mode);
		KT_EQ(a ? kt_agent_ask(a, 'm') : kt_get_mode(), mode);
	}
}

/* Garbage: EINVAL and the mode unchanged, ours and another process's. */
KT_TEST(test_procfs_rejects_garbage)
{
	struct kt_agent a;
	char path[64];

	KT_EQ(kt_set_mode(PROCESS), 0);
	KT_EQ(kt_set_mode(NEXT), 0);
	check_garbage("/proc/self/odfork", NULL, PROCESS | NEXT);
	KT_EQ(kt_set_mode(ODFORK_MODE_OFF), 0);
	check_garbage("/proc/self/odfork", NULL, 0);
	kt_agent_spawn(&a, (uid_t)-1);
	pid_path(path, sizeof(path), a.pid);
	KT_EQ(kt_write_file(path, "6"), 0);
	check_garbage(path, &a, PROCESS | INHERIT);
	KT_EQ(kt_agent_stop(&a), 0);
	return 0;
}

/* A number too large for any mode is an invalid mode too: EINVAL (not
 * the ERANGE of a bare kstrtouint()). */
KT_TEST(test_procfs_rejects_overflow)
{
	static const char *const big[] = {
		"4294967298", "0x100000002", "18446744073709551618",
	};
	size_t i;

	KT_EQ(kt_set_mode(PROCESS), 0);
	for (i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		KT_EQ(kt_write_file("/proc/self/odfork", big[i]), -EINVAL);
		KT_EQ(kt_get_mode(), PROCESS);
	}
	return 0;
}

/* As uid 65534: write needs ptrace-attach (EPERM), read needs
 * ptrace-read (EACCES) over the root process. */
static int poke_root_process(void *arg)
{
	const pid_t *pid = arg;
	char path[96];

	pid_path(path, sizeof(path), *pid);
	KT_EQ(kt_write_file(path, "2\n"), -EPERM);
	KT_EQ(kt_write_file(path, "0\n"), -EPERM);
	KT_EQ(kt_read_mode_file(path), -EACCES);
	task_path(path, sizeof(path), *pid, *pid);
	KT_EQ(kt_write_file(path, "1\n"), -EPERM);
	KT_EQ(kt_read_mode_file(path), -EACCES);
	return 0;
}

KT_TEST(test_procfs_unprivileged_denied)
{
	struct kt_agent a;
	char path[64];

	kt_agent_spawn(&a, (uid_t)-1);
	pid_path(path, sizeof(path), a.pid);
	KT_EQ(kt_write_file(path, "6"), 0);
	KT_EQ(kt_run_as(KT_NOBODY, poke_root_process, &a.pid), 0);
	KT_EQ(kt_read_mode_file(path), PROCESS | INHERIT);
	KT_EQ(kt_agent_ask(&a, 'm'), PROCESS | INHERIT);
	KT_EQ(kt_agent_stop(&a), 0);
	return 0;
}

static int poke_sibling(void *arg)
{
	const pid_t *pid = arg;
	char path[64];

	pid_path(path, sizeof(path), *pid);
	KT_EQ(kt_read_mode_file(path), 0);
	KT_EQ(kt_write_file(path, "2\n"), 0);
	KT_EQ(kt_read_mode_file(path), PROCESS);
	return 0;
}

/* A process of uid 65534 may set the mode of another of its own. */
KT_TEST(test_procfs_same_uid_sibling)
{
	struct kt_agent a;
	char path[64];

	kt_agent_spawn(&a, KT_NOBODY);
	KT_EQ(kt_run_as(KT_NOBODY, poke_sibling, &a.pid), 0);
	KT_EQ(kt_agent_ask(&a, 'm'), PROCESS);
	pid_path(path, sizeof(path), a.pid);
	KT_EQ(kt_read_mode_file(path), PROCESS);
	KT_EQ(kt_agent_stop(&a), 0);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_procfs_read_own),
		cmocka_unit_test(test_procfs_root_writes_other),
		cmocka_unit_test(test_procfs_accepts_surrounding_space),
		cmocka_unit_test(test_procfs_task_arms_one_thread),
		cmocka_unit_test(test_procfs_rejects_garbage),
		cmocka_unit_test(test_procfs_rejects_overflow),
		cmocka_unit_test(test_procfs_unprivileged_denied),
		cmocka_unit_test(test_procfs_same_uid_sibling),
	};

	kt_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
