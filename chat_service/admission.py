"""Per-user admission: one user cannot take the service from the others.

Before a turn is stored, its user must be under four limits, all counted in the shared store
(store/ledger.py), so they hold across chat replicas instead of multiplying by their number
(the chat service is where a turn's user, kind and cost are known; Envoy's per-user request
limit in front is per Envoy and only a coarse first line):

- streams: turns the user has generating at once (each holds a slot, renewed while it runs
  and expiring if its replica dies);
- queued: submitted turns not yet finished;
- turns per minute (a sliding window of admitted turns);
- tokens per UTC day (prompt + completion of generated answers, charged when a turn ends; a
  turn already running may overshoot the budget by its own size).

A refusal is RESOURCE_EXHAUSTED (HTTP 429) with the reason, the limit and when to retry, and
nothing is stored. Other users are never refused because of this user (see also
InferenceClient.busy_for, and the inference service's per-user fair queue).

Races: replicas admitting the same user at the same moment each take a slot first and then
read the slots back; only the oldest `cap` slots are admitted, the others are released and
refused, so concurrent admissions cannot exceed the cap. The rate and token counts are read
before writing and may overshoot by the admissions of that same moment.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from chat_service.config import TurnSettings
from chat_service.store.ledger import Slot, UsageQuery
from chat_service.timed_store import TimedStore
from server_kit.errors import ResourceExhausted

RATE_WINDOW_S = 60


class TurnKind(StrEnum):
    STREAM = "stream"  # generated while its client streams it
    QUEUED = "queued"  # submitted (asynchronous mode), until it finishes


@dataclass(frozen=True)
class UserLimits:
    """0 turns a limit off."""

    max_streams: int
    max_queued: int
    turns_per_minute: int
    daily_tokens: int
    stream_slot_s: float  # a stream's slot expires unless renewed this often (replica died)
    queued_slot_s: float  # a submitted turn's slot expires after this long, finished or not

    @classmethod
    def from_settings(cls, settings: TurnSettings) -> UserLimits:
        return cls(
            max_streams=settings.user_max_streams,
            max_queued=settings.user_max_queued_turns,
            turns_per_minute=settings.user_turns_per_minute,
            daily_tokens=settings.user_daily_tokens,
            stream_slot_s=settings.abandoned_turn_s,
            queued_slot_s=settings.queued_turn_slot_s,
        )


def _now_ms() -> int:
    return int(time.time() * 1000)


def _utc_day(now_ms: int) -> tuple[str, float]:
    """Today (UTC, YYYY-MM-DD) and the seconds until tomorrow."""
    now = datetime.fromtimestamp(now_ms / 1000, UTC)
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return now.date().isoformat(), (tomorrow - now).total_seconds()


class UserAdmission:
    def __init__(self, store: TimedStore, limits: UserLimits) -> None:
        self.store = store
        self.limits = limits
        # One admission at a time per user and replica: a flood on one replica is refused by
        # a read, without a write per refused request.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _cap(self, kind: TurnKind) -> int:
        return self.limits.max_streams if kind is TurnKind.STREAM else self.limits.max_queued

    def _ttl_ms(self, kind: TurnKind) -> int:
        seconds = (
            self.limits.stream_slot_s if kind is TurnKind.STREAM else self.limits.queued_slot_s
        )
        return int(seconds * 1000)

    async def admit(self, user_id: str, kind: TurnKind, slot_id: str) -> Slot:
        """Admits a turn (holding slot `slot_id` until released) or raises ResourceExhausted.
        Holding a slot the user already holds (a resubmitted turn) is admitted again."""
        lock = self._locks.get(user_id)
        if lock is None:
            lock = self._locks[user_id] = asyncio.Lock()
        async with lock:
            now = _now_ms()
            live = await self._check(user_id, kind, now)
            cap = self._cap(kind)
            if cap and slot_id not in {s.slot_id for s in live} and len(live) >= cap:
                raise self._full(kind, len(live))
            # The turn start is recorded with the slot (one round trip; a turn refused by the
            # slot's race below still counts against the rate).
            keep_start_s = RATE_WINDOW_S if self.limits.turns_per_minute else None
            if cap:
                await self._take(user_id, kind, Slot(now, slot_id), cap, keep_start_s)
            elif keep_start_s is not None:
                await self.store.record_turn_start(user_id, now, slot_id, keep_start_s)
            return Slot(now, slot_id)

    async def _check(self, user_id: str, kind: TurnKind, now: int) -> list[Slot]:
        """The budget and rate checks, and the user's live slots (one round of reads)."""
        day, _ = _utc_day(now)
        window_start = now - RATE_WINDOW_S * 1000
        usage = await self.store.read_usage(
            UsageQuery(
                user_id,
                kind.value,
                now,
                day=day if self.limits.daily_tokens else None,
                starts_since_ms=window_start if self.limits.turns_per_minute else None,
                slots=bool(self._cap(kind)),
            )
        )
        used, starts, live = usage.tokens_used, usage.turn_starts, usage.live_slots
        if self.limits.daily_tokens and used >= self.limits.daily_tokens:
            _, until_tomorrow = _utc_day(now)
            raise ResourceExhausted(
                f"your daily token budget ({self.limits.daily_tokens} tokens) is spent; "
                "it renews at 00:00 UTC",
                reason="USER_TOKEN_BUDGET",
                retry_after_s=until_tomorrow,
            )
        if self.limits.turns_per_minute and len(starts) >= self.limits.turns_per_minute:
            oldest = starts[-self.limits.turns_per_minute]
            raise ResourceExhausted(
                f"too many turns: at most {self.limits.turns_per_minute} per minute",
                reason="USER_RATE_LIMIT",
                retry_after_s=max(0.1, (oldest + RATE_WINDOW_S * 1000 - now) / 1000),
            )
        return live

    async def _take(
        self, user_id: str, kind: TurnKind, slot: Slot, cap: int, keep_start_s: int | None
    ) -> None:
        """Holds the slot, then keeps it only if it is among the user's `cap` oldest (another
        replica may have admitted the same user meanwhile)."""
        expires = slot.held_at_ms + self._ttl_ms(kind)
        live = await self.store.take_slot(user_id, kind.value, slot, expires, keep_start_s)
        ids = [s.slot_id for s in live]
        if slot.slot_id in ids and ids.index(slot.slot_id) >= cap:
            await self.store.release_slot(user_id, kind.value, slot.slot_id)
            raise self._full(kind, cap)

    def _full(self, kind: TurnKind, held: int) -> ResourceExhausted:
        if kind is TurnKind.STREAM:
            return ResourceExhausted(
                f"you have {held} replies being generated already (at most "
                f"{self.limits.max_streams} at once); wait for one to finish",
                reason="USER_STREAM_LIMIT",
                retry_after_s=1.0,
            )
        return ResourceExhausted(
            f"you have {held} submitted turns waiting or running (at most "
            f"{self.limits.max_queued}); wait for one to finish",
            reason="USER_QUEUE_LIMIT",
            retry_after_s=2.0,
        )

    async def renew(self, user_id: str, kind: TurnKind, slot: Slot) -> None:
        """Extends a running turn's slot (called with its lease refresh)."""
        if self._cap(kind):
            await self.store.hold_slot(user_id, kind.value, slot, _now_ms() + self._ttl_ms(kind))

    async def release(self, user_id: str, kind: TurnKind, slot_id: str) -> None:
        if self._cap(kind):
            await self.store.release_slot(user_id, kind.value, slot_id)

    async def charge(self, user_id: str, tokens: int) -> None:
        """Adds a finished turn's tokens to the user's day."""
        if self.limits.daily_tokens and tokens > 0:
            day, _ = _utc_day(_now_ms())
            await self.store.add_tokens(user_id, day, tokens)
