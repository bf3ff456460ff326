"""Opaque page tokens for keyset pagination: base64url of a small JSON object.

Clients must treat them as opaque; the server validates them like any other input.
"""

from __future__ import annotations

import base64
import binascii
import json

from chat_service.ids import parse_id
from server_kit.errors import InvalidArgument

_VERSION = 1


def encode_page_token(before_id: str) -> str:
    raw = json.dumps({"v": _VERSION, "before": before_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str, field: str = "page_token") -> str | None:
    """The id to page before, or None for the first page."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        before = data["before"]
        if data.get("v") != _VERSION or not isinstance(before, str):
            raise ValueError
        parse_id(before)
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidArgument(field, "not a page token returned by this API") from exc
    return before


def encode_search_token(at_ms: int, before_id: str) -> str:
    """A search page: the results older than (at_ms, before_id)."""
    raw = json.dumps({"v": _VERSION, "at": at_ms, "before": before_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_search_token(token: str, field: str = "page_token") -> tuple[int, str] | None:
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        at, before = data["at"], data["before"]
        if data.get("v") != _VERSION or not isinstance(at, int) or not isinstance(before, str):
            raise ValueError
        parse_id(before)
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidArgument(field, "not a page token returned by this API") from exc
    return at, before


def page_size_of(value: int, default: int, maximum: int) -> int:
    if value == 0:
        return default
    if not 1 <= value <= maximum:
        raise InvalidArgument("page_size", f"{value} is outside [1, {maximum}]")
    return value
