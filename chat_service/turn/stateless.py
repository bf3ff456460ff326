"""A turn without a stored chat (the OpenAI-compatible API): the client sends the whole
conversation, as OpenAI's API has it. It passes the same per-user admission as a chat's turn
(stream slot, turns per minute, daily tokens), is answered from the answer cache under the same
rules (user scope, model, system prompt, sampling and the preceding messages must match), and
is reported like every turn (log line, span, counter). Nothing of it is stored but its tokens
and, off the request path, its answer in the cache (in process: an answer lost to a crash is
only a later miss, and no message text goes through the queue)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass

from chat_service.admission import TurnKind, UserAdmission
from chat_service.cache.semantic_cache import CacheHit
from chat_service.config import ConversationSettings
from chat_service.domain import MessageRecord, MessageStatus, Role, Sampling, utcnow
from chat_service.ids import new_id
from chat_service.inference_client import GenerationDone, InferenceClient, TextDelta
from chat_service.store.ledger import Slot
from chat_service.turn.events import ReplyDelta, ReplyEvent, ReplyFinal, TurnRequest
from chat_service.turn.lifecycle import TurnLifecycle
from chat_service.turn.outcome import Outcome, TurnOutcome, TurnTracker
from chat_service.turn_cache import AskedQuestion, TurnCache, answer_chunks
from server_kit.errors import Unavailable


@dataclass(frozen=True)
class StatelessRequest:
    user_id: str
    messages: tuple[tuple[Role, str], ...]
    sampling: Sampling
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReplyStart:
    """The first event: where the reply comes from (known before any text)."""

    cached: bool


def asked_question(request: StatelessRequest) -> AskedQuestion | None:
    """The question the cache keys on: the last message, when it is the user's; stop strings
    change the answer and are not part of the key, so such a request is not cached."""
    if not request.messages or request.messages[-1][0] is not Role.USER or request.stop:
        return None
    *before, (_, question) = request.messages
    system = "\n\n".join(text for role, text in before if role is Role.SYSTEM)
    return AskedQuestion(question, tuple(before), system, request.sampling)


class StatelessTurns:
    def __init__(
        self,
        settings: ConversationSettings,
        lifecycle: TurnLifecycle,
        inference: InferenceClient,
        cache: TurnCache | None,
        tracker: TurnTracker,
    ) -> None:
        self.settings = settings
        self.lifecycle = lifecycle
        self.admission: UserAdmission = lifecycle.admission
        self.inference = inference
        self.cache = cache
        self.tracker = tracker

    def complete(self, request: StatelessRequest) -> AsyncGenerator[ReplyStart | ReplyEvent, None]:
        """ReplyStart, the reply's deltas, then ReplyFinal (its `assistant` is not stored)."""
        outcome = TurnOutcome()
        last = request.messages[-1][1] if request.messages else ""
        report_as = TurnRequest(request.user_id, "", last, "", request.sampling)
        events = self._complete(request, outcome)
        return self.tracker.track(events, outcome, report_as)  # type: ignore[arg-type]

    async def _complete(
        self, request: StatelessRequest, outcome: TurnOutcome
    ) -> AsyncGenerator[ReplyStart | ReplyEvent, None]:
        user_id = request.user_id
        slot = await self.lifecycle.admit(user_id, TurnKind.STREAM, new_id())
        renewing = asyncio.create_task(self._renew(user_id, slot))
        try:
            asked = asked_question(request)
            hit = await self._lookup(user_id, asked)
            reply = _Reply(new_id())
            text = self._cached(hit, reply) if hit else self._generated(request, reply)
            try:
                async with aclosing(text) as deltas:
                    # The first text before the start: a refusal of the model (busy, a prompt
                    # too long) is then the caller's HTTP status, not an error mid-stream.
                    first = await anext(deltas, None)
                    yield ReplyStart(cached=hit is not None)
                    if first is not None:
                        yield first
                    async for delta in deltas:
                        yield delta
            except (asyncio.CancelledError, GeneratorExit):
                outcome.outcome = Outcome.INTERRUPTED
                raise
            answer = reply.record(hit)
            outcome.outcome, outcome.cached = Outcome.COMPLETE, hit is not None
            outcome.prompt_tokens = answer.prompt_tokens
            outcome.completion_tokens = answer.completion_tokens
            self._after(user_id, asked, answer)
            yield ReplyFinal("", answer)
        finally:
            renewing.cancel()
            self.lifecycle.release(user_id, TurnKind.STREAM, slot.slot_id)

    async def _renew(self, user_id: str, slot: Slot) -> None:
        """Keeps the user's stream slot alive while the reply runs (it expires otherwise)."""
        period = max(1.0, self.admission.limits.stream_slot_s / 3)
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(period)
                await self.admission.renew(user_id, TurnKind.STREAM, slot)

    async def _lookup(self, user_id: str, asked: AskedQuestion | None) -> CacheHit | None:
        if self.cache is None or asked is None:
            return None
        return await self.cache.start_lookup_of(user_id, asked)

    async def _cached(self, hit: CacheHit, reply: _Reply) -> AsyncGenerator[ReplyDelta, None]:
        reply.model = hit.model
        for chunk in answer_chunks(hit.answer):
            yield reply.seen(chunk)

    async def _generated(
        self, request: StatelessRequest, reply: _Reply
    ) -> AsyncGenerator[ReplyDelta, None]:
        model = await self.inference.model()
        wanted = request.sampling.max_tokens or self.settings.default_max_tokens
        events = self.inference.generate(
            reply.message_id,
            request.messages,
            request.sampling,
            min(wanted, model.context_length),
            user_id=request.user_id,
            stop=request.stop,
        )
        async with aclosing(events) as stream:
            async for event in stream:
                if isinstance(event, TextDelta):
                    yield reply.seen(event.text)
                else:
                    reply.done = event
        if reply.done is None:
            raise Unavailable("the model's stream ended early", reason="INFERENCE_FAILED")

    def _after(self, user_id: str, asked: AskedQuestion | None, answer: MessageRecord) -> None:
        """Charged to the user's daily tokens; a generated whole answer cached."""
        if answer.cached:
            return
        tokens = answer.prompt_tokens + answer.completion_tokens
        if self.admission.limits.daily_tokens:
            self.lifecycle.track(self.admission.charge(user_id, tokens), "charging a turn")
        if self.cache is not None and asked is not None and answer.finish_reason == "stop":
            store = self.cache.store_answer_of(user_id, answer.message_id, asked, answer.content)
            self.lifecycle.track(store, "caching an answer")


class _Reply:
    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.parts: list[str] = []
        self.model = ""
        self.done: GenerationDone | None = None
        self.started = time.perf_counter()

    def seen(self, text: str) -> ReplyDelta:
        self.parts.append(text)
        return ReplyDelta(text)

    def record(self, hit: CacheHit | None) -> MessageRecord:
        """The whole reply as a message (never stored: it only carries the figures)."""
        now = utcnow()
        done = self.done
        return MessageRecord(
            chat_id="",
            message_id=self.message_id,
            role=Role.ASSISTANT,
            content="".join(self.parts),
            status=MessageStatus.COMPLETE,
            created_at=now,
            updated_at=now,
            model=done.model if done else self.model,
            prompt_tokens=done.prompt_tokens if done else 0,
            completion_tokens=done.completion_tokens if done else 0,
            cached=hit is not None,
            cache_similarity=hit.similarity if hit else 0.0,
            finish_reason=done.finish_reason.value if done else "stop",
        )
