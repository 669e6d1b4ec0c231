/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * mmutil.h - helpers of the kernel suite's mm feature tests (swap, thp,
 * ksm, migrate, uffd, mmfeat): page canaries, an on-demand forked peer
 * driven step by step over pipes, pagemap, and global settings saved in
 * the cmocka runner and restored after the group even when a test fails.
 *
 * Canaries: the first and the last word of every page hold
 * mu_val(page address, generation) and its complement, so a page seen at
 * the wrong address, from the wrong process or of the wrong generation
 * is caught.
 */
#ifndef KT_MMUTIL_H
#define KT_MMUTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MU_PAGE		4096UL
#define MU_TABLE	(2UL << 20)
#define MU_PPT		512		/* pages per table */

/* pagemap bits (Documentation/admin-guide/mm/pagemap.rst) */
#define MU_PM_PRESENT	(1ULL << 63)
#define MU_PM_SWAPPED	(1ULL << 62)
#define MU_PM_EXCL	(1ULL << 56)
#define MU_PM_SOFTDIRTY	(1ULL << 55)

uint64_t mu_val(const void *page, unsigned int gen);
/* Write generation gen into the canaries of n pages from p. */
void mu_fill(void *p, size_t n, unsigned int gen);
/* Every one of n pages from p holds generation gen; fails the body. */
#define mu_check(p, n, gen)	mu_check_at(__FILE__, __LINE__, p, n, gen)
void mu_check_at(const char *file, int line, const void *p, size_t n,
		 unsigned int gen);
/* Whether the page holds generation gen. */
int mu_holds(const void *page, unsigned int gen);

/* A process made by the raw odfork(0) syscall, driven over two pipes. */
struct mu_peer {
	pid_t pid;	/* the child, in the parent; 0 in the child */
	int tx;		/* to the other side */
	int rx;		/* from the other side */
};

typedef void (*mu_child_fn)(struct mu_peer *self, void *arg);

/* odfork(0); the child runs fn(self, arg) and exits 0. */
void mu_odfork(struct mu_peer *p, mu_child_fn fn, void *arg);
/* Like mu_odfork() with a classic fork(). */
void mu_fork(struct mu_peer *p, mu_child_fn fn, void *arg);
void mu_send(struct mu_peer *p, char c);
/* Wait for c from the other side; fails the body at EOF (it died). */
#define mu_wait(p, c)		mu_wait_at(__FILE__, __LINE__, p, c)
void mu_wait_at(const char *file, int line, struct mu_peer *p, char c);
/* Both sides: send c, then wait for the same letter back. */
void mu_sync(struct mu_peer *p, char c);
/* Parent: close the pipes and reap the child; its kt_wait() status. */
int mu_end(struct mu_peer *p);

/*
 * The tables an on-demand fork of this process copies classically
 * (odfork_tables_fallback) as it is now: odfork(0) a child that exits at
 * once.  Call it before mapping the region under test, so that an exact
 * fallback count can be expected from a later fork.  Fails the body
 * when the probe shares a table (its exit would leave tables pending).
 */
long long mu_probe_fallback(void);

/* pthread_create() with a stack too small to cover a whole 2 MiB range:
 * its tables are never shared, so the thread never copies one. */
void mu_thread(pthread_t *th, void *(*fn)(void *), void *arg);

/* The pagemap entry of addr in pid (0: this process). */
uint64_t mu_pagemap(pid_t pid, const void *addr);
/* The pagemap entries of n pages from p in pid into e[]. */
void mu_pagemap_range(pid_t pid, const void *p, size_t n, uint64_t *e);
/* How many of n pages from p have bit set in pid's pagemap. */
size_t mu_count_pm(pid_t pid, const void *p, size_t n, uint64_t bit);

/* Global settings (sysfs, procfs): mu_save() in the runner (a group
 * setup) records the current value, mu_restore_all() (the group
 * teardown) writes every saved value back, last saved first. */
int mu_save(const char *path);
int mu_restore_all(void);
/* Read a setting: the [bracketed] choice, or the first word. */
int mu_get(const char *path, char *buf, size_t size);
long long mu_get_num(const char *path);
/* Write a setting in a body; fails the body on error. */
#define mu_set(path, val)	mu_set_at(__FILE__, __LINE__, path, val)
void mu_set_at(const char *file, int line, const char *path,
	       const char *val);

/* Seconds since an arbitrary point, monotonic. */
double mu_now(void);
/* Sleep ms milliseconds. */
void mu_msleep(long ms);

/* Move the calling process into a new cgroup v2 group with the memory
 * controller (mounting cgroup2 when needed); returns its directory in
 * buf.  mu_cg_remove() moves the caller back to the root first. */
void mu_cg_enter(char *buf, size_t size, const char *name);
void mu_cg_remove(const char *dir);

#endif /* KT_MMUTIL_H */
