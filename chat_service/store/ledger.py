"""What per-user admission keeps in the shared store (chat_service/admission.py).

Three small records per user, in the same database as the history so that every chat replica
sees the same counts (limits that do not multiply by the replica count):

- slots: one row per turn a user has running (kind "stream") or submitted and not finished
  (kind "queued"), with an expiry, so a replica that dies cannot hold a user's slot for good;
- turn starts: one row per admitted turn, kept for the rate window (turns per minute);
- usage: tokens per user and UTC day (the daily token budget).

Reads return what the caller needs to decide; the decision (and its races) is the caller's.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class Slot:
    held_at_ms: int  # first field: slots sort in the order they were taken
    slot_id: str


@dataclass(frozen=True)
class UsageRead:
    """What admission reads before deciding; a part not asked for is empty."""

    tokens_used: int
    turn_starts: list[int]
    live_slots: list[Slot]


@dataclass(frozen=True)
class UsageQuery:
    user_id: str
    kind: str
    now_ms: int
    day: str | None  # read the day's tokens (None: no budget)
    starts_since_ms: int | None  # read the turn starts after this (None: no rate limit)
    slots: bool  # read the live slots


class UsageLedger(ABC):
    async def read_usage(self, query: UsageQuery) -> UsageRead:
        """Admission's reads together: one round trip where the store can (SQLite)."""

        async def zero() -> int:
            return 0

        async def empty() -> list[Any]:
            return []

        q = query
        used, starts, live = await asyncio.gather(
            self.tokens_used(q.user_id, q.day) if q.day is not None else zero(),
            self.turn_starts(q.user_id, q.starts_since_ms)
            if q.starts_since_ms is not None
            else empty(),
            self.live_slots(q.user_id, q.kind, q.now_ms) if q.slots else empty(),
        )
        return UsageRead(used, starts, live)

    async def take_slot(
        self, user_id: str, kind: str, slot: Slot, expires_ms: int, keep_start_s: int | None = None
    ) -> list[Slot]:
        """Holds the slot, then reads the user's live slots of that kind (with it among them);
        with `keep_start_s`, also records the turn's start (at the slot's time, under its id),
        kept that long: one round trip where the store can (SQLite)."""

        async def take() -> list[Slot]:
            await self.hold_slot(user_id, kind, slot, expires_ms)
            return await self.live_slots(user_id, kind, slot.held_at_ms)

        if keep_start_s is None:
            return await take()
        live, _ = await asyncio.gather(
            take(), self.record_turn_start(user_id, slot.held_at_ms, slot.slot_id, keep_start_s)
        )
        return live

    @abstractmethod
    async def live_slots(self, user_id: str, kind: str, now_ms: int) -> list[Slot]:
        """The user's unexpired slots of this kind, oldest first."""

    @abstractmethod
    async def hold_slot(self, user_id: str, kind: str, slot: Slot, expires_ms: int) -> None:
        """Takes (or extends) a slot until `expires_ms`. Upsert: holding it again renews it."""

    @abstractmethod
    async def release_slot(self, user_id: str, kind: str, slot_id: str) -> None:
        """Frees a slot. Idempotent."""

    @abstractmethod
    async def turn_starts(self, user_id: str, since_ms: int) -> list[int]:
        """When the user's turns admitted after `since_ms` started (Unix ms, oldest first)."""

    @abstractmethod
    async def record_turn_start(self, user_id: str, at_ms: int, turn_id: str, keep_s: int) -> None:
        """Records an admitted turn, kept at least `keep_s` seconds."""

    @abstractmethod
    async def tokens_used(self, user_id: str, day: str) -> int:
        """Tokens charged to the user on this UTC day (YYYY-MM-DD)."""

    @abstractmethod
    async def add_tokens(self, user_id: str, day: str, tokens: int) -> None:
        """Charges tokens to the user's day (not idempotent: call once per turn)."""
