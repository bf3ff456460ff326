"""Protobuf <-> engine types, with request validation (errors name the offending field)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable

from chatstack.inference.v1 import inference_pb2 as pb

from inference_service.config import InferenceSettings
from inference_service.types import (
    ChatMessage,
    FinishReason,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    Role,
    SamplingParams,
)
from server_kit.errors import InvalidArgument

_ROLES = {pb.ROLE_SYSTEM: Role.SYSTEM, pb.ROLE_USER: Role.USER, pb.ROLE_ASSISTANT: Role.ASSISTANT}
_FINISH = {FinishReason.STOP: pb.FINISH_REASON_STOP, FinishReason.LENGTH: pb.FINISH_REASON_LENGTH}
MAX_STOP_STRINGS = 8
MAX_STOP_CHARS = 64


def messages_from_proto(
    messages: Iterable[pb.ChatMessage], max_chars: int, field: str = "messages"
) -> tuple[ChatMessage, ...]:
    out = []
    for i, m in enumerate(messages):
        role = _ROLES.get(m.role)
        if role is None:
            raise InvalidArgument(
                f"{field}[{i}].role", f"unknown role {m.role}: use ROLE_SYSTEM, USER or ASSISTANT"
            )
        if len(m.content) > max_chars:
            raise InvalidArgument(
                f"{field}[{i}].content", f"{len(m.content)} characters; the limit is {max_chars}"
            )
        out.append(ChatMessage(role, m.content))
    return tuple(out)


def _check_range(field: str, value: float, low: float, high: float, low_open: bool = False) -> None:
    if math.isnan(value) or value > high or value < low or (low_open and value == low):
        bracket = "(" if low_open else "["
        raise InvalidArgument(f"sampling.{field}", f"{value} is outside {bracket}{low}, {high}]")


def sampling_from_proto(s: pb.SamplingParams, settings: InferenceSettings) -> SamplingParams:
    temperature = s.temperature if s.HasField("temperature") else settings.default_temperature
    top_p = s.top_p if s.HasField("top_p") else settings.default_top_p
    top_k = s.top_k if s.HasField("top_k") else settings.default_top_k
    max_tokens = s.max_tokens if s.HasField("max_tokens") else settings.default_max_tokens
    penalty = (
        s.repetition_penalty
        if s.HasField("repetition_penalty")
        else settings.default_repetition_penalty
    )
    _check_range("temperature", temperature, 0.0, 2.0)
    _check_range("top_p", top_p, 0.0, 1.0, low_open=True)
    _check_range("top_k", top_k, 0, 100_000)
    _check_range("max_tokens", max_tokens, 1, settings.context_length)
    _check_range("repetition_penalty", penalty, 0.0, 2.0, low_open=True)
    if len(s.stop) > MAX_STOP_STRINGS:
        raise InvalidArgument("sampling.stop", f"at most {MAX_STOP_STRINGS} stop strings")
    for i, stop in enumerate(s.stop):
        if not stop or len(stop) > MAX_STOP_CHARS:
            raise InvalidArgument(f"sampling.stop[{i}]", f"must be 1..{MAX_STOP_CHARS} characters")
    return SamplingParams(
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        max_tokens=max_tokens,
        seed=s.seed if s.HasField("seed") else None,
        stop=tuple(s.stop),
        repetition_penalty=penalty,
        ignore_eos=s.ignore_eos,
    )


def check_model(requested: str, served: str) -> None:
    if requested and requested != served:
        raise InvalidArgument(
            "model", f"unknown model {requested!r}; this server serves {served!r}"
        )


def generation_request_from_proto(
    req: pb.GenerateRequest, settings: InferenceSettings, served_model: str
) -> GenerationRequest:
    check_model(req.model, served_model)
    if not req.messages:
        raise InvalidArgument("messages", "at least one message is required")
    messages = messages_from_proto(req.messages, settings.max_message_chars)
    if messages[-1].role is Role.ASSISTANT:
        raise InvalidArgument("messages", "the last message must be from the user or the system")
    return GenerationRequest(
        request_id=req.request_id or uuid.uuid4().hex,
        messages=messages,
        sampling=sampling_from_proto(req.sampling, settings),
    )


def final_to_proto(result: GenerationResult, model: str) -> pb.GenerateResponse:
    return pb.GenerateResponse(
        final=pb.GenerateFinal(
            usage=pb.Usage(
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                cached_prompt_tokens=result.cached_prompt_tokens,
            ),
            finish_reason=_FINISH[result.finish_reason],
            model=model,
        )
    )


def model_info_to_proto(info: ModelInfo) -> pb.ModelInfo:
    return pb.ModelInfo(
        id=info.id,
        engine=info.engine,
        context_length=info.context_length,
        has_chat_template=info.has_chat_template,
        max_concurrency=info.max_concurrency,
    )
