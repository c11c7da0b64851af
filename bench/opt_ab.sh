#!/usr/bin/env bash
# opt_ab.sh: does the caller's -O level decide goro's speed? Each peer workload's goro
# program is built twice from one source (bench/meson.build): BUILD/bench/goro-W at -O2
# (the peers' flags, and most users') and BUILD/bench/goro-W-O3. They run alternately,
# REPS times each at every worker count, in one invocation; the table gives both medians
# and the ratio -O2/-O3 in time (for chan_throughput, whose figure is a rate, the inverse),
# so 1.00 means level and 1.15 means -O2 is 15% slower. The library is the same in both.
#
#   bench/opt_ab.sh [BUILD] [WORKLOAD...]        default: build, every workload below
#   REPS=7 OPT_WORKERS="1 2" bench/opt_ab.sh build chan_throughput skynet
#
# Knobs: REPS (7), OPT_WORKERS ("1 $(nproc)"), and the peers' size knobs (SPAWN_N, ...).
set -u -o pipefail
build=build
if [ $# -gt 0 ] && [ -d "$1" ]; then build=$1; shift; fi
workloads=${*:-skynet spawn_join pingpong chan_throughput yield sleep_many gather_sleep cpu_parallel}
reps=${REPS:-7}
workers=${OPT_WORKERS:-"1 $(nproc)"}
case "$reps" in '' | *[!0-9]* | 0) echo "opt_ab: REPS='$reps' is not a positive integer" >&2; exit 2 ;; esac
printf '%-16s %3s %12s %12s %10s  %s\n' workload w "-O2 median" "-O3 median" "-O2/-O3" "unit (-O2 runs | -O3 runs)"
for wl in $workloads; do
    o2=$build/bench/goro-$wl o3=$build/bench/goro-$wl-O3
    for b in "$o2" "$o3"; do [ -x "$b" ] || { echo "opt_ab: $b not built" >&2; exit 1; }; done
    for w in $workers; do
        [ "$wl" = yield ] && [ "$w" != 1 ] && continue  # yield is a one-worker workload
        for ((i = 0; i < reps; i++)); do
            GORO_MAXPROCS=$w "$o2" | awk '{ print "O2", $4, $5 }'
            GORO_MAXPROCS=$w "$o3" | awk '{ print "O3", $4, $5 }'
        done | sort -k1,1 -k2g | awk -v wl="$wl" -v w="$w" '
            { n[$1]++; x[$1, n[$1]] = $2; all[$1] = all[$1] " " $2; unit = $3 }
            END {
                if (n["O2"] == 0 || n["O3"] == 0) { printf "%-16s %3s   (no figures: a run failed)\n", wl, w; exit }
                m2 = x["O2", int((n["O2"] + 1) / 2)]; m3 = x["O3", int((n["O3"] + 1) / 2)]
                r = (wl == "chan_throughput") ? m3 / m2 : m2 / m3
                printf "%-16s %3s %12s %12s %10.2f  %s (%s |%s)\n", wl, w, m2, m3, r, unit, substr(all["O2"], 2), all["O3"]
            }'
    done
done
