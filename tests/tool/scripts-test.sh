#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Tests of the scripts around the VM, with a fake qemu-system-x86_64 (no VM
# is started):
#   vm-run-tee      kernel/vm-run.sh's default: the console on stdout
#   vm-run-log      ODFORK_VM_CONSOLE=log: nothing on stdout, progress
#                   lines and a summary on stderr, same exit statuses
#   vm-run-env      ODFORK_VM_ACCEL reaches QEMU; bad values exit 2
#   kvm-probe       tools/kvm-probe.sh: no device, a guest that exits as
#                   the probe expects, one that fails, one that hangs;
#                   the probe's vCPU model is vm-run.sh's
#   install-deps    the package sets of tools/install-deps.sh --list
#   common          tools/common.sh: step banners, run_step's progress
#                   lines, its report of a failure
#   plans           tools/demo.sh --plan and tools/test-all.sh --plan
#
# Usage: scripts-test.sh TOP CASE.  Exit status: 0 pass, 1 fail.
set -u

top=$1 case=$2
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
status=0

fail() {
	echo "FAIL ($case): $*" >&2
	status=1
}

# expect FILE REGEX: FILE has a line matching REGEX (grep -E).
expect() {
	grep -Eq -- "$2" "$1" || { fail "$1 lacks /$2/:"; sed 's/^/  | /' "$1" >&2; }
}

# expect_not FILE REGEX
expect_not() {
	! grep -Eq -- "$2" "$1" || { fail "$1 has /$2/:"; sed 's/^/  | /' "$1" >&2; }
}

# A fake QEMU: for vm-run.sh, prints console lines over FAKE_SECS seconds,
# an optional WARNING, writes FAKE_RC (unless "none") and an empty dmesg
# into the shared directory; for kvm-probe.sh (-bios), exits FAKE_PROBE
# ("hang": sleeps).  Its arguments go to FAKE_ARGS if set.
mkdir -p "$T/bin"
cat > "$T/bin/qemu-system-x86_64" <<'EOF'
#!/bin/bash
[ -n "${FAKE_ARGS:-}" ] && echo "$*" > "$FAKE_ARGS"
out=
for a in "$@"; do
	case $a in
	-bios)
		[ "${FAKE_PROBE:-85}" = hang ] && exec sleep 60
		exit "${FAKE_PROBE:-85}" ;;
	*mount_tag=odfork-out*) out=${a#local,path=}; out=${out%%,*} ;;
	esac
done
echo "fake qemu: $*"
for ((i = 0; i < ${FAKE_SECS:-1}; i++)); do
	echo "console line $i"
	sleep 1
done
[ -n "${FAKE_BAD:-}" ] && echo "WARNING: CPU: 0 PID: 1 at mm/memory.c"
if [ "${FAKE_RC:-0}" != none ]; then
	echo "${FAKE_RC:-0}" > "$out/rc"
	: > "$out/dmesg"
fi
echo "odfork-vm: command exited"
EOF
chmod +x "$T/bin/qemu-system-x86_64"
touch "$T/bzImage"
export PATH="$T/bin:$PATH"
unset ODFORK_VM_ACCEL ODFORK_VM_CONSOLE ODFORK_VM_PROGRESS

# shellcheck disable=SC2317
vmrun() {
	"$top/kernel/vm-run.sh" --kernel "$T/bzImage" --log "$T/serial.log" \
		--out "$T/out" "$@" -- true > "$T/stdout" 2> "$T/stderr"
}

# expect_rc WANT CMD...
expect_rc() {
	local want=$1 rc

	shift
	"$@"
	rc=$?
	[ "$rc" = "$want" ] || fail "$*: exit $rc, want $want"
}

case $case in
vm-run-tee)
	FAKE_SECS=1 expect_rc 0 vmrun
	expect "$T/stdout" '^console line 0$'
	expect "$T/serial.log" '^console line 0$'
	expect "$T/stdout" '-accel tcg '
	expect_not "$T/stderr" 'vm-run.sh'
	FAKE_RC=7 expect_rc 7 vmrun
	FAKE_BAD=1 expect_rc 1 vmrun
	expect "$T/stderr" 'guest log is not clean'
	FAKE_SECS=4 FAKE_RC=none expect_rc 124 vmrun --timeout 2
	;;
vm-run-log)
	export ODFORK_VM_CONSOLE=log ODFORK_VM_PROGRESS=1
	FAKE_SECS=3 expect_rc 0 vmrun
	[ -s "$T/stdout" ] && fail "stdout not empty in log mode"
	expect "$T/serial.log" '^console line 2$'
	expect "$T/stderr" "console in $T/serial.log"
	expect "$T/stderr" '^vm-run.sh: 0:0[0-9] in the guest: console line'
	expect "$T/stderr" 'guest done in 0:0[0-9], command exit 0, log clean'
	FAKE_RC=7 expect_rc 7 vmrun
	expect "$T/stderr" "failed \(exit 7\).*serial log: $T/serial.log"
	FAKE_BAD=1 expect_rc 1 vmrun
	expect "$T/stderr" 'bad log: .*WARNING: CPU'
	expect "$T/stderr" "failed \(exit 1\).*serial log: $T/serial.log"
	FAKE_SECS=4 FAKE_RC=none expect_rc 124 vmrun --timeout 2
	expect "$T/stderr" "failed \(exit 124\).*serial log"
	;;
vm-run-env)
	ODFORK_VM_ACCEL=kvm expect_rc 0 vmrun
	expect "$T/stdout" '-accel kvm '
	ODFORK_VM_ACCEL=hvf expect_rc 2 vmrun
	ODFORK_VM_CONSOLE=both expect_rc 2 vmrun
	ODFORK_VM_PROGRESS=0 expect_rc 2 vmrun
	;;
kvm-probe)
	probe="$top/tools/kvm-probe.sh"
	: > "$T/kvm"
	[ "$(ODFORK_KVM_DEV=$T/none "$probe" 2> "$T/err")" = tcg ] ||
		fail "no device: not tcg"
	expect "$T/err" "no usable $T/none: QEMU will use TCG"
	[ "$(ODFORK_KVM_DEV=$T/kvm "$probe" 2> "$T/err")" = kvm ] ||
		fail "a guest that exits 85: not kvm"
	[ -s "$T/err" ] && fail "kvm: said something on stderr"
	[ "$(ODFORK_KVM_DEV=$T/kvm FAKE_PROBE=1 "$probe" 2> "$T/err")" = tcg ] ||
		fail "a failing guest: not tcg"
	expect "$T/err" 'probe failed \(exit 1'
	t0=$SECONDS
	[ "$(ODFORK_KVM_DEV=$T/kvm FAKE_PROBE=hang "$probe" --timeout 2 \
		2> "$T/err")" = tcg ] || fail "a hanging guest: not tcg"
	[ $((SECONDS - t0)) -le 8 ] ||
		fail "a hanging guest: took $((SECONDS - t0)) s for --timeout 2"
	expect "$T/err" 'did not finish in 2s'
	expect_rc 2 "$probe" --accel hvf 2> /dev/null
	# The probe runs the vCPU model of the real runs (a host's KVM can
	# refuse -cpu max and run QEMU's default model).
	FAKE_ARGS=$T/run-args expect_rc 0 vmrun
	FAKE_ARGS=$T/probe-args ODFORK_KVM_DEV=$T/kvm "$probe" > /dev/null
	cpu=$(grep -Eo -- '-cpu [^ ]+' "$T/run-args")
	[ -n "$cpu" ] || fail "vm-run.sh passes no -cpu: $(cat "$T/run-args")"
	grep -qF -- "$cpu " "$T/probe-args" ||
		fail "the probe lacks vm-run.sh's '$cpu': $(cat "$T/probe-args")"
	;;
install-deps)
	deps="$top/tools/install-deps.sh"
	for s in test demo full configs; do
		"$deps" "$s" --list > "$T/$s" || fail "$s --list failed"
	done
	# Everything tools/test-all.sh uses, and nothing only the demo uses.
	for p in meson ninja-build libcmocka-dev liburing-dev libcap-dev \
		valgrind groff linux-source-6.12 qemu-system-x86 \
		busybox-static stress-ng libnuma-dev e2fsprogs; do
		expect "$T/test" "^$p\$"
	done
	for p in redis-server afl++ libsqlite3-dev gnuplot-nox; do
		expect_not "$T/test" "^$p\$"
	done
	for p in redis-server redis-tools gnuplot-nox qemu-system-x86; do
		expect "$T/demo" "^$p\$"
	done
	expect_not "$T/demo" '^afl\+\+$'
	sort "$T/test" "$T/demo" > "$T/both"
	for p in $(cat "$T/both") afl++ libsqlite3-dev; do
		expect "$T/full" "^$(printf '%s' "$p" | sed 's/+/\\+/g')\$"
	done
	# kernel/build.sh --configs: the cross compiler and liburcu, which
	# no other set needs.
	for p in gcc-aarch64-linux-gnu liburcu-dev meson; do
		expect "$T/configs" "^$p\$"
	done
	expect_not "$T/full" '^gcc-aarch64-linux-gnu$'
	"$deps" --list > "$T/default"
	cmp -s "$T/default" "$T/full" || fail "the default is not 'full'"
	expect_rc 2 "$deps" everything 2> /dev/null
	;;
common)
	(
		cd "$top" || exit 1
		PROGRESS_S=1
		# shellcheck source=tools/common.sh
		. tools/common.sh
		step "a step"
		run_step "$T/ok.log" sh -c 'echo out; echo working >&2; sleep 3' \
			> "$T/ok.out"
		run_step "$T/bad.log" sh -c 'echo broken >&2; exit 3' ||
			echo "rc=$?" >&2
	) 2> "$T/stderr"
	expect "$T/stderr" '^=== \[0:0[0-9]\] a step$'
	expect "$T/stderr" '^    \[0:0[1-3]\] working$'
	expect "$T/stderr" "^    done in 0:0[0-9] \(log: $T/ok.log\)"
	expect "$T/ok.out" '^out$'
	expect "$T/ok.log" '^working$'
	expect "$T/stderr" "failed \(exit 3\) .* the end of $T/bad.log:"
	expect "$T/stderr" '^    \| broken$'
	expect "$T/stderr" '^rc=3$'
	;;
plans)
	"$top/tools/demo.sh" --plan 2> "$T/demo" || fail "demo.sh --plan failed"
	"$top/tools/test-all.sh" --plan 2> "$T/test" ||
		fail "test-all.sh --plan failed"
	for f in "$T/demo" "$T/test"; do
		expect "$f" '^  disk: +about [0-9.]+ GB .*GB free$'
		expect "$f" '^  memory: +about [0-9]+ GiB .*GiB available$'
		expect "$f" 'kernel (is built from scratch: about 20 minutes|was built before)'
		expect "$f" 'QEMU uses KVM if'
	done
	expect "$T/demo" 'about 25 minutes in all from scratch'
	expect "$T/test" 'about 25-35 minutes on 2 cores'
	;;
*)
	fail "no such case"
	;;
esac
exit $status
