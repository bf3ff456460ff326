"""A chaos run: the load's simulated users chat through Envoy while components are killed
(SIGKILL) and started again one after another; then what each fault cost them.

- Fault: what to kill and how to bring it back (blocking callables, run off the event loop),
  how long it stays down, and whether a failed turn is within its target (none for a lost
  Cassandra node or NATS server: their clusters are there to hide it; a chat or inference
  replica's own turns in flight may fail).
- fault_schedule: the ``during`` of run_load: a quiet baseline, then each fault in turn, a gap
  after each recovery.
- fault_report: per fault, the turns that overlapped it (started before it was back, ended
  after it was killed), those that failed, TTFT p95 before, during and after, and the time
  from the kill until it served again.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from loadgen.records import LoadState, TurnRecord
from loadgen.stats import percentile

# Outcomes that are a failure the user sees. `cancelled` was our own stop; `gave_up` and
# `window_closed` are overload refusals (429 after every retry), counted apart.
FAILED = frozenset({"error_event", "http_error", "transport_error", "stream_broken", "aborted"})
REFUSED = frozenset({"gave_up", "window_closed"})


@dataclass(frozen=True)
class Fault:
    name: str  # what was killed, e.g. "cassandra node 127.0.0.3"
    kill: Callable[[], None]  # SIGKILL; returns once the process is gone
    restart: Callable[[], None]  # returns once the component is back and serving
    down_s: float  # how long it stays down before the restart
    failures_expected: bool  # False: the target is no failed turn


@dataclass(frozen=True)
class FaultTimes:
    fault: Fault
    killed_s: float  # seconds since the load started
    restarted_s: float
    recovered_s: float


def fault_schedule(
    faults: Sequence[Fault],
    baseline_s: float,
    gap_s: float,
    times: list[FaultTimes],
    after_recovery: Callable[[Fault], None] | None = None,
) -> Callable[[LoadState], Awaitable[None]]:
    """The load window: ``baseline_s`` of quiet load, then each fault (kill, ``down_s``,
    restart until it serves), ``after_recovery`` (a check, off the loop), ``gap_s`` of load."""

    async def during(state: LoadState) -> None:
        await asyncio.sleep(baseline_s)
        for fault in faults:
            killed = state.now()
            print(f"  t={killed:6.1f}s kill {fault.name}", flush=True)
            await asyncio.to_thread(fault.kill)
            await asyncio.sleep(fault.down_s)
            restarted = state.now()
            await asyncio.to_thread(fault.restart)
            times.append(FaultTimes(fault, killed, restarted, state.now()))
            print(f"  t={state.now():6.1f}s {fault.name} serves again", flush=True)
            if after_recovery is not None:
                await asyncio.to_thread(after_recovery, fault)
            await asyncio.sleep(gap_s)

    return during


def _ended(turn: TurnRecord) -> float:
    return turn.ended_s if turn.ended_s is not None else math.inf


def _overlaps(turn: TurnRecord, start: float, end: float) -> bool:
    return turn.started_s < end and _ended(turn) >= start


def _ttft_p95_ms(turns: Sequence[TurnRecord]) -> float | None:
    values = [t.ttft_s for t in turns if t.ttft_s is not None and t.outcome == "final"]
    return percentile(values, 95) * 1000 if values else None


def _window(turns: Sequence[TurnRecord], start: float, end: float) -> list[TurnRecord]:
    """Turns that ran entirely inside [start, end)."""
    return [t for t in turns if t.started_s >= start and _ended(t) < end]


def fault_report(turns: Sequence[TurnRecord], times: Sequence[FaultTimes]) -> list[dict[str, Any]]:
    rows = []
    for i, t in enumerate(times):
        quiet_from = times[i - 1].recovered_s if i else 0.0
        quiet_until = times[i + 1].killed_s if i + 1 < len(times) else math.inf
        during = [x for x in turns if _overlaps(x, t.killed_s, t.recovered_s)]
        failed = [x for x in during if x.outcome in FAILED]
        rows.append(
            {
                "fault": t.fault.name,
                "failures_expected": t.fault.failures_expected,
                "killed_s": round(t.killed_s, 1),
                "down_s": round(t.restarted_s - t.killed_s, 1),
                "restart_to_serving_s": round(t.recovered_s - t.restarted_s, 1),
                "kill_to_serving_s": round(t.recovered_s - t.killed_s, 1),
                "turns_during": len(during),
                "failed_during": len(failed),
                "failed_outcomes": dict(Counter(x.outcome for x in failed)),
                "refused_during": sum(x.outcome in REFUSED for x in during),
                "ttft_p95_ms": {
                    "before": _ttft_p95_ms(_window(turns, quiet_from, t.killed_s)),
                    "during": _ttft_p95_ms(during),
                    "after": _ttft_p95_ms(_window(turns, t.recovered_s, quiet_until)),
                },
            }
        )
    return rows


def failed_outside_faults(turns: Sequence[TurnRecord], times: Sequence[FaultTimes]) -> int:
    """Failed turns that overlapped no fault: the target is none."""
    return sum(
        t.outcome in FAILED and not any(_overlaps(t, f.killed_s, f.recovered_s) for f in times)
        for t in turns
    )
