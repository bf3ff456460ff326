"""A LOGGED batch whose batchlog write timed out (a node just died and gossip has not convicted
it yet) is sent once more UNLOGGED; any other failure is StoreUnavailable at once. Unit tests
with a stand-in for the driver call (`_run`); the chaos test (tests/chaos) kills a real node of
a real three-node cluster under load."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from cassandra import ConsistencyLevel, WriteTimeout, WriteType
from cassandra.policies import RetryPolicy
from cassandra.query import BatchType, SimpleStatement

from chat_service.store.base import StoreUnavailable
from chat_service.store.cassandra_connection import (
    CassandraConnection,
    _BatchlogFailsFast,
    _LoggedBatch,
)

QUORUM = ConsistencyLevel.LOCAL_QUORUM


def write_timeout(write_type: int) -> WriteTimeout:
    return WriteTimeout(
        "timed out", write_type=write_type, consistency=QUORUM, required_responses=2,
        received_responses=1,
    )  # fmt: skip


def batch() -> _LoggedBatch:
    items: list[tuple[Any, Sequence[Any]]] = [
        (SimpleStatement("INSERT INTO t (k) VALUES (%s)"), (1,)),
        (SimpleStatement("INSERT INTO u (k) VALUES (%s)"), (2,)),
    ]
    return _LoggedBatch(items, QUORUM)


class FakeRun:
    """Stands in for CassandraConnection._run: raises the given errors in turn, records calls."""

    def __init__(self, *errors: BaseException | None) -> None:
        self.errors = list(errors)
        self.calls: list[Any] = []

    async def __call__(self, statement: Any, params: Sequence[Any] | None = None) -> list[Any]:
        self.calls.append(statement)
        error = self.errors.pop(0) if self.errors else None
        if error is not None:
            raise error
        return []


def connection(run: FakeRun) -> CassandraConnection:
    conn = CassandraConnection(["127.0.0.1"])
    conn._run = run  # type: ignore[method-assign]
    return conn


async def test_a_batch_whose_batchlog_timed_out_goes_again_unlogged() -> None:
    run = FakeRun(write_timeout(WriteType.BATCH_LOG), None)
    original = batch()
    assert await connection(run)._execute(original) == []
    first, second = run.calls
    assert first is original and first.batch_type == BatchType.LOGGED
    assert second.batch_type == BatchType.UNLOGGED
    assert second.consistency_level == QUORUM
    assert len(second._statements_and_parameters) == 2


@pytest.mark.parametrize(
    "error",
    [write_timeout(WriteType.BATCH), write_timeout(WriteType.SIMPLE)],
    ids=["batch-mutations", "simple"],
)
async def test_other_timeouts_are_unavailable_at_once(error: WriteTimeout) -> None:
    run = FakeRun(error)
    with pytest.raises(StoreUnavailable):
        await connection(run)._execute(batch())
    assert len(run.calls) == 1  # a batch whose mutations may have landed is not re-sent


async def test_the_unlogged_attempt_failing_is_unavailable() -> None:
    run = FakeRun(write_timeout(WriteType.BATCH_LOG), write_timeout(WriteType.UNLOGGED_BATCH))
    with pytest.raises(StoreUnavailable):
        await connection(run)._execute(batch())
    assert len(run.calls) == 2


def test_the_driver_does_not_retry_a_batchlog_timeout_on_the_same_node() -> None:
    policy = _BatchlogFailsFast()
    common = {"consistency": QUORUM, "required_responses": 2, "received_responses": 1}
    decision, _ = policy.on_write_timeout(
        query=None, write_type=WriteType.BATCH_LOG, retry_num=0, **common
    )
    assert decision == RetryPolicy.RETHROW
    # Otherwise the driver's default (keyword arguments, as the driver passes them).
    assert policy.on_write_timeout(
        query=None, write_type=WriteType.SIMPLE, retry_num=0, **common
    ) == RetryPolicy().on_write_timeout(
        query=None, write_type=WriteType.SIMPLE, retry_num=0, **common
    )
