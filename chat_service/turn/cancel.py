"""Stopping a turn (CancelTurn) wherever it runs: the replica running it hears the stop through
the feed (feed.py) and ends it as interrupted, keeping the text so far; a turn still queued is
marked so that no worker starts it. The caller gets the turn once its end is stored."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from chat_service.domain import MessageStatus, Turn, utcnow
from chat_service.timed_store import TimedStore
from chat_service.turn.feed import TurnFeed
from chat_service.turn.lifecycle import TurnLifecycle
from chat_service.turn.running import TurnKey

WAIT_S = 5.0  # how long CancelTurn waits for the stopped turn's end to be stored
POLL_S = 0.1
RESEND_S = 1.0


class TurnStopper:
    def __init__(
        self,
        store: TimedStore,
        lifecycle: TurnLifecycle,
        feed: TurnFeed,
        read_turn: Callable[[str, str, str], Awaitable[Turn]],
    ) -> None:
        self.store = store
        self.lifecycle = lifecycle
        self.feed = feed
        self.read_turn = read_turn

    async def cancel(self, key: TurnKey) -> Turn:
        turn = await self._read(key)  # NOT_FOUND for a turn the user does not have
        if not self.lifecycle.running(turn.assistant):
            return turn  # already ended: nothing to stop
        asked_at = time.time()
        await self.feed.stop(key, asked_at)
        turn = await self._read(key)
        if turn.assistant.status is MessageStatus.QUEUED:
            # No worker has claimed it: its claim reads this and lets it go. One that claims
            # it meanwhile got the stop (replicas remember stops for turns not running yet).
            stopped = replace(
                turn.assistant, status=MessageStatus.INTERRUPTED, updated_at=utcnow(),
                error="the turn was stopped before it started",
            )  # fmt: skip
            await self.store.save_message(key.user_id, stopped)
        deadline = time.monotonic() + WAIT_S
        resend_at = time.monotonic() + RESEND_S
        while self.lifecycle.running(turn.assistant) and time.monotonic() < deadline:
            await asyncio.sleep(POLL_S)
            turn = await self._read(key)
            if time.monotonic() >= resend_at:  # the feed does not guarantee delivery
                await self.feed.stop(key, asked_at)
                resend_at = time.monotonic() + RESEND_S
        return turn

    async def _read(self, key: TurnKey) -> Turn:
        return await self.read_turn(key.user_id, key.chat_id, key.client_request_id)
