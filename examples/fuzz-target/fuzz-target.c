/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * fuzz-target - an AFL++ target with a large initialized state
 *
 *   fuzz-target [--state-mib N] [FILE]
 *   fuzz-target [--state-mib N] --replay FILE...
 *
 * Builds a sorted index of N MiB (default 256) at startup, as a real target
 * loads a database or a model, then parses one input (FILE, or standard
 * input) against it: lines "at I", "has KEY" and "range LO HI"; anything
 * else is skipped.  A line starting with "ODF!" reaches a planted bug and
 * the target aborts: that is what a fuzzer should find.
 *
 * Built with afl-clang-fast, __AFL_INIT() after the build starts AFL++'s
 * deferred forkserver there, so that every input runs in a fork() of the
 * built state; README.md shows how to run it under odfork-run, where those
 * forks share page tables.  --replay does the same without AFL++: one
 * fork() per FILE, each reported, and exit status 3 if one crashed.
 *
 * Exit status otherwise: 0 for a parsed input, 1 on error, 2 on usage.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common.h"

#define MAX_INPUT	(64 * 1024)	/* bytes of input parsed */

struct result {
	uint64_t lines, hits, sum;
};

static uint64_t *keys;		/* strictly increasing */
static uint64_t nr_keys;

/* The expensive initialization: every page of the state is written. */
static int state_build(long mib)
{
	uint64_t i;

	nr_keys = ((uint64_t)mib << 20) / sizeof(*keys);
	keys = malloc(nr_keys * sizeof(*keys));
	if (!keys)
		return -1;
	for (i = 0; i < nr_keys; i++)
		keys[i] = i * 64 + (mix64(i) & 63);
	return 0;
}

/* Index of the first key >= k. */
static uint64_t lower_bound(uint64_t k)
{
	uint64_t lo = 0, hi = nr_keys, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (keys[mid] < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int has(uint64_t k)
{
	uint64_t i = lower_bound(k);

	return i < nr_keys && keys[i] == k;
}

/* The planted bug, one byte per branch so that coverage leads to it. */
static void check_magic(const char *s)
{
	if (s[0] == 'O')
		if (s[1] == 'D')
			if (s[2] == 'F')
				if (s[3] == '!')
					abort();
}

static void parse_line(const char *line, struct result *res)
{
	uint64_t a, b;

	check_magic(line);
	res->lines++;
	if (sscanf(line, "at %" SCNu64, &a) == 1) {
		res->sum += keys[a % nr_keys];
	} else if (sscanf(line, "has %" SCNu64, &a) == 1) {
		res->hits += has(a);
	} else if (sscanf(line, "range %" SCNu64 " %" SCNu64, &a, &b) == 2 &&
		   a <= b) {
		res->hits += lower_bound(b) + has(b) - lower_bound(a);
	}
}

/* Parse one input, FILE or standard input (path NULL): 0 or 1. */
static int run_input(const char *path)
{
	static char buf[MAX_INPUT + 1];
	int fd = path ? open(path, O_RDONLY) : 0;
	struct result res = { 0, 0, 0 };
	char *p, *nl, *end = buf;
	ssize_t n = 1;

	while (fd >= 0 && n > 0 && end < buf + MAX_INPUT) {
		n = read(fd, end, buf + MAX_INPUT - end);
		end += n > 0 ? n : 0;
	}
	if (fd < 0 || n < 0) {
		perror(path ? path : "standard input");
		return 1;
	}
	if (path)
		close(fd);
	for (p = buf; p < end; p = nl + 1) {
		nl = memchr(p, '\n', end - p);
		nl = nl ? nl : end;
		*nl = '\0';
		parse_line(p, &res);
	}
	printf("fuzz-target: %" PRIu64 " lines, %" PRIu64 " hits, sum %"
	       PRIx64 "\n", res.lines, res.hits, res.sum);
	return 0;
}

static void print_mode(int nr_files)
{
	FILE *f = fopen("/proc/self/odfork", "r");
	int mode = -1;

	if (f && fscanf(f, "%d", &mode) != 1)
		mode = -1;
	if (f)
		fclose(f);
	printf("fuzz-target: %d inputs, one fork() each; ", nr_files);
	if (mode < 0)
		printf("no on-demand fork in this kernel\n");
	else
		printf("odfork mode %d%s\n", mode,
		       mode & 2 ? " (process: forks share page tables)" : "");
}

/* What AFL++'s forkserver does, without AFL++: 0, or 3 on a crash. */
static int replay(char **files, int nr_files)
{
	int i, status, crashed = 0;
	double start, us;
	pid_t pid;

	print_mode(nr_files);
	for (i = 0; i < nr_files; i++) {
		fflush(stdout);
		start = now_us();
		pid = fork();
		if (pid == 0) {
			status = run_input(files[i]);
			fflush(stdout);
			_exit(status);
		}
		us = now_us() - start;
		if (pid < 0 || waitpid(pid, &status, 0) != pid) {
			perror("fuzz-target: fork/waitpid");
			return 1;
		}
		crashed += WIFSIGNALED(status);
		printf("fuzz-target: %s: %s %d, fork took %.1f us\n",
		       files[i], WIFSIGNALED(status) ? "CRASH, signal" :
		       "exit status", WIFSIGNALED(status) ?
		       WTERMSIG(status) : WEXITSTATUS(status), us);
	}
	return crashed ? 3 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-mib", required_argument, NULL, 'm' },
		{ "replay", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	int c, do_replay = 0, nr_args;
	long mib = 256;
	double start;

	while ((c = getopt_long(argc, argv, "m:r", opts, NULL)) != -1) {
		if (c == 'm')
			mib = atol(optarg);
		else if (c == 'r')
			do_replay = 1;
		else
			mib = 0;
	}
	nr_args = argc - optind;
	if (mib < 1 || mib > (1L << 20) ||
	    (do_replay ? nr_args < 1 : nr_args > 1)) {
		fprintf(stderr, "usage: fuzz-target [--state-mib N] [FILE]\n"
			"       fuzz-target [--state-mib N] --replay FILE...\n");
		return 2;
	}
	start = now_us();
	if (state_build(mib)) {
		fprintf(stderr, "fuzz-target: no memory for %ld MiB\n", mib);
		return 1;
	}
	fprintf(stderr, "fuzz-target: %ld MiB state built in %.1f ms\n",
		mib, (now_us() - start) / 1e3);
#ifdef __AFL_HAVE_MANUAL_CONTROL
	__AFL_INIT();	/* the forkserver forks from here on */
#endif
	if (do_replay)
		return replay(argv + optind, nr_args);
	return run_input(nr_args ? argv[optind] : NULL);
}
