"""Part 2 of bench/chat_overhead.py: turn latency against the length of the chat's stored
history. Chats of each size are seeded straight into the store with begin_turn (SQLite before
its chat service starts; Cassandra on a node of its own, seeded concurrently), then timed with
a few Complete turns each, the sizes interleaved per round."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
from chatstack.chat.v1 import chat_pb2_grpc as chat_grpc

from bench._chat_grpc import SYSTEM, USER, Sample, chat_service_args, complete
from bench._chat_stack import cache_off_service as service
from bench._stats import ratio, summary
from chat_service.domain import (
    ChatOptions,
    ChatRecord,
    HistoryPolicy,
    MessageRecord,
    MessageStatus,
    Role,
    Turn,
    utcnow,
)
from chat_service.ids import new_id, new_ids
from chat_service.store.base import HistoryStore
from chat_service.store.cassandra_store import CassandraStore
from chat_service.store.sqlite_store import SqliteStore
from local_stack.launch.cassandra import start_node, stop_node
from server_kit.processes import start_service

HISTORY_MAX_TOKENS = 16
SIZES = (10, 1_000, 10_000)
SEED_CHUNK = 100
KEYSPACE = "bench_chat"
HISTORY_PROMPTS = [
    "And what is 7 plus 8?",
    "What is 12 times 3?",
    "Name a prime number above 50.",
    "What is half of 96?",
]


async def seed_chat(store: HistoryStore, turns: int, concurrent: bool) -> tuple[str, float]:
    """A chat of USER with `turns` complete turns, written with begin_turn. Returns its id and
    the seconds the seeding took."""
    now = utcnow()
    chat = ChatRecord(
        user_id=USER,
        chat_id=new_id(),
        title=f"history {turns}",
        system_prompt=SYSTEM,
        settings=ChatOptions(HistoryPolicy.WINDOW),
        created_at=now,
        updated_at=now,
        title_from_user=True,
    )
    await store.create_chat(chat)
    chat_id = chat.chat_id

    def turn(i: int) -> Turn:
        q, a = new_ids(2)
        at = utcnow()
        return Turn(
            MessageRecord(chat_id, q, Role.USER, f"Question {i}: what is {i} plus {i}?",
                          MessageStatus.COMPLETE, at, at, client_request_id=f"seed-{i}"),
            MessageRecord(chat_id, a, Role.ASSISTANT, f"The answer is {2 * i}.",
                          MessageStatus.COMPLETE, at, at, client_request_id=f"seed-{i}"),
        )  # fmt: skip

    t0 = time.perf_counter()
    chunk = SEED_CHUNK if concurrent else 1
    for begin in range(0, turns, chunk):
        batch = [turn(i) for i in range(begin, min(begin + chunk, turns))]
        await asyncio.gather(*(store.begin_turn(USER, t) for t in batch))
    return chat_id, time.perf_counter() - t0


async def seed(store: HistoryStore, sizes: Sequence[int], concurrent: bool) -> dict[int, str]:
    await store.start()
    chats: dict[int, str] = {}
    try:
        for size in sizes:
            chats[size], took = await seed_chat(store, size, concurrent)
            print(f"  seeded {size} turns in {took:.1f} s", flush=True)
    finally:
        await store.close()
    return chats


async def measure_history(
    store_name: str, chat_address: str, chats: dict[int, str], turns: int
) -> dict[int, list[Sample]]:
    """One warm-up turn per chat, then `turns` rounds; the order of the sizes rotates."""
    results: dict[int, list[Sample]] = {size: [] for size in chats}
    sizes = list(chats)
    async with grpc.aio.insecure_channel(chat_address) as channel:
        stub = chat_grpc.ChatServiceStub(channel)
        for round_ in range(turns + 1):
            order = sizes[round_ % len(sizes) :] + sizes[: round_ % len(sizes)]
            for size in order:
                text = HISTORY_PROMPTS[round_ % len(HISTORY_PROMPTS)]
                sample = await complete(
                    stub, f"{store_name}-{size}", round_, chats[size], text, HISTORY_MAX_TOKENS
                )
                if round_ > 0:
                    results[size].append(sample)
    return results


def history_report(results: dict[int, list[Sample]]) -> dict[str, Any]:
    per_size: dict[str, Any] = {
        str(size): {
            "ttft_ms": summary([s.ttft_s * 1000 for s in values]),
            "total_ms": summary([s.total_s * 1000 for s in values]),
            "prompt_tokens_mean": sum(s.prompt_tokens for s in values) / len(values),
        }
        for size, values in results.items()
    }
    sizes = sorted(results)
    low, mid, high = (per_size[str(s)] for s in (sizes[0], sizes[len(sizes) // 2], sizes[-1]))
    return {
        "sizes": per_size,
        f"ratio_{sizes[-1]}_to_{sizes[0]}": {
            "ttft_p50": ratio(high["ttft_ms"]["p50"], low["ttft_ms"]["p50"]),
            "total_p50": ratio(high["total_ms"]["p50"], low["total_ms"]["p50"]),
        },
        f"ratio_{sizes[-1]}_to_{sizes[len(sizes) // 2]}": {
            "ttft_p50": ratio(high["ttft_ms"]["p50"], mid["ttft_ms"]["p50"]),
            "total_p50": ratio(high["total_ms"]["p50"], mid["total_ms"]["p50"]),
        },
    }


async def history_sqlite(
    log_dir: Path, inference_address: str, sizes: Sequence[int], turns: int
) -> dict[str, Any]:
    """Seeds a fresh SQLite file, then starts a chat service on it."""
    path = log_dir / "history.db"
    chats = await seed(SqliteStore(str(path)), sizes, concurrent=False)
    process, address = service(
        log_dir,
        "chat-sqlite-history",
        "chat_service",
        *chat_service_args(inference_address, "--store", "sqlite", "--sqlite-path", str(path)),
    )
    try:
        await start_service(process)
        results = await measure_history("sqlite", address, chats, turns)
    finally:
        process.stop()
    return {"results": results, "sizes": list(sizes)}


async def history_cassandra(
    log_dir: Path, inference_address: str, sizes: Sequence[int], turns: int
) -> dict[str, Any]:
    run_dir = log_dir / "cassandra"
    t0 = time.perf_counter()
    _, cql_port = await asyncio.to_thread(start_node, run_dir)
    try:
        print(f"  cassandra up in {time.perf_counter() - t0:.0f} s", flush=True)
        store = CassandraStore(
            ["127.0.0.1"], port=cql_port, keyspace=KEYSPACE, consistency="ONE",
            request_timeout_s=30,
        )  # fmt: skip
        chats = await seed(store, sizes, concurrent=True)
        process, address = service(
            log_dir,
            "chat-cassandra-history",
            "chat_service",
            *chat_service_args(
                inference_address,
                "--store", "cassandra",
                "--cassandra-contact-points", "127.0.0.1",
                "--cassandra-port", str(cql_port),
                "--cassandra-keyspace", KEYSPACE,
                "--cassandra-consistency", "ONE",
            ),
        )  # fmt: skip
        try:
            await start_service(process)
            results = await measure_history("cassandra", address, chats, turns)
        finally:
            process.stop()
    finally:
        await asyncio.to_thread(stop_node, run_dir)
    return {"results": results, "sizes": list(sizes)}


def history_figures(history: dict[str, Any]) -> dict[str, Any]:
    """The figures of history_sqlite's or history_cassandra's result."""
    return {"sizes_turns": history["sizes"], **history_report(history["results"])}


def history_samples(history: dict[str, Any]) -> list[Sample]:
    return [s for v in history["results"].values() for s in v]
