#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
# Redis fork-time breakdown in the guest, with a bench kernel built with
# redis-fork-breakdown.diff (see bench/README.md, "Diagnostics"):
#   kernel/vm-run.sh --kernel BZIMAGE --mem 4G -- bench/diagnostics/redis-fork-breakdown.sh
# Prints latest_fork_usec of each BGSAVE and the kernel's odf-instr lines.
set -e
odr=$(cd "$(dirname "$0")/../.." && pwd)/build/meson/tools/odfork-run/odfork-run
echo 1 >/proc/sys/vm/overcommit_memory
start() {	# start NAME
	d=/tmp/r-$1; mkdir -p $d
	cat >$d/redis.conf <<-EOC
	port 0
	unixsocket $d/redis.sock
	dir $d
	logfile $d/redis.log
	save ""
	appendonly no
	EOC
	redis-server $d/redis.conf &
	eval "pid_$1=\$!"
	until [ "$(redis-cli -s $d/redis.sock ping 2>/dev/null)" = PONG ]; do sleep 0.1; done
}
cli() { n=$1; shift; redis-cli -s /tmp/r-$n/redis.sock "$@"; }
bgsave() {	# bgsave NAME
	rm -f /tmp/r-$1/dump.rdb
	cli $1 bgsave >/dev/null
	while [ ! -e /tmp/r-$1/dump.rdb ]; do sleep 0.2; done
	while [ "$(cli $1 info persistence | tr -d '\r' | awk -F: '$1=="rdb_bgsave_in_progress"{print $2}')" != 0 ]; do sleep 0.2; done
	echo "$1 $2 latest_fork_usec $(cli $1 info stats | tr -d '\r' | awk -F: '$1=="latest_fork_usec"{print $2}')"
}
start full
start empty
script="local v = string.rep('v', 1000)
	for i = tonumber(ARGV[1]), tonumber(ARGV[2]) - 1 do
		redis.call('SET', string.format('key:%012d', i), v)
	end
	return 0"
i=0
while [ $i -lt 1000000 ]; do cli full eval "$script" 0 $i $((i + 100000)) >/dev/null; i=$((i + 100000)); done
echo filled
for r in 1 2 3; do
	for m in process off; do
		$odr --pid $pid_full --mode $m >/dev/null
		$odr --pid $pid_empty --mode $m >/dev/null
		bgsave full $m
		bgsave empty $m
	done
	# a load that makes every table private again, as the bench's load round
	redis-benchmark -s /tmp/r-full/redis.sock -t set -n 20000 -c 50 -r 1000000 -d 1000 -q >/dev/null 2>&1
done
cli full shutdown nosave >/dev/null 2>&1 || true
cli empty shutdown nosave >/dev/null 2>&1 || true
sleep 1
dmesg | grep odf-instr
