"""The OpenAI-compatible HTTP API (chat_service/openai_api, docs/openai-api.md)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class OpenAiSettings(BaseModel):
    openai_host: str = Field("127.0.0.1", description="address the OpenAI-compatible API binds")
    openai_port: int = Field(
        -1,
        ge=-1,
        le=65535,
        description="HTTP port of the OpenAI-compatible API (/v1/...); 0: a free one, -1: off",
    )
    openai_max_body_bytes: int = Field(
        4 * 1024 * 1024, ge=1024, description="the largest request body it reads"
    )
