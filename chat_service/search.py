"""Searching one's own chats (docs/search.md): the query's words, the store's index (SQLite FTS5;
on Cassandra the index the store keeps), results newest first with a snippet around the first
word found, paged by the last result's time and id."""

from __future__ import annotations

import asyncio
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from chat_service.domain import ChatRecord
from chat_service.page_tokens import decode_search_token, encode_search_token
from chat_service.store._codec import to_ms
from chat_service.timed_store import TimedStore
from server_kit.errors import InvalidArgument

MAX_QUERY_CHARS = 200
MAX_WORDS = 10
SNIPPET_CHARS = 160


@dataclass(frozen=True)
class SearchHit:
    chat: ChatRecord
    message_id: str  # "" for a title
    snippet: str
    at: datetime


def query_words(query: str) -> list[str]:
    """The words to find, each required (whitespace-separated; repeats dropped)."""
    text = query.strip()
    if not text:
        raise InvalidArgument("query", "empty: give the words to find")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidArgument("query", f"longer than {MAX_QUERY_CHARS} characters")
    words = list(dict.fromkeys(text.split()))
    if len(words) > MAX_WORDS:
        raise InvalidArgument("query", f"{len(words)} words; at most {MAX_WORDS}")
    return words


def _fold(text: str) -> str:
    """Case and accents folded, one character per character (positions stay aligned)."""
    return "".join((unicodedata.normalize("NFKD", c)[:1] or c).casefold()[:1] for c in text)


def snippet(text: str, words: list[str]) -> str:
    """The text around the first word found (all of it when short)."""
    if len(text) <= SNIPPET_CHARS:
        return text
    folded = _fold(text)
    found = [i for w in words if (i := folded.find(_fold(w))) >= 0]
    start = max(0, min(found, default=0) - SNIPPET_CHARS // 3)
    end = min(len(text), start + SNIPPET_CHARS)
    return ("…" if start else "") + text[start:end].strip() + ("…" if end < len(text) else "")


class ChatSearch:
    def __init__(self, store: TimedStore) -> None:
        self.store = store

    async def search(
        self, user_id: str, query: str, page_size: int, page_token: str
    ) -> tuple[list[SearchHit], str]:
        words = query_words(query)
        before = decode_search_token(page_token)
        matches = await self.store.search(user_id, words, page_size + 1, before)
        more = len(matches) > page_size
        matches = matches[:page_size]
        ids = list(dict.fromkeys(m.chat_id for m in matches))
        chats = await asyncio.gather(*(self.store.get_chat(user_id, c) for c in ids))
        by_id = {c.chat_id: c for c in chats if c is not None}
        hits = [
            SearchHit(by_id[m.chat_id], m.message_id, snippet(m.text, words), m.at)
            for m in matches
            if m.chat_id in by_id  # deleted meanwhile
        ]
        token = ""
        if more and matches:
            last = matches[-1]
            token = encode_search_token(to_ms(last.at), last.message_id or last.chat_id)
        return hits, token
