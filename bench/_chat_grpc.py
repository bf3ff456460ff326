"""The chat service's gRPC client of bench/chat_overhead.py: a chat created and a Complete turn
streamed and timed (a Sample), as the benchmark's user; and the chat service's flags."""

from __future__ import annotations

import time
from dataclasses import dataclass

from chatstack.chat.v1 import chat_pb2 as chat_pb
from chatstack.chat.v1 import chat_pb2_grpc as chat_grpc

USER = "bench-user"
USER_HEADER = "x-chatstack-user"
SYSTEM = "You are a helpful assistant."
TEMPERATURE = 0.0


@dataclass
class Sample:
    side: str  # "chat" | "direct" | "<store>-<size>"
    index: int
    ttft_s: float  # request sent -> first delta received
    total_s: float  # request sent -> stream finished
    completion_tokens: int
    prompt_tokens: int
    text: str


def _metadata() -> tuple[tuple[str, str], ...]:
    return ((USER_HEADER, USER),)


async def create_chat(stub: chat_grpc.ChatServiceStub) -> str:
    reply = await stub.CreateChat(
        chat_pb.CreateChatRequest(title="bench", system_prompt=SYSTEM),
        metadata=_metadata(),
        timeout=30,
    )
    return str(reply.chat.chat_id)


async def complete(
    stub: chat_grpc.ChatServiceStub, side: str, index: int, chat_id: str, text: str, max_tokens: int
) -> Sample:
    request = chat_pb.CompleteRequest(
        chat_id=chat_id,
        content=text,
        sampling=chat_pb.SamplingSettings(temperature=TEMPERATURE, max_tokens=max_tokens),
    )
    first: float | None = None
    parts: list[str] = []
    usage = (0, 0)
    start = time.perf_counter()
    async for event in stub.Complete(request, metadata=_metadata(), timeout=300):
        if event.HasField("delta"):
            if first is None:
                first = time.perf_counter()
            parts.append(event.delta.text)
        elif event.HasField("final"):
            usage = (event.final.usage.completion_tokens, event.final.usage.prompt_tokens)
        elif event.HasField("error"):
            raise RuntimeError(f"{side}: turn failed: {event.error.message}")
    end = time.perf_counter()
    if first is None:
        raise RuntimeError(f"{side}: no delta came back for sample {index}")
    return Sample(side, index, first - start, end - start, *usage, "".join(parts))


def chat_service_args(inference_address: str, *store_args: str) -> list[str]:
    return ["--inference-address", inference_address, "--store-timeout-s", "30", *store_args]
