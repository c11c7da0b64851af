#!/usr/bin/env bash
# aligned_ab.sh: bench/ab.sh with the program's own code held in place. A change to the
# library moves the peer program's code too (the linker lays out the library's cold code
# before the program's `main`), and some workloads swing with where their loops land
# (bench/RESULTS.md, "Internal locks": cpu_parallel at half speed from a 32-byte move). Here
# the peer program is compiled once, at -O2 with its functions and loops aligned to 64 bytes,
# and that one object is linked to each build's libgoro.a; then the two run alternately as in
# ab.sh.
#
#   bench/aligned_ab.sh OLD_BUILD NEW_BUILD WORKLOAD [WORKERS]    e.g. bench/aligned_ab.sh /tmp/base/b build chan_throughput 2
#   REPS=9 bench/aligned_ab.sh /tmp/base/b build pingpong 1
#
# Both builds must have libgoro.a and BUILD/bench/goro-WORKLOAD built (its link line is
# reused). The headers are the new build's: a change to a header's inlined code is measured
# by bench/ab.sh, not here. Scratch files go to a temporary directory, removed at the end.
set -u -o pipefail
[ $# -ge 3 ] || { sed -n '2,15p' "$0" >&2; exit 2; }
old=$(cd "$1" && pwd) new=$(cd "$2" && pwd) workload=$3 workers=${4:-1}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for b in "$old" "$new"; do
    if [ ! -f "$b/libgoro.a" ] || [ ! -x "$b/bench/goro-$workload" ]; then
        echo "aligned_ab: $b: libgoro.a or bench/goro-$workload not built" >&2
        exit 1
    fi
done
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# The new build's compile flags for the -O2 program, without its output, dependency-file and
# source arguments; the alignment flags go after them.
flags=$(python3 -c '
import json, shlex, sys
build, workload = sys.argv[1], sys.argv[2]
for e in json.load(open(build + "/compile_commands.json")):
    if e["output"].startswith("bench/goro-" + workload + ".p/"):
        keep, skip = [], 0
        for w in shlex.split(e["command"])[1:]:
            if skip:
                skip -= 1
            elif w in ("-MQ", "-MF", "-o", "-c"):
                skip = 1
            elif w != "-MD":
                keep.append(w)
        print(shlex.join(keep))
        break
' "$new" "$workload")
[ -n "$flags" ] || { echo "aligned_ab: no compile line for bench/goro-$workload in $new" >&2; exit 1; }
obj=$scratch/$workload.o
(cd "$new" && eval "c++ $flags -falign-functions=64 -falign-loops=64 -o $obj -c $here/peers/goro/$workload.cpp") ||
    { echo "aligned_ab: compiling $workload failed" >&2; exit 1; }

for side in old new; do
    build=${!side}
    mkdir -p "$scratch/$side/bench"
    # The build's own link line names the program's object before the first -Wl,: ours
    # takes its place, the libraries and options stay.
    link=$(ninja -C "$build" -t commands "bench/goro-$workload" | tail -1)
    (cd "$build" && eval "c++ -o $scratch/$side/bench/goro-$workload $obj -Wl,${link#* -Wl,}") ||
        { echo "aligned_ab: linking against $build failed" >&2; exit 1; }
done
"$here/ab.sh" "$scratch/old" "$scratch/new" "$workload" "$workers"
