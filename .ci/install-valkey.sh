#!/usr/bin/env bash
# Installs Valkey 8 (valkey-server) from Debian bookworm-backports, for the conformance suite's
# "valkey" flavour (npm run test:conformance -- valkey). Does nothing when valkey-server is already
# installed; only says what to run when this is not root on Debian (the flavour then cannot run).
set -euo pipefail

if command -v valkey-server >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 || [ ! -f /etc/debian_version ]; then
  echo "valkey-server is missing; as root on Debian bookworm run:" >&2
  echo "  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list" >&2
  echo "  apt-get update && apt-get install -y -t bookworm-backports valkey-server" >&2
  exit 0
fi
if [ ! -f /etc/apt/sources.list.d/backports.list ]; then
  echo "deb http://deb.debian.org/debian bookworm-backports main" >/etc/apt/sources.list.d/backports.list
fi
apt-get update -qq
# The package's service is never started here (no init system in CI; policy-rc.d may deny it):
# the tests start their own valkey-server on loopback ports.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports valkey-server >/dev/null
valkey-server --version
