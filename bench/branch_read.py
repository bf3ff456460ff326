"""Reading a chat that has branches (docs/branches.md): GetChat's first page (the path of 50
messages to the current leaf and the versions at its forks) and a turn's history read (the
prompt's first page: the 32 ancestors of the new question), at 10 messages (one line) and at
10,000 messages with 50 branches, store calls only. The claim measured: the cost is flat in the
chat's size and its branches.

The large chat: a main line of 5,000 messages, then 50 branches forked off it at evenly spaced
answers, grown in turns (round robin, so their ids interleave: the worst case for Cassandra's
range reads) to 100 messages each. Read with the current leaf on a branch and on the main line.

SQLite (the embedded default) always; a Cassandra node too with `--cassandra HOST:PORT` (for
example the one `scripts/cassandra.sh start` runs).

    .venv/bin/python -m bench.branch_read [--reads 200] [--cassandra 127.0.0.1:9042]
        (results: bench/results/branch_read.json)
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

from bench._stats import format_table, summary, write_results
from bench._stores import on_each_store
from chat_service.domain import (
    ChatOptions,
    ChatRecord,
    MessageRecord,
    MessageStatus,
    Placement,
    Role,
    Turn,
    utcnow,
)
from chat_service.ids import new_id, new_ids
from chat_service.store.base import HistoryStore

NAME = "branch_read"
USER = "bench-branches"
PAGE = 50  # GetChat's default page
PROMPT_PAGE = 32  # prompt.PAGE
BRANCHES = 50
BRANCH_MESSAGES = 100


def _turn(chat_id: str, i: int) -> Turn:
    now = utcnow()
    q, a = new_ids(2)
    request = uuid.uuid4().hex
    return Turn(
        MessageRecord(chat_id, q, Role.USER, f"Question {i}: " + "words " * 20,
                      MessageStatus.COMPLETE, now, now, client_request_id=request),
        MessageRecord(chat_id, a, Role.ASSISTANT, f"Answer {i}: " + "words " * 60,
                      MessageStatus.COMPLETE, now, now, client_request_id=request),
    )  # fmt: skip


async def seed(store: HistoryStore, messages: int, branches: int) -> tuple[str, str, str]:
    """A chat of `messages` messages, `branches` of them branches; returns its id, a branch
    tip and the main line's tip."""
    chat = ChatRecord(USER, new_id(), "bench", "", ChatOptions(), utcnow(), utcnow())
    await store.create_chat(chat)
    main_turns = (messages - branches * BRANCH_MESSAGES) // 2
    line = [await store.begin_turn(USER, _turn(chat.chat_id, i)) for i in range(main_turns)]
    tips: list[str] = []
    for b in range(branches):  # each forks off the main line at an answer
        fork = line[(b + 1) * main_turns // (branches + 1)].assistant.message_id
        turn = await store.begin_turn(USER, _turn(chat.chat_id, b), Placement(parent_id=fork))
        tips.append(turn.assistant.message_id)
    for r in range(1, BRANCH_MESSAGES // 2):  # grown in turns: their ids interleave
        for b in range(branches):
            placed = Placement(parent_id=tips[b])
            tips[b] = (
                await store.begin_turn(USER, _turn(chat.chat_id, r), placed)
            ).assistant.message_id
    main_tip = line[-1].assistant.message_id
    return chat.chat_id, (tips[-1] if tips else main_tip), main_tip


async def _timed(reads: int, call: Any) -> dict[str, float]:
    for _ in range(5):  # warm-up
        await call()
    times = []
    for _ in range(reads):
        start = time.perf_counter()
        await call()
        times.append((time.perf_counter() - start) * 1000)
    return summary(times)


async def measure(store: HistoryStore, reads: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, messages, branches in (("10", 10, 0), ("10000_50_branches", 10_000, BRANCHES)):
        chat_id, branch_tip, main_tip = await seed(store, messages, branches)
        views = {"branch": branch_tip, "main": main_tip} if branches else {"line": main_tip}
        for view, tip in views.items():
            await store.select_message(USER, chat_id, tip)

            async def get_chat(chat_id: str = chat_id, size: int = messages) -> None:
                page = (await store.recent_messages(USER, chat_id, PAGE + 1))[:PAGE]
                assert len(page) == min(PAGE, size)
                await store.siblings(USER, chat_id, page)

            async def history(chat_id: str = chat_id, tip: str = tip) -> None:
                await store.recent_messages(USER, chat_id, PROMPT_PAGE, tip)

            out[f"{label}/{view}"] = {
                "get_chat_first_page_ms": await _timed(reads, get_chat),
                "prompt_history_page_ms": await _timed(reads, history),
            }
    return out


async def run(reads: int, cassandra: str | None) -> dict[str, Any]:
    config = {"reads": reads, "page": PAGE, "prompt_page": PROMPT_PAGE}
    measured = await on_each_store(lambda store: measure(store, reads), cassandra, "branches")
    return {"config": config, **measured}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--cassandra", help="HOST:PORT of a Cassandra node")
    args = parser.parse_args()
    results = asyncio.run(run(args.reads, args.cassandra))
    rows = [
        [store, chat, r["get_chat_first_page_ms"]["p50"], r["get_chat_first_page_ms"]["p95"],
         r["prompt_history_page_ms"]["p50"], r["prompt_history_page_ms"]["p95"]]
        for store, by_chat in results.items() if store != "config"
        for chat, r in by_chat.items()
    ]  # fmt: skip
    print("\nReading a chat's branch (store calls only)")
    print(format_table(
        ["store", "chat/view", "GetChat page p50 ms", "p95", "prompt page p50 ms", "p95"], rows
    ))  # fmt: skip
    print(f"\nwritten to {write_results(NAME, results)}")


if __name__ == "__main__":
    main()
