"""The semantic answer cache: embed the normalized question, search the answers stored under
the same key (keys.py), accept the most similar candidate above the threshold that the
verifier agrees asks the same thing.

Lookups raise on failure (the caller counts the error and goes to the model); a background
loop flushes Milvus Lite, drops expired entries and evicts the oldest beyond the size bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from chat_service import metrics
from chat_service.cache import spelling
from chat_service.cache.judge import CacheJudge, Embedder
from chat_service.cache.keys import owner_of, sampling_fingerprint, scope_of, system_hash
from chat_service.cache.normalize import normalize_question
from chat_service.cache.store import MAX_ANSWER_CHARS, CacheEntry, CacheKey, CacheStore
from chat_service.config import CacheSettings
from chat_service.domain import Sampling

log = logging.getLogger(__name__)

TOP_K = 4  # a few candidates: the verifier may turn down the most similar one
# all-MiniLM-L6-v2 reads 256 word pieces; two longer questions that differ only past that
# point would embed alike. 500 characters stays well inside it, even for dense text.
MAX_QUESTION_CHARS = 500
VECTOR_MEMO = 256  # recent question vectors: a miss's store reuses its lookup's embedding
TICK_S = 1.0
MAINTAIN_EVERY_S = 30.0
EVICT_TO = 0.9  # evict down to 90% of the bound, so eviction runs now and then, not per insert


class CacheEmbedder(Embedder, Protocol):
    """The embedding service's client, or the model in process (evaluate.InProcessEmbedder)."""

    async def close(self) -> None: ...


@dataclass(frozen=True)
class CacheContext:
    """A turn's exact-match key material (see keys.py)."""

    model: str
    system_prompt: str
    sampling: Sampling
    max_tokens: int
    context_fp: str  # "" for a standalone question


@dataclass(frozen=True)
class CacheHit:
    answer: str
    similarity: float
    model: str
    entry_id: str
    source_chat_id: str


def eligible_question(question: str) -> str | None:
    """The normalized question, or None when it cannot be cached."""
    normalized = normalize_question(question)
    return normalized if normalized and len(normalized) <= MAX_QUESTION_CHARS else None


def now_ms() -> int:
    return int(time.time() * 1000)


class SemanticCache:
    def __init__(
        self, settings: CacheSettings, embedder: CacheEmbedder, vectors: CacheStore
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.vectors = vectors
        self.judge = CacheJudge(settings.cache_threshold, settings.cache_verify, embedder)
        self._memo: OrderedDict[str, list[float]] = OrderedDict()
        self._loop_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connects; a cache that is down does not stop the service (calls retry later)."""
        # The spelling dictionary (~0.3 s to read): loaded here, never on a request's path.
        await asyncio.to_thread(spelling.dictionary)
        try:
            await asyncio.wait_for(self.vectors.connect(), self.vectors.call_timeout_s * 3)
        except Exception as exc:
            metrics.CACHE_ERRORS.labels("connect").inc()
            log.warning("answer cache unavailable at start", extra={"error": str(exc)})
        self._loop_task = asyncio.create_task(self._background(), name="cache-maintenance")

    async def close(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        await self.vectors.close()

    def key(self, user_id: str, ctx: CacheContext) -> CacheKey:
        return CacheKey(
            scope=scope_of(user_id, self.settings.cache_scope),
            model=ctx.model,
            system_hash=system_hash(ctx.system_prompt),
            sampling_fp=sampling_fingerprint(ctx.sampling, ctx.max_tokens),
            context_fp=ctx.context_fp,
        )

    async def lookup(
        self, user_id: str, question: str, ctx: CacheContext, timeout_s: float | None = None
    ) -> CacheHit | None:
        normalized = eligible_question(question)
        if normalized is None:
            return None
        deadline = time.monotonic() + (timeout_s or self.vectors.call_timeout_s)
        vector = await self._embed(normalized, deadline - time.monotonic())
        candidates = await self.vectors.search(
            vector,
            self.key(user_id, ctx),
            newer_than_ms=now_ms() - int(self.settings.cache_ttl_s * 1000),
            limit=TOP_K,
            timeout_s=max(0.05, deadline - time.monotonic()),
        )
        candidates.sort(key=lambda c: c.similarity, reverse=True)
        if candidates:
            metrics.CACHE_BEST_SIMILARITY.observe(candidates[0].similarity)
        for candidate in candidates:
            if candidate.similarity < self.judge.threshold:
                break  # sorted: no later candidate can pass
            verdict = await self.judge.decide(
                candidate.question,
                normalized,
                candidate.similarity,
                max(0.05, deadline - time.monotonic()),
            )
            if not verdict.same:
                log.debug("cache candidate refused", extra={"reason": verdict.reason})
                continue
            return CacheHit(
                answer=candidate.answer,
                similarity=candidate.similarity,
                model=candidate.model,
                entry_id=candidate.entry_id,
                source_chat_id=candidate.chat_id,
            )
        return None

    async def store(
        self,
        user_id: str,
        chat_id: str,
        turn_id: str,
        question: str,
        answer: str,
        ctx: CacheContext,
    ) -> bool:
        """Stores a complete answer; False when it is not cacheable (too long, empty)."""
        normalized = eligible_question(question)
        if normalized is None or not answer.strip() or len(answer) > MAX_ANSWER_CHARS:
            return False
        vector = await self._embed(normalized, None)
        await self.vectors.upsert(
            CacheEntry(
                entry_id=turn_id,
                vector=vector,
                key=self.key(user_id, ctx),
                owner=owner_of(user_id),
                chat_id=chat_id,
                question=normalized,
                answer=answer,
                created_ms=now_ms(),
            )
        )
        return True

    async def delete_chat(self, user_id: str, chat_id: str) -> None:
        await self.vectors.delete_chat(owner_of(user_id), chat_id)

    async def maintain(self) -> int:
        """Drops expired entries, enforces the size bound; returns the entry count."""
        now = now_ms()
        oldest_kept = now - int(self.settings.cache_ttl_s * 1000)
        await self.vectors.delete_older_than(oldest_kept)
        count = await self.vectors.count()
        if count > self.settings.cache_max_entries:
            target = int(self.settings.cache_max_entries * EVICT_TO)
            await self.vectors.evict_oldest(count - target, oldest_kept, now)
            count = await self.vectors.count()
        metrics.CACHE_ENTRIES.set(count)
        return count

    async def _embed(self, normalized: str, timeout_s: float | None) -> list[float]:
        vector = self._memo.get(normalized)
        if vector is None:
            (vector,) = await self.embedder.embed([normalized], timeout_s)
            self._memo[normalized] = vector
            if len(self._memo) > VECTOR_MEMO:
                self._memo.popitem(last=False)
        else:
            self._memo.move_to_end(normalized)
        return vector

    async def _background(self) -> None:
        last_maintained = -MAINTAIN_EVERY_S
        while True:
            await asyncio.sleep(TICK_S)
            try:
                await self.vectors.flush_if_due()
            except Exception as exc:
                metrics.CACHE_ERRORS.labels("flush").inc()
                log.warning("answer cache flush failed", extra={"error": str(exc)})
            if time.monotonic() - last_maintained >= MAINTAIN_EVERY_S:
                last_maintained = time.monotonic()
                try:
                    await self.maintain()
                except Exception as exc:
                    metrics.CACHE_ERRORS.labels("evict").inc()
                    log.warning("answer cache maintenance failed", extra={"error": str(exc)})
