"""The chat service's business logic. It never touches gRPC: the servicer adapts it.

The guarantees (docs/architecture.md, "The guarantees") live in `complete()`:
- the user's message is persisted (with a pending assistant message) before inference starts;
- the reply is persisted when it completes; if the client goes away the partial reply is
  persisted as interrupted (and leaving the inference stream cancels the engine request);
  if inference fails the turn is marked failed with the reason;
- a retry with the same client request id adds no turn: a completed turn is replayed, a
  failed or interrupted one is regenerated into the same messages;
- the semantic answer cache (turn_cache.py) is consulted beside the prompt build, under its own
  short deadline: a hit streams the stored answer and persists a normal turn marked cached; a
  slow, down or failing cache only means the model answers;
- side work (summaries, cache writes, cache invalidation) goes to the message queue when one is
  configured (jobs/), else, or when publishing fails, runs as in-process tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from opentelemetry import trace

from chat_service import metrics
from chat_service.admission import TurnKind, UserAdmission, UserLimits
from chat_service.cache.semantic_cache import CacheHit
from chat_service.config import ChatSettings
from chat_service.domain import (
    ChatRecord,
    HistoryPolicy,
    MessageRecord,
    MessageStatus,
    Role,
    Sampling,
    Turn,
    utcnow,
)
from chat_service.domain import (
    ChatSettings as ChatOptions,
)
from chat_service.ids import new_id, new_ids
from chat_service.inference_client import InferenceClient
from chat_service.jobs.jobs import (
    GenerateTurn,
    InvalidateChatCache,
    Job,
    StoreCacheEntry,
    SummarizeChat,
)
from chat_service.jobs.queue import JobQueue, QueueUnavailable
from chat_service.page_tokens import decode_page_token, encode_page_token
from chat_service.prompt import Prompt, PromptBuilder
from chat_service.store.ledger import Slot
from chat_service.summarizer import Summarizer
from chat_service.timed_store import TimedStore
from chat_service.turn_cache import TurnCache, answer_chunks
from server_kit.errors import (
    FailedPrecondition,
    NotFound,
    ResourceExhausted,
    ServiceError,
    Unavailable,
)
from server_kit.tasks import BackgroundTasks
from server_kit.tracing import tracer

log = logging.getLogger(__name__)

TITLE_CHARS = 60


@dataclass(frozen=True)
class ReplyDelta:
    text: str


@dataclass(frozen=True)
class ReplyFinal:
    user_message_id: str
    assistant: MessageRecord


@dataclass(frozen=True)
class ReplyError:
    """A failure after the reply started streaming."""

    error: ServiceError
    assistant_message_id: str


ReplyEvent = ReplyDelta | ReplyFinal | ReplyError


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
    """What a turn's log line reports (filled in as the turn goes)."""

    outcome: Outcome = Outcome.REJECTED
    reason: str = ""
    cached: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    first_token_ms: float | None = None
    answer: list[str] = field(default_factory=list)


def title_from(content: str) -> str:
    """A short title from the first user message: its first line, cut at a word boundary."""
    line = " ".join(content.split())
    if len(line) <= TITLE_CHARS:
        return line
    cut = line[:TITLE_CHARS].rsplit(" ", 1)[0] or line[:TITLE_CHARS]
    return cut + "…"


def _discard(task: asyncio.Future[Any]) -> None:
    """Cancels a side task whose result is no longer wanted, without an unretrieved-exception
    warning if it already failed."""
    task.cancel()
    task.add_done_callback(lambda t: t.cancelled() or t.exception())


def _queued_slot(chat_id: str, request_id: str) -> str:
    """A submitted turn's queue slot: named by the turn, so a resubmission reuses it."""
    return f"{chat_id}/{request_id}"


def merge_sampling(turn: Sampling, chat: Sampling) -> Sampling:
    """Per-turn settings win over the chat's; unset fields stay None (engine defaults)."""
    return Sampling(
        temperature=turn.temperature if turn.temperature is not None else chat.temperature,
        top_p=turn.top_p if turn.top_p is not None else chat.top_p,
        max_tokens=turn.max_tokens if turn.max_tokens is not None else chat.max_tokens,
        seed=turn.seed if turn.seed is not None else chat.seed,
    )


@dataclass
class _Reply:
    """The assistant's reply as a turn streams it: what the client has seen so far, and the
    record to store however the turn ends."""

    assistant: MessageRecord
    started_at: float
    parts: list[str] = field(default_factory=list)

    def seen(self, text: str) -> ReplyDelta:
        if not self.parts:
            metrics.TIME_TO_FIRST_TOKEN.observe(time.perf_counter() - self.started_at)
        self.parts.append(text)
        return ReplyDelta(text)

    def ended(self, status: MessageStatus, error: str = "") -> MessageRecord:
        """The record of a turn that stopped early: the partial reply, with its status."""
        return replace(
            self.assistant,
            content="".join(self.parts),
            status=status,
            updated_at=utcnow(),
            error=error or self.assistant.error,
        )


@dataclass(frozen=True)
class _RunMode:
    """How a turn runs: interactive (a client streams it) or submitted (a worker runs it)."""

    lease_s: float  # how often the pending reply is re-saved (submitted: progress for readers)
    retry_when_busy: bool = False  # a saturated model leaves it pending for a later attempt
    # Stopped by a shutdown: queued again for another replica, not stored as interrupted (no
    # client asked it to stop).
    requeue_when_stopped: bool = False
    slot: Slot | None = None  # the user's stream slot (admission.py), renewed with the lease


class _Lease:
    """Re-saves a running turn's pending reply (with the text so far) every `interval_s`: the
    record's age tells other replicas a running turn from one whose server died
    (`abandoned_turn_s`), and StreamTurn readers see the reply grow. Stopped (never cancelled
    mid-save) before the turn saves how it ended, so a late refresh cannot overwrite that."""

    def __init__(
        self,
        store: TimedStore,
        user_id: str,
        reply: _Reply,
        interval_s: float,
        renew: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.store, self.user_id, self.reply, self.interval_s = store, user_id, reply, interval_s
        self.renew = renew
        self._stopping = asyncio.Event()
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval_s)
                return
            try:
                await self.store.save_message(self.user_id, self.reply.ended(MessageStatus.PENDING))
                if self.renew is not None:
                    await self.renew()
            except ServiceError:  # the store is down: the turn's own saves report it
                log.debug("refreshing a pending reply failed", exc_info=True)

    async def stop(self) -> None:
        self._stopping.set()
        if not self._task.done():
            await asyncio.shield(self._task)


class ChatService:
    def __init__(
        self,
        store: TimedStore,
        inference: InferenceClient,
        settings: ChatSettings,
        cache: TurnCache | None = None,
        queue: JobQueue | None = None,
    ) -> None:
        self.store = store
        self.inference = inference
        self.settings = settings
        self.cache = cache  # None: the semantic answer cache is off
        self.queue = queue  # None: no message queue, side work runs as in-process tasks
        self.prompts = PromptBuilder(store, inference, settings)
        self.summarizer = Summarizer(store, inference, settings)
        self.admission = UserAdmission(store, UserLimits.from_settings(settings))
        self._side_work = BackgroundTasks("side work")  # publishes, in-process submitted turns
        # Shutdown waits for these: turns still running (their cleanup stores an interrupted
        # reply) and the saves that record how a turn ended.
        self._turns_in_flight = 0
        self._no_turns = asyncio.Event()
        self._no_turns.set()
        self._final_saves = BackgroundTasks("final save")

    # -- chats ---------------------------------------------------------------------------

    async def create_chat(
        self, user_id: str, title: str, system_prompt: str, options: ChatOptions
    ) -> ChatRecord:
        now = utcnow()
        chat = ChatRecord(
            user_id=user_id,
            chat_id=new_id(),
            title=title.strip(),
            system_prompt=system_prompt,
            settings=options,
            created_at=now,
            updated_at=now,
            title_from_user=bool(title.strip()),
        )
        await self.store.create_chat(chat)
        return chat

    async def chat_of(self, user_id: str, chat_id: str) -> ChatRecord:
        chat = await self.store.get_chat(user_id, chat_id)
        if chat is None:  # also for another user's chat: existence is not revealed
            raise NotFound(f"chat {chat_id} not found", reason="CHAT_NOT_FOUND")
        return chat

    async def list_chats(
        self, user_id: str, page_size: int, page_token: str
    ) -> tuple[list[ChatRecord], str]:
        before = decode_page_token(page_token)
        chats = await self.store.list_chats(user_id, page_size + 1, before)
        more = len(chats) > page_size
        chats = chats[:page_size]
        return chats, encode_page_token(chats[-1].chat_id) if more else ""

    async def get_chat(
        self, user_id: str, chat_id: str, page_size: int, page_token: str
    ) -> tuple[ChatRecord, list[MessageRecord], str]:
        before = decode_page_token(page_token)
        chat = await self.chat_of(user_id, chat_id)
        newest_first = await self.store.recent_messages(user_id, chat_id, page_size + 1, before)
        more = len(newest_first) > page_size
        page = newest_first[:page_size]
        token = encode_page_token(page[-1].message_id) if more else ""
        page.reverse()
        return chat, [self._as_seen(user_id, m) for m in page], token

    async def delete_chat(self, user_id: str, chat_id: str, allow_missing: bool = False) -> None:
        """NOT_FOUND for a chat the user does not have, unless `allow_missing`: then the delete
        runs anyway (a no-op in the store; it also retries a cache cleanup left behind)."""
        if not allow_missing:
            await self.chat_of(user_id, chat_id)
        await self.store.delete_chat(user_id, chat_id)
        if self.cache is None:
            return
        cache = self.cache
        # With a queue the worker deletes the entries (retried until it works, and after the
        # cache stores published before it); without one, or if publishing fails, inline and
        # failure-tolerant: never fails the delete.
        await self._publish_or(
            InvalidateChatCache(user_id, chat_id), lambda: cache.delete_chat(user_id, chat_id)
        )

    # -- work off the request path -------------------------------------------------------

    async def _publish_or(self, job: Job, fallback: Callable[[], Awaitable[None] | None]) -> None:
        """Publishes the job to the message queue, or runs `fallback` (the in-process path)
        when there is no queue or publishing fails or times out. The queue being down must
        never fail an interactive turn: it only costs the durability and retries of the job."""
        if self.queue is not None:
            try:
                await self.queue.publish(job)
                metrics.QUEUE_PUBLISH.labels(job.kind, "published").inc()
                return
            except QueueUnavailable as exc:
                metrics.QUEUE_PUBLISH.labels(job.kind, "fallback").inc()
                log.warning("job runs in process", extra={"job": job.kind, "error": str(exc)})
        pending = fallback()
        if pending is not None:
            await pending

    def _offload(self, job: Job, fallback: Callable[[], None]) -> None:
        """The turn does not wait for the publish either: a background task."""
        if self.queue is None:
            fallback()  # no queue: exactly the in-process task, as before
            return
        self._side_work.spawn(self._publish_or(job, fallback), name=f"publish-{job.kind}")

    async def wait_published(self) -> None:
        """Waits for the background publishes (tests, shutdown)."""
        await self._side_work.wait()

    # -- turns ---------------------------------------------------------------------------

    def complete(
        self,
        user_id: str,
        chat_id: str,
        content: str,
        client_request_id: str,
        sampling: Sampling,
        bypass_cache: bool = False,
    ) -> AsyncGenerator[ReplyEvent, None]:
        """One turn (see the module docstring); its outcome is logged once when it ends."""
        outcome = TurnOutcome()
        events = self._complete(
            user_id, chat_id, content, client_request_id, sampling, bypass_cache, outcome
        )
        return self._tracked(events, outcome, user_id, chat_id, client_request_id, content)

    async def _tracked(
        self,
        turn_events: AsyncGenerator[ReplyEvent, None],
        outcome: TurnOutcome,
        user_id: str,
        chat_id: str,
        client_request_id: str,
        content: str,
    ) -> AsyncGenerator[ReplyEvent, None]:
        """Counts the turn in flight (shutdown waits for it) and logs its outcome once."""
        started_at = time.perf_counter()
        self._turns_in_flight += 1
        self._no_turns.clear()
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
            self._turns_in_flight -= 1
            if not self._turns_in_flight:
                self._no_turns.set()
            self._log_turn(user_id, chat_id, client_request_id, content, outcome, started_at)

    async def drain(self, timeout_s: float) -> None:
        """At shutdown, after the server has cancelled the open streams: waits (bounded) until
        every turn has recorded how it ended, so closing the store loses nothing."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._no_turns.wait(), timeout_s)
        await self._final_saves.wait(timeout_s)

    # -- submitted turns (asynchronous mode) ---------------------------------------------

    async def submit(
        self,
        user_id: str,
        chat_id: str,
        content: str,
        client_request_id: str,
        sampling: Sampling,
        bypass_cache: bool = False,
    ) -> Turn:
        """Stores the user's message and a QUEUED reply, queues the turn and returns at once.
        A retry with the same client request id returns the stored turn; if that one failed,
        was interrupted or abandoned, it is queued again (regenerated into the same messages)."""
        chat = await self.chat_of(user_id, chat_id)
        existing = (
            await self.store.find_turn(user_id, chat_id, client_request_id)
            if client_request_id
            else None
        )
        if existing is not None and (
            existing.assistant.status is MessageStatus.COMPLETE or self._running(existing.assistant)
        ):
            return existing
        request_id = client_request_id or uuid.uuid4().hex
        slot_id = _queued_slot(chat_id, request_id)
        try:
            await self._admit(user_id, TurnKind.QUEUED, slot_id)
        except ResourceExhausted as exc:  # logged and counted like a refused streamed turn
            refused = TurnOutcome(Outcome.REFUSED, exc.reason)
            self._log_turn(user_id, chat_id, request_id, content, refused, time.perf_counter())
            raise
        try:
            turn = await self._queue_turn(user_id, chat, content, request_id, existing)
        except BaseException:
            self._release(user_id, TurnKind.QUEUED, slot_id)
            raise
        job = GenerateTurn(
            user_id, chat_id, turn.user.client_request_id,
            turn.assistant.updated_at.isoformat(), bypass_cache, sampling.temperature,
            sampling.top_p, sampling.max_tokens, sampling.seed,
        )  # fmt: skip
        # With a queue the turn is durable (another replica runs it if this one dies); without
        # one, or if publishing fails, it runs here as a task (lost if this process dies before
        # it ends: its lease then expires and it reads as interrupted).
        await self._publish_or(job, lambda: self._run_in_process(job))
        return turn

    async def _queue_turn(
        self, user_id: str, chat: ChatRecord, content: str, request_id: str, existing: Turn | None
    ) -> Turn:
        """Stores a new submitted turn, or marks an ended one queued again."""
        if existing is None:
            return await self._new_turn(user_id, chat, content, request_id, MessageStatus.QUEUED)
        queued = replace(
            existing.assistant, content="", status=MessageStatus.QUEUED, error="",
            updated_at=utcnow(),
        )  # fmt: skip
        await self.store.save_message(user_id, queued)
        return Turn(existing.user, queued)

    def _run_in_process(self, job: GenerateTurn) -> None:
        self._side_work.spawn(self.run_submitted(job), name=f"turn-{job.chat_id}")

    async def get_turn(self, user_id: str, chat_id: str, client_request_id: str) -> Turn:
        await self.chat_of(user_id, chat_id)
        turn = await self.store.find_turn(user_id, chat_id, client_request_id)
        if turn is None:
            raise NotFound(
                f"no turn with client_request_id {client_request_id!r} in chat {chat_id}",
                reason="TURN_NOT_FOUND",
            )
        return Turn(turn.user, self._as_seen(user_id, turn.assistant))

    async def follow_turn(
        self, user_id: str, chat_id: str, client_request_id: str
    ) -> AsyncGenerator[ReplyEvent, None]:
        """Streams a turn from the store: the reply so far, then what each read adds, then how
        it ended. Reading the store (not the generating replica) works from any replica and
        survives restarts; the cost is up to `stream_turn_poll_s` of extra latency."""
        sent = ""
        last_event = time.monotonic()
        while True:
            turn = await self.get_turn(user_id, chat_id, client_request_id)
            reply = turn.assistant
            if reply.content == sent and (
                time.monotonic() - last_event >= self.settings.stream_turn_keepalive_s
            ):
                yield ReplyDelta("")  # still queued or thinking: keeps the stream open
                last_event = time.monotonic()
            if reply.content != sent:
                if not reply.content.startswith(sent):  # restarted from scratch elsewhere
                    restarted = FailedPrecondition(
                        "the turn was restarted; follow it again", reason="TURN_RESTARTED"
                    )
                    yield ReplyError(restarted, reply.message_id)
                    return
                yield ReplyDelta(reply.content[len(sent) :])
                sent, last_event = reply.content, time.monotonic()
            if reply.status is MessageStatus.COMPLETE:
                yield ReplyFinal(turn.user.message_id, reply)
                return
            if reply.status in (MessageStatus.FAILED, MessageStatus.INTERRUPTED):
                failure: ServiceError = Unavailable(
                    reply.error or f"the turn was {reply.status.value}",
                    reason="TURN_FAILED"
                    if reply.status is MessageStatus.FAILED
                    else "TURN_INTERRUPTED",
                )
                yield ReplyError(failure, reply.message_id)
                return
            await asyncio.sleep(self.settings.stream_turn_poll_s)

    async def run_submitted(self, job: GenerateTurn) -> None:
        """Generates a submitted turn: the queue's handler (and the in-process fallback).
        Idempotent under redelivery: a finished turn is left alone; a turn whose lease is live
        runs elsewhere (this waits until it ends or is abandoned, then takes it over); a model
        that is busy is waited for (backing off) rather than failing the turn. Once it has
        ended (not when a shutdown hands it back to the queue) its queue slot is freed."""
        await self._run_submitted(job)
        self._release_queue_slot(job)

    async def _run_submitted(self, job: GenerateTurn) -> None:
        started_at = time.perf_counter()
        chat = await self.store.get_chat(job.user_id, job.chat_id)
        turn = await self._claim(job) if chat is not None else None
        if chat is None or turn is None:
            return
        sampling = Sampling(job.temperature, job.top_p, job.max_tokens, job.seed)
        mode = _RunMode(
            lease_s=self.settings.async_progress_s, retry_when_busy=True, requeue_when_stopped=True
        )
        busy_until = time.monotonic() + self.settings.async_busy_wait_s
        delay = 1.0
        while True:
            outcome = TurnOutcome()
            events = self._reply(
                job.user_id, chat, turn, sampling, job.bypass_cache, outcome, started_at, mode
            )
            if time.monotonic() + delay > busy_until:
                mode = replace(mode, retry_when_busy=False)  # last attempt: busy means failed
            try:
                async with aclosing(
                    self._tracked(
                        events, outcome, job.user_id, job.chat_id, job.client_request_id, ""
                    )
                ) as tracked:
                    async for _ in tracked:
                        pass
                return
            except ResourceExhausted:
                if not mode.retry_when_busy:
                    return
            except ServiceError:  # stored as failed by _reply
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

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
        self._release_queue_slot(job)

    async def _claim(self, job: GenerateTurn) -> Turn | None:
        """The turn to generate, marked PENDING (leased) by this replica; None when there is
        nothing to do."""
        while True:
            turn = await self.store.find_turn(job.user_id, job.chat_id, job.client_request_id)
            if turn is None:
                return None  # deleted meanwhile
            reply = turn.assistant
            if reply.status is MessageStatus.QUEUED or self._abandoned(reply):
                break
            if reply.status is not MessageStatus.PENDING:
                return None  # finished (a resubmission queues a job of its own)
            await asyncio.sleep(self.settings.turn_lease_s)  # running elsewhere: wait for it
        claimed = replace(reply, status=MessageStatus.PENDING, content="", updated_at=utcnow())
        await self.store.save_message(job.user_id, claimed)
        return Turn(turn.user, claimed)

    def _log_turn(
        self,
        user_id: str,
        chat_id: str,
        client_request_id: str,
        content: str,
        outcome: TurnOutcome,
        started_at: float,
    ) -> None:
        fields: dict[str, Any] = {
            "client_request_id": client_request_id,
            "user_id": user_id,
            "chat_id": chat_id,
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
        if self.settings.log_content:  # debug only: message text is private
            fields["question"] = content
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

    async def _build_prompt(self, user_id: str, chat: ChatRecord, user: MessageRecord) -> Prompt:
        with tracer().start_as_current_span("prompt.build") as span:
            prompt = await self.prompts.build(user_id, chat, user)
            span.set_attribute("prompt.policy", prompt.policy.value)
            span.set_attribute("prompt.tokens", prompt.prompt_tokens)
            return prompt

    async def _complete(
        self,
        user_id: str,
        chat_id: str,
        content: str,
        client_request_id: str,
        sampling: Sampling,
        bypass_cache: bool,
        outcome: TurnOutcome,
    ) -> AsyncGenerator[ReplyEvent, None]:
        started_at = time.perf_counter()
        chat = await self.chat_of(user_id, chat_id)
        turn, slot = await self._start_turn(user_id, chat, content, client_request_id)
        if slot is None or turn.assistant.status is MessageStatus.COMPLETE:
            # A retry of a finished turn (also one that finished while this retry started).
            if slot is not None:
                self._release(user_id, TurnKind.STREAM, slot.slot_id)
            outcome.outcome, outcome.cached = Outcome.REPLAYED, turn.assistant.cached
            yield ReplyDelta(turn.assistant.content)
            yield ReplyFinal(turn.user.message_id, turn.assistant)
            return
        mode = _RunMode(lease_s=self.settings.turn_lease_s, slot=slot)
        try:
            async with aclosing(
                self._reply(user_id, chat, turn, sampling, bypass_cache, outcome, started_at, mode)
            ) as events:
                async for event in events:
                    yield event
        finally:
            self._release(user_id, TurnKind.STREAM, slot.slot_id)

    async def _reply(
        self,
        user_id: str,
        chat: ChatRecord,
        turn: Turn,
        sampling: Sampling,
        bypass_cache: bool,
        outcome: TurnOutcome,
        started_at: float,
        mode: _RunMode,
    ) -> AsyncGenerator[ReplyEvent, None]:
        """Answers a started turn (from the cache or the model) and stores how it ended."""
        # A regenerated turn (its earlier attempt failed or was interrupted) starts unmarked.
        reply = _Reply(
            replace(turn.assistant, status=MessageStatus.PENDING, cached=False,
                    cache_similarity=0.0),
            started_at,
        )  # fmt: skip
        slot = mode.slot
        renew = (
            (lambda: self.admission.renew(user_id, TurnKind.STREAM, slot))
            if slot is not None
            else None
        )
        lease = _Lease(self.store, user_id, reply, mode.lease_s, renew)
        unsaved: ServiceError | None = None
        merged = merge_sampling(sampling, chat.settings.sampling)
        lookup = (
            self.cache.start_lookup(user_id, chat, turn.user, merged, bypass_cache)
            if self.cache is not None
            else None
        )
        # The prompt is built while the cache is consulted (the lookup has its own short
        # deadline); a hit discards it.
        building = asyncio.ensure_future(self._build_prompt(user_id, chat, turn.user))
        hit: CacheHit | None = None
        prompt: Prompt | None = None
        try:
            hit = await lookup if lookup is not None else None
            if hit is not None:
                _discard(building)
                async for delta in self._cached_reply(hit, reply):
                    yield delta
            else:
                prompt = await building
                async for delta in self._generated_reply(chat, turn, prompt, merged, reply):
                    yield delta
            await lease.stop()
            try:
                await self.store.save_message(user_id, reply.assistant)
            except ServiceError as exc:
                # Whole but not stored: it goes on being saved as complete in the background
                # (a retry of the request id then replays it); the client hears it is not saved.
                unsaved = exc
                await self._save_quietly(user_id, reply.assistant)
        except (asyncio.CancelledError, GeneratorExit):
            # The client cancelled or disconnected: keep what it saw.
            await lease.stop()
            if mode.requeue_when_stopped:
                outcome.outcome = Outcome.REQUEUED
                await self._save_quietly(user_id, replace(
                    reply.assistant, content="", status=MessageStatus.QUEUED, updated_at=utcnow()
                ))  # fmt: skip
                raise
            outcome.outcome = Outcome.INTERRUPTED
            await self._save_quietly(user_id, reply.ended(MessageStatus.INTERRUPTED))
            raise
        except ServiceError as exc:
            await lease.stop()
            if mode.retry_when_busy and isinstance(exc, ResourceExhausted) and not reply.parts:
                # A submitted turn waits for the model instead of failing: still pending.
                outcome.outcome, outcome.reason = Outcome.BUSY, exc.reason
                await self._save_quietly(user_id, reply.ended(MessageStatus.PENDING))
                raise
            outcome.outcome, outcome.reason = Outcome.FAILED, exc.reason
            await self._save_quietly(user_id, reply.ended(MessageStatus.FAILED, exc.message))
            if not reply.parts:
                raise  # nothing streamed yet: a plain status (REST clients get 429/503/400)
            yield ReplyError(exc, reply.assistant.message_id)
            return
        finally:
            await lease.stop()
            for task in (lookup, building):
                if task is not None and not task.done():
                    _discard(task)
        if unsaved is not None:
            outcome.outcome, outcome.reason = Outcome.FAILED, unsaved.reason
            yield ReplyError(unsaved, reply.assistant.message_id)
            return
        answer = reply.assistant
        outcome.outcome, outcome.cached = Outcome.COMPLETE, answer.cached
        outcome.prompt_tokens = answer.prompt_tokens
        outcome.completion_tokens = answer.completion_tokens
        self._after_turn(user_id, chat, turn.user, answer, merged, prompt, cached=hit is not None)
        yield ReplyFinal(turn.user.message_id, answer)

    async def _cached_reply(self, hit: CacheHit, reply: _Reply) -> AsyncGenerator[ReplyDelta, None]:
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
        self, chat: ChatRecord, turn: Turn, prompt: Prompt, sampling: Sampling, reply: _Reply
    ) -> AsyncGenerator[ReplyDelta, None]:
        """Streams the model's reply to the assembled prompt."""
        metrics.PROMPT_TOKENS.labels(prompt.policy.value).observe(prompt.prompt_tokens)
        model = await self.inference.model()
        wanted = sampling.max_tokens or self.settings.default_max_tokens
        max_tokens = max(1, min(wanted, model.context_length - prompt.prompt_tokens))
        final = None
        # aclosing: if this turn is cancelled, the inference call is cancelled (and the engine
        # request aborted) now, not when the generator is collected.
        async with aclosing(
            self.inference.generate(
                turn.user.client_request_id,
                prompt.messages,
                sampling,
                max_tokens,
                chat_id=chat.chat_id,
                user_id=chat.user_id,
            )
        ) as events:
            async for event in events:
                if event.HasField("delta"):
                    yield reply.seen(event.delta.text)
                else:
                    final = event.final
        if final is None:
            raise Unavailable("the model's stream ended early", reason="INFERENCE_FAILED")
        reply.assistant = replace(
            reply.assistant,
            content="".join(reply.parts),
            status=MessageStatus.COMPLETE,
            updated_at=utcnow(),
            model=final.model,
            prompt_tokens=final.usage.prompt_tokens,
            completion_tokens=final.usage.completion_tokens,
            finish_reason="length" if final.finish_reason == 2 else "stop",
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
        """Work a completed turn leaves behind, off the request path: caching the answer and,
        for the summary policy, a new summary checkpoint."""
        chat_id = chat.chat_id
        if not cached and self.admission.limits.daily_tokens:
            tokens = answer.prompt_tokens + answer.completion_tokens
            self._track(self.admission.charge(user_id, tokens), "charging a turn's tokens")
        if not cached and self.cache is not None and self.cache.wants_store(answer):
            cache = self.cache
            self._offload(
                StoreCacheEntry(
                    user_id, chat_id, question.client_request_id, question.message_id,
                    answer.message_id, sampling.temperature, sampling.top_p, sampling.max_tokens,
                    sampling.seed,
                ),
                lambda: cache.schedule_store(user_id, chat, question, answer, sampling),
            )  # fmt: skip
        if prompt is not None and prompt.wants_summary and prompt.policy is HistoryPolicy.SUMMARY:
            self._offload(
                SummarizeChat(user_id, chat_id, answer.message_id),
                lambda: self.summarizer.schedule(user_id, chat_id),
            )

    async def _start_turn(
        self, user_id: str, chat: ChatRecord, content: str, client_request_id: str
    ) -> tuple[Turn, Slot | None]:
        """The turn to generate and the user's stream slot it holds; a retry of a finished turn
        (to replay) holds none."""
        existing: Turn | None = None
        if client_request_id:
            existing = await self.store.find_turn(user_id, chat.chat_id, client_request_id)
            if existing is not None:
                if self._running(existing.assistant):
                    raise FailedPrecondition(
                        f"the turn with client_request_id {client_request_id!r} is still "
                        "in progress (if its server stopped, it is released "
                        f"{self.settings.abandoned_turn_s:.0f} s after its last sign of life)",
                        reason="TURN_IN_PROGRESS",
                    )
                if existing.assistant.status is MessageStatus.COMPLETE:
                    return existing, None  # replayed
        slot = await self._admit(user_id, TurnKind.STREAM, new_id())
        try:
            if existing is None:
                request_id = client_request_id or uuid.uuid4().hex
                turn = await self._new_turn(
                    user_id, chat, content, request_id, MessageStatus.PENDING
                )
                return turn, slot
            # Failed, interrupted or abandoned: regenerated into the same messages, claimed
            # first (a fresh lease) so that a concurrent retry sees it in progress.
            claimed = replace(
                existing.assistant, status=MessageStatus.PENDING, content="", updated_at=utcnow()
            )
            await self.store.save_message(user_id, claimed)
            return Turn(existing.user, claimed), slot
        except BaseException:
            self._release(user_id, TurnKind.STREAM, slot.slot_id)
            raise

    async def _admit(self, user_id: str, kind: TurnKind, slot_id: str) -> Slot:
        """Backpressure and the user's limits, before anything is stored: see
        InferenceClient.busy_for and admission.py."""
        if self.inference.busy_for(user_id) > 0:
            raise ResourceExhausted(
                "the model is busy: its queue was full a moment ago",
                reason="INFERENCE_BUSY",
                retry_after_s=1.0,
            )
        return await self.admission.admit(user_id, kind, slot_id)

    def _release(self, user_id: str, kind: TurnKind, slot_id: str) -> None:
        """Frees a slot in the background (a task shutdown waits for, never cancelled with
        the turn); if the store is down the slot expires by itself."""
        self._track(self.admission.release(user_id, kind, slot_id), "releasing a slot")

    def _release_queue_slot(self, job: GenerateTurn) -> None:
        self._release(
            job.user_id, TurnKind.QUEUED, _queued_slot(job.chat_id, job.client_request_id)
        )

    def _track(self, work: Awaitable[None], what: str) -> None:
        async def run() -> None:
            try:
                await work
            except ServiceError:
                log.warning(f"{what} failed", exc_info=True)

        self._final_saves.spawn(run(), name=what)

    def _abandoned(self, message: MessageRecord) -> bool:
        """A pending reply whose lease ran out: the server running its turn died."""
        age = (utcnow() - message.updated_at).total_seconds()
        return message.status is MessageStatus.PENDING and age > self.settings.abandoned_turn_s

    def _running(self, message: MessageRecord) -> bool:
        """Queued, or pending with a live lease."""
        return message.status is MessageStatus.QUEUED or (
            message.status is MessageStatus.PENDING and not self._abandoned(message)
        )

    def _as_seen(self, user_id: str, message: MessageRecord) -> MessageRecord:
        """An abandoned reply is shown (and, in the background, stored) as interrupted."""
        if not self._abandoned(message):
            return message
        ended = replace(
            message,
            status=MessageStatus.INTERRUPTED,
            updated_at=utcnow(),
            error="the turn was abandoned: the server generating it stopped",
        )
        # Best effort, but kept (a task nobody holds can be collected mid-flight).
        self._final_saves.spawn(self.store.save_message(user_id, ended), name="save-abandoned")
        return ended

    async def _new_turn(
        self,
        user_id: str,
        chat: ChatRecord,
        content: str,
        request_id: str,
        reply_status: MessageStatus,
    ) -> Turn:
        now = utcnow()
        user_id_, assistant_id = new_ids(2)
        turn = Turn(
            user=MessageRecord(
                chat.chat_id, user_id_, Role.USER, content, MessageStatus.COMPLETE, now, now,
                client_request_id=request_id,
            ),
            assistant=MessageRecord(
                chat.chat_id, assistant_id, Role.ASSISTANT, "", reply_status, now, now,
                client_request_id=request_id,
            ),
        )  # fmt: skip
        turn = await self.store.begin_turn(user_id, turn)
        if not chat.title and not chat.title_from_user:
            chat.title = title_from(content)
            chat.updated_at = now
            await self.store.update_chat(chat)
        return turn

    async def _save_quietly(self, user_id: str, message: MessageRecord) -> None:
        """Records how a turn ended. A task of its own (shielded, tracked): it completes even if
        this turn is cancelled again, and shutdown waits for it before closing the store. If the
        store is unavailable the turn does not wait: the save goes on in the background."""
        first = asyncio.Event()
        self._final_saves.spawn(self._save_until_stored(user_id, message, first))
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(first.wait())

    async def _save_until_stored(
        self, user_id: str, message: MessageRecord, first: asyncio.Event
    ) -> None:
        """Retries (backing off) while the store is unavailable, up to `final_save_retry_s`:
        once it is back the turn is marked, not left pending (where the lease would expire and
        show it as interrupted, losing a failure's reason)."""
        deadline = time.monotonic() + self.settings.final_save_retry_s
        delay = 0.5
        while True:
            try:
                await self.store.save_message(user_id, message)
                return
            except ServiceError:
                if time.monotonic() + delay > deadline:
                    log.exception(
                        "could not record the end of a turn",
                        extra={"chat_id": message.chat_id, "status": message.status.value},
                    )
                    return
                log.warning(
                    "recording the end of a turn failed; retrying",
                    extra={"chat_id": message.chat_id, "retry_s": delay},
                )
            finally:
                first.set()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
