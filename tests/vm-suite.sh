#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Runs inside the test VM (see kernel/vm-run.sh): the meson test suite(s)
# given, from the host's build tree, which is read-only here.  Logs go to a
# tmpfs over the build's meson-logs and are copied to the shared directory.
#   tests/vm-suite.sh BUILDDIR SUITE...
set -e
build=$1
shift
out=/run/odfork-out
mkdir -p "$build/meson-logs" 2>/dev/null || true
mount -t tmpfs tmpfs "$build/meson-logs"
rc=0
for suite in "$@"; do
	meson test -C "$build" --no-rebuild --print-errorlogs \
		--suite "$suite" || rc=1
	cp "$build/meson-logs/testlog.json" "$out/testlog-$suite.json"
	cp "$build/meson-logs/testlog.txt" "$out/testlog-$suite.txt"
done
exit $rc
