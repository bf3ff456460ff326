"""HistoryStore on Apache Cassandra: the production store.

Tables are designed for the queries (one query, one partition), all keyed by user_id first
so a chat of another user is invisible by construction:

  chats_by_user     ((user_id), chat_id DESC)             list newest first, and get by key
  messages          ((user_id, chat_id, bucket), message_id DESC)
  message_buckets   ((user_id, chat_id), bucket DESC)     which message partitions exist
  turns_by_request  ((user_id, chat_id), client_request_id) -> the turn's message ids
  summaries         ((user_id, chat_id), upto_message_id DESC)
  user_slots, user_turn_starts, user_usage            per-user admission (cassandra_ledger.py)
  api_keys_by_user, api_keys_by_hash                  the users' API keys (cassandra_api_keys.py)
  search_postings, search_docs                        the search index (cassandra_search.py)
  schema_version    ((component))                         applied migrations

Chat and message ids are UUIDv7 stored as `uuid`. Cassandra's UUIDType orders non-v1 UUIDs
as unsigned bytes, i.e. by creation time for v7 and exactly like their canonical text (what
SQLite sorts); the contract tests check this on a real node, random tail bytes included.

Message partitions. Cassandra wants a partition well under ~100 MB and ~100k rows: a larger
one makes compaction, repair and reads slow, and strains the heap. A chat's messages are
therefore split into time buckets of BUCKET_MS (30 days), bucket = the message id's Unix ms
// BUCKET_MS, so a chat that lives for years spreads over one partition per active month,
each bounded by what one chat can write in a month (a human conversation writes a few
thousand rows, a few MB; reaching 100 MB takes ~25k long messages in 30 days, which the
service's per-user rate limits rule out). The bucket is derived from the id alone, so a
save needs no read. `message_buckets` lists the non-empty buckets of a chat (one tiny row
per active month); a newest-N read walks them newest first and stops as soon as it has N
rows, so it reads only the partitions it needs and never probes empty months. delete_chat
uses the same list to drop every message partition.

Writes are upserts without lightweight transactions (no Paxos round on the hot path).
begin_turn is idempotent by looking up turns_by_request first; a new turn's rows are written
in one LOGGED batch so they land together or not at all. Caveat: two *concurrent* attempts
with the same client_request_id can both miss the index and both write; the index then
points at one of them and the other's messages stay in the chat as a duplicate turn, unless
the caller derives the message ids deterministically from the request id (then the second
write overwrites the first). The service should serialise attempts per request id.
Similarly a write racing delete_chat can leave rows behind (a write timestamped after the
delete's tombstones survives them); they are unreachable once the chat row is gone.

The driver plumbing (connect, migrate, prepare, the asyncio bridge): cassandra_connection.py;
the tables, statements and row conversions: cassandra_schema.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from chat_service.domain import (
    ChatRecord,
    MessageRecord,
    Placement,
    SummaryRecord,
    Turn,
)
from chat_service.store._codec import (
    norm_id,
    normalize_message,
    settings_to_json,
    to_ms,
)
from chat_service.store.base import HistoryStore
from chat_service.store.cassandra_api_keys import CassandraApiKeys
from chat_service.store.cassandra_connection import CassandraConnection
from chat_service.store.cassandra_ledger import CassandraLedger
from chat_service.store.cassandra_schema import (
    chat_from_row,
    is_complete_chat,
    message_from_row,
    utc,
)
from chat_service.store.cassandra_search import CassandraSearch, message_terms
from chat_service.store.cassandra_tree import BUCKET_MS, CassandraTree, Item, bucket_of

__all__ = ["BUCKET_MS", "CassandraStore", "bucket_of"]
# delete_chat drops message partitions in LOGGED batches of at most this many statements
# (Cassandra warns on batches over 5 kB and rejects them over 50 kB).
_DELETE_BATCH = 50


class CassandraStore(
    CassandraConnection,
    CassandraLedger,
    CassandraApiKeys,
    CassandraSearch,
    CassandraTree,
    HistoryStore,
):
    """Chats, turns, messages and summaries on the connection that CassandraConnection opens
    (start, close, prepared statements); the admission ledger: CassandraLedger; the users' API
    keys: CassandraApiKeys; search, and the index its write paths keep: CassandraSearch; the
    message tree (paths, forks, threads): CassandraTree."""

    def _message_params(self, user_id: str, m: MessageRecord) -> tuple[Any, ...]:
        message_id = norm_id(m.message_id)
        return (
            user_id,
            bucket_of(message_id),
            uuid.UUID(m.chat_id),
            uuid.UUID(message_id),
            m.role.value,
            m.content,
            m.status.value,
            to_ms(m.created_at),  # the driver takes Unix ms ints as they are
            to_ms(m.updated_at),
            m.client_request_id,
            m.model,
            m.prompt_tokens,
            m.completion_tokens,
            m.cached,
            m.cache_similarity,
            m.finish_reason,
            m.error,
        )

    # ------------------------------------------------------------------ chats

    async def create_chat(self, chat: ChatRecord) -> None:
        chat_id = uuid.UUID(chat.chat_id)
        await self._index_title(chat.user_id, chat.chat_id, chat.title, chat.updated_at)
        await self._execute(
            self._stmt("insert_chat"),
            (
                chat.user_id,
                uuid.UUID(chat.chat_id),
                chat.title,
                chat.title_from_user,
                chat.system_prompt,
                settings_to_json(chat.settings),
                to_ms(chat.created_at),
                to_ms(chat.updated_at),
            ),
        )
        if chat.current_message_id:  # an imported tree's branch shown
            current = uuid.UUID(chat.current_message_id)
            await self._execute(self._stmt("set_current"), (current, chat.user_id, chat_id))

    async def claim_chat_request(self, user_id: str, client_request_id: str, chat_id: str) -> str:
        params = (user_id, client_request_id, uuid.UUID(chat_id))
        row = await self._one("claim_chat_request", params)
        # Not applied: the row holds the id the first claim recorded.
        return chat_id if row is None or row["[applied]"] else str(row["chat_id"])

    async def get_chat(self, user_id: str, chat_id: str) -> ChatRecord | None:
        row = await self._one("get_chat", (user_id, uuid.UUID(chat_id)))
        return chat_from_row(row) if row and is_complete_chat(row) else None

    async def list_chats(
        self, user_id: str, limit: int, before_chat_id: str | None = None
    ) -> list[ChatRecord]:
        chats: list[ChatRecord] = []
        cursor = uuid.UUID(before_chat_id) if before_chat_id is not None else None
        while len(chats) < limit:
            want = limit - len(chats)
            if cursor is None:
                rows = await self._execute(self._stmt("list_chats"), (user_id, want))
            else:
                rows = await self._execute(self._stmt("list_chats_before"), (user_id, cursor, want))
            chats.extend(chat_from_row(r) for r in rows if is_complete_chat(r))
            if len(rows) < want:
                break
            cursor = rows[-1]["chat_id"]  # partial rows were skipped: read on past them
        return chats

    async def update_chat(self, chat: ChatRecord) -> None:
        # Read first: an UPDATE of a missing row would create a partial one.
        old = await self.get_chat(chat.user_id, chat.chat_id)
        if old is None:
            return
        await self._index_title(chat.user_id, chat.chat_id, chat.title, chat.updated_at)
        await self._execute(
            self._stmt("update_chat"),
            (
                chat.title,
                chat.title_from_user,
                settings_to_json(chat.settings),
                to_ms(chat.updated_at),
                chat.user_id,
                uuid.UUID(chat.chat_id),
            ),
        )
        await self._unindex_old_title(chat.user_id, old, chat.title, chat.updated_at)

    async def name_chat(self, user_id: str, chat_id: str, title: str, updated_at: datetime) -> None:
        # Read first, as update_chat: no partial row, and no title over the user's (a rename
        # landing between this read and the write is still overwritten: a window of one round
        # trip, where SQLite's conditional UPDATE has none).
        chat = await self.get_chat(user_id, chat_id)
        if chat is None or chat.title_from_user:
            return
        await self._index_title(user_id, chat_id, title, updated_at)
        await self._execute(
            self._stmt("name_chat"), (title, to_ms(updated_at), user_id, uuid.UUID(chat_id))
        )
        await self._unindex_old_title(user_id, chat, title, updated_at)

    async def delete_chat(self, user_id: str, chat_id: str) -> None:
        key = (user_id, uuid.UUID(chat_id))
        # The search postings first, then the message partitions, the chat, its bucket list
        # and its search_docs rows last: if a write fails, the chat is still there and a
        # retried delete still finds every posting and bucket.
        await self._unindex_chat(*key)
        buckets = [r["bucket"] for r in await self._execute(self._stmt("buckets"), key)]
        for i in range(0, len(buckets), _DELETE_BATCH):
            chunk = buckets[i : i + _DELETE_BATCH]
            await self._execute(self._batch(("delete_messages", (*key, b)) for b in chunk))
        await self._execute(
            self._batch(
                (name, key)
                for name in (
                    "delete_turns",
                    "delete_summaries",
                    "delete_children",
                    "delete_tips",
                    "delete_thread_messages",
                    "delete_buckets",
                    "delete_search_docs",
                    "delete_chat",
                )
            )
        )

    # ------------------------------------------------------------------ turns and messages

    async def _get_message(
        self, user_id: str, chat_id: uuid.UUID, message_id: uuid.UUID
    ) -> MessageRecord | None:
        bucket = bucket_of(str(message_id))
        row = await self._one("get_message", (user_id, chat_id, bucket, message_id))
        return message_from_row(row) if row else None

    async def find_turn(self, user_id: str, chat_id: str, client_request_id: str) -> Turn | None:
        chat = uuid.UUID(chat_id)
        row = await self._one("get_turn", (user_id, chat, client_request_id))
        if row is None:
            return None
        user, assistant = await asyncio.gather(
            self._get_message(user_id, chat, row["user_message_id"]),
            self._get_message(user_id, chat, row["assistant_message_id"]),
        )
        if user is None or assistant is None:
            return None
        return Turn(user=user, assistant=assistant)

    async def begin_turn(
        self, user_id: str, turn: Turn, placement: Placement | None = None
    ) -> Turn:
        chat_id = norm_id(turn.user.chat_id)
        if norm_id(turn.assistant.chat_id) != chat_id:
            raise ValueError("a turn's messages must belong to one chat")
        new = Turn(user=normalize_message(turn.user), assistant=normalize_message(turn.assistant))
        # The reply's: a regenerated answer has a request id of its own.
        request_id = new.assistant.client_request_id
        # An empty request id cannot identify a retry: such a turn is never deduplicated.
        if request_id:
            stored = await self.find_turn(user_id, chat_id, request_id)
            if stored is not None:
                # Its search_docs rows came with it; its postings may not have (the write
                # after the batch failed, and this is the retry): posting again repairs that.
                await self._post_message(user_id, stored.user)
                await self._post_message(user_id, stored.assistant)
                return stored
        place = placement or Placement()
        chat = uuid.UUID(chat_id)
        if place.is_append:  # after the current leaf; a chat that never branched has none
            row = await self._one("get_chat", (user_id, chat))
            current = row["current_message_id"] if row else None
            place = Placement(parent_id=str(current)) if current is not None else place
        written = [new.assistant] if place.regenerate else [new.user, new.assistant]
        user = self._message_params(user_id, new.user)
        assistant = self._message_params(user_id, new.assistant)
        items: list[Item] = [
            ("insert_bucket", (user_id, chat, bucket)) for bucket in {user[1], assistant[1]}
        ]
        if place.is_append:  # legacy parents: one line in id order, as before branches
            items += [("insert_message", user), ("insert_message", assistant)]
        else:
            items += await self._placed_items(
                user_id, new, place, lambda m: self._message_params(user_id, m)
            )
        if request_id:
            items.append(("insert_turn", (user_id, chat, request_id, user[3], assistant[3])))
        # The search index: the messages' search_docs rows in the batch, their postings after
        # it (one partition each: concurrent upserts, not a batch; see cassandra_search.py).
        docs = [
            (norm_id(m.message_id), to_ms(m.created_at), terms)
            for m in written
            if (terms := message_terms(m))
        ]
        items += [self._doc_row(user_id, chat, *doc) for doc in docs]
        await self._execute(self._batch(items))
        for doc in docs:
            await self._post(user_id, chat, *doc)
        return new

    async def save_message(self, user_id: str, message: MessageRecord) -> None:
        params = self._message_params(user_id, message)
        # The bucket row first: a message is then never in a bucket that reads do not know.
        # (begin_turn already wrote it for a turn's messages; the upsert costs one tiny row.)
        # A complete message's search_docs row goes with it, and its postings before the
        # message: once the message reads as complete, it can be found.
        before: list[tuple[str, Sequence[Any]]] = [
            ("insert_bucket", (user_id, params[2], params[1]))
        ]
        doc = (str(params[3]), to_ms(message.created_at), message_terms(message))
        if doc[2]:
            before.append(self._doc_row(user_id, params[2], *doc))
        await self._each(before)
        if doc[2]:
            await self._post(user_id, params[2], *doc)
        await self._execute(self._stmt("insert_message"), params)
        # A chat deleted meanwhile (a turn stopped just before the delete): the upserts above
        # brought its rows back, so they go again. A delete after this check removes them
        # itself (its tombstones are newer), so either order leaves nothing behind.
        if await self.get_chat(user_id, message.chat_id) is None:
            key = (user_id, params[2])  # params: user, bucket, chat, ...
            await self._unindex_message(user_id, message)
            await self._execute(
                self._batch([("delete_messages", (*key, params[1])), ("delete_buckets", key)])
            )

    async def add_messages(self, user_id: str, messages: Sequence[MessageRecord]) -> None:
        for message in messages:  # in order: a parent's children are counted when placed
            m = normalize_message(message)
            key = (user_id, uuid.UUID(m.chat_id))
            mid = uuid.UUID(m.message_id)
            stored = await self._row(key, mid)
            if stored is not None and stored["parent_id"]:
                continue  # placed by an earlier run of this import: its thread stays
            parent = uuid.UUID(m.parent_id) if m.parent_id else None
            items: list[Item] = []
            thread = await self._thread_under(key, parent, items)
            stored_thread = mid if thread is False else thread
            await self.save_message(user_id, m)
            items.append(("set_parent", (parent or key[1], *key, bucket_of(str(mid)), mid)))
            items.append(("set_thread", (stored_thread, *key, bucket_of(str(mid)), mid)))
            items.append(("insert_child", (*key, parent or key[1], mid)))
            items.append(("set_tip", (*key, stored_thread or key[1], mid)))
            items.append(
                ("insert_in_thread", (*key, stored_thread or key[1], mid, parent or key[1]))
            )
            await self._execute(self._batch(items))

    # ------------------------------------------------------------------ summaries

    async def save_summary(self, user_id: str, summary: SummaryRecord) -> None:
        await self._execute(
            self._stmt("insert_summary"),
            (
                user_id,
                uuid.UUID(summary.chat_id),
                uuid.UUID(summary.upto_message_id),
                summary.content,
                summary.token_count,
                to_ms(summary.created_at),
            ),
        )

    async def latest_summary(self, user_id: str, chat_id: str) -> SummaryRecord | None:
        row = await self._one("latest_summary", (user_id, uuid.UUID(chat_id)))
        return _summary(row) if row is not None else None

    async def summaries_at(
        self, user_id: str, chat_id: str, message_ids: Sequence[str]
    ) -> list[SummaryRecord]:
        if not message_ids:
            return []
        ids = [uuid.UUID(m) for m in message_ids]
        rows = await self._execute(self._stmt("summaries_at"), (user_id, uuid.UUID(chat_id), ids))
        return [_summary(row) for row in rows]  # clustered newest first


def _summary(row: Any) -> SummaryRecord:
    return SummaryRecord(
        chat_id=str(row["chat_id"]),
        upto_message_id=str(row["upto_message_id"]),
        content=row["content"] or "",
        token_count=row["token_count"] or 0,
        created_at=utc(row["created_at"]),
    )
