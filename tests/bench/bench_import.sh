#!/bin/sh
# Builds and runs tests/bench/bench_import.c (not part of ctest): imports a
# generated 150,000-word book, anchors 10,000 passages, re-imports an edited
# edition and prints the time of each phase.
#
#   tests/bench/bench_import.sh [BUILD_DIR]
#
# BUILD_DIR defaults to build-bench, configured as a Release build here.
set -e
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build-bench}
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
	cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$BUILD" -j2 --target scholia_core >/dev/null
PKGS="libwebsockets jansson libsodium sqlite3 md4c md4c-html libzip libxml-2.0"
cc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	-DSCHOLIA_SOURCE_DIR="\"$SRC\"" -I"$SRC/server" \
	$(pkg-config --cflags $PKGS) \
	"$SRC/tests/bench/bench_import.c" "$BUILD/libscholia_core.a" \
	$(pkg-config --libs $PKGS) -lcrack -lpthread -lm \
	-o "$BUILD/bench_import"
"$BUILD/bench_import" 2>/dev/null
