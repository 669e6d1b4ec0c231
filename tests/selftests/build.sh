#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Build the kernel's own mm selftests (tools/testing/selftests/mm) of
# Debian's linux-source-6.12, the source the odfork series applies to, out
# of tree:
#   build/selftests/src   the parts of the tarball the build needs, with the
#                         UAPI headers installed in src/usr/include
#   build/selftests/mm    the test programs (make OUTPUT=)
# Run from anywhere: tests/selftests/build.sh.  A second run only remakes
# what changed (the tarball is extracted again when it changed).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
dest=$top/build/selftests
src=$dest/src
out=$dest/mm
jobs=${JOBS:-2}

# What "make headers" and the mm selftests read: the top Makefile and
# Kbuild files, include/, arch/x86 (uapi and asm), scripts/, tools/
# (selftests, tools/include) and the two kernel headers the tests include
# by path.
parts=(Makefile Kbuild Kconfig include arch/x86 scripts tools usr
       mm/gup_test.h lib/test_hmm_uapi.h)

# The programs run-mm.sh runs; the build must produce every one.
expect=(cow gup_test gup_longterm madv_populate mkdirty mremap_test
	mremap_dontunmap ksm_functional_tests ksm_tests uffd-unit-tests
	uffd-stress mlock2-tests mlock-random-test soft-dirty pagemap_ioctl
	migration khugepaged split_huge_page_test transhuge-stress droppable
	mrelease_test map_populate map_fixed_noreplace mdwe_test mseal_test
	seal_elf compaction_test hugepage-mmap hugepage-shm hugepage-mremap
	hugepage-vmemmap map_hugetlb hugetlb-madvise hugetlb_dio
	hugetlb_fault_after_madv hugetlb_madv_vs_map thuge-gen memfd_secret
	virtual_address_range)

log() { echo "selftests/build.sh: $*" >&2; }

[ -r "$tarball" ] || {
	log "no kernel source at $tarball (tools/install-deps.sh installs" \
	    "linux-source-6.12)"
	exit 1
}

# 1. Extract, again only when the tarball changed.
key="$(readlink -f "$tarball") $(stat -c '%s %Y' "$tarball")"
if [ "$(cat "$src/.odfork-extracted" 2>/dev/null)" != "$key" ]; then
	log "extracting $tarball"
	rm -rf "$src" "$out"
	mkdir -p "$src"
	top_dir=$(basename "$tarball" .tar.xz)
	tar -xJf "$tarball" -C "$src" --strip-components=1 \
		"${parts[@]/#/$top_dir/}"
	echo "$key" > "$src/.odfork-extracted"
fi

# 2. Fix what keeps this tarball's selftests from building.  Debian's
# 6.12.y khugepaged.c returns KSFT_SKIP without including kselftest.h
# (a stable backport took the use, not the include).
kh=$src/tools/testing/selftests/mm/khugepaged.c
if grep -q KSFT_SKIP "$kh" && ! grep -q 'kselftest.h' "$kh"; then
	sed -i 's|^#include "vm_util.h"|#include "../kselftest.h"\n&|' "$kh"
fi

# 3. UAPI headers into src/usr/include (what KHDR_INCLUDES points at).
if [ ! -e "$src/usr/include/.odfork-headers" ]; then
	log "installing UAPI headers"
	make -s -C "$src" ARCH=x86 -j"$jobs" headers >&2
	touch "$src/usr/include/.odfork-headers"
fi

# 4. The tests.  No 32-bit protection_keys without gcc-multilib, a warning.
mkdir -p "$out"
make -s -C "$src/tools/testing/selftests/mm" OUTPUT="$out" -j"$jobs" >&2

missing=()
for t in "${expect[@]}"; do
	[ -x "$out/$t" ] || missing+=("$t")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "not built: ${missing[*]}"
	exit 1
fi
echo "$out"
