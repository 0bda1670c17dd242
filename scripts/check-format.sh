#!/usr/bin/env bash
# The C sources of server/ and tests/ follow .clang-format: clang-format's
# dry run with warnings as errors over every .c/.h file, so drift
# fails the test command. Fix with: clang-format -i FILE...
# Usage: scripts/check-format.sh [FILE...]  (default: all of them)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v clang-format >/dev/null 2>&1; then
	echo "check-format: clang-format is not installed" \
		"(scripts/install-deps.sh --test)" >&2
	exit 2
fi
if [ "$#" -gt 0 ]; then
	files=("$@")
else
	# find, not git ls-files: a copy of the tree without git (a tarball)
	# must be checkable too; npm's folders hold no C of ours
	mapfile -t files < <(find server tests -name node_modules -prune -o \
		-type f \( -name '*.c' -o -name '*.h' \) -print | sort)
fi
if [ "${#files[@]}" -eq 0 ]; then
	echo "check-format: no C files found" >&2
	exit 2
fi
clang-format --dry-run --Werror "${files[@]}"
echo "check-format: ${#files[@]} files follow .clang-format"
