"""Time-ordered identifiers.

Chat and message ids are UUIDv7 strings: 48 bits of Unix milliseconds then random bits, so
sorting by the id (bytes or canonical text) sorts by creation time. Cassandra's `uuid` type
orders non-v1 UUIDs by their bytes, SQLite orders the text form the same way.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid


def uuid7(unix_ms: int | None = None, rand: bytes | None = None) -> uuid.UUID:
    """A UUIDv7; `rand` (10 bytes) makes it deterministic, e.g. derived from a request id."""
    return uuid.UUID(int=_uuid7_int(unix_ms, rand))


def _uuid7_int(unix_ms: int | None, rand: bytes | None) -> int:
    ms = int(time.time() * 1000) if unix_ms is None else unix_ms
    tail = rand if rand is not None else os.urandom(10)
    if len(tail) < 10:
        raise ValueError("rand must hold at least 10 bytes")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= int.from_bytes(tail[:10], "big") & ((1 << 80) - 1)
    # version 7 in bits 48..51 of the 128-bit big-endian value, variant 0b10 in bits 64..65
    value &= ~(0xF << 76)
    value |= 0x7 << 76
    value &= ~(0x3 << 62)
    value |= 0x2 << 62
    return value


_last = 0
_lock = threading.Lock()


def _monotonic_uuid7() -> int:
    """Strictly increasing within this process, even within one millisecond (RFC 9562 §6.2:
    when the clock has not moved, increment the previous value)."""
    global _last
    with _lock:
        candidate = _uuid7_int(None, None)
        if candidate <= _last:
            candidate = _last + 1
        _last = candidate
    return candidate


def new_id() -> str:
    """A new id as canonical text, formatted directly (a UUID object and its str() cost
    twice as much, for three or four ids a turn)."""
    h = f"{_monotonic_uuid7():032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def parse_id(text: str) -> uuid.UUID:
    """Parses a canonical UUID string; raises ValueError for anything else."""
    parsed = uuid.UUID(text)
    if str(parsed) != text.lower():
        raise ValueError(f"not a canonical UUID: {text!r}")
    return parsed


# An id as this service writes it: parsing one costs eight times this match.
CANONICAL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def canonical_id(text: str) -> str:
    """The canonical (lower-case) text of a UUID a client wrote in canonical form, in any
    case; ValueError for anything else."""
    if CANONICAL_ID.fullmatch(text):
        return text
    return str(parse_id(text))


def unix_ms_of(id_text: str) -> int:
    """The creation time (Unix ms) embedded in a UUIDv7."""
    return uuid.UUID(id_text).int >> 80


def new_ids(count: int) -> list[str]:
    """`count` increasing ids (e.g. a user message and the reply that must sort after it)."""
    return [new_id() for _ in range(count)]
