/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * test-harness - run every test case from the same expensive state
 *
 *   test-harness [--mib N] [--runs R] [--break]
 *
 * Builds a hash index of N MiB (default 128) once, the expensive part, as
 * loading a database would be, then runs each test case R times (default
 * 5), every run in its own odfork() child of that state.  A test may change
 * the state freely: the next one starts from the pristine state again.  The
 * "pristine" case, run after "wipe" has zeroed the whole index, checks
 * exactly that.  Prints, per test, the min and median time odfork() took
 * and whether it passed.  --break adds a case that fails, to show one.
 *
 * Exit status: 0 when every test passed, 1 when one failed, 2 on usage.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <odfork.h>

#include "../common.h"

#define MAX_RUNS	101
#define SAMPLE		4096	/* keys a test looks up */

struct ent {
	uint64_t key;		/* 0: empty */
	uint64_t val;
};

struct test {
	const char *name;
	int (*fn)(void);	/* 0 when it passed */
};

static struct ent *idx;		/* open addressing, linear probing */
static uint64_t mask;		/* number of slots - 1 */
static uint64_t nr_ents;	/* keys key_of(0 .. nr_ents - 1) */
static uint64_t pristine_sum;	/* idx_sum() right after the build */

/* Distinct, non-zero keys: mix64() is a bijection, mix64(0) == 0. */
static uint64_t key_of(uint64_t i)
{
	return mix64(i + 1);
}

static struct ent *idx_slot(uint64_t key)
{
	uint64_t i = key & mask;

	while (idx[i].key && idx[i].key != key)
		i = (i + 1) & mask;
	return &idx[i];
}

static struct ent *idx_find(uint64_t key)
{
	struct ent *e = idx_slot(key);

	return e->key ? e : NULL;
}

static uint64_t idx_sum(void)
{
	uint64_t i, sum = 0;

	for (i = 0; i <= mask; i++)
		sum = sum * 31 + (idx[i].key ^ idx[i].val);
	return sum;
}

/* The expensive initialization: half the slots, in random order. */
static int idx_build(uint64_t mib)
{
	struct ent *e;
	uint64_t i;

	mask = (mib << 20) / sizeof(*idx) - 1;
	idx = calloc(mask + 1, sizeof(*idx));
	if (!idx)
		return -1;
	nr_ents = (mask + 1) / 2;
	for (i = 0; i < nr_ents; i++) {
		e = idx_slot(key_of(i));
		e->key = key_of(i);
		e->val = i;
	}
	pristine_sum = idx_sum();
	return 0;
}

/* 0 when the sampled keys map to their index plus delta. */
static int check_sample(uint64_t delta)
{
	struct ent *e;
	uint64_t i, j;

	for (i = 0; i < SAMPLE; i++) {
		j = mix64(i) % nr_ents;
		e = idx_find(key_of(j));
		if (!e || e->val != j + delta) {
			fprintf(stderr, "  key %llu: wrong or missing\n",
				(unsigned long long)j);
			return 1;
		}
	}
	return 0;
}

static int t_lookup(void)
{
	return check_sample(0);
}

static int t_absent(void)
{
	uint64_t i;

	for (i = nr_ents; i < nr_ents + SAMPLE; i++)
		if (idx_find(key_of(i)))
			return 1;
	return 0;
}

/* Changes every value, then checks the change. */
static int t_update(void)
{
	uint64_t i;

	for (i = 0; i <= mask; i++)
		idx[i].val += !!idx[i].key;
	return check_sample(1);
}

/* Writes every byte of the index: nothing is left to find. */
static int t_wipe(void)
{
	memset(idx, 0, (mask + 1) * sizeof(*idx));
	return idx_find(key_of(0)) || idx_sum() == pristine_sum;
}

/* Runs after t_update and t_wipe: their changes must not show here. */
static int t_pristine(void)
{
	if (idx_sum() != pristine_sum) {
		fprintf(stderr, "  the index is not the pristine one\n");
		return 1;
	}
	return check_sample(0);
}

/* --break: expects a key that is there to be absent. */
static int t_broken(void)
{
	if (idx_find(key_of(0))) {
		fprintf(stderr, "  key 0 found (this test is meant to fail)\n");
		return 1;
	}
	return 0;
}

static const struct test tests[] = {
	{ "lookup", t_lookup },
	{ "absent", t_absent },
	{ "update", t_update },
	{ "wipe", t_wipe },
	{ "pristine", t_pristine },
	{ "broken", t_broken },		/* last: only with --break */
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* One run of a test in an odfork() child: 0 when it passed. */
static int run_once(const struct test *t, double *fork_us)
{
	double start = now_us();
	pid_t pid = odfork();
	int status;

	if (pid == 0)
		_exit(t->fn() ? 1 : 0);
	*fork_us = now_us() - start;
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		perror("test-harness: odfork/waitpid");
		return 1;
	}
	if (WIFSIGNALED(status))
		fprintf(stderr, "  %s: killed by signal %d\n", t->name,
			WTERMSIG(status));
	return !WIFEXITED(status) || WEXITSTATUS(status);
}

static int run_test(const struct test *t, int runs)
{
	double us[MAX_RUNS];
	int i, failed = 0;

	for (i = 0; i < runs; i++)
		failed |= run_once(t, &us[i]);
	qsort(us, runs, sizeof(us[0]), cmp_double);
	printf("%-10s fork min %9.1f us  median %9.1f us  %s\n", t->name,
	       us[0], us[runs / 2], failed ? "FAIL" : "pass");
	return failed;
}

static int parse_args(int argc, char **argv, long *mib, int *runs,
		      int *brk)
{
	static const struct option opts[] = {
		{ "mib", required_argument, NULL, 'm' },
		{ "runs", required_argument, NULL, 'r' },
		{ "break", no_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "m:r:b", opts, NULL)) != -1) {
		if (c == 'm')
			*mib = atol(optarg);
		else if (c == 'r')
			*runs = atoi(optarg);
		else if (c == 'b')
			*brk = 1;
		else
			return -1;
	}
	if (optind != argc || *mib < 1 || *mib > (1L << 20))
		return -1;
	return *runs < 1 || *runs > MAX_RUNS ? -1 : 0;
}

int main(int argc, char **argv)
{
	size_t i, nr_tests = sizeof(tests) / sizeof(tests[0]);
	int runs = 5, brk = 0, failed = 0;
	long mib = 128;
	double start;

	if (parse_args(argc, argv, &mib, &runs, &brk)) {
		fprintf(stderr, "usage: test-harness [--mib N] [--runs R "
			"(1..%d)] [--break]\n", MAX_RUNS);
		return 2;
	}
	start = now_us();
	if (idx_build(mib)) {
		fprintf(stderr, "test-harness: no memory for %ld MiB\n", mib);
		return 1;
	}
	printf("test-harness: %ld MiB index built once in %.1f ms; "
	       "libodfork %s, on-demand fork: %s\n", mib,
	       (now_us() - start) / 1e3, odfork_version(),
	       odfork_available() ? "yes" : "no (odfork() is fork())");
	for (i = 0; i < nr_tests - !brk; i++)
		failed += run_test(&tests[i], runs);
	printf("test-harness: %d of %zu tests failed\n", failed,
	       nr_tests - !brk);
	if (idx_sum() != pristine_sum) {
		fprintf(stderr, "test-harness: a test changed our state\n");
		return 1;
	}
	return failed ? 1 : 0;
}
