#!/usr/bin/env bash
# The whole test suite: installs what is needed, builds normally and with
# AddressSanitizer + UndefinedBehaviorSanitizer, runs every test in both
# (unit, integration against the real server over real WebSockets, browser
# end-to-end in headless Chromium), then runs each fuzz target for a bounded
# time, after checking that the C sources follow .clang-format
# (scripts/check-format.sh). Exits non-zero on the first failing stage.
#
# SCHOLIA_FUZZ_SECONDS (default 30) sets the time per fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="$(nproc)"

scripts/install-deps.sh --test

echo "== format (clang-format --dry-run --Werror)"
scripts/check-format.sh

echo "== build (normal)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"

echo "== tests (normal build)"
(cd build && ctest --output-on-failure -j2)

echo "== build (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSCHOLIA_SANITIZE=ON \
	-DCMAKE_C_COMPILER=gcc >/dev/null
cmake --build build-asan -j"$jobs"

echo "== tests (ASan + UBSan build)"
# Browser tests drive the same server code; the sanitizers check it through
# the unit and integration suites, so e2e runs once, above.
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --output-on-failure -j2 -E '^e2e')

if [ -f tests/fuzz/CMakeLists.txt ]; then
	echo "== fuzz (libFuzzer, ${SCHOLIA_FUZZ_SECONDS:-30}s per target)"
	cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DSCHOLIA_FUZZ=ON \
		-DCMAKE_C_COMPILER=clang >/dev/null
	cmake --build build-fuzz -j"$jobs"
	(cd build-fuzz && SCHOLIA_FUZZ_SECONDS="${SCHOLIA_FUZZ_SECONDS:-30}" \
		ctest --output-on-failure -L fuzz)
fi
echo "== all tests passed"
