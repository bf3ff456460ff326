"""What each job does, wherever it runs: on a queue worker (worker.py) or in the process that
made it (local.py, when there is no queue or publishing failed).

Every handler may run more than once for one job (at-least-once delivery: a crash before the
ack, a redelivery after a timeout, a duplicate publish outside the dedup window), so each is
idempotent:
- SummarizeChat: summaries are checkpoints keyed by the message they cover up to; a rerun folds
  only messages after the latest checkpoint, so it adds nothing or moves the checkpoint forward.
- StoreCacheEntry: the cache entry is an upsert keyed by the assistant message id.
- InvalidateChatCache: a delete by (user, chat); deleting what is gone deletes nothing.
- GenerateTurn: the turn's stored status says what is left to do (ChatService.run_submitted):
  a finished turn is left alone, a running one (live lease) is waited for.
A handler raises to ask for a retry; a job whose chat or turn no longer exists is done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from chat_service.domain import Sampling
from chat_service.jobs.jobs import (
    GenerateTurn,
    InvalidateChatCache,
    Job,
    StoreCacheEntry,
    SummarizeChat,
)
from chat_service.summarizer import Summarizer
from chat_service.timed_store import TimedStore
from chat_service.turn_cache import TurnCache
from server_kit.tracing import span

Handler = Callable[[Any], Awaitable[None]]


def make_handlers(
    store: TimedStore,
    summarizer: Summarizer,
    cache: TurnCache | None,
    run_turn: Callable[[GenerateTurn], Awaitable[None]] | None = None,
) -> dict[type[Job], Handler]:
    async def summarize(job: SummarizeChat) -> None:
        if await store.get_chat(job.user_id, job.chat_id) is None:
            return  # deleted meanwhile
        await summarizer.summarize_counted(job.user_id, job.chat_id, job.after_message_id)

    async def store_entry(job: StoreCacheEntry) -> None:
        if cache is None:
            return  # this replica runs without the cache
        chat = await store.get_chat(job.user_id, job.chat_id)
        if chat is None:
            return
        turn = await store.find_turn(job.user_id, job.chat_id, job.client_request_id)
        if (
            turn is None
            or turn.user.message_id != job.user_message_id
            or turn.assistant.message_id != job.assistant_message_id
            or not cache.wants_store(turn.assistant)  # e.g. regenerated since, and failed
        ):
            return
        sampling = Sampling(job.temperature, job.top_p, job.max_tokens, job.seed)
        with span("cache.store"):
            await cache.store_entry(job.user_id, chat, turn.user, turn.assistant, sampling)

    async def invalidate(job: InvalidateChatCache) -> None:
        if cache is not None:
            await cache.delete_entries(job.user_id, job.chat_id)

    handlers: dict[type[Job], Handler] = {
        SummarizeChat: summarize,
        StoreCacheEntry: store_entry,
        InvalidateChatCache: invalidate,
    }
    if run_turn is not None:
        handlers[GenerateTurn] = run_turn
    return handlers
