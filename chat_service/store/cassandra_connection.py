"""The Cassandra store's connection: the cluster and its session, schema migration at start,
the prepared statements by name, and a bridge from the driver's callbacks to asyncio that turns
driver errors meaning "cannot serve this now" into StoreUnavailable. CassandraStore
(cassandra_store.py) builds its operations on it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
from collections.abc import Iterable, Sequence
from typing import Any

from cassandra import (
    ConsistencyLevel,
    CoordinationFailure,
    OperationTimedOut,
    ReadTimeout,
    Unavailable,
    WriteTimeout,
    WriteType,
)
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
from cassandra.connection import ConnectionException
from cassandra.policies import (
    ConstantSpeculativeExecutionPolicy,
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    RetryPolicy,
    TokenAwarePolicy,
)
from cassandra.protocol import IsBootstrappingErrorMessage, OverloadedErrorMessage
from cassandra.query import BatchStatement, BatchType, dict_factory

from chat_service.store.base import StoreUnavailable
from chat_service.store.cassandra_schema import Row, cql_literal, migrations, statements

log = logging.getLogger(__name__)

# Errors that mean "the cluster cannot serve this now": the service answers UNAVAILABLE.
_UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    NoHostAvailable,
    OperationTimedOut,
    Unavailable,
    ReadTimeout,
    WriteTimeout,
    CoordinationFailure,  # ReadFailure, WriteFailure
    ConnectionException,
    OverloadedErrorMessage,
    IsBootstrappingErrorMessage,
)

# Reconnection to a node that went down (its connection pool, and the driver's control
# connection): the driver's default is exponential from 1 s up to 600 s and gives up after 64
# attempts, so after a one-minute outage the store could stay unavailable for ten minutes, or
# for good. Here: 0.5 s, 1 s, 2 s, ... capped at 5 s (+-15 % jitter), and never giving up, so
# the store serves again at most ~5 s after the node does. An attempt on a node that is down
# is one refused TCP connect per host, cheap enough at that rate.
_RECONNECT_BASE_DELAY_S = 0.5
_RECONNECT_MAX_DELAY_S = 5.0
# Schema changes wait for every node to agree; a cold or busy node can take many seconds.
_DDL_TIMEOUT_S = 60.0
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,47}")
# A read with no answer after this long is also sent to another coordinator (reads only: they
# are idempotent). A read in flight when a node died can wait on it until the store's deadline,
# the coordinator's own speculation notwithstanding; the chaos run saw one such read in a few
# hundred (docs/cluster.md).
_SPECULATE_AFTER_S = 1.0


class _LoggedBatch(BatchStatement):
    """A LOGGED batch that remembers its statements, to be sent again UNLOGGED (below)."""

    def __init__(self, items: list[tuple[Any, Sequence[Any]]], consistency: int) -> None:
        super().__init__(batch_type=BatchType.LOGGED, consistency_level=consistency)
        self.items = items
        for statement, params in items:
            self.add(statement, params)

    def unlogged(self) -> BatchStatement:
        batch = BatchStatement(BatchType.UNLOGGED, consistency_level=self.consistency_level)
        for statement, params in self.items:
            batch.add(statement, params)
        return batch


class _BatchlogFailsFast(RetryPolicy):
    """The driver's default policy, except that a batch whose batchlog could not be written
    is not sent to the same coordinator again: _execute sends it unlogged instead."""

    def on_write_timeout(
        self,
        query: Any,
        consistency: Any,
        write_type: Any,
        required_responses: int,
        received_responses: int,
        retry_num: int,
    ) -> Any:
        if write_type == WriteType.BATCH_LOG:
            return self.RETHROW, None
        return super().on_write_timeout(
            query, consistency, write_type, required_responses, received_responses, retry_num
        )


def _batchlog_timed_out(exc: BaseException) -> bool:
    return isinstance(exc, WriteTimeout) and exc.write_type == WriteType.BATCH_LOG


class CassandraConnection:
    """Connects, migrates and prepares on start; runs statements without blocking the loop."""

    def __init__(
        self,
        contact_points: list[str],
        port: int = 9042,
        keyspace: str = "chatstack",
        replication: dict[str, Any] | None = None,
        consistency: str = "LOCAL_QUORUM",
        local_dc: str | None = None,
        request_timeout_s: float = 5.0,
        username: str | None = None,
        password: str | None = None,
        connect_timeout_s: float = 10.0,
        protocol_version: int | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not _IDENTIFIER.fullmatch(keyspace):
            raise ValueError(f"invalid keyspace name: {keyspace!r}")
        try:
            self._cl: int = ConsistencyLevel.name_to_value[consistency.upper()]
        except KeyError:
            raise ValueError(f"unknown consistency level: {consistency!r}") from None
        self._contact_points = list(contact_points)
        self._port = port
        self._ks = keyspace
        self._replication = replication or {"class": "SimpleStrategy", "replication_factor": 1}
        self._local_dc = local_dc
        self._timeout = request_timeout_s
        self._connect_timeout = connect_timeout_s
        # None negotiates (the driver logs a warning per downgrade); 5 suits Cassandra >= 4.
        self._protocol_version = protocol_version
        self._auth = (
            PlainTextAuthProvider(username=username, password=password or "") if username else None
        )
        self._ssl_context = ssl_context
        self._cluster: Any = None
        self._session: Any = None
        self._ps: dict[str, Any] = {}

    async def start(self) -> None:
        if self._session is not None:
            return
        try:
            await asyncio.to_thread(self._connect_and_migrate)
        except _UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable(f"cassandra: {exc}") from exc

    def _connect_and_migrate(self) -> None:
        """Blocking: runs in a thread. Connects, creates/migrates the schema, prepares."""
        profile = ExecutionProfile(
            load_balancing_policy=TokenAwarePolicy(
                DCAwareRoundRobinPolicy(local_dc=self._local_dc or "")
            ),
            consistency_level=self._cl,
            request_timeout=self._timeout,
            row_factory=dict_factory,
            retry_policy=_BatchlogFailsFast(),
            speculative_execution_policy=ConstantSpeculativeExecutionPolicy(
                _SPECULATE_AFTER_S, max_attempts=1
            ),
        )
        cluster = Cluster(
            contact_points=self._contact_points,
            port=self._port,
            auth_provider=self._auth,
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
            connect_timeout=self._connect_timeout,
            # With check_hostname, the driver gives the address it dials as the server name.
            ssl_context=self._ssl_context,
            reconnection_policy=ExponentialReconnectionPolicy(
                _RECONNECT_BASE_DELAY_S, _RECONNECT_MAX_DELAY_S, max_attempts=None
            ),
            **({"protocol_version": self._protocol_version} if self._protocol_version else {}),
        )
        try:
            session = cluster.connect()
            self._migrate(session)
            self._ps = {
                name: self._prepare(session, cql) for name, cql in statements(self._ks).items()
            }
        except BaseException:
            cluster.shutdown()
            raise
        self._cluster, self._session = cluster, session

    def _prepare(self, session: Any, cql: str) -> Any:
        statement = session.prepare(cql)
        statement.consistency_level = self._cl
        if " IF NOT EXISTS" in cql and not cql.lstrip().upper().startswith("CREATE"):
            # A lightweight transaction's Paxos round stays in the data center, as its commit.
            local = ConsistencyLevel.value_to_name[self._cl].startswith("LOCAL_")
            serial = ConsistencyLevel.LOCAL_SERIAL if local else ConsistencyLevel.SERIAL
            statement.serial_consistency_level = serial
        # Only idempotent statements are speculated: reads (counter updates, say, are not).
        statement.is_idempotent = cql.lstrip().upper().startswith("SELECT")
        return statement

    def _migrate(self, session: Any) -> None:
        ks = self._ks

        def run(cql: str, params: Sequence[Any] | None = None) -> Any:
            return session.execute(cql, params, timeout=max(self._timeout, _DDL_TIMEOUT_S))

        replication = ", ".join(
            f"{cql_literal(k)}: {cql_literal(v)}" for k, v in self._replication.items()
        )
        run(f"CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = {{{replication}}}")
        run(
            f"""CREATE TABLE IF NOT EXISTS {ks}.schema_version (
                component text PRIMARY KEY, version int, applied_at timestamp)"""
        )
        row = run(f"SELECT version FROM {ks}.schema_version WHERE component = 'history'").one()
        version: int = row["version"] if row else 0
        steps = migrations(ks)
        for number, step in enumerate(steps[version:], start=version + 1):
            for statement in step:
                run(statement)
            run(
                f"INSERT INTO {ks}.schema_version (component, version, applied_at)"
                " VALUES ('history', %s, toTimestamp(now()))",
                (number,),
            )

    async def close(self) -> None:
        cluster, self._cluster, self._session = self._cluster, None, None
        if cluster is not None:
            await asyncio.to_thread(cluster.shutdown)

    async def _execute(self, statement: Any, params: Sequence[Any] | None = None) -> list[Row]:
        """Runs one statement; driver errors that mean "not now" become StoreUnavailable.

        A LOGGED batch whose batchlog write timed out was not applied; it is sent once more
        UNLOGGED. That happens when a node has just died: the coordinator writes the batchlog
        to two other nodes of its data center, and keeps choosing the dead one until gossip
        convicts it (~10 s), while each row's own replicas answer LOCAL_QUORUM without it.
        For those seconds a batch is applied row by row instead of all or nothing
        (docs/cluster.md)."""
        try:
            return await self._run(statement, params)
        except _UNAVAILABLE_ERRORS as exc:
            if not (isinstance(statement, _LoggedBatch) and _batchlog_timed_out(exc)):
                raise StoreUnavailable(f"cassandra: {exc}") from exc
            log.warning("batchlog write timed out (a node down?): sending the batch unlogged")
        try:
            return await self._run(statement.unlogged())
        except _UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable(f"cassandra: {exc}") from exc

    async def _run(self, statement: Any, params: Sequence[Any] | None = None) -> list[Row]:
        """Runs one statement without blocking the loop: the driver's ResponseFuture calls
        back on its own thread, which hands the rows (all pages) to an asyncio future."""
        session = self._session
        if session is None:
            raise StoreUnavailable("cassandra store is not started")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[list[Row]] = loop.create_future()
        rows: list[Row] = []

        def settle(result: list[Row] | None, error: BaseException | None) -> None:
            if done.done():  # the awaiting task was cancelled
                return
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(result or [])

        def hand_over(result: list[Row] | None, error: BaseException | None) -> None:
            # RuntimeError: the loop closed meanwhile, nobody waits any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, result, error)

        future = session.execute_async(statement, params, timeout=self._timeout)

        def on_page(page: list[Row] | None) -> None:
            rows.extend(page or ())
            if future.has_more_pages:
                future.start_fetching_next_page()
            else:
                hand_over(rows, None)

        def on_error(exc: BaseException) -> None:
            hand_over(None, exc)

        future.add_callbacks(on_page, on_error)
        return await done

    def _stmt(self, name: str) -> Any:
        if self._session is None:
            raise StoreUnavailable("cassandra store is not started")
        return self._ps[name]

    async def _one(self, name: str, params: Sequence[Any]) -> Row | None:
        rows = await self._execute(self._stmt(name), params)
        return rows[0] if rows else None

    def _batch(self, items: Iterable[tuple[str, Sequence[Any]]]) -> BatchStatement:
        return _LoggedBatch([(self._stmt(name), params) for name, params in items], self._cl)
