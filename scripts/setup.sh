#!/usr/bin/env bash
# scripts/setup.sh — install what goro needs on Debian/Ubuntu (only what is
# missing), then configure and build into build/ (or $1).
#
#   scripts/setup.sh [BUILD_DIR] [extra meson options...]
#   GORO_TARGETS="examples/tour" scripts/setup.sh    # build only those targets
#   GORO_JOBS=2 scripts/setup.sh                      # ninja -j2 (default: ninja's own)
#
# Needs: g++ (C++20), meson, ninja, Boost.Context, moodycamel concurrentqueue,
# Catch2 v2, Google Benchmark; for the tests also clang with libFuzzer. Runs
# apt-get as root, or through sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ meson ninja-build pkg-config libboost-context-dev libconcurrentqueue-dev catch2 libbenchmark-dev libdw-dev)
# When the tests are built (not with -Dtests=disabled): clang and its libFuzzer runtime, for the fuzz test
# (tests/fuzz/run_fuzz.sh); cmake, for the CMake consumer (tests/consumers/run.sh); gdb, for the gdb
# extension's test (tests/debug/gdb_test.py).
test_packages=(clang libclang-rt-dev cmake gdb)
case " $* " in
    *" -Dtests=false "* | *" -Dtests=disabled "*) ;;
    *) packages+=("${test_packages[@]}") ;;
esac
# A libc++ build (scripts/test.sh's clang+libc++ flavour): clang and LLVM's C++ library.
case " $* " in
    *"-stdlib=libc++"*) packages+=(clang libc++-dev libc++abi-dev) ;;
esac
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    sudo=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
        sudo="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

build=${1:-build}
shift || true
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$@" >/dev/null
elif [ $# -gt 0 ]; then
    meson configure "$build" "$@" >/dev/null  # an existing build takes the options too
fi
# shellcheck disable=SC2086 # GORO_TARGETS is a list of ninja targets
ninja -C "$build" ${GORO_JOBS:+-j"$GORO_JOBS"} ${GORO_TARGETS:-}
