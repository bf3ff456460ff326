"""The history store contract. Two implementations: Cassandra (production) and SQLite
(the embedded default). tests/store/ runs one contract suite unchanged against both.

Every method is scoped by user id (but api_key_by_hash, which is how a key finds its user):
a chat of another user is invisible (None / False), exactly like a chat that does not exist.
Implementations raise StoreUnavailable when the backend cannot be reached or times out, so the
service can answer UNAVAILABLE.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime

from chat_service.domain import ChatRecord, MessageRecord, Placement, SummaryRecord, Turn
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
    async def claim_chat_request(self, user_id: str, client_request_id: str, chat_id: str) -> str:
        """The chat id a create with this client request id stands for: `chat_id` if no
        create of the user's used the id before (it is recorded, atomically: of two concurrent
        claims one wins), else the id the first one recorded. Records are kept, so a retry
        after the chat's deletion gets its id again."""

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
    async def begin_turn(
        self, user_id: str, turn: Turn, placement: Placement | None = None
    ) -> Turn:
        """Persists the user message (complete) and the assistant message (pending) of a new
        turn, indexed by the assistant's client request id. Idempotent: if a turn with the same
        (chat, client_request_id) exists, writes nothing and returns the stored one.

        `placement` (None: an append) says where the turn goes (docs/branches.md). An append
        to a chat that has never branched stores legacy parents ("": the previous message) and
        leaves the current leaf unset, exactly as before branches; any other turn stores
        explicit parents and makes its reply the chat's current leaf. Regenerate writes the
        reply only, under the stored `turn.user`. The returned messages carry their parents
        (but a legacy append's question: get_message reads it)."""

    @abstractmethod
    async def save_message(self, user_id: str, message: MessageRecord) -> None:
        """Overwrites a message (e.g. the assistant's reply when it completes, is interrupted
        or fails). Upsert by (chat_id, message_id)."""

    @abstractmethod
    async def get_message(
        self, user_id: str, chat_id: str, message_id: str
    ) -> MessageRecord | None:
        """One message, with its effective parent id."""

    @abstractmethod
    async def recent_messages(
        self, user_id: str, chat_id: str, limit: int, before_message_id: str | None = None
    ) -> list[MessageRecord]:
        """A path of the chat's tree, newest first, up to `limit` messages, each with its
        effective parent id: without `before_message_id`, the current leaf and its ancestors;
        with it, the ancestors of that message (itself excluded). An id that is not a message
        reads as a legacy one: the messages before it in id order (a linear chat's paging).
        Cost grows with `limit`, not with the chat (docs/branches.md)."""

    @abstractmethod
    async def all_messages(
        self, user_id: str, chat_id: str, limit: int, after_message_id: str | None = None
    ) -> list[MessageRecord]:
        """Every message of the chat, branches included, oldest first (id order), up to
        `limit` after `after_message_id`; each with its effective parent id (an export)."""

    @abstractmethod
    async def add_messages(self, user_id: str, messages: Sequence[MessageRecord]) -> None:
        """Writes new messages with their parent ids as given (an import of a tree). Unlike
        save_message, whose upsert never moves a stored message in the tree."""

    @abstractmethod
    async def siblings(
        self, user_id: str, chat_id: str, messages: Sequence[MessageRecord]
    ) -> dict[str, list[str]]:
        """For the messages (as read, with their parents) that have siblings: the ids of all
        the versions at that fork, theirs included, oldest first. One indexed read for the
        page, whatever the chat's size."""

    @abstractmethod
    async def select_message(self, user_id: str, chat_id: str, message_id: str) -> str | None:
        """Shows the branch through `message_id`: the chat's current leaf becomes the tip of
        that message's thread (the line of first children through it: docs/branches.md), a
        leaf under it. Returns the new current leaf; None when there is no such message."""

    @abstractmethod
    async def save_summary(self, user_id: str, summary: SummaryRecord) -> None: ...

    @abstractmethod
    async def latest_summary(self, user_id: str, chat_id: str) -> SummaryRecord | None:
        """The newest checkpoint in id order, whatever its branch (see summaries_at)."""

    @abstractmethod
    async def summaries_at(
        self, user_id: str, chat_id: str, message_ids: Sequence[str]
    ) -> list[SummaryRecord]:
        """The checkpoints made up to one of `message_ids` (a page of a path: a checkpoint
        applies to a branch only if its last message is on it), newest first."""
