#!/usr/bin/env bash
# Builds Scholia and installs it as a Debian service, as root:
#   the binary in /usr/local/bin, the web app, migrations and sample book in
#   /usr/local/share/scholia, /etc/scholia/scholia.conf (created once, never
#   overwritten), the systemd units scholia.service and scholia-backup.timer,
#   and the static system user `scholia` whose state is /var/lib/scholia.
# Then, where systemd runs, enables and (re)starts the service and the
# backup timer. Safe to run again for an upgrade: migrations are applied at
# start (docs/operations.md says how to roll back).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "install.sh: run as root" >&2
	exit 1
fi

scripts/install-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSCHOLIA_TESTS=OFF \
	>/dev/null
cmake --build build-release -j"$(nproc)"
cmake --install build-release

if ! getent passwd scholia >/dev/null; then
	useradd --system --user-group --home-dir /var/lib/scholia \
		--no-create-home --shell /usr/sbin/nologin \
		--comment "Scholia server" scholia
	echo "install.sh: created the system user scholia"
fi
install -d -o scholia -g scholia -m 0700 /var/lib/scholia \
	/var/lib/scholia/backups
chown root:scholia /etc/scholia/scholia.conf
chmod 0640 /etc/scholia/scholia.conf

/usr/local/bin/scholia config check --config /etc/scholia/scholia.conf

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload
	systemctl enable scholia.service scholia-backup.timer >/dev/null
	systemctl restart scholia.service
	systemctl start scholia-backup.timer
	echo "install.sh: scholia.service is running (journalctl -u scholia)"
else
	echo "install.sh: systemd is not running here; start the server with"
	echo "  runuser -u scholia -- /usr/local/bin/scholia serve --config /etc/scholia/scholia.conf"
fi
cat <<'EON'
Next steps (docs/operations.md):
  1. set public-url (and trusted-proxy behind nginx or Caddy) in /etc/scholia/scholia.conf
  2. create the site admin:
     printf 'a long passphrase\n' | runuser -u scholia -- /usr/local/bin/scholia admin create-account --handle admin --admin --config /etc/scholia/scholia.conf
  3. systemctl reload scholia   (or restart, for settings that need it)
EON
