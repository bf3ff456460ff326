"""The portable llama.cpp build against one with AVX-512 kernels, side by side, one run.

Both wheels come from scripts/build_llama_cpp.sh, with fixed flags: "portable" (x86-64-v3, what
.venv runs) and "avx512" (the same plus AVX-512 F/BW/DQ/VL/VBMI/VNNI/BF16: what a build for an
AVX-512 server would add; built on first use, 3-5 minutes, kept in its keyed wheel cache, never
installed). Nothing is built for this machine's CPU (-march=native). On a CPU without AVX-512
the benchmark says so and stops. Each round starts one child process per build, alternating
the order so that both see the same machine state, and measures with the same
SmolLM2-135M-Instruct GGUF, 2 threads, greedy:

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
from inference_service.selftest import cpu_info

NAME = "llama_build"
ROOT = Path(__file__).resolve().parent.parent
PROFILES = ("portable", "avx512")

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
    cpu = cpu_info()
    if "avx512f" not in cpu.flags:
        raise SystemExit(
            f"{cpu.describe()}: no AVX-512, nothing to compare the portable build with"
        )
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
        k: ratio(p50["portable"][k], p50["avx512"][k])
        for k in ("prefill_tokens_per_s", "decode_tokens_per_s")
    }
    table: list[list[object]] = [
        [p, p50[p]["prefill_tokens_per_s"], p50[p]["decode_tokens_per_s"]] for p in PROFILES
    ]
    table.append(["portable / avx512", *ratios.values()])
    print(format_table(["build", "prefill tok/s (p50)", "decode tok/s (p50)"], table))
    for profile in PROFILES:
        print(f"{profile}: {figures[profile]['system_info']}")
    path = write_results(
        NAME,
        {
            "rounds": args.rounds,
            "cpu": cpu.describe(),
            "model": model.name,
            "threads": 2,
            "builds": figures,
            "portable_over_avx512": ratios,
        },
        packages=["llama-cpp-python"],
    )
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
