"""Answering a started turn: from the answer cache when it holds the same question, else from
the model with the prompt the chat's history policy builds (both are started together: the
lookup has its own short deadline, and a hit discards the prompt). Then how the turn ended is
saved, and the work a completed turn leaves behind is handed to the side work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, replace
from typing import Any

from chat_service import metrics
from chat_service.admission import TurnKind, UserAdmission
from chat_service.cache.semantic_cache import CacheHit
from chat_service.config import ConversationSettings
from chat_service.domain import (
    ChatRecord,
    HistoryPolicy,
    MessageRecord,
    MessageStatus,
    Sampling,
    Turn,
    utcnow,
)
from chat_service.inference_client import GenerationDone, InferenceClient, TextDelta
from chat_service.jobs.jobs import StoreCacheEntry, SummarizeChat
from chat_service.prompt import Prompt, PromptBuilder
from chat_service.summarizer import Summarizer
from chat_service.timed_store import TimedStore
from chat_service.turn.events import ReplyDelta, ReplyError, ReplyEvent, ReplyFinal, TurnRequest
from chat_service.turn.lifecycle import Lease, ReplyBuffer, RunMode, TurnLifecycle
from chat_service.turn.outcome import Outcome, TurnOutcome
from chat_service.turn.running import RunningTurns, StopRequested, TurnKey
from chat_service.turn.side_work import SideWork
from chat_service.turn_cache import TurnCache, answer_chunks
from server_kit.errors import Cancelled, ResourceExhausted, ServiceError, Unavailable
from server_kit.tracing import span


def stopped_by_user() -> Cancelled:
    return Cancelled("the turn was stopped (CancelTurn)", reason="TURN_STOPPED")


def merge_sampling(turn: Sampling, chat: Sampling) -> Sampling:
    """Per-turn settings win over the chat's; unset fields stay None (engine defaults)."""
    return Sampling(
        temperature=turn.temperature if turn.temperature is not None else chat.temperature,
        top_p=turn.top_p if turn.top_p is not None else chat.top_p,
        max_tokens=turn.max_tokens if turn.max_tokens is not None else chat.max_tokens,
        seed=turn.seed if turn.seed is not None else chat.seed,
    )


@dataclass
class _Attempt:
    """One answering of a turn: its reply, the lease keeping it alive, and what it came to."""

    reply: ReplyBuffer
    lease: Lease
    hit: CacheHit | None = None
    prompt: Prompt | None = None
    unsaved: ServiceError | None = None  # whole, but storing it failed


def _discard(task: asyncio.Future[Any]) -> None:
    """Cancels a side task whose result is no longer wanted, without an unretrieved-exception
    warning if it already failed."""
    task.cancel()
    task.add_done_callback(lambda t: t.cancelled() or t.exception())


class Answerer:
    def __init__(
        self,
        store: TimedStore,
        inference: InferenceClient,
        settings: ConversationSettings,
        cache: TurnCache | None,
        lifecycle: TurnLifecycle,
        side_work: SideWork,
        running: RunningTurns,
    ) -> None:
        self.running = running  # the turns answered here now: followers' snapshots, stops
        self.store = store
        self.inference = inference
        self.settings = settings
        self.cache = cache  # None: the answer cache is off
        self.lifecycle = lifecycle
        self.side_work = side_work
        self.admission: UserAdmission = lifecycle.admission
        self.prompts = PromptBuilder(store, inference, settings)
        self.summarizer = Summarizer(store, inference, settings)

    async def reply(
        self,
        request: TurnRequest,
        chat: ChatRecord,
        turn: Turn,
        outcome: TurnOutcome,
        started_at: float,
        mode: RunMode,
    ) -> AsyncGenerator[ReplyEvent, None]:
        """Answers a started turn (from the cache or the model) and stores how it ended."""
        user_id = request.user_id
        attempt = self._attempt(user_id, turn, started_at, mode)
        reply = attempt.reply
        merged = merge_sampling(request.sampling, chat.settings.sampling)
        lookup = (
            self.cache.start_lookup(user_id, chat, turn.user, merged, request.bypass_cache)
            if self.cache is not None
            else None
        )
        building = self._prompt_beside(lookup, user_id, chat, turn.user)
        key = TurnKey(user_id, chat.chat_id, turn.assistant.client_request_id)
        running = self.running.start(key, reply, mode.publish_progress, mode.submitted_at)
        try:
            # aclosing at each level: a turn stopped here closes the inner generators (and so
            # cancels the inference call) now, not when they are collected.
            answering = self._answer(attempt, user_id, chat, turn, merged, lookup, building)
            async with aclosing(answering) as deltas:
                async for delta in deltas:
                    running.inside = False
                    self.running.delta(running, delta.text)
                    yield delta
                    running.enter()
        except (asyncio.CancelledError, GeneratorExit, StopRequested) as exc:
            await attempt.lease.stop()
            await self._stopped(user_id, reply, outcome, mode, running.stop_requested)
            if isinstance(exc, GeneratorExit) or not running.stop_requested:
                raise
            # Stopped by CancelTurn (running.py): the turn ends here, the caller carries on.
            if isinstance(exc, asyncio.CancelledError):
                self._uncancel()
            yield ReplyError(stopped_by_user(), reply.assistant.message_id)
            return
        except ServiceError as exc:
            await attempt.lease.stop()
            await self._failed(user_id, reply, outcome, mode, exc)
            if not reply.parts:
                raise  # nothing streamed yet: a plain status (REST clients get 429/503/400)
            yield ReplyError(exc, reply.assistant.message_id)
            return
        finally:
            self.running.finish(running)
            await attempt.lease.stop()
            for task in (lookup, building):
                if task is not None and not task.done():
                    _discard(task)
        yield self._ended(attempt, outcome, user_id, chat, turn, merged)

    def _prompt_beside(
        self,
        lookup: asyncio.Future[CacheHit | None] | None,
        user_id: str,
        chat: ChatRecord,
        question: MessageRecord,
    ) -> asyncio.Future[Prompt] | None:
        """With a cache lookup, the prompt is built beside it (a task); without one, later, in
        the turn's own task (_answer)."""
        if lookup is None:
            return None
        return asyncio.ensure_future(self._build_prompt(user_id, chat, question))

    def _attempt(self, user_id: str, turn: Turn, started_at: float, mode: RunMode) -> _Attempt:
        """The reply to stream and its lease. A regenerated turn (its earlier attempt failed or
        was interrupted) starts unmarked."""
        reply = ReplyBuffer(
            replace(turn.assistant, status=MessageStatus.PENDING, cached=False,
                    cache_similarity=0.0),
            started_at,
        )  # fmt: skip
        lease = Lease(self.store, user_id, reply, mode.lease_s, self._renewal(user_id, mode))
        return _Attempt(reply, lease)

    @staticmethod
    def _uncancel() -> None:
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()

    def _renewal(self, user_id: str, mode: RunMode) -> Callable[[], Awaitable[None]] | None:
        """What the lease renews beside the pending reply: the user's stream slot, if held."""
        slot = mode.slot
        if slot is None:
            return None
        return lambda: self.admission.renew(user_id, TurnKind.STREAM, slot)

    async def _answer(
        self,
        attempt: _Attempt,
        user_id: str,
        chat: ChatRecord,
        turn: Turn,
        sampling: Sampling,
        lookup: asyncio.Future[CacheHit | None] | None,
        building: asyncio.Future[Prompt] | None,
    ) -> AsyncGenerator[ReplyDelta, None]:
        """The reply's text (the cache's, else the model's), then the whole reply saved."""
        reply = attempt.reply
        attempt.hit = await lookup if lookup is not None else None
        if attempt.hit is not None:
            if building is not None:
                _discard(building)
            text = self._cached_reply(attempt.hit, reply)
        else:
            attempt.prompt = await (
                building if building is not None else self._build_prompt(user_id, chat, turn.user)
            )
            text = self._generated_reply(chat, turn, attempt.prompt, sampling, reply)
        async with aclosing(text) as deltas:
            async for delta in deltas:
                yield delta
        await attempt.lease.stop()
        try:
            await self.store.save_message(user_id, reply.assistant)
        except ServiceError as exc:
            # Whole but not stored: it goes on being saved as complete in the background
            # (a retry of the request id then replays it); the client hears it is not saved.
            attempt.unsaved = exc
            await self.lifecycle.save_quietly(user_id, reply.assistant)

    def _ended(
        self,
        attempt: _Attempt,
        outcome: TurnOutcome,
        user_id: str,
        chat: ChatRecord,
        turn: Turn,
        sampling: Sampling,
    ) -> ReplyEvent:
        """The turn's last event once its text is out: the final reply, or the error of a
        reply that could not be stored; the outcome set, the work it leaves behind handed on."""
        answer = attempt.reply.assistant
        if attempt.unsaved is not None:
            outcome.outcome, outcome.reason = Outcome.FAILED, attempt.unsaved.reason
            return ReplyError(attempt.unsaved, answer.message_id)
        outcome.outcome, outcome.cached = Outcome.COMPLETE, answer.cached
        outcome.prompt_tokens = answer.prompt_tokens
        outcome.completion_tokens = answer.completion_tokens
        cached = attempt.hit is not None
        self._after_turn(user_id, chat, turn.user, answer, sampling, attempt.prompt, cached)
        return ReplyFinal(turn.user.message_id, answer)

    async def _stopped(
        self,
        user_id: str,
        reply: ReplyBuffer,
        outcome: TurnOutcome,
        mode: RunMode,
        by_user: bool,
    ) -> None:
        """Stopped (CancelTurn) or the client disconnected: keep what was generated. A
        submitted turn stopped by a shutdown goes back to the queue instead."""
        if mode.requeue_when_stopped and not by_user:
            outcome.outcome = Outcome.REQUEUED
            await self.lifecycle.save_quietly(user_id, replace(
                reply.assistant, content="", status=MessageStatus.QUEUED, updated_at=utcnow()
            ))  # fmt: skip
            return
        outcome.outcome = Outcome.INTERRUPTED
        await self.lifecycle.save_quietly(user_id, reply.ended(MessageStatus.INTERRUPTED))

    async def _failed(
        self,
        user_id: str,
        reply: ReplyBuffer,
        outcome: TurnOutcome,
        mode: RunMode,
        exc: ServiceError,
    ) -> None:
        if mode.retry_when_busy and isinstance(exc, ResourceExhausted) and not reply.parts:
            # A submitted turn waits for the model instead of failing: still pending.
            outcome.outcome, outcome.reason = Outcome.BUSY, exc.reason
            await self.lifecycle.save_quietly(user_id, reply.ended(MessageStatus.PENDING))
            raise exc
        outcome.outcome, outcome.reason = Outcome.FAILED, exc.reason
        await self.lifecycle.save_quietly(user_id, reply.ended(MessageStatus.FAILED, exc.message))

    async def _build_prompt(self, user_id: str, chat: ChatRecord, user: MessageRecord) -> Prompt:
        with span("prompt.build") as current:
            prompt = await self.prompts.build(user_id, chat, user)
            current.set_attribute("prompt.policy", prompt.policy.value)
            if prompt.counted:
                current.set_attribute("prompt.tokens", prompt.prompt_tokens)
            return prompt

    async def _cached_reply(
        self, hit: CacheHit, reply: ReplyBuffer
    ) -> AsyncGenerator[ReplyDelta, None]:
        """Streams a stored answer in word-sized deltas, as a generated one would arrive."""
        # Marked before streaming: a reply interrupted midway was cached too.
        reply.assistant = replace(
            reply.assistant, model=hit.model, cached=True, cache_similarity=hit.similarity
        )
        for chunk in answer_chunks(hit.answer):
            yield reply.seen(chunk)
        reply.assistant = replace(
            reply.assistant,
            content=hit.answer,
            status=MessageStatus.COMPLETE,
            updated_at=utcnow(),
            prompt_tokens=0,  # nothing was generated for this turn
            completion_tokens=0,
            finish_reason="stop",
            error="",
        )

    async def _generated_reply(
        self, chat: ChatRecord, turn: Turn, prompt: Prompt, sampling: Sampling, reply: ReplyBuffer
    ) -> AsyncGenerator[ReplyDelta, None]:
        """Streams the model's reply to the assembled prompt."""
        model = await self.inference.model()
        wanted = sampling.max_tokens or self.settings.default_max_tokens
        # Uncounted (far inside the budget): the engine clips to the context its prompt leaves.
        max_tokens = min(wanted, model.context_length)
        if prompt.counted:
            max_tokens = max(1, min(wanted, model.context_length - prompt.prompt_tokens))
        final: GenerationDone | None = None
        # aclosing: if this turn is cancelled, the inference call is cancelled (and the engine
        # request aborted) now, not when the generator is collected.
        async with aclosing(
            self.inference.generate(
                turn.assistant.client_request_id,
                prompt.messages,
                sampling,
                max_tokens,
                chat_id=chat.chat_id,
                user_id=chat.user_id,
            )
        ) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    yield reply.seen(event.text)
                else:
                    final = event
        if final is None:
            raise Unavailable("the model's stream ended early", reason="INFERENCE_FAILED")
        metrics.PROMPT_TOKENS.labels(prompt.policy.value).observe(final.prompt_tokens)
        reply.assistant = replace(
            reply.assistant,
            content="".join(reply.parts),
            status=MessageStatus.COMPLETE,
            updated_at=utcnow(),
            model=final.model,
            prompt_tokens=final.prompt_tokens,
            completion_tokens=final.completion_tokens,
            finish_reason=final.finish_reason.value,
            error="",
        )

    def _after_turn(
        self,
        user_id: str,
        chat: ChatRecord,
        question: MessageRecord,
        answer: MessageRecord,
        sampling: Sampling,
        prompt: Prompt | None,
        cached: bool,
    ) -> None:
        """Work a completed turn leaves behind, off the request path: its tokens charged to the
        user's budget, the answer cached and, for the summary policy, a summary checkpoint."""
        chat_id = chat.chat_id
        if not cached and self.admission.limits.daily_tokens:
            tokens = answer.prompt_tokens + answer.completion_tokens
            self.lifecycle.track(self.admission.charge(user_id, tokens), "charging a turn's tokens")
        if not cached and self.cache is not None and self.cache.wants_store(answer):
            self.side_work.offload(
                StoreCacheEntry(
                    user_id, chat_id, answer.client_request_id, question.message_id,
                    answer.message_id, sampling.temperature, sampling.top_p, sampling.max_tokens,
                    sampling.seed,
                )
            )  # fmt: skip
        if prompt is not None and prompt.wants_summary and prompt.policy is HistoryPolicy.SUMMARY:
            self.side_work.offload(SummarizeChat(user_id, chat_id, answer.message_id))
