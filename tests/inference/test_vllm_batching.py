"""What only a batching engine shows, on the real vLLM engine (CPU build) through the inference
service's gRPC API: streams that run together, an abort that frees its slot at once, and a
shared prompt prefix served from vLLM's prefix cache. Counts come from vLLM's own metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import grpc
import pytest
from chatstack.inference.v1 import inference_pb2 as pb
from chatstack.inference.v1 import inference_pb2_grpc as pb_grpc

from local_stack.launch.metrics import metric_value
from tests.fixtures.services import VLLM_TEST_SEQS, RunningService

pytestmark = pytest.mark.vllm


@pytest.fixture
async def stub(
    inference_server_vllm: RunningService,
) -> AsyncIterator[pb_grpc.InferenceServiceStub]:
    async with grpc.aio.insecure_channel(inference_server_vllm.address) as channel:
        yield pb_grpc.InferenceServiceStub(channel)


def question(text: str) -> list[pb.ChatMessage]:
    return [pb.ChatMessage(role=pb.ROLE_USER, content=text)]


async def timed_stream(
    stub: pb_grpc.InferenceServiceStub, request: pb.GenerateRequest
) -> tuple[list[float], pb.GenerateFinal]:
    """Arrival times of the deltas, and the final message."""
    times: list[float] = []
    async for event in stub.Generate(request, timeout=120):
        if event.HasField("delta"):
            times.append(time.monotonic())
        else:
            return times, event.final
    raise AssertionError("the stream ended without a final message")


async def test_concurrent_streams_all_complete_and_interleave(
    stub: pb_grpc.InferenceServiceStub,
) -> None:
    sampling = pb.SamplingParams(temperature=0, max_tokens=24, ignore_eos=True)
    requests = [
        pb.GenerateRequest(messages=question(f"Count from {i} to {i + 20}."), sampling=sampling)
        for i in range(VLLM_TEST_SEQS)
    ]
    results = await asyncio.gather(*(timed_stream(stub, r) for r in requests))
    for times, final in results:
        assert final.usage.completion_tokens == 24
        assert final.finish_reason == pb.FINISH_REASON_LENGTH
        assert len(times) >= 2
    # Continuous batching: every stream had its first token before any stream had its last,
    # so all of them were decoding in the same steps (a one-at-a-time engine cannot do this).
    assert max(times[0] for times, _ in results) < min(times[-1] for times, _ in results)


async def test_cancel_mid_stream_aborts_within_one_decode_step_and_frees_the_slot(
    inference_server_vllm: RunningService, stub: pb_grpc.InferenceServiceStub
) -> None:
    url = inference_server_vllm.metrics_url
    cancelled = {"outcome": "cancelled"}
    cancelled_before = metric_value(url, "inference_requests_total", cancelled)
    sampling = pb.SamplingParams(max_tokens=1500, ignore_eos=True)
    call = stub.Generate(
        pb.GenerateRequest(messages=question("Tell me a story."), sampling=sampling)
    )
    received = 0
    async for _ in call:
        received += 1
        if received == 5:
            break
    assert metric_value(url, "vllm:num_requests_running") == 1
    call.cancel()

    deadline = time.monotonic() + 10
    while metric_value(url, "inference_requests_total", cancelled) <= cancelled_before:
        assert time.monotonic() < deadline, "the server never saw the cancellation"
        await asyncio.sleep(0.05)
    at_cancel = metric_value(url, "vllm:generation_tokens_total")
    await asyncio.sleep(0.5)  # at ~15 tokens/s, several decode steps
    assert metric_value(url, "vllm:generation_tokens_total") - at_cancel <= 1
    # The slot is free in the engine (vLLM aborted the request) and in our admission.
    while metric_value(url, "vllm:num_requests_running") != 0:
        assert time.monotonic() < deadline, "vLLM still runs the cancelled request"
        await asyncio.sleep(0.05)
    assert metric_value(url, "inference_running_requests") == 0


async def test_shared_system_prompt_is_served_from_the_prefix_cache(
    inference_server_vllm: RunningService, stub: pb_grpc.InferenceServiceStub
) -> None:
    url = inference_server_vllm.metrics_url
    rules = " ".join(
        f"Rule {i}: answer politely and cite rule {i} when it applies." for i in range(40)
    )
    system = pb.ChatMessage(role=pb.ROLE_SYSTEM, content=f"You are a support assistant. {rules}")
    counted = await stub.CountTokens(pb.CountTokensRequest(messages=[system]), timeout=10)
    sampling = pb.SamplingParams(temperature=0, max_tokens=4)

    async def ask(text: str) -> pb.GenerateFinal:
        request = pb.GenerateRequest(messages=[system, *question(text)], sampling=sampling)
        _, final = await timed_stream(stub, request)
        return final

    await ask("How do I reset my password?")
    hits_before = metric_value(url, "vllm:prefix_cache_hits_total")
    final = await ask("Where can I see my invoices?")
    hits = metric_value(url, "vllm:prefix_cache_hits_total") - hits_before
    # The system turn (hundreds of tokens) is reused in whole KV blocks: all but the last,
    # partly filled block of the shared prefix comes from the cache.
    assert hits >= counted.prompt_tokens // 2
    assert final.usage.cached_prompt_tokens == hits
