#!/usr/bin/env bash
# rwmutex.sh: goro::RWMutex's read lock beside std::shared_mutex (threads) and Go's
# sync.RWMutex, alternating, REPS (5) runs each at every worker count in WORKERS
# ("1 $(nproc)"); prints the medians (ns per read lock + unlock, lower is better).
#
#   bench/rwmutex.sh [BUILD]          BUILD (default build) holds bench/rwmutex
set -u -o pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-build}
reps=${REPS:-5}
workers=${WORKERS:-"1 $(nproc)"}
[ -x "$build/bench/rwmutex" ] || { echo "rwmutex.sh: $build/bench/rwmutex not built" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$here/go" && GOPROXY=off GOFLAGS=-mod=mod go build -o "$tmp/rwmutex-go" rwmutex.go) ||
    { echo "rwmutex.sh: go build failed" >&2; exit 1; }
for w in $workers; do
    for ((i = 0; i < reps; i++)); do
        GORO_MAXPROCS=$w "$build/bench/rwmutex"
        GOMAXPROCS=$w "$tmp/rwmutex-go"
    done | awk -v w="$w" '
        { k = $1 " " $3; n[k]++; x[k, n[k]] = $4 }
        END {
            for (k in n) {
                m = n[k]; for (i = 1; i <= m; i++) v[i] = x[k, i]
                for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
                printf "w%s %-28s median %8.1f ns  (min %.1f, max %.1f)\n", w, k, v[int((m + 1) / 2)], v[1], v[m]
            }
        }' | sort
done
