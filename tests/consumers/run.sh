#!/usr/bin/env bash
# tests/consumers/run.sh — goro as a consumer meets it. From a fresh, library-only
# configure (-Dtests/-Dexamples/-Dbench=disabled), `meson install` into a
# temporary prefix, move that prefix elsewhere (goro.pc and the CMake package
# must be relocatable), then build and run three tiny consumers:
#   1. pkgconfig/: plain g++ with `pkg-config --cflags --libs goro`;
#   2. cmake/:     find_package(goro 0.2 REQUIRED) and goro::goro;
#   3. meson/:     goro as a subproject (subprojects/goro, a symlink to this
#                  tree), dependency('goro') with no fallback.
# It also checks what must not happen: absolute build-machine paths in the
# installed files, a shared Boost.Context in a consumer, the subproject
# looking for Catch2 or Google Benchmark or installing anything, a consumer
# compiled as C++17 getting further than goro's #error.
#
#   tests/consumers/run.sh SOURCE_DIR WORK_DIR     (meson test --suite consumers)
# Needs g++, pkg-config, cmake, meson, ninja (scripts/setup.sh installs them).
# Each step is bounded (timeout); the whole runs in about a minute on 2 cores.
set -euo pipefail
src=$(cd "$1" && pwd)
work=$2
here=$src/tests/consumers
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
step() { echo "--- consumers: $*"; }
fail() { echo "consumers: FAILED: $*" >&2; exit 1; }
bounded() { timeout --kill-after=10 300 "$@"; }
jobs=${GORO_CONSUMER_JOBS:-2}

step "library-only configure and meson install into $work/prefix"
bounded meson setup "$work/lib" "$src" --prefix="$work/prefix" \
    -Dtests=disabled -Dexamples=disabled -Dbench=disabled >"$work/lib-setup.log" 2>&1 ||
    { cat "$work/lib-setup.log"; fail "library-only configure"; }
if grep -qiE 'catch2|benchmark' "$work/lib/meson-logs/meson-log.txt"; then
    fail "a library-only configure looked for Catch2 or Google Benchmark"
fi
bounded ninja -C "$work/lib" -j"$jobs" >"$work/lib-build.log" 2>&1 || { tail -30 "$work/lib-build.log"; fail "library build"; }
bounded meson install -C "$work/lib" --no-rebuild >"$work/lib-install.log" 2>&1 || { cat "$work/lib-install.log"; fail "meson install"; }

# Relocate: nothing installed may name where it was built or installed.
mv "$work/prefix" "$work/moved"
prefix=$work/moved
pcfile=$(find "$prefix" -name goro.pc)
cmakefile=$(find "$prefix" -name goroConfig.cmake)
[ -n "$pcfile" ] && [ -n "$cmakefile" ] || fail "goro.pc or goroConfig.cmake not installed"
pcdir=$(dirname "$pcfile")
cmakedir=$(dirname "$cmakefile")
for f in "$pcdir/goro.pc" "$cmakedir"/*.cmake; do
    if grep -nE "$work|$src|/usr/lib/[^ ]*\.a" "$f"; then fail "$f names an absolute build-machine path"; fi
done
for h in version.hpp goro.hpp chan.hpp; do
    [ -f "$prefix/include/goro/$h" ] || fail "include/goro/$h not installed"
done

step "pkg-config + g++"
export PKG_CONFIG_PATH=$pcdir
pkg-config --validate goro || fail "pkg-config --validate goro"
[ "$(pkg-config --modversion goro)" = "$(meson introspect --projectinfo "$work/lib" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')" ] ||
    fail "goro.pc's version is not the project's"
for mode in "" "--static"; do
    libs=$(pkg-config --libs $mode goro)
    case " $libs " in *" -l:libboost_context.a "*|*" -lboost_context "*) ;; *) fail "pkg-config --libs $mode: no Boost.Context in '$libs'";; esac
done
# shellcheck disable=SC2046 # pkg-config's output is a list of flags
bounded "${CXX:-g++}" -std=c++20 -O1 "$here/pkgconfig/main.cpp" $(pkg-config --cflags --libs goro) -o "$work/pkgconfig-app"
"$work/pkgconfig-app"
if grep -q ' -l:libboost_context.a' "$pcdir/goro.pc" && ldd "$work/pkgconfig-app" | grep -q boost_context; then
    fail "the pkg-config consumer links the shared Boost.Context"
fi

# Under C++17 the headers stop at once with goro's own message.
# shellcheck disable=SC2046
if "${CXX:-g++}" -std=c++17 -fsyntax-only "$here/pkgconfig/main.cpp" $(pkg-config --cflags goro) >"$work/cxx17.log" 2>&1; then
    fail "a C++17 compile of <goro/goro.hpp> succeeded"
fi
grep -q 'goro needs C++20 (-std=c++20)' "$work/cxx17.log" || { head -20 "$work/cxx17.log"; fail "no '#error goro needs C++20' under -std=c++17"; }
[ "$(grep -c 'error:' "$work/cxx17.log")" -le 2 ] || { head -20 "$work/cxx17.log"; fail "C++17: errors beyond goro's #error"; }

step "CMake find_package(goro 0.2 REQUIRED)"
unset PKG_CONFIG_PATH
bounded cmake -S "$here/cmake" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >"$work/cmake.log" 2>&1 ||
    { cat "$work/cmake.log"; fail "cmake configure"; }
bounded cmake --build "$work/cmake" -j "$jobs" >>"$work/cmake.log" 2>&1 || { cat "$work/cmake.log"; fail "cmake build"; }
"$work/cmake/app"
# A version goro does not have must be refused.
sed 's/find_package(goro 0.2 REQUIRED)/find_package(goro 0.99 REQUIRED)/' "$here/cmake/CMakeLists.txt" >"$work/CMakeLists.txt"
mkdir -p "$work/cmake-bad"
cp "$work/CMakeLists.txt" "$here/cmake/main.cpp" "$work/cmake-bad/"
if cmake -S "$work/cmake-bad" -B "$work/cmake-bad/b" -DCMAKE_PREFIX_PATH="$prefix" >"$work/cmake-bad.log" 2>&1; then
    fail "find_package(goro 0.99) accepted goro $(pkg-config --modversion goro 2>/dev/null)"
fi

step "meson subproject, dependency('goro') without fallback"
mkdir -p "$work/meson/subprojects"
cp "$here/meson/meson.build" "$here/meson/main.cpp" "$work/meson/"
ln -s "$src" "$work/meson/subprojects/goro"
bounded meson setup "$work/meson/build" "$work/meson" --prefix="$work/meson-prefix" >"$work/meson-setup.log" 2>&1 ||
    { cat "$work/meson-setup.log"; fail "subproject consumer configure"; }
grep -q "Dependency goro found: YES .*(overridden)" "$work/meson-setup.log" || { cat "$work/meson-setup.log"; fail "dependency('goro') not the override"; }
if grep -iE 'catch2|benchmark' "$work/meson/build/meson-logs/meson-log.txt"; then
    fail "goro as a subproject looked for Catch2 or Google Benchmark"
fi
bounded ninja -C "$work/meson/build" -j"$jobs" >"$work/meson-build.log" 2>&1 || { tail -30 "$work/meson-build.log"; fail "subproject consumer build"; }
targets=$(grep -c '^build [^:]*: cpp_LINKER\|^build [^:]*: STATIC_LINKER' "$work/meson/build/build.ninja" || true)
[ "$targets" -le 2 ] || fail "the subproject built $targets targets, not just libgoro and the app"
"$work/meson/build/app"
bounded meson install -C "$work/meson/build" --no-rebuild >"$work/meson-install.log" 2>&1 || { cat "$work/meson-install.log"; fail "consumer install"; }
extra=$(cd "$work/meson-prefix" && find . -type f ! -path './bin/app')
[ -z "$extra" ] || fail "the consumer's install also installed goro's files: $extra"

step "all three consumers built and ran"
rm -rf "$work"
