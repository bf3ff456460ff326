"""Conversions both stores share, so they keep exactly the same values: millisecond UTC
timestamps, canonical lowercase UUID text, and chat settings as JSON text."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from chat_service.domain import ChatOptions, HistoryPolicy, MessageRecord, Sampling
from chat_service.ids import CANONICAL_ID

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def to_ms(value: datetime) -> int:
    """Unix milliseconds, truncated (both backends keep ms); a naive datetime is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def as_utc(value: datetime) -> datetime:
    """A datetime read back from a backend, aware UTC and ms precision."""
    return from_ms(to_ms(value))


def norm_id(text: str) -> str:
    """Canonical lowercase UUID text; ValueError for anything that is not a UUID. SQLite
    keeps the text, Cassandra the `uuid`: normalising makes both return the same string.
    Text already canonical (every id this service makes) is returned without parsing: several
    ids a store call, and the parse costs eight times the match."""
    if CANONICAL_ID.fullmatch(text):
        return text
    return str(uuid.UUID(text))


def settings_to_json(settings: ChatOptions) -> str:
    s = settings.sampling
    doc: dict[str, Any] = {
        "history_policy": settings.history_policy.value if settings.history_policy else None,
        "model": settings.model,
        "sampling": {
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_tokens,
            "seed": s.seed,
        },
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


def settings_from_json(text: str | None) -> ChatOptions:
    doc: dict[str, Any] = json.loads(text) if text else {}
    sampling: dict[str, Any] = doc.get("sampling") or {}
    policy = doc.get("history_policy")
    return ChatOptions(
        history_policy=HistoryPolicy(policy) if policy else None,
        model=doc.get("model") or "",
        sampling=Sampling(
            temperature=sampling.get("temperature"),
            top_p=sampling.get("top_p"),
            max_tokens=sampling.get("max_tokens"),
            seed=sampling.get("seed"),
        ),
    )


def normalize_message(m: MessageRecord) -> MessageRecord:
    """The message as a store returns it after a write: canonical ids, ms UTC times."""
    return replace(
        m,
        chat_id=norm_id(m.chat_id),
        message_id=norm_id(m.message_id),
        created_at=as_utc(m.created_at),
        updated_at=as_utc(m.updated_at),
    )
