"""A benchmark-only inference service whose engine answers at once (a test double, named as
such): the real InferenceServicer, admission and gRPC server, with an engine that costs nothing,
so that what a benchmark measures above it is the chat service and Envoy alone.

    .venv/bin/python -m bench.instant_inference --port N --metrics-port M [--self-test false]

Never a default of anything a user runs: only bench/turn_cost.py starts it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator, Sequence

import grpc
from chatstack.inference.v1 import inference_pb2_grpc as pb_grpc

from inference_service.config import InferenceSettings
from inference_service.engines.base import Engine
from inference_service.servicer import InferenceServicer
from inference_service.types import (
    ChatMessage,
    FinishReason,
    GenerationEvent,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    TokenDelta,
)
from server_kit.logs import configure_logging
from server_kit.server import ServiceSpec, run_service

WORD = "token "  # every generated token; 4 characters per token when counting
MAX_TOKENS = int(os.environ.get("INSTANT_MAX_TOKENS", "16"))
# 0: every token at once; else a pause between tokens, as a real engine's pace
INTERVAL_S = float(os.environ.get("INSTANT_TOKEN_INTERVAL_MS", "0")) / 1000


def count(text: str) -> int:
    return len(text) // 4 + 1


class InstantEngine(Engine):
    """Yields min(max_tokens, MAX_TOKENS) tokens, INTERVAL_S apart; counts 4 characters a
    token."""

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def model_info(self) -> ModelInfo:
        return ModelInfo("instant", "instant", 8192, True, 1024)

    async def generate(self, request: GenerationRequest) -> AsyncGenerator[GenerationEvent, None]:
        tokens = min(request.sampling.max_tokens, MAX_TOKENS)
        for i in range(tokens):
            if i and INTERVAL_S:
                await asyncio.sleep(INTERVAL_S)
            yield TokenDelta(WORD, (i,))
        prompt = sum(count(m.content) + 4 for m in request.messages)
        yield GenerationResult(prompt, tokens, FinishReason.LENGTH)

    async def tokenize(self, text: str, parse_special: bool = False) -> list[int]:
        return list(range(count(text)))

    async def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return sum(count(m.content) + 4 for m in messages)


async def serve(settings: InferenceSettings) -> None:
    engine = InstantEngine()
    servicer = InferenceServicer(engine, settings)

    def register(server: grpc.aio.Server) -> None:
        pb_grpc.add_InferenceServiceServicer_to_server(servicer, server)

    spec = ServiceSpec(
        name="inference",
        service_names=["chatstack.inference.v1.InferenceService"],
        register=register,
    )
    await run_service(settings, spec)


def main() -> None:
    settings = InferenceSettings(_cli_parse_args=True)  # type: ignore[call-arg]
    configure_logging("inference", settings.log_level, settings.log_format)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
