#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# check-symbols.sh SHARED STATIC LIST MAPFILE
#
# The dynamic symbols the shared library SHARED defines (name@@VERSION,
# and the version nodes) are exactly those in LIST, LIST names exactly the
# globals of MAPFILE, and the static library STATIC defines exactly the
# same global names (nothing internal leaks into programs linked
# statically).  A missing LIST is a failure: add or remove exports on
# purpose.
set -eu

lib=$1 static=$2 list=$3 map=$4
if [ ! -r "$list" ]; then
	echo "check-symbols: symbol list $list is missing" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$lib" | awk '{ print $NF }' | LC_ALL=C sort >"$tmp/lib"
if ! diff -u "$list" "$tmp/lib"; then
	echo "check-symbols: $lib exports differ from $list" >&2
	exit 1
fi

sed -n 's/@.*//p' "$list" | LC_ALL=C sort >"$tmp/list"
sed -n '/^global:/,/^local:/s/^[[:space:]]*\([A-Za-z_0-9]*\);$/\1/p' "$map" |
	LC_ALL=C sort -u >"$tmp/map"
if ! diff -u "$tmp/list" "$tmp/map"; then
	echo "check-symbols: $map and $list disagree" >&2
	exit 1
fi

# Global symbols defined in the archive (T, D, B, R, ... in upper case).
nm -g --defined-only "$static" | awk 'NF == 3 { print $3 }' |
	LC_ALL=C sort >"$tmp/static"
if ! diff -u "$tmp/list" "$tmp/static"; then
	echo "check-symbols: $static defines other globals than $list" >&2
	exit 1
fi
echo "check-symbols: $(wc -l <"$tmp/list") symbols as listed, in both libraries"
