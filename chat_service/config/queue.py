"""The message queue for work off the request path (chat_service/jobs/)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class QueueSettings(BaseModel):
    # message queue (NATS JetStream) for work off the request path: summaries, cache writes,
    # cache invalidation (chat_service/jobs/)
    queue_url: str = Field(
        "",
        description="NATS server URL, e.g. nats://127.0.0.1:4222 (JetStream enabled), or a "
        "comma-separated list of a cluster's servers (nats://n1:4222,nats://n2:4222,...): the "
        "client connects to one and fails over to another. Empty: no queue, that work runs as "
        "in-process tasks (lost if the process stops)",
    )
    queue_stream_replicas: int = Field(
        1,
        ge=1,
        le=5,
        description="replicas of each stream (and its consumers) in a JetStream cluster; 3 in "
        "production, so a lost server loses nothing. 1 on a single server. A changed value "
        "updates the existing streams at connect",
    )
    queue_user: str = Field(
        "", description="NATS user of the chat service (with queue_password); empty: none"
    )
    queue_password: str = Field("", description="its password (from a secret: CHAT_QUEUE_PASSWORD)")
    queue_tls_ca_file: str = Field(
        "",
        description="CA certificates that sign the NATS server's (tls:// URLs); empty: the "
        "system's",
    )
    queue_publish_timeout_s: float = Field(
        1.0,
        gt=0,
        description="deadline of a publish; past it (or with the queue down) the job runs in "
        "process instead, so the queue never fails a turn. Within it a publish is retried while "
        "the client fails over to another server or a stream elects a new leader (4-9 s after "
        "a server is lost: a deadline above that rides through it, for that much latency)",
    )
    queue_connect_timeout_s: float = Field(
        2.0, gt=0, description="deadline of a connection attempt (retried in the background)"
    )
    queue_max_deliver: int = Field(
        5, ge=1, description="attempts of a failing job before it goes to the dead-letter stream"
    )
    queue_retry_delay_s: float = Field(
        1.0, gt=0, description="delay before a failed job's first retry (doubling, at most 60 s)"
    )
