#!/usr/bin/env bash
# Installs everything the Python side needs into .venv. Idempotent: a stamp keyed on the
# dependency files skips the work on later runs, so a second `make run` starts in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
VENV=.venv
STAMP="$VENV/.installed-$(cat requirements/main.lock requirements/nodeps.lock \
  requirements/bootstrap.lock requirements/llama-cpp-python.lock scripts/setup.sh scripts/build_llama_cpp.sh \
  clients/node/package-lock.json | sha256sum | cut -c1-16)"

if [[ -f "$STAMP" ]]; then
  exit 0
fi
step() { # prints what the next step does, and how long the previous one took
  local now=$SECONDS
  [[ -n ${STEP_NAME:-} ]] && echo "    ($STEP_NAME: $((now - STEP_START)) s)"
  STEP_NAME=$1 STEP_START=$now
  [[ -n $1 ]] && echo "==> $1"
  return 0
}

if [[ ! -x "$VENV/bin/python" ]]; then
  step "creating the virtual environment in $VENV"
  "$PYTHON" -m venv "$VENV"
fi
# uv installs the locked packages (several times faster than pip); pip only installs uv, by hash.
step "installing uv (requirements/bootstrap.lock)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes \
  -r requirements/bootstrap.lock
# The exact locked set, every file checked against its hash; anything else in the venv is removed.
# The first time this downloads torch and its CUDA libraries (PyPI's torch is a CUDA build that
# also runs on CPUs): about 4 GB.
step "installing the locked Python packages (requirements/main.lock, nodeps.lock)"
"$VENV/bin/uv" pip sync --python "$VENV/bin/python" --require-hashes \
  requirements/main.lock requirements/nodeps.lock requirements/bootstrap.lock
"$VENV/bin/uv" pip install --python "$VENV/bin/python" --no-deps --quiet -e .
# llama.cpp, built for a portable instruction-set baseline (never from a cached native build).
step "llama-cpp-python with a portable llama.cpp (scripts/build_llama_cpp.sh)"
wheel=$(scripts/build_llama_cpp.sh portable | tail -1)
"$VENV/bin/uv" pip install --python "$VENV/bin/python" --no-deps --quiet "$wheel"

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
step ""

rm -f "$VENV"/.installed-*
touch "$STAMP"
echo "==> Python environment ready"
