"""The NATS JetStream connection: streams, idempotent publishing, dead letters.

Streams (created or updated at connect, so any replica can start first):
- CHAT_JOBS, subjects `chat.jobs.>`: work-queue retention (a message is removed once acked),
  file storage (survives a NATS restart), a duplicate window for `Nats-Msg-Id`.
- CHAT_TURNS, subjects `chat.turns.>`: submitted turns (asynchronous completions), the same
  retention and storage, consumed by their own workers.
- CHAT_JOBS_DLQ, subjects `chat.dlq.>`: jobs that failed `queue_max_deliver` times, kept for a
  person to look at (limits retention, 14 days).

In a JetStream cluster each stream (and the consumers, which take the stream's count) has
`queue_stream_replicas` replicas: with 3, losing one server loses no stored job, and the client,
given every server's URL, reconnects to another. While a stream elects a new leader (seconds)
nothing stores its messages: a publish retries within its deadline, then the job runs in process.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import PubAck, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import (
    APIError,
    BadRequestError,
    NoStreamResponseError,
    NotFoundError,
    ServiceUnavailableError,
)

from chat_service.config import QueueSettings
from chat_service.jobs.jobs import SUBJECT_PREFIX, TURN_SUBJECT_PREFIX, Job, encode

log = logging.getLogger(__name__)

STREAM = "CHAT_JOBS"
TURN_STREAM = "CHAT_TURNS"
STREAM_OF_PREFIX = {SUBJECT_PREFIX: STREAM, TURN_SUBJECT_PREFIX: TURN_STREAM}
DLQ_STREAM = "CHAT_JOBS_DLQ"
DLQ_PREFIX = "chat.dlq."
DUPLICATE_WINDOW_S = 120.0
DLQ_MAX_AGE_S = 14 * 24 * 3600.0
RETRY_PAUSE_S = 0.1  # between publish attempts while the client fails over or a leader is elected
# At most this long per attempt: a request sent on a connection that then drops is never
# answered, and the retry (on the new connection) is safe, being deduplicated.
ATTEMPT_TIMEOUT_S = 1.0
# A server that vanishes without closing the connection (a lost machine) is noticed after about
# two pings, then the client reconnects to another server (nats-py's default ping: 2 minutes).
PING_INTERVAL_S = 10


class QueueUnavailable(Exception):
    """Not connected, timed out or refused: the caller runs the job in process instead."""


class _Failover(Exception):
    """The client is reconnecting (to another server of the list): worth a retry."""


def stream_configs(replicas: int = 1) -> list[StreamConfig]:
    return [
        *(
            StreamConfig(
                name=name,
                subjects=[prefix + ">"],
                retention=RetentionPolicy.WORK_QUEUE,
                storage=StorageType.FILE,
                duplicate_window=DUPLICATE_WINDOW_S,
                num_replicas=replicas,
            )
            for prefix, name in STREAM_OF_PREFIX.items()
        ),
        StreamConfig(
            name=DLQ_STREAM,
            subjects=[DLQ_PREFIX + ">"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_age=DLQ_MAX_AGE_S,
            num_replicas=replicas,
        ),
    ]


class JobQueue:
    def __init__(self, settings: QueueSettings) -> None:
        self.url = settings.queue_url  # one server, or a cluster's, comma-separated
        self.servers = [url.strip() for url in settings.queue_url.split(",") if url.strip()]
        self.replicas = settings.queue_stream_replicas
        self.publish_timeout_s = settings.queue_publish_timeout_s
        self.connect_timeout_s = settings.queue_connect_timeout_s
        self._credentials: dict[str, Any] = {}
        if settings.queue_user:
            self._credentials = {"user": settings.queue_user, "password": settings.queue_password}
        if settings.queue_tls_ca_file:
            self._credentials["tls"] = ssl.create_default_context(cafile=settings.queue_tls_ca_file)
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        # The failed publish attempts since the last success: a failover, or an outage.
        self._failing_since: float | None = None
        self._last_failure: float | None = None

    @property
    def ready(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    @property
    def client(self) -> Client | None:
        """The connection (reconnecting by itself once made), for core NATS subjects."""
        return self._nc

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            raise QueueUnavailable("not connected to the message queue")
        return self._js

    async def connect(self) -> None:
        """One attempt under a deadline; raises on failure. Once connected the client
        reconnects by itself (forever) and JetStream keeps the stored jobs."""
        nc = Client()
        try:
            async with asyncio.timeout(self.connect_timeout_s * 2):
                await nc.connect(
                    servers=self.servers,
                    connect_timeout=max(1, round(self.connect_timeout_s)),
                    ping_interval=PING_INTERVAL_S,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    **self._credentials,
                )
                js = nc.jetstream(timeout=self.connect_timeout_s)
                for config in stream_configs(self.replicas):
                    await _ensure_stream(js, config)
        except BaseException:
            await _close_quietly(nc)
            raise
        self._nc, self._js = nc, js
        log.info("connected to the message queue", extra={"url": self.url})

    async def publish(self, job: Job) -> bool:
        """Stores the job in the stream (acknowledged by JetStream) within the publish
        deadline, or raises QueueUnavailable. Idempotent: the job id is the message id, so a
        retry of a publish that was stored after all is dropped as a duplicate. False when an
        earlier call had stored the job already (its first attempt answered "duplicate").

        Retried within the deadline while the client reconnects to another server or the
        stream elects a leader (no responders, 503, no answer): a failover shorter than the
        deadline costs latency, not the job's durability. Once failures have gone on for a
        whole deadline it is an outage: one attempt each (the job runs in process) until one
        succeeds."""
        deadline = time.monotonic() + self.publish_timeout_s
        first = True
        while True:
            try:
                ack = await self._publish_once(job, deadline)
                self._failing_since = self._last_failure = None
                # A retry's duplicate may be this call's own first attempt, stored unanswered.
                return not (first and ack.duplicate)
            except (_Failover, NoStreamResponseError, ServiceUnavailableError, TimeoutError) as exc:
                now = time.monotonic()
                outage = self._failing_for(now) >= self.publish_timeout_s
                if outage or now + RETRY_PAUSE_S >= deadline:
                    raise QueueUnavailable(f"publishing {job.kind} failed: {exc!r}") from exc
            except nats.errors.Error as exc:
                raise QueueUnavailable(f"publishing {job.kind} failed: {exc!r}") from exc
            first = False
            await asyncio.sleep(RETRY_PAUSE_S)

    async def _publish_once(self, job: Job, deadline: float) -> PubAck:
        if self._nc is None or self._nc.is_closed:  # not connected yet: nothing to wait for
            raise QueueUnavailable("not connected to the message queue")
        if not self._nc.is_connected:  # never buffered by the client: retried by publish
            raise _Failover("reconnecting to the message queue")
        return await self.js.publish(
            job.subject,
            encode(job),
            timeout=max(0.01, min(ATTEMPT_TIMEOUT_S, deadline - time.monotonic())),
            stream=STREAM_OF_PREFIX[job.subject_prefix],
            headers={"Nats-Msg-Id": job.job_id()},
        )

    def _failing_for(self, now: float) -> float:
        """How long publishes have been failing (a gap longer than a deadline starts anew)."""
        if self._last_failure is None or now - self._last_failure > self.publish_timeout_s:
            self._failing_since = now
        self._last_failure = now
        return now - (self._failing_since or now)

    async def dead_letter(self, msg: Msg, kind: str, error: str, deliveries: int) -> None:
        """Copies a job that keeps failing to the dead-letter stream (raises on failure: the
        caller then leaves the message to be redelivered)."""
        await self.js.publish(
            DLQ_PREFIX + kind,
            msg.data,
            timeout=self.publish_timeout_s,
            stream=DLQ_STREAM,
            headers={
                "Nats-Msg-Id": f"dlq:{msg.headers.get('Nats-Msg-Id', '') if msg.headers else ''}"
                f":{msg.metadata.sequence.stream}",
                "Chat-Job-Error": error[:512],
                "Chat-Job-Deliveries": str(deliveries),
            },
        )

    async def close(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None:
            await _close_quietly(nc)

    async def _on_error(self, exc: Exception) -> None:
        log.warning("message queue error", extra={"error": repr(exc)})

    async def _on_disconnected(self) -> None:
        log.warning("message queue disconnected; reconnecting", extra={"url": self.url})

    async def _on_reconnected(self) -> None:
        log.info("message queue reconnected", extra={"url": self.url})


async def _ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    assert config.name is not None
    try:
        await js.stream_info(config.name)
    except NotFoundError:
        try:
            await js.add_stream(config)
        except APIError as exc:  # e.g. replicas > 1 on a single server: say so in the log
            raise QueueUnavailable(f"creating the stream {config.name} failed: {exc}") from exc
        return
    try:
        await js.update_stream(config)
    except BadRequestError as exc:  # e.g. a retention change, which JetStream refuses
        log.warning(
            "kept the existing stream config", extra={"stream": config.name, "error": str(exc)}
        )


async def _close_quietly(nc: Client) -> None:
    try:
        await asyncio.wait_for(nc.close(), 5)
    except Exception:  # closing a broken connection
        log.debug("closing the message queue connection failed", exc_info=True)
