"""The Cassandra store's schema and rows: the migrations that create its tables (applied in order,
recorded in schema_version), its prepared statements by name, and rows converted to records.
Table design and why: cassandra_store.py (the search index: cassandra_search.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chat_service.domain import ChatRecord, MessageRecord, MessageStatus, Role
from chat_service.store._codec import from_ms, settings_from_json
from chat_service.store.cassandra_api_keys import api_key_statements, api_key_tables
from chat_service.store.cassandra_ledger import ledger_statements, ledger_tables

Row = dict[str, Any]
_NAIVE_EPOCH = datetime(1970, 1, 1)


# The history tables (schema version 1), each a template for str.format(ks=keyspace).
_HISTORY_TABLES: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS {ks}.chats_by_user (
        user_id text,
        chat_id uuid,
        title text,
        title_from_user boolean,
        system_prompt text,
        settings text,
        created_at timestamp,
        updated_at timestamp,
        PRIMARY KEY ((user_id), chat_id)
    ) WITH CLUSTERING ORDER BY (chat_id DESC)""",
    """CREATE TABLE IF NOT EXISTS {ks}.messages (
        user_id text,
        chat_id uuid,
        bucket int,
        message_id uuid,
        role text,
        content text,
        status text,
        created_at timestamp,
        updated_at timestamp,
        client_request_id text,
        model text,
        prompt_tokens int,
        completion_tokens int,
        cached boolean,
        cache_similarity double,
        finish_reason text,
        error text,
        PRIMARY KEY ((user_id, chat_id, bucket), message_id)
    ) WITH CLUSTERING ORDER BY (message_id DESC)""",
    """CREATE TABLE IF NOT EXISTS {ks}.message_buckets (
        user_id text,
        chat_id uuid,
        bucket int,
        PRIMARY KEY ((user_id, chat_id), bucket)
    ) WITH CLUSTERING ORDER BY (bucket DESC)""",
    # ~100 bytes per turn: a chat would need a million turns to reach 100 MB.
    """CREATE TABLE IF NOT EXISTS {ks}.turns_by_request (
        user_id text,
        chat_id uuid,
        client_request_id text,
        user_message_id uuid,
        assistant_message_id uuid,
        PRIMARY KEY ((user_id, chat_id), client_request_id)
    )""",
    """CREATE TABLE IF NOT EXISTS {ks}.summaries (
        user_id text,
        chat_id uuid,
        upto_message_id uuid,
        content text,
        token_count int,
        created_at timestamp,
        PRIMARY KEY ((user_id, chat_id), upto_message_id)
    ) WITH CLUSTERING ORDER BY (upto_message_id DESC)""",
)


# The search index (schema version 4; design: cassandra_search.py). Postings are derived data
# that every search checks against the records, so a posting a repair brings back after its
# tombstone was purged is harmless: a short gc_grace_seconds (the hint window, 3 h) keeps
# deleted chats' tombstones from piling up in the users' busiest term partitions.
_SEARCH_TABLES: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS {ks}.search_postings (
        user_id text,
        term text,
        at timestamp,
        doc_id text,
        chat_id uuid,
        PRIMARY KEY ((user_id, term), at, doc_id)
    ) WITH CLUSTERING ORDER BY (at DESC, doc_id DESC) AND gc_grace_seconds = 10800""",
    """CREATE TABLE IF NOT EXISTS {ks}.search_docs (
        user_id text,
        chat_id uuid,
        doc_id text,
        at timestamp,
        terms frozen<set<text>>,
        PRIMARY KEY ((user_id, chat_id), doc_id, at)
    ) WITH gc_grace_seconds = 10800""",
)


# The message tree (schema version 5; design: cassandra_tree.py). Existing rows keep a null
# parent (legacy: the previous message in id order) and thread (the chat's first line).
_TREE_TABLES: tuple[str, ...] = (
    "ALTER TABLE {ks}.messages ADD IF NOT EXISTS parent_id uuid",
    "ALTER TABLE {ks}.messages ADD IF NOT EXISTS thread_id uuid",
    "ALTER TABLE {ks}.chats_by_user ADD IF NOT EXISTS current_message_id uuid",
    # The versions at each fork; a root's parent is the chat's id. One row per placed message.
    """CREATE TABLE IF NOT EXISTS {ks}.message_children (
        user_id text,
        chat_id uuid,
        parent_id uuid,
        child_id uuid,
        PRIMARY KEY ((user_id, chat_id), parent_id, child_id)
    )""",
    # Each thread's newest message (a leaf); the chat's first thread is keyed by the chat's id.
    """CREATE TABLE IF NOT EXISTS {ks}.thread_tips (
        user_id text,
        chat_id uuid,
        thread_id uuid,
        tip_id uuid,
        PRIMARY KEY ((user_id, chat_id), thread_id)
    )""",
    # Each thread's messages (a line: each one's parent is the one before it), newest first:
    # a branch interleaved in time with others is read by one slice here, not by a point read
    # per message. Placed messages only (a chat's messages from before its first fork are not).
    """CREATE TABLE IF NOT EXISTS {ks}.thread_messages (
        user_id text,
        chat_id uuid,
        thread_id uuid,
        message_id uuid,
        parent_id uuid,
        PRIMARY KEY ((user_id, chat_id), thread_id, message_id)
    ) WITH CLUSTERING ORDER BY (thread_id ASC, message_id DESC)""",
)


# Version 6: a read asks the third replica once one of the two it asked is slower than 100 ms.
# The default (99p) waits for the table's 99th percentile, which on a loaded node is seconds, so
# for the ~10 s until gossip convicts a replica that died, reads that asked it timed out; now
# they cost ~100 ms more (docs/cluster.md).
_SPECULATIVE_RETRY = "MIN(99p,100ms)"
_READ_ON_EVERY_TURN = (
    "chats_by_user", "messages", "message_buckets", "turns_by_request", "summaries",
    "message_children", "thread_tips", "thread_messages", "user_slots", "user_turn_starts",
    "user_usage", "api_keys_by_hash",
)  # fmt: skip


def _fast_speculation(ks: str) -> list[str]:
    return [
        f"ALTER TABLE {ks}.{table} WITH speculative_retry = '{_SPECULATIVE_RETRY}'"
        for table in _READ_ON_EVERY_TURN
    ]


# Version 7: the chat each create's client request id stands for (CreateChat's idempotency
# key). Written only by a lightweight transaction (IF NOT EXISTS), never updated or deleted.
_CHAT_REQUESTS = """CREATE TABLE IF NOT EXISTS {ks}.chat_requests (
    user_id text,
    client_request_id text,
    chat_id uuid,
    PRIMARY KEY ((user_id), client_request_id)
)"""


def migrations(ks: str) -> list[list[str]]:
    """Schema versions, applied in order; each statement is idempotent (IF NOT EXISTS) so a
    migration interrupted halfway simply runs again."""
    return [
        [table.format(ks=ks) for table in _HISTORY_TABLES],
        ledger_tables(ks),  # 2: per-user admission (slots, turn starts, daily token usage)
        api_key_tables(ks),  # 3: the users' API keys
        [table.format(ks=ks) for table in _SEARCH_TABLES],  # 4: the search index (no backfill)
        [table.format(ks=ks) for table in _TREE_TABLES],  # 5: the message tree (no backfill)
        _fast_speculation(ks),  # 6: reads go around a dead replica quickly
        [_CHAT_REQUESTS.format(ks=ks)],  # 7: CreateChat's idempotency keys
    ]


_CHAT_COLS = (
    "user_id, chat_id, title, title_from_user, system_prompt, settings, created_at, updated_at"
)
_MSG_COLS = (
    "chat_id, message_id, role, content, status, created_at, updated_at, client_request_id,"
    " model, prompt_tokens, completion_tokens, cached, cache_similarity, finish_reason, error"
)
# Reads also take the message's place in the tree; save_message's upsert never writes it.
_READ_COLS = f"{_MSG_COLS}, parent_id, thread_id"
_CHAT_READ_COLS = f"{_CHAT_COLS}, current_message_id"


def statements(ks: str) -> dict[str, str]:
    chat_key = "user_id = ? AND chat_id = ?"
    return {
        "insert_chat": f"INSERT INTO {ks}.chats_by_user ({_CHAT_COLS})"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        "claim_chat_request": f"INSERT INTO {ks}.chat_requests"
        " (user_id, client_request_id, chat_id) VALUES (?, ?, ?) IF NOT EXISTS",
        "get_chat": f"SELECT {_CHAT_READ_COLS} FROM {ks}.chats_by_user WHERE {chat_key}",
        "list_chats": f"SELECT {_CHAT_READ_COLS} FROM {ks}.chats_by_user WHERE user_id = ? LIMIT ?",
        "list_chats_before": f"SELECT {_CHAT_READ_COLS} FROM {ks}.chats_by_user"
        " WHERE user_id = ? AND chat_id < ? LIMIT ?",
        "update_chat": f"UPDATE {ks}.chats_by_user SET title = ?, title_from_user = ?,"
        f" settings = ?, updated_at = ? WHERE {chat_key}",
        "name_chat": f"UPDATE {ks}.chats_by_user SET title = ?, updated_at = ? WHERE {chat_key}",
        "delete_chat": f"DELETE FROM {ks}.chats_by_user WHERE {chat_key}",
        "insert_message": f"INSERT INTO {ks}.messages (user_id, bucket, {_MSG_COLS})"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "insert_placed": f"INSERT INTO {ks}.messages (user_id, bucket, {_MSG_COLS},"
        " parent_id, thread_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "set_parent": f"UPDATE {ks}.messages SET parent_id = ?"
        f" WHERE {chat_key} AND bucket = ? AND message_id = ?",
        "set_thread": f"UPDATE {ks}.messages SET thread_id = ?"
        f" WHERE {chat_key} AND bucket = ? AND message_id = ?",
        "get_message": f"SELECT {_READ_COLS} FROM {ks}.messages"
        f" WHERE {chat_key} AND bucket = ? AND message_id = ?",
        "recent": f"SELECT {_READ_COLS} FROM {ks}.messages WHERE {chat_key} AND bucket = ? LIMIT ?",
        "recent_before": f"SELECT {_READ_COLS} FROM {ks}.messages"
        f" WHERE {chat_key} AND bucket = ? AND message_id < ? LIMIT ?",
        "recent_upto": f"SELECT {_READ_COLS} FROM {ks}.messages"
        f" WHERE {chat_key} AND bucket = ? AND message_id <= ? LIMIT ?",
        "oldest_after": f"SELECT {_READ_COLS} FROM {ks}.messages"
        f" WHERE {chat_key} AND bucket = ? AND message_id > ? ORDER BY message_id ASC LIMIT ?",
        "insert_child": f"INSERT INTO {ks}.message_children (user_id, chat_id, parent_id,"
        " child_id) VALUES (?, ?, ?, ?)",
        "children_of": f"SELECT parent_id, child_id FROM {ks}.message_children"
        f" WHERE {chat_key} AND parent_id IN ?",
        "first_child": f"SELECT child_id FROM {ks}.message_children"
        f" WHERE {chat_key} AND parent_id = ? LIMIT 1",
        "delete_children": f"DELETE FROM {ks}.message_children WHERE {chat_key}",
        "set_tip": f"INSERT INTO {ks}.thread_tips (user_id, chat_id, thread_id, tip_id)"
        " VALUES (?, ?, ?, ?)",
        "get_tip": f"SELECT tip_id FROM {ks}.thread_tips WHERE {chat_key} AND thread_id = ?",
        "delete_tips": f"DELETE FROM {ks}.thread_tips WHERE {chat_key}",
        "insert_in_thread": f"INSERT INTO {ks}.thread_messages (user_id, chat_id, thread_id,"
        " message_id, parent_id) VALUES (?, ?, ?, ?, ?)",
        "thread_upto": f"SELECT message_id, parent_id FROM {ks}.thread_messages"
        f" WHERE {chat_key} AND thread_id = ? AND message_id <= ? LIMIT ?",
        "delete_thread_messages": f"DELETE FROM {ks}.thread_messages WHERE {chat_key}",
        "get_messages_in": f"SELECT {_READ_COLS} FROM {ks}.messages"
        f" WHERE {chat_key} AND bucket = ? AND message_id IN ?",
        "set_current": f"UPDATE {ks}.chats_by_user SET current_message_id = ? WHERE {chat_key}",
        "delete_messages": f"DELETE FROM {ks}.messages WHERE {chat_key} AND bucket = ?",
        "insert_bucket": f"INSERT INTO {ks}.message_buckets (user_id, chat_id, bucket)"
        " VALUES (?, ?, ?)",
        "buckets": f"SELECT bucket FROM {ks}.message_buckets WHERE {chat_key}",
        "buckets_upto": f"SELECT bucket FROM {ks}.message_buckets WHERE {chat_key} AND bucket <= ?",
        "delete_buckets": f"DELETE FROM {ks}.message_buckets WHERE {chat_key}",
        "insert_turn": f"INSERT INTO {ks}.turns_by_request (user_id, chat_id,"
        " client_request_id, user_message_id, assistant_message_id) VALUES (?, ?, ?, ?, ?)",
        "get_turn": f"SELECT user_message_id, assistant_message_id FROM {ks}.turns_by_request"
        f" WHERE {chat_key} AND client_request_id = ?",
        "delete_turns": f"DELETE FROM {ks}.turns_by_request WHERE {chat_key}",
        "insert_summary": f"INSERT INTO {ks}.summaries (user_id, chat_id, upto_message_id,"
        " content, token_count, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        "latest_summary": f"SELECT chat_id, upto_message_id, content, token_count, created_at"
        f" FROM {ks}.summaries WHERE {chat_key} LIMIT 1",
        "summaries_at": f"SELECT chat_id, upto_message_id, content, token_count, created_at"
        f" FROM {ks}.summaries WHERE {chat_key} AND upto_message_id IN ?",
        "delete_summaries": f"DELETE FROM {ks}.summaries WHERE {chat_key}",
        "insert_posting": f"INSERT INTO {ks}.search_postings (user_id, term, at, doc_id, chat_id)"
        " VALUES (?, ?, ?, ?, ?)",
        "delete_posting": f"DELETE FROM {ks}.search_postings"
        " WHERE user_id = ? AND term = ? AND at = ? AND doc_id = ?",
        "postings": f"SELECT at, doc_id, chat_id FROM {ks}.search_postings"
        " WHERE user_id = ? AND term = ? LIMIT ?",
        "postings_upto": f"SELECT at, doc_id, chat_id FROM {ks}.search_postings"
        " WHERE user_id = ? AND term = ? AND (at, doc_id) <= (?, ?) LIMIT ?",
        "postings_before": f"SELECT at, doc_id, chat_id FROM {ks}.search_postings"
        " WHERE user_id = ? AND term = ? AND (at, doc_id) < (?, ?) LIMIT ?",
        "insert_search_doc": f"INSERT INTO {ks}.search_docs (user_id, chat_id, doc_id, at, terms)"
        " VALUES (?, ?, ?, ?, ?)",
        "delete_search_doc": f"DELETE FROM {ks}.search_docs WHERE {chat_key} AND doc_id = ?"
        " AND at = ?",
        "search_docs": f"SELECT doc_id, at, terms FROM {ks}.search_docs WHERE {chat_key}",
        "delete_search_docs": f"DELETE FROM {ks}.search_docs WHERE {chat_key}",
        **ledger_statements(ks),
        **api_key_statements(ks),
    }


def cql_literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def utc(value: datetime | None) -> datetime:
    """A timestamp read back from the driver (naive UTC, float-derived): aware UTC, exact ms."""
    if value is None:
        return from_ms(0)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    micros = (value - _NAIVE_EPOCH) // timedelta(microseconds=1)
    return from_ms((micros + 500) // 1000)


def chat_from_row(row: Row) -> ChatRecord:
    return ChatRecord(
        user_id=row["user_id"],
        chat_id=str(row["chat_id"]),
        title=row["title"] or "",
        system_prompt=row["system_prompt"] or "",
        settings=settings_from_json(row["settings"]),
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
        title_from_user=bool(row["title_from_user"]),
        current_message_id=str(row["current_message_id"] or ""),
    )


def is_complete_chat(row: Row) -> bool:
    # update_chat racing delete_chat can resurrect a partial row (an UPDATE writes only its
    # columns): such a row has no created_at and counts as deleted.
    return row["created_at"] is not None


def message_from_row(row: Row) -> MessageRecord:
    return MessageRecord(
        chat_id=str(row["chat_id"]),
        message_id=str(row["message_id"]),
        role=Role(row["role"]),
        content=row["content"] or "",
        status=MessageStatus(row["status"]),
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
        client_request_id=row["client_request_id"] or "",
        model=row["model"] or "",
        prompt_tokens=row["prompt_tokens"] or 0,
        completion_tokens=row["completion_tokens"] or 0,
        cached=bool(row["cached"]),
        cache_similarity=row["cache_similarity"] or 0.0,
        finish_reason=row["finish_reason"] or "",
        error=row["error"] or "",
    )
