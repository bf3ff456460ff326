"""Admission control: a bounded number of running requests plus a bounded, fair wait queue.

Beyond the queue's bounds a request is refused at once (the servicer answers
RESOURCE_EXHAUSTED) instead of piling up behind work that will take seconds each.

Fair: each request carries a fairness key (the chat service sends the user's id). A freed
slot goes to the waiting request whose key has the fewest requests running and, among those,
was served least recently (round robin between keys; the oldest request of that key), not to
the oldest request overall; and one key may hold at most `max_queued_per_key`
of the queue's places. So a user who floods the model waits behind their own requests, while
another user's request takes the next free slot (on a one-at-a-time engine such as llama.cpp
that is after the generation now running; on a batching engine such as vLLM the queue is
rarely used at all).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


class QueueFull(Exception):
    def __init__(self, running: int, queued: int, own: int | None = None) -> None:
        if own is None:
            text = f"{running} requests running and {queued} queued: the server is full"
        else:
            text = f"{own} of this caller's requests are queued already: wait for them"
        super().__init__(text)
        self.running = running
        self.queued = queued


@dataclass
class _Waiter:
    key: str
    granted: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Admission:
    def __init__(self, max_running: int, max_queued: int, max_queued_per_key: int = 0) -> None:
        self.max_running = max_running
        self.max_queued = max_queued
        self.max_queued_per_key = max_queued_per_key or max_queued
        self.running = 0
        self._running_by: Counter[str] = Counter()
        self._waiting: list[_Waiter] = []
        # When each key was last given a slot (a grant counter), for keys running or waiting.
        self._served_at: dict[str, int] = {}
        self._grants = 0

    @property
    def queued(self) -> int:
        return len(self._waiting)

    @asynccontextmanager
    async def slot(self, key: str = "") -> AsyncIterator[None]:
        if self.running < self.max_running and not self._waiting:
            self._start(key)
        else:
            await self._wait(key)
        try:
            yield
        finally:
            self._finish(key)

    async def _wait(self, key: str) -> None:
        if self.queued >= self.max_queued:
            raise QueueFull(self.running, self.queued)
        own = sum(1 for w in self._waiting if w.key == key)
        if own >= self.max_queued_per_key:
            raise QueueFull(self.running, self.queued, own)
        waiter = _Waiter(key)
        self._waiting.append(waiter)
        try:
            await waiter.granted
        except asyncio.CancelledError:
            if waiter in self._waiting:
                self._waiting.remove(waiter)
            elif waiter.granted.done() and not waiter.granted.cancelled():
                self._finish(key)  # granted just as it was cancelled: hand the slot on
            raise

    def _start(self, key: str) -> None:
        self.running += 1
        self._running_by[key] += 1
        self._grants += 1
        self._served_at[key] = self._grants

    def _finish(self, key: str) -> None:
        self.running -= 1
        self._running_by[key] -= 1
        if not self._running_by[key]:
            del self._running_by[key]
            if all(w.key != key for w in self._waiting):
                self._served_at.pop(key, None)  # idle: forgotten (memory stays bounded)
        self._grant()

    def _grant(self) -> None:
        # A waiter cancelled a moment ago still in the list (its task has not run its cleanup
        # yet) is dropped, never granted: its slot would be counted and never given back.
        self._waiting = [w for w in self._waiting if not w.granted.done()]
        while self._waiting and self.running < self.max_running:
            # min() keeps the earliest among equals: the list is FIFO.
            waiter = min(
                self._waiting,
                key=lambda w: (self._running_by[w.key], self._served_at.get(w.key, 0)),
            )
            self._waiting.remove(waiter)
            self._start(waiter.key)  # counted now, so a second release cannot overfill
            waiter.granted.set_result(None)
