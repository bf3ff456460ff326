"""Calls to the inference service, each with a deadline, failures mapped to domain errors; a
generation is streamed as domain events (TextDelta, then GenerationDone), not protobuf."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import grpc
from chatstack.inference.v1 import inference_pb2 as pb
from chatstack.inference.v1 import inference_pb2_grpc as pb_grpc
from grpc_status import rpc_status

from chat_service.config import UpstreamSettings
from chat_service.domain import Role, Sampling
from server_kit import headers
from server_kit.caller_auth import token_metadata
from server_kit.errors import (
    DeadlineExceeded,
    InvalidArgument,
    ResourceExhausted,
    ServiceError,
    Unavailable,
)
from server_kit.tracing import client_span

_ROLES = {Role.SYSTEM: pb.ROLE_SYSTEM, Role.USER: pb.ROLE_USER, Role.ASSISTANT: pb.ROLE_ASSISTANT}
PromptMessages = Sequence[tuple[Role, str]]
Metadata = tuple[tuple[str, str], ...]
SERVICE = "/chatstack.inference.v1.InferenceService/"


class FinishReason(StrEnum):
    STOP = "stop"  # end of sequence or a stop string
    LENGTH = "length"  # max_tokens or the context length reached


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class GenerationDone:
    model: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason


GenerationEvent = TextDelta | GenerationDone


def _event(response: pb.GenerateResponse) -> GenerationEvent:
    if response.HasField("delta"):
        return TextDelta(response.delta.text)
    final = response.final
    length = final.finish_reason == pb.FINISH_REASON_LENGTH
    return GenerationDone(
        model=final.model,
        prompt_tokens=final.usage.prompt_tokens,
        completion_tokens=final.usage.completion_tokens,
        finish_reason=FinishReason.LENGTH if length else FinishReason.STOP,
    )


log = logging.getLogger(__name__)
MAX_BUSY_USERS = 100_000  # busy windows tracked at once


def _call_metadata(chat_id: str, user_id: str = "") -> Metadata:
    pairs = [(headers.CHAT_ID, chat_id)] if chat_id else []
    if user_id:
        pairs.append((headers.FAIRNESS_KEY, user_id))
    return tuple(pairs)


def error_reason(err: grpc.aio.AioRpcError) -> str:
    """The ErrorInfo reason in a gRPC error's status details ("" when it has none)."""
    from google.rpc import error_details_pb2

    status = rpc_status.from_call(err)
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return str(info.reason)
    return ""


def map_rpc_error(err: grpc.aio.AioRpcError) -> ServiceError:
    code, details = err.code(), err.details() or ""
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return ResourceExhausted(
            f"the model is busy: {details}", reason="INFERENCE_BUSY", retry_after_s=1.0
        )
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return DeadlineExceeded("the model did not answer in time", reason="INFERENCE_TIMEOUT")
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        if error_reason(err) == "PROMPT_TOO_LONG":
            return InvalidArgument(
                "content",
                "the conversation no longer fits the model's context "
                f"({details}); use the window or summary history policy",
                reason="PROMPT_TOO_LONG",
                metadata={"details": details},  # for callers that word it their own way
            )
        return InvalidArgument("settings", f"the model refused the request: {details}")
    # Past this point the details are the transport's or the server's own (addresses, host
    # names): they go to the log, and the client gets the kind of failure only.
    log.warning("inference call failed", extra={"code": code.name, "details": details})
    if code == grpc.StatusCode.UNAVAILABLE:
        return Unavailable("the inference service is unavailable", reason="INFERENCE_UNAVAILABLE")
    return Unavailable(f"inference failed ({code.name})", reason="INFERENCE_FAILED")


class InferenceClient:
    def __init__(self, settings: UpstreamSettings) -> None:
        self.settings = settings
        self._channel = grpc.aio.insecure_channel(
            settings.inference_address,
            options=[("grpc.keepalive_time_ms", 30_000), ("grpc.enable_retries", 1)],
        )
        self._auth = token_metadata(settings.service_token_file)
        self._stub = pb_grpc.InferenceServiceStub(self._channel)
        self._model: pb.ModelInfo | None = None
        self._model_lock = asyncio.Lock()
        self._busy_until: dict[str, float] = {}  # user id -> monotonic deadline

    def busy_for(self, user_id: str) -> float:
        """Seconds left in which this user's new turns are refused without asking the model:
        it refused one of their turns a moment ago (its queue was full). Their retrying would
        only add load, and a turn refused here costs no store writes and no prompt assembly.
        Per user: a user whose turns were not refused still asks the model (the window never
        punishes users who are not the cause; if the model is full for them too, their own
        turn is refused and opens their own window)."""
        until = self._busy_until.get(user_id)
        return 0.0 if until is None else max(0.0, until - time.monotonic())

    def _mark_busy(self, user_id: str) -> None:
        now = time.monotonic()
        if len(self._busy_until) >= MAX_BUSY_USERS:  # bounded: drop the windows that ended
            self._busy_until = {u: t for u, t in self._busy_until.items() if t > now}
        if len(self._busy_until) < MAX_BUSY_USERS:
            self._busy_until[user_id] = now + self.settings.inference_busy_window_s

    async def close(self) -> None:
        await self._channel.close()

    async def model(self) -> pb.ModelInfo:
        """The served model (cached: a deployment serves one model per inference pool).
        Concurrent first callers share one ListModels call; a failure is not cached."""
        if self._model is None:
            async with self._model_lock:
                if self._model is None:
                    reply = await self._unary(
                        "ListModels", pb.ListModelsRequest(), self.settings.count_tokens_timeout_s
                    )
                    self._model = next(m for m in reply.models if m.id == reply.default_model)
        return self._model

    async def models(self) -> list[pb.ModelInfo]:
        """Every model the inference replicas serve (not cached: for listings)."""
        reply = await self._unary(
            "ListModels", pb.ListModelsRequest(), self.settings.count_tokens_timeout_s
        )
        return list(reply.models)

    async def count(
        self, texts: Sequence[str], messages: PromptMessages, chat_id: str = ""
    ) -> tuple[list[int], int]:
        """Tokens of each text, and of `messages` rendered as a prompt (0 when none), in one
        round trip."""
        if not texts and not messages:
            return [], 0
        reply = await self._unary(
            "CountTokens",
            pb.CountTokensRequest(texts=list(texts), messages=_to_pb(messages)),
            self.settings.count_tokens_timeout_s,
            _call_metadata(chat_id),
        )
        return list(reply.text_tokens), int(reply.prompt_tokens)

    async def _unary(
        self, name: str, request: Any, timeout_s: float, metadata: Metadata = ()
    ) -> Any:
        """One unary call with its deadline, span and caller token; errors mapped."""
        try:
            with client_span(SERVICE + name) as traced:
                return await getattr(self._stub, name)(
                    request, timeout=timeout_s, metadata=(*metadata, *traced, *self._auth)
                )
        except grpc.aio.AioRpcError as err:
            raise map_rpc_error(err) from err

    async def count_texts(self, texts: Sequence[str], chat_id: str = "") -> list[int]:
        counts, _ = await self.count(texts, (), chat_id)
        return counts

    async def count_prompt(self, messages: PromptMessages, chat_id: str = "") -> int:
        _, tokens = await self.count((), messages, chat_id)
        return tokens

    async def generate(
        self,
        request_id: str,
        messages: PromptMessages,
        sampling: Sampling,
        max_tokens: int,
        chat_id: str = "",
        user_id: str = "",
        stop: Sequence[str] = (),
    ) -> AsyncGenerator[GenerationEvent, None]:
        """Streams the engine's events. Cancelling the consumer cancels the RPC, which aborts
        the engine request. `chat_id` (metadata) lets the gateway keep a chat on one replica;
        `user_id`: whose busy window a refusal opens (none for background work)."""
        params = pb.SamplingParams(max_tokens=max_tokens, stop=list(stop))
        if sampling.temperature is not None:
            params.temperature = sampling.temperature
        if sampling.top_p is not None:
            params.top_p = sampling.top_p
        if sampling.seed is not None:
            params.seed = sampling.seed
        request = pb.GenerateRequest(
            request_id=request_id, messages=_to_pb(messages), sampling=params
        )
        call: Any = None
        try:
            with client_span(SERVICE + "Generate") as traced:
                call = self._stub.Generate(
                    request,
                    timeout=self.settings.inference_timeout_s,
                    metadata=(*_call_metadata(chat_id, user_id), *traced, *self._auth),
                )
                first = True
                while True:
                    if first:  # asyncio.timeout: no task per call, as wait_for makes
                        async with asyncio.timeout(self.settings.inference_first_token_timeout_s):
                            event = await call.read()
                        first = False
                    else:
                        event = await call.read()
                    if event is grpc.aio.EOF:
                        return
                    yield _event(event)
        except grpc.aio.AioRpcError as err:
            error = map_rpc_error(err)
            if isinstance(error, ResourceExhausted) and user_id:
                self._mark_busy(user_id)
            raise error from err
        except TimeoutError as err:
            raise DeadlineExceeded(
                "the model did not start answering in time", reason="INFERENCE_TIMEOUT"
            ) from err
        finally:
            if call is not None:
                call.cancel()  # no-op when finished; aborts the engine request otherwise


def _to_pb(messages: PromptMessages) -> list[pb.ChatMessage]:
    return [pb.ChatMessage(role=_ROLES[role], content=content) for role, content in messages]
