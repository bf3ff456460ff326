"""How followers of a turn hear from the replica generating it (docs/architecture.md,
"Following a turn"): a snapshot of the reply so far on request (which marks the turn followed),
then each delta pushed as it is generated, and a stop (CancelTurn) that reaches the turn
wherever it runs. Two backends with one interface: in process (one replica, or the queue is
down) and NATS core subjects between replicas (jobs/nats_feed.py). The store stays the
fallback: a follower also reads it now and then, so a lost message only delays it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chat_service.turn.running import FeedEvent, RunningTurns, Snapshot, TurnKey

SUBSCRIBER_QUEUE = 1024  # events a slow follower may lag behind before it resyncs


class Subscription:
    """The events published for one turn since subscribing; overflow means resync."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[FeedEvent] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self.overflowed = False

    def put(self, event: FeedEvent) -> None:
        try:
            self.events.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True

    async def next(self, timeout_s: float) -> FeedEvent | None:
        """The next event, or None after `timeout_s` without one."""
        try:
            async with asyncio.timeout(timeout_s):
                return await self.events.get()
        except TimeoutError:
            return None


class TurnFeed:
    """The in-process feed: followers and the turn on this replica only."""

    def __init__(self, running: RunningTurns) -> None:
        self.running = running
        self._local: dict[str, set[Subscription]] = {}
        running.publish = self.publish

    @asynccontextmanager
    async def subscribe(self, key: TurnKey) -> AsyncIterator[Subscription]:
        subscription = Subscription()
        subscribers = self._local.setdefault(key.token, set())
        subscribers.add(subscription)
        try:
            yield subscription
        finally:
            subscribers.discard(subscription)
            if not subscribers:
                self._local.pop(key.token, None)

    def publish(self, key: TurnKey, event: FeedEvent) -> None:
        for subscription in self._local.get(key.token, ()):
            subscription.put(event)

    async def snapshot(self, key: TurnKey) -> Snapshot | None:
        return self.running.snapshot(key.token)

    async def stop(self, key: TurnKey, asked_at: float) -> None:
        """Stops the turn here, or remembers the stop for an attempt about to start here.
        `asked_at`: when CancelTurn was called (time.time())."""
        self.running.stop(key.token, asked_at)

    async def start(self) -> None:
        """Called once the queue is connected (the NATS feed subscribes then)."""

    async def close(self) -> None: ...
