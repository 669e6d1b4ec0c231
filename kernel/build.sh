#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build an odfork kernel from Debian's linux-source-6.12 and the series in
# kernel/patches.
#
#   kernel/build.sh [--allow-fuzz] [debug|bench]
#                                        build; stdout is the bzImage path only
#   kernel/build.sh --checkpatch         run checkpatch.pl --strict on the series
#   kernel/build.sh --each [debug|bench] [FIRST [LAST]]
#                                        build the whole kernel at every
#                                        prefix of the series (from patch
#                                        FIRST, default 1, to LAST, default
#                                        the last)
#   kernel/build.sh --configs            the other builds: x86-64 with
#                                        CONFIG_ODFORK=n, arm64 (cross), and
#                                        the userland VMA tests (run)
#
# The series must apply with `git am` (no fuzz): a hunk that fuzz places in
# mm/ can be silently wrong.  When Debian's linux-source-6.12 moved and a
# patch no longer applies, the build stops naming the patch; rebase the
# series (kernel/README.md, "Rebasing").  --allow-fuzz applies such a patch
# with patch(1) and fuzz instead, for a quick look only, with a warning.
#
# Everything lives under $ODFORK_KBUILD (default: build/kernel in the
# repository): src/ is a git tree of the pristine source with the series
# applied on top of the "base" tag, obj-<flavour>/ the out-of-tree build.
# A changed series resets src/ to base and re-applies it; make then rebuilds
# only what the changed files touch.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
# shellcheck source=kernel/kconfig.sh
. "$here/kconfig.sh"
kbuild=${ODFORK_KBUILD:-$top/build/kernel}
tarball=${ODFORK_KSRC_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
src=$kbuild/src
jobs=$(nproc)

allow_fuzz=0

log() { echo "build.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

git_src() {
	git -C "$src" -c user.name=odfork-build -c user.email=build@odfork \
		-c core.autocrlf=false "$@"
}

# Extract the tarball into a git tree tagged "base" (once per tarball).
prepare_source() {
	local sum
	[ -r "$tarball" ] || die "$tarball missing: apt-get install linux-source-6.12"
	sum=$(stat -c '%s-%Y' "$tarball")
	if [ -f "$kbuild/tarball.stamp" ] &&
	   [ "$(cat "$kbuild/tarball.stamp")" = "$sum" ] &&
	   git_src rev-parse -q --verify base >/dev/null 2>&1; then
		return
	fi
	log "extracting $tarball"
	rm -rf "$src" "$kbuild"/obj-* "$kbuild/src-each" "$kbuild/series.stamp"
	mkdir -p "$src"
	tar -xf "$tarball" -C "$src" --strip-components=1
	git_src init -q
	git_src add -f -A .
	git_src commit -q -m "pristine $(basename "$tarball")"
	git_src tag base
	echo "$sum" > "$kbuild/tarball.stamp"
}

kernel_version() {
	make -s -C "$src" kernelversion
}

# A fuzzed series is never reused by a later build without --allow-fuzz.
series_hash() {
	(cat "$here"/patches/*.patch 2>/dev/null; echo "fuzz=$allow_fuzz") |
		sha256sum | cut -d' ' -f1
}

# The Debian package version of the source, and the one the series was
# last rebased on (kernel/patches/BASE).
debian_version() {
	dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo unknown
}

rebased_on() {
	cat "$here/patches/BASE" 2>/dev/null || echo unknown
}

# Apply one patch with git am.  If upstream drift moved its context, stop
# naming it, or with --allow-fuzz fall back to patch(1) with fuzz, loudly.
apply_one() {
	local p=$1
	git_src am -q --keep-cr "$p" >&2 2>/dev/null && return
	git_src am --abort >/dev/null 2>&1 || true
	if [ "$allow_fuzz" = 0 ]; then
		git_src reset -q --hard
		git_src clean -q -fdx
		die "$(basename "$p") does not apply to $(kernel_version) without fuzz: rebase the series (kernel/README.md, Rebasing), or --allow-fuzz for a quick look"
	fi
	log "WARNING: $(basename "$p") does not apply cleanly: applying it WITH FUZZ (--allow-fuzz); hunks in mm/ may land in the wrong place"
	if ! patch -d "$src" -p1 -F3 --no-backup-if-mismatch -s < "$p" >&2; then
		git_src reset -q --hard
		git_src clean -q -fdx
		die "patch $(basename "$p") no longer applies to $(kernel_version)"
	fi
	git_src add -f -A .
	git_src commit -q -m "$(basename "$p") (applied with fuzz)"
	echo fuzz > "$kbuild/fuzz.flag"
}

apply_series() {
	local want p n=0
	want=$(series_hash)
	if [ -f "$kbuild/series.stamp" ] &&
	   [ "$(cat "$kbuild/series.stamp")" = "$want" ]; then
		return
	fi
	log "applying the series on $(kernel_version) (Debian $(debian_version); rebased on $(rebased_on))"
	rm -f "$kbuild/fuzz.flag"
	save_mtimes
	git_src reset -q --hard base
	git_src clean -q -fdx
	rm -f "$kbuild/series.stamp"
	for p in "$here"/patches/*.patch; do
		[ -e "$p" ] || continue
		apply_one "$p"
		n=$((n + 1))
	done
	log "$n patches applied"
	restore_mtimes
	echo "$want" > "$kbuild/series.stamp"
	kernel_version > "$kbuild/VERSION"
}

# Re-applying the series rewrites every file it touches.  Give the files
# whose content did not change their old mtime back, so that make rebuilds
# only what the series change really touches.
save_mtimes() {
	local f
	git_src rev-parse HEAD > "$kbuild/old-head"
	git_src diff --name-only base HEAD | while IFS= read -r f; do
		if [ -e "$src/$f" ]; then
			printf '%s\t%s\n' "$(stat -c %Y "$src/$f")" "$f"
		fi
	done > "$kbuild/old-mtimes"
}

restore_mtimes() {
	local old t f
	old=$(cat "$kbuild/old-head")
	while IFS=$'\t' read -r t f; do
		if [ -e "$src/$f" ] &&
		   git_src diff --quiet "$old" HEAD -- "$f"; then
			touch -d "@$t" "$src/$f"
		fi
	done < "$kbuild/old-mtimes"
	rm -f "$kbuild/old-head" "$kbuild/old-mtimes"
}

configure() {
	local flavour=$1 obj=$kbuild/obj-$1 frag want
	frag=$kbuild/$flavour.fragment
	mkdir -p "$obj"
	cat "$here/configs/base.config" "$here/configs/$flavour.config" > "$frag.new"
	want=$( (cat "$frag.new"; cat "$kbuild/series.stamp") | sha256sum)
	if [ -f "$obj/.config" ] && [ -f "$obj/config.stamp" ] &&
	   [ "$(cat "$obj/config.stamp")" = "$want" ]; then
		rm -f "$frag.new"
		return
	fi
	mv "$frag.new" "$frag"
	log "configuring $flavour"
	kconfig "$src" "$obj" "$frag"
	echo "$want" > "$obj/config.stamp"
}

build() {
	local flavour=$1 obj=$kbuild/obj-$1
	configure "$flavour"
	log "building $flavour kernel ($(cat "$kbuild/VERSION"), -j$jobs)"
	make -s -C "$src" O="$obj" -j"$jobs" bzImage
	[ ! -f "$kbuild/fuzz.flag" ] ||
		log "WARNING: this kernel was built from a series applied WITH FUZZ"
	echo "$obj/arch/x86/boot/bzImage" >&3
}

checkpatch() {
	local p rc=0
	for p in "$here"/patches/*.patch; do
		log "checkpatch $(basename "$p")"
		"$src/scripts/checkpatch.pl" --strict --no-tree -q \
			--ignore FILE_PATH_CHANGES "$p" || rc=1
	done
	return $rc
}

# Check that every prefix of the series builds: at each patch, configure
# (CONFIG_ODFORK=y from the first patch on, CONFIG_WERROR=y) and build the
# whole kernel, incrementally.  This runs in a separate work tree
# (src-each, obj-FLAVOUR-each), so that the main one keeps its mtimes;
# checking out one patch after the other changes only the files it touches.
build_each() {
	local flavour=$1 first=$2 last=$3 obj=$kbuild/obj-$1-each
	local wt=$kbuild/src-each c n=0 t total
	[ -d "$wt" ] || git_src worktree add -q --detach "$wt" base
	cat "$here/configs/base.config" "$here/configs/$flavour.config" \
		> "$kbuild/each.fragment"
	echo CONFIG_WERROR=y >> "$kbuild/each.fragment"
	total=$(git_src rev-list --count base..HEAD)
	[ "$last" != 0 ] || last=$total
	[ "$first" -le "$total" ] || die "--each: no patch $first (the series has $total)"
	[ "$last" -le "$total" ] || die "--each: no patch $last (the series has $total)"
	[ "$first" -le "$last" ] || die "--each: FIRST $first is after LAST $last"
	for c in $(git_src rev-list --reverse base..HEAD); do
		n=$((n + 1))
		# Earlier prefixes built before: make rebuilds from what the
		# object directory holds, whichever prefix that was.
		[ "$n" -ge "$first" ] || continue
		[ "$n" -le "$last" ] || break
		t=$(date +%s)
		git -C "$wt" checkout -q "$c"
		# Before 0001 adds CONFIG_ODFORK the symbol does not exist.
		if grep -q '^config ODFORK$' "$wt/mm/Kconfig"; then
			cp "$kbuild/each.fragment" "$kbuild/each.use"
		else
			grep -v '^CONFIG_ODFORK=' "$kbuild/each.fragment" \
				> "$kbuild/each.use"
		fi
		kconfig "$wt" "$obj" "$kbuild/each.use"
		make -s -C "$wt" O="$obj" -j"$jobs" bzImage >&2 ||
			die "series does not build at $n/$total: $(git_src log -1 --format=%s "$c")"
		log "build-each: $n/$total built in $(($(date +%s) - t)) s: $(git_src log -1 --format=%s "$c")"
	done
	log "build-each: the whole $flavour kernel builds at each of patches $first-$last of $total"
}

# The builds besides the debug and bench kernels, from the series' tip:
#  - x86-64 with the feature off (the debug config with CONFIG_ODFORK=n):
#    the series must not change a kernel that does not enable it;
#  - arm64, cross-compiled (configs/arm64.config, where CONFIG_ODFORK does
#    not exist): the generic changes must build on another architecture;
#  - the userland VMA tests (tools/testing/vma), which build mm/vma.c
#    against their own headers, and run them.
build_configs() {
	local obj=$kbuild/obj-off cross=aarch64-linux-gnu- vma=$kbuild/vma-tests

	{ off_fragment "$here/configs"; echo CONFIG_WERROR=y; } > "$kbuild/off.fragment"
	log "configs: x86-64, debug config, CONFIG_ODFORK=n"
	kconfig "$src" "$obj" "$kbuild/off.fragment"
	make -s -C "$src" O="$obj" -j"$jobs" bzImage >&2 ||
		die "the kernel with CONFIG_ODFORK=n does not build"

	command -v "${cross}gcc" >/dev/null ||
		die "${cross}gcc missing: tools/install-deps.sh configs" \
			"(or apt-get install gcc-aarch64-linux-gnu)"
	obj=$kbuild/obj-arm64
	log "configs: arm64 ($(${cross}gcc -dumpversion)), configs/arm64.config"
	kconfig "$src" "$obj" "$here/configs/arm64.config" \
		ARCH=arm64 CROSS_COMPILE=$cross
	make -s -C "$src" O="$obj" ARCH=arm64 CROSS_COMPILE=$cross \
		-j"$jobs" Image >&2 || die "the arm64 kernel does not build"

	# The tests build in the source tree: work on a copy of it.
	log "configs: userland VMA tests (tools/testing/vma)"
	echo '#include <urcu.h>' | cc -E -x c - >/dev/null 2>&1 ||
		die "liburcu missing: tools/install-deps.sh configs" \
			"(or apt-get install liburcu-dev)"
	rm -rf "$vma"
	mkdir -p "$vma"
	git_src archive HEAD tools include mm lib | tar -x -C "$vma"
	make -s -C "$vma/tools/testing/vma" -j"$jobs" >&2 ||
		die "the userland VMA tests do not build"
	"$vma/tools/testing/vma/vma" >&2 || die "the userland VMA tests fail"
	log "configs: CONFIG_ODFORK=n (x86-64), arm64 and the VMA tests build"
}

# One build.sh at a time per tree: another one's apply_series() would
# reset src/ to base under a running make, which then mixes objects of
# base and of the series.  Held on fd 9 to the end of the run; --each
# lets go of it once the series is applied (it builds in its own work
# tree).
lock_kbuild() {
	exec 9> "$kbuild/lock"
	if ! flock -n 9; then
		log "another kernel/build.sh uses $kbuild: waiting for it"
		flock 9
	fi
}

# --each's FIRST and LAST (NAME): a patch number, 1 or more ("0008" is 8).
patch_number() {
	case $2 in
	''|*[!0-9]*) ;;
	*) [ $((10#$2)) -ge 1 ] && return ;;
	esac
	die "--each: $1 must be a patch number (1, 2, ...), not '$2'"
}

main() {
	local mode=build flavour first=1 last=0
	case ${1:-} in
	--checkpatch) mode=checkpatch; shift ;;
	--each) mode=each; shift ;;
	--configs) mode=configs; shift ;;
	-h|--help) sed -n '4,29p' "$0"; exit 0 ;;
	esac
	if [ "${1:-}" = --allow-fuzz ]; then
		allow_fuzz=1
		shift
	fi
	flavour=${1:-debug}
	case $flavour in
	debug|bench) ;;
	*) die "unknown flavour '$flavour' (debug or bench)" ;;
	esac
	if [ $mode = each ] && [ -n "${2:-}" ]; then
		patch_number FIRST "$2"
		first=$((10#$2))
	fi
	if [ $mode = each ] && [ -n "${3:-}" ]; then
		patch_number LAST "$3"
		last=$((10#$3))
	fi
	mkdir -p "$kbuild"
	# checkpatch reads the patch files with the tree's script: the tree
	# need not carry the series, and must not be re-applied under a build.
	if [ $mode = checkpatch ]; then
		[ -x "$src/scripts/checkpatch.pl" ] || { lock_kbuild; prepare_source; }
		checkpatch
		return
	fi
	lock_kbuild
	prepare_source
	apply_series
	case $mode in
	build) build "$flavour" ;;
	each) flock -u 9; build_each "$flavour" "$first" "$last" ;;
	configs) build_configs ;;
	esac
}

# Everything but the image path goes to stderr (fd 3 is the real stdout).
exec 3>&1 1>&2
main "$@"
