"""One thread that runs blocking calls in order for the event loop: the SQLite store's
connection lives on it.

Lighter than `loop.run_in_executor` on a one-worker ThreadPoolExecutor, which the turn path
paid for on every store call (seven or eight a turn): that makes a concurrent future per call,
chains it to an asyncio future and wakes the worker through a semaphore. Here a call is one
asyncio future, one queue put and one `call_soon_threadsafe` (docs/architecture.md, "Where the
time goes"). Same semantics: calls run one at a time in submission order; a call whose caller
was cancelled before it started is skipped; one that has started runs to the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Call = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[[], Any]]


class WorkerThread:
    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    async def call(self, fn: Callable[[], T]) -> T:
        """fn() on the worker thread; its result, or what it raised."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((loop, future, fn))
        return await future

    async def stop(self) -> None:
        """Runs what is queued, then ends the thread."""
        self._queue.put(None)
        await asyncio.to_thread(self._thread.join)

    def _serve(self) -> None:
        while (item := self._queue.get()) is not None:
            loop, future, fn = item
            if future.cancelled():  # read across threads: at worst the call runs, as if started
                continue
            try:
                result, error = fn(), None
            except BaseException as exc:
                result, error = None, exc
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for it
                loop.call_soon_threadsafe(_settle, future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
