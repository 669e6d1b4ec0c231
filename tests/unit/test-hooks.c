/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * test-hooks.c - odfork_atfork() and odfork_atfork_remove(): order,
 * nesting, errors, removal, threads
 *
 * Every scenario runs in its own child process, with no hooks from the
 * others, and reports with CHECK() and its exit status.
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

CHILD_TEST(test_order, order_child)

/* A hook that registers a logger: ARG is its id. */
static void register_logger(void *arg)
{
	CHECK(add_logger((intptr_t)arg) == 0);
}

/* A hook registering a hook: no deadlock, effective from the next odfork(). */
static void nested_child(void *arg)
{
	(void)arg;
	CHECK(add_logger(1) == 0);
	CHECK(odfork_atfork(register_logger, NULL, NULL, (void *)6) == 0);
	CHECK_LOGS("P1p1", "P1c1");
	/* the prepare hook now registers a 6 at every odfork() */
	CHECK_LOGS("P6P1p1p6", "P6P1c1c6");
	CHECK_LOGS("P6P6P1p1p6p6", "P6P6P1c1c6c6");
}

CHILD_TEST(test_nested, nested_child)

/* Same from a child hook: the child's next odfork() runs the new hook. */
static void nested_in_child_child(void *arg)
{
	char clog[64];
	pid_t pid;

	(void)arg;
	CHECK(add_logger(1) == 0);
	CHECK(odfork_atfork(NULL, register_logger, register_logger,
			    (void *)7) == 0);
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

CHILD_TEST(test_nested_in_child, nested_in_child_child)

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

CHILD_TEST(test_einval, einval_child)

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

CHILD_TEST(test_plain_fork, plain_fork_child)

/*
 * One thread registers hooks all the time while this one forks.  Each
 * odfork() runs one consistent snapshot: as many parent (child) hooks as
 * prepare hooks.  The children register too, which must not deadlock even
 * when the fork copied the registration lock held.
 */
#define NR_REGISTER	20000
#define NR_RACE_FORKS	100

static atomic_int stop_registering;
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

	hook_calls[0] = hook_calls[1] = hook_calls[2] = 0;
	CHECK(pipe(fds) == 0);
	pid = odfork();
	if (pid == 0) {
		alarm(10);
		if (CHILD_MAY_MALLOC &&
		    odfork_atfork(NULL, NULL, count_child, NULL))
			child_exit(2);
		child_exit(write(fds[1], &hook_calls[2], sizeof(int)) ==
			   sizeof(int) ? 0 : 3);
	}
	CHECK(pid > 0);
	CHECK(wait_status(pid) == 0);
	CHECK(read(fds[0], &got, sizeof(got)) == sizeof(got));
	CHECK(hook_calls[0] == hook_calls[1] && got == hook_calls[0]);
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

CHILD_TEST(test_register_while_odfork, race_odfork_child)

CHILD_TEST(test_register_while_fork, race_fork_child)

/* Removal: the newest matching registration, arguments included. */
static void remove_child(void *arg)
{
	(void)arg;
	CHECK(add_logger(1) == 0);
	CHECK(add_logger(2) == 0);
	CHECK(add_logger(1) == 0);
	CHECK(odfork_atfork(NULL, log_parent, NULL, (void *)3) == 0);
	CHECK_LOGS("P1P2P1p1p2p1p3", "P1P2P1c1c2c1");
	errno = 4242;
	CHECK(odfork_atfork_remove(log_prepare, log_parent, log_child,
				   (void *)1) == 0);
	CHECK(errno == 4242);
	CHECK_LOGS("P2P1p1p2p3", "P2P1c1c2");
	CHECK(odfork_atfork_remove(NULL, log_parent, NULL, (void *)3) == 0);
	CHECK(odfork_atfork_remove(NULL, log_parent, NULL, (void *)3) ==
	      -ENOENT);
	/* a different argument or function is another registration */
	CHECK(odfork_atfork_remove(log_prepare, log_parent, log_child,
				   (void *)7) == -ENOENT);
	CHECK(odfork_atfork_remove(log_prepare, log_parent, NULL,
				   (void *)2) == -ENOENT);
	CHECK(odfork_atfork_remove(NULL, NULL, NULL, NULL) == -EINVAL);
	CHECK(errno == 4242);
	CHECK_LOGS("P2P1p1p2", "P2P1c1c2");
	/* registrations after removals keep their order */
	CHECK(add_logger(4) == 0);
	CHECK(odfork_atfork_remove(log_prepare, log_parent, log_child,
				   (void *)1) == 0);
	CHECK_LOGS("P4P2p2p4", "P4P2c2c4");
	CHECK(odfork_atfork_remove(log_prepare, log_parent, log_child,
				   (void *)2) == 0);
	CHECK(odfork_atfork_remove(log_prepare, log_parent, log_child,
				   (void *)4) == 0);
	CHECK_LOGS("", "");
}

CHILD_TEST(test_remove, remove_child)

/*
 * A prepare hook that removes itself: this odfork() still runs its parent
 * and child hooks (it started with them), the next one none of them.
 */
static void remove_self(void *arg)
{
	log_call('P', arg);
	if (odfork_atfork_remove(remove_self, log_parent, log_child, arg))
		log_call('E', arg);
}

static void remove_self_child(void *arg)
{
	(void)arg;
	CHECK(odfork_atfork(remove_self, log_parent, log_child,
			    (void *)1) == 0);
	CHECK(add_logger(2) == 0);
	CHECK_LOGS("P2P1p1p2", "P2P1c1c2");
	CHECK_LOGS("P2p2", "P2c2");
}

CHILD_TEST(test_remove_from_hook, remove_self_child)

/*
 * A removal waits for an odfork() of another thread that runs the hook:
 * when it returns, the hook is done.
 */
static int in_prepare[2], go_on[2];
static atomic_int parent_ran, removed;

static void blocking_prepare(void *arg)
{
	char c = 'p';

	(void)arg;
	(void)!write(in_prepare[1], &c, 1);
	(void)!read(go_on[0], &c, 1);
}

static void note_parent(void *arg)
{
	(void)arg;
	usleep(50000);		/* a removal that does not wait wins */
	atomic_store(&parent_ran, 1);
}

static void *odfork_thread(void *arg)
{
	pid_t pid = odfork();

	if (pid == 0)
		_exit(0);
	return (void *)(intptr_t)(pid > 0 && wait_status(pid) == 0 ?
				  0 : 1) + (intptr_t)arg;
}

static void *remove_thread(void *arg)
{
	int ret = odfork_atfork_remove(blocking_prepare, note_parent, NULL,
				       NULL);

	atomic_store(&removed, 1);
	CHECK(atomic_load(&parent_ran));	/* the hook was done */
	return (void *)(intptr_t)ret + (intptr_t)arg;
}

/*
 * Register blocking_prepare() and start a thread that odforks: returns
 * that thread once it is in the hook, where it waits for a byte on go_on.
 */
static pthread_t fork_in_hook(void)
{
	pthread_t forker;
	char c;

	CHECK(pipe(in_prepare) == 0 && pipe(go_on) == 0);
	CHECK(odfork_atfork(blocking_prepare, note_parent, NULL, NULL) == 0);
	CHECK(pthread_create(&forker, NULL, odfork_thread, NULL) == 0);
	CHECK(read(in_prepare[0], &c, 1) == 1);
	return forker;
}

static void remove_waits_child(void *arg)
{
	pthread_t forker = fork_in_hook(), remover;
	void *ret;
	char c = 'g';

	(void)arg;
	CHECK(pthread_create(&remover, NULL, remove_thread, NULL) == 0);
	usleep(100000);
	CHECK(!atomic_load(&removed));	/* waits for the odfork() */
	CHECK(write(go_on[1], &c, 1) == 1);
	CHECK(pthread_join(remover, &ret) == 0 && ret == NULL);
	CHECK(pthread_join(forker, &ret) == 0 && ret == NULL);
	/* gone: the next odfork() does not block in it */
	alarm(10);
	CHECK(odfork_thread(NULL) == NULL);
}

CHILD_TEST(test_remove_waits, remove_waits_child)

/*
 * A child forked while another thread runs a hook: that thread is not in
 * the child, so the child's removal of the hook does not wait for it.
 */
static void remove_in_child_child(void *arg)
{
	pthread_t forker = fork_in_hook();
	void *ret;
	pid_t pid;
	char c = 'g';

	(void)arg;
	pid = fork();
	if (pid == 0) {
		alarm(10);	/* a wait for the missing thread: SIGALRM */
		child_exit(odfork_atfork_remove(blocking_prepare, note_parent,
						NULL, NULL) ? 2 : 0);
	}
	CHECK(pid > 0 && wait_status(pid) == 0);
	CHECK(write(go_on[1], &c, 1) == 1);
	CHECK(pthread_join(forker, &ret) == 0 && ret == NULL);
}

CHILD_TEST(test_remove_in_child, remove_in_child_child)

/*
 * As a plugin that is loaded and unloaded again and again while another
 * thread forks: once the removal returns, the hook never runs.
 */
#define NR_PLUGIN_LOADS	300

static atomic_int plugin_loaded, late_calls;

static void plugin_hook(void *arg)
{
	(void)arg;
	if (!atomic_load(&plugin_loaded))
		atomic_fetch_add(&late_calls, 1);
}

static atomic_int stop_forking;

static void *fork_loop(void *arg)
{
	pid_t pid;

	while (!atomic_load(&stop_forking)) {
		pid = odfork();
		if (pid == 0)
			_exit(0);
		if (pid < 0 || wait_status(pid) != 0)
			return (void *)1;
	}
	return arg;
}

static void plugin_child(void *arg)
{
	pthread_t tid;
	void *ret;
	int i;

	(void)arg;
	CHECK(pthread_create(&tid, NULL, fork_loop, NULL) == 0);
	for (i = 0; i < NR_PLUGIN_LOADS; i++) {
		atomic_store(&plugin_loaded, 1);
		CHECK(odfork_atfork(plugin_hook, plugin_hook, NULL,
				    NULL) == 0);
		usleep(500);
		CHECK(odfork_atfork_remove(plugin_hook, plugin_hook, NULL,
					   NULL) == 0);
		atomic_store(&plugin_loaded, 0);
	}
	atomic_store(&stop_forking, 1);
	CHECK(pthread_join(tid, &ret) == 0 && ret == NULL);
	CHECK(atomic_load(&late_calls) == 0);
}

CHILD_TEST(test_remove_unload, plugin_child)

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
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_remove_from_hook),
		cmocka_unit_test(test_remove_waits),
		cmocka_unit_test(test_remove_in_child),
		cmocka_unit_test(test_remove_unload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
