"""Traces and logs: one REST completion through a real Envoy, chat, embedding and inference, all
exporting to an in-test OTLP collector, must form ONE trace with connected parent links; and a
JSON log line written inside a span carries that span's ids."""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as otlp
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as otlp_grpc
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk.trace import TracerProvider

from gateway.config import GatewaySettings
from gateway.envoy_base import OTLP_CLUSTER
from gateway.envoy_config import build_config, write_config
from gateway.jwt_keys import init_keys, mint_token
from local_stack.launch.envoy import envoy_binary, start_envoy
from server_kit import tracing
from server_kit.logs import JsonFormatter
from server_kit.processes import ManagedProcess, free_port, python_module

COMPLETE = "chatstack.chat.v1.ChatService/Complete"
GENERATE = "chatstack.inference.v1.InferenceService/Generate"
EMBED = "chatstack.embedding.v1.EmbeddingService/Embed"
SERVICES = {"envoy", "chat", "inference", "embedding"}
QUESTION = "What is the capital of France?"


# -- unit: logs ---------------------------------------------------------------------------------


def test_json_log_line_carries_the_current_span() -> None:
    formatter = JsonFormatter("test")
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "hello %s", ("x",), None)
    assert "trace_id" not in json.loads(formatter.format(record))  # no span: no ids
    tracer = TracerProvider().get_tracer("test")  # a local SDK provider: spans are recorded
    with tracer.start_as_current_span("work") as span:
        entry = json.loads(formatter.format(record))
    ctx = span.get_span_context()
    assert entry["trace_id"] == format(ctx.trace_id, "032x")
    assert entry["span_id"] == format(ctx.span_id, "016x")
    assert entry["msg"] == "hello x"


def test_with_tracing_off_a_callers_trace_is_still_passed_on() -> None:
    """No collector configured: an RPC without a trace costs no span, and one that carries
    a `traceparent` makes it current, so that the calls it makes pass the same trace on."""
    assert tracing._provider is None  # this process never configured a collector
    method = "/chatstack.chat.v1.ChatService/Complete"
    untraced = tracing.server_span(method, _Details(method, (("x-user", "u"),)))
    with untraced.step():
        with tracing.client_span(method) as outgoing:
            assert outgoing == ()
        with tracing.span("store.get_chat") as current:
            assert not current.is_recording()
    untraced.end("OK")

    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    traced = tracing.server_span(method, _Details(method, (("traceparent", parent),)))
    with traced.step(), tracing.client_span(method) as outgoing:
        assert dict(outgoing)["traceparent"] == parent
    traced.end("OK")


@dataclass
class _Details:
    method: str
    invocation_metadata: tuple[tuple[str, str], ...]


# -- unit: the Envoy config -------------------------------------------------------------------


def _gateway_settings(tmp: Path, **overrides: Any) -> GatewaySettings:
    return GatewaySettings(
        listen_port=free_port(),
        admin_port=free_port(),
        internal_port=free_port(),
        keys_dir=tmp / "keys",
        **overrides,
    )


def test_envoy_traces_only_with_a_collector(tmp_path: Path) -> None:
    def tracing(config: dict[str, Any]) -> list[Any]:
        return [
            f["typed_config"].get("tracing")
            for listener in config["static_resources"]["listeners"]
            for chain in listener["filter_chains"]
            for f in chain["filters"]
        ]

    plain = build_config(_gateway_settings(tmp_path))
    assert tracing(plain) == [None, None]
    assert OTLP_CLUSTER not in {c["name"] for c in plain["static_resources"]["clusters"]}

    settings = _gateway_settings(tmp_path, otlp_endpoint="127.0.0.1:4317", trace_sample_ratio=0.25)
    traced = build_config(settings)
    for config in tracing(traced):  # the public and the internal listener
        assert config["random_sampling"] == {"value": 25.0}
        provider = config["provider"]
        assert provider["name"] == "envoy.tracers.opentelemetry"
        assert provider["typed_config"]["service_name"] == "envoy"
        assert provider["typed_config"]["grpc_service"]["envoy_grpc"] == {
            "cluster_name": OTLP_CLUSTER
        }
    cluster = next(c for c in traced["static_resources"]["clusters"] if c["name"] == OTLP_CLUSTER)
    assert "http2_protocol_options" in str(cluster)
    init_keys(settings.keys_dir)  # the config names the JWKS file
    path = write_config(settings, tmp_path / "envoy.yaml")
    checked = subprocess.run(
        [envoy_binary(), "--mode", "validate", "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr

    with pytest.raises(ValueError):
        _gateway_settings(tmp_path, otlp_endpoint="no-port")


# -- end to end: one trace across Envoy and the three services ---------------------------------


@dataclass(frozen=True)
class Collected:
    service: str
    span: Span

    @property
    def ms(self) -> float:
        return (self.span.end_time_unix_nano - self.span.start_time_unix_nano) / 1e6


class Collector(otlp_grpc.TraceServiceServicer):
    """The OTLP/gRPC trace endpoint of a collector, keeping what it is sent."""

    def __init__(self) -> None:
        self.spans: list[Collected] = []

    async def Export(
        self, request: otlp.ExportTraceServiceRequest, context: grpc.aio.ServicerContext
    ) -> otlp.ExportTraceServiceResponse:
        for resource_spans in request.resource_spans:
            service = next(
                (
                    a.value.string_value
                    for a in resource_spans.resource.attributes
                    if a.key == "service.name"
                ),
                "",
            )
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend(Collected(service, s) for s in scope_spans.spans)
        return otlp.ExportTraceServiceResponse()


@pytest.fixture
async def collector() -> AsyncIterator[tuple[Collector, str]]:
    servicer = Collector()
    server = grpc.aio.server()
    otlp_grpc.add_TraceServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield servicer, f"127.0.0.1:{port}"
    finally:
        await server.stop(0)


def _service(
    stack: ExitStack, tmp: Path, name: str, module: str, otlp_address: str, *args: str
) -> tuple[ManagedProcess, str]:
    address = f"127.0.0.1:{free_port()}"
    process = ManagedProcess(
        name=name,
        argv=python_module(
            module, "--port", address.rsplit(":", 1)[1], "--otlp-endpoint", otlp_address, *args
        ),
        log_path=tmp / f"{name}.log",
        # The batch processor's default delay is 5 s: export within the test's patience.
        env={"OMP_WAIT_POLICY": "PASSIVE", "OTEL_BSP_SCHEDULE_DELAY": "200"},
        grpc_address=address,
    )
    process.start()
    stack.callback(process.stop)
    return process, address


def _request(port: int, method: str, path: str, token: str, body: dict[str, Any]) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(
            method,
            path,
            body=json.dumps(body),
            headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
        )
        resp = conn.getresponse()
        data = resp.read()  # an SSE completion: to the end of the stream
        assert resp.status == 200, data
        return data
    finally:
        conn.close()


def _run_stack_and_complete(stack: ExitStack, tmp: Path, otlp_address: str) -> dict[str, Any]:
    """Starts the stack, makes one completion and returns its final event."""
    embedding, embedding_address = _service(
        stack, tmp, "embedding", "embedding_service", otlp_address
    )
    inference, inference_address = _service(
        stack, tmp, "inference", "inference_service", otlp_address,
        "--instances", "1", "--context-length", "2048",
    )  # fmt: skip
    chat, chat_address = _service(
        stack, tmp, "chat", "chat_service", otlp_address,
        "--sqlite-path", str(tmp / "chat.db"),
        "--inference-address", inference_address,
        "--embedding-address", embedding_address,
        "--cache-uri", str(tmp / "cache.db"),
        "--cache-lookup-timeout-s", "10",
    )  # fmt: skip
    for process in (embedding, inference, chat):  # started together, waited for in turn
        process.wait_ready(180)
    settings = GatewaySettings(
        listen_port=free_port(),
        admin_port=free_port(),
        internal_port=free_port(),
        chat_upstreams=[chat_address],
        inference_upstreams=[],
        embedding_upstreams=[],
        keys_dir=tmp / "keys",
        health_check_interval_s=1.0,
        otlp_endpoint=otlp_address,
    )
    init_keys(settings.keys_dir)
    envoy = start_envoy(settings, tmp)
    stack.callback(envoy.stop)
    token = mint_token(settings.keys_dir, "alice")
    port = settings.listen_port
    chat_id = json.loads(
        _request(
            port,
            "POST",
            "/chat",
            token,
            {"title": "traced", "system_prompt": "Answer in at most five words."},
        )
    )["chat"]["chat_id"]
    events = [
        json.loads(line[6:])
        for line in _request(
            port,
            "POST",
            f"/chat/{chat_id}/completion",
            token,
            {
                "content": QUESTION,
                "client_request_id": "traced-1",
                "sampling": {"max_tokens": 32, "temperature": 0},
            },
        ).splitlines()
        if line.startswith(b"data: ")
    ]
    assert "final" in events[-1], events[-1]
    final: dict[str, Any] = events[-1]["final"]
    return final


def _ancestors(span: Collected, by_id: dict[bytes, Collected]) -> Iterator[Collected]:
    parent = by_id.get(span.span.parent_span_id)
    while parent is not None:
        yield parent
        parent = by_id.get(parent.span.parent_span_id)


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_one_trace_across_envoy_and_the_services(
    collector: tuple[Collector, str], tmp_path: Path
) -> None:
    received, otlp_address = collector
    stack = ExitStack()
    try:
        final = await asyncio.to_thread(_run_stack_and_complete, stack, tmp_path, otlp_address)
        # Only an answer that ended by itself is cached (off the request path, after the reply).
        stored = final.get("finish_reason") == "FINISH_REASON_STOP"

        def server_span(name: str) -> Collected | None:
            return next(
                (
                    c
                    for c in received.spans
                    if c.span.name == name and c.span.kind == Span.SPAN_KIND_SERVER
                ),
                None,
            )

        # Envoy flushes its spans every 5 s; the services every 200 ms.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            complete = server_span(COMPLETE)
            if complete is not None:
                seen = [c for c in received.spans if c.span.trace_id == complete.span.trace_id]
                names = {c.span.name for c in seen}
                if {c.service for c in seen} >= SERVICES and ("cache.store" in names or not stored):
                    break
            await asyncio.sleep(0.2)
    finally:
        await asyncio.to_thread(stack.close)

    complete = server_span(COMPLETE)
    assert complete is not None, [c.span.name for c in received.spans]
    trace_id = complete.span.trace_id
    spans = sorted(
        (c for c in received.spans if c.span.trace_id == trace_id),
        key=lambda c: c.span.start_time_unix_nano,
    )
    by_id = {c.span.span_id: c for c in spans}
    start = spans[0].span.start_time_unix_nano
    print(f"\ntrace {trace_id.hex()}: {len(spans)} spans (start offset, duration)")

    def show(parent: bytes, depth: int) -> None:
        for c in (c for c in spans if c.span.parent_span_id == parent):
            offset = (c.span.start_time_unix_nano - start) / 1e6
            print(f"  {'  ' * depth}{c.service}: {c.span.name}  +{offset:.1f} ms  {c.ms:.1f} ms")
            show(c.span.span_id, depth + 1)

    show(b"", 0)

    assert {c.service for c in spans} == SERVICES
    # Envoy -> chat: the Complete server span's parent is Envoy's span of the request.
    assert by_id[complete.span.parent_span_id].service == "envoy"
    # chat -> inference and chat -> embedding: each server span's parent is the chat's client
    # span of that call, itself inside the Complete span.
    for name, service in ((GENERATE, "inference"), (EMBED, "embedding")):
        server = next(c for c in spans if c.span.name == name and c.service == service)
        assert server.span.kind == Span.SPAN_KIND_SERVER
        client = by_id[server.span.parent_span_id]
        assert (client.service, client.span.name, client.span.kind) == (
            "chat",
            name,
            Span.SPAN_KIND_CLIENT,
        )
        assert complete in list(_ancestors(client, by_id))
    # The chat's own spans: the cache lookup, the prompt build and the store calls.
    names = {c.span.name for c in spans if c.service == "chat"}
    assert {"cache.lookup", "prompt.build", "store.begin_turn", "store.save_message"} <= names
    if stored:
        assert "cache.store" in names
    print(f"finish: {final.get('finish_reason')}; usage: {final.get('usage')}")

    # The chat's log line of the turn: joined to the trace, ids and counts, never the text.
    log_text = (tmp_path / "chat.log").read_text()
    turns = [
        entry
        for entry in map(json.loads, filter(None, log_text.splitlines()))
        if entry.get("client_request_id") == "traced-1"
    ]
    assert len(turns) == 1, turns
    assert turns[0]["msg"] == "turn complete"
    assert turns[0]["trace_id"] == trace_id.hex()
    assert (turns[0]["user_id"], turns[0]["outcome"]) == ("alice", "complete")
    assert turns[0]["completion_tokens"] == final["usage"]["completion_tokens"]
    assert QUESTION not in log_text
