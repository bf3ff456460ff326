"""ApiKeyStore on SQLite (the table is created by sqlite_store's migrations).

One table keyed by the hash (how a request finds its key); the unique (user_id, key_id) index
serves a user's list, newest first (key ids are time-ordered), and their deletes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TypeVar

from chat_service.store._codec import from_ms, norm_id, to_ms
from chat_service.store.api_keys import ApiKeyRecord, ApiKeyStore

T = TypeVar("T")

API_KEY_TABLES = [
    """CREATE TABLE api_keys (
        key_hash TEXT NOT NULL PRIMARY KEY,  -- hex SHA-256 of the secret
        user_id TEXT NOT NULL,
        key_id TEXT NOT NULL,
        name TEXT NOT NULL,
        hint TEXT NOT NULL,
        created_at INTEGER NOT NULL          -- Unix ms
    ) WITHOUT ROWID""",
    "CREATE UNIQUE INDEX api_keys_by_user ON api_keys (user_id, key_id)",
]

_COLS = "user_id, key_id, name, key_hash, hint, created_at"


def _key_from_row(row: sqlite3.Row) -> ApiKeyRecord:
    return ApiKeyRecord(
        user_id=row["user_id"],
        key_id=row["key_id"],
        name=row["name"],
        key_hash=row["key_hash"],
        hint=row["hint"],
        created_at=from_ms(row["created_at"]),
    )


class SqliteApiKeys(ApiKeyStore):
    """Mixed into SqliteStore, whose worker thread runs every call."""

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError  # SqliteStore's

    async def create_api_key(self, key: ApiKeyRecord) -> None:
        params = (
            key.user_id,
            norm_id(key.key_id),
            key.name,
            key.key_hash,
            key.hint,
            to_ms(key.created_at),
        )

        def write(conn: sqlite3.Connection) -> None:
            # An upsert, like Cassandra's INSERT.
            conn.execute(
                f"INSERT OR REPLACE INTO api_keys ({_COLS}) VALUES (?, ?, ?, ?, ?, ?)", params
            )

        await self._run(write)

    async def api_keys_of(self, user_id: str) -> list[ApiKeyRecord]:
        def read(conn: sqlite3.Connection) -> list[ApiKeyRecord]:
            rows = conn.execute(
                f"SELECT {_COLS} FROM api_keys WHERE user_id = ? ORDER BY key_id DESC", (user_id,)
            )
            return [_key_from_row(row) for row in rows]

        return await self._run(read)

    async def api_key_by_hash(self, key_hash: str) -> ApiKeyRecord | None:
        def read(conn: sqlite3.Connection) -> ApiKeyRecord | None:
            row = conn.execute(
                f"SELECT {_COLS} FROM api_keys WHERE key_hash = ?", (key_hash,)
            ).fetchone()
            return _key_from_row(row) if row else None

        return await self._run(read)

    async def delete_api_key(self, user_id: str, key_id: str) -> bool:
        try:
            key = (user_id, norm_id(key_id))
        except ValueError:  # not an id we could have handed out
            return False

        def delete(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute("DELETE FROM api_keys WHERE user_id = ? AND key_id = ?", key)
            return cursor.rowcount > 0

        return await self._run(delete)
