"""Service-to-service authentication by a shared token (inference and embedding services).

The chat service is their only caller. With `caller_token_file` set, a server refuses every
call that does not carry `authorization: Bearer <the file's token>` (UNAUTHENTICATED), except
health checks (Kubernetes and Envoy probe them without credentials). So reaching an inference
pod's port, or Envoy's internal listener in front of it, is not enough to use the model. The
token is a secret of the deployment (a file: a Kubernetes Secret, or `.run/service-token` made
by `make run`). What it does not give: encryption on the wire (docs/security.md).
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import grpc

from server_kit.errors import Unauthenticated
from server_kit.interceptors import Context, StreamBehavior, UnaryBehavior, rewrap

MIN_TOKEN_CHARS = 32
_UNGUARDED = ("/grpc.health.v1.Health/",)


def read_token(path: str) -> str:
    token = Path(path).read_text().strip()
    if len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"{path}: a service token needs at least {MIN_TOKEN_CHARS} characters")
    return token


def _carries(metadata: Sequence[tuple[str, str | bytes]] | None, expected: bytes) -> bool:
    values = [v for k, v in (metadata or ()) if k == "authorization"]
    if len(values) != 1:
        return False
    value = values[0].encode() if isinstance(values[0], str) else values[0]
    return hmac.compare_digest(value, b"Bearer " + expected)


class CallerTokenInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, token: str) -> None:
        self._token = token.encode()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or method.startswith(_UNGUARDED):
            return handler
        if _carries(handler_call_details.invocation_metadata, self._token):
            return handler

        def refusal() -> Unauthenticated:
            return Unauthenticated("this service only answers its own callers", reason="NO_TOKEN")

        def unary(_: UnaryBehavior) -> UnaryBehavior:
            async def refuse(request: Any, context: Context) -> Any:
                raise refusal()

            return refuse

        def stream(_: StreamBehavior) -> StreamBehavior:
            async def refuse(request: Any, context: Context) -> AsyncGenerator[Any, None]:
                raise refusal()
                yield  # pragma: no cover - makes this an async generator

            return refuse

        return rewrap(handler, unary, stream)


def caller_interceptors(token_file: str) -> list[grpc.aio.ServerInterceptor]:
    """The server side: none when no token file is configured."""
    return [CallerTokenInterceptor(read_token(token_file))] if token_file else []


def token_metadata(token_file: str) -> tuple[tuple[str, str], ...]:
    """The client side: the header each of the chat service's calls carries (none when no
    token file is configured)."""
    if not token_file:
        return ()
    return (("authorization", f"Bearer {read_token(token_file)}"),)
