"""What the gRPC service costs on top of the llama.cpp engine.

The same engine (LlamaCppEngine, same GGUF, n_ctx 2048, one instance, same threads) runs twice:
in this process, called directly, and behind the real inference service process on loopback.
Both get the same chat prompts with the same greedy sampling (ignore_eos, so every generation
is max_tokens long), alternating one request at a time (never concurrently: both share the
same cores), after a warm-up round. The side that goes first alternates from one prompt to the
next, so neither always runs on caches the other has just warmed.

Each engine keeps its own KV cache and sees the same sequence of prompts, so prefix-cache
reuse (the shared system message) is the same on both sides.

    .venv/bin/python -m bench.inference_overhead [--rounds 3] [--max-tokens 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import grpc
from chatstack.inference.v1 import inference_pb2 as pb
from chatstack.inference.v1 import inference_pb2_grpc as pb_grpc

from bench._stats import format_table, percentile, ratio, summary, write_results
from inference_service.engines.llama_cpp_engine import LlamaCppConfig, LlamaCppEngine
from inference_service.model_files import default_gguf_path
from inference_service.types import (
    ChatMessage,
    GenerationRequest,
    GenerationResult,
    Role,
    SamplingParams,
    TokenDelta,
)
from server_kit.processes import ManagedProcess, free_port, python_module

NAME = "inference_overhead"
CONTEXT_LENGTH = 2048
INSTANCES = 1

SYSTEM = "You are a helpful assistant. Answer clearly and concisely."
PROMPTS = [
    "What is the capital of France?",
    "Explain in two sentences why the sky is blue.",
    "Write a haiku about autumn leaves.",
    "List three tips for writing readable Python code.",
    "Translate 'Good morning, how are you?' into Spanish and German.",
    "What is 17 multiplied by 23? Show your working.",
    "Summarize the plot of Romeo and Juliet for a ten-year-old.",
    "Give me a short recipe for pancakes, with the ingredients first and then the steps.",
]

# Greedy, identical on both sides; every field set explicitly so no default differs.
TEMPERATURE = 0.0
TOP_P = 0.95
TOP_K = 40
REPETITION_PENALTY = 1.1
SEED = 0


@dataclass
class Sample:
    side: str
    prompt: int
    ttft_s: float  # request sent -> first token received
    decode_tps: float  # tokens after the first / time from the first to the last token
    total_s: float
    tokens: int
    prompt_tokens: int
    cached_prompt_tokens: int
    text: str


def _messages(prompt: str) -> tuple[ChatMessage, ...]:
    return (ChatMessage(Role.SYSTEM, SYSTEM), ChatMessage(Role.USER, prompt))


def _sample(
    side: str,
    index: int,
    start: float,
    stamps: list[float],
    tokens: int,
    usage: tuple[int, int],
    text: str,
) -> Sample:
    if not stamps:
        raise RuntimeError(f"{side}: no token came back for prompt {index}")
    first, last = stamps[0], stamps[-1]
    decode = (tokens - 1) / (last - first) if tokens > 1 and last > first else float("nan")
    return Sample(side, index, first - start, decode, last - start, tokens, *usage, text)


async def run_direct(engine: LlamaCppEngine, index: int, max_tokens: int) -> Sample:
    request = GenerationRequest(
        request_id=f"direct-{index}",
        messages=_messages(PROMPTS[index]),
        sampling=SamplingParams(
            temperature=TEMPERATURE,
            top_p=TOP_P,
            top_k=TOP_K,
            max_tokens=max_tokens,
            seed=SEED,
            repetition_penalty=REPETITION_PENALTY,
            ignore_eos=True,
        ),
    )
    stamps: list[float] = []
    tokens = 0
    usage = (0, 0)
    parts: list[str] = []
    start = time.perf_counter()
    async for event in engine.generate(request):
        if isinstance(event, TokenDelta):
            stamps.append(time.perf_counter())
            tokens += len(event.token_ids)
            parts.append(event.text)
        elif isinstance(event, GenerationResult):
            usage = (event.prompt_tokens, event.cached_prompt_tokens)
    return _sample("direct", index, start, stamps, tokens, usage, "".join(parts))


async def run_grpc(stub: pb_grpc.InferenceServiceStub, index: int, max_tokens: int) -> Sample:
    request = pb.GenerateRequest(
        request_id=f"grpc-{index}",
        messages=[
            pb.ChatMessage(role=pb.ROLE_SYSTEM, content=SYSTEM),
            pb.ChatMessage(role=pb.ROLE_USER, content=PROMPTS[index]),
        ],
        sampling=pb.SamplingParams(
            temperature=TEMPERATURE,
            top_p=TOP_P,
            top_k=TOP_K,
            max_tokens=max_tokens,
            seed=SEED,
            repetition_penalty=REPETITION_PENALTY,
            ignore_eos=True,
        ),
    )
    stamps: list[float] = []
    tokens = 0
    usage = (0, 0)
    parts: list[str] = []
    start = time.perf_counter()
    async for response in stub.Generate(request, timeout=300):
        if response.HasField("delta"):
            stamps.append(time.perf_counter())
            tokens += len(response.delta.token_ids)
            parts.append(response.delta.text)
        elif response.HasField("final"):
            usage = (response.final.usage.prompt_tokens, response.final.usage.cached_prompt_tokens)
    return _sample("grpc", index, start, stamps, tokens, usage, "".join(parts))


async def measure(
    engine: LlamaCppEngine, address: str, rounds: int, max_tokens: int
) -> tuple[list[Sample], list[Sample]]:
    """Warm-up round, then `rounds` rounds over the prompts, alternating the sides."""
    direct: list[Sample] = []
    remote: list[Sample] = []
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.InferenceServiceStub(channel)
        turn = 0
        for round_ in range(rounds + 1):
            warm_up = round_ == 0
            for index in range(len(PROMPTS)):
                pair: list[Sample] = []
                order = ("direct", "grpc") if turn % 2 == 0 else ("grpc", "direct")
                turn += 1
                for side in order:
                    if side == "direct":
                        pair.append(await run_direct(engine, index, max_tokens))
                    else:
                        pair.append(await run_grpc(stub, index, max_tokens))
                if warm_up:
                    continue
                for sample in pair:
                    (direct if sample.side == "direct" else remote).append(sample)
            label = "warm-up" if warm_up else f"round {round_}/{rounds}"
            print(f"  {label} done", flush=True)
    return direct, remote


def start_service(log_dir: Path) -> tuple[ManagedProcess, str]:
    port, metrics_port = free_port(), free_port()
    address = f"127.0.0.1:{port}"
    flags = {
        "--port": port,
        "--metrics-port": metrics_port,
        "--instances": INSTANCES,
        "--context-length": CONTEXT_LENGTH,
    }
    process = ManagedProcess(
        name="inference",
        argv=python_module("inference_service", *(str(x) for kv in flags.items() for x in kv)),
        log_path=log_dir / "inference.log",
        env={"OMP_WAIT_POLICY": "PASSIVE"},
        grpc_address=address,
    )
    return process, address


def report(direct: list[Sample], remote: list[Sample], max_tokens: int) -> dict[str, Any]:
    sides = {"direct": direct, "grpc": remote}
    figures: dict[str, Any] = {
        side: {
            "ttft_ms": summary([s.ttft_s * 1000 for s in samples]),
            "decode_tokens_per_s": summary([s.decode_tps for s in samples]),
            "total_ms": summary([s.total_s * 1000 for s in samples]),
            "tokens_per_request": sorted({s.tokens for s in samples}),
            "prompt_tokens_mean": sum(s.prompt_tokens for s in samples) / len(samples),
            "cached_prompt_tokens_mean": sum(s.cached_prompt_tokens for s in samples)
            / len(samples),
        }
        for side, samples in sides.items()
    }
    paired_ttft = [(g.ttft_s - d.ttft_s) * 1000 for d, g in zip(direct, remote, strict=True)]
    d, g = figures["direct"], figures["grpc"]
    figures["grpc_over_direct"] = {
        "ttft_p50": ratio(g["ttft_ms"]["p50"], d["ttft_ms"]["p50"]),
        "ttft_p95": ratio(g["ttft_ms"]["p95"], d["ttft_ms"]["p95"]),
        "decode_tps_p50": ratio(g["decode_tokens_per_s"]["p50"], d["decode_tokens_per_s"]["p50"]),
        # The slow tail of a rate: its 5th percentile (what a latency p95 is to a latency).
        "decode_tps_tail_p5": ratio(g["decode_tokens_per_s"]["p5"], d["decode_tokens_per_s"]["p5"]),
        "total_p50": ratio(g["total_ms"]["p50"], d["total_ms"]["p50"]),
    }
    figures["ttft_overhead_ms"] = {
        "p50_difference": g["ttft_ms"]["p50"] - d["ttft_ms"]["p50"],
        "p95_difference": g["ttft_ms"]["p95"] - d["ttft_ms"]["p95"],
        "paired_median": percentile(paired_ttft, 50),
        "paired_p95": percentile(paired_ttft, 95),
    }
    same_text = sum(a.text == b.text for a, b in zip(direct, remote, strict=True))
    figures["identical_outputs"] = f"{same_text}/{len(direct)}"
    figures["equal_lengths"] = all(s.tokens == max_tokens for s in direct + remote)
    return figures


def _rate(d: dict[str, Any], g: dict[str, Any], q: str) -> tuple[float, float]:
    return d["decode_tokens_per_s"][q], g["decode_tokens_per_s"][q]


def print_report(figures: dict[str, Any]) -> None:
    d, g, r = figures["direct"], figures["grpc"], figures["grpc_over_direct"]
    rows: list[list[object]] = [
        ["TTFT ms p50", d["ttft_ms"]["p50"], g["ttft_ms"]["p50"], r["ttft_p50"]],
        ["TTFT ms p95", d["ttft_ms"]["p95"], g["ttft_ms"]["p95"], r["ttft_p95"]],
        ["decode tok/s p50", *_rate(d, g, "p50"), r["decode_tps_p50"]],
        ["decode tok/s p95 tail (p5)", *_rate(d, g, "p5"), r["decode_tps_tail_p5"]],
        ["total ms p50", d["total_ms"]["p50"], g["total_ms"]["p50"], r["total_p50"]],
    ]
    print(format_table(["metric", "direct", "gRPC", "gRPC/direct"], rows))
    o = figures["ttft_overhead_ms"]
    print(
        f"TTFT overhead: {o['p50_difference']:+.2f} ms at p50, {o['p95_difference']:+.2f} ms "
        f"at p95; paired per prompt: median {o['paired_median']:+.2f} ms, "
        f"p95 {o['paired_p95']:+.2f} ms"
    )
    print(
        f"samples: {d['ttft_ms']['n']} per side; tokens per request: "
        f"{d['tokens_per_request']} / {g['tokens_per_request']}; prompt tokens (mean) "
        f"{d['prompt_tokens_mean']:.1f}, cached {d['cached_prompt_tokens_mean']:.1f} / "
        f"{g['cached_prompt_tokens_mean']:.1f}; identical outputs {figures['identical_outputs']}"
    )


async def run(rounds: int, max_tokens: int) -> dict[str, Any]:
    load_at_start = os.getloadavg()[0]
    path = default_gguf_path()
    engine = LlamaCppEngine(
        LlamaCppConfig(
            model_path=path,
            # The same id and config the service derives from its defaults.
            model_id=path.stem.lower().replace(".", "-"),
            n_ctx=CONTEXT_LENGTH,
            instances=INSTANCES,
        )
    )
    with tempfile.TemporaryDirectory(prefix="bench-inference-") as log_dir:
        process, address = start_service(Path(log_dir))
        process.start()
        try:
            # Load the in-process engine while the service loads: both are idle afterwards.
            await engine.start()
            await asyncio.to_thread(process.wait_ready, 180)
            print(f"service on {address}; {len(PROMPTS)} prompts x {rounds} rounds", flush=True)
            direct, remote = await measure(engine, address, rounds, max_tokens)
        finally:
            process.stop()
            await engine.close()
    figures = report(direct, remote, max_tokens)
    return {
        "config": {
            "model": path.name,
            "n_ctx": CONTEXT_LENGTH,
            "instances": INSTANCES,
            "threads": os.cpu_count(),
            "prompts": len(PROMPTS),
            "rounds": rounds,
            "max_tokens": max_tokens,
            "temperature": TEMPERATURE,
            "ignore_eos": True,
            "order": "alternating per prompt, sequential, after one warm-up round",
            "load_avg_1m_at_start": load_at_start,
        },
        **figures,
        "samples": [{k: v for k, v in asdict(s).items() if k != "text"} for s in direct + remote],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description="gRPC inference service vs the llama.cpp engine in process"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the prompts")
    parser.add_argument("--max-tokens", type=int, default=64, help="tokens per generation")
    args = parser.parse_args()
    if args.rounds < 1 or args.max_tokens < 2:
        parser.error("--rounds must be >= 1 and --max-tokens >= 2")
    # Two OpenMP processes spinning on the same cores would starve each other.
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    results = asyncio.run(run(args.rounds, args.max_tokens))
    print_report(results)
    path = write_results(NAME, results, packages=("llama_cpp_python", "grpcio", "protobuf"))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
