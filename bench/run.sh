#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# fork vs odfork latency by memory size, in one run of the bench kernel
# under QEMU (see README.md).  Prints a markdown summary on stdout and
# writes fork-latency.csv and fork-latency.md into the results directory.
#
#   bench/run.sh [options]
#     --quick          sizes 64M,256M,1G and 5 runs
#     --sizes LIST     sizes (default: 64M,256M,1G,2G)
#     --runs N         forks per mode and size, >= 5 (default: 7)
#     --kernel PATH    bzImage (default: build it with kernel/build.sh bench)
#     --build DIR      meson build directory (default: build/meson)
#     --results DIR    where the results go (default: bench/results)
#     --timeout SEC    the whole VM run (default: 3600)
#
# Fails when the kernel has no odfork(2); warns when odfork did not share
# page tables (odfork_tables_shared did not move).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
sizes=
runs=
quick=0
kernel=
build=$top/build/meson
results=$here/results
timeout=3600
out=$top/build/vm/bench
log=$top/build/vm/bench-serial.log

die() { echo "run.sh: error: $*" >&2; exit 1; }

usage() {
	sed -n '8,15p' "$0" >&2
	exit 2
}

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		--quick) quick=1; shift ;;
		--sizes) sizes=$2; shift 2 ;;
		--runs) runs=$2; shift 2 ;;
		--kernel) kernel=$2; shift 2 ;;
		--build) build=$2; shift 2 ;;
		--results) results=$2; shift 2 ;;
		--timeout) timeout=$2; shift 2 ;;
		*) usage ;;
		esac
	done
	if [ $quick = 1 ]; then
		sizes=${sizes:-64M,256M,1G}
		runs=${runs:-5}
	fi
	sizes=${sizes:-64M,256M,1G,2G}
	runs=${runs:-7}
	case $sizes in
	*[!0-9KMGTkmgt,]*|'') die "bad --sizes '$sizes'" ;;
	esac
	case $runs in
	*[!0-9]*|'') die "bad --runs '$runs'" ;;
	esac
	[ "$runs" -ge 5 ] || die "--runs must be at least 5"
}

# Guest memory: the largest size plus 2 GiB for the kernel and the rest,
# at least 3 GiB.
guest_mem() {
	echo "$sizes" | tr ',' '\n' | awk '
		BEGIN { mib["K"] = 1 / 1024; mib["M"] = 1; mib["G"] = 1024
			mib["T"] = 1048576 }
		{
			u = toupper(substr($0, length($0)))
			m = $0 * (u in mib ? mib[u] : 1 / 1048576)
			if (m > max)
				max = m
		}
		END {
			max = int(max + 2048.5)
			print (max < 3072 ? 3072 : max) "M"
		}'
}

build_userspace() {
	[ -f "$build/build.ninja" ] || meson setup "$build" "$top" >&2
	ninja -C "$build" bench/fork-latency >&2
	[ -x "$build/bench/fork-latency" ] ||
		die "no fork-latency in $build/bench"
	build=$(cd "$build" && pwd)
}

# The command the guest runs (sh -e, in the repository root).
guest_command() {
	local vmout=/run/odfork-out
	cat <<-EOF
	if [ ! -e /proc/sys/vm/odfork ]; then
		echo 'run.sh: this kernel has no odfork (no vm.odfork)' >&2
		exit 3
	fi
	echo 1 > /proc/sys/vm/odfork
	uname -rv > $vmout/uname
	# The CSV goes to the guest's tmpfs first: writing to the 9p share
	# pins user pages (zero-copy), and a process that ever pinned pages
	# forks classically (MMF_HAS_PINNED, see odfork(7)).
	'$build/bench/fork-latency' --sizes '$sizes' --runs '$runs' \\
		--csv /tmp/fork-latency.csv --table --require-odfork
	cp /tmp/fork-latency.csv $vmout/fork-latency.csv
	EOF
}

run_vm() {
	local rc=0

	mkdir -p "$out"
	rm -f "$out/fork-latency.csv" "$out/uname"
	echo "run.sh: $kernel, sizes $sizes, $runs runs, guest memory" \
		"$(guest_mem)" >&2
	"$top/kernel/vm-run.sh" --kernel "$kernel" --mem "$(guest_mem)" \
		--out "$out" --log "$log" --timeout "$timeout" \
		-- "$(guest_command)" >&2 || rc=$?
	case $rc in
	0) ;;
	3) die "$kernel has no odfork(2): build it with kernel/build.sh bench" ;;
	*) die "the VM run failed (exit $rc), see $log" ;;
	esac
	[ -s "$out/fork-latency.csv" ] || die "the guest wrote no CSV"
}

# The markdown summary of CSV file $1.
summarize() {
	awk -F, -v kernel="$kernel" -v uname="$(cat "$out/uname")" '
	function size(b) {
		if (b % 1073741824 == 0) return b / 1073741824 " GiB"
		if (b % 1048576 == 0) return b / 1048576 " MiB"
		if (b % 1024 == 0) return b / 1024 " KiB"
		return b " B"
	}
	function cell(v) {
		return v == "" ? "-" : v
	}
	function ratio(a, b) {
		return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2f", a / b)
	}
	NR == 1 { next }
	{
		if (!(($2) in seen)) { seen[$2] = 1; order[++n] = $2 }
		min[$1, $2] = $4; med[$1, $2] = $5; shared[$1, $2] = $7
		# The 64 KiB baseline (first) may have nothing to share.
		if ($1 == "odfork" && $7 == "no sharing" && $2 != order[1])
			nosharing = 1
		if ($1 == "fork")
			runs = $3
	}
	END {
		print "## fork vs odfork latency"
		print ""
		print "Kernel `" uname "` (" kernel "), QEMU TCG, 4 KiB pages,"
		print runs " forks per mode and size; microseconds from the call"
		print "to its return in the parent."
		print ""
		print "| size | fork min | fork median | odfork min | odfork median" \
		      " | fork/odfork (median) | fork/odfork (min)" \
		      " | tables shared per odfork |"
		print "|---|---:|---:|---:|---:|---:|---:|---:|"
		for (i = 1; i <= n; i++) {
			s = order[i]
			printf "| %s%s | %s | %s | %s | %s | %s | %s | %s |\n",
				size(s), i == 1 ? " (empty)" : "",
				cell(min["fork", s]), cell(med["fork", s]),
				cell(min["odfork", s]), cell(med["odfork", s]),
				ratio(med["fork", s], med["odfork", s]),
				ratio(min["fork", s], min["odfork", s]),
				shared["odfork", s]
		}
		lo = order[2]; hi = order[2]
		for (i = 3; i <= n; i++) {
			if (order[i] + 0 < lo + 0) lo = order[i]
			if (order[i] + 0 > hi + 0) hi = order[i]
		}
		if (n > 2 && lo != hi) {
			print ""
			printf "odfork(%s) / odfork(%s): %s (medians), %s (mins)\n",
				size(hi), size(lo),
				ratio(med["odfork", hi], med["odfork", lo]),
				ratio(min["odfork", hi], min["odfork", lo])
		}
		if (nosharing) {
			print ""
			print "**No sharing**: odfork_tables_shared did not move" \
			      " during the odfork runs marked \"no sharing\":"
			print "this kernel copied the page tables, so those odfork" \
			      " times are not on-demand fork."
		}
	}' "$1"
}

main() {
	parse_args "$@"
	cd "$top"
	build_userspace
	if [ -z "$kernel" ]; then
		kernel=$(kernel/build.sh bench)
	fi
	[ -r "$kernel" ] || die "no kernel at $kernel"
	run_vm
	mkdir -p "$results"
	cp "$out/fork-latency.csv" "$results/fork-latency.csv"
	summarize "$results/fork-latency.csv" | tee "$results/fork-latency.md"
	# Rows 2 and 3 are the 64 KiB baseline.
	if tail -n +4 "$results/fork-latency.csv" | grep -q ',no sharing$'; then
		echo "run.sh: warning: odfork did not share page tables" >&2
	fi
	echo "run.sh: results in $results" >&2
}

main "$@"
