"""An ASGI response that streams server-sent events and stops producing them when the client
goes away: a disconnect cancels the producer, which closes the turn's generators (and so the
engine request) at once, rather than when the next write fails."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, TypeVar

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

T = TypeVar("T")


async def until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def unless_disconnected(receive: Receive, work: Awaitable[T]) -> T:
    """`work`, cancelled if the client disconnects first (then CancelledError is raised)."""
    job = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(until_disconnect(receive))
    try:
        await asyncio.wait({job, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if not job.done():
            raise asyncio.CancelledError("the client disconnected")
        return job.result()
    finally:
        for task in (job, watcher):
            task.cancel()
        await asyncio.gather(job, watcher, return_exceptions=True)


class EventStream(Response):
    media_type = "text/event-stream"

    def __init__(
        self,
        chunks: AsyncGenerator[bytes, None],
        headers: dict[str, str],
        on_close: Callable[[], Awaitable[Any]],
    ) -> None:
        super().__init__(content=None, status_code=200, headers={
            "cache-control": "no-cache", "x-accel-buffering": "no", **headers,
        })  # fmt: skip
        # Streamed: no length (Response adds "content-length: 0" for an empty body).
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.chunks = chunks
        self.on_close = on_close  # closes the turn, even if no chunk was ever produced

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await unless_disconnected(receive, self._produce(send))
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await self.chunks.aclose()
            await self.on_close()

    async def _produce(self, send: Send) -> None:
        async for chunk in self.chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
