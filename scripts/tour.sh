#!/usr/bin/env bash
# scripts/tour.sh — the README's first command: install what is missing,
# build, and run examples/tour (every example, one process, one runtime).
set -euo pipefail
cd "$(dirname "$0")/.."
GORO_TARGETS=examples/tour scripts/setup.sh build
exec build/examples/tour "$@"
