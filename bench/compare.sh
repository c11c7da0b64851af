#!/usr/bin/env bash
# compare.sh: goro next to its peers (Go, Boost.Fiber, asyncio; std::thread for
# spawn_join) on the peer workloads of bench/peers/README.md, in one
# invocation on one machine. Each run is a fresh process that times itself and
# prints "PEER WORKLOAD METRIC VALUE UNIT"; the runs of one workload alternate
# between goro and the peers, rep after rep, so a drift in the machine's speed
# touches them alike. The figure is the median of REPS runs, and the table on
# stdout gives each figure and the ratios goro/go, goro/boostfiber and
# goro/asyncio, with the direction that is better.
#
#   bench/compare.sh                         every workload, goro from ./build
#   bench/compare.sh build-rel yield skynet  goro from build-rel, two workloads
#   bench/compare.sh go spawn_join           goro and Go only
#   REPS=3 SPAWN_N=100000 bench/compare.sh spawn_join
#
# Arguments: a meson build directory (default ./build; goro's programs are
# BUILD/bench/goro-WORKLOAD, from bench/peers/goro/, built at -O2 like the
# C++ peers: bench/meson.build; -O3 twins for bench/opt_ab.sh), workload names and peer
# names, in any order. A workload whose goro program is not built is skipped
# with a note.
#
# Knobs: REPS (5), COMPARE_WORKERS ("1 $(nproc)"; PEERS_WORKERS is read too),
# COMPARE_TIMEOUT (120 s a run), PEERS_DIR (the peers' sources, default
# bench/peers of this repository), PEERS_BUILD_DIR (where the peers are
# built; default goro-compare-peers in the temp dir; raw.txt and summary.txt
# land there too), CXX (g++), CXXFLAGS (-O2 -std=c++20), and every workload
# size knob of the peers (SPAWN_N, CPU_BASE, ...), which reach goro and the
# peers alike because they are inherited from this environment.
#
# Every scheduler workload runs with 1 worker and with nproc workers
# (GORO_MAXPROCS / GOMAXPROCS / BF_THREADS), except yield (1 worker) and
# idle_memory (nproc only; goro and Go also at IDLE_N=1000000 for
# bytes_per_task_1m); asyncio is one thread. blocking_gap has only a Go peer
# and is not in the default list (each run blocks for 3 x BLOCK_MS; name it). cpu_parallel's speedup_wN is the
# median wall_ms_w1 over the median wall_ms_wN. With asyncio selected, goro's
# skynet also runs at SKYNET_SIZE=100000 and 1 worker, the size asyncio runs
# (wall_ms_100k_w1). A default run (REPS=5) takes about 4-5 minutes on 2 cores.
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ALL_PEERS="go boostfiber asyncio threads"
DEFAULT_WORKLOADS="skynet spawn_join pingpong chan_throughput yield idle_memory sleep_many gather_sleep cpu_parallel"
ALL_WORKLOADS="$DEFAULT_WORKLOADS blocking_gap"

usage() {
    cat <<EOF
usage: $0 [GORO_BUILD_DIR] [WORKLOAD...] [PEER...]
  workloads: $ALL_WORKLOADS (all but blocking_gap by default)
  peers:     $ALL_PEERS (goro always runs)
  knobs:     REPS (5), COMPARE_WORKERS ("1 \$(nproc)"), COMPARE_TIMEOUT (120), PEERS_DIR,
             PEERS_BUILD_DIR, CXX, CXXFLAGS, and the workload sizes of the peers' README
EOF
}

gbuild="" peers="" workloads=""
for arg in "$@"; do
    case " $ALL_PEERS " in *" $arg "*) peers="$peers $arg"; continue ;; esac
    case " $ALL_WORKLOADS " in *" $arg "*) workloads="$workloads $arg"; continue ;; esac
    case "$arg" in -h | --help) usage; exit 0 ;; esac
    if [ -d "$arg" ] && [ -z "$gbuild" ]; then gbuild=$arg; continue; fi
    echo "compare: '$arg' is neither a build directory, a peer nor a workload" >&2
    usage >&2
    exit 2
done
peers=${peers:-$ALL_PEERS}
workloads=${workloads:-$DEFAULT_WORKLOADS}
gbuild=${gbuild:-build}
selected() { case " $peers " in *" $1 "*) return 0 ;; esac; return 1; }

positive_int() {
    case "$2" in '' | *[!0-9]* | 0) echo "compare: $1='$2' is not a positive integer" >&2; exit 2 ;; esac
}
REPS=${REPS:-5}
positive_int REPS "$REPS"
TIMEOUT=${COMPARE_TIMEOUT:-120}
positive_int COMPARE_TIMEOUT "$TIMEOUT"
NPROC=$(nproc)
WORKERS=${COMPARE_WORKERS:-${PEERS_WORKERS:-$([ "$NPROC" -gt 1 ] && echo "1 $NPROC" || echo 1)}}
for w in $WORKERS; do positive_int COMPARE_WORKERS "$w"; done
WMAX=$(echo "$WORKERS" | tr ' ' '\n' | sort -n | tail -1)
# The size knobs are read by every program; catch a bad one here, once.
for k in SKYNET_SIZE SKYNET_DIV SPAWN_N PINGPONG_N CHAN_N CHAN_CAP CHAN_PRODUCERS CHAN_CONSUMERS \
    YIELD_N IDLE_N SLEEP_N SLEEP_MS GATHER_N CPU_BASE CPU_COUNT BLOCK_MS TICK_US THREADS_N; do
    if [ -n "${!k:-}" ]; then positive_int "$k" "${!k}"; fi
done
case "${SKYNET_BUF:-0}" in *[!0-9]*) echo "compare: SKYNET_BUF='$SKYNET_BUF' is not an integer" >&2; exit 2 ;; esac

PEERS_DIR=${PEERS_DIR:-$here/peers}
[ -d "$PEERS_DIR/go" ] || { echo "compare: no peers in PEERS_DIR=$PEERS_DIR" >&2; exit 1; }
PEERS_DIR=$(cd "$PEERS_DIR" && pwd)
CXX=${CXX:-g++}
CXXFLAGS=${CXXFLAGS:--O2 -std=c++20}
PB=${PEERS_BUILD_DIR:-${TMPDIR:-/tmp}/goro-compare-peers}
mkdir -p "$PB" || exit 1
RAW="$PB/raw.txt"         # every run's own lines
SUMMARY="$PB/summary.txt" # PEER WORKLOAD METRIC MEDIAN UNIT MIN MAX N
FAILED="$PB/failed.txt"   # PEER WORKLOAD of every failed run
: >"$RAW"
: >"$SUMMARY"
: >"$FAILED"

# ---------------------------------------------------------------- tools
missing_tools="" missing_pkgs=""
lack() { missing_tools="$missing_tools $1"; missing_pkgs="$missing_pkgs $2"; }
command -v timeout >/dev/null || lack timeout coreutils
command -v awk >/dev/null || lack awk gawk
if selected go; then command -v go >/dev/null || lack go golang-go; fi
if selected boostfiber || selected threads; then
    if ! command -v "$CXX" >/dev/null; then
        lack "$CXX" g++
    elif selected boostfiber &&
        ! echo '#include <boost/fiber/all.hpp>' | "$CXX" -std=c++20 -E -x c++ - >/dev/null 2>&1; then
        lack "Boost.Fiber" "libboost-fiber-dev libboost-context-dev"
    fi
fi
if selected asyncio; then command -v python3 >/dev/null || lack python3 python3; fi
if [ -n "$missing_tools" ]; then
    echo "compare: missing:$missing_tools" >&2
    echo "compare: apt-get install -y$missing_pkgs" >&2
    echo "compare: (or leave that peer out: name the peers to run, e.g. '$0 go')" >&2
    exit 1
fi

# ---------------------------------------------------------------- goro programs
[ -d "$gbuild/bench" ] || {
    echo "compare: no $gbuild/bench: build goro first (meson setup $gbuild && ninja -C $gbuild)" >&2
    exit 1
}
GB=$(cd "$gbuild/bench" && pwd)
have=""
for wl in $workloads; do
    if [ -x "$GB/goro-$wl" ]; then have="$have $wl"; else echo "compare: no $GB/goro-$wl; skipping $wl" >&2; fi
done
workloads=$have
[ -n "$workloads" ] || { echo "compare: no workload to run" >&2; exit 1; }

# ---------------------------------------------------------------- peer programs
build_failed=0
if selected go; then
    cache=${GOCACHE:-$(go env GOCACHE 2>/dev/null)}
    case "$cache" in "" | off) cache="$PB/gocache" ;; esac
    (cd "$PEERS_DIR/go" && GOCACHE="$cache" GO111MODULE=on GOFLAGS='' GOPROXY=off \
        go build -o "$PB/go-peers" .) || { echo "compare: go build failed" >&2; build_failed=1; }
fi

# cxx SRC OUT LIBS...: compiles when SRC, a header beside it, or the flags changed.
cxx() {
    local src=$1 out=$2 stamp="$2.flags"
    shift 2
    local flags="$CXX $CXXFLAGS $*"
    if [ -x "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$flags" ] &&
        [ -z "$(find "$(dirname "$src")" -maxdepth 1 \( -name '*.hpp' -o -name "$(basename "$src")" \) -newer "$out")" ]; then
        return 0
    fi
    # shellcheck disable=SC2086 # CXXFLAGS is a list of words
    $CXX $CXXFLAGS -Wall -Wextra "$src" -o "$out" "$@" && echo "$flags" >"$stamp"
}
pids=()
# bf_has WL: Boost.Fiber has a version of workload WL (blocking_gap has none).
bf_has() { [ -f "$PEERS_DIR/boostfiber/$1.cpp" ]; }
if selected boostfiber; then
    for wl in $workloads; do
        bf_has "$wl" || continue
        cxx "$PEERS_DIR/boostfiber/$wl.cpp" "$PB/bf-$wl" -lboost_fiber -lboost_context -pthread &
        pids+=($!)
        if [ ${#pids[@]} -ge "$NPROC" ]; then wait "${pids[0]}" || build_failed=1; pids=("${pids[@]:1}"); fi
    done
fi
case " $workloads " in *" spawn_join "*)
    selected threads && { cxx "$PEERS_DIR/threads/thread_spawn.cpp" "$PB/thread_spawn" -pthread & pids+=($!); } ;;
esac
for p in ${pids[@]+"${pids[@]}"}; do wait "$p" || build_failed=1; done
[ "$build_failed" = 0 ] || { echo "compare: building the peers failed, nothing run" >&2; exit 1; }

# ---------------------------------------------------------------- running
failures=0
BATCH="$PB/batch.txt"

# once LABEL ENV... -- CMD...: one run; its figure lines go to BATCH and RAW.
once() {
    local label=$1 envs=()
    shift
    while [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    local out err rc
    out=$(mktemp) err=$(mktemp)
    env ${envs[@]+"${envs[@]}"} timeout "$TIMEOUT" "$@" >"$out" 2>"$err"
    rc=$?
    if [ "$rc" != 0 ] || [ ! -s "$out" ]; then
        echo "compare: FAILED (exit $rc$([ "$rc" = 124 ] && echo ", timed out after ${TIMEOUT}s")): ${envs[*]} $*" >&2
        sed 's/^/    /' "$err" | tail -5 >&2
        failures=$((failures + 1))
        echo "$label" >>"$FAILED"
        sed 's/^/# FAILED RUN: /' "$out" >>"$RAW"  # a failed run's figures never count
    else
        cat "$out" >>"$BATCH"
        cat "$out" >>"$RAW"
    fi
    rm -f "$out" "$err"
}

# summarize: median, min, max of each (peer, workload, metric) in BATCH, in
# the order they first appeared, into SUMMARY (and, in the peers' format, to
# stderr as progress); then cpu_parallel's speedup from the medians.
summarize() {
    awk '
    function fmt(v) { s = sprintf("%.2f", v); sub(/\.?0+$/, "", s); return s }
    NF >= 5 {
        k = $1 " " $2 " " $3
        if (!(k in n)) { order[++keys] = k; unit[k] = $5 }
        vals[k, ++n[k]] = $4 + 0
    }
    END {
        for (i = 1; i <= keys; i++) {
            k = order[i]; m = n[k]
            for (a = 1; a <= m; a++) v[a] = vals[k, a]
            for (a = 2; a <= m; a++) { x = v[a]; b = a - 1; while (b >= 1 && v[b] > x) { v[b + 1] = v[b]; b-- } v[b + 1] = x }
            med = (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
            print k, fmt(med), unit[k], fmt(v[1]), fmt(v[m]), m
            if (k ~ / cpu_parallel wall_ms_w[0-9]+$/) { split(k, p, " "); cpu[p[1], p[3]] = med; cpupeer[p[1]] = 1 }
        }
        for (pr in cpupeer) {
            one = cpu[pr, "wall_ms_w1"]
            for (w = 256; w > 1; w--) if (cpu[pr, "wall_ms_w" w] > 0 && one > 0) {
                print pr, "cpu_parallel", "speedup_w" w, fmt(one / cpu[pr, "wall_ms_w" w]), "x", "-", "-", "-"; break
            }
        }
    }' "$BATCH" | tee -a "$SUMMARY" |
        awk '{ t = ($6 == "-") ? "" : " # min=" $6 " max=" $7 " n=" $8; print $1, $2, $3, $4, $5 t }' >&2
}

JOBS=()
job() { JOBS+=("$(printf '%q ' "$@")"); }
run_jobs() {
    local rep j
    : >"$BATCH"
    for ((rep = 1; rep <= REPS; rep++)); do
        for j in "${JOBS[@]}"; do eval "once $j"; done
    done
    summarize
    JOBS=()
}

GO="$PB/go-peers"
PY="$PEERS_DIR/asyncio/peers.py"

# at_workers WL W: the jobs of workload WL at W workers, goro first.
at_workers() {
    job "goro $1" GORO_MAXPROCS="$2" -- "$GB/goro-$1"
    selected go && job "go $1" GOMAXPROCS="$2" -- "$GO" "$1"
    selected boostfiber && bf_has "$1" && job "boostfiber $1" BF_THREADS="$2" -- "$PB/bf-$1"
}

echo "# compare: goro ($GB) vs: ${peers# } | workers: $WORKERS | reps: $REPS | $NPROC CPUs," \
    "$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')" >&2
for wl in $workloads; do
    case "$wl" in
    yield)
        at_workers yield 1
        ;;
    idle_memory)
        at_workers idle_memory "$WMAX"
        if [ -z "${IDLE_N:-}" ]; then
            job "goro idle_memory" GORO_MAXPROCS="$WMAX" IDLE_N=1000000 -- "$GB/goro-idle_memory"
            selected go && job "go idle_memory" GOMAXPROCS="$WMAX" IDLE_N=1000000 -- "$GO" idle_memory
        fi
        ;;
    *)
        for w in $WORKERS; do at_workers "$wl" "$w"; done
        ;;
    esac
    if selected asyncio; then
        case "$wl" in chan_throughput | cpu_parallel | blocking_gap) ;; *) job "asyncio $wl" -- python3 "$PY" "$wl" ;; esac
        if [ "$wl" = skynet ] && [ -z "${SKYNET_SIZE:-}" ]; then
            job "goro skynet" GORO_MAXPROCS=1 SKYNET_SIZE=100000 -- "$GB/goro-skynet"
        fi
    fi
    if [ "$wl" = spawn_join ] && selected threads; then job "threads spawn_join" -- "$PB/thread_spawn"; fi
    run_jobs
done

# ---------------------------------------------------------------- the table
# One row per (workload, metric); a column per runtime; ratios goro/peer.
# "better" says which way a figure (and so a ratio) is better: for a
# lower-is-better figure a ratio under 1 means goro wins.
echo
echo "goro vs peers: median of $REPS runs each ($(date -u +%Y-%m-%dT%H:%MZ), $NPROC CPUs, workers: $WORKERS)"
echo
awk -v failed_file="$FAILED" '
function fmt(v) {
    if (v == "") return "-"
    if (v + 0 == int(v + 0)) return sprintf("%d", v)
    return sprintf(v + 0 >= 100 ? "%.1f" : "%.2f", v)
}
function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "-" : sprintf("%.2f", a / b) }
BEGIN {
    while ((getline line < failed_file) > 0) { split(line, f, " "); fail[f[1], f[2]] = 1 }
    cols = "goro go boostfiber asyncio threads"; nc = split(cols, col, " ")
}
{
    key = $2 " " $3
    if (!(key in seen)) { seen[key] = 1; order[++rows] = key; unit[key] = $5 }
    val[$1, key] = $4
}
END {
    printf "| workload | metric | unit | better |"
    for (c = 1; c <= nc; c++) printf " %s |", col[c]
    print " goro/go | goro/boostfiber | goro/asyncio |"
    printf "|---|---|---|---|"
    for (c = 1; c <= nc; c++) printf "---:|"
    print "---:|---:|---:|"
    for (r = 1; r <= rows; r++) {
        key = order[r]; split(key, kk, " ")
        better = (kk[2] ~ /^(mmsgs_per_s|req_per_s|speedup)/) ? "higher" : "lower"
        printf "| %s | %s | %s | %s |", kk[1], kk[2], unit[key], better
        for (c = 1; c <= nc; c++) {
            v = val[col[c], key]
            s = fmt(v)
            if (v == "" && fail[col[c], kk[1]]) s = "FAIL"
            printf " %s |", s
        }
        g = val["goro", key]
        printf " %s | %s | %s |\n", ratio(g, val["go", key]), ratio(g, val["boostfiber", key]), ratio(g, val["asyncio", key])
    }
}' "$SUMMARY"
cat <<'EOF'

Notes: ratios are goro / peer of the medians; for "lower" figures a ratio below 1 means goro is
better, for "higher" ones above 1. asyncio runs 10x smaller SPAWN_N, PINGPONG_N, YIELD_N
(per-operation figures stay comparable) and SKYNET_SIZE=100000 (wall_ms_100k_w1, compared with
goro's own 100k run). Boost.Fiber's skynet uses a 16-slot buffered channel and launch::dispatch
(its own benchmark's setup); goro and Go use unbuffered channels. A run that failed shows FAIL.
EOF
echo "compare: raw lines in $RAW, medians in $SUMMARY" >&2

if [ "$failures" != 0 ]; then
    echo "compare: $failures run(s) failed; see above" >&2
    exit 1
fi
