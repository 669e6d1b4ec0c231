/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * odfork.c - fork() with on-demand page tables
 *
 * odfork() is libc's fork() with the calling thread's ODFORK_MODE_NEXT
 * armed just before it, so libc's own fork handling (pthread_atfork
 * handlers, malloc locks, the child's thread id) is exactly fork()'s.  The
 * kernel consumes NEXT on the thread's next fork that copies the mm, also
 * when that fork fails, so nothing has to be disarmed afterwards.  (Were
 * libc's fork() to fail before reaching the kernel, NEXT would stay armed
 * for the thread's next fork: sharing never changes semantics.)
 *
 * The fallback is the same code without the prctl: with no kernel support,
 * with the fallback forced, or when arming fails, odfork() is fork().  There
 * is no difference visible to the caller; under vm.odfork=0 the kernel
 * itself copies page tables classically.
 */
#include <errno.h>
#include <unistd.h>
#include <sys/prctl.h>

#include "internal.h"

/*
 * Failure is ignored on purpose: the fork below then copies page tables
 * classically, which has the same semantics.
 */
static void arm_next(void)
{
	prctl(PR_SET_ODFORK, (unsigned long)ODFORK_MODE_NEXT, 0UL, 0UL, 0UL);
}

/*
 * Hooks registered while odfork() runs, by a hook or by another thread, take
 * effect from the next odfork(): one snapshot serves all three phases.
 * errno is fork()'s on return, whatever the hooks or the prctl did.
 */
pid_t odfork(void)
{
	struct odfork_hook_snap snap;
	int saved_errno = errno;
	pid_t pid;

	__odfork_hooks_get(&snap);
	__odfork_hooks_prepare(&snap);
	if (odfork_available())
		arm_next();
	errno = saved_errno;
	pid = fork();
	saved_errno = errno;
	if (pid == 0)
		__odfork_hooks_child(&snap);
	else
		__odfork_hooks_parent(&snap);
	__odfork_hooks_put(&snap);
	errno = saved_errno;
	return pid;
}
