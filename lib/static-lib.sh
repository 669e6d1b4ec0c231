#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# static-lib.sh OUTPUT INPUT OBJCOPY AR CC...
#
# libodfork.a with the exports of libodfork.so and nothing else: the
# objects of the archive INPUT are linked into one relocatable object
# (CC -r), whose hidden symbols (everything without ODFORK_EXPORT, such as
# the hooks.c functions the other files call) objcopy then makes local.
# A program linked statically can then neither call nor clash with the
# library's internal names.
set -eu

out=$1 in=$2 objcopy=$3 ar=$4
shift 4
case $in in /*) ;; *) in=$PWD/$in ;; esac
case $out in /*) ;; *) out=$PWD/$out ;; esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# meson makes a thin archive of a library it does not install: its
# members are paths relative to the archive.
if [ "$(head -c 7 "$in")" = '!<thin>' ]; then
	objs=$(cd "${in%/*}" && "$ar" t "$in" | sed "s|^[^/]|$PWD/&|")
else
	mkdir "$tmp/x"
	(cd "$tmp/x" && "$ar" x "$in")
	objs=$(ls "$tmp"/x/*.o)
fi
# The object names contain no white space (meson's *.c.o under BUILD).
# shellcheck disable=SC2086
"$@" -r -nostdlib -o "$tmp/libodfork.o" $objs
"$objcopy" --localize-hidden "$tmp/libodfork.o"
rm -f "$out"
"$ar" rcs "$out" "$tmp/libodfork.o"
