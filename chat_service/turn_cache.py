"""The semantic cache as a turn uses it: eligibility and context from the chat's history, a
short deadline on lookups, stores off the request path, and never a failed turn because of
the cache (every failure is counted and the turn goes to the model).

Context (docs/answer-cache.md): a first question, or one judged standalone
(keys.is_self_contained), is keyed with an empty context; any other question only matches
answers given after exactly the same preceding messages, so "and in French?" never replays
another conversation's answer.
In global scope an answer is stored under the empty context only when it was generated with
no history in its prompt: a reply produced inside a conversation may carry that
conversation's details to other users.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from chat_service import metrics
from chat_service.cache.keys import context_fingerprint, is_self_contained
from chat_service.cache.semantic_cache import CacheContext, CacheHit, SemanticCache
from chat_service.cache.semantic_cache import eligible_question as normalized_if_eligible
from chat_service.cache.store import CacheUnavailable
from chat_service.config import CacheSettings, ConversationSettings
from chat_service.domain import ChatRecord, MessageRecord, MessageStatus, Role, Sampling
from chat_service.inference_client import InferenceClient
from chat_service.prompt import in_history
from chat_service.timed_store import TimedStore
from server_kit.errors import ServiceError
from server_kit.tracing import span

log = logging.getLogger(__name__)

CONTEXT_MESSAGES = 6  # the preceding exchanges a follow-up's answer depends on
STORE_TIMEOUT_S = 30.0
DELETE_TIMEOUT_S = 5.0
_CHUNK_RE = re.compile(r"\S+\s*|\s+")
CacheFailure = (ServiceError, CacheUnavailable, TimeoutError, ValueError)


@dataclass(frozen=True)
class AskedQuestion:
    """A question with the conversation it was asked in, as a client sent them."""

    question: str
    history: tuple[tuple[Role, str], ...]  # the messages before it (system ones are skipped)
    system_prompt: str
    sampling: Sampling


def answer_chunks(text: str) -> list[str]:
    """A cached answer as a stream of word-sized deltas (the shape of a generated one)."""
    return _CHUNK_RE.findall(text)


class TurnCache:
    def __init__(
        self,
        cache: SemanticCache,
        store: TimedStore,
        inference: InferenceClient,
        settings: CacheSettings,
        conversation: ConversationSettings,
    ) -> None:
        self.cache = cache
        self.store = store
        self.inference = inference
        self.settings = settings
        self.conversation = conversation  # the defaults a turn's context is completed with

    # -- lookups -------------------------------------------------------------------------

    def start_lookup(
        self,
        user_id: str,
        chat: ChatRecord,
        question: MessageRecord,
        sampling: Sampling,
        bypass: bool,
    ) -> asyncio.Task[CacheHit | None] | None:
        """A task that runs beside the prompt build; it never raises (except when cancelled)."""
        if bypass:
            self._count("bypass")
            return None

        def context() -> Awaitable[CacheContext | None]:
            return self._context(user_id, chat, question, sampling, for_store=False)

        return asyncio.create_task(self._lookup(user_id, question.content, context))

    def start_lookup_of(self, user_id: str, asked: AskedQuestion) -> asyncio.Task[CacheHit | None]:
        """The same, for a question that comes with its conversation instead of a stored chat
        (the OpenAI-compatible API: the client sends the messages)."""
        return asyncio.create_task(
            self._lookup(user_id, asked.question, lambda: self._context_of(asked, False))
        )

    async def _lookup(
        self,
        user_id: str,
        question: str,
        context: Callable[[], Awaitable[CacheContext | None]],
    ) -> CacheHit | None:
        with span("cache.lookup") as current:
            hit = await self._lookup_once(user_id, question, context)
            current.set_attribute("cache.hit", hit is not None)
            if hit is not None:
                current.set_attribute("cache.similarity", hit.similarity)
            return hit

    async def _lookup_once(
        self,
        user_id: str,
        question: str,
        context: Callable[[], Awaitable[CacheContext | None]],
    ) -> CacheHit | None:
        started = time.perf_counter()
        budget = self.settings.cache_lookup_timeout_s
        result: str | None = "error"
        try:
            async with asyncio.timeout(budget):
                ctx = await context()
                if ctx is None:
                    result = "ineligible"
                    return None
                remaining = max(0.01, budget - (time.perf_counter() - started))
                hit = await self.cache.lookup(user_id, question, ctx, remaining)
            result = "hit" if hit else "miss"
            return hit
        except asyncio.CancelledError:
            result = None  # the turn went away: neither a hit nor a cache failure
            raise
        except CacheFailure as exc:
            metrics.CACHE_ERRORS.labels("lookup").inc()
            log.warning("answer cache lookup failed", extra={"error": str(exc) or "timed out"})
            return None
        except Exception:
            metrics.CACHE_ERRORS.labels("lookup").inc()
            log.exception("answer cache lookup failed")
            return None
        finally:
            if result is not None:
                self._count(result)
                metrics.CACHE_LOOKUP_SECONDS.observe(time.perf_counter() - started)

    def _count(self, result: str) -> None:
        metrics.CACHE_LOOKUPS.labels(self.settings.cache_scope, result).inc()

    async def _context(
        self,
        user_id: str,
        chat: ChatRecord,
        question: MessageRecord,
        sampling: Sampling,
        for_store: bool,
    ) -> CacheContext | None:
        normalized = normalized_if_eligible(question.content)
        if normalized is None:
            return None
        standalone = is_self_contained(normalized)
        history: list[tuple[Role, str]] = []
        if not standalone or (for_store and self.settings.cache_scope == "global"):
            history = await self._preceding(user_id, chat.chat_id, question.message_id)
        system_prompt = chat.system_prompt or self.conversation.default_system_prompt
        return await self._keyed(standalone, history, system_prompt, sampling)

    async def _context_of(self, asked: AskedQuestion, for_store: bool) -> CacheContext | None:
        normalized = normalized_if_eligible(asked.question)
        if normalized is None:
            return None
        history = [m for m in asked.history if m[0] is not Role.SYSTEM][-CONTEXT_MESSAGES:]
        standalone = is_self_contained(normalized)
        if standalone and not (for_store and self.settings.cache_scope == "global"):
            history = []
        return await self._keyed(standalone, history, asked.system_prompt, asked.sampling)

    async def _keyed(
        self,
        standalone: bool,
        history: list[tuple[Role, str]],
        system_prompt: str,
        sampling: Sampling,
    ) -> CacheContext | None:
        """A standalone question is keyed without its history; one asked inside a
        conversation is not shared in global scope (its answer may carry that conversation)."""
        if standalone and history:
            return None  # global scope, generated inside a conversation: not shared
        return CacheContext(
            model=(await self.inference.model()).id,
            system_prompt=system_prompt,
            sampling=sampling,
            max_tokens=sampling.max_tokens or self.conversation.default_max_tokens,
            context_fp="" if standalone else context_fingerprint(history),
        )

    async def _preceding(
        self, user_id: str, chat_id: str, before_id: str
    ) -> list[tuple[Role, str]]:
        # The question's ancestors: its own branch only (docs/branches.md), so an answer given
        # on one branch is only reused where the same conversation led to the question.
        page = await self.store.recent_messages(user_id, chat_id, 2 * CONTEXT_MESSAGES, before_id)
        newest = [m for m in page if in_history(m)][:CONTEXT_MESSAGES]
        return [(m.role, m.content) for m in reversed(newest)]

    # -- stores --------------------------------------------------------------------------

    @staticmethod
    def wants_store(answer: MessageRecord) -> bool:
        if answer.status is not MessageStatus.COMPLETE or answer.finish_reason != "stop":
            return False  # interrupted, failed or cut at max_tokens: never cached
        return not answer.cached  # a cached answer is already in the cache

    async def store_entry(
        self,
        user_id: str,
        chat: ChatRecord,
        question: MessageRecord,
        answer: MessageRecord,
        sampling: Sampling,
    ) -> bool:
        """One store, counted; raises on failure (the job is retried). Idempotent: the entry
        is an upsert keyed by the assistant message id."""
        try:
            async with asyncio.timeout(STORE_TIMEOUT_S):
                ctx = await self._context(user_id, chat, question, sampling, for_store=True)
                # A chat deleted meanwhile must not leave entries behind (narrows the race;
                # with the queue, the invalidation job also runs after the stores before it).
                stored = (
                    ctx is not None
                    and await self.store.get_chat(user_id, chat.chat_id) is not None
                    and await self.cache.store(
                        user_id, chat.chat_id, answer.message_id, question.content,
                        answer.content, ctx,
                    )
                )  # fmt: skip
        except Exception:
            metrics.CACHE_ERRORS.labels("store").inc()
            raise
        metrics.CACHE_STORES.labels("stored" if stored else "skipped").inc()
        return bool(stored)

    async def store_answer_of(
        self, user_id: str, entry_id: str, asked: AskedQuestion, answer: str
    ) -> None:
        """Caches an answer to a question that came with its conversation (no chat: the entry
        belongs to the user alone, and no chat's deletion removes it)."""
        try:
            async with asyncio.timeout(STORE_TIMEOUT_S):
                ctx = await self._context_of(asked, for_store=True)
                stored = ctx is not None and await self.cache.store(
                    user_id, "", entry_id, asked.question, answer, ctx
                )
        except Exception:
            metrics.CACHE_ERRORS.labels("store").inc()
            log.warning("answer cache store failed", exc_info=True)
            return
        metrics.CACHE_STORES.labels("stored" if stored else "skipped").inc()

    # -- deletion ------------------------------------------------------------------------

    async def delete_entries(self, user_id: str, chat_id: str) -> None:
        """The chat's entries deleted, counted; raises on failure (the job is retried).
        Idempotent: deleting what is gone deletes nothing."""
        try:
            await asyncio.wait_for(self.cache.delete_chat(user_id, chat_id), DELETE_TIMEOUT_S)
        except Exception:
            metrics.CACHE_ERRORS.labels("delete").inc()
            raise

    async def close(self) -> None:
        await self.cache.close()
