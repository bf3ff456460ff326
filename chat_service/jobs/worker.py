"""Durable pull consumers inside the chat service process: every replica pulls from the same
consumer, so each job goes to one replica at a time.

Per message: run the handler (under its deadline), telling JetStream the job is still in
progress every third of the ack wait, so a long job is not redelivered while it runs but a job
whose replica died is redelivered within one ack wait; ack on success (confirmed by the server,
retried through the failover of a lost NATS server); on failure nak with an exponential backoff;
once a job has been delivered `queue_max_deliver` times, copy it to the dead-letter stream and
terminate it. (The consumer itself allows unlimited deliveries: JetStream would otherwise drop
the job silently after its own limit.)

Two consumers: the small jobs (one at a time, in stream order) and submitted turns
(`async_turn_concurrency` at a time, each a whole generation).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass

import nats
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from chat_service import metrics
from chat_service.config import QueueSettings, TurnSettings
from chat_service.jobs.handlers import Handler
from chat_service.jobs.jobs import SUBJECT_PREFIX, TURN_SUBJECT_PREFIX, Job, decode
from chat_service.jobs.queue import STREAM, TURN_STREAM, JobQueue

log = logging.getLogger(__name__)

FETCH_WAIT_S = 1.0
MAX_BACKOFF_S = 60.0
STOP_GRACE_S = 10.0
ACK_TIMEOUT_S = 1.0  # one confirmed ack; retried every ACK_RETRY_S until the ack wait is over
ACK_RETRY_S = 0.2


@dataclass(frozen=True)
class Consumer:
    stream: str
    subject_prefix: str
    durable: str
    concurrency: int  # jobs handled at once (fetched as one batch)
    ack_wait_s: float
    handler_timeout_s: float
    deliveries_factor: int = 1  # times queue_max_deliver before the dead-letter stream


def job_consumer() -> Consumer:
    return Consumer(STREAM, SUBJECT_PREFIX, "chat-jobs", 1, 30.0, 100.0)


def turn_consumer(turns: TurnSettings, inference_timeout_s: float) -> Consumer:
    # A generation's own deadlines bound it; the handler's is a backstop above them.
    timeout = inference_timeout_s + turns.async_busy_wait_s + 60.0
    # More attempts: a turn dead-lettered during a store outage would stay queued for good.
    return Consumer(
        TURN_STREAM, TURN_SUBJECT_PREFIX, "chat-turns", turns.async_turn_concurrency, 30.0,
        timeout, deliveries_factor=4,
    )  # fmt: skip


def backoff_s(retry_delay_s: float, failures: int) -> float:
    """The wait before a job's next attempt after `failures` failed ones (the worker's and the
    in-process runner's policy): doubling from retry_delay_s, capped."""
    return float(min(retry_delay_s * 2 ** (failures - 1), MAX_BACKOFF_S))


class Worker:
    def __init__(
        self,
        queue: JobQueue,
        handlers: dict[type[Job], Handler],
        settings: QueueSettings,
        consumer: Consumer | None = None,
        on_dead_letter: dict[type[Job], Handler] | None = None,
    ) -> None:
        self.queue = queue
        self.consumer = consumer or job_consumer()
        # Run once a job is dead-lettered, e.g. to mark a submitted turn failed instead of
        # leaving it queued for good.
        self.on_dead_letter = {t.kind: h for t, h in (on_dead_letter or {}).items()}
        self.handlers = {t.kind: h for t, h in handlers.items()}
        self.types = {t.kind: t for t in handlers}
        self.max_deliver = settings.queue_max_deliver * self.consumer.deliveries_factor
        self.retry_delay_s = settings.queue_retry_delay_s
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        c = self.consumer
        sub = await self.queue.js.pull_subscribe(
            c.subject_prefix + ">",
            durable=c.durable,
            stream=c.stream,
            config=ConsumerConfig(
                durable_name=c.durable,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=c.ack_wait_s,
                max_deliver=-1,
                max_ack_pending=1000,
            ),
        )
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(sub), name=f"{c.durable}-worker")

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
                msgs = await sub.fetch(self.consumer.concurrency, timeout=FETCH_WAIT_S)
            except TimeoutError:
                continue  # nothing to do
            except Exception as exc:  # e.g. disconnected: the client reconnects by itself
                log.debug("fetching jobs failed", extra={"error": repr(exc)})
                await asyncio.sleep(1.0)
                continue
            # Small jobs one at a time, in stream order: within a replica a chat's invalidation
            # runs after the cache stores published before it. Turns: a batch at once.
            await asyncio.gather(*(self._handle(msg) for msg in msgs))

    async def _handle(self, msg: Msg) -> None:
        kind = msg.subject.removeprefix(self.consumer.subject_prefix)
        deliveries = msg.metadata.num_delivered
        try:
            job = decode(msg.data, self.types)
        except (ValueError, KeyError, TypeError) as exc:  # no retry can help
            await self._dead_letter(msg, kind, f"undecodable: {exc!r}", deliveries, None)
            return
        progress = asyncio.create_task(self._in_progress(msg))
        try:
            async with asyncio.timeout(self.consumer.handler_timeout_s):
                await self.handlers[job.kind](job)
        except asyncio.CancelledError:  # shutting down past the grace: redelivered at once
            with contextlib.suppress(Exception):
                await asyncio.shield(msg.nak())
            raise
        except Exception as exc:
            if deliveries >= self.max_deliver:
                await self._dead_letter(msg, kind, repr(exc), deliveries, job)
                return
            delay = backoff_s(self.retry_delay_s, deliveries)
            log.warning(
                "job failed; retrying",
                extra={"job": kind, "deliveries": deliveries, "delay_s": delay, "error": repr(exc)},
            )
            metrics.JOBS_PROCESSED.labels(kind, "retry").inc()
            await _quietly(msg.nak(delay=delay))
            return
        finally:
            progress.cancel()
        metrics.JOBS_PROCESSED.labels(kind, "ok").inc()
        await self._ack(msg)

    async def _ack(self, msg: Msg) -> None:
        """Confirmed by the consumer's leader. While a lost server's consumer leader is being
        replaced (seconds) nobody takes a plain ack, and the job would run again after the ack
        wait: retried until confirmed or that wait is over."""
        deadline = time.monotonic() + self.consumer.ack_wait_s
        while True:
            try:
                await msg.ack_sync(timeout=ACK_TIMEOUT_S)
                return
            except Exception as exc:  # no responders, no answer, disconnected: a failover
                if time.monotonic() + ACK_RETRY_S >= deadline:
                    log.debug("acknowledging a job failed", extra={"error": repr(exc)})
                    return
            await asyncio.sleep(ACK_RETRY_S)

    async def _in_progress(self, msg: Msg) -> None:
        while True:
            await asyncio.sleep(self.consumer.ack_wait_s / 3)
            await _quietly(msg.in_progress())

    async def _dead_letter(
        self, msg: Msg, kind: str, error: str, deliveries: int, job: Job | None
    ) -> None:
        try:
            await self.queue.dead_letter(msg, kind, error, deliveries)
        except Exception as exc:  # left unacked: redelivered, tried again
            log.warning("dead-lettering a job failed", extra={"job": kind, "error": repr(exc)})
            return
        hook = self.on_dead_letter.get(kind)
        if job is not None and hook is not None:
            try:
                async with asyncio.timeout(self.consumer.ack_wait_s):
                    await hook(job)
            except Exception as exc:  # the job is in the dead-letter stream either way
                log.warning("dead-letter hook failed", extra={"job": kind, "error": repr(exc)})
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
