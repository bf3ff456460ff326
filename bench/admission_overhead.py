"""What per-user admission adds to a turn: admit + release (chat_service/admission.py, every
limit on), beside what starting a turn already costs in the same store (begin_turn: the user's
message and the pending reply), measured side by side on the same store.

SQLite (the embedded default) always; a Cassandra node too with `--cassandra HOST:PORT` (for
example the one `scripts/cassandra.sh start` runs). One user per turn and one at a time, so the
figures are the store's round trips, not contention.

    .venv/bin/python -m bench.admission_overhead [--turns 300] [--cassandra 127.0.0.1:9042]
        (results: bench/results/admission_overhead.json)
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

from bench._stats import format_table, ratio, summary, write_results
from bench._stores import on_each_store
from chat_service.admission import TurnKind, UserAdmission, UserLimits
from chat_service.domain import MessageRecord, MessageStatus, Role, Turn, utcnow
from chat_service.ids import new_ids
from chat_service.store.base import HistoryStore
from chat_service.timed_store import TimedStore

NAME = "admission_overhead"
LIMITS = UserLimits(
    max_streams=4,
    max_queued=8,
    turns_per_minute=30,
    daily_tokens=100_000,
    stream_slot_s=30,
    queued_slot_s=900,
)


def _turn(chat_id: str) -> Turn:
    now = utcnow()
    user_id, reply_id = new_ids(2)
    request = uuid.uuid4().hex
    return Turn(
        MessageRecord(chat_id, user_id, Role.USER, "Hello there", MessageStatus.COMPLETE, now,
                      now, client_request_id=request),
        MessageRecord(chat_id, reply_id, Role.ASSISTANT, "", MessageStatus.PENDING, now, now,
                      client_request_id=request),
    )  # fmt: skip


async def measure(store: HistoryStore, turns: int) -> dict[str, Any]:
    timed = TimedStore(store, 20.0)
    admission = UserAdmission(timed, LIMITS)
    admit_ms: list[float] = []
    begin_ms: list[float] = []
    for i in range(turns + 10):  # the first 10 warm up
        user = f"bench-{uuid.uuid4().hex}"
        slot_id = uuid.uuid4().hex
        started = time.perf_counter()
        await admission.admit(user, TurnKind.STREAM, slot_id)
        await admission.release(user, TurnKind.STREAM, slot_id)
        admitted = time.perf_counter()
        await timed.begin_turn(user, _turn(str(uuid.uuid4())))
        begun = time.perf_counter()
        if i >= 10:
            admit_ms.append((admitted - started) * 1000)
            begin_ms.append((begun - admitted) * 1000)
    admit, begin = summary(admit_ms), summary(begin_ms)
    return {
        "admit_and_release_ms": admit,
        "begin_turn_ms": begin,
        "admission_over_begin_turn_p50": ratio(admit["p50"], begin["p50"]),
    }


async def run(turns: int, cassandra: str | None) -> dict[str, Any]:
    measured = await on_each_store(lambda store: measure(store, turns), cassandra, "admission")
    return {"config": {"turns": turns, "limits": "all on"}, **measured}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--cassandra", help="HOST:PORT of a Cassandra node")
    args = parser.parse_args()
    results = asyncio.run(run(args.turns, args.cassandra))
    rows = [
        [store, r["admit_and_release_ms"]["p50"], r["admit_and_release_ms"]["p95"],
         r["begin_turn_ms"]["p50"], r["begin_turn_ms"]["p95"], r["admission_over_begin_turn_p50"]]
        for store, r in results.items() if store != "config"
    ]  # fmt: skip
    print("\nPer-user admission beside starting a turn, per turn")
    print(format_table(
        ["store", "admit+release p50 ms", "p95", "begin_turn p50 ms", "p95", "ratio p50"], rows
    ))  # fmt: skip
    print(f"\nwritten to {write_results(NAME, results)}")


if __name__ == "__main__":
    main()
