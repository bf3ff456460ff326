"""The two history store backends, opened for a test module: SQLite in a temporary file, and
Cassandra in a fresh keyspace on the session's node (dropped afterwards)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from chat_service.store.base import HistoryStore
from chat_service.store.cassandra_store import CassandraStore
from chat_service.store.sqlite_store import SqliteStore

BACKENDS = ["sqlite", pytest.param("cassandra", marks=pytest.mark.cassandra)]


@asynccontextmanager
async def open_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[HistoryStore, Callable[[], HistoryStore]]]:
    """A started store of the backend `request.param`, and a factory for another instance on
    the same storage."""
    factory: Callable[[], HistoryStore]
    keyspace = ""
    if request.param == "sqlite":
        path = str(tmp_path_factory.mktemp("sqlite") / "history.db")

        def factory() -> HistoryStore:
            return SqliteStore(path)

    else:
        host, port = request.getfixturevalue("cassandra_endpoint")
        keyspace = f"contract_{uuid.uuid4().hex[:12]}"

        def factory() -> HistoryStore:
            return CassandraStore([host], port=port, keyspace=keyspace, request_timeout_s=20.0)

    instance = factory()
    await instance.start()
    try:
        yield instance, factory
    finally:
        if isinstance(instance, CassandraStore):  # leave nothing behind on an external cluster
            session = instance._session
            await asyncio.to_thread(
                session.execute, f"DROP KEYSPACE IF EXISTS {keyspace}", None, 60
            )
        await instance.close()
