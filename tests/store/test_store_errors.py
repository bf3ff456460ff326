"""Failure paths of the stores, and the Cassandra future-to-asyncio bridge, without a node."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cassandra import (
    InvalidRequest,
    OperationTimedOut,
    ReadFailure,
    ReadTimeout,
    Unavailable,
    WriteTimeout,
    WriteType,
)
from cassandra.cluster import NoHostAvailable
from cassandra.connection import ConnectionShutdown
from cassandra.protocol import OverloadedErrorMessage

from chat_service.store.base import StoreUnavailable
from chat_service.store.cassandra_store import CassandraStore
from chat_service.store.sqlite_store import SqliteStore


class FakeResponseFuture:
    """Delivers pages (or an error) from another thread, like the driver's I/O thread."""

    def __init__(self, pages: list[list[dict[str, Any]]], error: BaseException | None) -> None:
        self._pages = pages
        self._error = error
        self.has_more_pages = False
        self._callback: Callable[[list[dict[str, Any]]], None] | None = None
        self._errback: Callable[[BaseException], None] | None = None

    def add_callbacks(self, callback: Any, errback: Any) -> None:
        self._callback, self._errback = callback, errback
        self._deliver_later()

    def start_fetching_next_page(self) -> None:
        self._deliver_later()

    def _deliver_later(self) -> None:
        threading.Thread(target=self._deliver).start()

    def _deliver(self) -> None:
        assert self._callback is not None and self._errback is not None
        if self._error is not None:
            self._errback(self._error)
            return
        page = self._pages.pop(0)
        self.has_more_pages = bool(self._pages)
        self._callback(page)


class FakeSession:
    def __init__(self, pages: list[list[dict[str, Any]]], error: BaseException | None = None):
        self.pages, self.error = pages, error

    def execute_async(self, statement: Any, params: Any, timeout: float) -> FakeResponseFuture:
        return FakeResponseFuture(list(self.pages), self.error)


def store_with(session: FakeSession) -> CassandraStore:
    store = CassandraStore(["127.0.0.1"])
    store._session = session
    return store


async def test_bridge_collects_every_page() -> None:
    pages = [[{"n": 1}, {"n": 2}], [{"n": 3}], [{"n": 4}]]
    rows = await store_with(FakeSession(pages))._execute("SELECT")
    assert rows == [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]


@pytest.mark.parametrize(
    "error",
    [
        NoHostAvailable("no host", {}),
        OperationTimedOut(),
        Unavailable("unavailable"),
        ReadTimeout("read timeout"),
        WriteTimeout("write timeout", write_type=WriteType.BATCH),
        ReadFailure("read failure"),
        OverloadedErrorMessage(0x1001, "overloaded", None),
        ConnectionShutdown("connection closed"),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_driver_errors_become_store_unavailable(error: BaseException) -> None:
    with pytest.raises(StoreUnavailable) as caught:
        await store_with(FakeSession([], error))._execute("SELECT")
    assert caught.value.__cause__ is error


async def test_query_errors_are_not_masked() -> None:
    with pytest.raises(InvalidRequest):
        await store_with(FakeSession([], InvalidRequest("bad query")))._execute("SELECT")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_cassandra_unreachable_is_store_unavailable() -> None:
    store = CassandraStore(["127.0.0.1"], port=closed_port(), connect_timeout_s=2.0)
    with pytest.raises(StoreUnavailable):
        await store.start()
    with pytest.raises(StoreUnavailable):
        await store.get_chat("u", "0190f3b6-0000-7000-8000-000000000000")


def test_cassandra_options_are_validated() -> None:
    with pytest.raises(ValueError):
        CassandraStore(["127.0.0.1"], keyspace="bad-name; DROP")
    with pytest.raises(ValueError):
        CassandraStore(["127.0.0.1"], consistency="MOSTLY")


async def test_sqlite_unopenable_path_is_store_unavailable(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "missing-dir" / "history.db"))
    with pytest.raises(StoreUnavailable):
        await store.start()
    with pytest.raises(StoreUnavailable):
        await store.list_chats("u", 10)
