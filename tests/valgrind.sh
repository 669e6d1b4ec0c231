#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# valgrind.sh PROGRAM [ARGS...]: the exe_wrapper of "meson test --setup
# valgrind".  Programs run under valgrind; scripts and shells run directly
# (the shell's own leaks are not ours) and find the valgrind command line
# in ODFORK_TEST_WRAPPER for the programs they start.
set -eu

ODFORK_TEST_WRAPPER="valgrind --quiet --error-exitcode=1 --leak-check=full \
--show-leak-kinds=definite --errors-for-leak-kinds=definite \
--trace-children=no --child-silent-after-fork=no"
export ODFORK_TEST_WRAPPER

case ${1##*/} in
sh | bash | dash)
	exec "$@" ;;
esac
if [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; then
	exec $ODFORK_TEST_WRAPPER "$@"
fi
exec "$@"
