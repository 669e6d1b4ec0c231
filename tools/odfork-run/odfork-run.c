/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * odfork-run - run a program with on-demand fork, or inspect the odfork
 * mode of a process and the kernel's support
 *
 *   odfork-run [OPTIONS] [--] PROGRAM [ARGS...]
 *   odfork-run --pid PID [--mode MODE]
 *   odfork-run --status [--require]
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <odfork.h>

#include "odfork-run.h"

enum action {
	ACT_RUN,
	ACT_PID,
	ACT_STATUS,
	ACT_HELP,
	ACT_VERSION,
};

struct opts {
	enum action action;
	int require;		/* -r, --require */
	int quiet;		/* -q, --quiet */
	int set;		/* -m, --mode, --set given */
	unsigned int mode;	/* its value */
	pid_t pid;		/* -p, --pid; 0 when not given */
	int status;		/* -s, --status */
};

static const struct option long_opts[] = {
	{ "require",	no_argument,	   NULL, 'r' },
	{ "quiet",	no_argument,	   NULL, 'q' },
	{ "pid",	required_argument, NULL, 'p' },
	{ "mode",	required_argument, NULL, 'm' },
	{ "set",	required_argument, NULL, 'm' },
	{ "status",	no_argument,	   NULL, 's' },
	{ "help",	no_argument,	   NULL, 'h' },
	{ "version",	no_argument,	   NULL, 'V' },
	{ NULL,		0,		   NULL, 0 },
};

/* '+': stop at PROGRAM, whose own options are not ours. */
static const char short_opts[] = "+rqp:m:shV";

static void print_synopsis(FILE *f)
{
	fputs("Usage: " PROG " [OPTIONS] [--] PROGRAM [ARGS...]\n"
	      "       " PROG " --pid PID [--mode MODE]\n"
	      "       " PROG " --status [--require]\n", f);
}

static void print_help(void)
{
	print_synopsis(stdout);
	fputs("\n"
	      "Run PROGRAM so that its forks, and those of its descendants,\n"
	      "share page tables on demand instead of copying them.\n"
	      "\n"
	      "  -r, --require     fail (exit status 125) instead of running\n"
	      "                    PROGRAM without on-demand fork; with\n"
	      "                    --status, when forks cannot share\n"
	      "  -q, --quiet       do not warn when running without it\n"
	      "  -p, --pid PID     print the mode of process PID\n"
	      "  -m, --mode MODE   with --pid: set the mode first; MODE is\n"
	      "      --set MODE    off, next, process, process+inherit\n"
	      "                    (or inherit), or a number\n"
	      "  -s, --status      print whether forks can share page tables\n"
	      "                    (or why not) on one line, then kernel\n"
	      "                    support, vm.odfork, our mode and the\n"
	      "                    odfork counters\n"
	      "  -h, --help        print this help\n"
	      "  -V, --version     print the library version\n"
	      "\n"
	      "\n"
	      "Exit status: PROGRAM's, or 125 when odfork-run fails, 126 when\n"
	      "PROGRAM cannot run, 127 when it is not found.\n"
	      "See odfork-run(1).\n", stdout);
}

static int usage_error(const char *msg, const char *arg)
{
	if (msg)
		fprintf(stderr, PROG ": %s%s%s\n", msg, arg ? ": " : "",
			arg ? arg : "");
	print_synopsis(stderr);
	fputs("Try '" PROG " --help' for more information.\n", stderr);
	return EXIT_USAGE;
}

static int parse_pid(const char *s, pid_t *pid)
{
	char *end;
	long val;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	val = strtol(s, &end, 10);
	if (errno || *end || val <= 0 || val > INT_MAX)
		return -1;
	*pid = val;
	return 0;
}

/* One option; 0, or an exit status for a bad one. */
static int parse_opt(int c, struct opts *o)
{
	switch (c) {
	case 'r':
		o->require = 1;
		return 0;
	case 'q':
		o->quiet = 1;
		return 0;
	case 'p':
		if (parse_pid(optarg, &o->pid))
			return usage_error("invalid pid", optarg);
		return 0;
	case 'm':
		o->set = 1;
		if (parse_mode(optarg, &o->mode))
			return usage_error("unknown mode", optarg);
		return 0;
	case 's':
		o->status = 1;
		return 0;
	}
	return usage_error(NULL, NULL);	/* getopt explained */
}

/* Which action the options and operands ask for; 0 or EXIT_USAGE. */
static int pick_action(struct opts *o, int have_program)
{
	if (o->pid && o->status)
		return usage_error("--pid and --status exclude each other",
				   NULL);
	if ((o->pid || o->status) && have_program)
		return usage_error("--pid and --status take no PROGRAM", NULL);
	if (o->pid && o->require)
		return usage_error("--require needs a PROGRAM or --status",
				   NULL);
	if (o->set && !o->pid)
		return usage_error("--mode needs --pid", NULL);
	if (!o->pid && !o->status && !have_program)
		return usage_error("missing PROGRAM", NULL);
	o->action = o->pid ? ACT_PID : o->status ? ACT_STATUS : ACT_RUN;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int c, ret;

	argv[0] = PROG;		/* getopt's own messages name us so */
	while ((c = getopt_long(argc, argv, short_opts, long_opts,
				NULL)) != -1) {
		if (c == 'h' || c == 'V') {
			o->action = c == 'h' ? ACT_HELP : ACT_VERSION;
			return 0;
		}
		ret = parse_opt(c, o);
		if (ret)
			return ret;
	}
	return pick_action(o, optind < argc);
}

/* Without on-demand fork: fail under --require, else warn and go on. */
static int no_support(const struct opts *o, const char *prog, const char *why)
{
	if (o->require) {
		fprintf(stderr, PROG ": %s; not running %s (--require)\n",
			why, prog);
		return EXIT_FAIL;
	}
	if (!o->quiet)
		fprintf(stderr,
			PROG ": warning: %s; running %s with plain fork()\n",
			why, prog);
	return 0;
}

/*
 * Set the mode PROGRAM will run with; 0 or -errno.  The kernel keeps a mode
 * across execve() only together with ODFORK_MODE_INHERIT.
 */
static int arm(void)
{
	return odfork_set_mode(ODFORK_MODE_PROCESS | ODFORK_MODE_INHERIT);
}

/* Everything before the exec; 0 or an exit status. */
static int prepare(const struct opts *o, const char *prog)
{
	int reason = odfork_fallback_reason();
	char why[128];
	int ret;

	if (reason == ODFORK_REASON_FORCED || reason == ODFORK_REASON_KERNEL)
		return no_support(o, prog, reason_text(reason));
	if (reason == ODFORK_REASON_SYSCTL) {
		ret = no_support(o, prog, reason_text(reason));
		if (ret)
			return ret;
	}
	ret = arm();
	if (ret == 0)
		return 0;
	snprintf(why, sizeof(why), "cannot set the on-demand fork mode (%s)",
		 strerror(-ret));
	return no_support(o, prog, why);
}

/* Like env(1): 127 when PROGRAM is not found, 126 when it cannot run. */
static int run_program(const struct opts *o, char **argv)
{
	int ret, err;

	ret = prepare(o, argv[0]);
	if (ret)
		return ret;
	execvp(argv[0], argv);
	err = errno;
	fprintf(stderr, PROG ": %s: %s\n", argv[0], strerror(err));
	return err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
}

int main(int argc, char **argv)
{
	struct opts o = { .action = ACT_RUN };
	int ret;

	ret = parse_args(argc, argv, &o);
	if (ret)
		return ret;
	switch (o.action) {
	case ACT_HELP:
		print_help();
		return 0;
	case ACT_VERSION:
		printf(PROG " (odfork) %s\n", odfork_version());
		return 0;
	case ACT_PID:
		return pid_main(o.pid, o.set, o.mode);
	case ACT_STATUS:
		return status_main(o.require);
	case ACT_RUN:
		break;
	}
	return run_program(&o, argv + optind);
}
