/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * counters.c - the odfork counters of the kernel
 *
 * System-wide, the series adds odfork_* lines to /proc/vmstat; per
 * process (since its patch 0022), /proc/<pid>/odfork_stat holds the same
 * "name value" lines and odfork_tables_held.  On a kernel without that
 * file a pid's counters are -EOPNOTSUPP.  Lines the library does not know
 * are skipped and counters the kernel does not have stay 0: the return
 * value says which were read.  A new source is a new path in counters_path().
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define PROC_VMSTAT	"/proc/vmstat"

/* struct odfork_counters as libodfork 1.1 defines it: the least size. */
#define COUNTERS_SIZE_1_1 \
	(offsetof(struct odfork_counters, tables_fallback) + \
	 sizeof(unsigned long))

static const struct {
	const char *name;
	size_t offset;
} counter_names[] = {
	{ "odfork_forks", offsetof(struct odfork_counters, forks) },
	{ "odfork_tables_shared",
	  offsetof(struct odfork_counters, tables_shared) },
	{ "odfork_tables_copied",
	  offsetof(struct odfork_counters, tables_copied) },
	{ "odfork_tables_reused",
	  offsetof(struct odfork_counters, tables_reused) },
	{ "odfork_tables_dropped",
	  offsetof(struct odfork_counters, tables_dropped) },
	{ "odfork_tables_fallback",
	  offsetof(struct odfork_counters, tables_fallback) },
	{ "odfork_tables_held",
	  offsetof(struct odfork_counters, tables_held) },
	{ "odfork_tables_unshared_ahead",
	  offsetof(struct odfork_counters, tables_unshared_ahead) },
	{ "odfork_tables_freed",
	  offsetof(struct odfork_counters, tables_freed) },
};

#define NR_COUNTERS	(sizeof(counter_names) / sizeof(counter_names[0]))

/* A decimal unsigned long, as the kernel prints one. 0 or -EIO. */
static int parse_ulong(const char *s, unsigned long *val)
{
	unsigned long v = 0;

	if (*s < '0' || *s > '9')
		return -EIO;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (ULONG_MAX - (*s - '0')) / 10)
			return -EIO;
		v = v * 10 + (*s - '0');
	}
	if (*s)
		return -EIO;
	*val = v;
	return 0;
}

/*
 * One line without its newline: "name value".  The bit of the counter it
 * sets, 0 for a line that is not ours, or -EIO for a bad value.
 */
static int parse_line(char *line, struct odfork_counters *c)
{
	char *value = strchr(line, ' ');
	unsigned long val;
	size_t i;

	if (!value)
		return 0;
	*value++ = '\0';
	for (i = 0; i < NR_COUNTERS; i++) {
		if (strcmp(line, counter_names[i].name))
			continue;
		if (parse_ulong(value, &val))
			return -EIO;
		*(unsigned long *)((char *)c + counter_names[i].offset) = val;
		return 1 << i;
	}
	return 0;
}

/*
 * The complete lines at buf[0..len), in place; the length of the partial
 * line left at the end, moved to the start of buf.  *mask collects the
 * counters read; -EIO for a bad value.
 */
static int parse_lines(char *buf, size_t len, struct odfork_counters *c,
		       int *mask)
{
	char *line = buf, *nl;
	int ret;

	while ((nl = memchr(line, '\n', buf + len - line))) {
		*nl = '\0';
		ret = parse_line(line, c);
		if (ret < 0)
			return ret;
		*mask |= ret;
		line = nl + 1;
	}
	len = buf + len - line;
	memmove(buf, line, len);
	return len;
}

/* Drop what is left of an overlong line up to its newline. */
static size_t skip_line(char *buf, size_t len, int *skip)
{
	char *nl = memchr(buf, '\n', len);

	if (!nl)
		return 0;
	*skip = 0;
	len -= nl + 1 - buf;
	memmove(buf, nl + 1, len);
	return len;
}

/* Read the counters file at fd; the mask of counters read, or -errno. */
static int read_counters(int fd, struct odfork_counters *c)
{
	char buf[256];
	size_t len = 0;
	ssize_t n;
	int mask = 0, skip = 0, ret;

	for (;;) {
		do
			n = read(fd, buf + len, sizeof(buf) - 1 - len);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += n;
		if (skip)
			len = skip_line(buf, len, &skip);
		ret = parse_lines(buf, len, c, &mask);
		if (ret < 0)
			return ret;
		len = ret;
		if (len == sizeof(buf) - 1) {
			len = 0;	/* a line this long is not ours */
			skip = 1;
		}
	}
	if (skip)
		return mask;
	buf[len] = '\n';	/* a last line without a newline */
	ret = parse_lines(buf, len + 1, c, &mask);
	return ret < 0 ? ret : mask;
}

/* Where the counters of pid (0: the whole system) are; 0 or -errno. */
static int counters_path(pid_t pid, char *buf, size_t size)
{
	if (pid < 0)
		return -EINVAL;
	if (pid > 0 && kill(pid, 0) < 0 && errno == ESRCH)
		return -ESRCH;
	if (!(odfork_probe() & ODFORK_FEAT_PRCTL))
		return -ENOSYS;
	if (pid == 0)
		snprintf(buf, size, "%s", PROC_VMSTAT);
	else
		snprintf(buf, size, "/proc/%d/odfork_stat", (int)pid);
	return 0;
}

/* A missing file: the kernel does not count (for this pid, or at all). */
static int missing(pid_t pid, int err)
{
	if (err != -ENOENT)
		return err;
	if (pid && kill(pid, 0) < 0 && errno == ESRCH)
		return -ESRCH;
	return pid ? -EOPNOTSUPP : -ENOSYS;
}

static int get_counters(pid_t pid, struct odfork_counters *c, size_t size)
{
	struct odfork_counters got;
	char path[40];
	int fd, ret;

	if (!c || size < COUNTERS_SIZE_1_1)
		return -EINVAL;
	ret = counters_path(pid, path, sizeof(path));
	if (ret)
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return missing(pid, -errno);
	memset(&got, 0, sizeof(got));
	ret = read_counters(fd, &got);
	close(fd);
	if (ret == 0)
		ret = pid ? -EOPNOTSUPP : -ENOSYS;
	if (ret < 0)
		return ret;
	/* A caller built against a later, larger structure: zero the rest. */
	memset(c, 0, size);
	memcpy(c, &got, size < sizeof(got) ? size : sizeof(got));
	return ret;
}

int odfork_read_counters(pid_t pid, struct odfork_counters *c, size_t size)
{
	int saved_errno = errno;
	int ret = get_counters(pid, c, size);

	errno = saved_errno;
	return ret;
}

/* The index in counter_names of the counter with this bit, or -1. */
static int counter_index(unsigned int bit)
{
	size_t i;

	for (i = 0; i < NR_COUNTERS; i++)
		if (bit == 1u << i)
			return i;
	return -1;
}

const char *odfork_counter_name(unsigned int bit)
{
	int i = counter_index(bit);

	return i < 0 ? NULL : counter_names[i].name;
}

int odfork_counter_value(const struct odfork_counters *c, size_t size,
			 unsigned int bit, unsigned long *value)
{
	int i = counter_index(bit);

	if (!c || !value || i < 0 ||
	    counter_names[i].offset + sizeof(unsigned long) > size)
		return -EINVAL;
	*value = *(const unsigned long *)((const char *)c +
					  counter_names[i].offset);
	return 0;
}
