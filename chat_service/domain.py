"""Chat domain types: what the store keeps and the service reasons about.

One stored row per message (not per exchange): the user's message must be durable before
inference starts, while the assistant's reply exists only later and has a lifecycle of its
own (pending -> complete | interrupted | failed). Separate rows also make "the newest N
messages" a plain clustering-range read, and let the window policy count tokens per message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


class Role(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


class MessageStatus(StrEnum):
    QUEUED = "queued"  # submitted (asynchronous mode), not yet picked up by a worker
    PENDING = "pending"  # being generated; its record is refreshed while it runs (a lease)
    COMPLETE = "complete"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


class HistoryPolicy(StrEnum):
    FULL = "full"
    WINDOW = "window"
    SUMMARY = "summary"


def utcnow() -> datetime:
    """Millisecond precision: what both stores keep."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class Sampling:
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = None


@dataclass(frozen=True)
class ChatOptions:
    """A chat's own preferences (the API's ChatSettings message); the service's settings are
    config.ChatSettings."""

    # None: the deployment's default policy at the time of each turn.
    history_policy: HistoryPolicy | None = None
    model: str = ""
    sampling: Sampling = field(default_factory=Sampling)


@dataclass
class ChatRecord:
    user_id: str
    chat_id: str  # UUIDv7 text, time-ordered
    title: str
    system_prompt: str
    settings: ChatOptions
    created_at: datetime
    updated_at: datetime
    # True when the user supplied the title: then it is never replaced automatically.
    title_from_user: bool = False
    # The leaf of the branch shown (docs/branches.md); "": the newest message, which is what a
    # chat that never branched (every chat stored before branches existed) shows.
    current_message_id: str = ""


@dataclass(frozen=True)
class ChatUpdate:
    """The fields of a chat to change (UpdateChat); None: kept as it is."""

    title: str | None = None
    options: ChatOptions | None = None


@dataclass
class MessageRecord:
    chat_id: str
    message_id: str  # UUIDv7 text, time-ordered within the chat
    role: Role
    content: str
    status: MessageStatus
    created_at: datetime
    updated_at: datetime
    client_request_id: str = ""
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False
    cache_similarity: float = 0.0
    finish_reason: str = ""  # "stop" | "length" | ""
    error: str = ""
    # The message this one answers or follows ("": none, a first message). Stored "" also
    # means "legacy": the previous message of the chat in id order, which is how chats from
    # before branches read as one line. Reads fill in the effective parent. Not part of the
    # message's value (compare=False): where a record sits in the tree is the store's to say.
    parent_id: str = field(default="", compare=False)


@dataclass(frozen=True)
class Placement:
    """Where a new turn goes in the chat's tree (docs/branches.md)."""

    # None: after the chat's current leaf (an append). "": a new first message (an edit of the
    # chat's first question). An id: under that message (an edit: the edited one's parent).
    parent_id: str | None = None
    # The turn's user message is stored already: only the reply is new, a sibling of that
    # question's other answers (Regenerate).
    regenerate: bool = False

    @property
    def is_append(self) -> bool:
        return self.parent_id is None and not self.regenerate


@dataclass
class Turn:
    """A user message and the assistant message that answers it."""

    user: MessageRecord
    assistant: MessageRecord


@dataclass
class SummaryRecord:
    """A checkpoint: a summary of the chat's messages up to and including `upto_message_id`."""

    chat_id: str
    upto_message_id: str
    content: str
    token_count: int
    created_at: datetime
