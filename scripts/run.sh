#!/usr/bin/env bash
# Quick start: installs what is needed, builds, and serves Scholia on its
# embedded defaults (data/scholia.db, the sample book, http://127.0.0.1:8080).
# Extra arguments go to `scholia serve` (e.g. --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSCHOLIA_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)"
exec ./build/scholia serve "$@"
