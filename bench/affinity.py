"""Chat-affine routing (Maglev on the chat id) vs plain least-request over two inference
replicas, on the same multi-turn workload, end to end: native gRPC clients -> Envoy (JWT) ->
chat service (SQLite, answer cache off) -> Envoy's internal listener -> two llama.cpp
inference processes (llama.cpp with one model instance each, or with `--engine vllm` vLLM's CPU
build with prefix caching, one core each; all real processes on loopback).

Workload, the same in both modes: `--clients` concurrent clients, each working through its
own chats one after the other, `--turns` turns per chat (greedy, short answers). Every chat
opens with a message of its own (a paragraph that differs per chat) and the history grows
each turn (history policy full), so a follow-up turn's prompt extends the chat's previous
prompt. llama.cpp keeps the KV cache of its last prompt per instance: a follow-up served by
the replica that served the chat's previous turn, with no other chat in between, only
processes the new suffix (cached_prompt_tokens); vLLM keeps every recent prompt's KV blocks in
its prefix cache, so any earlier turn of the chat served on that replica helps. With
least-request the concurrent clients' turns scatter over both replicas; with affinity a chat
stays on one replica (but two chats hashed to the same replica take turns on it, and queue).

Per mode: time to first token (TTFT, from the Complete stream) of follow-up turns, which is
mostly prompt processing on a CPU model, and the share of prompt tokens served from the
prefix cache (inference_cached_prompt_tokens_total / inference_prompt_tokens_total over both
replicas, follow-ups and first turns together). One Envoy + chat service per mode, on the same
two inference processes; the modes run one after the other, in the order of VARIANTS.

    .venv/bin/python -m bench.affinity [--engine llama_cpp|vllm] [--clients 2] [--chats 4]
        [--turns 5] [--keep DIR]          (results: bench/results/affinity[-vllm].json)
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import grpc
from chatstack.chat.v1 import chat_pb2 as pb
from chatstack.chat.v1 import chat_pb2_grpc as pb_grpc

from bench._chat_stack import chat_behind_envoy
from bench._stats import format_table, ratio, summary, write_results
from gateway.config import GatewaySettings
from local_stack.engines import engine_options
from local_stack.launch.metrics import metric_value
from server_kit.processes import service_process, start_service

NAME = "affinity"
MAX_TOKENS = 24
TOPICS = [
    "a lighthouse keeper on a northern island",
    "a baker who opens a shop in a mountain village",
    "a young engineer who repairs old trains",
    "a botanist cataloguing rare desert plants",
    "a retired sailor who builds model ships",
    "a librarian who finds a hidden map",
    "a beekeeper at the edge of a forest",
    "a violin maker in a busy harbour town",
]
FOLLOW_UPS = [
    "Give the character a name.",
    "Where do they live exactly?",
    "What do they fear most?",
    "Describe their best friend.",
    "What happens to them next winter?",
    "How does the story end?",
]
# name -> inference_affinity (the other settings at their defaults)
VARIANTS: dict[str, Literal["chat", "none"]] = {"affinity": "chat", "least_request": "none"}


def opening(index: int, mode: str, details: int) -> str:
    """A first message of its own per chat and mode (~15 tokens per detail): the history the
    chat carries. The mode is in it so that the second mode's prompts are not already in a
    prefix cache from the first mode's run (vLLM keeps many prompts, not only the last)."""
    topic = TOPICS[index % len(TOPICS)]
    notes = ", ".join(f"detail {index}-{k} about {topic}" for k in range(details))
    return (
        f"Chat {index} ({mode}). We will write a short story about {topic}. Keep in mind: {notes}."
    )


@dataclass
class Sample:
    mode: str
    client: int
    chat: int
    turn: int  # 0: the chat's first turn
    ttft_s: float
    total_s: float
    prompt_tokens: int


async def one_turn(
    stub: pb_grpc.ChatServiceStub,
    metadata: tuple[tuple[str, str], ...],
    chat_id: str,
    content: str,
) -> tuple[float, float, int]:
    request = pb.CompleteRequest(chat_id=chat_id, content=content, bypass_cache=True)
    first: float | None = None
    prompt_tokens = 0
    start_at = time.perf_counter()
    async for event in stub.Complete(request, metadata=metadata, timeout=300):
        if event.HasField("delta"):
            first = first or time.perf_counter()
        elif event.HasField("final"):
            prompt_tokens = event.final.usage.prompt_tokens
        else:
            raise RuntimeError(f"turn failed: {event.error.message}")
    if first is None:
        raise RuntimeError("no delta came back")
    return first - start_at, time.perf_counter() - start_at, prompt_tokens


async def client(
    mode: str, index: int, address: str, token: str, chats: int, turns: int, details: int
) -> list[Sample]:
    metadata = (("authorization", f"Bearer {token}"),)
    out: list[Sample] = []
    settings = pb.ChatSettings(
        history_policy=pb.HISTORY_POLICY_FULL,
        sampling=pb.SamplingSettings(temperature=0, max_tokens=MAX_TOKENS),
    )
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.ChatServiceStub(channel)
        for c in range(chats):
            number = index * chats + c
            created = await stub.CreateChat(
                pb.CreateChatRequest(settings=settings), metadata=metadata, timeout=30
            )
            chat_id = created.chat.chat_id
            for t in range(turns):
                content = (
                    opening(number, mode, details)
                    if t == 0
                    else FOLLOW_UPS[(t - 1) % len(FOLLOW_UPS)]
                )
                ttft, total, prompt = await one_turn(stub, metadata, chat_id, content)
                out.append(Sample(mode, index, number, t, ttft, total, prompt))
    return out


def stickiness(access_log: Path) -> tuple[int, int]:
    """(follow-up Generate calls on the chat's previous replica, follow-up calls)."""
    calls: dict[str, list[tuple[str, str]]] = {}
    for line in access_log.read_text().splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        if entry.get("grpc_method", "").endswith("/Generate"):
            calls.setdefault(entry["chat_id"], []).append(
                (entry["start_time"], entry["upstream_host"])
            )
    same = total = 0
    for turns in calls.values():
        hosts = [host for _, host in sorted(turns)]
        total += len(hosts) - 1
        same += sum(a == b for a, b in itertools.pairwise(hosts))
    return same, total


def prefix_counters(metrics_urls: list[str]) -> tuple[float, float]:
    prompt = sum(metric_value(u, "inference_prompt_tokens_total") for u in metrics_urls)
    cached = sum(metric_value(u, "inference_cached_prompt_tokens_total") for u in metrics_urls)
    return prompt, cached


async def run_mode(
    mode: str,
    work: Path,
    inference: list[str],
    metrics_urls: list[str],
    clients: int,
    chats: int,
    turns: int,
    details: int,
) -> dict[str, Any]:
    async with chat_behind_envoy(work, mode, inference, VARIANTS[mode]) as stack:
        tokens = [stack.token(f"bench-{mode}-{i}") for i in range(clients)]
        prompt_before, cached_before = prefix_counters(metrics_urls)
        print(f"mode {mode}: {clients} clients x {chats} chats x {turns} turns", flush=True)
        started = time.perf_counter()
        results = await asyncio.gather(
            *(
                client(mode, i, stack.address, tokens[i], chats, turns, details)
                for i in range(clients)
            )
        )
        wall = time.perf_counter() - started
        prompt_after, cached_after = prefix_counters(metrics_urls)
    samples = [s for batch in results for s in batch]
    same, follow_calls = stickiness(work / f"envoy-{mode}.log")
    follow = [s for s in samples if s.turn > 0]
    return {
        "follow_up_ttft_ms": summary([s.ttft_s * 1000 for s in follow]),
        "follow_up_total_ms": summary([s.total_s * 1000 for s in follow]),
        "first_turn_ttft_ms": summary([s.ttft_s * 1000 for s in samples if s.turn == 0]),
        "follow_up_prompt_tokens_mean": sum(s.prompt_tokens for s in follow) / len(follow),
        "prompt_tokens": prompt_after - prompt_before,
        "cached_prompt_tokens": cached_after - cached_before,
        "cached_share": ratio(cached_after - cached_before, prompt_after - prompt_before),
        "wall_s": wall,
        # From Envoy's access log: follow-up Generate calls that reached the replica which
        # served the chat's previous turn.
        "follow_ups_on_previous_replica": ratio(same, follow_calls),
        "samples": [asdict(s) for s in samples],
    }


def replica(work: Path, engine: str, i: int) -> tuple[Any, str, str]:
    """Inference replica `i`, not started. vLLM replicas are pinned one core each (vLLM's own
    automatic binding would put both on the first core of this 2-core machine)."""
    args = ("--context-length", "2048", "--max-queue", "8")
    if engine == "llama_cpp":
        return service_process(
            work, f"inference-{i}", "inference_service", "--instances", "1", *args
        )
    python, vllm = engine_options("vllm")
    env = {"VLLM_CPU_OMP_THREADS_BIND": str(i % (os.cpu_count() or 1))}
    return service_process(
        work, f"inference-{i}", "inference_service", *vllm, "--vllm-cpu-kvcache-gib", "1",
        *args, env=env, python=python,
    )  # fmt: skip


async def run(
    engine: str, clients: int, chats: int, turns: int, details: int, keep: Path | None
) -> dict[str, Any]:
    load_at_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-affinity-") as tmp:
        work = keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        replicas = [replica(work, engine, i) for i in range(2)]
        try:
            await asyncio.gather(*(start_service(process, 900) for process, _, _ in replicas))
            addresses = [address for _, address, _ in replicas]
            urls = [url for _, _, url in replicas]
            modes: dict[str, Any] = {}
            for mode in VARIANTS:
                modes[mode] = await run_mode(
                    mode, work, addresses, urls, clients, chats, turns, details
                )
        finally:
            for process, _, _ in replicas:
                process.stop()
    a, n = modes["affinity"], modes["least_request"]
    return {
        "config": {
            "path": "gRPC clients -> Envoy (JWT) -> chat service -> Envoy internal -> "
            + (
                "2 inference replicas (llama.cpp, 1 instance each)"
                if engine == "llama_cpp"
                else "2 inference replicas (vLLM CPU, prefix caching, 1 core each)"
            ),
            "engine": engine,
            "modes": {
                "affinity": "MAGLEV on x-chat-id (the defaults, hash_balance_factor "
                f"{GatewaySettings().inference_affinity_balance_factor})",
                "least_request": "LEAST_REQUEST (inference_affinity=none)",
            },
            "clients": clients,
            "chats_per_client": chats,
            "turns_per_chat": turns,
            "opening_details": details,
            "max_tokens": MAX_TOKENS,
            "history_policy": "full",
            "answer_cache": "off",
            "load_avg_1m_at_start": load_at_start,
        },
        **modes,
        "least_request_over_affinity": {
            "follow_up_ttft_p50": ratio(
                n["follow_up_ttft_ms"]["p50"], a["follow_up_ttft_ms"]["p50"]
            ),
            "follow_up_ttft_p95": ratio(
                n["follow_up_ttft_ms"]["p95"], a["follow_up_ttft_ms"]["p95"]
            ),
            "wall_s": ratio(n["wall_s"], a["wall_s"]),
        },
    }


def print_report(results: dict[str, Any]) -> None:
    columns = [results[name] for name in VARIANTS]
    rows: list[list[object]] = [
        [f"follow-up TTFT ms {q}", *(c["follow_up_ttft_ms"][q] for c in columns)]
        for q in ("p50", "p95")
    ]
    rows.append(["first-turn TTFT ms p50", *(c["first_turn_ttft_ms"]["p50"] for c in columns)])
    rows.append(["cached prompt share", *(c["cached_share"] for c in columns)])
    rows.append(
        ["follow-ups on previous replica", *(c["follow_ups_on_previous_replica"] for c in columns)]
    )
    rows.append(["wall s", *(c["wall_s"] for c in columns)])
    print("\nChat affinity vs least-request, two inference replicas")
    print(format_table(["metric", *VARIANTS], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description="chat-affine routing vs least-request")
    parser.add_argument("--engine", choices=["llama_cpp", "vllm"], default="llama_cpp")
    parser.add_argument("--clients", type=int, default=2, help="concurrent clients")
    parser.add_argument("--chats", type=int, default=4, help="chats per client, in turn")
    parser.add_argument("--turns", type=int, default=5, help="turns per chat")
    parser.add_argument(
        "--opening-details", type=int, default=8, help="length of each chat's opening (x15 tokens)"
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep the logs here (Envoy's access log names each call's chat_id and upstream_host)",
    )
    args = parser.parse_args()
    if min(args.clients, args.chats) < 1 or args.turns < 2:
        parser.error("--clients and --chats must be >= 1, --turns >= 2")
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    workload = (args.clients, args.chats, args.turns, args.opening_details)
    results = asyncio.run(run(args.engine, *workload, args.keep))
    print_report(results)
    name = NAME if args.engine == "llama_cpp" else f"{NAME}-{args.engine}"
    path = write_results(name, results, packages=("grpcio", "llama-cpp-python"))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
