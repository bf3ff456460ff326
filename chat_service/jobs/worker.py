"""A durable pull consumer inside the chat service process: every replica pulls from the same
consumer, so each job goes to one replica at a time.

Per message: run the handler (under a deadline shorter than the ack wait); ack on success; on
failure nak with an exponential backoff; once a job has been delivered `queue_max_deliver`
times, copy it to the dead-letter stream and terminate it. (The consumer itself allows
unlimited deliveries: JetStream would otherwise drop the job silently after its own limit.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable

import nats
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from chat_service import metrics
from chat_service.config import ChatSettings
from chat_service.jobs.handlers import Handler
from chat_service.jobs.jobs import SUBJECT_PREFIX, Job, decode
from chat_service.jobs.queue import STREAM, JobQueue

log = logging.getLogger(__name__)

DURABLE = "chat-jobs"
BATCH = 8
FETCH_WAIT_S = 1.0
ACK_WAIT_S = 120.0
HANDLER_TIMEOUT_S = 100.0  # below ACK_WAIT_S: a job is not redelivered while it runs
MAX_BACKOFF_S = 60.0
STOP_GRACE_S = 10.0


class Worker:
    def __init__(
        self, queue: JobQueue, handlers: dict[type[Job], Handler], settings: ChatSettings
    ) -> None:
        self.queue = queue
        self.handlers = {t.kind: h for t, h in handlers.items()}
        self.types = {t.kind: t for t in handlers}
        self.max_deliver = settings.queue_max_deliver
        self.retry_delay_s = settings.queue_retry_delay_s
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        sub = await self.queue.js.pull_subscribe(
            SUBJECT_PREFIX + ">",
            durable=DURABLE,
            stream=STREAM,
            config=ConsumerConfig(
                durable_name=DURABLE,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=ACK_WAIT_S,
                max_deliver=-1,
                max_ack_pending=1000,
            ),
        )
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(sub), name="chat-jobs-worker")

    async def stop(self) -> None:
        """Graceful: the current fetch and batch finish (a cancelled fetch could leave its
        messages delivered but unacked until the ack wait ends); cancelled past a deadline."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), STOP_GRACE_S)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, sub: nats.js.JetStreamContext.PullSubscription) -> None:
        try:
            await self._loop(sub)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _loop(self, sub: nats.js.JetStreamContext.PullSubscription) -> None:
        while not self._stopping.is_set():
            try:
                msgs = await sub.fetch(BATCH, timeout=FETCH_WAIT_S)
            except TimeoutError:
                continue  # nothing to do
            except Exception as exc:  # e.g. disconnected: the client reconnects by itself
                log.debug("fetching jobs failed", extra={"error": repr(exc)})
                await asyncio.sleep(1.0)
                continue
            # One at a time, in stream order: within a replica a chat's invalidation runs after
            # the cache stores published before it.
            for msg in msgs:
                await self._handle(msg)

    async def _handle(self, msg: Msg) -> None:
        kind = msg.subject.removeprefix(SUBJECT_PREFIX)
        deliveries = msg.metadata.num_delivered
        try:
            job = decode(msg.data, self.types)
        except (ValueError, KeyError, TypeError) as exc:  # no retry can help
            await self._dead_letter(msg, kind, f"undecodable: {exc!r}", deliveries)
            return
        try:
            async with asyncio.timeout(HANDLER_TIMEOUT_S):
                await self.handlers[job.kind](job)
        except asyncio.CancelledError:  # shutting down past the grace: redelivered at once
            with contextlib.suppress(Exception):
                await asyncio.shield(msg.nak())
            raise
        except Exception as exc:
            if deliveries >= self.max_deliver:
                await self._dead_letter(msg, kind, repr(exc), deliveries)
                return
            delay = min(self.retry_delay_s * 2 ** (deliveries - 1), MAX_BACKOFF_S)
            log.warning(
                "job failed; retrying",
                extra={"job": kind, "deliveries": deliveries, "delay_s": delay, "error": repr(exc)},
            )
            metrics.JOBS_PROCESSED.labels(kind, "retry").inc()
            await _quietly(msg.nak(delay=delay))
            return
        metrics.JOBS_PROCESSED.labels(kind, "ok").inc()
        await _quietly(msg.ack())

    async def _dead_letter(self, msg: Msg, kind: str, error: str, deliveries: int) -> None:
        try:
            await self.queue.dead_letter(msg, kind, error, deliveries)
        except Exception as exc:  # left unacked: redelivered, tried again
            log.warning("dead-lettering a job failed", extra={"job": kind, "error": repr(exc)})
            return
        log.error(
            "job dead-lettered",
            extra={"job": kind, "deliveries": deliveries, "error": error},
        )
        metrics.JOBS_PROCESSED.labels(kind, "dead_letter").inc()
        await _quietly(msg.term())


async def _quietly(ack: Awaitable[None]) -> None:
    """An ack/nak/term that cannot reach NATS only means a redelivery (handlers are
    idempotent)."""
    try:
        await ack
    except Exception as exc:
        log.debug("acknowledging a job failed", extra={"error": repr(exc)})
