"""The history store contract. Two implementations: Cassandra (production) and SQLite
(the embedded default). tests/store/ runs one contract suite unchanged against both.

Every method is scoped by user id (but api_key_by_hash, which is how a key finds its user):
a chat of another user is invisible (None / False), exactly like a chat that does not exist.
Implementations raise StoreUnavailable when the backend cannot be reached or times out, so the
service can answer UNAVAILABLE.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

from chat_service.domain import ChatRecord, MessageRecord, SummaryRecord, Turn
from chat_service.store.api_keys import ApiKeyStore
from chat_service.store.ledger import UsageLedger
from chat_service.store.search_index import SearchIndex


class StoreUnavailable(Exception):
    """The backend is down, overloaded or did not answer within its deadline."""


class HistoryStore(UsageLedger, ApiKeyStore, SearchIndex, ABC):
    """Chats, messages and summaries; (UsageLedger) what per-user admission counts;
    (ApiKeyStore) the users' API keys; and (SearchIndex) search over titles and messages."""

    @abstractmethod
    async def start(self) -> None:
        """Connects and creates or migrates the schema."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def create_chat(self, chat: ChatRecord) -> None: ...

    @abstractmethod
    async def get_chat(self, user_id: str, chat_id: str) -> ChatRecord | None: ...

    @abstractmethod
    async def list_chats(
        self, user_id: str, limit: int, before_chat_id: str | None = None
    ) -> list[ChatRecord]:
        """The user's chats, newest created first; only chats with an id below
        `before_chat_id` when given (keyset pagination)."""

    @abstractmethod
    async def update_chat(self, chat: ChatRecord) -> None:
        """Writes title, title_from_user, settings and updated_at of an existing chat."""

    @abstractmethod
    async def name_chat(self, user_id: str, chat_id: str, title: str, updated_at: datetime) -> None:
        """Gives an existing chat the title its first turn suggests: writes the title and the
        activity time only (never the settings), and nothing if the user has titled the chat."""

    @abstractmethod
    async def delete_chat(self, user_id: str, chat_id: str) -> None:
        """Deletes the chat, its messages, request index and summaries. Idempotent."""

    @abstractmethod
    async def find_turn(self, user_id: str, chat_id: str, client_request_id: str) -> Turn | None:
        """The turn an earlier attempt with this client request id created, if any."""

    @abstractmethod
    async def begin_turn(self, user_id: str, turn: Turn) -> Turn:
        """Persists the user message (complete) and the assistant message (pending) of a new
        turn, indexed by the client request id. Idempotent: if a turn with the same
        (chat, client_request_id) exists, writes nothing and returns the stored one."""

    @abstractmethod
    async def save_message(self, user_id: str, message: MessageRecord) -> None:
        """Overwrites a message (e.g. the assistant's reply when it completes, is interrupted
        or fails). Upsert by (chat_id, message_id)."""

    @abstractmethod
    async def recent_messages(
        self, user_id: str, chat_id: str, limit: int, before_message_id: str | None = None
    ) -> list[MessageRecord]:
        """Up to `limit` messages, newest first, older than `before_message_id` when given.
        Reads only what it returns (no full-partition scans)."""

    @abstractmethod
    async def save_summary(self, user_id: str, summary: SummaryRecord) -> None: ...

    @abstractmethod
    async def latest_summary(self, user_id: str, chat_id: str) -> SummaryRecord | None: ...
