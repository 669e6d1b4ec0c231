/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * test-fake-kernel.c - the library's logic on a simulated kernel
 *
 * Linked with the static library and -Wl,--wrap for prctl, syscall, access,
 * open64, fork, malloc and pthread_mutex_lock, so that the library's calls
 * land in a fake kernel below: the code paths of a patched kernel run on any
 * host, kernel errors can be injected, and calls can be counted.  The probe is cached per
 * process, so each scenario runs in its own child with a fresh cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "odfork.h"
#include "helpers.h"
#include "syscall.h"	/* __NR_odfork, from lib/ */

#define ALL_FEATURES	(ODFORK_FEAT_SYSCALL | ODFORK_FEAT_PRCTL | \
			 ODFORK_FEAT_PROCFS | ODFORK_FEAT_SYSCTL)
#define NR_THREADS	32

/* Where the series wires odfork(2) up (lib/syscall.h). */
#ifdef __NR_odfork
#define SYSCALL_WIRED	ODFORK_FEAT_SYSCALL
#else
#define SYSCALL_WIRED	0
#endif
/* What the probe finds on a patched kernel. */
#define PATCHED		((ALL_FEATURES & ~ODFORK_FEAT_SYSCALL) | SYSCALL_WIRED)

enum { SYS_ENOSYS, SYS_EINVAL, SYS_EPERM, SYS_FORKS };

static struct fake_kernel {
	/* configuration */
	int sys;		/* how syscall 500 answers */
	int prctl;		/* PR_SET/GET_ODFORK exist */
	int prctl_flaps;	/* ... only for every other thread */
	int prctl_err;		/* PR_SET_ODFORK fails with this */
	int procfs;
	int sysctl;
	int fork_err;		/* fork() fails with this */
	int malloc_fail;
	/* state */
	unsigned int mode;
	int next;
	/* observations */
	atomic_int probes;	/* calls that only the probe makes */
	atomic_int syscalls;	/* odfork(2) calls */
	atomic_int flaps;
	int sets;		/* PR_SET_ODFORK calls */
	int forks;
	int next_at_fork;	/* NEXT as the last fork found it */
} fk;

static char fake_dir[] = "/tmp/odfork-fake-XXXXXX";

/* Answers as the kernel series does (kernel/README.md). */
static int fake_prctl(int option, unsigned long *arg)
{
	unsigned long mode = arg[0];

	if (option == PR_GET_ODFORK) {
		atomic_fetch_add(&fk.probes, 1);
		if (fk.prctl_flaps)
			usleep(20000);	/* let all threads into the probe */
		if (fk.prctl_flaps && atomic_fetch_add(&fk.flaps, 1) % 2)
			goto einval;
	}
	if (!fk.prctl)
		goto einval;
	if (option == PR_GET_ODFORK)
		return fk.mode | (fk.next ? ODFORK_MODE_NEXT : 0);
	fk.sets++;
	if (fk.prctl_err) {
		errno = fk.prctl_err;
		return -1;
	}
	if (arg[1] || arg[2] || arg[3] || (mode & ~7ul) || mode == 3 ||
	    mode == 4 || mode == 5 || mode == 7)
		goto einval;
	if (mode == ODFORK_MODE_NEXT)
		fk.next = 1;
	else
		fk.mode = mode;
	if (mode == ODFORK_MODE_OFF)
		fk.next = 0;
	return 0;
einval:
	errno = EINVAL;
	return -1;
}

int __real_prctl(int option, ...);
int __wrap_prctl(int option, ...);
int __wrap_prctl(int option, ...)
{
	unsigned long arg[4];
	va_list ap;
	int i;

	va_start(ap, option);
	for (i = 0; i < 4; i++)
		arg[i] = va_arg(ap, unsigned long);
	va_end(ap);
	if (option == PR_GET_ODFORK || option == PR_SET_ODFORK)
		return fake_prctl(option, arg);
	return __real_prctl(option, arg[0], arg[1], arg[2], arg[3]);
}

pid_t __real_fork(void);
pid_t __wrap_fork(void);

#ifdef __NR_odfork
static long fake_odfork(void)
{
	atomic_fetch_add(&fk.syscalls, 1);
	switch (fk.sys) {
	case SYS_EINVAL:
		errno = EINVAL;
		return -1;
	case SYS_EPERM:
		errno = EPERM;
		return -1;
	case SYS_FORKS:
		return __real_fork();
	}
	errno = ENOSYS;
	return -1;
}
#endif

long __real_syscall(long nr, ...);
long __wrap_syscall(long nr, ...);
long __wrap_syscall(long nr, ...)
{
	long arg[6];
	va_list ap;
	int i;

	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		arg[i] = va_arg(ap, long);
	va_end(ap);
#ifdef __NR_odfork
	if (nr == __NR_odfork)
		return fake_odfork();
#endif
	return __real_syscall(nr, arg[0], arg[1], arg[2], arg[3], arg[4],
			      arg[5]);
}

static int fake_exists(int exists)
{
	atomic_fetch_add(&fk.probes, 1);
	if (exists)
		return 0;
	errno = ENOENT;
	return -1;
}

int __real_access(const char *path, int mode);
int __wrap_access(const char *path, int mode);
int __wrap_access(const char *path, int mode)
{
	if (!strcmp(path, "/proc/self/odfork"))
		return fake_exists(fk.procfs);
	if (!strcmp(path, "/proc/sys/vm/odfork"))
		return fake_exists(fk.sysctl);
	return __real_access(path, mode);
}

/*
 * /proc/sys/vm/odfork, /proc/vmstat, /proc/<pid>/odfork and
 * /proc/<pid>/odfork_stat live in fake_dir as sysctl, vmstat, <pid> and
 * <pid>.stat.
 */
static int fake_path(const char *path, char *buf, size_t size)
{
	int pid, end = 0;

	if (!strcmp(path, "/proc/sys/vm/odfork"))
		return snprintf(buf, size, "%s/sysctl", fake_dir);
	if (!strcmp(path, "/proc/vmstat"))
		return snprintf(buf, size, "%s/vmstat", fake_dir);
	if (sscanf(path, "/proc/%d/odfork%n", &pid, &end) == 1 && end &&
	    !path[end])
		return snprintf(buf, size, "%s/%d", fake_dir, pid);
	end = 0;
	if (sscanf(path, "/proc/%d/odfork_stat%n", &pid, &end) == 1 && end &&
	    !path[end])
		return snprintf(buf, size, "%s/%d.stat", fake_dir, pid);
	return 0;
}

int __real_open64(const char *path, int flags, ...);
int __wrap_open64(const char *path, int flags, ...);
int __wrap_open64(const char *path, int flags, ...)
{
	char buf[64];
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = va_arg(ap, mode_t);
	va_end(ap);
	if (!fake_path(path, buf, sizeof(buf)))
		return __real_open64(path, flags, mode);
	/* a write replaces the value, as in /proc */
	if ((flags & O_ACCMODE) != O_RDONLY)
		flags |= O_TRUNC;
	return __real_open64(buf, flags, mode);
}

pid_t __wrap_fork(void)
{
	fk.forks++;
	fk.next_at_fork = fk.next;
	fk.next = 0;		/* consumed, also when the fork fails */
	if (fk.fork_err) {
		errno = fk.fork_err;
		return -1;
	}
	return __real_fork();
}

void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_malloc(size_t size)
{
	if (fk.malloc_fail) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_malloc(size);
}

/*
 * The library's pthread_mutex_lock(): on request, the next caller holds the
 * lock it took until told to go on (pipes, not mutexes, to synchronize).
 */
static atomic_int hold_next_lock;
static int held_fds[2], go_fds[2];

int __real_pthread_mutex_lock(pthread_mutex_t *mutex);
int __wrap_pthread_mutex_lock(pthread_mutex_t *mutex);
int __wrap_pthread_mutex_lock(pthread_mutex_t *mutex)
{
	int ret = __real_pthread_mutex_lock(mutex);
	char c = 'h';

	if (atomic_exchange(&hold_next_lock, 0)) {
		(void)!write(held_fds[1], &c, 1);
		(void)!read(go_fds[0], &c, 1);
	}
	return ret;
}

static void patched_kernel(void)
{
	memset(&fk, 0, sizeof(fk));
	fk.sys = SYS_EINVAL;
	fk.prctl = fk.procfs = fk.sysctl = 1;
}

static void old_kernel(void)
{
	memset(&fk, 0, sizeof(fk));
	fk.sys = SYS_ENOSYS;
}

static void put_file(const char *name, const char *text)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fake_dir, name);
	f = fopen(path, "w");
	CHECK(f && fputs(text, f) >= 0 && !fclose(f));
}

static void get_file(const char *name, char *buf, size_t size)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fake_dir, name);
	f = fopen(path, "r");
	CHECK(f && fgets(buf, size, f));
	fclose(f);
}

static int file_has(const char *name, const char *text)
{
	char path[64], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fake_dir, name);
	f = fopen(path, "r");
	CHECK(f);
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return !strcmp(buf, text);
}

static void drop_file(const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "%s/%s", fake_dir, name);
	unlink(path);
}

/* Probe */

static void probe_patched(void *arg)
{
	(void)arg;
	patched_kernel();
	CHECK(odfork_probe() == PATCHED);
	CHECK(atomic_load(&fk.probes) == 3);
	CHECK(odfork_available() == 1);
	CHECK(odfork_probe() == PATCHED);
	CHECK(atomic_load(&fk.probes) == 3);	/* cached */
	CHECK(fk.sets == 0 && fk.forks == 0);	/* no side effect */
	CHECK(atomic_load(&fk.syscalls) == 0);	/* never the syscall */
}

static void probe_old(void *arg)
{
	(void)arg;
	old_kernel();
	errno = 4242;
	CHECK(odfork_probe() == 0);
	CHECK(errno == 4242);
	CHECK(atomic_load(&fk.probes) == 3);
	CHECK(odfork_available() == 0);
	CHECK(odfork_probe() == 0);
	CHECK(atomic_load(&fk.probes) == 3);	/* "none" is cached too */
	CHECK(atomic_load(&fk.syscalls) == 0);
	CHECK(odfork_probe_syscall() == 0);	/* no prctl: not even asked */
	CHECK(atomic_load(&fk.syscalls) == 0);
}

struct one_feature {
	int sys, prctl, procfs, sysctl;
	unsigned int expect;
};

/* The syscall's own answer never counts: it is not asked. */
static const struct one_feature one_features[] = {
	{ SYS_EINVAL, 0, 0, 0, 0 },
	{ SYS_EPERM, 0, 0, 0, 0 },		/* e.g. seccomp */
	{ SYS_ENOSYS, 1, 0, 0, ODFORK_FEAT_PRCTL | SYSCALL_WIRED },
	{ SYS_EPERM, 1, 0, 0, ODFORK_FEAT_PRCTL | SYSCALL_WIRED },
	{ SYS_ENOSYS, 0, 1, 0, ODFORK_FEAT_PROCFS },
	{ SYS_ENOSYS, 0, 0, 1, ODFORK_FEAT_SYSCTL },
};

static void probe_one(void *arg)
{
	const struct one_feature *f = arg;

	old_kernel();
	fk.sys = f->sys;
	fk.prctl = f->prctl;
	fk.procfs = f->procfs;
	fk.sysctl = f->sysctl;
	CHECK(odfork_probe() == f->expect);
	CHECK(odfork_available() == !!(f->expect & ODFORK_FEAT_PRCTL));
	CHECK(atomic_load(&fk.syscalls) == 0);
}

struct syscall_case {
	int sys;
	int expect;
};

static const struct syscall_case syscall_cases[] = {
	{ SYS_EINVAL, SYSCALL_WIRED ? 1 : 0 },
	{ SYS_ENOSYS, 0 },
	{ SYS_EPERM, 0 },			/* e.g. seccomp */
};

/* odfork_probe_syscall(): one call, cached, errno kept. */
static void probe_syscall(void *arg)
{
	const struct syscall_case *c = arg;
	int calls = SYSCALL_WIRED ? 1 : 0;

	patched_kernel();
	fk.sys = c->sys;
	errno = 4242;
	CHECK(odfork_probe_syscall() == c->expect);
	CHECK(errno == 4242);
	CHECK(odfork_probe_syscall() == c->expect);
	CHECK(atomic_load(&fk.syscalls) == calls);
	CHECK(fk.forks == 0 && fk.sets == 0);
}

/* With the fallback forced, the syscall is not issued either. */
static void probe_syscall_forced(void *arg)
{
	(void)arg;
	patched_kernel();
	setenv(ODFORK_ENV_FALLBACK, "1", 1);
	CHECK(odfork_probe_syscall() == 0);
	CHECK(atomic_load(&fk.syscalls) == 0);
}

/* A syscall 500 that forks: the child must not come back to us. */
static void probe_forking_syscall(void *arg)
{
	pid_t me = getpid();
	int fds[2];
	char c;

	(void)arg;
	CHECK(pipe(fds) == 0);
	patched_kernel();
	fk.sys = SYS_FORKS;
	CHECK(odfork_probe_syscall() == 0);
	if (getpid() != me) {
		c = 'x';
		(void)!write(fds[1], &c, 1);
		_exit(0);
	}
	CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD);
	close(fds[1]);
	CHECK(read(fds[0], &c, 1) == 0);
}

struct env_case {
	const char *val;
	unsigned int expect;
};

static const struct env_case env_cases[] = {
	{ NULL, PATCHED }, { "", PATCHED }, { "0", PATCHED },
	{ "1", 0 }, { "yes", 0 }, { "00", 0 },
};

/* ODFORK_FORCE_FALLBACK: the kernel is not even asked. */
static void probe_env(void *arg)
{
	const struct env_case *c = arg;
	pid_t pid;

	patched_kernel();
	if (c->val)
		setenv(ODFORK_ENV_FALLBACK, c->val, 1);
	else
		unsetenv(ODFORK_ENV_FALLBACK);
	CHECK(odfork_probe() == c->expect);
	if (c->expect)
		return;
	CHECK(atomic_load(&fk.probes) == 0);
	CHECK(odfork_available() == 0);
	CHECK(odfork_get_mode() == -ENOSYS);
	CHECK(odfork_sysctl() == -ENOSYS);
	CHECK(odfork_get_pid_mode(getpid()) == -ENOSYS);
	pid = odfork();
	if (pid == 0)
		_exit(0);
	CHECK(pid > 0 && wait_status(pid) == 0);
	CHECK(fk.sets == 0 && fk.next_at_fork == 0);
}

static pthread_barrier_t barrier;

static void *probe_thread(void *arg)
{
	unsigned int *res = arg;

	pthread_barrier_wait(&barrier);
	*res = odfork_probe();
	return NULL;
}

/*
 * Threads racing on the first probe all get the same answer, even from a
 * kernel whose answers change from call to call.
 */
static void probe_threads(void *arg)
{
	pthread_t tid[NR_THREADS];
	unsigned int res[NR_THREADS];
	int i;

	patched_kernel();
	fk.prctl_flaps = !!arg;
	CHECK(pthread_barrier_init(&barrier, NULL, NR_THREADS) == 0);
	for (i = 0; i < NR_THREADS; i++)
		CHECK(pthread_create(&tid[i], NULL, probe_thread,
				     &res[i]) == 0);
	for (i = 0; i < NR_THREADS; i++)
		CHECK(pthread_join(tid[i], NULL) == 0);
	for (i = 0; i < NR_THREADS; i++)
		CHECK(res[i] == res[0]);
	CHECK(odfork_probe() == res[0]);
	if (!arg)
		CHECK(res[0] == PATCHED);
}

/* odfork() */

static int next_in_hook[3];
static int hook_ran[3];

static void seen_prepare(void *arg)
{
	(void)arg;
	hook_ran[0]++;
	next_in_hook[0] = fk.next;
	errno = 1111;
}

static void seen_parent(void *arg)
{
	(void)arg;
	hook_ran[1]++;
	next_in_hook[1] = fk.next;
	errno = 2222;
}

static void seen_child(void *arg)
{
	(void)arg;
	hook_ran[2]++;
	next_in_hook[2] = fk.next_at_fork;
	errno = 3333;
}

/* NEXT is armed after the prepare hooks, right before fork(). */
static void odfork_arms_next(void *arg)
{
	pid_t pid;

	(void)arg;
	patched_kernel();
	CHECK(odfork_atfork(seen_prepare, seen_parent, seen_child, NULL) == 0);
	errno = 4242;
	pid = odfork();
	if (pid == 0)
		_exit(next_in_hook[2] == 1 && errno == 4242 ? 9 : 1);
	CHECK(pid > 0);
	CHECK(errno == 4242);
	CHECK(fk.sets == 1 && fk.forks == 1 && fk.next_at_fork == 1);
	CHECK(next_in_hook[0] == 0 && next_in_hook[1] == 0);
	CHECK(fk.next == 0);
	CHECK(wait_status(pid) == 9);
}

static void odfork_old_kernel(void *arg)
{
	pid_t pid;

	(void)arg;
	old_kernel();
	pid = odfork();
	if (pid == 0)
		_exit(9);
	CHECK(pid > 0 && wait_status(pid) == 9);
	CHECK(fk.sets == 0 && fk.forks == 1 && fk.next_at_fork == 0);
}

/* Arming fails: a plain fork(), and the prctl's errno does not leak. */
static void odfork_arm_fails(void *arg)
{
	pid_t pid;

	(void)arg;
	patched_kernel();
	fk.prctl_err = EPERM;
	errno = 4242;
	pid = odfork();
	if (pid == 0)
		_exit(errno == 4242 ? 9 : 1);
	CHECK(pid > 0 && errno == 4242);
	CHECK(fk.sets == 1 && fk.forks == 1 && fk.next_at_fork == 0);
	CHECK(wait_status(pid) == 9);
}

/* fork() fails: -1 with its errno, whatever the hooks did to errno. */
static void odfork_fork_fails(void *arg)
{
	(void)arg;
	patched_kernel();
	fk.fork_err = EAGAIN;
	next_in_hook[2] = -1;
	CHECK(odfork_atfork(seen_prepare, seen_parent, seen_child, NULL) == 0);
	errno = 0;
	CHECK(odfork() == -1);
	CHECK(errno == EAGAIN);
	CHECK(fk.forks == 1 && fk.next_at_fork == 1 && fk.next == 0);
	CHECK(hook_ran[0] == 1 && hook_ran[1] == 1);
	CHECK(hook_ran[2] == 0 && next_in_hook[2] == -1);
	fk.fork_err = ENOMEM;
	CHECK(odfork() == -1 && errno == ENOMEM);
}

/* Modes */

static void mode_patched(void *arg)
{
	int sets;

	(void)arg;
	patched_kernel();
	CHECK(odfork_get_mode() == 0);
	CHECK(odfork_set_mode(ODFORK_MODE_PROCESS | ODFORK_MODE_INHERIT) == 0);
	CHECK(fk.mode == (ODFORK_MODE_PROCESS | ODFORK_MODE_INHERIT));
	CHECK(odfork_set_mode(ODFORK_MODE_NEXT) == 0);
	CHECK(odfork_get_mode() == 7);
	CHECK(odfork_set_mode(ODFORK_MODE_OFF) == 0);
	CHECK(odfork_get_mode() == 0);
	sets = fk.sets;
	CHECK(odfork_set_mode(ODFORK_MODE_INHERIT) == -EINVAL);
	CHECK(odfork_set_mode(3) == -EINVAL);
	CHECK(odfork_set_mode(16) == -EINVAL);
	CHECK(fk.sets == sets);		/* refused before the kernel */
	fk.prctl_err = EPERM;
	errno = 4242;
	CHECK(odfork_set_mode(ODFORK_MODE_PROCESS) == -EPERM);
	CHECK(errno == 4242);
	fk.prctl = 0;		/* the kernel's errors come through */
	CHECK(odfork_get_mode() == -EINVAL);
	CHECK(errno == 4242);
}

static void mode_old(void *arg)
{
	(void)arg;
	old_kernel();
	CHECK(odfork_get_mode() == -ENOSYS);
	CHECK(odfork_set_mode(ODFORK_MODE_PROCESS) == -ENOSYS);
	CHECK(odfork_set_mode(ODFORK_MODE_INHERIT) == -EINVAL);
	CHECK(fk.sets == 0);
}

/* /proc/<pid>/odfork: decimal and a newline both ways. */
static void pid_mode_patched(void *arg)
{
	char name[16], buf[16];
	pid_t pid = getpid();

	(void)arg;
	patched_kernel();
	snprintf(name, sizeof(name), "%d", (int)pid);
	put_file(name, "6\n");
	CHECK(odfork_get_pid_mode(pid) == 6);
	CHECK(odfork_set_pid_mode(pid, ODFORK_MODE_PROCESS) == 0);
	get_file(name, buf, sizeof(buf));
	CHECK(!strcmp(buf, "2\n"));
	CHECK(odfork_get_pid_mode(pid) == 2);
	put_file(name, "1");
	CHECK(odfork_get_pid_mode(pid) == 1);
	put_file(name, "abc\n");
	CHECK(odfork_get_pid_mode(pid) == -EIO);
	put_file(name, "7 junk\n");
	CHECK(odfork_get_pid_mode(pid) == -EIO);
	put_file(name, "");
	CHECK(odfork_get_pid_mode(pid) == -EIO);
	put_file(name, "99999999999\n");
	CHECK(odfork_get_pid_mode(pid) == -EIO);
	CHECK(odfork_set_pid_mode(pid, 5) == -EINVAL);
	drop_file(name);
	/* the file goes away with its process */
	CHECK(odfork_get_pid_mode(pid) == -ESRCH);
	CHECK(odfork_set_pid_mode(pid, ODFORK_MODE_OFF) == -ESRCH);
	CHECK(odfork_get_pid_mode(0) == -EINVAL);
}

static void pid_mode_old(void *arg)
{
	(void)arg;
	old_kernel();
	CHECK(odfork_get_pid_mode(getpid()) == -ENOSYS);
	CHECK(odfork_set_pid_mode(getpid(), ODFORK_MODE_OFF) == -ENOSYS);
	CHECK(odfork_get_pid_mode(dead_pid()) == -ESRCH);
	CHECK(odfork_get_pid_mode(-5) == -EINVAL);
}

/*
 * A child that waits for a byte on fds[0] before it exits, with a pidfd
 * (pidfd_open(2), which valgrind does not know: the scenario is skipped
 * there, and on kernels before 5.3).
 */
static pid_t sleeper(int fds[2], int *pidfd)
{
	pid_t pid;
	char c;

	if (on_valgrind())
		_exit(EXIT_SKIP);
	CHECK(pipe(fds) == 0);
	pid = fork();
	if (pid == 0) {
		(void)!read(fds[0], &c, 1);
		_exit(0);
	}
	CHECK(pid > 0);
	*pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (*pidfd < 0 && errno == ENOSYS)
		_exit(EXIT_SKIP);
	CHECK(*pidfd >= 0);
	return pid;
}

/* Exits and becomes a zombie: the pidfd turns readable. */
static void sleeper_exit(int fds[2], int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	char c = 'x';

	CHECK(write(fds[1], &c, 1) == 1);
	CHECK(poll(&p, 1, 10000) == 1);
}

static void pidfd_mode_patched(void *arg)
{
	char name[16], buf[16];
	int fds[2], pidfd, pipefd[2];
	pid_t pid;

	(void)arg;
	patched_kernel();
	pid = sleeper(fds, &pidfd);
	snprintf(name, sizeof(name), "%d", (int)pid);
	put_file(name, "0\n");
	errno = 4242;
	CHECK(odfork_set_pidfd_mode(pidfd, ODFORK_MODE_PROCESS) == 0);
	CHECK(errno == 4242);
	get_file(name, buf, sizeof(buf));
	CHECK(!strcmp(buf, "2\n"));
	CHECK(odfork_get_pidfd_mode(pidfd) == 2);
	CHECK(odfork_set_pidfd_mode(pidfd, 5) == -EINVAL);
	CHECK(odfork_get_pidfd_mode(-1) == -EBADF);
	CHECK(pipe(pipefd) == 0);
	CHECK(odfork_get_pidfd_mode(pipefd[0]) == -EINVAL);
	close(pipefd[0]);
	CHECK(odfork_get_pidfd_mode(pipefd[0]) == -EBADF);
	close(pipefd[1]);
	/*
	 * Exited: the file of its pid (as a reused pid's would) is not
	 * used.
	 */
	sleeper_exit(fds, pidfd);
	put_file(name, "6\n");
	CHECK(odfork_get_pidfd_mode(pidfd) == -ESRCH);
	CHECK(odfork_set_pidfd_mode(pidfd, ODFORK_MODE_OFF) == -ESRCH);
	CHECK(!file_has(name, "0\n"));	/* (the fake truncates at open) */
	CHECK(wait_status(pid) == 0);
	CHECK(odfork_get_pidfd_mode(pidfd) == -ESRCH);
	drop_file(name);
	close(pidfd);
}

static void pidfd_mode_old(void *arg)
{
	int fds[2], pidfd;
	pid_t pid;

	(void)arg;
	old_kernel();
	pid = sleeper(fds, &pidfd);
	CHECK(odfork_get_pidfd_mode(pidfd) == -ENOSYS);
	CHECK(odfork_set_pidfd_mode(pidfd, ODFORK_MODE_OFF) == -ENOSYS);
	CHECK(odfork_set_pidfd_mode(pidfd, 3) == -EINVAL);
	sleeper_exit(fds, pidfd);
	CHECK(odfork_get_pidfd_mode(pidfd) == -ESRCH);
	CHECK(wait_status(pid) == 0);
	close(pidfd);
}

static void sysctl_values(void *arg)
{
	(void)arg;
	patched_kernel();
	put_file("sysctl", "0\n");
	CHECK(odfork_sysctl() == 0);
	put_file("sysctl", "2\n");
	CHECK(odfork_sysctl() == 2);
	put_file("sysctl", "x\n");
	CHECK(odfork_sysctl() == -EIO);
	drop_file("sysctl");
	CHECK(odfork_sysctl() == -ENOENT);
}

static void sysctl_old(void *arg)
{
	(void)arg;
	old_kernel();
	put_file("sysctl", "1\n");	/* not looked at */
	CHECK(odfork_sysctl() == -ENOSYS);
	drop_file("sysctl");
}

/* Why odfork() falls back */

static void reason_patched(void *arg)
{
	(void)arg;
	patched_kernel();
	put_file("sysctl", "1\n");
	errno = 4242;
	CHECK(odfork_fallback_reason() == ODFORK_REASON_NONE);
	CHECK(errno == 4242);
	put_file("sysctl", "2\n");
	CHECK(odfork_fallback_reason() == ODFORK_REASON_NONE);
	put_file("sysctl", "0\n");	/* read each time */
	CHECK(odfork_fallback_reason() == ODFORK_REASON_SYSCTL);
	put_file("sysctl", "x\n");
	CHECK(odfork_fallback_reason() == -EIO);
	CHECK(errno == 4242);
	drop_file("sysctl");
	CHECK(odfork_fallback_reason() == -ENOENT);
}

/* No /proc/sys (the probe found no sysctl file): the default applies. */
static void reason_no_sysctl(void *arg)
{
	(void)arg;
	patched_kernel();
	fk.sysctl = 0;
	put_file("sysctl", "0\n");	/* not looked at */
	CHECK(odfork_fallback_reason() == ODFORK_REASON_NONE);
	drop_file("sysctl");
}

static void reason_old(void *arg)
{
	(void)arg;
	old_kernel();
	CHECK(odfork_fallback_reason() == ODFORK_REASON_KERNEL);
	fk.procfs = fk.sysctl = 1;	/* without the prctl: no support */
	CHECK(odfork_fallback_reason() == ODFORK_REASON_KERNEL);
}

/* The variable counts at the first probe, as for odfork_probe(). */
static void reason_forced(void *arg)
{
	(void)arg;
	patched_kernel();
	setenv(ODFORK_ENV_FALLBACK, "1", 1);
	CHECK(odfork_fallback_reason() == ODFORK_REASON_FORCED);
	unsetenv(ODFORK_ENV_FALLBACK);
	CHECK(odfork_fallback_reason() == ODFORK_REASON_FORCED);
	CHECK(atomic_load(&fk.probes) == 0);
}

/* Counters */

#define VMSTAT_ALL \
	"nr_free_pages 1000\n" \
	"odfork_forks 7\n" \
	"odfork_tables_shared 300\n" \
	"odfork_tables_copied 20\n" \
	"odfork_tables_reused 250\n" \
	"odfork_tables_dropped 30\n" \
	"odfork_tables_fallback 4294967295\n" \
	"odfork_tables_unshared_ahead 9\n" \
	"odfork_tables_freed 11\n" \
	"odfork_tables_future 5\n" \
	"thp_fault_alloc 1\n"

#define ALL_COUNTERS	0x1bf	/* all but ODFORK_COUNTER_TABLES_HELD */

struct big_counters {
	struct odfork_counters c;
	unsigned long later[2];		/* fields of a later version */
};

static void counters_patched(void *arg)
{
	struct odfork_counters c;
	struct big_counters big;

	(void)arg;
	patched_kernel();
	put_file("vmstat", VMSTAT_ALL);
	memset(&c, 0xff, sizeof(c));
	errno = 4242;
	CHECK(odfork_read_counters(0, &c, sizeof(c)) == ALL_COUNTERS);
	CHECK(errno == 4242);
	CHECK(c.forks == 7 && c.tables_shared == 300);
	CHECK(c.tables_copied == 20 && c.tables_reused == 250);
	CHECK(c.tables_dropped == 30);
	CHECK(c.tables_fallback == 4294967295ul);
	CHECK(c.tables_unshared_ahead == 9);
	CHECK(c.tables_freed == 11);
	memset(&big, 0xff, sizeof(big));
	CHECK(odfork_read_counters(0, &big.c, sizeof(big)) == ALL_COUNTERS);
	CHECK(big.c.forks == 7 && big.later[0] == 0 && big.later[1] == 0);
	CHECK(odfork_read_counters(0, NULL, sizeof(c)) == -EINVAL);
	/* A program built against the six counters of the first 1.1. */
	CHECK(odfork_read_counters(0, &c, offsetof(struct odfork_counters,
						   tables_held) - 1) == -EINVAL);
	memset(&c, 0xff, sizeof(c));
	CHECK(odfork_read_counters(0, &c, offsetof(struct odfork_counters,
						   tables_held)) ==
	      ALL_COUNTERS);
	CHECK(c.tables_fallback == 4294967295ul && c.tables_held == ~0ul);
	CHECK(odfork_read_counters(-1, &c, sizeof(c)) == -EINVAL);
	/* an older kernel with fewer counters, no newline at the end */
	put_file("vmstat", "odfork_forks 3\nodfork_tables_shared 4");
	memset(&c, 0xff, sizeof(c));
	CHECK(odfork_read_counters(0, &c, sizeof(c)) ==
	      (ODFORK_COUNTER_FORKS | ODFORK_COUNTER_TABLES_SHARED));
	CHECK(c.forks == 3 && c.tables_shared == 4 && c.tables_copied == 0);
	put_file("vmstat", "nr_free_pages 1000\n");
	CHECK(odfork_read_counters(0, &c, sizeof(c)) == -ENOSYS);
	put_file("vmstat", "odfork_forks 18446744073709551616\n");
	CHECK(odfork_read_counters(0, &c, sizeof(c)) == -EIO);
	put_file("vmstat", "odfork_forks 12x\n");
	CHECK(odfork_read_counters(0, &c, sizeof(c)) == -EIO);
	put_file("vmstat", "odfork_forks \n");
	CHECK(odfork_read_counters(0, &c, sizeof(c)) == -EIO);
	drop_file("vmstat");
	CHECK(odfork_read_counters(0, &c, sizeof(c)) == -ENOSYS);
}

/*
 * odfork_counter_name() and odfork_counter_value(): every bit that
 * odfork_read_counters() can return names the /proc line it read and
 * gives its value; nothing else names a counter.
 */
static void counters_by_bit(void *arg)
{
	static const struct {
		unsigned int bit;
		const char *name;
		unsigned long value;
	} want[] = {
		{ ODFORK_COUNTER_FORKS, "odfork_forks", 7 },
		{ ODFORK_COUNTER_TABLES_SHARED, "odfork_tables_shared", 300 },
		{ ODFORK_COUNTER_TABLES_COPIED, "odfork_tables_copied", 20 },
		{ ODFORK_COUNTER_TABLES_REUSED, "odfork_tables_reused", 250 },
		{ ODFORK_COUNTER_TABLES_DROPPED, "odfork_tables_dropped", 30 },
		{ ODFORK_COUNTER_TABLES_FALLBACK, "odfork_tables_fallback",
		  4294967295ul },
		{ ODFORK_COUNTER_TABLES_AHEAD, "odfork_tables_unshared_ahead",
		  9 },
		{ ODFORK_COUNTER_TABLES_FREED, "odfork_tables_freed", 11 },
	};
	struct odfork_counters c;
	unsigned long value;
	unsigned int bit, seen = 0;
	size_t i;

	(void)arg;
	patched_kernel();
	put_file("vmstat", VMSTAT_ALL);
	CHECK(odfork_read_counters(0, &c, sizeof(c)) == ALL_COUNTERS);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		CHECK(strcmp(odfork_counter_name(want[i].bit),
			     want[i].name) == 0);
		value = 0;
		CHECK(odfork_counter_value(&c, sizeof(c), want[i].bit,
					   &value) == 0);
		CHECK(value == want[i].value);
		seen |= want[i].bit;
	}
	CHECK(seen == ALL_COUNTERS);
	CHECK(strcmp(odfork_counter_name(ODFORK_COUNTER_TABLES_HELD),
		     "odfork_tables_held") == 0);
	/* Every other bit, one or several, names nothing. */
	for (bit = 1; bit; bit <<= 1)
		if (!(bit & (ALL_COUNTERS | ODFORK_COUNTER_TABLES_HELD))) {
			CHECK(odfork_counter_name(bit) == NULL);
			CHECK(odfork_counter_value(&c, sizeof(c), bit,
						   &value) == -EINVAL);
		}
	CHECK(odfork_counter_name(0) == NULL);
	CHECK(odfork_counter_name(ODFORK_COUNTER_FORKS |
				  ODFORK_COUNTER_TABLES_SHARED) == NULL);
	/* A structure of an older program: fields beyond it are refused. */
	CHECK(odfork_counter_value(&c, offsetof(struct odfork_counters,
						tables_held),
				   ODFORK_COUNTER_TABLES_FALLBACK, &value) == 0);
	CHECK(odfork_counter_value(&c, offsetof(struct odfork_counters,
						tables_held),
				   ODFORK_COUNTER_TABLES_FREED,
				   &value) == -EINVAL);
	CHECK(odfork_counter_value(NULL, sizeof(c), ODFORK_COUNTER_FORKS,
				   &value) == -EINVAL);
	CHECK(odfork_counter_value(&c, sizeof(c), ODFORK_COUNTER_FORKS,
				   NULL) == -EINVAL);
}

/* Lines longer than the library's buffer are skipped whole. */
static void counters_long_line(void *arg)
{
	char text[1200];
	struct odfork_counters c;

	(void)arg;
	patched_kernel();
	memset(text, 'x', 1000);
	strcpy(text + 1000, " odfork_forks 9\nodfork_tables_shared 5\n");
	put_file("vmstat", text);
	CHECK(odfork_read_counters(0, &c, sizeof(c)) ==
	      ODFORK_COUNTER_TABLES_SHARED);
	CHECK(c.forks == 0 && c.tables_shared == 5);
	memset(text, 'x', 1000);
	strcpy(text + 1000, "\nodfork_forks 9\n");
	put_file("vmstat", text);
	CHECK(odfork_read_counters(0, &c, sizeof(c)) == ODFORK_COUNTER_FORKS);
	CHECK(c.forks == 9);
	drop_file("vmstat");
}

/* Per process: only from a kernel that provides /proc/<pid>/odfork_stat. */
static void counters_pid(void *arg)
{
	struct odfork_counters c;
	char name[32];
	pid_t pid = getpid();

	(void)arg;
	patched_kernel();
	CHECK(odfork_read_counters(pid, &c, sizeof(c)) == -EOPNOTSUPP);
	CHECK(odfork_read_counters(dead_pid(), &c, sizeof(c)) == -ESRCH);
	snprintf(name, sizeof(name), "%d.stat", (int)pid);
	put_file(name, "odfork_forks 2\nodfork_tables_shared 64\n");
	CHECK(odfork_read_counters(pid, &c, sizeof(c)) ==
	      (ODFORK_COUNTER_FORKS | ODFORK_COUNTER_TABLES_SHARED));
	CHECK(c.forks == 2 && c.tables_shared == 64 && c.tables_held == 0);
	put_file(name, "odfork_tables_copied 3\nodfork_tables_held 61\n");
	CHECK(odfork_read_counters(pid, &c, sizeof(c)) ==
	      (ODFORK_COUNTER_TABLES_COPIED | ODFORK_COUNTER_TABLES_HELD));
	CHECK(c.forks == 0 && c.tables_copied == 3 && c.tables_held == 61);
	put_file(name, "");
	CHECK(odfork_read_counters(pid, &c, sizeof(c)) == -EOPNOTSUPP);
	drop_file(name);
}

static void counters_old(void *arg)
{
	struct odfork_counters c;

	(void)arg;
	old_kernel();
	put_file("vmstat", VMSTAT_ALL);	/* not looked at */
	CHECK(odfork_read_counters(0, &c, sizeof(c)) == -ENOSYS);
	CHECK(odfork_read_counters(getpid(), &c, sizeof(c)) == -ENOSYS);
	CHECK(odfork_read_counters(dead_pid(), &c, sizeof(c)) == -ESRCH);
	CHECK(odfork_read_counters(0, &c, 4) == -EINVAL);
	drop_file("vmstat");
}

static void counters_forced(void *arg)
{
	struct odfork_counters c;

	(void)arg;
	patched_kernel();
	setenv(ODFORK_ENV_FALLBACK, "1", 1);
	put_file("vmstat", VMSTAT_ALL);
	CHECK(odfork_read_counters(0, &c, sizeof(c)) == -ENOSYS);
	drop_file("vmstat");
}

/* Hooks: allocation failure leaves earlier registrations working. */
static int hook_runs;

static void count_hook(void *arg)
{
	hook_runs += (int)(intptr_t)arg;
}

static void hooks_enomem(void *arg)
{
	pid_t pid;

	(void)arg;
	old_kernel();
	CHECK(odfork_atfork(NULL, count_hook, NULL, (void *)1) == 0);
	fk.malloc_fail = 1;
	errno = 4242;
	CHECK(odfork_atfork(NULL, count_hook, NULL, (void *)100) == -ENOMEM);
	CHECK(errno == 4242);
	fk.malloc_fail = 0;
	pid = odfork();
	if (pid == 0)
		_exit(0);
	CHECK(pid > 0 && wait_status(pid) == 0);
	CHECK(hook_runs == 1);
	CHECK(odfork_atfork(NULL, count_hook, NULL, (void *)10) == 0);
	pid = odfork();
	if (pid == 0)
		_exit(0);
	CHECK(pid > 0 && wait_status(pid) == 0);
	CHECK(hook_runs == 12);
}

static void *register_one(void *arg)
{
	return (void *)(intptr_t)odfork_atfork(NULL, count_hook, NULL, arg);
}

static void *let_go_later(void *arg)
{
	char c = 'g';

	(void)arg;
	usleep(200000);
	(void)!write(go_fds[1], &c, 1);
	return NULL;
}

/*
 * A fork while another thread registers waits for the registration to
 * finish (the library holds its lock across fork()): the child has the
 * hook, and can register more.
 */
static void hooks_lock_held(void *use_odfork)
{
	pthread_t tid, go;
	void *ret;
	pid_t pid;
	char c;

	old_kernel();
	CHECK(pipe(held_fds) == 0 && pipe(go_fds) == 0);
	atomic_store(&hold_next_lock, 1);
	CHECK(pthread_create(&tid, NULL, register_one, (void *)1) == 0);
	CHECK(read(held_fds[0], &c, 1) == 1);
	CHECK(pthread_create(&go, NULL, let_go_later, NULL) == 0);
	pid = use_odfork ? odfork() : fork();
	if (pid == 0) {
		alarm(10);	/* a deadlock fails as SIGALRM */
		if (odfork_atfork(NULL, count_hook, NULL, (void *)10))
			child_exit(2);
		pid = odfork();
		if (pid == 0)
			_exit(0);
		child_exit(pid > 0 && wait_status(pid) == 0 &&
			   hook_runs == 11 ? 0 : 3);
	}
	CHECK(pid > 0);
	CHECK(wait_status(pid) == 0);
	CHECK(pthread_join(go, NULL) == 0);
	CHECK(pthread_join(tid, &ret) == 0 && ret == NULL);
}

static void test_hooks_lock_held_fork(void **state)
{
	(void)state;
	assert_child_ok(hooks_lock_held, NULL);
}

static void test_hooks_lock_held_odfork(void **state)
{
	(void)state;
	assert_child_ok(hooks_lock_held, (void *)1);
}

/* assert_child_ok(fn, &cases[i]) for each element of the array CASES. */
#define EACH_CASE_OK(fn, cases)						\
	each_case_ok(fn, cases, sizeof(cases) / sizeof((cases)[0]),	\
		     sizeof((cases)[0]))

static void each_case_ok(void (*fn)(void *arg), const void *cases, size_t n,
			 size_t size)
{
	size_t i;

	for (i = 0; i < n; i++)
		assert_child_ok(fn, (char *)cases + i * size);
}

static void test_probe_one_feature(void **state)
{
	(void)state;
	EACH_CASE_OK(probe_one, one_features);
}

static void test_probe_syscall(void **state)
{
	(void)state;
	EACH_CASE_OK(probe_syscall, syscall_cases);
}

static void test_probe_env(void **state)
{
	(void)state;
	EACH_CASE_OK(probe_env, env_cases);
}

static void test_probe_threads_flapping(void **state)
{
	(void)state;
	assert_child_ok(probe_threads, (void *)1);
}

/* A cmocka test test_FN running scenario FN in a child. */
#define SCENARIO(fn)	CHILD_TEST(test_##fn, fn)

SCENARIO(probe_patched)
SCENARIO(probe_old)
SCENARIO(probe_forking_syscall)
SCENARIO(probe_syscall_forced)
SCENARIO(probe_threads)
SCENARIO(odfork_arms_next)
SCENARIO(odfork_old_kernel)
SCENARIO(odfork_arm_fails)
SCENARIO(odfork_fork_fails)
SCENARIO(mode_patched)
SCENARIO(mode_old)
SCENARIO(pid_mode_patched)
SCENARIO(pid_mode_old)
SCENARIO(pidfd_mode_patched)
SCENARIO(pidfd_mode_old)
SCENARIO(sysctl_values)
SCENARIO(sysctl_old)
SCENARIO(hooks_enomem)
SCENARIO(reason_patched)
SCENARIO(reason_no_sysctl)
SCENARIO(reason_old)
SCENARIO(reason_forced)
SCENARIO(counters_patched)
SCENARIO(counters_by_bit)
SCENARIO(counters_long_line)
SCENARIO(counters_pid)
SCENARIO(counters_old)
SCENARIO(counters_forced)

static int cleanup(void **state)
{
	(void)state;
	return rmdir(fake_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_patched),
		cmocka_unit_test(test_probe_old),
		cmocka_unit_test(test_probe_one_feature),
		cmocka_unit_test(test_probe_forking_syscall),
		cmocka_unit_test(test_probe_syscall),
		cmocka_unit_test(test_probe_syscall_forced),
		cmocka_unit_test(test_probe_env),
		cmocka_unit_test(test_probe_threads),
		cmocka_unit_test(test_probe_threads_flapping),
		cmocka_unit_test(test_odfork_arms_next),
		cmocka_unit_test(test_odfork_old_kernel),
		cmocka_unit_test(test_odfork_arm_fails),
		cmocka_unit_test(test_odfork_fork_fails),
		cmocka_unit_test(test_mode_patched),
		cmocka_unit_test(test_mode_old),
		cmocka_unit_test(test_pid_mode_patched),
		cmocka_unit_test(test_pid_mode_old),
		cmocka_unit_test(test_pidfd_mode_patched),
		cmocka_unit_test(test_pidfd_mode_old),
		cmocka_unit_test(test_sysctl_values),
		cmocka_unit_test(test_sysctl_old),
		cmocka_unit_test(test_hooks_enomem),
		cmocka_unit_test(test_reason_patched),
		cmocka_unit_test(test_reason_no_sysctl),
		cmocka_unit_test(test_reason_old),
		cmocka_unit_test(test_reason_forced),
		cmocka_unit_test(test_counters_patched),
		cmocka_unit_test(test_counters_by_bit),
		cmocka_unit_test(test_counters_long_line),
		cmocka_unit_test(test_counters_pid),
		cmocka_unit_test(test_counters_old),
		cmocka_unit_test(test_counters_forced),
		cmocka_unit_test(test_hooks_lock_held_fork),
		cmocka_unit_test(test_hooks_lock_held_odfork),
	};

	if (!mkdtemp(fake_dir))
		return 1;
	unsetenv(ODFORK_ENV_FALLBACK);
	return cmocka_run_group_tests(tests, NULL, cleanup);
}
