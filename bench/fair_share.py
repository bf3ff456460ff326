"""One user floods, another chats: does the second user notice? (issue 15's fair-sharing test)

The stack: native gRPC clients -> Envoy (JWT, per-user request limit) -> chat service (SQLite,
answer cache off, per-user admission) -> Envoy's internal listener -> one inference replica
(llama.cpp, one model instance; or with `--engine vllm` vLLM's CPU build), all real processes
on loopback.

Per variant, on a fresh stack: the victim chats alone (`--turns` short turns one after the
other: TTFT unloaded), then again while the flooder runs (TTFT loaded). The flooder is hostile:
`--streams` concurrent loops that each stream a long answer and, when refused, try again after
50 ms (ignoring retry-after), plus one loop submitting asynchronous turns every 50 ms. Counted:
the victim's TTFT p50/p95 unloaded and loaded, their refusals (any 429), and the flooder's turns
admitted and refused (by reason).

Variants, run one after the other in one run:
- fair: the defaults (per-user stream/queue caps and turns per minute in the chat service,
  Envoy's per-user request limit, the inference service's fair queue);
- unprotected: every per-user limit off and the inference queue plain FIFO (the baseline).

    .venv/bin/python -m bench.fair_share [--engine llama_cpp|vllm] [--turns 12] [--streams 32]
        [--keep DIR]                 (results: bench/results/fair_share[-vllm].json)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import grpc
from chatstack.chat.v1 import chat_pb2 as pb
from chatstack.chat.v1 import chat_pb2_grpc as pb_grpc

from bench._chat_stack import ChatStack, chat_behind_envoy
from bench._stats import format_table, ratio, summary, write_results
from chat_service.inference_client import error_reason
from local_stack.engines import engine_options
from server_kit.processes import service_process, start_service

NAME = "fair_share"
VICTIM_TOKENS = 16
FLOOD_TOKENS = 128
RETRY_S = 0.05
GIVE_UP_S = 180.0  # the victim's whole loaded phase; past it, the turns still missing count
QUESTIONS = [
    "What is the capital of France?",
    "Name a primary colour.",
    "What is two plus three?",
    "Which planet is closest to the sun?",
]
# (chat service env, gateway settings, inference flags) per variant
VARIANTS: dict[str, tuple[dict[str, str], dict[str, object], list[str]]] = {
    "fair": ({}, {}, []),
    "unprotected": (
        {
            "CHAT_USER_MAX_STREAMS": "0",
            "CHAT_USER_MAX_QUEUED_TURNS": "0",
            "CHAT_USER_TURNS_PER_MINUTE": "0",
        },
        {"user_rate_limit_per_minute": 0},
        ["--max-queue-per-key", "0"],
    ),
}


def _meta(stack: ChatStack, user: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {stack.token(user)}"),)


def _why(err: grpc.aio.AioRpcError) -> str:
    if err.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
        return err.code().name
    return error_reason(err) or "GATEWAY_RATE_LIMIT"  # Envoy's own 429 carries no ErrorInfo


async def _new_chat(stub: pb_grpc.ChatServiceStub, meta: Any, max_tokens: int) -> str:
    settings = pb.ChatSettings(sampling=pb.SamplingSettings(temperature=0, max_tokens=max_tokens))
    request = pb.CreateChatRequest(settings=settings)
    reply = await stub.CreateChat(request, metadata=meta, timeout=30)
    return str(reply.chat.chat_id)


async def victim(
    stack: ChatStack, turns: int, refusals: Counter[str], budget_s: float = GIVE_UP_S
) -> list[float]:
    """TTFTs (ms) of `turns` short turns, one after the other; a refused turn is counted and
    tried again after a second (a polite client). Gives up after `budget_s` (a starved user)."""
    meta = _meta(stack, "victim")
    out: list[float] = []
    give_up_at = time.monotonic() + budget_s
    async with grpc.aio.insecure_channel(stack.address) as channel:
        stub = pb_grpc.ChatServiceStub(channel)
        chat_id = await _new_chat(stub, meta, VICTIM_TOKENS)
        while len(out) < turns and time.monotonic() < give_up_at:
            question = QUESTIONS[len(out) % len(QUESTIONS)]
            request = pb.CompleteRequest(chat_id=chat_id, content=question, bypass_cache=True)
            started = time.perf_counter()
            first: float | None = None
            try:
                async for event in stub.Complete(request, metadata=meta, timeout=600):
                    if event.HasField("delta") and first is None:
                        first = time.perf_counter()
                    if event.HasField("error"):
                        raise RuntimeError(event.error.message)
            except grpc.aio.AioRpcError as err:
                refusals[_why(err)] += 1
                await asyncio.sleep(1.0)
                continue
            if first is None:
                raise RuntimeError("the victim's turn produced no text")
            out.append((first - started) * 1000)
    return out


async def flood_streams(stub: Any, meta: Any, chat_id: str, tally: Counter[str]) -> None:
    while True:
        request = pb.CompleteRequest(
            chat_id=chat_id, content="Tell me a long story.", bypass_cache=True
        )
        try:
            async for _ in stub.Complete(request, metadata=meta, timeout=600):
                pass
            tally["stream admitted"] += 1
        except grpc.aio.AioRpcError as err:
            tally[f"stream refused: {_why(err)}"] += 1
            await asyncio.sleep(RETRY_S)


async def flood_submits(stub: Any, meta: Any, chat_id: str, tally: Counter[str]) -> None:
    while True:
        request = pb.SubmitCompletionRequest(
            chat_id=chat_id, content="Write an essay.", bypass_cache=True
        )
        try:
            await stub.SubmitCompletion(request, metadata=meta, timeout=30)
            tally["submit admitted"] += 1
        except grpc.aio.AioRpcError as err:
            tally[f"submit refused: {_why(err)}"] += 1
        await asyncio.sleep(RETRY_S)


async def run_variant(
    name: str, engine: str, work: Path, turns: int, streams: int
) -> dict[str, Any]:
    chat_env, gateway, inference_flags = VARIANTS[name]
    python, engine_flags = engine_options(engine)
    extra = ["--vllm-cpu-kvcache-gib", "1"] if engine == "vllm" else []
    process, address, _ = service_process(
        work, f"inference-{name}", "inference_service", *engine_flags, *extra,
        "--context-length", "2048", *inference_flags, python=python,
    )  # fmt: skip
    try:
        await start_service(process, 900)
        async with chat_behind_envoy(
            work, name, [address], "chat", chat_env=chat_env, gateway=gateway
        ) as stack:
            await victim(stack, 2, Counter())  # warm-up
            unloaded_refusals: Counter[str] = Counter()
            unloaded = await victim(stack, turns, unloaded_refusals)
            loaded_refusals: Counter[str] = Counter()
            tally: Counter[str] = Counter()
            loaded = await _under_flood(stack, turns, streams, loaded_refusals, tally)
    finally:
        process.stop()
    alone = summary(unloaded)
    flooded = summary(loaded) if loaded else None
    return {
        "victim_ttft_ms_unloaded": alone,
        "victim_ttft_ms_loaded": flooded,
        "victim_turns_loaded": f"{len(loaded)} of {turns} within {GIVE_UP_S:.0f} s",
        "victim_refusals_unloaded": dict(unloaded_refusals),
        "victim_refusals_loaded": dict(loaded_refusals),
        "loaded_over_unloaded_p50": ratio(flooded["p50"], alone["p50"]) if flooded else None,
        "loaded_over_unloaded_p95": ratio(flooded["p95"], alone["p95"]) if flooded else None,
        "flooder": dict(sorted(tally.items())),
    }


async def _under_flood(
    stack: ChatStack, turns: int, streams: int, refusals: Counter[str], tally: Counter[str]
) -> list[float]:
    meta = _meta(stack, "flooder")
    async with grpc.aio.insecure_channel(stack.address) as channel:
        stub = pb_grpc.ChatServiceStub(channel)
        chats = [await _new_chat(stub, meta, FLOOD_TOKENS) for _ in range(streams + 1)]
        tasks = [asyncio.create_task(flood_streams(stub, meta, c, tally)) for c in chats[1:]]
        tasks.append(asyncio.create_task(flood_submits(stub, meta, chats[0], tally)))
        try:
            await asyncio.sleep(3.0)  # the flood takes hold before the victim starts
            return await victim(stack, turns, refusals)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
                    await task


async def run(engine: str, turns: int, streams: int, keep: Path | None) -> dict[str, Any]:
    load_at_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-fair-") as tmp:
        work = keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        variants = {
            name: await run_variant(name, engine, work, turns, streams) for name in VARIANTS
        }
    return {
        "config": {
            "engine": engine,
            "victim_turns": turns,
            "victim_max_tokens": VICTIM_TOKENS,
            "flood_streams": streams,
            "flood_max_tokens": FLOOD_TOKENS,
            "flood_retry_s": RETRY_S,
            "variants": {
                "fair": "the defaults: per-user admission, Envoy's per-user limit, fair queue",
                "unprotected": "per-user limits off, inference queue FIFO",
            },
            "load_avg_1m_at_start": load_at_start,
        },
        **variants,
    }


def print_report(results: dict[str, Any]) -> None:
    rows: list[list[object]] = []
    for name in VARIANTS:
        v = results[name]
        flooded = v["victim_ttft_ms_loaded"] or {"p50": "-", "p95": "-"}
        rows.append([
            name,
            v["victim_ttft_ms_unloaded"]["p50"], v["victim_ttft_ms_unloaded"]["p95"],
            flooded["p50"], flooded["p95"], v["loaded_over_unloaded_p95"] or "-",
            v["victim_turns_loaded"], sum(v["victim_refusals_loaded"].values()),
        ])  # fmt: skip
    print(f"\nOne user floods, another chats ({results['config']['engine']})")
    print(format_table(
        ["variant", "TTFT p50 alone", "p95 alone", "p50 flooded", "p95 flooded",
         "p95 ratio", "victim turns flooded", "victim refusals"],
        rows,
    ))  # fmt: skip
    for name in VARIANTS:
        print(f"  flooder ({name}): {json.dumps(results[name]['flooder'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["llama_cpp", "vllm"], default="llama_cpp")
    parser.add_argument("--turns", type=int, default=12)
    parser.add_argument("--streams", type=int, default=32)
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    results = asyncio.run(run(args.engine, args.turns, args.streams, args.keep))
    print_report(results)
    name = NAME if args.engine == "llama_cpp" else f"{NAME}-{args.engine}"
    print(f"\nwritten to {write_results(name, results)}")


if __name__ == "__main__":
    main()
