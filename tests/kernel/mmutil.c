/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * mmutil.c - helpers of the kernel suite's mm feature tests (mmutil.h)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "mmutil.h"

#define MU_CG_ROOT	"/sys/fs/cgroup"
#define MU_MAX_SAVED	32

uint64_t mu_val(const void *page, unsigned int gen)
{
	uint64_t a = (uint64_t)(uintptr_t)page;

	return (a * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)gen << 48) ^
	       0x00dfca0000000000ULL;
}

void mu_fill(void *p, size_t n, unsigned int gen)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t *w = (uint64_t *)((char *)p + i * MU_PAGE);
		uint64_t v = mu_val(w, gen);

		w[0] = v;
		w[MU_PAGE / 8 - 1] = ~v;
	}
}

int mu_holds(const void *page, unsigned int gen)
{
	const volatile uint64_t *w = page;
	uint64_t v = mu_val(page, gen);

	return w[0] == v && w[MU_PAGE / 8 - 1] == ~v;
}

void mu_check_at(const char *file, int line, const void *p, size_t n,
		 unsigned int gen)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const uint64_t *w =
			(const void *)((const char *)p + i * MU_PAGE);
		unsigned int g;

		if (mu_holds(w, gen))
			continue;
		for (g = 0; g < 64 && !mu_holds(w, g); g++)
			;
		kt_fail(file, line, "page %zu at %p: %#llx/%#llx, want "
			"generation %u, %s %u", i, (const void *)w,
			(unsigned long long)w[0],
			(unsigned long long)w[MU_PAGE / 8 - 1], gen,
			g < 64 ? "holds generation" : "holds no generation <",
			g);
	}
}

/* ------------------------------------------------------------------ */

static void mu_start(struct mu_peer *p, mu_child_fn fn, void *arg, int od)
{
	int down[2], up[2];
	pid_t pid;

	if (pipe2(down, O_CLOEXEC) != 0 || pipe2(up, O_CLOEXEC) != 0)
		kt_fail(__FILE__, __LINE__, "pipe2");
	fflush(NULL);
	pid = od ? kt_odfork(0) : fork();
	if (pid < 0)
		kt_fail(__FILE__, __LINE__, "%s", od ? "odfork" : "fork");
	if (pid == 0) {
		close(down[1]);
		close(up[0]);
		p->pid = 0;
		p->tx = up[1];
		p->rx = down[0];
		fn(p, arg);
		_exit(0);
	}
	close(down[0]);
	close(up[1]);
	p->pid = pid;
	p->tx = down[1];
	p->rx = up[0];
}

void mu_odfork(struct mu_peer *p, mu_child_fn fn, void *arg)
{
	mu_start(p, fn, arg, 1);
}

void mu_fork(struct mu_peer *p, mu_child_fn fn, void *arg)
{
	mu_start(p, fn, arg, 0);
}

void mu_send(struct mu_peer *p, char c)
{
	if (write(p->tx, &c, 1) != 1)
		kt_fail(__FILE__, __LINE__, "send '%c' to %s", c,
			p->pid ? "the child" : "the parent");
}

void mu_wait_at(const char *file, int line, struct mu_peer *p, char c)
{
	char got;
	ssize_t n;

	do
		n = read(p->rx, &got, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		kt_fail(file, line, "waiting for '%c': the %s is gone", c,
			p->pid ? "child" : "parent");
	if (got != c)
		kt_fail(file, line, "waiting for '%c', got '%c'", c, got);
}

void mu_sync(struct mu_peer *p, char c)
{
	mu_send(p, c);
	mu_wait(p, c);
}

int mu_end(struct mu_peer *p)
{
	close(p->tx);
	close(p->rx);
	return kt_wait(p->pid);
}

long long mu_probe_fallback(void)
{
	struct kt_snap a, b;
	pid_t pid;

	kt_snap(&a);
	fflush(NULL);
	pid = kt_odfork(0);
	if (pid < 0)
		kt_fail(__FILE__, __LINE__, "odfork");
	if (pid == 0)
		_exit(0);
	KT_EQ(kt_wait(pid), 0);
	kt_snap(&b);
	KT_EQ(kt_moved(&a, &b, KT_C_SHARED), 0);
	return kt_moved(&a, &b, KT_C_FALLBACK);
}

void mu_thread(pthread_t *th, void *(*fn)(void *), void *arg)
{
	pthread_attr_t at;
	int err;

	KT_EQ(pthread_attr_init(&at), 0);
	KT_EQ(pthread_attr_setstacksize(&at, 256 << 10), 0);
	err = pthread_create(th, &at, fn, arg);
	pthread_attr_destroy(&at);
	if (err) {
		errno = err;
		kt_fail(__FILE__, __LINE__, "pthread_create");
	}
}

/* ------------------------------------------------------------------ */

uint64_t mu_pagemap(pid_t pid, const void *addr)
{
	uint64_t e;

	mu_pagemap_range(pid, addr, 1, &e);
	return e;
}

void mu_pagemap_range(pid_t pid, const void *p, size_t n, uint64_t *e)
{
	char path[64];
	off_t off = (off_t)((uintptr_t)p / MU_PAGE) * 8;
	int fd;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/pagemap");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 ||
	    pread(fd, e, n * sizeof(*e), off) != (ssize_t)(n * sizeof(*e)))
		kt_fail(__FILE__, __LINE__, "read %s at %p", path, p);
	close(fd);
}

size_t mu_count_pm(pid_t pid, const void *p, size_t n, uint64_t bit)
{
	uint64_t *e = calloc(n, sizeof(*e));
	size_t i, cnt = 0;

	KT_ASSERT(e != NULL);
	mu_pagemap_range(pid, p, n, e);
	for (i = 0; i < n; i++)
		cnt += (e[i] & bit) != 0;
	free(e);
	return cnt;
}

/* ------------------------------------------------------------------ */

struct mu_saved {
	char path[160];
	char val[64];
};

static struct mu_saved mu_saved[MU_MAX_SAVED];
static int mu_nsaved;

int mu_get(const char *path, char *buf, size_t size)
{
	char raw[512];
	char *s, *e;
	int n = kt_read_file(path, raw, sizeof(raw));

	if (n < 0)
		return n;
	s = strchr(raw, '[');
	if (s) {
		e = strchr(++s, ']');
	} else {
		s = raw + strspn(raw, " \t\n");
		e = s + strcspn(s, " \t\n");
	}
	if (!e || (size_t)(e - s) >= size)
		return -EINVAL;
	memcpy(buf, s, (size_t)(e - s));
	buf[e - s] = '\0';
	return 0;
}

long long mu_get_num(const char *path)
{
	char buf[64];

	if (mu_get(path, buf, sizeof(buf)) != 0)
		kt_fail(__FILE__, __LINE__, "read %s", path);
	return strtoll(buf, NULL, 10);
}

int mu_save(const char *path)
{
	struct mu_saved *s;

	if (mu_nsaved == MU_MAX_SAVED)
		return -ENOSPC;
	s = &mu_saved[mu_nsaved];
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (mu_get(path, s->val, sizeof(s->val)) != 0)
		return -ENOENT;
	mu_nsaved++;
	return 0;
}

int mu_restore_all(void)
{
	int err = 0;

	while (mu_nsaved > 0) {
		struct mu_saved *s = &mu_saved[--mu_nsaved];
		char now[64];

		if (mu_get(s->path, now, sizeof(now)) == 0 &&
		    strcmp(now, s->val) == 0)
			continue;
		if (kt_write_file(s->path, s->val) != 0) {
			fprintf(stderr, "cannot restore %s = %s\n", s->path,
				s->val);
			err = -1;
		}
	}
	return err;
}

void mu_set_at(const char *file, int line, const char *path,
	       const char *val)
{
	int r = kt_write_file(path, val);

	if (r != 0) {
		errno = -r;
		kt_fail(file, line, "write %s to %s", val, path);
	}
}

double mu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void mu_msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ------------------------------------------------------------------ */

void mu_cg_enter(char *buf, size_t size, const char *name)
{
	struct statfs sf;
	char pid[32];

	if (statfs(MU_CG_ROOT, &sf) != 0 || sf.f_type != CGROUP2_SUPER_MAGIC)
		KT_EQ(mount("none", MU_CG_ROOT, "cgroup2", 0, NULL), 0);
	KT_EQ(kt_write_file(MU_CG_ROOT "/cgroup.subtree_control", "+memory"),
	      0);
	snprintf(buf, size, MU_CG_ROOT "/%s", name);
	if (mkdir(buf, 0755) != 0 && errno != EEXIST)
		kt_fail(__FILE__, __LINE__, "mkdir %s", buf);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(buf + strlen(buf), size - strlen(buf), "/cgroup.procs");
	KT_EQ(kt_write_file(buf, pid), 0);
	*strrchr(buf, '/') = '\0';
}

void mu_cg_remove(const char *dir)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	KT_EQ(kt_write_file(MU_CG_ROOT "/cgroup.procs", pid), 0);
	if (rmdir(dir) != 0)
		kt_fail(__FILE__, __LINE__, "rmdir %s", dir);
}
