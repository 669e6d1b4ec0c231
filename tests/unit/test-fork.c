/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * test-fork.c - odfork() behaves like fork() for the caller: return values,
 * errno, libc's fork handling, threads.  Runs with and without the forced
 * fallback (meson runs it twice).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <cmocka.h>

#include "odfork.h"
#include "helpers.h"

#define NR_FORKERS	8
#define FORKS_EACH	16
#define NR_CHURNERS	4
#define CHURN_FORKS	20

static void test_return_values(void **state)
{
	pid_t pid, parent = getpid(), got = 0;
	int fds[2];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pid = odfork();
	if (pid == 0) {
		pid_t me = getpid();

		if (getppid() != parent ||
		    write(fds[1], &me, sizeof(me)) != sizeof(me))
			_exit(1);
		_exit(42);
	}
	assert_true(pid > 0);
	assert_int_equal(read(fds[0], &got, sizeof(got)), sizeof(got));
	assert_int_equal(got, pid);
	assert_int_equal(wait_status(pid), 42);
	close(fds[0]);
	close(fds[1]);
}

/* The kernel consumes NEXT: neither parent nor child has it afterwards. */
static void test_next_consumed(void **state)
{
	pid_t pid;

	(void)state;
	if (!odfork_available())
		skip();
	pid = odfork();
	if (pid == 0)
		_exit(odfork_get_mode() & ODFORK_MODE_NEXT ? 1 : 0);
	assert_true(pid > 0);
	assert_int_equal(odfork_get_mode() & ODFORK_MODE_NEXT, 0);
	assert_int_equal(wait_status(pid), 0);
}

/* fork() fails: -1, fork()'s errno; prepare and parent hooks ran. */
static void fork_fails_child(void *arg)
{
	pid_t pid;

	(void)arg;
	if (make_fork_fail())
		_exit(EXIT_SKIP);
	CHECK(odfork_atfork(count_prepare, count_parent, count_child,
			    NULL) == 0);
	errno = 0;
	pid = odfork();
	if (pid == 0)
		_exit(0);
	CHECK(pid == -1);
	CHECK(errno == EAGAIN);
	CHECK(hook_calls[0] == 1 && hook_calls[1] == 1 && hook_calls[2] == 0);
}

CHILD_TEST(test_fork_fails, fork_fails_child)

static int atfork_calls[3];

static void atfork_prepare(void)
{
	atfork_calls[0]++;
}

static void atfork_parent(void)
{
	atfork_calls[1]++;
}

static void atfork_child(void)
{
	atfork_calls[2]++;
}

/* libc's fork handling: pthread_atfork handlers, the child's thread id. */
static void libc_fork_child(void *arg)
{
	pid_t pid;

	(void)arg;
	CHECK(pthread_atfork(atfork_prepare, atfork_parent,
			     atfork_child) == 0);
	pid = odfork();
	if (pid == 0) {
		if (atfork_calls[0] != 1 || atfork_calls[2] != 1)
			_exit(1);
		if (syscall(SYS_gettid) != getpid())
			_exit(2);
		_exit(0);
	}
	CHECK(pid > 0);
	CHECK(atfork_calls[0] == 1 && atfork_calls[1] == 1);
	CHECK(atfork_calls[2] == 0);
	CHECK(wait_status(pid) == 0);
}

CHILD_TEST(test_libc_fork_handling, libc_fork_child)

static atomic_int forker_failures;

static void *forker(void *arg)
{
	int id = (int)(intptr_t)arg;
	int i, code;
	pid_t pid;

	for (i = 0; i < FORKS_EACH; i++) {
		code = (id * FORKS_EACH + i) % 200 + 1;
		pid = odfork();
		if (pid == 0)
			child_exit(code);
		if (pid < 0 || wait_status(pid) != code)
			atomic_fetch_add(&forker_failures, 1);
	}
	return NULL;
}

/* Many threads arm NEXT and fork at once; every child is accounted for. */
static void test_concurrent_odfork(void **state)
{
	pthread_t tid[NR_FORKERS];
	intptr_t i;

	(void)state;
	for (i = 0; i < NR_FORKERS; i++)
		assert_int_equal(pthread_create(&tid[i], NULL, forker,
						(void *)i), 0);
	for (i = 0; i < NR_FORKERS; i++)
		pthread_join(tid[i], NULL);
	assert_int_equal(atomic_load(&forker_failures), 0);
	if (odfork_available())
		assert_int_equal(odfork_get_mode() & ODFORK_MODE_NEXT, 0);
}

static atomic_int churn_stop;

static void *churner(void *arg)
{
	void *p[16] = { NULL };
	unsigned int n = (unsigned int)(intptr_t)arg;

	while (!atomic_load(&churn_stop)) {
		n = n * 1103515245 + 12345;
		free(p[n % 16]);
		p[n % 16] = malloc(n % 65536 + 1);
	}
	for (n = 0; n < 16; n++)
		free(p[n]);
	return NULL;
}

static void *child_thread(void *arg)
{
	char *p = malloc(4096);

	if (p) {
		memset(p, 1, 4096);
		free(p);
	}
	return p ? arg : NULL;
}

/* In the child of a parent whose threads malloc all the time. */
static int child_of_churn(void)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_t tid;
	void *ret = NULL;
	int i;

	alarm(10);	/* a deadlock fails as SIGALRM */
	if (pthread_mutex_lock(&lock) || pthread_mutex_unlock(&lock))
		return 1;
	if (!CHILD_MAY_MALLOC)
		return 0;
	for (i = 0; i < 256; i++)
		free(malloc(i * 64 + 1));
	if (pthread_create(&tid, NULL, child_thread, &lock) ||
	    pthread_join(tid, &ret) || ret != &lock)
		return 2;
	return 0;
}

static void test_malloc_threads(void **state)
{
	pthread_t tid[NR_CHURNERS];
	intptr_t i;
	pid_t pid;

	(void)state;
	for (i = 0; i < NR_CHURNERS; i++)
		assert_int_equal(pthread_create(&tid[i], NULL, churner,
						(void *)(i + 1)), 0);
	for (i = 0; i < CHURN_FORKS; i++) {
		pid = odfork();
		if (pid == 0)
			child_exit(child_of_churn());
		assert_true(pid > 0);
		assert_int_equal(wait_status(pid), 0);
	}
	atomic_store(&churn_stop, 1);
	for (i = 0; i < NR_CHURNERS; i++)
		pthread_join(tid[i], NULL);
}

/* A process mode survives odfork(); children get it only with INHERIT. */
static void test_process_mode(void **state)
{
	unsigned int mode = ODFORK_MODE_PROCESS;
	pid_t pid;

	(void)state;
	if (!odfork_available())
		skip();
	assert_int_equal(odfork_set_mode(mode), 0);
	pid = odfork();
	if (pid == 0)
		_exit(odfork_get_mode() == ODFORK_MODE_OFF ? 0 : 1);
	assert_true(pid > 0);
	assert_int_equal(wait_status(pid), 0);
	assert_int_equal(odfork_get_mode(), mode);
	assert_int_equal(odfork_set_mode(ODFORK_MODE_OFF), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_return_values),
		cmocka_unit_test(test_next_consumed),
		cmocka_unit_test(test_fork_fails),
		cmocka_unit_test(test_libc_fork_handling),
		cmocka_unit_test(test_concurrent_odfork),
		cmocka_unit_test(test_malloc_threads),
		cmocka_unit_test(test_process_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
