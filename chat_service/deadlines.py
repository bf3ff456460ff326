"""A deadline for each of many short calls, kept by one timer.

`asyncio.timeout` schedules a timer handle when a call starts and cancels it when the call
ends. The turn path makes seven store calls a turn, and those timers cost about 5% of the chat
service's CPU (docs/architecture.md, "Where the time goes"). Here a call only registers itself;
one timer, armed while calls are in flight, sweeps them every `timeout_s / TICKS` and cancels
each that has outlived its deadline, which the call sees as TimeoutError, as with
asyncio.timeout. A call therefore ends between `timeout_s` and `timeout_s * (1 + 1/TICKS)`
after it began; a cancellation from elsewhere stays a cancellation.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

TICKS = 4


@dataclass(slots=True)
class _Watched:
    task: asyncio.Task[object]
    deadline: float
    cancelling: int  # the task's pending cancellations when the call began (not ours)
    expired: bool = False


class SharedDeadlines:
    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._calls: dict[int, _Watched] = {}
        self._ids = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the timer's

    async def run(self, call: Awaitable[T]) -> T:
        """`await call` in the current task, cancelled with TimeoutError past the deadline."""
        task = asyncio.current_task()
        assert task is not None, "a deadline needs a task to cancel"
        key = next(self._ids)
        watched = _Watched(task, time.monotonic() + self.timeout_s, task.cancelling())
        self._calls[key] = watched
        if self._timer is None or self._loop is not task.get_loop():
            self._arm(task.get_loop())  # (a timer left on a closed loop never fires)
        try:
            return await call
        except asyncio.CancelledError:
            if watched.expired and task.uncancel() <= watched.cancelling:
                raise TimeoutError from None
            raise
        finally:
            del self._calls[key]

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._loop = loop
        self._timer = loop.call_later(self.timeout_s / TICKS, self._sweep)

    def _sweep(self) -> None:
        self._timer = None
        now = time.monotonic()
        for watched in self._calls.values():
            if not watched.expired and watched.deadline <= now:
                watched.expired = True
                watched.task.cancel()
        if self._calls and self._loop is not None:
            self._arm(self._loop)
