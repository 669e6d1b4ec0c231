/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * Private interfaces between the files of libodfork.  Nothing here is
 * exported: the library is built with -fvisibility=hidden and a version
 * script.
 */
#ifndef ODFORK_INTERNAL_H
#define ODFORK_INTERNAL_H

#include <pthread.h>

#include "odfork.h"

/* Paths of the kernel interface. */
#define ODFORK_PROC_SELF	"/proc/self/odfork"
#define ODFORK_PROC_SYSCTL	"/proc/sys/vm/odfork"

/* probe.c: whether ODFORK_ENV_FALLBACK asks for plain fork(). */
int __odfork_fallback_forced(void);

/*
 * hooks.c: hooks registered with odfork_atfork().  odfork() holds a
 * snapshot from __odfork_hooks_get() to __odfork_hooks_put(), in its own
 * stack frame, and runs the hooks of that snapshot.
 */
struct hook_table;

struct odfork_hook_snap {
	const struct hook_table *table;	/* NULL: no hooks */
	unsigned long gen;		/* removals before the snapshot */
	pthread_t thread;
	struct odfork_hook_snap *next;	/* in flight, under hooks_lock */
};

void __odfork_hooks_get(struct odfork_hook_snap *snap);
void __odfork_hooks_put(struct odfork_hook_snap *snap);
void __odfork_hooks_prepare(const struct odfork_hook_snap *snap);
void __odfork_hooks_parent(const struct odfork_hook_snap *snap);
void __odfork_hooks_child(const struct odfork_hook_snap *snap);

#endif /* ODFORK_INTERNAL_H */
