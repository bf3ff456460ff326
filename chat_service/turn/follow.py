"""Following a turn (StreamTurn) from any replica, resumable from an offset (docs/architecture.md,
"Following a turn"). Pushed progress from the replica generating it (feed.py) is the fast path;
the store is the fallback, read when nothing arrives for a while and for how the turn ended.

Each delta says where its text starts (code points). The follower knows the text of the
current attempt up to what the caller holds; a delta starting below that replaces the rest
(the turn restarted elsewhere), so the caller never holds duplicated or missing text."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable

from chat_service import metrics
from chat_service.config import TurnSettings
from chat_service.domain import MessageStatus, Turn
from chat_service.turn.events import ReplyDelta, ReplyError, ReplyEvent, ReplyFinal
from chat_service.turn.feed import Subscription, TurnFeed
from chat_service.turn.running import Ended, FeedEvent, Progress, Snapshot, TurnKey
from server_kit.errors import ServiceError, Unavailable

ENDED = (MessageStatus.COMPLETE, MessageStatus.FAILED, MessageStatus.INTERRUPTED)


def _common_prefix(a: str, b: str) -> int:
    """The length of the longest common prefix of `a` and `b`."""
    length = min(len(a), len(b))
    for index in range(length):
        if a[index] != b[index]:
            return index
    return length


class _Position:
    """What the caller holds: `length` code points, which this follower knows as `text` once
    it has seen them (not yet for the part a resuming caller brought), of `attempt`."""

    def __init__(self, offset: int, attempt: str = "") -> None:
        self.length = offset  # code points the caller holds
        self.text: str | None = None  # the attempt's text up to `length`, once known
        # The caller's word for a resumed text (unconfirmed while `text` is None).
        self.attempt: str | None = attempt or None
        self.last_sent = time.monotonic()

    def align(self, text: str, attempt: str | None) -> ReplyDelta | None:
        """The delta that brings the caller to `text`, the reply so far of `attempt` (None: read
        from the store, which may lag behind): the rest past what it holds, or everything
        from 0 when it holds another attempt's text."""
        if self.text is not None:
            other_attempt = None not in (attempt, self.attempt) and attempt != self.attempt
            if not other_attempt and text.startswith(self.text):
                return self._take(text, attempt, self.length)
            if not other_attempt and self.text.startswith(text):
                return None  # the store lags behind what the caller has
            return self._take(text, attempt, 0)
        if None not in (attempt, self.attempt) and attempt != self.attempt:
            return self._take(text, attempt, 0)  # resumed text of an earlier attempt
        if len(text) >= self.length:  # the caller's first `length` points are this text's
            return self._take(text, attempt, self.length)
        if attempt is None:
            return None  # the store lags behind what the caller saw: wait for more
        return self._take(text, attempt, 0)  # it holds more than the turn has: another attempt

    def settle(self, final: str) -> ReplyDelta | None:
        """The delta that leaves the caller holding exactly `final`, the stored text of an
        ended turn: the store has the last word (a replica that died after pushing text it
        had not saved yet leaves the caller holding more than the record)."""
        if self.text is None:  # unseen: trusted, unless it belongs to an unconfirmed attempt
            trusted = self.attempt is None and len(final) >= self.length
            start = self.length if trusted else 0
        else:
            start = _common_prefix(self.text, final)
        if final == self.text or (start == len(final) == self.length):
            return None
        self.text, self.length = final, len(final)
        return self._sent(final[start:], start)

    def _take(self, text: str, attempt: str | None, start: int) -> ReplyDelta | None:
        self.text, self.length = text, len(text)
        self.attempt = attempt if attempt is not None else self.attempt
        if start == 0 or start < len(text):
            return self._sent(text[start:], start)
        return None

    def progress(self, event: Progress) -> ReplyDelta | bool | None:
        """A pushed delta; False when it does not follow on (a gap, or another attempt)."""
        if self.attempt is None and self.text == "" and event.offset == 0:
            self.attempt = event.attempt  # the first delta of a turn that had not started
        if self.attempt != event.attempt or event.offset > self.length or self.text is None:
            return False
        end = event.offset + len(event.text)
        if end <= self.length:
            return None  # already held
        new = event.text[self.length - event.offset :]
        self.text += new
        start, self.length = self.length, end
        return self._sent(new, start)

    def _sent(self, text: str, start: int) -> ReplyDelta:
        self.last_sent = time.monotonic()
        return ReplyDelta(text, start, self.attempt or "")


@contextlib.asynccontextmanager
async def _counted() -> AsyncIterator[None]:
    metrics.FOLLOWERS.inc()
    try:
        yield
    finally:
        metrics.FOLLOWERS.dec()


class Follower:
    def __init__(
        self,
        feed: TurnFeed,
        settings: TurnSettings,
        read_turn: Callable[[str, str, str], Awaitable[Turn]],
    ) -> None:
        self.feed = feed
        self.settings = settings
        self.read_turn = read_turn  # the stored turn (NOT_FOUND for another user's)

    async def follow(
        self, key: TurnKey, offset: int, attempt: str = ""
    ) -> AsyncGenerator[ReplyEvent, None]:
        position = _Position(offset, attempt)
        # Subscribed before anything is read: no delta falls between the read and the push.
        async with self.feed.subscribe(key) as events, _counted():
            turn = await self._read(key)
            ended = await self._catch_up(key, turn, position)
            for event in ended:
                yield event
                if not isinstance(event, ReplyDelta):
                    return
            while True:
                news = await self._next(key, events, position)
                for event in news:
                    yield event
                    if not isinstance(event, ReplyDelta):
                        return

    async def _read(self, key: TurnKey) -> Turn:
        return await self.read_turn(key.user_id, key.chat_id, key.client_request_id)

    async def _catch_up(self, key: TurnKey, turn: Turn, position: _Position) -> list[ReplyEvent]:
        """Brings the caller up to date: from the replica running the turn if it answers,
        else from the store; the end too if the turn has ended."""
        reply = turn.assistant
        if reply.status in ENDED:
            return self._ending(turn, position)
        snapshot: Snapshot | None = None
        if reply.status is MessageStatus.PENDING:  # queued: no replica runs it yet
            snapshot = await self.feed.snapshot(key)
        if snapshot is not None:
            delta = position.align(snapshot.text, snapshot.attempt)
        else:
            delta = position.align(reply.content, None)
        return [delta] if delta is not None else []

    def _ending(self, turn: Turn, position: _Position) -> list[ReplyEvent]:
        reply = turn.assistant
        events: list[ReplyEvent] = []
        delta = position.settle(reply.content)
        if delta is not None:
            events.append(delta)
        if reply.status is MessageStatus.COMPLETE:
            events.append(ReplyFinal(turn.user.message_id, reply))
            return events
        reason = "TURN_FAILED" if reply.status is MessageStatus.FAILED else "TURN_INTERRUPTED"
        failure: ServiceError = Unavailable(
            reply.error or f"the turn was {reply.status.value}", reason=reason
        )
        events.append(ReplyError(failure, reply.message_id))
        return events

    async def _next(
        self, key: TurnKey, events: Subscription, position: _Position
    ) -> list[ReplyEvent]:
        """What the next pushed event, or the store after a quiet while, brings."""
        event: FeedEvent | None = await events.next(self.settings.stream_turn_poll_s)
        if isinstance(event, Progress):
            step = position.progress(event)
            if step is not False and not events.overflowed:
                return [step] if isinstance(step, ReplyDelta) else []
            events.overflowed = False
        elif isinstance(event, Ended) and position.attempt not in (None, event.attempt):
            return []  # an older attempt's end: the current one goes on
        # The end of this attempt, a gap, another attempt or a quiet while: ask again.
        turn = await self._read(key)
        caught_up = await self._catch_up(key, turn, position)
        if not caught_up and time.monotonic() - position.last_sent >= (
            self.settings.stream_turn_keepalive_s
        ):
            position.last_sent = time.monotonic()
            return [ReplyDelta("", position.length)]  # keeps idle proxies from closing it
        return caught_up
