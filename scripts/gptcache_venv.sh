#!/usr/bin/env bash
# Installs GPTCache (the baseline that bench/cache_eval.py compares against) into its own
# folder, .venv-gptcache, outside the project's .venv: it is a benchmark-only dependency.
# --no-deps: its runtime needs (numpy, cachetools, requests, faiss-cpu) are already in .venv,
# and this way nothing there is upgraded or downgraded. SQLAlchemy backs its sqlite scalar store.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=.venv-gptcache
if [[ -d "$TARGET/gptcache" && -d "$TARGET/sqlalchemy" ]]; then
  exit 0
fi
.venv/bin/python -m pip install -q --no-deps --target "$TARGET" \
  'gptcache==0.1.44' 'SQLAlchemy>=2,<3' 'greenlet>=3'
echo "==> GPTCache installed in $TARGET"
