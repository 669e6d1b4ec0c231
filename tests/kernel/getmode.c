/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * kt-getmode - print PR_GET_ODFORK of the calling thread, as a decimal
 * number and a newline ("-<errno>" when the prctl fails).
 *
 * The kernel suite execs it to see what execve() did to the modes.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/prctl.h>

#include <odfork.h>

int main(void)
{
	int r = prctl(PR_GET_ODFORK, 0UL, 0UL, 0UL, 0UL);

	printf("%d\n", r < 0 ? -errno : r);
	return fflush(stdout) == 0 ? 0 : 1;
}
