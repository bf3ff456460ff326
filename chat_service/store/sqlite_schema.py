"""The SQLite store's schema and rows: the migrations that create its tables (applied in
order, recorded in PRAGMA user_version), the message upserts, and records converted to rows
and back. The store itself: sqlite_store.py."""

from __future__ import annotations

import sqlite3
from typing import Any

from chat_service.domain import ChatRecord, MessageRecord, MessageStatus, Role
from chat_service.store._codec import from_ms, norm_id, settings_from_json, to_ms
from chat_service.store.sqlite_api_keys import API_KEY_TABLES
from chat_service.store.sqlite_ledger import LEDGER_TABLES
from chat_service.store.sqlite_search import BATCHED_TABLES, SEARCH_TABLES

# PRAGMA user_version after each migration; migrations run in order, each in a transaction.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE chats (
            user_id TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            title TEXT NOT NULL,
            title_from_user INTEGER NOT NULL,
            system_prompt TEXT NOT NULL,
            settings TEXT NOT NULL,          -- JSON, see _codec.settings_to_json
            created_at INTEGER NOT NULL,     -- Unix ms
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (user_id, chat_id)   -- also serves "newest first" (UUIDv7 text order)
        ) WITHOUT ROWID""",
        # A rowid table: message rows can be large, the PK index stays small. The PK index
        # (user_id, chat_id, message_id) is what newest-N reads walk backwards.
        """CREATE TABLE messages (
            user_id TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            message_id TEXT NOT NULL,
            role TEXT NOT NULL,
            content TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            client_request_id TEXT NOT NULL,
            model TEXT NOT NULL,
            prompt_tokens INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            cached INTEGER NOT NULL,
            cache_similarity REAL NOT NULL,
            finish_reason TEXT NOT NULL,
            error TEXT NOT NULL,
            PRIMARY KEY (user_id, chat_id, message_id)
        )""",
        """CREATE TABLE turns_by_request (
            user_id TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            client_request_id TEXT NOT NULL,
            user_message_id TEXT NOT NULL,
            assistant_message_id TEXT NOT NULL,
            PRIMARY KEY (user_id, chat_id, client_request_id)
        ) WITHOUT ROWID""",
        """CREATE TABLE summaries (
            user_id TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            upto_message_id TEXT NOT NULL,
            content TEXT NOT NULL,
            token_count INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (user_id, chat_id, upto_message_id)
        )""",
    ],
    # 2: per-user admission (slots, turn starts, daily token usage)
    LEDGER_TABLES,
    # 3: the users' API keys
    API_KEY_TABLES,
    # 4: search over titles and messages (FTS5, kept by triggers)
    SEARCH_TABLES,
    # 5: the message tree (docs/branches.md). Existing rows keep parent "" (legacy: the
    # previous message in id order) and thread "" (the chat's first line): no rewrite.
    [
        "ALTER TABLE messages ADD COLUMN parent_id TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE messages ADD COLUMN thread_id TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE chats ADD COLUMN current_message_id TEXT NOT NULL DEFAULT ''",
        # The versions at a fork: one range per parent.
        "CREATE INDEX messages_by_parent ON messages (user_id, chat_id, parent_id, message_id)",
        # A thread's tip (its newest message): the last entry of one range.
        "CREATE INDEX messages_by_thread ON messages (user_id, chat_id, thread_id, message_id)",
    ],
    # 6: the chat each create's client request id stands for (CreateChat's idempotency key)
    [
        """CREATE TABLE chat_requests (
            user_id TEXT NOT NULL,
            client_request_id TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            PRIMARY KEY (user_id, client_request_id)
        ) WITHOUT ROWID""",
    ],
    # 7: messages indexed for search in batches (sqlite_search.py)
    BATCHED_TABLES,
]

CHAT_COLS = (
    "user_id, chat_id, title, title_from_user, system_prompt, settings, created_at, updated_at,"
    " current_message_id"
)
MSG_COLS = (
    "chat_id, message_id, role, content, status, created_at, updated_at, client_request_id,"
    " model, prompt_tokens, completion_tokens, cached, cache_similarity, finish_reason, error"
)
_ON_CONFLICT_UPDATE = """
    ON CONFLICT (user_id, chat_id, message_id) DO UPDATE SET
        role = excluded.role, content = excluded.content, status = excluded.status,
        created_at = excluded.created_at, updated_at = excluded.updated_at,
        client_request_id = excluded.client_request_id, model = excluded.model,
        prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens,
        cached = excluded.cached, cache_similarity = excluded.cache_similarity,
        finish_reason = excluded.finish_reason, error = excluded.error
"""
# With the message's place in the tree (parent_id, thread_id): written when the row is made,
# never changed by an upsert (_ON_CONFLICT_UPDATE leaves them).
UPSERT_MESSAGE = f"""
    INSERT INTO messages (user_id, {MSG_COLS}, parent_id, thread_id)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
{_ON_CONFLICT_UPDATE}"""
# The same upsert, but only into a chat that exists: a turn stopped just before its chat was
# deleted must not bring its reply back (an upsert would re-insert the deleted row).
SAVE_MESSAGE = f"""
    INSERT INTO messages (user_id, {MSG_COLS})
    SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
    WHERE EXISTS (SELECT 1 FROM chats WHERE user_id = ? AND chat_id = ?)
{_ON_CONFLICT_UPDATE}"""


def chat_from_row(row: sqlite3.Row) -> ChatRecord:
    return ChatRecord(
        user_id=row["user_id"],
        chat_id=row["chat_id"],
        title=row["title"],
        system_prompt=row["system_prompt"],
        settings=settings_from_json(row["settings"]),
        created_at=from_ms(row["created_at"]),
        updated_at=from_ms(row["updated_at"]),
        title_from_user=bool(row["title_from_user"]),
        current_message_id=row["current_message_id"],
    )


def message_from_row(row: sqlite3.Row) -> MessageRecord:
    return MessageRecord(
        chat_id=row["chat_id"],
        message_id=row["message_id"],
        role=Role(row["role"]),
        content=row["content"],
        status=MessageStatus(row["status"]),
        created_at=from_ms(row["created_at"]),
        updated_at=from_ms(row["updated_at"]),
        client_request_id=row["client_request_id"],
        model=row["model"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        cached=bool(row["cached"]),
        cache_similarity=row["cache_similarity"],
        finish_reason=row["finish_reason"],
        error=row["error"],
    )


def message_params(user_id: str, m: MessageRecord) -> tuple[Any, ...]:
    return (
        user_id,
        norm_id(m.chat_id),
        norm_id(m.message_id),
        m.role.value,
        m.content,
        m.status.value,
        to_ms(m.created_at),
        to_ms(m.updated_at),
        m.client_request_id,
        m.model,
        m.prompt_tokens,
        m.completion_tokens,
        int(m.cached),
        m.cache_similarity,
        m.finish_reason,
        m.error,
    )
