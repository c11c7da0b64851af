#!/usr/bin/env bash
# tests/fuzz/run_fuzz.sh — the fuzz test (`meson test fuzz_http_parse`, registered in tests/meson.build):
# builds tests/fuzz/http_parse_fuzz.cpp with clang's libFuzzer, ASan and UBSan, and runs it for a bounded
# time from the seed corpus (tests/fuzz/corpus/http_parse). Fails on a crash, a leak, a sanitizer report,
# a reader/reference mismatch, or when clang or libFuzzer is missing (scripts/setup.sh installs clang and
# libclang-rt-dev whenever tests are built).
#
#   tests/fuzz/run_fuzz.sh SOURCE_ROOT OUT_DIR [SECONDS]     # SECONDS: 20 unless GORO_FUZZ_SECONDS says
#
# The corpus the run grows is kept in OUT_DIR/http_parse_corpus (not in the source tree), and so is a
# crashing input (OUT_DIR/http_parse_artifacts/crash-*); replay one with: OUT_DIR/http_parse_fuzz FILE
set -euo pipefail

src=${1:?usage: run_fuzz.sh SOURCE_ROOT OUT_DIR [SECONDS]}
out=${2:?usage: run_fuzz.sh SOURCE_ROOT OUT_DIR [SECONDS]}
seconds=${GORO_FUZZ_SECONDS:-${3:-20}}
cxx=${GORO_FUZZ_CXX:-clang++}

if ! command -v "$cxx" >/dev/null; then
    echo "fuzz: $cxx not found: scripts/setup.sh installs clang and libclang-rt-dev (libFuzzer) when tests are built" >&2
    exit 1
fi
mkdir -p "$out/http_parse_corpus" "$out/http_parse_artifacts"
bin=$out/http_parse_fuzz
echo "fuzz: building $bin with $cxx" >&2
"$cxx" -std=c++20 -g -O1 -Wall -Wextra -Werror \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -I "$src/examples" "$src/tests/fuzz/http_parse_fuzz.cpp" -o "$bin"

echo "fuzz: running for ${seconds}s from $(ls "$src/tests/fuzz/corpus/http_parse" | wc -l) seeds" >&2
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
    -dict="$src/tests/fuzz/http.dict" -artifact_prefix="$out/http_parse_artifacts/" \
    "$out/http_parse_corpus" "$src/tests/fuzz/corpus/http_parse"
echo "fuzz: no crash in ${seconds}s; corpus now $(ls "$out/http_parse_corpus" | wc -l) inputs" >&2
