"""The two engines side by side, and our gRPC layer over vLLM's own front end.

Three servers run one after the other (never together: they share the cores), each on the
same model (SmolLM2-135M-Instruct: the packaged GGUF on llama.cpp, its safetensors export on
vLLM) and the same requests:
  llama_cpp    our inference service on llama.cpp (one model copy, the `make run` default)
  vllm         our inference service on vLLM's CPU build (.venv-vllm)
  vllm_serve   vLLM's own OpenAI-compatible server (`vllm serve`, same environment and engine
               settings), streamed through /v1/chat/completions
Per server: its start time (process start to ready), then at concurrency 1, 4 and 16 rounds of
distinct short chat prompts (greedy, ignore_eos: every answer is --max-tokens long): TTFT
p50/p95 and generated tokens/s over the level's wall time; then a long history: one prompt of
about 1,500 tokens (TTFT: prefill), and the same conversation with one more turn (TTFT: what a
prefix cache saves on a follow-up). vllm_serve runs only the concurrency levels, for the ratio
"our service / vLLM's server".

    .venv/bin/python -m bench.engines [--max-tokens 64] [--servers llama_cpp,vllm,vllm_serve]
        [--gpu --vllm-python PATH]   (a GPU machine: scripts/gpu_check.sh; results engines-gpu)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
from chatstack.inference.v1 import inference_pb2 as pb
from chatstack.inference.v1 import inference_pb2_grpc as pb_grpc

from bench._stats import format_table, ratio, summary, write_results
from loadgen.client import open_http
from local_stack.engines import VLLM_PYTHON
from server_kit.processes import ManagedProcess, free_port, service_process

NAME = "engines"
# CPU build: a KV cache sized in GiB of RAM (our service picks eager mode on a CPU itself;
# vLLM's server is told, as our service tells the engine).
CPU_ENGINE_ARGS = ["--vllm-cpu-kvcache-gib", "2"]
CPU_SERVE_ARGS = ["--enforce-eager"]
LEVELS = (1, 4, 16)
SERVERS = ("llama_cpp", "vllm", "vllm_serve")
CONTEXT = 2048
# Engine settings shared by our service on vLLM and `vllm serve` (CPU build: eager, bf16).
VLLM_ENV = {"VLLM_CPU_KVCACHE_SPACE": "2"}
SUBJECTS = ["rivers", "volcanoes", "bridges", "libraries", "glaciers", "harbours", "deserts",
            "orchards", "railways", "lighthouses", "forests", "markets", "castles", "islands",
            "bakeries", "observatories"]  # fmt: skip

# One streamed request: (prompt messages, max_tokens) -> (TTFT s, completion tokens).
Stream = Callable[[list[dict[str, str]], int], Awaitable[tuple[float, int]]]


def short_prompt(i: int) -> list[dict[str, str]]:
    subject = SUBJECTS[i % len(SUBJECTS)]
    return [{"role": "user", "content": f"Request {i}: write a few sentences about {subject}."}]


def long_history(turns: int = 24) -> list[dict[str, str]]:
    """A conversation of about 1,500 tokens that ends with a user turn."""
    messages = [{"role": "system", "content": "You are a helpful assistant."}]
    for t in range(turns):
        subject = SUBJECTS[t % len(SUBJECTS)]
        messages.append({"role": "user", "content": f"Tell me something about {subject}, {t}."})
        messages.append({"role": "assistant", "content": f"Here is a fact about {subject}: "
                         f"people have studied {subject} for centuries, and record {t} of them "
                         "describes how they change with the seasons and the years."})  # fmt: skip
    messages.append({"role": "user", "content": "Summarize our conversation."})
    return messages


ROLES = {"system": pb.ROLE_SYSTEM, "user": pb.ROLE_USER, "assistant": pb.ROLE_ASSISTANT}


def grpc_stream(address: str) -> tuple[Stream, grpc.aio.Channel]:
    channel = grpc.aio.insecure_channel(address)
    stub = pb_grpc.InferenceServiceStub(channel)

    async def stream(messages: list[dict[str, str]], max_tokens: int) -> tuple[float, int]:
        request = pb.GenerateRequest(
            messages=[
                pb.ChatMessage(role=ROLES[m["role"]], content=m["content"]) for m in messages
            ],
            sampling=pb.SamplingParams(temperature=0, max_tokens=max_tokens, ignore_eos=True),
        )
        start, first = time.perf_counter(), 0.0
        async for event in stub.Generate(request, timeout=600):
            if event.HasField("delta") and not first:
                first = time.perf_counter() - start
            elif event.HasField("final"):
                return first, event.final.usage.completion_tokens
        raise RuntimeError("no final message")

    return stream, channel


def openai_stream(port: int, model: str) -> Stream:
    async def stream(messages: list[dict[str, str]], max_tokens: int) -> tuple[float, int]:
        body = {"model": model, "messages": messages, "max_tokens": max_tokens, "stream": True,
                "temperature": 0, "ignore_eos": True,
                "stream_options": {"include_usage": True}}  # fmt: skip
        start, first, tokens = time.perf_counter(), 0.0, 0
        status, _, reader, writer = await open_http(
            "127.0.0.1", port, "POST", "/v1/chat/completions", body, {}
        )
        try:
            if status != 200:
                raise RuntimeError(f"vllm serve answered {status}: {await reader.read(500)!r}")
            while line := await reader.readline():
                if not line.startswith(b"data: ") or line.startswith(b"data: [DONE]"):
                    continue
                chunk = json.loads(line[6:])
                if chunk.get("usage"):
                    tokens = chunk["usage"]["completion_tokens"]
                elif chunk["choices"] and chunk["choices"][0]["delta"].get("content") and not first:
                    first = time.perf_counter() - start
        finally:
            writer.close()
        return first, tokens

    return stream


async def concurrency_level(stream: Stream, level: int, max_tokens: int) -> dict[str, Any]:
    """`level` clients, each sending requests one after another; 2 * level requests in all
    (at least 4). Tokens/s: all generated tokens over the level's wall time."""
    total = max(4, 2 * level)
    queue = list(range(total))
    ttfts: list[float] = []
    tokens = 0

    async def client() -> None:
        nonlocal tokens
        while queue:
            ttft, n = await stream(short_prompt(queue.pop()), max_tokens)
            ttfts.append(ttft * 1000)
            tokens += n

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(level)))
    wall = time.perf_counter() - started
    return {"requests": total, "ttft_ms": summary(ttfts), "tokens_per_s": tokens / wall}


async def long_history_ttft(stream: Stream) -> dict[str, float]:
    history = long_history()
    first, _ = await stream(history, 8)
    follow = [*history, {"role": "assistant", "content": "We talked about many places."},
              {"role": "user", "content": "Which one was first?"}]  # fmt: skip
    again, _ = await stream(follow, 8)
    return {"first_ttft_ms": first * 1000, "follow_up_ttft_ms": again * 1000}


def server_process(
    name: str, work: Path, python: Path, gpu: bool
) -> tuple[ManagedProcess, str, int]:
    """(process, gRPC address or "", HTTP port or 0), not started."""
    env = {} if gpu else VLLM_ENV
    if name == "llama_cpp":
        args = ("--instances", "1", "--max-queue", "64", "--context-length", str(CONTEXT))
        process, address, _ = service_process(work, name, "inference_service", *args)
        return process, address, 0
    if name == "vllm":
        engine = ("--engine", "vllm", *([] if gpu else CPU_ENGINE_ARGS))
        served = ("--max-queue", "64", "--context-length", str(CONTEXT), "--model-id", "smollm2")
        process, address, _ = service_process(
            work, name, "inference_service", *engine, *served, env=env, python=str(python)
        )
        return process, address, 0
    from inference_service.hf_export import default_out_dir
    from inference_service.model_files import default_gguf_path

    port = free_port()
    # vLLM's OpenAI server as `vllm serve` runs it (that CLI looks up the distribution "vllm"
    # by name, and the CPU build is distributed as "vllm-cpu").
    server = "vllm.entrypoints.openai.api_server"
    model = str(default_out_dir(default_gguf_path()))
    argv = [str(python), "-m", server, "--model", model,
            "--served-model-name", "smollm2", "--port", str(port), "--host", "127.0.0.1",
            "--max-model-len", str(CONTEXT), *([] if gpu else CPU_SERVE_ARGS),
            "--max-num-seqs", "64", "--enable-prefix-caching"]  # fmt: skip
    process = ManagedProcess(
        name=name, argv=argv, log_path=work / f"{name}.log", env=env,
        ready_url=f"http://127.0.0.1:{port}/health",
    )  # fmt: skip
    return process, "", port


async def run_server(
    name: str, work: Path, max_tokens: int, python: Path, gpu: bool
) -> dict[str, Any]:
    process, address, port = server_process(name, work, python, gpu)
    started = time.perf_counter()
    process.start()
    try:
        await asyncio.to_thread(process.wait_ready, 900)
        start_s = time.perf_counter() - started
        print(f"{name}: ready in {start_s:.0f} s", flush=True)
        channel = None
        if address:
            stream, channel = grpc_stream(address)
        else:
            stream = openai_stream(port, "smollm2")
        await stream(short_prompt(999), 8)  # warm-up
        out: dict[str, Any] = {"start_s": start_s, "levels": {}}
        for level in LEVELS:
            out["levels"][str(level)] = await concurrency_level(stream, level, max_tokens)
            print(f"  concurrency {level}: {out['levels'][str(level)]['tokens_per_s']:.1f} tok/s",
                  flush=True)  # fmt: skip
        if name != "vllm_serve":
            out["long_history"] = await long_history_ttft(stream)
        if channel is not None:
            await channel.close()
        return out
    finally:
        process.stop(30)


def compare(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for level in map(str, LEVELS):
        row: dict[str, float] = {}
        if "llama_cpp" in results and "vllm" in results:
            v, c = results["vllm"]["levels"][level], results["llama_cpp"]["levels"][level]
            row["vllm_over_llama_tokens_per_s"] = ratio(v["tokens_per_s"], c["tokens_per_s"])
        if "vllm" in results and "vllm_serve" in results:
            v, s = results["vllm"]["levels"][level], results["vllm_serve"]["levels"][level]
            row["ours_over_vllm_serve_ttft_p50"] = ratio(v["ttft_ms"]["p50"], s["ttft_ms"]["p50"])
            row["ours_over_vllm_serve_tokens_per_s"] = ratio(v["tokens_per_s"], s["tokens_per_s"])
        out[level] = row
    return out


def print_report(results: dict[str, Any], servers: list[str]) -> None:
    nan = float("nan")  # vllm_serve runs no long history
    rows: list[list[object]] = [["start s", *(results[s]["start_s"] for s in servers)]]
    for c in map(str, LEVELS):
        levels = [results[s]["levels"][c] for s in servers]
        rows.append([f"c={c} tokens/s", *(level["tokens_per_s"] for level in levels)])
        for q in ("p50", "p95"):
            rows.append([f"c={c} TTFT ms {q}", *(level["ttft_ms"][q] for level in levels)])
    for key in ("first_ttft_ms", "follow_up_ttft_ms"):
        history = [results[s].get("long_history", {}) for s in servers]
        rows.append([f"long history {key}", *(h.get(key, nan) for h in history)])
    print("\nEngines side by side (same model, same requests)")
    print(format_table(["metric", *servers], rows))


async def run(servers: list[str], max_tokens: int, python: Path, gpu: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as tmp:
        return {
            name: await run_server(name, Path(tmp), max_tokens, python, gpu) for name in servers
        }


def main() -> None:
    parser = argparse.ArgumentParser(description="llama.cpp vs vLLM-CPU vs vllm serve")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--gpu", action="store_true", help="vLLM's GPU build: no CPU settings")
    parser.add_argument("--vllm-python", type=Path, default=VLLM_PYTHON)
    args = parser.parse_args()
    servers = [s for s in args.servers.split(",") if s]
    if unknown := set(servers) - set(SERVERS):
        parser.error(f"unknown servers {sorted(unknown)}; choose from {SERVERS}")
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    results = asyncio.run(run(servers, args.max_tokens, args.vllm_python, args.gpu))
    print_report(results, servers)
    document = {
        "config": {"servers": servers, "levels": LEVELS, "max_tokens": args.max_tokens,
                   "context": CONTEXT, "gpu": args.gpu, "vllm_env": {} if args.gpu else VLLM_ENV,
                   "sampling": "greedy, ignore_eos"},
        **results, "ratios": compare(results),
    }  # fmt: skip
    path = write_results(
        f"{NAME}-gpu" if args.gpu else NAME, document, packages=("grpcio", "llama-cpp-python")
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
