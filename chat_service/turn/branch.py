"""Where a turn goes in the chat's message tree, checked against the store (docs/branches.md):
an append after the current leaf (the default), an edit (a new question under the edited one's
parent) or a regenerated answer (a new reply under a stored question).

The checked placement travels in the TurnRequest (`branching`) to TurnLifecycle.new_turn.
"""

from __future__ import annotations

from dataclasses import dataclass

from chat_service.domain import MessageRecord, Placement, Role
from chat_service.timed_store import TimedStore
from server_kit.errors import InvalidArgument, NotFound


@dataclass(frozen=True)
class BranchRequest:
    """What a client asked (validated as ids by the servicer); all empty: an append."""

    parent_message_id: str = ""
    regenerate_message_id: str = ""
    edit_first_message: bool = False

    @property
    def is_append(self) -> bool:
        return not (self.parent_message_id or self.regenerate_message_id or self.edit_first_message)


@dataclass(frozen=True)
class Branching:
    """A checked placement; for Regenerate, the stored question it answers again."""

    placement: Placement
    question: MessageRecord | None = None


async def check_branch(
    store: TimedStore, user_id: str, chat_id: str, request: BranchRequest
) -> Branching:
    """The placement a request names, after checking its message is this chat's: NOT_FOUND
    (naming the field) for a message that is not, INVALID_ARGUMENT for a regenerate target
    that is not a question."""
    if request.edit_first_message:
        return Branching(Placement(parent_id=""))
    if request.parent_message_id:
        parent = await _message(store, user_id, chat_id, request.parent_message_id, "parent")
        return Branching(Placement(parent_id=parent.message_id))
    if request.regenerate_message_id:
        field = "regenerate_message_id"
        question = await _message(store, user_id, chat_id, request.regenerate_message_id, field)
        if question.role is not Role.USER:
            raise InvalidArgument(
                field, f"{question.message_id} is an {question.role.value} message, not a question"
            )
        return Branching(Placement(regenerate=True), question)
    return Branching(Placement())


async def _message(
    store: TimedStore, user_id: str, chat_id: str, message_id: str, field: str
) -> MessageRecord:
    message = await store.get_message(user_id, chat_id, message_id)
    if message is None:
        name = field if field.endswith("_id") else f"{field}_message_id"
        raise NotFound(
            f"{name}: message {message_id} not found in chat {chat_id}",
            reason="MESSAGE_NOT_FOUND",
        )
    return message
