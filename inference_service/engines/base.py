"""The engine interface. llama.cpp (CPU, the default) and vLLM (GPU) implement it.

Cancellation is handled once, here at the engine boundary: when the consumer of
`generate()` is cancelled (or closes the generator), the engine aborts the request and
re-raises, so a cancelled client stops the model within about one token.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Sequence

from inference_service.types import ChatMessage, GenerationEvent, GenerationRequest, ModelInfo


class PromptTooLong(Exception):
    """The rendered prompt does not fit the model's context."""

    def __init__(self, prompt_tokens: int, context_length: int) -> None:
        super().__init__(
            f"the prompt has {prompt_tokens} tokens; the model's context holds {context_length}"
            " (including at least one generated token)"
        )
        self.prompt_tokens = prompt_tokens
        self.context_length = context_length


class Engine(ABC):
    @abstractmethod
    async def start(self) -> None:
        """Loads the model. Called once before serving."""

    @abstractmethod
    async def close(self) -> None:
        """Aborts what is running and frees the model."""

    @abstractmethod
    def model_info(self) -> ModelInfo: ...

    @abstractmethod
    def generate(self, request: GenerationRequest) -> AsyncGenerator[GenerationEvent, None]:
        """Streams TokenDelta events, then exactly one GenerationResult.

        Raises PromptTooLong before generating when the prompt does not fit.
        """

    @abstractmethod
    async def tokenize(self, text: str, parse_special: bool = False) -> list[int]: ...

    @abstractmethod
    async def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """Tokens of the conversation rendered with the chat template, generation prompt
        included: exactly what generate() would feed the model."""

    def generated_tokens_total(self) -> int:
        """Tokens generated since start (observability and tests)."""
        return 0
