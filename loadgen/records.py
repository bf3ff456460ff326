"""What a load run records: each turn (TurnRecord), each chat (ChatRecord) and the run's own
state and counters (LoadState: HTTP statuses by operation, error reasons, transport errors,
429 retry hints).

A turn ends as one of these outcomes: `final` (the final event came), `cancelled` (we stopped
it), `error_event` (an in-band error), `http_error`, `gave_up` (still 429 after the attempts),
`window_closed` (429, and the retry would fall after the load window), `transport_error`,
`stream_broken` (the stream ended without a final or an error event) or `aborted` (still
running at the hard stop).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from loadgen.config import LoadConfig, Target


@dataclass
class TurnRecord:
    user: str
    chat_id: str
    request_id: str
    content: str
    kind: str  # first, question, follow_up
    cancel: bool  # planned: close after the first delta
    started_s: float  # first attempt sent, seconds since the load started
    ended_s: float | None = None  # when the turn ended, however it ended (same clock)
    statuses: list[int] = field(default_factory=list)  # per attempt; 0: transport error
    acknowledged: bool = False  # an attempt answered 200: the stream started
    outcome: str = "pending"
    ttft_s: float | None = None  # the 200 attempt sent -> first delta
    ttft_with_retries_s: float | None = None  # first attempt sent -> first delta
    total_s: float | None = None
    deltas: int = 0
    text: str = ""
    final: dict[str, Any] | None = None
    error: str = ""
    cached: bool | None = None  # from the final, or (stopped turns) from the store

    @property
    def attempts(self) -> int:
        return len(self.statuses)


@dataclass
class ChatRecord:
    user: str
    chat_id: str
    request_ids: list[str] = field(default_factory=list)
    deleted: bool = False


@dataclass
class LoadState:
    config: LoadConfig
    target: Target
    started: float = 0.0  # monotonic
    load_deadline: float = 0.0  # monotonic
    turns: list[TurnRecord] = field(default_factory=list)
    chats: dict[str, ChatRecord] = field(default_factory=dict)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)  # (operation, status)
    reasons: Counter[tuple[str, int, str]] = field(default_factory=Counter)  # non-200 reasons
    transport_errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    retry_hints: Counter[tuple[str, float]] = field(default_factory=Counter)  # (source, s)

    def now(self) -> float:
        return time.monotonic() - self.started

    def count(self, operation: str, status: int, reason: str = "") -> None:
        self.statuses[(operation, status)] += 1
        if status != 200:
            self.reasons[(operation, status, reason)] += 1
