#!/usr/bin/env bash
# net_echo.sh: echo throughput, net_echo_tcp/64B/conns=64: ECHO_CONNS connections (64) each send an
# ECHO_SIZE-byte message (64) and wait for its echo, over and over, for ECHO_SECONDS (5). Servers: goro's
# examples/echo_server.cpp --serve and bench/go/echo.go server (written the same way: accept loop, a
# goroutine per connection, 4096-byte read then write), each with one worker pinned to the first CPU. The
# load generator is the same Go client for both (bench/go/echo.go client, GOMAXPROCS=1) pinned to the
# second CPU. Figures, medians over REPS, servers alternating within each rep: messages/s, and server CPU
# time per message (utime+stime from /proc/PID/stat over the run).
#
#   bench/net_echo.sh [BUILD_DIR]           default ./build; needs BUILD_DIR/examples/echo_server
#   REPS=5 ECHO_SECONDS=5 bench/net_echo.sh build-net
#
# Needs go (apt-get install -y golang-go). Only 127.0.0.1 is used; every load is bounded in time.
set -u -o pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=net_common.sh
. "$here/net_common.sh"

build=${1:-$root/build}
REPS=${REPS:-3}
export ECHO_SECONDS=${ECHO_SECONDS:-5} ECHO_CONNS=${ECHO_CONNS:-64} ECHO_SIZE=${ECHO_SIZE:-64}
goro_bin=$build/examples/echo_server
[ -x "$goro_bin" ] || { echo "bench: $goro_bin not built (ninja -C $build)" >&2; exit 1; }
work=$(mktemp -d)
build_go_peers "$work"

results=$work/results
: >"$results"
once() { # once NAME CMD...
    local name=$1 out t0 t1 msgs rate
    shift
    ECHO_SERVE_S=$((ECHO_SECONDS + 30)) start_server "$name" "$@"
    [ -n "$PORT" ] || { stop_server; return; }
    t0=$(cpu_ticks "$SERVER_PID")
    # shellcheck disable=SC2046
    out=$(GOMAXPROCS=1 $(pin 1) timeout $((ECHO_SECONDS + 30)) "$work/echo-go" client "$PORT" 2>&1)
    t1=$(cpu_ticks "$SERVER_PID")
    stop_server
    rate=$(echo "$out" | awk '/^msgs_per_s /{ print $2 }')
    msgs=$(echo "$out" | awk '/^msgs /{ print $2 }')
    if [ -z "$rate" ] || [ -z "$msgs" ] || [ "$msgs" = 0 ]; then
        echo "bench: echo client against $name failed:" >&2
        echo "$out" | tail -5 >&2
        return
    fi
    record "$name" msgs_per_s "$rate" cpu_us_per_msg $((t1 - t0)) "$msgs" msgs
}

echo "# net_echo_tcp/${ECHO_SIZE}B/conns=$ECHO_CONNS, ${ECHO_SECONDS}s, servers at 1 worker; $(nproc) CPUs; pin: '$(pin 0)' / '$(pin 1)'" >&2
for ((rep = 1; rep <= REPS; rep++)); do
    once goro "$goro_bin" --serve
    once go "$work/echo-go" server
done

printf '%-8s %14s %16s %14s\n' server msgs_per_s cpu_us_per_msg "goro/this"
goro_rate=$(awk '$1 == "goro" && $2 == "msgs_per_s" { print $3 }' "$results" | median)
for s in goro go; do
    rate=$(awk -v s=$s '$1 == s && $2 == "msgs_per_s" { print $3 }' "$results" | median)
    cpu=$(awk -v s=$s '$1 == s && $2 == "cpu_us_per_msg" { print $3 }' "$results" | median)
    printf '%-8s %14s %16s %14s\n' "$s" "$rate" "$cpu" "$(awk -v a="$goro_rate" -v b="$rate" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')"
done
rm -rf "$work"
