"""ApiKeyStore on Cassandra (the tables are created by cassandra_store's migrations).

  api_keys_by_user  ((user_id), key_id DESC)   a user's keys, newest first (ids are UUIDv7)
  api_keys_by_hash  ((key_hash)) -> user_id, key_id   how a request finds its key

The record lives in api_keys_by_user only; a lookup by hash reads the index row, then the
record (two single-row reads), and trusts an index row only if the record agrees with it.
Both rows are written and deleted together in LOGGED batches (different partitions: the batch
log makes them land together or not at all). Plain INSERTs and DELETEs are idempotent, so a
write the driver retries after a timeout does no harm. Two concurrent deletes of one key can
both answer True; the key is gone either way.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from cassandra.query import BatchStatement

from chat_service.store._codec import from_ms, to_ms
from chat_service.store.api_keys import ApiKeyRecord, ApiKeyStore

_BY_USER_COLS = "user_id, key_id, name, hint, created_at, key_hash"


def api_key_tables(ks: str) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS {ks}.api_keys_by_user (
            user_id text, key_id uuid, name text, hint text, created_at timestamp, key_hash text,
            PRIMARY KEY ((user_id), key_id)
        ) WITH CLUSTERING ORDER BY (key_id DESC)""",
        f"""CREATE TABLE IF NOT EXISTS {ks}.api_keys_by_hash (
            key_hash text, user_id text, key_id uuid,
            PRIMARY KEY ((key_hash))
        )""",
    ]


def api_key_statements(ks: str) -> dict[str, str]:
    user_key = "user_id = ? AND key_id = ?"
    return {
        "insert_api_key_by_user": f"INSERT INTO {ks}.api_keys_by_user ({_BY_USER_COLS})"
        " VALUES (?, ?, ?, ?, ?, ?)",
        "insert_api_key_by_hash": f"INSERT INTO {ks}.api_keys_by_hash (key_hash, user_id, key_id)"
        " VALUES (?, ?, ?)",
        "api_keys_of": f"SELECT {_BY_USER_COLS} FROM {ks}.api_keys_by_user WHERE user_id = ?",
        "api_key": f"SELECT {_BY_USER_COLS} FROM {ks}.api_keys_by_user WHERE {user_key}",
        "api_key_by_hash": f"SELECT user_id, key_id FROM {ks}.api_keys_by_hash WHERE key_hash = ?",
        "delete_api_key_by_user": f"DELETE FROM {ks}.api_keys_by_user WHERE {user_key}",
        "delete_api_key_by_hash": f"DELETE FROM {ks}.api_keys_by_hash WHERE key_hash = ?",
    }


def _utc(value: datetime | None) -> datetime:
    """The driver's timestamp (naive UTC, float-derived): aware UTC, rounded to the ms."""
    if value is None:
        return from_ms(0)
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return from_ms(round(aware.timestamp() * 1000))


def _key_from_row(row: dict[str, Any]) -> ApiKeyRecord:
    return ApiKeyRecord(
        user_id=row["user_id"],
        key_id=str(row["key_id"]),
        name=row["name"] or "",
        key_hash=row["key_hash"] or "",
        hint=row["hint"] or "",
        created_at=_utc(row["created_at"]),
    )


class CassandraApiKeys(ApiKeyStore):
    """Mixed into CassandraStore, after CassandraConnection in its bases: the connection's
    methods are what these stubs stand for (listed first, they win the lookup)."""

    async def _execute(self, statement: Any, params: Sequence[Any] | None = None) -> list[Any]:
        raise NotImplementedError  # CassandraConnection's

    def _stmt(self, name: str) -> Any:
        raise NotImplementedError  # CassandraConnection's

    def _batch(self, items: Iterable[tuple[str, Sequence[Any]]]) -> BatchStatement:
        raise NotImplementedError  # CassandraConnection's

    async def _api_key(self, user_id: str, key_id: uuid.UUID) -> dict[str, Any] | None:
        rows = await self._execute(self._stmt("api_key"), (user_id, key_id))
        return rows[0] if rows else None

    async def create_api_key(self, key: ApiKeyRecord) -> None:
        key_id = uuid.UUID(key.key_id)
        by_user = (key.user_id, key_id, key.name, key.hint, to_ms(key.created_at), key.key_hash)
        by_hash = (key.key_hash, key.user_id, key_id)
        await self._execute(
            self._batch([("insert_api_key_by_user", by_user), ("insert_api_key_by_hash", by_hash)])
        )

    async def api_keys_of(self, user_id: str) -> list[ApiKeyRecord]:
        rows = await self._execute(self._stmt("api_keys_of"), (user_id,))
        return [_key_from_row(row) for row in rows]  # clustering order: newest first

    async def api_key_by_hash(self, key_hash: str) -> ApiKeyRecord | None:
        rows = await self._execute(self._stmt("api_key_by_hash"), (key_hash,))
        if not rows:
            return None
        row = await self._api_key(rows[0]["user_id"], rows[0]["key_id"])
        # An index row without its record (or pointing at another hash) counts as no key.
        if row is None or row["key_hash"] != key_hash:
            return None
        return _key_from_row(row)

    async def delete_api_key(self, user_id: str, key_id: str) -> bool:
        try:
            kid = uuid.UUID(key_id)
        except ValueError:  # not an id we could have handed out
            return False
        row = await self._api_key(user_id, kid)  # the record knows the hash to unindex
        if row is None:
            return False
        items: list[tuple[str, Sequence[Any]]] = [("delete_api_key_by_user", (user_id, kid))]
        if row["key_hash"]:
            items.append(("delete_api_key_by_hash", (row["key_hash"],)))
        await self._execute(self._batch(items))
        return True
