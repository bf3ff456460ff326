"""The embedding model on its two engines, side by side in one process: ONNX Runtime (the
service's default) and torch (sentence-transformers). The same package's all-MiniLM-L6-v2.

The calls alternate one at a time between the engines (never concurrently), after a warm-up:
one question per call (the answer cache's lookup embeds exactly that), and batches of
--batch-size texts. Reported: p50/p95 per call, texts/s for batches, the ratio onnx/torch, and
the largest difference between the two engines' vectors.

    .venv/bin/python -m bench.embedding_engines [--single-calls 200] [--batches 20]
        [--batch-size 16]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from bench._stats import format_table, percentile, ratio, write_results
from embedding_service.model import Encoder, default_model_path, open_encoder

NAME = "embedding_engines"
WARM_UP = 5
QUESTIONS = [
    "How do I reset my password?",
    "what's the difference between a roth ira and a traditional ira",
    "Can I use baking soda instead of baking powder in cookies?",
    "How long should I boil an egg for a runny yolk?",
    "Why does my python script say module not found when the package is installed?",
]


def alternate(
    engines: dict[str, Encoder], calls: Sequence[list[str]]
) -> tuple[dict[str, list[float]], float]:
    """Seconds per call per engine (after the warm-up), and the largest vector difference."""
    times: dict[str, list[float]] = {name: [] for name in engines}
    largest = 0.0
    for k, texts in enumerate(calls):
        vectors = {}
        for name, engine in engines.items():
            start = time.perf_counter()
            vectors[name] = engine.encode(texts)
            if k >= WARM_UP:
                times[name].append(time.perf_counter() - start)
        largest = max(largest, float(np.abs(vectors["onnx"] - vectors["torch"]).max()))
    return times, largest


def run(single_calls: int, batches: int, batch_size: int) -> dict[str, Any]:
    path = default_model_path()
    engines: dict[str, Encoder] = {}
    for name in ("onnx", "torch"):
        start = time.perf_counter()
        engines[name] = open_encoder(path, "onnx" if name == "onnx" else "torch")
        print(f"{name}: loaded in {time.perf_counter() - start:.1f} s", flush=True)
    singles = [[QUESTIONS[k % len(QUESTIONS)]] for k in range(WARM_UP + single_calls)]
    single, single_diff = alternate(engines, singles)
    batch = [QUESTIONS[k % len(QUESTIONS)] for k in range(batch_size)]
    batched, batch_diff = alternate(engines, [batch] * (WARM_UP + batches))
    sides: dict[str, Any] = {}
    for name in engines:
        sides[name] = {
            "single_ms": {
                "p50": 1000 * percentile(single[name], 50),
                "p95": 1000 * percentile(single[name], 95),
            },
            "batch_texts_per_s": batch_size * len(batched[name]) / sum(batched[name]),
        }
    onnx, torch = sides["onnx"], sides["torch"]
    return {
        "config": {
            "model": path.name,
            "single_calls": single_calls,
            "batches": batches,
            "batch_size": batch_size,
            "order": "alternating per call, sequential, after a warm-up",
            "threads": "each engine's default",
        },
        "engines": sides,
        "onnx_over_torch": {
            "single_p50": ratio(onnx["single_ms"]["p50"], torch["single_ms"]["p50"]),
            "batch_texts_per_s": ratio(onnx["batch_texts_per_s"], torch["batch_texts_per_s"]),
        },
        "max_vector_difference": max(single_diff, batch_diff),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--single-calls", type=int, default=200)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    results = run(args.single_calls, args.batches, args.batch_size)
    rows = [
        [name, f"{side['single_ms']['p50']:.2f}", f"{side['single_ms']['p95']:.2f}",
         f"{side['batch_texts_per_s']:.0f}"]
        for name, side in results["engines"].items()
    ]  # fmt: skip
    print(format_table(["engine", "one text p50 ms", "p95 ms", "batch texts/s"], rows))
    print(f"onnx/torch: {results['onnx_over_torch']}; vectors differ by at most "
          f"{results['max_vector_difference']:.1e}")  # fmt: skip
    path = write_results(NAME, results, packages=("onnxruntime", "torch", "sentence-transformers"))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
