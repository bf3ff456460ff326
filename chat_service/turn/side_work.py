"""Work off the request path, one way for every kind: summaries, cache writes, cache
invalidations and submitted turns are published to the job queue (jobs/), whose workers on any
replica run them with retries; without a queue, or when publishing fails or times out, the same
work runs here as a background task. The queue being down never fails a user's request: it only
costs that job's durability and retries."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from chat_service import metrics
from chat_service.jobs.jobs import Job
from chat_service.jobs.queue import JobQueue, QueueUnavailable
from server_kit.tasks import BackgroundTasks

log = logging.getLogger(__name__)


class SideWork:
    def __init__(self, queue: JobQueue | None) -> None:
        self.queue = queue  # None: every job runs in process
        self._tasks = BackgroundTasks("side work")

    async def publish_or(self, job: Job, fallback: Callable[[], Awaitable[None] | None]) -> None:
        """Publishes `job`, or runs `fallback` (the in-process path) when that fails."""
        if self.queue is not None:
            try:
                await self.queue.publish(job)
                metrics.QUEUE_PUBLISH.labels(job.kind, "published").inc()
                return
            except QueueUnavailable as exc:
                metrics.QUEUE_PUBLISH.labels(job.kind, "fallback").inc()
                log.warning("job runs in process", extra={"job": job.kind, "error": str(exc)})
        pending = fallback()
        if pending is not None:
            await pending

    def offload(self, job: Job, fallback: Callable[[], None]) -> None:
        """Like publish_or, without the caller waiting for the publish (a background task)."""
        if self.queue is None:
            fallback()  # no queue: exactly the in-process task
            return
        self._tasks.spawn(self.publish_or(job, fallback), name=f"publish-{job.kind}")

    def run_here(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """A job's work in this process (the fallback of a job that is itself long-running)."""
        self._tasks.spawn(work, name=name)

    async def wait(self) -> None:
        """Until the background publishes and in-process runs have ended (tests, shutdown)."""
        await self._tasks.wait()
