/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * status.c - odfork-run --status: one line that says whether forks can
 * share page tables and why not, then kernel support, vm.odfork, our mode
 * and the odfork_* counters of /proc/vmstat
 */
#include <stddef.h>
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
	if (odfork_fallback_reason() == ODFORK_REASON_FORCED)
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

/* The system-wide counters the kernel provides, as /proc/vmstat names them. */
static void print_counters(void)
{
	struct odfork_counters c;
	int mask = odfork_read_counters(0, &c, sizeof(c));
	unsigned long value;
	unsigned int bit;

	if (mask < 0) {
		printf(LABEL "not available\n", "counters:");
		return;
	}
	printf("counters:\n");
	for (bit = 1; bit; bit <<= 1)
		if ((mask & bit) &&
		    !odfork_counter_value(&c, sizeof(c), bit, &value))
			printf("  %s %lu\n", odfork_counter_name(bit), value);
}

/* The verdict line; 1 when forks can share. */
static int print_verdict(void)
{
	int reason = odfork_fallback_reason();

	if (reason == ODFORK_REASON_NONE) {
		printf("odfork: yes: %s\n", reason_text(reason));
		return 1;
	}
	if (reason < 0)
		printf("odfork: unknown: %s (%s)\n", reason_text(reason),
		       strerror(-reason));
	else
		printf("odfork: no: %s\n", reason_text(reason));
	return 0;
}

/* With require: EXIT_FAIL when forks cannot share. */
int status_main(int require)
{
	int ok = print_verdict();

	print_support();
	print_sysctl();
	print_own_mode();
	print_counters();
	return require && !ok ? EXIT_FAIL : 0;
}
