#!/usr/bin/env bash
# Install Halfweg as a systemd service on Debian or Raspberry Pi OS (ARM64 or x86-64).
#
#   sudo ./systemd/install.sh [--config FILE] [--credential FILE]...
#
#   --config FILE       installed as /etc/halfweg/halfweg.yaml when there is none yet
#                       (default: config/service.yaml, a starter that runs as it stands)
#   --credential FILE   a secret the config names as $CREDENTIALS_DIRECTORY/<file name> (TLS key,
#                       certificate, password file); kept root-only in /etc/halfweg/credentials
#   --layout-only       lay out /etc only (config, credentials, unit, drop-in) and check the
#                       config; no copy to /opt, no npm, no systemctl. With DESTDIR=/some/root
#                       everything goes under that root (tests use this).
#
# What it does: checks Node.js >= 20, copies the package to /opt/halfweg, installs production
# dependencies (serialport and classic-level ship prebuilt binaries for linux-arm64, linux-arm and
# linux-x64 inside their npm packages, so no compiler is needed on the Pi), builds, lays out the
# configuration and the credentials, installs the unit, checks the config as the service will see
# it, and only then enables and starts the service: a unit whose config fails check-config would
# restart in a loop, so it is not enabled.
#
# Files and modes (the service runs as a dynamic user, which no group or owner can be given to):
#   /etc/halfweg/                     root 0755   the service reads its config here
#   /etc/halfweg/halfweg.yaml         root 0644   no secrets in it (an inline password is refused)
#   /etc/halfweg/credentials/         root 0700   secrets; systemd copies each into the service's
#   /etc/halfweg/credentials/*        root 0600   private $CREDENTIALS_DIRECTORY (LoadCredential=)
#   /etc/systemd/system/halfweg.service.d/credentials.conf   one LoadCredential= per credential
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
config=""
credentials=()
layout_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config="${2:?--config needs a file}"; shift 2 ;;
    --credential) credentials+=("${2:?--credential needs a file}"); shift 2 ;;
    --layout-only) layout_only=1; shift ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) [ -z "$config" ] || { echo "install.sh: one config only (see --help)" >&2; exit 2; }; config="$1"; shift ;;
  esac
done
root="${DESTDIR:-}"
etc="$root/etc/halfweg"
units="$root/etc/systemd/system"

[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (sudo)" >&2; exit 1; }
for f in ${config:+"$config"} ${credentials[@]+"${credentials[@]}"}; do
  [ -r "$f" ] || { echo "install.sh: cannot read $f" >&2; exit 1; }
done
for f in ${credentials[@]+"${credentials[@]}"}; do
  # The name becomes the credential's id in LoadCredential= and its file in $CREDENTIALS_DIRECTORY.
  [[ "$(basename "$f")" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || { echo "install.sh: $f: a credential's file name is letters, digits, '.', '_' or '-'" >&2; exit 2; }
done

if [ "$layout_only" -eq 0 ]; then
  command -v node >/dev/null || { echo "install.sh: Node.js 20 or later is required: apt-get install nodejs (Raspberry Pi OS bookworm has 18: use the NodeSource or nodejs.org build)" >&2; exit 1; }
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge 20 ] || { echo "install.sh: Node.js $major found; 20 or later is required" >&2; exit 1; }
  install -d /opt/halfweg
  # Copy the sources, not a developer's node_modules or data.
  tar -C "$src" --exclude=node_modules --exclude=dist --exclude=data --exclude=.git -cf - . | tar -C /opt/halfweg -xf -
  (cd /opt/halfweg && npm ci --no-audit --no-fund && npm run build && npm prune --omit=dev --no-audit --no-fund)
  app=/opt/halfweg
else
  app="$src"
fi

# Configuration: readable by the service (see the table above); an existing one is kept, and its
# modes are set right (an install before issue 17 left it root 0750/0640: EACCES for the service).
install -d -m 0755 "$etc"
chmod 0755 "$etc"
if [ -f "$etc/halfweg.yaml" ]; then
  echo "install.sh: keeping the existing $etc/halfweg.yaml"
else
  install -m 0644 "${config:-$src/config/service.yaml}" "$etc/halfweg.yaml"
fi
chown root:root "$etc/halfweg.yaml"
if grep -Eq '^[^#]*[{ ,]password:' "$etc/halfweg.yaml"; then
  echo "install.sh: $etc/halfweg.yaml holds a password inline; the service must be able to read that file, so anyone could: put the password in a file, install it with --credential FILE and name it passwordFile: \$CREDENTIALS_DIRECTORY/FILE" >&2
  exit 1
fi
chmod 0644 "$etc/halfweg.yaml"

# Credentials: root-only on disk; one LoadCredential= per file hands each to the service.
install -d -m 0700 "$etc/credentials"
chmod 0700 "$etc/credentials"
for f in ${credentials[@]+"${credentials[@]}"}; do install -m 0600 -o root -g root "$f" "$etc/credentials/$(basename "$f")"; done
install -d -m 0755 "$units/halfweg.service.d"
{
  echo "# Written by systemd/install.sh: one LoadCredential= per file in /etc/halfweg/credentials."
  echo "# Add a credential with install.sh --credential FILE (or add a line here), then systemctl daemon-reload."
  echo "[Service]"
  for f in "$etc/credentials"/*; do
    if [ -f "$f" ]; then echo "LoadCredential=$(basename "$f"):/etc/halfweg/credentials/$(basename "$f")"; fi
  done
} > "$units/halfweg.service.d/credentials.conf"
chmod 0644 "$units/halfweg.service.d/credentials.conf"
install -m 0644 "$src/systemd/halfweg.service" "$units/halfweg.service"

# The config as the service will see it: credentials from their directory. A unit whose config
# fails would restart in a loop: refuse to enable it.
if ! CREDENTIALS_DIRECTORY="$etc/credentials" node "$app/dist/agent/main.js" check-config "$etc/halfweg.yaml" >/dev/null; then
  echo "install.sh: $etc/halfweg.yaml fails check-config (above); the service is installed but NOT enabled. Fix it, then run install.sh again." >&2
  exit 1
fi
[ "$layout_only" -eq 1 ] && { echo "install.sh: laid out under ${root:-/}; config checked"; exit 0; }

systemctl daemon-reload
systemctl enable --now halfweg.service
systemctl --no-pager status halfweg.service || true
echo "installed; logs: journalctl -u halfweg -f   status: node /opt/halfweg/dist/agent/main.js status"
