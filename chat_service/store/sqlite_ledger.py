"""UsageLedger on SQLite (the tables are created by sqlite_store's migrations)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from chat_service.store.ledger import Slot, UsageLedger, UsageQuery, UsageRead

T = TypeVar("T")

LEDGER_TABLES = [
    """CREATE TABLE user_slots (
        user_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        slot_id TEXT NOT NULL,
        held_at INTEGER NOT NULL,      -- Unix ms
        expires_at INTEGER NOT NULL,   -- Unix ms
        PRIMARY KEY (user_id, kind, slot_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE user_turn_starts (
        user_id TEXT NOT NULL,
        started_at INTEGER NOT NULL,   -- Unix ms
        turn_id TEXT NOT NULL,
        PRIMARY KEY (user_id, started_at, turn_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE user_usage (
        user_id TEXT NOT NULL,
        day TEXT NOT NULL,             -- UTC, YYYY-MM-DD
        tokens INTEGER NOT NULL,
        PRIMARY KEY (user_id, day)
    ) WITHOUT ROWID""",
]

HOLD_SLOT = """INSERT INTO user_slots (user_id, kind, slot_id, held_at, expires_at)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (user_id, kind, slot_id)
               DO UPDATE SET expires_at = excluded.expires_at"""

# Kept until a read's window has passed it (turn_starts deletes what it skips).
RECORD_START = (
    "INSERT OR REPLACE INTO user_turn_starts (user_id, started_at, turn_id) VALUES (?, ?, ?)"
)


def _live_slots(conn: sqlite3.Connection, user_id: str, kind: str, now_ms: int) -> list[Slot]:
    conn.execute(
        "DELETE FROM user_slots WHERE user_id = ? AND kind = ? AND expires_at <= ?",
        (user_id, kind, now_ms),
    )
    rows = conn.execute(
        "SELECT held_at, slot_id FROM user_slots WHERE user_id = ? AND kind = ?", (user_id, kind)
    ).fetchall()
    return sorted(Slot(row["held_at"], row["slot_id"]) for row in rows)


def _turn_starts(conn: sqlite3.Connection, user_id: str, since_ms: int) -> list[int]:
    conn.execute(
        "DELETE FROM user_turn_starts WHERE user_id = ? AND started_at <= ?", (user_id, since_ms)
    )
    rows = conn.execute(
        "SELECT started_at FROM user_turn_starts WHERE user_id = ? AND started_at > ?"
        " ORDER BY started_at",
        (user_id, since_ms),
    ).fetchall()
    return [row["started_at"] for row in rows]


def _tokens_used(conn: sqlite3.Connection, user_id: str, day: str) -> int:
    row = conn.execute(
        "SELECT tokens FROM user_usage WHERE user_id = ? AND day = ?", (user_id, day)
    ).fetchone()
    return int(row["tokens"]) if row else 0


class SqliteLedger(UsageLedger):
    """Mixed into SqliteStore, whose worker thread runs every call. Expired rows of a user are
    deleted when that user's rows are next read, so the tables hold live rows only."""

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError  # SqliteStore's

    async def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute(sql, params)

        await self._run(write)

    async def live_slots(self, user_id: str, kind: str, now_ms: int) -> list[Slot]:
        return await self._run(lambda conn: _live_slots(conn, user_id, kind, now_ms))

    async def read_usage(self, query: UsageQuery) -> UsageRead:
        def read(conn: sqlite3.Connection) -> UsageRead:
            q = query
            return UsageRead(
                _tokens_used(conn, q.user_id, q.day) if q.day is not None else 0,
                _turn_starts(conn, q.user_id, q.starts_since_ms)
                if q.starts_since_ms is not None
                else [],
                _live_slots(conn, q.user_id, q.kind, q.now_ms) if q.slots else [],
            )

        return await self._run(read)

    async def take_slot(
        self, user_id: str, kind: str, slot: Slot, expires_ms: int, keep_start_s: int | None = None
    ) -> list[Slot]:
        def take(conn: sqlite3.Connection) -> list[Slot]:
            conn.execute(HOLD_SLOT, (user_id, kind, slot.slot_id, slot.held_at_ms, expires_ms))
            if keep_start_s is not None:
                conn.execute(RECORD_START, (user_id, slot.held_at_ms, slot.slot_id))
            return _live_slots(conn, user_id, kind, slot.held_at_ms)

        return await self._run(take)

    async def hold_slot(self, user_id: str, kind: str, slot: Slot, expires_ms: int) -> None:
        await self._write(HOLD_SLOT, (user_id, kind, slot.slot_id, slot.held_at_ms, expires_ms))

    async def release_slot(self, user_id: str, kind: str, slot_id: str) -> None:
        await self._write(
            "DELETE FROM user_slots WHERE user_id = ? AND kind = ? AND slot_id = ?",
            (user_id, kind, slot_id),
        )

    async def turn_starts(self, user_id: str, since_ms: int) -> list[int]:
        return await self._run(lambda conn: _turn_starts(conn, user_id, since_ms))

    async def record_turn_start(self, user_id: str, at_ms: int, turn_id: str, keep_s: int) -> None:
        # Kept until a read's window has passed it (turn_starts deletes what it skips).
        await self._write(RECORD_START, (user_id, at_ms, turn_id))

    async def tokens_used(self, user_id: str, day: str) -> int:
        return await self._run(lambda conn: _tokens_used(conn, user_id, day))

    async def add_tokens(self, user_id: str, day: str, tokens: int) -> None:
        await self._write(
            """INSERT INTO user_usage (user_id, day, tokens) VALUES (?, ?, ?)
               ON CONFLICT (user_id, day) DO UPDATE SET tokens = tokens + excluded.tokens""",
            (user_id, day, tokens),
        )
