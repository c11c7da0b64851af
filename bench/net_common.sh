# bench/net_common.sh: what bench/net_http_hello.sh and bench/net_echo.sh share (sourced, not run).
#
#   start_server NAME CMD...   start a server pinned to the first CPU, wait for its "port N" line;
#                              sets SERVER_PID and PORT (empty on failure)
#   cpu_ticks PID              utime+stime of PID from /proc/PID/stat, in clock ticks
#   stop_server                kill the server by its PID
#   pin SLOT                   the taskset prefix for slot 0 (servers) or 1 (load generator)
# The servers run with one worker: GORO_MAXPROCS=1 and GOMAXPROCS=1.

SERVER_PID=""
PORT=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; SERVER_PID=""; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# The first two CPUs this script may use: the server gets one, the load generator the other.
cpus=$(taskset -cp $$ 2>/dev/null | sed 's/.*: *//' | tr ',' '\n' |
    awk -F- '{ if (NF == 2) for (c = $1; c <= $2; c++) print c; else print $1 }' | head -2 | tr '\n' ' ')
pin() {
    local c
    c=$(echo "$cpus" | awk -v i="$(($1 + 1))" '{ print $i }')
    if [ "${NET_PIN:-1}" != 0 ] && [ -n "$c" ] && [ "$(echo "$cpus" | wc -w)" -ge 2 ]; then echo "taskset -c $c"; fi
}

cpu_ticks() {
    # Fields after the ")" that ends the command name: 14 utime, 15 stime (1-based, whole line).
    sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'
}
HZ=$(getconf CLK_TCK)

SERVER_OUT=""
start_server() {
    local name=$1 i
    shift
    SERVER_OUT=$(mktemp)
    # shellcheck disable=SC2046 # pin prints a command prefix or nothing
    GORO_MAXPROCS=1 GOMAXPROCS=1 $(pin 0) "$@" >"$SERVER_OUT" 2>&1 &
    SERVER_PID=$!
    PORT=""
    for ((i = 0; i < 100; i++)); do
        PORT=$(awk '/^port /{ print $2; exit }' "$SERVER_OUT")
        [ -n "$PORT" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$PORT" ]; then
        echo "bench: the $name server printed no port:" >&2
        tail -5 "$SERVER_OUT" >&2
    fi
}

stop_server() {
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
    rm -f "$SERVER_OUT"
}

# median of the numbers on stdin
# record NAME RATE_METRIC RATE CPU_METRIC TICKS COUNT UNIT: one rep's rate and
# the server's CPU per operation (TICKS of utime+stime over COUNT operations)
# into $results, and a line on stderr.
record() {
    local name=$1 rate_metric=$2 rate=$3 cpu_metric=$4 ticks=$5 count=$6 unit=$7
    echo "$name $rate_metric $rate" >>"$results"
    echo "$name $cpu_metric $(awk -v t="$ticks" -v hz="$HZ" -v n="$count" 'BEGIN { printf "%.3f", t * 1e6 / hz / n }')" >>"$results"
    echo "  rep $rep $name: $rate $unit/s, $ticks ticks for $count $unit" >&2
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# build_go_peers DIR: the peers' Go program (bench/peers/go) as DIR/peers-go, and bench/go/echo.go
# as DIR/echo-go. Offline: GOPROXY=off.
build_go_peers() {
    local dir=$1 peers=${PEERS_DIR:-$root/bench/peers}
    command -v go >/dev/null || { echo "bench: go not found: apt-get install -y golang-go" >&2; exit 1; }
    (cd "$peers/go" && GOPROXY=off go build -o "$dir/peers-go" .) || exit 1
    (cd "$dir" && GOPROXY=off go build -o "$dir/echo-go" "$root/bench/go/echo.go") || exit 1
}
