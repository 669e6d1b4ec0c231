/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * test-hooks.c - odfork_atfork(): order, nesting, errors, threads
 *
 * Hooks cannot be unregistered, so every scenario runs in its own child
 * process and reports with CHECK() and its exit status.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "odfork.h"
#include "helpers.h"

/* A log of hook calls: "P3" = prepare of hook 3, "p1" parent, "c2" child. */
static char hook_log[256];

static void log_call(char kind, void *arg)
{
	size_t len = strlen(hook_log);

	if (len + 3 < sizeof(hook_log)) {
		hook_log[len] = kind;
		hook_log[len + 1] = (char)('0' + (intptr_t)arg);
		hook_log[len + 2] = '\0';
	}
}

static void log_prepare(void *arg)
{
	log_call('P', arg);
}

static void log_parent(void *arg)
{
	log_call('p', arg);
}

static void log_child(void *arg)
{
	log_call('c', arg);
}

static int add_logger(intptr_t id)
{
	return odfork_atfork(log_prepare, log_parent, log_child, (void *)id);
}

/*
 * odfork() with the log cleared; the child exits at once after sending its
 * log.  The parent's log ends up as hook_log, the child's in child_log.
 */
static void logged_odfork(char *child_log, size_t size)
{
	int fds[2];
	pid_t pid;
	ssize_t n;

	CHECK(pipe(fds) == 0);
	hook_log[0] = '\0';
	pid = odfork();
	if (pid == 0) {
		n = write(fds[1], hook_log, strlen(hook_log) + 1);
		_exit(n > 0 ? 0 : 1);
	}
	CHECK(pid > 0);
	CHECK(wait_status(pid) == 0);
	n = read(fds[0], child_log, size - 1);
	CHECK(n > 0);
	child_log[n] = '\0';
	close(fds[0]);
	close(fds[1]);
}

#define CHECK_LOGS(parent, child)					\
	do {								\
		char clog[256];						\
		logged_odfork(clog, sizeof(clog));			\
		if (strcmp(hook_log, parent) || strcmp(clog, child)) {	\
			fprintf(stderr, "%s:%d: logs \"%s\" \"%s\", "	\
				"expected \"%s\" \"%s\"\n", __FILE__,	\
				__LINE__, hook_log, clog, parent, child); \
			_exit(1);					\
		}							\
	} while (0)

/* pthread_atfork() order: prepare reversed, parent and child forward. */
static void order_child(void *arg)
{
	(void)arg;
	CHECK_LOGS("", "");
	CHECK(add_logger(1) == 0);
	CHECK(add_logger(2) == 0);
	CHECK(odfork_atfork(NULL, NULL, log_child, (void *)3) == 0);
	CHECK(odfork_atfork(log_prepare, NULL, NULL, (void *)4) == 0);
	CHECK(add_logger(5) == 0);
	CHECK_LOGS("P5P4P2P1p1p2p5", "P5P4P2P1c1c2c3c5");
	CHECK_LOGS("P5P4P2P1p1p2p5", "P5P4P2P1c1c2c3c5");
}

static void test_order(void **state)
{
	(void)state;
	assert_child_ok(order_child, NULL);
}

static void register_6(void *arg)
{
	(void)arg;
	CHECK(add_logger(6) == 0);
}

static void register_7(void *arg)
{
	(void)arg;
	CHECK(add_logger(7) == 0);
}

/* A hook registering a hook: no deadlock, effective from the next odfork(). */
static void nested_child(void *arg)
{
	(void)arg;
	CHECK(add_logger(1) == 0);
	CHECK(odfork_atfork(register_6, NULL, NULL, NULL) == 0);
	CHECK_LOGS("P1p1", "P1c1");
	/* the prepare hook now registers a 6 at every odfork() */
	CHECK_LOGS("P6P1p1p6", "P6P1c1c6");
	CHECK_LOGS("P6P6P1p1p6p6", "P6P6P1c1c6c6");
}

static void test_nested(void **state)
{
	(void)state;
	assert_child_ok(nested_child, NULL);
}

/* Same from a child hook: the child's next odfork() runs the new hook. */
static void nested_in_child_child(void *arg)
{
	char clog[64];
	pid_t pid;

	(void)arg;
	CHECK(add_logger(1) == 0);
	CHECK(odfork_atfork(NULL, register_7, register_7, NULL) == 0);
	pid = odfork();
	if (pid == 0) {
		/* in the child: 7 registered by the child hook */
		logged_odfork(clog, sizeof(clog));
		CHECK(!strcmp(hook_log, "P7P1p1p7"));
		CHECK(!strcmp(clog, "P7P1c1c7"));
		_exit(0);
	}
	CHECK(pid > 0);
	CHECK(wait_status(pid) == 0);
	CHECK(!strcmp(hook_log, "P1p1"));
}

static void test_nested_in_child(void **state)
{
	(void)state;
	assert_child_ok(nested_in_child_child, NULL);
}

/* A refused registration leaves the earlier ones working. */
static void einval_child(void *arg)
{
	(void)arg;
	CHECK(add_logger(1) == 0);
	errno = 4242;
	CHECK(odfork_atfork(NULL, NULL, NULL, (void *)2) == -EINVAL);
	CHECK(errno == 4242);
	CHECK(odfork_atfork(NULL, NULL, NULL, NULL) == -EINVAL);
	CHECK_LOGS("P1p1", "P1c1");
	CHECK(odfork_atfork(log_prepare, NULL, NULL, (void *)3) == 0);
	CHECK(errno == 4242);
	CHECK_LOGS("P3P1p1", "P3P1c1");
}

static void test_einval(void **state)
{
	(void)state;
	assert_child_ok(einval_child, NULL);
}

/* Hooks belong to odfork(): plain fork() does not run them. */
static void plain_fork_child(void *arg)
{
	pid_t pid;

	(void)arg;
	CHECK(add_logger(1) == 0);
	hook_log[0] = '\0';
	pid = fork();
	if (pid == 0)
		_exit(hook_log[0] ? 1 : 0);
	CHECK(pid > 0);
	CHECK(wait_status(pid) == 0);
	CHECK(hook_log[0] == '\0');
	CHECK_LOGS("P1p1", "P1c1");
}

static void test_plain_fork(void **state)
{
	(void)state;
	assert_child_ok(plain_fork_child, NULL);
}

/*
 * One thread registers hooks all the time while this one forks.  Each
 * odfork() runs one consistent snapshot: as many parent (child) hooks as
 * prepare hooks.  The children register too, which must not deadlock even
 * when the fork copied the registration lock held.
 */
#define NR_REGISTER	20000
#define NR_RACE_FORKS	100

static atomic_int stop_registering;
static int counts[3];

static void count_prepare(void *arg)
{
	(void)arg;
	counts[0]++;
}

static void count_parent(void *arg)
{
	(void)arg;
	counts[1]++;
}

static void count_child(void *arg)
{
	(void)arg;
	counts[2]++;
}

static int register_failed;

static void *registrar(void *arg)
{
	int i;

	for (i = 0; i < NR_REGISTER && !atomic_load(&stop_registering); i++)
		if (odfork_atfork(count_prepare, count_parent, count_child,
				  NULL))
			register_failed = 1;
	return arg;
}

static void race_child(int (*forker)(void))
{
	pthread_t tid;
	int i;

	CHECK(pthread_create(&tid, NULL, registrar, NULL) == 0);
	for (i = 0; i < NR_RACE_FORKS; i++)
		CHECK(forker() == 0);
	atomic_store(&stop_registering, 1);
	CHECK(pthread_join(tid, NULL) == 0);
	CHECK(!register_failed);
}

static int odfork_counted(void)
{
	int fds[2], got = -1;
	pid_t pid;

	counts[0] = counts[1] = counts[2] = 0;
	CHECK(pipe(fds) == 0);
	pid = odfork();
	if (pid == 0) {
		alarm(10);
		if (CHILD_MAY_MALLOC &&
		    odfork_atfork(NULL, NULL, count_child, NULL))
			child_exit(2);
		child_exit(write(fds[1], &counts[2], sizeof(int)) ==
			   sizeof(int) ? 0 : 3);
	}
	CHECK(pid > 0);
	CHECK(wait_status(pid) == 0);
	CHECK(read(fds[0], &got, sizeof(got)) == sizeof(got));
	CHECK(counts[0] == counts[1] && got == counts[0]);
	close(fds[0]);
	close(fds[1]);
	return 0;
}

static int fork_registers(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		alarm(10);
		child_exit(CHILD_MAY_MALLOC &&
			   odfork_atfork(NULL, NULL, count_child, NULL) ?
			   2 : 0);
	}
	CHECK(pid > 0);
	return wait_status(pid);
}

static void race_odfork_child(void *arg)
{
	(void)arg;
	race_child(odfork_counted);
}

static void race_fork_child(void *arg)
{
	(void)arg;
	race_child(fork_registers);
}

static void test_register_while_odfork(void **state)
{
	(void)state;
	assert_child_ok(race_odfork_child, NULL);
}

static void test_register_while_fork(void **state)
{
	(void)state;
	assert_child_ok(race_fork_child, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_nested_in_child),
		cmocka_unit_test(test_einval),
		cmocka_unit_test(test_plain_fork),
		cmocka_unit_test(test_register_while_odfork),
		cmocka_unit_test(test_register_while_fork),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
