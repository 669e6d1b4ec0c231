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
#include <signal.h>
#include <stdio.h>
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

static int read_int(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd, val, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
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

static int write_uint(const char *path, unsigned int val)
{
	char buf[16];
	ssize_t n;
	int fd, len, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
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
