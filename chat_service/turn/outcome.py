"""How a turn ended, reported once: its log line, its span's attributes and the turn counter
all come from `TurnTracker.report`, so their labels cannot drift apart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from opentelemetry import trace

from chat_service import metrics
from chat_service.turn.events import ReplyDelta, ReplyEvent, TurnRequest
from server_kit.errors import ResourceExhausted, ServiceError

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    """How a turn ended: the log line, the span attribute and the turn counter's label."""

    REJECTED = "rejected"  # refused before it started (bad input, unknown chat)
    REFUSED = "refused"  # a limit or a busy model: 429, nothing stored
    CANCELLED = "cancelled"  # the caller left before it started
    REPLAYED = "replayed"  # a retry of a finished turn: the stored answer again
    COMPLETE = "complete"
    INTERRUPTED = "interrupted"  # the caller left mid-answer: what it saw is kept
    FAILED = "failed"
    BUSY = "busy"  # a submitted turn's attempt found the model busy: it tries again
    REQUEUED = "requeued"  # a submitted turn handed back to the queue (shutdown)


@dataclass
class TurnOutcome:
    """What a turn's report says (filled in as the turn goes)."""

    outcome: Outcome = Outcome.REJECTED
    reason: str = ""
    cached: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    first_token_ms: float | None = None
    answer: list[str] = field(default_factory=list)


class TurnTracker:
    """Counts the turns in flight (shutdown waits for them) and reports each one once."""

    def __init__(self, log_content: bool) -> None:
        self.log_content = log_content  # debug only: message text is private
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def track(
        self,
        turn_events: AsyncGenerator[ReplyEvent, None],
        outcome: TurnOutcome,
        request: TurnRequest,
    ) -> AsyncGenerator[ReplyEvent, None]:
        started_at = time.perf_counter()
        self._in_flight += 1
        self._idle.clear()
        try:
            async with aclosing(turn_events) as events:
                async for event in events:
                    if isinstance(event, ReplyDelta):
                        if outcome.first_token_ms is None:
                            outcome.first_token_ms = (time.perf_counter() - started_at) * 1000
                        outcome.answer.append(event.text)
                    yield event
        except ServiceError as exc:
            outcome.reason = exc.reason
            if outcome.outcome is Outcome.REJECTED and isinstance(exc, ResourceExhausted):
                outcome.outcome = Outcome.REFUSED
            raise
        except (asyncio.CancelledError, GeneratorExit):
            if outcome.outcome is Outcome.REJECTED:  # gone before the turn started
                outcome.outcome = Outcome.CANCELLED
            raise
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()
            self.report(request, outcome, started_at)

    async def idle(self, timeout_s: float) -> None:
        """Until no turn is in flight (bounded)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout_s)

    def report(self, request: TurnRequest, outcome: TurnOutcome, started_at: float) -> None:
        fields: dict[str, Any] = {
            "client_request_id": request.client_request_id,
            "user_id": request.user_id,
            "chat_id": request.chat_id,
            "outcome": outcome.outcome,
            "cached": outcome.cached,
            "prompt_tokens": outcome.prompt_tokens,
            "completion_tokens": outcome.completion_tokens,
            "duration_ms": round((time.perf_counter() - started_at) * 1000, 1),
            "first_token_ms": (
                round(outcome.first_token_ms, 1) if outcome.first_token_ms is not None else None
            ),
        }
        if outcome.reason:
            fields["reason"] = outcome.reason
        if self.log_content:
            fields["question"] = request.content
            fields["answer"] = "".join(outcome.answer)
        log.info("turn %s", outcome.outcome, extra=fields)
        metrics.TURNS.labels(outcome.outcome).inc()
        # The same facts on the RPC's span (ids only: the user id is no span attribute).
        trace.get_current_span().set_attributes(
            {
                "chat.turn.outcome": outcome.outcome,
                "chat.turn.cached": outcome.cached,
                "chat.turn.prompt_tokens": outcome.prompt_tokens,
                "chat.turn.completion_tokens": outcome.completion_tokens,
            }
        )
