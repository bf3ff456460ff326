#!/usr/bin/env bash
# Installs nats-server (with JetStream, `-js`) from Debian's packages for the message queue and
# its tests. Nothing to do when it is already on PATH.
set -euo pipefail

if command -v nats-server >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y nats-server
nats-server --version
