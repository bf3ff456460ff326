"""The turns this replica is generating now, by turn: what a follower's snapshot reads, what a
stop (CancelTurn) reaches, and whether someone follows a turn (then its deltas are published:
docs/architecture.md, "Following a turn"). Nothing here is shared between replicas: the feed
(feed.py) carries snapshots, progress and stops between them."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from chat_service import metrics
from chat_service.turn.lifecycle import ReplyBuffer

# A stop that arrives for a turn no replica runs yet (queued, or between two attempts while the
# model is busy) is remembered this long: the attempt that starts meanwhile stops at once.
STOP_MEMORY_S = 300.0
STOP_MEMORY_SIZE = 10_000


@dataclass(frozen=True)
class TurnKey:
    user_id: str
    chat_id: str
    client_request_id: str

    @property
    def token(self) -> str:
        """A name for the turn safe in a NATS subject (the request id is any text)."""
        raw = f"{self.user_id}\0{self.chat_id}\0{self.client_request_id}".encode()
        return hashlib.sha256(raw).hexdigest()[:32]


@dataclass(frozen=True)
class Snapshot:
    """A running turn's reply so far, as the replica generating it holds it."""

    attempt: str  # one id per run of the turn: a takeover elsewhere starts a new attempt
    text: str


@dataclass(frozen=True)
class Progress:
    attempt: str
    offset: int  # where `text` starts in the reply, in code points
    text: str


@dataclass(frozen=True)
class Ended:
    """The attempt ended and how is stored: readers take the end from the store."""

    attempt: str


FeedEvent = Progress | Ended
Publish = Callable[[TurnKey, FeedEvent], None]


@dataclass
class RunningTurn:
    key: TurnKey
    reply: ReplyBuffer
    task: asyncio.Task[object] | None
    attempt: str = field(default_factory=lambda: uuid.uuid4().hex)
    followed: bool = False  # a follower asked for a snapshot: publish each delta from now on
    stop_requested: bool = False  # stopped by CancelTurn (not by a shutdown or a disconnect)
    length: int = 0  # code points published (or snapshotted) so far

    def text(self) -> str:
        return "".join(self.reply.parts)

    def request_stop(self) -> None:
        if self.stop_requested:
            return
        self.stop_requested = True
        if self.task is not None and not self.task.done():
            self.task.cancel()


class RunningTurns:
    def __init__(self) -> None:
        self._by_token: dict[str, RunningTurn] = {}
        self._stopped: OrderedDict[str, float] = OrderedDict()  # token -> when its stop came
        self.publish: Publish = lambda key, event: None  # set by the feed

    def start(self, key: TurnKey, reply: ReplyBuffer, followed: bool) -> RunningTurn:
        """Registers an attempt run by the current task (which a stop cancels)."""
        running = RunningTurn(key, reply, asyncio.current_task(), followed=followed)
        self._by_token[key.token] = running
        metrics.TURNS_GENERATING.set(len(self._by_token))
        if self._remembered_stop(key.token):
            running.request_stop()
        return running

    def delta(self, running: RunningTurn, text: str) -> None:
        """A delta the attempt streamed: published if the turn is followed."""
        if running.followed and text:
            self.publish(running.key, Progress(running.attempt, running.length, text))
            running.length += len(text)

    def finish(self, running: RunningTurn) -> None:
        """The attempt ended (its end stored, or handed back to the queue)."""
        if self._by_token.get(running.key.token) is running:
            del self._by_token[running.key.token]
            metrics.TURNS_GENERATING.set(len(self._by_token))
        if running.followed:
            self.publish(running.key, Ended(running.attempt))

    def snapshot(self, token: str) -> Snapshot | None:
        """The reply so far of a turn running here; from now on its deltas are published."""
        running = self._by_token.get(token)
        if running is None:
            return None
        text = running.text()
        running.followed, running.length = True, len(text)
        return Snapshot(running.attempt, text)

    def stop(self, token: str) -> bool:
        """Stops the turn if it runs here (True), else remembers the stop for a while."""
        running = self._by_token.get(token)
        if running is not None:
            running.request_stop()
            return True
        self._stopped[token] = time.monotonic()
        self._stopped.move_to_end(token)
        while len(self._stopped) > STOP_MEMORY_SIZE:
            self._stopped.popitem(last=False)
        return False

    def _remembered_stop(self, token: str) -> bool:
        at = self._stopped.pop(token, None)
        return at is not None and time.monotonic() - at < STOP_MEMORY_S

    def __len__(self) -> int:
        return len(self._by_token)
