"""The turn feed between replicas (turn/feed.py) on NATS core subjects, over the queue's
connection. Nothing here is stored: a message lost while NATS is down only delays a follower,
who also reads the store. While the queue is not connected the feed works in process.

Subjects (the turn named by TurnKey.token, a hash):
- chat.follow.progress.<turn>   deltas and the end of an attempt, published by its replica
- chat.follow.snapshot.<turn>   request/reply: the replica running the turn answers
- chat.follow.stop              a stop (CancelTurn): "<turn> <when it was asked>", heard by every
                                replica
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription

from chat_service.jobs.queue import JobQueue
from chat_service.turn.feed import Subscription, TurnFeed
from chat_service.turn.running import (
    Ended,
    FeedEvent,
    Progress,
    RunningTurns,
    Snapshot,
    TurnKey,
)

log = logging.getLogger(__name__)

PREFIX = "chat.follow."
STOP_SUBJECT = PREFIX + "stop"
SNAPSHOT_TIMEOUT_S = 0.3  # no answer: no replica runs the turn now (the store is read instead)
OUTBOX_LIMIT = 10_000  # deltas waiting to be handed to the client; past it they are dropped


def encode_event(event: FeedEvent) -> bytes:
    if isinstance(event, Progress):
        return json.dumps({"a": event.attempt, "o": event.offset, "t": event.text}).encode()
    return json.dumps({"a": event.attempt, "end": True}).encode()


def decode_event(data: bytes) -> FeedEvent | None:
    """None for a message that is not a feed event (it is ignored, never trusted)."""
    try:
        raw = json.loads(data)
        if raw.get("end"):
            return Ended(str(raw["a"]))
        return Progress(str(raw["a"]), int(raw["o"]), str(raw["t"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


class NatsTurnFeed(TurnFeed):
    def __init__(self, running: RunningTurns, queue: JobQueue) -> None:
        super().__init__(running)
        self.queue = queue
        self._subscriptions: list[NatsSubscription] = []
        self._outbox: deque[tuple[str, bytes]] = deque()
        self._wake = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None

    def _client(self) -> Client | None:
        nc = self.queue.client
        return nc if nc is not None and nc.is_connected else None

    async def start(self) -> None:
        nc = self.queue.client
        if nc is None:
            return
        self._subscriptions = [
            await nc.subscribe(PREFIX + "snapshot.*", cb=self._on_snapshot),
            await nc.subscribe(STOP_SUBJECT, cb=self._on_stop),
        ]
        self._pump = asyncio.create_task(self._send_outbox(), name="turn-feed-pump")

    async def close(self) -> None:
        for subscription in self._subscriptions:
            with contextlib.suppress(nats.errors.Error):
                await subscription.unsubscribe()
        self._subscriptions = []
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump

    # -- the replica running a turn ------------------------------------------------------

    def publish(self, key: TurnKey, event: FeedEvent) -> None:
        super().publish(key, event)  # followers here that subscribed while NATS was down
        if self._pump is None or len(self._outbox) >= OUTBOX_LIMIT:
            return
        self._outbox.append((PREFIX + "progress." + key.token, encode_event(event)))
        self._wake.set()

    async def _send_outbox(self) -> None:
        """Hands the published events to the client in order (nats-py's publish is a
        coroutine; it only buffers, so one task keeps the order at no cost to the turn)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._outbox:
                subject, data = self._outbox.popleft()
                nc = self._client()
                if nc is None:
                    continue  # dropped: followers fall back on the store
                try:
                    await nc.publish(subject, data)
                except nats.errors.Error:
                    log.debug("publishing turn progress failed", exc_info=True)

    async def _on_snapshot(self, msg: Msg) -> None:
        token = msg.subject.rsplit(".", 1)[-1]
        snapshot = self.running.snapshot(token)
        if snapshot is None or not msg.reply:
            return  # not running here: another replica answers (or nobody, a timeout)
        with contextlib.suppress(nats.errors.Error):
            await msg.respond(json.dumps({"a": snapshot.attempt, "t": snapshot.text}).encode())

    async def _on_stop(self, msg: Msg) -> None:
        token, _, asked_at = msg.data.decode(errors="replace").partition(" ")
        try:
            self.running.stop(token, float(asked_at))
        except ValueError:
            log.debug("ignored a malformed stop message", extra={"data": msg.data[:100]})

    # -- followers -----------------------------------------------------------------------

    @asynccontextmanager
    async def subscribe(self, key: TurnKey) -> AsyncIterator[Subscription]:
        nc = self._client()
        if nc is None:
            async with super().subscribe(key) as local:
                yield local
            return
        subscription = Subscription()

        async def on_event(msg: Msg) -> None:
            event = decode_event(msg.data)
            if event is not None:
                subscription.put(event)

        nats_subscription = await nc.subscribe(PREFIX + "progress." + key.token, cb=on_event)
        try:
            yield subscription
        finally:
            with contextlib.suppress(nats.errors.Error):
                await nats_subscription.unsubscribe()

    async def snapshot(self, key: TurnKey) -> Snapshot | None:
        local = self.running.snapshot(key.token)
        nc = self._client()
        if local is not None or nc is None:
            return local
        try:
            reply = await nc.request(PREFIX + "snapshot." + key.token, timeout=SNAPSHOT_TIMEOUT_S)
            raw = json.loads(reply.data)
            return Snapshot(str(raw["a"]), str(raw["t"]))
        except (nats.errors.Error, TimeoutError, ValueError, KeyError, TypeError):
            return None

    async def stop(self, key: TurnKey, asked_at: float) -> None:
        await super().stop(key, asked_at)
        nc = self._client()
        if nc is not None:
            with contextlib.suppress(nats.errors.Error):
                await nc.publish(STOP_SUBJECT, f"{key.token} {asked_at!r}".encode())
