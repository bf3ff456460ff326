"""Server interceptors: domain errors -> gRPC status, and per-RPC metrics.

Both wrap unary and server-streaming handlers alike (our services have no client streaming).
Stream wrappers close the handler's generator with `aclosing`: when a client cancels while
grpc is writing a response, the chain is closed from outside (GeneratorExit, not
CancelledError), and `async for` alone would leave the inner generators (and the engine
request they hold) open until garbage collection.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import AbstractContextManager, ExitStack, aclosing, nullcontext
from typing import Any, Protocol, TypeAlias

import grpc
from grpc_status import rpc_status
from prometheus_client import Counter, Histogram

from server_kit import headers
from server_kit.errors import ServiceError
from server_kit.metric_children import labelled

log = logging.getLogger(__name__)

UnaryBehavior = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]
Context: TypeAlias = grpc.aio.ServicerContext
StreamBehavior = Callable[[Any, grpc.aio.ServicerContext], AsyncGenerator[Any, None]]

RPCS = Counter(
    "grpc_server_handled_total", "RPCs completed, by method and status code", ["method", "code"]
)
RPC_SECONDS = Histogram(
    "grpc_server_handling_seconds",
    "Time to handle an RPC (for streams: until the last message)",
    ["method"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)

# Health checks and reflection: probes, not traffic worth a metric or a span each.
_PROBES = ("/grpc.health", "/grpc.reflection")


def rewrap(
    handler: grpc.RpcMethodHandler,
    unary: Callable[[UnaryBehavior], UnaryBehavior],
    stream: Callable[[StreamBehavior], StreamBehavior],
) -> grpc.RpcMethodHandler:
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            unary(handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            stream(handler.unary_stream),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    return handler


async def _abort(context: grpc.aio.ServicerContext, method: str, exc: Exception) -> None:
    if isinstance(exc, ServiceError):
        if exc.code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE):
            log.warning("%s failed: %s", method, exc.message, extra={"reason": exc.reason})
        status = rpc_status.to_status(exc.to_status_proto())
        if exc.retry_after_s is not None:
            # The RetryInfo detail, also as a header: Envoy passes it on to REST clients.
            retry_after = str(max(1, math.ceil(exc.retry_after_s)))
            status = status._replace(
                trailing_metadata=(*status.trailing_metadata, (headers.RETRY_AFTER, retry_after))
            )
        await context.abort_with_status(status)
    log.exception("%s: unexpected error", method, exc_info=exc)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error (see the server log)")


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    """Maps ServiceError (and unexpected exceptions) to a gRPC status with details."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method

        def unary(behavior: UnaryBehavior) -> UnaryBehavior:
            async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> Any:
                try:
                    return await behavior(request, context)
                except (asyncio.CancelledError, grpc.aio.AbortError):
                    raise
                except Exception as exc:
                    await _abort(context, method, exc)

            return wrapped

        def stream(behavior: StreamBehavior) -> StreamBehavior:
            async def wrapped(request: Any, context: Context) -> AsyncGenerator[Any, None]:
                try:
                    async with aclosing(behavior(request, context)) as items:
                        async for item in items:
                            yield item
                except (asyncio.CancelledError, GeneratorExit, grpc.aio.AbortError):
                    raise
                except Exception as exc:
                    await _abort(context, method, exc)

            return wrapped

        return rewrap(handler, unary, stream)


def _code_name(context: grpc.aio.ServicerContext, failed: bool) -> str:
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return str(code.name)
    if isinstance(code, int):
        return next((c.name for c in grpc.StatusCode if c.value[0] == code), "UNKNOWN")
    return "UNKNOWN" if failed else "OK"


class RpcObserver(Protocol):
    """Watches one RPC for an ObservingInterceptor: created when the RPC starts."""

    def step(self) -> AbstractContextManager[Any]:
        """Entered around each call into the handler (for a stream: each message)."""
        ...

    def end(self, code: str) -> None:
        """The RPC ended with this status code name ("CANCELLED" when the client left)."""
        ...


ObserverFactory = Callable[[str, grpc.HandlerCallDetails], RpcObserver]

_NO_STEP = nullcontext()  # stateless: one serves every step


class _Inert:
    def step(self) -> AbstractContextManager[Any]:
        return _NO_STEP

    def end(self, code: str) -> None:
        pass


# What a factory returns for an RPC it has nothing to watch in (tracing off, no caller's trace):
# left out, so the other observers run without _Observers' ExitStack per stream message.
INERT: RpcObserver = _Inert()


class _Observers:
    """Several observers of one RPC as one: steps entered in order, ends in reverse (the
    first observer's step wraps the others', and it sees the end last)."""

    def __init__(self, observers: list[RpcObserver]) -> None:
        self.observers = observers

    def step(self) -> AbstractContextManager[Any]:
        with ExitStack() as stack:  # a step that fails to enter leaves none entered
            for observer in self.observers:
                stack.enter_context(observer.step())
            return stack.pop_all()

    def end(self, code: str) -> None:
        """Ends each, even if an earlier one raised (as separate interceptors would)."""
        failure: BaseException | None = None
        for observer in reversed(self.observers):
            try:
                observer.end(code)
            except BaseException as exc:  # the first is raised once all have ended
                failure = failure or exc
        if failure is not None:
            raise failure


class ObservingInterceptor(grpc.aio.ServerInterceptor):
    """Runs RpcObservers around every RPC: the one place that decides how an RPC ended
    (metrics and tracing both build on it). Each factory `(method, details)` makes one
    observer per RPC; several share one wrapping of the handler (one layer per stream message,
    not one per observer)."""

    def __init__(self, *factories: ObserverFactory) -> None:
        self._factories = factories

    def _observe(self, method: str, details: grpc.HandlerCallDetails) -> RpcObserver:
        observers = [
            observer
            for factory in self._factories
            if (observer := factory(method, details)) is not INERT
        ]
        return observers[0] if len(observers) == 1 else _Observers(observers)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(_PROBES):
            return handler
        observe = self._observe

        def unary(behavior: UnaryBehavior) -> UnaryBehavior:
            async def wrapped(request: Any, context: Context) -> Any:
                observer, code = observe(method, handler_call_details), None
                try:
                    with observer.step():
                        return await behavior(request, context)
                except asyncio.CancelledError:
                    code = "CANCELLED"
                    raise
                except BaseException:
                    code = _code_name(context, failed=True)
                    raise
                finally:
                    observer.end(code or _code_name(context, failed=False))

            return wrapped

        def stream(behavior: StreamBehavior) -> StreamBehavior:
            async def wrapped(request: Any, context: Context) -> AsyncGenerator[Any, None]:
                observer, code = observe(method, handler_call_details), None
                inner = behavior(request, context)
                # The observer's context is entered for each step, never across a yield: a
                # cancelled stream is closed from elsewhere, where it could not be restored.
                try:
                    while True:
                        with observer.step():
                            try:
                                item = await anext(inner)
                            except StopAsyncIteration:
                                break
                        yield item
                except (asyncio.CancelledError, GeneratorExit):
                    code = "CANCELLED"
                    raise
                except BaseException:
                    code = _code_name(context, failed=True)
                    raise
                finally:
                    try:
                        with observer.step():
                            await inner.aclose()
                    finally:
                        observer.end(code or _code_name(context, failed=False))

            return wrapped

        return rewrap(handler, unary, stream)


class _RpcTimer:
    def __init__(self, method: str) -> None:
        self.method = method
        self.start = time.perf_counter()

    def step(self) -> AbstractContextManager[Any]:
        return _NO_STEP

    def end(self, code: str) -> None:
        labelled(RPC_SECONDS, self.method).observe(time.perf_counter() - self.start)
        labelled(RPCS, self.method, code).inc()


def rpc_timer(method: str, details: grpc.HandlerCallDetails) -> RpcObserver:
    """Counts RPCs by method and code and times them. Cancelled streams count as CANCELLED."""
    return _RpcTimer(method)
