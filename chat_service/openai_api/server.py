"""The OpenAI-compatible API's HTTP server, run on the chat service's own event loop (uvicorn,
HTTP/1.1): it shares the service's clients, store and turn code instead of calling them over a
hop. The service handles SIGTERM itself, so uvicorn installs no signal handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

log = logging.getLogger(__name__)
_START_TIMEOUT_S = 10.0


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class OpenAiServer:
    def __init__(self, app: ASGIApp, host: str, port: int, grace_s: float) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, lifespan="off", log_config=None, access_log=False,
            timeout_graceful_shutdown=max(1, round(grace_s)), http="h11",
        )  # fmt: skip
        self._server = _EmbeddedServer(config)
        self._task: asyncio.Task[None] | None = None
        self.port = port

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        async with asyncio.timeout(_START_TIMEOUT_S):
            while not self._server.started:
                if self._task.done():  # e.g. the port is taken
                    self._task.result()
                    raise RuntimeError("the OpenAI API server stopped while starting")
                await asyncio.sleep(0.02)
        sockets = [s for server in self._server.servers for s in server.sockets]
        self.port = sockets[0].getsockname()[1] if sockets else self.port
        log.info("OpenAI-compatible API serving", extra={"openai_port": self.port})

    async def stop(self) -> None:
        """Stops accepting, lets running requests finish (bounded by the grace period)."""
        if self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(Exception):
            await self._task
