#!/usr/bin/env bash
# Install Halfweg as a systemd service on Debian or Raspberry Pi OS (ARM64 or x86-64).
#
#   sudo ./systemd/install.sh [CONFIG]      # CONFIG defaults to config/example.yaml
#
# What it does: checks Node.js >= 20, copies the package to /opt/halfweg, installs production
# dependencies (serialport and classic-level ship prebuilt binaries for linux-arm64, linux-arm and
# linux-x64 inside their npm packages, so no compiler is needed on the Pi), builds, installs the
# unit and the config (/etc/halfweg/halfweg.yaml, kept if present), and starts the service.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
config="${1:-$src/config/example.yaml}"
[ "$(id -u)" -eq 0 ] || { echo "run as root (sudo)" >&2; exit 1; }
command -v node >/dev/null || { echo "Node.js 20 or later is required: apt-get install nodejs (Raspberry Pi OS bookworm has 18: use the NodeSource or nodejs.org build)" >&2; exit 1; }
major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$major" -ge 20 ] || { echo "Node.js $major found; 20 or later is required" >&2; exit 1; }

install -d /opt/halfweg
# Copy the sources, not a developer's node_modules or data.
tar -C "$src" --exclude=node_modules --exclude=dist --exclude=data --exclude=.git -cf - . | tar -C /opt/halfweg -xf -
cd /opt/halfweg
npm ci --no-audit --no-fund
npm run build
npm prune --omit=dev --no-audit --no-fund

install -d -m 0750 /etc/halfweg
[ -f /etc/halfweg/halfweg.yaml ] || install -m 0640 "$config" /etc/halfweg/halfweg.yaml
node dist/src/main.js check-config /etc/halfweg/halfweg.yaml >/dev/null
install -m 0644 systemd/halfweg.service /etc/systemd/system/halfweg.service
systemctl daemon-reload
systemctl enable --now halfweg.service
systemctl --no-pager status halfweg.service || true
echo "installed; logs: journalctl -u halfweg -f   status: node /opt/halfweg/dist/src/main.js status"
