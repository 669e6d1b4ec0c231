#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Install the Debian 12 packages that a command of the README needs.  Safe
# to run again; skips apt when everything is present.
#
#   tools/install-deps.sh [test|demo|full|configs] [--list]
#     test    tools/test-all.sh (also --full): build, unit and kernel
#             suites, the mm selftests, stress-ng
#     demo    tools/demo.sh: the bench kernel, the benchmarks, Redis, plots
#     full    both, and what tools/demo.sh --full adds: AFL++ (with its
#             clang) and SQLite (the default)
#     configs kernel/build.sh --configs: the arm64 cross compiler and
#             liburcu for the userland VMA tests
#     --list  print the packages of that set and exit
#
# redis-server is installed without starting its system service (a
# policy-rc.d that denies every start for the time of the install): the
# benchmark starts its own servers.
set -euo pipefail

set_name=full
list=0
for a in "$@"; do
	case $a in
	test|demo|full|configs) set_name=$a ;;
	--list) list=1 ;;
	*) sed -n '7,15p' "$0" >&2; exit 2 ;;
	esac
done

# What every command needs: the userspace build, the kernel build, the VM.
common=(
	build-essential meson ninja-build pkg-config libcap-dev
	linux-source-6.12 bc bison flex libelf-dev libssl-dev cpio xz-utils
	kmod rsync patch git
	qemu-system-x86 busybox-static
)
# tools/test-all.sh: cmocka programs, liburing (kernel suite's GUP tests),
# valgrind, groff and man-db (man page checks), util-linux, libnuma-dev
# (the kernel's mm selftests), stress-ng and e2fsprogs (tests/stress).
test_pkgs=(
	libcmocka-dev liburing-dev valgrind groff man-db util-linux
	libnuma-dev stress-ng e2fsprogs
)
# tools/demo.sh: the Redis step and the plots of bench/report.sh.
demo_pkgs=(redis-server redis-tools gnuplot-nox)
# tools/demo.sh --full: the AFL++ and SQLite steps (afl++ pulls in clang).
full_pkgs=(afl++ libsqlite3-dev)
# kernel/build.sh --configs: arm64 (cross) and tools/testing/vma.
configs_pkgs=(gcc-aarch64-linux-gnu liburcu-dev)

case $set_name in
test) pkgs=("${common[@]}" "${test_pkgs[@]}") ;;
demo) pkgs=("${common[@]}" "${demo_pkgs[@]}") ;;
full) pkgs=("${common[@]}" "${test_pkgs[@]}" "${demo_pkgs[@]}"
	    "${full_pkgs[@]}") ;;
configs) pkgs=("${common[@]}" "${configs_pkgs[@]}") ;;
esac
if [ $list = 1 ]; then
	printf '%s\n' "${pkgs[@]}"
	exit 0
fi

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps.sh: missing packages: ${missing[*]}" >&2
	echo "install-deps.sh: run as root (or install them) first" >&2
	exit 1
fi

# Keep maintainer scripts from starting services (redis-server's): both
# invoke-rc.d and deb-systemd-invoke ask /usr/sbin/policy-rc.d, and 101
# means "not allowed".  An existing policy (containers have one) is left
# as it is.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# tools/install-deps.sh: no service starts\nexit 101\n' \
		> "$policy"
	chmod 755 "$policy"
	trap 'rm -f "$policy"' EXIT
fi

echo "install-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
