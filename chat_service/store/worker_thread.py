"""One thread that runs blocking calls in order for the event loop: the SQLite store's
connection lives on it.

Lighter than `loop.run_in_executor` on a one-worker ThreadPoolExecutor, which the turn path
paid for on every store call (seven or eight a turn): that makes a concurrent future per call,
chains it to an asyncio future and wakes the worker through a semaphore. Here a call is one
asyncio future and one queue put; results go back in batches: a result finished while the
loop has not yet taken the ones before it joins them, so a busy loop is woken once for several
(docs/architecture.md, "Where the time goes"). Same semantics: calls run one at a time in
submission order; a call whose caller was cancelled before it started is skipped; one that has
started runs to the end.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Call = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[[], Any]]
_Done = tuple["asyncio.Future[Any]", Any, BaseException | None]


class WorkerThread:
    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        # Results finished per loop and not yet handed over; a loop is in here exactly while
        # a hand-over to it is scheduled.
        self._done: dict[asyncio.AbstractEventLoop, list[_Done]] = {}
        self._lock = threading.Lock()
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
            self._hand_over(loop, (future, result, error))

    def _hand_over(self, loop: asyncio.AbstractEventLoop, done: _Done) -> None:
        with self._lock:
            waiting = self._done.get(loop)
            if waiting is not None:  # a hand-over is already scheduled: it takes this one too
                waiting.append(done)
                return
            self._done[loop] = [done]
        try:
            loop.call_soon_threadsafe(self._settle, loop)
        except RuntimeError:  # a closed loop: nobody waits for these
            with self._lock:
                self._done.pop(loop, None)

    def _settle(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            batch = self._done.pop(loop, [])
        for future, result, error in batch:
            if future.cancelled():
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)
