#!/usr/bin/env bash
# net_http_hello.sh: the peers' http_hello workload (bench/peers/README.md): goro's keep-alive
# "Hello, World!" server (examples/http_hello.cpp --serve) against Go's raw server and Go's net/http server,
# each with one worker pinned to the first CPU, loaded by `wrk -t1 -c64 -d5s` pinned to the second CPU.
# The servers alternate within each rep. Figures, medians over REPS: requests/s (wrk's Requests/sec) and
# server CPU time per request (utime+stime of the server from /proc/PID/stat over the wrk run, divided by
# wrk's request count; /proc ticks are 10 ms, i.e. about 0.1% of a 5 s run).
#
#   bench/net_http_hello.sh [BUILD_DIR]        default ./build; needs BUILD_DIR/examples/http_hello
#   REPS=5 HTTP_SECONDS=5 HTTP_CONNS=64 bench/net_http_hello.sh build-net
#   GORO_BASELINE=/tmp/base-build bench/net_http_hello.sh build   also runs that build's server
#                                                                  as "goro_base" (an A/B of a change)
#   HTTP_PEERS=go_raw bench/net_http_hello.sh build   which other servers run (default "go_raw go_nethttp
#                                                     floor"; empty: goro alone, or goro against goro_base)
#
# "floor" is bench/floor/http_epoll.cpp: the same workload straight on epoll, one thread, no runtime,
# one recv and one send per request. Its CPU per request is what the kernel's TCP path costs on this
# machine, the least any server can spend; its requests/s is what wrk manages when the server costs
# nothing else.
#
# Needs wrk and go (apt-get install -y wrk golang-go). Only 127.0.0.1 is used; every load is bounded
# (HTTP_SECONDS), and each server exits by itself after HTTP_SECONDS + 30 s.
set -u -o pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=net_common.sh
. "$here/net_common.sh"

build=${1:-$root/build}
REPS=${REPS:-3}
HTTP_SECONDS=${HTTP_SECONDS:-5}
HTTP_CONNS=${HTTP_CONNS:-64}
goro_bin=$build/examples/http_hello
[ -x "$goro_bin" ] || { echo "bench: $goro_bin not built (ninja -C $build)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench: wrk not found: apt-get install -y wrk" >&2; exit 1; }
work=$(mktemp -d)
build_go_peers "$work"

results=$work/results
: >"$results"
once() { # once NAME CMD...
    local name=$1 out t0 t1 reqs rps
    shift
    HTTP_SERVE_S=$((HTTP_SECONDS + 30)) start_server "$name" "$@"
    [ -n "$PORT" ] || { stop_server; return; }
    t0=$(cpu_ticks "$SERVER_PID")
    # shellcheck disable=SC2046
    out=$($(pin 1) wrk -t1 -c"$HTTP_CONNS" -d"${HTTP_SECONDS}s" "http://127.0.0.1:$PORT/" 2>&1)
    t1=$(cpu_ticks "$SERVER_PID")
    stop_server
    echo "$out" | grep -E 'Socket errors|Non-2xx' | sed "s/^/bench: $name: /" >&2
    rps=$(echo "$out" | awk '/^Requests\/sec:/{ print $2 }')
    reqs=$(echo "$out" | awk '/requests in/{ print $1 }')
    if [ -z "$rps" ] || [ -z "$reqs" ]; then
        echo "bench: wrk against $name failed:" >&2
        echo "$out" | tail -5 >&2
        return
    fi
    record "$name" req_per_s "$rps" cpu_us_per_req $((t1 - t0)) "$reqs" req
}

echo "# http_hello: wrk -t1 -c$HTTP_CONNS -d${HTTP_SECONDS}s, servers at 1 worker; $(nproc) CPUs; pin: '$(pin 0)' / '$(pin 1)'" >&2
peers=${HTTP_PEERS-go_raw go_nethttp floor}
floor_bin=$build/bench/http_epoll
for p in $peers; do
    case $p in
    go_raw | go_nethttp) ;;
    floor) [ -x "$floor_bin" ] || { echo "bench: $floor_bin not built (ninja -C $build)" >&2; exit 1; } ;;
    *) echo "bench: HTTP_PEERS: unknown server '$p' (go_raw, go_nethttp, floor)" >&2; exit 2 ;;
    esac
done
servers="goro"
base_bin=${GORO_BASELINE:+$GORO_BASELINE/examples/http_hello}
if [ -n "$base_bin" ]; then
    [ -x "$base_bin" ] || { echo "bench: $base_bin not built" >&2; exit 1; }
    servers="goro goro_base"
fi
servers="$servers $peers"
for ((rep = 1; rep <= REPS; rep++)); do
    once goro "$goro_bin" --serve
    [ -n "$base_bin" ] && once goro_base "$base_bin" --serve
    for p in $peers; do
        case $p in
        floor) once floor "$floor_bin" ;;
        *) once "$p" "$work/peers-go" "http_${p#go_}" ;;
        esac
    done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
printf '%-12s %14s %16s %14s %14s\n' server req_per_s cpu_us_per_req "goro/this rps" "goro/this cpu"
goro_rps=$(awk '$1 == "goro" && $2 == "req_per_s" { print $3 }' "$results" | median)
goro_cpu=$(awk '$1 == "goro" && $2 == "cpu_us_per_req" { print $3 }' "$results" | median)
for s in $servers; do
    rps=$(awk -v s=$s '$1 == s && $2 == "req_per_s" { print $3 }' "$results" | median)
    cpu=$(awk -v s=$s '$1 == s && $2 == "cpu_us_per_req" { print $3 }' "$results" | median)
    printf '%-12s %14s %16s %14s %14s\n' "$s" "$rps" "$cpu" "$(ratio "$goro_rps" "$rps")" "$(ratio "$goro_cpu" "$cpu")"
done
rm -rf "$work"
