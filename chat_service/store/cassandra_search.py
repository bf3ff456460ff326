"""SearchIndex on Cassandra: an inverted index that the store keeps itself.

Why not a storage-attached index (SAI). Apache Cassandra 5.0's SAI has no text analyzer
(`index_analyzer` is refused), so the words must be found by the service anyway
(search_terms.py). SAI on a `terms set<text>` column would then do the rest, and on 5.0.8 it
does accept an index on `user_id` (a component of messages' partition key) and
`WHERE user_id = ? AND terms CONTAINS ? AND terms CONTAINS ?`; but it returns the matches in
token order, and refuses ORDER BY ("ORDER BY with 2ndary indexes is not supported, except for
ANN queries"). The newest N matches would then take reading every match, for a common word
most of the user's history, and sorting; and a query without a whole partition key visits
every token range, i.e. every node. An inverted index in a table keeps results in the order
they are wanted, so a page costs what it returns:

  search_postings  ((user_id, term), at DESC, doc_id DESC) -> chat_id
  search_docs      ((user_id, chat_id), doc_id, at) -> terms     what a chat has posted

A document is a message (doc_id = the message id, at = its created_at) or a chat's title
(doc_id = the chat id, at = the chat's updated_at). One posting partition lists the user's
documents that hold one term, newest first: exactly the order of the results, and the user
is part of every key, so another user's documents cannot be read. Ids are canonical UUID text:
`text` sorts as SQLite sorts the ids, for ties on `at`.

Search. The query's terms (search_terms.query_terms) are intersected by a leapfrog join over
their posting lists: each list is read newest first in pages of a bounded size (LIMIT), and a
list behind the others seeks straight to the oldest head with a clustering-range read
(`(at, doc_id) <= (?, ?)`), so the work follows the postings of the words asked for, never
the user's messages. Every document found in all lists is then checked against its record
(one single-row read each, for at most `limit` documents a round, in parallel): the chat
exists; a message is still a complete user or assistant message with the same created_at and
it matches the words (search_terms.matches: a word such as "e-mail" as a phrase); a title has
the chat's current updated_at and matches. So a posting left behind by a failed write, a race
with a delete or a title that changed since is never returned, only skipped, and results are
exact. The record gives the text and time; the postings hold no copy of it.

Writes. A message is indexed when it is saved as a complete user or assistant message with
text: its row in search_docs (the terms), then its postings (one row per distinct term, at most
search_terms.MAX_TERMS), then the message itself. Postings go to one partition each, so they
are not a batch (a batch over hundreds of partitions goes through one coordinator, warns past
5 KiB and is refused past 50 KiB: ~400 postings) but single-row upserts sent concurrently,
straight on the driver (_run_all): one more round trip, no read, idempotent (a retried save
writes the same rows). Their cost is mostly the driver's, ~90 us of client CPU per posting
(measured on a local 5.0.8 node: a 40-word question ~4 ms, a 512-term reply ~45 ms; long texts
are mostly replies, indexed by their final save after the stream has ended). begin_turn puts
the user message's search_docs row in the turn's batch and sends the postings after it; a
retried begin_turn that finds its turn sends them again, so a turn whose postings failed is
repaired by the retry. A pending reply (the lease re-saves it every few seconds) writes
nothing here. A message's content only changes by becoming complete; if a complete one were
re-saved with other text, the postings of words it lost would stay behind, skipped by the
check above.

Titles. create_chat, update_chat and name_chat write the new title's search_docs row and
postings first, then the chat, then delete the old title's postings and row (update_chat and
name_chat read the chat first anyway, so the old title and time are known without a read of
the index). A title is found by its new words only: an old posting is deleted, and until then
(or if that delete fails) it no longer matches the chat's current title or updated_at.

Deleting. delete_chat reads the chat's search_docs partition (one row per indexed document,
paged by the driver), deletes the postings a term at a time (single-partition batches, which
Cassandra applies as one mutation, concurrently), then drops the partition with the chat.
The index rows come before the postings they describe, so whatever a failure leaves behind, a
retried delete finds.

Bounds. A posting is ~100 bytes; a term's partition holds one row per document of the user
with that term, so a user's most common word reaches 100k rows / ~10 MB at 100k messages (if
that ever matters, a time bucket in the partition key, as messages have, bounds it). A search's
reads are bounded by the posting lists of the words asked for (a page at a time), not by the
user's history. Stale postings (deleted with the chat, or left by races) are tombstones that
reads skip until compaction; gc_grace_seconds is short (cassandra_schema.py) since a posting
that comes back is checked and skipped anyway.

Code. Search (the leapfrog join, the record checks) is here, in CassandraSearch; the writes
(indexing a message or a title, deleting postings) are cassandra_search_writes.py's
CassandraSearchWrites, a base of CassandraSearch.

Existing data is not indexed: chats and messages written before schema version 4 are found once
they are written again (a retitle, a new message is indexed; old messages are not). A backfill
would read every user's history once; it is not done at start.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from chat_service.domain import ChatRecord, MessageRecord
from chat_service.store._codec import to_ms
from chat_service.store.cassandra_schema import chat_from_row, is_complete_chat, utc

# message_terms: re-exported for cassandra_store.py.
from chat_service.store.cassandra_search_writes import CassandraSearchWrites, is_searchable
from chat_service.store.cassandra_search_writes import message_terms as message_terms
from chat_service.store.search_index import SearchIndex, SearchMatch
from chat_service.store.search_terms import matches, query_terms

# Rows a posting read asks for: a page per list, at least a few times what is wanted.
_MIN_PAGE, _MAX_PAGE = 16, 500
# A query's terms read from the index; any further ones are checked on the candidates.
_MAX_LISTS = 16

_Key = tuple[int, str]  # (at in Unix ms, doc id): results are in this order, descending


@dataclass(frozen=True)
class _Posting:
    at_ms: int
    doc_id: str
    chat_id: uuid.UUID

    @property
    def key(self) -> _Key:
        return (self.at_ms, self.doc_id)

    @property
    def is_title(self) -> bool:
        return self.doc_id == str(self.chat_id)


_Read = Callable[[_Key | None, bool, int], Awaitable[list[_Posting]]]


class _PostingList:
    """One term's postings, newest first, read a page at a time from where a seek asks."""

    def __init__(self, read: _Read, page: int) -> None:
        self._read, self._page = read, page
        self._rows: list[_Posting] = []
        self._pos = 0
        self._complete = False  # the buffer holds every posting from where it was read on

    async def seek(self, key: _Key | None, inclusive: bool) -> _Posting | None:
        """The newest posting at or before `key` (strictly before unless `inclusive`); keys
        only move back in time from one call to the next."""
        rows = self._rows
        while self._pos < len(rows) and _newer(rows[self._pos].key, key, inclusive):
            self._pos += 1
        if self._pos < len(rows):
            return rows[self._pos]
        if self._complete:
            return None
        self._rows = await self._read(key, inclusive, self._page)
        self._pos = 0
        self._complete = len(self._rows) < self._page
        return self._rows[0] if self._rows else None


def _newer(candidate: _Key, key: _Key | None, inclusive: bool) -> bool:
    if key is None:
        return False
    return candidate > key if inclusive else candidate >= key


async def _next_common(
    lists: Sequence[_PostingList], key: _Key | None, inclusive: bool
) -> _Posting | None:
    """The newest posting at or before `key` that every list has (leapfrog join)."""
    while True:
        heads = await asyncio.gather(*(lst.seek(key, inclusive) for lst in lists))
        present = [head for head in heads if head is not None]
        if len(present) < len(heads):
            return None
        oldest = min(head.key for head in present)
        if all(head.key == oldest for head in present):
            return present[0]
        key, inclusive = oldest, True


class CassandraSearch(CassandraSearchWrites, SearchIndex):
    """Mixed into CassandraStore after CassandraConnection in its bases: the connection's
    statements (stubs in CassandraSearchWrites, which keeps the index on the store's writes),
    and the store's own message read, are what the stubs stand for."""

    async def _get_message(
        self, user_id: str, chat_id: uuid.UUID, message_id: uuid.UUID
    ) -> MessageRecord | None:
        raise NotImplementedError  # CassandraStore's

    # ------------------------------------------------------------------ search

    async def search(
        self,
        user_id: str,
        words: Sequence[str],
        limit: int,
        before: tuple[int, str] | None = None,
    ) -> list[SearchMatch]:
        terms = query_terms(words)
        if not terms or limit <= 0:
            return []
        page = min(max(2 * limit, _MIN_PAGE), _MAX_PAGE)
        lists = [_PostingList(self._posting_reader(user_id, t), page) for t in terms[:_MAX_LISTS]]
        found: list[SearchMatch] = []
        key, inclusive, more = before, False, True
        while more and len(found) < limit:
            candidates: list[_Posting] = []
            while len(candidates) < limit - len(found):
                hit = await _next_common(lists, key, inclusive)
                if hit is None:
                    more = False
                    break
                candidates.append(hit)
                key, inclusive = hit.key, False
            found += await self._checked(user_id, words, candidates)
        return found[:limit]

    def _posting_reader(self, user_id: str, term: str) -> _Read:
        async def read(key: _Key | None, inclusive: bool, limit: int) -> list[_Posting]:
            if key is None:
                rows = await self._execute(self._stmt("postings"), (user_id, term, limit))
            else:
                name = "postings_upto" if inclusive else "postings_before"
                rows = await self._execute(self._stmt(name), (user_id, term, *key, limit))
            return [_Posting(to_ms(utc(r["at"])), r["doc_id"], r["chat_id"]) for r in rows]

        return read

    async def _checked(
        self, user_id: str, words: Sequence[str], candidates: list[_Posting]
    ) -> list[SearchMatch]:
        """The candidates whose records still match, in order (see the module docstring)."""
        if not candidates:
            return []
        chat_ids = list(dict.fromkeys(c.chat_id for c in candidates))
        chat_list = await asyncio.gather(*(self._chat(user_id, c) for c in chat_ids))
        chats = dict(zip(chat_ids, chat_list, strict=True))
        messages = await asyncio.gather(
            *(
                self._message(user_id, c) if chats[c.chat_id] is not None else _nothing()
                for c in candidates
            )
        )
        found: list[SearchMatch] = []
        for candidate, message in zip(candidates, messages, strict=True):
            chat = chats[candidate.chat_id]
            if chat is None:
                continue
            if candidate.is_title:
                if to_ms(chat.updated_at) == candidate.at_ms and matches(chat.title, words):
                    found.append(SearchMatch(chat.chat_id, "", chat.title, chat.updated_at))
            elif (
                message is not None
                and is_searchable(message)
                and to_ms(message.created_at) == candidate.at_ms
                and matches(message.content, words)
            ):
                found.append(
                    SearchMatch(
                        chat.chat_id, message.message_id, message.content, message.created_at
                    )
                )
        return found

    async def _chat(self, user_id: str, chat_id: uuid.UUID) -> ChatRecord | None:
        rows = await self._execute(self._stmt("get_chat"), (user_id, chat_id))
        return chat_from_row(rows[0]) if rows and is_complete_chat(rows[0]) else None

    async def _message(self, user_id: str, posting: _Posting) -> MessageRecord | None:
        try:
            message_id = uuid.UUID(posting.doc_id)
        except ValueError:
            return None
        return await self._get_message(user_id, posting.chat_id, message_id)


async def _nothing() -> None:
    return None
