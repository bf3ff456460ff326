"""The in-process backend of the side work (turn/side_work.py): a job's handler run in this
process, with the queue worker's retry policy (exponential backoff, a bounded number of
attempts) and its dead-letter hook, when there is no queue or publishing a job failed. The same
handlers as the worker's (handlers.py): one implementation of each job, two ways to run it."""

from __future__ import annotations

import asyncio
import logging

from chat_service import metrics
from chat_service.config import QueueSettings
from chat_service.jobs.handlers import Handler
from chat_service.jobs.jobs import Job
from chat_service.jobs.worker import backoff_s
from server_kit.tasks import BackgroundTasks

log = logging.getLogger(__name__)


class LocalRunner:
    def __init__(self, settings: QueueSettings, tasks: BackgroundTasks) -> None:
        self.max_attempts = settings.queue_max_deliver
        self.retry_delay_s = settings.queue_retry_delay_s
        self.tasks = tasks
        self.handlers: dict[type[Job], Handler] = {}
        self.on_dead_letter: dict[type[Job], Handler] = {}
        self.runs = 0  # jobs run here so far

    def start(self, job: Job) -> None:
        """Runs the job in the background, retrying as the worker would."""
        self.runs += 1
        self.tasks.spawn(self._run(job, first=1), name=f"job-{job.kind}")

    async def run_now(self, job: Job) -> None:
        """The first attempt awaited, its retries (if it failed) in the background; never
        raises (the caller's request does not fail because of side work)."""
        self.runs += 1
        if not await self._attempt(job, 1):
            self.tasks.spawn(self._run(job, first=2), name=f"job-{job.kind}")

    async def _run(self, job: Job, first: int) -> None:
        for attempt in range(first, self.max_attempts + 1):
            if attempt > 1:
                await asyncio.sleep(backoff_s(self.retry_delay_s, attempt - 1))
            if await self._attempt(job, attempt):
                return
        log.error("in-process job given up", extra={"job": job.kind, "attempts": self.max_attempts})
        metrics.JOBS_IN_PROCESS.labels(job.kind, "given_up").inc()
        hook = self.on_dead_letter.get(type(job))
        if hook is not None:
            await hook(job)

    async def _attempt(self, job: Job, attempt: int) -> bool:
        handler = self.handlers.get(type(job))
        if handler is None:
            log.error("no handler for an in-process job", extra={"job": job.kind})
            return True  # nothing any retry could do
        try:
            await handler(job)
        except Exception as exc:
            log.warning(
                "in-process job failed",
                extra={"job": job.kind, "attempt": attempt, "error": repr(exc)},
            )
            metrics.JOBS_IN_PROCESS.labels(job.kind, "retry").inc()
            return False
        metrics.JOBS_IN_PROCESS.labels(job.kind, "ok").inc()
        return True
