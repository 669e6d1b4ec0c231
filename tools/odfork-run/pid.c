/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * pid.c - odfork-run --pid: show or change the mode of a running process
 *
 * Reading /proc/<pid>/odfork needs ptrace-read permission over the process,
 * writing it ptrace-attach permission.  When the kernel says no, name what
 * is missing: CAP_SYS_PTRACE, a matching uid, or a Yama restriction.
 *
 * The process is pinned with a pidfd first, where the kernel has them
 * (5.3): the mode is then set and read through it, so both act on the
 * same process even if it exits and its pid is reused in between.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef HAVE_LIBCAP
#include <sys/capability.h>
#endif

#include <odfork.h>

#include "odfork-run.h"

#define YAMA_SCOPE	"/proc/sys/kernel/yama/ptrace_scope"

static int proc_exists(pid_t pid)
{
	char path[32];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return stat(path, &st) == 0;
}

#ifdef HAVE_LIBCAP
/* 1 if our effective set holds CAP_SYS_PTRACE, 0 if not, -1 if unknown. */
static int have_cap_sys_ptrace(void)
{
	cap_flag_value_t val = CAP_CLEAR;
	cap_t caps;
	int ret;

	caps = cap_get_proc();
	if (!caps)
		return -1;
	ret = cap_get_flag(caps, CAP_SYS_PTRACE, CAP_EFFECTIVE, &val);
	cap_free(caps);
	if (ret < 0)
		return -1;
	return val == CAP_SET;
}
#else
/* CAP_SYS_PTRACE from linux/capability.h (stable ABI since Linux 2.2). */
#define CAP_SYS_PTRACE_BIT	19

/*
 * Without libcap: the effective set as CapEff in /proc/self/status shows
 * it.  1 if it holds CAP_SYS_PTRACE, 0 if not, -1 (errno set) if unknown.
 */
static int have_cap_sys_ptrace(void)
{
	unsigned long long eff;
	char line[256];
	int found = 0;
	FILE *f;

	f = fopen("/proc/self/status", "re");
	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "CapEff: %llx", &eff) == 1;
	fclose(f);
	if (!found) {
		errno = ENODATA;
		return -1;
	}
	return !!(eff >> CAP_SYS_PTRACE_BIT & 1);
}
#endif

static void explain_cap(pid_t pid)
{
	switch (have_cap_sys_ptrace()) {
	case 0:
		fputs(PROG ": you lack CAP_SYS_PTRACE\n", stderr);
		break;
	case 1:
		fprintf(stderr,
			PROG ": you have CAP_SYS_PTRACE, but it does not cover process %d\n",
			(int)pid);
		break;
	default:
		fprintf(stderr, PROG ": cannot read your capabilities: %s\n",
			strerror(errno));
	}
}

/* Real, effective and saved uid of pid from /proc/<pid>/status.  0 or -1. */
static int read_uids(pid_t pid, unsigned int uid[3])
{
	char path[32], line[256];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "Uid: %u %u %u",
			       &uid[0], &uid[1], &uid[2]) == 3;
	fclose(f);
	return found ? 0 : -1;
}

static void explain_uid(pid_t pid)
{
	unsigned int me = geteuid();
	unsigned int uid[3];

	if (read_uids(pid, uid) < 0)
		return;
	if (uid[0] == me && uid[1] == me && uid[2] == me)
		return;
	if (uid[0] == uid[1] && uid[1] == uid[2])
		fprintf(stderr,
			PROG ": process %d runs as uid %u, you are uid %u\n",
			(int)pid, uid[0], me);
	else
		fprintf(stderr,
			PROG ": process %d runs as uid %u (real %u, saved %u), you are uid %u\n",
			(int)pid, uid[1], uid[0], uid[2], me);
}

/* Yama restricts attaching (writes), not reading. */
static void explain_yama(void)
{
	static const char *const what[] = {
		NULL,
		"only ancestors may attach to a process without CAP_SYS_PTRACE",
		"only processes with CAP_SYS_PTRACE may attach",
		"no process may attach",
	};
	int scope = 0;
	FILE *f;

	f = fopen(YAMA_SCOPE, "re");
	if (!f)
		return;
	if (fscanf(f, "%d", &scope) != 1)
		scope = 0;
	fclose(f);
	if (scope <= 0)
		return;
	fprintf(stderr, PROG ": %s is %d: %s\n", YAMA_SCOPE, scope,
		scope <= 3 ? what[scope] : "attaching is restricted");
}

static void explain_denied(pid_t pid, int writing)
{
	fprintf(stderr,
		PROG ": %s /proc/%d/odfork needs ptrace-%s permission\n",
		writing ? "writing" : "reading", (int)pid,
		writing ? "attach" : "read");
	explain_cap(pid);
	explain_uid(pid);
	if (writing)
		explain_yama();
}

static int report_error(pid_t pid, int err, int writing)
{
	const char *op = writing ? "set" : "read";

	if (err == -ENOENT)
		err = proc_exists(pid) ? -ENOSYS : -ESRCH;
	if (err == -ESRCH) {
		fprintf(stderr, PROG ": %d: no such process\n", (int)pid);
		return EXIT_FAIL;
	}
	fprintf(stderr, PROG ": cannot %s the mode of process %d: ", op,
		(int)pid);
	if (err == -ENOSYS)
		fprintf(stderr, "the kernel has no on-demand fork support%s\n",
			odfork_fallback_reason() == ODFORK_REASON_FORCED ?
			" (or " ODFORK_ENV_FALLBACK " is set)" : "");
	else if (err == -EINVAL && writing)
		fprintf(stderr, "invalid mode\n");
	else
		fprintf(stderr, "%s\n", strerror(-err));
	if (err == -EPERM || err == -EACCES)
		explain_denied(pid, writing);
	return EXIT_FAIL;
}

static void print_mode(pid_t pid, unsigned int mode)
{
	char words[MODE_WORDS_MAX];

	mode_words(mode, words, sizeof(words));
	printf("%d: %s (%u)\n", (int)pid, words, mode);
}

/* A pidfd of pid; -1 with errno set (ENOSYS before Linux 5.3). */
static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return syscall(SYS_pidfd_open, pid, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

static int set_mode(pid_t pid, int pidfd, unsigned int mode)
{
	if (pidfd >= 0)
		return odfork_set_pidfd_mode(pidfd, mode);
	return odfork_set_pid_mode(pid, mode);
}

static int get_mode(pid_t pid, int pidfd)
{
	if (pidfd >= 0)
		return odfork_get_pidfd_mode(pidfd);
	return odfork_get_pid_mode(pid);
}

static int act(pid_t pid, int pidfd, int set, unsigned int mode)
{
	int ret;

	if (set) {
		ret = set_mode(pid, pidfd, mode);
		if (ret < 0)
			return report_error(pid, ret, 1);
	}
	ret = get_mode(pid, pidfd);
	if (ret < 0)
		return report_error(pid, ret, 0);
	print_mode(pid, ret);
	return 0;
}

/*
 * Print the mode of pid, after setting it when asked to.  Exit status.
 * Without pidfds (old kernel, or a thread id, which pidfd_open() refuses
 * before Linux 6.9) it goes by the pid.
 */
int pid_main(pid_t pid, int set, unsigned int mode)
{
	int pidfd, ret;

	if (!proc_exists(pid))
		return report_error(pid, -ESRCH, set);
	pidfd = open_pidfd(pid);
	if (pidfd < 0 && errno == ESRCH)
		return report_error(pid, -ESRCH, set);
	ret = act(pid, pidfd, set, mode);
	if (pidfd >= 0)
		close(pidfd);
	return ret;
}
