"""Background tasks that outlive the call that starts them, kept in one place.

asyncio holds only a weak reference to a task: a task nobody keeps can be garbage-collected
mid-flight, and one that fails with nobody awaiting it logs "exception was never retrieved" at
some random later moment. `BackgroundTasks` keeps each task until it ends, logs its failure
once (with the name it was given), and lets shutdown and tests wait for all of them, including
those started while waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class BackgroundTasks:
    def __init__(self, what: str) -> None:
        self.what = what  # for the log line of a failed task
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, T], name: str | None = None) -> asyncio.Task[T]:
        task = asyncio.ensure_future(work)
        if name:
            task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.warning("%s task %s failed", self.what, task.get_name(), exc_info=exc)

    def __len__(self) -> int:
        return len(self._tasks)

    async def wait(self, timeout_s: float | None = None) -> bool:
        """Until every task has ended (those started meanwhile too); False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout_s is None else loop.time() + timeout_s
        while self._tasks:
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                return False
            _, pending = await asyncio.wait(set(self._tasks), timeout=left)
            if pending and deadline is not None and loop.time() >= deadline:
                return False
        return True

    async def cancel(self) -> None:
        """Cancels every task and waits for them to end."""
        tasks = set(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
