"""Throughput scaling: completed turns per second with 1 vs 2 inference replicas, the same load
in one run, end to end: native gRPC clients -> Envoy (JWT) -> chat service (SQLite, answer
cache off) -> Envoy's internal listener (least-request) -> llama.cpp inference processes.

Each replica is one model copy on one CPU thread (`--threads-per-instance 1`): a replica
stands for one node's worth of compute, so the ideal ratio is 2.0 when the machine has a core
free for the second replica (this one has two cores, shared with the chat service and Envoy).
The modes run one after the other on the same inference processes (the 1-replica mode simply
routes to the first only); each mode: `--clients` concurrent clients, each sending `--turns`
fresh single-turn chats (greedy, `--max-tokens` tokens, always generated).

    .venv/bin/python -m bench.replica_scaling [--clients 4] [--turns 6] [--max-tokens 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
from chatstack.chat.v1 import chat_pb2 as pb
from chatstack.chat.v1 import chat_pb2_grpc as pb_grpc

from bench._chat_stack import chat_behind_envoy
from bench._stats import format_table, ratio, summary, write_results
from bench.affinity import one_turn
from server_kit.processes import service_process, start_service

NAME = "replica_scaling"
QUESTIONS = [
    "Describe a quiet harbour town at dawn.",
    "Explain how a bicycle stays upright.",
    "Write a short note about autumn leaves.",
    "What makes bread rise in the oven?",
    "Describe the sound of rain on a tin roof.",
    "Why do cats like boxes?",
]


async def client(
    address: str, token: str, index: int, turns: int, max_tokens: int
) -> list[tuple[float, float]]:
    metadata = (("authorization", f"Bearer {token}"),)
    settings = pb.ChatSettings(
        sampling=pb.SamplingSettings(temperature=0, max_tokens=max_tokens, seed=index)
    )
    out = []
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.ChatServiceStub(channel)
        for t in range(turns):
            created = await stub.CreateChat(
                pb.CreateChatRequest(settings=settings), metadata=metadata, timeout=30
            )
            question = QUESTIONS[(index + t) % len(QUESTIONS)]
            ttft, total, _ = await one_turn(stub, metadata, created.chat.chat_id, question)
            out.append((ttft, total))
    return out


async def run_mode(
    name: str, work: Path, inference: list[str], clients: int, turns: int, max_tokens: int
) -> dict[str, Any]:
    async with chat_behind_envoy(work, name, inference, "none") as stack:
        tokens = [stack.token(f"bench-{name}-{i}") for i in range(clients)]
        print(f"{name}: {clients} clients x {turns} turns", flush=True)
        started = time.perf_counter()
        batches = await asyncio.gather(
            *(client(stack.address, tokens[i], i, turns, max_tokens) for i in range(clients))
        )
        wall = time.perf_counter() - started
    samples = [s for batch in batches for s in batch]
    return {
        "replicas": len(inference),
        "turns": len(samples),
        "wall_s": wall,
        "turns_per_s": len(samples) / wall,
        "ttft_ms": summary([ttft * 1000 for ttft, _ in samples]),
        "turn_ms": summary([total * 1000 for _, total in samples]),
    }


async def run(clients: int, turns: int, max_tokens: int) -> dict[str, Any]:
    load_at_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp:
        work = Path(tmp)
        args = (
            "--instances", "1", "--threads-per-instance", "1",
            "--context-length", "2048", "--max-queue", str(clients * 2),
        )  # fmt: skip
        replicas = [
            service_process(work, f"inference-{i}", "inference_service", *args) for i in range(2)
        ]
        try:
            await asyncio.gather(*(start_service(process) for process, _, _ in replicas))
            addresses = [address for _, address, _ in replicas]
            one = await run_mode("one", work, addresses[:1], clients, turns, max_tokens)
            two = await run_mode("two", work, addresses, clients, turns, max_tokens)
        finally:
            for process, _, _ in replicas:
                process.stop()
    return {
        "config": {
            "path": "gRPC clients -> Envoy (JWT) -> chat service -> Envoy internal "
            "(least-request) -> llama.cpp replicas (1 instance, 1 thread each)",
            "clients": clients,
            "turns_per_client": turns,
            "max_tokens": max_tokens,
            "cpu_count": os.cpu_count(),
            "load_avg_1m_at_start": load_at_start,
        },
        "one_replica": one,
        "two_replicas": two,
        "two_over_one": {
            "turns_per_s": ratio(two["turns_per_s"], one["turns_per_s"]),
            "ttft_p50": ratio(two["ttft_ms"]["p50"], one["ttft_ms"]["p50"]),
        },
    }


def print_report(results: dict[str, Any]) -> None:
    one, two = results["one_replica"], results["two_replicas"]
    rows: list[list[object]] = [
        ["turns/s", one["turns_per_s"], two["turns_per_s"], results["two_over_one"]["turns_per_s"]],
        [
            "TTFT ms p50",
            one["ttft_ms"]["p50"],
            two["ttft_ms"]["p50"],
            results["two_over_one"]["ttft_p50"],
        ],
        ["TTFT ms p95", one["ttft_ms"]["p95"], two["ttft_ms"]["p95"], ""],
        ["turn ms p50", one["turn_ms"]["p50"], two["turn_ms"]["p50"], ""],
    ]
    print("\nThroughput with 1 vs 2 inference replicas (same load)")
    print(format_table(["metric", "1 replica", "2 replicas", "2/1"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description="turns/s with 1 vs 2 inference replicas")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--turns", type=int, default=6, help="turns per client and mode")
    parser.add_argument("--max-tokens", type=int, default=32)
    args = parser.parse_args()
    results = asyncio.run(run(args.clients, args.turns, args.max_tokens))
    print_report(results)
    path = write_results(NAME, results, packages=("llama-cpp-python",))
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
