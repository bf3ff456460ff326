"""The turns this replica is generating now, by turn: what a follower's snapshot reads, what a
stop (CancelTurn) reaches, and whether someone follows a turn (then its deltas are published:
docs/architecture.md, "Following a turn"). Nothing here is shared between replicas: the feed
(feed.py) carries snapshots, progress and stops between them."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from chat_service import metrics
from chat_service.turn.lifecycle import ReplyBuffer

# A stop that arrives for a turn no replica runs yet (queued, or between two attempts while the
# model is busy) is remembered this long: an attempt of a submission made before the stop that
# starts meanwhile stops at once (a resubmission after it is a new request, and runs).
STOP_MEMORY_S = 300.0
STOP_MEMORY_SIZE = 10_000


@dataclass(frozen=True)
class TurnKey:
    user_id: str
    chat_id: str
    client_request_id: str

    @functools.cached_property  # asked several times a turn
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
    # The answerer is running (awaiting the model, the store...), not suspended at a delta it
    # handed to its caller: only then does a stop cancel `task`, so that the cancellation lands
    # in the answerer, never in the caller (a gRPC write, a worker).
    inside: bool = True

    def text(self) -> str:
        return "".join(self.reply.parts)

    def enter(self) -> None:
        """The caller asked for the next delta, from the task now iterating (it may change:
        the OpenAI route pulls the first delta in a task of its own). Raises StopRequested if
        a stop came while the caller had the last one."""
        self.inside, self.task = True, asyncio.current_task()
        if self.stop_requested:
            raise StopRequested

    def request_stop(self) -> None:
        if self.stop_requested:
            return
        self.stop_requested = True
        if self.inside and self.task is not None and not self.task.done():
            self.task.cancel()


class StopRequested(Exception):
    """A stop noticed between two deltas (the answerer was not running when it came)."""


class RunningTurns:
    def __init__(self) -> None:
        self._by_token: dict[str, RunningTurn] = {}
        # token -> when its stop was asked (wall clock, seconds: comparable with submissions)
        self._stopped: OrderedDict[str, float] = OrderedDict()
        self.publish: Publish = lambda key, event: None  # set by the feed

    def start(
        self, key: TurnKey, reply: ReplyBuffer, followed: bool, submitted_at: float | None
    ) -> RunningTurn:
        """Registers an attempt run by the current task (which a stop cancels). `submitted_at`:
        when a submitted turn was queued (a stop remembered from after that applies to it)."""
        running = RunningTurn(key, reply, asyncio.current_task(), followed=followed)
        self._by_token[key.token] = running
        metrics.TURNS_GENERATING.set(len(self._by_token))
        stopped_at = self._stopped.pop(key.token, None)
        if (
            stopped_at is not None
            and submitted_at is not None
            and submitted_at <= stopped_at < submitted_at + STOP_MEMORY_S
        ):
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

    def stop(self, token: str, asked_at: float) -> bool:
        """Stops the turn if it runs here (True), else remembers the stop for a while.
        `asked_at`: when CancelTurn was called (time.time() where it was)."""
        running = self._by_token.get(token)
        if running is not None:
            running.request_stop()
            return True
        self._stopped[token] = asked_at
        self._stopped.move_to_end(token)
        while len(self._stopped) > STOP_MEMORY_SIZE:
            self._stopped.popitem(last=False)
        return False

    def __len__(self) -> int:
        return len(self._by_token)
