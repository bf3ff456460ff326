"""The NATS JetStream connection: streams, idempotent publishing, dead letters.

Streams (created or updated at connect, so any replica can start first):
- CHAT_JOBS, subjects `chat.jobs.>`: work-queue retention (a message is removed once acked),
  file storage (survives a NATS restart), a duplicate window for `Nats-Msg-Id`.
- CHAT_TURNS, subjects `chat.turns.>`: submitted turns (asynchronous completions), the same
  retention and storage, consumed by their own workers.
- CHAT_JOBS_DLQ, subjects `chat.dlq.>`: jobs that failed `queue_max_deliver` times, kept for a
  person to look at (limits retention, 14 days).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

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


class QueueUnavailable(Exception):
    """Not connected, timed out or refused: the caller runs the job in process instead."""


def stream_configs() -> list[StreamConfig]:
    return [
        *(
            StreamConfig(
                name=name,
                subjects=[prefix + ">"],
                retention=RetentionPolicy.WORK_QUEUE,
                storage=StorageType.FILE,
                duplicate_window=DUPLICATE_WINDOW_S,
            )
            for prefix, name in STREAM_OF_PREFIX.items()
        ),
        StreamConfig(
            name=DLQ_STREAM,
            subjects=[DLQ_PREFIX + ">"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_age=DLQ_MAX_AGE_S,
        ),
    ]


class JobQueue:
    def __init__(self, settings: QueueSettings) -> None:
        self.url = settings.queue_url
        self.publish_timeout_s = settings.queue_publish_timeout_s
        self.connect_timeout_s = settings.queue_connect_timeout_s
        self._credentials: dict[str, Any] = {}
        if settings.queue_user:
            self._credentials = {"user": settings.queue_user, "password": settings.queue_password}
        if settings.queue_tls_ca_file:
            self._credentials["tls"] = ssl.create_default_context(cafile=settings.queue_tls_ca_file)
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None

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
                    servers=[self.url],
                    connect_timeout=max(1, round(self.connect_timeout_s)),
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    **self._credentials,
                )
                js = nc.jetstream(timeout=self.connect_timeout_s)
                for config in stream_configs():
                    await _ensure_stream(js, config)
        except BaseException:
            await _close_quietly(nc)
            raise
        self._nc, self._js = nc, js
        log.info("connected to the message queue", extra={"url": self.url})

    async def publish(self, job: Job) -> None:
        """Stores the job in the stream (acknowledged by JetStream) within the publish
        deadline, or raises QueueUnavailable. Idempotent: the job id is the message id."""
        if not self.ready:  # down or reconnecting: fail fast rather than buffer and wait
            raise QueueUnavailable("not connected to the message queue")
        try:
            await self.js.publish(
                job.subject,
                encode(job),
                timeout=self.publish_timeout_s,
                stream=STREAM_OF_PREFIX[job.subject_prefix],
                headers={"Nats-Msg-Id": job.job_id()},
            )
        except (TimeoutError, nats.errors.Error) as exc:
            raise QueueUnavailable(f"publishing {job.kind} failed: {exc!r}") from exc

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
        await js.add_stream(config)
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
