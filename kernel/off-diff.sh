#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What the series changes in a kernel that does not enable it: build the
# objects of the C files the series touches twice with the debug config
# and CONFIG_ODFORK=n, from the pristine source ("base") and from the
# series, and list every function whose machine code differs.
#
#   kernel/off-diff.sh [-v FILE.o FUNCTION]
#     -v   show the instruction diff of one function (after a full run)
#
# Uses the tree of kernel/build.sh (build/kernel/src, run a build first) and
# two work trees under build/kernel/off-diff.  __LINE__ is set to 0 so that
# line numbers (might_sleep(), WARN) do not count as differences; addresses,
# jump offsets and the numbering of local symbols are normalised away.
# "same instructions, other order or registers" means that the multiset of
# instructions, registers aside, is the same: the compiler laid the code
# out differently, the work is the same.  See kernel/README.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
kbuild=${ODFORK_KBUILD:-$(dirname "$here")/build/kernel}
src=$kbuild/src
work=$kbuild/off-diff
jobs=$(nproc)

log() { echo "off-diff.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# shellcheck source=kernel/kconfig.sh
. "$here/kconfig.sh"

# objdump -d of one object, normalised, one function per "<name>:" header.
disasm() {
	objdump -d -r --no-show-raw-insn "$1" | sed -E \
		-e 's/^\s*[0-9a-f]+:\s*//' \
		-e 's/\b[0-9a-f]+ <([^>]*)>/<\1>/g' \
		-e 's/<([^>+]*)\+0x[0-9a-f]+>/<\1+X>/g' \
		-e 's/(R_X86_64_[A-Z0-9_]+\s+)\.(rodata|data|bss)[^ ]*/\1SECTION/' \
		-e 's/[+-]0x[0-9a-f]+$//' \
		-e 's/__(UNIQUE_ID|key|already_done|print_once|warned)[^ ]*/ID/g' \
		-e 's/\.[0-9]+>/>/g' -e 's/(\.[0-9]+)+$//'
}

# Split disasm output of $1 into one file per function under $2.
split_functions() {
	mkdir -p "$2"
	disasm "$1" | (cd "$2" && awk '/^<.*>:$/ { f = $1; gsub(/[<>:]/, "", f) }
				     f { print > f }')
}

# The instructions of a function file as a sorted list, without nops,
# registers and jump kinds.
insn_set() {
	tail -n +2 "$1" | grep -v 'nop\|xchg   %ax,%ax' |
		sed -E -e 's/%[a-z0-9]+/R/g' -e 's/^j[a-z]+ /j /' | sort
}

build_tree() {
	local rev=$2 objs=$3 tree=$work/$1-src obj=$work/obj-$1
	[ -d "$tree" ] || git -C "$src" worktree add -q --detach "$tree" "$rev"
	git -C "$tree" checkout -q --detach "$rev"
	kconfig "$tree" "$obj" "$work/fragment"
	# Objects our config does not build fail: keep going, skip them below.
	# shellcheck disable=SC2086
	make -k -s -C "$tree" O="$obj" -j"$jobs" KCFLAGS=-D__LINE__=0 \
		$objs >/dev/null 2>&1 || true
}

compare() {
	local o f base=$work/obj-base ser=$work/obj-series n=0
	for o in $1; do
		if [ ! -f "$base/$o" ] || [ ! -f "$ser/$o" ]; then
			echo "$o: not in the config, skipped"
			continue
		fi
		rm -rf "$work/fn"
		split_functions "$base/$o" "$work/fn/base"
		split_functions "$ser/$o" "$work/fn/series"
		for f in $( (ls "$work/fn/base"; ls "$work/fn/series") | sort -u); do
			if [ ! -f "$work/fn/base/$f" ]; then
				echo "$o: $f: new"
			elif [ ! -f "$work/fn/series/$f" ]; then
				echo "$o: $f: gone"
			elif ! cmp -s <(tail -n +2 "$work/fn/base/$f") \
				      <(tail -n +2 "$work/fn/series/$f"); then
				if cmp -s <(insn_set "$work/fn/base/$f") \
					  <(insn_set "$work/fn/series/$f"); then
					echo "$o: $f: same instructions, other order or registers"
				else
					echo "$o: $f: differs"
				fi
			else
				continue
			fi
			n=$((n + 1))
		done
	done
	echo "off-diff.sh: $n functions differ with CONFIG_ODFORK=n"
}

main() {
	local objs
	[ -d "$src/.git" ] || die "no $src: run kernel/build.sh first"
	mkdir -p "$work"
	if [ "${1:-}" = -v ]; then
		[ $# = 3 ] || die "usage: $0 -v FILE.o FUNCTION"
		rm -rf "$work/fn"
		split_functions "$work/obj-base/$2" "$work/fn/base"
		split_functions "$work/obj-series/$2" "$work/fn/series"
		diff "$work/fn/base/$3" "$work/fn/series/$3" || true
		exit 0
	fi
	[ $# = 0 ] || die "usage: $0 [-v FILE.o FUNCTION]"
	off_fragment "$here/configs" > "$work/fragment"
	objs=$(git -C "$src" diff --name-only base HEAD -- '*.c' |
	       grep -v '^mm/odfork\.c$' | sed 's/\.c$/.o/')
	echo "off-diff.sh: building $(echo "$objs" | wc -w) objects twice (base, series)" >&2
	build_tree base base "$objs"
	build_tree series "$(git -C "$src" rev-parse HEAD)" "$objs"
	compare "$objs"
}

main "$@"
