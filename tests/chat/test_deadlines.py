"""chat_service.deadlines.SharedDeadlines, and the store deadline built on it: a call that
outlives its deadline ends with TimeoutError (the store's: UNAVAILABLE), within a tick of it;
a cancellation from elsewhere stays a cancellation; calls that finish in time are untouched."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from chat_service.deadlines import TICKS, SharedDeadlines
from chat_service.store.sqlite_store import SqliteStore
from chat_service.timed_store import TimedStore
from server_kit.errors import Unavailable


async def test_a_call_past_its_deadline_times_out_within_a_tick() -> None:
    deadlines = SharedDeadlines(0.2)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await deadlines.run(asyncio.Event().wait())  # never set
    took = time.monotonic() - started
    # Never early; late by at most a tick (a second of slack for a loaded machine's loop).
    assert 0.2 <= took < 0.2 * (1 + 1 / TICKS) + 1.0
    # The task was not left cancelled: it goes on awaiting.
    await asyncio.sleep(0)
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_calls_in_time_finish_and_others_time_out_on_their_own_deadlines() -> None:
    deadlines = SharedDeadlines(0.3)

    async def after(s: float) -> str:
        await asyncio.sleep(s)
        return f"done {s}"

    results = await asyncio.gather(
        deadlines.run(after(0.05)),
        deadlines.run(after(10)),
        deadlines.run(after(0.1)),
        return_exceptions=True,
    )
    assert results[0] == "done 0.05" and results[2] == "done 0.1"
    assert isinstance(results[1], TimeoutError)


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    deadlines = SharedDeadlines(5.0)
    task = asyncio.ensure_future(deadlines.run(asyncio.Event().wait()))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_the_timer_runs_only_while_calls_are_in_flight() -> None:
    deadlines = SharedDeadlines(0.2)
    assert await deadlines.run(asyncio.sleep(0, "x")) == "x"
    await asyncio.sleep(0.2 / TICKS * 2)  # the armed timer found nothing and stopped
    assert deadlines._timer is None


class HangingStore(SqliteStore):
    """Test double: a store whose get_chat never answers."""

    async def get_chat(self, user_id: str, chat_id: str) -> Any:
        await asyncio.Event().wait()


async def test_a_hanging_store_call_is_unavailable(tmp_path: Any) -> None:
    store = TimedStore(HangingStore(str(tmp_path / "x.db")), 0.2)
    with pytest.raises(Unavailable) as err:
        await store.get_chat("u", "c")
    assert err.value.reason == "STORE_UNAVAILABLE"
    await store.inner.close()
