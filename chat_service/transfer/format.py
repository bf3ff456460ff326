"""This service's export document, `chatstack.chats` version 1 (docs/export-format.md): built
from stored chats, and read back (validated) for an import.

The document is UTF-8 JSON. The exporter encodes each chat on its own (chat_bytes) and joins
them (export_bytes), so it can stop as soon as the export would be too large."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from chat_service.domain import (
    ChatOptions,
    ChatRecord,
    HistoryPolicy,
    MessageRecord,
    MessageStatus,
    Role,
    Sampling,
)
from chat_service.transfer.fields import Field
from chat_service.transfer.model import MAX_MODEL_CHARS, ImportedChat, ImportedMessage, ImportLimits

FORMAT = "chatstack.chats"
VERSION = 1
ROLES = {role.value: role for role in Role}
# pending and queued: a reply that was being generated when the chat was exported. Imported,
# nothing generates it any more: it is stored as interrupted.
STATUSES = {status.value: status for status in MessageStatus} | {
    MessageStatus.PENDING.value: MessageStatus.INTERRUPTED,
    MessageStatus.QUEUED.value: MessageStatus.INTERRUPTED,
}
FINISH_REASONS = ("", "stop", "length")
MAX_TOKENS = 32_768  # as the API's SamplingSettings.max_tokens
MAX_COUNT = 2**31 - 1


def rfc3339(value: datetime) -> str:
    """UTC, millisecond precision (what the stores keep): "2026-12-06T06:21:56.123Z"."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


# -- building ---------------------------------------------------------------------------------


def settings_document(options: ChatOptions) -> dict[str, Any]:
    s = options.sampling
    return {
        "history_policy": options.history_policy.value if options.history_policy else None,
        "model": options.model,
        "sampling": {
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_tokens,
            "seed": s.seed,
        },
    }


def message_document(m: MessageRecord, parent_id: str | None) -> dict[str, Any]:
    return {
        "message_id": m.message_id,
        "parent_id": parent_id,
        "role": m.role.value,
        "content": m.content,
        "status": m.status.value,
        "create_time": rfc3339(m.created_at),
        "update_time": rfc3339(m.updated_at),
        "model": m.model,
        "usage": {"prompt_tokens": m.prompt_tokens, "completion_tokens": m.completion_tokens},
        "finish_reason": m.finish_reason,
        "error": m.error,
    }


def chat_document(chat: ChatRecord, messages: list[MessageRecord]) -> dict[str, Any]:
    """A chat and all its messages (every branch), oldest first, each with its parent; records
    that carry no parent at all (a line built by hand) are linked in order."""
    if any(m.parent_id for m in messages):
        parents: list[str | None] = [m.parent_id or None for m in messages]
    else:
        parents = [None, *(m.message_id for m in messages)][: len(messages)]
    doc = {
        "chat_id": chat.chat_id,
        "title": chat.title,
        "system_prompt": chat.system_prompt,
        "settings": settings_document(chat.settings),
        "create_time": rfc3339(chat.created_at),
        "update_time": rfc3339(chat.updated_at),
        "messages": [message_document(m, p) for m, p in zip(messages, parents, strict=True)],
    }
    if chat.current_message_id:  # the branch shown (absent: the newest message's)
        doc["current_message_id"] = chat.current_message_id
    return doc


def chat_bytes(chat: ChatRecord, messages: list[MessageRecord]) -> bytes:
    return _dumps(chat_document(chat, messages))


def export_bytes(exported_at: datetime, chats: list[bytes]) -> bytes:
    """The whole document, from chats encoded by chat_bytes."""
    head = _dumps({"format": FORMAT, "version": VERSION, "exported_at": rfc3339(exported_at)})
    return head[:-1] + b',"chats":[' + b",".join(chats) + b"]}\n"


def document_overhead() -> int:
    """The bytes of a document around its chats (and the commas between them, but one)."""
    return len(export_bytes(datetime.now(UTC), []))


# -- reading ----------------------------------------------------------------------------------


def is_chatstack(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("format") == FORMAT


def parse_chatstack(root: Field, limits: ImportLimits) -> list[ImportedChat]:
    """The chats of a chatstack.chats document (root: the whole file), validated."""
    root.obj()
    version = root.key("version").integer(1, MAX_COUNT)
    if version is None:
        root.key("version").fail(f"required (this server reads version {VERSION})")
    if version > VERSION:
        root.key("version").fail(f"{version} is newer than this server reads ({VERSION})")
    listed = root.key("chats")
    chats: list[ImportedChat] = []
    for chat in listed.items():
        if len(chats) == limits.max_chats:
            listed.fail(f"more than {limits.max_chats} chats; import them in several files")
        chats.append(_chat(chat, limits))
    return chats


def _chat(f: Field, limits: ImportLimits) -> ImportedChat:
    f.obj()
    created = f.key("create_time").rfc3339()
    if created is None:
        f.key("create_time").fail("required")
    messages = _messages(f.key("messages"), limits)
    current = f.key("current_message_id")
    current_id = current.text("", 200)
    if current_id and current_id not in {m.source_id for m in messages}:
        current.fail(f"{current_id[:64]!r} is not a message of this chat")
    return ImportedChat(
        path=f.path,
        source_id=f.key("chat_id").identifier(),
        title=f.key("title").text("", limits.max_title_chars).strip(),
        system_prompt=f.key("system_prompt").text("", limits.max_system_prompt_chars),
        settings=_settings(f.key("settings")),
        created_at=created,
        updated_at=f.key("update_time").rfc3339() or created,
        messages=messages,
        current_source_id=current_id,
    )


def _settings(f: Field) -> ChatOptions:
    if f.missing:
        return ChatOptions()
    f.obj()
    policy = f.key("history_policy").text("")
    if policy and policy not in {p.value for p in HistoryPolicy}:
        f.key("history_policy").fail(f"{policy[:32]!r} is not full, window, summary or null")
    sampling = f.key("sampling")
    if not sampling.missing:
        sampling.obj()
    temperature = sampling.key("temperature").number()
    if temperature is not None and not 0 <= temperature <= 2:
        sampling.key("temperature").fail(f"{temperature} is outside [0, 2]")
    top_p = sampling.key("top_p").number()
    if top_p is not None and not 0 < top_p <= 1:
        sampling.key("top_p").fail(f"{top_p} is outside (0, 1]")
    return ChatOptions(
        history_policy=HistoryPolicy(policy) if policy else None,
        model=f.key("model").text("", MAX_MODEL_CHARS),
        sampling=Sampling(
            temperature=temperature,
            top_p=top_p,
            max_tokens=sampling.key("max_tokens").integer(1, MAX_TOKENS),
            seed=sampling.key("seed").integer(0, 2**64 - 1),
        ),
    )


def _messages(f: Field, limits: ImportLimits) -> list[ImportedMessage]:
    """A chat's messages, oldest first, each one's parent_id an earlier message's id (null:
    a first message). A linear chat's parents are the previous messages; branches (edits,
    regenerated answers) share a parent."""
    if f.missing:
        return []
    messages: list[ImportedMessage] = []
    index: dict[str, int] = {}
    for item in f.items():
        message = _message(item, limits)
        if message.source_id in index:
            item.key("message_id").fail("the same as an earlier message's")
        parent = item.key("parent_id")
        parent_id = None if parent.missing else parent.identifier()
        if parent_id is not None and parent_id not in index:
            parent.fail(f"{parent_id[:64]!r} is not an earlier message of this chat")
        position = None if parent_id is None else index[parent_id]
        index[message.source_id] = len(messages)
        messages.append(replace(message, parent_index=position))
    return messages


def _message(f: Field, limits: ImportLimits) -> ImportedMessage:
    f.obj()
    role = f.key("role").text()
    if role not in ROLES:
        f.key("role").fail(f"{role[:32]!r} is not user, assistant or system")
    status = f.key("status").text(MessageStatus.COMPLETE.value)
    if status not in STATUSES:
        f.key("status").fail(f"{status[:32]!r} is not complete, interrupted or failed")
    created = f.key("create_time").rfc3339()
    if created is None:
        f.key("create_time").fail("required")
    finish = f.key("finish_reason").text("")
    if finish not in FINISH_REASONS:
        f.key("finish_reason").fail(f"{finish[:32]!r} is not stop, length or empty")
    usage = f.key("usage")
    if not usage.missing:
        usage.obj()
    return ImportedMessage(
        source_id=f.key("message_id").identifier(),
        role=ROLES[role],
        content=f.key("content").text(max_chars=limits.max_message_chars),
        status=STATUSES[status],
        created_at=created,
        updated_at=max(f.key("update_time").rfc3339() or created, created),
        model=f.key("model").text("", MAX_MODEL_CHARS),
        prompt_tokens=usage.key("prompt_tokens").integer(0, MAX_COUNT) or 0,
        completion_tokens=usage.key("completion_tokens").integer(0, MAX_COUNT) or 0,
        finish_reason=finish,
        error=f.key("error").text("", limits.max_message_chars),
    )
