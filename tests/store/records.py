"""Records for store tests: chats, messages and turns at given times, with time-ordered ids."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime

from chat_service.domain import (
    ChatOptions,
    ChatRecord,
    MessageRecord,
    MessageStatus,
    Role,
    Turn,
)
from chat_service.ids import uuid7
from chat_service.store.base import HistoryStore

DAY_MS = 24 * 3600 * 1000
BASE_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z


def new_user() -> str:
    return f"user-{uuid.uuid4().hex}"


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).replace(microsecond=(ms % 1000) * 1000)


def make_id(ms: int) -> str:
    return str(uuid7(unix_ms=ms))


def make_chat(user_id: str, ms: int = BASE_MS, **fields: object) -> ChatRecord:
    chat = ChatRecord(
        user_id=user_id,
        chat_id=make_id(ms),
        title="A chat",
        system_prompt="You are helpful.",
        settings=ChatOptions(),
        created_at=at(ms),
        updated_at=at(ms),
    )
    return replace(chat, **fields)  # type: ignore[arg-type]


def make_message(chat_id: str, ms: int, role: Role = Role.USER, **fields: object) -> MessageRecord:
    message = MessageRecord(
        chat_id=chat_id,
        message_id=make_id(ms),
        role=role,
        content=f"{role.value} at {ms}",
        status=MessageStatus.COMPLETE,
        created_at=at(ms),
        updated_at=at(ms),
    )
    return replace(message, **fields)  # type: ignore[arg-type]


def make_turn(chat_id: str, ms: int, request_id: str) -> Turn:
    return Turn(
        user=make_message(chat_id, ms, Role.USER, client_request_id=request_id),
        assistant=make_message(
            chat_id,
            ms + 1,
            Role.ASSISTANT,
            content="",
            status=MessageStatus.PENDING,
            client_request_id=request_id,
            model="smollm2",
        ),
    )


async def save_all(store: HistoryStore, user_id: str, messages: list[MessageRecord]) -> None:
    for start in range(0, len(messages), 50):
        await asyncio.gather(
            *(store.save_message(user_id, m) for m in messages[start : start + 50])
        )


def ids(records: list[MessageRecord]) -> list[str]:
    return [m.message_id for m in records]
