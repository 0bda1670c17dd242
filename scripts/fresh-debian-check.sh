#!/usr/bin/env bash
# Runs the README's test command the way a newcomer would: in a minimal
# Debian 12 made with debootstrap, on a clone of this repository (its
# committed HEAD) and nothing else, as root. Needs root, debootstrap (it is
# installed if missing) and the network to Debian's archive and the npm
# registry.
#
# Usage: scripts/fresh-debian-check.sh [DIR]
#   DIR       where the Debian 12 tree goes (default /var/tmp/scholia-fresh);
#             an existing tree is reused (delete it for a really fresh run)
# Environment:
#   DEBIAN_MIRROR          the archive (default http://deb.debian.org/debian)
#   SCHOLIA_FUZZ_SECONDS   passed on to scripts/test.sh
#   FRESH_COMMAND          run this instead of scripts/test.sh (e.g.
#                          "scripts/run.sh" to check the run command)
#   FRESH_EXTRA_CA         a CA certificate (.crt) the fresh system must
#                          trust too, on a network whose TLS goes through an
#                          intercepting proxy (npm fails with
#                          SELF_SIGNED_CERT_IN_CHAIN otherwise); unset on a
#                          plain network
#
# The exit status is the test command's; its output ends with the counts of
# every stage (scripts/test.sh).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
root="${1:-/var/tmp/scholia-fresh}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
command_in="${FRESH_COMMAND:-scripts/test.sh}"

if [ "$(id -u)" != 0 ]; then
	echo "fresh-debian-check: run as root (debootstrap and chroot)" >&2
	exit 2
fi
if ! command -v debootstrap >/dev/null 2>&1; then
	apt-get -o DPkg::Lock::Timeout=600 install -y -qq debootstrap >/dev/null
fi

if [ ! -x "$root/bin/bash" ]; then
	echo "== debootstrap bookworm into $root"
	debootstrap --variant=minbase --include=git,ca-certificates \
		bookworm "$root" "$mirror"
fi
# the archive a fresh Debian 12 uses, security updates included
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
cp /etc/resolv.conf "$root/etc/resolv.conf"
extra_env=()
if [ -n "${FRESH_EXTRA_CA:-}" ]; then
	mkdir -p "$root/usr/local/share/ca-certificates"
	cp "$FRESH_EXTRA_CA" "$root/usr/local/share/ca-certificates/fresh-extra-ca.crt"
	chroot "$root" update-ca-certificates >/dev/null
	extra_env=(NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)
fi

mounted=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	local i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount -l "${mounted[$i]}" 2>/dev/null || true
	done
}
trap cleanup EXIT
mount -t proc proc "$root/proc" && mounted+=("$root/proc")
mount --rbind /sys "$root/sys" && mounted+=("$root/sys")
mount --make-rslave "$root/sys"
mount --rbind /dev "$root/dev" && mounted+=("$root/dev")
mount --make-rslave "$root/dev"

echo "== clone $(git -C "$repo" rev-parse --short HEAD) into the fresh system"
rm -rf "$root/root/scholia"
git clone -q --no-local "$repo" "$root/root/scholia"

echo "== $command_in (as root, in the fresh Debian 12)"
rc=0
chroot "$root" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	SCHOLIA_FUZZ_SECONDS="${SCHOLIA_FUZZ_SECONDS:-30}" "${extra_env[@]}" \
	/bin/bash -c "cd /root/scholia && $command_in" || rc=$?
echo "== fresh-debian-check: exit $rc"
exit "$rc"
