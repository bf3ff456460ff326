"""Engine-neutral request and result types. The servicer converts protobuf to these and back;
engines never see protobuf."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    max_tokens: int = 512
    seed: int | None = None
    stop: tuple[str, ...] = ()
    repetition_penalty: float = 1.1
    ignore_eos: bool = False


@dataclass(frozen=True)
class GenerationRequest:
    request_id: str
    messages: tuple[ChatMessage, ...]
    sampling: SamplingParams = field(default_factory=SamplingParams)


@dataclass(frozen=True)
class TokenDelta:
    text: str
    token_ids: tuple[int, ...] = ()


class FinishReason(StrEnum):
    STOP = "stop"
    LENGTH = "length"


@dataclass(frozen=True)
class GenerationResult:
    """The last event of a generation."""

    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason
    cached_prompt_tokens: int = 0


GenerationEvent = TokenDelta | GenerationResult


@dataclass(frozen=True)
class ModelInfo:
    id: str
    engine: str
    context_length: int
    has_chat_template: bool
    max_concurrency: int
