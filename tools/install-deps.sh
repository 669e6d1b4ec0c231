#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Install the Debian 12 packages that building, testing and demonstrating
# odfork need.  Safe to run again; skips apt when everything is present.
set -euo pipefail

pkgs=(
	# userspace build and tests
	build-essential meson ninja-build pkg-config libcmocka-dev libcap-dev
	liburing-dev valgrind groff man-db util-linux
	# the kernel's mm selftests (tests/selftests)
	libnuma-dev
	# kernel source and build
	linux-source-6.12 bc bison flex libelf-dev libssl-dev cpio xz-utils
	kmod rsync patch git
	# the VM
	qemu-system-x86 busybox-static
	# bench/steps redis, afl, sqlite (workloads in the guest)
	redis-server redis-tools afl++ libsqlite3-dev
	# tests/stress (stress-ng in the guest, ext4 scratch on zram)
	stress-ng e2fsprogs
	# bench/report.sh: the plots
	gnuplot-nox
)

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
echo "install-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
