"""The ids an import gives what it writes: derived from what the file says, never random, so
importing a file again finds what the first import wrote (and skips it), and a retry after a
failure mid-import writes the same rows again.

They keep the shape of every chat and message id (chat_service/ids.py): UUIDv7, whose time bits
are the source's creation time, so imported chats take their place in the list by when they
were created, and messages sort in the chat's order."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

from chat_service.ids import uuid7
from chat_service.transfer.model import ImportedMessage

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def unix_ms(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(milliseconds=1)


def _tail(*parts: str) -> bytes:
    """10 bytes for a UUIDv7's random bits, from `parts` (hashed as a JSON array: no two lists
    of parts read the same)."""
    return hashlib.sha256(json.dumps(parts).encode()).digest()[:10]


def chat_id_for(user_id: str, source_format: str, source_id: str, created_at: datetime) -> str:
    """The chat's id: one per (user, format, chat id in the source)."""
    return str(uuid7(unix_ms(created_at), _tail(user_id, source_format, source_id)))


def message_ids_for(chat_id: str, messages: list[ImportedMessage]) -> list[str]:
    """The messages' ids, increasing in the chat's order (a message's time is moved up by a
    millisecond past the one before it where needed: the ids' times, not the messages' own).
    Their last bit is 0, so the id just above one (`next_id`) is never another's."""
    ids = []
    last_ms = -1
    for m in messages:
        ms = max(unix_ms(m.created_at), last_ms + 1)
        last_ms = ms
        value = uuid7(ms, _tail(chat_id, m.source_id)).int & ~1
        ids.append(str(uuid.UUID(int=value)))
    return ids


def next_id(message_id: str) -> str:
    """The id just above `message_id` (an exclusive bound that reads include it below)."""
    return str(uuid.UUID(int=uuid.UUID(message_id).int + 1))
