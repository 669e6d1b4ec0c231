#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# Redis BGSAVE with fork and with on-demand fork: an unmodified Debian
# redis-server, plain and switched by odfork-run, in one run of the bench kernel
# under QEMU (see bench/README.md).  Prints a markdown summary and writes
# NAME.csv (one row per BGSAVE), NAME-latency.csv (latency percentiles of
# the GET/SET load that ran during the snapshots) and NAME.md into the
# results directory; NAME is redis, or redis-quick with --quick.
#
#   bench/redis/run.sh [options]
#     --quick            100000 keys, 3 rounds, less load
#     --keys N           keys in the dataset (default 1000000: about 1 GiB)
#     --value-size N     bytes per value (default 1000)
#     --saves N          rounds (default 5), each with an idle BGSAVE and
#                        one under load per mode
#     --chunk N          requests per command per redis-benchmark run
#     --clients N        redis-benchmark connections (default 50)
#     --load-seconds N   load for at most N s after each BGSAVE (default 15)
#     --mem SIZE         guest memory (default 4G, 3G with --quick)
#   and --kernel, --build, --results, --timeout, --log, --out (see
#   bench/workload-lib.sh).
#
# Exit status: 0; 1 when the run failed or one of the guest's checks did
# (every RDB passes redis-check-rdb, every odfork BGSAVE shared page tables
# and no plain one did, ...), after writing the results.
set -euo pipefail

NAME=redis
# shellcheck source=bench/workload-lib.sh
. "$(dirname "$0")/../workload-lib.sh"
keys=
vsize=1000
saves=
chunk=
clients=50
load_s=
mem=

usage() {
	sed -n '11,23p' "$0" >&2
	exit 2
}

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		--keys) keys=${2:-}; shift 2 || usage ;;
		--value-size) vsize=${2:-}; shift 2 || usage ;;
		--saves) saves=${2:-}; shift 2 || usage ;;
		--chunk) chunk=${2:-}; shift 2 || usage ;;
		--clients) clients=${2:-}; shift 2 || usage ;;
		--load-seconds) load_s=${2:-}; shift 2 || usage ;;
		--mem) mem=${2:-}; shift 2 || usage ;;
		*) wl_option "$@" || usage; shift "$wl_shift" ;;
		esac
	done
	if [ "$quick" = 1 ]; then
		keys=${keys:-100000}
		saves=${saves:-3}
		chunk=${chunk:-5000}
		load_s=${load_s:-8}
		mem=${mem:-3G}
		timeout=${timeout:-900}
	fi
	keys=${keys:-1000000}
	saves=${saves:-5}
	chunk=${chunk:-20000}
	load_s=${load_s:-15}
	mem=${mem:-4G}
	timeout=${timeout:-3600}
	wl_number --keys "$keys"
	wl_number --value-size "$vsize"
	wl_number --saves "$saves"
	wl_number --chunk "$chunk"
	wl_number --clients "$clients"
	wl_number --load-seconds "$load_s"
}

guest_command() {
	cat <<-EOF
	uname -rv > /run/odfork-out/uname
	sh bench/redis/guest.sh --out /run/odfork-out \\
		--odfork-run '$build/tools/odfork-run/odfork-run' \\
		--keys $keys --value-size $vsize --saves $saves \\
		--chunk $chunk --clients $clients --load-seconds $load_s
	EOF
}

# The markdown summary: $1 the BGSAVE CSV, $2 the latency CSV.
summarize() {
	echo "## Redis: BGSAVE with fork and on-demand fork"
	echo
	echo "$(wl_date), kernel \`$(cat "$out/uname")\`, QEMU TCG, 2 vCPUs," \
	     "guest memory $mem; Debian $(redis-server --version |
	     sed 's/ sha=.*//;s/Redis server v=/redis-server /')."
	echo "$keys keys of $vsize bytes, $saves rounds of BGSAVEs to an RDB" \
	     "on tmpfs, the modes alternating; per round and mode one idle"
	echo "BGSAVE and one under a redis-benchmark GET/SET load ($clients" \
	     "clients, random existing keys, from 1 s before BGSAVE until"
	echo "the save ends or for at most $load_s s)."
	echo "One redis-server process: \"fork\" is its plain fork," \
	     "\"odfork\" the same process after"
	echo "\`odfork-run --pid PID --mode process\`."
	wl_host_load
	echo
	awk -F, '
	NR == 1 { next }
	{
		k = $1 "," $3
		n[k]++; f[k, n[k]] = $6; s[k, n[k]] = $7
		sh[k, n[k]] = $12; cp[k, n[k]] = $13
		mem = $5
	}
	function sort(k, a,   i, j, t, m) {
		m = n[k]
		for (i = 1; i <= m; i++) a[i] = f[k, i] + 0
		for (i = 2; i <= m; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		return m
	}
	function median(k,   a, m) {
		m = sort(k, a)
		return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
	}
	function min(k,   a) {
		sort(k, a)
		return a[1]
	}
	function ratios(l,   mp, mo, np, no, what, rm, rn) {
		mp = median("plain," l); mo = median("odfork," l)
		np = min("plain," l); no = min("odfork," l)
		what = l == "idle" ? "idle BGSAVEs" : "BGSAVEs under load"
		rm = mo > 0 ? mp / mo : 0
		rn = no > 0 ? np / no : 0
		printf "- %s: medians fork %s, odfork %s: **%.1fx** lower;" \
		       " minimums fork %s, odfork %s: %.1fx.\n", what, mp, mo,
		       rm, np, no, rn
	}
	END {
		printf "used_memory %.0f MiB.\n\n", mem / 1048576
		print "latest_fork_usec of each BGSAVE (idle: nothing else" \
		      " running; load: under the GET/SET load), how long the" \
		      " idle saves took, and the page tables the odfork ones" \
		      " shared and copied (idle / load):"
		print ""
		print "| round | fork, idle | odfork, idle | fork, load |" \
		      " odfork, load | fork save ms | odfork save ms |" \
		      " odfork tables shared | odfork tables copied |"
		print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		for (i = 1; i <= n["plain,idle"]; i++)
			printf "| %d | %s | %s | %s | %s | %s | %s | %s / %s |" \
			       " %s / %s |\n", i,
				f["plain,idle", i], f["odfork,idle", i],
				f["plain,load", i], f["odfork,load", i],
				s["plain,idle", i], s["odfork,idle", i],
				sh["odfork,idle", i], sh["odfork,load", i],
				cp["odfork,idle", i], cp["odfork,load", i]
		print ""
		print "latest_fork_usec, fork / odfork:"
		print ""
		ratios("idle")
		ratios("load")
	}' "$1"
	echo
	echo "Latency of the load that ran during the snapshots (ms, from" \
	     "the merged redis-benchmark distributions):"
	echo
	echo "| mode | command | requests | req/s | p50 | p99 | p99.9 |" \
	     "p99.99 | max |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
	awk -F, 'NR > 1 {
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			$1 == "plain" ? "fork" : "odfork", $2, $3, $4, $5,
			$6, $7, $8, $9
	}' "$2"
	echo
	if grep -q '^FAIL' "$out/redis-checks.txt"; then
		echo "**Checks failed:**"
	else
		echo "Checks (all passed):"
	fi
	echo
	sed 's/^/- /' "$out/redis-checks.txt"
}

main() {
	local rc=0 name

	parse_args "$@"
	wl_need_programs redis-server redis-cli redis-benchmark redis-check-rdb
	wl_build tools/odfork-run/odfork-run
	wl_kernel
	rm -f "${out:-$top/build/vm/$NAME}"/redis*.csv \
		"${out:-$top/build/vm/$NAME}"/redis-checks.txt
	wl_run_vm "$mem" "$(guest_command)" || rc=$?
	[ -s "$out/redis.csv" ] && [ -s "$out/redis-checks.txt" ] ||
		die "the guest wrote no results (exit $rc), see $log"
	name=$(wl_result_name)
	mkdir -p "$results"
	cp "$out/redis.csv" "$results/$name.csv"
	cp "$out/redis-latency.csv" "$results/$name-latency.csv"
	summarize "$results/$name.csv" "$results/$name-latency.csv" |
		tee "$results/$name.md"
	echo "$NAME: results in $results/$name.{csv,md}" >&2
	[ $rc = 0 ] || die "the guest's checks failed (exit $rc)"
}

main "$@"
