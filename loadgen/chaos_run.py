"""The whole chaos run (issue 19): the stack (loadgen/chaos_stack.py), the load with its fault
schedule (loadgen/chaos.py), then the checks (loadgen/chaos_checks.py), as one document. The
test (tests/chaos/test_chaos_run.py) asserts on it; bench/chaos_run.py runs it longer and
writes it to a results file."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadgen.chaos import Fault, FaultTimes, failed_outside_faults, fault_report, fault_schedule
from loadgen.chaos_checks import (
    JobLedger,
    handoffs_logged,
    hint_files,
    node_alone_holds,
    wait_handed_off,
)
from loadgen.chaos_stack import ChaosStack, chaos_stack
from loadgen.config import LoadConfig
from loadgen.result import result_document
from loadgen.run import run_load

KEYSPACE = "chatstack"  # the chat service's default


@dataclass(frozen=True)
class ChaosConfig:
    load: LoadConfig
    baseline_s: float = 10.0  # quiet load before the first fault
    # Each component stays down this long: longer than gossip takes to convict a dead
    # Cassandra node (~10 s), the window where a lost node costs most.
    down_s: float = 12.0
    gap_s: float = 8.0  # load after each recovery, before the next fault


@dataclass
class _Hints:
    files_while_down: int = 0
    catch_up_s: float | None = None
    files_replayed: int = 0
    error: str = ""


def _with_hint_checks(stack: ChaosStack, fault: Fault, hints: _Hints) -> Fault:
    """The Cassandra fault, counting the hint files held for the node before it returns."""
    victim = stack.cassandra.nodes[-1]

    def restart() -> None:
        hints.files_while_down = hint_files(stack.cassandra, victim)
        fault.restart()

    return dataclasses.replace(fault, restart=restart)


async def run_chaos(work: Path, config: ChaosConfig) -> dict[str, Any]:
    started = time.monotonic()
    async with chaos_stack(work) as stack:
        print(f"stack up in {time.monotonic() - started:.0f} s", flush=True)
        victim = stack.cassandra.nodes[-1]
        ledger = JobLedger(stack.chat_metrics, stack.nats.stream_state)
        hints = _Hints()
        faults = stack.faults(config.down_s, on_chat_kill=lambda: ledger.carry(1))
        faults[0] = _with_hint_checks(stack, faults[0], hints)

        def after_recovery(fault: Fault) -> None:
            if fault is not faults[0]:
                return
            try:  # the node is back: the others replay its hints
                hints.catch_up_s = wait_handed_off(stack.cassandra, victim)
            except TimeoutError as exc:
                hints.error = str(exc)
            hints.files_replayed = handoffs_logged(stack.cassandra, victim)

        times: list[FaultTimes] = []
        schedule = fault_schedule(faults, config.baseline_s, config.gap_s, times, after_recovery)
        result = await run_load(config.load, stack.target(config.load.users), during=schedule)
        jobs = await asyncio.to_thread(ledger.settle)
        stored = result.verification.stored
        held = await asyncio.to_thread(node_alone_holds, stack.cassandra, victim, KEYSPACE, stored)
    return {
        "load": result_document(result),
        "faults": fault_report(result.turns, times),
        "failed_outside_faults": failed_outside_faults(result.turns, times),
        "jobs": jobs,
        "cassandra_catch_up": {
            "mechanism": "hinted handoff",
            "hint_files_while_down": hints.files_while_down,
            "hint_files_replayed": hints.files_replayed,
            "catch_up_s": hints.catch_up_s,
            "error": hints.error,
            "node_alone_holds": held,
        },
    }
