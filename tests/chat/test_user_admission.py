"""Per-user admission (chat_service/admission.py) on a real SQLite store: the limits, their
refusals, and two replicas sharing one store that still hold one cap between them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat_service.admission import TurnKind, UserAdmission, UserLimits
from chat_service.store.sqlite_store import SqliteStore
from chat_service.timed_store import TimedStore
from server_kit.errors import ResourceExhausted

LIMITS = UserLimits(
    max_streams=2,
    max_queued=3,
    turns_per_minute=0,
    daily_tokens=0,
    stream_slot_s=30,
    queued_slot_s=900,
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[TimedStore]:
    inner = SqliteStore(str(tmp_path / "chat.db"))
    await inner.start()
    yield TimedStore(inner, 5.0)
    await inner.close()


def user() -> str:
    return f"user-{uuid.uuid4().hex}"


def slot() -> str:
    return uuid.uuid4().hex


async def test_streams_over_the_cap_are_refused_until_one_ends(store: TimedStore) -> None:
    admission = UserAdmission(store, LIMITS)
    alice, bob = user(), user()
    first = await admission.admit(alice, TurnKind.STREAM, slot())
    await admission.admit(alice, TurnKind.STREAM, slot())
    with pytest.raises(ResourceExhausted) as refused:
        await admission.admit(alice, TurnKind.STREAM, slot())
    assert refused.value.reason == "USER_STREAM_LIMIT"
    assert "at most 2 at once" in refused.value.message
    await admission.admit(bob, TurnKind.STREAM, slot())  # another user: unaffected
    await admission.admit(alice, TurnKind.QUEUED, slot())  # another kind: its own cap
    await admission.release(alice, TurnKind.STREAM, first.slot_id)
    await admission.admit(alice, TurnKind.STREAM, slot())


async def test_a_resubmitted_turn_keeps_its_queue_slot(store: TimedStore) -> None:
    admission = UserAdmission(store, LIMITS)
    alice = user()
    for name in ("a", "b", "c"):
        await admission.admit(alice, TurnKind.QUEUED, name)
    await admission.admit(alice, TurnKind.QUEUED, "b")  # the same turn queued again
    with pytest.raises(ResourceExhausted) as refused:
        await admission.admit(alice, TurnKind.QUEUED, "d")
    assert refused.value.reason == "USER_QUEUE_LIMIT"


async def test_two_replicas_flooded_at_once_admit_no_more_than_the_cap(
    store: TimedStore,
) -> None:
    replicas = [UserAdmission(store, LIMITS), UserAdmission(store, LIMITS)]
    alice = user()
    results = await asyncio.gather(
        *(replicas[i % 2].admit(alice, TurnKind.STREAM, slot()) for i in range(20)),
        return_exceptions=True,
    )
    admitted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, ResourceExhausted)]
    assert len(admitted) == LIMITS.max_streams and len(refused) == 20 - LIMITS.max_streams
    live = await store.live_slots(alice, TurnKind.STREAM.value, 0)
    assert sorted(s.slot_id for s in live) == sorted(s.slot_id for s in admitted)


async def test_turns_per_minute_refuse_with_the_wait(store: TimedStore) -> None:
    admission = UserAdmission(store, UserLimits(0, 0, 3, 0, 30, 900))
    alice = user()
    for _ in range(3):
        await admission.admit(alice, TurnKind.STREAM, slot())
    with pytest.raises(ResourceExhausted) as refused:
        await admission.admit(alice, TurnKind.QUEUED, slot())
    assert refused.value.reason == "USER_RATE_LIMIT"
    assert 50 < (refused.value.retry_after_s or 0) <= 60
    await admission.admit(user(), TurnKind.STREAM, slot())


async def test_a_spent_daily_budget_refuses_until_midnight(store: TimedStore) -> None:
    admission = UserAdmission(store, UserLimits(0, 0, 0, 1_000, 30, 900))
    alice = user()
    await admission.admit(alice, TurnKind.STREAM, slot())
    await admission.charge(alice, 600)
    await admission.admit(alice, TurnKind.STREAM, slot())  # 600 < 1000: still admitted
    await admission.charge(alice, 600)
    with pytest.raises(ResourceExhausted) as refused:
        await admission.admit(alice, TurnKind.STREAM, slot())
    assert refused.value.reason == "USER_TOKEN_BUDGET"
    assert "1000 tokens" in refused.value.message
    assert 0 < (refused.value.retry_after_s or 0) <= 24 * 3600
    await admission.admit(user(), TurnKind.STREAM, slot())
