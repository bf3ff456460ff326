"""The server skeleton shared by the three services.

grpc.aio server + standard health service + reflection + Prometheus /metrics, with a clean
lifecycle: start the service's resources, mark SERVING, and on SIGTERM/SIGINT mark
NOT_SERVING (load balancers stop sending), let in-flight RPCs finish for the grace period,
then release resources.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field

import grpc
import uvloop
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import start_http_server

from server_kit.config import ServerSettings
from server_kit.interceptors import ErrorInterceptor, ObservingInterceptor, rpc_timer
from server_kit.tracing import configure_tracing, server_span, shutdown_tracing

log = logging.getLogger(__name__)


async def _nothing() -> None:
    return None


@dataclass
class ServiceSpec:
    """What a service plugs into the skeleton."""

    name: str
    # Full names of the gRPC services, e.g. "chatstack.inference.v1.InferenceService".
    service_names: Sequence[str]
    # Adds the servicers to the server.
    register: Callable[[grpc.aio.Server], None]
    on_start: Callable[[], Awaitable[None]] = field(default=_nothing)
    on_stop: Callable[[], Awaitable[None]] = field(default=_nothing)
    # Innermost interceptors (their ServiceErrors become statuses), e.g. caller_auth's.
    interceptors: Sequence[grpc.aio.ServerInterceptor] = ()
    # Reflection lists the health service too; off for a service that clients reach through
    # the gateway, which routes only the service itself (and reflection).
    list_health: bool = True


class GrpcService:
    def __init__(self, settings: ServerSettings, spec: ServiceSpec) -> None:
        self.settings = settings
        self.spec = spec
        self.health = health.aio.HealthServicer()
        self.server = grpc.aio.server(
            # Tracing first: its span covers the timer and the rest, and sees the final status.
            interceptors=[
                ObservingInterceptor(server_span, rpc_timer),
                ErrorInterceptor(),
                *spec.interceptors,
            ],
            options=[
                ("grpc.max_receive_message_length", settings.max_message_bytes),
                ("grpc.max_send_message_length", settings.max_message_bytes),
                ("grpc.so_reuseport", 0),
            ],
        )
        self.port = 0
        self._stopping = asyncio.Event()

    async def start(self) -> int:
        """Starts serving; returns the bound gRPC port."""
        await self.spec.on_start()
        self.spec.register(self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        listed = [*self.spec.service_names, reflection.SERVICE_NAME]
        if self.spec.list_health:
            listed.append(health.SERVICE_NAME)
        reflection.enable_server_reflection(listed, self.server)
        self.port = self.server.add_insecure_port(f"{self.settings.host}:{self.settings.port}")
        if self.settings.metrics_port:
            start_http_server(self.settings.metrics_port, addr=self.settings.metrics_host)
        await self.server.start()
        settle_heap()  # before SERVING: the one full collection pauses no routed request
        serving = health_pb2.HealthCheckResponse.SERVING
        for name in ["", *self.spec.service_names]:
            await self.health.set(name, serving)
        log.info(
            "%s serving",
            self.spec.name,
            extra={"grpc_port": self.port, "metrics_port": self.settings.metrics_port},
        )
        return self.port

    def request_stop(self) -> None:
        self._stopping.set()

    async def wait_and_stop(self) -> None:
        await self._stopping.wait()
        log.info("%s stopping: NOT_SERVING, draining in-flight RPCs", self.spec.name)
        await self.health.enter_graceful_shutdown()
        await self.server.stop(self.settings.shutdown_grace_s)
        await self.spec.on_stop()
        await asyncio.to_thread(shutdown_tracing)  # exports the buffered spans
        log.info("%s stopped", self.spec.name)


# Young-generation collections start after this many new container objects (CPython's default
# is 700). Every RPC allocates many (protobuf messages, futures, dataclasses); under load the
# collector took 5% of the chat service's GIL-held time at the defaults (docs/architecture.md,
# "Where the time goes").
GC_YOUNG_THRESHOLD = 20_000


def settle_heap() -> None:
    """Moves what start-up allocated (modules, descriptors, models' tables) out of the
    collector's sight: it lives as long as the process, and full collections would otherwise
    walk all of it again and again. Fewer, larger young collections for the rest."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


async def run_service(settings: ServerSettings, spec: ServiceSpec) -> None:
    """Runs until SIGTERM or SIGINT, then stops gracefully."""
    configure_tracing(spec.name, settings.otlp_endpoint, settings.trace_sample_ratio)
    service = GrpcService(settings, spec)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, service.request_stop)
    await service.start()
    await service.wait_and_stop()


def run_main(settings: ServerSettings, main: Coroutine[object, object, None]) -> None:
    """Runs a service's main coroutine to completion on the configured event loop. grpc.aio
    watches its completion queue with `loop.add_reader`, which uvloop implements too."""
    if settings.event_loop == "uvloop":
        uvloop.run(main)
    else:
        asyncio.run(main)
