/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <cmocka.h>
#ifdef HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

#include "helpers.h"

int on_valgrind(void)
{
	const char *preload = getenv("LD_PRELOAD");

#ifdef HAVE_VALGRIND_H
	if (RUNNING_ON_VALGRIND)
		return 1;
#endif
	return preload && strstr(preload, "vgpreload");
}

void child_exit(int code)
{
#ifdef HAVE_VALGRIND_H
	char cmd[16];

	if (RUNNING_ON_VALGRIND) {
		if (VALGRIND_COUNT_ERRORS)
			code = 1;
		snprintf(cmd, sizeof(cmd), "exit %d", code);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	}
#endif
	syscall(SYS_exit_group, code);
	_exit(code);
}

int wait_status(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

int run_in_child(void (*fn)(void *arg), void *arg)
{
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	return wait_status(pid);
}

void assert_child_ok(void (*fn)(void *arg), void *arg)
{
	int status = run_in_child(fn, arg);

	if (status == EXIT_SKIP)
		skip();
	assert_int_equal(status, 0);
}

int drop_root(void)
{
	if (getuid() != 0)
		return 0;
	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		return -1;
	return 0;
}

int make_fork_fail(void)
{
	struct rlimit rl = { 0, 0 };
	pid_t pid;

	if (drop_root() || setrlimit(RLIMIT_NPROC, &rl))
		return -1;
	pid = fork();
	if (pid == 0)
		_exit(0);
	if (pid > 0) {
		wait_status(pid);
		return -1;
	}
	return errno == EAGAIN ? 0 : -1;
}

pid_t dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	assert_true(pid > 0);
	assert_int_equal(wait_status(pid), 0);
	return pid;
}

int hook_calls[3];

void count_prepare(void *arg)
{
	(void)arg;
	hook_calls[0]++;
}

void count_parent(void *arg)
{
	(void)arg;
	hook_calls[1]++;
}

void count_child(void *arg)
{
	(void)arg;
	hook_calls[2]++;
}
