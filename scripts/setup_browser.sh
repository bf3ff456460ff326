#!/usr/bin/env bash
# Installs the headless browser the web UI's end-to-end tests drive (tests/web): Debian's
# chromium from apt (playwright's own browser download needs a CDN this setup cannot assume).
# Skipped when a chromium is already there. Set CHROMIUM=/path/to/chromium to use another.
set -euo pipefail

if [[ -n "${CHROMIUM:-}" && -x "${CHROMIUM}" ]] || [[ -x /usr/bin/chromium ]]; then
  exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null; then
    echo "==> chromium is missing and this user cannot install it: the browser tests will be skipped" >&2
    exit 0
  fi
  SUDO="sudo"
fi
echo "==> installing chromium (apt) for the web UI's browser tests"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "==> chromium ready: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
