"""A turn the caller streams (Complete): started (or replayed) in the store, answered while the
caller reads, and ended with the caller: a caller that leaves interrupts it, keeping what it
saw. The user's stream slot is held for exactly that long."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from contextlib import aclosing

from chat_service.admission import TurnKind
from chat_service.config import TurnSettings
from chat_service.domain import MessageStatus
from chat_service.turn.answer import Answerer
from chat_service.turn.events import ReplyDelta, ReplyEvent, ReplyFinal, TurnRequest
from chat_service.turn.lifecycle import RunMode, TurnLifecycle
from chat_service.turn.outcome import Outcome, TurnOutcome, TurnTracker


class StreamedTurns:
    def __init__(
        self,
        settings: TurnSettings,
        lifecycle: TurnLifecycle,
        answerer: Answerer,
        tracker: TurnTracker,
    ) -> None:
        self.settings = settings
        self.lifecycle = lifecycle
        self.answerer = answerer
        self.tracker = tracker

    def complete(self, request: TurnRequest) -> AsyncGenerator[ReplyEvent, None]:
        """One turn; its outcome is reported once when it ends."""
        outcome = TurnOutcome()
        return self.tracker.track(self._complete(request, outcome), outcome, request)

    async def _complete(
        self, request: TurnRequest, outcome: TurnOutcome
    ) -> AsyncGenerator[ReplyEvent, None]:
        started_at = time.perf_counter()
        user_id = request.user_id
        chat = await self.lifecycle.chat_of(user_id, request.chat_id)
        turn, slot = await self.lifecycle.start_turn(
            user_id, chat, request.content, request.client_request_id, request.branching
        )
        if slot is None or turn.assistant.status is MessageStatus.COMPLETE:
            # A retry of a finished turn (also one that finished while this retry started).
            if slot is not None:
                self.lifecycle.release(user_id, TurnKind.STREAM, slot.slot_id)
            outcome.outcome, outcome.cached = Outcome.REPLAYED, turn.assistant.cached
            yield ReplyDelta(turn.assistant.content)
            yield ReplyFinal(turn.user.message_id, turn.assistant)
            return
        mode = RunMode(lease_s=self.settings.turn_lease_s, slot=slot)
        try:
            async with aclosing(
                self.answerer.reply(request, chat, turn, outcome, started_at, mode)
            ) as events:
                async for event in events:
                    yield event
        finally:
            self.lifecycle.release(user_id, TurnKind.STREAM, slot.slot_id)
