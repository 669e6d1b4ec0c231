/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/* version.c - run-time version of libodfork */
#include "internal.h"

const char *odfork_version(void)
{
	return ODFORK_VERSION_STRING;
}

int odfork_version_major(void)
{
	return ODFORK_VERSION_MAJOR;
}

int odfork_version_minor(void)
{
	return ODFORK_VERSION_MINOR;
}
