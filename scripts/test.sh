#!/usr/bin/env bash
# scripts/test.sh — the README's second command: install what is missing,
# build, and run every test: the release build, then the same tests built
# with AddressSanitizer + UndefinedBehaviorSanitizer (GORO_TSAN=1 adds a
# ThreadSanitizer build too), and a clang + libc++ build of the library and
# a subset of its tests (see below). The release, libc++ and TSan builds have
# -Dwerror=true: they build warning-free, and a new warning fails the run.
# The ASan+UBSan build does not: there g++ 12 inlines std::string's operator+
# into a false -Wrestrict warning (tests/sched/migration_test.cpp), a
# compiler bug, not the tree's. The sanitizer builds also check the runtime's
# lock order at every acquire (-Dlock_rank=true, runtime/DESIGN.md). GORO_SOAK=1 makes the soak test run a minute
# in each build instead of 3 s. Last, the API reference must build without a
# Doxygen warning (scripts/apidocs.sh). Ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
flavour() { # flavour NAME BUILD_DIR [meson options...]   ($only: run only these meson tests)
    local name=$1 dir=$2 start=$SECONDS
    shift 2
    echo "=== $name: building in $dir" >&2
    if ! scripts/setup.sh "$dir" "$@" >"$dir.log" 2>&1; then
        tail -40 "$dir.log" >&2
        echo "=== $name: BUILD FAILED" >&2
        failed=$((failed + 1))
        return
    fi
    echo "=== $name: testing" >&2
    # shellcheck disable=SC2086 # $only is a list of test names
    meson test -C "$dir" --print-errorlogs --num-processes 1 ${only:-} 2>&1 | tee "$dir-test.log" | grep -E '^ *[0-9]+/[0-9]+ ' >&2
    # Count Catch2 test cases from each group's summary, and every other
    # meson test (the examples) as one. A group that crashed or timed out
    # before its summary counts as one failure.
    local counts
    counts=$(awk '
        /^=+ [0-9]+\/[0-9]+ =+$/ { if (inlog) flush(); inlog = 1; name = ""; result = ""; catch_p = -1; catch_f = 0; next }
        inlog && /^test: /        { name = $2 }
        inlog && /^result: /      { result = $0 }
        inlog && /^All tests passed \(.* in [0-9]+ test case/ { match($0, /in [0-9]+ test case/); catch_p = substr($0, RSTART + 3, RLENGTH - 13) + 0 }
        inlog && /^test cases: /  { n = split($0, f, "|"); catch_p = f[2] + 0; catch_f = (n >= 3 ? f[3] + 0 : 0) }
        function flush() {
            ok = (result ~ /exit status 0/)
            if (catch_p >= 0) { P += catch_p; F += catch_f; if (!ok && catch_f == 0) F += 1 }
            else if (ok) P += 1; else F += 1
        }
        END { if (inlog) flush(); print P + 0, F + 0 }' "$dir/meson-logs/testlog.txt" 2>/dev/null)
    if [ -z "$counts" ] || [ "$counts" = "0 0" ]; then
        echo "=== $name: meson test did not run" >&2
        failed=$((failed + 1))
        return
    fi
    echo "=== $name: $counts (passed, failed), $((SECONDS - start)) s" >&2
    if [ "${counts#* }" != 0 ]; then
        # Name what failed, with Catch2's or the sanitizer's report, so that
        # a CI log alone is enough to start on it.
        echo "=== $name: failures (from $dir/meson-logs/testlog.txt)" >&2
        grep -a -B 14 -A 8 -E 'FAILED:|due to unexpected exception|fatal error condition|ERROR: (Address|Leak|Thread)Sanitizer|runtime error:|TIMEOUT|Timeout' \
            "$dir/meson-logs/testlog.txt" 2>/dev/null | head -200 >&2
    fi
    passed=$((passed + ${counts% *}))
    failed=$((failed + ${counts#* }))
}

flavour release build -Dwerror=true -Dtests=enabled
# clang + LLVM's libc++: the standard library's transitive includes differ
# from libstdc++'s, so a missing #include shows here. To keep CI's time, it
# builds the library and the tests (no examples, no benchmarks) and runs the
# header check and the api, chan, sync and task groups.
CXX=clang++ only="headers api chan sync task" flavour clang+libc++ build-libcxx -Dwerror=true \
    -Dtests=enabled -Dexamples=disabled -Dbench=disabled -Dcpp_args=-stdlib=libc++ -Dcpp_link_args=-stdlib=libc++
flavour asan+ubsan build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dtests=enabled -Dbench=disabled -Dlock_rank=true
if [ "${GORO_TSAN:-0}" = 1 ]; then
    flavour tsan build-tsan -Dwerror=true -Db_sanitize=thread -Dbuildtype=debugoptimized -Dtests=enabled -Dbench=disabled -Dlock_rank=true
fi

# The API reference (Doxygen, a few seconds): builds warning-free, counted as one test.
echo "=== apidocs: scripts/apidocs.sh build" >&2
if scripts/apidocs.sh build >build-apidocs.log 2>&1; then
    passed=$((passed + 1))
else
    tail -40 build-apidocs.log >&2
    echo "=== apidocs: FAILED" >&2
    failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
