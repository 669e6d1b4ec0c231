/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * status.c - odfork-run --status: kernel support, vm.odfork, our mode and
 * the odfork_* counters of /proc/vmstat
 */
#include <stdio.h>
#include <string.h>

#include <odfork.h>

#include "odfork-run.h"

#define LABEL	"%-17s"

static void print_support(void)
{
	static const struct {
		unsigned int bit;
		const char *word;
	} feats[] = {
		{ ODFORK_FEAT_SYSCALL,	"syscall" },
		{ ODFORK_FEAT_PRCTL,	"prctl" },
		{ ODFORK_FEAT_PROCFS,	"procfs" },
		{ ODFORK_FEAT_SYSCTL,	"sysctl" },
	};
	unsigned int feat = odfork_probe();
	const char *sep = "";
	size_t i;

	printf(LABEL, "kernel support:");
	if (!feat)
		printf("none");
	for (i = 0; i < ARRAY_SIZE(feats); i++) {
		if (feat & feats[i].bit) {
			printf("%s%s", sep, feats[i].word);
			sep = " ";
		}
	}
	if (fallback_forced())
		printf(" (fallback forced by %s)", ODFORK_ENV_FALLBACK);
	putchar('\n');
}

static void print_sysctl(void)
{
	static const char *const meaning[] = {
		"never share: forks copy page tables",
		"share when asked: odfork(), or the next/process modes",
		"every fork shares",
	};
	int val = odfork_sysctl();

	printf(LABEL, "vm.odfork:");
	if (val < 0)
		printf("not available (%s)\n", strerror(-val));
	else
		printf("%d (%s)\n", val, val <= 2 ? meaning[val] : "unknown");
}

static void print_own_mode(void)
{
	char words[MODE_WORDS_MAX];
	int mode = odfork_get_mode();

	printf(LABEL, "mode:");
	if (mode < 0) {
		printf("not available (%s)\n", strerror(-mode));
		return;
	}
	mode_words(mode, words, sizeof(words));
	printf("%s (%d)\n", words, mode);
}

static void print_counters(void)
{
	char line[256];
	int found = 0;
	FILE *f;

	f = fopen("/proc/vmstat", "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "odfork_", strlen("odfork_")))
			continue;
		if (!found++)
			printf("counters:\n");
		printf("  %s", line);
	}
	if (f)
		fclose(f);
	if (!found)
		printf(LABEL "not available\n", "counters:");
}

int status_main(void)
{
	print_support();
	print_sysctl();
	print_own_mode();
	print_counters();
	return 0;
}
