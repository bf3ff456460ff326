"""The capacity model: a deployment's size for a number of daily users, from a usage profile and
the per-turn costs this repo measures (deploy/capacity/profile.yaml; docs/capacity.md explains
each line). Prints the table as Markdown; `--check FILE` fails if FILE's table (between the
capacity-table markers) differs from it.

    .venv/bin/python -m scripts.capacity deploy/capacity/profile.yaml [--check docs/capacity.md]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import yaml

BEGIN, END = "<!-- capacity-table -->", "<!-- /capacity-table -->"
DAY_S = 86_400


def size(users: int, p: dict[str, Any]) -> dict[str, float]:
    """One deployment's figures for `users` daily users."""
    use, cost, dep = p["usage"], p["measured"], p["deployment"]
    turns_day = users * use["turns_per_user_day"]
    peak_turns_s = turns_day / DAY_S * use["peak_to_mean"]
    completion = use["completion_tokens_per_turn"]
    generated_share = 1 - use["cache_hit_rate"]
    peak_tokens_s = peak_turns_s * generated_share * completion

    def cores(fixed_ms: float, per_token_ms: float) -> float:
        busy_s = peak_turns_s * (fixed_ms + per_token_ms * completion) / 1000
        return busy_s / dep["core_utilization"]

    chat_cores = cores(cost["chat_cpu_ms_fixed"], cost["chat_cpu_ms_per_token"])
    envoy_cores = cores(cost["envoy_cpu_ms_fixed"], cost["envoy_cpu_ms_per_token"])
    message_bytes = 2 * cost["stored_bytes_overhead_per_message"] + cost["bytes_per_token"] * (
        use["new_user_tokens_per_turn"] + completion
    )
    disk_gb_year = turns_day * 365 * message_bytes * dep["cassandra_replication_factor"] / 1e9
    cache_entries = turns_day * generated_share * dep["cache_ttl_days"]
    entry_bytes = (
        cost["cache_vector_bytes"]
        + cost["cache_entry_overhead_bytes"]
        + cost["bytes_per_token"] * (use["new_user_tokens_per_turn"] + completion)
    )
    return {
        "peak turns/s": peak_turns_s,
        "peak output tokens/s": peak_tokens_s,
        "GPU replicas": max(1, math.ceil(peak_tokens_s / dep["gpu_output_tokens_per_s"])),
        "chat replicas": max(2, math.ceil(chat_cores / dep["cores_per_chat_replica"])),
        "Envoy replicas": max(2, math.ceil(envoy_cores / dep["cores_per_envoy_replica"])),
        "store reads/s (peak)": peak_turns_s * cost["store_reads_per_turn"],
        "store writes/s (peak)": peak_turns_s * cost["store_writes_per_turn"],
        "Cassandra disk, GB/year (RF incl.)": disk_gb_year,
        "Cassandra nodes (year 1, disk)": max(
            dep["cassandra_replication_factor"],
            math.ceil(disk_gb_year / dep["cassandra_disk_per_node_gb"]),
        ),
        "Milvus memory for cache_ttl_days of answers, GB": cache_entries * entry_bytes / 1e9,
        "NATS messages/s (peak)": peak_turns_s * cost["queue_messages_per_turn"],
    }


def _fmt(value: float) -> str:
    if value >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.2g}" if value < 1 else f"{value:.1f}"


def table(profile: dict[str, Any]) -> str:
    users = profile["daily_users"]
    sized = [size(n, profile) for n in users]
    head = "| daily users | " + " | ".join(f"{n:,}" for n in users) + " |"
    rule = "|---|" + "---:|" * len(users)
    rows = [f"| {name} | " + " | ".join(_fmt(s[name]) for s in sized) + " |" for name in sized[0]]
    return "\n".join([head, rule, *rows]) + "\n"


def embedded(doc: str) -> str:
    start, end = doc.index(BEGIN) + len(BEGIN), doc.index(END)
    return doc[start:end].strip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--check", type=Path, help="a document whose table must match")
    args = parser.parse_args()
    result = table(yaml.safe_load(args.profile.read_text()))
    if args.check is None:
        print(result, end="")
        return
    if embedded(args.check.read_text()) != result:
        sys.exit(f"{args.check}: its capacity table is not the model's; expected:\n{result}")
    print(f"{args.check}: the table matches the model")


if __name__ == "__main__":
    main()
