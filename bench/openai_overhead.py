"""What the OpenAI-compatible API costs over the native REST API, and our stack's /v1 over vLLM's
own OpenAI server: the same streamed completion, one run, side by side.

Part 1 (always): the engine is the benchmark double that answers at once, paced at
--token-interval-ms between tokens (bench/instant_inference.py), so the figures are the paths'
alone. Envoy (JWT) -> chat service (SQLite, answer cache off) -> an instant inference service;
the two sides are the same processes, requests interleaved one at a time:
  native   POST /chat/{id}/completion (transcoded to gRPC; a fresh chat per request, created
           before the run, so both sides send one user message)
  openai   POST /v1/chat/completions, stream: true (the chat replica's HTTP port)
Per side: TTFT p50/p95 (request sent -> first text), the time per token after the first
((total - TTFT) / (tokens - 1)) minus the engine's pace, and the chat service's and Envoy's
CPU per request (their process groups' user + system time over the side's requests).

Part 2 (--vllm, minutes): the real engine, vLLM's CPU build, the same model: our stack's /v1
(Envoy -> chat -> our inference service on vLLM) against `vllm serve`'s /v1 directly, one after
the other (never together: they share the cores). TTFT and time per token; greedy, the same
prompts.

    .venv/bin/python -m bench.openai_overhead [--requests 200] [--token-interval-ms 5]
        [--vllm] [--vllm-requests 30]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._chat_stack import ChatStack, chat_behind_envoy
from bench._http import http_json, rest_create_chat, rest_turn, sse_events
from bench._stats import format_table, group_cpu_s, percentile, write_results
from bench.turn_cost import instant_inference
from gateway.jwt_keys import Minter
from server_kit.processes import free_port

NAME = "openai_overhead"
MAX_TOKENS = 16
USERS = 500
WARM_UP = 5
QUESTIONS = ["What is the capital of France?", "Name three rivers.", "Why is the sky blue?"]


@dataclass(frozen=True)
class Timing:
    ttft_s: float
    total_s: float
    tokens: int

    @property
    def per_token_s(self) -> float:
        return (self.total_s - self.ttft_s) / max(1, self.tokens - 1)


Request = Callable[[int], Awaitable[Timing]]


async def openai_turn(
    port: int, token: str, model: str, text: str, max_tokens: int = MAX_TOKENS
) -> Timing:
    """One streamed /v1/chat/completions; tokens from the usage chunk."""
    body = {"model": model, "messages": [{"role": "user", "content": text}], "stream": True,
            "temperature": 0, "max_tokens": max_tokens,
            "stream_options": {"include_usage": True}}  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    start, first, tokens = time.perf_counter(), None, 0
    async for chunk in sse_events("127.0.0.1", port, "/v1/chat/completions", body, headers):
        if chunk.get("usage"):
            tokens = int(chunk["usage"]["completion_tokens"])
        elif chunk.get("choices") and chunk["choices"][0]["delta"].get("content"):
            first = first or time.perf_counter()
    if first is None:
        raise RuntimeError("no text came back on /v1")
    return Timing(first - start, time.perf_counter() - start, tokens)


async def native_request(port: int, tokens: list[str], count: int) -> Request:
    """A turn in a fresh chat each time (created here, before any timing or CPU count)."""
    chats = [await rest_create_chat(port, tokens[i % len(tokens)]) for i in range(count)]

    async def request(i: int) -> Timing:
        token, chat_id = tokens[i % len(tokens)], chats[i % count]
        sample = await rest_turn(port, token, chat_id, QUESTIONS[i % 3], max_tokens=MAX_TOKENS)
        return Timing(sample.ttft_s, sample.total_s, sample.completion_tokens)

    return request


def figures(timings: list[Timing], cpu_s: float, pace_ms: float) -> dict[str, Any]:
    ttft = [t.ttft_s * 1000 for t in timings]
    per_token = [t.per_token_s * 1000 for t in timings]
    return {
        "requests": len(timings),
        "ttft_ms": {"p50": round(percentile(ttft, 50), 2), "p95": round(percentile(ttft, 95), 2)},
        "per_token_ms": round(percentile(per_token, 50), 3),
        "added_per_token_ms": round(percentile(per_token, 50) - pace_ms, 3),
        "cpu_ms_per_request": round(cpu_s * 1000 / max(1, len(timings)), 2) if cpu_s else None,
    }


async def interleaved(
    sides: dict[str, Request], count: int, pids: tuple[int, ...] = (), first: int = 0
) -> dict[str, tuple[list[Timing], float]]:
    """`count` requests per side, one at a time, alternating sides; each side's CPU (the
    process groups `pids`) summed over its own requests."""
    out: dict[str, tuple[list[Timing], float]] = {name: ([], 0.0) for name in sides}
    for i in range(first, first + count):
        names = list(sides) if i % 2 == 0 else list(reversed(sides))
        for name in names:
            before = group_cpu_s(pids) if pids else 0.0
            timing = await sides[name](i)
            spent = group_cpu_s(pids) - before if pids else 0.0
            timings, cpu = out[name]
            timings.append(timing)
            out[name] = (timings, cpu + spent)
    return out


@asynccontextmanager
async def stack_with_openai(
    work: Path, name: str, inference: str
) -> AsyncIterator[tuple[ChatStack, int]]:
    openai_port = free_port()
    async with chat_behind_envoy(
        work, name, [inference], "none",
        chat_env={"CHAT_LOG_LEVEL": "warning", "CHAT_OPENAI_PORT": str(openai_port)},
        gateway={"openai_upstreams": [f"127.0.0.1:{openai_port}"]},
    ) as stack:  # fmt: skip
        yield stack, int(stack.address.rsplit(":", 1)[1])


def user_tokens(chat: ChatStack) -> list[str]:
    """Users in rotation, each well under the per-user limits (turns and requests per minute),
    which count every side's requests alike."""
    minter = Minter(chat.settings.keys_dir)
    return [minter.mint(f"user-{i}") for i in range(USERS)]


async def served_model(port: int, token: str) -> str:
    models = await http_json("127.0.0.1", port, "GET", "/v1/models", None,
                             {"Authorization": f"Bearer {token}"})  # fmt: skip
    return str(models["data"][0]["id"])


async def protocol_part(work: Path, count: int, pace_ms: float) -> dict[str, Any]:
    async with AsyncExitStack() as stack:
        inference = await stack.enter_async_context(
            instant_inference(work, "openai", pace_ms, None)
        )
        chat, port = await stack.enter_async_context(stack_with_openai(work, "instant", inference))
        tokens = user_tokens(chat)
        model = await served_model(port, tokens[0])
        sides: dict[str, Request] = {
            "native": await native_request(port, tokens, count + WARM_UP),
            "openai": lambda i: openai_turn(port, tokens[i % USERS], model, QUESTIONS[i % 3]),
        }
        await interleaved(sides, WARM_UP)
        measured = await interleaved(sides, count, chat.pids, first=WARM_UP)
    return {name: figures(t, cpu, pace_ms) for name, (t, cpu) in measured.items()}


async def measured(sides: dict[str, Request], count: int) -> dict[str, Any]:
    await interleaved(sides, 3)  # warm-up
    return {name: figures(t, 0, 0) for name, (t, _) in (await interleaved(sides, count)).items()}


async def vllm_part(work: Path, count: int) -> dict[str, Any]:
    from bench.engines import server_process
    from local_stack.engines import VLLM_PYTHON

    def asking(port: int, tokens: list[str], model: str) -> Request:
        return lambda i: openai_turn(
            port, tokens[i % len(tokens)], model, QUESTIONS[i % 3], 2 * MAX_TOKENS
        )

    out: dict[str, Any] = {}
    process, address, _ = server_process("vllm", work, VLLM_PYTHON, gpu=False)
    process.start()
    try:
        await asyncio.to_thread(process.wait_ready, 900)
        async with stack_with_openai(work, "vllm", address) as (chat, port):
            tokens = user_tokens(chat)
            model = await served_model(port, tokens[0])
            out.update(await measured({"ours /v1": asking(port, tokens, model)}, count))
    finally:
        process.stop(30)
    serve, _, serve_port = server_process("vllm_serve", work, VLLM_PYTHON, gpu=False)
    serve.start()
    try:
        await asyncio.to_thread(serve.wait_ready, 900)
        out.update(await measured({"vllm serve /v1": asking(serve_port, [""], "smollm2")}, count))
    finally:
        serve.stop(30)
    return out


async def run(count: int, pace_ms: float, vllm: bool, vllm_count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="openai-overhead-") as tmp:
        work = Path(tmp)
        results: dict[str, Any] = {
            "config": {"requests": count, "max_tokens": MAX_TOKENS, "token_interval_ms": pace_ms},
            "protocol": await protocol_part(work, count, pace_ms),
        }
        if vllm:
            results["vllm"] = await vllm_part(work, vllm_count)
    return results


def print_report(results: dict[str, Any]) -> None:
    rows = []
    for part in ("protocol", "vllm"):
        for side, f in results.get(part, {}).items():
            ttft = f["ttft_ms"]
            rows.append([part, side, f["requests"], ttft["p50"], ttft["p95"], f["per_token_ms"],
                         f["added_per_token_ms"], f["cpu_ms_per_request"]])  # fmt: skip
    headers = ["part", "side", "requests", "TTFT p50 ms", "TTFT p95 ms", "ms/token",
               "added ms/token", "CPU ms/request"]  # fmt: skip
    print(format_table(headers, rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--token-interval-ms", type=float, default=5.0)
    parser.add_argument("--vllm", action="store_true", help="also the vLLM comparison")
    parser.add_argument("--vllm-requests", type=int, default=30)
    args = parser.parse_args()
    results = asyncio.run(run(args.requests, args.token_interval_ms, args.vllm, args.vllm_requests))
    print_report(results)
    print(f"results: {write_results(NAME, results)}")


if __name__ == "__main__":
    main()
