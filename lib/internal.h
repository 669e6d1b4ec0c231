/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * Private interfaces between the files of libodfork.  Nothing here is
 * exported: the library is built with -fvisibility=hidden and a version
 * script.
 */
#ifndef ODFORK_INTERNAL_H
#define ODFORK_INTERNAL_H

#include "odfork.h"

/* Paths of the kernel interface. */
#define ODFORK_PROC_SELF	"/proc/self/odfork"
#define ODFORK_PROC_SYSCTL	"/proc/sys/vm/odfork"

/* probe.c: whether ODFORK_ENV_FALLBACK asks for plain fork(). */
int __odfork_fallback_forced(void);

/* hooks.c: hooks registered with odfork_atfork(). */
struct odfork_hook;

const struct odfork_hook *__odfork_hooks_snapshot(void);
void __odfork_hooks_prepare(const struct odfork_hook *last);
void __odfork_hooks_parent(const struct odfork_hook *last);
void __odfork_hooks_child(const struct odfork_hook *last);

#endif /* ODFORK_INTERNAL_H */
