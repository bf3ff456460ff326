"""server_kit.tasks.BackgroundTasks: a started task is kept until it ends (never collected
mid-flight), its failure is logged once, and waiting covers tasks started while waiting."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from server_kit.tasks import BackgroundTasks


async def test_a_task_nobody_holds_still_finishes() -> None:
    tasks = BackgroundTasks("test")
    done = asyncio.Event()

    async def work() -> None:
        await asyncio.sleep(0.01)
        done.set()

    tasks.spawn(work())
    gc.collect()
    await asyncio.wait_for(done.wait(), 5)
    assert await tasks.wait(5)
    assert len(tasks) == 0


async def test_waiting_covers_tasks_started_meanwhile() -> None:
    tasks = BackgroundTasks("test")
    finished: list[str] = []

    async def second() -> None:
        await asyncio.sleep(0.02)
        finished.append("second")

    async def first() -> None:
        await asyncio.sleep(0.01)
        tasks.spawn(second())
        finished.append("first")

    tasks.spawn(first())
    assert await tasks.wait(5)
    assert finished == ["first", "second"]


async def test_a_failure_is_logged_once_and_a_timeout_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tasks = BackgroundTasks("test")

    async def fail() -> None:
        raise ValueError("boom")

    with caplog.at_level(logging.WARNING, logger="server_kit.tasks"):
        tasks.spawn(fail(), name="failing")
        assert await tasks.wait(5)
    assert [r.getMessage() for r in caplog.records] == ["test task failing failed"]

    blocker = asyncio.Event()
    tasks.spawn(blocker.wait())
    assert not await tasks.wait(0.05)
    await tasks.cancel()
    assert len(tasks) == 0
