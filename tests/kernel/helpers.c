/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * helpers.c - shared helpers of the 'kernel' test suite (see helpers.h)
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define KT_REAP_TIMEOUT_S	30

static void kt_skip(const char *why)
{
	fprintf(stderr, "SKIP: %s\n", why);
	exit(KT_SKIP);
}

void kt_fail(const char *file, int line, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	fprintf(stderr, "FAIL [pid %d] %s:%d: ", (int)getpid(), file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (errno %d: %s)\n", saved, strerror(saved));
	_exit(1);
}

void kt_init(void)
{
#ifndef __NR_odfork
	kt_skip("odfork(2) is not wired up on this architecture");
#else
	/* Anything but ENOSYS is for the syscall tests to report. */
	if (odfork_syscall_check() == ENOSYS)
		kt_skip("no odfork(2) syscall in this kernel (ENOSYS)");
	if (access("/proc/self/odfork", F_OK) != 0)
		kt_skip("no /proc/self/odfork in this kernel");
	if (geteuid() != 0)
		kt_skip("the kernel suite must run as root");
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
		perror("PR_SET_CHILD_SUBREAPER");
		exit(1);
	}
#endif
}

long kt_prctl(int option, unsigned long arg2, unsigned long arg3,
	      unsigned long arg4, unsigned long arg5)
{
	return prctl(option, arg2, arg3, arg4, arg5);
}

int kt_get_mode(void)
{
	long r = kt_prctl(PR_GET_ODFORK, 0, 0, 0, 0);

	return r < 0 ? -errno : (int)r;
}

int kt_set_mode(unsigned long mode)
{
	return kt_prctl(PR_SET_ODFORK, mode, 0, 0, 0) < 0 ? -errno : 0;
}

pid_t kt_odfork(unsigned long flags)
{
#ifdef __NR_odfork
	return (pid_t)syscall(__NR_odfork, flags);
#else
	(void)flags;
	errno = ENOSYS;
	return -1;
#endif
}

long long kt_vmstat(const char *name)
{
	char key[128];
	long long val;
	long long found = -1;
	FILE *f = fopen("/proc/vmstat", "re");

	if (!f)
		return -1;
	while (fscanf(f, "%127s %lld", key, &val) == 2) {
		if (strcmp(key, name) == 0) {
			found = val;
			break;
		}
	}
	fclose(f);
	return found;
}

long long kt_forks(void)
{
	long long v = kt_vmstat(KT_FORKS);

	if (v < 0)
		kt_fail(__FILE__, __LINE__, "no %s in /proc/vmstat", KT_FORKS);
	return v;
}

const char *const kt_counter_names[KT_NCOUNTERS] = {
	[KT_C_FORKS] = KT_FORKS,
	[KT_C_SHARED] = KT_SHARED,
	[KT_C_COPIED] = KT_COPIED,
	[KT_C_REUSED] = KT_REUSED,
	[KT_C_DROPPED] = KT_DROPPED,
	[KT_C_FALLBACK] = KT_FALLBACK,
	[KT_C_FREED] = KT_FREED,
};

static void kt_snap_set(struct kt_snap *s, const char *key, long long val)
{
	int i;

	for (i = 0; i < KT_NCOUNTERS; i++)
		if (strcmp(key, kt_counter_names[i]) == 0)
			s->v[i] = val;
}

void kt_snap(struct kt_snap *s)
{
	char key[128];
	long long val;
	int i;
	FILE *f = fopen("/proc/vmstat", "re");

	if (!f)
		kt_fail(__FILE__, __LINE__, "open /proc/vmstat");
	for (i = 0; i < KT_NCOUNTERS; i++)
		s->v[i] = -1;
	while (fscanf(f, "%127s %lld", key, &val) == 2)
		kt_snap_set(s, key, val);
	fclose(f);
}

long long kt_moved(const struct kt_snap *a, const struct kt_snap *b,
		   enum kt_counter c)
{
	return b->v[c] - a->v[c];
}

/* Print why counter c is off; 0 when it is as wanted. */
static int kt_counter_off(const struct kt_snap *a, const struct kt_snap *b,
			  enum kt_counter c, long long want)
{
	const char *name = kt_counter_names[c];

	if (want == KT_ANY)
		return 0;
	if (a->v[c] < 0 || b->v[c] < 0) {
		if (want == 0)
			return 0;
		fprintf(stderr, "  %s: not in /proc/vmstat, want +%lld\n",
			name, want);
		return 1;
	}
	if (kt_moved(a, b, c) == want)
		return 0;
	fprintf(stderr, "  %s moved by %lld, want %lld\n",
		name, kt_moved(a, b, c), want);
	return 1;
}

void kt_expect(const char *file, int line, const struct kt_snap *a,
	       const struct kt_snap *b, struct kt_delta want)
{
	const long long w[KT_NCOUNTERS] = {
		[KT_C_FORKS] = want.forks,
		[KT_C_SHARED] = want.shared,
		[KT_C_COPIED] = want.copied,
		[KT_C_REUSED] = want.reused,
		[KT_C_DROPPED] = want.dropped,
		[KT_C_FALLBACK] = want.fallback,
		[KT_C_FREED] = want.freed,
	};
	int i, off = 0;

	for (i = 0; i < KT_NCOUNTERS; i++)
		off += kt_counter_off(a, b, i, w[i]);
	if (off)
		kt_fail(file, line, "odfork counters did not move as expected");
}

void kt_step(const char *file, int line, struct kt_snap *s,
	     struct kt_delta want)
{
	struct kt_snap now;

	kt_snap(&now);
	kt_expect(file, line, s, &now, want);
	*s = now;
}

void kt_sharing(const char *file, int line, int ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return;
	fprintf(stderr, "FAIL [pid %d] %s:%d: sharing: ", (int)getpid(),
		file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(1);
}

void *kt_reserve(size_t len, size_t off)
{
	size_t span = len + off + KT_TABLE_SIZE;
	unsigned char *p = mmap(NULL, span, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				-1, 0);
	unsigned char *a;

	if (p == MAP_FAILED)
		kt_fail(__FILE__, __LINE__, "mmap %zu bytes", span);
	a = (unsigned char *)(((uintptr_t)p + KT_TABLE_SIZE - 1) &
			      ~(KT_TABLE_SIZE - 1)) + off;
	if (a > p && munmap(p, (size_t)(a - p)) != 0)
		kt_fail(__FILE__, __LINE__, "munmap head");
	if (a + len < p + span &&
	    munmap(a + len, (size_t)(p + span - (a + len))) != 0)
		kt_fail(__FILE__, __LINE__, "munmap tail");
	return a;
}

void *kt_map_tables(size_t n)
{
	size_t len = n * KT_TABLE_SIZE;
	void *a = kt_reserve(len, 0);

	if (mmap(a, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != a)
		kt_fail(__FILE__, __LINE__, "mmap %zu tables", n);
	if (madvise(a, len, MADV_NOHUGEPAGE) != 0)
		kt_fail(__FILE__, __LINE__, "MADV_NOHUGEPAGE");
	return a;
}

/*
 * The number after "KEY<sep>" in a line of /proc/<pid>/<file>, read into
 * the stack (reading moves no heap table); fails the body when missing.
 */
static long long kt_pid_value(pid_t pid, const char *file, const char *key,
			      char sep)
{
	char path[64];
	char buf[8192];
	const char *line;
	size_t klen = strlen(key);
	int n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	n = kt_read_file(path, buf, sizeof(buf));
	if (n < 0) {
		errno = -n;
		kt_fail(__FILE__, __LINE__, "read %s", path);
	}
	for (line = buf; line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, key, klen) == 0 && line[klen] == sep)
			return strtoll(line + klen + 1, NULL, 10);
	}
	kt_fail(__FILE__, __LINE__, "no %s in %s", key, path);
}

long kt_status_kb(pid_t pid, const char *key)
{
	return (long)kt_pid_value(pid, "status", key, ':');
}

long long kt_pid_stat(pid_t pid, const char *name)
{
	return kt_pid_value(pid, "odfork_stat", name, ' ');
}

int kt_read_file(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (len + 1 < size) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			return (int)n;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	return (int)len;
}

int kt_write_file(const char *path, const char *text)
{
	size_t len = strlen(text);
	ssize_t n;
	int err = 0;
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO;
	close(fd);
	return err;
}

/*
 * The number that is the whole of file PATH, as the kernel prints one:
 * digits and a newline.  0 and *V; 1 for any other content, left in BUF
 * (LEN bytes); or the read's -errno.
 */
static int read_number(const char *path, char *buf, size_t len, long *v)
{
	char *end;
	int n = kt_read_file(path, buf, len);

	if (n < 0)
		return n;
	errno = 0;
	*v = strtol(buf, &end, 10);
	if (buf[0] < '0' || buf[0] > '9' || errno || strcmp(end, "\n") != 0)
		return 1;
	return 0;
}

int kt_read_mode_file(const char *path)
{
	char buf[64];
	long v;
	int err = read_number(path, buf, sizeof(buf), &v);

	if (err > 0)
		kt_fail(__FILE__, __LINE__, "%s: bad content \"%s\"",
			path, buf);
	return err ? err : (int)v;
}

int kt_sysctl_get_at(const char *path)
{
	char buf[64];
	long v;
	int err = read_number(path, buf, sizeof(buf), &v);

	if (err > 0)
		return -EINVAL;
	return err ? err : (int)v;
}

int kt_sysctl_get(void)
{
	return kt_sysctl_get_at(KT_SYSCTL_PATH);
}

int kt_sysctl_write(const char *text)
{
	return kt_write_file(KT_SYSCTL_PATH, text);
}

void kt_sysctl_set_at(const char *path, int value)
{
	char buf[16];
	int r;

	snprintf(buf, sizeof(buf), "%d\n", value);
	r = kt_write_file(path, buf);
	if (r != 0) {
		errno = -r;
		kt_fail(__FILE__, __LINE__, "%s = %d", path, value);
	}
	if (kt_sysctl_get_at(path) != value)
		kt_fail(__FILE__, __LINE__, "%s reads %d, not %d", path,
			kt_sysctl_get_at(path), value);
}

void kt_sysctl_set(int value)
{
	kt_sysctl_set_at(KT_SYSCTL_PATH, value);
}

int kt_wait(pid_t pid)
{
	int st;
	pid_t r;

	do
		r = waitpid(pid, &st, 0);
	while (r < 0 && errno == EINTR);
	if (r != pid)
		return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

pid_t kt_spawn(int (*fn)(void *), void *arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		kt_fail(__FILE__, __LINE__, "fork");
	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

int kt_drop_to(uid_t uid)
{
	if (setgroups(0, NULL) != 0 || setgid((gid_t)uid) != 0 ||
	    setuid(uid) != 0)
		return -errno;
	return 0;
}

struct kt_as {
	uid_t uid;
	int (*fn)(void *);
	void *arg;
};

static int kt_as_main(void *p)
{
	struct kt_as *as = p;

	if (kt_drop_to(as->uid) != 0)
		kt_fail(__FILE__, __LINE__, "drop to uid %u",
			(unsigned int)as->uid);
	return as->fn(as->arg);
}

int kt_run_as(uid_t uid, int (*fn)(void *), void *arg)
{
	struct kt_as as = { .uid = uid, .fn = fn, .arg = arg };

	return kt_wait(kt_spawn(kt_as_main, &as));
}

struct kt_thr {
	int (*fn)(void *);
	void *arg;
	int ret;
};

static void *kt_thr_main(void *p)
{
	struct kt_thr *t = p;

	t->ret = t->fn(t->arg);
	return NULL;
}

int kt_in_thread(int (*fn)(void *), void *arg)
{
	struct kt_thr t = { .fn = fn, .arg = arg, .ret = -1 };
	pthread_t th;
	int err = pthread_create(&th, NULL, kt_thr_main, &t);

	if (err) {
		errno = err;
		kt_fail(__FILE__, __LINE__, "pthread_create");
	}
	pthread_join(th, NULL);
	return t.ret;
}

/* vfork() in a function of its own: nothing of the caller's frame can be
 * clobbered, and the child only calls _exit(). */
static __attribute__((noinline)) pid_t kt_vfork_exit0(void)
{
	pid_t pid = vfork();

	if (pid == 0)
		_exit(0);
	return pid;
}

static char kt_clone_stack[64 * 1024] __attribute__((aligned(16)));

static int kt_clone_main(void *arg)
{
	(void)arg;
	return 0;	/* shares our mm: touch nothing */
}

static pid_t kt_fork_kind(enum kt_fork_kind kind)
{
	pid_t pid = -1;

	fflush(NULL);
	switch (kind) {
	case KT_FORK:
		pid = fork();
		break;
	case KT_ODFORK:
		pid = kt_odfork(0);
		break;
	case KT_VFORK:
		return kt_vfork_exit0();
	case KT_CLONE_VM:
		return clone(kt_clone_main,
			     kt_clone_stack + sizeof(kt_clone_stack),
			     CLONE_VM | SIGCHLD, NULL);
	}
	if (pid == 0)
		_exit(0);
	return pid;
}

long long kt_fork_delta(enum kt_fork_kind kind)
{
	long long before = kt_forks();
	pid_t pid = kt_fork_kind(kind);

	if (pid < 0)
		kt_fail(__FILE__, __LINE__, "fork of kind %d", (int)kind);
	KT_EQ(kt_wait(pid), 0);
	return kt_forks() - before;
}

static void kt_getmode_path(char *buf, size_t size)
{
	const char *env = getenv("KT_GETMODE");
	char *slash;
	ssize_t n;

	if (env && *env) {
		snprintf(buf, size, "%s", env);
		return;
	}
	/* Not run by meson: the helper sits beside this test program. */
	n = readlink("/proc/self/exe", buf, size - 1);
	if (n < 0)
		kt_fail(__FILE__, __LINE__, "readlink /proc/self/exe");
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash || (size_t)(slash - buf) + sizeof("/kt-getmode") > size)
		kt_fail(__FILE__, __LINE__, "path of kt-getmode");
	strcpy(slash, "/kt-getmode");
}

static void kt_exec_child(int out, const char *path,
			  const unsigned long *modes, int n)
{
	int i;

	if (dup2(out, STDOUT_FILENO) < 0)
		_exit(2);
	for (i = 0; i < n; i++)
		if (kt_set_mode(modes[i]) != 0)
			_exit(3);
	execl(path, path, (char *)NULL);
	_exit(4);
}

int kt_exec_getmode(const unsigned long *modes, int n)
{
	char path[PATH_MAX];
	char out[64];
	char *end;
	long v;
	int fds[2];
	int len;
	pid_t pid;

	kt_getmode_path(path, sizeof(path));
	KT_EQ(pipe2(fds, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		kt_fail(__FILE__, __LINE__, "fork");
	if (pid == 0)
		kt_exec_child(fds[1], path, modes, n);
	close(fds[1]);
	len = 0;
	while (len < (int)sizeof(out) - 1) {
		ssize_t r = read(fds[0], out + len, sizeof(out) - 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (int)r;
	}
	out[len] = '\0';
	close(fds[0]);
	KT_EQ(kt_wait(pid), 0);
	v = strtol(out, &end, 10);
	if (end == out || strcmp(end, "\n") != 0)
		kt_fail(__FILE__, __LINE__, "kt-getmode printed \"%s\"", out);
	return (int)v;
}

static void kt_put(int fd, int v)
{
	if (write(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		kt_fail(__FILE__, __LINE__, "agent report");
}

static void kt_agent_loop(int cmd, int rep)
{
	char c;
	ssize_t n;

	kt_put(rep, (int)gettid());
	for (;;) {
		n = read(cmd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != 1 || c == 'q')
			return;
		if (c == 'm')
			kt_put(rep, kt_get_mode());
		else if (c == 'f')
			kt_put(rep, (int)kt_fork_delta(KT_FORK));
		else
			kt_put(rep, INT_MIN);
	}
}

static void kt_agent_pipes(struct kt_agent *a, int cmd[2], int rep[2])
{
	memset(a, 0, sizeof(*a));
	if (pipe2(cmd, O_CLOEXEC) != 0 || pipe2(rep, O_CLOEXEC) != 0)
		kt_fail(__FILE__, __LINE__, "pipe2");
	a->cmd = cmd[1];
	a->rep = rep[0];
}

static int kt_agent_get(struct kt_agent *a)
{
	int v;
	ssize_t n;

	do
		n = read(a->rep, &v, sizeof(v));
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(v) ? v : INT_MIN;
}

void kt_agent_spawn(struct kt_agent *a, uid_t uid)
{
	int cmd[2], rep[2];

	kt_agent_pipes(a, cmd, rep);
	fflush(NULL);
	a->pid = fork();
	if (a->pid < 0)
		kt_fail(__FILE__, __LINE__, "fork");
	if (a->pid == 0) {
		close(cmd[1]);
		close(rep[0]);
		if (uid != (uid_t)-1) {
			if (kt_drop_to(uid) != 0 ||
			    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0)
				kt_fail(__FILE__, __LINE__, "agent as %u",
					(unsigned int)uid);
			/* Yama may not be built in: EINVAL is fine. */
			prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
		}
		kt_agent_loop(cmd[0], rep[1]);
		_exit(0);
	}
	close(cmd[0]);
	close(rep[1]);
	a->tid = kt_agent_get(a);
	KT_EQ(a->tid, a->pid);
}

struct kt_agent_fds {
	int cmd;
	int rep;
};

static void *kt_agent_thread_main(void *p)
{
	struct kt_agent_fds fds = *(struct kt_agent_fds *)p;

	free(p);
	kt_agent_loop(fds.cmd, fds.rep);
	close(fds.cmd);
	close(fds.rep);
	return NULL;
}

void kt_agent_thread(struct kt_agent *a)
{
	int cmd[2], rep[2];
	struct kt_agent_fds *fds = malloc(sizeof(*fds));
	int err;

	KT_ASSERT(fds != NULL);
	kt_agent_pipes(a, cmd, rep);
	fds->cmd = cmd[0];
	fds->rep = rep[1];
	err = pthread_create(&a->thread, NULL, kt_agent_thread_main, fds);
	if (err) {
		errno = err;
		kt_fail(__FILE__, __LINE__, "pthread_create");
	}
	a->tid = kt_agent_get(a);
	KT_ASSERT(a->tid > 0 && a->tid != gettid());
}

int kt_agent_ask(struct kt_agent *a, char cmd)
{
	if (write(a->cmd, &cmd, 1) != 1)
		return INT_MIN;
	return kt_agent_get(a);
}

int kt_agent_stop(struct kt_agent *a)
{
	char q = 'q';
	int ret = 0;

	if (write(a->cmd, &q, 1) != 1)
		ret = -1;
	if (a->pid > 0)
		ret = kt_wait(a->pid);
	else
		pthread_join(a->thread, NULL);
	close(a->cmd);
	close(a->rep);
	return ret;
}

/* In the body's process: undo what the cmocka runner set up. */
static void kt_body_reset(void)
{
	static const int dfl[] = { SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGSYS };
	sigset_t none;
	size_t i;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	for (i = 0; i < sizeof(dfl) / sizeof(dfl[0]); i++)
		signal(dfl[i], SIG_DFL);
	/* A dead agent must not kill the body through SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void kt_nap(void)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 2 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* Wait for pid until the deadline: kt_wait()'s status, or 124. */
static int kt_wait_until(pid_t pid, time_t deadline)
{
	int st;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -1;
		if (time(NULL) > deadline)
			return 124;
		kt_nap();
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

/* Reap everything the body left (we are a child subreaper). */
static void kt_reap_all(void)
{
	time_t deadline = time(NULL) + KT_REAP_TIMEOUT_S;
	pid_t r;

	for (;;) {
		r = waitpid(-1, NULL, WNOHANG);
		if (r < 0 && errno == ECHILD)
			return;
		if (r > 0 || (r < 0 && errno == EINTR))
			continue;
		if (time(NULL) > deadline) {
			fprintf(stderr, "kt_run: children left unreaped\n");
			return;
		}
		kt_nap();
	}
}

/* Put a sysctl back to what kt_run() saved (nothing if it was missing). */
static int kt_restore_sysctl(const char *path, int saved)
{
	char buf[16];

	if (saved < 0 || kt_sysctl_get_at(path) == saved)
		return 0;
	snprintf(buf, sizeof(buf), "%d\n", saved);
	if (kt_write_file(path, buf) != 0 || kt_sysctl_get_at(path) != saved) {
		fprintf(stderr, "kt_run: cannot restore %s to %d\n", path,
			saved);
		return -1;
	}
	return 0;
}

int kt_run(int (*body)(void))
{
	int saved = kt_sysctl_get();
	int saved_ahead = kt_sysctl_get_at(KT_AHEAD_PATH);
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		kt_body_reset();
		_exit(body() == 0 ? 0 : 1);
	}
	setpgid(pid, pid);
	status = kt_wait_until(pid, time(NULL) + KT_BODY_TIMEOUT_S);
	if (status == 124)
		fprintf(stderr, "kt_run: body timed out after %d s\n",
			KT_BODY_TIMEOUT_S);
	kill(-pid, SIGKILL);
	if (status == 124)
		kt_wait(pid);
	kt_reap_all();
	if ((kt_restore_sysctl(KT_SYSCTL_PATH, saved) |
	     kt_restore_sysctl(KT_AHEAD_PATH, saved_ahead)) != 0 && status == 0)
		status = 125;
	return status;
}

static sigjmp_buf kt_bus_jmp;

static void kt_on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(kt_bus_jmp, 1);
}

int kt_read_faults(volatile unsigned char *p)
{
	struct sigaction sa, old;
	volatile int faulted = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kt_on_sigbus;
	KT_EQ(sigaction(SIGBUS, &sa, &old), 0);
	if (sigsetjmp(kt_bus_jmp, 1) == 0)
		(void)p[0];
	else
		faulted = 1;
	KT_EQ(sigaction(SIGBUS, &old, NULL), 0);
	return faulted;
}
