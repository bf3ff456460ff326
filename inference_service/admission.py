"""Admission control: a bounded number of running requests plus a bounded wait queue.

Beyond both, a request is refused at once (the servicer answers RESOURCE_EXHAUSTED) instead of
piling up behind work that will take seconds each.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class QueueFull(Exception):
    def __init__(self, running: int, queued: int) -> None:
        super().__init__(f"{running} requests running and {queued} queued: the server is full")
        self.running = running
        self.queued = queued


class Admission:
    def __init__(self, max_running: int, max_queued: int) -> None:
        self.max_running = max_running
        self.max_queued = max_queued
        self._slots = asyncio.Semaphore(max_running)
        self.running = 0
        self.queued = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self.running >= self.max_running and self.queued >= self.max_queued:
            raise QueueFull(self.running, self.queued)
        self.queued += 1
        try:
            await self._slots.acquire()
        finally:
            self.queued -= 1
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            self._slots.release()
