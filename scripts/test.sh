#!/usr/bin/env bash
# scripts/test.sh — the README's second command: install what is missing,
# build, and run every test: the release build, then the same tests built
# with AddressSanitizer + UndefinedBehaviorSanitizer (GORO_TSAN=1 adds a
# ThreadSanitizer build too). Ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
flavour() { # flavour NAME BUILD_DIR [meson options...]
    local name=$1 dir=$2
    shift 2
    echo "=== $name: building in $dir" >&2
    if ! scripts/setup.sh "$dir" "$@" >"$dir.log" 2>&1; then
        tail -40 "$dir.log" >&2
        echo "=== $name: BUILD FAILED" >&2
        failed=$((failed + 1))
        return
    fi
    echo "=== $name: testing" >&2
    meson test -C "$dir" --print-errorlogs --num-processes 1 2>&1 | tee "$dir-test.log" | grep -E '^ *[0-9]+/[0-9]+ ' >&2
    local ok fail
    ok=$(grep -E '^Ok: ' "$dir-test.log" | awk '{ print $2 }')
    fail=$(grep -E '^(Fail|Timeout|Unexpected Pass): ' "$dir-test.log" | awk '{ s += $2 } END { print s + 0 }')
    if [ -z "$ok" ]; then
        echo "=== $name: meson test did not run" >&2
        failed=$((failed + 1))
        return
    fi
    passed=$((passed + ok))
    failed=$((failed + fail))
}

flavour release build
flavour asan+ubsan build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbench=false
if [ "${GORO_TSAN:-0}" = 1 ]; then
    flavour tsan build-tsan -Db_sanitize=thread -Dbench=false
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
