#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# The main job: build libodfork and the kernel series, boot the kernel in
# QEMU and show fork() vs odfork() on a process with a large heap, with the
# /proc/vmstat counters that say what the kernel did.
# Run as root on Debian 12 from the repository root: tools/demo.sh [MIB]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build/meson
mib=${1:-256}
cd "$top"

tools/install-deps.sh
[ -f "$build/build.ninja" ] || meson setup "$build" "$top"
ninja -C "$build"
kernel=$(kernel/build.sh debug)

run=$build/tools/odfork-run/odfork-run
demo=$build/tools/demo/odfork-demo
kernel/vm-run.sh --kernel "$kernel" --timeout 1200 -- "
	echo; $run --status; echo
	echo '--- vm.odfork=1 (default): odfork() asks for on-demand tables'
	$demo $mib 5
	echo '--- vm.odfork=0: sharing disabled, odfork() copies like fork()'
	echo 0 > /proc/sys/vm/odfork
	$demo $mib 5
"
