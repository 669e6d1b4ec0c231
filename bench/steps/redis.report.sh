#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# The redis section of the report (see report-lib.sh): latest_fork_usec of
# every BGSAVE, the latency percentiles of the load during the snapshots,
# the checks, two targets and a plot of the percentiles.
. "$(dirname "$0")/report-lib.sh"
report_csv redis.csv
LAT=$RES/redis-latency.csv

echo "## Redis: BGSAVE with fork and on-demand fork"
echo
echo "Debian's redis-server $(step_info redis redis-server), unmodified:"
echo "$(step_info redis keys) keys of $(step_info redis value_size) bytes," \
     "$(step_info redis saves) rounds of BGSAVEs to an RDB on tmpfs, the"
echo "modes alternating; per round and mode one idle BGSAVE and one under a"
echo "redis-benchmark GET/SET load ($(step_info redis clients) clients," \
     "random existing keys, from 1 s before"
echo "BGSAVE until the save ends or for at most" \
     "$(step_info redis load_seconds) s).  One redis-server process:"
echo "\"fork\" is its plain fork, \"odfork\" the same process after"
echo "\`odfork-run --pid PID --mode process\`.  A second redis-server with the"
echo "same configuration and no keys (\"empty\") BGSAVEs idle in each round"
echo "too, in both modes: fork() of the same program without its dataset."
if [ -n "$(step_info redis unshare_ahead)" ]; then
	echo "The odfork BGSAVEs ran with vm.odfork_unshare_ahead = 0 (the" \
	     "default), and one more per round under load"
	echo "(\"odfork, unshare ahead $(step_info redis unshare_ahead)\") with" \
	     "$(step_info redis unshare_ahead)."
fi
echo

# The medians and minimums of latest_fork_usec: "MODE,LOAD,MEDIAN,MIN".
stats=$(awk -F, '
NR == 1 { next }
{ k = $1 "," $3; v[k, ++n[k]] = $6 + 0 }
END {
	for (k in n) {
		m = n[k]
		for (i = 1; i <= m; i++) a[i] = v[k, i]
		for (i = 2; i <= m; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		med = m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
		print k "," med "," a[1]
	}
}' "$CSV")

# fork_us MODE LOAD COLUMN: 3 the median, 4 the minimum.
fork_us() {
	echo "$stats" | awk -F, -v m="$1" -v l="$2" -v c="$3" \
		'$1 == m && $2 == l { print $c }'
}

awk -F, '
NR == 1 { next }
{
	k = $1 "," $3
	n[k]++; f[k, n[k]] = $6; s[k, n[k]] = $7
	sh[k, n[k]] = $12; cp[k, n[k]] = $13
	if ($1 == "plain" || $1 == "odfork")
		mem = $5
}
function d(x) { return x == "" ? "-" : x }
END {
	printf "used_memory %.0f MiB.\n\n", mem / 1048576
	print "latest_fork_usec of each BGSAVE (idle: nothing else" \
	      " running; load: under the GET/SET load), how long the" \
	      " idle saves took, and the page tables the odfork ones" \
	      " shared and copied (idle / load):"
	print ""
	print "| round | fork, idle | odfork, idle | fork, load |" \
	      " odfork, load | empty: fork | empty: odfork |" \
	      " fork save ms | odfork save ms |" \
	      " odfork tables shared | odfork tables copied |"
	print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= n["plain,idle"]; i++)
		printf "| %d | %s | %s | %s | %s | %s | %s | %s | %s |" \
		       " %s / %s | %s / %s |\n", i,
			f["plain,idle", i], f["odfork,idle", i],
			f["plain,load", i], f["odfork,load", i],
			d(f["empty,idle", i]), d(f["empty-odfork,idle", i]),
			s["plain,idle", i], s["odfork,idle", i],
			sh["odfork,idle", i], sh["odfork,load", i],
			cp["odfork,idle", i], cp["odfork,load", i]
}' "$CSV"
echo
echo "latest_fork_usec, fork / odfork:"
echo
for l in idle load; do
	what="idle BGSAVEs"
	[ $l = idle ] || what="BGSAVEs under load"
	awk -v w="$what" \
		-v mp="$(fork_us plain $l 3)" -v mo="$(fork_us odfork $l 3)" \
		-v np="$(fork_us plain $l 4)" -v no="$(fork_us odfork $l 4)" '
	BEGIN {
		if (mp == "" || mo == "")
			exit
		printf "- %s: medians fork %s, odfork %s: **%.1fx** lower;" \
		       " minimums fork %s, odfork %s: %.1fx.\n", w, mp, mo,
		       (mo > 0 ? mp / mo : 0), np, no, (no > 0 ? np / no : 0)
	}'
done

# The fixed cost: medians over the idle BGSAVEs of each mode, of the fork
# time and of what the fork had to handle ("MODE,US,VMAS,PTE,SHARED,FB,
# BY_REPLY"; BY_REPLY empty in results from before that column).
parts=$(awk -F, '
NR == 1 || $3 != "idle" || NF < 16 { next }
{
	k = $1; n[k]++; nc[k] = NF >= 17 ? 6 : 5
	for (c = 1; c <= nc[k]; c++) v[k, c, n[k]] = $(col[c]) + 0
}
BEGIN {
	col[1] = 6; col[2] = 14; col[3] = 15; col[4] = 12; col[5] = 16
	col[6] = 17
}
function median(k, c,    m, i, j, t, a) {
	m = n[k]
	for (i = 1; i <= m; i++) a[i] = v[k, c, i]
	for (i = 2; i <= m; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
END {
	for (k in n) {
		printf "%s", k
		for (c = 1; c <= 6; c++)
			printf ",%s", c <= nc[k] ? median(k, c) : ""
		print ""
	}
}' "$CSV")
part() {	# part MODE FIELD: 2 us, 3 VMAs, 4 VmPTE kB, 5 shared,
		# 6 fallback, 7 copied by the BGSAVE reply
	echo "$parts" | awk -F, -v m="$1" -v c="$2" '$1 == m { print $c }'
}
if [ -n "$(part empty 2)" ] && [ -n "$(part odfork 2)" ]; then
	echo
	echo "Where the fork time goes (medians of the idle BGSAVEs; VMAs and"
	echo "VmPTE of the server before the fork, tables as counted by"
	echo "/proc/vmstat):"
	echo
	echo "| server, mode | latest_fork_usec | VMAs | VmPTE kB |" \
	     "tables shared | tables copied entry by entry |" \
	     "tables copied by the BGSAVE reply |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for m in plain odfork empty empty-odfork; do
		[ -n "$(part $m 2)" ] || continue
		case $m in
		plain) w="full, fork" ;;
		odfork) w="full, odfork" ;;
		empty) w="empty, fork" ;;
		*) w="empty, odfork" ;;
		esac
		fb=$(part $m 6)
		case $m in *odfork) ;; *) fb="all" ;; esac
		by=$(part $m 7)
		echo "| $w | $(part $m 2) | $(part $m 3) | $(part $m 4) |" \
		     "$(part $m 5) | $fb | ${by:--} |"
	done
	if [ -n "$(part empty-odfork 2)" ]; then
		awk -v fe="$(part empty 2)" -v oe="$(part empty-odfork 2)" \
		    -v of="$(part odfork 2)" \
		    -v ds="$(($(part odfork 5) - $(part empty-odfork 5)))" \
		    -v df="$(($(part odfork 6) - $(part empty-odfork 6)))" \
		    -v dv="$(($(part odfork 3) - $(part empty-odfork 3)))" '
		BEGIN {
			printf "\nodfork of the full server costs %.0f us more" \
			       " than fork() of the empty one: odfork of the" \
			       " empty server costs %+.0f us against its" \
			       " fork(), and the dataset adds %.0f us (%+d" \
			       " tables shared, %+d copied entry by entry," \
			       " %+d VMAs).\n", of - fe, oe - fe, of - oe, ds,
			       df, dv
		}'
	fi
fi

if [ -s "$LAT" ]; then
	echo
	echo "Latency of the load that ran during the snapshots (ms, from" \
	     "the merged redis-benchmark distributions):"
	echo
	echo "| mode | command | requests | req/s | p50 | p99 | p99.9 |" \
	     "p99.99 | max |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
	awk -F, -v ahead="$(step_info redis unshare_ahead)" 'NR > 1 {
		m = $1 == "plain" ? "fork" : "odfork"
		if ($1 == "odfork-ahead")
			m = "odfork, unshare ahead " ahead
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			m, $2, $3, $4, $5, $6, $7, $8, $9
	}' "$LAT"
fi
echo
checks redis

# The targets: the fork time of idle BGSAVEs (the mode's own fork, not the
# load's noise), and p99.9 of both commands during the snapshots.
mib=$(awk -F, 'NR > 1 && ($1 == "plain" || $1 == "odfork") { m = $5 }
	END { printf "%.0f", m / 1048576 }' "$CSV")
what="Redis (~1 GiB dataset): latest_fork_usec >= 30x lower with odfork"
mp=$(fork_us plain idle 3)
mo=$(fork_us odfork idle 3)
if [ -n "$mp" ] && [ -n "$mo" ] && [ "$mo" != 0 ]; then
	r=$(awk -v a="$mp" -v b="$mo" 'BEGIN { printf "%.1f", a / b }')
	rl=$(awk -v a="$(fork_us plain load 3)" \
		-v b="$(fork_us odfork load 3)" \
		'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')
	v=$(awk -v r="$r" 'BEGIN { print (r >= 30 ? "met" : "missed (" \
		sprintf("%.0f%%", 100 * (30 - r) / 30) " short)") }')
	m="${r}x (medians of the idle BGSAVEs: $mp / $mo us; under load"
	target "$what" "$m ${rl}x), $mib MiB dataset" "$v"
else
	target "$what"
fi
what="Redis (~1 GiB): odfork latest_fork_usec <= 1.2x fork() of the same server with no data"
fe=$(part empty 2)
if [ -n "$fe" ] && [ -n "$mo" ] && [ "$fe" != 0 ]; then
	r=$(awk -v a="$mo" -v b="$fe" 'BEGIN { printf "%.2f", a / b }')
	v=$(awk -v r="$r" 'BEGIN { print (r <= 1.2 ? "met" : "missed") }')
	target "$what" "${r}x (medians of the idle BGSAVEs: odfork $mo us, $(
		)empty server's fork $fe us; fork of the full server $mp us), $(
		)$mib MiB dataset" "$v"
else
	target "$what"
fi
# pct_target NAME COLUMN: the target that NAME (a percentile, COLUMN of
# redis-latency.csv) of both commands is lower with odfork.
pct_target() {
	what="Redis: $1 latency during BGSAVE lower with odfork than plain"
	if [ ! -s "$LAT" ]; then
		target "$what"
		return
	fi
	m=$(awk -F, -v c="$2" '
	NR > 1 { p[$1, $2] = $c; ops[$2] = 1 }
	END {
		ok = 1
		for (o in ops) {
			if (!((("plain", o) in p) && (("odfork", o) in p)))
				continue
			printf "%s%s %s / %s ms", sep, o, p["plain", o],
				p["odfork", o]
			sep = ", "; n++
			if (p["odfork", o] + 0 >= p["plain", o] + 0)
				ok = 0
		}
		printf "%s", n ? (ok ? "\tmet" : "\tmissed") : "\t"
	}' "$LAT")
	if [ -n "${m%%	*}" ]; then
		target "$what" "${m%%	*} (fork / odfork), $mib MiB dataset" \
			"${m#*	}"
	else
		target "$what"
	fi
}
pct_target p99.9 7
pct_target p99.99 8

# The plot: the percentiles by mode and command.
awk -F, 'NR > 1 { for (i = 5; i <= 9; i++) print $1 "," $2 "," i - 4 "," $i }' \
	"$LAT" > "$RES/redis-latency.dat" 2>/dev/null
[ -s "$RES/redis-latency.dat" ] || exit 0
echo
plot redis-latency <<GP
set title 'Redis GET/SET latency during BGSAVE ($mib MiB dataset)'
set ylabel 'latency (ms)'
set logscale y
set key top left
set grid
set xrange [0.5:5.5]
set xtics ('p50' 1, 'p99' 2, 'p99.9' 3, 'p99.99' 4, 'max' 5)
d(m, o) = sprintf("< awk -F, '\$1 == \"%s\" && \$2 == \"%s\"' '$RES/redis-latency.dat'", m, o)
plot d('plain', 'SET') using 3:4 with linespoints dt 2 lc 1 title 'fork, SET', \
     d('plain', 'GET') using 3:4 with linespoints dt 2 lc 2 title 'fork, GET', \
     d('odfork', 'SET') using 3:4 with linespoints lw 2 lc 1 title 'odfork, SET', \
     d('odfork', 'GET') using 3:4 with linespoints lw 2 lc 2 title 'odfork, GET'
GP
