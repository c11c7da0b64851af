#!/usr/bin/env bash
# ab.sh: an A/B of two goro builds on one workload, the way the "what moved" figures of
# bench/RESULTS.md were taken: the two programs run alternately, REPS times each, in one
# invocation, and the medians are printed (lower is better for every workload but
# chan_throughput).
#
#   bench/ab.sh OLD_BUILD NEW_BUILD WORKLOAD [WORKERS]     e.g. bench/ab.sh /tmp/base build yield 1
#   REPS=15 bench/ab.sh /tmp/base build spawn_join 2
#
# WORKLOAD names a peer program, BUILD/bench/goro-WORKLOAD; WORKERS (default 1) becomes
# GORO_MAXPROCS. A build of an older commit: git worktree add /tmp/base COMMIT && meson setup
# /tmp/base/b /tmp/base && ninja -C /tmp/base/b bench/goro-WORKLOAD.
# NEW_ENV="VAR=value ..." runs the new program with those variables set too: the same build twice
# measures a setting, e.g. NEW_ENV="GORO_TRACE=/dev/null" bench/ab.sh build build pingpong 1.
set -u -o pipefail
[ $# -ge 3 ] || { sed -n '2,15p' "$0" >&2; exit 2; }
old=$1/bench/goro-$3 new=$2/bench/goro-$3 workers=${4:-1} reps=${REPS:-11}
for b in "$old" "$new"; do [ -x "$b" ] || { echo "ab: $b not built" >&2; exit 1; }; done
for ((i = 0; i < reps; i++)); do
    GORO_MAXPROCS=$workers "$old" | awk '{ print "old", $4 }'
    # shellcheck disable=SC2086 # NEW_ENV is a list of assignments
    env ${NEW_ENV:-} GORO_MAXPROCS=$workers "$new" | awk '{ print "new", $4 }'
done | sort -k1,1 -k2g | awk -v w="$3 w$workers" '
    { v[$1] = v[$1] " " $2; n[$1]++; x[$1, n[$1]] = $2 }
    END { for (k in n) printf "%s %s median %s:%s\n", w, k, x[k, int((n[k] + 1) / 2)], v[k] }'
