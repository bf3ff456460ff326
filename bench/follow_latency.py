"""What following a turn (StreamTurn) adds over streaming it directly (Complete), through Envoy's
REST route, with a NATS server between the replica running the turn and its followers.

The engine is the benchmark double that answers at once, paced at --token-interval-ms between
tokens (bench/instant_inference.py), so the figures are the paths' alone. One chat replica with
a queue: the pushed text still crosses the NATS server.

1. The same turn, two readers: a Complete stream, and a follower that joins after its first
   delta. For every delta the follower gets, the lag behind the moment the direct stream held
   the same text (p50, p95).
2. Whole turns, interleaved: Complete vs SubmitCompletion then StreamTurn (what the web UI does
   now); TTFT and time to the final event, each side's p50/p95, on this checkout and, side by
   side, on a baseline commit (default: the last one whose followers read the store every
   0.25 s).

    .venv/bin/python -m bench.follow_latency [--turns 60] [--token-interval-ms 20]
        [--baseline 41c82ec]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from bench._chat_stack import ChatStack, chat_behind_envoy
from bench._http import http_json, http_request, rest_create_chat, sse_events
from bench._stats import format_table, percentile, write_results
from bench.turn_cost import checkout, instant_inference, prune_worktrees
from local_stack.launch.nats import NatsServer

NAME = "follow_latency"
MAX_TOKENS = 48
SAMPLING = {"temperature": 0, "max_tokens": MAX_TOKENS}


async def get_events(port: int, path: str, token: str) -> AsyncIterator[dict[str, Any]]:
    """GETs a server-sent event stream, yielding each event's JSON as it arrives."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    status, _, chunks, writer = await http_request("127.0.0.1", port, "GET", path, None, headers)
    try:
        if status != 200:
            raise RuntimeError(f"GET {path}: HTTP {status}")
        buffer = b""
        async for chunk in chunks:
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if line.startswith(b"data:") and line[5:].strip():
                    yield json.loads(line[5:])
    finally:
        writer.close()


class Clock:
    """When each reader held how much of the reply (code points), from one start."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.lengths: list[int] = []
        self.times: list[float] = []

    def held(self, length: int) -> None:
        self.lengths.append(length)
        self.times.append(time.perf_counter() - self.start)

    def when(self, length: int) -> float | None:
        index = bisect.bisect_left(self.lengths, length)
        return self.times[index] if index < len(self.times) else None


async def same_turn_lags(stack: ChatStack, token: str, chat_id: str) -> list[float]:
    """One Complete turn with a follower joining after its first delta: the follower's lag."""
    port = int(stack.address.rsplit(":", 1)[1])
    request_id = uuid.uuid4().hex
    body = {"content": "Tell me a story.", "client_request_id": request_id, "sampling": SAMPLING}
    direct, follow = Clock(), Clock()
    follow.start = direct.start
    joined = asyncio.Event()

    async def read_direct() -> None:
        held = 0
        headers = {"Authorization": f"Bearer {token}"}
        async for event in sse_events(
            "127.0.0.1", port, f"/chat/{chat_id}/completion", body, headers
        ):
            if "delta" in event:
                held += len(event["delta"].get("text", ""))
                direct.held(held)
                joined.set()

    async def read_follower() -> None:
        await joined.wait()
        path = f"/chat/{chat_id}/turns/{request_id}/stream"
        first = True
        async for event in get_events(port, path, token):
            if "delta" not in event:
                return
            delta = event["delta"]
            if first:  # the catch-up from the snapshot: not a pushed delta
                first = False
                continue
            follow.held(delta.get("offset", 0) + len(delta.get("text", "")))

    await asyncio.gather(read_direct(), read_follower())
    lags = []
    for length, at in zip(follow.lengths, follow.times, strict=True):
        direct_at = direct.when(length)
        if direct_at is not None:
            lags.append(at - direct_at)
    return lags


async def direct_turn(port: int, token: str, chat_id: str) -> tuple[float, float]:
    """TTFT and time to the final event of a Complete turn."""
    start, first = time.perf_counter(), None
    body = {"content": "Tell me a story.", "bypass_cache": True, "sampling": SAMPLING}
    headers = {"Authorization": f"Bearer {token}"}
    async for event in sse_events("127.0.0.1", port, f"/chat/{chat_id}/completion", body, headers):
        if "delta" in event and event["delta"].get("text") and first is None:
            first = time.perf_counter()
    assert first is not None
    return first - start, time.perf_counter() - start


async def followed_turn(port: int, token: str, chat_id: str) -> tuple[float, float]:
    """TTFT and time to the final event of SubmitCompletion, then StreamTurn."""
    start, first = time.perf_counter(), None
    body: Mapping[str, Any] = {"content": "Tell me a story.", "bypass_cache": True,
                               "sampling": SAMPLING}  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    reply = await http_json("127.0.0.1", port, "POST", f"/chat/{chat_id}/turns", body, headers)
    path = f"/chat/{chat_id}/turns/{reply['client_request_id']}/stream"
    async for event in get_events(port, path, token):
        if "delta" in event and event["delta"].get("text") and first is None:
            first = time.perf_counter()
    assert first is not None
    return first - start, time.perf_counter() - start


def spread(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 50) * 1000, 2),
        "p95_ms": round(percentile(values, 95) * 1000, 2),
    }


async def whole_turns(stack: ChatStack, turns: int) -> dict[str, Any]:
    port = int(stack.address.rsplit(":", 1)[1])
    samples: dict[str, list[tuple[float, float]]] = {"direct": [], "followed": []}
    for index in range(turns + 2):
        token = stack.token(f"bench-{uuid.uuid4().hex[:8]}")  # one user per turn: no limits
        chat_id = await rest_create_chat(port, token)
        order = ["direct", "followed"] if index % 2 else ["followed", "direct"]
        for side in order:
            turn = direct_turn if side == "direct" else followed_turn
            sample = await turn(port, token, chat_id)
            if index >= 2:  # warm-up
                samples[side].append(sample)
    return {
        side: {"ttft": spread([s[0] for s in values]), "total": spread([s[1] for s in values])}
        for side, values in samples.items()
    }


async def run(turns: int, interval_ms: float, baseline: str | None) -> dict[str, Any]:
    config = {"turns": turns, "token_interval_ms": interval_ms, "max_tokens": MAX_TOKENS}
    results: dict[str, Any] = {"config": {**config, "baseline": baseline}}
    with tempfile.TemporaryDirectory(prefix="follow-") as tmp:
        work = Path(tmp)
        sources: dict[str, Path | None] = {"current": None}
        try:
            if baseline:
                sources[f"baseline {baseline}"] = await asyncio.to_thread(checkout, baseline, work)
            for index, (side, source) in enumerate(sources.items()):
                async with side_stack(work, f"s{index}", interval_ms, source) as chat:
                    results[side] = await whole_turns(chat, turns)
                    if source is None:
                        results[side]["same_turn_lag"] = await lags(chat, turns)
        finally:
            if baseline:
                await asyncio.to_thread(prune_worktrees)
    return results


@asynccontextmanager
async def side_stack(
    work: Path, name: str, interval_ms: float, source: Path | None
) -> AsyncIterator[ChatStack]:
    """One side, alone on the machine: its own NATS server (two sides on one would share the
    turn queue's consumer), instant inference, chat service and Envoy."""
    nats = NatsServer(work / f"nats-{name}", work / f"nats-{name}.log")
    nats.start()
    try:
        async with AsyncExitStack() as stack:
            inference = await stack.enter_async_context(
                instant_inference(work, name, interval_ms, source)
            )
            yield await stack.enter_async_context(chat_behind_envoy(
                work, name, [inference], "chat", source=source,
                chat_env={"CHAT_LOG_LEVEL": "warning", "CHAT_QUEUE_URL": nats.url},
            ))  # fmt: skip
    finally:
        nats.stop()


async def lags(stack: ChatStack, turns: int) -> dict[str, Any]:
    port = int(stack.address.rsplit(":", 1)[1])
    values: list[float] = []
    for _ in range(turns):
        token = stack.token(f"bench-{uuid.uuid4().hex[:8]}")
        values += await same_turn_lags(stack, token, await rest_create_chat(port, token))
    return {**spread(values), "deltas": len(values)}


def print_report(results: dict[str, Any]) -> None:
    rows = []
    for side, figures in results.items():
        if side == "config":
            continue
        for path in ("direct", "followed"):
            ttft, total = figures[path]["ttft"], figures[path]["total"]
            rows.append([side, path, ttft["p50_ms"], ttft["p95_ms"], total["p50_ms"],
                         total["p95_ms"]])  # fmt: skip
    print(format_table(["code", "path", "TTFT p50", "TTFT p95", "end p50", "end p95"], rows))
    lag = results["current"]["same_turn_lag"]
    print(f"follower behind the direct stream, same turn: p50 {lag['p50_ms']} ms, "
          f"p95 {lag['p95_ms']} ms over {lag['deltas']} deltas")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=60)
    parser.add_argument("--token-interval-ms", type=float, default=20.0)
    parser.add_argument("--baseline", default="41c82ec", help="'' for none")
    args = parser.parse_args()
    results = asyncio.run(run(args.turns, args.token_interval_ms, args.baseline or None))
    print_report(results)
    print(f"written to {write_results(NAME, results)}")


if __name__ == "__main__":
    main()
