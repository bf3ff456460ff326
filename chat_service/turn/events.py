"""What a caller asks of a turn, and what a turn yields back."""

from __future__ import annotations

from dataclasses import dataclass, field

from chat_service.domain import MessageRecord, Sampling
from chat_service.turn.branch import Branching
from server_kit.errors import ServiceError


@dataclass(frozen=True)
class TurnRequest:
    user_id: str
    chat_id: str
    content: str  # the user's message ("" for a submitted turn run from its job)
    client_request_id: str  # the caller's idempotency key ("" : none, a new turn every time)
    sampling: Sampling  # the turn's own settings; unset fields fall back to the chat's
    bypass_cache: bool = False
    # Where a new turn goes in the chat's tree (checked: turn/branch.py); None: an append.
    branching: Branching | None = None


@dataclass(frozen=True)
class ReplyDelta:
    text: str
    # A followed turn's deltas only: where `text` starts in the reply, in code points (one
    # below what the follower holds means the turn restarted: see StreamTurnResponse).
    offset: int | None = field(default=None, compare=False)
    attempt: str = field(default="", compare=False)  # the run of the turn it belongs to


@dataclass(frozen=True)
class ReplyFinal:
    user_message_id: str
    assistant: MessageRecord


@dataclass(frozen=True)
class ReplyError:
    """A failure after the reply started streaming."""

    error: ServiceError
    assistant_message_id: str


ReplyEvent = ReplyDelta | ReplyFinal | ReplyError
