#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# check-header.sh LIBRARY CC [CXX] -- CFLAGS...
#
# odfork.h compiles as strict C89 and C99, and as C++98 and C++17 (linked
# against LIBRARY, which catches a missing extern "C").  Without a C++
# compiler the C part runs and the test reports a skip.
set -eu

lib=$1 cc=$2 cxx=$3
shift 3
[ "$1" = -- ] && shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/t.c" <<'EOT'
#include <odfork.h>
#include <odfork.h>

int main(void)
{
	pid_t (*f)(void) = odfork;
	unsigned int (*probe)(void) = odfork_probe;
	int (*get)(void) = odfork_get_mode;
	int (*set)(unsigned int) = odfork_set_mode;
	int (*pget)(pid_t) = odfork_get_pid_mode;
	int (*pset)(pid_t, unsigned int) = odfork_set_pid_mode;
	int (*hooks)(odfork_hook_fn, odfork_hook_fn, odfork_hook_fn, void *) =
		odfork_atfork;
	const char *(*version)(void) = odfork_version;
	int (*probe_syscall)(void) = odfork_probe_syscall;
	int (*reason)(void) = odfork_fallback_reason;
	int (*fdget)(int) = odfork_get_pidfd_mode;
	int (*fdset)(int, unsigned int) = odfork_set_pidfd_mode;
	int (*unhook)(odfork_hook_fn, odfork_hook_fn, odfork_hook_fn, void *) =
		odfork_atfork_remove;
	int (*counters)(pid_t, struct odfork_counters *, size_t) =
		odfork_read_counters;
	const char *(*counter_name)(unsigned int) = odfork_counter_name;
	int (*counter_value)(const struct odfork_counters *, size_t,
			     unsigned int, unsigned long *) = odfork_counter_value;
	struct odfork_counters c;
	unsigned int bits = ODFORK_COUNTER_FORKS | ODFORK_COUNTER_TABLES_SHARED |
		ODFORK_COUNTER_TABLES_COPIED | ODFORK_COUNTER_TABLES_REUSED |
		ODFORK_COUNTER_TABLES_DROPPED | ODFORK_COUNTER_TABLES_FALLBACK;
	int reasons[4] = { ODFORK_REASON_NONE, ODFORK_REASON_FORCED,
		ODFORK_REASON_KERNEL, ODFORK_REASON_SYSCTL };
	unsigned int feat = ODFORK_FEAT_SYSCALL | ODFORK_FEAT_PRCTL |
		ODFORK_FEAT_PROCFS | ODFORK_FEAT_SYSCTL;
	unsigned int mode = ODFORK_MODE_OFF | ODFORK_MODE_NEXT |
		ODFORK_MODE_PROCESS | ODFORK_MODE_INHERIT;
	long opts[2] = { PR_SET_ODFORK, PR_GET_ODFORK };

	(void)f; (void)probe; (void)get; (void)set; (void)pget; (void)pset;
	(void)hooks; (void)version; (void)probe_syscall; (void)feat;
	(void)reason; (void)fdget; (void)fdset; (void)unhook; (void)counters; (void)bits; (void)reasons;
	(void)counter_name; (void)counter_value;
	c.forks = c.tables_shared = c.tables_copied = c.tables_reused = 0;
	c.tables_dropped = c.tables_fallback = 0;
	(void)c; (void)mode; (void)opts;
	if (!ODFORK_CHECK_VERSION(ODFORK_VERSION_MAJOR, ODFORK_VERSION_MINOR))
		return 1;
	return odfork_available() + odfork_sysctl() + odfork_version_major() +
		odfork_version_minor() > 1000 ? 1 : 0;
}
EOT
cp "$tmp/t.c" "$tmp/t.cc"

warn="-Wall -Wextra -Werror -pedantic-errors -Wundef -Wshadow"
for std in c89 c99; do
	echo "check-header: $cc -std=$std"
	$cc -std=$std $warn -Wstrict-prototypes "$@" -c "$tmp/t.c" \
		-o "$tmp/t.o"
done
$cc "$tmp/t.o" "$lib" -o "$tmp/t"

if [ -z "$cxx" ]; then
	echo "check-header: no C++ compiler, C++ not checked"
	exit 77
fi
for std in c++98 c++17; do
	echo "check-header: $cxx -std=$std"
	$cxx -std=$std $warn "$@" -c "$tmp/t.cc" -o "$tmp/t.o"
	$cxx "$tmp/t.o" "$lib" -o "$tmp/t"
done
