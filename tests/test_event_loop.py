"""server_kit.server.run_main: a service's main coroutine runs on the configured event loop,
and grpc.aio serves and calls on either (uvloop is the default)."""

from __future__ import annotations

import asyncio

import grpc
import pytest
import uvloop
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from server_kit.config import ServerSettings
from server_kit.server import run_main


async def _serve_one_check(seen: list[object]) -> None:
    seen.append(type(asyncio.get_running_loop()))
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=10
            )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        seen.append(reply.status)
    finally:
        await server.stop(None)


@pytest.mark.parametrize(
    ("event_loop", "loop_type"),
    [("uvloop", uvloop.Loop), ("asyncio", asyncio.SelectorEventLoop)],
)
def test_main_runs_on_the_configured_loop_and_grpc_serves_there(
    event_loop: str, loop_type: type
) -> None:
    settings = ServerSettings.model_validate({"event_loop": event_loop})
    seen: list[object] = []
    run_main(settings, _serve_one_check(seen))
    assert seen == [loop_type, health_pb2.HealthCheckResponse.SERVING]
    assert not issubclass(uvloop.Loop, asyncio.SelectorEventLoop)  # the two are told apart


def test_uvloop_is_the_default() -> None:
    assert ServerSettings.model_validate({}).event_loop == "uvloop"
