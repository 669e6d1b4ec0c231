/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * test-probe.c - odfork_probe() against the running kernel
 *
 * The expected answer is computed here independently of the library.  Each
 * check that needs a first, uncached probe runs in a fresh process: this
 * program re-executes itself with a scenario name in argv[1].
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <cmocka.h>

#include "odfork.h"
#include "helpers.h"
#include "syscall.h"	/* __NR_odfork, from lib/ */

#define NR_THREADS	64
#define ALL_FEATURES	(ODFORK_FEAT_SYSCALL | ODFORK_FEAT_PRCTL | \
			 ODFORK_FEAT_PROCFS | ODFORK_FEAT_SYSCTL)

static const char *self;

/* Where the series wires odfork(2) up (lib/syscall.h). */
#ifdef __NR_odfork
#define SYSCALL_WIRED	ODFORK_FEAT_SYSCALL
#else
#define SYSCALL_WIRED	0
#endif

/* What the probe may look at: never the syscall itself. */
static unsigned int kernel_features(void)
{
	unsigned int feat = 0;

	if (prctl(PR_GET_ODFORK, 0UL, 0UL, 0UL, 0UL) >= 0)
		feat |= ODFORK_FEAT_PRCTL | SYSCALL_WIRED;
	if (!access("/proc/self/odfork", F_OK))
		feat |= ODFORK_FEAT_PROCFS;
	if (!access("/proc/sys/vm/odfork", F_OK))
		feat |= ODFORK_FEAT_SYSCTL;
	return feat;
}

static int forced(void)
{
	const char *val = getenv(ODFORK_ENV_FALLBACK);

	return val && *val && strcmp(val, "0");
}

static unsigned int expected_features(void)
{
	return forced() ? 0 : kernel_features();
}

/* Re-run this program as "self scenario" with the variable set to val
 * (unset when NULL); returns its exit status. */
static int reexec(const char *scenario, const char *val)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (val)
			setenv(ODFORK_ENV_FALLBACK, val, 1);
		else
			unsetenv(ODFORK_ENV_FALLBACK);
		execl(self, self, scenario, (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	return wait_status(pid);
}

/* Scenario "probe": exit with the first probe's answer. */
static int scenario_probe(void)
{
	int saved;
	unsigned int feat;

	errno = 4242;
	feat = odfork_probe();
	saved = errno;
	if (saved != 4242 || feat & ~ALL_FEATURES)
		return 100;
	if (odfork_available() != !!(feat & ODFORK_FEAT_PRCTL))
		return 101;
	return feat;
}

static pthread_barrier_t barrier;

static void *probe_thread(void *arg)
{
	unsigned int *res = arg;

	pthread_barrier_wait(&barrier);
	*res = odfork_probe();
	return NULL;
}

/* Scenario "threads": many threads make the first call at once. */
static int scenario_threads(void)
{
	pthread_t tid[NR_THREADS];
	unsigned int res[NR_THREADS];
	int i, ret = 0;

	pthread_barrier_init(&barrier, NULL, NR_THREADS);
	for (i = 0; i < NR_THREADS; i++)
		if (pthread_create(&tid[i], NULL, probe_thread, &res[i]))
			return 102;
	for (i = 0; i < NR_THREADS; i++) {
		pthread_join(tid[i], NULL);
		if (res[i] != expected_features())
			ret = 103;
	}
	return ret;
}

static void test_probe_matches_kernel(void **state)
{
	unsigned int feat = odfork_probe();

	(void)state;
	assert_int_equal(feat, expected_features());
	assert_int_equal(feat & ~ALL_FEATURES, 0);
	assert_int_equal(odfork_available(), !!(feat & ODFORK_FEAT_PRCTL));
	/* cached: the same answer again */
	assert_int_equal(odfork_probe(), feat);
}

static void test_probe_first_call(void **state)
{
	(void)state;
	assert_int_equal(reexec("probe", getenv(ODFORK_ENV_FALLBACK)),
			 expected_features());
}

static void test_probe_threads(void **state)
{
	(void)state;
	assert_int_equal(reexec("threads", getenv(ODFORK_ENV_FALLBACK)), 0);
}

/* Only an empty value or "0" leaves the fallback off. */
static void test_probe_env(void **state)
{
	unsigned int kernel = kernel_features();

	(void)state;
	assert_int_equal(reexec("probe", NULL), kernel);
	assert_int_equal(reexec("probe", ""), kernel);
	assert_int_equal(reexec("probe", "0"), kernel);
	assert_int_equal(reexec("probe", "1"), 0);
	assert_int_equal(reexec("probe", "yes"), 0);
	assert_int_equal(reexec("probe", "00"), 0);
}

/* The syscall as the series defines it: EINVAL for non-zero flags. */
static int kernel_syscall(void)
{
#if SYSCALL_WIRED
	return odfork_syscall_check() == 0;
#else
	return 0;
#endif
}

/*
 * odfork_probe_syscall() issues odfork(2) only where the series' prctl
 * answers; valgrind would warn about the unknown syscall, so the check
 * that calls it directly does not run there.
 */
static void test_probe_syscall(void **state)
{
	int expect = 0;

	(void)state;
	if (expected_features() & ODFORK_FEAT_PRCTL) {
		if (on_valgrind())
			skip();
		expect = kernel_syscall();
	}
	errno = 4242;
	assert_int_equal(odfork_probe_syscall(), expect);
	assert_int_equal(errno, 4242);
	assert_int_equal(odfork_probe_syscall(), expect);
}

/* The reason computed from the probe's answer and vm.odfork. */
static int expected_reason(void)
{
	FILE *f;
	int val = 1;

	if (forced())
		return ODFORK_REASON_FORCED;
	if (!(kernel_features() & ODFORK_FEAT_PRCTL))
		return ODFORK_REASON_KERNEL;
	f = fopen("/proc/sys/vm/odfork", "r");
	if (f) {
		if (fscanf(f, "%d", &val) != 1)
			val = -1;
		fclose(f);
	}
	return val ? ODFORK_REASON_NONE : ODFORK_REASON_SYSCTL;
}

static void test_fallback_reason(void **state)
{
	int expect = expected_reason();
	int ret;

	(void)state;
	errno = 4242;
	ret = odfork_fallback_reason();
	assert_int_equal(errno, 4242);
	assert_int_equal(ret, expect);
	assert_int_equal(odfork_available(),
			 expect != ODFORK_REASON_FORCED &&
			 expect != ODFORK_REASON_KERNEL);
}

/* odfork_forks from /proc/vmstat, or -1 when there is none. */
static long vmstat_forks(void)
{
	char name[64];
	long val, ret = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	assert_non_null(f);
	while (fscanf(f, "%63s %ld", name, &val) == 2)
		if (!strcmp(name, "odfork_forks"))
			ret = val;
	fclose(f);
	return ret;
}

/* System-wide counters as /proc/vmstat shows them, read independently. */
static void test_counters(void **state)
{
	struct odfork_counters c;
	long before, after;
	int ret;

	(void)state;
	before = vmstat_forks();
	errno = 4242;
	ret = odfork_read_counters(0, &c, sizeof(c));
	assert_int_equal(errno, 4242);
	after = vmstat_forks();
	if (!(expected_features() & ODFORK_FEAT_PRCTL) || before < 0) {
		assert_int_equal(ret, -ENOSYS);
		return;
	}
	assert_true(ret > 0 && ret & ODFORK_COUNTER_FORKS);
	assert_true(c.forks >= (unsigned long)before);
	assert_true(c.forks <= (unsigned long)after);
	/* Per process: the series provides the file since its patch 0022. */
	ret = odfork_read_counters(getpid(), &c, sizeof(c));
	if (access("/proc/self/odfork_stat", F_OK))
		assert_int_equal(ret, -EOPNOTSUPP);
	else
		assert_true(ret > 0 && ret & ODFORK_COUNTER_TABLES_HELD);
}

static void test_probe_errno(void **state)
{
	(void)state;
	errno = 4242;
	odfork_probe();
	assert_int_equal(errno, 4242);
	odfork_available();
	assert_int_equal(errno, 4242);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_matches_kernel),
		cmocka_unit_test(test_probe_first_call),
		cmocka_unit_test(test_probe_threads),
		cmocka_unit_test(test_probe_env),
		cmocka_unit_test(test_probe_errno),
		cmocka_unit_test(test_probe_syscall),
		cmocka_unit_test(test_fallback_reason),
		cmocka_unit_test(test_counters),
	};

	self = argv[0];
	if (argc > 1 && !strcmp(argv[1], "probe"))
		return scenario_probe();
	if (argc > 1 && !strcmp(argv[1], "threads"))
		return scenario_threads();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
