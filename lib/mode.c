/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * mode.c - the odfork modes (prctl and /proc/<pid>/odfork) and vm.odfork
 *
 * Every function returns a negative errno value on failure and leaves errno
 * alone.  -ENOSYS means the probe did not find the interface, because the
 * kernel lacks it or because ODFORK_FORCE_FALLBACK is set.  Arguments are
 * checked first, so -EINVAL and -ESRCH do not depend on kernel support.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>

#include "internal.h"

/* The kernel's rule: one of OFF, NEXT or PROCESS; INHERIT only with PROCESS. */
static int mode_valid(unsigned int mode)
{
	return mode == ODFORK_MODE_OFF || mode == ODFORK_MODE_NEXT ||
	       mode == ODFORK_MODE_PROCESS ||
	       mode == (ODFORK_MODE_PROCESS | ODFORK_MODE_INHERIT);
}

/* A decimal integer, optionally followed by a newline, as the kernel writes. */
static int parse_int(const char *s, int *val)
{
	long v = 0;

	if (*s < '0' || *s > '9')
		return -EIO;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (*s - '0');
		if (v > INT_MAX)
			return -EIO;
	}
	if (*s == '\n')
		s++;
	if (*s)
		return -EIO;
	*val = v;
	return 0;
}

/* The decimal integer in the file open at fd, which it closes. */
static int read_int_fd(int fd)
{
	char buf[32];
	ssize_t n;
	int val, ret;

	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	buf[n] = '\0';
	ret = parse_int(buf, &val);
	if (!ret)
		ret = val;
out:
	close(fd);
	return ret;
}

static int read_int(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : read_int_fd(fd);
}

/* Write val in decimal to the file open at fd, which it closes. */
static int write_uint_fd(int fd, unsigned int val)
{
	char buf[16];
	ssize_t n;
	int len, ret = 0;

	len = snprintf(buf, sizeof(buf), "%u\n", val);
	do
		n = write(fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		ret = -errno;
	else if (n != len)
		ret = -EIO;
	close(fd);
	return ret;
}

static int write_uint(const char *path, unsigned int val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	return fd < 0 ? -errno : write_uint_fd(fd, val);
}

static int get_mode(void)
{
	int ret;

	if (!(odfork_probe() & ODFORK_FEAT_PRCTL))
		return -ENOSYS;
	ret = prctl(PR_GET_ODFORK, 0UL, 0UL, 0UL, 0UL);
	return ret < 0 ? -errno : ret;
}

int odfork_get_mode(void)
{
	int saved_errno = errno;
	int ret = get_mode();

	errno = saved_errno;
	return ret;
}

static int set_mode(unsigned int mode)
{
	if (!mode_valid(mode))
		return -EINVAL;
	if (!(odfork_probe() & ODFORK_FEAT_PRCTL))
		return -ENOSYS;
	if (prctl(PR_SET_ODFORK, (unsigned long)mode, 0UL, 0UL, 0UL) < 0)
		return -errno;
	return 0;
}

int odfork_set_mode(unsigned int mode)
{
	int saved_errno = errno;
	int ret = set_mode(mode);

	errno = saved_errno;
	return ret;
}

/*
 * Where /proc/<pid>/odfork cannot be used: -ESRCH when there is no such
 * process, -ENOSYS when the kernel (or the forced fallback) lacks the file.
 */
static int pid_missing(pid_t pid)
{
	return kill(pid, 0) < 0 && errno == ESRCH ? -ESRCH : -ENOSYS;
}

/* Path of /proc/<pid>/odfork, or a negative errno when it cannot be used. */
static int pid_path(pid_t pid, char *buf, size_t size)
{
	if (pid <= 0)
		return -EINVAL;
	if (!(odfork_probe() & ODFORK_FEAT_PROCFS))
		return pid_missing(pid);
	snprintf(buf, size, "/proc/%d/odfork", (int)pid);
	return 0;
}

/* The file exists while the process does: ENOENT means it is gone. */
static int pid_errno(int err)
{
	return err == -ENOENT ? -ESRCH : err;
}

int odfork_get_pid_mode(pid_t pid)
{
	char path[32];
	int saved_errno = errno;
	int ret;

	ret = pid_path(pid, path, sizeof(path));
	if (!ret)
		ret = pid_errno(read_int(path));
	errno = saved_errno;
	return ret;
}

int odfork_set_pid_mode(pid_t pid, unsigned int mode)
{
	char path[32];
	int saved_errno = errno;
	int ret = -EINVAL;

	if (mode_valid(mode))
		ret = pid_path(pid, path, sizeof(path));
	if (!ret)
		ret = pid_errno(write_uint(path, mode));
	errno = saved_errno;
	return ret;
}

int odfork_sysctl(void)
{
	int saved_errno = errno;
	int ret = -ENOSYS;

	if (odfork_probe() & ODFORK_FEAT_SYSCTL)
		ret = read_int(ODFORK_PROC_SYSCTL);
	errno = saved_errno;
	return ret;
}

/*
 * The pid of the process that pidfd refers to, from the "Pid:" line of its
 * fdinfo: -EBADF when pidfd is not open, -EINVAL when it is not a pidfd,
 * -ESRCH when the process has been reaped (-1) or lives in a pid namespace
 * that is not ours (0).
 */
static int pidfd_pid(int pidfd)
{
	char path[40], buf[1024], *line;
	ssize_t n;
	long pid;
	int fd;

	if (pidfd < 0)
		return -EBADF;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -EBADF : -errno;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	line = strstr(buf, "\nPid:");
	if (!line || sscanf(line + 5, "%ld", &pid) != 1)
		return -EINVAL;
	return pid > 0 && pid <= INT_MAX ? (int)pid : -ESRCH;
}

/* Whether the process of pidfd has not exited: its pidfd is not readable. */
static int pidfd_alive(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	int ret;

	do
		ret = poll(&p, 1, 0);
	while (ret < 0 && errno == EINTR);
	return ret == 0;
}

/*
 * Open /proc/<pid>/odfork of the process of pidfd, then check that the
 * process is still alive: its pid cannot have been reused before it is
 * reaped, so the file opened is that process's.  The fd, or -errno.
 */
static int pidfd_open_mode(int pidfd, int flags)
{
	char path[32];
	int pid = pidfd_pid(pidfd);
	int fd;

	if (pid < 0)
		return pid;
	if (!(odfork_probe() & ODFORK_FEAT_PROCFS))
		return pidfd_alive(pidfd) ? -ENOSYS : -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/odfork", pid);
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return pid_errno(-errno);
	if (!pidfd_alive(pidfd)) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}

int odfork_get_pidfd_mode(int pidfd)
{
	int saved_errno = errno;
	int ret = pidfd_open_mode(pidfd, O_RDONLY);

	if (ret >= 0)
		ret = read_int_fd(ret);
	errno = saved_errno;
	return ret;
}

int odfork_set_pidfd_mode(int pidfd, unsigned int mode)
{
	int saved_errno = errno;
	int ret = -EINVAL;

	if (mode_valid(mode))
		ret = pidfd_open_mode(pidfd, O_WRONLY);
	if (ret >= 0)
		ret = write_uint_fd(ret, mode);
	errno = saved_errno;
	return ret;
}
