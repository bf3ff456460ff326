"""The inference service's fair queue (inference_service/admission.py), in isolation."""

from __future__ import annotations

import asyncio

import pytest

from inference_service.admission import Admission, QueueFull


async def _hold(admission: Admission, key: str, order: list[str], release: asyncio.Event) -> None:
    async with admission.slot(key):
        order.append(key)
        await release.wait()


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_freed_slot_goes_to_the_key_with_fewest_running() -> None:
    admission = Admission(max_running=1, max_queued=8, max_queued_per_key=8)
    order: list[str] = []
    gates = [asyncio.Event() for _ in range(5)]
    # The flooder holds the slot and queues three more before the other user arrives.
    tasks = [asyncio.create_task(_hold(admission, "flood", order, gates[i])) for i in range(4)]
    await _settle()
    tasks.append(asyncio.create_task(_hold(admission, "other", order, gates[4])))
    await _settle()
    assert order == ["flood"] and admission.queued == 4
    gates[0].set()
    await _settle()
    assert order == ["flood", "other"]  # not the flooder's next request, queued earlier
    for gate in gates:
        gate.set()
    await asyncio.gather(*tasks)
    assert order == ["flood", "other", "flood", "flood", "flood"]
    assert admission.running == 0 and admission.queued == 0


async def test_one_key_cannot_fill_the_whole_queue() -> None:
    admission = Admission(max_running=1, max_queued=4, max_queued_per_key=2)
    release = asyncio.Event()
    order: list[str] = []
    tasks = [asyncio.create_task(_hold(admission, "flood", order, release)) for _ in range(3)]
    await _settle()
    with pytest.raises(QueueFull, match="this caller's requests"):
        async with admission.slot("flood"):
            pass
    # Another caller still finds a place in the queue.
    other = asyncio.create_task(_hold(admission, "other", order, release))
    await _settle()
    assert admission.queued == 3
    release.set()
    await asyncio.gather(*tasks, other)
    assert order[:2] == ["flood", "other"]


async def test_a_cancelled_waiter_gives_its_place_back() -> None:
    admission = Admission(max_running=1, max_queued=2)
    release = asyncio.Event()
    order: list[str] = []
    first = asyncio.create_task(_hold(admission, "a", order, release))
    await _settle()
    waiting = asyncio.create_task(_hold(admission, "b", order, release))
    await _settle()
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    assert admission.queued == 0
    release.set()
    await first
    assert admission.running == 0 and order == ["a"]


async def test_a_waiter_cancelled_just_before_a_release_is_not_granted() -> None:
    """The cancelled task's future is done before its cleanup runs: a release in between must
    skip it, or its slot would be counted and never given back."""
    admission = Admission(max_running=1, max_queued=2)
    held = admission.slot("a")
    await held.__aenter__()
    waiting = asyncio.create_task(_hold(admission, "b", [], asyncio.Event()))
    await _settle()
    waiting.cancel()  # its future is cancelled now; its except clause runs later
    await held.__aexit__(None, None, None)  # releases while the cancelled waiter is listed
    await asyncio.gather(waiting, return_exceptions=True)
    assert admission.running == 0 and admission.queued == 0
    async with admission.slot("c"):  # capacity is intact
        assert admission.running == 1
