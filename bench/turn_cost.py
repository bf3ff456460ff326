"""What a turn costs the chat service and Envoy themselves: CPU per streamed turn, turns/s,
TTFT under load, and the TTFT they add over calling the inference service directly; this
checkout's chat service side by side with another's (`--baseline REF`, a git commit).

The engine answers at once (bench/instant_inference.py, a benchmark double behind the real
inference servicer), so the figures are the chat path's alone. Each side is the production
wiring on loopback: REST + SSE on Envoy's public listener (JWT) -> chat service (SQLite, the
answer cache off, no queue: side work in process) -> Envoy's internal listener -> an instant
inference service. Each side's chat service and inference servicer are its checkout's (the
double's file is copied into the baseline's worktree); both sides' Envoy configs are this
checkout's.

Each level runs N simulated users for D seconds, every user a loop of chats of 4 turns (a
chat created, then 4 streamed turns of 16 tokens); the sides alternate which goes first per
level. CPU is the chat service's and Envoy's process groups' user + system time over the level
(/proc), divided by the turns completed (chat creation included: one per 4 turns). The limits
are the defaults: every chat belongs to the next user of a pool of pre-minted tokens, large
enough that no user reaches 30 turns a minute. The load generator shares the 2 cores, the same
for both sides.

    .venv/bin/python -m bench.turn_cost [--baseline b6d9563] [--users 1 8 32] [--duration-s 10]
        [--token-interval-ms 0]  (a pause between tokens: forwarding at a real engine's pace)
        [--rounds 1]  (each level repeated, the sides' order alternating; medians reported)
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from chatstack.inference.v1 import inference_pb2 as inf_pb
from chatstack.inference.v1 import inference_pb2_grpc as inf_grpc

from bench._chat_stack import ChatStack, chat_behind_envoy
from bench._http import rest_create_chat, rest_turn
from bench._stats import format_table, group_cpu_s, percentile, write_results
from gateway.jwt_keys import Minter
from server_kit.processes import ManagedProcess, service_process, start_service

NAME = "turn_cost"
TURNS_PER_CHAT = 4
MAX_TOKENS = 16
REPO = Path(__file__).resolve().parent.parent
# Users taking turns in rotation, one chat each at a time: a user's share of R turns/s is
# 60 R / POOL turns a minute, under the default limit of 30 up to R = 500.
POOL = 1000
PROMPTS = ["What is the capital of France?", "And of Italy?", "Why?", "Say it shorter."]


@dataclass
class Level:
    side: str
    users: int
    round: int = 1
    elapsed_s: float = 0.0
    turns: int = 0
    failures: int = 0
    ttft_s: list[float] = field(default_factory=list)
    errors: set[str] = field(default_factory=set)
    cpu_s: dict[str, float] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        turns = max(self.turns, 1)
        return {
            "side": self.side,
            "users": self.users,
            "round": self.round,
            "turns": self.turns,
            "failures": self.failures,
            "errors": sorted(self.errors)[:5],
            "turns_per_s": round(self.turns / self.elapsed_s, 1),
            "cpu_ms_per_turn": {k: round(v * 1000 / turns, 2) for k, v in self.cpu_s.items()},
            "ttft_ms": {
                q: round(percentile(self.ttft_s, p) * 1000, 2)
                for q, p in (("p50", 50), ("p95", 95))
            }
            if self.ttft_s
            else {},
        }


class Users:
    """Tokens of POOL users, minted before the run; handed out in rotation."""

    def __init__(self, stack: ChatStack) -> None:
        minter = Minter(stack.settings.keys_dir)
        self.tokens = [minter.mint(f"user-{i}") for i in range(POOL)]
        self.next = 0

    def take(self) -> str:
        self.next = (self.next + 1) % POOL
        return self.tokens[self.next]


async def user_loop(stack: ChatStack, users: Users, deadline: float, level: Level) -> None:
    port = stack.settings.listen_port
    while time.perf_counter() < deadline:
        token = users.take()
        chat_id = await rest_create_chat(port, token)
        for text in PROMPTS[:TURNS_PER_CHAT]:
            try:
                sample = await rest_turn(port, token, chat_id, text, max_tokens=MAX_TOKENS)
            except Exception as exc:  # counted; the figures say how many failed, and why
                level.failures += 1
                level.errors.add(f"{type(exc).__name__}: {exc}"[:200])
                continue
            level.turns += 1
            level.ttft_s.append(sample.ttft_s)


async def run_level(
    stack: ChatStack, pool: Users, side: str, users: int, duration_s: float, round_: int = 1
) -> Level:
    level = Level(side, users, round_)
    names = ["chat", "envoy"]
    before = {n: group_cpu_s([p]) for n, p in zip(names, stack.pids, strict=True)}
    start = time.perf_counter()
    deadline = start + duration_s
    await asyncio.gather(*(user_loop(stack, pool, deadline, level) for i in range(users)))
    level.elapsed_s = time.perf_counter() - start
    after = {n: group_cpu_s([p]) for n, p in zip(names, stack.pids, strict=True)}
    level.cpu_s = {n: after[n] - before[n] for n in names}
    level.cpu_s["total"] = sum(level.cpu_s.values())
    return level


async def direct_ttft(address: str, samples: int) -> list[float]:
    """Generate straight on the inference service: the floor the chat path adds to."""
    values = []
    async with grpc.aio.insecure_channel(address) as channel:
        stub = inf_grpc.InferenceServiceStub(channel)
        for i in range(samples):
            request = inf_pb.GenerateRequest(
                request_id=f"direct-{i}",
                messages=[inf_pb.ChatMessage(role=inf_pb.ROLE_USER, content=PROMPTS[0])],
                sampling=inf_pb.SamplingParams(temperature=0, max_tokens=MAX_TOKENS),
            )
            start = time.perf_counter()
            async for _ in stub.Generate(request, timeout=30):
                values.append(time.perf_counter() - start)
                break
    return values


@asynccontextmanager
async def instant_inference(
    work: Path, name: str, interval_ms: float, source: Path | None
) -> AsyncIterator[str]:
    process: ManagedProcess
    process, address, _ = service_process(
        work, f"instant-inference-{name}", "bench.instant_inference", "--log-level", "warning",
        env={"INSTANT_TOKEN_INTERVAL_MS": str(interval_ms)}, source=source,
    )  # fmt: skip
    try:
        await start_service(process)
        yield address
    finally:
        process.stop()


def checkout(ref: str, work: Path) -> Path:
    """A detached worktree of `ref` (the protos are assumed unchanged: the generated code of
    this checkout serves both sides)."""
    path = work / f"baseline-{ref}"
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", "-f", str(path), ref],
        check=True,
        capture_output=True,
    )
    shutil.copy(Path(__file__).with_name("instant_inference.py"), path / "bench")
    return path


def prune_worktrees() -> None:
    subprocess.run(["git", "-C", str(REPO), "worktree", "prune"], check=False, capture_output=True)


async def start_sides(
    stack: AsyncExitStack, work: Path, interval_ms: float, baseline: str | None
) -> dict[str, tuple[str, ChatStack]]:
    """Each side: its inference service's address and its stack."""
    sources: dict[str, Path | None] = {"current": None}
    if baseline:
        sources[f"baseline {baseline}"] = await asyncio.to_thread(checkout, baseline, work)
    sides = {}
    for i, (side, source) in enumerate(sources.items()):
        inference = await stack.enter_async_context(
            instant_inference(work, f"side{i}", interval_ms, source)
        )
        sides[side] = inference, await stack.enter_async_context(
            chat_behind_envoy(
                work, f"side{i}", [inference], "chat",
                chat_env={"CHAT_LOG_LEVEL": "warning"}, source=source,
            )
        )  # fmt: skip
    return sides


async def run(
    baseline: str | None,
    users: Sequence[int],
    duration_s: float,
    interval_ms: float,
    rounds: int = 1,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="turn-cost-") as tmp:
        work = Path(tmp)
        try:
            async with AsyncExitStack() as stack:
                started = await start_sides(stack, work, interval_ms, baseline)
                sides = {name: side for name, (_, side) in started.items()}
                direct = await direct_ttft(started["current"][0], 200)
                pools = {name: Users(side) for name, side in sides.items()}
                for name, side in sides.items():  # warm-up: connections, SQLite pages
                    await run_level(side, pools[name], name, 2, 2.0)
                levels: list[Level] = []
                for round_ in range(1, rounds + 1):
                    for index, count in enumerate(users):
                        order, first = list(sides.items()), (index + round_ + 1) % 2
                        for name, side in order[first:] + order[:first]:
                            level = await run_level(
                                side, pools[name], name, count, duration_s, round_
                            )
                            levels.append(level)
        finally:
            if baseline:
                await asyncio.to_thread(prune_worktrees)
    return {
        "config": {
            "baseline": baseline,
            "users": list(users),
            "duration_s": duration_s,
            "rounds": rounds,
            "turns_per_chat": TURNS_PER_CHAT,
            "max_tokens": MAX_TOKENS,
            "token_interval_ms": interval_ms,
        },
        "direct_ttft_ms": {
            "p50": round(percentile(direct, 50) * 1000, 2),
            "p95": round(percentile(direct, 95) * 1000, 2),
        },
        "levels": [level.report() for level in levels],
        "medians": medians(levels),
    }


def medians(levels: Sequence[Level]) -> list[dict[str, Any]]:
    """Per side and user count, the median over the rounds: the VM's speed drifts between
    levels (by 15% here), so one round's ratio can mislead where the median of several,
    each measured side by side, does not."""
    groups: dict[tuple[str, int], list[Level]] = {}
    for level in levels:
        groups.setdefault((level.side, level.users), []).append(level)
    return [
        {
            "side": side,
            "users": users,
            "rounds": len(group),
            "turns_per_s": round(statistics.median(g.turns / g.elapsed_s for g in group), 1),
            "cpu_ms_per_turn": {
                name: round(
                    statistics.median(g.cpu_s[name] * 1000 / max(g.turns, 1) for g in group), 2
                )
                for name in ("chat", "envoy", "total")
            },
        }
        for (side, users), group in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    ]


def print_report(results: dict[str, Any]) -> None:
    direct = results["direct_ttft_ms"]
    print(f"direct Generate TTFT: p50 {direct['p50']} ms, p95 {direct['p95']} ms")
    rows = []
    for level in results["levels"]:
        cpu, ttft = level["cpu_ms_per_turn"], level["ttft_ms"]
        added = round(ttft.get("p50", 0) - direct["p50"], 2) if level["users"] == 1 else ""
        rows.append([
            level["side"], level["users"], level["round"], level["turns"], level["failures"],
            level["turns_per_s"], cpu["chat"], cpu["envoy"], cpu["total"],
            ttft.get("p50"), ttft.get("p95"), added,
        ])  # fmt: skip
    headers = [
        "side", "users", "round", "turns", "failed", "turns/s", "chat ms CPU", "envoy ms CPU",
        "total ms CPU", "TTFT p50 ms", "TTFT p95 ms", "added p50 ms",
    ]  # fmt: skip
    print(format_table(headers, rows))
    if results["config"]["rounds"] > 1:
        print("\nmedians over the rounds:")
        columns = ["side", "users", "rounds", "turns/s", "chat ms CPU", "envoy ms CPU"]
        print(format_table([*columns, "total ms CPU"], [
            [m["side"], m["users"], m["rounds"], m["turns_per_s"], *m["cpu_ms_per_turn"].values()]
            for m in results["medians"]
        ]))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=None, help="a git commit measured side by side")
    parser.add_argument("--users", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--duration-s", type=float, default=10.0)
    parser.add_argument(
        "--token-interval-ms", type=float, default=0.0,
        help="a pause between the engine's tokens (0: all at once, the issue's instant engine)",
    )  # fmt: skip
    parser.add_argument(
        "--rounds", type=int, default=1,
        help="every level this many times, the sides' order alternating; medians reported",
    )  # fmt: skip
    args = parser.parse_args()
    results = asyncio.run(
        run(args.baseline, args.users, args.duration_s, args.token_interval_ms, args.rounds)
    )
    print_report(results)
    suffix = f"-interval{args.token_interval_ms:g}ms" if args.token_interval_ms else ""
    print(f"results: {write_results(NAME + suffix, results)}")


if __name__ == "__main__":
    main()
