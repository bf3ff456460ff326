"""The store benchmarks' setting: one measurement on a fresh SQLite file and, when given a node
(HOST:PORT), on a fresh Cassandra keyspace, dropped afterwards."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from chat_service.store.base import HistoryStore
from chat_service.store.cassandra_store import CassandraStore
from chat_service.store.sqlite_store import SqliteStore

Measure = Callable[[HistoryStore], Awaitable[dict[str, Any]]]


async def on_each_store(measure: Measure, cassandra: str | None, name: str) -> dict[str, Any]:
    """{"sqlite": ..., "cassandra": ...} as `measure` returns them for each store."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        sqlite = SqliteStore(str(Path(tmp) / "chat.db"))
        await sqlite.start()
        try:
            results["sqlite"] = await measure(sqlite)
        finally:
            await sqlite.close()
    if cassandra:
        host, _, port = cassandra.partition(":")
        keyspace = f"bench_{uuid.uuid4().hex[:8]}"
        node = CassandraStore([host], port=int(port or 9042), keyspace=keyspace,
                              consistency="ONE", request_timeout_s=20)  # fmt: skip
        await node.start()
        try:
            results["cassandra"] = await measure(node)
            drop = f"DROP KEYSPACE IF EXISTS {keyspace}"
            await asyncio.to_thread(node._session.execute, drop, None, 60)
        finally:
            await node.close()
    return results
