#!/usr/bin/env bash
# Builds the web UI (web/ -> web/dist) for production: `npm ci` exactly as locked, then the
# type check and Vite's build. Skipped when web/dist was built from the same sources: a stamp
# in web/dist is keyed on the hash of the lockfile, the config and every source file. Without
# npm it says so and leaves the UI unbuilt (the stack then runs API-only).
set -euo pipefail
cd "$(dirname "$0")/../web"

if ! command -v npm >/dev/null; then
  echo "==> npm not found: skipping the web UI build (web/dist)" >&2
  exit 0
fi

HASH=$(
  {
    find src public test -type f 2>/dev/null | LC_ALL=C sort
    printf '%s\n' index.html package.json package-lock.json tsconfig.json vite.config.ts \
      ../scripts/build_web.sh
  } | while read -r file; do
    printf '%s\0' "$file"
    cat "$file"
  done | sha256sum | cut -c1-16
)
STAMP="dist/.build-$HASH"
if [[ -f "$STAMP" ]]; then
  exit 0
fi

# node_modules matches the lockfile (its own stamp), else a clean install. --ignore-scripts: no
# package needs an install script (esbuild finds its binary in its platform package).
DEPS_STAMP="node_modules/.installed-$(cat package.json package-lock.json | sha256sum | cut -c1-16)"
if [[ ! -f "$DEPS_STAMP" ]]; then
  echo "==> installing the web UI's packages (npm ci in web/)"
  npm ci --silent --no-audit --no-fund --ignore-scripts
  touch "$DEPS_STAMP"
fi

echo "==> building the web UI (web/dist)"
npm run --silent build -- --logLevel warn
touch "$STAMP"
