#!/usr/bin/env bash
# sleep_rounds.sh: sleep_many run ROUNDS (4) times in one process, goro
# (bench/sleep_rounds.cpp) beside Go (bench/go/sleep_rounds.go),
# alternating, REPS (5) processes each at every worker count in WORKERS
# ("1 $(nproc)"); prints the median wall time of each round (ms, lower is
# better). Round 0 runs on fresh memory; the gap to the later rounds is what
# first touches of memory cost each runtime (RESULTS.md). LIVE_PEAK=1 adds
# each round's most sleepers alive at once (and slows both sides alike).
#
#   bench/sleep_rounds.sh [BUILD]     BUILD (default build) holds bench/sleep_rounds
set -u -o pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-build}
reps=${REPS:-5}
workers=${WORKERS:-"1 $(nproc)"}
[ -x "$build/bench/sleep_rounds" ] || { echo "sleep_rounds.sh: $build/bench/sleep_rounds not built" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$here/go" && GOPROXY=off GOFLAGS=-mod=mod go build -o "$tmp/sleep_rounds-go" sleep_rounds.go) ||
    { echo "sleep_rounds.sh: go build failed" >&2; exit 1; }
for w in $workers; do
    for ((i = 0; i < reps; i++)); do
        GORO_MAXPROCS=$w "$build/bench/sleep_rounds" || echo "goro sleep_rounds FAILED 0"
        GOMAXPROCS=$w "$tmp/sleep_rounds-go" || echo "go sleep_rounds FAILED 0"
    done | awk -v w="$w" '
        { k = $1 " " $3; n[k]++; x[k, n[k]] = $4 }
        END {
            for (k in n) {
                m = n[k]; for (i = 1; i <= m; i++) v[i] = x[k, i]
                for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
                u = k ~ /_ms$/ ? " ms" : ""
                printf "w%s %-28s median %8.1f%s  (min %.1f, max %.1f)\n", w, k, v[int((m + 1) / 2)], u, v[1], v[m]
            }
        }' | sort
done
