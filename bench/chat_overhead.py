"""What the chat service costs on top of the inference service, and how a turn's latency grows
with the length of the chat's stored history.

1. Overhead: one real inference service process and one chat service process (SQLite) on
   loopback. The same prompts go (a) through ChatService.Complete, a fresh chat per sample,
   and (b) straight to InferenceService.Generate with the same system prompt and user message,
   both greedy (temperature 0) with the same max_tokens, alternating one request at a time
   (the side that goes first alternates), after a warm-up. The chat Complete request can only
   set temperature/top_p/max_tokens/seed, so the direct request sets exactly those too.
   The chat side's time includes everything a turn does besides inference: reading the chat,
   persisting the user and pending assistant messages, building the prompt (a CountTokens
   round trip to the inference service unless the history is far inside the budget: a fresh
   chat needs none), persisting the reply.

2. History length (bench/_chat_history.py): chats with 10, 1,000 and 10,000 stored turns,
   seeded straight into the store with begin_turn (SQLite: before the chat service starts;
   Cassandra: a node started with scripts/cassandra.sh, seeded concurrently, then a chat
   service on that keyspace). Then a few Complete turns on each chat (window policy, the
   default), the sizes interleaved per round. The window holds as many of the newest messages
   as fit the token budget, so the 10-turn chat's prompt is much shorter than the others':
   compare 1,000 with 10,000 for the store's part, 10 with 10,000 for the whole effect.

    .venv/bin/python -m bench.chat_overhead [--samples 15] [--turns 8] [--skip-cassandra]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import grpc
from chatstack.chat.v1 import chat_pb2_grpc as chat_grpc
from chatstack.inference.v1 import inference_pb2 as inf_pb
from chatstack.inference.v1 import inference_pb2_grpc as inf_grpc

from bench._chat_grpc import SYSTEM, TEMPERATURE, Sample, chat_service_args, complete, create_chat
from bench._chat_history import (
    HISTORY_MAX_TOKENS,
    SIZES,
    history_cassandra,
    history_figures,
    history_samples,
    history_sqlite,
)
from bench._chat_stack import cache_off_service as service
from bench._stats import format_table, percentile, ratio, summary, write_results
from chat_service.ids import new_id
from server_kit.processes import start_service

NAME = "chat_overhead"
CONTEXT_LENGTH = 2048
OVERHEAD_MAX_TOKENS = 32
WARM_UP = 2

PROMPTS = [
    "What is the capital of France?",
    "Explain in two sentences why the sky is blue.",
    "Write a haiku about autumn leaves.",
    "List three tips for writing readable Python code.",
    "What is 17 multiplied by 23?",
]


# ----------------------------------------------------------------------------- part 1


async def generate(stub: inf_grpc.InferenceServiceStub, index: int, text: str) -> Sample:
    request = inf_pb.GenerateRequest(
        request_id=f"direct-{index}-{new_id()}",
        messages=[
            inf_pb.ChatMessage(role=inf_pb.ROLE_SYSTEM, content=SYSTEM),
            inf_pb.ChatMessage(role=inf_pb.ROLE_USER, content=text),
        ],
        sampling=inf_pb.SamplingParams(temperature=TEMPERATURE, max_tokens=OVERHEAD_MAX_TOKENS),
    )
    first: float | None = None
    parts: list[str] = []
    usage = (0, 0)
    start = time.perf_counter()
    async for event in stub.Generate(request, timeout=300):
        if event.HasField("delta"):
            if first is None:
                first = time.perf_counter()
            parts.append(event.delta.text)
        elif event.HasField("final"):
            usage = (event.final.usage.completion_tokens, event.final.usage.prompt_tokens)
    end = time.perf_counter()
    if first is None:
        raise RuntimeError(f"direct: no delta came back for sample {index}")
    return Sample("direct", index, first - start, end - start, *usage, "".join(parts))


async def measure_overhead(
    chat_address: str, inference_address: str, samples: int, warm_up: int
) -> tuple[list[Sample], list[Sample], list[float]]:
    chat_samples: list[Sample] = []
    direct_samples: list[Sample] = []
    create_ms: list[float] = []
    async with (
        grpc.aio.insecure_channel(chat_address) as chat_channel,
        grpc.aio.insecure_channel(inference_address) as inf_channel,
    ):
        chat_stub = chat_grpc.ChatServiceStub(chat_channel)
        inf_stub = inf_grpc.InferenceServiceStub(inf_channel)
        for i in range(warm_up + samples):
            text = PROMPTS[i % len(PROMPTS)]
            order = ("chat", "direct") if i % 2 == 0 else ("direct", "chat")
            pair: list[Sample] = []
            created = 0.0
            for side in order:
                if side == "chat":
                    t0 = time.perf_counter()
                    chat_id = await create_chat(chat_stub)
                    created = (time.perf_counter() - t0) * 1000
                    pair.append(
                        await complete(chat_stub, "chat", i, chat_id, text, OVERHEAD_MAX_TOKENS)
                    )
                else:
                    pair.append(await generate(inf_stub, i, text))
            if i < warm_up:
                continue
            create_ms.append(created)
            for sample in pair:
                (chat_samples if sample.side == "chat" else direct_samples).append(sample)
    return chat_samples, direct_samples, create_ms


def overhead_report(
    chat: list[Sample], direct: list[Sample], create_ms: list[float]
) -> dict[str, Any]:
    sides = {"chat": chat, "direct": direct}
    figures: dict[str, Any] = {
        side: {
            "ttft_ms": summary([s.ttft_s * 1000 for s in values]),
            "total_ms": summary([s.total_s * 1000 for s in values]),
            "completion_tokens": sorted({s.completion_tokens for s in values}),
            "prompt_tokens_mean": sum(s.prompt_tokens for s in values) / len(values),
        }
        for side, values in sides.items()
    }
    c, d = figures["chat"], figures["direct"]
    figures["chat_over_direct"] = {
        f"{metric}_{q}": ratio(c[metric][q], d[metric][q])
        for metric in ("ttft_ms", "total_ms")
        for q in ("p50", "p95")
    }
    figures["chat_minus_direct_ms"] = {
        f"{metric}_{q}": c[metric][q] - d[metric][q]
        for metric in ("ttft_ms", "total_ms")
        for q in ("p50", "p95")
    }
    paired_ttft = [(a.ttft_s - b.ttft_s) * 1000 for a, b in zip(chat, direct, strict=True)]
    paired_total = [(a.total_s - b.total_s) * 1000 for a, b in zip(chat, direct, strict=True)]
    figures["paired_difference_ms"] = {
        "ttft_median": percentile(paired_ttft, 50),
        "total_median": percentile(paired_total, 50),
    }
    figures["create_chat_ms"] = summary(create_ms)
    same = sum(a.text == b.text for a, b in zip(chat, direct, strict=True))
    figures["identical_outputs"] = f"{same}/{len(chat)}"
    return figures


# ----------------------------------------------------------------------------- run, report


async def overhead(
    log_dir: Path, inference_address: str, samples: int
) -> tuple[list[Sample], list[Sample], list[float]]:
    """Part 1 on a chat service of its own (SQLite): chat vs direct samples, CreateChat ms."""
    db = log_dir / "overhead.db"
    chat, chat_address = service(
        log_dir,
        "chat-sqlite",
        "chat_service",
        *chat_service_args(inference_address, "--store", "sqlite", "--sqlite-path", str(db)),
    )
    try:
        await start_service(chat)
        print(f"part 1: chat vs direct, {samples} samples each", flush=True)
        return await measure_overhead(chat_address, inference_address, samples, warm_up=WARM_UP)
    finally:
        chat.stop()


async def run(samples: int, turns: int, cassandra_sizes: Sequence[int] | None) -> dict[str, Any]:
    load_at_start = os.getloadavg()[0]
    out: dict[str, Any] = {}
    raw: list[Sample] = []
    with tempfile.TemporaryDirectory(prefix="bench-chat-") as tmp:
        log_dir = Path(tmp)
        inference, inf_address = service(
            log_dir, "inference", "inference_service",
            "--instances", "1", "--context-length", str(CONTEXT_LENGTH),
        )  # fmt: skip
        try:
            await start_service(inference)
            chat_s, direct_s, create_ms = await overhead(log_dir, inf_address, samples)
            out["overhead"] = overhead_report(chat_s, direct_s, create_ms)
            raw += chat_s + direct_s

            print(f"part 2: history length, sqlite, sizes {list(SIZES)}", flush=True)
            sqlite = await history_sqlite(log_dir, inf_address, SIZES, turns)
            out["history_sqlite"] = history_figures(sqlite)
            raw += history_samples(sqlite)

            if cassandra_sizes is not None:
                print(f"part 2: history length, cassandra, sizes {cassandra_sizes}", flush=True)
                cass = await history_cassandra(log_dir, inf_address, cassandra_sizes, turns)
                out["history_cassandra"] = history_figures(cass)
                raw += history_samples(cass)
        finally:
            inference.stop()
    return {
        "config": run_config(samples, turns, cassandra_sizes, load_at_start),
        **out,
        "samples": [{k: v for k, v in asdict(s).items() if k != "text"} for s in raw],
    }


def run_config(
    samples: int, turns: int, cassandra_sizes: Sequence[int] | None, load_at_start: float
) -> dict[str, Any]:
    return {
        "context_length": CONTEXT_LENGTH,
        "instances": 1,
        "system_prompt": SYSTEM,
        "temperature": TEMPERATURE,
        "overhead_max_tokens": OVERHEAD_MAX_TOKENS,
        "overhead_samples_per_side": samples,
        "overhead_warm_up_pairs": WARM_UP,
        "history_max_tokens": HISTORY_MAX_TOKENS,
        "history_turns_per_size": turns,
        "history_policy": "window",
        "cassandra": "skipped" if cassandra_sizes is None else "single local node, CL ONE",
        "order": "sequential; sides alternate which goes first; history sizes rotate",
        "load_avg_1m_at_start": load_at_start,
    }


def print_report(results: dict[str, Any]) -> None:
    o = results["overhead"]
    c, d, r, diff = o["chat"], o["direct"], o["chat_over_direct"], o["chat_minus_direct_ms"]
    rows: list[list[object]] = [
        [f"{m} {q}", d[k][q], c[k][q], r[f"{k}_{q}"], diff[f"{k}_{q}"]]
        for m, k in (("TTFT ms", "ttft_ms"), ("total ms", "total_ms"))
        for q in ("p50", "p95")
    ]
    print("\nChat layer overhead (SQLite store)")
    print(format_table(["metric", "direct", "chat", "chat/direct", "chat-direct ms"], rows))
    print(
        f"paired medians: TTFT {o['paired_difference_ms']['ttft_median']:+.1f} ms, total "
        f"{o['paired_difference_ms']['total_median']:+.1f} ms; CreateChat p50 "
        f"{o['create_chat_ms']['p50']:.1f} ms (not in the chat figures); completion tokens "
        f"{c['completion_tokens']} / {d['completion_tokens']}; identical outputs "
        f"{o['identical_outputs']}"
    )
    for key, title in (("history_sqlite", "SQLite"), ("history_cassandra", "Cassandra")):
        if key not in results:
            continue
        h = results[key]
        rows = [
            [
                f"{int(size):,} turns",
                v["prompt_tokens_mean"],
                v["ttft_ms"]["p50"],
                v["ttft_ms"]["p95"],
                v["total_ms"]["p50"],
                v["total_ms"]["p95"],
            ]
            for size, v in h["sizes"].items()
        ]
        print(f"\nTurn latency vs stored history ({title}, window policy)")
        print(
            format_table(
                ["history", "prompt tok", "TTFT p50", "TTFT p95", "total p50", "total p95"], rows
            )
        )
        for name, value in h.items():
            if name.startswith("ratio_"):
                print(
                    f"{name}: TTFT p50 x{value['ttft_p50']:.2f}, "
                    f"total p50 x{value['total_p50']:.2f}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description="chat service overhead and history scaling")
    parser.add_argument("--samples", type=int, default=15, help="overhead samples per side")
    parser.add_argument("--turns", type=int, default=8, help="measured turns per history size")
    parser.add_argument("--skip-cassandra", action="store_true", help="SQLite only")
    parser.add_argument(
        "--cassandra-largest",
        type=int,
        default=SIZES[-1],
        help="largest Cassandra history (turns), if seeding 10,000 is too slow",
    )
    args = parser.parse_args()
    if args.samples < 1 or args.turns < 1:
        parser.error("--samples and --turns must be >= 1")
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    cassandra_sizes = None if args.skip_cassandra else [*SIZES[:-1], args.cassandra_largest]
    results = asyncio.run(run(args.samples, args.turns, cassandra_sizes))
    print_report(results)
    path = write_results(NAME, results, packages=("grpcio", "cassandra-driver", "llama_cpp_python"))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
