"""The portable llama.cpp build against a native (-march=native) one, side by side, one run.

Both wheels come from scripts/build_llama_cpp.sh (the native one is built on first use, 3-5
minutes, and kept in its keyed wheel cache; it is never installed into .venv). Each round
starts one child process per build, alternating portable / native so that both see the same
machine state, and measures with the same SmolLM2-135M-Instruct GGUF, 2 threads, greedy:

* prefill: tokens/s over a ~500-token prompt (time to the first generated token);
* decode: tokens/s over 128 generated tokens (end of sequence ignored).

    .venv/bin/python -m bench.llama_build [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from bench._stats import format_table, ratio, summary, write_results
from inference_service.model_files import default_gguf_path

NAME = "llama_build"
ROOT = Path(__file__).resolve().parent.parent
PROFILES = ("portable", "native")

CHILD = r"""
import json, sys, time, llama_cpp
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=2048, n_threads=2, n_threads_batch=2,
                      n_batch=256, verbose=False)
decode_tokens = 128
for attempt in range(2):  # the first pass warms caches and page-ins; the second is measured
    # A prompt of its own per pass: generate() would reuse the previous pass's KV cache for a
    # shared prefix, and the prefill would measure nothing.
    text = " ".join(f"Pass {attempt} item {i} is a sentence about topic {i}." for i in range(40))
    prompt = llm.tokenize(text.encode(), add_bos=True)[:500]
    llm.reset()
    start = time.perf_counter()
    first = None
    made = 0
    for _token in llm.generate(prompt, temp=0.0, reset=True):
        made += 1
        if first is None:
            first = time.perf_counter()
        if made >= decode_tokens:
            break
    end = time.perf_counter()
info = llama_cpp.llama_print_system_info().decode()
print(json.dumps({"prompt_tokens": len(prompt), "prefill_s": first - start,
                  "decode_s": end - first, "decoded": made - 1, "system_info": info}))
"""


def build_wheel(profile: str) -> Path:
    out = subprocess.run(
        ["scripts/build_llama_cpp.sh", profile], cwd=ROOT, check=True, stdout=subprocess.PIPE
    )
    return Path(out.stdout.decode().strip().splitlines()[-1])


def unpack(wheel: Path, into: Path) -> Path:
    """A wheel is a zip of its site-packages files: unpacked, it goes first on PYTHONPATH."""
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(into)
    return into


def measure(site: Path, model: Path) -> dict[str, Any]:
    env = {"PYTHONPATH": str(site), "OMP_WAIT_POLICY": "PASSIVE", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(model)], env=env, check=True, stdout=subprocess.PIPE
    )
    row: dict[str, Any] = json.loads(out.stdout.decode().strip().splitlines()[-1])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    model = default_gguf_path()
    samples: dict[str, list[dict[str, Any]]] = {p: [] for p in PROFILES}
    with tempfile.TemporaryDirectory() as tmp:
        sites = {p: unpack(build_wheel(p), Path(tmp) / p) for p in PROFILES}
        for round_no in range(args.rounds):
            order = PROFILES if round_no % 2 == 0 else tuple(reversed(PROFILES))
            for profile in order:
                samples[profile].append(measure(sites[profile], model))
    figures: dict[str, Any] = {}
    for profile, rows in samples.items():
        prefill = [r["prompt_tokens"] / r["prefill_s"] for r in rows]
        decode = [r["decoded"] / r["decode_s"] for r in rows]
        figures[profile] = {
            "prefill_tokens_per_s": summary(prefill),
            "decode_tokens_per_s": summary(decode),
            "system_info": rows[0]["system_info"],
        }
    p50 = {p: {k: figures[p][k]["p50"] for k in ("prefill_tokens_per_s", "decode_tokens_per_s")}
           for p in PROFILES}  # fmt: skip
    ratios = {
        k: ratio(p50["portable"][k], p50["native"][k])
        for k in ("prefill_tokens_per_s", "decode_tokens_per_s")
    }
    table: list[list[object]] = [
        [p, p50[p]["prefill_tokens_per_s"], p50[p]["decode_tokens_per_s"]] for p in PROFILES
    ]
    table.append(["portable / native", *ratios.values()])
    print(format_table(["build", "prefill tok/s (p50)", "decode tok/s (p50)"], table))
    for profile in PROFILES:
        print(f"{profile}: {figures[profile]['system_info']}")
    path = write_results(
        NAME,
        {
            "rounds": args.rounds,
            "model": model.name,
            "threads": 2,
            "builds": figures,
            "portable_over_native": ratios,
        },
        packages=["llama-cpp-python"],
    )
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
