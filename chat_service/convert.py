"""Chat domain records <-> protobuf, and validation of what clients send."""

from __future__ import annotations

import math
from datetime import datetime

from chatstack.chat.v1 import chat_pb2 as pb
from google.protobuf.descriptor import Descriptor
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from chat_service.domain import (
    ChatOptions,
    ChatRecord,
    ChatUpdate,
    HistoryPolicy,
    MessageRecord,
    MessageStatus,
    Role,
    Sampling,
)
from chat_service.ids import canonical_id
from server_kit.errors import InvalidArgument

_POLICY_TO_PB = {
    None: pb.HISTORY_POLICY_UNSPECIFIED,
    HistoryPolicy.FULL: pb.HISTORY_POLICY_FULL,
    HistoryPolicy.WINDOW: pb.HISTORY_POLICY_WINDOW,
    HistoryPolicy.SUMMARY: pb.HISTORY_POLICY_SUMMARY,
}
_POLICY_FROM_PB = {v: k for k, v in _POLICY_TO_PB.items()}
_ROLE_TO_PB = {
    Role.SYSTEM: pb.ROLE_SYSTEM,
    Role.USER: pb.ROLE_USER,
    Role.ASSISTANT: pb.ROLE_ASSISTANT,
}
_STATUS_TO_PB = {
    MessageStatus.QUEUED: pb.MESSAGE_STATUS_QUEUED,
    MessageStatus.PENDING: pb.MESSAGE_STATUS_PENDING,
    MessageStatus.COMPLETE: pb.MESSAGE_STATUS_COMPLETE,
    MessageStatus.INTERRUPTED: pb.MESSAGE_STATUS_INTERRUPTED,
    MessageStatus.FAILED: pb.MESSAGE_STATUS_FAILED,
}
FINISH_TO_PB = {"stop": pb.FINISH_REASON_STOP, "length": pb.FINISH_REASON_LENGTH}


def timestamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def chat_id_from(value: str, field: str = "chat_id") -> str:
    if not value:
        raise InvalidArgument(field, "is required")
    # One canonical form from here on (lower case): the store, the cache and the queue all
    # key on it, so "ABC..." and "abc..." can never name two things.
    try:
        return canonical_id(value)
    except ValueError as exc:
        raise InvalidArgument(field, f"{value[:64]!r} is not a chat id (a UUID)") from exc


def sampling_from_pb(s: pb.SamplingSettings, field: str) -> Sampling:
    temperature = s.temperature if s.HasField("temperature") else None
    top_p = s.top_p if s.HasField("top_p") else None
    max_tokens = s.max_tokens if s.HasField("max_tokens") else None
    if temperature is not None and (math.isnan(temperature) or not 0 <= temperature <= 2):
        raise InvalidArgument(f"{field}.temperature", f"{temperature} is outside [0, 2]")
    if top_p is not None and (math.isnan(top_p) or not 0 < top_p <= 1):
        raise InvalidArgument(f"{field}.top_p", f"{top_p} is outside (0, 1]")
    if max_tokens is not None and not 1 <= max_tokens <= 32_768:
        raise InvalidArgument(f"{field}.max_tokens", f"{max_tokens} is outside [1, 32768]")
    return Sampling(
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
        seed=s.seed if s.HasField("seed") else None,
    )


def sampling_to_pb(s: Sampling) -> pb.SamplingSettings:
    return pb.SamplingSettings(
        temperature=s.temperature, top_p=s.top_p, max_tokens=s.max_tokens, seed=s.seed
    )


def settings_from_pb(s: pb.ChatSettings, field: str = "settings") -> ChatOptions:
    if s.history_policy not in _POLICY_FROM_PB:
        raise InvalidArgument(f"{field}.history_policy", f"unknown policy {s.history_policy}")
    if len(s.model) > 200:
        raise InvalidArgument(f"{field}.model", "longer than 200 characters")
    return ChatOptions(
        history_policy=_POLICY_FROM_PB[s.history_policy],
        model=s.model,
        sampling=sampling_from_pb(s.sampling, f"{field}.sampling"),
    )


UPDATABLE = ("title", "settings")  # and the fields inside settings, as settings.sampling.top_p
CHAT_DESCRIPTOR: Descriptor = pb.Chat.DESCRIPTOR  # type: ignore[assignment]  # upb's is one too


def update_mask_of(request: pb.UpdateChatRequest) -> FieldMask:
    """The fields an UpdateChat changes (AIP-134): its mask ("*": every updatable field), or
    without one the fields its chat sets, down to the nested ones (so a body that sets one
    sampling field changes only that)."""
    paths = list(request.update_mask.paths)
    if paths == ["*"]:
        paths = list(UPDATABLE)
    elif not paths:
        paths = [p for p in _set_paths(request.chat) if p.split(".")[0] in UPDATABLE]
    mask = FieldMask(paths=paths)
    for path in paths:
        valid = FieldMask(paths=[path]).IsValidForDescriptor(CHAT_DESCRIPTOR)
        if path.split(".")[0] not in UPDATABLE or not valid:
            raise InvalidArgument(
                "update_mask",
                f"{path[:64]!r} cannot be updated (title, settings or a field inside settings)",
            )
    if not paths:
        raise InvalidArgument("update_mask", "names no field, and the chat sets none to change")
    return mask


def _set_paths(message: Message, prefix: str = "") -> list[str]:
    paths = []
    for field, value in message.ListFields():
        if field.message_type is not None and not field.is_repeated:
            paths.extend(_set_paths(value, f"{prefix}{field.name}."))
        else:
            paths.append(prefix + field.name)
    return paths


def chat_update_from_pb(
    request: pb.UpdateChatRequest, mask: FieldMask, stored: ChatRecord
) -> ChatUpdate:
    """The stored chat with the request's fields merged in where `mask` (update_mask_of) says:
    a message field named whole is replaced whole; a field not set in the request is cleared."""
    merged = chat_to_pb(stored)
    mask.MergeMessage(request.chat, merged, replace_message_field=True)
    tops = {path.split(".")[0] for path in mask.paths}
    return ChatUpdate(
        title=merged.title.strip() if "title" in tops else None,
        options=settings_from_pb(merged.settings, "chat.settings") if "settings" in tops else None,
    )


def chat_to_pb(chat: ChatRecord) -> pb.Chat:
    return pb.Chat(
        chat_id=chat.chat_id,
        title=chat.title,
        system_prompt=chat.system_prompt,
        settings=pb.ChatSettings(
            history_policy=_POLICY_TO_PB[chat.settings.history_policy],
            sampling=sampling_to_pb(chat.settings.sampling),
            model=chat.settings.model,
        ),
        create_time=timestamp(chat.created_at),
        update_time=timestamp(chat.updated_at),
        current_message_id=chat.current_message_id,
    )


def message_to_pb(m: MessageRecord, sibling_ids: list[str] | None = None) -> pb.Message:
    return pb.Message(
        message_id=m.message_id,
        role=_ROLE_TO_PB[m.role],
        content=m.content,
        status=_STATUS_TO_PB[m.status],
        create_time=timestamp(m.created_at),
        client_request_id=m.client_request_id,
        model=m.model,
        usage=pb.Usage(prompt_tokens=m.prompt_tokens, completion_tokens=m.completion_tokens),
        cached=m.cached,
        finish_reason=FINISH_TO_PB.get(m.finish_reason, pb.FINISH_REASON_UNSPECIFIED),
        error=m.error,
        parent_id=m.parent_id,
        sibling_ids=sibling_ids or [],
    )


def message_id_from(value: str, field: str) -> str:
    """A message id a client names (canonical, lower case), or "" when it names none."""
    if not value:
        return ""
    try:
        return canonical_id(value)
    except ValueError as exc:
        raise InvalidArgument(field, f"{value[:64]!r} is not a message id (a UUID)") from exc


def final_to_pb(user_message_id: str, a: MessageRecord) -> pb.CompleteFinal:
    return pb.CompleteFinal(
        user_message_id=user_message_id,
        assistant_message_id=a.message_id,
        usage=pb.Usage(prompt_tokens=a.prompt_tokens, completion_tokens=a.completion_tokens),
        finish_reason=FINISH_TO_PB.get(a.finish_reason, pb.FINISH_REASON_UNSPECIFIED),
        cached=a.cached,
        cache_similarity=a.cache_similarity,
        model=a.model,
    )
