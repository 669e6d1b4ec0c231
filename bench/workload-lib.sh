# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
# shellcheck shell=bash
#
# Sourced by the host scripts of the workload benchmarks (bench/redis,
# bench/afl, bench/sqlite): the options they share, building what the guest
# runs, and booting the bench kernel with kernel/vm-run.sh.
#
# The sourcing script sets NAME (e.g. "redis") before sourcing, then calls
# wl_option for each option it does not know itself.  Shared options:
#     --quick          the small variant (the script says what it shrinks)
#     --kernel PATH    bzImage (default: kernel/build.sh bench builds or
#                      finds it up to date)
#     --build DIR      meson build directory (default: build/meson)
#     --results DIR    where the results go (default: bench/results)
#     --timeout SEC    the whole VM run (default: the script's)
#     --log FILE       serial log (default: build/vm/NAME-serial.log)
#     --out DIR        directory shared with the guest (default:
#                      build/vm/NAME)
# The results are named NAME, or NAME-quick for --quick, so that a quick
# run does not overwrite the full one.

wl_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$wl_here")
quick=0
kernel=
build=$top/build/meson
results=$wl_here/results
timeout=
log=
out=

die() { echo "$NAME: error: $*" >&2; exit 1; }

# wl_option ARGS...: parse one shared option; sets wl_shift to the number
# of arguments it took, or returns 1 for an unknown one.
wl_option() {
	wl_shift=2
	case $1 in
	--quick) quick=1; wl_shift=1 ;;
	--kernel) kernel=${2:?} ;;
	--build) build=${2:?} ;;
	--results) results=${2:?} ;;
	--timeout) timeout=${2:?} ;;
	--log) log=${2:?} ;;
	--out) out=${2:?} ;;
	*) return 1 ;;
	esac
	[ $# -ge "$wl_shift" ] || return 1
}

# wl_number NAME VALUE: VALUE must be a positive integer.
wl_number() {
	case $2 in
	''|*[!0-9]*|0) die "bad $1 '$2'" ;;
	esac
}

# The file name of the results: NAME or NAME-quick.
wl_result_name() {
	if [ "$quick" = 1 ]; then
		echo "$NAME-quick"
	else
		echo "$NAME"
	fi
}

# wl_need_programs PROG...: the guest runs the host's programs.
wl_need_programs() {
	local p

	for p in "$@"; do
		command -v "$p" >/dev/null ||
			die "$p is missing: run tools/install-deps.sh"
	done
}

# wl_build TARGET...: build meson targets (paths in the build directory).
wl_build() {
	[ -f "$build/build.ninja" ] || meson setup "$build" "$top" >&2
	ninja -C "$build" "$@" >&2
	build=$(cd "$build" && pwd)
}

wl_kernel() {
	if [ -z "$kernel" ]; then
		kernel=$(cd "$top" && kernel/build.sh bench)
	fi
	[ -r "$kernel" ] || die "no kernel at $kernel"
	kernel=$(cd "$(dirname "$kernel")" && pwd)/$(basename "$kernel")
}

# wl_run_vm MEM COMMAND: boot the bench kernel and run COMMAND in the guest
# (in the repository root); its output directory is /run/odfork-out there
# and $out here.  Returns COMMAND's exit status; fails when the guest did
# not finish or its log is not clean (vm-run.sh prints why).
wl_run_vm() {
	local rc=0

	out=${out:-$top/build/vm/$NAME}
	log=${log:-$top/build/vm/$NAME-serial.log}
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	echo "$NAME: booting $kernel (guest memory $1, log $log)" >&2
	wl_load_before=$(cut -d' ' -f1 /proc/loadavg)
	"$top/kernel/vm-run.sh" --kernel "$kernel" --mem "$1" --out "$out" \
		--log "$log" --timeout "$timeout" -- "$2" >&2 || rc=$?
	wl_load_after=$(cut -d' ' -f1 /proc/loadavg)
	# vm-run.sh also exits 1 for a log that is not clean: tell them apart.
	if [ $rc -ne 0 ] && { [ ! -s "$out/rc" ] ||
			      [ "$(cat "$out/rc")" != $rc ]; }; then
		die "the VM run failed (exit $rc), see $log"
	fi
	if grep -aqE 'BUG:|WARNING:|Oops|Kernel panic|Bad rss-counter' \
			"$log" 2>/dev/null; then
		die "the guest log is not clean, see $log"
	fi
	return $rc
}

# wl_date: the date of a run, for the tables.
wl_date() {
	date -u +%Y-%m-%d
}

# wl_host_load: a sentence on how busy the host was (other jobs share it).
wl_host_load() {
	echo "Host: $(nproc) CPUs shared with other jobs, 1-minute load" \
	     "average ${wl_load_before:-?} at the start of the run and" \
	     "${wl_load_after:-?} at its end."
}
