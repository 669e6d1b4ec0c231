/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * Kernel constants that are not in the public header.  Their home is the
 * kernel series' uapi; they are mirrored here for older system headers.
 */
#ifndef ODFORK_SYSCALL_H
#define ODFORK_SYSCALL_H

#include <sys/syscall.h>

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

#endif /* ODFORK_SYSCALL_H */
