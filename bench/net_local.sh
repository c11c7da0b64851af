#!/usr/bin/env bash
# net_local.sh: round trips per second over UDP and a Unix-domain stream socket on
# loopback (issue 20): goro (bench/net_local.cpp) beside Go (bench/go/net_local.go),
# alternating, REPS (5) runs each at every worker count in WORKERS ("1 $(nproc)");
# prints the medians (round trips per second, higher is better) and goro/Go.
#
#   bench/net_local.sh [BUILD]        BUILD (default build) holds bench/net_local
set -u -o pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-build}
reps=${REPS:-5}
workers=${WORKERS:-"1 $(nproc)"}
[ -x "$build/bench/net_local" ] || { echo "net_local.sh: $build/bench/net_local not built" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$here/go" && GOPROXY=off GOFLAGS=-mod=mod go build -o "$tmp/net_local-go" net_local.go) ||
    { echo "net_local.sh: go build failed" >&2; exit 1; }
for w in $workers; do
    for ((i = 0; i < reps; i++)); do
        GORO_MAXPROCS=$w "$build/bench/net_local"
        GOMAXPROCS=$w "$tmp/net_local-go"
    done | awk -v w="$w" '
        { k = $3; n[$1, k]++; x[$1, k, n[$1, k]] = $4; keys[k] = 1 }
        function median(impl, k,    m, i, j, t, v) {
            m = n[impl, k]; for (i = 1; i <= m; i++) v[i] = x[impl, k, i]
            for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
            return v[int((m + 1) / 2)]
        }
        END {
            for (k in keys) {
                g = median("goro", k); o = median("go", k)
                printf "w%s %-8s goro %9.0f rt/s   go %9.0f rt/s   goro/go %.2f\n", w, k, g, o, (o > 0 ? g / o : 0)
            }
        }' | sort
done
