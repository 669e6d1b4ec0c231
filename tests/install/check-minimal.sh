#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# check-minimal.sh SOURCE
#
# The library and odfork-run build from SOURCE with every optional
# dependency turned off (meson setup -Dauto_features=disabled), as on a
# machine with only a C compiler, meson and ninja, and without -Werror
# being forced on a distribution.  The build goes to a scratch directory.
# The meson command is $MESON, or meson from PATH.
set -eu

src=$1
MESON=${MESON:-meson}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "FAIL: $*" >&2
	[ -f "$tmp/log" ] && tail -n 40 "$tmp/log" >&2
	exit 1
}

"$MESON" setup -Dauto_features=disabled -Dtests=false "$tmp/b" "$src" \
	>"$tmp/log" 2>&1 || fail "meson setup -Dauto_features=disabled"
"$MESON" introspect --buildoptions "$tmp/b" >"$tmp/options"
grep -q '"name": "werror", "value": false' "$tmp/options" ||
	fail "werror is not off by default"
"$MESON" compile -C "$tmp/b" -j 2 >"$tmp/log" 2>&1 ||
	fail "the minimal build failed"
for f in lib/libodfork.so.1 lib/libodfork.a tools/odfork-run/odfork-run; do
	[ -e "$tmp/b/$f" ] || fail "$f was not built"
done
if command -v readelf >/dev/null &&
   readelf -d "$tmp/b/tools/odfork-run/odfork-run" | grep -q 'libcap'; then
	fail "odfork-run links libcap with -Dlibcap=disabled"
fi
"$tmp/b/tools/odfork-run/odfork-run" --version >"$tmp/log" 2>&1 ||
	fail "the minimal odfork-run does not run"
echo "PASS: library and odfork-run built with -Dauto_features=disabled"
