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
# Both builds must have libgoro.a and BUILD/bench/goro-WORKLOAD built (their link lines are
# reused). The program is compiled with the new build's headers and linked to the old library
# too, so the two must agree on those headers (what the program inlines and the library's
# symbols): a change to a header is measured by bench/ab.sh, not here. Scratch files go to a
# temporary directory, removed at the end.
set -u -o pipefail
[ $# -ge 3 ] || { sed -n '2,17p' "$0" >&2; exit 2; }
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

# Commands are rebuilt by python's shlex from the build's own: the new build's compile line for the
# -O2 program (its compiler, without a ccache/sccache launcher, and its flags, without its output,
# dependency-file and source arguments) plus the alignment flags; each build's link line with our
# object in place of its own.
compile=$(python3 -c '
import json, shlex, sys
build, workload, obj, src = sys.argv[1:5]
for e in json.load(open(build + "/compile_commands.json")):
    if e["output"].startswith("bench/goro-" + workload + ".p/"):
        words = shlex.split(e["command"])
        while words and words[0].rsplit("/", 1)[-1] in ("ccache", "sccache"):
            words = words[1:]
        keep, skip = words[:1], 0
        for w in words[1:]:
            if skip:
                skip -= 1
            elif w in ("-MQ", "-MF", "-o", "-c"):
                skip = 1
            elif w != "-MD" and w != e["file"]:
                keep.append(w)
        print(shlex.join(keep + ["-falign-functions=64", "-falign-loops=64", "-o", obj, "-c", src]))
        break
' "$new" "$workload" "$scratch/$workload.o" "$here/peers/goro/$workload.cpp")
[ -n "$compile" ] || { echo "aligned_ab: no compile line for bench/goro-$workload in $new" >&2; exit 1; }
(cd "$new" && eval "$compile") || { echo "aligned_ab: compiling $workload failed" >&2; exit 1; }

for side in old new; do
    build=${!side}
    mkdir -p "$scratch/$side/bench"
    link=$(ninja -C "$build" -t commands "bench/goro-$workload" | tail -1 | python3 -c '
import shlex, sys
obj, out = sys.argv[1:3]
words = shlex.split(sys.stdin.read())
result, skip = [], 0
for i, w in enumerate(words):
    if skip:
        skip -= 1
    elif w == "-o":
        result += ["-o", out]
        skip = 1
    elif w.endswith(".o"):
        if obj not in result:
            result.append(obj)
    else:
        result.append(w)
print(shlex.join(result))
' "$scratch/$workload.o" "$scratch/$side/bench/goro-$workload")
    (cd "$build" && eval "$link") || { echo "aligned_ab: linking against $build failed" >&2; exit 1; }
done
"$here/ab.sh" "$scratch/old" "$scratch/new" "$workload" "$workers"
