"""The history store as the service uses it: every call has a deadline, is timed, and a dead or
slow backend becomes UNAVAILABLE (never a hang)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import TypeVar

from chat_service import metrics
from chat_service.deadlines import SharedDeadlines
from chat_service.domain import ChatRecord, MessageRecord, Placement, SummaryRecord, Turn
from chat_service.store.api_keys import ApiKeyRecord
from chat_service.store.base import HistoryStore, StoreUnavailable
from chat_service.store.ledger import Slot, UsageQuery, UsageRead
from chat_service.store.search_index import SearchMatch
from server_kit.errors import Unavailable
from server_kit.metric_children import labelled
from server_kit.tracing import span

T = TypeVar("T")

log = logging.getLogger(__name__)


class TimedStore:
    def __init__(self, store: HistoryStore, timeout_s: float) -> None:
        self.inner = store
        self.timeout_s = timeout_s
        self.deadlines = SharedDeadlines(timeout_s)

    async def _run(self, operation: str, call: Awaitable[T]) -> T:
        start = time.perf_counter()
        with span(f"store.{operation}", {"db.operation.name": operation}) as current:
            try:
                return await self.deadlines.run(call)
            except (StoreUnavailable, TimeoutError) as exc:
                metrics.STORE_ERRORS.labels(operation).inc()
                current.set_attribute("error.type", type(exc).__name__)
                # The driver's text names hosts and paths: the log gets it, the client not.
                log.warning(
                    "history store call failed",
                    extra={"operation": operation, "error": str(exc) or "timed out"},
                )
                raise Unavailable(
                    f"the history store is unavailable ({operation})",
                    reason="STORE_UNAVAILABLE",
                    retry_after_s=2.0,
                ) from exc
            finally:
                labelled(metrics.STORE_SECONDS, operation).observe(time.perf_counter() - start)

    async def create_chat(self, chat: ChatRecord) -> None:
        await self._run("create_chat", self.inner.create_chat(chat))

    async def claim_chat_request(self, user_id: str, client_request_id: str, chat_id: str) -> str:
        return await self._run(
            "claim_chat_request",
            self.inner.claim_chat_request(user_id, client_request_id, chat_id),
        )

    async def get_chat(self, user_id: str, chat_id: str) -> ChatRecord | None:
        return await self._run("get_chat", self.inner.get_chat(user_id, chat_id))

    async def list_chats(
        self, user_id: str, limit: int, before_chat_id: str | None
    ) -> list[ChatRecord]:
        return await self._run("list_chats", self.inner.list_chats(user_id, limit, before_chat_id))

    async def update_chat(self, chat: ChatRecord) -> None:
        await self._run("update_chat", self.inner.update_chat(chat))

    async def name_chat(self, user_id: str, chat_id: str, title: str, updated_at: datetime) -> None:
        await self._run("name_chat", self.inner.name_chat(user_id, chat_id, title, updated_at))

    async def delete_chat(self, user_id: str, chat_id: str) -> None:
        await self._run("delete_chat", self.inner.delete_chat(user_id, chat_id))

    async def find_turn(self, user_id: str, chat_id: str, request_id: str) -> Turn | None:
        return await self._run("find_turn", self.inner.find_turn(user_id, chat_id, request_id))

    async def begin_turn(
        self, user_id: str, turn: Turn, placement: Placement | None = None
    ) -> Turn:
        return await self._run("begin_turn", self.inner.begin_turn(user_id, turn, placement))

    async def get_message(
        self, user_id: str, chat_id: str, message_id: str
    ) -> MessageRecord | None:
        return await self._run("get_message", self.inner.get_message(user_id, chat_id, message_id))

    async def all_messages(
        self, user_id: str, chat_id: str, limit: int, after_message_id: str | None
    ) -> list[MessageRecord]:
        return await self._run(
            "all_messages", self.inner.all_messages(user_id, chat_id, limit, after_message_id)
        )

    async def add_messages(self, user_id: str, messages: Sequence[MessageRecord]) -> None:
        await self._run("add_messages", self.inner.add_messages(user_id, messages))

    async def siblings(
        self, user_id: str, chat_id: str, messages: Sequence[MessageRecord]
    ) -> dict[str, list[str]]:
        return await self._run("siblings", self.inner.siblings(user_id, chat_id, messages))

    async def select_message(self, user_id: str, chat_id: str, message_id: str) -> str | None:
        return await self._run(
            "select_message", self.inner.select_message(user_id, chat_id, message_id)
        )

    async def summaries_at(
        self, user_id: str, chat_id: str, message_ids: Sequence[str]
    ) -> list[SummaryRecord]:
        return await self._run(
            "summaries_at", self.inner.summaries_at(user_id, chat_id, message_ids)
        )

    async def save_message(self, user_id: str, message: MessageRecord) -> None:
        await self._run("save_message", self.inner.save_message(user_id, message))

    async def recent_messages(
        self, user_id: str, chat_id: str, limit: int, before_message_id: str | None
    ) -> list[MessageRecord]:
        return await self._run(
            "recent_messages",
            self.inner.recent_messages(user_id, chat_id, limit, before_message_id),
        )

    async def save_summary(self, user_id: str, summary: SummaryRecord) -> None:
        await self._run("save_summary", self.inner.save_summary(user_id, summary))

    async def latest_summary(self, user_id: str, chat_id: str) -> SummaryRecord | None:
        return await self._run("latest_summary", self.inner.latest_summary(user_id, chat_id))

    # -- per-user admission (store/ledger.py) -----------------------------------------------

    async def read_usage(self, query: UsageQuery) -> UsageRead:
        return await self._run("read_usage", self.inner.read_usage(query))

    async def take_slot(
        self, user_id: str, kind: str, slot: Slot, expires_ms: int, keep_start_s: int | None = None
    ) -> list[Slot]:
        return await self._run(
            "take_slot", self.inner.take_slot(user_id, kind, slot, expires_ms, keep_start_s)
        )

    async def live_slots(self, user_id: str, kind: str, now_ms: int) -> list[Slot]:
        return await self._run("live_slots", self.inner.live_slots(user_id, kind, now_ms))

    async def hold_slot(self, user_id: str, kind: str, slot: Slot, expires_ms: int) -> None:
        await self._run("hold_slot", self.inner.hold_slot(user_id, kind, slot, expires_ms))

    async def release_slot(self, user_id: str, kind: str, slot_id: str) -> None:
        await self._run("release_slot", self.inner.release_slot(user_id, kind, slot_id))

    async def turn_starts(self, user_id: str, since_ms: int) -> list[int]:
        return await self._run("turn_starts", self.inner.turn_starts(user_id, since_ms))

    async def record_turn_start(self, user_id: str, at_ms: int, turn_id: str, keep_s: int) -> None:
        await self._run(
            "record_turn_start", self.inner.record_turn_start(user_id, at_ms, turn_id, keep_s)
        )

    async def tokens_used(self, user_id: str, day: str) -> int:
        return await self._run("tokens_used", self.inner.tokens_used(user_id, day))

    async def add_tokens(self, user_id: str, day: str, tokens: int) -> None:
        await self._run("add_tokens", self.inner.add_tokens(user_id, day, tokens))

    # -- the users' API keys (store/api_keys.py) ---------------------------------------------

    async def create_api_key(self, key: ApiKeyRecord) -> None:
        await self._run("create_api_key", self.inner.create_api_key(key))

    async def api_keys_of(self, user_id: str) -> list[ApiKeyRecord]:
        return await self._run("api_keys_of", self.inner.api_keys_of(user_id))

    async def api_key_by_hash(self, key_hash: str) -> ApiKeyRecord | None:
        return await self._run("api_key_by_hash", self.inner.api_key_by_hash(key_hash))

    async def delete_api_key(self, user_id: str, key_id: str) -> bool:
        return await self._run("delete_api_key", self.inner.delete_api_key(user_id, key_id))

    # -- search ------------------------------------------------------------------------

    async def search(
        self,
        user_id: str,
        words: Sequence[str],
        limit: int,
        before: tuple[int, str] | None = None,
    ) -> list[SearchMatch]:
        return await self._run("search", self.inner.search(user_id, words, limit, before))
