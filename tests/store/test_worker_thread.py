"""The SQLite store's worker thread: calls run in order, errors reach the caller, a call
cancelled before it started never runs, and stop() finishes what was queued."""

from __future__ import annotations

import asyncio
import functools
import threading
from unittest import mock

import pytest

from chat_service.store.worker_thread import WorkerThread


async def test_calls_run_in_order_on_one_thread_and_errors_reach_the_caller() -> None:
    worker = WorkerThread("test-worker")
    seen: list[tuple[int, str]] = []

    def record(n: int) -> int:
        seen.append((n, threading.current_thread().name))
        return n * 2

    results = await asyncio.gather(*(worker.call(functools.partial(record, n)) for n in range(20)))
    assert results == [n * 2 for n in range(20)]
    assert [n for n, _ in seen] == list(range(20))
    assert {name for _, name in seen} == {"test-worker"}

    def fail() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await worker.call(fail)
    await worker.stop()


async def test_a_call_cancelled_before_it_starts_is_skipped() -> None:
    worker = WorkerThread("test-worker")
    gate, ran = threading.Event(), []
    blocker = asyncio.ensure_future(worker.call(lambda: gate.wait(10)))
    queued = asyncio.ensure_future(worker.call(lambda: ran.append("queued")))
    await asyncio.sleep(0)  # both submitted
    queued.cancel()
    gate.set()
    assert await blocker is True
    with pytest.raises(asyncio.CancelledError):
        await queued
    assert await worker.call(lambda: "after") == "after"  # the thread goes on
    await worker.stop()
    assert ran == []


async def test_results_finished_while_the_loop_is_busy_come_back_in_one_wake() -> None:
    """The loop is woken once for the results that finished while it was busy, and each
    caller still gets its own result."""
    worker = WorkerThread("test-worker")
    loop = asyncio.get_running_loop()
    finished = threading.Semaphore(0)

    def work(n: int) -> int:
        finished.release()
        return n

    with mock.patch.object(loop, "call_soon_threadsafe", wraps=loop.call_soon_threadsafe) as wake:
        calls = [asyncio.ensure_future(worker.call(functools.partial(work, n))) for n in range(10)]
        await asyncio.sleep(0)  # all ten submitted
        for _ in range(10):  # the loop is held (this thread blocks) while every call finishes
            assert finished.acquire(timeout=10)
        assert await asyncio.gather(*calls) == list(range(10))
        assert 1 <= wake.call_count <= 2  # the first result may wake the loop before the rest
    await worker.stop()
