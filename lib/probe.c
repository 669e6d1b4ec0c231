/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * probe.c - which parts of the odfork kernel interface exist
 *
 * Each feature is probed with a call that a kernel carrying the series
 * answers in a known way and that has no side effect; any other answer
 * (EINVAL from an old kernel's prctl, EPERM from seccomp, ...) means the
 * feature is absent.  The answer is computed once per process and cached.
 *
 * odfork_probe() never issues the odfork(2) syscall: odfork() does not need
 * it, and an unknown syscall number makes valgrind warn, gets a process
 * killed by a strict seccomp filter, and could be something else on a
 * future kernel.  ODFORK_FEAT_SYSCALL follows from the prctl instead: the
 * series adds both, and wires the syscall up on the architectures that
 * lib/syscall.h names.  odfork_probe_syscall() calls it, when asked to.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>

#include "internal.h"
#include "syscall.h"

/* Marks the cache as valid, so that "no features" is cached too. */
#define PROBE_DONE	(1u << 31)
/* The answer is 0 because ODFORK_ENV_FALLBACK was set at the first call. */
#define PROBE_FORCED	(1u << 30)
#define PROBE_FLAGS	(PROBE_DONE | PROBE_FORCED)

static _Atomic unsigned int probe_cache;

int __odfork_fallback_forced(void)
{
	const char *val = getenv(ODFORK_ENV_FALLBACK);

	return val && *val && strcmp(val, "0");
}

/* The syscall exists wherever the series' prctl does, on these arches. */
static unsigned int syscall_wired(void)
{
#ifdef __NR_odfork
	return ODFORK_FEAT_SYSCALL;
#else
	return 0;
#endif
}

static unsigned int probe_kernel(void)
{
	unsigned int feat = 0;

	if (prctl(PR_GET_ODFORK, 0UL, 0UL, 0UL, 0UL) >= 0)
		feat |= ODFORK_FEAT_PRCTL | syscall_wired();
	if (!access(ODFORK_PROC_SELF, F_OK))
		feat |= ODFORK_FEAT_PROCFS;
	if (!access(ODFORK_PROC_SYSCTL, F_OK))
		feat |= ODFORK_FEAT_SYSCTL;
	return feat;
}

/*
 * Threads racing on the first call may all probe, but the first answer
 * stored wins and every caller returns it.
 */
static unsigned int probe_cached(void)
{
	unsigned int feat = atomic_load(&probe_cache);
	unsigned int none = 0;
	int saved_errno;

	if (feat)
		return feat;

	saved_errno = errno;
	if (__odfork_fallback_forced())
		feat = PROBE_DONE | PROBE_FORCED;
	else
		feat = PROBE_DONE | probe_kernel();
	if (!atomic_compare_exchange_strong(&probe_cache, &none, feat))
		feat = none;
	errno = saved_errno;
	return feat;
}

unsigned int odfork_probe(void)
{
	return probe_cached() & ~PROBE_FLAGS;
}

/*
 * The fallback forced and the kernel's support come from the cached probe,
 * vm.odfork is read each time: it can change at any time.  Without the
 * sysctl file (no /proc/sys) the series' default, 1, applies.
 */
static int fallback_reason(void)
{
	unsigned int feat = probe_cached();
	int val;

	if (feat & PROBE_FORCED)
		return ODFORK_REASON_FORCED;
	if (!(feat & ODFORK_FEAT_PRCTL))
		return ODFORK_REASON_KERNEL;
	if (!(feat & ODFORK_FEAT_SYSCTL))
		return ODFORK_REASON_NONE;
	val = odfork_sysctl();
	if (val < 0)
		return val;
	return val ? ODFORK_REASON_NONE : ODFORK_REASON_SYSCTL;
}

int odfork_fallback_reason(void)
{
	int saved_errno = errno;
	int ret = fallback_reason();

	errno = saved_errno;
	return ret;
}

int odfork_available(void)
{
	return !!(odfork_probe() & ODFORK_FEAT_PRCTL);
}

/* Cached as 1 + the answer, so that 0 means "not probed yet". */
static _Atomic int syscall_cache;

int odfork_probe_syscall(void)
{
	int ret = atomic_load(&syscall_cache);
	int none = 0;
	int saved_errno;

	if (ret)
		return ret - 1;
	saved_errno = errno;
	ret = 1;
	if (!__odfork_fallback_forced() && odfork_probe() & ODFORK_FEAT_PRCTL)
		ret += odfork_syscall_check() == 0;
	if (!atomic_compare_exchange_strong(&syscall_cache, &none, ret))
		ret = none;
	errno = saved_errno;
	return ret - 1;
}
