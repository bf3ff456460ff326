"""The job types: small, JSON-serialized references to stored data (ids, never message text).

A handler re-reads what it needs from the history store, so a job stays small, carries no
private content through the queue, and sees the current state when it runs (a chat deleted
meanwhile is simply skipped). Each job has a deterministic id, sent as JetStream's
`Nats-Msg-Id`: publishing the same job twice within the stream's duplicate window stores it once.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

SUBJECT_PREFIX = "chat.jobs."
# Submitted turns have a stream of their own: a work-queue stream allows one consumer per
# subject, and generations must not wait behind (or hold up) the small jobs.
TURN_SUBJECT_PREFIX = "chat.turns."


@dataclass(frozen=True)
class Job:
    kind: ClassVar[str] = "job"
    subject_prefix: ClassVar[str] = SUBJECT_PREFIX

    def job_id(self) -> str:
        raise NotImplementedError

    @property
    def subject(self) -> str:
        return self.subject_prefix + self.kind


@dataclass(frozen=True)
class SummarizeChat(Job):
    """Fold older messages into a new checkpoint. `after_message_id` is the assistant message of
    the turn that asked for it (it only makes the id unique per turn)."""

    kind: ClassVar[str] = "summarize_chat"
    user_id: str
    chat_id: str
    after_message_id: str

    def job_id(self) -> str:
        return f"summarize:{self.user_id}:{self.chat_id}:{self.after_message_id}"


@dataclass(frozen=True)
class StoreCacheEntry(Job):
    """Cache a complete generated answer. The turn is re-read by its client request id; the
    sampling is the turn's merged one (not stored with the messages, and part of the key)."""

    kind: ClassVar[str] = "store_cache_entry"
    user_id: str
    chat_id: str
    client_request_id: str
    user_message_id: str
    assistant_message_id: str
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = None

    def job_id(self) -> str:
        return f"cache-store:{self.user_id}:{self.chat_id}:{self.assistant_message_id}"


@dataclass(frozen=True)
class InvalidateChatCache(Job):
    kind: ClassVar[str] = "invalidate_chat_cache"
    user_id: str
    chat_id: str

    def job_id(self) -> str:
        return f"cache-invalidate:{self.user_id}:{self.chat_id}"


@dataclass(frozen=True)
class GenerateTurn(Job):
    """Generate the reply of a submitted turn (asynchronous mode). The turn is re-read by its
    client request id; the sampling is the turn's own overrides (merged with the chat's when it
    runs). `submitted_at` (ISO time of the queued reply's record) makes each submission's id
    unique, so a resubmitted failed turn is not dropped as a duplicate."""

    kind: ClassVar[str] = "generate_turn"
    subject_prefix: ClassVar[str] = TURN_SUBJECT_PREFIX
    user_id: str
    chat_id: str
    client_request_id: str
    submitted_at: str
    bypass_cache: bool = False
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = None

    def job_id(self) -> str:
        return f"turn:{self.user_id}:{self.chat_id}:{self.client_request_id}:{self.submitted_at}"


JOB_TYPES: dict[str, type[Job]] = {
    t.kind: t for t in (SummarizeChat, StoreCacheEntry, InvalidateChatCache, GenerateTurn)
}


def encode(job: Job) -> bytes:
    return json.dumps({"kind": job.kind, **asdict(job)}, separators=(",", ":")).encode()


def decode(data: bytes, types: dict[str, type[Job]]) -> Job:
    """Raises ValueError (or KeyError/TypeError) for a payload no handler can take."""
    raw: dict[str, Any] = json.loads(data)
    job_type = types[raw.pop("kind")]
    names = {f.name for f in fields(job_type)}
    return job_type(**{k: v for k, v in raw.items() if k in names})
