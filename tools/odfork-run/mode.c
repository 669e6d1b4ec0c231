/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * mode.c - odfork modes as words and numbers
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <odfork.h>

#include "odfork-run.h"

static const struct {
	const char *word;
	unsigned int mode;
} mode_table[] = {
	{ "off",		ODFORK_MODE_OFF },
	{ "next",		ODFORK_MODE_NEXT },
	{ "process",		ODFORK_MODE_PROCESS },
	{ "process+inherit",	ODFORK_MODE_PROCESS | ODFORK_MODE_INHERIT },
	{ "inherit",		ODFORK_MODE_PROCESS | ODFORK_MODE_INHERIT },
};

/*
 * Parse a mode given on the command line: one of the words above or an
 * integer (decimal, or hex/octal with the C prefix).  The kernel decides
 * whether an integer is a valid mode.  0 or -EINVAL.
 */
int parse_mode(const char *s, unsigned int *mode)
{
	unsigned long val;
	char *end;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(mode_table); i++) {
		if (!strcmp(s, mode_table[i].word)) {
			*mode = mode_table[i].mode;
			return 0;
		}
	}
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	val = strtoul(s, &end, 0);
	if (errno || *end || val > UINT_MAX)
		return -EINVAL;
	*mode = val;
	return 0;
}

static void append_word(char *buf, size_t len, const char *word)
{
	size_t used = strlen(buf);

	snprintf(buf + used, len - used, "%s%s", used ? "+" : "", word);
}

/* "off", or the set bits as words joined by '+', e.g. "process+inherit". */
void mode_words(unsigned int mode, char *buf, size_t len)
{
	unsigned int known = ODFORK_MODE_PROCESS | ODFORK_MODE_INHERIT |
			     ODFORK_MODE_NEXT;
	char unknown[16];

	buf[0] = '\0';
	if (mode == ODFORK_MODE_OFF) {
		append_word(buf, len, "off");
		return;
	}
	if (mode & ODFORK_MODE_PROCESS)
		append_word(buf, len, "process");
	if (mode & ODFORK_MODE_INHERIT)
		append_word(buf, len, "inherit");
	if (mode & ODFORK_MODE_NEXT)
		append_word(buf, len, "next");
	if (mode & ~known) {
		snprintf(unknown, sizeof(unknown), "0x%x", mode & ~known);
		append_word(buf, len, unknown);
	}
}

/*
 * Why forks do not share, as odfork_fallback_reason() says; reason < 0:
 * vm.odfork could not be read.
 */
const char *reason_text(int reason)
{
	switch (reason) {
	case ODFORK_REASON_NONE:
		return "forks share page tables on demand";
	case ODFORK_REASON_FORCED:
		return "on-demand fork disabled by " ODFORK_ENV_FALLBACK;
	case ODFORK_REASON_KERNEL:
		return "kernel has no on-demand fork support";
	case ODFORK_REASON_SYSCTL:
		return "vm.odfork is 0: forks copy tables";
	}
	return "vm.odfork cannot be read";
}
