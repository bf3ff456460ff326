"""Time-ordered identifiers.

Chat and message ids are UUIDv7 strings: 48 bits of Unix milliseconds then random bits, so
sorting by the id (bytes or canonical text) sorts by creation time. Cassandra's `uuid` type
orders non-v1 UUIDs by their bytes, SQLite orders the text form the same way.
"""

from __future__ import annotations

import os
import time
import uuid


def uuid7(unix_ms: int | None = None, rand: bytes | None = None) -> uuid.UUID:
    """A UUIDv7; `rand` (10 bytes) makes it deterministic, e.g. derived from a request id."""
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
    return uuid.UUID(int=value)


def new_id() -> str:
    return str(uuid7())


def parse_id(text: str) -> uuid.UUID:
    """Parses a canonical UUID string; raises ValueError for anything else."""
    parsed = uuid.UUID(text)
    if str(parsed) != text.lower():
        raise ValueError(f"not a canonical UUID: {text!r}")
    return parsed


def unix_ms_of(id_text: str) -> int:
    """The creation time (Unix ms) embedded in a UUIDv7."""
    return uuid.UUID(id_text).int >> 80


def new_ids(count: int) -> list[str]:
    """`count` ids from the same millisecond, in increasing order (e.g. a user message and the
    assistant reply that must sort after it)."""
    ms = int(time.time() * 1000)
    return sorted(str(uuid7(ms)) for _ in range(count))
