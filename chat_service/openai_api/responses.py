"""OpenAI response bodies, and the server-sent-events framing of a streamed completion.

A stream is `data: <chunk>` events ended by `data: [DONE]`: the first chunk's delta carries the
role, the next ones the content, the last an empty delta with the finish reason; with
`stream_options.include_usage`, every chunk has `"usage": null` and one more chunk, with no
choices, carries the usage just before [DONE].
"""

from __future__ import annotations

import base64
import json
import secrets
import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from chat_service.openai_api.errors import OpenAiError

DONE_EVENT = b"data: [DONE]\n\n"


def completion_id() -> str:
    return "chatcmpl-" + secrets.token_hex(16)


def completion_body(
    *,
    completion_id: str,
    created: int,
    model: str,
    content: str,
    finish_reason: str,
    prompt_tokens: int,
    completion_tokens: int,
) -> dict[str, Any]:
    message = {"role": "assistant", "content": content, "refusal": None}
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": _usage(prompt_tokens, completion_tokens),
    }


def chunk_body(
    *,
    completion_id: str,
    created: int,
    model: str,
    delta: Mapping[str, str],
    finish_reason: str | None,
    with_usage_null: bool = False,
) -> dict[str, Any]:
    """One chunk of a stream; `with_usage_null` when the client asked for include_usage."""
    body = _chunk(completion_id, created, model)
    body["choices"] = [
        {"index": 0, "delta": dict(delta), "logprobs": None, "finish_reason": finish_reason}
    ]
    if with_usage_null:
        body["usage"] = None
    return body


def usage_chunk_body(
    *, completion_id: str, created: int, model: str, prompt_tokens: int, completion_tokens: int
) -> dict[str, Any]:
    """The last chunk before [DONE] when the client asked for include_usage."""
    body = _chunk(completion_id, created, model)
    body["choices"] = []
    body["usage"] = _usage(prompt_tokens, completion_tokens)
    return body


def sse_event(obj: Mapping[str, Any]) -> bytes:
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    # "replace": a lone surrogate (possible in a client's JSON text echoed back in an error)
    # must not end the stream with an encoding error.
    return b"data: " + data.encode("utf-8", "replace") + b"\n\n"


def error_event(err: OpenAiError) -> bytes:
    """An error after a stream has started (its HTTP status is already sent)."""
    return sse_event(err.body())


def models_body(models: Sequence[tuple[str, int, str]]) -> dict[str, Any]:
    """`models`: (id, created in Unix seconds, owned_by) each."""
    data = [
        {"id": model_id, "object": "model", "created": created, "owned_by": owned_by}
        for model_id, created, owned_by in models
    ]
    return {"object": "list", "data": data}


def embeddings_body(
    *, model: str, vectors: Sequence[Sequence[float]], prompt_tokens: int, encoding_format: str
) -> dict[str, Any]:
    encode = _ENCODERS.get(encoding_format)
    if encode is None:
        raise ValueError(f"unknown encoding_format {encoding_format!r}")
    data = [
        {"object": "embedding", "index": i, "embedding": encode(vector)}
        for i, vector in enumerate(vectors)
    ]
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }


def _chunk(completion_id: str, created: int, model: str) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
    }


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _float_list(vector: Sequence[float]) -> list[float]:
    return [float(x) for x in vector]  # numpy scalars are not JSON-serializable


def _base64_float32(vector: Sequence[float]) -> str:
    """What the openai SDKs decode: little-endian float32 values, base64 text."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


_ENCODERS: dict[str, Callable[[Sequence[float]], Any]] = {
    "float": _float_list,
    "base64": _base64_float32,
}
