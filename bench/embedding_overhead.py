"""What the gRPC service costs on top of the sentence encoder.

The same model (all-MiniLM-L6-v2 from the package, on the service's default engine) runs
twice: in this process, called directly, and behind the real embedding service process on
loopback (with its default settings, micro-batching window included). Two workloads, each
alternating one call at a time between the sides (never concurrently: both share the same
cores), after a warm-up:

* single-text latency: one text per call, p50/p95 over --single-calls calls per side;
* batch throughput: --batch-size texts per call, texts/s over --batches calls per side.

    .venv/bin/python -m bench.embedding_overhead [--single-calls 100] [--batches 10]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from chatstack.embedding.v1 import embedding_pb2 as pb
from chatstack.embedding.v1 import embedding_pb2_grpc as pb_grpc

from bench._stats import format_table, percentile, ratio, summary, write_results
from embedding_service.model import default_model_path, open_encoder
from server_kit.processes import ManagedProcess, free_port, python_module

NAME = "embedding_overhead"
WARM_UP_SINGLE = 10
WARM_UP_BATCHES = 2

SUBJECTS = [
    "the weather in Paris",
    "a recipe for banana bread",
    "how to reset a forgotten password",
    "the history of the Roman Empire",
    "training for a first marathon",
    "the difference between TCP and UDP",
    "choosing a laptop for programming",
    "why cats purr",
    "the rules of chess castling",
    "investing in index funds",
    "learning to play the guitar",
    "the causes of inflation",
    "growing tomatoes on a balcony",
    "writing a cover letter",
    "how vaccines train the immune system",
    "the plot of a famous science fiction novel",
]
TEMPLATES = [
    "{}",
    "Can you tell me about {}?",
    "I have been reading a lot about {} lately and would like a short, clear explanation.",
    "Summarize what a beginner should know about {}, with two practical examples and one "
    "common mistake to avoid, in a friendly tone.",
]
# 64 texts of 1 to ~30 words: every template with every subject.
TEXTS = [template.format(subject) for template in TEMPLATES for subject in SUBJECTS]

Embed = Callable[[list[str]], np.ndarray]


def grpc_embedder(stub: pb_grpc.EmbeddingServiceStub) -> Embed:
    def embed(texts: list[str]) -> np.ndarray:
        reply = stub.Embed(pb.EmbedRequest(texts=texts), timeout=120)
        return np.array([e.values for e in reply.embeddings], dtype=np.float32)

    return embed


def timed(embed: Embed, texts: list[str]) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    vectors = embed(texts)
    return time.perf_counter() - start, vectors


def alternate(
    sides: dict[str, Embed], batches: list[list[str]], warm_up: int
) -> tuple[dict[str, list[float]], float]:
    """Runs every batch on both sides, one after the other, the first side alternating;
    returns the seconds per call per side (warm-up calls left out) and the largest difference
    between the two sides' vectors."""
    seconds: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    max_diff = 0.0
    for i, texts in enumerate(batches):
        order = names if i % 2 == 0 else names[::-1]
        vectors = {}
        for name in order:
            elapsed, vectors[name] = timed(sides[name], texts)
            if i >= warm_up:
                seconds[name].append(elapsed)
        a, b = (vectors[n] for n in names)
        max_diff = max(max_diff, float(np.abs(a - b).max()))
    return seconds, max_diff


def start_service(log_dir: Path, max_texts: int) -> tuple[ManagedProcess, str]:
    port = free_port()
    address = f"127.0.0.1:{port}"
    process = ManagedProcess(
        name="embedding",
        argv=python_module("embedding_service", "--port", str(port), "--max-texts", str(max_texts)),
        log_path=log_dir / "embedding.log",
        env={"OMP_WAIT_POLICY": "PASSIVE"},
        grpc_address=address,
    )
    return process, address


@dataclass
class Measured:
    single: dict[str, list[float]]  # seconds per single-text call, per side
    batched: dict[str, list[float]]  # seconds per batch call, per side
    max_diff: float  # largest |direct - gRPC| over all the vectors
    dimension: int


def measure(single_calls: int, batches: int, batch_size: int) -> Measured:
    batch = [TEXTS[i % len(TEXTS)] for i in range(batch_size)]
    singles = [[TEXTS[i % len(TEXTS)]] for i in range(WARM_UP_SINGLE + single_calls)]
    with tempfile.TemporaryDirectory(prefix="bench-embedding-") as log_dir:
        process, address = start_service(Path(log_dir), batch_size)
        process.start()
        try:
            # Load the in-process model while the service loads: both are idle afterwards.
            encoder = open_encoder(default_model_path())
            process.wait_ready(180)
            print(f"service on {address}", flush=True)
            with grpc.insecure_channel(address) as channel:
                sides = {
                    "direct": encoder.encode,
                    "grpc": grpc_embedder(pb_grpc.EmbeddingServiceStub(channel)),
                }
                single, single_diff = alternate(sides, singles, WARM_UP_SINGLE)
                print(f"  single text: {single_calls} calls per side done", flush=True)
                batched, batch_diff = alternate(
                    sides, [batch] * (WARM_UP_BATCHES + batches), WARM_UP_BATCHES
                )
                print(f"  batch of {batch_size}: {batches} calls per side done", flush=True)
        finally:
            process.stop()
    return Measured(single, batched, max(single_diff, batch_diff), encoder.dimension)


def run(single_calls: int, batches: int, batch_size: int) -> dict[str, Any]:
    load_at_start = os.getloadavg()[0]
    m = measure(single_calls, batches, batch_size)
    results: dict[str, Any] = {
        "config": {
            "model": default_model_path().name,
            "dimension": m.dimension,
            "engine": "onnx (the service's default)",
            "single_calls": single_calls,
            "batches": batches,
            "batch_size": batch_size,
            "service": "default settings (max_batch 64, batch_window_ms 0)",
            "order": "alternating per call, sequential, after a warm-up",
            "load_avg_1m_at_start": load_at_start,
        }
    }
    for side in ("direct", "grpc"):
        results[side] = {
            "single_latency_ms": summary([s * 1000 for s in m.single[side]]),
            "batch_latency_ms": summary([s * 1000 for s in m.batched[side]]),
            # Throughput over all the batches: texts / total seconds.
            "batch_texts_per_s": batch_size * len(m.batched[side]) / sum(m.batched[side]),
        }
    d, g = results["direct"], results["grpc"]
    results["grpc_over_direct"] = {
        "single_latency_p50": ratio(g["single_latency_ms"]["p50"], d["single_latency_ms"]["p50"]),
        "single_latency_p95": ratio(g["single_latency_ms"]["p95"], d["single_latency_ms"]["p95"]),
        "batch_texts_per_s": ratio(g["batch_texts_per_s"], d["batch_texts_per_s"]),
        "batch_latency_p50": ratio(g["batch_latency_ms"]["p50"], d["batch_latency_ms"]["p50"]),
    }
    # Call i of one side ran right next to call i of the other: their difference cancels
    # most of the load the two share.
    paired = [(b - a) * 1000 for a, b in zip(m.single["direct"], m.single["grpc"], strict=True)]
    results["single_overhead_ms"] = {
        "p50_difference": g["single_latency_ms"]["p50"] - d["single_latency_ms"]["p50"],
        "p95_difference": g["single_latency_ms"]["p95"] - d["single_latency_ms"]["p95"],
        "paired_median": percentile(paired, 50),
        "paired_p95": percentile(paired, 95),
    }
    results["max_abs_vector_difference"] = m.max_diff
    return results


def print_report(results: dict[str, Any]) -> None:
    d, g, r = results["direct"], results["grpc"], results["grpc_over_direct"]
    single_d, single_g = d["single_latency_ms"], g["single_latency_ms"]
    batch_d, batch_g = d["batch_latency_ms"], g["batch_latency_ms"]
    size, r_tput = results["config"]["batch_size"], r["batch_texts_per_s"]
    rows: list[list[object]] = [
        ["single text ms p50", single_d["p50"], single_g["p50"], r["single_latency_p50"]],
        ["single text ms p95", single_d["p95"], single_g["p95"], r["single_latency_p95"]],
        [f"batch of {size} texts/s", d["batch_texts_per_s"], g["batch_texts_per_s"], r_tput],
        [f"batch of {size} ms p50", batch_d["p50"], batch_g["p50"], r["batch_latency_p50"]],
    ]
    print(format_table(["metric", "direct", "gRPC", "gRPC/direct"], rows))
    o = results["single_overhead_ms"]
    print(
        f"single-text overhead: {o['p50_difference']:+.2f} ms at p50, "
        f"{o['p95_difference']:+.2f} ms at p95; paired per call: median "
        f"{o['paired_median']:+.2f} ms, p95 {o['paired_p95']:+.2f} ms"
    )
    print(
        f"samples: {single_d['n']} single calls, {batch_d['n']} batches per side; "
        f"max |direct - gRPC| over the vectors {results['max_abs_vector_difference']:.2e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description="gRPC embedding service vs the sentence encoder in process"
    )
    parser.add_argument("--single-calls", type=int, default=100, help="single-text calls")
    parser.add_argument("--batches", type=int, default=10, help="batch calls")
    parser.add_argument("--batch-size", type=int, default=64, help="texts per batch call")
    args = parser.parse_args()
    if min(args.single_calls, args.batches, args.batch_size) < 1:
        parser.error("counts must be >= 1")
    # Two OpenMP processes spinning on the same cores would starve each other.
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    results = run(args.single_calls, args.batches, args.batch_size)
    print_report(results)
    path = write_results(
        NAME, results, packages=("onnxruntime", "sentence-transformers", "grpcio", "protobuf")
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
