/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * probe.c - which parts of the odfork kernel interface exist
 *
 * Each feature is probed with a call that a kernel carrying the series
 * answers in a known way and that has no side effect; any other answer
 * (ENOSYS, EINVAL from an old kernel's prctl, EPERM from seccomp, ...) means
 * the feature is absent.  The answer is computed once per process and cached.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "internal.h"
#include "syscall.h"

/* Marks the cache as valid, so that "no features" is cached too. */
#define PROBE_DONE	(1u << 31)

static _Atomic unsigned int probe_cache;

static int fallback_forced(void)
{
	const char *val = getenv(ODFORK_ENV_FALLBACK);

	return val && *val && strcmp(val, "0");
}

/*
 * odfork(2) must reject non-zero flags with EINVAL without forking.  Should
 * some other kernel fork anyway, the child leaves at once and the parent
 * reaps it: the syscall is then not the one we know, so it is absent.
 */
static unsigned int probe_syscall(void)
{
#ifdef __NR_odfork
	long ret = syscall(__NR_odfork, (long)~0u);

	if (ret == 0)
		_exit(0);
	if (ret > 0) {
		while (waitpid(ret, NULL, 0) < 0 && errno == EINTR)
			;
		return 0;
	}
	return errno == EINVAL ? ODFORK_FEAT_SYSCALL : 0;
#else
	return 0;
#endif
}

static unsigned int probe_kernel(void)
{
	unsigned int feat = probe_syscall();

	if (prctl(PR_GET_ODFORK, 0UL, 0UL, 0UL, 0UL) >= 0)
		feat |= ODFORK_FEAT_PRCTL;
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
unsigned int odfork_probe(void)
{
	unsigned int feat = atomic_load(&probe_cache);
	unsigned int none = 0;
	int saved_errno;

	if (feat)
		return feat & ~PROBE_DONE;

	saved_errno = errno;
	feat = PROBE_DONE;
	if (!fallback_forced())
		feat |= probe_kernel();
	if (!atomic_compare_exchange_strong(&probe_cache, &none, feat))
		feat = none;
	errno = saved_errno;
	return feat & ~PROBE_DONE;
}

int odfork_available(void)
{
	return !!(odfork_probe() & ODFORK_FEAT_PRCTL);
}
