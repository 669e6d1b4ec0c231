/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * Kernel constants that are not in the public header.  Their home is the
 * kernel series' uapi; they are mirrored here for older system headers.
 */
#ifndef ODFORK_SYSCALL_H
#define ODFORK_SYSCALL_H

#include <errno.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * From "x86: wire up the odfork syscall".  The series wires up x86_64 only
 * (not x32): on any other architecture __NR_odfork stays undefined and the
 * probe reports no syscall.
 */
#ifndef __NR_odfork
#if defined(__x86_64__) && !defined(__ILP32__)
#define __NR_odfork	500
#endif
#endif

/* odfork_syscall_check(): the syscall forked, so it is not odfork(2). */
#define ODFORK_SYSCALL_FORKED	(-1)

/*
 * Call odfork(2) with flags it must reject with EINVAL without forking,
 * and say what the kernel answered: 0 when the syscall is odfork(2),
 * ODFORK_SYSCALL_FORKED when it forked (some other syscall under that
 * number: the child leaves at once and is reaped), else the errno
 * (ENOSYS: no such syscall, also where __NR_odfork is not defined).
 * The one probe of the syscall for the library, the benchmarks and the
 * kernel suite.
 */
static inline int odfork_syscall_check(void)
{
#ifdef __NR_odfork
	long ret = syscall(__NR_odfork, (long)~0u);
	int err = errno;

	if (ret == 0)
		_exit(0);
	if (ret > 0) {
		while (waitpid((pid_t)ret, NULL, 0) < 0 && errno == EINTR)
			;
		return ODFORK_SYSCALL_FORKED;
	}
	return err == EINVAL ? 0 : err;
#else
	return ENOSYS;
#endif
}

#endif /* ODFORK_SYSCALL_H */
