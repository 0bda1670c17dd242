#!/bin/sh
# Runs one libFuzzer target for a bounded time on a copy of its seed corpus.
#   run-target.sh BINARY SEED_DIR WORK_DIR
# SCHOLIA_FUZZ_SECONDS (default 30) bounds the run. New inputs the fuzzer
# finds go to WORK_DIR/corpus, crash reproducers to WORK_DIR/artifacts;
# libFuzzer exits non-zero on any crash, leak, sanitizer report, timeout
# (-timeout, per input) or when RSS passes -rss_limit_mb.
set -eu
bin="$1"
seeds="$2"
work="$3"
secs="${SCHOLIA_FUZZ_SECONDS:-30}"
rm -rf "$work/corpus"
mkdir -p "$work/corpus" "$work/artifacts"
cp "$seeds"/* "$work/corpus/"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
dict=""
name="$(basename "$bin")"
if [ -f "$(dirname "$0")/$name.dict" ]; then
	dict="-dict=$(dirname "$0")/$name.dict"
fi
# shellcheck disable=SC2086
exec "$bin" $dict -max_total_time="$secs" -rss_limit_mb=2048 -timeout=25 \
	-print_final_stats=1 -artifact_prefix="$work/artifacts/" \
	"$work/corpus"
