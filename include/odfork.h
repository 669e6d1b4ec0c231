/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * odfork.h - on-demand fork for Linux
 *
 * libodfork asks a kernel carrying the odfork series to share last-level
 * page tables between parent and child at fork(), and falls back to a plain
 * fork() everywhere else.  The child sees exactly fork()'s semantics either
 * way; only the cost of fork() differs.
 *
 * Error convention (one for the whole library):
 *  - odfork() mirrors fork(): it returns -1 and sets errno on failure.
 *  - Every other function that can fail returns a negative errno value
 *    (e.g. -EINVAL) on failure and a non-negative value on success.  These
 *    functions never modify errno.  The possible errors are listed in each
 *    function's man page.
 *  - -ENOSYS means that the probe did not find the kernel interface the
 *    function needs (no kernel support, or ODFORK_ENV_FALLBACK set).
 *    Invalid arguments (-EINVAL) and a process that does not exist
 *    (-ESRCH) are reported first, on any kernel.
 */
#ifndef ODFORK_H
#define ODFORK_H

#include <sys/types.h>

#include "odfork-version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define ODFORK_EXPORT __attribute__((visibility("default")))
#else
#define ODFORK_EXPORT
#endif

/*
 * Kernel interface.  These values are defined by the kernel series
 * (kernel/patches: "fork: add per-process and per-thread on-demand fork
 * modes" for the prctl and modes, "x86: wire up the odfork syscall" for the
 * syscall number) and mirrored here.
 */
#ifndef PR_SET_ODFORK
#define PR_SET_ODFORK		0x4f444601	/* 'O' 'D' 'F' 1 */
#endif
#ifndef PR_GET_ODFORK
#define PR_GET_ODFORK		0x4f444602	/* 'O' 'D' 'F' 2 */
#endif

#ifndef ODFORK_MODE_OFF
#define ODFORK_MODE_OFF		0x0	/* fork() copies page tables */
#define ODFORK_MODE_NEXT	0x1	/* this thread's next fork shares */
#define ODFORK_MODE_PROCESS	0x2	/* every fork of this process shares */
#define ODFORK_MODE_INHERIT	0x4	/* with PROCESS: children and execve keep it */
#endif

/* Feature bits returned by odfork_probe().  The probe never issues the
 * odfork(2) syscall: ODFORK_FEAT_SYSCALL means that the kernel carries the
 * series (its prctl answered) on an architecture where the series wires
 * the syscall up; odfork_probe_syscall() calls it. */
#define ODFORK_FEAT_SYSCALL	(1u << 0)	/* the odfork(2) syscall exists */
#define ODFORK_FEAT_PRCTL	(1u << 1)	/* PR_SET_ODFORK/PR_GET_ODFORK */
#define ODFORK_FEAT_PROCFS	(1u << 2)	/* /proc/<pid>/odfork */
#define ODFORK_FEAT_SYSCTL	(1u << 3)	/* /proc/sys/vm/odfork */

/* Environment variable: when set to a non-empty value other than "0",
 * libodfork behaves as if the kernel had no support (plain fork()). */
#define ODFORK_ENV_FALLBACK	"ODFORK_FORCE_FALLBACK"

/* fork() with on-demand page tables where the kernel supports it.
 * Returns like fork(): the child's pid in the parent, 0 in the child,
 * -1 with errno set on failure. */
ODFORK_EXPORT pid_t odfork(void);

/* Cached probe of the kernel interface: a mask of ODFORK_FEAT_* bits
 * (0 when the kernel lacks support or the fallback is forced). */
ODFORK_EXPORT unsigned int odfork_probe(void);

/* Since 1.1: issue odfork(2) with invalid flags (once; cached) to learn
 * whether this process can call it: 1 when it answered as the series does,
 * 0 otherwise.  It is not issued without the series' prctl, nor when the
 * fallback is forced.  A seccomp filter may kill the process for it. */
ODFORK_EXPORT int odfork_probe_syscall(void);

/* 1 when odfork() will ask the kernel for on-demand sharing, 0 when it
 * is a plain fork() (no kernel support, or fallback forced). */
ODFORK_EXPORT int odfork_available(void);

/* Since 1.1: why odfork() would copy page tables as fork() does:
 * ODFORK_REASON_NONE when it asks the kernel to share and vm.odfork lets
 * it, else the first reason that applies, or -errno when vm.odfork exists
 * but cannot be read. */
#define ODFORK_REASON_NONE	0	/* forks share on request */
#define ODFORK_REASON_FORCED	1	/* ODFORK_ENV_FALLBACK is set */
#define ODFORK_REASON_KERNEL	2	/* the kernel lacks the series */
#define ODFORK_REASON_SYSCTL	3	/* vm.odfork is 0 */
ODFORK_EXPORT int odfork_fallback_reason(void);

/* Since 1.1: the kernel's odfork counters.  pid 0: system-wide, from
 * /proc/vmstat (since boot, all processes); pid > 0: that process's, from
 * /proc/<pid>/odfork_stat where the kernel provides it (-EOPNOTSUPP
 * otherwise).  size is sizeof(*counters); fields may be added at the end
 * in later versions.  Returns the mask of ODFORK_COUNTER_* bits of the
 * counters the kernel provided (the others are 0), or -errno. */
struct odfork_counters {
	unsigned long forks;		/* forks that shared on demand */
	unsigned long tables_shared;	/* PTE tables shared at fork */
	unsigned long tables_copied;	/* shared tables unshared by a copy */
	unsigned long tables_reused;	/* taken back by the last holder */
	unsigned long tables_dropped;	/* given up without a copy */
	unsigned long tables_fallback;	/* copied classically at an odfork */
	unsigned long tables_held;	/* shared tables it maps now (pid > 0) */
	/* since 1.2 */
	unsigned long tables_unshared_ahead; /* by vm.odfork_unshare_ahead */
	/* since 1.3 */
	unsigned long tables_freed;	/* freed by the last holder */
};
#define ODFORK_COUNTER_FORKS		(1u << 0)
#define ODFORK_COUNTER_TABLES_SHARED	(1u << 1)
#define ODFORK_COUNTER_TABLES_COPIED	(1u << 2)
#define ODFORK_COUNTER_TABLES_REUSED	(1u << 3)
#define ODFORK_COUNTER_TABLES_DROPPED	(1u << 4)
#define ODFORK_COUNTER_TABLES_FALLBACK	(1u << 5)
#define ODFORK_COUNTER_TABLES_HELD	(1u << 6)
#define ODFORK_COUNTER_TABLES_AHEAD	(1u << 7)	/* since 1.2 */
#define ODFORK_COUNTER_TABLES_FREED	(1u << 8)	/* since 1.3 */
ODFORK_EXPORT int odfork_read_counters(pid_t pid,
				       struct odfork_counters *counters,
				       size_t size);

/* Since 1.4: the name of the counter with the ODFORK_COUNTER_* bit, as
 * /proc/vmstat and /proc/<pid>/odfork_stat spell it ("odfork_forks", ...),
 * or NULL when bit is not one counter's bit. */
ODFORK_EXPORT const char *odfork_counter_name(unsigned int bit);

/* Since 1.4: *value = the field of *counters (of size bytes, as passed to
 * odfork_read_counters()) that holds the counter with that bit.  0, or
 * -EINVAL when bit is not one counter's bit or its field lies beyond
 * size. */
ODFORK_EXPORT int odfork_counter_value(const struct odfork_counters *counters,
				       size_t size, unsigned int bit,
				       unsigned long *value);

/* Value of sysctl vm.odfork (0, 1 or 2), or -errno. */
ODFORK_EXPORT int odfork_sysctl(void);

/* Mode of the calling thread/process as PR_GET_ODFORK reports it
 * (ODFORK_MODE_* bits), or -errno. */
ODFORK_EXPORT int odfork_get_mode(void);

/* Set the mode (PR_SET_ODFORK).  0 or -errno. */
ODFORK_EXPORT int odfork_set_mode(unsigned int mode);

/* Read / write the mode of another process through /proc/<pid>/odfork.
 * Writing needs ptrace-attach permission over pid. */
ODFORK_EXPORT int odfork_get_pid_mode(pid_t pid);
ODFORK_EXPORT int odfork_set_pid_mode(pid_t pid, unsigned int mode);

/* Since 1.1: the same for the process a pidfd refers to (pidfd_open(2),
 * clone(2) with CLONE_PIDFD): /proc/<pid>/odfork is opened, then the pidfd
 * confirms that the process has not exited, so a reused pid never gets
 * the mode meant for another process.  -EBADF, -EINVAL (not a pidfd) and
 * -ESRCH (exited) come first. */
ODFORK_EXPORT int odfork_get_pidfd_mode(int pidfd);
ODFORK_EXPORT int odfork_set_pidfd_mode(int pidfd, unsigned int mode);

/* Hooks run only around odfork(), with pthread_atfork()'s ordering:
 * prepare hooks in reverse order of registration, parent and child hooks
 * in order of registration.  Any callback may be NULL, not all three.
 * 0 or -errno (-EINVAL, -ENOMEM). */
typedef void (*odfork_hook_fn)(void *arg);
ODFORK_EXPORT int odfork_atfork(odfork_hook_fn prepare, odfork_hook_fn parent,
				odfork_hook_fn child, void *arg);

/* Since 1.1: remove the newest registration of exactly these hooks and
 * argument, waiting until no odfork() of another thread still runs them,
 * so that their code can be unloaded (dlclose()).  0 or -errno (-EINVAL,
 * -ENOENT). */
ODFORK_EXPORT int odfork_atfork_remove(odfork_hook_fn prepare,
				       odfork_hook_fn parent,
				       odfork_hook_fn child, void *arg);

/* Run-time version of the library. */
ODFORK_EXPORT const char *odfork_version(void);
ODFORK_EXPORT int odfork_version_major(void);
ODFORK_EXPORT int odfork_version_minor(void);

#ifdef __cplusplus
}
#endif

#endif /* ODFORK_H */
