"""JSON values read with their place in the file, so every refusal names the field that is wrong:
`chats[3].messages[7].role`, `[0].mapping.<node id>.message.author.role`."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, NoReturn

from chat_service.json_kind import json_kind
from server_kit.errors import InvalidArgument

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
# What Python's datetime can hold, in Unix seconds (years 1970 to 9999).
_MAX_EPOCH_S = 253_402_300_799.0


class Field:
    """A JSON value and its path in the file ("" is the whole file)."""

    def __init__(self, value: Any, path: str = "") -> None:
        self.value = value
        self.path = path

    def fail(self, description: str) -> NoReturn:
        raise InvalidArgument(self.path or "file", description)

    @property
    def missing(self) -> bool:
        return self.value is None

    def key(self, name: str) -> Field:
        """The member `name` of this object (None when absent): check obj() first."""
        label = f".{name}" if _PLAIN_KEY.match(name) else f"[{name[:80]!r}]"
        path = f"{self.path}{label}" if self.path else label.lstrip(".")
        value = self.value.get(name) if isinstance(self.value, dict) else None
        return Field(value, path)

    def obj(self) -> dict[str, Any]:
        if not isinstance(self.value, dict):
            self.fail(f"must be an object, not {json_kind(self.value)}")
        return self.value

    def items(self) -> Iterator[Field]:
        """The elements of this array, each with its index in the path."""
        if not isinstance(self.value, list):
            self.fail(f"must be an array, not {json_kind(self.value)}")
        for index, value in enumerate(self.value):
            yield Field(value, f"{self.path}[{index}]")

    def text(self, default: str | None = None, max_chars: int | None = None) -> str:
        """A string; `default` when null or absent (else that is an error)."""
        if self.value is None and default is not None:
            return default
        if not isinstance(self.value, str):
            self.fail(f"must be a string, not {json_kind(self.value)}")
        if max_chars is not None and len(self.value) > max_chars:
            self.fail(f"{len(self.value)} characters; the limit is {max_chars}")
        return self.value

    def identifier(self, max_chars: int = 200) -> str:
        """A non-empty string naming something in the file (a chat, a message)."""
        value = self.text(max_chars=max_chars)
        if not value.strip():
            self.fail("must not be empty")
        return value

    def number(self) -> float | None:
        """A finite number, or None when null or absent."""
        if self.value is None:
            return None
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            self.fail(f"must be a number, not {json_kind(self.value)}")
        try:
            number = float(self.value)
        except OverflowError:
            self.fail("is too large a number")
        if not math.isfinite(number):
            self.fail("must be a finite number")
        return number

    def integer(self, low: int, high: int) -> int | None:
        """An integer in [low, high], or None when null or absent."""
        bad = f"must be an integer in [{low}, {high}]"
        if isinstance(self.value, int) and not isinstance(self.value, bool):
            if not low <= self.value <= high:  # exact, also past 2**53 (a seed)
                self.fail(bad)
            return self.value
        number = self.number()
        if number is None:
            return None
        if not number.is_integer() or not low <= number <= high:
            self.fail(bad)
        return int(number)

    def epoch_seconds(self) -> datetime | None:
        """Unix seconds (ChatGPT's times), or None when null or absent."""
        seconds = self.number()
        if seconds is None:
            return None
        if not 0 <= seconds <= _MAX_EPOCH_S:
            self.fail(f"{seconds} is not a time (Unix seconds between 1970 and 9999)")
        return datetime.fromtimestamp(seconds, UTC)

    def rfc3339(self) -> datetime | None:
        """An RFC 3339 time ("2026-12-06T06:21:56.123Z"; UTC when it names no offset), or None
        when null or absent."""
        if self.value is None:
            return None
        text = self.text(max_chars=64)
        try:
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            parsed = parsed.astimezone(UTC)
        except (ValueError, OverflowError):
            self.fail(f"{text!r} is not an RFC 3339 time")
        if parsed.year < 1970:
            self.fail(f"{text!r} is before 1970")
        return parsed
