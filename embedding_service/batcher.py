"""Micro-batching: concurrent requests are encoded together in one model call.

Requests queue their texts; one loop takes up to `max_batch` texts (waiting `window_s` for
more when the queue runs dry; by default not at all: what queued while the model was busy is
the next batch), encodes them in a worker thread, and hands each request its rows. A model
call per request would leave the CPU's vector units mostly idle under load.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from prometheus_client import Histogram

BATCH_SIZE = Histogram(
    "embedding_batch_texts",
    "Texts per model call",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
ENCODE_SECONDS = Histogram(
    "embedding_encode_seconds",
    "Model time per batch",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


@dataclass
class _Job:
    texts: list[str]
    future: asyncio.Future[np.ndarray]
    rows: list[np.ndarray] = field(default_factory=list)
    taken: int = 0


class MicroBatcher:
    def __init__(
        self, encode: Callable[[list[str]], np.ndarray], max_batch: int, window_s: float
    ) -> None:
        self._encode = encode
        self._max_batch = max_batch
        self._window_s = window_s
        self._jobs: asyncio.Queue[_Job] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="encode")
        self._task: asyncio.Task[None] | None = None
        # A request larger than one batch: its remaining texts start the next batch.
        self._carry: _Job | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="embedding-batcher")

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._executor.shutdown(wait=True)

    async def embed(self, texts: list[str]) -> np.ndarray:
        job = _Job(texts, asyncio.get_running_loop().create_future())
        await self._jobs.put(job)
        return await job.future

    async def _next_batch(self, carry: _Job | None) -> list[tuple[_Job, int, int]]:
        """Slices (job, start, end) holding at most max_batch texts."""
        parts: list[tuple[_Job, int, int]] = []
        room = self._max_batch
        job = carry or await self._jobs.get()
        deadline = asyncio.get_running_loop().time() + self._window_s
        while True:
            if not job.future.done():  # skip requests whose caller went away
                take = min(room, len(job.texts) - job.taken)
                parts.append((job, job.taken, job.taken + take))
                job.taken += take
                room -= take
                if job.taken < len(job.texts):
                    self._carry = job
                    return parts
            if room == 0:
                return parts
            timeout = deadline - asyncio.get_running_loop().time()
            try:
                job = (
                    self._jobs.get_nowait()
                    if timeout <= 0
                    else await asyncio.wait_for(self._jobs.get(), timeout)
                )
            except (asyncio.QueueEmpty, TimeoutError):
                return parts

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            carry, self._carry = self._carry, None
            parts = await self._next_batch(carry)
            if not parts:
                continue
            texts = [t for job, a, b in parts for t in job.texts[a:b]]
            BATCH_SIZE.observe(len(texts))
            try:
                with ENCODE_SECONDS.time():
                    vectors = await loop.run_in_executor(self._executor, self._encode, texts)
            except Exception as exc:
                for job, _, _ in parts:
                    if not job.future.done():
                        job.future.set_exception(exc)
                continue
            offset = 0
            for job, a, b in parts:
                job.rows.append(vectors[offset : offset + (b - a)])
                offset += b - a
                done = job.taken == len(job.texts) and self._carry is not job
                if done and not job.future.done():
                    job.future.set_result(np.concatenate(job.rows))
