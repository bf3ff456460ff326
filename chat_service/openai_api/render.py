"""A turn's events in OpenAI's wire format: the chunks of a stream (`data: {...}` events, then
`data: [DONE]`) or one chat.completion object; our errors as OpenAI's error shape."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc

from chat_service.openai_api.protocol import (
    DONE_EVENT,
    OpenAiError,
    chunk_body,
    completion_body,
    error_event,
    sse_event,
    usage_chunk_body,
)
from chat_service.turn.events import ReplyDelta, ReplyError, ReplyEvent, ReplyFinal
from server_kit.errors import InvalidArgument, ServiceError

_STATUS: dict[grpc.StatusCode, tuple[int, str]] = {
    grpc.StatusCode.INVALID_ARGUMENT: (400, "invalid_request_error"),
    grpc.StatusCode.UNAUTHENTICATED: (401, "invalid_request_error"),
    grpc.StatusCode.PERMISSION_DENIED: (403, "invalid_request_error"),
    grpc.StatusCode.NOT_FOUND: (404, "invalid_request_error"),
    grpc.StatusCode.FAILED_PRECONDITION: (409, "invalid_request_error"),
    grpc.StatusCode.RESOURCE_EXHAUSTED: (429, "requests"),
    grpc.StatusCode.UNAVAILABLE: (503, "server_error"),
    grpc.StatusCode.DEADLINE_EXCEEDED: (504, "server_error"),
}


def openai_error(exc: ServiceError) -> OpenAiError:
    if exc.reason == "PROMPT_TOO_LONG":  # worded for a chat's turn; here the caller's messages
        why = f"The messages do not fit the model's context ({exc.metadata.get('details', '')})."
        return OpenAiError(400, why, param="messages", code="context_length_exceeded")
    status, kind = _STATUS.get(exc.code, (500, "server_error"))
    param = exc.field if isinstance(exc, InvalidArgument) else None
    return OpenAiError(status, exc.message, type=kind, param=param, code=exc.reason.lower())


def retry_headers(exc: ServiceError) -> dict[str, str]:
    if exc.retry_after_s is None:
        return {}
    return {"retry-after": str(max(1, round(exc.retry_after_s)))}


@dataclass(frozen=True)
class Completion:
    """What every chunk of one completion repeats."""

    completion_id: str
    created: int
    model: str
    include_usage: bool

    def chunk(self, delta: dict[str, str], finish_reason: str | None = None) -> bytes:
        return sse_event(
            chunk_body(
                completion_id=self.completion_id,
                created=self.created,
                model=self.model,
                delta=delta,
                finish_reason=finish_reason,
                with_usage_null=self.include_usage,
            )
        )

    def ending(self, final: ReplyFinal) -> list[bytes]:
        answer = final.assistant
        events = [self.chunk({}, answer.finish_reason or "stop")]
        if self.include_usage:
            usage = usage_chunk_body(
                completion_id=self.completion_id,
                created=self.created,
                model=self.model,
                prompt_tokens=answer.prompt_tokens,
                completion_tokens=answer.completion_tokens,
            )
            events.append(sse_event(usage))
        return [*events, DONE_EVENT]


async def stream_chunks(
    completion: Completion, events: AsyncIterator[Any]
) -> AsyncGenerator[bytes, None]:
    """The stream's events: the role first, a chunk per delta, the finish (and usage), [DONE].
    A failure once streaming has begun is an error event (the status line is already sent)."""
    yield completion.chunk({"role": "assistant", "content": ""})
    try:
        async for event in events:
            if isinstance(event, ReplyDelta):
                if event.text:
                    yield completion.chunk({"content": event.text})
            elif isinstance(event, ReplyFinal):
                for data in completion.ending(event):
                    yield data
            elif isinstance(event, ReplyError):
                yield error_event(openai_error(event.error))
    except ServiceError as exc:
        yield error_event(openai_error(exc))


async def whole_completion(
    completion: Completion, events: AsyncIterator[ReplyEvent | Any]
) -> tuple[dict[str, Any], bool]:
    """The chat.completion object once the reply is whole, and whether it was cached."""
    parts: list[str] = []
    async for event in events:
        if isinstance(event, ReplyDelta):
            parts.append(event.text)
        elif isinstance(event, ReplyError):
            raise event.error
        elif isinstance(event, ReplyFinal):
            answer = event.assistant
            body = completion_body(
                completion_id=completion.completion_id,
                created=completion.created,
                model=completion.model,
                content="".join(parts),
                finish_reason=answer.finish_reason or "stop",
                prompt_tokens=answer.prompt_tokens,
                completion_tokens=answer.completion_tokens,
            )
            return body, answer.cached
    raise OpenAiError(503, "the reply ended early", type="server_error", code="incomplete")
