"""UsageLedger on Cassandra (the tables are created by cassandra_store's migrations).

  user_slots        ((user_id, kind), slot_id)   written USING TTL: a dead replica's slot expires
  user_turn_starts  ((user_id), started_at, turn_id)   USING TTL of the rate window
  user_usage        ((user_id), day) tokens counter

Slots and turn starts live seconds to minutes and expire by TTL, so their partitions hold a
handful of live rows; gc_grace_seconds is short (a resurrected row would still carry its TTL,
so the usual reason for a long grace period does not apply) to keep expired cells from piling
up as tombstones that reads must skip. Counters are not idempotent: a write that times out and
is retried by the driver can charge a turn twice (budgets err against the user by one turn).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from chat_service.store.ledger import Slot, UsageLedger

_GRACE = "gc_grace_seconds = 600"


def ledger_tables(ks: str) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS {ks}.user_slots (
            user_id text, kind text, slot_id text, held_at timestamp,
            PRIMARY KEY ((user_id, kind), slot_id)
        ) WITH {_GRACE}""",
        f"""CREATE TABLE IF NOT EXISTS {ks}.user_turn_starts (
            user_id text, started_at timestamp, turn_id text,
            PRIMARY KEY ((user_id), started_at, turn_id)
        ) WITH {_GRACE}""",
        f"""CREATE TABLE IF NOT EXISTS {ks}.user_usage (
            user_id text, day text, tokens counter,
            PRIMARY KEY ((user_id), day)
        )""",
    ]


def ledger_statements(ks: str) -> dict[str, str]:
    slot_key = "user_id = ? AND kind = ?"
    return {
        "live_slots": f"SELECT slot_id, held_at FROM {ks}.user_slots WHERE {slot_key}",
        "hold_slot": f"INSERT INTO {ks}.user_slots (user_id, kind, slot_id, held_at)"
        " VALUES (?, ?, ?, ?) USING TTL ?",
        "release_slot": f"DELETE FROM {ks}.user_slots WHERE {slot_key} AND slot_id = ?",
        "turn_starts": f"SELECT started_at FROM {ks}.user_turn_starts"
        " WHERE user_id = ? AND started_at > ?",
        "record_turn_start": f"INSERT INTO {ks}.user_turn_starts (user_id, started_at, turn_id)"
        " VALUES (?, ?, ?) USING TTL ?",
        "tokens_used": f"SELECT tokens FROM {ks}.user_usage WHERE user_id = ? AND day = ?",
        "add_tokens": f"UPDATE {ks}.user_usage SET tokens = tokens + ?"
        " WHERE user_id = ? AND day = ?",
    }


def _when(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return round(value.timestamp() * 1000)


class CassandraLedger(UsageLedger):
    """Mixed into CassandraStore, after CassandraConnection in its bases: the connection's
    prepared statements and `_execute` are what these stubs stand for (listed first, they win
    the lookup; listed after this class, every ledger call would raise)."""

    async def _execute(self, statement: Any, params: Sequence[Any] | None = None) -> list[Any]:
        raise NotImplementedError  # CassandraConnection's

    def _stmt(self, name: str) -> Any:
        raise NotImplementedError  # CassandraConnection's

    async def _ledger(self, name: str, params: Sequence[Any]) -> list[Any]:
        return await self._execute(self._stmt(name), params)

    async def live_slots(self, user_id: str, kind: str, now_ms: int) -> list[Slot]:
        rows = await self._ledger("live_slots", (user_id, kind))
        # TTL removes expired slots; the clock of whoever wrote them decides, not ours.
        return sorted(Slot(_ms(row["held_at"]), row["slot_id"]) for row in rows)

    async def hold_slot(self, user_id: str, kind: str, slot: Slot, expires_ms: int) -> None:
        ttl = max(1, -(-(expires_ms - slot.held_at_ms) // 1000))
        await self._ledger("hold_slot", (user_id, kind, slot.slot_id, _when(slot.held_at_ms), ttl))

    async def release_slot(self, user_id: str, kind: str, slot_id: str) -> None:
        await self._ledger("release_slot", (user_id, kind, slot_id))

    async def turn_starts(self, user_id: str, since_ms: int) -> list[int]:
        rows = await self._ledger("turn_starts", (user_id, _when(since_ms)))
        return sorted(_ms(row["started_at"]) for row in rows)

    async def record_turn_start(self, user_id: str, at_ms: int, turn_id: str, keep_s: int) -> None:
        await self._ledger("record_turn_start", (user_id, _when(at_ms), turn_id, max(1, keep_s)))

    async def tokens_used(self, user_id: str, day: str) -> int:
        rows = await self._ledger("tokens_used", (user_id, day))
        return int(rows[0]["tokens"] or 0) if rows else 0

    async def add_tokens(self, user_id: str, day: str, tokens: int) -> None:
        await self._ledger("add_tokens", (tokens, user_id, day))
