"""How the inference service is started on each engine outside a container: llama.cpp in the
project's .venv, vLLM's CPU build in its own environment (scripts/setup_vllm.sh makes it; its
pins of torch and transformers clash with .venv's). Used by `make run`, the test fixtures and
the benchmarks."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VLLM_PYTHON = ROOT / ".venv-vllm" / "bin" / "python"


def engine_options(engine: str, llama_instances: int = 1) -> tuple[str | None, list[str]]:
    """(the interpreter, or None for this one; the inference service's engine flags). vLLM
    serves the packaged model's safetensors export and picks eager mode on a CPU itself."""
    if engine == "llama_cpp":
        return None, ["--instances", str(llama_instances)]
    if not VLLM_PYTHON.exists():
        raise FileNotFoundError(
            f"{VLLM_PYTHON} is missing: run scripts/setup_vllm.sh (`make test`, `make bench` "
            'and `make run ARGS="--engine vllm"` do)'
        )
    return str(VLLM_PYTHON), ["--engine", "vllm"]
