"""The OpenAI wire protocol, free of I/O: what the HTTP app imports.

Requests are parsed and validated into domain types (`requests`), with OpenAI's error shape
(`errors`, `fields`); responses, stream chunks and server-sent events are built as plain dicts
and bytes (`responses`).
"""

from __future__ import annotations

from chat_service.openai_api.errors import OpenAiError
from chat_service.openai_api.requests import (
    MAX_MESSAGES,
    MAX_STOP_SEQUENCES,
    ChatCompletionRequest,
    EmbeddingsRequest,
    parse_chat_completion,
    parse_embeddings,
)
from chat_service.openai_api.responses import (
    DONE_EVENT,
    chunk_body,
    completion_body,
    completion_id,
    embeddings_body,
    error_event,
    models_body,
    sse_event,
    usage_chunk_body,
)

__all__ = [
    "DONE_EVENT",
    "MAX_MESSAGES",
    "MAX_STOP_SEQUENCES",
    "ChatCompletionRequest",
    "EmbeddingsRequest",
    "OpenAiError",
    "chunk_body",
    "completion_body",
    "completion_id",
    "embeddings_body",
    "error_event",
    "models_body",
    "parse_chat_completion",
    "parse_embeddings",
    "sse_event",
    "usage_chunk_body",
]
