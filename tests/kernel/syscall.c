/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kernel suite: the odfork(2) syscall behaves exactly like fork().
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"

#define BIG_SIZE	(4u << 20)	/* 4 MiB: two or more PTE tables */
#define SMALL_SIZE	64

static unsigned char small_buf[SMALL_SIZE];

/* flags != 0: EINVAL, and no child came into being. */
KT_TEST(test_syscall_rejects_flags)
{
	static const unsigned long bad[] = { 1, 0x80000000UL, 0xffffffffUL };
	long long before;
	size_t i;

	kt_sysctl_set(1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		before = kt_forks();
		KT_FAILS(kt_odfork(bad[i]), EINVAL);
		KT_EQ(kt_forks() - before, 0);
		KT_FAILS(waitpid(-1, NULL, WNOHANG), ECHILD);
	}
	return 0;
}

/* Return values, getppid(), SIGCHLD and the exit status, as for fork(). */
KT_TEST(test_syscall_returns_like_fork)
{
	struct timespec ts = { .tv_sec = 60, .tv_nsec = 0 };
	pid_t self = getpid();
	siginfo_t si;
	sigset_t set;
	pid_t pid;
	int st;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	KT_EQ(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	pid = kt_odfork(0);
	if (pid == 0)
		_exit(getppid() == self ? 42 : 43);
	KT_ASSERT(pid > 0);
	KT_EQ(sigtimedwait(&set, &si, &ts), SIGCHLD);
	KT_EQ(si.si_pid, pid);
	KT_EQ(si.si_code, CLD_EXITED);
	KT_EQ(si.si_status, 42);
	KT_EQ(waitpid(pid, &st, 0), pid);
	KT_ASSERT(WIFEXITED(st));
	KT_EQ(WEXITSTATUS(st), 42);
	KT_FAILS(waitpid(-1, NULL, WNOHANG), ECHILD);
	return 0;
}

static int all_bytes(const unsigned char *p, size_t len, unsigned char c)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != c)
			return 0;
	return 1;
}

static void sync_write(int fd)
{
	KT_EQ(write(fd, "x", 1), 1);
}

static int sync_read(int fd)
{
	char c;

	return read(fd, &c, 1) == 1;
}

/* Child: sees the pre-fork contents after the parent wrote its own,
 * then writes its own and lets the parent check. */
static int copy_child(unsigned char *big, int from_parent, int to_parent)
{
	int ok;

	if (!sync_read(from_parent))
		return 2;
	ok = all_bytes(small_buf, SMALL_SIZE, 'P') &&
	     all_bytes(big, BIG_SIZE, 'P');
	memset(small_buf, 'C', SMALL_SIZE);
	memset(big, 'C', BIG_SIZE);
	ok = ok && all_bytes(big, BIG_SIZE, 'C');
	sync_write(to_parent);
	return ok ? 0 : 3;
}

/* Parent and child each have their own copy of the memory. */
KT_TEST(test_syscall_child_has_own_memory)
{
	int p2c[2], c2p[2];
	unsigned char *big;
	pid_t pid;

	kt_sysctl_set(1);
	big = mmap(NULL, BIG_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KT_ASSERT(big != MAP_FAILED);
	KT_EQ(madvise(big, BIG_SIZE, MADV_NOHUGEPAGE), 0);
	memset(big, 'P', BIG_SIZE);
	memset(small_buf, 'P', SMALL_SIZE);
	KT_EQ(pipe(p2c), 0);
	KT_EQ(pipe(c2p), 0);
	pid = kt_odfork(0);
	if (pid == 0) {
		close(p2c[1]);
		close(c2p[0]);
		_exit(copy_child(big, p2c[0], c2p[1]));
	}
	KT_ASSERT(pid > 0);
	close(p2c[0]);
	close(c2p[1]);
	memset(small_buf, 'Q', SMALL_SIZE);
	memset(big, 'Q', BIG_SIZE);
	sync_write(p2c[1]);
	KT_ASSERT(sync_read(c2p[0]));
	KT_ASSERT(all_bytes(small_buf, SMALL_SIZE, 'Q'));
	KT_ASSERT(all_bytes(big, BIG_SIZE, 'Q'));
	KT_EQ(kt_wait(pid), 0);
	return 0;
}

/* With vm.odfork=1 every odfork() takes the on-demand path once. */
KT_TEST(test_syscall_counts_each_fork_once)
{
	int i;

	kt_sysctl_set(1);
	KT_EQ(kt_get_mode(), 0);
	for (i = 0; i < 3; i++)
		KT_EQ(kt_fork_delta(KT_ODFORK), 1);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syscall_rejects_flags),
		cmocka_unit_test(test_syscall_returns_like_fork),
		cmocka_unit_test(test_syscall_child_has_own_memory),
		cmocka_unit_test(test_syscall_counts_each_fork_once),
	};

	kt_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
