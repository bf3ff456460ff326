"""A submitted turn (SubmitCompletion): stored with a QUEUED reply and published as a job, so
the caller gets it back at once and any replica's worker generates it (the in-process fallback
without a queue). Readers follow it on any replica (GetTurn; StreamTurn: follow.py). A busy
model is waited for (backing off) instead of failing the turn; a shutdown hands it back to the
queue; a job given up on marks the turn failed. The user's queue slot is held until it ends."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import replace
from datetime import datetime

from chat_service.admission import TurnKind
from chat_service.config import TurnSettings
from chat_service.domain import ChatRecord, MessageStatus, Sampling, Turn, utcnow
from chat_service.jobs.jobs import GenerateTurn
from chat_service.timed_store import TimedStore
from chat_service.turn.answer import Answerer
from chat_service.turn.events import ReplyEvent, TurnRequest
from chat_service.turn.lifecycle import RunMode, TurnLifecycle, queued_slot
from chat_service.turn.outcome import Outcome, TurnOutcome, TurnTracker
from chat_service.turn.side_work import SideWork
from server_kit.errors import (
    NotFound,
    ResourceExhausted,
    ServiceError,
)


def submitted_time(job: GenerateTurn) -> float | None:
    """When the job's submission was queued (its reply record's time), as time.time()."""
    try:
        return datetime.fromisoformat(job.submitted_at).timestamp()
    except ValueError:
        return None


class SubmittedTurns:
    def __init__(
        self,
        store: TimedStore,
        settings: TurnSettings,
        lifecycle: TurnLifecycle,
        answerer: Answerer,
        side_work: SideWork,
        tracker: TurnTracker,
    ) -> None:
        self.store = store
        self.settings = settings
        self.lifecycle = lifecycle
        self.answerer = answerer
        self.side_work = side_work
        self.tracker = tracker

    async def submit(self, request: TurnRequest) -> Turn:
        """Stores the user's message and a QUEUED reply, queues the turn and returns at once.
        A retry with the same client request id returns the stored turn; if that one failed,
        was interrupted or abandoned, it is queued again (regenerated into the same messages)."""
        user_id, chat_id = request.user_id, request.chat_id
        client_request_id, sampling = request.client_request_id, request.sampling
        chat = await self.lifecycle.chat_of(user_id, chat_id)
        existing = (
            await self.store.find_turn(user_id, chat_id, client_request_id)
            if client_request_id
            else None
        )
        if existing is not None and (
            existing.assistant.status is MessageStatus.COMPLETE
            or self.lifecycle.running(existing.assistant)
        ):
            return existing
        request_id = client_request_id or uuid.uuid4().hex
        slot_id = queued_slot(chat_id, request_id)
        try:
            await self.lifecycle.admit(user_id, TurnKind.QUEUED, slot_id)
        except ResourceExhausted as exc:  # logged and counted like a refused streamed turn
            refused = TurnOutcome(Outcome.REFUSED, exc.reason)
            self.tracker.report(
                replace(request, client_request_id=request_id), refused, time.perf_counter()
            )
            raise
        try:
            turn = await self._queue_turn(request, chat, request_id, existing)
        except BaseException:
            self.lifecycle.release(user_id, TurnKind.QUEUED, slot_id)
            raise
        job = GenerateTurn(
            user_id, chat_id, turn.assistant.client_request_id,
            turn.assistant.updated_at.isoformat(), request.bypass_cache, sampling.temperature,
            sampling.top_p, sampling.max_tokens, sampling.seed,
        )  # fmt: skip
        # With a queue the turn is durable (another replica runs it if this one dies); without
        # one, or if publishing fails, it runs here as a task (lost if this process dies before
        # it ends: its lease then expires and it reads as interrupted).
        await self.side_work.dispatch(job)
        return turn

    async def _queue_turn(
        self, request: TurnRequest, chat: ChatRecord, request_id: str, existing: Turn | None
    ) -> Turn:
        """Stores a new submitted turn (where the request places it), or marks an ended one
        queued again."""
        user_id = request.user_id
        if existing is None:
            return await self.lifecycle.new_turn(
                user_id, chat, request.content, request_id, MessageStatus.QUEUED,
                request.branching,
            )  # fmt: skip
        queued = replace(
            existing.assistant, content="", status=MessageStatus.QUEUED, error="",
            updated_at=utcnow(),
        )  # fmt: skip
        await self.store.save_message(user_id, queued)
        return Turn(existing.user, queued)

    async def get_turn(self, user_id: str, chat_id: str, client_request_id: str) -> Turn:
        await self.lifecycle.chat_of(user_id, chat_id)
        turn = await self.store.find_turn(user_id, chat_id, client_request_id)
        if turn is None:
            raise NotFound(
                f"no turn with client_request_id {client_request_id!r} in chat {chat_id}",
                reason="TURN_NOT_FOUND",
            )
        return Turn(turn.user, self.lifecycle.as_seen(user_id, turn.assistant))

    async def run_submitted(self, job: GenerateTurn) -> None:
        """Generates a submitted turn: the queue's handler (and the in-process fallback).
        Idempotent under redelivery: a finished turn is left alone; a turn whose lease is live
        runs elsewhere (this waits until it ends or is abandoned, then takes it over); a model
        that is busy is waited for (backing off) rather than failing the turn. Once it has
        ended (not when a shutdown hands it back to the queue) its queue slot is freed."""
        await self._run_submitted(job)
        self.lifecycle.release_queue_slot(job)

    async def _run_submitted(self, job: GenerateTurn) -> None:
        started_at = time.perf_counter()
        chat = await self.store.get_chat(job.user_id, job.chat_id)
        turn = await self._claim(job) if chat is not None else None
        if chat is None or turn is None:
            return
        sampling = Sampling(job.temperature, job.top_p, job.max_tokens, job.seed)
        mode = RunMode(
            lease_s=self.settings.async_progress_s, retry_when_busy=True,
            requeue_when_stopped=True, publish_progress=True,
            submitted_at=submitted_time(job),
        )  # fmt: skip
        busy_until = time.monotonic() + self.settings.async_busy_wait_s
        delay = 1.0
        request = TurnRequest(
            job.user_id, job.chat_id, "", job.client_request_id, sampling, job.bypass_cache
        )
        while True:
            if time.monotonic() + delay > busy_until:
                mode = replace(mode, retry_when_busy=False)  # last attempt: busy means failed
            outcome = TurnOutcome()
            events = self.answerer.reply(request, chat, turn, outcome, started_at, mode)
            # In a task of its own, which CancelTurn may cancel (running.py): never the
            # worker's, whose cancellation means a shutdown (the job is redelivered).
            attempt = asyncio.ensure_future(self._drain(events, outcome, request))
            try:
                await attempt
                return
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # this worker is stopping
                return  # stopped by CancelTurn; stored as interrupted
            except ResourceExhausted:
                if not mode.retry_when_busy:
                    return
            except ServiceError:  # stored as failed by the answerer
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _drain(
        self, events: AsyncGenerator[ReplyEvent, None], outcome: TurnOutcome, request: TurnRequest
    ) -> None:
        async with aclosing(self.tracker.track(events, outcome, request)) as tracked:
            async for _ in tracked:
                pass

    async def fail_submitted(self, job: GenerateTurn) -> None:
        """A submitted turn given up on (its job was dead-lettered): marked failed, not left
        queued or pending for good."""
        turn = await self.store.find_turn(job.user_id, job.chat_id, job.client_request_id)
        if turn is None or turn.assistant.status not in (
            MessageStatus.QUEUED,
            MessageStatus.PENDING,
        ):
            return
        failed = replace(
            turn.assistant, status=MessageStatus.FAILED, updated_at=utcnow(),
            error="the turn could not be generated: it failed too many times; resubmit it",
        )  # fmt: skip
        await self.store.save_message(job.user_id, failed)
        self.lifecycle.release_queue_slot(job)

    async def _claim(self, job: GenerateTurn) -> Turn | None:
        """The turn to generate, marked PENDING (leased) by this replica; None when there is
        nothing to do."""
        while True:
            turn = await self.store.find_turn(job.user_id, job.chat_id, job.client_request_id)
            if turn is None:
                return None  # deleted meanwhile
            reply = turn.assistant
            if reply.status is MessageStatus.QUEUED or self.lifecycle.abandoned(reply):
                break
            if reply.status is not MessageStatus.PENDING:
                return None  # finished (a resubmission queues a job of its own)
            await asyncio.sleep(self.settings.turn_lease_s)  # running elsewhere: wait for it
        claimed = replace(reply, status=MessageStatus.PENDING, content="", updated_at=utcnow())
        await self.store.save_message(job.user_id, claimed)
        return Turn(turn.user, claimed)
