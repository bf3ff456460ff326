#!/usr/bin/env bash
# The vLLM GPU path, on a machine with an NVIDIA GPU: the engine contract suite against vLLM's
# GPU build, then the engines benchmark (our service on vLLM vs vLLM's own OpenAI server),
# figures in bench/results/engines-gpu.json. Budget: under 5 minutes once installed.
#   VLLM_GPU_PYTHON  the interpreter of an environment with the GPU build of vLLM (the
#                    project's `vllm` extra) and this project installed in it (pip install -e .
#                    --no-deps, and gen/ on its path: see scripts/setup_vllm.sh); by default
#                    .venv-vllm-gpu/bin/python
# The model is the packaged one's safetensors export (scripts/setup_vllm.sh makes it), so the
# machine needs no network. Run it whenever a GPU machine is at hand.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${VLLM_GPU_PYTHON:-.venv-vllm-gpu/bin/python}
[[ -x $PYTHON ]] || { echo "error: $PYTHON missing (set VLLM_GPU_PYTHON)" >&2; exit 1; }
command -v nvidia-smi >/dev/null || { echo "error: no NVIDIA GPU here (nvidia-smi)" >&2; exit 1; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
"$PYTHON" -c 'import torch, vllm; assert torch.cuda.is_available(); print("vllm", vllm.__version__)'

start=$SECONDS
# The GPU build: CUDA graphs captured (the production setting), a small share of GPU memory.
export CHATSTACK_VLLM_PYTHON=$PYTHON
export CHATSTACK_VLLM_ARGS="--vllm-gpu-memory-utilization 0.3"
.venv/bin/pytest -q -m vllm tests/inference tests/gateway/test_stack_e2e.py -p no:cacheprovider
echo "==> contract suite on the GPU: $((SECONDS - start)) s"
.venv/bin/python -m bench.engines --gpu --vllm-python "$PYTHON" --servers vllm,vllm_serve
echo "==> GPU check done in $((SECONDS - start)) s (bench/results/engines-gpu.json)"
