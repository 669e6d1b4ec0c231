# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Sourced by tools/demo.sh and tools/test-all.sh: what the user sees while
# they run.  Every line here goes to stderr; the scripts' results (tables)
# go to stdout.
#   plan_resources DISK_GB MEM_GIB   free disk and memory against the need
#   plan_kernel FLAVOUR              will the kernel build from scratch?
#   choose_accel                     KVM if it works, else TCG (exported)
#   step TITLE                       a banner with the elapsed time
#   run_step LOG CMD...              CMD with its stderr in LOG, a progress
#                                    line every PROGRESS_S seconds, the
#                                    log's tail and path when it fails
# The caller sets $top (the repository root) before sourcing this file.
: "${top:?tools/common.sh: set top first}"

# Seconds between two progress lines (the issue asks for one a minute).
PROGRESS_S=${PROGRESS_S:-30}
# The guest's console goes to its serial log, not to the terminal; vm-run.sh
# prints a progress line (into the step's log, shown by run_step).
export ODFORK_VM_CONSOLE=log
export ODFORK_VM_PROGRESS=$PROGRESS_S
common_t0=$SECONDS

# h:mm:ss or m:ss of a number of seconds.
hms() {
	if [ "$1" -ge 3600 ]; then
		printf '%d:%02d:%02d' $(($1 / 3600)) $(($1 % 3600 / 60)) $(($1 % 60))
	else
		printf '%d:%02d' $(($1 / 60)) $(($1 % 60))
	fi
}

say() { echo "$*" >&2; }

step() {
	printf '\n=== [%s] %s\n' "$(hms $((SECONDS - common_t0)))" "$*" >&2
}

# GB free on the file system of $1 (or its nearest existing parent).
free_gb() {
	local d=$1

	while [ ! -e "$d" ]; do d=$(dirname "$d"); done
	df -Pk "$d" | awk 'NR == 2 { printf "%.1f", $4 / 1048576 }'
}

plan_resources() {
	local disk=$1 mem=$2 have_disk have_mem used

	have_disk=$(free_gb "$top/build")
	have_mem=$(awk '/^MemAvailable:/ { printf "%.1f", $2 / 1048576 }' \
		/proc/meminfo)
	used=
	[ -d "$top/build/kernel" ] &&
		used=" (build/kernel already takes $(du -sh "$top/build/kernel" 2>/dev/null | cut -f1))"
	say "  disk:   about $disk GB under $top/build$used; $have_disk GB free"
	say "  memory: about $mem GiB (the QEMU guest and a kernel build); $have_mem GiB available"
	say "  CPUs:   $(nproc) (the times above are for 2)"
	awk -v h="$have_disk" -v n="$disk" 'BEGIN { exit !(h < n) }' &&
		say "  WARNING: less disk free than the run may need"
	awk -v h="$have_mem" -v n="$mem" 'BEGIN { exit !(h < n) }' &&
		say "  WARNING: less memory available than the guest needs"
	return 0
}

# Whether kernel/build.sh FLAVOUR starts from scratch (about 20 minutes on
# 2 cores) or finds an earlier build to update.
plan_kernel() {
	local flavour=$1

	if [ -f "$top/build/kernel/obj-$flavour/vmlinux" ]; then
		say "  the $flavour kernel was built before: only what changed since is rebuilt (seconds to minutes)"
	else
		say "  the $flavour kernel is built from scratch: about 20 minutes on 2 cores"
	fi
}

# ODFORK_VM_ACCEL for every QEMU run below: as the user set it, or what
# tools/kvm-probe.sh finds (it says why when it is TCG).
choose_accel() {
	if [ -z "${ODFORK_VM_ACCEL:-}" ]; then
		ODFORK_VM_ACCEL=$("$top/tools/kvm-probe.sh" --timeout 10)
	fi
	export ODFORK_VM_ACCEL
	say "  QEMU accelerator: $ODFORK_VM_ACCEL"
}

# The progress line of a running step: what the step printed last, or,
# while kernel/build.sh compiles, how many objects it has made.
progress_text() {
	local log=$1 flavour n

	flavour=$(sed -n 's/^build\.sh: building \([a-z]*\) kernel.*/\1/p' \
		"$log" | tail -n 1)
	if [ -n "$flavour" ]; then
		n=$(find "$top/build/kernel/obj-$flavour" -name '*.o' \
			-newer "$log.start" 2>/dev/null | wc -l)
		echo "compiling the $flavour kernel: $n objects so far" \
		     "(a full build makes about 1400)"
		return
	fi
	tail -c 4096 "$log" | tr -d '\r' | grep -av '^[[:space:]]*$' |
		tail -n 1 | tr -cd '[:print:]\t' | cut -c 1-110
}

run_step() {
	local log=$1 pid rc t0=$SECONDS next=$((SECONDS + PROGRESS_S))

	shift
	mkdir -p "$(dirname "$log")"
	: > "$log"
	touch "$log.start"
	"$@" 2>> "$log" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		[ $SECONDS -ge $next ] || continue
		next=$((next + PROGRESS_S))
		say "    [$(hms $((SECONDS - t0)))] $(progress_text "$log")"
	done
	rc=0
	wait "$pid" || rc=$?
	rm -f "$log.start"
	if [ $rc != 0 ]; then
		say "    failed (exit $rc) after $(hms $((SECONDS - t0))); the end of $log:"
		tail -n 15 "$log" | sed 's/^/    | /' >&2
	else
		say "    done in $(hms $((SECONDS - t0))) (log: ${log#"$top"/})"
	fi
	return $rc
}
