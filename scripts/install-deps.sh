#!/usr/bin/env bash
# Installs what Scholia needs from Debian's archive (and, for tests, the npm
# registry). Usage: scripts/install-deps.sh [--test]
# Idempotent and quick when everything is already there: apt-get runs only
# for packages that are missing.
set -euo pipefail

RUNTIME="build-essential cmake pkg-config libwebsockets-dev
 libwebsockets-evlib-ev libev-dev libsqlite3-dev libsodium-dev libjansson-dev
 libmd4c-dev libmd4c-html0-dev libzip-dev libxml2-dev libcrack2-dev libpq-dev
 cracklib-runtime libcurl4-openssl-dev libgmime-3.0-dev"
TEST="libcmocka-dev python3 python3-pytest python3-websockets sqlite3 clang
 libclang-rt-14-dev chromium valgrind openssl clang-format python3-aiosmtpd
 nginx postgresql"

want="$RUNTIME"
if [ "${1:-}" = "--test" ]; then
	want="$want $TEST"
fi

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
if ! command -v node >/dev/null 2>&1 && [ "${1:-}" = "--test" ]; then
	missing="$missing nodejs npm"
fi

if [ -n "$missing" ]; then
	echo "install-deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# Packages with a service (nginx, for the reverse-proxy test, and
	# postgresql, whose tests start their own clusters) must not
	# leave it running: without systemd, their postinst would start it
	# through invoke-rc.d, which a policy-rc.d answering 101 forbids.
	policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 0755 "$policy"
	fi
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	if [ -n "$policy" ]; then
		rm -f "$policy"
	fi
fi

if [ "${1:-}" = "--test" ]; then
	here="$(cd "$(dirname "$0")/.." && pwd)"
	for d in tests/e2e tests/w3c; do
		if [ -f "$here/$d/package.json" ]; then
			(cd "$here/$d" && npm ci --no-audit --no-fund --loglevel=error)
		fi
	done
fi
