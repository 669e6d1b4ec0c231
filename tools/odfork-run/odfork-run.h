/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * odfork-run.h - declarations shared by the parts of odfork-run
 */
#ifndef ODFORK_RUN_H
#define ODFORK_RUN_H

#include <stddef.h>
#include <sys/types.h>

#define PROG			"odfork-run"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define __noreturn		__attribute__((noreturn))

/*
 * Exit statuses (the program's own status when PROGRAM runs).  Our own
 * failures are 125, as for env(1), nice(1) and timeout(1), so that a
 * script can tell them from PROGRAM's 1 or 2.
 */
#define EXIT_FAIL		125	/* operation failed */
#define EXIT_USAGE		125	/* bad command line */
#define EXIT_CANNOT_EXEC	126	/* PROGRAM found, cannot run */
#define EXIT_NOT_FOUND		127	/* PROGRAM not found */

/* Longest text mode_words() writes, with the NUL. */
#define MODE_WORDS_MAX		64

/* mode.c */
int parse_mode(const char *s, unsigned int *mode);
void mode_words(unsigned int mode, char *buf, size_t len);
const char *reason_text(int reason);

/* pid.c: --pid [--mode MODE] */
int pid_main(pid_t pid, int set, unsigned int mode);

/* status.c: --status */
int status_main(int require);

#endif /* ODFORK_RUN_H */
