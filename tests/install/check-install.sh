#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# check-install.sh BUILD SOURCE VERSION PREFIX LIBDIR INCLUDEDIR BINDIR
#                  MANDIR CC
#
# What a developer gets from "meson install": installs BUILD into a scratch
# DESTDIR (meson install --no-rebuild), checks that the headers, libraries,
# pkg-config file, odfork-run and every man page of SOURCE/man are there,
# then compiles examples/test-harness and a small program against the
# installed tree with nothing but "pkg-config --cflags --libs libodfork"
# (the C compiler CC, a command line), and runs them and the installed
# odfork-run with LD_LIBRARY_PATH pointing into DESTDIR.  The *DIR
# arguments are meson's options (relative ones are under PREFIX).
#
# Writes only under a temporary directory, which it removes, except for
# BUILD/meson-logs/install-log.txt, which meson install always rewrites:
# the previous one (read by "ninja uninstall") is put back afterwards.
# The meson command is $MESON, or meson from PATH.  $EXTRA_CFLAGS are added
# to the compiler's command line (sanitizer flags of a sanitized build).

if [ $# -ne 9 ]; then
	echo "usage: $0 BUILD SOURCE VERSION PREFIX LIBDIR INCLUDEDIR" \
	     "BINDIR MANDIR CC" >&2
	exit 1
fi
BUILD=$1 SOURCE=$2 VERSION=$3 PREFIX=$4
CC=$9
MESON=${MESON:-meson}

# An install directory option as an absolute path.
absdir() {
	case $1 in
	/*) echo "$1" ;;
	*) echo "$PREFIX/$1" ;;
	esac
}
LIBDIR=$(absdir "$5")
INCDIR=$(absdir "$6")
BINDIR=$(absdir "$7")
MANDIR=$(absdir "$8")

T=$(mktemp -d) || exit 1
D=$T/destdir
LOG=$BUILD/meson-logs/install-log.txt
[ -f "$LOG" ] && cp -p "$LOG" "$T/install-log.saved"
cleanup() {
	if [ -f "$T/install-log.saved" ]; then
		cp -p "$T/install-log.saved" "$LOG"
	else
		rm -f "$LOG"
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

fail() {
	echo "FAIL: $*" >&2
	for f in "$T"/*.out; do
		[ -s "$f" ] && { echo "--- $f:"; cat "$f"; } >&2
	done
	exit 1
}

# run NAME CMD...: run it, output in $T/NAME.out; fail if it fails.
run() {
	name=$1
	shift
	"$@" >"$T/$name.out" 2>&1 || fail "$name: '$*' exited with $?"
}

run install "$MESON" install -C "$BUILD" --no-rebuild --quiet --destdir "$D"
rm -f "$T/install.out"

# Everything a developer needs, all reported at once when missing.
missing=
need() {
	case $missing in *"
  $1"*) return ;; esac
	[ -e "$D$1" ] || missing="$missing
  $1"
}
need "$INCDIR/odfork.h"
need "$INCDIR/odfork-version.h"
need "$LIBDIR/libodfork.so"
need "$LIBDIR/libodfork.so.1"
need "$LIBDIR/libodfork.a"
need "$LIBDIR/pkgconfig/libodfork.pc"
need "$BINDIR/odfork-run"
need "$MANDIR/man1/odfork-run.1"
need "$MANDIR/man3/odfork.3"
for page in "$SOURCE"/man/*.[1-8]; do
	[ -e "$page" ] || continue
	name=${page##*/}
	need "$MANDIR/man${name##*.}/$name"
done
[ -z "$missing" ] || fail "not installed under $D:$missing"
echo "installed: headers, libodfork, libodfork.pc, odfork-run," \
     "$(find "$D$MANDIR" -type f | wc -l) man pages"

# pkg-config sees only the installed libodfork.pc and prefixes DESTDIR.
PKG_CONFIG_LIBDIR=$D$LIBDIR/pkgconfig
PKG_CONFIG_PATH=
PKG_CONFIG_SYSROOT_DIR=$D
PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1
PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
export PKG_CONFIG_LIBDIR PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR \
	PKG_CONFIG_ALLOW_SYSTEM_CFLAGS PKG_CONFIG_ALLOW_SYSTEM_LIBS
run modversion pkg-config --modversion libodfork
[ "$(cat "$T/modversion.out")" = "$VERSION" ] ||
	fail "pkg-config says version $(cat "$T/modversion.out"), not $VERSION"
run flags pkg-config --cflags --libs libodfork
FLAGS=$(cat "$T/flags.out")
rm -f "$T/flags.out" "$T/modversion.out"
echo "pkg-config --cflags --libs libodfork: $FLAGS"

cat >"$T/hello.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <odfork.h>

#if !ODFORK_CHECK_VERSION(1, 0)
#error "odfork-version.h is older than 1.0"
#endif

int main(void)
{
	int status;
	pid_t pid;

	if (strcmp(odfork_version(), ODFORK_VERSION_STRING)) {
		printf("headers %s, library %s\n", ODFORK_VERSION_STRING,
		       odfork_version());
		return 1;
	}
	printf("libodfork %s, probe 0x%x\n", odfork_version(),
	       odfork_probe());
	fflush(stdout);
	pid = odfork();
	if (pid == 0)
		_exit(42);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 42 ? 0 : 1;
}
EOF

# $CC and $FLAGS are command lines: split them into words.
# shellcheck disable=SC2086
CFLAGS="-Wall -Wextra -Werror ${EXTRA_CFLAGS:-}"
# shellcheck disable=SC2086
run cc-hello $CC $CFLAGS -o "$T/hello" "$T/hello.c" $FLAGS
# shellcheck disable=SC2086
run cc-harness $CC $CFLAGS -o "$T/test-harness" \
	"$SOURCE/examples/test-harness/test-harness.c" $FLAGS
rm -f "$T"/cc-*.out

LD_LIBRARY_PATH=$D$LIBDIR
export LD_LIBRARY_PATH
if command -v ldd >/dev/null; then
	run ldd ldd "$T/test-harness"
	grep -q "libodfork.so.1 => $D$LIBDIR/" "$T/ldd.out" ||
		fail "test-harness does not load libodfork from $D$LIBDIR"
	rm -f "$T/ldd.out"
fi
run hello "$T/hello"
cat "$T/hello.out"
run harness "$T/test-harness" --mib 4 --runs 1
grep -q "0 of 5 tests failed" "$T/harness.out" ||
	fail "test-harness did not pass its tests"
run odfork-run "$D$BINDIR/odfork-run" --version
grep -q "$VERSION" "$T/odfork-run.out" ||
	fail "installed odfork-run --version does not say $VERSION"
echo "PASS: built and ran hello and examples/test-harness against $D"
