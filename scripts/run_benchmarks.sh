#!/usr/bin/env bash
# Runs every benchmark in turn (never two at once: they share the cores). Each prints its
# table and writes bench/results/<name>.json.
set -euo pipefail
cd "$(dirname "$0")/.."

# Several OpenMP processes (the service and the in-process model) on the same cores starve
# each other unless idle threads sleep.
export OMP_WAIT_POLICY=PASSIVE

for bench in llama_build inference_overhead embedding_overhead chat_overhead cache_turn_latency affinity replica_scaling \
  gateway_overhead concurrent_streams admission_overhead branch_read fair_share turn_cost; do
  echo "==> bench.$bench"
  .venv/bin/python -m "bench.$bench"
done
# The vLLM CPU engine: its own environment (scripts/setup_vllm.sh), then the engines side by
# side, chat affinity over two vLLM replicas, and the window policy against its prefix cache.
scripts/setup_vllm.sh
echo "==> bench.engines" && .venv/bin/python -m bench.engines
echo "==> bench.affinity --engine vllm" && .venv/bin/python -m bench.affinity --engine vllm \
  --clients 4 --chats 3 --turns 5 --opening-details 40
echo "==> bench.window_prefix" && .venv/bin/python -m bench.window_prefix
echo "==> bench.fair_share --engine vllm" && .venv/bin/python -m bench.fair_share --engine vllm
echo "==> bench.openai_overhead --vllm" && .venv/bin/python -m bench.openai_overhead --vllm
echo "==> bench.cache_eval" && .venv/bin/python -m bench.cache_eval
echo "==> bench.vs_litellm" && scripts/compare_venv.sh && .venv/bin/python -m bench.vs_litellm
