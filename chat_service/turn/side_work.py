"""Work off the request path, one way for every kind: summaries, cache writes, cache
invalidations and submitted turns are jobs (jobs/jobs.py) with one handler each (jobs/handlers.py).
A job is published to the job queue, whose workers on any replica run the handler with retries;
without a queue, or when publishing fails or times out, the same handler runs in this process
with the same retries (jobs/local.py). The queue being down never fails a user's request: it
only costs the job its durability across a restart of this process."""

from __future__ import annotations

import logging

from chat_service import metrics
from chat_service.config import QueueSettings
from chat_service.jobs.handlers import Handler
from chat_service.jobs.jobs import Job
from chat_service.jobs.local import LocalRunner
from chat_service.jobs.queue import JobQueue, QueueUnavailable
from server_kit.tasks import BackgroundTasks

log = logging.getLogger(__name__)


class SideWork:
    def __init__(self, queue: JobQueue | None, settings: QueueSettings) -> None:
        self.queue = queue  # None: every job runs in process
        self._tasks = BackgroundTasks("side work")
        self.local = LocalRunner(settings, self._tasks)

    def use(
        self, handlers: dict[type[Job], Handler], on_dead_letter: dict[type[Job], Handler]
    ) -> None:
        """The handlers jobs run with here (the queue's workers get the same ones)."""
        self.local.handlers = handlers
        self.local.on_dead_letter = on_dead_letter

    async def _published(self, job: Job) -> bool:
        if self.queue is None:
            return False
        try:
            stored = await self.queue.publish(job)
        except QueueUnavailable as exc:
            metrics.QUEUE_PUBLISH.labels(job.kind, "fallback").inc()
            log.warning(
                "job runs in process",
                extra={"job": job.kind, "job_id": job.job_id(), "error": str(exc)},
            )
            return False
        # "duplicate": the queue already held this job (e.g. a retried delete's invalidation).
        metrics.QUEUE_PUBLISH.labels(job.kind, "published" if stored else "duplicate").inc()
        return True

    async def dispatch(self, job: Job) -> None:
        """Published (awaited: the job is durable when this returns), else run here in the
        background."""
        if not await self._published(job):
            self.local.start(job)

    async def dispatch_now(self, job: Job) -> None:
        """Published, else run here with its first attempt awaited (a delete's invalidation:
        the entries are gone when the delete returns, unless the cache is down)."""
        if not await self._published(job):
            await self.local.run_now(job)

    def offload(self, job: Job) -> None:
        """Like dispatch, without the caller waiting for the publish (a background task)."""
        if self.queue is None:
            self.local.start(job)
            return
        self._tasks.spawn(self.dispatch(job), name=f"publish-{job.kind}")

    async def wait(self) -> None:
        """Until the background publishes and in-process jobs have ended (tests, shutdown)."""
        await self._tasks.wait()
