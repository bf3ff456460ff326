"""The whole load run: resident memory before, the simulated users for the load window (then a
drain, in-flight turns aborted at its end), memory after, and the verification."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable

from loadgen.config import LoadConfig, Target
from loadgen.records import LoadState
from loadgen.result import LoadResult
from loadgen.rss import rss_sampler, sample_rss
from loadgen.users import User
from loadgen.verify import verify


async def run_load(
    config: LoadConfig,
    target: Target,
    progress: bool = False,
    during: Callable[[LoadState], Awaitable[None]] | None = None,
) -> LoadResult:
    """The whole run: RSS before, the load, the drain, RSS after, the verification. With
    ``during`` (a fault schedule, say), the load window lasts until it returns instead of
    ``config.duration_s``."""
    state = LoadState(config, target)
    state.started = time.monotonic()
    samples = [await asyncio.to_thread(sample_rss, state, "before")]
    state.started = time.monotonic()
    state.load_deadline = math.inf if during else state.started + config.duration_s
    stop = asyncio.Event()
    sampler = asyncio.create_task(rss_sampler(state, samples, stop))
    users = [User(state, name, i) for i, name in enumerate(sorted(target.tokens))]
    tasks = [asyncio.create_task(user.run()) for user in users]
    reporter = asyncio.create_task(_progress(state)) if progress else None
    try:
        if during is not None:
            await during(state)
            state.load_deadline = time.monotonic()
        remaining = state.load_deadline - time.monotonic()
        _, running = await asyncio.wait(tasks, timeout=max(0.0, remaining) + config.drain_s)
        for task in running:  # still in a turn at the hard stop
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in tasks:
            if not task.cancelled() and (exc := task.exception()) is not None:
                raise exc
    finally:
        for task in tasks:
            task.cancel()
        if reporter is not None:
            reporter.cancel()
        stop.set()
        await asyncio.gather(sampler, return_exceptions=True)
    load_s = time.monotonic() - state.started
    verification = await verify(state)
    samples.append(await asyncio.to_thread(sample_rss, state, "after"))
    return LoadResult(config, load_s, state, samples, verification)


async def _progress(state: LoadState) -> None:
    while True:
        await asyncio.sleep(15)
        outcomes = Counter(t.outcome for t in state.turns)
        print(
            f"  t={state.now():6.0f}s turns={len(state.turns)} "
            f"{dict(outcomes.most_common())} statuses={dict(state.statuses)}",
            flush=True,
        )
