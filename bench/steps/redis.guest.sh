#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Step of bench/run.sh, in the guest: Redis BGSAVE with fork and with
# on-demand fork.  Starts Debian's redis-server, unmodified, on a Unix
# socket, fills it with KEYS keys of VSIZE bytes, then SAVES rounds, each
# with both modes, "plain" and "odfork", alternating (plain first in odd
# rounds, odfork first in even ones, so that a drift of the host's load
# hits both alike): sets the mode of the server with "odfork-run --pid PID
# --mode process" (or "off") and BGSAVEs twice: "idle", with nothing else
# running (the fork time of the mode), and "load", under a GET/SET load
# (redis-benchmark runs of CHUNK requests each, from 1 s before BGSAVE
# until the save is over or for LOAD_S seconds, whichever comes first).
# A second redis-server with the same configuration and no keys, the
# "empty" server, BGSAVEs idle in each round too, in both modes (rows
# "empty" and "empty-odfork"): the fork of the same program without its
# dataset, the limit that odfork of the full server is held to.  Where the
# kernel has vm.odfork_unshare_ahead, the odfork rows run with its default,
# 0, and one more BGSAVE under load per round, "odfork-ahead", with AHEAD
# (8: after 8 tables copied by the server's own faults, the kernel unshares
# the rest in the background), to show what it does to the latency.  Every
# RDB is checked with redis-check-rdb, then removed.  Environment: see
# bench/README.md ("Steps").
# bench-title: Redis BGSAVE: latest_fork_usec and GET/SET latency percentiles, plain vs odfork-run
# bench-quick: yes
# bench-mem-mib: 3072 4096
# bench-timeout-s: 900 3600
# bench-build: tools/odfork-run/odfork-run
#
# Writes into BENCH_OUT:
#   redis.csv          one row per BGSAVE (load: idle or load; mode:
#                      plain, odfork, empty or empty-odfork):
#                      mode,save,load,keys,used_memory_bytes,latest_fork_usec,
#                      bgsave_ms,cow_bytes,rdb_bytes,rdb_check,odfork_forks,
#                      tables_shared,tables_copied,vmas,pte_kib,
#                      tables_fallback,copied_by_reply
#                      (vmas: the server's VMAs, pte_kib: its VmPTE, both
#                      before the fork; tables_fallback: the tables the
#                      odfork copied entry by entry; copied_by_reply: the
#                      tables the server copied from just before BGSAVE
#                      to its reply, so mostly inside its fork() call:
#                      its /proc/PID/odfork_stat)
#   redis-latency.csv  one row per mode and command, over all the load
#                      that ran during the snapshots:
#                      mode,op,requests,rps,p50_ms,p99_ms,p99_9_ms,
#                      p99_99_ms,max_ms
#   redis-buckets.csv  the merged latency distributions (mode,op,ms,count)
#   redis-checks.txt   what was verified (guest-lib.sh)
#   redis-info.txt     the parameters and redis-server's version
# Exit status: 0, 1 when a check failed (the results are written anyway),
# 77 without redis-server and its tools.

STEP=redis
. "$(dirname "$0")/guest-lib.sh"

if [ "$BENCH_QUICK" = 1 ]; then
	keys=100000	# about 110 MiB
	saves=3
	chunk=5000
	load_s=8
else
	keys=1000000	# about 1.1 GiB
	saves=5
	chunk=20000
	load_s=15
fi
vsize=1000
clients=50
ahead=8
ahead_file=/proc/sys/vm/odfork_unshare_ahead
tmp=$BENCH_TMP
odfork_run=$BENCH_BUILD/tools/odfork-run/odfork-run

now_ms() { echo $(($(date +%s%N) / 1000000)); }

cli() { redis-cli -s "$sock" "$@"; }

info() {	# info FIELD [SECTION]: one field of INFO
	cli info "${2:-all}" | tr -d '\r' |
		awk -F: -v k="$1" '$1 == k { print $2 }'
}

# start_server NAME: redis-server on a Unix socket, all of its files in
# its own tmpfs directory; NAME's server becomes the current one (use).
start_server() {
	dir=$tmp/$1
	sock=$dir/redis.sock
	mkdir -p "$dir"
	cat >"$dir/redis.conf" <<-EOF
	port 0
	unixsocket $sock
	unixsocketperm 700
	dir $dir
	dbfilename dump.rdb
	logfile $dir/redis.log
	daemonize no
	save ""
	appendonly no
	rdbcompression yes
	rdbchecksum yes
	EOF
	redis-server "$dir/redis.conf" &
	pid=$!
	i=0
	until [ "$(cli ping 2>/dev/null)" = PONG ]; do
		i=$((i + 1))
		[ $i -lt 600 ] || { log "redis-server did not start"; exit 1; }
		sleep 0.1
	done
	eval "pid_$1=\$pid"
}

# use NAME: the server the functions below talk to, and the keys its RDB
# must hold.
use() {
	dir=$tmp/$1
	sock=$dir/redis.sock
	eval "pid=\$pid_$1"
	if [ "$1" = full ]; then
		nkeys=$keys
	else
		nkeys=0
	fi
}

# set_ahead N: vm.odfork_unshare_ahead, where the kernel has it.
set_ahead() {
	[ ! -e $ahead_file ] || echo "$1" >$ahead_file
}

# set_mode MODE: the forks of the server copy page tables (plain) or share
# them on demand (odfork).
set_mode() {
	if [ "$1" != plain ]; then
		"$odfork_run" --pid "$pid" --mode process >&2
		want=2
	else
		"$odfork_run" --pid "$pid" --mode off >&2
		want=0
	fi
	check "$([ "$(cat /proc/$pid/odfork)" = $want ]; echo $?)" \
		"$1 $2: redis-server's odfork mode is $want"
}

stop_server() {
	cli shutdown nosave >/dev/null 2>&1
	wait "$pid"
}

# Keys key:%012d, as redis-benchmark -r names them, so that the load hits
# existing keys (SET replaces their values, GET finds them).  A Lua script
# fills them inside the server, 100000 a call.
fill() {
	script="local v = string.rep('v', tonumber(ARGV[3]))
		for i = tonumber(ARGV[1]), tonumber(ARGV[2]) - 1 do
			redis.call('SET', string.format('key:%012d', i), v)
		end
		return redis.call('DBSIZE')"
	start=$(now_ms)
	i=0
	while [ $i -lt "$keys" ]; do
		j=$((i + 100000))
		[ $j -le "$keys" ] || j=$keys
		cli eval "$script" 0 $i $j "$vsize" >/dev/null
		i=$j
	done
	log "$(cli dbsize) keys, $(info used_memory_human) in" \
	    "$(($(now_ms) - start)) ms"
}

# The load: redis-benchmark SET then GET, CHUNK requests each, over and
# over until $tmp/stop exists or the time (ms) $1 has passed.
load() {
	n=0
	while [ ! -e "$tmp/stop" ] && [ "$(now_ms)" -lt "$1" ]; do
		redis-benchmark -s "$sock" -t set,get -n "$chunk" -c "$clients" \
			-r "$keys" -d "$vsize" --precision 3 \
			>"$tmp/load/$n.out" 2>&1 || echo "exit $?" >>"$tmp/load/$n.out"
		n=$((n + 1))
	done
}

# Buckets of the percentile distributions of redis-benchmark outputs:
# "MODE,OP,MS,COUNT", COUNT requests took at most MS (and more than the
# line before).  Progress lines end in \r, so a section header may follow
# one on the same line.
buckets() {
	mode=$1
	shift
	awk -v mode="$mode" '
	match($0, /====== [A-Z]+ ======/) {
		op = substr($0, RSTART + 7, RLENGTH - 14); inpct = 0
	}
	/^Latency by percentile distribution:/ { inpct = 1; prev = 0; next }
	inpct && /^[0-9.]+% <= [0-9.]+ milliseconds \(cumulative count [0-9]+\)/ {
		c = $NF; sub(/\)/, "", c)
		if (c - prev > 0)
			print mode "," op "," $3 "," c - prev
		prev = c
		next
	}
	{ inpct = 0 }' "$@"
}

# "MODE,OP,REQUESTS,SECONDS" of redis-benchmark outputs.
throughput() {
	mode=$1
	shift
	awk -v mode="$mode" '
	match($0, /====== [A-Z]+ ======/) {
		op = substr($0, RSTART + 7, RLENGTH - 14)
	}
	/requests completed in/ { print mode "," op "," $1 "," $5 }' "$@"
}

# The tables the current server has copied so far (its own counter).
server_copied() {
	awk '$1 == "odfork_tables_copied" { print $2 }' /proc/$pid/odfork_stat
}

# One BGSAVE, idle or under load; appends a row to redis.csv.
snapshot() {	# snapshot MODE N idle|load
	rm -f "$tmp/stop" "$dir/dump.rdb"
	rm -rf "$tmp/load"
	mkdir -p "$tmp/load"
	loader=
	if [ "$3" = load ]; then
		load $(($(now_ms) + 1000 + load_s * 1000)) &
		loader=$!
		sleep 1
	fi
	vmas=$(wc -l </proc/$pid/maps)
	pte=$(awk '$1 == "VmPTE:" { print $2 }' /proc/$pid/status)
	forks=$(vmstat odfork_forks)
	shared=$(vmstat odfork_tables_shared)
	copied=$(vmstat odfork_tables_copied)
	fallback=$(vmstat odfork_tables_fallback)
	own=$(server_copied)
	start=$(now_ms)
	reply=$(cli bgsave)
	own=$(($(server_copied) - own))
	case $reply in
	*started*) ;;
	*) log "BGSAVE: $reply"; touch "$tmp/stop"; wait; exit 1 ;;
	esac
	# The child renames its RDB into place when it is done: polling for
	# that costs less than asking the server.
	while [ ! -e "$dir/dump.rdb" ]; do
		sleep 0.2
	done
	ms=$(($(now_ms) - start))
	while [ "$(info rdb_bgsave_in_progress persistence)" != 0 ]; do
		sleep 0.2
	done
	forks=$(($(vmstat odfork_forks) - forks))
	shared=$(($(vmstat odfork_tables_shared) - shared))
	copied=$(($(vmstat odfork_tables_copied) - copied))
	fallback=$(($(vmstat odfork_tables_fallback) - fallback))
	touch "$tmp/stop"
	[ -z "$loader" ] || wait $loader
	check "$([ "$(info rdb_last_bgsave_status)" = ok ]; echo $?)" \
		"$1: BGSAVE $2 ($3) succeeded"
	if [ -n "$loader" ]; then
		! grep -q -E '^exit |Error|ERR' "$tmp"/load/*.out
		check $? "$1: the load during BGSAVE $2 ran without errors"
		buckets "$1" "$tmp"/load/*.out >>"$tmp/redis-buckets.csv"
		throughput "$1" "$tmp"/load/*.out >>"$tmp/throughput.csv"
	fi
	if redis-check-rdb "$dir/dump.rdb" >"$tmp/check.out" 2>&1 &&
	   grep -q 'RDB looks OK' "$tmp/check.out" &&
	   grep -q "\[info\] $nkeys keys read" "$tmp/check.out"; then
		rdb=ok
	else
		rdb=bad
		cat "$tmp/check.out" >&2
	fi
	check "$([ $rdb = ok ]; echo $?)" \
		"$1: RDB $2 ($3) passes redis-check-rdb with $nkeys keys"
	echo "$1,$2,$3,$nkeys,$(info used_memory),$(info latest_fork_usec),$ms,$(
	     info rdb_last_cow_size),$(stat -c %s "$dir/dump.rdb"),$rdb,$forks,$(
	     )$shared,$copied,$vmas,$pte,$fallback,$own" >>"$tmp/redis.csv"
	log "$1 BGSAVE $2 ($3): fork $(info latest_fork_usec) us, save $ms ms," \
	    "tables shared $shared, copied $copied ($own by the reply)," \
	    "fallback $fallback," \
	    "$vmas VMAs, VmPTE $pte kB, RDB $rdb," \
	    "$(ls "$tmp"/load | wc -l) load chunks"
	rm -f "$dir/dump.rdb"
}

# The sharing checks over all rounds.
check_sharing() {
	awk -F, '$1 ~ /odfork/ && !($11 == 1 && $12 > 0) { bad = 1 }
		 END { exit bad }' "$tmp/redis.csv"
	check $? "odfork: every BGSAVE was one on-demand fork that shared" \
		"page tables (odfork_forks +1, odfork_tables_shared moved)"
	awk -F, 'NR > 1 && $1 !~ /odfork/ && ($11 != 0 || $12 != 0) { bad = 1 }
		 END { exit bad }' "$tmp/redis.csv"
	check $? "plain, empty: no BGSAVE forked on demand or shared page" \
		"tables" \
		"(odfork_forks and odfork_tables_shared did not move)"
}

# Percentiles of the merged buckets, by mode and command: the smallest
# bucket bound with at least that fraction of the requests at or below it.
latency_csv() {
	echo "mode,op,requests,rps,p50_ms,p99_ms,p99_9_ms,p99_99_ms,max_ms"
	sort -t, -k1,1 -k2,2 -k3,3g "$tmp/redis-buckets.csv" | awk -F, '
	BEGIN { p[1] = 0.5; p[2] = 0.99; p[3] = 0.999; p[4] = 0.9999 }
	FILENAME == ARGV[1] { req[$1 "," $2] += $3; sec[$1 "," $2] += $4; next }
	FILENAME == ARGV[2] { total[$1 "," $2] += $4; next }
	function flush() {
		if (key == "")
			return
		rps = sec[key] > 0 ? req[key] / sec[key] : 0
		printf "%s,%d,%.0f", key, total[key], rps
		for (i = 1; i <= 4; i++)
			printf ",%s", pv[i]
		printf ",%s\n", last
	}
	{
		k = $1 "," $2
		if (k != key) {
			flush()
			key = k; cum = 0; np = 1
		}
		cum += $4; last = $3
		while (np <= 4 && cum >= p[np] * total[key])
			pv[np++] = $3
	}
	END { flush() }
	' "$tmp/throughput.csv" "$tmp/redis-buckets.csv" -
}

main() {
	need redis-server redis-cli redis-benchmark redis-check-rdb
	overcommit=$(cat /proc/sys/vm/overcommit_memory)
	echo 1 >/proc/sys/vm/overcommit_memory
	record redis-server "$(redis-server --version |
		sed 's/ sha=.*//;s/Redis server v=//')"
	record keys "$keys"
	record value_size "$vsize"
	record saves "$saves"
	record chunk "$chunk"
	record clients "$clients"
	record load_seconds "$load_s"
	if [ -e $ahead_file ]; then
		saved_ahead=$(cat $ahead_file)
		record unshare_ahead "$ahead"
	fi
	echo "mode,save,load,keys,used_memory_bytes,latest_fork_usec,bgsave_ms,$(
	     )cow_bytes,rdb_bytes,rdb_check,odfork_forks,tables_shared,$(
	     )tables_copied,vmas,pte_kib,tables_fallback,copied_by_reply" $(
	     )>"$tmp/redis.csv"
	: >"$tmp/redis-buckets.csv"
	: >"$tmp/throughput.csv"
	log "$keys keys of $vsize bytes, $saves BGSAVEs per mode," \
	    "load chunks of $chunk requests from $clients clients," \
	    "for at most $load_s s after each BGSAVE"
	start_server empty
	start_server full
	fill
	s=1
	while [ $s -le "$saves" ]; do
		if [ $((s % 2)) = 1 ]; then
			set -- plain odfork
		else
			set -- odfork plain
		fi
		for m; do
			use full
			set_mode $m $s
			set_ahead 0
			snapshot $m $s idle
			snapshot $m $s load
			if [ $m = odfork ] && [ -e $ahead_file ]; then
				set_ahead $ahead
				snapshot odfork-ahead $s load
				set_ahead 0
			fi
			use empty
			set_mode $m "$s (empty)"
			if [ $m = plain ]; then
				snapshot empty $s idle
			else
				snapshot empty-odfork $s idle
			fi
		done
		s=$((s + 1))
	done
	use empty
	stop_server
	use full
	stop_server
	echo "$overcommit" >/proc/sys/vm/overcommit_memory
	[ -z "${saved_ahead:-}" ] || set_ahead "$saved_ahead"
	check_sharing
	latency_csv >"$tmp/redis-latency.csv"
	gl_finish "$tmp/redis.csv" "$tmp/redis-latency.csv" \
		"$tmp/redis-buckets.csv"
}

main
