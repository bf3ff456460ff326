"""The inference and embedding services the chat service calls: addresses, deadlines, the
caller token."""

from __future__ import annotations

from pydantic import BaseModel, Field


class UpstreamSettings(BaseModel):
    # upstream services
    inference_address: str = "127.0.0.1:50052"
    inference_timeout_s: float = Field(
        600.0, gt=0, description="deadline of a whole generation stream"
    )
    inference_first_token_timeout_s: float = Field(
        120.0, gt=0, description="deadline for the first token (queueing + prompt processing)"
    )
    count_tokens_timeout_s: float = Field(10.0, gt=0)
    inference_busy_window_s: float = Field(
        0.25,
        ge=0,
        description="after the model refuses a user's turn (queue full), that user's new turns "
        "are refused at once (429, no store writes) for this long; other users still ask the "
        "model; 0: always ask the model",
    )
    service_token_file: str = Field(
        "",
        description="a file holding the token the inference and embedding services ask their "
        "callers for (their caller_token_file); sent with every call to them. Empty: none",
    )
    embedding_address: str = Field(
        "127.0.0.1:50053", description="the embedding service (questions for the answer cache)"
    )
    embedding_timeout_s: float = Field(
        2.0, gt=0, description="deadline of an Embed call (a lookup's own deadline still caps it)"
    )
    log_content: bool = Field(
        False,
        description="DEBUG ONLY - PRIVACY: also log the text of each turn's question and answer. "
        "Off, a turn's log line carries ids, outcome, token counts and durations, never content",
    )
