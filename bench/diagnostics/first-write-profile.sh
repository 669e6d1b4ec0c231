#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
# Where the first write after odfork() spends its time: perf in the guest
# over first-write-profile.c (see bench/README.md, "Diagnostics").  With
# build/meson built (it builds bench/diagnostics too):
#   kernel/vm-run.sh --kernel build/kernel/obj-bench/arch/x86/boot/bzImage \
#       -- bench/diagnostics/first-write-profile.sh
# Prints the mean first write after fork and odfork, then perf's flat
# profile (self) and the call-graph totals (children) of a run of odfork
# rounds.  perf (linux-perf) comes from the host's root, like everything.
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$top/build/meson/bench/diagnostics/first-write-profile
data=/tmp/first-write.perf
echo -1 > /proc/sys/kernel/perf_event_paranoid
echo 0 > /proc/sys/kernel/kptr_restrict
"$bin" 128M 200 fork
"$bin" 128M 200 odfork
perf record -q -F 10000 -e cpu-clock -a -g -o $data -- "$bin" 128M 1500 odfork
echo "== self"
perf report -i $data --no-children --stdio --sort sym -g none 2>/dev/null |
	grep '%' | head -25
echo "== children"
perf report -i $data --children --stdio --sort sym -g none 2>/dev/null |
	grep '%' | head -40
