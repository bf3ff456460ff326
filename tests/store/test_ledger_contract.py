"""The UsageLedger part of the store contract (what per-user admission counts), run unchanged
against SQLite and a real Cassandra node."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from chat_service.store.base import HistoryStore
from chat_service.store.ledger import Slot, UsageQuery, UsageRead
from tests.store.backends import BACKENDS, open_backend


@pytest.fixture(scope="module", params=BACKENDS)
async def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[HistoryStore]:
    async with open_backend(request, tmp_path_factory) as (instance, _):
        yield instance


def new_user() -> str:
    return f"user-{uuid.uuid4().hex}"


def now_ms() -> int:
    return int(time.time() * 1000)


async def test_slots_are_per_user_and_kind_oldest_first(store: HistoryStore) -> None:
    user, other = new_user(), new_user()
    now = now_ms()
    for i, slot_id in enumerate(["c", "a", "b"]):
        await store.hold_slot(user, "stream", Slot(now + i, slot_id), now + 60_000)
    await store.hold_slot(user, "queued", Slot(now, "q"), now + 60_000)
    await store.hold_slot(other, "stream", Slot(now, "x"), now + 60_000)
    live = await store.live_slots(user, "stream", now)
    assert [s.slot_id for s in live] == ["c", "a", "b"]  # by when they were taken, not by id
    assert [s.held_at_ms for s in live] == [now, now + 1, now + 2]
    await store.release_slot(user, "stream", "a")
    await store.release_slot(user, "stream", "a")  # idempotent
    assert [s.slot_id for s in await store.live_slots(user, "stream", now)] == ["c", "b"]
    assert [s.slot_id for s in await store.live_slots(user, "queued", now)] == ["q"]


async def test_holding_a_slot_again_renews_it(store: HistoryStore) -> None:
    user = new_user()
    now = now_ms()
    await store.hold_slot(user, "stream", Slot(now, "s"), now + 60_000)
    await store.hold_slot(user, "stream", Slot(now, "s"), now + 120_000)
    assert await store.live_slots(user, "stream", now) == [Slot(now, "s")]


async def test_an_expired_slot_is_gone(store: HistoryStore) -> None:
    user = new_user()
    now = now_ms()
    await store.hold_slot(user, "stream", Slot(now, "short"), now + 1_000)
    await store.hold_slot(user, "stream", Slot(now, "long"), now + 60_000)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # Cassandra's TTL has a one-second resolution
        live = await store.live_slots(user, "stream", now_ms())
        if [s.slot_id for s in live] == ["long"]:
            break
        await asyncio.sleep(0.2)
    assert [s.slot_id for s in await store.live_slots(user, "stream", now_ms())] == ["long"]


async def test_turn_starts_within_a_window(store: HistoryStore) -> None:
    user, other = new_user(), new_user()
    now = now_ms()
    await store.record_turn_start(user, now - 90_000, "old", 60)
    await store.record_turn_start(user, now - 1_000, "t1", 60)
    await store.record_turn_start(user, now, "t2", 60)
    await store.record_turn_start(other, now, "t3", 60)
    assert await store.turn_starts(user, now - 60_000) == [now - 1_000, now]


async def test_tokens_add_up_per_user_and_day(store: HistoryStore) -> None:
    user, other = new_user(), new_user()
    assert await store.tokens_used(user, "2026-12-05") == 0
    await store.add_tokens(user, "2026-12-05", 120)
    await store.add_tokens(user, "2026-12-05", 30)
    await store.add_tokens(user, "2026-12-06", 7)
    await store.add_tokens(other, "2026-12-05", 1)
    assert await store.tokens_used(user, "2026-12-05") == 150
    assert await store.tokens_used(user, "2026-12-06") == 7


async def test_admissions_reads_together_match_the_reads_alone(store: HistoryStore) -> None:
    """read_usage (one round trip on SQLite) gives what the three reads give, and only the
    parts asked for; take_slot holds a slot and lists it among the live ones."""
    user = new_user()
    now = now_ms()
    await store.hold_slot(user, "stream", Slot(now, "s1"), now + 60_000)
    await store.record_turn_start(user, now - 1_000, "t1", 60)
    await store.add_tokens(user, "2026-01-02", 42)
    everything = UsageQuery(user, "stream", now, "2026-01-02", now - 60_000, slots=True)
    read = await store.read_usage(everything)
    assert read == UsageRead(42, [now - 1_000], [Slot(now, "s1")])
    assert await store.read_usage(UsageQuery(user, "stream", now, None, None, False)) == UsageRead(
        0, [], []
    )
    live = await store.take_slot(user, "stream", Slot(now + 1, "s2"), now + 60_000)
    assert live == [Slot(now, "s1"), Slot(now + 1, "s2")]
    assert await store.live_slots(user, "stream", now) == live
    # with keep_start_s, the turn's start is recorded with the slot
    await store.take_slot(user, "stream", Slot(now + 2, "s3"), now + 60_000, keep_start_s=60)
    assert await store.turn_starts(user, now - 60_000) == [now - 1_000, now + 2]
