"""Searching a user's history by words: the part of the store contract that SearchChats serves.

Both backends implement it (sqlite_search.py, cassandra_search.py); tests/store/
test_search_contract.py runs the same tests against both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SearchMatch:
    chat_id: str
    message_id: str  # "" when the chat's title matched
    text: str  # the message's content, or the chat's title
    at: datetime  # the message's created_at, or the chat's updated_at for a title (UTC, ms)


class SearchIndex(ABC):
    @abstractmethod
    async def search(
        self,
        user_id: str,
        words: Sequence[str],
        limit: int,
        before: tuple[int, str] | None = None,
    ) -> list[SearchMatch]:
        """The user's own chat titles and messages (user and assistant messages with status
        COMPLETE, non-empty) containing every word (whole words; case and accents folded),
        newest first by (at in Unix ms, message_id or chat_id) descending, at most `limit`,
        only those strictly before `before` = (at_ms, id) when given. Never another user's."""
