#!/usr/bin/env bash
# The whole test suite: installs what is needed, builds normally and with
# AddressSanitizer + UndefinedBehaviorSanitizer, runs every test in both
# (unit, integration against the real server over real WebSockets, browser
# end-to-end in headless Chromium), then runs each fuzz target for a bounded
# time, after checking that the C sources follow .clang-format
# (scripts/check-format.sh). Exits non-zero on the first failing stage.
#
# SCHOLIA_FUZZ_SECONDS (default 30) sets the time per fuzz target.
#
# The output ends with the counts of every stage ("<stage>/<suite>: N
# passed, M failed") and, when all passed, a last line "N passed, 0 failed"
# alone (CI reads it).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="$(nproc)"

scripts/install-deps.sh --test

echo "== format (clang-format --dry-run --Werror)"
scripts/check-format.sh

# The browser tests need a Node.js that the pinned playwright-core accepts
# and a Chromium it can drive: say why and stop here rather than skip them.
echo "== check (Node.js, playwright-core, Chromium)"
node tests/e2e/check-versions.cjs

summary=""
total_passed=0
total_failed=0
# run_ctest STAGE DIR CTEST-ARGS...: runs ctest in DIR, then records the
# passed/failed count of each suite (the part of a test name before the
# first dot: unit, integration, e2e, fuzz) from ctest's per-test lines, and
# checks the sum against ctest's own "... tests failed out of N" line. A
# failing ctest still fails the run (after its counts are printed).
run_ctest() {
	local stage="$1" dir="$2" log rc=0 counts
	shift 2
	log="$(mktemp)"
	(cd "$dir" && ctest "$@") 2>&1 | tee "$log" || rc=$?
	counts="$(awk -v stage="$stage" '
		/Test +#[0-9]+: / {
			name = $0; sub(/.*Test +#[0-9]+: /, "", name)
			sub(/ .*/, "", name); suite = name; sub(/\..*/, "", suite)
			if (!(suite in pass)) { pass[suite] = 0; fail[suite] = 0; order[n++] = suite }
			if ($0 ~ / Passed +[0-9.]+ sec/) pass[suite]++; else fail[suite]++
		}
		/tests passed, [0-9]+ tests? failed out of [0-9]+/ {
			for (i = 1; i <= NF; i++) if ($i == "of") outof = $(i + 1)
		}
		END {
			for (i = 0; i < n; i++) {
				s = order[i]; p += pass[s]; f += fail[s]
				printf "%s/%s: %d passed, %d failed\n", stage, s, pass[s], fail[s]
			}
			if (outof != "" && outof + 0 != p + f)
				printf "%s: counted %d tests but ctest ran %d\n", stage, p + f, outof
			printf "TOTAL %d %d\n", p, f
		}' "$log")"
	rm -f "$log"
	summary="$summary$(printf '%s\n' "$counts" | grep -v '^TOTAL ')"$'\n'
	local np nf
	read -r np nf <<<"$(printf '%s\n' "$counts" | sed -n 's/^TOTAL //p')"
	total_passed=$((total_passed + np))
	total_failed=$((total_failed + nf))
	if [ "$rc" -ne 0 ]; then
		printf '== counts so far\n%s' "$summary"
		exit "$rc"
	fi
	if printf '%s' "$counts" | grep -q 'counted .* but ctest ran'; then
		printf '%s' "$summary"
		echo "== $stage: could not count ctest's results" >&2
		exit 1
	fi
}

echo "== build (normal)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"

echo "== tests (normal build)"
run_ctest normal build --output-on-failure -j2
if ! printf '%s' "$summary" | grep -q '^normal/e2e: [1-9]'; then
	echo "== the browser tests did not run (see 'e2e:' in cmake's output)" >&2
	exit 1
fi

echo "== build (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSCHOLIA_SANITIZE=ON \
	-DCMAKE_C_COMPILER=gcc >/dev/null
cmake --build build-asan -j"$jobs"

echo "== tests (ASan + UBSan build)"
# Browser tests drive the same server code; the sanitizers check it through
# the unit and integration suites, so e2e runs once, above.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_ctest asan build-asan --output-on-failure -j2 -E '^e2e'

if [ -f tests/fuzz/CMakeLists.txt ]; then
	echo "== fuzz (libFuzzer, ${SCHOLIA_FUZZ_SECONDS:-30}s per target)"
	cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DSCHOLIA_FUZZ=ON \
		-DCMAKE_C_COMPILER=clang >/dev/null
	cmake --build build-fuzz -j"$jobs"
	SCHOLIA_FUZZ_SECONDS="${SCHOLIA_FUZZ_SECONDS:-30}" \
		run_ctest fuzz build-fuzz --output-on-failure -L fuzz
fi
echo "== counts"
printf '%s' "$summary"
if [ "$total_failed" -ne 0 ]; then
	exit 1
fi
echo "== all tests passed"
echo "$total_passed passed, $total_failed failed"
