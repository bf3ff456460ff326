"""The chaos run (issue 19), short: simulated users chat through Envoy against two chat
replicas on a three-node Cassandra cluster (RF 3, LOCAL_QUORUM) and a three-server NATS
JetStream cluster (R3 streams), while one Cassandra node, then one NATS server, then one chat
replica and one inference replica are SIGKILLed and started again (loadgen/chaos_stack.py).

Asserted: no failed turn while the Cassandra node or the NATS server is down, nor outside any
fault; every acknowledged turn stored exactly once (loadgen/verify.py); no side job lost; the
returning Cassandra node caught up by hinted handoff and on its own holds every message read
back. Times (TTFT p95 before, during and after each fault; time to serve again)
are printed, never asserted: bench/chaos_run.py is the longer run.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from loadgen import LoadConfig
from loadgen.chaos_run import ChaosConfig, run_chaos

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

USERS = int(os.environ.get("CHATSTACK_CHAOS_USERS", "6"))


def test_chaos_run_loses_nothing(tmp_path: Path) -> None:
    load = LoadConfig(
        users=USERS,
        think_s=(0.3, 1.5),
        max_tokens=8,
        p_cancel=0.1,
        p_delete=0.05,
        drain_s=60.0,
        settle_timeout_s=60.0,
    )
    report = asyncio.run(run_chaos(tmp_path, ChaosConfig(load)))
    print(json.dumps({k: v for k, v in report.items() if k != "load"}, indent=1))
    summary = report["load"]
    print(json.dumps({k: summary[k] for k in ("turns", "outcomes", "ttft_ms")}, indent=1))

    faults = {row["fault"]: row for row in report["faults"]}
    assert len(faults) == 4, faults
    for row in faults.values():
        if not row["failures_expected"]:
            assert row["turns_during"] > 0, row  # the fault met the load
            assert row["failed_during"] == 0, row
    assert report["failed_outside_faults"] == 0
    verification = summary["verification"]
    assert verification["violations"] == 0, verification["first_violations"]
    assert verification["pending_after_settle"] == 0

    jobs = report["jobs"]
    assert jobs["offered"] > 0, jobs
    assert jobs["lost"] == 0, jobs
    assert jobs["dead_lettered"] == 0, jobs

    catch_up = report["cassandra_catch_up"]
    assert catch_up["hint_files_while_down"] > 0, catch_up
    assert catch_up["hint_files_replayed"] > 0, catch_up
    held = catch_up["node_alone_holds"]
    assert held["expected"] > 0, held
    assert held["missing"] == 0 and held["different"] == 0, held
