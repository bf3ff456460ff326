"""OpenTelemetry tracing for every service, in one place.

- `configure_tracing()` installs the process's tracer provider: spans are batched and exported
  over OTLP/gRPC when an endpoint is set; with no endpoint nothing is recorded (the API's no-op
  tracer, so an unconfigured service pays almost nothing).
- `server_span` (an observer for server_kit.interceptors.ObservingInterceptor) continues the
  caller's trace from the W3C `traceparent` in the request metadata and opens one SERVER span
  per RPC (for a stream: until it ends or is cancelled).
- `client_span()` opens a CLIENT span around an outgoing call and gives the `traceparent`
  metadata to send with it.

Ours rather than opentelemetry-instrumentation-grpc's: a few dozen lines, no extra dependency,
and the call object stays grpc's own (the chat service reads streams with `call.read()` and
cancels them with `call.cancel()`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import grpc
from opentelemetry import trace
from opentelemetry.context import Context as OtelContext
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from server_kit.interceptors import INERT, RpcObserver

log = logging.getLogger(__name__)

TRACER_NAME = "chatstack"
TRACEPARENT = "traceparent"  # W3C trace context header (gRPC metadata keys are lower case)
PROPAGATOR = TraceContextTextMapPropagator()
# Status codes that mean the server failed (OpenTelemetry's gRPC conventions: for a server span
# the client's mistakes are not errors).
_SERVER_ERRORS = {"UNKNOWN", "DEADLINE_EXCEEDED", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE",
                  "DATA_LOSS"}  # fmt: skip

_provider: TracerProvider | None = None


def tracer() -> trace.Tracer:
    """The tracer of our own spans (a proxy until configure_tracing() has run)."""
    return trace.get_tracer(TRACER_NAME)


def span(name: str, attributes: Mapping[str, str] | None = None) -> AbstractContextManager[Span]:
    """An INTERNAL span, current inside the block. With tracing off, no span at all: the API's
    no-op span would only repeat the current one, at a cost per store call that showed in the
    turn's profile (docs/architecture.md, "Where the time goes")."""
    if _provider is None:
        return nullcontext(trace.INVALID_SPAN)
    return tracer().start_as_current_span(name, attributes=attributes)


def configure_tracing(
    service_name: str, endpoint: str, sample_ratio: float = 1.0
) -> TracerProvider | None:
    """Exports spans to an OTLP/gRPC collector at `endpoint` (host:port or http://host:port),
    sampling `sample_ratio` of new traces (a sampled caller's decision is followed). An empty
    endpoint leaves tracing off. Returns the provider (flush it with shutdown_tracing())."""
    global _provider
    if not endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    url = endpoint if "://" in endpoint else f"http://{endpoint}"
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}),
        sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
    )
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=url, insecure=url.startswith("http://")))
    )
    trace.set_tracer_provider(provider)
    _provider = provider
    log.info("tracing on", extra={"otlp_endpoint": url, "trace_sample_ratio": sample_ratio})
    return provider


def shutdown_tracing() -> None:
    """Exports the spans still buffered (blocking: call it from a thread)."""
    if _provider is not None:
        _provider.shutdown()


def _current(span: Span) -> Any:
    """Makes the span current; its status is set from the gRPC code, not from exceptions."""
    return trace.use_span(
        span, end_on_exit=False, record_exception=False, set_status_on_exception=False
    )


def _split(method: str) -> tuple[str, str]:
    service, _, name = method.lstrip("/").partition("/")
    return service, name


def _attributes(method: str) -> dict[str, str]:
    service, name = _split(method)
    return {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}


def _parent_of(metadata: Any) -> OtelContext:
    carrier = {str(k).lower(): v for k, v in (metadata or ()) if isinstance(v, str)}
    return PROPAGATOR.extract(carrier)


def _end_server_span(span: Span, code: str) -> None:
    span.set_attribute("rpc.grpc.status_code", _status_value(code))
    if code in _SERVER_ERRORS:
        span.set_status(Status(StatusCode.ERROR, code))
    span.end()


def _status_value(name: str) -> int:
    return next((int(c.value[0]) for c in grpc.StatusCode if c.name == name), 2)


class _ServerSpan:
    """The SERVER span of one RPC, a child of the caller's span when the metadata carries one."""

    def __init__(self, method: str, metadata: Any) -> None:
        self.span = tracer().start_span(
            method.lstrip("/"),
            context=_parent_of(metadata),
            kind=SpanKind.SERVER,
            attributes=_attributes(method),
        )

    def step(self) -> Any:
        return _current(self.span)

    def end(self, code: str) -> None:
        _end_server_span(self.span, code)


def server_span(method: str, details: grpc.HandlerCallDetails) -> RpcObserver:
    """One SERVER span per RPC (for a stream: until it ends or is cancelled), for an
    ObservingInterceptor. With tracing off, the caller's trace (if any) is still made
    current, so that the calls this RPC makes pass it on."""
    metadata = details.invocation_metadata
    if _provider is None and not any(key == TRACEPARENT for key, _ in metadata or ()):
        return INERT  # nothing to do: the interceptor leaves it out
    return _ServerSpan(method, metadata)


# -- client ------------------------------------------------------------------------------------


@contextmanager
def client_span(method: str) -> Iterator[tuple[tuple[str, str], ...]]:
    """A CLIENT span around one outgoing call (for a stream: around reading it to the end),
    ended with the call's status code. Yields the metadata that carries the trace to the
    server (`traceparent`); the caller adds it to the call's own. Explicit rather than a
    channel interceptor: grpc.aio wraps every message of an intercepted stream in another
    task, a cost per token (docs/architecture.md, "Where the time goes"). With tracing off no
    span is made; a caller's trace is still passed on."""
    if _provider is None:
        carrier: dict[str, str] = {}
        PROPAGATOR.inject(carrier)
        yield tuple(carrier.items())
        return
    span = tracer().start_span(
        method.lstrip("/"), kind=SpanKind.CLIENT, attributes=_attributes(method)
    )
    carrier = {}
    PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    code = grpc.StatusCode.OK
    try:
        yield tuple(carrier.items())
    except grpc.aio.AioRpcError as err:
        code = err.code()
        raise
    except TimeoutError:  # a deadline of the caller's own (the first token's)
        code = grpc.StatusCode.DEADLINE_EXCEEDED
        raise
    except (asyncio.CancelledError, GeneratorExit):
        code = grpc.StatusCode.CANCELLED
        raise
    except BaseException:
        code = grpc.StatusCode.UNKNOWN
        raise
    finally:
        span.set_attribute("rpc.grpc.status_code", int(code.value[0]))
        if code is not grpc.StatusCode.OK:
            span.set_status(Status(StatusCode.ERROR, code.name))
        span.end()
