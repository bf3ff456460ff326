#!/usr/bin/env bash
# Installs the stack bench/vs_litellm.py compares against (llama-cpp-python's OpenAI-compatible
# server behind the LiteLLM proxy) into its own virtualenv, .venv-compare, outside the
# project's .venv: benchmark-only dependencies with their own pins (FastAPI, pydantic, ...).
# llama-cpp-python is pinned to the version in .venv, so pip reuses the wheel it built for
# .venv from its cache instead of compiling llama.cpp again (about 5 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=.venv-compare
if [[ -x "$TARGET/bin/litellm" ]] && "$TARGET/bin/python" -c 'import llama_cpp.server' 2>/dev/null; then
  exit 0
fi
LLAMA_VERSION=$(.venv/bin/python -c 'from importlib.metadata import version; print(version("llama_cpp_python"))')
python3.11 -m venv "$TARGET" 2>/dev/null || .venv/bin/python -m venv "$TARGET"
"$TARGET/bin/python" -m pip install -q --upgrade pip
"$TARGET/bin/python" -m pip install -q "llama-cpp-python[server]==$LLAMA_VERSION" "litellm[proxy]"
echo "==> llama-cpp-python $LLAMA_VERSION + LiteLLM proxy installed in $TARGET"
