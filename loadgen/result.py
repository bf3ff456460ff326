"""What a load run found (LoadResult) and its figures: the summary (turns, outcomes, TTFT
quantiles, HTTP statuses and their reasons, 429 retry hints, resident memory, the
verification), a results file's content and the per-turn JSON lines."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from loadgen.config import FOLLOW_UPS, QUESTIONS, LoadConfig
from loadgen.records import LoadState, TurnRecord
from loadgen.rss import RssSample, rss_report
from loadgen.stats import percentile
from loadgen.verify import Verification


def quantiles_ms(values: Sequence[float]) -> dict[str, float] | None:
    """n, p50, p95, p99 and max of durations in seconds, in ms; None if there are none."""
    if not values:
        return None
    return {
        "n": len(values),
        **{f"p{q}": percentile(values, q) * 1000 for q in (50, 95, 99)},
        "max": max(values) * 1000,
    }


@dataclass
class LoadResult:
    config: LoadConfig
    load_s: float  # the load window as it ran, until the last user finished
    state: LoadState
    rss: list[RssSample]
    verification: Verification

    @property
    def turns(self) -> list[TurnRecord]:
        return self.state.turns

    def status_counts(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        for (operation, status), n in sorted(self.state.statuses.items()):
            counts.setdefault(operation, {})[str(status)] = n
        return counts

    def all_statuses(self) -> set[int]:
        return {status for (_, status) in self.state.statuses}

    def outcomes(self) -> dict[str, int]:
        return dict(Counter(turn.outcome for turn in self.turns).most_common())

    def summary(self) -> dict[str, Any]:
        turns = self.turns
        final = [t for t in turns if t.outcome == "final"]
        attempts = Counter(t.attempts for t in turns)
        return {
            "users": self.config.users,
            "load_s": self.load_s,
            "turns": len(turns),
            "acknowledged_turns": sum(t.acknowledged for t in turns),
            "completed_turns": len(final),
            "completed_cached": sum(bool(t.cached) for t in final),
            "completed_turns_per_s": len(final) / self.load_s if self.load_s else 0.0,
            "acknowledged_turns_per_s": (
                sum(t.acknowledged for t in turns) / self.load_s if self.load_s else 0.0
            ),
            "chats_created": len(self.state.chats),
            "chats_deleted": sum(c.deleted for c in self.state.chats.values()),
            "outcomes": self.outcomes(),
            "turn_kinds": dict(Counter(t.kind for t in turns)),
            "attempts_per_turn": {str(k): attempts[k] for k in sorted(attempts)},
            "status_counts": self.status_counts(),
            **self.errors(),
            "ttft_ms": self.ttft_ms(),
            "completed_turn_total_ms": quantiles_ms(
                [t.total_s for t in final if t.total_s is not None]
            ),
            "rss": rss_report(self.rss),
            "verification": self.verification_summary(),
        }

    def ttft_ms(self) -> dict[str, dict[str, float] | None]:
        """TTFT quantiles: all turns with a delta, generated and cached apart, and from the
        turn's first attempt (429 retries included)."""
        with_delta = [t for t in self.turns if t.ttft_s is not None]
        return {
            "all": quantiles_ms([t.ttft_s for t in with_delta if t.ttft_s is not None]),
            "generated": quantiles_ms(
                [t.ttft_s for t in with_delta if t.ttft_s is not None and t.cached is False]
            ),
            "cached": quantiles_ms(
                [t.ttft_s for t in with_delta if t.ttft_s is not None and t.cached is True]
            ),
            "all_with_429_retries": quantiles_ms(
                [t.ttft_with_retries_s for t in with_delta if t.ttft_with_retries_s is not None]
            ),
        }

    def errors(self) -> dict[str, list[dict[str, Any]]]:
        """The reasons of non-200 statuses, the transport errors and the 429 retry hints."""
        state = self.state
        return {
            "error_reasons": [
                {"operation": op, "status": status, "reason": reason, "count": n}
                for (op, status, reason), n in state.reasons.most_common()
            ],
            "transport_errors": [
                {"operation": op, "error": error, "count": n}
                for (op, error), n in state.transport_errors.most_common(20)
            ],
            "retry_hints_429": [
                {"source": source, "seconds": seconds, "count": n}
                for (source, seconds), n in state.retry_hints.most_common()
            ],
        }

    def verification_summary(self) -> dict[str, Any]:
        v = self.verification
        return {
            "chats_checked": v.chats_checked,
            "deleted_chats_checked": v.deleted_checked,
            "messages_read": v.messages_read,
            "settle_s": v.settle_s,
            "pending_after_settle": v.pending_after_settle,
            "violations": len(v.violations),
            "first_violations": v.violations[:20],
            "sqlite_orphan_rows": v.orphans,
        }


def result_document(result: LoadResult) -> dict[str, Any]:
    """A results file's content: the config, the summary and the RSS samples."""
    return {
        "config": {
            **asdict(result.config),
            "questions": list(QUESTIONS),
            "follow_ups": list(FOLLOW_UPS),
        },
        **result.summary(),
        "rss_samples": [asdict(s) for s in result.rss],
    }


def write_turns(result: LoadResult, path: Path) -> None:
    """Every turn as one JSON line (what was sent, each attempt's status, what came back)."""
    with path.open("w") as out:
        for turn in result.turns:
            out.write(json.dumps(asdict(turn)) + "\n")
